#pragma once
// The fault proxy (rdp::proxy::fault_proxy) on an io_context of its own thread, for tests: its members are called on
// that thread through call(), and its events are kept for the test to wait for.
#include "wait_until.hpp"
#include "rdp/net/asio.hpp"
#include "rdp/proxy/fault_proxy.hpp"

#include <poll.h>

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace rdp::test {

// What one side of a relayed connection observes when it waits for bytes.
enum class seen { data, fin, reset, silence };
struct observation {
  seen what = seen::silence;
  std::string bytes;
};

// Reads until `want` bytes are in, the stream ends (FIN, RST) or `limit` has passed: one bounded wait.
inline observation wait_read(net::tcp::socket& s, std::chrono::milliseconds limit, std::size_t want = 1) {
  observation out;
  const auto until = std::chrono::steady_clock::now() + limit;
  while (out.bytes.size() < want) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{s.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[65536];
    net::error_code ec;
    const auto n = s.read_some(net::asio::buffer(buf), ec);
    if (ec == net::asio::error::eof) return {seen::fin, out.bytes};
    if (ec) return {seen::reset, out.bytes};
    out.bytes.append(buf, n);
  }
  out.what = out.bytes.empty() ? seen::silence : seen::data;
  return out;
}

// The proxy on its own thread; members are called on it through call().
class proxy_thread {
 public:
  explicit proxy_thread(proxy::proxy_config config) : work_(net::asio::make_work_guard(io_)) {
    config.on_event = [this](const proxy::proxy_event& e) {
      std::lock_guard lock(mutex_);
      events_.push_back(e);
    };
    proxy_ = std::make_unique<proxy::fault_proxy>(io_.get_executor(), std::move(config));
    proxy_->start();
    port_ = proxy_->local_endpoint().port();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~proxy_thread() {
    net::asio::post(io_, [this] {
      proxy_->stop();
      work_.reset();
    });
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  template <class F>
  auto call(F f) -> std::invoke_result_t<F, proxy::fault_proxy&> {
    std::packaged_task<std::invoke_result_t<F, proxy::fault_proxy&>()> task([&] { return f(*proxy_); });
    auto done = task.get_future();
    net::asio::post(io_, [&] { task(); });
    return done.get();
  }
  proxy::proxy_counters counters() {
    return call([](proxy::fault_proxy& p) { return p.counters(); });
  }
  std::vector<proxy::proxy_event> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }
  // The first event of `kind` matching `pred`, waiting up to `limit` for it.
  template <class Pred>
  std::optional<proxy::proxy_event> wait_event(proxy::event_kind kind, Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(3)) {
    std::optional<proxy::proxy_event> found;
    wait_until(
        [&] {
          for (const auto& e : events())
            if (e.kind == kind && pred(e)) return found = e, true;
          return false;
        },
        limit, std::chrono::milliseconds(5));
    return found;
  }
  std::optional<proxy::proxy_event> wait_event(proxy::event_kind kind) {
    return wait_event(kind, [](const proxy::proxy_event&) { return true; });
  }

 private:
  net::asio::io_context io_;
  net::asio::executor_work_guard<net::asio::io_context::executor_type> work_;
  std::unique_ptr<proxy::fault_proxy> proxy_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<proxy::proxy_event> events_;
};

}  // namespace rdp::test
