#include "rdp/sim/server.hpp"

#include "drain.hpp"
#include "server_state.hpp"

#include "rdp/net/deadline.hpp"
#include "rdp/net/errors.hpp"
#include "rdp/net/spawn.hpp"
#include "rdp/protocol/gcc.hpp"
#include "rdp/protocol/mcs.hpp"
#include "rdp/protocol/tpkt.hpp"
#include "rdp/protocol/x224.hpp"

#include <iostream>
#include <sstream>
#include <stdexcept>

namespace rdp::sim {

namespace asio = net::asio;
using net::error_code;
using net::tcp;

namespace {

// Reads until the X.224 Connection Request is complete; nullopt if the peer sent something else or went away.
asio::awaitable<std::optional<protocol::x224::connection_request>> read_connection_request(
    std::shared_ptr<tcp::socket> socket, net::milliseconds timeout) {
  protocol::byte_buffer received;
  std::array<std::uint8_t, 1024> chunk{};
  const auto deadline = net::clock::now() + timeout;
  for (;;) {
    auto decoded = protocol::x224::decode_connection_request(received);
    if (decoded) co_return decoded->value;
    if (!protocol::is_need_more(decoded.error())) co_return std::nullopt;
    const auto left = deadline - net::clock::now();
    if (left <= net::clock::duration::zero()) co_return std::nullopt;
    auto [ec, n] = co_await net::with_deadline(socket->async_read_some(asio::buffer(chunk), net::use_tuple), left);
    if (ec) co_return std::nullopt;
    received.insert(received.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
  }
}

// Keeps a connection open, discarding what the client sends, until it closes or `limit` has passed — in all, not per
// read: a client trickling bytes does not keep it longer.
template <class Stream>
asio::awaitable<void> hold(Stream& stream, net::milliseconds limit) {
  std::array<std::uint8_t, 4096> chunk{};
  const auto deadline = net::clock::now() + limit;
  for (;;) {
    const auto left = deadline - net::clock::now();
    if (left <= net::clock::duration::zero()) co_return;
    auto [ec, n] = co_await net::with_deadline(stream.async_read_some(asio::buffer(chunk), net::use_tuple), left);
    (void)n;
    if (ec) co_return;
  }
}

// The MCS Connect-Initial → Connect-Response exchange (MS-RDPBCGR 2.2.1.3/2.2.1.4). The server data says: RDP 5+
// core (echoing the protocol selected in negotiation), no Standard RDP Security encryption (level and method
// NONE — what a TLS/CredSSP server sends, and a valid, if unwise, Standard Security configuration: xrdp's
// crypt_level=none), and one channel id per channel the client asked for (1004, 1005, … as FreeRDP's server
// numbers them; the client's user id comes after the last one). Returns the client's Connect-Initial.
template <class Reader, class Stream>
asio::awaitable<std::optional<protocol::mcs::connect_initial>> answer_connect_initial(Reader& reader, Stream& stream,
                                                                                     std::uint32_t selected_protocol,
                                                                                     net::milliseconds timeout) {
  auto frame = co_await reader.next(timeout);
  if (!frame) co_return std::nullopt;
  auto initial = protocol::mcs::decode_connect_initial(*frame);
  if (!initial) co_return std::nullopt;
  protocol::mcs::connect_response response;
  auto& server = response.user_data.server;
  server.core = protocol::gcc::server_core_data{protocol::gcc::rdp_version::rdp5_plus, selected_protocol, std::nullopt};
  server.security = protocol::gcc::server_security_data{};
  protocol::gcc::server_network_data network;
  if (const auto& requested = initial->value.user_data.client.network) {
    for (std::size_t i = 0; i < requested->channels.size(); ++i)
      network.channel_ids.push_back(protocol::mcs::static_channel_id(i));
  }
  server.network = network;
  auto wire = protocol::mcs::encode(response);
  if (!wire) co_return std::nullopt;
  auto [ec, n] = co_await net::with_deadline(asio::async_write(stream, asio::buffer(*wire), net::use_tuple), timeout);
  (void)n;
  if (ec) co_return std::nullopt;
  co_return std::move(initial->value);
}

asio::awaitable<void> serve_connection(std::shared_ptr<server::state> st, std::shared_ptr<connection_record> conn) {
  const auto& config = st->config;
  auto socket = conn->socket;
  auto request = co_await read_connection_request(socket, config.handshake_timeout);
  if (!request) {
    ++st->counters.bad_requests;
    co_return;
  }
  const auto decision = protocol::decide_negotiation(request->negotiation, config.policy);
  protocol::x224::connection_confirm confirm;
  if (decision.response) confirm.negotiation = *decision.response;
  if (decision.failure) confirm.negotiation = *decision.failure;
  const auto wire = protocol::x224::encode(confirm);
  auto [write_ec, written] = co_await net::with_deadline(asio::async_write(*socket, asio::buffer(wire), net::use_tuple),
                                                         config.handshake_timeout);
  (void)written;
  if (write_ec) co_return;
  if (decision.failure) {
    ++st->counters.refused;
    // Half-closed and drained, so the CC is not destroyed by a reset caused by unread data.
    co_await half_close_and_drain(*socket, config.drain_timeout);
    co_return;
  }
  ++st->counters.negotiated;
  const auto selected = decision.response ? protocol::security_protocol_from_bits(decision.response->selected_protocol)
                                          : std::optional(protocol::security_protocol::rdp);
  protocol::tpkt::framing_options framing;
  framing.max_frame = 16 * 1024;  // nothing a client sends before activation is larger
  if (selected && protocol::uses_tls(*selected) && st->tls_context) {
    asio::ssl::stream<tcp::socket&> tls(*socket, *st->tls_context);
    auto ec = co_await net::with_deadline(tls.async_handshake(asio::ssl::stream_base::server, net::use_tuple),
                                          config.handshake_timeout);
    if (ec) co_return;
    ++st->counters.tls_completed;
    if (*selected == protocol::security_protocol::hybrid || *selected == protocol::security_protocol::hybrid_ex) {
      // CredSSP: the client's first TSRequest carries an NTLM NEGOTIATE; answer it with our CHALLENGE (this is
      // what rdp-ntlm-info and rdpprobe read). Authentication itself is not simulated: a client that goes on with
      // its AUTHENTICATE is refused at once, with the reason in the log, rather than left to time out.
      const auto client_version = co_await answer_ntlm_negotiate(tls, config.ntlm, config.handshake_timeout);
      if (!client_version) co_return;
      ++st->counters.ntlm_challenges;
      const auto refused = co_await refuse_ntlm_authenticate(tls, *client_version, config.handshake_timeout);
      if (!refused.empty())
        std::cerr << "rdpsim: connection " << conn->number << " from " << conn->client_address << ": " << refused
                  << "\n";
      co_return;
    }
    net::frame_reader reader(tls, framing);
    auto initial = co_await answer_connect_initial(reader, tls, to_bits(*selected), config.handshake_timeout);
    if (!initial) co_return;  // a probe that stops after TLS, or one that sent something else
    co_await host_rdp_session(st, conn, tls, reader, std::move(*initial));
    co_return;
  }
  // Standard RDP Security: the client continues with the MCS Connect-Initial in the clear. The simulator answers it
  // (what a probe reads) but does not implement RDP encryption, so the connection is then held.
  net::frame_reader reader(*socket, framing);
  if (!co_await answer_connect_initial(reader, *socket, protocol::to_bits(protocol::security_protocol::rdp),
                                       config.handshake_timeout))
    co_return;
  co_await hold(*socket, config.hold_timeout);
}

// Whatever ends a connection's coroutine — its return, an exception, or the io_context destroying its frame — the
// socket is closed, the pre-logon deadline cancelled and the record leaves `live`.
struct connection_cleanup {
  std::shared_ptr<server::state> st;
  std::shared_ptr<connection_record> conn;
  connection_cleanup(std::shared_ptr<server::state> s, std::shared_ptr<connection_record> c)
      : st(std::move(s)), conn(std::move(c)) {}
  connection_cleanup(const connection_cleanup&) = delete;
  connection_cleanup& operator=(const connection_cleanup&) = delete;
  ~connection_cleanup() {
    error_code ignored;
    conn->logon_watchdog.cancel();
    conn->socket->close(ignored);
    st->live.erase(conn->number);
  }
};

// Closes the connection when the pre-logon deadline passes before the session became active. Closing the socket ends
// whatever read or write the sequence is in, so no step needs a deadline of its own for this.
void arm_logon_watchdog(const std::shared_ptr<server::state>& st, const std::shared_ptr<connection_record>& conn) {
  conn->logon_watchdog.expires_after(st->config.prelogon_timeout);
  conn->logon_watchdog.async_wait(
      [weak_st = std::weak_ptr(st), weak_conn = std::weak_ptr(conn)](const error_code& ec) {
        if (ec == asio::error::operation_aborted) return;
        auto server = weak_st.lock();
        auto record = weak_conn.lock();
        if (!server || !record || record->activated || server->stopped || !record->socket->is_open()) return;
        note_limit(*server, limit_kind::prelogon);
        error_code ignored;
        record->socket->close(ignored);
      });
}

asio::awaitable<void> run_connection(std::shared_ptr<server::state> st, std::shared_ptr<connection_record> conn) {
  const connection_cleanup cleanup(st, conn);
  arm_logon_watchdog(st, conn);
  co_await serve_connection(st, conn);
}

asio::awaitable<void> accept_loop(std::shared_ptr<server::state> st) {
  for (;;) {
    auto socket = std::make_shared<tcp::socket>(st->executor);
    auto [ec] = co_await st->acceptor.async_accept(*socket, net::use_tuple);
    if (st->stopped || !st->listening || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // EMFILE and friends: wait a little rather than spinning on the error.
      asio::steady_timer pause(st->executor, net::milliseconds(50));
      co_await pause.async_wait(net::use_tuple);
      continue;
    }
    ++st->counters.accepted;
    if (st->config.after_accept) st->config.after_accept();
    error_code ignored;
    if (st->live.size() >= st->config.max_connections) {
      // Closed before anything is read or sent: holding it would be what the limit is there to prevent.
      note_limit(*st, limit_kind::connections);
      socket->close(ignored);
      continue;
    }
    socket->set_option(tcp::no_delay(true), ignored);
    if (st->config.tcp_keepalive) socket->set_option(asio::socket_base::keep_alive(true), ignored);
    auto conn = std::make_shared<connection_record>(st->executor, socket);
    conn->number = st->next_connection_number++;
    const auto peer = socket->remote_endpoint(ignored);
    if (!ignored) conn->client_address = net::host_port{peer.address().to_string(), peer.port()}.text();
    st->live.emplace(conn->number, conn);  // here, not in the coroutine: the limit above counts it from now on
    net::spawn(st->executor, run_connection(st, conn), "rdpsim: connection rdp-tcp#" + std::to_string(conn->number));
  }
}

constexpr net::milliseconds accept_restart_pause{100};

}  // namespace

// The accept loop ends when the server stops or the service is restarted (the listener closes). If it ends otherwise
// — an exception, which is a bug — that is said on stderr, counted, and accepting starts again after a pause: the
// simulator must not go on running deaf without a word, and its sessions are still good (docs/profiles.md).
void start_accepting(std::shared_ptr<server::state> st) {
  const auto executor = st->executor;
  net::spawn(executor, accept_loop(st), "rdpsim: accept loop", [weak = std::weak_ptr(st)](std::exception_ptr e) {
    auto alive = weak.lock();
    if (!alive || alive->stopped || !alive->listening || !e) return;
    ++alive->counters.accept_loop_restarts;
    std::cerr << "rdpsim: the RDP listener stopped accepting connections unexpectedly; accepting again in "
              << accept_restart_pause.count() << " ms\n";
    auto timer = std::make_shared<asio::steady_timer>(alive->executor, accept_restart_pause);
    timer->async_wait([timer, weak](const error_code&) {
      auto again = weak.lock();
      if (again && !again->stopped && again->listening) start_accepting(again);
    });
  });
}

void note_limit(server::state& st, limit_kind kind) {
  std::uint64_t count = 0;
  const char* what = "";
  switch (kind) {
    case limit_kind::connections:
      count = ++st.counters.connections_over_limit;
      what = "connection limit reached (max_connections ";
      break;
    case limit_kind::prelogon:
      count = ++st.counters.prelogon_timeouts;
      what = "a connection did not log on in time and was closed (prelogon_timeout_ms ";
      break;
    case limit_kind::session_table:
      count = st.table.counters().session_table_full;  // the table counted it (session_table::choose)
      what = "session table full, a logon was refused (max_session_table ";
      break;
  }
  auto& last = st.limit_logged[static_cast<std::size_t>(kind)];
  const auto now = net::clock::now();
  if (last && now - *last < std::chrono::seconds(1)) return;
  last = now;
  const auto setting = kind == limit_kind::connections ? std::to_string(st.config.max_connections)
                       : kind == limit_kind::prelogon  ? std::to_string(st.config.prelogon_timeout.count())
                                                       : std::to_string(st.config.max_session_table);
  std::cerr << "rdpsim: " << what << setting << "); " << count << " so far\n";
}

void open_listener(server::state& st) {
  error_code ec;
  st.acceptor = tcp::acceptor(st.executor);
  st.acceptor.open(st.bound.protocol(), ec);
  if (!ec) st.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) st.acceptor.bind(st.bound, ec);
  if (!ec) st.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("rdpsim: cannot listen on " +
                             net::host_port{st.bound.address().to_string(), st.bound.port()}.text() + ": " +
                             ec.message());
  st.bound = st.acceptor.local_endpoint();  // port 0 becomes the port picked
  st.listening = true;
}

server::server(asio::any_io_executor executor, server_config config)
    : state_(std::make_shared<state>(executor, std::move(config))) {
  auto& st = *state_;
  const bool needs_tls = st.config.policy.supported != 0;
  if (needs_tls) {
    if (st.config.identity.certificate_pem.empty())
      throw std::runtime_error("rdpsim: TLS-based protocols are enabled but no certificate was given or generated");
    st.tls_context.emplace(net::make_server_context(st.config.identity));
  }
  error_code ec;
  const auto address = asio::ip::make_address(st.config.listen.host, ec);
  if (ec) throw std::runtime_error("rdpsim: listen address '" + st.config.listen.host + "' is not an IP address");
  st.bound = tcp::endpoint(address, st.config.listen.port);
  open_listener(st);
}

server::~server() = default;

tcp::endpoint server::local_endpoint() const { return state_->bound; }

void server::start() { start_accepting(state_); }

void server::stop() {
  state_->stopped = true;
  expire_disconnected(*state_);  // stopped: only cancels its timer, which would otherwise keep the executor busy
  error_code ignored;
  state_->acceptor.close(ignored);
  for (const auto& [number, conn] : state_->live) {
    conn->socket->close(ignored);
    conn->wake.cancel();
  }
}

// The session table's counters are its own (session_table.hpp); they are copied in whenever they are read.
const server_counters& server::counters() const noexcept {
  auto& c = state_->counters;
  const auto& table = state_->table.counters();
  c.reconnected = table.reconnected;
  c.stale_cookies = table.stale_cookies;
  c.logon_failures = table.logon_failures;
  c.session_table_full = table.session_table_full;
  c.disconnected_expired = table.disconnected_expired;
  return c;
}

session_admin& server::admin() noexcept { return admin_of(*state_); }

}  // namespace rdp::sim
