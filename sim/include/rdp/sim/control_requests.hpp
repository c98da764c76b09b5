#pragma once
// The control interface without its transport: one request line to its response, the policy and session JSON, and
// the administrator's tables (docs/control.md). No Asio and no OpenSSL here, so a fuzz target or any other transport
// compiles it with nlohmann alone (sim/src/control_requests.cpp, sim/src/sessions.cpp; sessions.cpp adds
// protocol/text for wire text). control.hpp is the loopback server and client around it.
#include "rdp/net/control_line.hpp"
#include "rdp/sim/sessions.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rdp::sim {

// ---- The administrator's views (defined in sessions.cpp) -------------------------------------------------------

// How `query user` shows LOGON TIME: Windows prints local time; tests and logs want UTC.
enum class time_display { local, utc };

// Windows' `query session` (qwinsta) table: header, then one row per session in the order given, columns where
// Windows puts them (SESSIONNAME at 1, USERNAME at 19, ID right-aligned ending at 45, STATE at 48). TYPE and
// DEVICE are empty for RDP-Tcp sessions on current Windows, so rows end after STATE. Lines end with "\n".
// User names and session names came off the wire (Client Info): they are escaped for the terminal
// (protocol::escape_for_terminal) before they are cut to their column.
std::string format_query_session(const std::vector<session_info>& sessions);
// Windows' `query user` (quser) table: only sessions with a user (not the listener), USERNAME at 1, SESSIONNAME at
// 23, ID ending at 43, STATE at 46, IDLE TIME ending at 62, LOGON TIME (en-US "M/D/YYYY h:mm AM") at 65.
// With no user at all: "No User exists for *\n", as Windows says. Names are escaped as in format_query_session.
std::string format_query_user(const std::vector<session_info>& sessions, time_display zone = time_display::local);
// IDLE TIME as quser prints it: "." under a minute, "59" minutes, "1:05" hours, "2+03:04" days.
std::string format_idle(std::chrono::milliseconds idle);

// JSON words for session states: "active", "connected", "disconnected", "listen".
std::string_view state_word(session_state s) noexcept;
std::optional<session_state> state_from_word(std::string_view word) noexcept;

// {"id","name","user","domain","state","client_address","logon_time" (ISO 8601 UTC "2026-11-24T11:42:01Z", or
// null),"idle_ms"}. `user` and `domain` are always valid UTF-8 (protocol::to_valid_utf8); when the bytes the
// client sent were not clean text (protocol::needs_raw_hex) they are also given as hex in `user_hex` /
// `domain_hex`. from_json throws nlohmann::json::exception on a member that is missing or of the wrong type, and
// takes the raw bytes back from `*_hex` when present.
void to_json(nlohmann::json& j, const session_info& s);
void from_json(const nlohmann::json& j, session_info& s);

// ---- Policy as JSON (control_requests.cpp) ---------------------------------------------------------------------

// {"single_session":bool,"max_sessions":N|null,"idle_limit_seconds":N|null,"logon_timeout_seconds":N|null,
//  "disconnected_limit_seconds":N|null}
void to_json(nlohmann::json& j, const session_policy& p);
// Applies the members present in `j` to `p` (a partial update); on a bad member returns false with `why` naming it
// and leaves `p` unchanged. Never throws for anything `j` holds.
bool apply_policy_json(const nlohmann::json& j, session_policy& p, std::string* why);

// ---- One request line ------------------------------------------------------------------------------------------

// One request line → its response (net::handle_control_request with rdpsim's commands). Pure apart from the calls
// into `admin`: the server only moves lines.
using control_outcome = net::control_outcome;
// Never throws: whatever nlohmann or `admin` throws becomes an {"ok":false} response (a parse failure or a failure
// before authentication also sets `close`).
control_outcome handle_control_line(session_admin& admin, std::string_view token, std::string_view line) noexcept;

// The response as one line: JSON and "\n", bytes that are not UTF-8 replaced (never throws for what a request held).
std::string to_response_line(const nlohmann::json& response);

}  // namespace rdp::sim
