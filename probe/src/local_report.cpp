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

// The spread at the address a listener was probed at, when its probe made one.
const local_probe* spread_probe_of(const local_report& r, const local_listener& l) {
  for (const auto& p : r.probes)
    if (p.spread && p.address == l.probed) return &p;
  return nullptr;
}

std::string rdp_column(const local_report& r, const local_listener& l) {
  if (!l.result) return "-";
  // A group's rows: the shares of the spread ("rdp 9/16, http 7/16"), since no row alone answers for the group.
  if (const auto* p = spread_probe_of(r, l)) {
    std::map<std::string, std::size_t> counts;
    std::vector<std::string> order;
    for (const auto& e : p->spread->entries) {
      const std::string kind(to_string(e.kind));
      if (counts.emplace(kind, 0).second) order.push_back(kind);
      counts[kind] += e.connections;
    }
    std::string text;
    for (const auto& kind : order)
      text += (text.empty() ? "" : ", ") + kind + " " + std::to_string(counts[kind]) + "/" +
              std::to_string(p->spread->connections());
    if (!text.empty()) return text;
  }
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

std::vector<std::size_t> sockets_met_at(const std::vector<local_listener>& ls, std::string_view address) {
  // The kernel's listener lookup (inet_lhash2_lookup, then the wildcard bucket): a socket bound to exactly the
  // address wins, a wildcard only when none is, and of equal matches an AF_INET socket beats an AF_INET6 one.
  const bool v6_client = address.find(':') != std::string_view::npos;
  const auto tier = [&](bool ipv6, std::string_view bound) {
    std::vector<std::size_t> met;
    for (std::size_t i = 0; i < ls.size(); ++i)
      if (ls[i].socket.ipv6 == ipv6 && ls[i].socket.address == bound) met.push_back(i);
    return met;
  };
  std::vector<std::vector<std::size_t>> tiers;
  if (v6_client) {
    tiers = {tier(true, address), tier(true, "::")};
  } else {
    const std::string mapped = "::ffff:" + std::string(address);
    tiers = {tier(false, address), tier(true, mapped), tier(false, "0.0.0.0"), tier(true, "::ffff:0.0.0.0"),
             tier(true, "::")};
  }
  for (auto& t : tiers)
    if (!t.empty()) return t;
  return {};
}

namespace {

// What a probe met, for a finding: the spread when there is one, else the scanner's answer.
std::string probe_met_text(const local_probe& p) {
  if (p.spread) return describe(*p.spread);
  if (!p.result) return "nothing (not probed)";
  if (p.listener) return std::string(protocol::to_string(p.listener->kind)) + ": " + p.listener->detail;
  if (is_rdp_server(*p.result)) return "an RDP server (" + std::string(to_string(*p.result)) + ")";
  return std::string(to_string(*p.result)) + ": " + p.evidence;
}

// The probe answered as one RDP server would: its verdict, and every connection of its spread met RDP.
bool probe_met_only_rdp(const local_probe& p) {
  if (p.spread)
    return p.spread->connections() > 0 &&
           p.spread->connections_of(protocol::listener_kind::rdp) == p.spread->connections();
  return p.result && is_rdp_server(*p.result);
}

// The listening sockets by the address they are bound to (family, address).
using sockets_by_address = std::map<std::pair<bool, std::string>, std::vector<std::size_t>>;

// Sockets with a known owner joined into owner groups; the others, whose owner this user cannot see.
struct owner_groups {
  std::vector<std::size_t> parent;                       // union-find over the sockets
  std::map<std::size_t, std::vector<std::size_t>> groups;  // root → sockets, known owners only
  std::vector<std::size_t> unknown;
};

// What the family finding said: whether it was made, and the owner groups it named.
struct family_split {
  bool found = false;
  std::set<std::size_t> roots_met;
};

// SO_REUSEPORT groups: Linux refuses a second listening socket on an address and port unless both set
// SO_REUSEPORT (and belong to one uid), so several sockets on one address are a group, however many processes
// hold them. The kernel then hands each new connection to one member by a hash of its 4-tuple (inet_ehashfn,
// reuseport_select_sock): some clients meet one program and some another. One socket held by several processes
// (inherited across fork) is not a group: it is one socket, one accept queue.
void note_reuseport_groups(local_report& report, const sockets_by_address& by_address) {
  const auto& ls = report.listeners;
  for (const auto& [where, members] : by_address) {
    if (members.size() < 2) continue;
    std::string who;
    for (const auto i : members) {
      const auto text = owners_text(ls[i]);
      if (who.find(text) == std::string::npos) who += (who.empty() ? "" : ", ") + text;
    }
    report.findings.push_back(std::to_string(members.size()) + " sockets share " + ls[members.front()].local_address() +
                              " (SO_REUSEPORT group): " + who + "; the kernel splits connections between them");
  }
}

// Owner groups: sockets held by a common process are one owner (inherited across fork, or one program with a
// v4 and a v6 socket), and so are the members of an SO_REUSEPORT group, which note_reuseport_groups names.
// Union-find over the sockets that have a known owner.
owner_groups group_owners(const std::vector<local_listener>& ls, const sockets_by_address& by_address) {
  owner_groups owners;
  auto& parent = owners.parent;
  parent.resize(ls.size());
  std::iota(parent.begin(), parent.end(), std::size_t{0});
  const auto join = [&](std::size_t a, std::size_t b) { parent[find_root(parent, a)] = find_root(parent, b); };
  std::map<int, std::size_t> first_socket_of_pid;
  for (std::size_t i = 0; i < ls.size(); ++i)
    for (const auto& o : ls[i].owners) {
      auto [it, inserted] = first_socket_of_pid.emplace(o.pid, i);
      if (!inserted) join(i, it->second);
    }
  for (const auto& [where, members] : by_address)
    for (const auto i : members)
      if (!ls[i].owners.empty() && !ls[members.front()].owners.empty()) join(i, members.front());
  for (std::size_t i = 0; i < ls.size(); ++i) {
    if (ls[i].owners.empty()) owners.unknown.push_back(i);
    else owners.groups[find_root(parent, i)].push_back(i);
  }
  return owners;
}

// What a client of each family meets: the IPv4 loopback probe against the IPv6 one (docs/local-listeners.md,
// "Split families"). Only the probes tell what answered; the kernel's lookup order tells which sockets.
family_split note_family_split(local_report& report, owner_groups& owners) {
  const auto& ls = report.listeners;
  const local_probe* v4 = nullptr;
  const local_probe* v6 = nullptr;
  for (const auto& p : report.probes) {
    // A dual-stack check at 127.0.0.1 is also what an IPv4 client meets there; one at 127.0.0.2 is not.
    if (!p.result) continue;
    if (!p.ipv6 && p.address.starts_with("127.0.0.1:")) v4 = &p;
    if (p.ipv6 && p.address.starts_with("[::1]:")) v6 = &p;
  }
  family_split split;
  if (!v4 || !v6 || v4->result == verdict::refused || v6->result == verdict::refused) return split;
  const auto roots_of = [&](const local_probe& p) {
    std::set<std::size_t> roots;
    for (const auto i : p.sockets) roots.insert(ls[i].owners.empty() ? ls.size() + i : find_root(owners.parent, i));
    return roots;
  };
  const auto r4 = roots_of(*v4), r6 = roots_of(*v6);
  if (r4 == r6 && probe_met_only_rdp(*v4) == probe_met_only_rdp(*v6)) return split;
  split.found = true;
  split.roots_met.insert(r4.begin(), r4.end());
  split.roots_met.insert(r6.begin(), r6.end());
  const auto side = [&](const local_probe& p) {
    std::string who;
    for (const auto i : p.sockets) who += (who.empty() ? "" : "; ") + owners_text(ls[i]) + " on " + ls[i].local_address();
    return probe_met_text(p) + " (" + (who.empty() ? "no socket known" : who) + "; probed " + p.address + ")";
  };
  report.findings.push_back("IPv4 and IPv6 clients meet different listeners on port " + std::to_string(report.port) +
                            ": an IPv4 client meets " + side(*v4) + ", an IPv6 client meets " + side(*v6));
  return split;
}

// More than one owner of the port, unless the family finding already named them all; then one finding per socket
// whose owner this user cannot see.
void note_owners(local_report& report, const owner_groups& owners, const family_split& family) {
  const auto& ls = report.listeners;
  const auto& groups = owners.groups;
  const auto& unknown = owners.unknown;
  bool multiple = groups.size() > 1;
  std::string why;
  if (multiple) {
    why = "which one a client reaches depends on the address it connects to";
    // The family finding already says who each family meets; repeat it only when another owner is left over.
    if (family.found && unknown.empty() &&
        std::all_of(groups.begin(), groups.end(), [&](const auto& g) { return family.roots_met.count(g.first) > 0; }))
      multiple = false;
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
      std::set<std::string> seen;
      for (const auto i : members)
        if (seen.insert(ls[i].local_address()).second)
          addresses += (addresses.empty() ? "" : ", ") + ls[i].local_address();
      std::string owner_names;
      for (const auto i : members) {
        const auto text = owners_text(ls[i]);
        if (owner_names.find(text) == std::string::npos) owner_names += (owner_names.empty() ? "" : ", ") + text;
      }
      who += (who.empty() ? "" : "; ") + owner_names + " on " + addresses;
    }
    for (const auto i : unknown) who += (who.empty() ? "" : "; ") + owners_text(ls[i]) + " on " + ls[i].local_address();
    report.findings.push_back("multiple owners of port " + std::to_string(report.port) + " (" + why + "): " + who);
  }
  for (const auto i : unknown)
    report.findings.push_back("owner unknown: no process this user can inspect holds the socket on " +
                              ls[i].local_address() + " (uid " + std::to_string(ls[i].socket.uid) + ", " +
                              ls[i].user + "); run as root to see every process");
}

// The spread of a group: what each share of the connections met. Anything but RDP is a finding, naming the share;
// so are RDP answers that contradict each other (two RDP servers configured differently). Returns the addresses
// probed with a spread.
std::set<std::string> note_spreads(local_report& report) {
  std::set<std::string> spread_probed;
  for (const auto& p : report.probes) {
    if (!p.spread) continue;
    spread_probed.insert(p.address);
    const auto& t = *p.spread;
    const auto total = t.connections();
    std::string shares;
    for (const auto& e : t.entries) {
      if (e.kind == protocol::listener_kind::rdp) continue;
      shares += (shares.empty() ? "" : ", ") + std::to_string(e.connections) + " of " + std::to_string(total) +
                " connections met " + std::string(to_string(e.kind)) + (e.fingerprint.empty() ? "" : " (" + e.fingerprint + ")");
    }
    if (shares.empty() && !disagree(t)) continue;
    if (shares.empty()) {
      shares = "the RDP answers contradict each other, two RDP servers configured differently (" + describe(t) + ")";
    } else if (const auto rdp = t.connections_of(protocol::listener_kind::rdp); rdp > 0) {
      shares += "; the other " + std::to_string(rdp) + " met rdp";
    }
    report.findings.push_back("the SO_REUSEPORT group on " + p.address + " answers differently: " + shares);
  }
  return spread_probed;
}

// One finding per probed address that is not an RDP server (and has no spread, which note_spreads covered),
// naming who listens there.
void note_non_rdp_owners(local_report& report, const std::set<std::string>& spread_probed) {
  const auto& ls = report.listeners;
  std::set<std::string> reported;
  for (const auto& l : ls) {
    if (!l.result) {
      if (report.probed && l.probed.empty())
        report.findings.push_back("not probed: " + l.local_address() +
                                  " is link-local and /proc/net/tcp6 does not say on which interface");
      continue;
    }
    if (is_rdp_server(*l.result) || spread_probed.count(l.probed) || !reported.insert(l.probed).second) continue;
    std::string owners;
    for (const auto& other : ls)
      if (other.probed == l.probed) {
        const auto text = owners_text(other);
        if (owners.find(text) == std::string::npos) owners += (owners.empty() ? "" : ", ") + text;
      }
    report.findings.push_back("owner is not an RDP server: " + owners + " on " + l.local_address() + " answers " +
                              what_answered(l) + (l.probed != l.local_address() ? " (probed " + l.probed + ")" : ""));
  }
}

// Whether a [::] socket takes IPv4 clients: /proc/net/tcp6 does not show IPV6_V6ONLY, so the verdict step
// connected to an IPv4 loopback address that only a dual-stack [::] could answer.
void note_dual_stack(local_report& report) {
  const auto& ls = report.listeners;
  for (const auto& p : report.probes) {
    if (!p.dual_stack_check || !p.result) continue;
    std::string sockets;
    for (const auto i : p.sockets) sockets += (sockets.empty() ? "" : ", ") + ls[i].local_address();
    if (*p.result == verdict::refused)
      report.notes.push_back(sockets + " takes IPv6 clients only (IPV6_V6ONLY=1): a connection to " + p.address +
                             " was refused, so IPv4 clients reach it nowhere");
    else
      report.notes.push_back(sockets + " takes IPv4 clients too (IPV6_V6ONLY=0): a connection to " + p.address +
                             " met " + probe_met_text(p) +
                             "; an IPv4 client meets it at every address no IPv4 socket holds");
  }
}

}  // namespace

