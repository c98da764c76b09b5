#pragma once
// `rdpprobe scan --login USER [--reconnect]`: one real logon with the FreeRDP client library (login.hpp) and, when
// asked, a second connection presenting the auto-reconnect cookie the server issued — the way a client comes back
// after a network drop (MS-RDPBCGR 1.3.1.5). Whether the server resumes the session the cookie names, starts a new
// one, or refuses is exactly what separates "my session survived the drop" from "The remote user session has been
// deleted".
#include "rdp/probe/login.hpp"

#include <nlohmann/json_fwd.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rdp::probe {

struct login_check_options {
  // The password is never printed, logged or put in a report; the caller reads it from a file or the environment.
  std::string user, domain, password;
  login_security security = login_security::any;
  std::chrono::milliseconds timeout{15000};  // each logon: TCP connect to the active state
  // After the active state, how long to wait for the server's Save Session Info (the session id and the
  // auto-reconnect cookie), which Windows sends once the user's logon has finished; the wait ends when the cookie
  // comes. A server that ends the session meanwhile is a finding.
  std::chrono::milliseconds session_info_wait{5000};
  bool reconnect = false;
  // Between the first logon's disconnect and the reconnection: lets a policy act on the disconnected session first
  // (Windows' "Set time limit for disconnected sessions"), as a real client's time away would.
  std::chrono::milliseconds reconnect_after{0};
  // Set from another thread (Ctrl-C) to end the check early: the logon in progress is aborted, the wait before the
  // reconnection cut short, and no further connection made.
  std::shared_ptr<const std::atomic<bool>> cancel;
  // The server certificates the credentials may go to (login_options): besides one FreeRDP verifies against the
  // system store, those whose SHA-256 is here — --cert-sha256, and the leaf the wire probe of the same target
  // verified against --ca or the system store (probe_target adds it) — or any with ignore_certificate
  // (--ignore-certificate). Anything else is refused before the credentials are sent.
  std::vector<std::string> accepted_sha256;
  bool ignore_certificate = false;
};

// What the server did with the auto-reconnect cookie it issued, presented on a new connection after the first
// logon disconnected (leaving its session disconnected, as a network drop does).
enum class reconnect_outcome {
  not_asked,         // no --reconnect
  not_attempted,     // the first logon did not reach the active state: there was no session to come back to
  no_cookie,         // the server issued no cookie (auto-reconnect disabled, or a server without it such as xrdp)
  honoured,          // active again in the same session the cookie names
  unconfirmed,       // active again, but the server sent no session id to tell a resumed session from a new one
  new_session,       // active, in a different session: the one the cookie named is gone (deleted)
  refused,           // the reconnection did not reach the active state
};
std::string_view to_string(reconnect_outcome o) noexcept;  // "honoured", "new-session", …

struct login_check_result {
  std::string user, domain;
  login_security security = login_security::any;
  login_result logon;                      // the first logon
  reconnect_outcome reconnect = reconnect_outcome::not_asked;
  std::optional<login_result> reconnection;  // the logon that presented the cookie
  std::chrono::milliseconds reconnect_after{0};
  std::string evidence;  // one line: how the logon (and reconnection) went
  // The logon reached the active state and, when a reconnection was made, the server resumed the session (or could
  // not say which session it was, or issued no cookie).
  bool healthy = false;
  bool reconnect_failed = false;  // healthy logon, but the cookie was refused or led to a new session
  bool interrupted = false;       // options.cancel ended it early: neither healthy nor a finding
  bool ignore_certificate = false;           // as asked (--ignore-certificate)
  std::vector<std::string> accepted_sha256;  // as asked: pinned and verified by the wire probe
  // Non-empty: the logon (or the reconnection) refused the server's certificate, and why; no credentials were sent.
  std::string certificate_refused;
};
// The logon reached the active state and the server let the session be until the client left.
bool logon_held(const login_result& r) noexcept;

// Blocking, on the calling thread (FreeRDP's client runs synchronously); bounded by about
// 2 × (timeout + session_info_wait + 2 s) + reconnect_after. Never throws for what the network or the server does.
login_check_result check_login(const std::string& host, std::uint16_t port, const login_check_options& options);

// Never contains the password or the cookie's random bits (a credential for the session): only whether a cookie was
// issued and the logon id it names.
nlohmann::json to_json(const login_check_result& result);
// The "login" and "reconnect" lines of the detailed report.
void print_human(std::ostream& out, const login_check_result& result);

}  // namespace rdp::probe
