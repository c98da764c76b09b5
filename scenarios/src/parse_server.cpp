// `server:` of a scenario file: rdpsim's profile, inline (parsed in this document, so errors carry its line:column)
// or a file beside the scenario, read by the profile parser (sim/profile_yaml.hpp).
#include "scenario_parser.hpp"

namespace rdp::scenarios::parsing {

server_spec parser::read_server(const YAML::Node& node, const YAML::Node& root) {
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

}  // namespace rdp::scenarios::parsing
