#pragma once
// Test helper: one lean client session (rdp::client::run_session) on its own thread and io_context; the test reads,
// each with a bounded wait, when its connection sequence is done and its final result.
#include "rdp/client/session.hpp"

#include <chrono>
#include <future>
#include <optional>
#include <thread>

namespace rdp::test {

class client_thread {
 public:
  explicit client_thread(client::session_options options) : context_(client::make_client_context()) {
    sequence_done_ = sequence_.get_future();
    auto on_done = [this](const client::session_result& r) { sequence_.set_value(r); };
    final_ = net::asio::co_spawn(io_, client::run_session(context_, std::move(options), on_done),
                                 net::asio::use_future);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~client_thread() {
    io_.stop();
    thread_.join();
  }
  client_thread(const client_thread&) = delete;
  client_thread& operator=(const client_thread&) = delete;

  // nullopt when the sequence did not end within `limit`.
  std::optional<client::session_result> sequence(std::chrono::milliseconds limit) {
    if (sequence_done_.wait_for(limit) != std::future_status::ready) return std::nullopt;
    return sequence_done_.get();
  }
  // nullopt when the session did not end within `limit`.
  std::optional<client::session_result> final(std::chrono::milliseconds limit) {
    if (final_.wait_for(limit) != std::future_status::ready) return std::nullopt;
    return final_.get();
  }

 private:
  net::ssl::context context_;
  net::asio::io_context io_{1};
  std::promise<client::session_result> sequence_;
  std::future<client::session_result> sequence_done_;
  std::future<client::session_result> final_;
  std::thread thread_;
};

}  // namespace rdp::test
