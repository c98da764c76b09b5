#pragma once
// Test helper: an rdpsim server on 127.0.0.1:<free port>, running on its own thread for the test's lifetime.
#include "rdp/sim/server.hpp"

#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <thread>
#include <type_traits>

namespace rdp::test {

class sim_thread {
 public:
  // Listens on 127.0.0.1:<free port> unless `keep_listen` (e.g. port 3389 of a loopback address for nmap).
  explicit sim_thread(sim::server_config config, bool keep_listen = false) : work_(net::asio::make_work_guard(io_)) {
    if (!keep_listen) config.listen = {"127.0.0.1", 0};
    identity_ = config.identity;
    server_ = std::make_unique<sim::server>(io_.get_executor(), std::move(config));
    server_->start();
    port_ = server_->local_endpoint().port();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~sim_thread() {
    net::asio::post(io_, [this] {
      server_->stop();
      work_.reset();
    });
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  sim::server& server() { return *server_; }
  // The simulator's executor: what a control_server in front of server().admin() must run on.
  net::asio::any_io_executor executor() { return io_.get_executor(); }

  // Runs `f` on the simulator's thread (where the session table lives) and returns its result.
  template <class F>
  auto call(F f) -> std::invoke_result_t<F> {
    using result = std::invoke_result_t<F>;
    std::promise<result> promise;
    auto future = promise.get_future();
    net::asio::post(io_, [&] {
      try {
        if constexpr (std::is_void_v<result>) {
          f();
          promise.set_value();
        } else {
          promise.set_value(f());
        }
      } catch (...) {
        promise.set_exception(std::current_exception());
      }
    });
    return future.get();
  }
  const net::tls_identity& identity() const { return identity_; }

  // The session table's row for `id`, read on the simulator's thread; nullopt when the table has no such session.
  std::optional<sim::session_info> find_session(std::uint32_t id) {
    for (const auto& row : call([this] { return server_->admin().query_sessions(); }))
      if (row.id == id) return row;
    return std::nullopt;
  }
  sim::server_counters counters() {
    return call([this] { return server_->counters(); });
  }

 private:
  net::asio::io_context io_;
  net::asio::executor_work_guard<net::asio::io_context::executor_type> work_;
  std::unique_ptr<sim::server> server_;
  net::tls_identity identity_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace rdp::test
