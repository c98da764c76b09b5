#pragma once
// What rdpprobe found about one target, and its renderings (human text, one JSON object per line).
// The JSON schema is documented in docs/json-schema.md; bump report_schema_version on any incompatible change.
#include "rdp/net/tls.hpp"
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
  dns_failed,          // the name did not resolve
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

struct standard_security_result;  // standard_security.hpp
struct ntlm_info_result;          // ntlm_info.hpp

struct target_report {
  std::string target;   // as the user wrote it
  std::string address;  // the address:port probed
  verdict result = verdict::refused;
  std::string evidence;  // why the verdict, one line
  std::vector<protocol_attempt> protocols;     // one per requested protocol
  std::vector<protocol_attempt> combinations;  // one per client-style combination (e.g. 0x03, 0x0B)
  std::optional<net::tls_facts> tls;
  std::optional<protocol::classification> listener;  // what answered, when it was not RDP
  // Standard RDP Security (MCS Connect exchange), when the server accepted PROTOCOL_RDP and it was asked for.
  std::shared_ptr<const standard_security_result> standard_security;
  // NTLM CHALLENGE facts over CredSSP (names, product version, clock), when the server selected CredSSP.
  std::shared_ptr<const ntlm_info_result> ntlm_info;
  std::optional<double> dns_ms, connect_ms, negotiation_ms, tls_ms;
  double total_ms = 0;
  // With --count N > 1: the statistics per phase ("connect", "negotiation", "tls", "total") over the N runs.
  // The rest of the report is the first run's.
  std::vector<std::pair<std::string, timing_summary>> repeated;
};

nlohmann::json to_json(const target_report& report);
void print_human(std::ostream& out, const target_report& report);

}  // namespace rdp::probe
