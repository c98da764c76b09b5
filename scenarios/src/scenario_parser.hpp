// The scenario parser's private parts, shared by its files (one per section of a scenario file, docs/scenarios.md):
// the words of the file, the reader (yaml::reader with what a scenario adds) and the parser, whose members are
// defined where their section is read: scenario_parse.cpp (the top level, the public functions), parse_server.cpp,
// parse_path.cpp, parse_clients.cpp, parse_timeline.cpp and parse_expectations.cpp. Pure parsing: no sockets, no
// clock (tests/fuzz/scenario_fuzz.cpp compiles these files with the profile parser and nothing else).
#pragma once

#include "rdp/scenarios/scenario.hpp"

#include "rdp/net/endpoint.hpp"
#include "rdp/net/local_file.hpp"
#include "rdp/net/quantity.hpp"
#include "rdp/protocol/errinfo.hpp"
#include "rdp/protocol/mcs.hpp"
#include "rdp/protocol/text.hpp"
#include "rdp/protocol/word_table.hpp"
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

namespace rdp::scenarios::parsing {

namespace fs = std::filesystem;

// A file larger than one YAML document may be is neither a scenario nor a profile (and a path to /dev/zero must not
// hang the parser).
inline constexpr std::size_t max_file_bytes = yaml::max_document_bytes;
// How deep `rdpsim run DIR` looks for scenario files below DIR.
inline constexpr int max_directory_depth = 32;

// ---- Words of the file ---------------------------------------------------------------------------------------

using protocol::list_words;
using protocol::value_of;
using protocol::word_of;
using protocol::word_table;

inline constexpr word_table<client_kind, 3> client_kind_words{{
    {client_kind::lean, "lean"}, {client_kind::freerdp, "freerdp"}, {client_kind::rdpprobe, "rdpprobe"}}};
inline constexpr word_table<client_liveness, 2> liveness_words{
    {{client_liveness::mstsc, "mstsc"}, {client_liveness::freerdp, "freerdp"}}};
inline constexpr word_table<admin_kind, 5> admin_kind_words{{{admin_kind::logoff, "logoff"},
                                                     {admin_kind::reset, "reset"},
                                                     {admin_kind::disconnect, "disconnect"},
                                                     {admin_kind::restart_service, "restart"},
                                                     {admin_kind::drop_connection, "drop-connection"}}};
inline constexpr word_table<sim::restart_sessions, 2> restart_sessions_words{
    {{sim::restart_sessions::keep, "keep"}, {sim::restart_sessions::end, "end"}}};
inline constexpr word_table<occupant_kind, 4> occupant_words{{{occupant_kind::http, "http"},
                                                      {occupant_kind::ssh, "ssh"},
                                                      {occupant_kind::banner, "banner"},
                                                      {occupant_kind::silent, "silent"}}};
inline constexpr word_table<close_kind, 7> close_words{{{close_kind::fin, "fin"},
                                                {close_kind::reset, "reset"},
                                                {close_kind::refused, "refused"},
                                                {close_kind::timeout, "timeout"},
                                                {close_kind::silence, "silence"},
                                                {close_kind::client, "client"},
                                                {close_kind::none, "none"}}};
// What a timeline step does: the key that names its action. read_step switches over these without a default, so a
// word added here and not handled there is a compiler warning (an error in CI), never another step's action.
enum class step_word { logon, reconnect, leave, busy, admin, policy, fault, probe, occupy_port, share_port };
inline constexpr word_table<step_word, 10> step_words{{{step_word::logon, "logon"},
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
inline constexpr auto step_keys = [] {
  constexpr std::array<std::string_view, 4> when{"at", "on", "after", "label"};
  constexpr std::array<std::string_view, 4> with_action{"client", "session", "down", "sessions"};
  std::array<std::string_view, when.size() + step_words.size() + with_action.size()> keys{};
  std::size_t i = 0;
  for (const auto k : when) keys[i++] = k;
  for (const auto& [word, k] : step_words) keys[i++] = k;
  for (const auto k : with_action) keys[i++] = k;
  return keys;
}();
inline constexpr word_table<reconnect_outcome, 4> reconnect_words{{{reconnect_outcome::honoured, "honoured"},
                                                           {reconnect_outcome::same_session, "same-session"},
                                                           {reconnect_outcome::new_session, "new-session"},
                                                           {reconnect_outcome::refused, "refused"}}};

// rdpprobe's verdict words (docs/verdicts.md). Kept here because this parser links nothing of the probe;
// tests/unit_scenarios checks them against probe::to_string(verdict).
inline constexpr std::array<std::string_view, 14> verdict_words{
    "rdp",           "not-rdp",    "refused",      "timeout",          "reset",
    "closed",        "negotiation-failed", "tls-failed", "session-error", "dns-failed",
    "listener-conflict", "login-failed",  "reconnect-failed",   "internal-error"};

inline constexpr std::array<std::string_view, 4> security_words{"any", "tls", "nla", "rdp"};
// The lean client speaks TLS or NLA (its own CredSSP), not Standard RDP Security nor FreeRDP's negotiation of "any".
inline constexpr std::array<std::string_view, 2> lean_security_words{"tls", "nla"};

// sim::server_counters by member name (sim/counters.hpp): `expect: {server: {counters: {NAME: N}}}`.
inline constexpr const auto& counter_members = sim::server_counter_members;

inline constexpr std::array<std::string_view, counter_members.size()> counter_names_array = [] {
  std::array<std::string_view, counter_members.size()> names{};
  for (std::size_t i = 0; i < counter_members.size(); ++i) names[i] = counter_members[i].first;
  return names;
}();

std::string phase_list();

// ---- Numbers and durations -----------------------------------------------------------------------------------

// A whole number in decimal or 0x-hex, nothing around it: the grammar of every YAML file of ours.
using yaml::parse_whole;

// A duration of the file: net::read_duration (the tools' one grammar, docs/quantities.md), in the milliseconds the
// runner keeps: what is finer is refused, not rounded. `why` says what is wrong.
std::optional<duration> parse_scenario_duration(std::string_view text, bool zero_allowed, std::string& why);

std::string show_duration(duration d);

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

  scenario run(const YAML::Node& root);

 private:
  void required(const YAML::Node& map, const std::string& key, const std::string& path, const std::string& what);
  static std::string read_small_file(const fs::path& path, std::string& text);

  // ---- server (parse_server.cpp) ----
  server_spec read_server(const YAML::Node& node, const YAML::Node& root);

  // ---- path (parse_path.cpp) ----
  path_spec read_path(const YAML::Node& node);
  fault_spec read_fault(const YAML::Node& node, const std::string& path, bool at_start);

  // ---- clients (parse_clients.cpp) ----
  void read_clients(const YAML::Node& node, std::vector<client_spec>& out);
  client_facts& client_named(const YAML::Node& node, const std::string& path,
                             std::initializer_list<client_kind> kinds, const std::string& why_kinds);

  // ---- timeline (parse_timeline.cpp) ----
  void read_timeline(const YAML::Node& node, std::vector<step>& out);
  static std::optional<std::size_t> first_step_in_a_ring(const std::vector<std::optional<std::size_t>>& waits_for);
  step read_step(const YAML::Node& node, const std::string& path, YAML::Node& on_node);
  step_action read_action(step_word what, const YAML::Node& node, const std::string& path, const YAML::Node& value,
                          const std::string& value_path);
  policy_step read_policy(const YAML::Node& node, const std::string& path);
  std::optional<std::size_t> check_event(const YAML::Node& node, const std::string& path, std::size_t self,
                                         std::size_t steps);

  // ---- expectations (parse_expectations.cpp) ----
  void read_expectations(const YAML::Node& node, std::vector<expectation>& out);
  client_expectation read_client_expectation(const YAML::Node& e, const std::string& path);
  std::uint32_t error_info(const YAML::Node& node, const std::string& path);
  std::uint32_t dpu_reason(const YAML::Node& node, const std::string& path);
  duration tolerance(const YAML::Node& node, const std::string& path);
  time_window window(const YAML::Node& node, const std::string& path);
  server_expectation read_server_expectation(const YAML::Node& e, const std::string& path);
  proxy_expectation read_proxy_expectation(const YAML::Node& e, const std::string& path);

  reader r_;
  std::string base_dir_;
  sim::certificate_handling certificates_;
  duration timeout_{std::chrono::minutes(5)};
  bool through_proxy_ = false;
  std::map<std::string, client_facts> clients_;
  std::vector<std::pair<YAML::Node, std::string>> reconnect_nodes_;  // each reconnect: step's value and its path
};

}  // namespace rdp::scenarios::parsing
