// The owner of one connection's state machine: protocol::server_sequence (the whole connection sequence and session,
// MS-RDPBCGR 1.3.1.1) runs on net::sequence_engine, and the notices it stops at become what only the server knows —
// counters, the session table's logon decision, Save Session Info for the session it chose, the session's state, and
// what becomes of the session when the connection ends (docs/session-drops.md).
#include "server_state.hpp"

#include "rdp/net/errors.hpp"
#include "rdp/crypto/openssl_primitives.hpp"
#include "rdp/protocol/ntlm.hpp"
#include "rdp/protocol/text.hpp"
#include "rdp/sim/standard_security_keys.hpp"

#include <openssl/rand.h>

#include <iostream>

namespace rdp::sim {

using net::error_code;
using protocol::server_end;
using protocol::server_notice;

namespace {

logon_rules rules_of(const server_config& config) {
  return {config.users, config.sessions, config.stale_cookie, config.stale_cookie_error, config.max_session_table};
}

// What becomes of the session (session_table::settle) when its connection ended the way the machine says: the end the
// owner asked for, if any (an admin action, a replacement, a service stop — also when the client left before the
// machine could carry it out), else the machine's own limits; anything else is the client going away (Disc).
termination termination_of(server_end ended, termination pending) {
  if (pending != termination::none) return pending;
  switch (ended) {
    case server_end::idle_limit: return termination::idle_timeout;
    case server_end::active_limit: return termination::active_limit;
    default: return termination::none;
  }
}

// A client that got as far as the MCS connection over TLS and then broke off or broke the sequence before the session
// was active (a denied logon is no failure; Standard RDP Security never gets that far: it is held after MCS).
bool is_sequence_failure(const protocol::server_result& r, bool tls_completed) {
  if (!tls_completed || r.ended == server_end::denied) return false;
  return r.reached == protocol::server_phase::mcs_connected || r.reached == protocol::server_phase::client_info ||
         r.reached == protocol::server_phase::capabilities;
}

// Acts on each notice of one connection's machine (net::sequence_engine calls it, without suspending, so the table
// cannot change under it).
struct connection_owner {
  server::state& st;
  connection_record& conn;

  void tell(session_event::kind what, std::optional<std::uint32_t> session_id = std::nullopt,
            std::uint32_t error_info = 0, std::string detail = {}, bool nla = false, bool stale_cookie = false) const {
    if (!st.config.on_session_event) return;
    session_event e;
    e.what = what;
    e.connection = conn.number;
    e.client_address = conn.client_address;
    e.session_id = session_id;
    e.user = conn.user;
    e.error_info = error_info;
    e.detail = std::move(detail);
    e.nla = nla;
    e.stale_cookie = stale_cookie;
    st.config.on_session_event(e);
  }

  void operator()(protocol::server_sequence& machine) const {
    switch (machine.notice()) {
      case server_notice::negotiated: ++st.counters.negotiated; break;
      case server_notice::tls_completed:
        ++st.counters.tls_completed;
        conn.tls_completed = true;
        break;
      case server_notice::ntlm_challenge_sent: ++st.counters.ntlm_challenges; break;
      case server_notice::logon_decision_needed: machine.decide_logon(choose_session(machine.result())); break;
      case server_notice::activated: activated(machine); break;
      case server_notice::logged_on:
        st.table.mark_active(conn.number);
        tell(session_event::kind::session_info_sent, conn.session_id);
        break;
      case server_notice::ended: ended(machine.result()); break;
      case server_notice::none: break;
    }
  }

