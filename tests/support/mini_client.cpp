#include "mini_client.hpp"

#include "rdp/net/deadline.hpp"
#include "rdp/net/errors.hpp"
#include "rdp/net/frame_reader.hpp"
#include "rdp/net/tls.hpp"
#include "rdp/protocol/activation.hpp"
#include "rdp/protocol/gcc.hpp"
#include "rdp/protocol/nego.hpp"
#include "rdp/protocol/share.hpp"
#include "rdp/protocol/x224.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <exception>
#include <utility>
#include <variant>

namespace rdp::test {

namespace {

namespace asio = net::asio;
namespace ssl = net::ssl;
namespace activation = protocol::activation;
namespace gcc = protocol::gcc;
namespace mcs = protocol::mcs;
namespace share = protocol::share;
namespace x224 = protocol::x224;
using net::error_code;
using net::tcp;
using protocol::byte_buffer;
using protocol::bytes_view;
using tls_stream = ssl::stream<tcp::socket&>;

constexpr int max_frames_per_step = 64;  // a server that sends more before the PDU we wait for is broken

// One session's state; it lives in run_mini_session's coroutine frame.
struct session {
  mini_session_options options;
  mini_session_result result;
  tcp::socket socket;
  tls_stream tls;
  net::frame_reader<tls_stream> reader;
  share::data_pdu_route route;  // how this client sends share PDUs; completed as the sequence goes

