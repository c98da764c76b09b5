// rdpsim: a simulated RDP server for reproducing session drops, and the house of the scenario runner and the fault
// proxy. One file per subcommand (serve_command.cpp, demo_command.cpp, ctl_command.cpp, proxy_command.cpp,
// run_command.cpp); each runs in its CLI11 callback and ends the process with its own exit status.
#include "../command_exit.hpp"
#include "ctl_command.hpp"
#include "demo_command.hpp"
#include "proxy_command.hpp"
#include "run_command.hpp"
#include "serve_command.hpp"

#include <CLI/CLI.hpp>

#include <iostream>
#include <sys/resource.h>

namespace {

using rdp::apps::exit_usage;

// rdpsim holds one socket per connection and is meant to hold thousands of sessions in one process (issue 4). The
// soft limit on open files is usually 1024 while the hard limit is far higher (systemd's default is 524288), so
// accept() would start failing with EMFILE at about a thousand sessions. Raise the soft limit to the hard one, as
// servers do at start; that is safe because Asio waits with epoll, never select() and its FD_SETSIZE of 1024.
// Best effort: if it fails, rdpsim runs with the limit it has (and its accept loop backs off on EMFILE).
void raise_open_files_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  (void)::setrlimit(RLIMIT_NOFILE, &limit);
}

}  // namespace

int main(int argc, char** argv) {
  raise_open_files_limit();
  CLI::App app{"rdpsim — a simulated RDP server for reproducing session drops"};
  app.require_subcommand(1);
  rdp::sim::add_serve_command(app);
  rdp::sim::add_demo_command(app);
  rdp::sim::add_ctl_command(app);
  rdp::sim::add_proxy_command(app);
  rdp::sim::add_run_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "rdpsim: " << e.what() << "\n(run 'rdpsim --help')\n";
    return exit_usage;
  }
  return exit_usage;  // not reached: the subcommand that parsed ended the process in its callback
}
