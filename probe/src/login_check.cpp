#include "rdp/probe/login_check.hpp"

#include "rdp/probe/login_ntstatus.hpp"

#include "rdp/net/json.hpp"
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/errinfo.hpp"
#include "rdp/protocol/text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <ostream>
#include <thread>

namespace rdp::probe {
namespace {

using nlohmann::json;
using protocol::hex32;

login_options logon_options(const std::string& host, std::uint16_t port, const login_check_options& o) {
  login_options l;
  l.host = host;
  l.port = port;
  l.user = o.user;
  l.domain = o.domain;
  l.password = o.password;
  l.security = o.security;
  l.connect_timeout = o.timeout;
  l.stay = o.session_info_wait;
  l.leave_once_cookie_issued = true;
  l.cancel = o.cancel;
  l.accepted_sha256 = o.accepted_sha256;
  l.accept_any_certificate = o.ignore_certificate;
  return l;
}

// One of the codes FreeRDP itself reads as a verdict on the account or its credentials (nla_recv_pdu's ten): the
// server refused the credentials. Any other errorCode ended the authentication without saying that.
bool refuses_credentials(std::uint32_t ntstatus) {
  const auto known = freerdp_ntstatus_mappings();
  return std::any_of(known.begin(), known.end(), [&](const auto& m) { return m.ntstatus == ntstatus; });
}

// "stopped at CONNECTION_STATE_NLA: ERRCONNECT_LOGON_FAILURE (0x00020014); server error info 0x00000002 …"
std::string describe_stop(const login_result& r) {
  if (!r.setup_error.empty()) return "could not start: " + r.setup_error;
  if (!r.certificate_refused.empty())
    return "was refused before any credentials were sent: " + r.certificate_refused +
           " (trust it with --ca FILE, --cert-sha256 HEX or --ignore-certificate)";
  std::string text;
  if (r.ntstatus && !r.cancelled) {
    // TSRequest.errorCode (MS-CSSP 2.2.1): an answer from the server about the logon, not a network failure.
    text = std::string(refuses_credentials(*r.ntstatus) ? "was refused by the server: the credentials were refused"
                                                        : "was refused by the server: CredSSP ended") +
           " with NTSTATUS " + protocol::describe_ntstatus(*r.ntstatus) + " (FreeRDP " +
           (r.furthest_state.empty() ? "" : "at " + r.furthest_state + ": ") +
           (r.last_error_name.empty() ? std::string("error") : r.last_error_name) + " (" + hex32(r.last_error) + "))";
    return text;
  }
  if (r.cancelled)
    text = "was interrupted" + (r.furthest_state.empty() ? "" : " at " + r.furthest_state);
  else if (r.reached_active && r.ended_by_server)
    text = "was ended by the server " + std::to_string(r.active_time.count()) + " ms after the session became active";
  else
    text = (r.timed_out ? "timed out" : "stopped") + (r.furthest_state.empty() ? "" : " at " + r.furthest_state);
  if (r.last_error != 0)
    text += ": " + (r.last_error_name.empty() ? std::string("error") : r.last_error_name) + " (" + hex32(r.last_error) + ")";
  if (r.error_info != protocol::errinfo::none) {
    text += "; server error info " + protocol::describe_error_info(r.error_info);
    if (r.error_info_from_ultimatum) text += " (FreeRDP's reading of a Disconnect Provider Ultimatum, no Set Error Info)";
  }
  if (r.logon_error) text += "; logon error " + r.logon_error->type_name + " / " + r.logon_error->data_name;
  return text;
}

std::string session_text(const login_result& r) {
  return r.session_id ? "session " + std::to_string(*r.session_id) : "a session the server did not number";
}

// The session the server put the client in: Save Session Info's SessionId, else the logon id of the cookie it
// issued (Windows sets both to the session id).
std::optional<std::uint32_t> session_of(const login_result& r) {
  if (r.session_id) return r.session_id;
  if (r.cookie) return r.cookie->logon_id;
  return std::nullopt;
}

// The table's name for an NTSTATUS, null for none or one the table does not know.
json ntstatus_name(std::optional<std::uint32_t> status) {
  if (!status) return nullptr;
  const auto* entry = protocol::find_ntstatus(*status);
  return entry ? json(entry->name) : json(nullptr);
}

json logon_json(const login_result& r) {
  json error_info = nullptr;
  if (r.error_info != protocol::errinfo::none) {
    const auto* entry = protocol::find_error_info(r.error_info);
    error_info = json{{"code", hex32(r.error_info)},
                      {"name", net::text_or_null(r.error_info_name)},
                      {"text", net::text_or_null(r.error_info_text)},
                      {"session_fate", entry ? json(protocol::to_string(entry->fate)) : json(nullptr)},
                      {"from_ultimatum", r.error_info_from_ultimatum}};
  }
  json logon_error = nullptr;
  if (r.logon_error)
    logon_error = json{{"type", hex32(r.logon_error->type)},
                       {"type_name", r.logon_error->type_name},
                       {"data", hex32(r.logon_error->data)},
                       {"data_name", r.logon_error->data_name}};
  return json{
      {"reached_active", r.reached_active},
      {"ended_by_server", r.ended_by_server},
      {"furthest_state", net::text_or_null(r.furthest_state)},
      {"furthest_state_exact", r.furthest_state_exact},
      {"timed_out", r.timed_out},
      {"cancelled", r.cancelled},
      {"setup_error", net::text_or_null(r.setup_error)},
      {"last_error", r.last_error != 0 ? json{{"code", hex32(r.last_error)},
                                              {"name", r.last_error_name},
                                              {"text", r.last_error_text}}
                                       : json(nullptr)},
      {"error_info", std::move(error_info)},
      {"disconnect_reason_code", net::value_or_null(r.disconnect_ultimatum)},
      {"logon_error", std::move(logon_error)},
      {"session_id", net::value_or_null(r.session_id)},
      // Whether a cookie came and which logon it names; its ArcRandomBits would let anyone resume the session.
      {"cookie_issued", r.cookie.has_value()},
      {"cookie_logon_id", r.cookie ? json(r.cookie->logon_id) : json(nullptr)},
      {"certificate_flags", net::hex32_or_null(r.certificate_flags)},
      {"certificate_sha256", net::text_or_null(r.certificate_sha256)},
      {"certificate_refused", net::text_or_null(r.certificate_refused)},
      {"freerdp_errors", r.freerdp_errors},
      {"ntstatus", net::value_or_null(r.ntstatus)},
      {"ntstatus_name", ntstatus_name(r.ntstatus)},
      {"timings_ms", {{"connect", r.connect_time.count()}, {"active", r.active_time.count()}}}};
}

}  // namespace

bool logon_held(const login_result& r) noexcept { return r.reached_active && !r.ended_by_server; }

std::string_view to_string(reconnect_outcome o) noexcept {
  switch (o) {
    case reconnect_outcome::not_asked: return "not-asked";
    case reconnect_outcome::not_attempted: return "not-attempted";
    case reconnect_outcome::no_cookie: return "no-cookie";
    case reconnect_outcome::honoured: return "honoured";
    case reconnect_outcome::unconfirmed: return "unconfirmed";
    case reconnect_outcome::new_session: return "new-session";
    case reconnect_outcome::refused: return "refused";
  }
  return "unknown";
}

login_check_result check_login(const std::string& host, std::uint16_t port, const login_check_options& options) {
  login_check_result result;
  result.user = options.user;
  result.domain = options.domain;
  result.security = options.security;
  result.reconnect_after = options.reconnect_after;
  result.ignore_certificate = options.ignore_certificate;
  result.accepted_sha256 = options.accepted_sha256;
  auto cancelled = [&] { return options.cancel && options.cancel->load(); };
  result.logon = run_login(logon_options(host, port, options));
  const auto& first = result.logon;
  if (first.cancelled) {
    result.interrupted = true;
    result.evidence = "logon as " + options.user + " " + describe_stop(first);
    result.reconnect = options.reconnect ? reconnect_outcome::not_attempted : reconnect_outcome::not_asked;
    return result;
  }
  if (!logon_held(first)) {
    result.certificate_refused = first.certificate_refused;
    result.evidence = "logon as " + options.user + " " + describe_stop(first);
    result.reconnect = options.reconnect ? reconnect_outcome::not_attempted : reconnect_outcome::not_asked;
    return result;
  }
  result.healthy = true;
  result.evidence = "logon as " + options.user + " reached the active state in " +
                    std::to_string(first.connect_time.count()) + " ms, " + session_text(first);
  if (!options.reconnect) return result;
  if (!first.cookie) {
    result.reconnect = reconnect_outcome::no_cookie;
    result.evidence += "; the server issued no auto-reconnect cookie, so a dropped client cannot resume its session";
    return result;
  }
  // The first logon disconnected as a client does (MCS Disconnect Provider Ultimatum, rn-user-requested): the session
  // stays on the server, disconnected, exactly as after a network drop that the client noticed.
  // Waited in short steps, so that Ctrl-C does not have to sit out a long --reconnect-after.
  for (const auto until = std::chrono::steady_clock::now() + options.reconnect_after;
       !cancelled() && std::chrono::steady_clock::now() < until;)
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(50), until - std::chrono::steady_clock::now()));
  if (cancelled()) {
    result.interrupted = true;
    result.healthy = false;
    result.reconnect = reconnect_outcome::not_attempted;
    result.evidence += "; interrupted before the reconnection";
    return result;
  }
  auto again = logon_options(host, port, options);
  again.reconnect_cookie = first.cookie;
  result.reconnection = run_login(again);
  const auto& second = *result.reconnection;
  const auto before = session_of(first), after = session_of(second);
  if (second.cancelled) {
    result.interrupted = true;
    result.healthy = false;
    result.reconnect = reconnect_outcome::not_attempted;
    result.evidence += "; the reconnection " + describe_stop(second);
    return result;
  }
  if (!logon_held(second)) {
    result.certificate_refused = second.certificate_refused;
    result.reconnect = reconnect_outcome::refused;
    result.evidence += "; the reconnection with its auto-reconnect cookie " + describe_stop(second);
  } else if (!before || !after) {
    result.reconnect = reconnect_outcome::unconfirmed;
    result.evidence += "; the reconnection with its cookie reached the active state, but the server did not say "
                       "which session it is in";
  } else if (*before == *after) {
    result.reconnect = reconnect_outcome::honoured;
    result.evidence += "; the auto-reconnect cookie resumed the same session";
  } else {
    result.reconnect = reconnect_outcome::new_session;
    result.evidence += "; the auto-reconnect cookie for session " + std::to_string(*before) +
                       " led to a fresh logon in session " + std::to_string(*after) +
                       ": the earlier session was deleted (what a client reports as \"The remote user session has "
                       "been deleted\")";
  }
  result.reconnect_failed =
      result.reconnect == reconnect_outcome::refused || result.reconnect == reconnect_outcome::new_session;
  result.healthy = !result.reconnect_failed;
  return result;
}

