#pragma once
// The fault-injecting TCP proxy (docs/proxy.md): a relay between any RDP client and any server that follows the
// clear-text phases of each connection (protocol/stream_phase.hpp) and applies the faults of faults.hpp's table — a
// stateful firewall's idle timeout, resets now or at a phase, blackhole, latency, bandwidth, slicing, corruption, the
// listener down, refused connections — to all connections or to one, changeable while it runs. What each fault does
// to a flow is decided by fault_policy.hpp; this relay carries it out.
//
// Process-wide effect: the first fault_proxy sets SIGPIPE to ignored if it was at its default (splice(2) has no
// MSG_NOSIGNAL; fault_proxy.cpp says why).
//
// Threading: every member function must be called on the proxy's executor (post to it from elsewhere), like the
// simulator's server; on_event runs there too.
#include "rdp/capture/flow.hpp"
#include "rdp/net/asio.hpp"
#include "rdp/net/endpoint.hpp"
#include "rdp/proxy/faults.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rdp::proxy {

using connection_id = std::uint64_t;  // 1, 2, … in the order of accept

enum class event_kind {
  accepted,            // a client connection was accepted
  upstream_connected,  // … and its upstream connection made (detail: the upstream's local address)
  upstream_failed,     // the upstream connection failed (detail: why); the client is reset
  refused,             // refuse_new (accepted and reset at once), or a connection limit (detail: which, and for whom)
  phase,               // a phase was reached (`reached`); detail: requested/selected protocols, or what was lost
  fault_applied,       // a fault change took effect, or a fault fired (reset at a phase, …); detail says which
  idle_expired,        // the flow was forgotten after the idle timeout; detail: what happens to it now
  closed,              // one side ended: `who` and `how`
  listener_down,       // the listener was closed (listener_down fault)
  listener_up,         // … and listens again (only once it truly does)
  listener_failed,     // reopening the listener failed (detail: the error; another attempt follows)
};
std::string_view to_string(event_kind k) noexcept;  // "accepted", "upstream-connected", …

enum class closer { client, server, proxy };
enum class close_how { fin, rst, deadline, error };
std::string_view to_string(closer c) noexcept;     // "client", "server", "proxy"
std::string_view to_string(close_how h) noexcept;  // "fin", "rst", "deadline", "error"

struct proxy_event {
  connection_id connection = 0;  // 0: the listener's own events
  std::int64_t at_us = 0;        // system clock, µs since the Unix epoch
  event_kind kind = event_kind::accepted;
  std::optional<phase> reached;  // kind phase
  std::optional<closer> who;     // kind closed: who ended a side; for `proxy`, `toward` says which socket
  std::optional<close_how> how;
  std::optional<closer> toward;  // kind closed by the proxy: the side it closed (client or server)
  std::uint64_t bytes_from_client = 0;  // forwarded so far
  std::uint64_t bytes_from_server = 0;
  std::string detail;
};
// One JSON object and "\n": {"connection":N|null,"at_us":…,"event":"closed","phase":…,"who":…,"how":…,
// "toward":…,"bytes_from_client":…,"bytes_from_server":…,"detail":…} (absent values are null).
std::string to_json_line(const proxy_event& event);

struct proxy_config {
  net::host_port listen{"127.0.0.1", 0};
  net::host_port upstream{"127.0.0.1", net::default_rdp_port};
  fault_change initial;                        // in force from the start, for every connection
  net::milliseconds connect_timeout{5000};     // to the upstream, per connection
  net::milliseconds write_timeout{30000};      // a side that does not read for this long ends its connection
  // Once one side has ended its stream (FIN, passed on to the other), the other side has this long without sending
  // anything to end its own; then the proxy closes both (a `closed` event, how `deadline`). Bounds the descriptors a
  // peer that never answers a FIN can hold (issue 24: 512 idle clients after the server closed held 1,035 fds).
  net::milliseconds half_close_timeout{5000};
  // A connection refused for a limit is held at most this long to read an X.224 Connection Request and answer it
  // with a Disconnect Request, and as long again to drain before the close (docs/proxy.md, "Limits").
  net::milliseconds refusal_timeout{2000};
  std::function<void(const proxy_event&)> on_event;
  bool record = false;                         // keep each connection's client-side stream (take_flows)
  std::size_t max_connections = 512;           // at once, overall; more are refused as busy (docs/proxy.md)
  std::size_t max_connections_per_source = 64; // at once from one client IP address; more are refused as busy
  std::size_t buffer_size = 16 * 1024;         // per direction
  std::size_t max_record_bytes = 64u << 20;    // per connection; recording stops there (said in an event)
};

struct proxy_counters {
  std::uint64_t accepted = 0;
  std::uint64_t refused = 0;             // every refusal: refuse_new and the two limits below
  std::uint64_t refused_source_limit = 0;   // max_connections_per_source were open from the client's address
  std::uint64_t refused_overall_limit = 0;  // max_connections were open
  std::uint64_t half_close_expiries = 0;    // flows closed because one side never followed the other's FIN
  std::uint64_t upstream_failures = 0;
  std::uint64_t idle_expiries = 0;
  std::uint64_t resets_to_client = 0;    // RSTs the proxy sent to clients
  std::uint64_t resets_to_server = 0;    // … and to the upstream
  std::uint64_t bytes_from_client = 0;   // forwarded
  std::uint64_t bytes_from_server = 0;
  std::uint64_t bytes_dropped = 0;       // read and not forwarded (drop, blackhole)
  std::uint64_t bytes_spliced = 0;       // of the forwarded bytes, those moved by splice(2) without a copy
  std::uint64_t open = 0;                // connections now
  bool listening = false;                // the listener is open and accepting now
  std::uint64_t listener_failures = 0;   // attempts to reopen the listener that failed
  std::string listener_error;            // the last failure's text ("" if none yet); kept after a recovery
};

struct connection_info {
  connection_id id = 0;
  std::string client;           // the client's address, "127.0.0.1:50123"
  std::uint16_t upstream_port = 0;  // local port of the upstream socket (0 before it is connected)
  std::vector<phase> reached;   // in order
  bool forgotten = false;       // idle-expired
  std::uint64_t bytes_from_client = 0, bytes_from_server = 0;
};

class fault_proxy {
 public:
  // Binds the listener (throws std::runtime_error when it cannot; std::invalid_argument for a bad config).
  fault_proxy(net::asio::any_io_executor executor, proxy_config config);
  ~fault_proxy();  // like stop(); call on the executor's thread or after it stopped
  fault_proxy(const fault_proxy&) = delete;
  fault_proxy& operator=(const fault_proxy&) = delete;

  net::tcp::endpoint local_endpoint() const;
  void start();
  // Closes the listener and every connection (gracefully: FIN both ways), records their flows; no event after it.
  void stop();

  // For all connections now and every later one.
  void apply(const fault_change& change);
  // For one connection; false if there is no such live connection.
  bool apply(connection_id id, const fault_change& change);
  // A phase told from outside (logged_on, active, session_info_sent from rdpsim's session events): faults tied to
  // it fire then. False if there is no such live connection.
  bool tell_phase(connection_id id, phase reached);
  // The live connection whose upstream socket has this local port: how the runner maps rdpsim's peer address.
  std::optional<connection_id> connection_by_upstream_port(std::uint16_t port) const;

  proxy_counters counters() const;
  std::vector<connection_info> connections() const;
  const fault_change& faults() const noexcept;  // what new connections get (initial + every apply(change))
  // The client-side flows of connections that have ended (stop() ends all), moved out. Empty unless `record`.
  std::vector<capture::tcp_flow> take_flows();

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace rdp::proxy
