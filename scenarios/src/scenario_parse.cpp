// Reads a scenario file (docs/scenarios.md) into the types of scenario.hpp, and refuses — before anything runs —
// whatever those types do not define: "file:line:column: key.path: what is wrong". List items are numbered from 1
// in key paths (timeline[3]), as `on: step.3.done` counts them. Pure parsing: no sockets, no clock; the only files
// read are a `server.profile:` path and what load_scenario is given (tests/fuzz/scenario_fuzz.cpp compiles this
// file with the profile parser and nothing else).
#include "rdp/scenarios/scenario.hpp"

#include "rdp/net/endpoint.hpp"
#include "rdp/net/local_file.hpp"
#include "rdp/net/quantity.hpp"
#include "rdp/protocol/errinfo.hpp"
#include "rdp/protocol/mcs.hpp"
#include "rdp/protocol/text.hpp"
#include "rdp/sim/counters.hpp"
#include "rdp/sim/profile_yaml.hpp"
#include "rdp/yaml/document.hpp"
#include "rdp/yaml/reader.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <span>
#include <sstream>
#include <utility>

namespace rdp::scenarios {
namespace {

namespace fs = std::filesystem;

// A file larger than one YAML document may be is neither a scenario nor a profile (and a path to /dev/zero must not
// hang the parser).
constexpr std::size_t max_file_bytes = yaml::max_document_bytes;
// How deep `rdpsim run DIR` looks for scenario files below DIR.
constexpr int max_directory_depth = 32;

// ---- Words of the file ---------------------------------------------------------------------------------------

template <class T, std::size_t N>
using word_table = std::array<std::pair<T, std::string_view>, N>;

constexpr word_table<client_kind, 3> client_kind_words{{
    {client_kind::lean, "lean"}, {client_kind::freerdp, "freerdp"}, {client_kind::rdpprobe, "rdpprobe"}}};
constexpr word_table<client_liveness, 2> liveness_words{
    {{client_liveness::mstsc, "mstsc"}, {client_liveness::freerdp, "freerdp"}}};
constexpr word_table<admin_kind, 5> admin_kind_words{{{admin_kind::logoff, "logoff"},
                                                     {admin_kind::reset, "reset"},
                                                     {admin_kind::disconnect, "disconnect"},
                                                     {admin_kind::restart_service, "restart"},
                                                     {admin_kind::drop_connection, "drop-connection"}}};
constexpr word_table<sim::restart_sessions, 2> restart_sessions_words{
    {{sim::restart_sessions::keep, "keep"}, {sim::restart_sessions::end, "end"}}};
constexpr word_table<occupant_kind, 4> occupant_words{{{occupant_kind::http, "http"},
                                                      {occupant_kind::ssh, "ssh"},
                                                      {occupant_kind::banner, "banner"},
                                                      {occupant_kind::silent, "silent"}}};
constexpr word_table<close_kind, 7> close_words{{{close_kind::fin, "fin"},
                                                {close_kind::reset, "reset"},
                                                {close_kind::refused, "refused"},
                                                {close_kind::timeout, "timeout"},
                                                {close_kind::silence, "silence"},
                                                {close_kind::client, "client"},
                                                {close_kind::none, "none"}}};
// What a timeline step does: the key that names its action. read_step switches over these without a default, so a
// word added here and not handled there is a compiler warning (an error in CI), never another step's action.
enum class step_word { logon, reconnect, leave, busy, admin, policy, fault, probe, occupy_port, share_port };
constexpr word_table<step_word, 10> step_words{{{step_word::logon, "logon"},
                                                {step_word::reconnect, "reconnect"},
                                                {step_word::leave, "leave"},
                                                {step_word::busy, "busy"},
                                                {step_word::admin, "admin"},
                                                {step_word::policy, "policy"},
                                                {step_word::fault, "fault"},
                                                {step_word::probe, "probe"},
                                                {step_word::occupy_port, "occupy_port"},
                                                {step_word::share_port, "share_port"}}};
// The keys of a step: when, its label, the action's word, and the keys that go with some actions.
constexpr auto step_keys = [] {
  constexpr std::array<std::string_view, 4> when{"at", "on", "after", "label"};
  constexpr std::array<std::string_view, 4> with_action{"client", "session", "down", "sessions"};
  std::array<std::string_view, when.size() + step_words.size() + with_action.size()> keys{};
  std::size_t i = 0;
  for (const auto k : when) keys[i++] = k;
  for (const auto& [word, k] : step_words) keys[i++] = k;
  for (const auto k : with_action) keys[i++] = k;
  return keys;
}();
constexpr word_table<reconnect_outcome, 4> reconnect_words{{{reconnect_outcome::honoured, "honoured"},
                                                           {reconnect_outcome::same_session, "same-session"},
                                                           {reconnect_outcome::new_session, "new-session"},
                                                           {reconnect_outcome::refused, "refused"}}};

// rdpprobe's verdict words (docs/verdicts.md). Kept here because this parser links nothing of the probe;
// tests/unit_scenarios checks them against probe::to_string(verdict).
constexpr std::array<std::string_view, 14> verdict_words{
    "rdp",           "not-rdp",    "refused",      "timeout",          "reset",
    "closed",        "negotiation-failed", "tls-failed", "session-error", "dns-failed",
    "listener-conflict", "login-failed",  "reconnect-failed",   "internal-error"};

constexpr std::array<std::string_view, 4> security_words{"any", "tls", "nla", "rdp"};
// The lean client speaks TLS or NLA (its own CredSSP), not Standard RDP Security nor FreeRDP's negotiation of "any".
constexpr std::array<std::string_view, 2> lean_security_words{"tls", "nla"};

// sim::server_counters by member name (sim/counters.hpp): `expect: {server: {counters: {NAME: N}}}`.
constexpr const auto& counter_members = sim::server_counter_members;

constexpr std::array<std::string_view, counter_members.size()> counter_names_array = [] {
  std::array<std::string_view, counter_members.size()> names{};
  for (std::size_t i = 0; i < counter_members.size(); ++i) names[i] = counter_members[i].first;
  return names;
}();

template <class T, std::size_t N>
std::string_view word_of(const word_table<T, N>& table, T value) noexcept {
  for (const auto& [v, word] : table)
    if (v == value) return word;
  return "?";
}

template <class T, std::size_t N>
std::optional<T> value_of(const word_table<T, N>& table, std::string_view word) noexcept {
  for (const auto& [v, w] : table)
    if (w == word) return v;
  return std::nullopt;
}

template <class T, std::size_t N>
std::string list_words(const word_table<T, N>& table) {
  std::string list;
  for (const auto& entry : table) list += (list.empty() ? "" : ", ") + std::string(entry.second);
  return list;
}

template <std::size_t N>
std::string list_words(const std::array<std::string_view, N>& words) {
  std::string list;
  for (const auto& w : words) list += (list.empty() ? "" : ", ") + std::string(w);
  return list;
}

std::string phase_list() {
  std::string list;
  for (int i = 0; i <= static_cast<int>(proxy::phase::session_info_sent); ++i)
    list += (list.empty() ? "" : ", ") + std::string(proxy::to_string(static_cast<proxy::phase>(i)));
  return list;
}

// ---- Numbers and durations -----------------------------------------------------------------------------------

// A whole number in decimal or 0x-hex, nothing around it: the grammar of every YAML file of ours.
using yaml::parse_whole;

// A duration of the file: net::read_duration (the tools' one grammar, docs/quantities.md), in the milliseconds the
// runner keeps: what is finer is refused, not rounded. `why` says what is wrong.
std::optional<duration> parse_scenario_duration(std::string_view text, bool zero_allowed, std::string& why) {
  const auto read = net::read_duration(text, zero_allowed ? net::zero_value::allow : net::zero_value::refuse, &why);
  if (!read) return std::nullopt;
  const auto ms = std::chrono::duration_cast<duration>(*read);
  if (ms != *read) {
    why = "'" + std::string(text) + "' is not a whole number of milliseconds";
    return std::nullopt;
  }
  return ms;
}

std::string show_duration(duration d) { return d.count() == 0 ? "0s" : net::format_duration(d); }

// ---- The reader ----------------------------------------------------------------------------------------------

using yaml::found;  // "expected X, found Y": a value in quotes (cut short), or the kind of node
using yaml::item;
using yaml::join;

// yaml::reader (errors "file:line:column: key.path: why", escaped; keys, lists, text, booleans, whole numbers), with
// what a scenario file adds: positions kept for the runner, durations, the schema's words and the proxy's phases.
// Its errors are yaml::errors, rethrown as scenario_error by parse_scenario.
class reader : public yaml::reader {
 public:
  explicit reader(std::string source) : yaml::reader(std::move(source)) {}

