#pragma once
// Typed reads from a document that load_single_document loaded (rdp/yaml/document.hpp). Each read either returns the
// value or throws yaml::error naming the file, the node's line:column and the key path, in one wording for every
// parser: "p.yaml:3:17: sessions.max_sessions: expected a whole number from 1 to 1000000, found 'many'". Profiles
// (sim/src/profile.cpp) and scenario files (scenarios/src/scenario_parse.cpp) each derive their reader from this one
// and add their own kinds of value.
#include "rdp/yaml/document.hpp"

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace rdp::yaml {

// "clients" + "name" gives "clients.name"; an empty path gives just the key.
std::string join(const std::string& path, const std::string& key);
// "clients" and 0 give "clients[1]": list items in key paths are numbered from 1, as `on: step.3.done` counts them.
std::string item(const std::string& path, std::size_t index0);

// What the file holds at `node`, for "expected X, found Y". It is a scalar in quotes (cut to 60 bytes, then "…"),
// "a list", "a mapping" or "nothing (null)". It is not escaped here: located_message escapes the whole message.
std::string found(const YAML::Node& node);

// A whole number of the files: decimal or 0x-hex digits and nothing else, with no sign and no spaces, up to
// 2^64-1. docs/scenarios.md and docs/profiles.md document this grammar.
std::optional<std::uint64_t> parse_whole(std::string_view text);

// A boolean as the schemas write it: the scalar `true` or `false`, nothing else. yaml-cpp's own decoding also takes
// YAML 1.1's words (yes/no, on/off, y/n, in three casings), which docs/profiles.md and docs/scenarios.md do not list.
// There is one rule for every parser, so `heartbeat: yes` is refused with its position rather than read. nullopt
// means the node is not one of the two words; the caller says where it is and what was found.
std::optional<bool> schema_bool(const YAML::Node& node);

// What a caller adds to "expected true or false, found ..." when the text was one of yaml-cpp's other words for a
// boolean ("yes", "On", "n"): that the schema takes only true and false. Empty for anything else.
std::string schema_bool_hint(const YAML::Node& node);

// Whether an empty scalar ("" or '') is a value (a profile's password) or refused (a scenario's client name).
enum class empty_value { refuse, allow };

// The reads of one file. Every error names `source` and a key path that starts with `prefix` ("server.profile" for a
// profile written inline in a scenario file).
class reader {
 public:
  explicit reader(std::string source, std::string prefix = {});

  const std::string& source() const { return source_; }

  // Throws yaml::error: "source:line:column: prefix.path: why", at `at`'s position. `path` and `why` may hold the
  // file's own text (keys, names, values); located_message escapes it for the terminal.
  [[noreturn]] void fail(const YAML::Node& at, const std::string& path, const std::string& why) const;

  // `map` itself, if it is a mapping whose keys are all scalars in `allowed`. load_single_document has already
  // refused a key given twice. Otherwise: "expected <what>, found a list", "expected a key name, found a mapping",
  // or, at the key, "path.key: unknown key (known here: a, b, c)".
  const YAML::Node& keys(const YAML::Node& map, const std::string& path,
                         std::initializer_list<std::string_view> allowed, const std::string& what = "a mapping") const;
  const YAML::Node& keys(const YAML::Node& map, const std::string& path, std::span<const std::string_view> allowed,
                         const std::string& what = "a mapping") const;

  // `node` itself if it is a list: "expected a list of <of>, found ...". An empty list is refused unless `empty`
  // allows it: "the list is empty: at least one <of> is needed".
  const YAML::Node& list(const YAML::Node& node, const std::string& path, const std::string& of,
                         empty_value empty = empty_value::refuse) const;

  // A scalar's text: "expected <what>, found a mapping", or "..., found an empty value" when `empty` refuses it.
  std::string text(const YAML::Node& node, const std::string& path, const std::string& what = "a text value",
                   empty_value empty = empty_value::refuse) const;

  // schema_bool, or "expected true or false, found 'yes'" followed by schema_bool_hint.
  bool flag(const YAML::Node& node, const std::string& path) const;

  // parse_whole within [min, max], or "expected a whole number from min to max, found ...".
  std::uint64_t whole(const YAML::Node& node, const std::string& path, std::uint64_t min, std::uint64_t max) const;

  // A limit that `null` (or `none`) switches off, where the schema says "or null".
  static bool is_off(const YAML::Node& node);

 private:
  std::string source_;
  std::string prefix_;
};

}  // namespace rdp::yaml
