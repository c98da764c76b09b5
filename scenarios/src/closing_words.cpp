// The words of an attempt's end (attempts.hpp): its closing word and its reconnection's outcome, judged from what
// the client observed, and the names of the codes the server sent (errorInfo, a DPU's reason). The word of every
// attempt goes into the timeline beside its local port, and tests/scripts/scenario_test.sh compares it with the
// pcap of the same run.
#include "attempts.hpp"

#include "rdp/protocol/errinfo.hpp"
#include "rdp/protocol/hex.hpp"
#include "rdp/protocol/mcs.hpp"

namespace rdp::scenarios::running {

std::string error_info_text(std::uint32_t code) {
  const auto* entry = protocol::find_error_info(code);
  return protocol::hex32(code) + (entry ? " " + std::string(entry->name) : std::string());
}

// A DPU's T.125 reason by name, its number beside: "rn-provider-initiated (1)" (mcs.hpp; MS-RDPBCGR 2.2.2.3).
std::string dpu_reason_text(std::uint32_t code) {
  if (code > static_cast<std::uint32_t>(protocol::mcs::disconnect_reason::channel_purged))
    return "reason " + std::to_string(code) + " (not a T.125 reason)";
  return std::string(protocol::mcs::to_string(static_cast<protocol::mcs::disconnect_reason>(code))) + " (" +
         std::to_string(code) + ")";
}

// The closing word of an attempt, from what its socket saw (docs/scenarios.md, "Closing words"); the word of
// every attempt goes into the timeline beside its local port, and tests/scripts/scenario_test.sh compares it with
// the pcap of the same run.
close_kind closed_of(const attempt& a) {
  if (a.open_at_end) return close_kind::none;
  if (a.lean) {
    const auto& r = *a.lean;
    if (r.closed_by_owner) return close_kind::client;
    for (auto it = r.teardown.rbegin(); it != r.teardown.rend(); ++it) {
      switch (it->kind) {
        case protocol::teardown_kind::reset: return close_kind::reset;
        // The stream failed otherwise: a 0-byte read or a TLS close is the server's FIN; ETIMEDOUT is TCP giving
        // up on unanswered retransmissions or keepalive probes, with nothing from the server.
        case protocol::teardown_kind::closed:
          return r.error == boost::system::errc::timed_out ? close_kind::timeout : close_kind::fin;
        case protocol::teardown_kind::silence: return close_kind::silence;
        case protocol::teardown_kind::timeout: return r.active() ? close_kind::client : close_kind::silence;
        // The server said it ends the connection (a DPU or an X.224 DR): whoever then closed first, it was the
        // server's end — the client's own close after a refused logon is only its answer.
        case protocol::teardown_kind::disconnect_provider_ultimatum:
        case protocol::teardown_kind::x224_disconnect: return close_kind::fin;
        default: break;
      }
    }
    // No teardown: the TCP connect itself failed (client/src/session.cpp).
    if (r.error == boost::system::errc::connection_refused) return close_kind::refused;
    if (r.error == boost::system::errc::timed_out && r.local_port == 0) return close_kind::timeout;
    if (r.error == boost::system::errc::connection_reset) return close_kind::reset;
    if (r.server_closed) return close_kind::fin;
    // The client closed after a frame it could not use; the server may have closed first, unread.
    if (r.peer_at_close == client::session_result::peer_state::fin) return close_kind::fin;
    if (r.peer_at_close == client::session_result::peer_state::reset) return close_kind::reset;
    return close_kind::client;
  }
  if (a.freerdp) {
    const auto& r = *a.freerdp;
    if (a.cancel->load() && !r.ended_by_server) return close_kind::client;
    const bool said_why = r.error_info != 0 || r.disconnect_ultimatum.has_value();
    // What run_login read from the socket (or, once FreeRDP had closed it, from the errno FreeRDP logged).
    switch (r.socket_ended) {
      case probe::socket_end::fin: return close_kind::fin;
      case probe::socket_end::reset: return close_kind::reset;
      case probe::socket_end::refused: return close_kind::refused;
      case probe::socket_end::timeout: return close_kind::timeout;
      // The server ended the session with a PDU and had not closed a second later: its end all the same, as for
      // the lean client above.
      case probe::socket_end::open: return said_why ? close_kind::fin : close_kind::client;
      case probe::socket_end::not_seen: break;
    }
    // run_login's own deadline passed in the connection sequence: nothing came.
    if (r.timed_out) return close_kind::silence;
    if (r.ended_by_server || !r.reached_active) return said_why ? close_kind::fin : close_kind::reset;
    return close_kind::client;
  }
  return close_kind::none;
}

// What became of a reconnection's cookie, from what the client can observe: the session id of its Save Session
// Info compared with the one before, and whether the cookie was refused (the lean client's Auto-Reconnect Status
// PDU, MS-RDPBCGR 2.2.4.1; FreeRDP reports none, so rdpsim's own view of the cookie stands in for it). A refused
// cookie whose logon lands in the same session (the single-session policy reattaching the user's session) lost
// nothing of the desktop: same-session, not new-session.
reconnect_outcome reconnect_of(const attempt& a) {
  if (!was_active(a)) return reconnect_outcome::refused;
  const auto now_session = session_seen(a);
  const bool same = now_session && a.previous_session && *now_session == *a.previous_session;
  const bool cookie_refused = a.lean ? a.lean->auto_reconnect_status : a.stale_cookie;
  if (!same) return reconnect_outcome::new_session;
  return cookie_refused ? reconnect_outcome::same_session : reconnect_outcome::honoured;
}

std::optional<std::uint32_t> session_seen(const attempt& a) {
  if (a.lean && a.lean->logon_session_id) return a.lean->logon_session_id;
  if (a.freerdp && a.freerdp->session_id) return a.freerdp->session_id;
  return a.server_session;
}
bool was_active(const attempt& a) {
  if (a.lean) return a.lean->active();
  if (a.freerdp) return a.freerdp->reached_active;
  return a.active_at.has_value();
}

}  // namespace rdp::scenarios::running