  source_position position(const YAML::Node& node) const {
    source_position where{source(), 0, 0};
    const auto mark = node.Mark();
    if (mark.line >= 0) {
      where.line = mark.line + 1;
      where.column = mark.column + 1;
    }
    return where;
  }

  // An error of a profile file (already a whole message, escaped) reported at the scenario's key that names it.
  [[noreturn]] void fail_with(const YAML::Node& at, const std::string& path, const std::string& why,
                              const std::string& message) const {
    throw yaml::error(yaml::located_message(source(), at.Mark(), path, why) + message);
  }

  duration time(const YAML::Node& node, const std::string& path, bool zero_allowed) const {
    if (!node.IsScalar())
      fail(node, path,
           std::string("expected a duration such as 500ms, 30s, 4m30s or 2h (") + (zero_allowed ? "0 to" : "1ms to") +
               " 24h), found " + found(node));
    std::string why;
    const auto value = parse_scenario_duration(node.Scalar(), zero_allowed, why);
    if (!value) fail(node, path, why);
    return *value;
  }

  // A limit that `null` (or `none`) switches off.
  std::optional<duration> time_or_off(const YAML::Node& node, const std::string& path) const {
    if (is_off(node)) return std::nullopt;
    return time(node, path, false);
  }

  template <class T, std::size_t N>
  T word(const YAML::Node& node, const std::string& path, const word_table<T, N>& table) const {
    const auto value = node.IsScalar() ? value_of(table, node.Scalar()) : std::nullopt;
    if (!value) fail(node, path, "expected one of " + list_words(table) + ", found " + found(node));
    return *value;
  }

