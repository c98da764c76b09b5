#pragma once
// rdpsim's session table as a pure module: which session a logon lands in, what becomes of a session when its
// connection ends, how each ending looks on the wire, and when Disc sessions expire. No Asio and no clock: the
// caller passes the time in (`now`), names connections by their number (rdp-tcp#N) and carries out what the table
// decides — ending a replaced connection, arming the expiry timer. connection_owner.cpp and server_admin.cpp are that
// caller; the unit tests (tests/unit_sim) drive it with made-up times and deterministic random bits.
#include "rdp/protocol/activation.hpp"
#include "rdp/protocol/errinfo.hpp"
#include "rdp/protocol/mcs.hpp"
#include "rdp/protocol/server_sequence.hpp"
#include "rdp/sim/sessions.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace rdp::sim {

// How the server ends a connection, and what happens to its session (docs/session-drops.md has the wire
// sequence of each and the MS-RDPBCGR section it follows).
enum class termination {
  none,                 // the client went away, broke the sequence or was cut off; session kept (Disc) if logged on
  logoff_by_admin,      // ERRINFO_RPC_INITIATED_LOGOFF, DPU rn-provider-initiated, close; session deleted
  disconnect_by_admin,  // ERRINFO_RPC_INITIATED_DISCONNECT, DPU rn-provider-initiated, close; session kept (Disc)
  reset,                // TCP RST, no PDU; session deleted
  replaced,             // ERRINFO_DISCONNECTED_BY_OTHERCONNECTION, DPU; the session lives on with the new connection
  idle_timeout,         // ERRINFO_IDLE_TIMEOUT, DPU; session kept (Disc)
  active_limit,         // ERRINFO_LOGON_TIMEOUT (the active session limit), DPU; session kept (Disc)
  service_stop,         // close, no PDU (the service process is gone); session deleted
  network_drop,         // TCP RST, no PDU; session kept (Disc): the network lost the flow, not the server
};

// What goes on the wire when a connection ends — Set Error Info (2.2.5.1.1) when set and the client supports it, the
// MCS Disconnect Provider Ultimatum (T.125 11.14) when set, then a graceful close, a reset or an abrupt close — is the
// server state machine's own vocabulary (protocol/server_sequence.hpp), so a teardown the table decides is handed to
// the machine as it is (server_sequence::request_end).
using teardown = protocol::teardown;
using close_style = protocol::sequence::close_style;

// How `t` looks on the wire; termination::none has nothing to send (the client is gone).
teardown teardown_for(termination t) noexcept;

// A lab account. With CredSSP (NLA) the password is checked by the NTLMv2 exchange and the state and remote-logon
// right are answered as Windows answers them (protocol/credssp_server.hpp, docs/nla.md); over TLS the Client Info's
// credentials are compared with user, domain and password.
struct user_account {
  std::string user, domain, password;
  protocol::account_state state = protocol::account_state::enabled;
  bool remote_logon = true;  // "Allow log on through Remote Desktop Services"
};

enum class stale_cookie_answer { fresh_logon, refuse };

// rdp-tcp#N: connections are named by the number the listener gave them at accept.
using connection_number = std::uint64_t;
// ArcRandomBits (MS-RDPBCGR 2.2.4.2), the key of an auto-reconnect cookie's SecurityVerifier.
using arc_random_bits = std::array<std::uint8_t, 16>;

// SecurityVerifier = HMAC-MD5(key = ArcRandomBits, data = client random), MS-RDPBCGR 5.5. Under TLS there is no
// client random; Windows and FreeRDP use 32 zero bytes, and so does this. Throws std::runtime_error if OpenSSL fails.
std::array<std::uint8_t, 16> arc_security_verifier(const arc_random_bits& random_bits);

struct session_entry {
  std::uint32_t id = 0;
  std::string user, domain;
  session_state state = session_state::connected;
  std::optional<connection_number> connection;  // nullopt while disconnected
  std::chrono::system_clock::time_point logon_time{};
  std::chrono::steady_clock::time_point idle_since{};  // what `query user` shows while disconnected
  // When it last became Disc: the disconnected-session limit counts from here. Kept apart from idle_since, which need
  // not stay tied to the moment of disconnection.
  std::chrono::steady_clock::time_point disconnected_since{};
  // The current auto-reconnect cookie's ArcRandomBits: random from the session's creation and fresh at every logon
  // into it, never a value a client could guess. `cookie_issued` says whether they were ever sent to a client (Save
  // Session Info, 2.2.4.2); until they are, no cookie resumes the session, whatever it proves.
  arc_random_bits arc_random{};
  bool cookie_issued = false;
  // A logon into it completed (Save Session Info went out, `logged_on`). Only such a session is kept (Disc) when its
  // connection ends without a logoff; one whose logon never completed has no desktop to go back to and is gone, as a
  // Windows host ends a session still at its logon screen.
  bool logged_on = false;
};

// What the table counts; the server reports them in server_counters.
struct session_counters {
  std::uint64_t reconnected = 0;           // auto-reconnect cookies honoured
  std::uint64_t stale_cookies = 0;         // cookies for sessions that no longer exist (or never issued, or wrong)
  std::uint64_t logon_failures = 0;        // credentials refused
  std::uint64_t session_table_full = 0;    // logons refused: the table held max_session_table sessions
  std::uint64_t disconnected_expired = 0;  // sessions logged off by the disconnected-session limit
};

