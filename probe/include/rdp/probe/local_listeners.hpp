#pragma once
// `rdpprobe local`: who listens on a TCP port of this machine (like `netstat -aon` on Windows, `ss -ltnp` here),
// and whether that is one RDP server. Listening sockets come from /proc/net/tcp{,6}, their owners from the
// socket:[inode] links in /proc/<pid>/fd; each listening address is then probed with the scanner (docs/local-listeners.md).
//
// Three layers, so each can be tested alone: pure parsers of /proc text, a collector reading a /proc tree, and
// the verdict step (probe + findings), whose findings logic is itself pure (evaluate_local_report).
#include "rdp/probe/proc_parsers.hpp"
#include "rdp/probe/report.hpp"
#include "rdp/probe/scanner.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
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

// Version of to_json(local_report)'s shape (docs/local-listeners.md); bump on any incompatible change.
inline constexpr int local_report_schema_version = 1;

struct local_report {
  std::uint16_t port = 0;
  std::vector<local_listener> listeners;  // tcp before tcp6, then by address
  std::size_t uninspected = 0;            // processes whose fds could not be read (permission denied)
  bool probed = false;                    // probe_local_listeners ran
  std::vector<std::string> findings;      // each makes run_local exit 1
  std::vector<std::string> notes;         // context that is not by itself a problem
};

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

// Fills findings and notes from listeners, owners and verdicts. Pure: no I/O.
//  - "nothing listens on port N"
//  - "multiple owners: ..." when the sockets on the port are held by more than one group of processes (processes
//    sharing a socket are one group), or by different uids where the processes could not be seen
//  - "owner is not an RDP server: ..." for each probed address whose answer was not RDP (an RDP stack that
//    refused our protocols, negotiation-failed or tls-failed, is still an RDP server)
//  - "owner unknown: ..." for a socket no inspectable process holds (not root), "not probed: ..." for a
//    link-local address, since neither can be shown to be one RDP server
void evaluate_local_report(local_report& report);

// Whether the verdict step considers the listener an RDP server.
bool is_rdp_server(verdict v) noexcept;

nlohmann::json to_json(const local_report& report);
// A netstat-like table (Proto, Local Address, PID, Process, User, RDP?, Command), then findings and notes.
void print_human(std::ostream& out, const local_report& report);

// find_listeners + probe_local_listeners + rendering, for `rdpprobe local`. 0 when exactly one owner and it is an
// RDP server, 1 on any finding (nothing listening included). Reading /proc failing is reported on `out` as a
// finding too.
int run_local(std::uint16_t port, bool json, std::ostream& out);

}  // namespace rdp::probe
