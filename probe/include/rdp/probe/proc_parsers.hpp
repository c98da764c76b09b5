#pragma once
// The pure parsers of `rdpprobe local` (local_listeners.hpp): text read from /proc in, values out. No I/O and no
// Asio, so that they can be tested from fixed strings and fuzzed alone (tests/fuzz/proc_fuzz.cpp). /proc is written
// by the kernel, but a process's comm and cmdline are whatever that process chose: any bytes, kept as they are here
// and made safe where they are shown (wire_json.hpp for JSON, protocol::escape_for_terminal for the terminal).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rdp::probe {

// st of a /proc/net/tcp line: the kernel's TCP_LISTEN (include/net/tcp_states.h).
inline constexpr std::uint8_t tcp_state_listen = 0x0A;

// One line of /proc/net/tcp or /proc/net/tcp6.
struct proc_net_socket {
  std::string address;  // local address as text: "127.0.0.1", "::", "::1", "::ffff:127.0.0.1"
  bool ipv6 = false;    // from /proc/net/tcp6 (a v4-mapped address is still an IPv6 socket)
  std::uint16_t port = 0;
  std::uint8_t state = 0;  // tcp_state_listen for listeners
  std::uint32_t uid = 0;   // the socket's owner uid
  std::uint64_t inode = 0;

  friend bool operator==(const proc_net_socket&, const proc_net_socket&) = default;
};

// Parses the text of /proc/net/tcp (ipv6 = false) or /proc/net/tcp6 (ipv6 = true). The header line, blank lines
// and malformed lines are skipped, never an error. Addresses are printed by the kernel as 32-bit words in host
// byte order ("0100007F" is 127.0.0.1 on a little-endian machine); the port is plain hex.
std::vector<proc_net_socket> parse_proc_net_tcp(std::string_view text, bool ipv6);

// "socket:[12345]" (a /proc/<pid>/fd readlink) → 12345; anything else → nullopt.
std::optional<std::uint64_t> socket_inode_from_link(std::string_view link);

// A /proc directory entry that names a process ("1234") → its pid; anything else ("self", "net", "01x") → nullopt.
std::optional<int> pid_from_proc_entry(std::string_view name);

inline constexpr std::size_t max_cmdline_chars = 1024;
// /proc/<pid>/cmdline (arguments each ending in NUL) as one line: trailing NULs dropped, the others as spaces, cut
// to max_cmdline_chars (ending "...") when longer. Every other byte is kept as the process wrote it.
std::string cmdline_from_proc(std::string_view raw);
// /proc/<pid>/comm without its line end. Every other byte is kept (a process may name itself anything, 15 bytes).
std::string comm_from_proc(std::string_view raw);

}  // namespace rdp::probe