  proxy::phase phase(const YAML::Node& node, const std::string& path) const {
    const auto value = node.IsScalar() ? proxy::phase_from_word(node.Scalar()) : std::nullopt;
    if (!value) fail(node, path, "expected a phase (" + phase_list() + "), found " + found(node));
    return *value;
  }
};

// ---- The parser ----------------------------------------------------------------------------------------------

struct client_facts {
  const client_spec* spec = nullptr;
  std::size_t logons = 0;      // logon and reconnect steps: the attempts an expectation may name
  std::size_t reconnects = 0;  // reconnect steps
  std::size_t probes = 0;      // probe steps (an rdpprobe client's attempts)
  bool has_logon = false;      // a `logon:` step (a reconnect needs a cookie from one)
};

class parser {
 public:
  parser(std::string source, std::string base_dir, sim::certificate_handling certificates)
      : r_(std::move(source)), base_dir_(std::move(base_dir)), certificates_(certificates) {}

  scenario run(const YAML::Node& root) {
    r_.keys(root, "",
            {"scenario", "summary", "cause", "timeout", "tolerance", "server", "path", "clients", "timeline", "expect"},
            "a mapping of the scenario's keys");
    scenario s;
    s.where = r_.position(root);
    s.where.line = 0;  // the scenario as a whole is the file
    s.where.column = 0;
    required(root, "scenario", "", "the scenario's name");
    s.name = r_.text(root["scenario"], "scenario", "a name");
    if (s.name.size() > 100 || !std::all_of(s.name.begin(), s.name.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                 c == '.';
        }))
      r_.fail(root["scenario"], "scenario",
              "a name is up to 100 letters, digits, '-', '_' and '.' (it names the scenario's pcap and report "
              "files), found " + found(root["scenario"]));
    if (root["summary"]) s.summary = r_.text(root["summary"], "summary");
    if (root["cause"]) s.cause = r_.text(root["cause"], "cause");
    if (root["timeout"]) s.timeout = r_.time(root["timeout"], "timeout", false);
    timeout_ = s.timeout;
    if (root["tolerance"]) s.tolerance = tolerance(root["tolerance"], "tolerance");

