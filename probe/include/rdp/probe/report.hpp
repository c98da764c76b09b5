#pragma once
// What rdpprobe found about one target, and its renderings (human text, one JSON object per line).
// The JSON schema is documented in docs/json-schema.md; bump report_schema_version on any incompatible change.
#include "rdp/net/tls.hpp"
#include "rdp/probe/listener_spread.hpp"
#include "rdp/protocol/classify.hpp"
#include "rdp/protocol/nego.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rdp::probe {

inline constexpr int report_schema_version = 1;

// The closed set of verdicts (docs/verdicts.md). Only `rdp` is healthy.
enum class verdict {
  rdp,                 // an RDP server that selected at least one requested protocol, TLS completing where selected
  not_rdp,             // something answered that is not RDP (see listener)
  refused,             // TCP connection refused
  timeout,             // TCP connect, or the answer to the X.224 request, did not come in time
  reset,               // the connection was reset before any answer
  closed,              // the peer closed without answering
  negotiation_failed,  // an RDP server, but it selected none of the requested protocols
  tls_failed,          // the server selected a TLS-based protocol and the TLS handshake failed
  session_error,       // negotiation (and TLS) completed, then the server tore the session down: answered the MCS
                       // Connect-Initial with a Set Error Info, a Disconnect Provider Ultimatum, an X.224 Disconnect
                       // Request, a reset or a close (see session_result)
  dns_failed,          // the name did not resolve
  // Connections to the target met different listeners: some RDP and some another program (two sockets sharing the
  // port with SO_REUSEPORT, or a name whose addresses reach different listeners), or RDP answers to the same request
  // that contradict each other. The report's listener_spread counts what each connection met.
  listener_conflict,
  // With --login: the wire probe saw a healthy RDP server, but a real logon (FreeRDP client library) did not reach
  // the active state (see login: how far it got, the server's error info).
  login_failed,
  // With --login --reconnect: the logon was healthy, but the auto-reconnect cookie the server issued was refused or
  // led to a fresh logon in a new session — the earlier session was deleted.
  reconnect_failed,
  // The probe itself failed (an exception: a bug, or a resource such as memory or file descriptors running out), so
  // nothing can be said about the target. Never a finding about the server; always exit status 1.
  internal_error,
};
std::string_view to_string(verdict v) noexcept;

// How one negotiation attempt (one TCP connection, one requestedProtocols value) ended.
enum class attempt_outcome {
  selected,      // RDP_NEG_RSP
  failure,       // RDP_NEG_FAILURE
  no_negotiation,// a CC without negotiation data (legacy server): Standard RDP Security
  disconnected,  // an RDP stack hung up instead of confirming: MCS Disconnect Provider Ultimatum or X.224 DR
                 // (xrdp 0.9.21 answers requestedProtocols 0x10 this way; docs/wire-vectors.md)
  not_rdp,
  refused,
  timeout,
  reset,
  closed,
  error,         // another socket error
  skipped,       // not attempted because an earlier attempt showed it pointless
};
std::string_view to_string(attempt_outcome o) noexcept;

struct protocol_attempt {
  protocol::security_protocol requested = protocol::security_protocol::rdp;  // single-protocol attempts
  std::uint32_t requested_bits = 0;             // what was sent as requestedProtocols
  bool combination = false;                     // a multi-protocol request as a real client sends it
  attempt_outcome outcome = attempt_outcome::skipped;
  bool supported = false;                       // the server selected one of the requested protocols (for a single
                                                // protocol: exactly it); selecting RDP for a TLS request is a downgrade
  std::optional<std::uint32_t> selected;        // selectedProtocol
  std::optional<std::uint32_t> failure_code;    // RDP_NEG_FAILURE failureCode
  std::uint8_t response_flags = 0;
  bool tls_attempted = false;
  std::optional<std::string> tls_error;         // set when the TLS handshake after selection failed
  std::string detail;                           // one line of evidence
  std::optional<double> connect_ms, negotiation_ms, tls_ms;
};

// min / median / p99 of one phase over --count repetitions (nearest-rank percentiles).
struct timing_summary {
  std::size_t samples = 0;
  double min = 0, median = 0, p99 = 0, max = 0;
};
timing_summary summarize(std::vector<double> samples);

// What the server did when the client went on after the negotiation with an MCS Connect-Initial (MS-RDPBCGR
// 2.2.1.3): inside TLS on a connection where the server selected PROTOCOL_SSL, or in the clear in Standard RDP
// Security's exchange. A healthy server answers with a Connect-Response (2.2.1.4); one that cannot host a session
// hangs up in one of the ways below, often after a Set Error Info PDU (2.2.5.1) saying why.
enum class session_outcome {
  connect_response,               // healthy
  disconnect_provider_ultimatum,  // MCS DPU (2.2.2.3), alone or after a Set Error Info
  x224_disconnect_request,        // X.224 Disconnect Request
  set_error_info,                 // a Set Error Info PDU, then nothing more before the deadline
  reset,                          // the TCP connection was reset
  closed,                         // the server closed the connection (TCP FIN, or TLS close)
  no_answer,                      // neither an answer nor a hang-up within the read timeout: not a finding
  error,                          // the Connect-Initial could not be sent, or the answer was malformed
};
std::string_view to_string(session_outcome o) noexcept;  // "connect-response", "disconnect-provider-ultimatum", …
// The outcomes that mean the server tore the session down (verdict session-error).
bool tears_down(session_outcome o) noexcept;

