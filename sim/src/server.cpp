// rdpsim's RDP listener: the server's life (start, stop, restart's listener), the accept loop with its connection
// limit, and the limits' log lines. Each accepted connection is handed to its owner (connection_owner.cpp).
#include "rdp/sim/server.hpp"

#include "server_admin.hpp"
#include "server_state.hpp"

#include "rdp/net/errors.hpp"
#include "rdp/net/listen.hpp"
#include "rdp/net/spawn.hpp"
#include "rdp/sim/standard_security_keys.hpp"

#include <iostream>
#include <stdexcept>

namespace rdp::sim {

namespace asio = net::asio;
using net::error_code;
using net::tcp;

namespace {

asio::awaitable<void> accept_loop(std::shared_ptr<server::state> st) {
  for (;;) {
    tcp::socket socket(st->executor);
    auto [ec] = co_await st->acceptor.async_accept(socket, net::use_tuple);
    if (st->stopped || !st->listening || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // EMFILE and friends: wait a little rather than spinning on the error.
      asio::steady_timer pause(st->executor, net::milliseconds(50));
      co_await pause.async_wait(net::use_tuple);
      continue;
    }
    ++st->counters.accepted;
    if (st->config.after_accept) st->config.after_accept();
    error_code ignored;
    if (st->live.size() >= st->config.max_connections) {
      // Closed before anything is read or sent: holding it would be what the limit is there to prevent.
      note_limit(*st, limit_kind::connections);
      socket.close(ignored);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ignored);
    if (st->config.tcp_keepalive) socket.set_option(asio::socket_base::keep_alive(true), ignored);
    const auto peer = socket.remote_endpoint(ignored);
    auto conn = std::make_shared<connection_record>(std::move(socket), sequence_options(*st));
    conn->number = st->next_connection_number++;
    if (!ignored) conn->client_address = net::host_port{peer.address().to_string(), peer.port()}.text();
    st->live.emplace(conn->number, conn);  // here, not in the coroutine: the limit above counts it from now on
    net::spawn(st->executor, run_connection(st, conn), "rdpsim: connection rdp-tcp#" + std::to_string(conn->number));
  }
}

constexpr net::milliseconds accept_restart_pause{100};

}  // namespace

// The accept loop ends when the server stops or the service is restarted (the listener closes). If it ends otherwise
// — an exception, which is a bug — that is said on stderr, counted, and accepting starts again after a pause: the
// simulator must not go on running deaf without a word, and its sessions are still good (docs/profiles.md).
void start_accepting(std::shared_ptr<server::state> st) {
  const auto executor = st->executor;
  net::spawn(executor, accept_loop(st), "rdpsim: accept loop", [weak = std::weak_ptr(st)](std::exception_ptr e) {
    auto alive = weak.lock();
    if (!alive || alive->stopped || !alive->listening || !e) return;
    ++alive->counters.accept_loop_restarts;
    std::cerr << "rdpsim: the RDP listener stopped accepting connections unexpectedly; accepting again in "
              << accept_restart_pause.count() << " ms\n";
    auto timer = std::make_shared<asio::steady_timer>(alive->executor, accept_restart_pause);
    timer->async_wait([timer, weak](const error_code&) {
      auto again = weak.lock();
      if (again && !again->stopped && again->listening) start_accepting(again);
    });
  });
}

void note_limit(server::state& st, limit_kind kind) {
  std::uint64_t count = 0;
  const char* what = "";
  switch (kind) {
    case limit_kind::connections:
      count = ++st.counters.connections_over_limit;
      what = "connection limit reached (max_connections ";
      break;
    case limit_kind::prelogon:
      count = ++st.counters.prelogon_timeouts;
      what = "a connection did not log on in time and was closed (prelogon_timeout_ms ";
      break;
    case limit_kind::session_table:
      count = st.table.counters().session_table_full;  // the table counted it (session_table::choose)
      what = "session table full, a logon was refused (max_session_table ";
      break;
  }
  auto& last = st.limit_logged[static_cast<std::size_t>(kind)];
  const auto now = net::clock::now();
  if (last && now - *last < std::chrono::seconds(1)) return;
  last = now;
  const auto setting = kind == limit_kind::connections ? std::to_string(st.config.max_connections)
                       : kind == limit_kind::prelogon  ? std::to_string(st.config.prelogon_timeout.count())
                                                       : std::to_string(st.config.max_session_table);
  std::cerr << "rdpsim: " << what << setting << "); " << count << " so far\n";
}

void open_listener(server::state& st) {
  net::listen_options options;
  options.reuse_port = st.config.reuse_port;
  st.acceptor = net::open_listener(st.executor, st.bound, "rdpsim", options);
  st.bound = st.acceptor.local_endpoint();  // port 0 becomes the port picked
  st.listening = true;
}

server::state::state(asio::any_io_executor ex, server_config c)
    : config(std::move(c)),
      executor(ex),
      acceptor(ex),
      disconnected_expiry(ex),
      admin(std::make_unique<server_admin>(*this)) {}

server::state::~state() = default;

server::server(asio::any_io_executor executor, server_config config)
    : state_(std::make_shared<state>(executor, std::move(config))) {
  auto& st = *state_;
  const bool needs_tls = st.config.policy.supported != 0;
  if (needs_tls) {
    if (st.config.identity.certificate_pem.empty())
      throw std::runtime_error("rdpsim: TLS-based protocols are enabled but no certificate was given or generated");
    st.tls_context.emplace(net::make_server_context(st.config.identity));
    st.tls_public_key = net::subject_public_key(st.config.identity);
    std::vector<protocol::nla_account> accounts;
    for (const auto& u : st.config.users) accounts.push_back({u.user, u.domain, u.password, u.state, u.remote_logon});
    st.nla_accounts = std::move(accounts);
  }
  // A Windows host makes its proprietary certificate's key pair at start (5.3.3.1); so does rdpsim, once per server.
  auto& standard = st.config.standard_security;
  if (standard.encryption_level != protocol::gcc::encryption_level::none && standard.server_certificate.empty())
    standard.server_certificate = make_proprietary_identity().certificate;
  error_code ec;
  const auto address = asio::ip::make_address(st.config.listen.host, ec);
  if (ec) throw std::runtime_error("rdpsim: listen address '" + st.config.listen.host + "' is not an IP address");
  st.bound = tcp::endpoint(address, st.config.listen.port);
  open_listener(st);
}

server::~server() = default;

tcp::endpoint server::local_endpoint() const { return state_->bound; }

void server::start() { start_accepting(state_); }

void server::stop() {
  state_->stopped = true;
  expire_disconnected(*state_);  // stopped: only cancels its timer, which would otherwise keep the executor busy
  error_code ignored;
  state_->acceptor.close(ignored);
  // The server shuts down: every session ends with it (termination::service_stop), none is left Disc. Closing a socket
  // ends whatever its machine waits for.
  for (const auto& [number, conn] : state_->live) {
    conn->pending = termination::service_stop;
    conn->socket.close(ignored);
  }
}

// The session table's counters are its own (session_table.hpp); they are copied in whenever they are read.
const server_counters& server::counters() const noexcept {
  auto& c = state_->counters;
  const auto& table = state_->table.counters();
  c.reconnected = table.reconnected;
  c.stale_cookies = table.stale_cookies;
  c.logon_failures = table.logon_failures;
  c.session_table_full = table.session_table_full;
  c.disconnected_expired = table.disconnected_expired;
  return c;
}

session_admin& server::admin() noexcept { return admin_of(*state_); }

std::string_view to_string(session_event::kind k) noexcept {
  switch (k) {
    case session_event::kind::logon_accepted: return "logon-accepted";
    case session_event::kind::logon_denied: return "logon-denied";
    case session_event::kind::active: return "active";
    case session_event::kind::session_info_sent: return "session-info-sent";
    case session_event::kind::ended: return "ended";
  }
  return "?";
}

}  // namespace rdp::sim
