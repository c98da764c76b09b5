#include "rdp/probe/proc_parsers.hpp"

#include <arpa/inet.h>
#include <charconv>
#include <cstring>

namespace rdp::probe {
namespace {

std::vector<std::string_view> split_whitespace(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

// The whole of `text` as a number in `base`; from_chars takes no sign for unsigned types and no 0x prefix.
template <typename T>
bool parse_number(std::string_view text, T& out, int base) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
  return ec == std::errc{} && end == text.data() + text.size();
}

// "0100007F" (IPv4) or 32 hex digits (IPv6): each 32-bit word is the kernel's %08X of a network-order word read as
// a host-order integer (net/ipv4/tcp_ipv4.c get_tcp4_sock, net/ipv6/tcp_ipv6.c get_tcp6_sock). Copying each
// parsed word back into memory in host order therefore restores the network-order bytes on any endianness.
std::optional<std::string> address_from_hex(std::string_view hex, bool ipv6) {
  const std::size_t words = ipv6 ? 4 : 1;
  if (hex.size() != words * 8) return std::nullopt;
  unsigned char bytes[16] = {};
  for (std::size_t w = 0; w < words; ++w) {
    std::uint32_t word = 0;
    if (!parse_number(hex.substr(w * 8, 8), word, 16)) return std::nullopt;
    std::memcpy(bytes + w * 4, &word, sizeof word);
  }
  char text[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(ipv6 ? AF_INET6 : AF_INET, bytes, text, sizeof text) == nullptr) return std::nullopt;
  return std::string(text);
}

std::optional<proc_net_socket> parse_line(std::string_view line, bool ipv6) {
  // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
  const auto f = split_whitespace(line);
  if (f.size() < 10 || !f[0].ends_with(':')) return std::nullopt;
  const auto colon = f[1].find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  proc_net_socket s;
  s.ipv6 = ipv6;
  auto address = address_from_hex(f[1].substr(0, colon), ipv6);
  const auto port_hex = f[1].substr(colon + 1);
  if (!address || port_hex.size() != 4 || !parse_number(port_hex, s.port, 16)) return std::nullopt;
  s.address = std::move(*address);
  if (f[3].size() != 2 || !parse_number(f[3], s.state, 16)) return std::nullopt;
  if (!parse_number(f[7], s.uid, 10) || !parse_number(f[9], s.inode, 10)) return std::nullopt;
  return s;
}

}  // namespace

std::vector<proc_net_socket> parse_proc_net_tcp(std::string_view text, bool ipv6) {
  std::vector<proc_net_socket> sockets;
  while (!text.empty()) {
    const auto eol = text.find('\n');
    const auto line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    if (auto s = parse_line(line, ipv6)) sockets.push_back(std::move(*s));
  }
  return sockets;
}

std::optional<std::uint64_t> socket_inode_from_link(std::string_view link) {
  constexpr std::string_view prefix = "socket:[";
  if (!link.starts_with(prefix) || !link.ends_with(']')) return std::nullopt;
  std::uint64_t inode = 0;
  if (!parse_number(link.substr(prefix.size(), link.size() - prefix.size() - 1), inode, 10)) return std::nullopt;
  return inode;
}

std::optional<int> pid_from_proc_entry(std::string_view name) {
  if (name.empty() || name.front() < '1' || name.front() > '9') return std::nullopt;
  int pid = 0;
  if (!parse_number(name, pid, 10) || pid <= 0) return std::nullopt;
  return pid;
}

std::string cmdline_from_proc(std::string_view raw) {
  while (!raw.empty() && raw.back() == '\0') raw.remove_suffix(1);
  std::string line(raw.substr(0, std::min(raw.size(), max_cmdline_chars + 1)));
  for (char& c : line)
    if (c == '\0') c = ' ';
  if (line.size() > max_cmdline_chars) {
    line.resize(max_cmdline_chars - 3);
    line += "...";
  }
  return line;
}

std::string comm_from_proc(std::string_view raw) {
  while (!raw.empty() && raw.back() == '\n') raw.remove_suffix(1);
  return std::string(raw);
}

}  // namespace rdp::probe
