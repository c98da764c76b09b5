// Reads a scenario file (docs/scenarios.md) into the types of scenario.hpp, and refuses — before anything runs —
// whatever those types do not define: "file:line:column: key.path: what is wrong". List items are numbered from 1
// in key paths (timeline[3]), as `on: step.3.done` counts them. Pure parsing: no sockets, no clock; the only files
// read are a `server.profile:` path and what load_scenario is given. This file holds the top level (the scenario's
// name, timeout, tolerance) and the public functions; each section has its parse_*.cpp (scenario_parser.hpp).
#include "scenario_parser.hpp"

#include <cmath>
#include <filesystem>
#include <sstream>

namespace rdp::scenarios {
namespace parsing {

std::string phase_list() {
  std::string list;
  for (int i = 0; i <= static_cast<int>(proxy::phase::session_info_sent); ++i)
    list += (list.empty() ? "" : ", ") + std::string(proxy::to_string(static_cast<proxy::phase>(i)));
  return list;
}

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

scenario parser::run(const YAML::Node& root) {
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

void parser::required(const YAML::Node& map, const std::string& key, const std::string& path, const std::string& what) {
  if (!map[key]) r_.fail(map, join(path, key), "missing: " + what);
}

std::string parser::read_small_file(const fs::path& path, std::string& text) {
  std::string why;
  auto content = net::read_regular_file(path.string(), max_file_bytes, "a file a scenario names", why);
  if (content) text = std::move(*content);
  return why;
}

}  // namespace parsing

using namespace parsing;

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
