// `timeline:` of a scenario file: each step's when (at:, on:, after:) and its one action, and the check that the
// steps' waits end somewhere (no ring of step.N.done).
#include "scenario_parser.hpp"

namespace rdp::scenarios::parsing {

void parser::read_timeline(const YAML::Node& node, std::vector<step>& out) {
  r_.list(node, "timeline", "steps");
  std::vector<YAML::Node> on_nodes(node.size());
  for (std::size_t i = 0; i < node.size(); ++i) out.push_back(read_step(node[i], item("timeline", i), on_nodes[i]));
  // Events are checked once every step is known: `step.N.done` may name a later step.
  std::vector<std::optional<std::size_t>> waits_for(out.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i].when.on.empty()) continue;
    waits_for[i] = check_event(on_nodes[i], join(item("timeline", i), "on"), i, out.size());
  }
  // A reconnect presents the cookie of an earlier logon of the same client: there must be one.
  for (const auto& [value, value_path] : reconnect_nodes_) {
    const auto& facts = clients_.at(value.Scalar());
    if (!facts.has_logon)
      r_.fail(value, value_path, value.Scalar() + " has no logon: step whose cookie it could present");
  }
  // A ring of steps waiting for each other would wait until the timeout: refuse it now, naming the ring of the
  // earliest step that is on one.
  if (const auto first = first_step_in_a_ring(waits_for)) {
    std::string ring = std::to_string(*first + 1);
    auto at = *first;
    do {
      at = *waits_for[at];
      ring += " → " + std::to_string(at + 1);
    } while (at != *first);
    r_.fail(on_nodes[*first], join(item("timeline", *first), "on"),
            "steps wait for each other in a circle (" + ring + "): none of them would ever run");
  }
}

// Each step waits for at most one other (its step.N.done), so the steps and their waits form chains that end, or
// run into a ring. Each step is visited once (marked while its chain is followed, then settled), instead of
// following every step's chain to its end — quadratic in a long chain (33,800 steps took 10 s).
std::optional<std::size_t> parser::first_step_in_a_ring(const std::vector<std::optional<std::size_t>>& waits_for) {
  enum class mark : std::uint8_t { unseen, on_this_chain, settled };
  std::vector<mark> marks(waits_for.size(), mark::unseen);
  std::vector<std::size_t> chain;
  std::optional<std::size_t> first;
  for (std::size_t start = 0; start < waits_for.size(); ++start) {
    chain.clear();
    std::optional<std::size_t> at = start;
    while (at && marks[*at] == mark::unseen) {
      marks[*at] = mark::on_this_chain;
      chain.push_back(*at);
      at = waits_for[*at];
    }
    // Met a step of this very chain: the chain closes into a ring there. Its earliest step is a candidate.
    if (at && marks[*at] == mark::on_this_chain) {
      auto member = *at;
      do {
        if (!first || member < *first) first = member;
        member = *waits_for[member];
      } while (member != *at);
    }
    for (const auto step : chain) marks[step] = mark::settled;
  }
  return first;
}

step parser::read_step(const YAML::Node& node, const std::string& path, YAML::Node& on_node) {
  // An unknown key (a misspelt action) is refused here, at its line and column.
  r_.keys(node, path, step_keys, "a step: a mapping with at: or on:, and one action");
  step s;
  s.where = r_.position(node);
  // When.
  if (node["at"] && node["on"]) r_.fail(node["on"], join(path, "on"), "a step has at: or on:, not both");
  if (!node["at"] && !node["on"])
    r_.fail(node, path, "missing: at: TIME (from the start) or on: EVENT (when it runs)");
  if (const auto n = node["at"]) {
    s.when.at = r_.time(n, join(path, "at"), true);
    if (node["after"]) r_.fail(node["after"], join(path, "after"), "goes with on: (at: is already a time)");
    if (*s.when.at >= timeout_)
      r_.fail(n, join(path, "at"),
              "at " + show_duration(*s.when.at) + " is not before the scenario's timeout (" + show_duration(timeout_) +
                  ")");
  }
  if (const auto n = node["on"]) {
    s.when.on = r_.text(n, join(path, "on"), "an event such as alice.active or step.1.done");
    on_node = n;
  }
  if (const auto n = node["after"]) {
    s.when.after = r_.time(n, join(path, "after"), true);
    if (s.when.after >= timeout_)
      r_.fail(n, join(path, "after"),
              show_duration(s.when.after) + " is not shorter than the scenario's timeout (" + show_duration(timeout_) +
                  ")");
  }
  if (const auto n = node["label"]) s.label = r_.text(n, join(path, "label"));
  // What: exactly one action.
  std::optional<step_word> what;
  for (const auto& [word, key] : step_words) {
    if (!node[std::string(key)]) continue;
    if (what)
      r_.fail(node[std::string(key)], join(path, std::string(key)),
              "a step does one thing: it already has " + std::string(word_of(step_words, *what)) +
                  " (make another step)");
    what = word;
  }
  if (!what) r_.fail(node, path, "missing: what the step does (one of " + list_words(step_words) + ")");
  const std::string action(word_of(step_words, *what));
  const auto extra = [&](const char* key, bool allowed, const std::string& with) {
    if (node[key] && !allowed) r_.fail(node[key], join(path, key), "goes with " + with + ", not with " + action);
  };
  extra("client", *what == step_word::fault, "fault: (the client whose connection it applies to)");
  extra("session", *what == step_word::admin, "admin: (the client whose session it acts on)");
  extra("down", *what == step_word::admin, "admin: restart (how long the listener stays down)");
  extra("sessions", *what == step_word::admin, "admin: restart (keep or end the sessions)");
  const auto& value = node[action];
  const auto value_path = join(path, action);
  s.action = read_action(*what, node, path, value, value_path);
  return s;
}

