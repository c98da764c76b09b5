#pragma once
// A real RDP login with the FreeRDP 2.11 client library, headless: the whole connection sequence of MS-RDPBCGR 1.3.1.1
// (X.224 negotiation, TLS/CredSSP, MCS, Client Info, licensing, capabilities, finalization) up to the active state,
// then optionally a while in the session. It answers what the wire-level probe cannot: does the server let a client
// all the way in, how long it takes, and what the server says when it ends the session (Set Error Info, MCS
// Disconnect Provider Ultimatum, Save Session Info). For `rdpprobe --login` and for tests that drive a real RDP client
// against rdpsim or xrdp. FreeRDP facts this relies on are in docs/freerdp.md; FreeRDP stays out of this
// header so that users of it need neither FreeRDP's headers nor its C types.
//
// FreeRDP lives in a module of its own, librdp_login.so (probe/login_module/), which the first run_login loads with
// dlopen: from $RDP_LOGIN_MODULE if set, else next to the running program, else where the build put it. A process
// that never logs in never loads FreeRDP's ~100 libraries; when the module cannot be loaded, the result's
// setup_error says where it looked and why.
//
// Process-wide effects of the first run_login (once, std::call_once): OpenSSL/WinPR initialised
// (winpr_InitializeSSL), SIGPIPE ignored if it was at its default, and FreeRDP's WLog taken over — its root appender
// becomes a callback that keeps each run's ERROR lines and connection-state trace and drops everything else, from any
// FreeRDP user in the process. Unless the user set WLOG_LEVEL, WLOG_FILTER or WLOG_APPENDER: then WLog is left
// entirely to the user (and furthest_state is only sampled).
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rdp::probe {

// Which security protocols the client offers in its X.224 Connection Request (MS-RDPBCGR 2.2.1.1.1).
enum class login_security {
  any,  // RDP, TLS and CredSSP (FreeRDP's default, requestedProtocols 0x03); the server picks
  tls,  // TLS only (PROTOCOL_SSL)
  nla,  // CredSSP only (PROTOCOL_HYBRID): the credentials are checked before the session starts
  rdp,  // Standard RDP Security only (requestedProtocols 0, UseRdpSecurityLayer; as xfreerdp /sec:rdp)
};
std::string_view to_string(login_security s);

// ARC_SC_PRIVATE_PACKET (MS-RDPBCGR 2.2.4.2), the auto-reconnect cookie a server issues in a Save Session Info PDU
// (Logon Info Extended, LOGON_EX_AUTORECONNECTCOOKIE). cbLen is always 28 and Version always 1, so only these two
// fields carry information.
struct auto_reconnect_cookie {
  std::uint32_t logon_id = 0;
  std::array<std::uint8_t, 16> random_bits{};  // ArcRandomBits: the HMAC key of the client's SecurityVerifier
  friend bool operator==(const auto_reconnect_cookie&, const auto_reconnect_cookie&) = default;
};

struct login_options {
  std::string host;  // name or address, as FreeRDP resolves it
  std::uint16_t port = 3389;
  // Sent in the Client Info PDU (and to CredSSP under nla). The password is never logged, printed or kept in results.
  std::string user, domain, password;
  login_security security = login_security::any;
  // Bounds the whole connection sequence (TCP connect to activation). It is also FreeRDP's TcpConnectTimeout, but
  // FreeRDP's blocking negotiation and TLS reads have no timeout of their own, so a watchdog aborts the attempt and
  // shuts the socket down when this elapses (result.timed_out).
  std::chrono::milliseconds connect_timeout{10000};
  // FreeRDP's TcpAckTimeout (its TCP_USER_TIMEOUT, as xfreerdp's /timeout: sets it). Unset: FreeRDP's default,
  // 9000 ms, so that a held session notices a dead path when a stock FreeRDP client would (docs/freerdp.md 1.8).
  std::optional<std::chrono::milliseconds> tcp_ack_timeout;
  // After reaching the active state, keep pumping the session's events this long, or until the server ends the
  // session (result.ended_by_server). 0: disconnect as soon as the session is active.
  std::chrono::milliseconds stay{0};
  // End the stay early once the server has issued its auto-reconnect cookie (Save Session Info, Logon Info Extended,
  // which Windows sends when the logon has finished): what a check of the logon and its cookie needs, and no more.
  bool leave_once_cookie_issued = false;
  // FreeRDP's ConfigPath, where it writes known_hosts2 and certs/ even when a certificate is accepted only for the
  // session. Empty: a private temporary directory that run_login creates and removes.
  std::filesystem::path config_dir;
  // Present this cookie in the Client Info PDU's extended info (ARC_CS_PRIVATE_PACKET, MS-RDPBCGR 2.2.1.11.1.1.1)
  // so that the server reconnects the client to its earlier session instead of a fresh logon. FreeRDP computes the
  // SecurityVerifier itself: HMAC-MD5 keyed with random_bits over the 32-byte client random (all zeros unless
  // Standard RDP Security is in use).
  std::optional<auto_reconnect_cookie> reconnect_cookie;
  // Which server certificates the logon trusts with the credentials, as mstsc and xfreerdp decide: one that FreeRDP
  // verifies against the system store for `host` is accepted; any other is refused (nothing is sent: the TLS
  // handshake is where the connection stops, before CredSSP or the Client Info PDU) unless its SHA-256 is in
  // accepted_sha256 or accept_any_certificate is set. Standard RDP Security authenticates no server at all
  // (MS-RDPBCGR 5.3.3.1: a proprietary certificate is signed with a key every client knows), so it is offered
  // (security any or rdp) only with accept_any_certificate.
  std::vector<std::string> accepted_sha256;  // leaf certificates' SHA-256 of the DER, hex (colons and case ignored)
  bool accept_any_certificate = false;       // xfreerdp /cert:ignore
  // Set from another thread to end the attempt early (e.g. on Ctrl-C): polled every 50 ms; the connection is aborted
  // as at a deadline and the result says `cancelled`.
  std::shared_ptr<const std::atomic<bool>> cancel;
  // The desktop size asked for. Small, because FreeRDP keeps a software framebuffer of it (640x480x4 = 1.2 MB).
  std::uint32_t width = 640, height = 480;
};

// How the logon's TCP connection ended, as its socket saw it. FreeRDP says ERRCONNECT_CONNECT_TRANSPORT_FAILED for
// all of these, so run_login reads the socket itself (docs/freerdp.md, "How the connection ended").
enum class socket_end {
  not_seen,  // nothing was observed (no connection was made, or the socket was gone before it could be read)
  open,      // the server had not closed when the client ended the connection
  fin,       // the server's FIN: a 0-byte read (TCP state CLOSE_WAIT when the session ended)
  reset,     // the server's RST: ECONNRESET
  refused,   // the TCP connect was refused (ECONNREFUSED; FreeRDP 2 reports it as EPIPE on its first write)
  timeout,   // TCP gave up: ETIMEDOUT (retransmissions or keepalive probes unanswered)
};
std::string_view to_string(socket_end e) noexcept;  // "not-seen", "open", "fin", "reset", "refused", "timeout"

// Logon Errors Info (MS-RDPBCGR 2.2.10.1.1.1.1) from a Save Session Info PDU, e.g. LOGON_MSG_SESSION_CONTINUE.
struct logon_error_info {
  std::uint32_t type = 0, data = 0;
  std::string type_name, data_name;  // FreeRDP's names: "LOGON_MSG_…", "LOGON_FAILED_…" or the raw value
};

struct login_result {
  std::string setup_error;         // non-empty: the attempt could not start (temp dir, FreeRDP context); nothing sent
  bool connected = false;          // freerdp_connect returned TRUE
  bool reached_active = false;     // PostConnect ran: the connection sequence finished, the session was active
  // The furthest connection state FreeRDP reached, by freerdp_state_string: "CONNECTION_STATE_NEGO", …,
  // "CONNECTION_STATE_ACTIVE". Exact when run_login controls WLog (it follows FreeRDP's state transitions through a
  // WLog callback); when the user took WLog over (WLOG_* set) it is only sampled at the callbacks run_login sees.
  std::string furthest_state;
  bool furthest_state_exact = false;  // furthest_state was traced, not sampled
  // freerdp_get_last_error: (class << 16) | type, e.g. 0x0002000D ERRCONNECT_CONNECT_TRANSPORT_FAILED, or an
  // ERRINFO code (class 1) when the server's Set Error Info ended the connection.
  std::uint32_t last_error = 0;
  std::string last_error_name, last_error_text;
  // The last non-zero Set Error Info code (MS-RDPBCGR 2.2.5.1.1), e.g. 0x0000000C ERRINFO_LOGOFF_BY_USER; 0 if none.
  std::uint32_t error_info = 0;
  std::string error_info_name, error_info_text;
  // FreeRDP invents an error info when a Disconnect Provider Ultimatum arrives without one (rn-user-requested →
  // LOGOFF_BY_USER, any other reason → RPC_INITIATED_DISCONNECT). True when error_info is such an invention and
  // no Set Error Info PDU carried it.
  bool error_info_from_ultimatum = false;
  std::optional<int> disconnect_ultimatum;  // MCS Disconnect Provider Ultimatum reason (3 = rn-user-requested)
  std::optional<logon_error_info> logon_error;  // the last Logon Errors Info the server sent
  bool ended_by_server = false;    // during `stay`, the server closed the connection or ended the session
  // How the TCP connection ended (the first connection of the attempt: freerdp_connect retries a failed transport
  // once, and that second connection is not told apart).
  socket_end socket_ended = socket_end::not_seen;
  std::string socket_evidence;     // what it was read from: "TCP state CLOSE_WAIT", "FreeRDP: BIO_read … error 104"
  std::uint16_t local_port = 0;    // the connection's local port once connected (0: never connected)
  bool timed_out = false;          // run_login's watchdog had to abort FreeRDP (connect_timeout or a stuck disconnect)
  bool cancelled = false;          // options.cancel was set before the attempt ended
  std::optional<auto_reconnect_cookie> cookie;   // the auto-reconnect cookie the server issued, if any
  std::optional<std::uint32_t> session_id;       // SessionId from Save Session Info (Logon Info v1/v2), if sent
  std::optional<std::uint32_t> certificate_flags;  // VERIFY_CERT_FLAG_* of the certificate check FreeRDP asked about
  std::string certificate_sha256;  // of the certificate FreeRDP could not verify itself (lowercase hex), if asked
  // Non-empty: the logon refused the server's certificate (or Standard RDP Security), and why; nothing was sent.
  std::string certificate_refused;
  std::chrono::milliseconds connect_time{0};  // freerdp_connect: TCP connect to the active state (or to the failure)
  std::chrono::milliseconds active_time{0};   // how long the session stayed active afterwards (<= stay)
  std::vector<std::string> freerdp_errors;    // FreeRDP's own ERROR/FATAL log lines of this run (at most 32)
  // The NTSTATUS the server refused a CredSSP logon with (TSRequest.errorCode, MS-CSSP 2.2.1), e.g. 0xC000006D
  // STATUS_LOGON_FAILURE for a wrong password. FreeRDP does not report it as such: run_login derives it from
  // last_error and freerdp_errors (ntstatus_from_freerdp, login_ntstatus.hpp). nullopt: no errorCode came.
  std::optional<std::uint32_t> ntstatus;
};

// One login with one FreeRDP instance, blocking. Never throws for what the network or the server does; the result
// says how far it got. Bounded: returns within connect_timeout + stay + 2 s at most (a watchdog thread per call
// enforces it; a silent peer costs connect_timeout + 0.3 s). Safe to call from several threads at once, each with its
// own options (every call has its own FreeRDP instance, driven by the calling thread).
login_result run_login(const login_options& options);

}  // namespace rdp::probe
