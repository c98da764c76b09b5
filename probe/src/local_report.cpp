// `rdpprobe local`'s report without I/O: the findings (owner groups, listeners that are not RDP servers, owners
// that cannot be seen) and the renderings, JSON and a netstat-like table (local_report.hpp).
#include "rdp/probe/local_report.hpp"

#include "rdp/net/json.hpp"
#include "rdp/probe/wire_json.hpp"
#include "rdp/protocol/text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <numeric>
#include <ostream>
#include <set>
#include <string_view>

namespace rdp::probe {
namespace {

using nlohmann::json;

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
        {"probed", net::text_or_null(l.probed)},
        {"verdict", net::map_or_null(l.result, [](verdict v) { return to_string(v); })},
        {"rdp_server", net::map_or_null(l.result, is_rdp_server)},
        // Evidence belongs to a verdict: null without one; with one, the evidence as it is, even empty.
        {"evidence", l.result ? json(l.evidence) : json(nullptr)},
        {"listener", net::map_or_null(l.listener, [](const protocol::classification& c) {
           return json{{"kind", protocol::to_string(c.kind)}, {"detail", c.detail}};
         })}});
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

}  // namespace rdp::probe