// The parts of server_config a logon is decided by.
struct logon_rules {
  std::span<const user_account> users;  // empty: any credentials are accepted (xrdp's behaviour)
  session_policy policy;
  stale_cookie_answer stale_cookie = stale_cookie_answer::fresh_logon;
  std::uint32_t stale_cookie_error = protocol::errinfo::server_denied_connection;  // when refused
  std::size_t max_session_table = 4096;  // the simulator's own bound, whatever policy.max_sessions says
};

struct logon_outcome {
  std::optional<std::uint32_t> denied;  // errorInfo to refuse the logon with; no session is bound then
  std::uint32_t session_id = 0;         // the session the connection is now bound to (when not denied)
  bool resumed = false;                 // an existing session (by cookie, or by user under single_session)
  bool stale_cookie = false;            // a cookie was presented and did not resume anything
  bool table_full = false;              // denied because of max_session_table (the owner logs it)
  // The connection that held the session until now: the owner ends it with termination::replaced.
  std::optional<connection_number> replaced;
};

// The table side of an admin action on session `id`: whether it exists (and, for disconnect and drop, is
// connected), and the connection the owner is to end.
struct admin_target {
  admin_result result;
  std::optional<connection_number> connection;
};

// What the table needs to know of a live connection to show it in `query session` / `query user`.
struct connection_view {
  std::string client_address;
  std::chrono::steady_clock::time_point last_input{};
};

class session_table {
 public:
  using random_source = std::function<arc_random_bits()>;
  using cookie_check = std::function<bool(const arc_random_bits&, const std::array<std::uint8_t, 16>& verifier)>;

  // `random` makes every ArcRandomBits (rdpsim: OpenSSL's CSPRNG); `check` verifies a presented cookie, by default
  // with arc_security_verifier in constant time.
  explicit session_table(random_source random, cookie_check check = {});

  // Picks (or makes) the session connection `conn`'s logon lands in, applying the rules, and binds it to `conn`.
  // `logon_time` is what `query user` will show for a new session. Throws what `random` throws.
  logon_outcome choose(connection_number conn, const protocol::activation::client_info& info,
                       const logon_rules& rules, std::chrono::system_clock::time_point logon_time);

  // What happens to `conn`'s session when the connection ends the way `t` says: deleted (logoff, reset, service
  // stop), handed over (replaced), or else Disc from `now` — the disconnected-session limit counts from there — when it
  // was ever logged on, and deleted when not. Returns true when the session became Disc (its expiry may now be due:
  // call expire).
  bool settle(connection_number conn, termination t, std::chrono::steady_clock::time_point now);

  // The logon into `conn`'s session completes (Save Session Info, 2.2.4.2): fresh ArcRandomBits, issued when the
  // client takes a cookie, so the one an earlier connection held is stale from now on. Null if `conn` holds no session.
  const session_entry* renew_cookie(connection_number conn, bool issued);
  // The client holds its cookie: the session shows as Active, and is logged on from now on.
  void mark_active(connection_number conn);

  // Logs off (deletes) every Disc session that has been Disc for `limit` at `now`, and returns when the next one
  // will be due; nullopt when none will (no limit, or no Disc session).
  std::optional<std::chrono::steady_clock::time_point> expire(std::chrono::steady_clock::time_point now,
                                                              std::optional<std::chrono::milliseconds> limit);

  // The session `conn` is bound to, or null when the table no longer has it for this connection (an admin logged it
  // off, or another connection took it over).
  const session_entry* bound(connection_number conn) const;
  const session_entry* find(std::uint32_t id) const;
  std::size_t size() const noexcept { return sessions_.size(); }

  // `query session` rows, sorted by id, without the Listen row; `connection` describes each bound connection.
  std::vector<session_info> query(std::chrono::steady_clock::time_point now,
                                  const std::function<connection_view(connection_number)>& connection) const;

  // logoff and reset: the session is deleted from the table at once; the wire sequence on its connection follows.
  admin_target remove(std::uint32_t id);
  // disconnect and drop-connection: the session must be connected; the table changes when the connection ends.
  admin_target connected(std::uint32_t id) const;
  // A service restart that ends the sessions: every session dies with the service.
  void clear() noexcept;
  // A service restart that keeps the sessions: every connection is gone, as settle(conn, termination::none, now) says
  // for each — a logged-on session is Disc from `now`, one never logged on is gone. Returns true when any became Disc.
  bool disconnect_all(std::chrono::steady_clock::time_point now);

  const session_counters& counters() const noexcept { return counters_; }

 private:
  session_entry* bound_entry(connection_number conn);
  void unbind(connection_number conn);

  random_source random_;
  cookie_check check_;
  std::map<std::uint32_t, session_entry> sessions_;
  std::map<connection_number, std::uint32_t> by_connection_;  // each session's connection, so lookups stay O(log n)
  std::uint32_t next_id_ = 2;  // 0 is services and 1 the console on Windows
  session_counters counters_;
};

}  // namespace rdp::sim