nlohmann::json to_json(const login_check_result& r) {
  json reconnect = nullptr;
  if (r.reconnect != reconnect_outcome::not_asked) {
    reconnect = json{{"outcome", to_string(r.reconnect)},
                     {"after_ms", r.reconnect_after.count()},
                     {"logon", r.reconnection ? logon_json(*r.reconnection) : json(nullptr)}};
  }
  // The NTSTATUS that refused the logon: the first logon's, else the reconnection's (which a stale cookie cannot
  // cause: the cookie travels after CredSSP, MS-RDPBCGR 5.5).
  std::optional<std::uint32_t> ntstatus = r.logon.ntstatus;
  if (!ntstatus && r.reconnection) ntstatus = r.reconnection->ntstatus;
  return json{{"user", r.user},
              {"domain", net::text_or_null(r.domain)},
              {"ntstatus", net::value_or_null(ntstatus)},
              {"ntstatus_name", ntstatus_name(ntstatus)},
              {"security", to_string(r.security)},
              {"healthy", r.healthy},
              {"interrupted", r.interrupted},
              {"evidence", r.evidence},
              {"certificate", json{{"ignored", r.ignore_certificate},
                                   {"accepted_sha256", r.accepted_sha256},
                                   {"refused", r.certificate_refused.empty() ? json(nullptr)
                                                                             : json(r.certificate_refused)}}},
              {"logon", logon_json(r.logon)},
              {"reconnect", std::move(reconnect)}};
}

