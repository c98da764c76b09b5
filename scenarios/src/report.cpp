// What `rdpsim run` prints and writes for finished scenarios (runner.hpp): the timeline with the verdict, JUnit XML,
// JSON, and an HTML page with each scenario's sequence diagram as SVG (client | proxy | server lanes).
#include "rdp/protocol/text.hpp"
#include "rdp/scenarios/runner.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <sstream>

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

std::string lane_label(const std::string& lane) {
  return lane.rfind("client:", 0) == 0 ? lane.substr(7) : lane;
}

}  // namespace

std::string format_result(const scenario_result& r, bool details) {
  std::ostringstream out;
  out << "scenario " << protocol::escape_for_terminal(r.name) << " (" << protocol::escape_for_terminal(r.file)
      << ", time scale " << r.time_scale << ")\n";
  if (!r.summary.empty()) out << "  " << protocol::escape_for_terminal(r.summary) << "\n";
  std::size_t width = 6;
  for (const auto& e : r.timeline) width = std::max(width, lane_label(e.lane).size());
  std::size_t hidden = 0;
  for (const auto& e : r.timeline) {
    if (e.detail && !details) {
      ++hidden;
      continue;
    }
    const auto lane = lane_label(e.lane);
    out << "  " << seconds_text(e.at);
    // Scaled runs also say when it was in the scenario's own time: "6.009s (5m00.4s)".
    if (r.time_scale != 1.0) out << " " << scenario_clock(e.at, r.time_scale);
    out << "  " << lane << std::string(width - lane.size(), ' ') << "  "
        << protocol::escape_for_terminal(e.text) << "\n";
  }
  if (hidden) out << "  (" << hidden << " more entries of detail: --verbose, or the JSON report)\n";
  for (const auto& c : r.checks)
    out << "  " << (c.passed ? "ok   " : "FAIL ") << protocol::escape_for_terminal(c.what) << " — saw "
        << protocol::escape_for_terminal(c.why) << " (" << protocol::escape_for_terminal(to_string(c.where)) << ")\n";
  if (!r.error.empty()) out << "  ERROR " << protocol::escape_for_terminal(r.error) << "\n";
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

// Lanes left to right: each client, then the proxy, then the server; the runner's notes span the page. One row per
// timeline entry, top to bottom in time (rows, not a time axis: a 30-minute idle would leave the page empty).
std::string to_svg(const scenario_result& r) {
  std::vector<std::string> lanes;
  for (const auto& e : r.timeline)
    if (e.lane.rfind("client:", 0) == 0 && std::find(lanes.begin(), lanes.end(), e.lane) == lanes.end())
      lanes.push_back(e.lane);
  lanes.push_back("proxy");
  lanes.push_back("server");
  const int lane_width = 360, row = 22, top = 50, left = 90;
  // Room on the right for the last lane's text.
  const int width = left + lane_width * static_cast<int>(lanes.size()) + 420;
  const auto shown = std::count_if(r.timeline.begin(), r.timeline.end(), [](const timeline_entry& e) { return !e.detail; });
  const int height = top + row * static_cast<int>(static_cast<std::size_t>(shown) + r.checks.size()) + 40;
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" font-family=\"monospace\" font-size=\"11\">\n";
  svg << "<text x=\"8\" y=\"18\" font-size=\"14\" font-weight=\"bold\">" << protocol::escape_xml(r.name) << " — "
      << (r.interrupted ? "INTERRUPTED" : r.passed ? "PASS" : "FAIL") << "</text>\n";
  for (std::size_t i = 0; i < lanes.size(); ++i) {
    const int x = left + lane_width * static_cast<int>(i) + lane_width / 2;
    svg << "<text x=\"" << x << "\" y=\"" << top - 12 << "\" text-anchor=\"middle\" font-weight=\"bold\">"
        << protocol::escape_xml(lane_label(lanes[i])) << "</text>\n";
    svg << "<line x1=\"" << x << "\" y1=\"" << top - 6 << "\" x2=\"" << x << "\" y2=\"" << height - 30
        << "\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n";
  }
  int y = top + 10;
  for (const auto& e : r.timeline) {
    if (e.detail) continue;
    const auto it = std::find(lanes.begin(), lanes.end(), e.lane);
    const bool spans = it == lanes.end();
    const int x = spans ? left : left + lane_width * static_cast<int>(it - lanes.begin()) + lane_width / 2;
    const bool bad = e.text.find("(rst)") != std::string::npos || e.text.find("ended: reset") != std::string::npos ||
                     e.text.find("ERROR") != std::string::npos || e.text.find("Error Info") != std::string::npos ||
                     e.text.find("errorInfo") != std::string::npos || e.text.find("idle-expired") != std::string::npos ||
                     e.text.find("ended: silence") != std::string::npos;
    // What the proxy does to a side is an arrow to that side's lane (every client lane for "client").
    if (!spans && e.lane == "proxy") {
      for (std::size_t i = 0; i < lanes.size(); ++i) {
        const bool to_client = e.text.find("toward client") != std::string::npos && lanes[i].rfind("client:", 0) == 0;
        const bool to_server = e.text.find("toward server") != std::string::npos && lanes[i] == "server";
        if (!to_client && !to_server) continue;
        const int tx = left + lane_width * static_cast<int>(i) + lane_width / 2;
        const int tip = tx + (tx < x ? 6 : -6);
        svg << "<line x1=\"" << x << "\" y1=\"" << y - 4 << "\" x2=\"" << tip << "\" y2=\"" << y - 4
            << "\" stroke=\"" << (bad ? "#c00" : "#036") << "\" stroke-width=\"1.5\"/>\n<polygon points=\"" << tx << ","
            << y - 4 << " " << tip << "," << y - 8 << " " << tip << "," << y << "\" fill=\"" << (bad ? "#c00" : "#036")
            << "\"/>\n";
      }
    }
    svg << "<text x=\"4\" y=\"" << y << "\" fill=\"#666\">" << protocol::escape_xml(seconds_text(e.at)) << "</text>\n";
    if (!spans) svg << "<circle cx=\"" << x << "\" cy=\"" << y - 4 << "\" r=\"4\" fill=\"" << (bad ? "#c00" : "#036") << "\"/>\n";
    std::string label = e.text;
    if (label.size() > 90) {
      label.resize(87);  // a GCC 12 -Warray-bounds false positive on substr() + "..."
      label.append("...");
    }
    svg << "<text x=\"" << (spans ? x : x + 8) << "\" y=\"" << y << "\"" << (spans ? " font-style=\"italic\"" : "")
        << (bad ? " fill=\"#c00\"" : "") << "><title>" << protocol::escape_xml(e.text) << "</title>"
        << protocol::escape_xml(label) << "</text>\n";
    y += row;
  }
  for (const auto& c : r.checks) {
    svg << "<text x=\"4\" y=\"" << y << "\" fill=\"" << (c.passed ? "#060" : "#c00") << "\">"
        << (c.passed ? "ok   " : "FAIL ") << protocol::escape_xml(c.what + " — saw " + c.why) << "</text>\n";
    y += row;
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
