#pragma once
// What `rdpprobe local` found on a port (docs/local-listeners.md): the listening sockets, their owning processes and
// the verdict at each address, the findings drawn from them, and the renderings (JSON, a netstat-like table).
// Pure: no I/O and no sockets, so the findings and the renderings are tested from hand-built reports
// (tests/unit_probe). Collecting (find_listeners) and probing (probe_local_listeners) are local_listeners.hpp.
#include "rdp/probe/listener_spread.hpp"
#include "rdp/probe/proc_parsers.hpp"
#include "rdp/probe/report.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rdp::probe {

// A process holding a listening socket. Several processes hold one socket when it was inherited across fork
// (pre-forking servers, systemd socket activation): one accept queue, not a conflict.
struct socket_owner {
  int pid = 0;
  std::string comm;     // /proc/<pid>/comm
  std::string cmdline;  // cmdline_from_proc(/proc/<pid>/cmdline): NULs as spaces, at most max_cmdline_chars
};

// One listening socket on the port, with its owners and, after probe_local_listeners, what answers there.
struct local_listener {
  proc_net_socket socket;
  std::string user;                  // name of socket.uid, or the number when it has no name
  std::vector<socket_owner> owners;  // empty when no inspectable process holds it (see local_report::uninspected)
  // Filled by probe_local_listeners:
  std::string probed;                // the address probed: 0.0.0.0 via 127.0.0.1, :: via ::1; empty = not probed
  std::optional<verdict> result;
  std::string evidence;
  std::optional<protocol::classification> listener;  // what answered, when it was not RDP

  std::string local_address() const;  // "127.0.0.1:3389", "[::]:3389"
};

// One address the verdict step connected to, standing for a client of its family: 127.0.0.1 for IPv4 clients, ::1
// for IPv6 ones, or the listening address itself when it is neither a wildcard nor loopback. `sockets` are the
// listeners a connection there can meet, chosen as the kernel's listener lookup does (the socket bound to exactly
// that address, else the wildcard of the client's family, else a dual-stack [::]); more than one on one address is
// an SO_REUSEPORT group, and then `spread` counts what many connections met (docs/local-listeners.md).
struct local_probe {
  std::string address;  // "127.0.0.1:3389", "[::1]:3389"
  bool ipv6 = false;    // the family of the client it stands for
  std::vector<std::size_t> sockets;  // indexes into local_report::listeners
  // Only to tell whether a [::] socket takes IPv4 clients (IPV6_V6ONLY=0): an IPv4 loopback address no IPv4
  // socket holds, so that only a dual-stack [::] can answer there. Not a client's view of the port.
  bool dual_stack_check = false;
  std::optional<verdict> result;  // the scanner's probe (probe_all), one target
  std::string evidence;
  std::optional<protocol::classification> listener;  // what answered, when it was not RDP
  std::optional<tally> spread;                       // many connections, one negotiation each: groups only
};

// Version of to_json(local_report)'s shape (docs/local-listeners.md); bump on any incompatible change.
inline constexpr int local_report_schema_version = 1;

struct local_report {
  std::uint16_t port = 0;
  std::vector<local_listener> listeners;  // tcp before tcp6, then by address
  std::size_t uninspected = 0;            // processes whose fds could not be read (permission denied)
  bool probed = false;                    // probe_local_listeners ran
  std::vector<local_probe> probes;        // filled by probe_local_listeners, in the order probed
  std::vector<std::string> findings;      // each makes run_local exit 1
  std::vector<std::string> notes;         // context that is not by itself a problem
};

// Fills findings and notes from listeners, owners and verdicts. Pure: no I/O.
//  - "nothing listens on port N"
//  - "N sockets share A (SO_REUSEPORT group): ..." for each address with more than one listening socket: only
//    SO_REUSEPORT lets them coexist, and the kernel hands each connection to one of them
//  - "multiple owners: ..." when the sockets on the port are held by more than one group of processes (processes
//    sharing a socket are one group, and so are the members of an SO_REUSEPORT group, reported above), or by
//    different uids where the processes could not be seen; left out when the family finding below names them all
//  - "the SO_REUSEPORT group on A answers differently: k of n connections met ..." when a probe's spread counted
//    anything but RDP, or RDP answers that contradict each other (listener_spread.hpp, disagree)
//  - "IPv4 and IPv6 clients meet different listeners ...": the IPv4 and the IPv6 loopback probes met different
//    owners, or one met an RDP server and the other did not
//  - "owner is not an RDP server: ..." for each probed address whose answer was not RDP (an RDP stack that
//    refused our protocols, negotiation-failed or tls-failed, is still an RDP server); for a group, the spread
//    finding says it instead
//  - "owner unknown: ..." for a socket no inspectable process holds (not root), "not probed: ..." for a
//    link-local address, since neither can be shown to be one RDP server
void evaluate_local_report(local_report& report);

// Whether the verdict step considers the listener an RDP server.
bool is_rdp_server(verdict v) noexcept;

// The listeners a connection to `address` (an IP address in text) meets, by the kernel's lookup order: sockets bound
// to exactly that address (a v4-mapped ::ffff:a.b.c.d one for an IPv4 client too), else the wildcard of the
// client's family (0.0.0.0 or ::ffff:0.0.0.0 for IPv4, :: for IPv6), else, for an IPv4 client, a [::] socket,
// which takes it only if IPV6_V6ONLY is off (/proc cannot tell: the probe answers). Indexes into `listeners`.
std::vector<std::size_t> sockets_met_at(const std::vector<local_listener>& listeners, std::string_view address);

nlohmann::json to_json(const local_report& report);
// A netstat-like table (Proto, Local Address, PID, Process, User, RDP?, Command), then findings and notes.
void print_human(std::ostream& out, const local_report& report);

}  // namespace rdp::probe
