#pragma once
// A scenario file (scenarios/*.yaml, docs/scenarios.md): one cause of a dropped Remote Desktop session, replayed end
// to end on loopback — the server (an rdpsim profile), the path (direct, or through the fault proxy with its
// faults), the clients, a timeline of steps at times or on events, and the outcome each side must observe.
//
// This header is the schema as types; scenario_parse.cpp reads YAML into it and refuses anything it does not
// define with "file:line:column: key: what is wrong" (scenario_error), before anything is run. Every duration here
// is in *scenario time*, as written in the file; the runner (runner.hpp) multiplies by its time scale.
#include "rdp/proxy/faults.hpp"
#include "rdp/sim/profile.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace rdp::scenarios {

using duration = std::chrono::milliseconds;

// Where something was written, for the runner's own messages ("scenario.yaml:12:5"). line/column are 1-based;
// 0 when not known.
struct source_position {
  std::string file;
  int line = 0, column = 0;
};
std::string to_string(const source_position& where);

// A scenario that cannot be run. what() is "file:line:column: key.path: what is wrong" (like sim::profile_error).
class scenario_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---- The server ------------------------------------------------------------------------------------------------

struct server_spec {
  // `profile: PATH` (relative to the scenario file) or an inline mapping with the profile keys (docs/profiles.md).
  // The runner always listens on 127.0.0.1 port 0 and drives the session table directly (no control interface):
  // `listen` and `control` of the profile are ignored, and said so in the timeline.
  sim::profile profile;
  std::string profile_source;  // the path given, or "inline"
};

// ---- The path --------------------------------------------------------------------------------------------------

// The proxy's faults (proxy/faults.hpp), as written in the file: in scenario time, with where they were written.
struct fault_spec {
  proxy::fault_change change;
  source_position where;
};

struct path_spec {
  bool through_proxy = false;  // `path: direct` or `path: {proxy: {...}}`
  fault_spec proxy;            // faults in force from the start
  source_position where;
};

// ---- The clients -----------------------------------------------------------------------------------------------

enum class client_kind {
  lean,      // the product's own client (rdp::client): one coroutine, records every teardown PDU with its instant
  freerdp,   // the FreeRDP 2.11 client library (rdp::probe::run_login): what real users run
  rdpprobe,  // rdpprobe's scan of the path (no logon): its verdict is the outcome
};

// lean: whose TCP liveness the client has (client::liveness_model; docs/scenarios.md, "liveness").
enum class client_liveness {
  mstsc,    // no keepalive (mstsc's default): an idle session notices a dead path only when it writes
  freerdp,  // FreeRDP 2.11's keepalive: idle 5 s, interval 2 s, 3 probes, TCP_USER_TIMEOUT 9 s
};

struct client_spec {
  std::string name;  // unique in the scenario; steps and expectations refer to it
  client_kind kind = client_kind::lean;
  std::string user = "user", domain, password = "password";
  bool announce_heartbeat = false;       // lean: RNS_UD_CS_SUPPORT_HEARTBEAT_PDU
  bool announce_auto_reconnect = true;   // lean: AUTORECONNECT_SUPPORTED
  // lean: once active, an input PDU every `busy` (a user working); nullopt: idle until a `busy` step.
  std::optional<duration> busy;
  // lean: once active, with nothing from the server for this long the client gives up: how a client notices a
  // silent drop (MS-RDPBCGR 2.2.16.1: after count2 missed heartbeats it reconnects). nullopt: it never does.
  std::optional<duration> silence_limit;
  // lean: the TCP liveness of a real client, scaled like every duration. mstsc (the default) sets no socket option,
  // as the lean client always did.
  client_liveness liveness = client_liveness::mstsc;
  // How long a logon may hold the session at most (scenario time); the scenario's `timeout` bounds it anyway.
  std::optional<duration> hold;
  // freerdp: any | tls | nla | rdp (probe::login_security). lean: tls | nla (client::session_security: NLA is the
  // lean client's own CredSSP/NTLMv2).
  std::string security = "tls";
  // lean with security nla: request PROTOCOL_HYBRID_EX too (as mstsc), so the server sends the Early User
  // Authorization Result after CredSSP.
  bool hybrid_ex = false;
  // lean with security nla: the NTLM tokens inside SPNEGO (as mstsc sends them) instead of raw (as FreeRDP).
  bool spnego = false;
  source_position where;
};

