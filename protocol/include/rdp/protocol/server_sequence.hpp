#pragma once
// The server side of the RDP connection sequence as rdpsim plays it (MS-RDPBCGR 1.3.1.1), as a sans-I/O state
// machine in the vocabulary of sequence.hpp: X.224 negotiation (2.2.1.1/2.2.1.2), the TLS upgrade, the CredSSP logon
// for HYBRID/HYBRID_EX (MS-CSSP 3.1.5 with NTLMv2, credssp_server.hpp's credssp_acceptor; for HYBRID_EX then the Early
// User Authorization Result PDU, 2.2.10.2), MCS Connect (2.2.1.3/2.2.1.4),
// the domain PDUs up to the Client Info (2.2.1.5-2.2.1.11), a logon decision taken by the owner, licensing
// (2.2.1.12), capabilities (2.2.1.13), finalization (2.2.1.14-2.2.1.22), Save Session Info (2.2.10.1) and the active
// session: heartbeats (2.2.16.1), idle and active limits, and the teardowns of docs/session-drops.md (Set Error Info
// 2.2.5.1.1, Disconnect Provider Ultimatum 2.2.2.3, then a graceful close, a reset or an abrupt close).
// Standard RDP Security is answered up to the Connect-Response in the clear — with the level, method, server random and
// proprietary certificate of server_security.hpp — and then held (no RDP encryption).
//
// The machine frames its own input (tpkt::frame_decoder, 16 KiB frames before activation), chooses every deadline
// (one per step, repeated while a frame is incomplete, so a client trickling bytes cannot stretch it), bounds the
// frames of each phase, and never throws for anything the client sends. Policy that needs the session table — who
// may log on, which session a logon lands in, how an administrator's action ends a connection — stays with the
// owner: it answers notices (logon_decision_needed, activated) and hands in teardown requests.
//
// One machine per connection; thousands run at once, so it keeps only the session's own buffers and notices the
// owner only at the few points where it must act (input is a value, last_input(), not a notice).
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/credssp.hpp"
#include "rdp/protocol/credssp_server.hpp"
#include "rdp/protocol/crypto.hpp"
#include "rdp/protocol/activation.hpp"
#include "rdp/protocol/mcs.hpp"
#include "rdp/protocol/nego.hpp"
#include "rdp/protocol/sequence.hpp"
#include "rdp/protocol/server_security.hpp"
#include "rdp/protocol/tpkt.hpp"
#include "rdp/protocol/x224.hpp"

#include <boost/system/error_code.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rdp::protocol {

struct server_sequence_options {
  server_security_policy policy;  // what X.224 negotiation selects or refuses (decide_negotiation)
  // The owner can run a TLS handshake (it has a certificate). Without it a TLS-based selection is served as Standard
  // RDP Security is: Connect-Response in the clear, then held (what rdpsim does without a TLS context).
  bool tls_available = true;
  // CredSSP (HYBRID/HYBRID_EX): who the server says it is, and the CHALLENGE's nonce and timestamp — inputs, because
  // the machine has no clock and no randomness.
  ntlm_identity ntlm;
  std::array<std::uint8_t, 8> server_challenge{};
  std::uint64_t filetime = 0;  // MsvAvTimestamp (ntlm::to_filetime of the wall clock)
  // The CredSSP logon: the primitives NTLM needs (null: a CredSSP selection answers the NEGOTIATE with the CHALLENGE,
  // as probes read it, and refuses the AUTHENTICATE with STATUS_NOT_SUPPORTED), the TLS certificate's
  // SubjectPublicKey the client binds to, and the accounts that may log on.
  const crypto::primitives* crypto = nullptr;
  byte_buffer public_key;
  account_list accounts;
  // Standard RDP Security (MS-RDPBCGR 5.3): the level, methods and signed certificate the Connect-Response answers
  // with when Standard RDP Security was selected, and this connection's server random (answer_standard_security).
  // Over TLS/CredSSP the Connect-Response says NONE/NONE whatever these say, as Windows sends.
  standard_security_options standard_security;
  std::uint16_t max_desktop_width = 1920, max_desktop_height = 1200;
  // Server Heartbeat PDUs every `heartbeat`, to a client that announces support; nullopt: none. The machine's timer
  // keeps this period to the millisecond (a time-scaled period: 62 s at 0.05 is 3100 ms); the PDU's period field is
  // whole seconds (2.2.16.1), so on the wire it is rounded up (heartbeat_period_field).
  std::optional<sequence::duration> heartbeat;
  // Active-session limits (changeable later with set_limits): no input for `idle_limit`; `active_limit` since the
  // session became active (rdpsim's logon_timeout policy, ERRINFO_LOGON_TIMEOUT).
  std::optional<sequence::duration> idle_limit, active_limit;
  sequence::duration handshake_timeout{10000};  // each step before activation: a frame, a write, the TLS handshake
  sequence::duration hold_timeout{30000};       // Standard RDP Security: how long the connection is held, in all
  sequence::duration drain_timeout{2000};       // a graceful close: how long to wait for the client to hang up
  std::size_t max_frame = 16 * 1024;            // nothing a client sends before activation is larger
};

