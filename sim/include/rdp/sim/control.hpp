#pragma once
// rdpsim's control interface: what an administrator does to a Windows RDP host with `query session`, `query user`,
// `logoff`, `reset session`, `tsdiscon`, a TermService restart and Group Policy, done to the simulator over a
// loopback TCP port with one JSON object per line each way (docs/control.md). The server side calls a
// `session_admin` (sessions.hpp) directly on the simulator's executor; `rdpsim ctl` is the client.
#include "rdp/net/asio.hpp"
#include "rdp/net/endpoint.hpp"
#include "rdp/sim/control_requests.hpp"
#include "rdp/sim/sessions.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rdp::sim {

// ---- Server --------------------------------------------------------------------------------------------------

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

// 32 bytes from OpenSSL's RAND_bytes as 64 lowercase hex digits. Throws std::runtime_error if the CSPRNG fails.
std::string make_control_token();
// Writes `token` and a newline to `path`: a temporary file created exclusively with mode 0600 in the same directory,
// renamed over `path`. Refuses (std::runtime_error naming the path and why) when something that is not a regular
// file is at `path` (a FIFO, a directory, a symlink: it is never opened, so a FIFO cannot block), or a file that
// belongs to another user. Throws std::runtime_error naming the path when it cannot write.
void write_token_file(const std::string& path, std::string_view token);
// Removes `path` if it is still the regular file, ours, that holds exactly `token` and a newline (another rdpsim
// that wrote its own token there since keeps it). Never blocks on what is at `path`. True when removed.
bool remove_token_file(const std::string& path, std::string_view token) noexcept;

class control_server {
 public:
  // Binds the listener and writes the token file. Throws std::invalid_argument when `config.listen` is not a
  // loopback address (127.0.0.0/8, ::1 or "localhost") and std::runtime_error when it cannot listen.
  // `admin` must outlive the server; it is only called from `executor`.
  control_server(net::asio::any_io_executor executor, session_admin& admin, control_config config);
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

// ---- Client --------------------------------------------------------------------------------------------------

struct control_call_result {
  net::error_code ec;         // set when no response arrived (refused, timed out, closed, not JSON)
  std::string error;          // a sentence for ec: "cannot reach rdpsim control at 127.0.0.1:13390: connection refused"
  nlohmann::json response;    // the server's answer when !ec (its "ok" says whether the action was done)
};
// Connects, sends `request` as one line, reads one response line. Blocking (its own io_context); `timeout` bounds
// the connect, the write and the read each. Only to loopback: `where.host` must be a loopback address (127.0.0.0/8,
// ::1) or "localhost" (then only its loopback addresses are tried); anything else is refused with
// errc::invalid_argument and a sentence saying so, before any lookup or connect.
control_call_result call_control(const net::host_port& where, const nlohmann::json& request,
                                 net::milliseconds timeout = net::milliseconds(5000));

}  // namespace rdp::sim
