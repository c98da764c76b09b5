#pragma once
// What a server offers under Standard RDP Security (MS-RDPBCGR 5.3), asked the way nmap's rdp-enum-encryption asks
// (docs/wire-facts.md 2.2): an X.224 CR without RDP_NEG_REQ, then an MCS Connect-Initial whose client security data
// (2.2.1.3.3) offers some RC4/FIPS methods, and from the server's Connect-Response (2.2.1.4) its encryption level,
// the method it chose and its RDP version. The exchange stops there: no keys are exchanged, nobody logs in.
#include "rdp/net/asio.hpp"
#include "rdp/net/engine.hpp"
#include "rdp/probe/probe_options.hpp"
#include "rdp/probe/report.hpp"  // session_result

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rdp::probe {

// One Connect-Initial offering a single encryption method.
struct encryption_method_result {
  std::uint32_t method = 0;  // the bit offered (gcc::encryption_method)
  std::string name;          // "40-bit RC4", …
  bool accepted = false;     // the server answered with exactly this method (nmap's "SUCCESS")
  std::string detail;        // what the server chose instead, or why the exchange failed
};

struct standard_security_result {
  bool attempted = false;
  std::optional<std::uint32_t> encryption_level;  // TS_UD_SC_SEC1.encryptionLevel
  std::string encryption_level_name;              // "High", …
  std::optional<std::uint32_t> selected_method;   // from the first exchange (all methods offered)
  std::vector<encryption_method_result> methods;  // one exchange per method, nmap-style: only that bit offered
  std::optional<std::uint32_t> rdp_version;       // TS_UD_SC_CORE.version
  std::string rdp_version_name;                   // "RDP 5.0-8.1", …
  std::optional<std::uint32_t> early_capability_flags;  // TS_UD_SC_CORE.earlyCapabilityFlags, when sent
  bool server_certificate_present = false;        // SC_SECURITY carried a server certificate
  std::string error;                              // empty on success; else why it could not be read, one line
  std::optional<double> mcs_ms;                   // Connect-Initial -> Connect-Response time of the first exchange
  // What the first exchange's Connect-Initial got back (over "rdp"); nullopt when it was never sent (the
  // connection, the Connection Request or the Connection Confirm failed first).
  std::optional<session_result> session;
};

// The largest Connect-Response read; a bigger frame is an error, never allocated. Windows with an X.509 chain
// answers in a few KB; xrdp's proprietary certificate makes 525 bytes (docs/wire-vectors.md 4.3).
inline constexpr std::size_t max_connect_response_bytes = 16 * 1024;

// Five exchanges, each on a new TCP connection to the first of `endpoints` that accepts (options->connect_timeout):
// the first offers every method; then 40-bit, 56-bit, 128-bit and FIPS one at a time (nmap's order). Each sends the
// CR (cookie from options) and reads the CC (options->read_timeout) itself; then protocol::client_sequence, started
// after the X.224 exchange on net::sequence_engine, sends the Connect-Initial (serverSelectedProtocol 0,
// earlyCapabilityFlags RNS_UD_CS_SUPPORT_ERRINFO_PDU) and reads the Connect-Response (one deadline of
// options->read_timeout for both, frames of at most max_connect_response_bytes). After a Connect-Response (or a
// refused negotiation) it sends an X.224 Disconnect Request; it closes gracefully in any case. When the first
// exchange fails the others are not tried. Never throws for what the network or the server does; `error` says where
// it stopped.
net::asio::awaitable<standard_security_result> probe_standard_security(std::vector<net::tcp::endpoint> endpoints,
                                                                       std::shared_ptr<const probe_options> options);

// The session check after TLS (docs/verdicts.md, session-error): on a connection where the server selected
// PROTOCOL_SSL and the TLS handshake completed, sends an MCS Connect-Initial inside TLS — client core data with
// serverSelectedProtocol = `selected_protocol` and earlyCapabilityFlags RNS_UD_CS_SUPPORT_ERRINFO_PDU (so the server
// may say why with a Set Error Info), client security data with no methods, as nmap's SSL variant — and reads what
// comes back within `timeout` (one deadline, frames of at most max_connect_response_bytes): a Connect-Response, or a
// Set Error Info / Disconnect Provider Ultimatum / X.224 Disconnect Request / reset / close. The exchange is
// protocol::client_sequence started after TLS on `engine`, whose start_tls already completed: after a Connect-Response it sends an
// X.224 Disconnect Request, and it closes the connection in every case. Never throws for what the network or the
// server does.
net::asio::awaitable<session_result> check_session_over_tls(net::sequence_engine& engine, std::uint32_t selected_protocol,
                                                            net::milliseconds timeout);

// {"attempted", "encryption_level", "encryption_level_name", "selected_method", "selected_method_name",
//  "methods": [{"method", "name", "accepted", "detail"}], "rdp_version" ("0x00080004"), "rdp_version_name",
//  "early_capability_flags" ("0x00000001"), "server_certificate_present", "error", "timings_ms": {"mcs"}}
// — absent values are null.
nlohmann::json to_json(const standard_security_result& result);

}  // namespace rdp::probe
