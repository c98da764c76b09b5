// `path:` of a scenario file (direct, or through the fault proxy) and the faults of the proxy, which a `fault:` step
// of the timeline changes with the same keys.
#include "scenario_parser.hpp"

namespace rdp::scenarios::parsing {

path_spec parser::read_path(const YAML::Node& node) {
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
fault_spec parser::read_fault(const YAML::Node& node, const std::string& path, bool at_start) {
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

}  // namespace rdp::scenarios::parsing