// ---- The timeline ----------------------------------------------------------------------------------------------

// When a step runs: at a time from the start, or when an event has happened (then `after` later). Events are
// "CLIENT.active", "CLIENT.cookie" (Save Session Info with a cookie), "CLIENT.ended", "server.logged_on",
// "server.active", "server.session_info_sent", "server.ended", "proxy.tls_established", "proxy.idle_expired",
// "step.N.done" (N counts steps from 1) — docs/scenarios.md lists them. An event that never happens fails the
// scenario at its timeout, naming the step that waited.
struct trigger {
  std::optional<duration> at;
  std::string on;  // empty with `at`
  duration after{0};
};

struct logon_step {       // `logon: CLIENT`, or `reconnect: CLIENT` (present the cookie of its last logon)
  std::string client;
  bool reconnect = false;
};
struct leave_step {       // `leave: CLIENT`: the client disconnects (DPU rn-user-requested, as FreeRDP does)
  std::string client;
};
struct busy_step {        // `busy: {client: C, every: 1s}` — or `every: null` to go idle again
  std::string client;
  std::optional<duration> every;
};
enum class admin_kind { logoff, reset, disconnect, restart_service, drop_connection };
struct admin_step {       // `admin: logoff` with `session: CLIENT` (that client's session); restart with `down: 5s`
  admin_kind kind = admin_kind::logoff;
  std::string session_of;  // empty for restart_service
  duration down{0};
  // restart_service's `sessions: keep|end`; nullopt: what the server's profile says (`restart: {sessions: ...}`).
  std::optional<sim::restart_sessions> sessions;
};
struct policy_step {      // `policy: {single_session: false, max_sessions: 1, idle_limit: 60s, ...}`: what it names
  std::optional<bool> single_session;
  std::optional<std::optional<std::uint32_t>> max_sessions;  // outer: given; inner nullopt: `null`, unlimited
  std::optional<std::optional<duration>> idle_limit, active_limit, disconnected_limit;
};
struct fault_step {       // `fault: {...}` with optional `client: C` (only that client's connection; default all)
  fault_spec fault;
  std::string client;
};
struct probe_step {       // `probe: CLIENT` runs an rdpprobe client's scan of the path
  std::string client;
};
enum class occupant_kind { http, ssh, banner, silent };
struct occupy_port_step { // `occupy_port: http`: the service is stopped and another program takes its port
  occupant_kind by = occupant_kind::http;
};
// `share_port: http`: another program joins the server's port with SO_REUSEPORT while the server keeps running (a
// scenario with this step starts rdpsim with reuse_port); the kernel then hands each new connection to one of them.
struct share_port_step {
  occupant_kind by = occupant_kind::http;
};

using step_action = std::variant<logon_step, leave_step, busy_step, admin_step, policy_step, fault_step, probe_step,
                                 occupy_port_step, share_port_step>;

struct step {
  trigger when;
  step_action action;
  std::string label;  // optional `label:`; the timeline shows it
  source_position where;
};

// ---- The expected outcome --------------------------------------------------------------------------------------

struct time_window {  // `within: 25s..40s` (scenario time from the start); either end may be open: `..40s`, `25s..`
  std::optional<duration> from, to;
};

// How the client's connection ended, as its socket saw it (docs/scenarios.md, "Closing words"): each word is one
// thing the wire shows, and tests/scripts/scenario_test.sh compares it with the pcap of the same run.
enum class close_kind {
  fin,      // the server closed (FIN: a 0-byte read, or a TLS close), after or without PDUs
  reset,    // the server's RST: a read or write failed with ECONNRESET (or EPIPE before any byte was read)
  refused,  // the TCP connect was refused (ECONNREFUSED: the SYN was answered with an RST)
  timeout,  // TCP gave up: the connect or the retransmissions / keepalive probes went unanswered (ETIMEDOUT)
  silence,  // nothing came: the client's silence_limit ended it (a silent drop detected by a deadline)
  client,   // the client left itself (a leave step, or its hold ended)
  none,     // still open when the scenario ended
};
enum class reconnect_outcome {
  honoured,      // the server resumed the session the cookie named (same session id, the cookie accepted)
  same_session,  // the cookie was refused, but the logon landed in the same session (the single-session policy
                 // reattached the user's session): nothing of the desktop is lost
  new_session,   // it logged on afresh (another session id): the desktop is gone
  refused,       // the connection was ended instead (errorInfo or close)
};

