// What `rdpsim run` prints and writes for finished scenarios (runner.hpp): the timeline with the verdict, JUnit XML,
// JSON, and an HTML page with each scenario's sequence diagram as SVG (client | proxy | server lanes).
#include "rdp/protocol/text.hpp"
#include "rdp/scenarios/runner.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

namespace rdp::scenarios {
namespace {

std::string seconds_text(std::chrono::microseconds at) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%8.3fs", static_cast<double>(at.count()) / 1e6);
  return buf;
}

// Scenario time of a real instant, as "(4m48.0s)", padded to one width.
std::string scenario_clock(std::chrono::microseconds at, double scale) {
  const double seconds = static_cast<double>(at.count()) / 1e6 / scale;
  const auto minutes = static_cast<long long>(seconds / 60);
  char buf[32];
  std::snprintf(buf, sizeof buf, "(%lldm%04.1fs)", minutes, seconds - 60.0 * static_cast<double>(minutes));
  char padded[40];
  std::snprintf(padded, sizeof padded, "%12s", buf);
  return padded;
}

std::vector<std::string> wrap(const std::string& text, std::size_t width);  // below, with the SVG's helpers

std::string lane_label(const std::string& lane) {
  return lane.rfind("client:", 0) == 0 ? lane.substr(7) : lane;
}

}  // namespace

std::string format_result(const scenario_result& r, bool details, std::size_t width) {
  std::ostringstream out;
  // One line: `lead` then `text`; past `width`, the text goes on under itself (or 4 columns in, when the lead leaves
  // it less than 40), nothing cut.
  auto line = [&](const std::string& lead, const std::string& text) {
    if (width == 0 || lead.size() + text.size() <= width) {
      out << lead << text << "\n";
      return;
    }
    const std::size_t indent = lead.size() + 40 <= width ? lead.size() : 4;
    const auto pieces = wrap(text, width - indent);
    out << (indent == lead.size() ? lead : lead + "\n" + std::string(indent, ' ')) << pieces.front() << "\n";
    for (std::size_t i = 1; i < pieces.size(); ++i) out << std::string(indent, ' ') << pieces[i] << "\n";
  };
  line("scenario ", protocol::escape_for_terminal(r.name) + " (" + protocol::escape_for_terminal(r.file) +
                        ", time scale " + [&] {
                          std::ostringstream scale;
                          scale << r.time_scale;
                          return scale.str();
                        }() + ")");
  if (!r.summary.empty()) line("  ", protocol::escape_for_terminal(r.summary));
  std::size_t lane_width = 6;
  for (const auto& e : r.timeline) lane_width = std::max(lane_width, lane_label(e.lane).size());
  std::size_t hidden = 0;
  for (const auto& e : r.timeline) {
    if (e.detail && !details) {
      ++hidden;
      continue;
    }
    const auto lane = lane_label(e.lane);
    std::string lead = "  " + seconds_text(e.at);
    // Scaled runs also say when it was in the scenario's own time: "6.009s (5m00.4s)".
    if (r.time_scale != 1.0) lead += " " + scenario_clock(e.at, r.time_scale);
    lead += "  " + lane + std::string(lane_width - lane.size(), ' ') + "  ";
    line(lead, protocol::escape_for_terminal(e.text));
  }
  if (hidden) out << "  (" << hidden << " more entries of detail: --verbose, or the JSON report)\n";
  for (const auto& c : r.checks)
    line(c.passed ? "  ok   " : "  FAIL ", protocol::escape_for_terminal(c.what) + " — saw " +
                                            protocol::escape_for_terminal(c.why) + " (" +
                                            protocol::escape_for_terminal(to_string(c.where)) + ")");
  if (!r.error.empty()) line("  ERROR ", protocol::escape_for_terminal(r.error));
  out << (r.interrupted ? "INTERRUPTED " : r.passed ? "PASS " : "FAIL ") << protocol::escape_for_terminal(r.name)
      << " in " << std::fixed;
  out.precision(2);
  out << static_cast<double>(r.elapsed.count()) / 1000.0 << " s\n";
  return out.str();
}

