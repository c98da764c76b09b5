#pragma once
// Test support: a minimal RDP client built only from protocol/'s encoders and decoders (no FreeRDP), on Asio
// coroutines. It drives the client side of the connection sequence over TLS security (MS-RDPBCGR 1.3.1.1) — X.224
// negotiation, TLS, MCS Connect, Erect Domain, Attach User, Channel Join, Client Info, licensing, Demand/Confirm
// Active, finalization up to the server's Font Map — and then holds the session, idle, until the server ends it,
// recording the Set Error Info code and the Disconnect Provider Ultimatum it was sent.
//
// It is small on purpose: one coroutine and one socket per session, no threads, no allocation beyond the session's
// own buffers, so thousands of sessions run on one io_context (the load test) and a benchmark can reuse it. All
// sessions share one ssl::context (loading a trust store per session costs 25-40 ms). Every step has a deadline.
// It sends nothing once active: the session is truly idle on the wire (no input, no refresh, no heartbeat answer).
#include "rdp/net/asio.hpp"
#include "rdp/protocol/activation.hpp"
#include "rdp/protocol/mcs.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace rdp::test {

struct mini_deadlines {
  net::milliseconds connect{5000};  // the TCP connect
  net::milliseconds step{10000};    // each write, each read and the TLS handshake of the connection sequence
  net::milliseconds hold{60000};    // once active, how long to wait for the server to end the session
};

struct mini_session_result;

struct mini_session_options {
  std::string host = "127.0.0.1";  // an IP address literal (no name resolution: test support)
  std::uint16_t port = 0;
  std::string user = "user", domain, password = "password";
  mini_deadlines deadlines;
  // true: once active, hold the session until the server ends it (or deadlines.hold passes). false: close the
  // connection as soon as the session is active (a connection-rate benchmark); the server keeps it, disconnected.
  bool hold = true;
  // Announce RNS_UD_CS_SUPPORT_HEARTBEAT_PDU: a server with heartbeats configured then sends them (2.2.16.1).
  bool announce_heartbeat = false;
  // Announce AUTORECONNECT_SUPPORTED in Confirm Active's general capability set (2.2.7.1.1): a server then issues an
  // auto-reconnect cookie in Save Session Info. false: a client that never gets one.
  bool announce_auto_reconnect = true;
  // Present this cookie in the Client Info's extended info (ARC_CS_PRIVATE_PACKET, 2.2.4.3), as a reconnecting
  // client does. make_arc_client_cookie builds one from a server cookie.
  std::optional<protocol::activation::arc_client_cookie> auto_reconnect_cookie;
  // When set, these bytes are sent as the Client Info userName instead of `user` encoded (even length; a way to send
  // UTF-16 that is not valid, such as a lone surrogate). Its terminator is added.
  std::optional<std::vector<std::uint8_t>> user_utf16le;
  // After the MCS Connect-Response, instead of going on, send Erect Domain Requests one byte per TLS record with this
  // pause between bytes — a client trickling its connection sequence — until a write fails (the server closed) or
  // deadlines.hold has passed. result.server_closed says which.
  std::optional<net::milliseconds> trickle_after_mcs;
  // Called on the session's executor after every frame the server sent while the session was held, with what has
  // been recorded so far: a test waits for a Save Session Info or an Auto-Reconnect Status with it, not a timer.
  std::function<void(const mini_session_result&)> on_hold_frame;
};

// How far the connection sequence got: the last step completed.
enum class mini_phase {
  none,
  connected,       // TCP
  negotiated,      // X.224 Connection Confirm selecting TLS (2.2.1.2)
  tls,             // TLS handshake
  mcs_connected,   // MCS Connect-Response (2.2.1.4)
  attached,        // Attach User Confirm: the user id is known (2.2.1.7)
  joined,          // Channel Join Confirms for the user channel and the I/O channel (2.2.1.9)
  licensed,        // Client Info sent, the server's "valid client" license error alert read (2.2.1.12)
  capabilities,    // Demand Active read, Confirm Active and the client finalization PDUs sent (2.2.1.13-2.2.1.18)
  active,          // the server's Font Map read (2.2.1.22): the session is active
};
const char* to_string(mini_phase p) noexcept;

struct mini_session_result {
  mini_phase reached = mini_phase::none;
  bool active() const noexcept { return reached == mini_phase::active; }
  // Why the sequence or the hold ended: errc::timed_out, the stream's error (eof, ssl stream_truncated, reset), or a
  // protocol errc for a PDU that did not decode. After a clean server-side end (DPU then close) this is the close.
  net::error_code error;
  std::string failure;  // a sentence naming the step that failed; empty when the sequence reached active
  std::uint16_t user_id = 0;                // from Attach User Confirm
  std::optional<std::uint32_t> session_id;  // Demand Active sessionId: the server's session id
  // What the server said when it ended the session (during the sequence or the hold).
  std::optional<std::uint32_t> error_info;  // Set Error Info errorInfo (2.2.5.1); the last one if several
  std::optional<protocol::mcs::disconnect_reason> disconnect_reason;  // MCS Disconnect Provider Ultimatum (2.2.2.3)
  bool x224_disconnect = false;             // an X.224 Disconnect Request arrived
  bool server_closed = false;               // the server closed the connection (rather than our deadline ending it)
  std::vector<protocol::activation::heartbeat> heartbeats;  // Server Heartbeat PDUs received while holding
  // Save Session Info (2.2.10.1) received while holding: the logon's session id, and the auto-reconnect cookie.
  std::optional<std::uint32_t> logon_session_id;
  std::optional<protocol::activation::arc_server_cookie> cookie;
  bool auto_reconnect_status = false;       // a Server Auto-Reconnect Status PDU (2.2.5.2): the cookie was refused
  double handshake_ms = 0;                  // TCP connect to Font Map
};

// The cookie a client presents for `server`: SecurityVerifier = HMAC-MD5(key = ArcRandomBits, data = the client
// random), which under TLS is 32 zero bytes (MS-RDPBCGR 5.5).
protocol::activation::arc_client_cookie make_arc_client_cookie(const protocol::activation::arc_server_cookie& server);

// A client context for mini sessions: net::make_client_context() (certificate never refused). Share one.
// The MCS Connect-Initial the mini client sends (MS-RDPBCGR 2.2.1.3): core data announcing Set Error Info PDUs (and
// heartbeats if asked), `selected_protocol` as serverSelectedProtocol (0 for Standard RDP Security, PROTOCOL_SSL
// over TLS), no security methods, no channels. For tests that speak the sequence themselves up to this point.
protocol::mcs::connect_initial make_connect_initial(std::uint32_t selected_protocol, bool announce_heartbeat = false,
                                                    std::u16string client_name = u"rdp-mini");

net::ssl::context make_mini_client_context();

// Runs one session: the connection sequence, then (options.hold) the idle hold until the server ends the session.
// `on_sequence_done` (may be empty) is called once, on the session's executor, when the sequence has reached
// active or failed, before the hold begins — a caller bounds how many handshakes are in flight with it. `context`
// must outlive the coroutine. Never throws for anything the peer does.
net::asio::awaitable<mini_session_result> run_mini_session(
    net::ssl::context& context, mini_session_options options,
    std::function<void(const mini_session_result&)> on_sequence_done = {});

// One mini session run to its end on an io_context of its own, blocking the caller: for tests that need one client
// at a time. `context` as above.
mini_session_result run_mini_session_blocking(net::ssl::context& context, mini_session_options options);

}  // namespace rdp::test
