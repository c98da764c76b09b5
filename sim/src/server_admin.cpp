// The administrator's interface (server_admin.hpp) and the disconnected-session expiry: admin actions become the
// session table's decisions plus a teardown request to the connection's state machine (request_end, then a wake), a
// new policy becomes new limits for every live machine (set_limits, then a wake).
#include "server_admin.hpp"

#include "rdp/net/errors.hpp"

#include <iostream>

namespace rdp::sim {

using net::error_code;

std::vector<session_info> server_admin::query_sessions() const {
  auto rows = st_.table.query(net::clock::now(), [this](connection_number n) {
    const auto it = st_.live.find(n);
    if (it == st_.live.end()) return connection_view{};  // cannot happen: a connection leaves the table first
    return connection_view{it->second->client_address, it->second->last_input()};
  });
  if (st_.listening && !st_.stopped) {
    session_info listener;
    listener.id = 65536;
    listener.name = "rdp-tcp";
    listener.state = session_state::listen;
    rows.push_back(std::move(listener));
  }
  return rows;
}

admin_result server_admin::logoff(std::uint32_t id) { return request(st_.table.remove(id), termination::logoff_by_admin); }

admin_result server_admin::reset(std::uint32_t id) { return request(st_.table.remove(id), termination::reset); }

admin_result server_admin::disconnect(std::uint32_t id) {
  return request(st_.table.connected(id), termination::disconnect_by_admin);
}

admin_result server_admin::drop_connection(std::uint32_t id) {
  return request(st_.table.connected(id), termination::network_drop);
}

admin_result server_admin::restart_service(std::chrono::milliseconds down) {
  return restart_service(down, st_.config.restart);
}

admin_result server_admin::restart_service(std::chrono::milliseconds down, restart_sessions sessions) {
  if (st_.stopped) return admin_result::failure("the server is stopping");
  if (!st_.listening) return admin_result::failure("the service is already stopped");
  st_.listening = false;
  error_code ignored;
  st_.acceptor.close(ignored);
  // Decided here and now, so `query session` right after the restart already shows it (docs/session-drops.md,
  // "Service restart"): `end` — the sessions die with the service; `keep` — every connection is gone, so a logged-on
  // session is Disc from now (its disconnected-session limit counts from here, also while the service is down) and one
  // still logging on is gone.
  if (sessions == restart_sessions::end) st_.table.clear();
  else st_.table.disconnect_all(net::clock::now());
  expire_disconnected(st_);
  // The service process is gone: no PDU, the sockets simply close. Closing one ends whatever its machine waits for;
  // the table no longer binds it to a session, so its settle changes nothing.
  for (const auto& [number, conn] : st_.live) {
    conn->pending = termination::service_stop;
    conn->socket.close(ignored);
  }
  auto timer = std::make_shared<asio::steady_timer>(st_.executor, down);
  auto* st = &st_;
  auto keep = st_.weak_from_this();
  timer->async_wait([timer, st, keep](const error_code&) {
    auto alive = keep.lock();
    if (!alive || st->stopped) return;
    try {
      open_listener(*st);
      start_accepting(alive);
    } catch (const std::exception& e) {
      std::cerr << e.what() << " (after restart-service)\n";
    }
  });
  return {};
}

session_policy server_admin::policy() const { return st_.config.sessions; }

admin_result server_admin::set_policy(const session_policy& policy) {
  if (auto problem = validate(policy); !problem.empty()) return admin_result::failure(std::move(problem));
  st_.config.sessions = policy;
  // Active sessions re-evaluate their limits now (a machine not yet active takes them when it is).
  const auto options = sequence_options(st_);
  for (const auto& [number, conn] : st_.live) {
    conn->machine.set_limits(options.idle_limit, options.active_limit);
    conn->wake.wake();
  }
  // Disc sessions too, here and now: those already Disc for longer than a new limit are gone when this returns.
  expire_disconnected(st_);
  return {};
}

admin_result server_admin::request(const admin_target& target, termination how) {
  if (!target.result.ok || !target.connection) return target.result;
  if (const auto it = st_.live.find(*target.connection); it != st_.live.end()) it->second->request(how);
  return target.result;
}

void expire_disconnected(server::state& st) {
  std::optional<net::clock::time_point> next;
  if (!st.stopped) next = st.table.expire(net::clock::now(), st.config.sessions.disconnected_limit);
  if (!next) {
    st.disconnected_expiry.cancel();
    return;
  }
  // Setting the expiry cancels the wait already pending. A wait that completed but whose handler has not run yet
  // still runs it; that is harmless, because every run recomputes from the table.
  st.disconnected_expiry.expires_at(*next);
  st.disconnected_expiry.async_wait([keep = st.weak_from_this()](const error_code& ec) {
    if (ec == asio::error::operation_aborted) return;
    if (auto alive = keep.lock()) expire_disconnected(*alive);
  });
}

session_admin& admin_of(server::state& st) { return *st.admin; }

}  // namespace rdp::sim