std::string to_junit(const std::vector<scenario_result>& results) {
  std::size_t failures = 0, errors = 0;
  double seconds = 0;
  for (const auto& r : results) {
    if (!r.error.empty() || r.interrupted) ++errors;
    else if (!r.passed) ++failures;
    seconds += static_cast<double>(r.elapsed.count()) / 1000.0;
  }
  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"rdpsim.run\" tests=\""
      << results.size() << "\" failures=\"" << failures << "\" errors=\"" << errors << "\" time=\"" << seconds
      << "\">\n";
  for (const auto& r : results) {
    out << "    <testcase classname=\"rdpsim.scenario\" name=\"" << protocol::escape_xml(r.name) << "\" file=\""
        << protocol::escape_xml(r.file) << "\" time=\"" << static_cast<double>(r.elapsed.count()) / 1000.0 << "\">\n";
    if (!r.error.empty() || r.interrupted)
      out << "      <error message=\"" << protocol::escape_xml(r.interrupted ? "interrupted" : r.error) << "\"/>\n";
    for (const auto& c : r.checks)
      if (!c.passed)
        out << "      <failure message=\"" << protocol::escape_xml(c.what + " — saw " + c.why) << "\" type=\""
            << protocol::escape_xml(to_string(c.where)) << "\"/>\n";
    out << "      <system-out>" << protocol::escape_xml(format_result(r)) << "</system-out>\n    </testcase>\n";
  }
  out << "  </testsuite>\n</testsuites>\n";
  return out.str();
}

std::string to_json(const std::vector<scenario_result>& results) {
  auto text = [](const std::string& s) { return protocol::to_valid_utf8(s); };
  nlohmann::json all = nlohmann::json::array();
  for (const auto& r : results) {
    nlohmann::json j;
    j["scenario"] = text(r.name);
    j["file"] = text(r.file);
    j["summary"] = text(r.summary);
    j["cause"] = text(r.cause);
    j["result"] = r.interrupted ? "interrupted" : r.passed ? "pass" : "fail";
    j["error"] = r.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(text(r.error));
    j["time_scale"] = r.time_scale;
    j["elapsed_ms"] = r.elapsed.count();
    j["pcap"] = r.pcap ? nlohmann::json(text(r.pcap->string())) : nlohmann::json(nullptr);
    auto& timeline = j["timeline"] = nlohmann::json::array();
    for (const auto& e : r.timeline)
      timeline.push_back({{"at_us", e.at.count()}, {"lane", text(e.lane)}, {"text", text(e.text)}, {"detail", e.detail}});
    auto& checks = j["checks"] = nlohmann::json::array();
    for (const auto& c : r.checks)
      checks.push_back({{"expect", text(c.what)}, {"passed", c.passed}, {"saw", text(c.why)}, {"where", text(to_string(c.where))}});
    all.push_back(std::move(j));
  }
  return nlohmann::json{{"scenarios", all}}.dump(2) + "\n";
}

