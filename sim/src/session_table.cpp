// The session table's decisions (session_table.hpp). Pure but for the cookie's HMAC-MD5, which comes from OpenSSL.
#include "rdp/sim/session_table.hpp"

#include "rdp/protocol/errinfo.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace rdp::sim {

namespace errinfo = protocol::errinfo;
using std::chrono::steady_clock;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool credentials_accepted(std::span<const user_account> users, const protocol::activation::client_info& info) {
  if (users.empty()) return true;
  return std::any_of(users.begin(), users.end(), [&](const user_account& a) {
    return lower(a.user) == lower(info.user) && (a.domain.empty() || lower(a.domain) == lower(info.domain)) &&
           a.password == info.password;
  });
}

// Constant time, so that a client cannot learn the verifier byte by byte. A cookie that cannot be checked (OpenSSL
// failed) resumes nothing.
bool verifier_matches(const arc_random_bits& random_bits, const std::array<std::uint8_t, 16>& verifier) {
  try {
    const auto expected = arc_security_verifier(random_bits);
    return CRYPTO_memcmp(expected.data(), verifier.data(), verifier.size()) == 0;
  } catch (const std::runtime_error&) {
    return false;
  }
}

}  // namespace

teardown teardown_for(termination t) noexcept {
  using protocol::mcs::disconnect_reason;
  switch (t) {
    case termination::logoff_by_admin:
      return {errinfo::rpc_initiated_logoff, disconnect_reason::provider_initiated, close_style::graceful};
    case termination::disconnect_by_admin:
      return {errinfo::rpc_initiated_disconnect, disconnect_reason::provider_initiated, close_style::graceful};
    case termination::replaced:
      return {errinfo::disconnected_by_other_connection, disconnect_reason::provider_initiated, close_style::graceful};
    case termination::idle_timeout:
      return {errinfo::idle_timeout, disconnect_reason::provider_initiated, close_style::graceful};
    case termination::active_limit:
      return {errinfo::logon_timeout, disconnect_reason::provider_initiated, close_style::graceful};
    case termination::reset:
    case termination::network_drop: return {std::nullopt, std::nullopt, close_style::reset};
    case termination::service_stop: return {std::nullopt, std::nullopt, close_style::abrupt};
    case termination::none: break;
  }
  return {};
}

std::array<std::uint8_t, 16> arc_security_verifier(const arc_random_bits& random_bits) {
  const std::array<std::uint8_t, 32> client_random{};
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  if (!HMAC(EVP_md5(), random_bits.data(), static_cast<int>(random_bits.size()), client_random.data(),
            client_random.size(), mac.data(), &length) ||
      length != 16)
    throw std::runtime_error("HMAC-MD5 failed: no auto-reconnect cookie can be checked");
  std::array<std::uint8_t, 16> out{};
  std::copy_n(mac.begin(), out.size(), out.begin());
  return out;
}

session_table::session_table(random_source random, cookie_check check)
    : random_(std::move(random)), check_(check ? std::move(check) : cookie_check(verifier_matches)) {}

logon_outcome session_table::choose(connection_number conn, const protocol::activation::client_info& info,
                                    const logon_rules& rules, std::chrono::system_clock::time_point logon_time) {
  logon_outcome out;
  session_entry* session = nullptr;
  if (info.auto_reconnect_cookie) {
    // Only a cookie the server issued resumes a session: one that never went out in Save Session Info proves
    // nothing, whatever its verifier (its bits are random anyway, so a guess would not match either).
    auto it = sessions_.find(info.auto_reconnect_cookie->logon_id);
    if (it != sessions_.end() && it->second.cookie_issued &&
        check_(it->second.arc_random, info.auto_reconnect_cookie->security_verifier)) {
      session = &it->second;
      out.resumed = true;
      ++counters_.reconnected;
    } else {
      out.stale_cookie = true;
      ++counters_.stale_cookies;
      if (rules.stale_cookie == stale_cookie_answer::refuse) {
        out.denied = rules.stale_cookie_error;
        return out;
      }
    }
  }
  if (!session && !credentials_accepted(rules.users, info)) {
    ++counters_.logon_failures;
    out.denied = errinfo::server_insufficient_privileges;
    return out;
  }
  if (!session && rules.policy.single_session) {
    // "Restrict each user to a single session": the user's logon takes over the session they already have.
    for (auto& [id, candidate] : sessions_) {
      if (lower(candidate.user) == lower(info.user) && lower(candidate.domain) == lower(info.domain)) {
        session = &candidate;
        out.resumed = true;
        break;
      }
    }
  }
  if (!session) {
    if (rules.policy.max_sessions && sessions_.size() >= *rules.policy.max_sessions) {
      out.denied = errinfo::server_denied_connection;
      return out;
    }
    // The simulator's own bound, whatever the policy: with `users` empty every new user name is a new session.
    if (sessions_.size() >= rules.max_session_table) {
      ++counters_.session_table_full;
      out.table_full = true;
      out.denied = errinfo::server_denied_connection;
      return out;
    }
    auto bits = random_();  // before the entry exists: a failing source leaves the table as it was
    const auto id = next_id_++;
    session = &sessions_[id];
    session->id = id;
    session->arc_random = bits;
    session->user = info.user;
    session->domain = info.domain;
    session->logon_time = logon_time;
  }
  if (session->connection && *session->connection != conn) {
    out.replaced = session->connection;
    by_connection_.erase(*session->connection);
  }
  if (const auto* previous = bound(conn); previous && previous != session) unbind(conn);  // one session per connection
  session->connection = conn;
  by_connection_[conn] = session->id;
  session->state = session_state::connected;
  out.session_id = session->id;
  return out;
}

