// Fuzzes rdpsim's profile parser (sim/src/profile.cpp) with arbitrary text as a profile. parse_profile documents
// one way to fail, profile_error: anything else escaping (a yaml-cpp exception, std::invalid_argument from a
// number, …) or a crash is a bug. Certificates are only checked (certificate_handling::check_only): generating an
// RSA key per input would make the fuzzer a benchmark of OpenSSL, and loading one would read files the input names.
// The corpus holds what the one-document loader (rdp/yaml/document.hpp) refuses: keys given twice (in a list item,
// in an aliased mapping), second documents, long keys, deep nesting, escape sequences in keys and values.
#include "rdp/sim/profile.hpp"

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto p = rdp::sim::parse_profile(text, "fuzz.yaml", "/nonexistent", rdp::sim::certificate_handling::check_only);
    // What a profile sets must be usable as it stands.
    if (p.server.max_connections == 0 || p.server.max_session_table == 0) std::abort();
    if (p.server.sessions.max_sessions && *p.server.sessions.max_sessions == 0) std::abort();
  } catch (const rdp::sim::profile_error& e) {
    if (std::string(e.what()).rfind("fuzz.yaml", 0) != 0) std::abort();  // every error names its source first
    // The file's text is escaped for a terminal in every message: no control byte gets through (issue 24, item 9).
    for (const char c : std::string(e.what()))
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) std::abort();
  } catch (const std::exception& e) {
    std::cerr << "profile_fuzz: parse_profile threw something other than profile_error: " << e.what() << "\n";
    std::abort();
  }
  return 0;
}
