#pragma once
// The simulated server's session table and the administrator's view of it: what Windows' `query session` /
// `query user` show, and the actions `logoff`, `reset session`, `tsdiscon`, a service restart and the Remote
// Desktop session policies. The server implements `session_admin`; the control interface (control.hpp) calls it.
// Everything here runs on the server's executor: callers are never on another thread.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rdp::sim {

// Windows' WTS_CONNECTSTATE_CLASS values that a simulated RDP-Tcp listener can be in.
enum class session_state {
  active,        // a client is connected and logged on
  connected,     // a client is connected, logon not finished (Windows: "Conn")
  disconnected,  // logged on, no client connected; can be resumed (Windows: "Disc")
  listen,        // the listener pseudo-session ("rdp-tcp", ID 65536)
};
std::string_view to_string(session_state s) noexcept;  // "Active", "Conn", "Disc", "Listen" (query session's words)

struct session_info {
  std::uint32_t id = 0;             // session ID, 2.. for RDP sessions (0 is services, 1 the console on Windows)
  std::string name;                 // "rdp-tcp#N" while a client is connected, empty when disconnected
  std::string user;                 // empty until logon
  std::string domain;
  session_state state = session_state::connected;
  std::string client_address;       // "127.0.0.1:51234" of the connected client, empty when disconnected
  std::optional<std::chrono::system_clock::time_point> logon_time;
  std::chrono::milliseconds idle{0};  // since the client last sent anything
};

// The Remote Desktop policies an administrator changes with `rdpsim ctl policy …` (Windows: Group Policy
// "Restrict Remote Desktop Services users to a single Remote Desktop Services session", "Limit number of
// connections", "Set time limit for active but idle sessions", the logon timeout, and "Set time limit for
// disconnected sessions").
struct session_policy {
  bool single_session = true;                       // Windows' default: a user's new logon takes over the old session
  std::optional<std::uint32_t> max_sessions;        // nullopt = unlimited
  // The limits are milliseconds although profiles and the control interface set them in whole seconds: the scenario
  // runner scales them by its time scale (62 s at 0.05 is 3.1 s) and they must keep that precision, or a limit and a
  // proxy timeout scaled to the millisecond could swap order (docs/profiles.md, "Time").
  std::optional<std::chrono::milliseconds> idle_limit;     // nullopt = never
  std::optional<std::chrono::milliseconds> logon_timeout;  // nullopt = never
  // A session Disc this long is logged off (deleted), so its auto-reconnect cookie is stale from then on. Counted
  // from when it became Disc, also for sessions already Disc when the limit is set. nullopt = never (Windows' default).
  std::optional<std::chrono::milliseconds> disconnected_limit;
};
// The bounds of a session_policy: one rule for the profile, the control interface and session_admin::set_policy
// (validate). At least one session (a host that takes none is refused, not simulated), time limits of at least a
// millisecond (0 would mean "never" in Group Policy; here "never" is nullopt). Profiles and the control interface
// take whole seconds from 1; only a time scale makes a limit shorter than a second.
inline constexpr std::uint32_t max_max_sessions = 1000000;
inline constexpr std::chrono::seconds max_time_limit{86400 * 365};   // idle and active-session limits: a year
inline constexpr std::chrono::seconds max_disconnected_limit{86400};  // the disconnected-session limit: a day

// What is wrong with `policy`, as a user reads it ("max_sessions must be a whole number from 1 to 1000000, not 0"),
// or empty when nothing is.
std::string validate(const session_policy& policy);

// What a restart of the Remote Desktop service does to the sessions (docs/session-drops.md, "Service restart"):
// `keep` — the connections end, the sessions stay in the session manager as Disc and can be resumed once the service is
// back (the shipped Windows Server profiles: the Local Session Manager, not TermService, owns the sessions — MS-TSTS
// 1.3; that they survive is derived from this, not observed); `end` — every session dies with the service and every
// auto-reconnect cookie is stale (a host whose restart logs everyone off, the xrdp-like profile).
enum class restart_sessions { keep, end };
std::string_view to_string(restart_sessions s) noexcept;                         // "keep", "end"
std::optional<restart_sessions> restart_sessions_from_word(std::string_view word) noexcept;

// The outcome of an admin action: ok, or why not (e.g. "no session 7"). The action's wire effects happen
// asynchronously after it returns, as on Windows, where `logoff 3` returns before the client has seen the PDUs.
struct admin_result {
  bool ok = true;
  std::string error;
  static admin_result failure(std::string why) { return {false, std::move(why)}; }
};

class session_admin {
 public:
  virtual ~session_admin() = default;
  virtual std::vector<session_info> query_sessions() const = 0;  // sorted by id; includes the Listen row
  virtual admin_result logoff(std::uint32_t id) = 0;             // LOGOFF_BY_USER-style end by the admin
  virtual admin_result reset(std::uint32_t id) = 0;              // `reset session ID`: ends it at once
  virtual admin_result disconnect(std::uint32_t id) = 0;         // `tsdiscon ID`: session stays, Disc
  // Every connection dropped, the listener closed for `down`, then listening again; the sessions kept or ended as the
  // server's profile says (restart_sessions). Milliseconds, so that a scaled downtime (5 s at 0.05 is 250 ms) is kept
  // as it is.
  virtual admin_result restart_service(std::chrono::milliseconds down) = 0;
  // The same restart with the sessions kept or ended whatever the profile says. A server that cannot do both refuses.
  virtual admin_result restart_service(std::chrono::milliseconds down, restart_sessions sessions) {
    (void)down;
    return admin_result::failure("a restart that " + std::string(sessions == restart_sessions::keep ? "keeps" : "ends") +
                                 " the sessions is not supported here");
  }
  // Not an admin action but what the network does: the connection is reset and the server keeps the session
  // (Disc), as when a NAT or firewall drops the flow. Scenarios and tests use it; a server without it refuses.
  virtual admin_result drop_connection(std::uint32_t id) {
    return admin_result::failure("dropping session " + std::to_string(id) + "'s connection is not supported here");
  }
  virtual session_policy policy() const = 0;
  virtual admin_result set_policy(const session_policy& policy) = 0;
};

}  // namespace rdp::sim