session_entry* session_table::bound_entry(connection_number conn) {
  const auto it = by_connection_.find(conn);
  return it == by_connection_.end() ? nullptr : &sessions_.at(it->second);
}

const session_entry* session_table::bound(connection_number conn) const {
  const auto it = by_connection_.find(conn);
  return it == by_connection_.end() ? nullptr : &sessions_.at(it->second);
}

const session_entry* session_table::find(std::uint32_t id) const {
  const auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : &it->second;
}

bool session_table::settle(connection_number conn, termination t, steady_clock::time_point now) {
  auto* session = bound_entry(conn);
  if (!session) return false;  // admin actions that delete a session have already removed it
  switch (t) {
    case termination::logoff_by_admin:
    case termination::reset:
    case termination::service_stop:
      by_connection_.erase(conn);
      sessions_.erase(session->id);
      return false;
    case termination::replaced: return false;  // the session belongs to the new connection now
    case termination::none:
    case termination::network_drop:
    case termination::disconnect_by_admin:
    case termination::idle_timeout:
    case termination::active_limit:
      by_connection_.erase(conn);
      // A connection ended without a logoff. Windows keeps a logged-on session, Disc, until it is resumed, logged off
      // or the disconnected-session limit ends it; a session whose logon never completed (the client left during
      // licensing or finalization, or the pre-logon deadline passed) has nothing to resume and ends with its
      // connection. A resumed session that loses its connection before the logon completes again was logged on
      // before: it goes back to Disc.
      if (!session->logged_on) {
        sessions_.erase(session->id);
        return false;
      }
      session->connection.reset();
      session->state = session_state::disconnected;
      session->idle_since = session->disconnected_since = now;
      return true;
  }
  return false;
}

const session_entry* session_table::renew_cookie(connection_number conn, bool issued) {
  auto* session = bound_entry(conn);
  if (!session) return nullptr;
  // Fresh bits at every logon, issued or not: a client that does not take a cookie leaves none usable behind, and the
  // one an earlier connection held is stale from now on.
  session->arc_random = random_();
  session->cookie_issued = issued;
  return session;
}

void session_table::mark_active(connection_number conn) {
  if (auto* session = bound_entry(conn)) {
    session->state = session_state::active;
    session->logged_on = true;
  }
}

std::optional<steady_clock::time_point> session_table::expire(steady_clock::time_point now,
                                                               std::optional<std::chrono::milliseconds> limit) {
  if (!limit) return std::nullopt;
  std::optional<steady_clock::time_point> next;
  std::erase_if(sessions_, [&](const auto& entry) {
    const auto& session = entry.second;
    if (session.state != session_state::disconnected) return false;
    const auto due = session.disconnected_since + *limit;
    if (now < due) {
      next = next ? std::min(*next, due) : due;
      return false;
    }
    // Logged off as Windows does it: the session is deleted, and with it what its cookie could resume. No client is
    // connected, so nothing goes on the wire.
    ++counters_.disconnected_expired;
    return true;
  });
  return next;
}

std::vector<session_info> session_table::query(
    steady_clock::time_point now, const std::function<connection_view(connection_number)>& connection) const {
  std::vector<session_info> rows;
  rows.reserve(sessions_.size());
  for (const auto& [id, s] : sessions_) {
    session_info row;
    row.id = id;
    row.user = s.user;
    row.domain = s.domain;
    row.state = s.state;
    row.logon_time = s.logon_time;
    auto idle_since = s.idle_since;
    if (s.connection) {
      const auto view = connection(*s.connection);
      idle_since = view.last_input;
      row.name = "rdp-tcp#" + std::to_string(*s.connection);
      row.client_address = view.client_address;
    }
    row.idle = std::chrono::duration_cast<std::chrono::milliseconds>(now - idle_since);
    rows.push_back(std::move(row));
  }
  return rows;
}

admin_target session_table::remove(std::uint32_t id) {
  const auto it = sessions_.find(id);
  if (it == sessions_.end()) return {admin_result::failure("no session " + std::to_string(id)), std::nullopt};
  const auto conn = it->second.connection;
  if (conn) by_connection_.erase(*conn);
  sessions_.erase(it);
  return {{}, conn};
}

void session_table::clear() noexcept {
  sessions_.clear();
  by_connection_.clear();
}

bool session_table::disconnect_all(steady_clock::time_point now) {
  std::vector<connection_number> connections;
  connections.reserve(by_connection_.size());
  for (const auto& [conn, id] : by_connection_) connections.push_back(conn);
  bool any = false;
  for (const auto conn : connections) any = settle(conn, termination::none, now) || any;
  return any;
}

void session_table::unbind(connection_number conn) {
  const auto it = by_connection_.find(conn);
  if (it == by_connection_.end()) return;
  auto& session = sessions_.at(it->second);
  session.connection.reset();
  by_connection_.erase(it);
}

admin_target session_table::connected(std::uint32_t id) const {
  const auto it = sessions_.find(id);
  if (it == sessions_.end()) return {admin_result::failure("no session " + std::to_string(id)), std::nullopt};
  if (!it->second.connection)
    return {admin_result::failure("session " + std::to_string(id) + " is not connected"), std::nullopt};
  return {{}, it->second.connection};
}

}  // namespace rdp::sim
