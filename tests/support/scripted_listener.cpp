#include "scripted_listener.hpp"

#include "rdp/net/deadline.hpp"

namespace rdp::test {
namespace {

namespace asio = net::asio;
using net::tcp;

asio::awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(net::use_tuple);
}

asio::awaitable<void> read_request(tcp::socket& s) {
  std::array<char, 512> buf{};
  co_await net::with_deadline(s.async_read_some(asio::buffer(buf), net::use_tuple), std::chrono::seconds(5));
}

asio::awaitable<void> write(tcp::socket& s, std::string_view data) {
  co_await net::with_deadline(asio::async_write(s, asio::buffer(data), net::use_tuple), std::chrono::seconds(5));
}

asio::awaitable<void> play(std::shared_ptr<tcp::socket> s, listener_behaviour b) {
  net::error_code ignored;
  switch (b) {
    case listener_behaviour::http_400:
      co_await read_request(*s);
      co_await write(*s, "HTTP/1.1 400 Bad Request\r\nServer: scripted-http/1.0\r\nConnection: close\r\n\r\n");
      break;
    case listener_behaviour::ssh_banner:
      co_await write(*s, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
      co_await read_request(*s);
      co_await write(*s, "Invalid SSH identification string.\r\n");
      break;
    case listener_behaviour::silent:
      co_await read_request(*s);
      co_await pause(std::chrono::seconds(30));
      break;
    case listener_behaviour::reset_on_data:
      co_await read_request(*s);
      s->set_option(asio::socket_base::linger(true, 0), ignored);
      break;
    case listener_behaviour::close_on_data:
      co_await read_request(*s);
      break;
    case listener_behaviour::dribble: {
      co_await read_request(*s);
      const std::string cc("\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x01\x08\x00\x01\x00\x00\x00", 19);
      for (char c : cc) {
        co_await write(*s, std::string_view(&c, 1));
        co_await pause(std::chrono::seconds(1));
      }
      break;
    }
    case listener_behaviour::huge_tpkt:
      co_await read_request(*s);
      co_await write(*s, std::string_view("\x03\x00\xff\xff\x02\xf0\x80", 7));
      co_await pause(std::chrono::seconds(30));
      break;
    case listener_behaviour::endless: {
      co_await read_request(*s);
      std::string block(65536, '\x5a');
      block[0] = '\x03';
      const auto until = net::clock::now() + std::chrono::seconds(30);
      for (int i = 0; i < 1024 && net::clock::now() < until; ++i) {
        auto [ec, n] = co_await asio::async_write(*s, asio::buffer(block), net::use_tuple);
        if (ec) break;
      }
      break;
    }
  }
  s->close(ignored);
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, listener_behaviour b) {
  for (;;) {
    auto s = std::make_shared<tcp::socket>(acceptor.get_executor());
    auto [ec] = co_await acceptor.async_accept(*s, net::use_tuple);
    if (ec) co_return;
    asio::co_spawn(acceptor.get_executor(), play(s, b), asio::detached);
  }
}

}  // namespace

scripted_listener::scripted_listener(listener_behaviour behaviour)
    : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), behaviour_(behaviour) {
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(io_, accept_loop(acceptor_, behaviour_), asio::detached);
  thread_ = std::thread([this] { io_.run(); });
}

scripted_listener::~scripted_listener() {
  io_.stop();
  thread_.join();
}

std::uint16_t closed_port() {
  asio::io_context io;
  tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

}  // namespace rdp::test
