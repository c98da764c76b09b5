#pragma once
// Test helpers for the scenario and profile parsers: text in, the parsed schema or the parser's "file:line:column: …"
// message out. Files are named t.yaml (scenarios) and p.yaml (profiles); certificates are checked, never generated.
#include "rdp/scenarios/scenario.hpp"
#include "rdp/sim/profile.hpp"

#include <stdexcept>
#include <string>

namespace rdp::test {

inline scenarios::scenario parse_scenario_text(const std::string& text, const std::string& base_dir = ".") {
  return scenarios::parse_scenario(text, "t.yaml", base_dir, sim::certificate_handling::check_only);
}

// The parser's message for `text`, or "(parsed without an error)".
inline std::string scenario_error_of(const std::string& text, const std::string& source = "t.yaml",
                                     const std::string& base_dir = ".") {
  try {
    scenarios::parse_scenario(text, source, base_dir, sim::certificate_handling::check_only);
  } catch (const scenarios::scenario_error& e) {
    return e.what();
  }
  return "(parsed without an error)";
}

inline std::string profile_error_of(const std::string& text, const std::string& source = "p.yaml") {
  try {
    sim::parse_profile(text, source, ".", sim::certificate_handling::check_only);
  } catch (const sim::profile_error& e) {
    return e.what();
  }
  return "(parsed without an error)";
}

// `text` with its first `from` replaced by `to`; a `from` that is not there is a bug of the test, not a pass.
inline std::string with(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  if (at == std::string::npos) throw std::logic_error("test bug: '" + from + "' is not in the text");
  return text.replace(at, from.size(), to);
}

// A whole scenario around one client (a flow mapping named alice): alice logs on at 0 s and is expected active.
inline std::string scenario_with_client(const std::string& client) {
  return "scenario: t\nclients:\n  - " + client +
         "\ntimeline:\n  - {at: 0s, logon: alice}\nexpect:\n  - {client: alice, active: true}\n";
}

}  // namespace rdp::test