namespace {

// Scenario time as the file writes it: "4m48.0s", "12.5s".
std::string scenario_time_text(std::chrono::microseconds at, double scale) {
  const double seconds = static_cast<double>(at.count()) / 1e6 / scale;
  char buf[40];
  if (seconds >= 60) {
    const auto minutes = static_cast<long long>(seconds / 60);
    std::snprintf(buf, sizeof buf, "%lldm%04.1fs", minutes, seconds - 60.0 * static_cast<double>(minutes));
  } else {
    std::snprintf(buf, sizeof buf, "%.3fs", seconds);
  }
  return buf;
}

// A label in lines of at most `width` characters, broken at spaces (a word longer than a line is cut into pieces):
// nothing is lost, where the old diagram cut every label at 90 characters.
std::vector<std::string> wrap(const std::string& text, std::size_t width) {
  std::vector<std::string> lines;
  std::string line;
  std::istringstream words(text);
  for (std::string word; words >> word;) {
    while (word.size() > width) {
      if (!line.empty()) lines.push_back(std::exchange(line, {}));
      lines.push_back(word.substr(0, width));
      word.erase(0, width);
    }
    if (!line.empty() && line.size() + 1 + word.size() > width) lines.push_back(std::exchange(line, {}));
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty() || lines.empty()) lines.push_back(line);
  return lines;
}

// The PDUs that end or carry a session, as a client records them: drawn as arrows from the server to that client.
bool names_a_server_pdu(const std::string& text) {
  for (const char* pdu : {"Set Error Info", "errorInfo", "Disconnect Provider Ultimatum", "DPU", "Save Session Info",
                          "Heartbeat", "heartbeat"})
    if (text.find(pdu) != std::string::npos) return true;
  return false;
}

// A session's state as the server holds it (Windows' `query session` words), followed per client lane.
enum class lane_state { none, active, disconnected, ended };
const char* state_word(lane_state s) {
  switch (s) {
    case lane_state::active: return "Active";
    case lane_state::disconnected: return "Disc";
    case lane_state::ended: return "ended";
    case lane_state::none: break;
  }
  return "";
}
const char* state_colour(lane_state s) {
  switch (s) {
    case lane_state::active: return "#2a2";
    case lane_state::disconnected: return "#e90";
    case lane_state::ended: return "#888";
    case lane_state::none: break;
  }
  return "none";
}

// What an entry says of a client's session, if anything: the client's "active", and the server's events tagged with
// the client ("[alice #1]"): active, ended by a teardown (the session is gone), ended because the client left (the
// session stays, disconnected, as on a Windows host).
std::optional<lane_state> state_after(const timeline_entry& e, const std::string& client) {
  if (e.lane == "client:" + client) {
    if (e.text.rfind("active", 0) == 0) return lane_state::active;
    return std::nullopt;
  }
  if (e.lane != "server" || e.text.find("[" + client + " #") == std::string::npos) return std::nullopt;
  if (e.text.find(" active,") != std::string::npos) return lane_state::active;
  if (e.text.find(" ended") != std::string::npos)
    return e.text.find("(client-left)") != std::string::npos || e.text.find("(network)") != std::string::npos
               ? lane_state::disconnected
               : lane_state::ended;
  return std::nullopt;
}

}  // namespace