  // Picks (or makes) the session this logon lands in (session_table::choose) and carries out what that decides: the
  // connection that held the session is told it was replaced, a full table is logged.
  protocol::logon_decision choose_session(const protocol::server_result& r) const {
    auto info = *r.client_info;
    if (r.nla) {
      ++st.counters.nla_logons;
      // With NLA the user was authenticated before the Client Info (MS-CSSP 3.1.5): the session is the authenticated
      // account's, whatever userName the Client Info carries, and its password is not asked for again. An account
      // without the right to log on remotely learns it here over HYBRID (over HYBRID_EX the Early User
      // Authorization Result already said so), as Windows' logon screen would tell it.
      if (r.nla->account >= st.config.users.size() || !st.config.users[r.nla->account].remote_logon) {
        conn.user = r.nla->user;
        tell(session_event::kind::logon_denied, std::nullopt, protocol::errinfo::server_insufficient_privileges,
             "no remote logon right");
        return protocol::logon_decision::deny(protocol::errinfo::server_insufficient_privileges);
      }
      const auto& account = st.config.users[r.nla->account];
      info.user = account.user;
      info.domain = account.domain;
      info.password = account.password;
    }
    const auto out = st.table.choose(conn.number, info, rules_of(st.config), std::chrono::system_clock::now());
    if (out.table_full) note_limit(st, limit_kind::session_table);
    if (out.replaced) {
      if (const auto it = st.live.find(*out.replaced); it != st.live.end()) it->second->request(termination::replaced);
    }
    conn.user = info.user;
    if (out.denied) {
      tell(session_event::kind::logon_denied, std::nullopt, *out.denied);
      return protocol::logon_decision::deny(*out.denied);
    }
    conn.session_id = out.session_id;
    std::string how = r.nla ? "NLA" : "";
    if (out.stale_cookie) how += how.empty() ? "stale cookie" : ", stale cookie";
    tell(session_event::kind::logon_accepted, out.session_id, 0, how, r.nla.has_value(), out.stale_cookie);
    return protocol::logon_decision::accept(out.session_id, out.stale_cookie);
  }

  // The session is active: no more pre-logon deadline. Logon completes with Save Session Info: the session id and
  // user, then (to a client that supports it) a fresh auto-reconnect cookie — a new one on every connection, so the
  // previous one is stale from now on (2.2.4.2), issued once it is on its way to the client. A session an admin
  // removed meanwhile gets none.
  void activated(protocol::server_sequence& machine) const {
    ++st.counters.activated;
    conn.activated = true;
    conn.logon_watchdog.cancel();
    if (const auto* session = st.table.renew_cookie(conn.number, machine.result().client.auto_reconnect))
      machine.set_session_info({session->id, session->user, session->domain, session->arc_random});
    tell(session_event::kind::active, conn.session_id);
  }

