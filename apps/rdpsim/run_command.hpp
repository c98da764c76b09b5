#pragma once
// `rdpsim run FILE|DIR...`: runs scenario files end to end on loopback (scenarios/, docs/scenarios.md) and prints
// each one's timeline and PASS or FAIL. Exit status: 0 all passed, 1 any failed, 2 usage or a scenario file that
// cannot be used (then nothing is run), 130 interrupted (the reports keep the scenarios that finished).

namespace CLI {
class App;
}

namespace rdp::sim {

// Registers `run` on rdpsim's command line; like `ctl`, it runs in its CLI11 callback and ends the process with its
// exit status.
void add_run_command(CLI::App& app);

}  // namespace rdp::sim
