// `rdpprobe local`'s verdict step: each distinct listening address probed once with the scanner (wildcards via
// loopback), its verdict attached to every listener there, then the findings (local_report.cpp).
#include "rdp/probe/local_listeners.hpp"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace rdp::probe {
namespace {

// 0.0.0.0 → 127.0.0.1, :: → ::1, ::ffff:a.b.c.d → a.b.c.d; link-local IPv6 has no scope in /proc: not probed.
std::optional<std::string> probe_address(const proc_net_socket& s) {
  if (!s.ipv6) return s.address == "0.0.0.0" ? std::string("127.0.0.1") : s.address;
  if (s.address == "::") return std::string("::1");
  // std::find rather than string::find: GCC 12 at -O2 misreads the latter's memchr bound here (stringop-overread).
  const std::string_view address = s.address;
  if (address.starts_with("::ffff:") && std::find(address.begin(), address.end(), '.') != address.end()) {
    const std::string v4(address.substr(7));
    return v4 == "0.0.0.0" ? std::string("127.0.0.1") : v4;
  }
  if (s.address.size() >= 4 && (s.address.starts_with("fe8") || s.address.starts_with("fe9") ||
                                s.address.starts_with("fea") || s.address.starts_with("feb")))
    return std::nullopt;
  return s.address;
}

}  // namespace

probe_options local_probe_options() {
  probe_options options;
  options.protocols = {protocol::security_protocol::rdp, protocol::security_protocol::ssl};
  options.combinations.clear();
  options.connect_timeout = net::milliseconds(1000);
  options.read_timeout = net::milliseconds(1500);
  options.tls_timeout = net::milliseconds(2000);
  options.cookie = "rdpprobe-local";
  return options;
}

void probe_local_listeners(local_report& report, const probe_options& options) {
  // One probe per distinct address: a wildcard v4 socket and a specific 127.0.0.1 one would otherwise be probed
  // twice at the same place. With SO_REUSEPORT the kernel picks one of the sockets there for our connection.
  std::map<std::string, std::vector<std::size_t>> by_address;
  for (std::size_t i = 0; i < report.listeners.size(); ++i) {
    auto& l = report.listeners[i];
    if (auto where = probe_address(l.socket)) by_address[*where].push_back(i);
  }
  std::vector<std::pair<std::string, net::host_port>> targets;
  for (const auto& [address, indexes] : by_address) {
    net::host_port hp{address, report.port};
    targets.emplace_back(hp.text(), hp);
  }
  if (!targets.empty()) {
    const auto results = probe_all(targets, options, targets.size());
    std::size_t t = 0;
    for (const auto& [address, indexes] : by_address) {
      const auto& r = results.at(t++);
      for (const auto i : indexes) {
        auto& l = report.listeners[i];
        l.probed = r.address;
        l.result = r.result;
        l.evidence = r.evidence;
        l.listener = r.listener;
      }
    }
  }
  report.probed = true;
  evaluate_local_report(report);
}

}  // namespace rdp::probe
