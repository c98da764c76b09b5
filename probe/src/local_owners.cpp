// `rdpprobe local`'s collector: the listening sockets on a port from <proc>/net/tcp{,6}, and the processes that hold
// them from the socket:[inode] links in <proc>/<pid>/fd (find_listeners, local_listeners.hpp). The text is parsed by
// proc_parsers.cpp; this reads the files and directories.
#include "rdp/probe/local_listeners.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <memory>
#include <pwd.h>
#include <set>
#include <stdexcept>
#include <tuple>
#include <unistd.h>

namespace rdp::probe {
namespace {

// Reads at most `limit` bytes of a file; nullopt with errno set when it cannot be opened or read.
std::optional<std::string> read_file(const std::filesystem::path& path, std::size_t limit) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string data;
  char buf[4096];
  while (data.size() < limit) {
    const ssize_t n = ::read(fd, buf, std::min(sizeof buf, limit - data.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      errno = saved;
      return std::nullopt;
    }
    if (n == 0) break;
    data.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return data;
}

// /proc/net/tcp grows by ~150 bytes a socket; this is room for hundreds of thousands.
constexpr std::size_t max_proc_net_bytes = 256u << 20;

std::string user_name(std::uint32_t uid) {
  long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(hint > 0 ? static_cast<std::size_t>(hint) : 4096);
  for (;;) {
    passwd pw{};
    passwd* found = nullptr;
    const int rc = ::getpwuid_r(static_cast<uid_t>(uid), &pw, buf.data(), buf.size(), &found);
    if (rc == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (rc == 0 && found != nullptr) return found->pw_name;
    return std::to_string(uid);
  }
}

struct dir_closer {
  void operator()(DIR* d) const noexcept { ::closedir(d); }
};
using dir_handle = std::unique_ptr<DIR, dir_closer>;

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Which of the wanted socket inodes does process `pid` hold? denied = its fd directory was not readable.
std::vector<std::uint64_t> held_sockets(const std::filesystem::path& fd_dir, const std::set<std::uint64_t>& wanted,
                                        bool& denied) {
  std::vector<std::uint64_t> held;
  dir_handle dir(::opendir(fd_dir.c_str()));
  if (!dir) {
    denied = errno == EACCES || errno == EPERM;  // ENOENT/ESRCH: the process ended meanwhile
    return held;
  }
  const int dfd = ::dirfd(dir.get());
  while (const dirent* entry = ::readdir(dir.get())) {
    if (!all_digits(entry->d_name)) continue;
    char link[64];
    const ssize_t n = ::readlinkat(dfd, entry->d_name, link, sizeof link);
    if (n <= 0 || static_cast<std::size_t>(n) >= sizeof link) continue;  // closed meanwhile, or not a socket
    const auto inode = socket_inode_from_link(std::string_view(link, static_cast<std::size_t>(n)));
    if (inode && wanted.contains(*inode) && std::find(held.begin(), held.end(), *inode) == held.end())
      held.push_back(*inode);
  }
  return held;
}

}  // namespace

local_report find_listeners(std::uint16_t port, const std::filesystem::path& proc) {
  local_report report;
  report.port = port;
  std::vector<proc_net_socket> sockets;
  for (const bool ipv6 : {false, true}) {
    const auto path = proc / "net" / (ipv6 ? "tcp6" : "tcp");
    const auto text = read_file(path, max_proc_net_bytes);
    if (!text) {
      if (ipv6) continue;  // a kernel without IPv6 has no tcp6
      throw std::runtime_error("cannot read " + path.string() + ": " + std::strerror(errno));
    }
    for (auto& s : parse_proc_net_tcp(*text, ipv6))
      if (s.state == tcp_state_listen && s.port == port) sockets.push_back(std::move(s));
  }
  std::sort(sockets.begin(), sockets.end(), [](const auto& a, const auto& b) {
    return std::tie(a.ipv6, a.address, a.inode) < std::tie(b.ipv6, b.address, b.inode);
  });
  std::set<std::uint64_t> wanted;
  for (auto& s : sockets) {
    wanted.insert(s.inode);
    local_listener l;
    l.user = user_name(s.uid);
    l.socket = std::move(s);
    report.listeners.push_back(std::move(l));
  }
  if (wanted.empty()) return report;

  // Every process's fd table: the only place Linux says which process holds a socket inode.
  dir_handle dir(::opendir(proc.c_str()));
  if (!dir) throw std::runtime_error("cannot list " + proc.string() + ": " + std::strerror(errno));
  while (const dirent* entry = ::readdir(dir.get())) {
    const auto pid = pid_from_proc_entry(entry->d_name);
    if (!pid) continue;
    const auto pid_dir = proc / entry->d_name;
    bool denied = false;
    const auto held = held_sockets(pid_dir / "fd", wanted, denied);
    if (denied) ++report.uninspected;
    if (held.empty()) continue;
    socket_owner owner;
    owner.pid = *pid;
    if (auto comm = read_file(pid_dir / "comm", 64)) owner.comm = comm_from_proc(*comm);
    if (auto cmdline = read_file(pid_dir / "cmdline", max_cmdline_chars + 1)) owner.cmdline = cmdline_from_proc(*cmdline);
    for (auto& l : report.listeners)
      if (std::find(held.begin(), held.end(), l.socket.inode) != held.end()) l.owners.push_back(owner);
  }
  for (auto& l : report.listeners)
    std::sort(l.owners.begin(), l.owners.end(), [](const auto& a, const auto& b) { return a.pid < b.pid; });
  return report;
}

}  // namespace rdp::probe