    s.server = read_server(root["server"] ? root["server"] : YAML::Node(YAML::NodeType::Map), root);
    s.path = root["path"] ? read_path(root["path"]) : path_spec{false, {}, r_.position(root)};
    through_proxy_ = s.path.through_proxy;

    required(root, "clients", "", "the clients (at least one)");
    read_clients(root["clients"], s.clients);
    required(root, "timeline", "", "the timeline (at least one step)");
    read_timeline(root["timeline"], s.steps);
    required(root, "expect", "",
             "the expected outcome (at least one expectation): a scenario without one cannot fail");
    read_expectations(root["expect"], s.expect);
    return s;
  }

 private:
  void required(const YAML::Node& map, const std::string& key, const std::string& path, const std::string& what) {
    if (!map[key]) r_.fail(map, join(path, key), "missing: " + what);
  }

  // ---- server ----
  server_spec read_server(const YAML::Node& node, const YAML::Node& root) {
    r_.keys(node, "server", {"profile"});
    server_spec spec;
    const auto profile = node["profile"];
    if (!profile || profile.IsMap()) {
      // Inline (or absent: rdpsim's defaults), parsed in this document so errors carry its line:column.
      const auto& mapping = profile ? profile : YAML::Node(YAML::NodeType::Map);
      const auto& at = profile ? profile : (node.Mark().line >= 0 ? node : root);
      try {
        spec.profile = sim::parse_profile_node(mapping, r_.source(), base_dir_, certificates_, "server.profile");
      } catch (const sim::profile_error& e) {
        if (profile) throw scenario_error(e.what());
        r_.fail_with(at, "server", "rdpsim's default profile: ", e.what());
      }
      spec.profile_source = "inline";
      return spec;
    }
    const auto given = r_.text(profile, "server.profile", "a profile file's path or an inline mapping of its keys");
    const fs::path path = fs::path(given).is_absolute() ? fs::path(given) : fs::path(base_dir_) / given;
    std::string text;
    if (auto why = read_small_file(path, text); !why.empty())
      r_.fail(profile, "server.profile", "cannot read the profile '" + path.string() + "': " + why);
    try {
      const auto dir = path.parent_path();
      spec.profile = sim::parse_profile(text, path.string(), dir.empty() ? "." : dir.string(), certificates_);
    } catch (const sim::profile_error& e) {
      r_.fail_with(profile, "server.profile", "in the profile: ", e.what());
    }
    spec.profile_source = given;
    return spec;
  }

  // ---- path ----
  path_spec read_path(const YAML::Node& node) {
    path_spec spec;
    spec.where = r_.position(node);
    if (node.IsScalar()) {
      if (node.Scalar() == "direct") return spec;
      if (node.Scalar() == "proxy") {
        spec.through_proxy = true;
        spec.proxy.where = spec.where;
        return spec;
      }
    }
    if (!node.IsMap())
      r_.fail(node, "path", "expected direct, proxy or {proxy: {faults...}}, found " + found(node));
    r_.keys(node, "path", {"proxy"});
    if (!node["proxy"]) r_.fail(node, "path", "missing: proxy (or write `path: direct`)");
    spec.through_proxy = true;
    const auto faults = node["proxy"];
    if (faults.IsNull()) {
      spec.proxy.where = r_.position(faults);
      return spec;
    }
    spec.proxy = read_fault(faults, "path.proxy", true);
    return spec;
  }

