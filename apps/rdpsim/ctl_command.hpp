#pragma once
// `rdpsim ctl`: the administrator's commands (query session, query user, logoff, reset session, disconnect,
// restart-service, policy) sent to a running rdpsim's control port (rdp/sim/control.hpp, docs/control.md).

namespace CLI {
class App;
}

namespace rdp::sim {

// Registers `ctl` on rdpsim's command line. The subcommand runs to completion in its CLI11 callback and ends the
// process with its exit status (0 done, 1 refused by the server, 2 usage or connection error), so main.cpp needs
// this one call and no dispatch of its own.
void add_ctl_command(CLI::App& app);

}  // namespace rdp::sim
