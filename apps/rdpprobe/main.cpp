// rdpprobe: what is really listening on an RDP port, and what it says. One file per subcommand (scan_command.cpp,
// local_command.cpp); each runs in its CLI11 callback and ends the process with its own exit status.
#include "../command_exit.hpp"
#include "local_command.hpp"
#include "scan_command.hpp"

#include <CLI/CLI.hpp>

#include <csignal>
#include <iostream>

namespace {

using rdp::apps::exit_usage;

}  // namespace

int main(int argc, char** argv) {
  // A reader that goes away (`rdpprobe scan … | head -1`) must not kill the run before its files are written: the
  // write then fails with EPIPE and the scan's output stops (scan_command.cpp, report_output).
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"rdpprobe — what is really listening on an RDP port, and what it says"};
  app.require_subcommand(1);
  auto* scan = rdp::probe::add_scan_command(app);
  rdp::probe::add_local_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "rdpprobe: " << e.what() << "\n(run 'rdpprobe " << (scan->parsed() ? "scan " : "") << "--help')\n";
    return exit_usage;
  }
  return exit_usage;  // not reached: the subcommand that parsed ended the process in its callback
}
