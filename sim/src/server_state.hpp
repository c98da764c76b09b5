#pragma once
// What the listener (server.cpp) and the session host (session_host.cpp) share: the server's state, the session
// table (session_table.hpp, pure) and one record per live connection, keyed by its number. Everything is touched
// only on the server's executor (one thread).
#include "rdp/net/frame_reader.hpp"
#include "rdp/protocol/activation.hpp"
#include "rdp/sim/server.hpp"
#include "rdp/sim/session_table.hpp"

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace rdp::sim {

namespace asio = net::asio;

struct connection_record {
  std::uint64_t number = 0;  // rdp-tcp#N
  std::shared_ptr<net::tcp::socket> socket;
  std::string client_address;
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

// The resource limits of server_config that a client can run into, counted in server_counters and logged.
enum class limit_kind { connections, prelogon, session_table };

class server_admin;

// ArcRandomBits from OpenSSL's CSPRNG (the table's random source). Throws std::runtime_error if it fails.
arc_random_bits fresh_random_bits();

struct server::state : std::enable_shared_from_this<server::state> {
  server_config config;
  asio::any_io_executor executor;
  net::tcp::endpoint bound;  // where the listener is (kept for restart-service)
  net::tcp::acceptor acceptor;
  std::optional<asio::ssl::context> tls_context;
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

// Counts one hit of `kind` in st.counters (the session table counts its own) and says so on stderr: the first time,
// then at most once a second per limit (a flood must not become a flood of log lines), with the count so far.
void note_limit(server::state& st, limit_kind kind);


// The admin interface over `st`, which owns it.
session_admin& admin_of(server::state& st);

}  // namespace rdp::sim
