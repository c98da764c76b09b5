// Another program on the server's port: occupy_port (the service stopped, the port taken) and share_port (the port's
// SO_REUSEPORT group joined), answering as an HTTP server, an SSH server, a banner or nothing.
#include "runner_state.hpp"

#include "rdp/net/listen.hpp"
#include "rdp/net/send.hpp"
#include "rdp/net/spawn.hpp"

#include <array>

namespace rdp::scenarios::running {

asio::awaitable<void> scenario_run::do_occupy(const occupy_port_step& step, const std::string& label) {
  if (server_running_) {
    server_counters_ = server_->counters();
    server_->stop();
    server_running_ = false;
    note("server", "the Remote Desktop service stops (every connection dropped, the listener closed)");
  }
  if (start_occupant(step.by, false, label))
    note("runner", "another program (" + std::string(to_string(step.by)) + ") now listens on 127.0.0.1:" +
                       std::to_string(server_port_));
  co_return;
}

// The server keeps its listener; the other program joins the port's SO_REUSEPORT group (the server was started with
// reuse_port for this step: both members must set it).
asio::awaitable<void> scenario_run::do_share(const share_port_step& step, const std::string& label) {
  if (start_occupant(step.by, true, label))
    note("runner", "another program (" + std::string(to_string(step.by)) + ") now shares 127.0.0.1:" +
                       std::to_string(server_port_) + " with " + (server_running_ ? "rdpsim" : "the port's owner") +
                       " (SO_REUSEPORT: the kernel picks one of them per connection)");
  co_return;
}

// Another program listening on the server's port, answering as `by`: alone (occupy_port) or in the server's
// SO_REUSEPORT group (share_port). False, and the run failed, when the port cannot be had.
bool scenario_run::start_occupant(occupant_kind by, bool reuse_port, const std::string& label) {
  net::listen_options lo;
  lo.reuse_address = true;
  lo.reuse_port = reuse_port;
  std::shared_ptr<asio::ip::tcp::acceptor> acceptor;
  try {
    acceptor = std::make_shared<asio::ip::tcp::acceptor>(net::open_listener(
        io_.get_executor(), asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_port_),
        "the program occupying the port", lo));
  } catch (const std::exception& e) {
    fail_run(label + (reuse_port ? ": sharing the port: " : ": occupying the port: ") + e.what());
    return false;
  }
  occupants_.push_back(acceptor);
  net::spawn(io_.get_executor(), occupant(acceptor, by), "rdpsim run: the " + std::string(to_string(by)) + " occupant");
  return true;
}

// What the other program answers: an HTTP server's 400 to the X.224 bytes, an SSH banner, a one-line banner, or
// nothing at all. Each connection is closed after its answer (silent: when the run ends).
asio::awaitable<void> scenario_run::occupant(std::shared_ptr<asio::ip::tcp::acceptor> acceptor, occupant_kind by) {
  for (int accepted = 0; accepted < 256; ++accepted) {
    auto [ec, socket] = co_await acceptor->async_accept(net::use_tuple);
    if (ec) co_return;
    auto peer = std::make_shared<asio::ip::tcp::socket>(std::move(socket));
    std::string answer;
    switch (by) {
      case occupant_kind::http:
        answer = "HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        break;
      case occupant_kind::ssh: answer = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"; break;
      case occupant_kind::banner: answer = "220 service ready\r\n"; break;
      case occupant_kind::silent: break;
    }
    if (by == occupant_kind::silent) {
      silent_peers_.push_back(peer);
      continue;
    }
    if (by == occupant_kind::http) {
      std::array<char, 512> request{};
      (void)co_await net::with_deadline(peer->async_read_some(asio::buffer(request), net::use_tuple),
                                        milliseconds(2000));
    }
    (void)co_await net::send(*peer, std::string_view(answer), milliseconds(2000));
    net::error_code ignored;
    peer->shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    peer->close(ignored);
  }
}

}  // namespace rdp::scenarios::running
