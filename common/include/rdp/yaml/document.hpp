#pragma once
// One YAML document from a file that people write by hand (rdpsim profiles, scenario files, and the exporter's
// modules later): the one way every parser loads its text and writes its errors, so that what one refuses the
// others refuse too. On its own, yaml-cpp ignores everything after the first document. It also keeps every key of a
// mapping that is given twice, and a lookup then finds the first one. So a second document's keys, or a second
// `max_sessions:`, would go unused without a word. Typed reads with positions are in rdp/yaml/reader.hpp.
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace rdp::yaml {

// Text that is not what its parser accepts: not one YAML document of unique keys, or a value the schema refuses
// (yaml::reader). what() is "source:line:column: key.path: what is wrong", escaped for a terminal. Each parser
// rethrows it as its own error (sim::profile_error, scenarios::scenario_error) at its entry point.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The size cap of every YAML file the tools read: no profile or scenario file comes near 1 MiB. The readers of
// files (sim::load_profile, scenarios::load_scenario, a scenario's `server.profile:` file) read at most this many
// bytes with net::read_regular_file, so /dev/zero or a huge file is refused before it is parsed. It is applied where
// a file is read, not by load_single_document. Text given in memory is the caller's own, and the scenario tests
// build chains far longer than a file may hold to show that the checks stay linear.
inline constexpr std::size_t max_document_bytes = 1 << 20;

// Bounds on the tree that load_single_document walks. No key is longer than a few dozen characters, and none is
// nested more than a few levels deep. Past these bounds the text is refused rather than walked. yaml-cpp's lookups
// copy each key they compare, so a long key met in many mappings is the costly case.
inline constexpr int max_depth = 32;
inline constexpr std::size_t max_key_bytes = 128;

// The single document of `text`, whose errors name `source`. `what` names the document in the message for an empty
// one ("the profile" gives "p.yaml: the profile is empty"). Refused with yaml::error:
// - text that is not YAML;
// - a second document (at its `---`);
// - an empty document (nothing but comments, or nothing at all);
// - a key given twice in any mapping of the tree (at the second one, with the key path);
// - a key longer than max_key_bytes;
// - nesting deeper than max_depth.
// Each mapping and list is walked once however many aliases name it, so an alias bomb costs what its text costs.
YAML::Node load_single_document(const std::string& text, const std::string& source, std::string_view what);

// "source:line:column: key.path: why" (just "source: ..." when `at` has no position, and no "key.path: " when `path`
// is empty). Line and column count from 1. Every piece may hold file text: a key, a value quoted in `why`, or the
// file's own name. Each piece is escaped for a terminal here (protocol::escape_for_terminal), once, so that a message
// never carries the file's control sequences to the user's terminal.
std::string located_message(const std::string& source, const YAML::Mark& at, const std::string& path,
                            const std::string& why);

// Runs `read` (a parser's walk over a loaded document) and turns a conversion that yaml-cpp itself refuses
// (YAML::Exception, for example a lookup in a scalar) into a yaml::error at the exception's mark. A parser's own
// checks go through yaml::reader and do not depend on this. It is the net for what they do not cover, so that
// yaml-cpp's exceptions never escape a parser.
template <class Read>
decltype(auto) with_positions(const std::string& source, Read&& read) {
  try {
    return read();
  } catch (const YAML::Exception& e) {
    throw error(located_message(source, e.mark, "", e.msg));
  }
}

}  // namespace rdp::yaml
