#pragma once
// The scenario runner: the one place that drives rdpsim, the fault proxy and the clients together (issue 14). One
// scenario runs end to end on loopback on one io_context: the server from its profile, the proxy in front of it when
// the path says so (or when a pcap is asked for: then a pass-through proxy records the client's side), the clients
// as the timeline starts them, the steps at their times or on their events. What each side saw goes into a
// timeline; at the end the expectations are checked against it (PASS or FAIL, and why).
//
// Time: every duration of the file is multiplied by `time_scale`, so a 30-minute firewall timeout replays in 90 s at
// 0.05. One clock: rdpsim's limits, heartbeat period and restart downtime are scaled to the millisecond like the
// proxy's and the clients' durations, so near-equal timers keep their order at every scale (tests/scenario_scales).
// Expectation windows are in scenario time, and so is
// the tolerance each end is widened by (the file's `tolerance:`, 1 s by default): the check line prints both.
#include "rdp/scenarios/scenario.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rdp::scenarios {

struct run_options {
  double time_scale = 1.0;                         // > 0
  std::optional<std::filesystem::path> pcap_dir;   // one NAME.pcap per scenario: the client side of every connection
  // Set from another thread (Ctrl-C): the running scenario stops where it is and is reported as interrupted.
  std::shared_ptr<const std::atomic<bool>> cancel;
};

// Who saw it: a client by name, the proxy, the server, or the runner itself (steps, notes).
struct timeline_entry {
  std::chrono::microseconds at{0};  // real time since the scenario started
  std::string lane;                 // "client:alice", "proxy", "server", "runner"
  std::string text;
  // A detail the timeline shows only when asked (--verbose): the proxy's phase trace, connections closed with a FIN,
  // and server connections that belong to no client of the scenario (rdpprobe's attempts). Reports keep them all.
  bool detail = false;
};

struct check_result {
  std::string what;  // "alice (attempt 1) closed reset within 25s..40s (±1s)", "step 2 runs on proxy.idle_expired"
  bool passed = false;
  std::string why;   // what was observed
  source_position where;
};

struct scenario_result {
  std::string name, file, summary, cause;
  bool passed = false;
  bool interrupted = false;
  std::string error;  // the run itself failed (a port could not be bound, a step could not be done); then FAIL
  std::vector<timeline_entry> timeline;
  std::vector<check_result> checks;
  std::chrono::milliseconds elapsed{0};  // real
  double time_scale = 1.0;
  std::optional<std::filesystem::path> pcap;  // written
};

// Runs one scenario. Never throws for what the scenario or the peers do: the result says FAIL and why.
scenario_result run_scenario(const scenario& s, const run_options& options);

// The timeline and the verdict as `rdpsim run` prints them; `details` also shows the entries marked detail. With a
// `width` (the demo's 100 columns), a longer line is wrapped at spaces and continues under its own text; 0: never.
std::string format_result(const scenario_result& r, bool details = false, std::size_t width = 0);
// Reports over the results so far: JUnit XML (one testcase per scenario, a failure per failed check) and JSON
// (docs/scenarios.md, "Reports"). Both valid whatever the strings hold.
std::string to_junit(const std::vector<scenario_result>& results);
std::string to_json(const std::vector<scenario_result>& results);
// A page per run: index.html with each scenario's sequence diagram (client | proxy | server lanes) as inline SVG.
std::string to_html_report(const std::vector<scenario_result>& results);
std::string to_svg(const scenario_result& r);

}  // namespace rdp::scenarios
