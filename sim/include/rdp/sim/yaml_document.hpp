#pragma once
// One YAML document from a file that people write by hand (rdpsim profiles, scenario files): the one way both parsers
// load their text and compose their errors, so that what one refuses the other refuses too. yaml-cpp on its own
// ignores everything after the first document and keeps every key of a mapping given twice (a lookup then finds the
// first): a second document's keys, or a second `max_sessions:`, would be silently unused.
#include <yaml-cpp/yaml.h>

#include <optional>
#include <stdexcept>
#include <string>

namespace rdp::sim {

// Text that is not one YAML document of unique keys. what() is "source:line:column: key.path: what is wrong".
class yaml_document_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bounds of the tree load_single_document walks. No key of a profile or a scenario is longer than a few dozen
// characters nor nested more than a few levels deep; beyond these the text is refused rather than walked (yaml-cpp's
// lookups copy each key they compare, so a long key met in many mappings is the costly one).
inline constexpr int max_yaml_depth = 32;
inline constexpr std::size_t max_yaml_key_bytes = 128;

// The single document of `text`, whose errors name `source`. Refused with yaml_document_error: text that is not YAML,
// a second document (at its `---`), a key given twice in any mapping of the tree (at the second, with the key path),
// a key longer than max_yaml_key_bytes, nesting deeper than max_yaml_depth. Each mapping and list is walked once
// however many aliases name it, so an alias bomb costs what its text costs.
YAML::Node load_single_document(const std::string& text, const std::string& source);

// "source:line:column: key.path: why" (just "source: ..." where `at` has no position; no "key.path: " when `path` is
// empty), line and column from 1. Every piece is file text or may hold some (a key, a value quoted in `why`, the
// file's own name): each is escaped for a terminal here (protocol::escape_for_terminal), once, so a message never
// carries the file's control sequences to the user's terminal.
// A boolean as the schemas write it: the scalar `true` or `false`, nothing else. yaml-cpp's own decoding also takes
// YAML 1.1's words (yes/no, on/off, y/n, in three casings), which docs/profiles.md and docs/scenarios.md do not list:
// one rule for both parsers, so `heartbeat: yes` is refused with its position rather than read. nullopt: not one of
// the two words (the caller says where and what was found).
std::optional<bool> schema_bool(const YAML::Node& node);

// What a caller adds to "expected true or false, found ..." when the text was one of yaml-cpp's other words for a
// boolean ("yes", "On", "n"): that the schema takes only true and false. Empty for anything else.
std::string schema_bool_hint(const YAML::Node& node);

std::string located_message(const std::string& source, const YAML::Mark& at, const std::string& path,
                            const std::string& why);

}  // namespace rdp::sim
