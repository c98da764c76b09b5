// The rdpsim command line: `serve` runs the simulated server; `demo` (the README's first command) starts one on a
// free loopback port in this process, probes it with rdpprobe's library and prints the report.
#include "rdp/net/endpoint.hpp"
#include "rdp/net/tls.hpp"
#include "rdp/probe/login.hpp"
#include "rdp/probe/scanner.hpp"
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/errinfo.hpp"
#include "rdp/sim/control.hpp"
#include "rdp/sim/profile.hpp"
#include "rdp/sim/server.hpp"
#include "ctl_cli.hpp"
#include "proxy_cli.hpp"
#include "run_cli.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdio>
#include <future>
#include <iostream>
#include <sstream>
#include <thread>

namespace rdp::sim {
namespace {

namespace asio = net::asio;

constexpr int exit_usage = 2;

struct identity_options {
  std::string cert_path, key_path, key_type = "rsa", common_name = "rdpsim";
};

net::tls_identity make_identity(const identity_options& o) {
  if (!o.cert_path.empty() || !o.key_path.empty()) {
    if (o.cert_path.empty() || o.key_path.empty()) throw std::invalid_argument("--cert and --key go together");
    return net::load_identity(o.cert_path, o.key_path);
  }
  if (o.key_type != "rsa" && o.key_type != "ecdsa")
    throw std::invalid_argument("--key-type must be rsa or ecdsa, not '" + o.key_type + "'");
  return net::make_self_signed(o.key_type == "rsa" ? net::key_kind::rsa : net::key_kind::ecdsa, o.common_name);
}

struct serve_options {
  std::string profile_path;
  std::string listen, protocols;  // empty: the profile's (or the defaults)
  identity_options id;
  bool identity_given = false;
  std::string control_listen, control_token_file;
  bool no_control = false;
};

int run_serve(const serve_options& o) {
  profile p;
  if (!o.profile_path.empty()) p = load_profile(o.profile_path);
  auto& config = p.server;
  if (!o.listen.empty()) {
    std::string why;
    auto where = net::parse_host_port(o.listen, 13389, &why, net::port_zero::allow);
    if (!where) throw std::invalid_argument("--listen: " + why);
    config.listen = *where;
  }
  if (!o.protocols.empty()) config.policy = parse_policy(o.protocols);
  if (config.policy.supported != 0 && (o.identity_given || config.identity.certificate_pem.empty()))
    config.identity = make_identity(o.id);
  // The control interface is on unless switched off; flags override the profile's.
  std::optional<control_config> control;
  if (!o.no_control) {
    control = p.control.value_or(control_config{});
    if (!o.control_listen.empty()) {
      std::string why;
      auto where = net::parse_host_port(o.control_listen, default_control_port, &why, net::port_zero::allow);
      if (!where) throw std::invalid_argument("--control: " + why);
      control->listen = *where;
    }
    if (!o.control_token_file.empty()) control->token_file = o.control_token_file;
  }
  asio::io_context io(1);
  server srv(io.get_executor(), config);
  std::unique_ptr<control_server> ctl;
  if (control) ctl = std::make_unique<control_server>(io.get_executor(), srv.admin(), *control);
  srv.start();
  if (ctl) ctl->start();
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const net::error_code&, int) {
    if (ctl) ctl->stop();
    srv.stop();
    io.stop();
  });
  const auto ep = srv.local_endpoint();
  std::cout << "rdpsim: listening on " << net::host_port{ep.address().to_string(), ep.port()}.text();
  if (!p.name.empty()) std::cout << ", profile " << p.name;
  std::cout << ", protocols " << (config.policy.supports_standard_rdp ? "rdp" : "")
            << (config.policy.supports_standard_rdp && config.policy.supported ? "," : "")
            << protocol::describe_protocol_bits(config.policy.supported);
  if (!config.identity.certificate_pem.empty())
    std::cout << ", certificate sha256 " << net::certificate_sha256(config.identity.certificate_pem);
  std::cout << "\n";
  if (ctl) {
    const auto cep = ctl->local_endpoint();
    std::cout << "rdpsim: control on " << net::host_port{cep.address().to_string(), cep.port()}.text();
    if (!control->token_file.empty()) std::cout << ", token in " << control->token_file;
    else std::cout << ", token " << ctl->token();
    std::cout << "\n";
  }
  std::cout << std::flush;
  io.run();
  return 0;
}

