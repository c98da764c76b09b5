#pragma once
// `rdpsim serve`: the simulated RDP server (rdp/sim/server.hpp) from a profile (docs/profiles.md) and flags, with its
// control interface (docs/control.md), until SIGINT/SIGTERM.

namespace CLI {
class App;
}

namespace rdp::sim {

// Registers `serve` on rdpsim's command line. It runs in its CLI11 callback until SIGINT/SIGTERM and ends the
// process with its exit status (0 after a signal, 2 for a usage error such as a bad profile, 1 for a failure).
void add_serve_command(CLI::App& app);

}  // namespace rdp::sim
