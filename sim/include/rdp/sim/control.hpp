#pragma once
// rdpsim's control interface: what an administrator does to a Windows RDP host with `query session`, `query user`,
// `logoff`, `reset session`, `tsdiscon`, a TermService restart and Group Policy, done to the simulator over a
// loopback TCP port with one JSON object per line each way (docs/control.md). The server side calls a
// `session_admin` (sessions.hpp) directly on the simulator's executor; `rdpsim ctl` is the client.
#include "rdp/net/asio.hpp"
#include "rdp/net/endpoint.hpp"
#include "rdp/sim/sessions.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rdp::sim {

// ---- The administrator's views (defined in sessions.cpp) -------------------------------------------------------

// How `query user` shows LOGON TIME: Windows prints local time; tests and logs want UTC.
enum class time_display { local, utc };

// Windows' `query session` (qwinsta) table: header, then one row per session in the order given, columns where
// Windows puts them (SESSIONNAME at 1, USERNAME at 19, ID right-aligned ending at 45, STATE at 48). TYPE and
// DEVICE are empty for RDP-Tcp sessions on current Windows, so rows end after STATE. Lines end with "\n".
std::string format_query_session(const std::vector<session_info>& sessions);
// Windows' `query user` (quser) table: only sessions with a user (not the listener), USERNAME at 1, SESSIONNAME at
// 23, ID ending at 43, STATE at 46, IDLE TIME ending at 62, LOGON TIME (en-US "M/D/YYYY h:mm AM") at 65.
// With no user at all: "No User exists for *\n", as Windows says.
std::string format_query_user(const std::vector<session_info>& sessions, time_display zone = time_display::local);
// IDLE TIME as quser prints it: "." under a minute, "59" minutes, "1:05" hours, "2+03:04" days.
std::string format_idle(std::chrono::milliseconds idle);

// JSON words for session states: "active", "connected", "disconnected", "listen".
std::string_view state_word(session_state s) noexcept;
std::optional<session_state> state_from_word(std::string_view word) noexcept;

// {"id","name","user","domain","state","client_address","logon_time" (ISO 8601 UTC "2026-11-24T11:42:01Z", or
// null),"idle_ms"}. from_json throws nlohmann::json::exception on a member that is missing or of the wrong type.
void to_json(nlohmann::json& j, const session_info& s);
void from_json(const nlohmann::json& j, session_info& s);

// ---- Policy as JSON (control.cpp) ------------------------------------------------------------------------------

// {"single_session":bool,"max_sessions":N|null,"idle_limit_seconds":N|null,"logon_timeout_seconds":N|null,
//  "disconnected_limit_seconds":N|null}
void to_json(nlohmann::json& j, const session_policy& p);
// Applies the members present in `j` to `p` (a partial update); on a bad member returns false with `why` naming it
// and leaves `p` unchanged.
bool apply_policy_json(const nlohmann::json& j, session_policy& p, std::string* why);

// ---- Server --------------------------------------------------------------------------------------------------

inline constexpr std::uint16_t default_control_port = 13390;

struct control_config {
  net::host_port listen{"127.0.0.1", default_control_port};  // loopback only; port 0 picks a free one
  std::string token;       // empty: a fresh random one (make_control_token)
  std::string token_file;  // if set, the token is written there, mode 0600, at construction
  net::milliseconds read_timeout{30000};  // for each request line (and each response write)
  std::size_t max_line = 64 * 1024;       // longest request line, without its "\n"
  std::size_t max_connections = 16;       // at once; one more is answered with an error and closed
};

// One request line → its response. Pure apart from the calls into `admin`: the server only moves lines.
// `close` is set when the connection must end after the response (bad token, malformed JSON).
struct control_outcome {
  nlohmann::json response;
  bool close = false;
};
control_outcome handle_control_line(session_admin& admin, std::string_view token, std::string_view line);

// 32 bytes from OpenSSL's RAND_bytes as 64 lowercase hex digits. Throws std::runtime_error if the CSPRNG fails.
std::string make_control_token();
// Writes `token` and a newline to `path`, created or truncated with mode 0600 (tightened if it existed), not
// following a symlink. Throws std::runtime_error naming the path.
void write_token_file(const std::string& path, std::string_view token);

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
  void stop();   // closes the listener and every connection; `admin` is not called afterwards

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
// the connect, the write and the read each.
control_call_result call_control(const net::host_port& where, const nlohmann::json& request,
                                 net::milliseconds timeout = net::milliseconds(5000));

}  // namespace rdp::sim
