#pragma once
// The fault proxy's vocabulary and its table of faults (docs/proxy.md): the phases it follows in the clear-text part
// of a stream, what a stateful firewall does with a flow it has forgotten, a change to the faults in force, and one
// row per fault naming it once — its flag, its control key, its scenario key, the kind of its value and its doc line.
// `rdpsim proxy`'s flags, the control request's "set", a scenario's `path: {proxy: …}` and `fault:` steps, merge,
// describe and the time scale all walk fault_table; what a fault does is fault_policy.hpp's. Plain types, no I/O.
//
// Adding a fault: a member of fault_change, a row of fault_table (and its words, if it has its own: faults.cpp), what
// it does in fault_policy.cpp with its test, and the docs (a unit test checks that docs/proxy.md shows the table).
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace rdp::proxy {

using duration = std::chrono::milliseconds;

// What the proxy follows in the clear-text part of a stream (protocol/stream_phase.hpp), and — only when something
// outside the proxy says so (the scenario runner, from rdpsim's session events) — the RDP phases inside TLS.
enum class phase {
  connected,          // the client's TCP connection was accepted and the upstream connection made
  x224_request,       // the TPKT/X.224 Connection Request passed (client to server)
  x224_confirm,       // the Connection Confirm passed (server to client)
  tls_client_hello,
  tls_established,    // the end of the TLS handshake (application data records have begun both ways)
  first_app_data,     // the first application data record after the handshake
  logged_on,          // told from outside: the server accepted the logon
  active,             // told from outside: the session is active
  session_info_sent,  // told from outside: the server sent Save Session Info (the auto-reconnect cookie)
};
std::string_view to_string(phase p) noexcept;       // "x224-request", "tls-established", "active", …
std::optional<phase> phase_from_word(std::string_view word) noexcept;

// What a stateful firewall does with a flow it has forgotten (shared/LAB.md 2-3 in the project's docs/proxy.md).
enum class idle_expiry {
  drop,          // everything later is dropped both ways. In a userspace proxy this is silence at the application
                 // layer: the proxy's kernel still ACKs the client's segments (no retransmissions, unlike a firewall)
  reset_sender,  // the next segment in either direction is answered with a reset to the side that sent it
  reset_both,    // Azure Load Balancer's "TCP reset": both sides are reset when the flow expires
};
std::string_view to_string(idle_expiry e) noexcept;  // "drop", "reset", "reset-both"
std::optional<idle_expiry> idle_expiry_from_word(std::string_view word) noexcept;

// Which chunk `corrupt` spoils: the next one read from the client, from the server, or the next one each way.
enum class corrupt_target { none, from_client, from_server, both };

// A change to the faults in force, for all connections or one: every member is optional, and only what it names
// changes. Durations are real time (the scenario runner has already applied its time scale).
struct fault_change {
  // Idle timeout like a stateful firewall: after this long with no data either way the flow is forgotten. Counted
  // from when `idle_from` is reached (default: connected). std::nullopt inside: no idle timeout any more.
  std::optional<std::optional<duration>> idle_timeout;
  std::optional<idle_expiry> on_idle;
  std::optional<phase> idle_from;
  std::optional<duration> latency, jitter;     // added to every forwarded chunk, each direction; 0 = none
  std::optional<std::uint64_t> bandwidth;      // bytes per second each direction; 0 = unlimited
  std::optional<std::uint64_t> slice;          // forward in writes of at most this many bytes; 0 = whole reads
  std::optional<duration> slice_delay;         // pause between slices
  bool reset_now = false;                      // reset both sides of the connection(s) at once
  std::optional<phase> reset_at_phase;         // reset both sides `reset_after` after this phase is reached
  std::optional<duration> reset_after;
  std::optional<bool> blackhole;               // true: stop forwarding either way, keep both sockets open
  std::optional<duration> listener_down;       // close the listener for this long (connections already made stay)
  std::optional<bool> refuse_new;              // true: each new connection is accepted and reset at once
  std::optional<corrupt_target> corrupt;       // invert one byte of the next chunk (per connection, once per naming)
};

// ---- The table --------------------------------------------------------------------------------------------------

// How a fault's value is written: one grammar per kind, the same for a flag, a control request and a scenario file.
enum class fault_value {
  time,        // a duration, net::read_duration (docs/quantities.md), in whole milliseconds; a request's `…_ms` key
               // takes a number of milliseconds
  limit,       // a duration, or `none` (null in a file or a request): no limit any more
  rate,        // net::read_rate: bytes per second, `64KiB/s`, `10Mbit/s`
  size,        // net::read_size: bytes, `1500`, `64KiB`
  phase_word,  // a phase (to_string(phase))
  word,        // one of the words of the member's type (faults.cpp: idle_expiry's, corrupt_target's)
  on_off,      // true or false; a flag without a value
  act,         // true: done once when the change is applied, never kept; no flag (there is no connection at the start)
};

// The member a row reads and writes. A member of a new type adds its alternative here.
using fault_member =
    std::variant<std::optional<duration> fault_change::*, std::optional<std::optional<duration>> fault_change::*,
                 std::optional<std::uint64_t> fault_change::*, std::optional<phase> fault_change::*,
                 std::optional<idle_expiry> fault_change::*, std::optional<corrupt_target> fault_change::*,
                 std::optional<bool> fault_change::*, bool fault_change::*>;

struct fault_row {
  std::string_view scenario_key;  // `latency:` in `path: {proxy: …}` and a `fault:` step; also the fault's name
  std::string_view flag;          // `rdpsim proxy --latency D` ("" when there is none)
  std::string_view control_key;   // `"latency_ms"` in a control request's "set"
  std::string_view said;          // how describe() says it: "latency 20ms"
  std::string_view said_off;      // … and false or none, for on_off and limit ("no blackhole", "accept new")
  fault_value value;
  bool zero_allowed;              // 0 is a value (it lifts the fault) in a file or a request; a flag never takes 0
  std::uint64_t most;             // the largest value of a size (0: no bound but the grammar's)
  fault_member member;
  std::string_view doc;           // the fault in one line: docs/proxy.md's table and the flag's help
};

inline constexpr std::array<fault_row, 15> fault_table{{
    {"idle_timeout", "--idle-timeout", "idle_timeout_ms", "idle-timeout", "no idle-timeout", fault_value::limit,
     false, 0, &fault_change::idle_timeout,
     "like a stateful firewall: forget the flow after this long with no data either way"},
    {"on_idle", "--on-idle", "on_idle", "on-idle", "", fault_value::word, false, 0, &fault_change::on_idle,
     "what a forgotten flow gets: drop (silence), reset (the next sender), reset-both (at once); default drop"},
    {"idle_from", "--idle-from", "idle_from", "idle-from", "", fault_value::phase_word, false, 0, &fault_change::idle_from,
     "count idle time only from this phase on (default connected)"},
    {"latency", "--latency", "latency_ms", "latency", "", fault_value::time, true, 0, &fault_change::latency,
     "added to every forwarded chunk, each way"},
    {"jitter", "--jitter", "jitter_ms", "jitter", "", fault_value::time, true, 0, &fault_change::jitter,
     "a random extra delay per chunk, uniform in [0, D]"},
    {"bandwidth", "--bandwidth", "bandwidth", "bandwidth", "", fault_value::rate, true, 0, &fault_change::bandwidth,
     "bytes per second each way (token bucket); 0 unlimited"},
    {"slice", "--slice", "slice", "slice", "", fault_value::size, true, 1u << 24, &fault_change::slice,
     "forward in writes of at most this many bytes (up to 16MiB); 0 whole reads"},
    {"slice_delay", "--slice-delay", "slice_delay_ms", "slice-delay", "", fault_value::time, true, 0,
     &fault_change::slice_delay, "pause between slices"},
    {"reset_now", "", "reset_now", "reset now", "", fault_value::act, false, 0, &fault_change::reset_now,
     "reset both sides at once (a change only: there is no connection at the start)"},
    {"reset_at", "--reset-at", "reset_at", "reset at", "", fault_value::phase_word, false, 0,
     &fault_change::reset_at_phase, "reset both sides when this phase is reached (after reset_after)"},
    {"reset_after", "--reset-after", "reset_after_ms", "reset after", "", fault_value::time, true, 0,
     &fault_change::reset_after, "… this long after the phase of reset_at (default 0)"},
    {"blackhole", "--blackhole", "blackhole", "blackhole", "no blackhole", fault_value::on_off, false, 0,
     &fault_change::blackhole, "forward nothing either way (FINs neither), keep both sockets open"},
    {"listener_down", "--listener-down", "listener_down_ms", "listener down", "", fault_value::time, false, 0,
     &fault_change::listener_down, "close the listener for this long (connections made stay); all connections only"},
    {"refuse_new", "--refuse-new", "refuse_new", "refuse new", "accept new", fault_value::on_off, false, 0,
     &fault_change::refuse_new, "accept each new connection and reset it at once; all connections only"},
    {"corrupt", "--corrupt", "corrupt", "corrupt", "", fault_value::word, false, 0, &fault_change::corrupt,
     "invert the middle byte of the next chunk from-client, from-server or both (once each; none disarms)"},
}};

// The row whose key is `key` in that naming, or nullptr.
const fault_row* fault_by_scenario_key(std::string_view key) noexcept;
const fault_row* fault_by_control_key(std::string_view key) noexcept;

// What a row's value looks like, for messages and docs: "a duration such as 500ms, 30s, 4m30s or 2h (0 to 24h)",
// "drop, reset or reset-both", "a phase (connected, x224-request, …)".
std::string describe_value(const fault_row& row);
// The flag's value as the docs and the help write it: "D", "RATE", "N", "PHASE", "drop|reset|reset-both"; "" for
// on_off (a flag alone) and act.
std::string value_placeholder(const fault_row& row);

// Whether the flag or key the reader came from may say 0 (a file or a request, when the row allows it) or not (a flag:
// a flag given sets a fault).
enum class fault_origin { flag, change };

// Reads `text`, written in `row`'s grammar, into `into`. On failure, false and `why`: the grammar's own words, which
// quote `text` as given ("'fast' is not a rate: expected a number first", "expected drop, reset or reset-both, found
// 'rst'"); the caller names the flag or key before it and escapes the whole message where it prints it.
bool read_fault(const fault_row& row, std::string_view text, fault_origin origin, fault_change& into, std::string* why);

// Whether `change` names `row`'s fault.
bool names(const fault_change& change, const fault_row& row) noexcept;
// Whether `change` names any fault at all.
bool names_any(const fault_change& change) noexcept;

// Every duration `change` holds, with its row: what a time scale multiplies (the scenario runner, time_scale_problem).
// A limit's `none` is not a duration.
template <class Change, class Fn>
  requires std::is_same_v<std::remove_const_t<Change>, fault_change>
void for_each_duration(Change& change, Fn&& fn) {
  for (const auto& row : fault_table) {
    if (const auto* m = std::get_if<std::optional<duration> fault_change::*>(&row.member)) {
      if (auto& d = change.**m) fn(row, *d);
    } else if (const auto* l = std::get_if<std::optional<std::optional<duration>> fault_change::*>(&row.member)) {
      if (auto& d = change.**l; d && *d) fn(row, **d);
    }
  }
}

// Merges `change` into `into`: what `change` names replaces what `into` had (an act is not kept: it is done once).
void merge(fault_change& into, const fault_change& change);
// "idle-timeout 30s, on-idle reset, latency 50ms, …" in the table's order, for events and logs; "none" for an empty
// change. Each part's value is its last word (the scenario runner says real time beside it).
std::string describe(const fault_change& change);

}  // namespace rdp::proxy
