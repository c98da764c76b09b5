// `rdpsim run` given hostile input (issue 24, items 6, 7, 10, 11): it refuses with a usage error (exit 2), names what
// is wrong, and runs nothing. RDPSIM_UNDER_TEST, when set, names another rdpsim to hold to the same tests (an older
// build, to see them fail there).
#include "run_command.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using rdp::test::run_command;

std::string rdpsim() {
  const char* other = std::getenv("RDPSIM_UNDER_TEST");
  return other && *other ? other : RDPSIM_BIN;
}

// A scenario that passes quickly: a lean client logs on; the server's heartbeats and limits play no part.
constexpr const char* quick_scenario = R"(scenario: NAME
timeout: 1m
server:
  profile:
    protocols: [rdp, tls]
    users: [{user: alice, password: pw}]
clients:
  - {name: alice, kind: lean, user: alice, password: pw}
timeline:
  - {at: 0s, logon: alice}
  - {on: alice.active, after: 200ms, leave: alice}
expect:
  - {client: alice, active: true}
)";

std::string scenario_named(const std::string& name) {
  std::string text = quick_scenario;
  return text.replace(text.find("NAME"), 4, name);
}

fs::path fresh_dir(const std::string& name) {
  const auto dir = fs::path(testing::TempDir()) / ("rdpsim-run-hostile-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void expect_refused(const rdp::test::command_result& r, const std::string& words) {
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find(words), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("PASS"), std::string::npos) << "a scenario ran:\n" << r.output;
}

TEST(RdpsimRunHostile, ATimeScaleWhoseDurationsCannotBeRepresentedIsAUsageError) {
  const auto dir = fresh_dir("scale");
  std::ofstream(dir / "quick.yaml") << scenario_named("quick");
  // 1e-300: every duration rounds to nothing; the timeline printed (-9223372036854775808m…) and the run went on.
  const auto tiny = run_command(rdpsim() + " run --time-scale 1e-300 " + (dir / "quick.yaml").string());
  expect_refused(tiny, "--time-scale 1e-300 cannot replay " + (dir / "quick.yaml").string() + ": ");
  EXPECT_NE(tiny.output.find("a scaled duration lasts at least 1 ms"), std::string::npos) << tiny.output;
  EXPECT_NE(tiny.output.find("nothing was run"), std::string::npos) << tiny.output;
  // 0.001: the 200ms wait would last 0.2 ms. The scale needed is said.
  const auto small = run_command(rdpsim() + " run --time-scale 0.001 " + dir.string());
  expect_refused(small, "timeline[2].after (200ms) would last 0.2 ms");
  EXPECT_NE(small.output.find("a time scale of at least 0.005"), std::string::npos) << small.output;
  const auto huge = run_command(rdpsim() + " run --time-scale 1e300 " + dir.string());
  expect_refused(huge, "--time-scale 1e+300");
}

TEST(RdpsimRunHostile, AYamlThatCannotBeReadFailsTheRunInsteadOfBeingSkipped) {
  const auto dir = fresh_dir("dangling");
  std::ofstream(dir / "good.yaml") << scenario_named("good");
  fs::create_symlink(dir / "gone.yaml", dir / "bad.yaml");
  expect_refused(run_command(rdpsim() + " run " + dir.string()), (dir / "bad.yaml").string() + ": cannot read it");
}

TEST(RdpsimRunHostile, ADirectoryTooDeepIsRefusedNamingTheLimit) {
  const auto dir = fresh_dir("deep");
  std::ofstream(dir / "good.yaml") << scenario_named("good");
  auto at = dir;
  for (int level = 1; level <= 33; ++level) at /= "d";
  fs::create_directories(at);
  expect_refused(run_command(rdpsim() + " run " + dir.string()),
                 at.string() + ": more than 32 levels of directories below " + dir.string());
}

TEST(RdpsimRunHostile, ASecondDocumentFailsTheRunWithItsPosition) {
  const auto dir = fresh_dir("documents");
  std::ofstream(dir / "two.yaml") << scenario_named("two") << "---\nexpect: []\n";
  expect_refused(run_command(rdpsim() + " run " + dir.string()),
                 (dir / "two.yaml").string() + ":14:1: a second YAML document");
}

}  // namespace
