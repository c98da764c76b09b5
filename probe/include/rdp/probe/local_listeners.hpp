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

// Probes each distinct listening address once (wildcards via loopback) and attaches the verdict to every listener
// there, then evaluates. Without listeners it probes nothing.
void probe_local_listeners(local_report& report, const probe_options& options = local_probe_options());

// find_listeners + probe_local_listeners + rendering, for `rdpprobe local`. 0 when exactly one owner and it is an
// RDP server, 1 on any finding (nothing listening included). Reading /proc failing is reported on `out` as a
// finding too.
int run_local(std::uint16_t port, bool json, std::ostream& out);

}  // namespace rdp::probe
