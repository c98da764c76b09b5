#pragma once
// The fault proxy's vocabulary (docs/proxy.md): the phases it follows in the clear-text part of a stream, what a
// stateful firewall does with a flow it has forgotten, and a change to the faults in force. Plain types, no I/O:
// the scenario schema (scenarios/scenario.hpp) and the proxy's control interface both use them.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

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
  std::optional<std::size_t> slice;            // forward in writes of at most this many bytes; 0 = whole reads
  std::optional<duration> slice_delay;         // pause between slices
  bool reset_now = false;                      // reset both sides of the connection(s) at once
  std::optional<phase> reset_at_phase;         // reset both sides `reset_after` after this phase is reached
  std::optional<duration> reset_after;
  std::optional<bool> blackhole;               // true: stop forwarding either way, keep both sockets open
  std::optional<duration> listener_down;       // close the listener for this long (connections already made stay)
  std::optional<bool> refuse_new;              // true: each new connection is accepted and reset at once
};

}  // namespace rdp::proxy