// Lanes left to right: each client, then the proxy (where there is one), then the server; the runner's notes span the
// page. One row per timeline entry, top to bottom in time (rows, not a time axis: a 30-minute idle would leave the
// page empty), each row headed by its scenario time (and the real time beside it when the run was scaled). Each client lane is drawn
// in the colour of its session's state (Active, Disc, ended) with the word where it changes; the PDUs a client
// records from the server are arrows from the server's lane; what the proxy does to a side is an arrow to that side.
std::string to_svg(const scenario_result& r) {
  std::vector<std::string> lanes;
  for (const auto& e : r.timeline)
    if (e.lane.rfind("client:", 0) == 0 && std::find(lanes.begin(), lanes.end(), e.lane) == lanes.end())
      lanes.push_back(e.lane);
  const std::size_t clients = lanes.size();
  // The proxy's lane only where the path has one (or the recording relay spoke).
  if (std::any_of(r.timeline.begin(), r.timeline.end(), [](const timeline_entry& e) { return e.lane == "proxy" && !e.detail; }))
    lanes.push_back("proxy");
  lanes.push_back("server");
  const bool scaled = r.time_scale != 1.0;
  const int lane_width = 360, line_height = 13, row_gap = 11, top = 64, left = scaled ? 170 : 90;
  const std::size_t chars_per_line = 52, note_chars = 150;
  const auto lane_x = [&](std::size_t i) { return left + lane_width * static_cast<int>(i) + lane_width / 2; };
  // The last lane's labels run right of its line: about 7 px a character of 11 px monospace.
  const int width = lane_x(lanes.size() - 1) + 8 + static_cast<int>(chars_per_line) * 7 + 16;

  // Layout first (row heights depend on the wrapped labels), then drawing.
  struct row {
    const timeline_entry* e;
    std::vector<std::string> lines;
    int y;
  };
  std::vector<row> rows;
  int y = top + 14;
  for (const auto& e : r.timeline) {
    if (e.detail) continue;
    const bool spans = std::find(lanes.begin(), lanes.end(), e.lane) == lanes.end();
    rows.push_back({&e, wrap(e.text, spans ? note_chars : chars_per_line), y});
    y += line_height * static_cast<int>(rows.back().lines.size()) + row_gap;
  }
  std::vector<std::vector<std::string>> check_lines;
  for (const auto& c : r.checks) {
    check_lines.push_back(wrap((c.passed ? "ok   " : "FAIL ") + c.what + " — saw " + c.why, 180));
  }
  const int lanes_end = y;
  int height = y + 10;
  for (const auto& lines : check_lines) height += line_height * static_cast<int>(lines.size()) + 4;
  height += 20;

  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" font-family=\"monospace\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg << "<text x=\"8\" y=\"18\" font-size=\"14\" font-weight=\"bold\">" << protocol::escape_xml(r.name) << " — "
      << (r.interrupted ? "INTERRUPTED" : r.passed ? "PASS" : "FAIL") << "</text>\n";
  svg << "<text x=\"8\" y=\"" << top - 12 << "\" fill=\"#666\">scenario time" << (scaled ? " (real)" : "") << "</text>\n";
  if (scaled) {
    std::ostringstream scale;
    scale << r.time_scale;
    svg << "<text x=\"8\" y=\"34\" fill=\"#666\">replayed at time scale " << protocol::escape_xml(scale.str())
        << ": scenario time first, the real time beside it</text>\n";
  }
  for (std::size_t i = 0; i < lanes.size(); ++i) {
    svg << "<text x=\"" << lane_x(i) << "\" y=\"" << top - 12 << "\" text-anchor=\"middle\" font-weight=\"bold\">"
        << protocol::escape_xml(lane_label(lanes[i])) << "</text>\n";
    svg << "<line x1=\"" << lane_x(i) << "\" y1=\"" << top - 6 << "\" x2=\"" << lane_x(i) << "\" y2=\"" << lanes_end
        << "\" stroke=\"#bbb\" stroke-dasharray=\"4 3\"/>\n";
  }
  // Session states along each client lane: a band from each change to the next, the word at the change.
  for (std::size_t i = 0; i < clients; ++i) {
    const auto client = lane_label(lanes[i]);
    lane_state state = lane_state::none;
    int since = 0;
    const auto band = [&](int until) {
      if (state == lane_state::none) return;
      svg << "<line x1=\"" << lane_x(i) << "\" y1=\"" << since << "\" x2=\"" << lane_x(i) << "\" y2=\"" << until
          << "\" stroke=\"" << state_colour(state) << "\" stroke-width=\"5\" opacity=\"0.6\"/>\n";
    };
    for (const auto& rw : rows) {
      const auto next = state_after(*rw.e, client);
      if (!next || *next == state) continue;
      band(rw.y - 4);
      state = *next;
      since = rw.y - 4;
      svg << "<text x=\"" << lane_x(i) - 8 << "\" y=\"" << rw.y << "\" text-anchor=\"end\" font-weight=\"bold\" fill=\""
          << state_colour(state) << "\">" << state_word(state) << "</text>\n";
    }
    band(lanes_end);
  }
  const auto arrow = [&](int from_x, int to_x, int at_y, const char* colour, bool dashed) {
    const int tip = to_x + (to_x < from_x ? 6 : -6);
    svg << "<line x1=\"" << from_x << "\" y1=\"" << at_y << "\" x2=\"" << tip << "\" y2=\"" << at_y << "\" stroke=\""
        << colour << "\" stroke-width=\"1.5\"" << (dashed ? " stroke-dasharray=\"6 3\"" : "") << "/>\n<polygon points=\""
        << to_x << "," << at_y << " " << tip << "," << at_y - 4 << " " << tip << "," << at_y + 4 << "\" fill=\"" << colour
        << "\"/>\n";
  };
  for (const auto& rw : rows) {
    const auto& e = *rw.e;
    const auto it = std::find(lanes.begin(), lanes.end(), e.lane);
    const bool spans = it == lanes.end();
    const std::size_t lane = static_cast<std::size_t>(it - lanes.begin());
    const int x = spans ? left : lane_x(lane);
    const bool bad = e.text.find("(rst)") != std::string::npos || e.text.find("ended: reset") != std::string::npos ||
                     e.text.find("ERROR") != std::string::npos || e.text.find("Error Info") != std::string::npos ||
                     e.text.find("errorInfo") != std::string::npos || e.text.find("idle-expired") != std::string::npos ||
                     e.text.find("ended: silence") != std::string::npos;
    const char* colour = bad ? "#c00" : "#036";
    // What the proxy does to a side is an arrow to that side's lane (every client lane for "client").
    if (!spans && e.lane == "proxy") {
      for (std::size_t i = 0; i < lanes.size(); ++i) {
        const bool to_client = e.text.find("toward client") != std::string::npos && lanes[i].rfind("client:", 0) == 0;
        const bool to_server = e.text.find("toward server") != std::string::npos && lanes[i] == "server";
        if (to_client || to_server) arrow(x, lane_x(i), rw.y - 4, colour, false);
      }
    }
    // A PDU the client received from the server: an arrow from the server's lane (dashed: drawn from the client's
    // record of it, at the instant the client read it), in the gap above the row so that it crosses no label.
    if (!spans && lane < clients && names_a_server_pdu(e.text)) arrow(lane_x(lanes.size() - 1), x, rw.y - 14, colour, true);
    svg << "<text x=\"4\" y=\"" << rw.y << "\" fill=\"#333\">" << protocol::escape_xml(scenario_time_text(e.at, r.time_scale));
    if (scaled) svg << "<tspan fill=\"#999\"> (" << protocol::escape_xml(scenario_time_text(e.at, 1.0)) << ")</tspan>";
    svg << "</text>\n";
    if (!spans) svg << "<circle cx=\"" << x << "\" cy=\"" << rw.y - 4 << "\" r=\"4\" fill=\"" << colour << "\"/>\n";
    svg << "<text x=\"" << (spans ? x : x + 8) << "\" y=\"" << rw.y << "\"" << (spans ? " font-style=\"italic\"" : "")
        << (bad ? " fill=\"#c00\"" : "") << ">";
    for (std::size_t l = 0; l < rw.lines.size(); ++l)
      svg << "<tspan x=\"" << (spans ? x : x + 8) << "\" dy=\"" << (l == 0 ? 0 : line_height) << "\">"
          << protocol::escape_xml(rw.lines[l]) << "</tspan>";
    svg << "</text>\n";
  }
  y = lanes_end + 16;
  for (std::size_t c = 0; c < r.checks.size(); ++c) {
    svg << "<text x=\"4\" y=\"" << y << "\" fill=\"" << (r.checks[c].passed ? "#060" : "#c00") << "\">";
    for (std::size_t l = 0; l < check_lines[c].size(); ++l)
      svg << "<tspan x=\"4\" dy=\"" << (l == 0 ? 0 : line_height) << "\">" << protocol::escape_xml(check_lines[c][l])
          << "</tspan>";
    svg << "</text>\n";
    y += line_height * static_cast<int>(check_lines[c].size()) + 4;
  }
  svg << "</svg>\n";
  return svg.str();
}

std::string to_html_report(const std::vector<scenario_result>& results) {
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>rdpsim run</title>"
          "<style>body{font-family:sans-serif} .pass{color:#060} .fail{color:#c00} svg{border:1px solid #ddd;"
          "margin-bottom:2em}</style></head><body>\n<h1>rdpsim run</h1>\n<ul>\n";
  for (const auto& r : results)
    html << "<li class=\"" << (r.passed ? "pass" : "fail") << "\"><a href=\"#" << protocol::escape_xml(r.name) << "\">"
         << protocol::escape_xml(r.name) << "</a>: " << (r.passed ? "PASS" : "FAIL") << " — "
         << protocol::escape_xml(r.summary) << "</li>\n";
  html << "</ul>\n";
  for (const auto& r : results)
    html << "<h2 id=\"" << protocol::escape_xml(r.name) << "\">" << protocol::escape_xml(r.name) << "</h2>\n<p>"
         << protocol::escape_xml(r.cause) << " — " << protocol::escape_xml(r.file) << "</p>\n" << to_svg(r);
  html << "</body></html>\n";
  return html.str();
}

}  // namespace rdp::scenarios
