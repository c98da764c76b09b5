#pragma once
// What a CredSSP server says about itself before anyone logs in, the way nmap's rdp-ntlm-info asks (docs/wire-facts.md
// 2.3): a TSRequest carrying an NTLM NEGOTIATE (MS-CSSP 2.2.1, MS-NLMP 2.2.1.1) after TLS, and from the server's
// CHALLENGE (MS-NLMP 2.2.1.2) the NetBIOS/DNS names, the clock and the Windows build. No credentials are needed or
// sent: the exchange stops after the CHALLENGE.
#include "rdp/net/asio.hpp"
#include "rdp/probe/probe_options.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rdp::probe {

struct ntlm_info_result {
  bool attempted = false;
  std::string netbios_computer, netbios_domain, dns_computer, dns_domain, dns_tree;  // empty = not sent
  std::optional<std::string> product_version;     // "10.0.17763" (NTLM VERSION, MS-NLMP 2.2.2.10)
  std::optional<std::string> server_time;         // ISO 8601 UTC from MsvAvTimestamp
  std::optional<double> clock_skew_seconds;       // server time minus our clock when the CHALLENGE arrived
  std::optional<std::int64_t> credssp_version;    // TSRequest.version in the server's answer
  std::optional<std::uint32_t> error_code;        // TSRequest.errorCode if the server sent one (NTSTATUS)
  std::string error;                              // empty on success, else one line why
  std::optional<double> credssp_ms;               // TSRequest sent → answer decoded
};

// One new TCP connection to the first of `endpoints` that accepts: X.224 CR (cookie from options, requestedProtocols
// 0x0B = SSL|HYBRID|HYBRID_EX as nmap sends), the CC must select HYBRID or HYBRID_EX, TLS handshake
// (options->tls_timeout), one TSRequest out, one back (options->read_timeout, at most 64 KiB), then close.
// Never throws for what the network or the server does; `error` says where it stopped.
net::asio::awaitable<ntlm_info_result> probe_ntlm_info(std::vector<net::tcp::endpoint> endpoints,
                                                       std::shared_ptr<const probe_options> options,
                                                       std::shared_ptr<net::asio::ssl::context> tls_context);

// {"attempted", "netbios_computer", "netbios_domain", "dns_computer", "dns_domain", "dns_tree", "product_version",
//  "server_time", "clock_skew_seconds", "credssp_version", "error_code" ("0xC000006D"), "error",
//  "timings_ms": {"credssp"}} — absent values are null.
nlohmann::json to_json(const ntlm_info_result& result);

}  // namespace rdp::probe
