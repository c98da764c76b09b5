#pragma once
// `rdpprobe local`: who listens on a TCP port of this machine (like `netstat -aon` on Windows, `ss -ltnp` here),
// and whether that is one RDP server. Listening sockets come from /proc/net/tcp{,6}, their owners from the
// socket:[inode] links in /proc/<pid>/fd; each listening address is then probed with the scanner (docs/local-listeners.md).
//
// Layers, so each can be tested alone: pure parsers of /proc text (proc_parsers.hpp), a collector reading a /proc
// tree (find_listeners), the verdict step's probing (probe_local_listeners), and the report — findings and
// renderings — which is pure again (local_report.hpp).
#include "rdp/probe/local_report.hpp"
#include "rdp/probe/scanner.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>

namespace rdp::probe {

// Reads <proc>/net/tcp{,6}, keeps LISTEN sockets on `port`, and finds their owners in <proc>/<pid>/fd. Processes
// that vanish meanwhile are skipped; those whose fd directory is not readable are counted in `uninspected`.
// Throws std::runtime_error only when <proc>/net/tcp itself cannot be read (no procfs).
local_report find_listeners(std::uint16_t port, const std::filesystem::path& proc = "/proc");

// The options the verdict step probes with: security protocols rdp and tls only, no combinations, short deadlines
// (a local listener answers in microseconds; one that does not is itself the finding).
probe_options local_probe_options();

// The spread's size: connections per member of an SO_REUSEPORT group, at most max_spread_connections in all, and
// how many run at once (local_probe.cpp says why 8 per member meets each one with high probability).
inline constexpr std::size_t spread_connections_per_socket = 8;
inline constexpr std::size_t max_spread_connections = 64;
inline constexpr std::size_t spread_in_flight = 8;
// How many connections the spread of a group of `sockets` makes: `requested` when it is not 0 (at most
// max_spread_connections), else spread_connections_per_socket per socket, at most max_spread_connections.
std::size_t spread_connections_for(std::size_t sockets, std::size_t requested = 0);

struct local_options {
  probe_options probe = local_probe_options();
  // Connections of each SO_REUSEPORT group's spread (a `--connections N` flag); 0: spread_connections_for's default.
  std::size_t connections = 0;
};

// Probes each distinct listening address once (wildcards via loopback) and attaches the verdict to every listener
// there; probes an IPv4 loopback address too when a [::] socket may take IPv4 clients (the dual-stack check); for
// an address whose connections meet an SO_REUSEPORT group, makes the spread's connections, one negotiation each.
// Then evaluates. Without listeners it probes nothing.
void probe_local_listeners(local_report& report, const local_options& options);
void probe_local_listeners(local_report& report, const probe_options& options = local_probe_options());

// find_listeners + probe_local_listeners + rendering, for `rdpprobe local`. 0 when exactly one owner and it is an
// RDP server, 1 on any finding (nothing listening included). Reading /proc failing is reported on `out` as a
// finding too.
int run_local(std::uint16_t port, bool json, std::ostream& out, const local_options& options = {});

}  // namespace rdp::probe