  // The faults of `path: {proxy: …}` (at_start) or of a `fault:` step: one key per row of proxy::fault_table, each
  // value read in its kind's one grammar by the table (rdp/proxy/faults.hpp); what only a file adds is here.
  fault_spec read_fault(const YAML::Node& node, const std::string& path, bool at_start) {
    static constexpr auto fault_keys = [] {
      std::array<std::string_view, proxy::fault_table.size()> keys{};
      for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = proxy::fault_table[i].scenario_key;
      return keys;
    }();
    r_.keys(node, path, fault_keys, "a mapping of fault keys");
    fault_spec spec;
    spec.where = r_.position(node);
    for (const auto& row : proxy::fault_table) {
      const auto n = node[std::string(row.scenario_key)];
      if (!n) continue;
      const auto key_path = join(path, std::string(row.scenario_key));
      std::string text;
      if (row.value == proxy::fault_value::on_off || row.value == proxy::fault_value::act)
        text = r_.flag(n, key_path) ? "true" : "false";  // the schema's booleans, with its hint for yes/no
      else if (row.value == proxy::fault_value::limit && reader::is_off(n))
        text = "none";
      else if (!n.IsScalar())
        r_.fail(n, key_path, "expected " + proxy::describe_value(row) + ", found " + found(n));
      else
        text = n.Scalar();
      std::string why;
      if (!proxy::read_fault(row, text, proxy::fault_origin::change, spec.change, &why)) r_.fail(n, key_path, why);
      if (row.value == proxy::fault_value::act && text == "true" && at_start)
        r_.fail(n, key_path,
                "there is no connection to act on at the start; a `fault:` step in the timeline does it at its time");
    }
    if (spec.change.reset_after && !spec.change.reset_at_phase)
      r_.fail(node["reset_after"], join(path, "reset_after"), "goes with reset_at (the phase it counts from)");
    if (!at_start && node.size() == 0) r_.fail(node, path, "names no fault to change");
    return spec;
  }

  // ---- clients ----
  void read_clients(const YAML::Node& node, std::vector<client_spec>& out) {
    r_.list(node, "clients", "clients ({name, kind, ...})");
    out.reserve(node.size());  // client_facts keeps pointers into it
    for (std::size_t i = 0; i < node.size(); ++i) {
      const auto c = node[i];
      const auto path = item("clients", i);
      r_.keys(c, path,
              {"name", "kind", "user", "password", "domain", "heartbeat", "auto_reconnect", "busy", "silence_limit",
               "hold", "security", "hybrid_ex", "spnego", "liveness"});
      client_spec spec;
      spec.where = r_.position(c);
      required(c, "name", path, "the client's name (steps and expectations refer to it)");
      spec.name = r_.text(c["name"], join(path, "name"), "a name");
      if (spec.name == "server" || spec.name == "proxy" || spec.name == "step" ||
          !std::all_of(spec.name.begin(), spec.name.end(), [](char ch) {
            return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
                   ch == '_';
          }) ||
          spec.name.size() > 64)
        r_.fail(c["name"], join(path, "name"),
                "a client's name is up to 64 letters, digits, '-' and '_', and not server, proxy or step (events "
                "are written NAME.active), found " + found(c["name"]));
      if (clients_.count(spec.name)) r_.fail(c["name"], join(path, "name"), "another client is already named " + spec.name);
      if (c["kind"]) spec.kind = r_.word(c["kind"], join(path, "kind"), client_kind_words);
      const auto kind = std::string(word_of(client_kind_words, spec.kind));
      // Keys that belong to other kinds of client: say whose they are rather than "unknown".
      const auto only_for = [&](const char* key, bool allowed, const std::string& whose) {
        if (c[key] && !allowed)
          r_.fail(c[key], join(path, key), std::string("is for ") + whose + " clients; " + spec.name + " is " + kind);
      };
      const bool logs_on = spec.kind != client_kind::rdpprobe;
      only_for("user", logs_on, "lean and freerdp");
      only_for("password", logs_on, "lean and freerdp");
      only_for("domain", logs_on, "lean and freerdp");
      only_for("hold", logs_on, "lean and freerdp");
      only_for("heartbeat", spec.kind == client_kind::lean, "lean");
      only_for("auto_reconnect", spec.kind == client_kind::lean, "lean");
      only_for("busy", spec.kind == client_kind::lean, "lean");
      only_for("silence_limit", spec.kind == client_kind::lean, "lean");
      only_for("liveness", spec.kind == client_kind::lean, "lean");
      only_for("security", logs_on, "lean and freerdp");
      only_for("hybrid_ex", spec.kind == client_kind::lean, "lean");
      only_for("spnego", spec.kind == client_kind::lean, "lean");
      if (c["user"]) spec.user = r_.text(c["user"], join(path, "user"), "a user name");
      if (c["password"]) {
        if (!c["password"].IsScalar())
          r_.fail(c["password"], join(path, "password"), "expected a text value, found " + found(c["password"]));
        spec.password = c["password"].Scalar();
      }
      if (c["domain"]) {
        if (!c["domain"].IsScalar() || c["domain"].IsNull())
          r_.fail(c["domain"], join(path, "domain"), "expected a text value, found " + found(c["domain"]));
        spec.domain = c["domain"].Scalar();
      }
      if (c["heartbeat"]) spec.announce_heartbeat = r_.flag(c["heartbeat"], join(path, "heartbeat"));
      if (c["auto_reconnect"]) spec.announce_auto_reconnect = r_.flag(c["auto_reconnect"], join(path, "auto_reconnect"));
      if (c["busy"]) spec.busy = r_.time_or_off(c["busy"], join(path, "busy"));
      if (c["silence_limit"]) spec.silence_limit = r_.time_or_off(c["silence_limit"], join(path, "silence_limit"));
      if (c["liveness"]) spec.liveness = r_.word(c["liveness"], join(path, "liveness"), liveness_words);
      if (c["hold"]) spec.hold = r_.time_or_off(c["hold"], join(path, "hold"));
      if (c["security"]) {
        const auto& n = c["security"];
        const bool lean = spec.kind == client_kind::lean;
        const auto in = [&](const auto& words) {
          return n.IsScalar() && std::find(words.begin(), words.end(), n.Scalar()) != words.end();
        };
        if (lean ? !in(lean_security_words) : !in(security_words))
          r_.fail(n, join(path, "security"),
                  "expected one of " + (lean ? list_words(lean_security_words) : list_words(security_words)) +
                      (lean ? " for a lean client" : "") + ", found " + found(n));
        spec.security = n.Scalar();
      }
      if (c["hybrid_ex"]) {
        spec.hybrid_ex = r_.flag(c["hybrid_ex"], join(path, "hybrid_ex"));
        if (spec.hybrid_ex && spec.security != "nla")
          r_.fail(c["hybrid_ex"], join(path, "hybrid_ex"), "goes with security: nla; " + spec.name + " uses " +
                                                               spec.security);
      }
      if (c["spnego"]) {
        spec.spnego = r_.flag(c["spnego"], join(path, "spnego"));
        if (spec.spnego && spec.security != "nla")
          r_.fail(c["spnego"], join(path, "spnego"), "goes with security: nla; " + spec.name + " uses " + spec.security);
      }
      out.push_back(std::move(spec));
      clients_[out.back().name].spec = &out.back();
    }
  }

