#include "rdp/probe/junit.hpp"

#include "rdp/protocol/text.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace rdp::probe {

// Character data and attribute values go through protocol::escape_xml; the raw bytes of wire text are in the JSON
// of <system-out>, as "<name>_hex" members (docs/json-schema.md).

std::string to_junit(const std::vector<std::string>& target_names, const std::vector<std::optional<target_report>>& reports) {
  // A finding about a target is a failure; a probe that failed itself (internal-error) is an error, as JUnit tells a
  // test that broke from one whose assertion failed.
  std::size_t failures = 0, errors = 0, skipped = 0;
  double seconds = 0;
  for (const auto& r : reports) {
    if (!r) ++skipped;
    else if (r->result == verdict::internal_error) ++errors;
    else if (r->result != verdict::rdp) ++failures;
    if (r) seconds += r->total_ms / 1000.0;
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  char head[256];
  std::snprintf(head, sizeof head,
                "<testsuite name=\"rdpprobe\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\">\n",
                reports.size(), failures, errors, skipped, seconds);
  out += head;
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const auto& r = reports[i];
    char time[32];
    std::snprintf(time, sizeof time, "%.3f", r ? r->total_ms / 1000.0 : 0.0);
    out += "  <testcase classname=\"rdpprobe.scan\" name=\"" + protocol::escape_xml(target_names[i]) + "\" time=\"" + time + "\">\n";
    if (!r) {
      out += "    <skipped message=\"not finished: the run was interrupted\"/>\n";
    } else {
      if (r->result == verdict::internal_error)
        out += "    <error type=\"internal-error\" message=\"" + protocol::escape_xml(r->evidence) + "\"/>\n";
      else if (r->result != verdict::rdp)
        out += "    <failure type=\"" + std::string(to_string(r->result)) + "\" message=\"" + protocol::escape_xml(r->evidence) + "\"/>\n";
      out += "    <system-out>" + protocol::escape_xml(to_json(*r).dump()) + "</system-out>\n";
    }
    out += "  </testcase>\n";
  }
  out += "</testsuite>\n";
  return out;
}

}  // namespace rdp::probe
