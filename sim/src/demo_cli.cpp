// `rdpsim demo`, the README's main job: two stories of the scenario library replayed on loopback with nothing
// configured — the stale-session drop told by a real client (the FreeRDP library), and a firewall's idle timeout
// through the fault proxy — each with what every side saw and rdpprobe's verdict. The scenarios are embedded, so the
// demo needs no file; they are the library's own kind (scenarios/*.yaml, docs/scenarios.md), parsed by the same
// parser and run by the same runner as `rdpsim run`.
#include "demo_cli.hpp"

#include "rdp/scenarios/runner.hpp"
#include "rdp/scenarios/scenario.hpp"

#include <iostream>

namespace rdp::sim {
namespace {

constexpr const char* demo_profile = R"(
  profile:
    name: windows-server-2022
    protocols: [credssp, credssp-ex]
    tls: {generate: rsa, common_name: rdpsim-demo}
    users: [{user: alice, password: "Passw0rd!", domain: LAB}]
)";

struct story {
  const char* name;
  std::string yaml;
  double time_scale;
  const char* moral;  // printed when the story played as it should
};

std::vector<story> stories() {
  return {
      {"stale-session",
       std::string(R"(scenario: demo-stale-session
summary: A FreeRDP client logs on; the administrator logs the session off; the client comes back with its
  auto-reconnect cookie and finds its session deleted.
cause: admin-logoff, then a stale auto-reconnect cookie
timeout: 1m
server:)") + demo_profile + R"(path: direct
clients:
  - {name: rdpprobe, kind: rdpprobe}
  - {name: freerdp, kind: freerdp, user: alice, password: "Passw0rd!", domain: LAB, security: any, hold: 20s}
timeline:
  - {at: 0s, probe: rdpprobe}
  - {on: rdpprobe.ended, logon: freerdp}
  - {on: server.session_info_sent, after: 1s, admin: logoff, session: freerdp, label: "the administrator logs the session off"}
  - {on: freerdp.ended, after: 500ms, reconnect: freerdp, label: "the client comes back with its auto-reconnect cookie"}
  - {on: step.4.done, after: 2s, leave: freerdp}
expect:
  - {client: rdpprobe, verdict: rdp}
  - {client: freerdp, attempt: 1, active: true, error_info: ERRINFO_RPC_INITIATED_LOGOFF}
  - {client: freerdp, attempt: 2, active: true, reconnect: new-session}
  - {server: {counters: {stale_cookies: 1, reconnected: 0}}}
)",
       1.0,
       "The server told the client why (ERRINFO_RPC_INITIATED_LOGOFF), and the cookie it came back with named a session "
       "that no longer exists: a fresh logon, the user's desktop and programs gone. No RDP server sends an NTSTATUS "
       "for that; STATUS_USER_SESSION_DELETED (0xC0000203) is what an SMB2 request still bound to the deleted logon "
       "gets."},
      {"firewall-idle",
       std::string(R"(scenario: demo-firewall-idle
summary: An idle session crosses a firewall that forgets flows after 4 minutes (Azure's default); the user comes
  back after 5 and the next keystroke is answered with a reset.
cause: firewall-idle-timeout
timeout: 10m
server:)") + demo_profile + R"(path:
  proxy: {idle_timeout: 4m, on_idle: reset, idle_from: active}
clients:
  - {name: client, kind: lean, security: nla, user: alice, password: "Passw0rd!", domain: LAB}
  - {name: rdpprobe, kind: rdpprobe}
timeline:
  - {at: 0s, logon: client}
  - {on: client.active, after: 5m, busy: {client: client, every: 1s}, label: "the user comes back after 5 minutes and types"}
  - {on: client.ended, after: 1s, probe: rdpprobe, label: "the network team probes the host through the same path"}
expect:
  - {client: client, active: true, closed: reset, within: 4m55s..5m30s}
  - {client: rdpprobe, verdict: rdp}
  - {proxy: {idle_expiries: 1, resets_sent: 1}}
)",
       0.02,
       "No PDU said why: the server is healthy (rdpprobe: rdp) and never ended the session; the path forgot the idle "
       "flow and reset the client's next segment. The remedy is a keep-alive shorter than the path's idle timeout "
       "(server heartbeats, or TCP keepalives for a real firewall) — scenarios/heartbeats-defeat-idle-timeout.yaml."},
  };
}

}  // namespace

int run_demo(const demo_options& o) {
  bool all_passed = true;
  std::vector<scenarios::scenario_result> results;
  for (const auto& s : stories()) {
    scenarios::scenario parsed;
    try {
      parsed = scenarios::parse_scenario(s.yaml, std::string("rdpsim demo: ") + s.name);
    } catch (const scenarios::scenario_error& e) {
      std::cerr << e.what() << "\n";  // a bug of the demo itself
      return 1;
    }
    // The story's own scale is held to what `rdpsim run --time-scale` is held to.
    if (const auto why = scenarios::time_scale_problem(parsed, s.time_scale)) {
      std::cerr << "rdpsim demo: " << s.name << " cannot be replayed at time scale " << s.time_scale << ": " << *why
                << "\n";
      return 1;
    }
    scenarios::run_options options;
    options.time_scale = s.time_scale;
    if (!o.pcap_dir.empty()) options.pcap_dir = o.pcap_dir;
    if (!o.json)
      std::cout << "rdpsim demo: " << parsed.summary << (s.time_scale != 1.0 ? " (replayed at time scale " : "")
                << (s.time_scale != 1.0 ? std::to_string(s.time_scale).substr(0, 4) + ")" : "") << "\n";
    auto result = scenarios::run_scenario(parsed, options);
    if (!o.json) {
      std::cout << scenarios::format_result(result, o.verbose);
      if (result.passed) std::cout << "  → " << s.moral << "\n";
      std::cout << "\n";
    }
    all_passed = all_passed && result.passed;
    results.push_back(std::move(result));
  }
  if (o.json) std::cout << scenarios::to_json(results);
  else
    std::cout << "rdpsim demo: " << (all_passed ? "both drops reproduced" : "a story did not play as expected")
              << ". More: rdpsim run scenarios/ --time-scale 0.05 (docs/scenarios.md)\n";
  return all_passed ? 0 : 1;
}

}  // namespace rdp::sim