// How far the sequence got: the last step completed.
enum class server_phase {
  none,
  requested,        // the X.224 Connection Request was read
  negotiated,       // the Connection Confirm selecting a protocol was sent
  tls,              // the TLS handshake completed
  ntlm_challenged,  // CredSSP: the NTLM CHALLENGE was sent
  authenticated,    // CredSSP: the client's NTLMv2 logon, public-key binding and TSCredentials were accepted
  mcs_connected,    // the MCS Connect-Response was sent
  client_info,      // the Client Info arrived (the logon decision is asked for)
  capabilities,     // licensing and Demand Active were sent
  active,           // the client's Font List read, the finalization PDUs and the first screen sent
  logged_on,        // Save Session Info sent: the session is Active
};
const char* to_string(server_phase p) noexcept;

// Why the machine ended.
enum class server_end {
  none,              // not ended yet
  bad_request,       // no X.224 Connection Request: something else, a close, or nothing within the deadline
  refused,           // negotiation answered with RDP_NEG_FAILURE
  client_left,       // the stream failed or closed, or the client sent a Disconnect Provider Ultimatum / X.224 DR
  sequence_failure,  // the client sent something that is not the next step (or too many frames before it)
  timed_out,         // a step's deadline passed
  nla_refused,       // CredSSP: the logon was refused (result().credssp_log; nla_status when an errorCode was due),
                     // or HYBRID_EX's Early User Authorization Result said AUTHZ_ACCESS_DENIED
  hold_over,         // Standard RDP Security: the hold deadline passed
  no_common_method,  // Standard RDP Security: the client offered no encryption method the server's level allows
  denied,            // the owner's logon decision denied the logon
  idle_limit,        // no input for the idle limit
  active_limit,      // the active-session limit passed
  teardown,          // the owner asked for the end (request_end)
};
const char* to_string(server_end e) noexcept;

// How a connection is ended on the wire: Set Error Info (only to a client that supports it), a Disconnect Provider
// Ultimatum, then the close. A graceful close half-closes and drains (docs/freerdp.md 2.4: closing with unread data
// makes the kernel answer with a reset that can destroy what was sent last); reset and abrupt send nothing first.
struct teardown {
  std::optional<std::uint32_t> error_info;
  std::optional<mcs::disconnect_reason> dpu;
  sequence::close_style close = sequence::close_style::graceful;
  friend bool operator==(const teardown&, const teardown&) = default;
};
// The teardowns of the machine's own limits (docs/session-drops.md): ERRINFO_IDLE_TIMEOUT and ERRINFO_LOGON_TIMEOUT,
// each with a provider-initiated DPU and a graceful close. An owner mapping the same ends for its table uses these.
// The Server Heartbeat PDU's period field (MS-RDPBCGR 2.2.16.1: seconds, one byte) for a heartbeat every `every`:
// rounded up, from 1 to 255, so that a client counting missed periods never expects a heartbeat before the next one
// is due. Only the wire field is whole seconds; the machine sends at `every` exactly.
std::uint8_t heartbeat_period_field(sequence::duration every) noexcept;
teardown idle_limit_teardown() noexcept;
teardown active_limit_teardown() noexcept;