void print_human(std::ostream& out, const login_check_result& r) {
  // FreeRDP's error texts and the server's names may hold anything: escaped, as every text of the human report.
  const auto term = [](std::string_view s) { return protocol::escape_for_terminal(s); };
  const std::string who = (r.domain.empty() ? "" : term(r.domain) + "\\") + term(r.user);
  auto describe = [&](std::ostream& o, const login_result& l) {
    if (logon_held(l)) {
      o << "ACTIVE after " << l.connect_time.count() << " ms, " << session_text(l);
      if (l.cookie) o << ", auto-reconnect cookie issued (logon id " << l.cookie->logon_id << ")";
      else o << ", no auto-reconnect cookie";
    } else {
      o << "FAILED, " << term(describe_stop(l)) << " after " << l.connect_time.count() << " ms";
    }
  };
  out << "  login       " << who << " offering " << to_string(r.security) << ": ";
  describe(out, r.logon);
  out << "\n";
  if (r.logon.ntstatus) out << "  ntstatus    " << term(protocol::describe_ntstatus(*r.logon.ntstatus)) << "\n";
  if (r.reconnect == reconnect_outcome::not_asked) return;
  out << "  reconnect   " << to_string(r.reconnect);
  if (r.reconnection) {
    out << " (cookie presented";
    if (r.reconnect_after.count() > 0) out << " " << r.reconnect_after.count() << " ms after the disconnect";
    out << "): ";
    describe(out, *r.reconnection);
  } else if (r.reconnect == reconnect_outcome::no_cookie) {
    out << ": the server issued no auto-reconnect cookie";
  } else if (r.interrupted) {
    out << ": interrupted before the reconnection";
  } else {
    out << ": the logon did not reach a session to come back to";
  }
  out << "\n";
}

}  // namespace rdp::probe