void evaluate_local_report(local_report& report) {
  report.findings.clear();
  report.notes.clear();
  const auto& ls = report.listeners;
  if (ls.empty()) report.findings.push_back("nothing listens on port " + std::to_string(report.port));
  sockets_by_address by_address;
  for (std::size_t i = 0; i < ls.size(); ++i) by_address[{ls[i].socket.ipv6, ls[i].socket.address}].push_back(i);
  note_reuseport_groups(report, by_address);
  auto owners = group_owners(ls, by_address);
  const auto family = note_family_split(report, owners);
  note_owners(report, owners, family);
  const auto spread_probed = note_spreads(report);
  note_non_rdp_owners(report, spread_probed);
  note_dual_stack(report);
  if (report.uninspected > 0)
    report.notes.push_back(std::to_string(report.uninspected) +
                           " processes could not be inspected (permission denied on /proc/<pid>/fd); run as root "
                           "to see the owners of every socket");
}

nlohmann::json to_json(const local_report& r) {
  json listeners = json::array();
  std::map<std::pair<bool, std::string>, std::size_t> sockets_at;
  for (const auto& l : r.listeners) ++sockets_at[{l.socket.ipv6, l.socket.address}];
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
        // Sockets listening on exactly this address, this one included: more than 1 is an SO_REUSEPORT group.
        {"group_size", sockets_at[{l.socket.ipv6, l.socket.address}]},
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
  json probes = json::array();
  for (const auto& p : r.probes) {
    json sockets = json::array();
    for (const auto i : p.sockets) sockets.push_back(r.listeners.at(i).local_address());
    probes.push_back(json{
        {"address", p.address},
        {"family", p.ipv6 ? "ipv6" : "ipv4"},
        {"sockets", std::move(sockets)},
        {"dual_stack_check", p.dual_stack_check},
        {"verdict", net::map_or_null(p.result, [](verdict v) { return to_string(v); })},
        {"evidence", p.result ? json(p.evidence) : json(nullptr)},
        {"listener", net::map_or_null(p.listener, [](const protocol::classification& c) {
           return json{{"kind", protocol::to_string(c.kind)}, {"detail", c.detail}};
         })},
        {"spread", p.spread ? to_json(*p.spread) : json(nullptr)}});
  }
  json report{{"schema_version", local_report_schema_version},
              {"port", r.port},
              {"listeners", std::move(listeners)},
              {"probes", std::move(probes)},
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
    if (l.owners.empty()) rows.push_back({proto, l.local_address(), "-", "-", term(l.user), term(rdp_column(r, l)), ""});
    for (const auto& o : l.owners)
      rows.push_back({proto, l.local_address(), std::to_string(o.pid), term(o.comm), term(l.user), term(rdp_column(r, l)),
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
    const auto spread_line = [&](const std::string& address) {
      for (const auto& p : r.probes)
        if (p.address == address && p.spread) out << "  spread: " << term(describe(*p.spread)) << "\n";
    };
    std::set<std::string> shown;
    for (const auto& l : r.listeners)
      if (l.result && shown.insert(l.probed).second) {
        out << "probe " << l.probed << ": " << to_string(*l.result) << " — " << term(l.evidence) << "\n";
        spread_line(l.probed);
      }
    // Probes no row was probed at: the IPv4 check of a [::] socket.
    for (const auto& p : r.probes)
      if (p.result && shown.insert(p.address).second) {
        out << "probe " << p.address << ": " << to_string(*p.result) << " — " << term(p.evidence)
            << (p.dual_stack_check ? " (does [::] take IPv4 clients?)" : "") << "\n";
        spread_line(p.address);
      }
  }
  for (const auto& f : r.findings) out << "FINDING: " << term(f) << "\n";
  for (const auto& n : r.notes) out << "note: " << term(n) << "\n";
  if (r.findings.empty() && r.probed && !r.listeners.empty()) out << "OK: one owner, and it is an RDP server\n";
}

}  // namespace rdp::probe
