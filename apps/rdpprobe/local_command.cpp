// `rdpprobe local` (local_command.hpp): the flags to run_local, which finds, probes and reports.
#include "local_command.hpp"
#include "../command_exit.hpp"

#include "rdp/net/endpoint.hpp"
#include "rdp/probe/local_listeners.hpp"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>

namespace rdp::probe {
namespace {

constexpr int exit_finding = 1;

struct local_settings {
  std::uint16_t port = net::default_rdp_port;
  bool json = false;
  local_options options;
};

int run_local_command(const local_settings& s) {
  try {
    return run_local(s.port, s.json, std::cout, s.options);
  } catch (const std::exception& e) {
    std::cerr << "rdpprobe local: " << e.what() << "\n";
    return exit_finding;
  }
}

}  // namespace

void add_local_command(CLI::App& app) {
  auto* local = app.add_subcommand("local", "List what listens on an RDP port on this machine, and which process owns it");
  auto s = std::make_shared<local_settings>();
  local->add_option("--port", s->port, "TCP port")->check(CLI::Range(1, 65535))->capture_default_str();
  local->add_flag("--json", s->json, "one JSON object (docs/local-listeners.md)");
  local->add_option("--connections", s->options.connections,
                    "connections to each SO_REUSEPORT group's address, to meet every member (1-64) [8 per member, at "
                    "most 64]")
      ->check(CLI::Range(std::size_t{1}, max_spread_connections));
  local->callback([s] {
    apps::end_process(run_local_command(*s));
  });
}

}  // namespace rdp::probe
