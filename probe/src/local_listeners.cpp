#include "rdp/probe/local_listeners.hpp"

#include "rdp/probe/wire_json.hpp"
#include "rdp/protocol/text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <numeric>
#include <ostream>
#include <pwd.h>
#include <set>
#include <stdexcept>
#include <tuple>
#include <unistd.h>

namespace rdp::probe {
namespace {

using nlohmann::json;

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

// 0.0.0.0 → 127.0.0.1, :: → ::1, ::ffff:a.b.c.d → a.b.c.d; link-local IPv6 has no scope in /proc: not probed.
std::optional<std::string> probe_address(const proc_net_socket& s) {
  if (!s.ipv6) return s.address == "0.0.0.0" ? std::string("127.0.0.1") : s.address;
  if (s.address == "::") return std::string("::1");
  // std::find rather than string::find: GCC 12 at -O2 misreads the latter's memchr bound here (stringop-overread).
  const std::string_view address = s.address;
  if (address.starts_with("::ffff:") && std::find(address.begin(), address.end(), '.') != address.end()) {
    const std::string v4(address.substr(7));
    return v4 == "0.0.0.0" ? std::string("127.0.0.1") : v4;
  }
  if (s.address.size() >= 4 && (s.address.starts_with("fe8") || s.address.starts_with("fe9") ||
                                s.address.starts_with("fea") || s.address.starts_with("feb")))
    return std::nullopt;
  return s.address;
}

std::string owners_text(const local_listener& l) {
  if (l.owners.empty()) return "an unidentified process of user " + l.user;
  std::string text;
  for (const auto& o : l.owners) {
    if (!text.empty()) text += ", ";
    text += (o.comm.empty() ? std::string("?") : o.comm) + " (pid " + std::to_string(o.pid) + ")";
  }
  return text;
}

std::string what_answered(const local_listener& l) {
  if (l.listener) return std::string(protocol::to_string(l.listener->kind)) + ": " + l.listener->detail;
  return std::string(to_string(*l.result)) + ": " + l.evidence;
}

std::string rdp_column(const local_listener& l) {
  if (!l.result) return "-";
  std::string text(to_string(*l.result));
  if (l.listener) text += " (" + std::string(protocol::to_string(l.listener->kind)) + ")";
  return text;
}

std::size_t find_root(std::vector<std::size_t>& parent, std::size_t i) {
  while (parent[i] != i) i = parent[i] = parent[parent[i]];
  return i;
}

}  // namespace

std::string local_listener::local_address() const {
  return (socket.ipv6 ? "[" + socket.address + "]" : socket.address) + ":" + std::to_string(socket.port);
}

bool is_rdp_server(verdict v) noexcept {
  return v == verdict::rdp || v == verdict::negotiation_failed || v == verdict::tls_failed;
}

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

probe_options local_probe_options() {
  probe_options options;
  options.protocols = {protocol::security_protocol::rdp, protocol::security_protocol::ssl};
  options.combinations.clear();
  options.connect_timeout = net::milliseconds(1000);
  options.read_timeout = net::milliseconds(1500);
  options.tls_timeout = net::milliseconds(2000);
  options.cookie = "rdpprobe-local";
  return options;
}

void probe_local_listeners(local_report& report, const probe_options& options) {
  // One probe per distinct address: a wildcard v4 socket and a specific 127.0.0.1 one would otherwise be probed
  // twice at the same place. With SO_REUSEPORT the kernel picks one of the sockets there for our connection.
  std::map<std::string, std::vector<std::size_t>> by_address;
  for (std::size_t i = 0; i < report.listeners.size(); ++i) {
    auto& l = report.listeners[i];
    if (auto where = probe_address(l.socket)) by_address[*where].push_back(i);
  }
  std::vector<std::pair<std::string, net::host_port>> targets;
  for (const auto& [address, indexes] : by_address) {
    net::host_port hp{address, report.port};
    targets.emplace_back(hp.text(), hp);
  }
  if (!targets.empty()) {
    const auto results = probe_all(targets, options, targets.size());
    std::size_t t = 0;
    for (const auto& [address, indexes] : by_address) {
      const auto& r = results.at(t++);
      for (const auto i : indexes) {
        auto& l = report.listeners[i];
        l.probed = r.address;
        l.result = r.result;
        l.evidence = r.evidence;
        l.listener = r.listener;
      }
    }
  }
  report.probed = true;
  evaluate_local_report(report);
}

void evaluate_local_report(local_report& report) {
  report.findings.clear();
  report.notes.clear();
  const auto& ls = report.listeners;
  if (ls.empty()) {
    report.findings.push_back("nothing listens on port " + std::to_string(report.port));
  }

  // Owner groups: sockets held by a common process are one owner (inherited across fork, or one program with a
  // v4 and a v6 socket). Union-find over the sockets that have a known owner.
  std::vector<std::size_t> parent(ls.size());
  std::iota(parent.begin(), parent.end(), std::size_t{0});
  std::map<int, std::size_t> first_socket_of_pid;
  for (std::size_t i = 0; i < ls.size(); ++i)
    for (const auto& o : ls[i].owners) {
      auto [it, inserted] = first_socket_of_pid.emplace(o.pid, i);
      if (!inserted) parent[find_root(parent, i)] = find_root(parent, it->second);
    }
  std::map<std::size_t, std::vector<std::size_t>> groups;  // root → sockets, known owners only
  std::vector<std::size_t> unknown;
  for (std::size_t i = 0; i < ls.size(); ++i) {
    if (ls[i].owners.empty()) unknown.push_back(i);
    else groups[find_root(parent, i)].push_back(i);
  }

  bool multiple = groups.size() > 1;
  std::string why;
  if (multiple) {
    // Two groups on one identical address can only be SO_REUSEPORT; otherwise the address a client uses decides.
    std::set<std::pair<bool, std::string>> seen;
    bool same_address = false;
    for (const auto& [root, members] : groups) {
      std::set<std::pair<bool, std::string>> mine;
      for (const auto i : members) mine.emplace(ls[i].socket.ipv6, ls[i].socket.address);
      for (const auto& a : mine) same_address = !seen.insert(a).second || same_address;
    }
    why = same_address ? "SO_REUSEPORT: the kernel spreads new connections across them"
                       : "which one a client reaches depends on the address it connects to";
  } else if (!unknown.empty()) {
    // Processes we could not see: sockets created by different users cannot be one process's.
    std::set<std::uint32_t> uids;
    for (const auto& l : ls) uids.insert(l.socket.uid);
    if (uids.size() > 1) {
      multiple = true;
      why = "sockets of different users";
    }
  }
  if (multiple) {
    std::string who;
    for (const auto& [root, members] : groups) {
      std::string addresses;
      for (const auto i : members) addresses += (addresses.empty() ? "" : ", ") + ls[i].local_address();
      who += (who.empty() ? "" : "; ") + owners_text(ls[members.front()]) + " on " + addresses;
    }
    for (const auto i : unknown) who += (who.empty() ? "" : "; ") + owners_text(ls[i]) + " on " + ls[i].local_address();
    report.findings.push_back("multiple owners of port " + std::to_string(report.port) + " (" + why + "): " + who);
  }
  for (const auto i : unknown)
    report.findings.push_back("owner unknown: no process this user can inspect holds the socket on " +
                              ls[i].local_address() + " (uid " + std::to_string(ls[i].socket.uid) + ", " +
                              ls[i].user + "); run as root to see every process");

  // One finding per probed address that is not an RDP server, naming who listens there.
  std::set<std::string> reported;
  for (const auto& l : ls) {
    if (!l.result) {
      if (report.probed && l.probed.empty())
        report.findings.push_back("not probed: " + l.local_address() +
                                  " is link-local and /proc/net/tcp6 does not say on which interface");
      continue;
    }
    if (is_rdp_server(*l.result) || !reported.insert(l.probed).second) continue;
    std::string owners;
    for (const auto& other : ls)
      if (other.probed == l.probed) {
        const auto text = owners_text(other);
        if (owners.find(text) == std::string::npos) owners += (owners.empty() ? "" : ", ") + text;
      }
    report.findings.push_back("owner is not an RDP server: " + owners + " on " + l.local_address() + " answers " +
                              what_answered(l) + (l.probed != l.local_address() ? " (probed " + l.probed + ")" : ""));
  }
  if (report.uninspected > 0)
    report.notes.push_back(std::to_string(report.uninspected) +
                           " processes could not be inspected (permission denied on /proc/<pid>/fd); run as root "
                           "to see the owners of every socket");
}

nlohmann::json to_json(const local_report& r) {
  json listeners = json::array();
  for (const auto& l : r.listeners) {
    json owners = json::array();
    for (const auto& o : l.owners) owners.push_back(json{{"pid", o.pid}, {"comm", o.comm}, {"cmdline", o.cmdline}});
    listeners.push_back(json{
        {"proto", l.socket.ipv6 ? "tcp6" : "tcp"},
        {"address", l.socket.address},
        {"port", l.socket.port},
        {"local_address", l.local_address()},
        {"uid", l.socket.uid},
        {"user", l.user},
        {"inode", l.socket.inode},
        {"owners", std::move(owners)},
        {"probed", l.probed.empty() ? json(nullptr) : json(l.probed)},
        {"verdict", l.result ? json(to_string(*l.result)) : json(nullptr)},
        {"rdp_server", l.result ? json(is_rdp_server(*l.result)) : json(nullptr)},
        {"evidence", l.result ? json(l.evidence) : json(nullptr)},
        {"listener", l.listener ? json{{"kind", protocol::to_string(l.listener->kind)}, {"detail", l.listener->detail}}
                                : json(nullptr)}});
  }
  json report{{"schema_version", local_report_schema_version},
              {"port", r.port},
              {"listeners", std::move(listeners)},
              {"uninspected_processes", r.uninspected},
              {"findings", r.findings},
              {"notes", r.notes},
              {"healthy", r.findings.empty()}};
  // comm and cmdline are whatever each process chose; findings quote them.
  make_wire_safe(report);
  return report;
}

void print_human(std::ostream& out, const local_report& r) {
  // A process names itself and writes its own command line (and a listener's answer is wire text): all escaped.
  const auto term = [](std::string_view s) { return protocol::escape_for_terminal(s); };
  std::vector<std::vector<std::string>> rows{{"Proto", "Local Address", "PID", "Process", "User", "RDP?", "Command"}};
  for (const auto& l : r.listeners) {
    const std::string proto = l.socket.ipv6 ? "tcp6" : "tcp";
    if (l.owners.empty()) rows.push_back({proto, l.local_address(), "-", "-", term(l.user), term(rdp_column(l)), ""});
    for (const auto& o : l.owners)
      rows.push_back({proto, l.local_address(), std::to_string(o.pid), term(o.comm), term(l.user), term(rdp_column(l)),
                      term(o.cmdline)});
  }
  if (r.listeners.empty()) {
    out << "no socket listens on TCP port " << r.port << "\n";
  } else {
    std::vector<std::size_t> width(rows.front().size(), 0);
    for (const auto& row : rows)
      for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
    for (const auto& row : rows) {
      std::string line;
      for (std::size_t c = 0; c < row.size(); ++c) {
        line += row[c];
        if (c + 1 < row.size()) line += std::string(width[c] - row[c].size() + 2, ' ');
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out << line << "\n";
    }
    std::set<std::string> shown;
    for (const auto& l : r.listeners)
      if (l.result && shown.insert(l.probed).second)
        out << "probe " << l.probed << ": " << to_string(*l.result) << " — " << term(l.evidence) << "\n";
  }
  for (const auto& f : r.findings) out << "FINDING: " << term(f) << "\n";
  for (const auto& n : r.notes) out << "note: " << term(n) << "\n";
  if (r.findings.empty() && r.probed && !r.listeners.empty()) out << "OK: one owner, and it is an RDP server\n";
}

int run_local(std::uint16_t port, bool json_output, std::ostream& out) {
  local_report report;
  try {
    report = find_listeners(port);
    probe_local_listeners(report);
  } catch (const std::runtime_error& e) {
    report = local_report{};
    report.port = port;
    report.findings.push_back(std::string("cannot inspect listeners: ") + e.what());
  }
  if (json_output) out << to_json(report).dump() << "\n";
  else print_human(out, report);
  out.flush();
  // A report that did not reach its reader is not a clean run (the caller makes this exit status 1).
  if (!out) throw std::runtime_error("the report could not be written (standard output failed)");
  return report.findings.empty() ? 0 : 1;
}

}  // namespace rdp::probe