  void ended(const protocol::server_result& r) const {
    if (r.ended == server_end::bad_request) ++st.counters.bad_requests;
    if (r.ended == server_end::refused) ++st.counters.refused;
    if (r.ended == server_end::nla_refused) ++st.counters.nla_refusals;
    if (is_sequence_failure(r, conn.tls_completed)) ++st.counters.sequence_failures;
    // The log quotes what an unauthenticated client sent (its NTLM user and domain): escaped, never obeyed.
    if (!r.credssp_log.empty())
      std::cerr << "rdpsim: connection " << conn.number << " from " << conn.client_address << ": "
                << protocol::escape_for_terminal(r.credssp_log) << "\n";
    // Settled before the teardown goes on the wire, so the table is right by the time the client sees the end. A
    // session that became Disc may have moved the next expiry.
    if (st.table.settle(conn.number, termination_of(r.ended, conn.pending), net::clock::now())) expire_disconnected(st);
    tell(session_event::kind::ended, conn.session_id, 0, protocol::to_string(r.ended));
  }
};

// Whatever ends a connection's coroutine — its return, an exception, or the io_context destroying its frame — the
// socket is closed, the pre-logon deadline cancelled and the record leaves `live`.
struct connection_cleanup {
  std::shared_ptr<server::state> st;
  std::shared_ptr<connection_record> conn;
  connection_cleanup(std::shared_ptr<server::state> s, std::shared_ptr<connection_record> c)
      : st(std::move(s)), conn(std::move(c)) {}
  connection_cleanup(const connection_cleanup&) = delete;
  connection_cleanup& operator=(const connection_cleanup&) = delete;
  ~connection_cleanup() {
    error_code ignored;
    conn->logon_watchdog.cancel();
    conn->socket.close(ignored);
    st->live.erase(conn->number);
  }
};

// Closes the connection when the pre-logon deadline passes before the session became active. Closing the socket ends
// whatever read or write the machine waits for, so no step needs a deadline of its own for this.
void arm_logon_watchdog(const std::shared_ptr<server::state>& st, const std::shared_ptr<connection_record>& conn) {
  conn->logon_watchdog.expires_after(st->config.prelogon_timeout);
  conn->logon_watchdog.async_wait(
      [weak_st = std::weak_ptr(st), weak_conn = std::weak_ptr(conn)](const error_code& ec) {
        if (ec == asio::error::operation_aborted) return;
        auto server = weak_st.lock();
        auto record = weak_conn.lock();
        if (!server || !record || record->activated || server->stopped || !record->socket.is_open()) return;
        note_limit(*server, limit_kind::prelogon);
        error_code ignored;
        record->socket.close(ignored);
      });
}

// The CHALLENGE's nonce. Nothing is ever authenticated against it, so it only has to look like one: should OpenSSL's
// generator fail, zeros do as well.
std::array<std::uint8_t, 8> server_challenge() {
  std::array<std::uint8_t, 8> out{};
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) out.fill(0);
  return out;
}

}  // namespace

arc_random_bits fresh_random_bits() {
  arc_random_bits bits{};
  if (RAND_bytes(bits.data(), static_cast<int>(bits.size())) != 1)
    throw std::runtime_error("RAND_bytes failed: no auto-reconnect cookie can be made");
  return bits;
}

protocol::server_sequence_options sequence_options(const server::state& st) {
  const auto& config = st.config;
  protocol::server_sequence_options o;
  o.policy = config.policy;
  o.tls_available = st.tls_context.has_value();
  o.ntlm = config.ntlm;
  o.server_challenge = server_challenge();
  // MsvAvTimestamp: the wall clock at accept, a moment (at most the pre-logon deadline) before the CHALLENGE goes out.
  o.filetime = protocol::ntlm::to_filetime(std::chrono::system_clock::now());
  // The CredSSP logon: OpenSSL's primitives, the certificate's key, the profile's users as accounts.
  o.crypto = &crypto::openssl_primitives();
  o.public_key = st.tls_public_key;
  o.accounts = st.nla_accounts;
  // A new serverRandom per connection, when Standard RDP Security sends one at all (level None sends none).
  o.standard_security.settings = config.standard_security;
  if (config.standard_security.encryption_level != protocol::gcc::encryption_level::none)
    o.standard_security.server_random = fresh_server_random();
  o.max_desktop_width = config.max_desktop_width;
  o.max_desktop_height = config.max_desktop_height;
  o.heartbeat = config.heartbeat;
  o.idle_limit = config.sessions.idle_limit;
  o.active_limit = config.sessions.logon_timeout;  // rdpsim's name for the active-session limit
  o.handshake_timeout = config.handshake_timeout;
  o.hold_timeout = config.hold_timeout;
  o.drain_timeout = config.drain_timeout;
  return o;
}

asio::awaitable<void> run_connection(std::shared_ptr<server::state> st, std::shared_ptr<connection_record> conn) {
  const connection_cleanup cleanup(st, conn);
  arm_logon_watchdog(st, conn);
  net::engine_options options;
  options.tls_context = st->tls_context ? &*st->tls_context : nullptr;
  options.role = asio::ssl::stream_base::server;
  options.wake = &conn->wake;
  net::sequence_engine engine(conn->socket, std::move(options));
  co_await engine.run(conn->machine, connection_owner{*st, *conn});
}

}  // namespace rdp::sim
