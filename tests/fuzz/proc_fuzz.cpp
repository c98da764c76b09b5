// Fuzzes the /proc parsers of `rdpprobe local` (probe/src/proc_parsers.cpp): /proc/net/tcp and tcp6 text, the
// socket:[inode] links of /proc/<pid>/fd, /proc directory names, /proc/<pid>/cmdline and comm. The kernel writes
// /proc/net/tcp, but a process writes its own command line and name: any bytes. Checks: nothing crashes, every
// socket parsed is a well-formed address and port, and cmdline and comm keep their bounds and bytes.
#include "rdp/probe/proc_parsers.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace rdp::probe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const bool ipv6 : {false, true}) {
    for (const auto& s : parse_proc_net_tcp(text, ipv6)) {
      if (s.ipv6 != ipv6 || s.address.empty() || s.address.size() > 45) std::abort();  // INET6_ADDRSTRLEN - 1
      if (!ipv6 && s.address.find(':') != std::string::npos) std::abort();
    }
  }
  if (auto inode = socket_inode_from_link(text)) {
    if (text != "socket:[" + std::to_string(*inode) + "]" && !text.starts_with("socket:[0")) {
      // Leading zeros are the only other spelling from_chars accepts.
      std::abort();
    }
  }
  if (auto pid = pid_from_proc_entry(text)) {
    if (*pid <= 0 || std::to_string(*pid) != text) std::abort();
  }
  const auto cmdline = cmdline_from_proc(text);
  if (cmdline.size() > max_cmdline_chars || cmdline.find('\0') != std::string::npos) std::abort();
  const auto comm = comm_from_proc(text);
  if (comm.size() > text.size() || (!comm.empty() && comm.back() == '\n')) std::abort();
  return 0;
}
