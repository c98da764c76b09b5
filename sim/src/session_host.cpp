// The server side of the RDP connection sequence after TLS (MS-RDPBCGR 1.3.1.1), the active session, the ways the
// server ends one (docs/session-drops.md) and the administrator's interface to the session table.
#include "drain.hpp"
#include "server_state.hpp"

#include "rdp/net/deadline.hpp"
#include "rdp/net/errors.hpp"
#include "rdp/protocol/activation.hpp"
#include "rdp/protocol/mcs.hpp"
#include "rdp/protocol/x224.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <iostream>

namespace rdp::sim {

namespace asio = net::asio;
namespace activation = protocol::activation;
namespace mcs = protocol::mcs;
namespace share = protocol::share;
using net::error_code;
using net::tcp;
using tls_stream = asio::ssl::stream<tcp::socket&>;
using reader_type = net::frame_reader<tls_stream>;

namespace {

using mcs::server_channel_id;
using share::server_share_id;
constexpr int max_sequence_frames = 64;           // a client that sends more before finishing a phase is broken

// What the client told us about itself that changes what we send.
struct client_facts {
  bool error_info = false;  // RNS_UD_CS_SUPPORT_ERRINFO_PDU: Set Error Info may be sent (2.2.5.1)
  bool heartbeat = false;   // RNS_UD_CS_SUPPORT_HEARTBEAT_PDU
  bool auto_reconnect = false;  // general capability AUTORECONNECT_SUPPORTED in Confirm Active
  std::uint16_t user_id = mcs::user_channel_id(0);
  std::uint16_t width = 1024, height = 768, bits_per_pixel = 16;
};

share::data_pdu_route server_route() {
  share::data_pdu_route route;
  route.pdu_source = server_channel_id;  // initiator and share id: data_pdu_route's defaults, the server's
  return route;
}

asio::awaitable<bool> send(tls_stream& tls, const protocol::byte_buffer& frame, net::milliseconds timeout) {
  auto [ec, n] = co_await net::with_deadline(asio::async_write(tls, asio::buffer(frame), net::use_tuple), timeout);
  (void)n;
  co_return !ec;
}

asio::awaitable<bool> send(tls_stream& tls, const boost::system::result<protocol::byte_buffer>& frame,
                           net::milliseconds timeout) {
  if (!frame) co_return false;
  co_return co_await send(tls, *frame, timeout);
}

// Ends the connection the way `t` says (teardown_for): Set Error Info when the client supports it, the MCS Disconnect
// Provider Ultimatum, a half-close and a bounded drain — or a reset, or an abrupt close.
asio::awaitable<void> end_connection(server::state& st, connection_record& conn, tls_stream& tls,
                                     const client_facts& client, const teardown& how) {
  error_code ignored;
  auto& socket = *conn.socket;
  if (how.close == close_style::reset) {
    socket.set_option(asio::socket_base::linger(true, 0), ignored);
    socket.close(ignored);
    co_return;
  }
  if (how.close == close_style::abrupt) {
    socket.close(ignored);
    co_return;
  }
  const auto timeout = st.config.handshake_timeout;
  if (how.error_info && client.error_info) {
    if (!co_await send(tls, share::encode_set_error_info({*how.error_info}, server_route()), timeout)) co_return;
  }
  if (how.dpu) {
    if (!co_await send(tls, protocol::x224::encode_data(mcs::encode(mcs::disconnect_provider_ultimatum{*how.dpu})),
                       timeout))
      co_return;
  }
  co_await half_close_and_drain(socket, st.config.drain_timeout);
  socket.close(ignored);
}

asio::awaitable<void> deny(server::state& st, connection_record& conn, tls_stream& tls, const client_facts& client,
                           std::uint32_t error_info) {
  co_await end_connection(st, conn, tls, client,
                          teardown{error_info, mcs::disconnect_reason::provider_initiated, close_style::graceful});
}

// What happens to the session when its connection ends (session_table::settle); a session that became Disc may have
// moved the next expiry.
void settle_session(server::state& st, const connection_record& conn, termination t) {
  if (st.table.settle(conn.number, t, net::clock::now())) expire_disconnected(st);
}

// A few rectangles of a test pattern in the client's color depth: the "first screen update" a client draws.
std::vector<activation::bitmap_rectangle> first_screen(const client_facts& client) {
  std::vector<activation::bitmap_rectangle> rects;
  const std::uint16_t bytes_per_pixel = static_cast<std::uint16_t>((client.bits_per_pixel + 7) / 8);
  const std::uint16_t tile = 32;
  for (std::uint16_t i = 0; i < 4; ++i) {
    activation::bitmap_rectangle r;
    r.left = static_cast<std::uint16_t>(i * tile);
    r.top = 0;
    r.width = tile;
    r.height = tile;
    r.bits_per_pixel = client.bits_per_pixel;
    if (r.left + tile > client.width || tile > client.height) break;
    r.pixels.resize(std::size_t{tile} * tile * bytes_per_pixel);
    for (std::size_t p = 0; p < r.pixels.size(); ++p) r.pixels[p] = static_cast<std::uint8_t>((p * 7 + i * 61) & 0xFF);
    rects.push_back(std::move(r));
  }
  return rects;
}

std::uint16_t supported_depth(const protocol::gcc::client_core_data& core) {
  const auto depth = core.high_color_depth.value_or(16);
  return depth == 15 || depth == 16 || depth == 24 || depth == 32 ? depth : 16;
}

logon_rules rules_of(const server_config& config) {
  return {config.users, config.sessions, config.stale_cookie, config.stale_cookie_error, config.max_session_table};
}

// Picks (or makes) the session this logon lands in (session_table::choose) and carries out what that decides: the
// connection that held the session is told it was replaced, a full table is logged. Runs without suspending, so the
// table cannot change under it.
logon_outcome choose_session(server::state& st, const connection_record& conn, const activation::client_info& info) {
  const auto out = st.table.choose(conn.number, info, rules_of(st.config), std::chrono::system_clock::now());
  if (out.table_full) note_limit(st, limit_kind::session_table);
  if (out.replaced) {
    if (const auto it = st.live.find(*out.replaced); it != st.live.end()) it->second->request(termination::replaced);
  }
  return out;
}

// Domain PDUs until the Client Info arrives: Erect Domain, Attach User, one Channel Join per channel (2.2.1.5-2.2.1.8).
asio::awaitable<std::optional<activation::client_info>> read_until_client_info(reader_type& reader, tls_stream& tls,
                                                                               const client_facts& client,
                                                                               net::milliseconds timeout) {
  for (int i = 0; i < max_sequence_frames; ++i) {
    auto frame = co_await reader.next(timeout);
    if (!frame) co_return std::nullopt;
    auto data = protocol::x224::decode_data(*frame);
    if (!data) co_return std::nullopt;
    const auto choice = mcs::peek_choice(data->value);
    if (!choice) co_return std::nullopt;
    switch (*choice) {
      case mcs::choice::erect_domain_request:
        if (!mcs::decode_erect_domain_request(data->value)) co_return std::nullopt;
        break;
      case mcs::choice::attach_user_request:
        if (!mcs::decode_attach_user_request(data->value)) co_return std::nullopt;
        if (!co_await send(tls, protocol::x224::encode_data(*mcs::encode(mcs::attach_user_confirm{0, client.user_id})),
                           timeout))
          co_return std::nullopt;
        break;
      case mcs::choice::channel_join_request: {
        auto join = mcs::decode_channel_join_request(data->value);
        if (!join) co_return std::nullopt;
        const mcs::channel_join_confirm confirm{0, client.user_id, join->value.channel_id, join->value.channel_id};
        if (!co_await send(tls, protocol::x224::encode_data(*mcs::encode(confirm)), timeout)) co_return std::nullopt;
        break;
      }
      case mcs::choice::send_data_request: {
        auto send_data = mcs::decode_send_data(data->value);
        if (!send_data) co_return std::nullopt;
        auto info = activation::decode_client_info(send_data->value.user_data);
        if (!info) co_return std::nullopt;
        co_return std::move(info->value);
      }
      default: co_return std::nullopt;  // a DPU (the client gave up) or something out of place
    }
  }
  co_return std::nullopt;
}

// Confirm Active, then the client's finalization PDUs up to its Font List (2.2.1.13.2-2.2.1.18).
asio::awaitable<bool> read_until_font_list(reader_type& reader, client_facts& client, net::milliseconds timeout) {
  bool confirmed = false;
  for (int i = 0; i < max_sequence_frames; ++i) {
    auto frame = co_await reader.next(timeout);
    if (!frame) co_return false;
    auto data = protocol::x224::decode_data(*frame);
    if (!data) co_return false;
    auto send_data = mcs::decode_send_data(data->value);
    if (!send_data) co_return false;  // a DPU or anything else ends the sequence
    auto pdu = share::decode_share_pdu(send_data->value.user_data);
    if (!pdu) continue;  // e.g. a flow-control PDU: nothing to answer
    if (pdu->value.control.type == share::pdu_type::confirm_active) {
      auto confirm = activation::decode_confirm_active(send_data->value.user_data);
      if (!confirm || confirm->value.share_id != server_share_id) co_return false;
      const auto summary = activation::summarize(confirm->value.capabilities);
      client.auto_reconnect = summary.general_extra_flags &&
                              (*summary.general_extra_flags & activation::general_extra_flag::autoreconnect_supported);
      confirmed = true;
      continue;
    }
    if (pdu->value.data && pdu->value.data->type2 == share::pdu_type2::font_list) co_return confirmed;
  }
  co_return false;
}

// Active: read what the client sends (input, refreshes), count it as activity, and act on timers and admin
// requests. Returns how the connection ended.
asio::awaitable<termination> run_active(server::state& st, const std::shared_ptr<connection_record>& conn,
                                        reader_type& reader, tls_stream& tls, const client_facts& client) {
  auto next_heartbeat = net::clock::now();
  for (;;) {
    if (conn->pending != termination::none) co_return conn->pending;
    const auto now = net::clock::now();
    const auto& policy = st.config.sessions;
    if (policy.idle_limit && now - conn->last_input >= *policy.idle_limit) co_return termination::idle_timeout;
    if (policy.logon_timeout && now - conn->activated_at >= *policy.logon_timeout) co_return termination::active_limit;
    const bool heartbeats = st.config.heartbeat && client.heartbeat;
    if (heartbeats && now >= next_heartbeat) {
      const auto period = static_cast<std::uint8_t>(std::min<std::int64_t>(st.config.heartbeat->count(), 255));
      if (!co_await send(tls, activation::encode(activation::heartbeat{period, 2, 4}, server_route()),
                         st.config.handshake_timeout))
        co_return termination::none;
      next_heartbeat = now + *st.config.heartbeat;
    }
    auto wake_at = net::clock::time_point::max();
    if (policy.idle_limit) wake_at = std::min(wake_at, conn->last_input + *policy.idle_limit);
    if (policy.logon_timeout) wake_at = std::min(wake_at, conn->activated_at + *policy.logon_timeout);
    if (heartbeats) wake_at = std::min(wake_at, next_heartbeat);
    conn->wake.expires_at(wake_at);
    auto frame = co_await reader.next_or_wake(conn->wake);
    if (!frame) co_return conn->pending != termination::none ? conn->pending : termination::none;  // client gone
    if (!*frame) continue;  // a timer or an admin request: re-evaluate
    conn->last_input = net::clock::now();
    const auto& bytes = **frame;
    if (bytes.empty() || bytes[0] != 0x03) continue;  // fast-path input: activity only
    auto event = share::inspect_server_frame(bytes);  // the same teardown PDUs exist in both directions
    if (event && (event->kind == share::server_event_kind::disconnect_provider_ultimatum ||
                  event->kind == share::server_event_kind::x224_disconnect_request))
      co_return termination::none;  // the client disconnected: the session stays, disconnected
  }
}

}  // namespace

arc_random_bits fresh_random_bits() {
  arc_random_bits bits{};
  if (RAND_bytes(bits.data(), static_cast<int>(bits.size())) != 1)
    throw std::runtime_error("RAND_bytes failed: no auto-reconnect cookie can be made");
  return bits;
}

asio::awaitable<void> host_rdp_session(std::shared_ptr<server::state> st, std::shared_ptr<connection_record> conn,
                                       tls_stream& tls, reader_type& reader, protocol::mcs::connect_initial initial) {
  const auto timeout = st->config.handshake_timeout;
  client_facts client;
  const auto core = initial.user_data.client.core.value_or(protocol::gcc::client_core_data{});
  const auto early = core.early_capability_flags.value_or(0);
  client.error_info = (early & protocol::gcc::early_capability::support_errinfo_pdu) != 0;
  client.heartbeat = (early & protocol::gcc::early_capability::support_heartbeat_pdu) != 0;
  const auto& network = initial.user_data.client.network;
  const std::size_t channels = network ? network->channels.size() : 0;
  client.user_id = mcs::user_channel_id(channels);
  client.width = std::clamp<std::uint16_t>(core.desktop_width, 200, st->config.max_desktop_width);
  client.height = std::clamp<std::uint16_t>(core.desktop_height, 200, st->config.max_desktop_height);
  client.bits_per_pixel = supported_depth(core);

  auto info = co_await read_until_client_info(reader, tls, client, timeout);
  if (!info) {
    ++st->counters.sequence_failures;
    co_return;
  }
  const auto outcome = choose_session(*st, *conn, *info);
  if (outcome.denied) {
    co_await deny(*st, *conn, tls, client, *outcome.denied);
    co_return;
  }
  const auto session_id = outcome.session_id;

  activation::demand_active demand;
  activation::server_capabilities caps;
  caps.desktop_width = client.width;
  caps.desktop_height = client.height;
  caps.bits_per_pixel = client.bits_per_pixel;
  caps.share_node_id = server_channel_id;
  demand.share_id = server_share_id;
  demand.capabilities = activation::make_server_capability_sets(caps);
  demand.session_id = session_id;
  if (!co_await send(tls, activation::encode(activation::license_error_alert{}, server_route()), timeout) ||
      !co_await send(tls, activation::encode(demand, server_route()), timeout) ||
      !co_await read_until_font_list(reader, client, timeout)) {
    ++st->counters.sequence_failures;
    settle_session(*st, *conn, termination::none);
    co_return;
  }
  const auto route = server_route();
  const activation::control cooperate{activation::control_action::cooperate, 0, 0};
  const activation::control granted{activation::control_action::granted_control, client.user_id, server_channel_id};
  const auto screen = first_screen(client);
  if (!co_await send(tls, activation::encode(activation::synchronize{client.user_id}, route), timeout) ||
      !co_await send(tls, activation::encode(cooperate, route), timeout) ||
      !co_await send(tls, activation::encode(granted, route), timeout) ||
      !co_await send(tls, activation::encode_font_map(route), timeout) ||
      (!screen.empty() && !co_await send(tls, activation::encode_bitmap_update(screen, route), timeout))) {
    ++st->counters.sequence_failures;
    settle_session(*st, *conn, termination::none);
    co_return;
  }
  ++st->counters.activated;
  conn->activated = true;
  conn->logon_watchdog.cancel();
  conn->activated_at = conn->last_input = net::clock::now();
  // Logon completes with Save Session Info: the session id and user, then (to a client that supports it) a fresh
  // auto-reconnect cookie — a new one on every connection, so the previous one is stale from now on (2.2.4.2).
  // The session only shows as Active once the client holds its cookie.
  std::optional<activation::arc_server_cookie> cookie;
  std::optional<protocol::byte_buffer> logon;
  // Issued once it is on its way to the client.
  if (const auto* session = st->table.renew_cookie(conn->number, client.auto_reconnect)) {
    if (client.auto_reconnect) cookie = activation::arc_server_cookie{session->id, session->arc_random};
    auto logon_frame = activation::encode_logon_long(session->id, session->domain, session->user, route);
    if (logon_frame) logon = std::move(*logon_frame);
  }
  const bool logged_on = (!logon || co_await send(tls, *logon, timeout)) &&
                         (!cookie || co_await send(tls, activation::encode_logon_extended(cookie, std::nullopt, route),
                                                   timeout)) &&
                         (!outcome.stale_cookie ||
                          co_await send(tls, activation::encode_auto_reconnect_status(route), timeout));
  if (!logged_on) {
    settle_session(*st, *conn, termination::none);
    co_return;
  }
  st->table.mark_active(conn->number);

  const auto ended = co_await run_active(*st, conn, reader, tls, client);
  settle_session(*st, *conn, ended);
  if (ended != termination::none) co_await end_connection(*st, *conn, tls, client, teardown_for(ended));
}

// ---- The administrator's interface --------------------------------------------------------------------------------

class server_admin final : public session_admin {
 public:
  explicit server_admin(server::state& st) : st_(st) {}

