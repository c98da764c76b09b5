// `rdpprobe local` itself: collect, probe, render (local_listeners.hpp). The jobs are local_owners.cpp (sockets to
// processes), local_probe.cpp (the verdict step) and local_report.cpp (findings and renderings).
#include "rdp/probe/local_listeners.hpp"

#include <nlohmann/json.hpp>

#include <ostream>
#include <stdexcept>
#include <string>

namespace rdp::probe {

int run_local(std::uint16_t port, bool json_output, std::ostream& out, const local_options& options) {
  local_report report;
  try {
    report = find_listeners(port);
    probe_local_listeners(report, options);
  } catch (const std::runtime_error& e) {
    report = local_report{};
    report.port = port;
    report.findings.push_back(std::string("cannot inspect listeners: ") + e.what());
  }
  if (json_output) out << to_json(report).dump() << "\n";
  else print_human(out, report);
  out.flush();
  // A report that did not reach its reader is not a clean run (the caller makes this exit status 1).
  if (!out) throw std::runtime_error("the report could not be written (standard output failed)");
  return report.findings.empty() ? 0 : 1;
}

}  // namespace rdp::probe
