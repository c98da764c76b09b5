#pragma once
// rdpsim's control server: the loopback listener, one coroutine per connection with its byte and time budgets, the
// bound on connections at once, and the drain after an error. What a request line does is control_requests.hpp
// (handle_control_line); this only moves lines (docs/control.md). The same server serves any other request handler
// (the fault proxy's, docs/proxy.md) with the same token, loopback-only listener and budgets.
#include "rdp/net/asio.hpp"
#include "rdp/net/endpoint.hpp"
#include "rdp/sim/control_requests.hpp"
#include "rdp/sim/sessions.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace rdp::sim {

inline constexpr std::uint16_t default_control_port = 13390;

struct control_config {
  net::host_port listen{"127.0.0.1", default_control_port};  // loopback only; port 0 picks a free one
  std::string token;       // empty: a fresh random one (make_control_token)
  std::string token_file;  // if set, the token is written there (write_token_file) and removed again by stop()
  // Before a connection has sent a line with the right token it gets auth_max_bytes in all (blank lines count) and
  // auth_timeout in all from the accept: a client without the token cannot hold a slot longer, however it trickles.
  std::size_t auth_max_bytes = 4096;
  net::milliseconds auth_timeout{5000};
  net::milliseconds read_timeout{30000};  // after authentication: for each request line (a blank line does not
                                          // restart it) and for each response write
  std::size_t max_line = 64 * 1024;       // longest request line once authenticated, without its "\n"
  std::size_t max_connections = 16;       // at once; one more is answered with an error and closed
  // For tests: runs for every accepted connection before it is served. What it throws ends the accept loop as a
  // bug would (the loop says so on stderr and starts again).
  std::function<void()> after_accept;
};

// One request line to its response, given the server's token (which the handler checks, as handle_control_line
// does). Called on the server's executor; must not throw.
using control_handler = std::function<control_outcome(std::string_view token, std::string_view line)>;

class control_server {
 public:
  // Binds the listener and writes the token file. Throws std::invalid_argument when `config.listen` is not a
  // loopback address (127.0.0.0/8, ::1 or "localhost") and std::runtime_error when it cannot listen.
  // `admin` must outlive the server; it is only called from `executor`.
  control_server(net::asio::any_io_executor executor, session_admin& admin, control_config config);
  // The same for another set of commands: each line goes to `handler` instead of handle_control_line.
  control_server(net::asio::any_io_executor executor, control_handler handler, control_config config);
  ~control_server();  // closes everything, like stop(); call on the executor's thread or after it stopped
  control_server(const control_server&) = delete;
  control_server& operator=(const control_server&) = delete;

  net::tcp::endpoint local_endpoint() const;
  const std::string& token() const noexcept;
  void start();  // begins accepting; call on (or before running) the executor
  // Closes the listener and every connection and removes the token file; `admin` is not called afterwards.
  void stop();

  struct state;  // shared with the connection coroutines, which may outlive a stop()

 private:
  std::shared_ptr<state> state_;
};

}  // namespace rdp::sim
