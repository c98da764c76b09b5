// `rdpsim proxy` (proxy_command.hpp): flags to a proxy_config, the event log as JSON lines, the control interface with
// the proxy's commands (rdp/proxy/proxy_control.hpp) on rdpsim's control server.
#include "proxy_command.hpp"
#include "../command_exit.hpp"

#include "rdp/net/endpoint.hpp"
#include "rdp/protocol/text.hpp"
#include "rdp/proxy/fault_proxy.hpp"
#include "rdp/proxy/proxy_control.hpp"
#include "rdp/sim/control_server.hpp"

#include <CLI/CLI.hpp>

#include <charconv>
#include <csignal>
#include <map>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>

namespace rdp::sim {
namespace {

namespace asio = net::asio;

constexpr int exit_ok = 0;
using apps::exit_usage;
constexpr std::uint16_t default_proxy_control_port = 13391;  // rdpsim's own is 13390: both can run side by side

struct proxy_options {
  std::string listen = "127.0.0.1:0";
  std::string upstream;
  std::string connect_timeout = "5s", half_close_timeout = "5s", refusal_timeout = "2s";
  // One per row of proxy::fault_table that has a flag, by its scenario key: the text given, or whether an on/off
  // flag was.
  std::map<std::string_view, std::string> fault_values;
  std::map<std::string_view, bool> fault_switches;
  std::string max_connections = "512", max_connections_per_source = "64";
  std::string events_file;
  std::string control = "127.0.0.1:" + std::to_string(default_proxy_control_port);
  std::string control_token_file;
  bool no_control = false;
};

struct usage_error : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

std::chrono::milliseconds duration_flag(const std::string& flag, const std::string& text) {
  std::string why;
  auto d = net::parse_duration(text, &why);
  if (!d) throw usage_error(flag + ": " + why);
  return *d;
}

std::uint64_t number_flag(const std::string& flag, const std::string& text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value == 0)
    throw usage_error(flag + ": '" + text + "' is not a positive whole number");
  return value;
}

// The faults in force from the start: every flag of proxy::fault_table given, each read in its row's grammar (a
// flag sets a fault, so none takes 0), and the relations between flags the table does not hold.
proxy::fault_change faults_from(const proxy_options& o) {
  proxy::fault_change f;
  for (const auto& row : proxy::fault_table) {
    if (row.flag.empty()) continue;
    std::string text;
    if (row.value == proxy::fault_value::on_off) {
      if (o.fault_switches.at(row.scenario_key)) text = "true";
    } else {
      text = o.fault_values.at(row.scenario_key);
    }
    if (text.empty()) continue;
    std::string why;
    if (!proxy::read_fault(row, text, proxy::fault_origin::flag, f, &why))
      throw usage_error(std::string(row.flag) + ": " + protocol::escape_for_terminal(why));
  }
  if (f.on_idle && !f.idle_timeout) throw usage_error("--on-idle needs --idle-timeout");
  if (f.slice_delay && !f.slice) throw usage_error("--slice-delay needs --slice");
  if (f.reset_after && !f.reset_at_phase) throw usage_error("--reset-after needs --reset-at PHASE");
  return f;
}

proxy::proxy_config config_from(const proxy_options& o) {
  proxy::proxy_config config;
  std::string why;
  auto listen = net::parse_host_port(o.listen, 0, &why, net::port_zero::allow);
  if (!listen) throw usage_error("--listen: " + why);
  config.listen = *listen;
  if (o.upstream.empty()) throw usage_error("--upstream HOST:PORT is required");
  auto upstream = net::parse_host_port(o.upstream, net::default_rdp_port, &why);
  if (!upstream) throw usage_error("--upstream: " + why);
  config.upstream = *upstream;
  config.connect_timeout = duration_flag("--connect-timeout", o.connect_timeout);
  config.half_close_timeout = duration_flag("--half-close-timeout", o.half_close_timeout);
  config.refusal_timeout = duration_flag("--refusal-timeout", o.refusal_timeout);
  if (config.half_close_timeout.count() <= 0) throw usage_error("--half-close-timeout: must be more than 0");
  if (config.refusal_timeout.count() <= 0) throw usage_error("--refusal-timeout: must be more than 0");
  config.max_connections = static_cast<std::size_t>(number_flag("--max-connections", o.max_connections));
  config.max_connections_per_source =
      static_cast<std::size_t>(number_flag("--max-connections-per-source", o.max_connections_per_source));
  config.initial = faults_from(o);
  return config;
}

int run_proxy(const proxy_options& o) {
  proxy::proxy_config config;
  std::optional<control_config> control;
  std::unique_ptr<std::ofstream> events;
  try {
    config = config_from(o);
    if (!o.no_control) {
      control = control_config{};
      std::string why;
      auto where = net::parse_host_port(o.control, default_proxy_control_port, &why, net::port_zero::allow);
      if (!where) throw usage_error("--control: " + why);
      control->listen = *where;
      control->token_file = o.control_token_file;
    }
    if (!o.events_file.empty()) {
      events = std::make_unique<std::ofstream>(o.events_file, std::ios::app);
      if (!*events) throw usage_error("--events: cannot write " + o.events_file);
    }
  } catch (const usage_error& e) {
    std::cerr << "rdpsim proxy: " << e.what() << "\n";
    return exit_usage;
  }
  if (events)
    config.on_event = [out = events.get()](const proxy::proxy_event& e) {
      // Flushed per line, so that an interrupted run keeps every event it saw.
      *out << proxy::to_json_line(e) << std::flush;
    };
  asio::io_context io(1);
  std::unique_ptr<proxy::fault_proxy> relay;
  std::unique_ptr<control_server> ctl;
  try {
    relay = std::make_unique<proxy::fault_proxy>(io.get_executor(), config);
    if (control)
      ctl = std::make_unique<control_server>(
          io.get_executor(),
          [&relay](std::string_view token, std::string_view line) {
            return proxy::handle_proxy_control_line(*relay, token, line);
          },
          *control);
  } catch (const std::exception& e) {
    std::cerr << "rdpsim proxy: " << e.what() << "\n";
    return exit_usage;
  }
  relay->start();
  if (ctl) ctl->start();
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const net::error_code&, int) {
    if (ctl) ctl->stop();
    relay->stop();
    io.stop();
  });
  const auto ep = relay->local_endpoint();
  std::cout << "rdpsim proxy: listening on " << net::host_port{ep.address().to_string(), ep.port()}.text()
            << ", upstream " << config.upstream.text() << ", faults " << proxy::describe(config.initial);
  if (ctl) {
    const auto cep = ctl->local_endpoint();
    std::cout << ", control on " << net::host_port{cep.address().to_string(), cep.port()}.text();
    if (!control->token_file.empty()) std::cout << " (token in " << control->token_file << ")";
    else std::cout << " (token " << ctl->token() << ")";
  }
  std::cout << "\n" << std::flush;
  io.run();
  return exit_ok;
}

}  // namespace