struct client_expectation {
  std::string client;
  std::optional<int> attempt;  // 1-based logon attempt of that client; default: its last
  std::optional<bool> active;  // the attempt reached the active state
  std::optional<std::uint32_t> error_info;  // by name (ERRINFO_… or the short form, e.g. RPC_INITIATED_LOGOFF) or number
  std::optional<std::uint32_t> dpu_reason;  // T.125 reason number or name (rn-user-requested, rn-provider-initiated…)
  std::optional<close_kind> closed;
  std::optional<reconnect_outcome> reconnect;
  std::optional<std::string> verdict;       // rdpprobe clients: the target's verdict word (docs/verdicts.md)
  std::optional<time_window> within;        // when the attempt ended (for rdpprobe: when the scan finished)
  // `tolerance:` (with `within:` only): how far outside the window the end may fall and still pass, in scenario time.
  // nullopt: the scenario's `tolerance`.
  std::optional<duration> tolerance;
  source_position where;
};
struct server_expectation {
  std::map<std::string, std::uint64_t> counters;  // server_counters members by name, each exactly
  std::optional<std::size_t> sessions;            // rows in `query session` other than the listener, at the end
  source_position where;
};
struct proxy_expectation {
  std::optional<std::uint64_t> idle_expiries;  // flows the proxy forgot
  std::optional<std::uint64_t> resets_sent;    // resets it made, counting each side
  std::optional<std::uint64_t> connections;    // accepted
  source_position where;
};
using expectation = std::variant<client_expectation, server_expectation, proxy_expectation>;

// ---- The whole ---------------------------------------------------------------------------------------------------

struct scenario {
  std::string name;     // `scenario:`; unique in a run
  std::string summary;  // one line for the report
  std::string cause;    // which cause of the drop it replays (docs/scenarios.md lists the library's)
  server_spec server;
  path_spec path;
  std::vector<client_spec> clients;
  std::vector<step> steps;
  std::vector<expectation> expect;  // at least one
  duration timeout{std::chrono::minutes(5)};  // scenario time; the run is FAIL if it has not settled by then
  // `tolerance:` — how far outside a `within:` window an end may fall and still pass, in scenario time, for every
  // expectation that does not give its own. The check line prints it (`within 95s..100s (±1s)`).
  duration tolerance{std::chrono::seconds(1)};
  source_position where;  // the file
};

// The file's words for the schema's enums ("lean", "restart", "drop-connection", "new-session", …), for the
// runner's timeline and reports.
std::string_view to_string(client_kind k) noexcept;
std::string_view to_string(admin_kind k) noexcept;
std::string_view to_string(occupant_kind k) noexcept;
std::string_view to_string(close_kind k) noexcept;
std::string_view to_string(reconnect_outcome o) noexcept;

// Parses scenario text. `source` names it in errors; profile paths are relative to `base_dir`. Unknown keys, wrong
// types, a missing expectation, a step naming a client that does not exist, an event no one can send: all
// scenario_error, the only exception it throws whatever the text holds (tests/fuzz/scenario_fuzz.cpp).
scenario parse_scenario(const std::string& text, const std::string& source, const std::string& base_dir = ".",
                        sim::certificate_handling certificates = sim::certificate_handling::load_or_generate);
scenario load_scenario(const std::string& path);

// Why `s` cannot be replayed at `time_scale` (every duration of the file multiplied by it), or nothing: a duration
// the runner scales to the millisecond would last less than 1 ms (rounded to none, it would change what the
// scenario means: a latency gone, two waits in another order), or more than 1000 times 24h. "timeline[3].after
// (500ms) would last 0.5 ms: ...". `rdpsim run --time-scale` and `rdpsim demo` refuse such a scale.
std::optional<std::string> time_scale_problem(const scenario& s, double time_scale);

// `rdpsim run` arguments: files, and directories searched (recursively, sorted, at most 32 levels deep) for *.yaml.
// A path that does not exist, a directory without scenarios, and a directory or *.yaml that cannot be read (no
// permission, a dangling link) are scenario_errors.
std::vector<std::string> find_scenario_files(const std::vector<std::string>& paths);

}  // namespace rdp::scenarios
