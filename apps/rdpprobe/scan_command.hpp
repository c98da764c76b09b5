#pragma once
// `rdpprobe scan` (scan_command.cpp): probes each target and reports what it selects. Exit status: 0 every target is
// healthy RDP, 1 any finding (or the report could not be written), 2 usage or input error, 130 interrupted.

namespace CLI {
class App;
}

namespace rdp::probe {

// Registers `scan` on rdpprobe's command line and returns it (main.cpp names it in its usage hint). The subcommand
// runs to completion in its CLI11 callback and ends the process with its exit status.
CLI::App* add_scan_command(CLI::App& app);

}  // namespace rdp::probe