void add_proxy_command(CLI::App& app) {
  auto o = std::make_shared<proxy_options>();
  auto* cmd = app.add_subcommand("proxy", "Relay TCP to an RDP server, injecting the network's faults (idle timeout, "
                                          "resets, latency, bandwidth, …: docs/proxy.md)");
  cmd->add_option("--listen", o->listen, "HOST:PORT to listen on (port 0: any free one)")->capture_default_str();
  cmd->add_option("--upstream", o->upstream, "HOST:PORT of the RDP server")->required();
  cmd->add_option("--connect-timeout", o->connect_timeout, "to the upstream")->capture_default_str();
  cmd->add_option("--max-connections", o->max_connections, "open at once, overall; more are refused as busy")
      ->capture_default_str();
  cmd->add_option("--max-connections-per-source", o->max_connections_per_source,
                  "open at once from one client IP address; more are refused as busy")
      ->capture_default_str();
  cmd->add_option("--half-close-timeout", o->half_close_timeout,
                  "after one side's FIN, close both if the other sends nothing and does not end for this long")
      ->capture_default_str();
  cmd->add_option("--refusal-timeout", o->refusal_timeout,
                  "how long a refused (busy) connection may take to send its X.224 Connection Request")
      ->capture_default_str();
  for (const auto& row : proxy::fault_table) {
    if (row.flag.empty()) continue;
    const std::string flag(row.flag), help(row.doc);
    if (row.value == proxy::fault_value::on_off)
      cmd->add_flag(flag, o->fault_switches[row.scenario_key], help);
    else
      cmd->add_option(flag, o->fault_values[row.scenario_key], help)->type_name(proxy::value_placeholder(row));
  }
  cmd->add_option("--events", o->events_file, "append the event log here, one JSON object per line");
  cmd->add_option("--control", o->control, "HOST:PORT of the control interface (loopback only)")->capture_default_str();
  cmd->add_option("--control-token-file", o->control_token_file, "write the control token here");
  cmd->add_flag("--no-control", o->no_control, "no control interface");
  cmd->callback([o] {
    apps::end_process(run_proxy(*o));
  });
}

}  // namespace rdp::sim
