#pragma once
// Test helper: rdpsim's control interface in front of a sim_thread's admin, on the simulator's executor (made and
// destroyed there, where the session table lives), and `rdpsim ctl` run against it as a user would.
#include "run_command.hpp"
#include "sim_thread.hpp"

#include "rdp/sim/control.hpp"

#include <memory>
#include <string>

namespace rdp::test {

class control_in_sim {
 public:
  control_in_sim(sim_thread& sim, std::string token, std::string rdpsim_bin)
      : sim_(sim), token_(std::move(token)), rdpsim_bin_(std::move(rdpsim_bin)) {
    sim::control_config config;
    config.listen = {"127.0.0.1", 0};
    config.token = token_;
    server_ = sim_.call([&] {
      auto server = std::make_unique<sim::control_server>(sim_.executor(), sim_.server().admin(), config);
      server->start();
      return server;
    });
  }
  ~control_in_sim() {
    sim_.call([this] { server_.reset(); });
  }
  control_in_sim(const control_in_sim&) = delete;
  control_in_sim& operator=(const control_in_sim&) = delete;

  std::uint16_t port() const { return server_->local_endpoint().port(); }

  // `rdpsim ctl ARGS` against this control interface, the token in the environment.
  command_result ctl(const std::string& args) const {
    return run_command("env -u RDPSIM_TOKEN RDPSIM_TOKEN=" + token_ + " " + rdpsim_bin_ + " ctl --control 127.0.0.1:" +
                       std::to_string(port()) + " " + args);
  }

 private:
  sim_thread& sim_;
  std::string token_, rdpsim_bin_;
  std::unique_ptr<sim::control_server> server_;
};

}  // namespace rdp::test
