// `rdpsim serve` (serve_command.hpp): the simulated server from a profile and flags, with its control interface,
// until SIGINT/SIGTERM.
#include "serve_command.hpp"
#include "../command_exit.hpp"

#include "rdp/net/endpoint.hpp"
#include "rdp/net/tls.hpp"
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/errinfo.hpp"
#include "rdp/sim/control.hpp"
#include "rdp/sim/profile.hpp"
#include "rdp/sim/server.hpp"

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <stdexcept>

namespace rdp::sim {
namespace {

namespace asio = net::asio;

using apps::exit_usage;

struct identity_options {
  std::string cert_path, key_path, key_type = "rsa", common_name = "rdpsim";
};

net::tls_identity make_identity(const identity_options& o) {
  if (!o.cert_path.empty() || !o.key_path.empty()) {
    if (o.cert_path.empty() || o.key_path.empty()) throw std::invalid_argument("--cert and --key go together");
    // A certificate or key that cannot be used is the user's input at fault: a usage error (exit 2), as a bad
    // --profile is, not a failure of rdpsim's own (exit 1).
    try {
      return net::load_identity(o.cert_path, o.key_path);
    } catch (const std::runtime_error& e) {
      throw std::invalid_argument(std::string("--cert/--key: ") + e.what());
    }
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
  bool reuse_port = false;
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
  if (o.reuse_port) config.reuse_port = true;
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
  // CredSSP checks NTLMv2 against accounts: with none, every NLA logon is refused (docs/nla.md). Said once, at start.
  constexpr auto credssp_bits = protocol::to_bits(protocol::security_protocol::hybrid) |
                                protocol::to_bits(protocol::security_protocol::hybrid_ex);
  if ((config.policy.supported & credssp_bits) && config.users.empty())
    std::cerr << "rdpsim: CredSSP is offered but the profile has no users: every NLA logon will be refused with "
                 "STATUS_LOGON_FAILURE (probes still read the NTLM CHALLENGE)\n";
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

}  // namespace

void add_serve_command(CLI::App& app) {
  auto so = std::make_shared<serve_options>();
  auto* serve = app.add_subcommand("serve", "Run the simulated RDP server until SIGINT/SIGTERM");
  serve->add_option("--profile", so->profile_path, "YAML profile (sim/profiles/, docs/profiles.md); flags override it")
      ->check(CLI::ExistingFile);
  serve->add_option("--listen", so->listen, "ADDRESS:PORT to listen on (port 0: any free port) [127.0.0.1:13389]");
  serve->add_flag("--reuse-port", so->reuse_port,
                  "SO_REUSEPORT: join listeners already on the address and port (a stale second instance); the kernel "
                  "spreads connections between them");
  serve->add_option("--protocols", so->protocols,
                    "security protocols offered: rdp,tls,credssp,credssp-ex,rdstls,rdsaad [rdp,tls]");
  auto* cert = serve->add_option("--cert", so->id.cert_path, "TLS certificate (PEM); default: a self-signed one generated at start");
  auto* key = serve->add_option("--key", so->id.key_path, "TLS private key (PEM) for --cert");
  auto* key_type = serve->add_option("--key-type", so->id.key_type, "key of the generated certificate: rsa or ecdsa")->capture_default_str();
  auto* cn = serve->add_option("--cn", so->id.common_name, "common name of the generated certificate")->capture_default_str();
  serve->add_option("--control", so->control_listen, "loopback ADDRESS:PORT of the control interface [127.0.0.1:13390]");
  serve->add_option("--control-token-file", so->control_token_file, "write the control token to this file (mode 0600)");
  serve->add_flag("--no-control", so->no_control, "no control interface (no admin actions)");
  serve->callback([so, cert, key, key_type, cn] {
    so->identity_given = cert->count() + key->count() + key_type->count() + cn->count() > 0;
    apps::end_process(apps::exit_status_of<profile_error>("rdpsim", [&] { return run_serve(*so); }));
  });
}

}  // namespace rdp::sim
