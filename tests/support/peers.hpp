#pragma once
// A test that needs a real peer (xrdp, xfreerdp, nmap, openssl …) and cannot find it. Outside CI it is skipped, and
// ctest reports it as skipped, not passed (every gtest_discover_tests sets SKIP_REGULAR_EXPRESSION). Under CI=true a
// missing peer is a failure: CI installs every peer (scripts/install-deps.sh), so a missing one means the run did not
// test what it claims to.
#include "run_command.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <string_view>

namespace rdp::test {

// True when the environment says this is a CI run (CI=true, as GitHub Actions, GitLab CI and .ci/run set it).
inline bool missing_peer_fails() {
  const char* ci = std::getenv("CI");
  return ci && (std::string_view(ci) == "true" || std::string_view(ci) == "1");
}

// Empty when `program` is on PATH, else the sentence a skip or failure gives.
inline std::string missing_program(const std::string& program) {
  return have_program(program) ? std::string() : program + " is not installed (scripts/install-deps.sh installs it)";
}

}  // namespace rdp::test

// Ends the current test (or SetUp) when `why` (a string naming the missing peer; empty = present) is not empty:
// skipped, or failed under CI=true.
#define RDP_REQUIRE_PEER(why)                                                                 \
  do {                                                                                        \
    const std::string rdp_missing_peer_ = (why);                                              \
    if (!rdp_missing_peer_.empty()) {                                                         \
      if (::rdp::test::missing_peer_fails()) FAIL() << "missing peer under CI=true: " << rdp_missing_peer_; \
      GTEST_SKIP() << rdp_missing_peer_;                                                      \
    }                                                                                         \
  } while (0)
