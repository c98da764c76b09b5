#pragma once
// Test helper: a listener that is not RDP — an HTTP server answering the X.224 bytes with 400, or an SSH server
// greeting with its banner — on the test's own address and port, bound with net::open_listener's options so it can
// join an SO_REUSEPORT group beside rdpsim (tests/support's scripted_listener cannot). On its own thread; each
// connection is answered on its own coroutine and closed after one exchange; it counts the connections it accepted.
// A test may give it something to do before it answers its first connection (on its thread): rdpsim joining the
// port group then, the first connection has met this listener alone, and every later one meets one of the two.
#include "rdp/net/asio.hpp"
#include "rdp/net/deadline.hpp"
#include "rdp/net/listen.hpp"
#include "rdp/net/send.hpp"

#include <array>
#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

namespace rdp::test {

class foreign_listener {
 public:
  enum class speaks { http, ssh };
  static constexpr std::string_view http_answer =
      "HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  static constexpr std::string_view ssh_banner = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n";

  foreign_listener(speaks what, const net::tcp::endpoint& where, net::listen_options options,
                   std::function<void()> before_first_answer = {})
      : acceptor_(net::open_listener(io_.get_executor(), where,
                                     std::string("the test's ") + (what == speaks::http ? "HTTP" : "SSH") + " listener",
                                     options)),
        what_(what),
        before_first_answer_(std::move(before_first_answer)) {
    port_ = acceptor_.local_endpoint().port();
    net::asio::co_spawn(io_, serve(this), net::asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  foreign_listener(speaks what, const net::tcp::endpoint& where, bool reuse_port,
                   std::function<void()> before_first_answer = {})
      : foreign_listener(what, where,
                         net::listen_options{.reuse_address = true, .reuse_port = reuse_port, .v6_only = std::nullopt},
                         std::move(before_first_answer)) {}
  ~foreign_listener() {
    net::asio::post(io_, [this] {
      net::error_code ignored;
      acceptor_.close(ignored);
      io_.stop();
    });
    thread_.join();
  }
  foreign_listener(const foreign_listener&) = delete;
  foreign_listener& operator=(const foreign_listener&) = delete;

  std::uint16_t port() const { return port_; }
  std::size_t accepted() const { return accepted_.load(); }

 private:
  static net::asio::awaitable<void> serve(foreign_listener* self) {
    for (int n = 0; n < 4096; ++n) {
      auto [ec, socket] = co_await self->acceptor_.async_accept(net::use_tuple);
      if (ec) co_return;  // closed: the test is over
      if (++self->accepted_ == 1 && self->before_first_answer_) self->before_first_answer_();
      net::asio::co_spawn(self->io_, answer(self->what_, std::move(socket)), net::asio::detached);
    }
  }
  // HTTP reads the request first (bounded), SSH greets at once; both then close their side.
  static net::asio::awaitable<void> answer(speaks what, net::tcp::socket socket) {
    if (what == speaks::http) {
      std::array<char, 512> request{};
      auto read = socket.async_read_some(net::asio::buffer(request), net::use_tuple);
      (void)co_await net::with_deadline(std::move(read), net::milliseconds(2000));
    }
    (void)co_await net::send(socket, what == speaks::http ? http_answer : ssh_banner, net::milliseconds(2000));
    net::error_code ignored;
    socket.shutdown(net::tcp::socket::shutdown_send, ignored);
    socket.close(ignored);
  }

  net::asio::io_context io_;
  net::tcp::acceptor acceptor_;
  speaks what_;
  std::function<void()> before_first_answer_;
  std::uint16_t port_ = 0;
  std::atomic<std::size_t> accepted_{0};
  std::thread thread_;
};

}  // namespace rdp::test
