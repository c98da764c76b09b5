// Fuzzes the scenario file parser (scenarios/src/scenario_parse.cpp and its parse_*.cpp, with the profile parser an inline
// `server.profile:` goes through) with arbitrary text as a scenario. parse_scenario documents one way to fail,
// scenario_error, whose message starts with the file's name: anything else escaping (a yaml-cpp exception, a
// profile_error that was not translated, std::out_of_range, …) or a crash is a bug. Certificates are only checked
// (certificate_handling::check_only), and profile paths resolve under a directory that does not exist, so the
// fuzzer reads no file an input names.
#include "rdp/scenarios/scenario.hpp"

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <variant>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto s = rdp::scenarios::parse_scenario(text, "fuzz.yaml", "/nonexistent",
                                                  rdp::sim::certificate_handling::check_only);
    // What the parser promises of a scenario it accepts.
    if (s.name.empty() || s.clients.empty() || s.steps.empty() || s.expect.empty()) std::abort();
    for (const auto& step : s.steps) {
      if (step.when.at.has_value() == !step.when.on.empty()) std::abort();  // exactly one of at / on
      if (step.when.at && *step.when.at >= s.timeout) std::abort();
    }
    for (const auto& e : s.expect) {
      if (const auto* c = std::get_if<rdp::scenarios::client_expectation>(&e); c && c->within) {
        if (c->within->from && c->within->to && *c->within->from > *c->within->to) std::abort();
      }
    }
  } catch (const rdp::scenarios::scenario_error& e) {
    if (std::string(e.what()).rfind("fuzz.yaml", 0) != 0) std::abort();  // every error names its source first
    // The file's text is escaped for a terminal in every message: no control byte gets through (issue 24, item 9).
    for (const char c : std::string(e.what()))
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) std::abort();
  } catch (const std::exception& e) {
    std::cerr << "scenario_fuzz: parse_scenario threw something other than scenario_error: " << e.what() << "\n";
    std::abort();
  }
  return 0;
}