  std::vector<session_info> query_sessions() const override {
    auto rows = st_.table.query(net::clock::now(), [this](connection_number n) {
      const auto it = st_.live.find(n);
      if (it == st_.live.end()) return connection_view{};  // cannot happen: a connection leaves the table first
      return connection_view{it->second->client_address, it->second->last_input};
    });
    if (st_.listening && !st_.stopped) {
      session_info listener;
      listener.id = 65536;
      listener.name = "rdp-tcp";
      listener.state = session_state::listen;
      rows.push_back(std::move(listener));
    }
    return rows;
  }

  // Gone from the table at once; the wire sequence follows.
  admin_result logoff(std::uint32_t id) override { return request(st_.table.remove(id), termination::logoff_by_admin); }
  admin_result reset(std::uint32_t id) override { return request(st_.table.remove(id), termination::reset); }

  admin_result disconnect(std::uint32_t id) override {
    return request(st_.table.connected(id), termination::disconnect_by_admin);
  }

  admin_result restart_service(std::chrono::seconds down) override {
    if (st_.stopped) return admin_result::failure("the server is stopping");
    if (!st_.listening) return admin_result::failure("the service is already stopped");
    st_.listening = false;
    error_code ignored;
    st_.acceptor.close(ignored);
    st_.table.clear();  // the sessions die with the service (docs/session-drops.md)
    expire_disconnected(st_);
    for (const auto& [number, conn] : st_.live) {
      conn->pending = termination::service_stop;
      conn->socket->close(ignored);
      conn->wake.cancel();
    }
    auto timer = std::make_shared<asio::steady_timer>(st_.executor, down);
    auto* st = &st_;
    auto keep = st_.weak_from_this();
    timer->async_wait([timer, st, keep](const error_code&) {
      auto alive = keep.lock();
      if (!alive || st->stopped) return;
      try {
        open_listener(*st);
        start_accepting(alive);
      } catch (const std::exception& e) {
        std::cerr << e.what() << " (after restart-service)\n";
      }
    });
    return {};
  }