  session(asio::any_io_executor executor, ssl::context& context, mini_session_options o)
      : options(std::move(o)), socket(executor), tls(socket, context), reader(tls, protocol::tpkt::framing_options{}) {
    route.from_server = false;  // MCS Send Data Request
    route.channel_id = mcs::global_channel_id;
  }
};

bool fail(session& s, error_code ec, std::string what) {
  s.result.error = ec;
  s.result.failure = std::move(what);
  return false;
}

template <class Stream>
asio::awaitable<bool> send(session& s, Stream& stream, const byte_buffer& frame, const char* what) {
  auto [ec, n] = co_await net::with_deadline(asio::async_write(stream, asio::buffer(frame), net::use_tuple),
                                             s.options.deadlines.step);
  (void)n;
  if (ec) co_return fail(s, ec, std::string("sending ") + what + ": " + ec.message());
  co_return true;
}

asio::awaitable<bool> send(session& s, const boost::system::result<byte_buffer>& frame, const char* what) {
  if (!frame) co_return fail(s, frame.error(), std::string("encoding ") + what + ": " + frame.error().message());
  co_return co_await send(s, s.tls, *frame, what);
}

// Records what a server frame says about the end of the session and returns its kind: Set Error Info announces the
// end (2.2.5.1), the Disconnect Provider Ultimatum (2.2.2.3) or an X.224 Disconnect Request is the end.
share::server_event_kind note_teardown(session& s, bytes_view frame) {
  auto event = share::inspect_server_frame(frame);
  if (!event) return share::server_event_kind::other;
  switch (event->kind) {
    case share::server_event_kind::set_error_info: s.result.error_info = event->error_info; break;
    case share::server_event_kind::disconnect_provider_ultimatum: s.result.disconnect_reason = event->reason; break;
    case share::server_event_kind::x224_disconnect_request: s.result.x224_disconnect = true; break;
    case share::server_event_kind::deactivate_all:
    case share::server_event_kind::other: break;
  }
  return event->kind;
}

bool ends_session(share::server_event_kind kind) {
  return kind == share::server_event_kind::disconnect_provider_ultimatum ||
         kind == share::server_event_kind::x224_disconnect_request;
}

// The next server frame that is not a Set Error Info (recorded), or nullopt with the failure recorded — also when
// the server ends the session instead of answering.
asio::awaitable<std::optional<byte_buffer>> receive(session& s, const char* what) {
  for (int i = 0; i < max_frames_per_step; ++i) {
    auto frame = co_await s.reader.next(s.options.deadlines.step);
    if (!frame) {
      fail(s, frame.error(), std::string("waiting for ") + what + ": " + frame.error().message());
      co_return std::nullopt;
    }
    const auto kind = note_teardown(s, *frame);
    if (kind == share::server_event_kind::set_error_info) continue;
    if (ends_session(kind)) {
      fail(s, make_error_code(net::errc::peer_closed),
           std::string("the server ended the session instead of sending ") + what);
      co_return std::nullopt;
    }
    co_return std::move(*frame);
  }
  fail(s, make_error_code(protocol::errc::unexpected_share_pdu), std::string("too many frames before ") + what);
  co_return std::nullopt;
}

// The MCS PDU (X.224 data payload) of a frame, and the user data of a Send Data Indication.
boost::system::result<bytes_view> mcs_of(const byte_buffer& frame) {
  auto data = x224::decode_data(frame);
  if (!data) return data.error();
  return data->value;
}
boost::system::result<bytes_view> user_data_of(const byte_buffer& frame) {
  auto data = mcs_of(frame);
  if (!data) return data.error();
  auto send_data = mcs::decode_send_data(*data);
  if (!send_data) return send_data.error();
  return send_data->value.user_data;
}

// TS_UD_CS_CORE as the mini client fills it in, up to serverSelectedProtocol; earlyCapabilityFlags says the client
// takes Set Error Info PDUs (2.2.1.3.2), without which the server ends sessions without saying why.
gcc::client_core_data client_core(bool announce_heartbeat, std::uint32_t selected_protocol, std::u16string name) {
  gcc::client_core_data core;
  core.client_name = std::move(name);
  core.post_beta2_color_depth = 0xCA01;
  core.client_product_id = 1;
  core.serial_number = 0;
  core.high_color_depth = 16;
  core.supported_color_depths = 0x000F;  // RNS_UD_24BPP_SUPPORT | 16BPP | 15BPP | 32BPP
  core.early_capability_flags = static_cast<std::uint16_t>(
      gcc::early_capability::support_errinfo_pdu |
      (announce_heartbeat ? gcc::early_capability::support_heartbeat_pdu : 0));
  core.client_dig_product_id = u"";
  core.connection_type = 0;
  core.server_selected_protocol = selected_protocol;
  return core;
}

}  // namespace

mcs::connect_initial make_connect_initial(std::uint32_t selected_protocol, bool announce_heartbeat,
                                          std::u16string client_name) {
  // The GCC client data (2.2.1.3): core, security (no methods: TLS, or Standard RDP Security asking for none), and
  // network with no channels.
  mcs::connect_initial initial;
  initial.user_data.client.core = client_core(announce_heartbeat, selected_protocol, std::move(client_name));
  initial.user_data.client.security = gcc::client_security_data{};
  initial.user_data.client.network = gcc::client_network_data{};
  return initial;
}

namespace {

// Confirm Active's capability sets: a general set of our own (2.2.7.1.1) — AUTORECONNECT_SUPPORTED, and no fast-path
// flags, so the server keeps to the slow path this client frames — and the server's bitmap set echoed (2.2.7.1.2:
// the desktop size and depth the server chose).
std::vector<activation::capability_set> client_capabilities(const activation::demand_active& demand,
                                                             bool announce_auto_reconnect) {
  std::vector<activation::capability_set> sets;
  byte_buffer general;
  protocol::byte_writer w(general);
  w.u16le(1);       // osMajorType: OSMAJORTYPE_WINDOWS
  w.u16le(3);       // osMinorType: OSMINORTYPE_WINDOWS_NT
  w.u16le(0x0200);  // protocolVersion: TS_CAPS_PROTOCOLVERSION
  w.u16le(0);       // pad2octetsA
  w.u16le(0);       // generalCompressionTypes
  w.u16le(static_cast<std::uint16_t>(
      activation::general_extra_flag::long_credentials_supported |
      (announce_auto_reconnect ? activation::general_extra_flag::autoreconnect_supported : 0) |
      activation::general_extra_flag::no_bitmap_compression_hdr));
  w.u16le(0);  // updateCapabilityFlag
  w.u16le(0);  // remoteUnshareFlag
  w.u16le(0);  // generalCompressionLevel
  w.u8(0);     // refreshRectSupport
  w.u8(0);     // suppressOutputSupport
  sets.push_back(activation::capability_set{activation::capability_type::general, std::move(general)});
  for (const auto& set : demand.capabilities)
    if (set.type == activation::capability_type::bitmap) sets.push_back(set);
  return sets;
}

bool is_close(const error_code& ec) {
  return ec == asio::error::eof || ec == ssl::error::stream_truncated || ec == asio::error::connection_reset;
}

// Erect Domain Requests (valid, and harmless to repeat), one byte per write, `pause` apart, until a write fails or
// the hold deadline passes. Always false: the sequence does not go on.
asio::awaitable<bool> trickle(session& s, net::milliseconds pause) {
  const byte_buffer erect = x224::encode_data(mcs::encode(mcs::erect_domain_request{}));
  const auto deadline = net::clock::now() + s.options.deadlines.hold;
  asio::steady_timer timer(s.socket.get_executor());
  for (std::size_t i = 0;; ++i) {
    if (net::clock::now() >= deadline)
      co_return fail(s, make_error_code(net::errc::timed_out), "trickling: the server kept the connection open");
    const auto byte = erect[i % erect.size()];
    auto [ec, n] = co_await net::with_deadline(asio::async_write(s.tls, asio::buffer(&byte, 1), net::use_tuple),
                                               s.options.deadlines.step);
    (void)n;
    if (ec) {
      s.result.server_closed = is_close(ec) || ec == asio::error::broken_pipe;
      co_return fail(s, ec, "trickling: " + ec.message());
    }
    timer.expires_after(pause);
    co_await timer.async_wait(net::use_tuple);
  }
}

// TCP connect to the server's Font Map. Returns false with result.failure set.
asio::awaitable<bool> establish(session& s) {
  const auto& deadlines = s.options.deadlines;
  error_code ec;
  const auto address = asio::ip::make_address(s.options.host, ec);
  if (ec) co_return fail(s, ec, "'" + s.options.host + "' is not an IP address");
  const tcp::endpoint endpoint(address, s.options.port);
  ec = co_await net::with_deadline(s.socket.async_connect(endpoint, net::use_tuple), deadlines.connect);
  if (ec) co_return fail(s, ec, "connecting: " + ec.message());
  s.socket.set_option(tcp::no_delay(true), ec);
  s.result.reached = mini_phase::connected;

  // X.224 Connection Request asking for TLS (2.2.1.1), Connection Confirm selecting it (2.2.1.2). The server sends
  // nothing after the confirm until our ClientHello, so a plain reader here leaves nothing behind for TLS.
  x224::connection_request request;
  request.cookie = s.options.user;
  request.negotiation = protocol::neg_request{0, protocol::to_bits(protocol::security_protocol::ssl)};
  auto request_frame = x224::encode(request);
  if (!request_frame) co_return fail(s, request_frame.error(), "encoding the X.224 Connection Request");
  if (!co_await send(s, s.socket, *request_frame, "the X.224 Connection Request")) co_return false;
  {
    net::frame_reader<tcp::socket> plain(s.socket, protocol::tpkt::framing_options{});
    auto frame = co_await plain.next(deadlines.step);
    if (!frame)
      co_return fail(s, frame.error(), "waiting for the X.224 Connection Confirm: " + frame.error().message());
    auto confirm = x224::decode_connection_confirm(*frame);
    if (!confirm) co_return fail(s, confirm.error(), "decoding the X.224 Connection Confirm");
    const auto* response = std::get_if<protocol::neg_response>(&confirm->value.negotiation);
    if (!response || response->selected_protocol != protocol::to_bits(protocol::security_protocol::ssl))
      co_return fail(s, make_error_code(protocol::errc::bad_negotiation), "the server did not select TLS");
  }
  s.result.reached = mini_phase::negotiated;

  ec = co_await net::with_deadline(s.tls.async_handshake(ssl::stream_base::client, net::use_tuple), deadlines.step);
  if (ec) co_return fail(s, ec, "TLS handshake: " + ec.message());
  s.result.reached = mini_phase::tls;

  const auto initial = make_connect_initial(protocol::to_bits(protocol::security_protocol::ssl),
                                            s.options.announce_heartbeat);
  if (!co_await send(s, mcs::encode(initial), "the MCS Connect-Initial")) co_return false;
  {
    auto frame = co_await receive(s, "the MCS Connect-Response");
    if (!frame) co_return false;
    auto response = mcs::decode_connect_response(*frame);
    if (!response) co_return fail(s, response.error(), "decoding the MCS Connect-Response");
    if (response->value.result != 0)
      co_return fail(s, make_error_code(protocol::errc::bad_mcs), "the MCS Connect-Response is not rt-successful");
  }
  s.result.reached = mini_phase::mcs_connected;
  if (s.options.trickle_after_mcs) co_return co_await trickle(s, *s.options.trickle_after_mcs);

  // Erect Domain and Attach User, back to back as FreeRDP sends them (2.2.1.5, 2.2.1.6).
  byte_buffer domain = x224::encode_data(mcs::encode(mcs::erect_domain_request{}));
  const byte_buffer attach = x224::encode_data(mcs::encode(mcs::attach_user_request{}));
  domain.insert(domain.end(), attach.begin(), attach.end());
  if (!co_await send(s, s.tls, domain, "Erect Domain and Attach User")) co_return false;
  {
    auto frame = co_await receive(s, "the Attach User Confirm");
    if (!frame) co_return false;
    auto payload = mcs_of(*frame);
    if (!payload) co_return fail(s, payload.error(), "decoding the Attach User Confirm");
    auto confirm = mcs::decode_attach_user_confirm(*payload);
    if (!confirm) co_return fail(s, confirm.error(), "decoding the Attach User Confirm");
    if (confirm->value.result != 0)
      co_return fail(s, make_error_code(protocol::errc::bad_mcs), "the Attach User Confirm is not rt-successful");
    s.result.user_id = confirm->value.initiator;
  }
  s.route.initiator = s.result.user_id;
  s.route.pdu_source = s.result.user_id;
  s.result.reached = mini_phase::attached;

  // Channel Join for the user channel, then the I/O channel, one confirm each (2.2.1.8, 2.2.1.9).
  const std::array<std::uint16_t, 2> channels{s.result.user_id, mcs::global_channel_id};
  for (const auto channel : channels) {
    const mcs::channel_join_request join{s.result.user_id, channel};
    auto join_frame = mcs::encode(join);
    if (!join_frame) co_return fail(s, join_frame.error(), "encoding a Channel Join Request");
    if (!co_await send(s, s.tls, x224::encode_data(*join_frame), "a Channel Join Request")) co_return false;
    auto frame = co_await receive(s, "a Channel Join Confirm");
    if (!frame) co_return false;
    auto payload = mcs_of(*frame);
    if (!payload) co_return fail(s, payload.error(), "decoding a Channel Join Confirm");
    auto confirm = mcs::decode_channel_join_confirm(*payload);
    if (!confirm) co_return fail(s, confirm.error(), "decoding a Channel Join Confirm");
    if (confirm->value.result != 0 || confirm->value.channel_id != channel)
      co_return fail(s, make_error_code(protocol::errc::bad_mcs),
                     "the server refused to join channel " + std::to_string(channel));
  }
  s.result.reached = mini_phase::joined;

  // Client Info with the credentials (2.2.1.11), then the server's licensing answer: "valid client" (2.2.1.12).
  activation::client_info info;
  info.flags |= activation::info_flag::autologon;
  info.user = s.options.user;
  info.domain = s.options.domain;
  info.password = s.options.password;
  info.client_address = s.options.host;
  info.auto_reconnect_cookie = s.options.auto_reconnect_cookie;
  const auto& raw_user = s.options.user_utf16le;
  if (raw_user) info.user = std::string(raw_user->size() / 2, '\x01');  // a placeholder of the same length
  auto info_frame = activation::encode(info, s.route);
  if (info_frame && raw_user) {
    // The placeholder's UTF-16LE (01 00 01 00 …, with its 00 00 terminator) is the only such run in the PDU:
    // the raw bytes go in its place.
    byte_buffer placeholder;
    for (std::size_t i = 0; i < raw_user->size() / 2; ++i) placeholder.insert(placeholder.end(), {0x01, 0x00});
    placeholder.insert(placeholder.end(), {0x00, 0x00});
    const auto at = std::search(info_frame->begin(), info_frame->end(), placeholder.begin(), placeholder.end());
    if (at == info_frame->end() || raw_user->size() % 2)
      co_return fail(s, make_error_code(protocol::errc::value_out_of_range), "placing the raw user name");
    std::copy(raw_user->begin(), raw_user->begin() + static_cast<std::ptrdiff_t>(raw_user->size() / 2 * 2), at);
  }
  if (!co_await send(s, info_frame, "the Client Info PDU")) co_return false;
  {
    auto frame = co_await receive(s, "the license PDU");
    if (!frame) co_return false;
    auto user_data = user_data_of(*frame);
    if (!user_data) co_return fail(s, user_data.error(), "decoding the license PDU");
    auto alert = activation::decode_license_error_alert(*user_data);
    if (!alert) co_return fail(s, alert.error(), "decoding the license PDU");
    if (alert->value.error_code != activation::license_error_alert{}.error_code)
      co_return fail(s, make_error_code(protocol::errc::unexpected_share_pdu),
                     "licensing did not end with STATUS_VALID_CLIENT");
  }
  s.result.reached = mini_phase::licensed;

  // Demand Active (2.2.1.13.1) → Confirm Active (2.2.1.13.2), then Synchronize, Control Cooperate, Control Request
  // Control and Font List (2.2.1.14-2.2.1.18) in one write, as a client may send them back to back.
  activation::demand_active demand;
  std::uint16_t server_channel = 0;
  {
    auto frame = co_await receive(s, "the Demand Active PDU");
    if (!frame) co_return false;
    auto user_data = user_data_of(*frame);
    if (!user_data) co_return fail(s, user_data.error(), "decoding the Demand Active PDU");
    auto decoded = activation::decode_demand_active(*user_data);
    if (!decoded) co_return fail(s, decoded.error(), "decoding the Demand Active PDU");
    auto header = share::decode_share_pdu(*user_data);  // decoded above, so this cannot fail
    if (!header) co_return fail(s, header.error(), "decoding the Demand Active PDU");
    server_channel = header->value.control.source;
    demand = std::move(decoded->value);
  }
  s.result.session_id = demand.session_id;
  s.route.share_id = demand.share_id;
  activation::confirm_active confirm;
  confirm.share_id = demand.share_id;
  confirm.originator_id = server_channel;
  confirm.capabilities = client_capabilities(demand, s.options.announce_auto_reconnect);
  auto finalization = activation::encode(confirm, s.route);
  if (!finalization) co_return fail(s, finalization.error(), "encoding the Confirm Active PDU");
  const activation::control cooperate{activation::control_action::cooperate, 0, 0};
  const activation::control request_control{activation::control_action::request_control, 0, 0};
  for (const auto& pdu : {activation::encode(activation::synchronize{server_channel}, s.route),
                          activation::encode(cooperate, s.route), activation::encode(request_control, s.route),
                          activation::encode_font_list(s.route)})
    finalization->insert(finalization->end(), pdu.begin(), pdu.end());
  if (!co_await send(s, s.tls, *finalization, "Confirm Active and the finalization PDUs")) co_return false;
  s.result.reached = mini_phase::capabilities;

  // The server's Synchronize, Control (cooperate, granted) and Font Map (2.2.1.19-2.2.1.22): the Font Map ends the
  // sequence; anything before it is not checked.
  for (int i = 0; i < max_frames_per_step; ++i) {
    auto frame = co_await receive(s, "the Font Map PDU");
    if (!frame) co_return false;
    auto user_data = user_data_of(*frame);
    if (!user_data) continue;
    auto pdu = share::decode_share_pdu(*user_data);
    if (pdu && pdu->value.data && pdu->value.data->type2 == share::pdu_type2::font_map) {
      s.result.reached = mini_phase::active;
      co_return true;
    }
  }
  co_return fail(s, make_error_code(protocol::errc::unexpected_share_pdu), "too many frames before the Font Map PDU");
}

// Save Session Info (2.2.10.1) and the Auto-Reconnect Status PDU (2.2.5.2) are recorded; other PDUs are ignored.
void note_share_data(session& s, bytes_view user_data) {
  auto pdu = share::decode_share_pdu(user_data);
  if (!pdu || !pdu->value.data) return;
  if (pdu->value.data->type2 == share::pdu_type2::arc_status) {
    s.result.auto_reconnect_status = true;
  } else if (pdu->value.data->type2 == share::pdu_type2::save_session_info) {
    auto info = activation::decode_save_session_info(pdu->value.body);
    if (!info) return;
    if (info->value.session_id) s.result.logon_session_id = info->value.session_id;
    if (info->value.cookie) s.result.cookie = info->value.cookie;
  }
}

// Active and idle: read (never write) until the server ends the session. After the DPU the server closes; wait for
// that close at most one step deadline, as a client that has been told to go would not wait longer.
asio::awaitable<void> hold(session& s) {
  auto deadline = net::clock::now() + s.options.deadlines.hold;
  for (;;) {
    const auto left = deadline - net::clock::now();
    if (left <= net::clock::duration::zero()) {
      s.result.error = make_error_code(net::errc::timed_out);
      co_return;
    }
    auto frame = co_await s.reader.next(left);
    if (!frame) {
      s.result.error = frame.error();
      s.result.server_closed = is_close(frame.error());
      co_return;
    }
    if (ends_session(note_teardown(s, *frame)))
      deadline = std::min(deadline, net::clock::now() + s.options.deadlines.step);
    // A Server Heartbeat PDU: Send Data Indication whose user data starts with a SEC_HEARTBEAT security header.
    if (auto data = protocol::x224::decode_data(*frame))
      if (auto send_data = protocol::mcs::decode_send_data(data->value)) {
        const auto user_data = send_data->value.user_data;
        if (auto beat = protocol::activation::decode_heartbeat(user_data)) s.result.heartbeats.push_back(beat->value);
        else note_share_data(s, user_data);
      }
    if (s.options.on_hold_frame) s.options.on_hold_frame(s.result);
  }
}

asio::awaitable<mini_session_result> run_session(ssl::context& context, mini_session_options options,
                                                 std::function<void(const mini_session_result&)> on_sequence_done) {
  session s(co_await asio::this_coro::executor, context, std::move(options));
  const auto start = net::clock::now();
  const bool active = co_await establish(s);
  if (active) s.result.handshake_ms = net::ms_since(start);
  if (on_sequence_done) on_sequence_done(s.result);
  if (active && s.options.hold) co_await hold(s);
  error_code ignored;
  s.socket.close(ignored);
  co_return std::move(s.result);
}

}  // namespace

const char* to_string(mini_phase p) noexcept {
  switch (p) {
    case mini_phase::none: return "none";
    case mini_phase::connected: return "connected";
    case mini_phase::negotiated: return "negotiated";
    case mini_phase::tls: return "tls";
    case mini_phase::mcs_connected: return "mcs-connected";
    case mini_phase::attached: return "attached";
    case mini_phase::joined: return "joined";
    case mini_phase::licensed: return "licensed";
    case mini_phase::capabilities: return "capabilities";
    case mini_phase::active: return "active";
  }
  return "?";
}

activation::arc_client_cookie make_arc_client_cookie(const activation::arc_server_cookie& server) {
  const std::array<std::uint8_t, 32> client_random{};  // TLS: no client random, 32 zero bytes
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  HMAC(EVP_md5(), server.random_bits.data(), static_cast<int>(server.random_bits.size()), client_random.data(),
       client_random.size(), mac.data(), &length);
  activation::arc_client_cookie cookie;
  cookie.logon_id = server.logon_id;
  std::copy_n(mac.begin(), cookie.security_verifier.size(), cookie.security_verifier.begin());
  return cookie;
}

ssl::context make_mini_client_context() { return net::make_client_context(); }

asio::awaitable<mini_session_result> run_mini_session(
    ssl::context& context, mini_session_options options,
    std::function<void(const mini_session_result&)> on_sequence_done) {
  try {
    co_return co_await run_session(context, std::move(options), std::move(on_sequence_done));
  } catch (const std::exception& e) {
    // Only an allocation failure or a bug gets here; the contract is to report, not to throw.
    mini_session_result result;
    result.error = make_error_code(boost::system::errc::io_error);
    result.failure = std::string("internal error: ") + e.what();
    co_return result;
  }
}

mini_session_result run_mini_session_blocking(ssl::context& context, mini_session_options options) {
  asio::io_context io(1);
  auto result = asio::co_spawn(io, run_mini_session(context, std::move(options)), asio::use_future);
  io.run();
  return result.get();
}

}  // namespace rdp::test