// What the client told us about itself that changes what we send (from the Connect-Initial and Confirm Active).
struct server_client_facts {
  bool error_info = false;      // RNS_UD_CS_SUPPORT_ERRINFO_PDU: Set Error Info may be sent (2.2.1.3.2)
  bool heartbeat = false;       // RNS_UD_CS_SUPPORT_HEARTBEAT_PDU
  bool auto_reconnect = false;  // general capability AUTORECONNECT_SUPPORTED in Confirm Active (2.2.7.1.1)
  std::uint16_t user_id = 1007;  // the MCS user id given in Attach User Confirm: after the channel ids
  std::uint16_t width = 1024, height = 768, bits_per_pixel = 16;  // clamped to what the server supports
  friend bool operator==(const server_client_facts&, const server_client_facts&) = default;
};

// The owner's answer to logon_decision_needed.
struct logon_decision {
  std::optional<std::uint32_t> denied;  // refuse with this errorInfo (then a DPU and a graceful close)
  std::uint32_t session_id = 0;         // accepted: Demand Active's sessionId
  bool stale_cookie = false;            // accepted, but the client's cookie was not: Auto-Reconnect Status follows
  static logon_decision deny(std::uint32_t error_info) { return {error_info, 0, false}; }
  static logon_decision accept(std::uint32_t session_id, bool stale_cookie = false) {
    return {std::nullopt, session_id, stale_cookie};
  }
};

// What Save Session Info carries (2.2.10.1): given by the owner after `activated`, or not at all (then none is sent).
struct logon_info {
  std::uint32_t session_id = 0;
  std::string user, domain;
  // ArcRandomBits of a fresh auto-reconnect cookie (2.2.4.2); sent only to a client that supports auto-reconnect.
  std::optional<std::array<std::uint8_t, 16>> cookie_bits;
};

struct server_result {
  server_phase reached = server_phase::none;
  server_end ended = server_end::none;
  boost::system::error_code error;  // the I/O error, the decoding error or boost::system::errc::timed_out
  std::optional<x224::connection_request> request;
  std::optional<security_protocol> selected;  // negotiated (Standard RDP Security for a legacy request)
  server_client_facts client;
  std::optional<activation::client_info> client_info;
  std::string credssp_log;  // the sentence rdpsim logs when it refused an NLA logon; empty otherwise
  std::optional<nla_logon> nla;  // who logged on with CredSSP, before the Client Info (which then cannot change it)
  std::optional<std::uint32_t> nla_status;  // the NTSTATUS of a refused CredSSP logon (sent as errorCode from v3)
  std::optional<std::uint32_t> early_authorization;  // HYBRID_EX: the Early User Authorization Result sent
  std::optional<teardown> teardown_sent;  // what the end looked like on the wire (graceful/reset/abrupt and PDUs)
};

// What a notify action is about (notice()).
enum class server_notice {
  none,
  negotiated,              // a protocol was selected and the Connection Confirm sent (refusals end: `ended`)
  tls_completed,           // the TLS handshake completed
  ntlm_challenge_sent,     // the CredSSP CHALLENGE was sent
  logon_decision_needed,   // result().client_info is there: call decide_logon(), then resume with notified
  activated,               // the session is active; set_session_info() now for Save Session Info, then notified
  logged_on,               // Save Session Info sent: the session is Active
  ended,                   // result().ended says why; what the teardown sends and the close follow
};
const char* to_string(server_notice n) noexcept;