  // The client a step or expectation names; `kinds` are the kinds that may be named there.
  client_facts& client_named(const YAML::Node& node, const std::string& path,
                             std::initializer_list<client_kind> kinds, const std::string& why_kinds) {
    const auto name = r_.text(node, path, "a client's name");
    const auto found_client = clients_.find(name);
    if (found_client == clients_.end()) {
      std::string known;
      for (const auto& [n, facts] : clients_) known += (known.empty() ? "" : ", ") + n;
      r_.fail(node, path, "no client is named '" + name + "' (clients: " + known + ")");
    }
    const auto kind = found_client->second.spec->kind;
    if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end())
      r_.fail(node, path, name + " is a " + std::string(word_of(client_kind_words, kind)) + " client; " + why_kinds);
    return found_client->second;
  }

  // ---- timeline ----
  void read_timeline(const YAML::Node& node, std::vector<step>& out) {
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
  static std::optional<std::size_t> first_step_in_a_ring(const std::vector<std::optional<std::size_t>>& waits_for) {
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

  step read_step(const YAML::Node& node, const std::string& path, YAML::Node& on_node) {
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
  step_action read_action(step_word what, const YAML::Node& node, const std::string& path, const YAML::Node& value,
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

  policy_step read_policy(const YAML::Node& node, const std::string& path) {
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
  std::optional<std::size_t> check_event(const YAML::Node& node, const std::string& path, std::size_t self,
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

  // ---- expectations ----
  void read_expectations(const YAML::Node& node, std::vector<expectation>& out) {
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

  client_expectation read_client_expectation(const YAML::Node& e, const std::string& path) {
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

  std::uint32_t error_info(const YAML::Node& node, const std::string& path) {
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

  std::uint32_t dpu_reason(const YAML::Node& node, const std::string& path) {
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
  duration tolerance(const YAML::Node& node, const std::string& path) {
    const auto d = r_.time(node, path, true);
    if (d > timeout_)
      r_.fail(node, path,
              "a tolerance of " + show_duration(d) + " is longer than the scenario's timeout (" + show_duration(timeout_) +
                  "): it would pass any window");
    return d;
  }

  time_window window(const YAML::Node& node, const std::string& path) {
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

  server_expectation read_server_expectation(const YAML::Node& e, const std::string& path) {
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

  proxy_expectation read_proxy_expectation(const YAML::Node& e, const std::string& path) {
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

  static std::string read_small_file(const fs::path& path, std::string& text) {
    std::string why;
    auto content = net::read_regular_file(path.string(), max_file_bytes, "a file a scenario names", why);
    if (content) text = std::move(*content);
    return why;
  }

  reader r_;
  std::string base_dir_;
  sim::certificate_handling certificates_;
  duration timeout_{std::chrono::minutes(5)};
  bool through_proxy_ = false;
  std::map<std::string, client_facts> clients_;
  std::vector<std::pair<YAML::Node, std::string>> reconnect_nodes_;  // each reconnect: step's value and its path
};

}  // namespace

std::string to_string(const source_position& where) {
  if (where.line <= 0) return where.file;
  return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
}

std::string_view to_string(client_kind k) noexcept { return word_of(client_kind_words, k); }
std::string_view to_string(admin_kind k) noexcept { return word_of(admin_kind_words, k); }
std::string_view to_string(occupant_kind k) noexcept { return word_of(occupant_words, k); }
std::string_view to_string(close_kind k) noexcept { return word_of(close_words, k); }
std::string_view to_string(reconnect_outcome o) noexcept { return word_of(reconnect_words, o); }

scenario parse_scenario(const std::string& text, const std::string& source, const std::string& base_dir,
                        sim::certificate_handling certificates) {
  try {
    const auto root = yaml::load_single_document(text, source, "the scenario file");
    parser p(source, base_dir, certificates);
    // with_positions: a conversion yaml-cpp itself refused is still a place in the file.
    return yaml::with_positions(source, [&] { return p.run(root); });
  } catch (const yaml::error& e) {
    throw scenario_error(e.what());
  } catch (const sim::profile_error& e) {
    throw scenario_error(e.what());
  }
}

scenario load_scenario(const std::string& path) {
  std::string why;
  const auto text = net::read_regular_file(path, max_file_bytes, "a scenario file", why);
  if (!text) throw scenario_error(yaml::located_message(path, YAML::Mark::null_mark(), "", why));
  const auto base = fs::path(path).parent_path();
  return parse_scenario(*text, path, base.empty() ? "." : base.string());
}

std::optional<std::string> time_scale_problem(const scenario& s, double time_scale) {
  if (!(time_scale > 0) || !std::isfinite(time_scale)) return std::string("a time scale is a number above 0");
  // What the runner scales to the millisecond. rdpsim's own limits (a profile's, a policy step's, admin: restart's
  // down) count whole seconds: scaled, they are rounded to at least 1 s, and the timeline says so.
  std::vector<std::pair<duration, std::string>> durations;
  const auto add = [&](const std::optional<duration>& d, const std::string& what) {
    if (d && d->count() > 0) durations.emplace_back(*d, what);
  };
  const auto add_fault = [&](const proxy::fault_change& c, const std::string& path) {
    proxy::for_each_duration(c, [&](const proxy::fault_row& row, const proxy::duration& d) {
      add(d, join(path, std::string(row.scenario_key)));
    });
  };
  add(s.timeout, "timeout");
  if (s.path.through_proxy) add_fault(s.path.proxy.change, "path.proxy");
  for (std::size_t i = 0; i < s.clients.size(); ++i) {
    const auto& c = s.clients[i];
    add(c.busy, join(item("clients", i), "busy"));
    add(c.silence_limit, join(item("clients", i), "silence_limit"));
    add(c.hold, join(item("clients", i), "hold"));
  }
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    const auto& st = s.steps[i];
    const auto path = item("timeline", i);
    add(st.when.at, join(path, "at"));
    add(st.when.after, join(path, "after"));
    if (const auto* b = std::get_if<busy_step>(&st.action)) add(b->every, join(path, "busy.every"));
    if (const auto* f = std::get_if<fault_step>(&st.action)) add_fault(f->fault.change, join(path, "fault"));
  }
  const auto shortest = std::min_element(durations.begin(), durations.end());
  const auto longest_one = std::max_element(durations.begin(), durations.end());
  if (shortest == durations.end()) return std::nullopt;
  std::ostringstream why;
  const double shortest_ms = static_cast<double>(shortest->first.count()) * time_scale;
  // Below 1 ms a duration would be rounded to none (a latency, a wait gone) and the timeline could not say when.
  if (shortest_ms < 1.0) {
    why << shortest->second << " (" << show_duration(shortest->first) << ") would last " << shortest_ms
        << " ms: a scaled duration lasts at least 1 ms (this scenario needs a time scale of at least "
        << 1.0 / static_cast<double>(shortest->first.count()) << ")";
    return why.str();
  }
  // Scaled durations are milliseconds, and the timeline divides by the scale again: both stay far from overflow.
  constexpr double longest_scaled_ms = 1000.0 * 24 * 3600 * 1000;
  const double longest_ms = static_cast<double>(longest_one->first.count()) * time_scale;
  if (longest_ms > longest_scaled_ms) {
    why << longest_one->second << " (" << show_duration(longest_one->first) << ") would last " << longest_ms
        << " ms: a scaled duration lasts at most 1000 times 24h";
    return why.str();
  }
  return std::nullopt;
}

std::vector<std::string> find_scenario_files(const std::vector<std::string>& paths) {
  // Paths come from the command line and from directory listings: escaped, as the files' own text is.
  const auto shown = [](const fs::path& p) { return protocol::escape_for_terminal(p.string()); };
  std::vector<std::string> files;
  for (const auto& given : paths) {
    std::error_code ec;
    const auto status = fs::status(given, ec);
    if (ec || !fs::exists(status)) throw scenario_error(shown(given) + ": no such file or directory");
    if (fs::is_regular_file(status)) {
      files.push_back(given);
      continue;
    }
    if (!fs::is_directory(status)) throw scenario_error(shown(given) + ": not a file or a directory");
    std::vector<std::string> found_here;
    // One directory at a time, each listed whole before the next is opened: what is held is the directories still to
    // list, not an open handle per level. Directory symlinks are not followed (no cycle to walk round), and the depth
    // is bounded (6,000 nested levels once took 1.9 GB). A directory or a *.yaml that cannot be read is an error: a
    // file left out silently would let a run pass without the scenario it holds.
    std::vector<std::pair<fs::path, int>> directories{{fs::path(given), 0}};
    while (!directories.empty()) {
      const auto [dir, depth] = directories.back();
      directories.pop_back();
      fs::directory_iterator it(dir, ec), end;
      for (; !ec && it != end; it.increment(ec)) {
        const auto& entry = *it;
        std::error_code type_ec;
        const auto own = entry.symlink_status(type_ec);  // the entry itself, not what a link names
        if (fs::is_directory(own)) {
          if (depth + 1 > max_directory_depth)
            throw scenario_error(shown(entry.path()) + ": more than " + std::to_string(max_directory_depth) +
                                 " levels of directories below " + shown(given) + " (rdpsim run searches no deeper)");
          directories.emplace_back(entry.path(), depth + 1);
          continue;
        }
        if (entry.path().extension() != ".yaml") continue;
        const auto target = fs::status(entry.path(), type_ec);  // through a symlink, to what it names
        if (fs::is_symlink(own) && fs::is_directory(target)) continue;  // a linked directory: not followed
        if (type_ec || !fs::exists(target))
          throw scenario_error(shown(entry.path()) + ": cannot read it: " +
                               (type_ec ? type_ec.message() : std::string("it names nothing (a dangling link)")));
        if (!fs::is_regular_file(target)) throw scenario_error(shown(entry.path()) + ": not a regular file");
        found_here.push_back(entry.path().string());
      }
      if (ec) throw scenario_error(shown(dir) + ": cannot read the directory: " + ec.message());
    }
    if (found_here.empty()) throw scenario_error(shown(given) + ": no scenario files (*.yaml) in this directory");
    std::sort(found_here.begin(), found_here.end());
    files.insert(files.end(), found_here.begin(), found_here.end());
  }
  return files;
}

}  // namespace rdp::scenarios