struct session_result {
  std::string over;  // "tls": inside the TLS connection of a negotiation attempt; "rdp": Standard RDP Security
  session_outcome outcome = session_outcome::no_answer;
  std::string detail;                       // one line: what came back
  std::optional<std::uint32_t> error_info;  // TS_SET_ERROR_INFO_PDU.errorInfo, when one came
  std::string error_info_name;              // "ERRINFO_SERVER_DENIED_CONNECTION"; empty for a code not in the table
  std::string error_info_meaning;           // one line (errinfo.hpp)
  std::string error_info_session_fate;      // "never_created", "deleted", … (errinfo.hpp session_fate)
  std::optional<std::uint8_t> disconnect_reason;  // T.125 Reason of a DPU
  std::string disconnect_reason_name;             // "rn-user-requested"
  // From a Connect-Response's TS_UD_SC_CORE (2.2.1.4.2).
  std::optional<std::uint32_t> rdp_version;
  std::string rdp_version_name;             // "RDP 5.0-8.1"
  std::optional<std::uint32_t> client_requested_protocols;
  std::optional<std::uint32_t> early_capability_flags;
  std::optional<double> mcs_ms;             // Connect-Initial sent -> the answer or the hang-up
};

struct standard_security_result;  // standard_security.hpp
struct ntlm_info_result;          // ntlm_info.hpp
struct login_check_result;        // login_check.hpp

struct target_report {
  std::string target;   // as the user wrote it
  std::string address;  // the address:port probed
  // Until the probe decides, internal-error: a report no probe finished must never read as a real verdict.
  verdict result = verdict::internal_error;
  std::string evidence;  // why the verdict, one line
  std::vector<protocol_attempt> protocols;     // one per requested protocol
  std::vector<protocol_attempt> combinations;  // one per client-style combination (e.g. 0x03, 0x0B)
  std::optional<net::tls_facts> tls;
  std::optional<protocol::classification> listener;  // what answered, when it was not RDP
  // What every connection of the wire probe met (the negotiation attempts, the extra connections made after a
  // non-RDP first answer, one per other address of the name), counted by kind and fingerprint. disagree() on it is
  // verdict listener-conflict.
  tally spread;
  // The addresses the target's name resolved to (each once, in the resolver's order); empty for an address literal.
  std::vector<std::string> resolved;
  // Standard RDP Security (MCS Connect exchange), when the server accepted PROTOCOL_RDP and it was asked for.
  std::shared_ptr<const standard_security_result> standard_security;
  // NTLM CHALLENGE facts over CredSSP (names, product version, clock), when the server selected CredSSP.
  std::shared_ptr<const ntlm_info_result> ntlm_info;
  // What the server did with an MCS Connect-Initial after the negotiation: over TLS when it selected PROTOCOL_SSL
  // for some request, else (or when only that one tore the session down) Standard RDP Security's first exchange.
  std::optional<session_result> session;
  // A real logon (and reconnection with the cookie) with the FreeRDP client library, when --login asked for one and
  // the target answered RDP.
  std::shared_ptr<const login_check_result> login;
  std::string login_skipped;  // why --login made no logon (e.g. the listener is not RDP); empty otherwise
  std::optional<double> dns_ms, connect_ms, negotiation_ms, tls_ms;
  std::optional<double> credssp_ms;  // the NTLM info exchange: TSRequest sent -> the server's answer
  std::optional<double> mcs_ms;      // the session check's MCS Connect-Initial -> the answer or the hang-up
  double total_ms = 0;
  // With --count N > 1: the statistics per phase ("connect", "negotiation", "tls", "credssp", "mcs", "total") over
  // the N runs.
  // The rest of the report is the first run's.
  std::vector<std::pair<std::string, timing_summary>> repeated;
};

nlohmann::json to_json(const target_report& report);
nlohmann::json to_json(const session_result& session);
// Whether the target has anything RDP to show beyond its table row: some negotiation attempt got an RDP answer (a
// selection, a failure code, a legacy confirm, an RDP hang-up), or an RDP exchange or a logon was made. A refused,
// silent, resetting or closing port, a name that does not resolve, or a listener that is not RDP has not: its row
// (verdict and evidence) says all there is, and nine lines of "skipped" would only bury the hosts that matter.
bool has_rdp_to_show(const target_report& report) noexcept;
// The detailed report of one target (the single-target output, and the sections after a table).
void print_human(std::ostream& out, const target_report& report);

// The compact view of many targets: one aligned row per target. The column widths depend only on what is known
// before probing (the target texts, the protocols and combinations asked), so rows can be printed as targets
// finish. Columns: target, verdict, protocols accepted, what each client combination selected, TLS version,
// certificate days left, connect+handshake time (connect, X.224 negotiation and TLS of the first attempts that
// reached them), and the finding (the evidence of any verdict but rdp; "-" for a healthy target).
class summary_table {
 public:
  summary_table(const std::vector<std::string>& targets, const std::vector<protocol::security_protocol>& protocols,
                const std::vector<std::uint32_t>& combinations);
  void print_header(std::ostream& out) const;
  void print_row(std::ostream& out, const target_report& report) const;

 private:
  std::size_t target_width_ = 6, accepted_width_ = 8;
  std::vector<std::uint32_t> combinations_;
};

}  // namespace rdp::probe