  admin_result drop_connection(std::uint32_t id) override {
    return request(st_.table.connected(id), termination::network_drop);
  }

  session_policy policy() const override { return st_.config.sessions; }

  admin_result set_policy(const session_policy& policy) override {
    if (auto problem = validate(policy); !problem.empty()) return admin_result::failure(std::move(problem));
    st_.config.sessions = policy;
    for (const auto& [number, conn] : st_.live) conn->wake.cancel();  // active sessions re-evaluate their limits now
    // Disc sessions too, here and now: those already Disc for longer than a new limit are gone when this returns.
    expire_disconnected(st_);
    return {};
  }

 private:
  // Asks the connection the table named (if any) to end the way `how` says.
  admin_result request(const admin_target& target, termination how) {
    if (!target.result.ok || !target.connection) return target.result;
    if (const auto it = st_.live.find(*target.connection); it != st_.live.end()) it->second->request(how);
    return target.result;
  }

  server::state& st_;
};

void expire_disconnected(server::state& st) {
  std::optional<net::clock::time_point> next;
  if (!st.stopped) next = st.table.expire(net::clock::now(), st.config.sessions.disconnected_limit);
  if (!next) {
    st.disconnected_expiry.cancel();
    return;
  }
  // Setting the expiry cancels the wait already pending. A wait that completed but whose handler has not run yet
  // still runs it; that is harmless, because every run recomputes from the table.
  st.disconnected_expiry.expires_at(*next);
  st.disconnected_expiry.async_wait([keep = st.weak_from_this()](const error_code& ec) {
    if (ec == asio::error::operation_aborted) return;
    if (auto alive = keep.lock()) expire_disconnected(*alive);
  });
}

server::state::state(asio::any_io_executor ex, server_config c)
    : config(std::move(c)),
      executor(ex),
      acceptor(ex),
      disconnected_expiry(ex),
      admin(std::make_unique<server_admin>(*this)) {}

server::state::~state() = default;

session_admin& admin_of(server::state& st) { return *st.admin; }

}  // namespace rdp::sim