// The action of a step whose word is `what`: one case per word, none by default.
step_action parser::read_action(step_word what, const YAML::Node& node, const std::string& path, const YAML::Node& value,
                                const std::string& value_path) {
  const std::initializer_list<client_kind> logging_on = {client_kind::lean, client_kind::freerdp};
  switch (what) {
    case step_word::logon:
    case step_word::reconnect: {
      const bool reconnect = what == step_word::reconnect;
      auto& facts = client_named(value, value_path, logging_on,
                                 reconnect ? "only lean and freerdp clients reconnect with a cookie"
                                           : "only lean and freerdp clients log on (rdpprobe clients run probe:)");
      ++facts.logons;
      if (reconnect) ++facts.reconnects;
      else facts.has_logon = true;
      if (reconnect) reconnect_nodes_.emplace_back(value, value_path);
      return logon_step{facts.spec->name, reconnect};
    }
    case step_word::leave: {
      auto& facts =
          client_named(value, value_path, logging_on, "only lean and freerdp clients hold a session to leave");
      return leave_step{facts.spec->name};
    }
    case step_word::busy: {
      r_.keys(value, value_path, {"client", "every"});
      required(value, "client", value_path, "the client to keep busy");
      required(value, "every", value_path, "how often it sends input (null: idle again)");
      auto& facts = client_named(value["client"], join(value_path, "client"), {client_kind::lean},
                                 "only the lean client sends input on a schedule");
      return busy_step{facts.spec->name, r_.time_or_off(value["every"], join(value_path, "every"))};
    }
    case step_word::admin: {
      admin_step a;
      a.kind = r_.word(value, value_path, admin_kind_words);
      const bool restart = a.kind == admin_kind::restart_service;
      for (const char* key : {"down", "sessions"})
        if (node[key] && !restart)
          r_.fail(node[key], join(path, key), "goes with admin: restart, not with admin: " + value.Scalar());
      if (restart) {
        if (node["session"])
          r_.fail(node["session"], join(path, "session"), "a restart acts on every session; it names none");
        if (const auto n = node["down"]) a.down = r_.time(n, join(path, "down"), true);
        if (const auto n = node["sessions"]) a.sessions = r_.word(n, join(path, "sessions"), restart_sessions_words);
      } else {
        if (!node["session"])
          r_.fail(node, join(path, "session"),
                  "missing: the client whose session admin: " + value.Scalar() + " acts on");
        a.session_of = client_named(node["session"], join(path, "session"), logging_on,
                                    "only lean and freerdp clients have a session")
                           .spec->name;
      }
      return a;
    }
    case step_word::policy: return read_policy(value, value_path);
    case step_word::fault: {
      if (!through_proxy_)
        r_.fail(value, value_path, "the path is direct: there is no proxy to fault (path: {proxy: {...}})");
      fault_step f;
      f.fault = read_fault(value, value_path, false);
      if (const auto n = node["client"])
        f.client = client_named(n, join(path, "client"),
                                {client_kind::lean, client_kind::freerdp, client_kind::rdpprobe}, "")
                       .spec->name;
      return f;
    }
    case step_word::probe: {
      auto& facts = client_named(value, value_path, {client_kind::rdpprobe}, "only rdpprobe clients probe");
      ++facts.probes;
      return probe_step{facts.spec->name};
    }
    case step_word::occupy_port: return occupy_port_step{r_.word(value, value_path, occupant_words)};
    case step_word::share_port: return share_port_step{r_.word(value, value_path, occupant_words)};
  }
  r_.fail(node, path, "a step word without an action (a bug of the parser)");
}

