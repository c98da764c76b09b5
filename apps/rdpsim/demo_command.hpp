#pragma once
// `rdpsim demo` (demo_command.cpp): the README's main job, two stories of the scenario library on loopback.

namespace CLI {
class App;
}

namespace rdp::sim {

// Registers `demo` on rdpsim's command line. It runs in its CLI11 callback and ends the process with its exit status
// (0 when both stories played as expected).
void add_demo_command(CLI::App& app);

}  // namespace rdp::sim
