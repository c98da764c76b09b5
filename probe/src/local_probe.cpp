// `rdpprobe local`'s verdict step: each distinct listening address probed once with the scanner (wildcards via
// loopback), its verdict attached to every listener there; an SO_REUSEPORT group's address probed again by many
// connections (the spread); then the findings (local_report.cpp).
#include "rdp/probe/local_listeners.hpp"

#include "rdp/net/spawn.hpp"
#include "rdp/net/tls.hpp"

#include "attempt.hpp"

#include <algorithm>
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

// The spread of one group: `connections` negotiations to `host`, each on a connection of its own.
struct spread_job {
  std::string host;  // address literal, no brackets
  std::size_t connections = 0;
  std::vector<detail::attempt_state> states;
  std::size_t next = 0;
};

// One of a job's workers: takes the job's next connection until none is left. Every attempt is bounded by the
// options' deadlines (connect, answer, TLS), so the worker is too.
net::asio::awaitable<void> spread_worker(std::shared_ptr<spread_job> job, std::uint16_t port, std::uint32_t bits,
                                         std::shared_ptr<const probe_options> options,
                                         std::shared_ptr<net::asio::ssl::context> tls_context) {
  const std::vector<net::tcp::endpoint> endpoints{{net::asio::ip::make_address(job->host), port}};
  // Already "checked": the spread asks only who answers, never the MCS session check.
  auto session_checked = std::make_shared<bool>(true);
  while (job->next < job->connections) {
    const std::size_t i = job->next++;
    job->states[i] = co_await detail::attempt_protocol(endpoints, bits, options, tls_context, nullptr, job->host,
                                                       session_checked);
  }
}

// Runs every job on an io_context of its own, `in_flight` connections at a time per job.
void run_spreads(std::vector<std::shared_ptr<spread_job>>& jobs, std::uint16_t port, const probe_options& options,
                 std::size_t in_flight) {
  if (jobs.empty()) return;
  net::asio::io_context io(1);
  auto shared_options = std::make_shared<const probe_options>(options);
  auto tls_context = std::make_shared<net::asio::ssl::context>(net::make_client_context(options.ca_file));
  // One negotiation per connection, asking what the verdict step asks (rdp and tls: requestedProtocols 0x01).
  std::uint32_t bits = 0;
  for (const auto p : options.protocols) bits |= protocol::to_bits(p);
  for (auto& job : jobs) {
    job->states.resize(job->connections);
    for (std::size_t w = 0; w < std::min(in_flight, job->connections); ++w)
      net::spawn(io.get_executor(), spread_worker(job, port, bits, shared_options, tls_context),
                 "rdpprobe local: spread at " + job->host);
  }
  io.run();
}

}  // namespace

std::size_t spread_connections_for(std::size_t sockets, std::size_t requested) {
  if (requested > 0) return std::min(requested, max_spread_connections);
  return std::min(spread_connections_per_socket * sockets, max_spread_connections);
}

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
  local_options local;
  local.probe = options;
  probe_local_listeners(report, local);
}

