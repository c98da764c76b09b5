#include "rdp/probe/cli.hpp"

#include "rdp/net/endpoint.hpp"
#include "rdp/probe/scanner.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <sstream>

namespace rdp::probe {
namespace {

constexpr int exit_healthy = 0;
constexpr int exit_finding = 1;
constexpr int exit_usage = 2;

struct usage_error {
  std::string message;
};

net::milliseconds duration_or_throw(const std::string& flag, const std::string& text) {
  std::string why;
  auto d = net::parse_duration(text, &why);
  if (!d) throw usage_error{flag + ": " + why};
  return *d;
}

int run_scan(const std::vector<std::string>& target_texts, const std::string& protocols_text, bool json_output,
             const std::string& connect_timeout, const std::string& read_timeout, const std::string& tls_timeout,
             const std::string& cookie, std::size_t concurrency) {
  probe_options options;
  options.connect_timeout = duration_or_throw("--connect-timeout", connect_timeout);
  options.read_timeout = duration_or_throw("--read-timeout", read_timeout);
  options.tls_timeout = duration_or_throw("--tls-timeout", tls_timeout);
  if (cookie.find_first_of("\r\n") != std::string::npos || cookie.size() > 200)
    throw usage_error{"--cookie: must be one line of at most 200 characters"};
  options.cookie = cookie;
  if (!protocols_text.empty()) {
    options.protocols.clear();
    std::stringstream list(protocols_text);
    std::string name;
    while (std::getline(list, name, ',')) {
      auto p = protocol::parse_security_protocol(name);
      if (!p)
        throw usage_error{"--protocols: unknown protocol '" + name +
                          "' (expected rdp, tls, credssp, credssp-ex, rdstls, rdsaad)"};
      options.protocols.push_back(*p);
    }
    if (options.protocols.empty()) throw usage_error{"--protocols: empty list"};
  }
  std::vector<std::pair<std::string, net::host_port>> targets;
  for (const auto& text : target_texts) {
    std::string why;
    auto t = net::parse_host_port(text, net::default_rdp_port, &why);
    if (!t) throw usage_error{"target '" + text + "': " + why};
    targets.emplace_back(text, *t);
  }
  const auto reports = probe_all(targets, options, concurrency);
  bool all_healthy = true;
  for (const auto& r : reports) {
    all_healthy = all_healthy && r.result == verdict::rdp;
    if (json_output) {
      std::cout << to_json(r).dump() << "\n";
    } else {
      print_human(std::cout, r);
    }
  }
  std::cout.flush();
  return all_healthy ? exit_healthy : exit_finding;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{"rdpprobe — what is really listening on an RDP port, and what it says"};
  app.require_subcommand(1);
  auto* scan = app.add_subcommand("scan", "Negotiate each security protocol with each target and report what it selects");
  std::vector<std::string> targets;
  std::string protocols, connect_timeout = "3s", read_timeout = "3s", tls_timeout = "5s", cookie = "rdpprobe";
  bool json_output = false;
  std::size_t concurrency = 32;
  scan->add_option("targets", targets, "HOST, HOST:PORT or [IPv6]:PORT (default port 3389)")->required();
  scan->add_option("--protocols", protocols,
                   "comma-separated subset of rdp,tls,credssp,credssp-ex,rdstls,rdsaad (default: all six)");
  scan->add_flag("--json", json_output, "one JSON object per target per line (docs/json-schema.md)");
  scan->add_option("--connect-timeout", connect_timeout, "TCP connect deadline per attempt")->capture_default_str();
  scan->add_option("--read-timeout", read_timeout, "deadline for the server's X.224 answer")->capture_default_str();
  scan->add_option("--tls-timeout", tls_timeout, "TLS handshake deadline")->capture_default_str();
  scan->add_option("--cookie", cookie, "mstshash cookie sent in the Connection Request")->capture_default_str();
  scan->add_option("--concurrency", concurrency, "targets probed at once")->check(CLI::Range(1, 4096))->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "rdpprobe: " << e.what() << "\n(run 'rdpprobe " << (scan->parsed() ? "scan " : "") << "--help')\n";
    return exit_usage;
  }
  try {
    return run_scan(targets, protocols, json_output, connect_timeout, read_timeout, tls_timeout, cookie, concurrency);
  } catch (const usage_error& e) {
    std::cerr << "rdpprobe: " << e.message << "\n";
    return exit_usage;
  }
}

}  // namespace rdp::probe
