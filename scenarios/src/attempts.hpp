#pragma once
// The attempts of a scenario run: what the runner learns about each logon (or scan) of a client, and the words
// judged from it (closing_words.cpp): how its connection closed, what became of a reconnection's cookie. Pure:
// the judging reads an attempt and nothing else, so a word can be unit-tested without a run.
#include "rdp/client/session.hpp"
#include "rdp/probe/login.hpp"
#include "rdp/probe/scanner.hpp"
#include "rdp/scenarios/scenario.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rdp::scenarios::running {

using std::chrono::microseconds;

// One logon (or scan) of a client, and everything the runner learns about it.
struct attempt {
  int number = 1;
  bool reconnect = false;
  microseconds started{0};
  std::optional<microseconds> active_at, ended_at;
  bool finished = false;
  bool open_at_end = false;  // still running when the scenario ended
  std::optional<client::session_result> lean;
  std::optional<probe::login_result> freerdp;
  std::optional<probe::target_report> scan;
  std::shared_ptr<client::session_control> control;
  std::shared_ptr<std::atomic<bool>> cancel = std::make_shared<std::atomic<bool>>(false);
  // From rdpsim's session events, attributed by user name: the server's view of this attempt.
  std::optional<std::uint64_t> server_connection;
  std::string server_peer;  // "127.0.0.1:PORT" as rdpsim saw it (the proxy's upstream socket, through the proxy)
  std::optional<std::uint32_t> server_session;
  bool stale_cookie = false;
  std::optional<std::uint32_t> previous_session;  // reconnect: the session of the attempt whose cookie it presented
};

struct client_state {
  const client_spec* spec = nullptr;
  std::vector<attempt> attempts;  // std::vector: attempts are only appended on the io thread; indexes stay valid
  std::optional<protocol::activation::arc_server_cookie> lean_cookie;
  std::optional<probe::auto_reconnect_cookie> freerdp_cookie;
  std::optional<std::uint32_t> cookie_session;  // the session whose cookie that is
};

// The closing word of an attempt, from what its socket saw (docs/scenarios.md, "Closing words").
close_kind closed_of(const attempt& a);
// What became of a reconnection's cookie (honoured, same-session, new-session, refused).
reconnect_outcome reconnect_of(const attempt& a);
// The session the attempt logged on to: the client's own view first, rdpsim's otherwise.
std::optional<std::uint32_t> session_seen(const attempt& a);
bool was_active(const attempt& a);

// An errorInfo code in hex with its name (protocol/errinfo.hpp), and a DPU's T.125 reason by name with its number.
std::string error_info_text(std::uint32_t code);
std::string dpu_reason_text(std::uint32_t code);

}  // namespace rdp::scenarios::running
