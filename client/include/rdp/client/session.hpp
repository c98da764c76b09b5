#pragma once
// The product's lean RDP client: one session is protocol::client_sequence (the connection sequence as a state
// machine) run by net::sequence_engine on one socket — X.224 negotiation selecting TLS (or NLA: TLS, then CredSSP
// with NTLMv2, the crypto and randomness from rdp::crypto), TLS, MCS, Client Info
// (optionally presenting an auto-reconnect cookie), licensing, capabilities and finalization to the active state;
// then it holds the session, idle or busy at a chosen rate, and records everything the server says to end it (Set
// Error Info, the Disconnect Provider Ultimatum, an X.224 Disconnect Request, Auto-Reconnect Status, a reset), each
// with the time it came.
//
// It is small on purpose: one coroutine and one socket per session, no threads, no allocation beyond the session's
// own buffers, so thousands of sessions run on one io_context (the load test, the scenario runner, the benchmarks).
// All sessions share one ssl::context (loading a trust store per session costs 25-40 ms). Every step has a deadline,
// chosen by the machine. The FreeRDP logon (probe/login_module) stays the "real client" option.
#include "rdp/net/asio.hpp"
#include "rdp/net/tcp_keepalive.hpp"
#include "rdp/protocol/activation.hpp"
#include "rdp/protocol/client_sequence.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rdp::client {

struct session_deadlines {
  net::milliseconds connect{5000};  // the TCP connect
  net::milliseconds step{10000};    // each write, each read and the TLS handshake of the connection sequence
  net::milliseconds hold{60000};    // once active, how long to wait for the server to end the session
};

struct session_result;

// Lets an owner act on a held session from elsewhere on the session's executor: end it (the client then sends a
// Disconnect Provider Ultimatum, rn-user-requested, and closes gracefully, as FreeRDP does on disconnect), or change
// how busy the user is. Requests made before the session runs are kept for it.
class session_control {
 public:
  void request_stop();                                     // call on the session's executor
  void set_busy(std::optional<net::milliseconds> every);   // input every `every` from now on; nullopt: idle
 private:
  friend struct session_runner;
  std::function<void()> stop_;
  std::function<void(std::optional<net::milliseconds>)> busy_;
  bool stop_requested_ = false;
  std::optional<std::optional<net::milliseconds>> busy_requested_;
};

// How the session secures itself (MS-RDPBCGR 5.4).
enum class session_security {
  tls,  // PROTOCOL_SSL; the credentials travel in the Client Info
  nla,  // PROTOCOL_HYBRID: CredSSP logs on before MCS (MS-CSSP); a refused logon ends with result.nla_status
};

// Whose liveness the session has at the TCP level: what, with nobody typing, makes the client notice a peer that is
// gone (docs/freerdp.md, "Liveness"; docs/proxy.md says what each meets through the proxy and through a firewall).
enum class liveness_model {
  // mstsc's default (keepAliveInterval 0): no keepalive. An idle session notices nothing until it writes; a write
  // into a dead flow ends when the kernel's retransmissions give up (ETIMEDOUT; Linux tcp_retries2, ~15 min).
  mstsc,
  // FreeRDP 2.11's defaults (libfreerdp/core/settings.c): SO_KEEPALIVE with TCP_KEEPIDLE 5 s, TCP_KEEPINTVL 2 s,
  // TCP_KEEPCNT 3 and TCP_USER_TIMEOUT 9000 ms (session_options::keepalive), set after the connect as its tcp.c does.
  // A peer that stops answering ends the session with ETIMEDOUT about 9 s after it was last heard.
  freerdp,
};

