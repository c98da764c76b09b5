#pragma once
// What rdpsim's three parts share: the listener (server.cpp), the connection owner (connection_owner.cpp: one
// protocol::server_sequence per connection, its notices turned into counters and session-table decisions) and the
// administrator's interface (server_admin.cpp). The server's state, the session table (session_table.hpp, pure) and
// one record per live connection, keyed by its number. Everything is touched only on the server's executor (one
// thread).
#include "rdp/net/engine.hpp"
#include "rdp/protocol/server_sequence.hpp"
#include "rdp/sim/server.hpp"
#include "rdp/sim/session_table.hpp"

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace rdp::sim {

namespace asio = net::asio;

// One accepted connection: its socket, the state machine that runs its connection sequence and session, and what the
// owner keeps beside it. The machine decides everything on the wire; the record only says who the connection is and
// carries the owner's requests to it.
struct connection_record {
  connection_number number = 0;  // rdp-tcp#N
  net::tcp::socket socket;
  std::string client_address;
  net::clock::time_point accepted_at = net::clock::now();
  protocol::server_sequence machine;
  // Ends the machine's wait in the active session, so an admin request or a new policy is seen at once.
  net::wake_signal wake;
  termination pending = termination::none;  // the first end the owner asked for (request)
  // The pre-logon deadline, one for the whole connection: set at accept for server_config::prelogon_timeout, it
  // closes the socket unless the session became active first (then it is cancelled). Every read and write before
  // that — X.224, TLS, CredSSP, MCS, Client Info, finalization, and the hold of a probe's connection — ends with it,
  // however the client paces its bytes.
  asio::steady_timer logon_watchdog;
  bool tls_completed = false;
  bool activated = false;
  std::string user;                         // the Client Info's, once the logon was decided (session_event)
  std::optional<std::uint32_t> session_id;  // the session the logon landed in

  connection_record(net::tcp::socket s, protocol::server_sequence_options options)
      : socket(std::move(s)),
        machine(std::move(options)),
        wake(socket.get_executor()),
        logon_watchdog(socket.get_executor()) {}

  // Ends the connection the way `t` says (teardown_for): the machine carries it out at once if the session is active,
  // else once it is. Only the first request counts.
  void request(termination t) {
    if (t == termination::none || pending != termination::none) return;
    pending = t;
    machine.request_end(teardown_for(t));
    wake.wake();
  }
  // When the client last sent anything the session counts as input: since activation, the machine's; before, the
  // accept (what `query session` shows as idle time).
  net::clock::time_point last_input() const noexcept { return activated ? machine.last_input() : accepted_at; }
};

// The resource limits of server_config that a client can run into, counted in server_counters and logged.
enum class limit_kind { connections, prelogon, session_table };

class server_admin;  // server_admin.hpp

// ArcRandomBits from OpenSSL's CSPRNG (the table's random source). Throws std::runtime_error if it fails.
arc_random_bits fresh_random_bits();

struct server::state : std::enable_shared_from_this<server::state> {
  server_config config;
  asio::any_io_executor executor;
  net::tcp::endpoint bound;  // where the listener is (kept for restart-service)
  net::tcp::acceptor acceptor;
  std::optional<asio::ssl::context> tls_context;
  // The certificate's SubjectPublicKey, which a CredSSP client binds its logon to (MS-CSSP 3.1.5).
  protocol::byte_buffer tls_public_key;
  // The profile's users as CredSSP accounts, made once and shared by every connection's machine.
  protocol::account_list nla_accounts;
  server_counters counters;
  // Every live connection by its number, so stop() and restart end them all and the table's decisions (a replaced
  // connection, an admin action) reach the one they name.
  std::map<connection_number, std::shared_ptr<connection_record>> live;
  session_table table{fresh_random_bits};
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

// ---- The connection owner (connection_owner.cpp) ----------------------------------------------------------------

// The machine for a connection accepted now, configured from st.config (its current session policy included).
protocol::server_sequence_options sequence_options(const server::state& st);
// Runs `conn`'s machine on net::sequence_engine from accept to close, acting on its notices; whatever ends it, the
// socket is closed, the pre-logon deadline cancelled and the record leaves st->live.
asio::awaitable<void> run_connection(std::shared_ptr<server::state> st, std::shared_ptr<connection_record> conn);

// ---- The listener (server.cpp) ----------------------------------------------------------------------------------

// Starts accepting on st->acceptor (used at start and when a restarted service comes back).
void start_accepting(std::shared_ptr<server::state> st);
// Binds and listens on st->bound (net::open_listener); throws std::runtime_error naming the address.
void open_listener(server::state& st);
// Counts one hit of `kind` in st.counters (the session table counts its own) and says so on stderr: the first time,
// then at most once a second per limit (a flood must not become a flood of log lines), with the count so far.
void note_limit(server::state& st, limit_kind kind);

// ---- The administrator's interface (server_admin.cpp) -----------------------------------------------------------

// The admin interface over `st`, which owns it (server_admin.hpp declares it).
session_admin& admin_of(server::state& st);
// Logs off every Disc session that has reached the disconnected-session limit, then sets st.disconnected_expiry for
// the next one (or cancels it: no limit, no Disc session, or the server stopping). Call whenever that moment may
// have moved: a session became Disc, the policy changed, the table was cleared, the server stopped. A session
// resumed meanwhile needs no call: it is not Disc when the timer fires.
void expire_disconnected(server::state& st);

}  // namespace rdp::sim