void probe_local_listeners(local_report& report, const local_options& local) {
  const auto& options = local.probe;
  // One probe per distinct address: a wildcard v4 socket and a specific 127.0.0.1 one would otherwise be probed
  // twice at the same place.
  std::map<std::string, std::vector<std::size_t>> by_address;  // host → the rows probed there
  std::vector<std::string> hosts;                              // in the order first met
  for (std::size_t i = 0; i < report.listeners.size(); ++i) {
    auto& l = report.listeners[i];
    if (auto where = probe_address(l.socket)) {
      if (!by_address.count(*where)) hosts.push_back(*where);
      by_address[*where].push_back(i);
    }
  }
  // A [::] socket may take IPv4 clients too (IPV6_V6ONLY=0), and /proc/net/tcp6 does not say. Where no IPv4
  // wildcard would answer first, an IPv4 loopback address no IPv4 socket holds can only be answered by a dual-stack
  // [::]: 127.0.0.1 when it is free (then it is also what an IPv4 client meets), else 127.0.0.2 (Linux routes all
  // of 127.0.0.0/8 to lo).
  std::string dual_stack_host;
  const bool any6 = std::any_of(report.listeners.begin(), report.listeners.end(),
                                [](const auto& l) { return l.socket.ipv6 && l.socket.address == "::"; });
  if (any6) {
    for (const std::string candidate : {"127.0.0.1", "127.0.0.2"}) {
      const auto met = sockets_met_at(report.listeners, candidate);
      if (met.empty() || std::all_of(met.begin(), met.end(), [&](std::size_t i) {
            return report.listeners[i].socket.ipv6 && report.listeners[i].socket.address == "::";
          })) {
        dual_stack_host = candidate;
        break;
      }
      // An IPv4 socket holds the candidate: a wildcard one holds every IPv4 address, so stop there.
      if (std::any_of(met.begin(), met.end(), [&](std::size_t i) {
            const auto& a = report.listeners[i].socket.address;
            return a == "0.0.0.0" || a == "::ffff:0.0.0.0";
          }))
        break;
    }
    if (!dual_stack_host.empty() && !by_address.count(dual_stack_host)) hosts.push_back(dual_stack_host);
  }

  report.probes.clear();
  std::vector<std::pair<std::string, net::host_port>> targets;
  for (const auto& host : hosts) {
    net::host_port hp{host, report.port};
    targets.emplace_back(hp.text(), hp);
    local_probe p;
    p.address = hp.text();
    p.ipv6 = host.find(':') != std::string::npos;
    p.sockets = sockets_met_at(report.listeners, host);
    p.dual_stack_check = host == dual_stack_host;
    report.probes.push_back(std::move(p));
  }
  if (!targets.empty()) {
    const auto results = probe_all(targets, options, targets.size());
    for (std::size_t t = 0; t < targets.size(); ++t) {
      const auto& r = results.at(t);
      auto& p = report.probes[t];
      p.result = r.result;
      p.evidence = r.evidence;
      p.listener = r.listener;
      if (auto rows = by_address.find(hosts[t]); rows != by_address.end())
        for (const auto i : rows->second) {
          auto& l = report.listeners[i];
          l.probed = r.address;
          l.result = r.result;
          l.evidence = r.evidence;
          l.listener = r.listener;
        }
    }
  }

  // The spread: at an address whose connections meet an SO_REUSEPORT group of k sockets, one probe meets one
  // member. The kernel picks the member by a keyed hash of the connection's 4-tuple (reuseport_select_sock over
  // inet_ehashfn, a boot-time secret), so for connections from distinct source ports the picks are independent and
  // uniform: n = 8k connections miss a given member with probability (1 - 1/k)^(8k) < e^-8 ≈ 0.03 %, and any of
  // the k members with less than k·e^-8 (3·10^-5 for a pair). The source ports are distinct: the connections in
  // flight at once need distinct ones, and a closed one's 4-tuple waits in TIME_WAIT on our side. Capped at 64
  // connections (a group of more than 8 is then met with less certainty); a BPF program attached to the group
  // (SO_ATTACH_REUSEPORT_EBPF) may pick as it likes, and the spread shows what it picked.
  std::vector<std::shared_ptr<spread_job>> jobs;
  std::vector<std::size_t> job_probe;
  for (std::size_t t = 0; t < report.probes.size(); ++t) {
    const auto& p = report.probes[t];
    if (p.sockets.size() < 2) continue;
    auto job = std::make_shared<spread_job>();
    job->host = hosts[t];
    job->connections = spread_connections_for(p.sockets.size(), local.connections);
    jobs.push_back(job);
    job_probe.push_back(t);
  }
  run_spreads(jobs, report.port, options, spread_in_flight);
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    auto& p = report.probes[job_probe[j]];
    tally t;
    for (const auto& state : jobs[j]->states) {
      const auto where = state.connected_to
                             ? net::host_port{state.connected_to->address().to_string(), state.connected_to->port()}.text()
                             : p.address;
      if (auto met = met_by(state.attempt, state.listener, where)) t.add(*met);
    }
    p.spread = std::move(t);
  }
  report.probed = true;
  evaluate_local_report(report);
}

}  // namespace rdp::probe
