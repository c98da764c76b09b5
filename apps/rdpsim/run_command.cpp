// `rdpsim run` (run_command.hpp): every file is parsed before anything runs; then each scenario runs in turn, and the
// reports asked for (--junit, --json, --report) are rewritten after each one, so a Ctrl-C keeps those of the
// scenarios that finished (and their pcaps, written when each ends).
#include "run_command.hpp"

#include "rdp/net/local_file.hpp"
#include "rdp/protocol/text.hpp"
#include "rdp/scenarios/runner.hpp"
#include "rdp/scenarios/scenario.hpp"

#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <set>

namespace rdp::sim {
namespace {

struct run_command_options {
  std::vector<std::string> paths;
  double time_scale = 1.0;
  std::string junit, json, pcap_dir, report_dir;
  bool verbose = false;
};

std::shared_ptr<std::atomic<bool>> interrupt_flag() {
  static auto flag = std::make_shared<std::atomic<bool>>(false);
  return flag;
}

extern "C" void on_interrupt(int) { interrupt_flag()->store(true); }

// net::write_report_file: never seen half-written, a device or FIFO written in place, nothing planted followed.
bool write_file(const std::string& path, const std::string& text) {
  std::string why;
  if (net::write_report_file(path, text, why)) return true;
  std::cerr << "rdpsim run: " << why << "\n";
  return false;
}

bool write_reports(const run_command_options& o, const std::vector<scenarios::scenario_result>& results) {
  bool ok = true;
  if (!o.junit.empty()) ok = write_file(o.junit, scenarios::to_junit(results)) && ok;
  if (!o.json.empty()) ok = write_file(o.json, scenarios::to_json(results)) && ok;
  if (!o.report_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.report_dir, ec);
    ok = write_file((std::filesystem::path(o.report_dir) / "index.html").string(), scenarios::to_html_report(results)) && ok;
  }
  return ok;
}

int run(const run_command_options& o) {
  if (!(o.time_scale > 0) || o.time_scale > 1000) {
    std::cerr << "rdpsim run: --time-scale " << o.time_scale
              << ": must be a number above 0 and at most 1000 (0.05 replays 30 minutes in 90 s)\n";
    return 2;
  }
  std::vector<scenarios::scenario> loaded;
  try {
    const auto files = scenarios::find_scenario_files(o.paths);
    bool bad = false;
    for (const auto& file : files) {
      try {
        loaded.push_back(scenarios::load_scenario(file));
      } catch (const scenarios::scenario_error& e) {
        std::cerr << e.what() << "\n";
        bad = true;
      }
    }
    if (bad) {
      std::cerr << "rdpsim run: nothing was run\n";
      return 2;
    }
  } catch (const scenarios::scenario_error& e) {
    std::cerr << "rdpsim run: " << e.what() << "\n";
    return 2;
  }
  // A scale is usable only if every duration of every file stays at least 1 ms once scaled (1e-300 made the
  // timeline print -9223372036854775808m): a usage error, before anything runs.
  for (const auto& s : loaded)
    if (const auto why = scenarios::time_scale_problem(s, o.time_scale)) {
      std::cerr << "rdpsim run: --time-scale " << o.time_scale << " cannot replay " << protocol::escape_for_terminal(to_string(s.where)) << ": " << *why
                << "\nrdpsim run: nothing was run\n";
      return 2;
    }
  std::set<std::string> names;
  for (const auto& s : loaded)
    if (!names.insert(s.name).second) {
      std::cerr << protocol::escape_for_terminal(to_string(s.where)) << ": scenario: the name '" << s.name
                << "' is used by another file of this run (reports and pcaps are named by it)\nrdpsim run: nothing was run\n";
      return 2;
    }
  scenarios::run_options options;
  options.time_scale = o.time_scale;
  if (!o.pcap_dir.empty()) options.pcap_dir = o.pcap_dir;
  options.cancel = interrupt_flag();
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  std::vector<scenarios::scenario_result> results;
  bool all_passed = true, reports_written = true;
  for (const auto& s : loaded) {
    if (interrupt_flag()->load()) break;
    auto result = scenarios::run_scenario(s, options);
    std::cout << scenarios::format_result(result, o.verbose) << "\n" << std::flush;
    all_passed = all_passed && result.passed;
    // An interrupted scenario did not finish: its partial timeline is printed, but kept out of the reports.
    if (!result.interrupted) results.push_back(std::move(result));
    reports_written = write_reports(o, results) && reports_written;
  }
  std::size_t passed = 0;
  for (const auto& r : results) passed += r.passed ? 1 : 0;
  std::cout << "rdpsim run: " << passed << " of " << loaded.size() << " scenarios passed";
  if (interrupt_flag()->load()) std::cout << " (interrupted)";
  std::cout << "\n";
  if (interrupt_flag()->load()) return 130;  // as a shell reports SIGINT; what finished is in the reports
  return all_passed && reports_written && results.size() == loaded.size() ? 0 : 1;
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto o = std::make_shared<run_command_options>();
  auto* cmd = app.add_subcommand("run", "Run scenario files (scenarios/, docs/scenarios.md) end to end on loopback");
  cmd->add_option("paths", o->paths, "scenario files, or directories searched for *.yaml")->required();
  // The tolerance of a window is the file's, in scenario time, so a file says the same at every scale and on every
  // machine; the old --slack-ms (real time: 400 ms was 8 s of scenario time at 0.05) passed ends the line called
  // outside its window.
  cmd->footer(
      "Expected time windows (within: A..B) are judged in scenario time, widened at each end by the file's "
      "tolerance: (per expectation, or for the whole file; default 1s of scenario time). Each check line prints the "
      "window and its tolerance: within 95s..100s (±1s). There is no run-time slack option (--slack-ms was removed: "
      "it added real time, 8 s of scenario time at --time-scale 0.05).");
  cmd->add_option("--time-scale", o->time_scale, "multiply every duration of the files by this (0.05: 30 min in 90 s)")
      ->capture_default_str();
  cmd->add_option("--junit", o->junit, "write a JUnit XML report here (rewritten after each scenario)");
  cmd->add_option("--json", o->json, "write a JSON report here (rewritten after each scenario)");
  cmd->add_option("--pcap", o->pcap_dir, "write DIR/SCENARIO.pcap: the client side of every connection");
  cmd->add_option("--report", o->report_dir, "write DIR/index.html: each scenario's sequence diagram (SVG)");
  cmd->add_flag("--verbose", o->verbose, "also print the timeline's details (the proxy's phase trace, FIN closes, probes)");
  cmd->callback([o] { std::exit(run(*o)); });
}

}  // namespace rdp::sim