// Runs `f` on the simulator's thread (where the session table lives) and returns its result.
template <class F>
auto on_sim_thread(asio::io_context& io, F f) {
  std::packaged_task<std::invoke_result_t<F>()> task(std::move(f));
  auto result = task.get_future();
  asio::post(io, [&task] { task(); });
  return result.get();
}

// The drop the demo reproduces: a real client (the FreeRDP library) logs on, the administrator logs the session off,
// and the client reports what Windows would make it report. Then the same client comes back with the auto-reconnect
// cookie of the session that was deleted. The RDP server does not answer that with an NTSTATUS: the cookie travels
// in the Client Info PDU, after any CredSSP exchange (MS-RDPBCGR 1.3.1.5, 5.5), and a cookie the server cannot honour
// gets a fresh logon (after finalization, a Server Auto-Reconnect Status PDU, 2.2.4.1). STATUS_USER_SESSION_DELETED
// (0xC0000203) is what an SMB2 server answers a request whose SessionId it no longer holds (MS-SMB2 3.3.5.2.9).
// Returns whether the client saw what it should.
bool reproduce_drop(asio::io_context& io, server& srv, std::uint16_t port) {
  std::cout << "\nrdpsim demo: reproducing a drop — a FreeRDP client logs on, the administrator logs it off\n";
  probe::login_options login;
  login.host = "127.0.0.1";
  login.port = port;
  login.user = "demo";
  login.password = "demo";
  login.security = probe::login_security::tls;
  login.accept_any_certificate = true;  // the demo's own rdpsim, with the certificate it has just made
  login.stay = std::chrono::seconds(15);
  auto client = std::async(std::launch::async, [&] { return probe::run_login(login); });
  std::optional<session_info> active;
  for (int i = 0; i < 150 && !active; ++i) {  // bounded: 15 s
    for (const auto& row : on_sim_thread(io, [&] { return srv.admin().query_sessions(); }))
      if (row.state == session_state::active) active = row;
    if (!active) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!active) {
    const auto r = client.get();
    std::cout << "  the client never reached an active session: " << r.furthest_state << " " << r.last_error_name << "\n";
    return false;
  }
  std::istringstream table(format_query_session(on_sim_thread(io, [&] { return srv.admin().query_sessions(); })));
  for (std::string line; std::getline(table, line);) std::cout << "  " << line << "\n";
  std::cout << "  admin: logoff " << active->id << "\n";
  on_sim_thread(io, [&] { return srv.admin().logoff(active->id); });
  const auto r = client.get();
  std::cout << "  client: active after " << r.connect_time.count() << " ms, session " << r.session_id.value_or(0)
            << "; the server ended it with Set Error Info " << protocol::hex32(r.error_info) << " " << r.error_info_name << " (\""
            << r.error_info_text << "\")";
  if (r.disconnect_ultimatum) std::cout << " and an MCS Disconnect Provider Ultimatum (reason " << *r.disconnect_ultimatum << ")";
  std::cout << "\n";
  const bool logoff_seen = r.reached_active && r.error_info == protocol::errinfo::rpc_initiated_logoff;
  if (!r.cookie) return logoff_seen;
  // Back with the cookie of the deleted session, as an auto-reconnecting client would be.
  login.reconnect_cookie = r.cookie;
  login.stay = std::chrono::milliseconds(500);  // long enough to read the new session's Save Session Info
  const auto again = probe::run_login(login);
  const auto counters = on_sim_thread(io, [&] { return srv.counters(); });
  std::cout << "  client: reconnects with its auto-reconnect cookie for session " << r.cookie->logon_id
            << ", which no longer exists; the server counted " << counters.stale_cookies
            << " stale cookie and started a fresh logon in session " << again.session_id.value_or(0)
            << ": the user's desktop and programs are gone (the session was deleted; an SMB2 request still bound to it"
               " would get STATUS_USER_SESSION_DELETED 0xC0000203)\n";
  return logoff_seen && again.reached_active && counters.stale_cookies == 1;
}