struct session_options {
  std::string host = "127.0.0.1";  // an IP address literal
  std::uint16_t port = 0;
  std::string user = "user", domain, password = "password";
  session_security security = session_security::tls;
  // NLA: request PROTOCOL_HYBRID_EX too (SSL|HYBRID|HYBRID_EX, as mstsc): a server selecting it sends the Early User
  // Authorization Result after CredSSP (result.early_authorization).
  bool hybrid_ex = false;
  // NLA: wrap the NTLM tokens in SPNEGO offering NTLM alone, as mstsc outside a domain does, instead of FreeRDP's
  // raw NTLM.
  bool spnego = false;
  session_deadlines deadlines;
  // true: once active, hold the session until the server ends it (or deadlines.hold passes). false: close the
  // connection as soon as the session is active (a connection-rate benchmark); the server keeps it, disconnected.
  bool hold = true;
  // Once active, send an input PDU every `busy` (a session kept busy at a chosen rate); nullopt: truly idle.
  std::optional<net::milliseconds> busy;
  // Once active, give up after this long without a frame from the server (teardown_kind::silence): a client noticing
  // a silent drop. nullopt: wait for deadlines.hold.
  std::optional<net::milliseconds> silence_limit;
  // The TCP liveness of a real client (see liveness_model). Independent of silence_limit, which is the application's
  // own deadline; a held session with neither is never declared dead while its peer's kernel answers.
  liveness_model liveness = liveness_model::mstsc;
  // With liveness_model::freerdp: the socket options (FreeRDP's defaults); a caller scaling time scales these.
  // TCP_KEEPIDLE and TCP_KEEPINTVL are whole seconds for the kernel (net::keepalive_seconds rounds up).
  net::tcp_keepalive keepalive;
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
  // After the MCS Connect-Response, instead of going on, send Erect Domain Requests one byte per write with this
  // pause between bytes — a client trickling its connection sequence — until a write fails (the server closed) or
  // deadlines.hold has passed. result.server_closed says which.
  std::optional<net::milliseconds> trickle_after_mcs;
  // Called on the session's executor after every frame the server sent while the session was held, with what has
  // been recorded so far: a test waits for a Save Session Info or an Auto-Reconnect Status with it, not a timer.
  std::function<void(const session_result&)> on_hold_frame;
  // When given, the owner's handle on the held session (session_control).
  std::shared_ptr<session_control> control;
};

// What the machine recorded (protocol::client_result: the phase reached, the failure, the teardown evidence with its
// instants, NLA's nla_status and early_authorization), and the time from TCP connect to the active state.
struct session_result : protocol::client_result {
  double handshake_ms = 0;  // TCP connect to Font Map
  // The connection's local port once connected (0: it never connected): what ties this session to its TCP stream
  // in a capture (the scenario runner's pcap check).
  std::uint16_t local_port = 0;
  // When the client closed the connection itself after a failure of its own (a frame it could not use) rather than
  // after the stream failed: how the server had already ended it, unread, by the socket's TCP state (CLOSE_WAIT: its
  // FIN had come; CLOSE: its RST). The word the scenario runner writes is then the server's.
  enum class peer_state { open, fin, reset } peer_at_close = peer_state::open;
};

// The cookie a client presents for `server`: SecurityVerifier = HMAC-MD5(key = ArcRandomBits, data = the client
// random), which under TLS is 32 zero bytes (MS-RDPBCGR 5.5).
protocol::activation::arc_client_cookie make_arc_client_cookie(const protocol::activation::arc_server_cookie& server);

// A client context for sessions: net::make_client_context() (the certificate is never refused). Share one.
net::ssl::context make_client_context();

// Runs one session: the connection sequence, then (options.hold) the hold until the server ends the session.
// `on_sequence_done` (may be empty) is called once, on the session's executor, when the sequence has reached
// active or failed, before the hold begins — a caller bounds how many handshakes are in flight with it. `context`
// must outlive the coroutine. Never throws for anything the peer does.
net::asio::awaitable<session_result> run_session(net::ssl::context& context, session_options options,
                                                 std::function<void(const session_result&)> on_sequence_done = {});

// One session run to its end on an io_context of its own, blocking the caller: for tools and tests that need one
// client at a time. `context` as above.
session_result run_session_blocking(net::ssl::context& context, session_options options);

}  // namespace rdp::client
