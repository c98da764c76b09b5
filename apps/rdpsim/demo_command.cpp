// `rdpsim demo`, the README's main job: two stories of the scenario library replayed on loopback with nothing
// configured — the stale-session drop told by a real client (the FreeRDP library), and a firewall's idle timeout
// through the fault proxy — each with what every side saw and rdpprobe's verdict. The scenarios are embedded, so the
// demo needs no file; they are the library's own kind (scenarios/*.yaml, docs/scenarios.md), parsed by the same
// parser and run by the same runner as `rdpsim run`.
#include "demo_command.hpp"
#include "../command_exit.hpp"

#include "rdp/protocol/text.hpp"
#include "rdp/scenarios/runner.hpp"
#include "rdp/scenarios/scenario.hpp"
#include "rdp/sim/profile.hpp"

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <utility>

namespace rdp::sim {
namespace {

using apps::exit_usage;
constexpr std::size_t demo_width = 100;  // the demo fits a 100-column terminal

struct demo_options {
  bool json = false;     // the runner's JSON report instead of the timelines
  std::string pcap_dir;  // also write each story's pcap there
  bool verbose = false;  // the timelines' details too
};

constexpr const char* demo_profile = R"(
  profile:
    name: windows-server-2022
    protocols: [credssp, credssp-ex]
    tls: {generate: rsa, common_name: rdpsim-demo}
    users: [{user: alice, password: "Passw0rd!", domain: LAB}]
)";

// What a story showed, in the four lines an operator reads first; `evidence` quotes this run's timeline.
struct moral {
  std::string symptom, evidence, cause, fix;
};

struct story {
  const char* name;
  const char* head;  // the scenario file: head, the demo's server profile, tail (with_profile)
  const char* tail;
  double time_scale;
  moral (*told)(const scenarios::scenario_result&);  // printed when the story played as it should
};

// The first timeline entry of `lane` holding `marker`, if the run recorded one.
const std::string* entry_with(const scenarios::scenario_result& r, const std::string& lane, const std::string& marker) {
  for (const auto& e : r.timeline)
    if (e.lane == lane && e.text.find(marker) != std::string::npos) return &e.text;
  return nullptr;
}

// The word after `marker` in `text` (up to a space, ';' or ','), or "?" when the run did not say it.
std::string word_after(const std::string* text, const std::string& marker) {
  if (!text) return "?";
  const auto at = text->find(marker);
  if (at == std::string::npos) return "?";
  const auto from = at + marker.size();
  const auto end = text->find_first_of(" ;,:)", from);
  return text->substr(from, end == std::string::npos ? std::string::npos : end - from);
}

moral stale_session_told(const scenarios::scenario_result& r) {
  // "FreeRDP returned: was active 900 ms; errorInfo 0x00000002 ERRINFO_RPC_INITIATED_LOGOFF; Disconnect Provider
  // Ultimatum rn-provider-initiated (1)", and the server's "session 3 (NLA, stale cookie)".
  const auto* ended = entry_with(r, "client:freerdp", "FreeRDP returned:");
  const auto* stale = entry_with(r, "server", "stale cookie");
  std::string error_info = word_after(ended, "errorInfo ");
  if (error_info != "?") error_info = word_after(ended, "errorInfo " + error_info + " ");
  return {"the user's session ends and the reconnect lands in a fresh desktop",
          error_info + " + DPU " + word_after(ended, "Disconnect Provider Ultimatum ") + "; cookie " +
              (stale ? "stale, new session " + word_after(stale, "session ") : "not seen stale"),
          "an administrator's logoff deleted the session the cookie named",
          "the server's LocalSessionManager log (event 23, logoff) says who; no client fix"};
}

moral firewall_idle_told(const scenarios::scenario_result& r) {
  // The proxy's "flow forgotten after 4m (4800ms real) idle", the client's "ended: reset", rdpprobe's verdict.
  const auto* forgotten = entry_with(r, "proxy", "flow forgotten after ");
  const auto* ended = entry_with(r, "client:client", "ended: ");
  const auto* verdict = entry_with(r, "client:rdpprobe", "verdict ");
  return {"an idle session dies when the user comes back, and no reason is given",
          "no PDU; the flow forgotten after " + word_after(forgotten, "flow forgotten after ") + " idle; ended: " +
              word_after(ended, "ended: ") + "; rdpprobe: " + word_after(verdict, "verdict "),
          "the path (firewall, NAT, load balancer) forgot the idle flow",
          "keep-alives shorter than its idle timeout (server heartbeats, TCP keepalive)"};
}

// A story's file: its head, the demo's server profile, its tail. Appended to one string, and built only here: GCC 12
// at -O2 warns falsely (array-bounds, its bug 105651) on `std::string(head) + profile + tail` and on copying a
// struct holding such a string out of a braced list.
std::string with_profile(const char* head, const char* tail) {
  std::string yaml(head);
  yaml.append(demo_profile).append(tail);
  return yaml;
}

std::vector<story> stories() {
  return {
      {"stale-session",
       R"(scenario: demo-stale-session
summary: A FreeRDP client logs on; the administrator logs the session off; the client comes back with its
  auto-reconnect cookie and finds its session deleted.
cause: admin-logoff, then a stale auto-reconnect cookie
timeout: 1m
server:)", R"(path: direct
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
       stale_session_told},
      {"firewall-idle",
       R"(scenario: demo-firewall-idle
summary: An idle session crosses a firewall that forgets flows after 4 minutes (Azure's default); the user comes
  back after 5 and the next keystroke is answered with a reset.
cause: firewall-idle-timeout
timeout: 10m
server:)", R"(path:
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
       firewall_idle_told},
  };
}

// 0 when both stories played as expected.
int run_demo(const demo_options& o) {
  bool all_passed = true;
  std::vector<scenarios::scenario_result> results;
  for (const auto& s : stories()) {
    scenarios::scenario parsed;
    try {
      parsed = scenarios::parse_scenario(with_profile(s.head, s.tail), std::string("rdpsim demo: ") + s.name);
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
    auto result = scenarios::run_scenario(parsed, options);
    if (!o.json) {
      // format_result says the scenario, its summary, what each side saw and the verdict, in 100 columns.
      std::cout << scenarios::format_result(result, o.verbose, demo_width);
      if (result.passed) {
        const auto m = s.told(result);
        const std::pair<const char*, const std::string*> lines[] = {
            {"symptom: ", &m.symptom}, {"evidence:", &m.evidence}, {"cause:   ", &m.cause}, {"fix:     ", &m.fix}};
        for (const auto& [word, text] : lines) std::cout << "  " << word << " " << protocol::escape_for_terminal(*text) << "\n";
      }
      std::cout << "\n";
    }
    all_passed = all_passed && result.passed;
    results.push_back(std::move(result));
  }
  if (o.json) std::cout << scenarios::to_json(results);
  else
    std::cout << "rdpsim demo: " << (all_passed ? "both drops reproduced" : "a story did not play as expected")
              << ".\nMore: rdpsim run scenarios/ --time-scale 0.05 (docs/scenarios.md)\n";
  return all_passed ? 0 : 1;
}

}  // namespace

void add_demo_command(CLI::App& app) {
  auto o = std::make_shared<demo_options>();
  auto* demo = app.add_subcommand("demo", "Replay two drops on loopback (a stale session, a firewall's idle timeout), "
                                          "each with what every side saw and rdpprobe's verdict");
  demo->add_flag("--json", o->json, "print the runner's JSON report instead of the timelines");
  demo->add_flag("--verbose", o->verbose, "also print the timelines' details (the proxy's phase trace, probes)");
  demo->add_option("--pcap", o->pcap_dir, "also write each story's pcap (and TLS keys) to this directory");
  demo->callback([o] {
    apps::end_process(apps::exit_status_of<profile_error>("rdpsim", [&] { return run_demo(*o); }));
  });
}

}  // namespace rdp::sim
