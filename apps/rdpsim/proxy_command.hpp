#pragma once
// `rdpsim proxy`: the fault-injecting proxy (rdp/proxy/fault_proxy.hpp, docs/proxy.md) between any RDP client and
// server, with its faults from flags and changeable while it runs through the control interface.

namespace CLI {
class App;
}

namespace rdp::sim {

// Registers `proxy` on rdpsim's command line. It runs in its CLI11 callback until SIGINT/SIGTERM and ends the
// process (0 after a signal, 2 for a usage or start-up error), so main.cpp needs this one call.
void add_proxy_command(CLI::App& app);

}  // namespace rdp::sim