policy_step parser::read_policy(const YAML::Node& node, const std::string& path) {
  r_.keys(node, path, {"single_session", "max_sessions", "idle_limit", "active_limit", "disconnected_limit"},
          "a mapping of session policy keys");
  if (node.size() == 0) r_.fail(node, path, "names nothing to change");
  policy_step p;
  if (const auto n = node["single_session"]) p.single_session = r_.flag(n, join(path, "single_session"));
  if (const auto n = node["max_sessions"]) {
    p.max_sessions = reader::is_off(n) ? std::optional<std::uint32_t>()
                                       : std::optional(static_cast<std::uint32_t>(
                                             r_.whole(n, join(path, "max_sessions"), 1, sim::max_max_sessions)));
  }
  if (const auto n = node["idle_limit"]) p.idle_limit = r_.time_or_off(n, join(path, "idle_limit"));
  if (const auto n = node["active_limit"]) p.active_limit = r_.time_or_off(n, join(path, "active_limit"));
  if (const auto n = node["disconnected_limit"])
    p.disconnected_limit = r_.time_or_off(n, join(path, "disconnected_limit"));
  return p;
}

// The forms of scenario.hpp's trigger; returns the step index for step.N.done.
std::optional<std::size_t> parser::check_event(const YAML::Node& node, const std::string& path, std::size_t self,
                                               std::size_t steps) {
  const std::string event = node.Scalar();
  const auto dot = event.find('.');
  const auto head = event.substr(0, dot);
  const auto tail = dot == std::string::npos ? std::string() : event.substr(dot + 1);
  const std::string forms =
      "CLIENT.active, CLIENT.cookie, CLIENT.ended, server.logged_on, server.active, server.session_info_sent, "
      "server.ended, proxy.tls_established, proxy.idle_expired or step.N.done";
  if (head == "server") {
    if (tail == "logged_on" || tail == "active" || tail == "session_info_sent" || tail == "ended") return std::nullopt;
    r_.fail(node, path, "the server's events are server.logged_on, server.active, server.session_info_sent and "
                        "server.ended, not '" + event + "'");
  }
  if (head == "proxy") {
    if (tail != "tls_established" && tail != "idle_expired")
      r_.fail(node, path, "the proxy's events are proxy.tls_established and proxy.idle_expired, not '" + event + "'");
    if (!through_proxy_) r_.fail(node, path, "the path is direct: no proxy sends " + event);
    return std::nullopt;
  }
  if (head == "step") {
    const auto second = tail.find('.');
    const auto number = parse_whole(tail.substr(0, second));
    if (second == std::string::npos || tail.substr(second + 1) != "done" || !number || tail[0] == '0')
      r_.fail(node, path, "expected step.N.done (N counts the timeline's steps from 1), found '" + event + "'");
    if (*number < 1 || *number > steps)
      r_.fail(node, path,
              "there is no step " + tail.substr(0, second) + ": the timeline has " + std::to_string(steps) + " steps");
    if (*number - 1 == self) r_.fail(node, path, "a step cannot wait for itself");
    return static_cast<std::size_t>(*number - 1);
  }
  const auto c = clients_.find(head);
  if (c == clients_.end() || dot == std::string::npos) {
    if (dot != std::string::npos && c == clients_.end() && !head.empty())
      r_.fail(node, path, "no client is named '" + head + "' (in '" + event + "')");
    r_.fail(node, path, "expected an event (" + forms + "), found '" + event + "'");
  }
  const bool logs_on = c->second.spec->kind != client_kind::rdpprobe;
  if (tail == "ended" || (logs_on && (tail == "active" || tail == "cookie"))) return std::nullopt;
  r_.fail(node, path,
          std::string("the events of ") + (logs_on ? "a lean or freerdp client are " : "an rdpprobe client are ") +
              (logs_on ? head + ".active, " + head + ".cookie and " + head + ".ended" : head + ".ended") +
              ", not '" + event + "'");
}

}  // namespace rdp::scenarios::parsing