int run_demo(const std::string& protocols, bool json_output) {
  server_config config;
  config.listen = {"127.0.0.1", 0};
  config.policy = parse_policy(protocols);
  config.identity = net::make_self_signed(net::key_kind::rsa, "rdpsim-demo");
  asio::io_context io(1);
  server srv(io.get_executor(), config);
  srv.start();
  const auto port = srv.local_endpoint().port();
  auto guard = asio::make_work_guard(io);
  std::thread sim_thread([&] { io.run(); });

  std::cout << "rdpsim demo: simulated RDP server on 127.0.0.1:" << port << " offering " << protocols
            << " (self-signed certificate sha256 " << net::certificate_sha256(config.identity.certificate_pem)
            << ")\nrdpprobe scan 127.0.0.1:" << port << "\n\n";
  probe::probe_options options;
  const auto reports = probe::probe_all({{"127.0.0.1:" + std::to_string(port), {"127.0.0.1", port}}}, options, 1);
  for (const auto& r : reports) {
    if (json_output) std::cout << probe::to_json(r).dump() << "\n";
    else probe::print_human(std::cout, r);
  }
  const bool probed = reports.front().result == probe::verdict::rdp;
  const bool dropped = json_output || reproduce_drop(io, srv, port);
  asio::post(io, [&] {
    srv.stop();
    guard.reset();
  });
  sim_thread.join();
  return probed && dropped ? 0 : 1;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{"rdpsim — a simulated RDP server for reproducing session drops"};
  app.require_subcommand(1);
  serve_options so;
  auto* serve = app.add_subcommand("serve", "Run the simulated RDP server until SIGINT/SIGTERM");
  serve->add_option("--profile", so.profile_path, "YAML profile (sim/profiles/, docs/profiles.md); flags override it")
      ->check(CLI::ExistingFile);
  serve->add_option("--listen", so.listen, "ADDRESS:PORT to listen on (port 0: any free port) [127.0.0.1:13389]");
  serve->add_option("--protocols", so.protocols,
                    "security protocols offered: rdp,tls,credssp,credssp-ex,rdstls,rdsaad [rdp,tls]");
  auto* cert = serve->add_option("--cert", so.id.cert_path, "TLS certificate (PEM); default: a self-signed one generated at start");
  auto* key = serve->add_option("--key", so.id.key_path, "TLS private key (PEM) for --cert");
  auto* key_type = serve->add_option("--key-type", so.id.key_type, "key of the generated certificate: rsa or ecdsa")->capture_default_str();
  auto* cn = serve->add_option("--cn", so.id.common_name, "common name of the generated certificate")->capture_default_str();
  serve->add_option("--control", so.control_listen, "loopback ADDRESS:PORT of the control interface [127.0.0.1:13390]");
  serve->add_option("--control-token-file", so.control_token_file, "write the control token to this file (mode 0600)");
  serve->add_flag("--no-control", so.no_control, "no control interface (no admin actions)");
  bool json_output = false;
  std::string demo_protocols = "rdp,tls,credssp";
  auto* demo = app.add_subcommand("demo", "Start rdpsim on a free loopback port, probe it, print the report");
  demo->add_option("--protocols", demo_protocols, "protocols the demo server offers")->capture_default_str();
  demo->add_flag("--json", json_output, "print the probe report as JSON");
  add_ctl_command(app);  // `rdpsim ctl …` runs and exits inside its own callback (ctl_cli.hpp)
  add_proxy_command(app);  // `rdpsim proxy …` likewise (proxy_cli.hpp)
  add_run_command(app);  // `rdpsim run …` likewise (run_cli.hpp)
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "rdpsim: " << e.what() << "\n(run 'rdpsim --help')\n";
    return exit_usage;
  }
  try {
    if (serve->parsed()) {
      so.identity_given = cert->count() + key->count() + key_type->count() + cn->count() > 0;
      return run_serve(so);
    }
    return run_demo(demo_protocols, json_output);
  } catch (const std::invalid_argument& e) {
    std::cerr << "rdpsim: " << e.what() << "\n";
    return exit_usage;
  } catch (const profile_error& e) {
    std::cerr << "rdpsim: " << e.what() << "\n";
    return exit_usage;
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}

}  // namespace rdp::sim
