// `expect:` of a scenario file: what a client, the server or the proxy must have seen, with the windows and
// tolerances that say when.
#include "scenario_parser.hpp"

namespace rdp::scenarios::parsing {

void parser::read_expectations(const YAML::Node& node, std::vector<expectation>& out) {
  r_.list(node, "expect", "expectations ({client: ...}, {server: ...} or {proxy: ...})");
  for (std::size_t i = 0; i < node.size(); ++i) {
    const auto e = node[i];
    const auto path = item("expect", i);
    if (!e.IsMap()) r_.fail(e, path, "expected a mapping ({client: ...}, {server: ...} or {proxy: ...}), found " + found(e));
    const int sides = (e["client"] ? 1 : 0) + (e["server"] ? 1 : 0) + (e["proxy"] ? 1 : 0);
    if (sides == 0) r_.fail(e, path, "missing: whose outcome it is (client:, server: or proxy:)");
    if (sides > 1) r_.fail(e, path, "one expectation is about one side: client:, server: or proxy:, not several");
    if (e["client"]) out.push_back(read_client_expectation(e, path));
    else if (e["server"]) out.push_back(read_server_expectation(e, path));
    else out.push_back(read_proxy_expectation(e, path));
  }
}

client_expectation parser::read_client_expectation(const YAML::Node& e, const std::string& path) {
  r_.keys(e, path,
          {"client", "attempt", "active", "error_info", "dpu_reason", "closed", "reconnect", "verdict", "within",
           "tolerance"});
  client_expectation x;
  x.where = r_.position(e);
  auto& facts = client_named(e["client"], join(path, "client"),
                             {client_kind::lean, client_kind::freerdp, client_kind::rdpprobe}, "");
  const auto& spec = *facts.spec;
  x.client = spec.name;
  const bool probe = spec.kind == client_kind::rdpprobe;
  const auto kind = std::string(word_of(client_kind_words, spec.kind));
  for (const char* key : {"active", "error_info", "dpu_reason", "closed", "reconnect"})
    if (e[key] && probe)
      r_.fail(e[key], join(path, key), "is what a logon saw; " + spec.name + " is an rdpprobe client (it has a verdict:)");
  if (e["verdict"] && !probe)
    r_.fail(e["verdict"], join(path, "verdict"), "is rdpprobe's; " + spec.name + " is a " + kind + " client");
  if (e.size() == (e["attempt"] ? 2u : 1u))
    r_.fail(e, path, "expects nothing of " + spec.name + " (add active:, closed:, within: ...)");
  const auto attempts = probe ? facts.probes : facts.logons;
  if (attempts == 0)
    r_.fail(e["client"], join(path, "client"),
            "the timeline never " + std::string(probe ? "runs probe: " : "logs on ") + spec.name +
                ": there is no outcome to expect");
  if (const auto n = e["attempt"]) {
    x.attempt = static_cast<int>(r_.whole(n, join(path, "attempt"), 1, 1000000));
    if (static_cast<std::size_t>(*x.attempt) > attempts)
      r_.fail(n, join(path, "attempt"),
              "the timeline gives " + spec.name + " " + std::to_string(attempts) +
                  (probe ? (attempts == 1 ? " probe" : " probes") : (attempts == 1 ? " logon" : " logons")) +
                  ", not " + std::to_string(*x.attempt));
  }
  if (const auto n = e["active"]) x.active = r_.flag(n, join(path, "active"));
  if (const auto n = e["error_info"]) x.error_info = error_info(n, join(path, "error_info"));
  if (const auto n = e["dpu_reason"]) x.dpu_reason = dpu_reason(n, join(path, "dpu_reason"));
  if (const auto n = e["closed"]) {
    x.closed = r_.word(n, join(path, "closed"), close_words);
    if (*x.closed == close_kind::silence && !spec.silence_limit)
      r_.fail(n, join(path, "closed"),
              spec.name + " has no silence_limit: a client only notices a silent drop by that deadline");
  }
  if (const auto n = e["reconnect"]) {
    x.reconnect = r_.word(n, join(path, "reconnect"), reconnect_words);
    if (facts.reconnects == 0)
      r_.fail(n, join(path, "reconnect"), "the timeline has no reconnect: " + spec.name + " step");
  }
  if (const auto n = e["verdict"]) {
    if (!n.IsScalar() || std::find(verdict_words.begin(), verdict_words.end(), n.Scalar()) == verdict_words.end())
      r_.fail(n, join(path, "verdict"), "expected a verdict (" + list_words(verdict_words) + "), found " + found(n));
    x.verdict = n.Scalar();
  }
  if (const auto n = e["within"]) x.within = window(n, join(path, "within"));
  if (const auto n = e["tolerance"]) {
    if (!x.within) r_.fail(n, join(path, "tolerance"), "goes with within: (it widens that window), and there is none");
    x.tolerance = tolerance(n, join(path, "tolerance"));
  }
  return x;
}

std::uint32_t parser::error_info(const YAML::Node& node, const std::string& path) {
  if (node.IsScalar() && !node.Scalar().empty()) {
    const auto& text = node.Scalar();
    if (text[0] >= '0' && text[0] <= '9') {
      if (const auto number = parse_whole(text); number && *number <= 0xFFFFFFFFu)
        return static_cast<std::uint32_t>(*number);
    } else {
      if (const auto* entry = protocol::find_error_info_by_name(text)) return entry->code;
      if (const auto* entry = protocol::find_error_info_by_name("ERRINFO_" + text)) return entry->code;
    }
  }
  r_.fail(node, path,
          "expected an errorInfo name of MS-RDPBCGR 2.2.5.1.1 (ERRINFO_RPC_INITIATED_LOGOFF or RPC_INITIATED_LOGOFF) "
          "or a number (0x2, 2), found " + found(node));
}

std::uint32_t parser::dpu_reason(const YAML::Node& node, const std::string& path) {
  std::string names;
  for (std::uint8_t v = 0; v <= 4; ++v) {
    const auto name = protocol::mcs::to_string(static_cast<protocol::mcs::disconnect_reason>(v));
    if (node.IsScalar() && node.Scalar() == name) return v;
    names += (names.empty() ? "" : ", ") + std::string(name);
  }
  if (node.IsScalar())
    if (const auto number = parse_whole(node.Scalar()); number && *number <= 4) return static_cast<std::uint32_t>(*number);
  r_.fail(node, path, "expected a T.125 reason (" + names + ") or its number 0-4, found " + found(node));
}

// How far outside a `within:` window an end may fall and still pass, in scenario time: 0 up to the timeout.
duration parser::tolerance(const YAML::Node& node, const std::string& path) {
  const auto d = r_.time(node, path, true);
  if (d > timeout_)
    r_.fail(node, path,
            "a tolerance of " + show_duration(d) + " is longer than the scenario's timeout (" + show_duration(timeout_) +
                "): it would pass any window");
  return d;
}

time_window parser::window(const YAML::Node& node, const std::string& path) {
  const std::string form = "a window such as 25s..40s, ..40s or 25s..";
  if (!node.IsScalar()) r_.fail(node, path, "expected " + form + ", found " + found(node));
  const auto& text = node.Scalar();
  const auto dots = text.find("..");
  if (dots == std::string::npos)
    r_.fail(node, path, "expected " + form + ", found " + found(node));
  time_window w;
  const auto from = text.substr(0, dots), to = text.substr(dots + 2);
  if (from.empty() && to.empty()) r_.fail(node, path, "a window open at both ends says nothing; leave within: out");
  if (!from.empty()) {
    std::string why;
    w.from = parse_scenario_duration(from, true, why);
    if (!w.from) r_.fail(node, path, why);
    if (*w.from >= timeout_)
      r_.fail(node, path,
              "the window starts at " + show_duration(*w.from) + ", not before the scenario's timeout (" +
                  show_duration(timeout_) + ")");
  }
  if (!to.empty()) {
    std::string why;
    w.to = parse_scenario_duration(to, true, why);
    if (!w.to) r_.fail(node, path, why);
  }
  if (w.from && w.to && *w.from > *w.to)
    r_.fail(node, path,
            "the window ends before it starts (" + show_duration(*w.from) + " > " + show_duration(*w.to) + ")");
  return w;
}

server_expectation parser::read_server_expectation(const YAML::Node& e, const std::string& path) {
  r_.keys(e, path, {"server"});
  const auto node = e["server"];
  const auto spath = join(path, "server");
  r_.keys(node, spath, {"counters", "sessions"}, "a mapping (counters:, sessions:)");
  if (node.size() == 0) r_.fail(node, spath, "expects nothing of the server (add counters: or sessions:)");
  server_expectation x;
  x.where = r_.position(e);
  if (const auto counters = node["counters"]) {
    const auto cpath = join(spath, "counters");
    if (!counters.IsMap()) r_.fail(counters, cpath, "expected a mapping of counter names to numbers, found " + found(counters));
    if (counters.size() == 0) r_.fail(counters, cpath, "names no counter");
    for (const auto& entry : counters) {
      if (!entry.first.IsScalar()) r_.fail(entry.first, cpath, "expected a counter name, found " + found(entry.first));
      const auto& name = entry.first.Scalar();
      if (std::find(counter_names_array.begin(), counter_names_array.end(), name) == counter_names_array.end())
        r_.fail(entry.first, join(cpath, name), "unknown counter (rdpsim counts " + list_words(counter_names_array) + ")");
      x.counters[name] = r_.whole(entry.second, join(cpath, name), 0, std::numeric_limits<std::uint32_t>::max());
    }
  }
  if (const auto n = node["sessions"]) x.sessions = static_cast<std::size_t>(r_.whole(n, join(spath, "sessions"), 0, 1000000));
  return x;
}

proxy_expectation parser::read_proxy_expectation(const YAML::Node& e, const std::string& path) {
  r_.keys(e, path, {"proxy"});
  const auto node = e["proxy"];
  const auto ppath = join(path, "proxy");
  if (!through_proxy_) r_.fail(node, ppath, "the path is direct: there is no proxy to observe");
  r_.keys(node, ppath, {"idle_expiries", "resets_sent", "connections"}, "a mapping (idle_expiries:, resets_sent:, connections:)");
  if (node.size() == 0) r_.fail(node, ppath, "expects nothing of the proxy");
  proxy_expectation x;
  x.where = r_.position(e);
  constexpr std::uint64_t most = std::numeric_limits<std::uint32_t>::max();
  if (const auto n = node["idle_expiries"]) x.idle_expiries = r_.whole(n, join(ppath, "idle_expiries"), 0, most);
  if (const auto n = node["resets_sent"]) x.resets_sent = r_.whole(n, join(ppath, "resets_sent"), 0, most);
  if (const auto n = node["connections"]) x.connections = r_.whole(n, join(ppath, "connections"), 0, most);
  return x;
}

}  // namespace rdp::scenarios::parsing
