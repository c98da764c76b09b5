#pragma once
// What the listener (server.cpp) and the session host (session_host.cpp) share: the server's state, the session
// table and one record per live connection. Everything is touched only on the server's executor (one thread).
#include "rdp/net/frame_reader.hpp"
#include "rdp/protocol/activation.hpp"
#include "rdp/sim/server.hpp"

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace rdp::sim {

namespace asio = net::asio;

// How the server ends a connection, and what happens to its session (docs/session-drops.md has the wire
// sequence of each and the MS-RDPBCGR section it follows).
enum class termination {
  none,
  logoff_by_admin,      // ERRINFO_RPC_INITIATED_LOGOFF, DPU rn-provider-initiated, close; session deleted
  disconnect_by_admin,  // ERRINFO_RPC_INITIATED_DISCONNECT, DPU rn-provider-initiated, close; session kept (Disc)
  reset,                // TCP RST, no PDU; session deleted
  replaced,             // ERRINFO_DISCONNECTED_BY_OTHERCONNECTION, DPU; the session lives on with the new connection
  idle_timeout,         // ERRINFO_IDLE_TIMEOUT, DPU; session kept (Disc)
  active_limit,         // ERRINFO_LOGON_TIMEOUT (the active session limit), DPU; session kept (Disc)
  service_stop,         // close, no PDU (the service process is gone); session deleted
  network_drop,         // TCP RST, no PDU; session kept (Disc): the network lost the flow, not the server
};

struct connection_record {
  std::uint64_t number = 0;  // rdp-tcp#N
  std::shared_ptr<net::tcp::socket> socket;
  std::string client_address;
  std::optional<std::uint32_t> session_id;  // once logged on
  net::clock::time_point last_input = net::clock::now();
  net::clock::time_point activated_at = net::clock::now();
  termination pending = termination::none;
  asio::steady_timer wake;  // the active loop sleeps on it; admin actions cancel it to be seen at once
  // The pre-logon deadline, one for the whole connection: set at accept for server_config::prelogon_timeout, it
  // closes the socket unless the session became active first (then it is cancelled). Every read and write before
  // that — X.224, TLS, CredSSP, MCS, Client Info, finalization, and the hold of a probe's connection — ends with it,
  // however the client paces its bytes.
  asio::steady_timer logon_watchdog;
  bool activated = false;

  connection_record(asio::any_io_executor executor, std::shared_ptr<net::tcp::socket> s)
      : socket(std::move(s)), wake(executor), logon_watchdog(executor) {}
  void request(termination t) {
    if (pending == termination::none) pending = t;
    wake.cancel();
  }
};

struct session_record {
  std::uint32_t id = 0;
  std::string user, domain;
  session_state state = session_state::connected;
  std::shared_ptr<connection_record> connection;  // null while disconnected
  std::chrono::system_clock::time_point logon_time = std::chrono::system_clock::now();
  net::clock::time_point idle_since = net::clock::now();
  // When it last became Disc: the disconnected-session limit counts from here. Kept apart from idle_since, which is
  // what `query user` shows and need not stay tied to the moment of disconnection.
  net::clock::time_point disconnected_since = net::clock::now();
  // The current auto-reconnect cookie's ArcRandomBits: random from the session's creation and fresh at every logon
  // into it, never a value a client could guess. `cookie_issued` says whether they were ever sent to a client (Save
  // Session Info, 2.2.4.2); until they are, no cookie resumes the session, whatever it proves.
  std::array<std::uint8_t, 16> arc_random{};
  bool cookie_issued = false;
};

// The resource limits of server_config that a client can run into, counted in server_counters and logged.
enum class limit_kind { connections, prelogon, session_table };

class server_admin;

struct server::state : std::enable_shared_from_this<server::state> {
  server_config config;
  asio::any_io_executor executor;
  net::tcp::endpoint bound;  // where the listener is (kept for restart-service)
  net::tcp::acceptor acceptor;
  std::optional<asio::ssl::context> tls_context;
  server_counters counters;
  std::set<std::shared_ptr<connection_record>> live;  // so stop() and restart end every connection
  std::map<std::uint32_t, session_record> sessions;
  std::uint32_t next_session_id = 2;  // 0 is services and 1 the console on Windows
  std::uint64_t next_connection_number = 0;
  bool stopped = false;
  bool listening = true;
  // One timer for the whole table, set for the first Disc session to reach the disconnected-session limit; idle when
  // none will, so that it never keeps the executor busy (expire_disconnected).
  asio::steady_timer disconnected_expiry;
  std::unique_ptr<server_admin> admin;
  // When each limit_kind was last logged (note_limit): at most one line a second each.
  std::array<std::optional<net::clock::time_point>, 3> limit_logged;

  state(asio::any_io_executor ex, server_config c);
  ~state();
};

// Runs the connection sequence on an established TLS stream and then the active session until it ends.
asio::awaitable<void> host_rdp_session(std::shared_ptr<server::state> st, std::shared_ptr<connection_record> conn,
                                       asio::ssl::stream<net::tcp::socket&>& tls,
                                       net::frame_reader<asio::ssl::stream<net::tcp::socket&>>& reader,
                                       protocol::mcs::connect_initial initial);

// Starts accepting on st->acceptor (used at start and when a restarted service comes back).
void start_accepting(std::shared_ptr<server::state> st);
// Binds and listens on st->bound; throws std::runtime_error naming the address.
void open_listener(server::state& st);

// Logs off every Disc session that has reached the disconnected-session limit, then sets st.disconnected_expiry for
// the next one (or cancels it: no limit, no Disc session, or the server stopping). Call whenever that moment may
// have moved: a session became Disc, the policy changed, the table was cleared, the server stopped. A session
// resumed meanwhile needs no call: it is not Disc when the timer fires.
void expire_disconnected(server::state& st);

// Counts one hit of `kind` in st.counters and says so on stderr: the first time, then at most once a second per limit
// (a flood must not become a flood of log lines), with the count so far.
void note_limit(server::state& st, limit_kind kind);

// ArcRandomBits from OpenSSL's CSPRNG. Throws std::runtime_error if it fails.
std::array<std::uint8_t, 16> fresh_random_bits();

// The admin interface over `st`, which owns it.
session_admin& admin_of(server::state& st);

}  // namespace rdp::sim
