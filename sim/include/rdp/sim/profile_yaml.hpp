#pragma once
// A profile that is already part of a parsed YAML document: the inline `server.profile:` mapping of a scenario file
// (docs/scenarios.md). Kept out of profile.hpp so that only the parsers that hold YAML nodes include yaml-cpp.
#include "rdp/sim/profile.hpp"

#include <yaml-cpp/yaml.h>

#include <string>

namespace rdp::sim {

// Parses the profile mapping `node` as parse_profile parses a file's root. Errors (profile_error) name `source`, the
// node's own line:column in that document, and key paths under `path_prefix`: "s.yaml:9:7: server.profile.sessions.
// max_sessions: expected a whole number ...". `name` defaults to the stem of `source`.
profile parse_profile_node(const YAML::Node& node, const std::string& source, const std::string& base_dir = ".",
                           certificate_handling certificates = certificate_handling::load_or_generate,
                           const std::string& path_prefix = {});

}  // namespace rdp::sim
