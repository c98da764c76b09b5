#pragma once
// `rdpprobe local` (local_command.cpp): what listens on an RDP port on this machine, and which process owns it
// (rdp/probe/local_listeners.hpp, docs/local-listeners.md).

namespace CLI {
class App;
}

namespace rdp::probe {

// Registers `local` on rdpprobe's command line. It runs in its CLI11 callback and ends the process with run_local's
// exit status (1 when it fails).
void add_local_command(CLI::App& app);

}  // namespace rdp::probe