class server_sequence {
 public:
  explicit server_sequence(server_sequence_options options);

  // The next action for `e` (sequence.hpp). After done, done again.
  sequence::action resume(const sequence::event& e);

  const server_result& result() const noexcept { return result_; }
  server_notice notice() const noexcept { return notice_; }
  // When a frame last arrived while active (the activation instant until one does): the owner's idle bookkeeping.
  sequence::instant last_input() const noexcept { return last_input_; }
  sequence::instant activated_at() const noexcept { return activated_at_; }

  // Owner inputs. decide_logon answers logon_decision_needed; set_session_info answers activated (optional).
  void decide_logon(const logon_decision& decision) { decision_ = decision; }
  void set_session_info(logon_info info) { logon_ = std::move(info); }
  // Ends an active session the way `how` says; delivered with a woken event (the active read is wakeable), or seen at
  // the session's next event. Before the session is active it takes effect once it is. Ignored once ended.
  void request_end(const teardown& how) { requested_end_ = how; }
  // New active-session limits; delivered with a woken event like request_end.
  void set_limits(std::optional<sequence::duration> idle_limit, std::optional<sequence::duration> active_limit) {
    options_.idle_limit = idle_limit;
    options_.active_limit = active_limit;
  }

 private:
  enum class step : std::uint8_t;

  sequence::action start(sequence::instant now);
  sequence::action on_received(const sequence::event& e);
  sequence::action on_written(const sequence::event& e);
  sequence::action on_notified(const sequence::event& e);
  sequence::action on_failure(const sequence::event& e);
  sequence::action proceed(sequence::instant now);

  sequence::action read_frame(sequence::instant now);
  sequence::action read_step(sequence::instant now);
  std::optional<sequence::action> on_frame(bytes_view frame, sequence::instant now);
  std::optional<sequence::action> on_connect_initial(bytes_view frame, sequence::instant now);
  std::optional<sequence::action> on_domain_frame(bytes_view frame, sequence::instant now);
  std::optional<sequence::action> on_finalization_frame(bytes_view frame, sequence::instant now);
  sequence::action on_ts_request(sequence::instant now);
  sequence::action after_credssp(sequence::instant now);
  sequence::action active(sequence::instant now);
  sequence::action on_active_bytes(const sequence::event& e);
  void release_idle_framing();

  sequence::action send(std::vector<byte_buffer> frames, step then, sequence::instant now);
  sequence::action next_write(sequence::instant now);
  sequence::action end(server_end why, boost::system::error_code ec, const teardown& how, sequence::instant now);
  sequence::action fail(server_end why, boost::system::error_code ec, sequence::instant now);
  sequence::action finish_end(sequence::instant now);
  sequence::action notify(server_notice n, step then);

  server_sequence_options options_;
  server_result result_;
  server_notice notice_ = server_notice::none;
  step step_;
  step after_;  // where a write queue or a notify goes on

  tpkt::frame_decoder frames_;
  byte_buffer ts_buffer_;  // CredSSP: TSRequests are DER without TPKT framing
  std::optional<credssp_acceptor> acceptor_;  // CredSSP: the exchange, from the TLS handshake to its end
  std::vector<byte_buffer> writes_;
  std::size_t write_at_ = 0;
  sequence::instant deadline_{};  // the current step's
  bool step_open_ = false;        // deadline_ belongs to a read still waiting for its frame
  int frames_in_phase_ = 0;
  bool confirmed_ = false;        // Confirm Active read

  std::optional<logon_decision> decision_;
  std::optional<logon_info> logon_;
  std::optional<teardown> requested_end_;
  teardown ending_;
  sequence::instant activated_at_{}, last_input_{}, next_heartbeat_{};
};

}  // namespace rdp::protocol
