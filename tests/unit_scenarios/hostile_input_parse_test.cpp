// Scenario and profile files written by someone hostile (issue 24, items 6-10): what the parsers and `rdpsim run`'s
// directory walk must refuse — with "file:line:column: key.path: what is wrong" and the file's text escaped — and the
// inputs that must stay cheap. Only parse_scenario, parse_profile and find_scenario_files are used, so each test
// here can be built against the code before the fix and seen to fail there.
#include "rdp/scenarios/scenario.hpp"
#include "rdp/sim/profile.hpp"

#include "scenario_text.hpp"
#include "unprivileged.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using namespace rdp::scenarios;
using rdp::sim::certificate_handling;

using rdp::test::profile_error_of;
using rdp::test::scenario_error_of;


bool has_raw_escape(const std::string& text) { return text.find('\x1b') != std::string::npos; }

const std::string minimal = R"(scenario: t
clients:
  - {name: alice}
timeline:
  - {at: 0s, logon: alice}
expect:
  - {client: alice, active: true}
)";

// A directory of the test's own under the test temporary directory, empty.
fs::path fresh_dir(const std::string& name) {
  const auto dir = fs::path(testing::TempDir()) / ("hostile-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                           fs::perms::others_exec);
  return dir;
}

std::string walk_error_of(const fs::path& dir) {
  try {
    const auto files = find_scenario_files({dir.string()});
    std::string list;
    for (const auto& f : files) list += " " + f;
    return "(no error; found" + list + ")";
  } catch (const scenario_error& e) {
    return e.what();
  }
}

// ---- 6: what cannot be read is an error, never skipped ---------------------------------------------------------

// Root meets these too (permissions do not bite root, so CI runs these as well as the test below).
TEST(HostileScenarioDirectory, AYamlLinkToNothingIsAnErrorNotSkipped) {
  const auto dir = fresh_dir("dangling");
  std::ofstream(dir / "good.yaml") << minimal;
  fs::create_symlink(dir / "missing-target.yaml", dir / "bad.yaml");
  const auto why = walk_error_of(dir);
  EXPECT_NE(why.find((dir / "bad.yaml").string() + ": cannot read it"), std::string::npos) << why;
}

TEST(HostileScenarioDirectory, AYamlLinkThatLoopsIsAnErrorNotSkipped) {
  const auto dir = fresh_dir("loop");
  std::ofstream(dir / "good.yaml") << minimal;
  fs::create_symlink(dir / "loop.yaml", dir / "loop.yaml");
  const auto why = walk_error_of(dir);
  EXPECT_NE(why.find((dir / "loop.yaml").string() + ": cannot read it"), std::string::npos) << why;
}

TEST(HostileScenarioDirectory, AYamlThatIsNotARegularFileIsAnError) {
  const auto dir = fresh_dir("fifo");
  std::ofstream(dir / "good.yaml") << minimal;
  ASSERT_EQ(::mkfifo((dir / "pipe.yaml").c_str(), 0644), 0);
  const auto why = walk_error_of(dir);
  EXPECT_NE(why.find((dir / "pipe.yaml").string() + ": not a regular file"), std::string::npos) << why;
}

// A subdirectory the user cannot list. As root the walk runs in a child that has given up root (setresuid to
// nobody), so this runs — and can fail — in CI too.
TEST(HostileScenarioDirectory, AnUnreadableSubdirectoryIsAnErrorNotSkipped) {
  const auto dir = fresh_dir("locked");
  std::ofstream(dir / "good.yaml") << minimal;
  fs::create_directory(dir / "locked");
  std::ofstream(dir / "locked" / "malformed.yaml") << "not: [a scenario\n";
  fs::permissions(dir / "locked", fs::perms::none);

  const auto run = rdp::test::run_unprivileged([&]() -> std::string {
    if (::access(dir.c_str(), R_OK | X_OK) != 0)
      return "skip: the test directory is not readable by uid " + std::to_string(::geteuid());
    return walk_error_of(dir);
  });
  std::string report = run.ran ? run.text : "skip: " + run.text;
  fs::permissions(dir / "locked", fs::perms::owner_all);
  if (report.rfind("skip: ", 0) == 0) GTEST_SKIP() << report.substr(6);
  EXPECT_NE(report.find((dir / "locked").string() + ": cannot read the directory: "), std::string::npos) << report;
}

// ---- 10: the walk's depth is bounded -----------------------------------------------------------------------------

TEST(HostileScenarioDirectory, DirectoriesNestedBeyond32LevelsAreRefusedNamingTheDirectory) {
  const auto dir = fresh_dir("deep");
  std::ofstream(dir / "good.yaml") << minimal;
  auto at = dir;
  for (int level = 1; level <= 32; ++level) at /= "d";
  fs::create_directories(at);
  std::ofstream(at / "deepest-allowed.yaml") << minimal;
  const auto allowed = walk_error_of(dir);
  EXPECT_NE(allowed.find("deepest-allowed.yaml"), std::string::npos) << "32 levels are searched: " << allowed;

  fs::create_directory(at / "d");
  const auto why = walk_error_of(dir);
  EXPECT_NE(why.find((at / "d").string() + ": more than 32 levels of directories below"), std::string::npos) << why;
}

// ---- 7: one document, no key twice -------------------------------------------------------------------------------

TEST(HostileScenarioFile, ASecondDocumentIsRefusedAtItsStart) {
  const auto why = scenario_error_of(minimal + "---\ntimeout: 1s\nbogus: true\n");
  EXPECT_EQ(why.rfind("t.yaml:8:1: ", 0), 0u) << why;
  EXPECT_NE(why.find("a second YAML document"), std::string::npos) << why;
}

TEST(HostileScenarioFile, AnInlineProfileKeyGivenTwiceIsRefusedAtTheSecond) {
  const auto text = R"(scenario: t
server:
  profile:
    sessions: {max_sessions: 1, max_sessions: 5}
)" + minimal.substr(minimal.find("clients:"));
  const auto why = scenario_error_of(text);
  EXPECT_EQ(why.rfind("t.yaml:4:33: server.profile.sessions.max_sessions: given twice", 0), 0u) << why;
}

TEST(HostileScenarioFile, AKeyGivenTwiceInsideAListItemNamesTheItem) {
  std::string text = minimal;
  text.replace(text.find("{at: 0s, logon: alice}"), 22, "{at: 0s, logon: alice, at: 1s}");
  const auto why = scenario_error_of(text);
  EXPECT_EQ(why.rfind("t.yaml:5:28: timeline[1].at: given twice (first at line 5, column 6)", 0), 0u) << why;
}

TEST(HostileProfile, AKeyGivenTwiceIsRefusedNotFirstOneWins) {
  const auto why = profile_error_of("protocols: rdp\nheartbeat_seconds: 5\nprotocols: tls\n");
  EXPECT_EQ(why.rfind("p.yaml:3:1: protocols: given twice", 0), 0u) << why;
  const auto nested = profile_error_of("protocols: rdp\nusers:\n  - {user: a, password: p, user: b}\n");
  EXPECT_EQ(nested.rfind("p.yaml:3:28: users[1].user: given twice", 0), 0u) << nested;
}

TEST(HostileProfile, ASecondDocumentIsRefusedAtItsStart) {
  const auto why = profile_error_of("protocols: rdp\n---\nprotocols: tls\nbogus: 1\n");
  EXPECT_EQ(why.rfind("p.yaml:2:1: a second YAML document", 0), 0u) << why;
  // Even an empty one: the file's author meant something by it.
  const auto empty = profile_error_of("protocols: rdp\n---\n");
  EXPECT_NE(empty.find("a second YAML document"), std::string::npos) << empty;
  // A document end marker alone is not a second document.
  EXPECT_EQ(profile_error_of("protocols: rdp\n...\n"), "(parsed without an error)");
}

// The walk that looks for duplicates sees each aliased mapping once: a billion-laughs file costs what its text costs.
TEST(HostileProfile, AnAliasBombIsRefusedCheaplyAndADuplicateInsideItOnce) {
  std::string bomb = "a: &a {x: 1, y: 2}\n";
  std::string previous = "a";
  for (int level = 0; level < 12; ++level) {
    const std::string name = "l" + std::to_string(level);
    bomb += name + ": &" + name + " [";
    for (int i = 0; i < 10; ++i) bomb += (i ? ", *" : "*") + previous;
    bomb += "]\n";
    previous = name;
  }
  // 10^12 mappings if expanded: refused by the profile reader as unknown keys, after the walk.
  EXPECT_NE(profile_error_of(bomb).find("p.yaml:1:1: a: unknown key"), std::string::npos) << profile_error_of(bomb);
  std::string duplicate = bomb;
  duplicate.replace(0, duplicate.find('\n'), "a: &a {x: 1, x: 2}");
  EXPECT_EQ(profile_error_of(duplicate).rfind("p.yaml:1:14: a.x: given twice", 0), 0u) << profile_error_of(duplicate);
}

TEST(HostileProfile, NestingAndKeyLengthAreBounded) {
  const auto deep = profile_error_of("protocols: " + std::string(40, '[') + std::string(40, ']') + "\n");
  EXPECT_NE(deep.find("nested more than 32 levels deep"), std::string::npos) << deep;
  const auto long_key = profile_error_of("protocols: rdp\n" + std::string(200, 'k') + ": 1\n");
  EXPECT_EQ(long_key.rfind("p.yaml:2:1: a key of 200 bytes", 0), 0u) << long_key;
}

// ---- 8: the loop check is linear ---------------------------------------------------------------------------------

// Each step waits for the one before: the check used to follow every step's chain to its end, quadratic — at this
// length, several hundred seconds of CPU, beyond ctest's timeout (300 s in the ci preset), where a linear check is a
// few tens of milliseconds beside the YAML itself. No clock is read here: the test ends, or ctest kills it.
TEST(HostileScenarioFile, ALongChainOfStepsIsCheckedInLinearTime) {
  constexpr std::size_t steps = 150000;
  std::string text = "scenario: chain\nclients:\n- {name: a}\ntimeline:\n- {at: 0s, logon: a}\n";
  text.reserve(steps * 32);
  for (std::size_t i = 2; i <= steps; ++i) text += "- {on: step." + std::to_string(i - 1) + ".done, leave: a}\n";
  text += "expect:\n- {client: a, active: true}\n";
  const auto s = parse_scenario(text, "chain.yaml", ".", certificate_handling::check_only);
  EXPECT_EQ(s.steps.size(), steps);
}

TEST(HostileScenarioFile, ARingAtTheEndOfAChainIsNamedFromItsEarliestStep) {
  std::string text = minimal;
  text.replace(text.find("  - {at: 0s, logon: alice}\n"), 27,
               "  - {at: 0s, logon: alice}\n  - {on: step.3.done, leave: alice}\n  - {on: step.4.done, leave: alice}\n"
               "  - {on: step.5.done, leave: alice}\n  - {on: step.3.done, leave: alice}\n");
  const auto why = scenario_error_of(text);
  EXPECT_EQ(why.rfind("t.yaml:7:10: timeline[3].on: steps wait for each other in a circle (3 → 4 → 5 → 3)", 0), 0u)
      << why;
}

// ---- 9: the file's text is escaped in every error ----------------------------------------------------------------

TEST(HostileScenarioFile, AnUnknownKeyWithEscapeSequencesIsShownEscaped) {
  const auto why = scenario_error_of("\"\\e[31mbogus\": 1\n" + minimal);
  EXPECT_FALSE(has_raw_escape(why)) << why;
  EXPECT_EQ(why.rfind("t.yaml:1:1: \\x1b[31mbogus: unknown key", 0), 0u) << why;
}

TEST(HostileScenarioFile, AClientNameWithEscapeSequencesIsShownEscaped) {
  std::string text = minimal;
  text.replace(text.find("logon: alice"), 12, "logon: \"\\e]0;owned\\a\"");
  const auto why = scenario_error_of(text);
  EXPECT_FALSE(has_raw_escape(why)) << why;
  EXPECT_NE(why.find("no client is named '\\x1b]0;owned\\x07'"), std::string::npos) << why;
}

TEST(HostileScenarioFile, AValueWithEscapeSequencesIsShownEscapedNotHidden) {
  const auto why = scenario_error_of("scenario: \"\\e[2Jx\"\n" + minimal.substr(minimal.find("clients:")));
  EXPECT_FALSE(has_raw_escape(why)) << why;
  EXPECT_NE(why.find("found '\\x1b[2Jx'"), std::string::npos) << why;
}

TEST(HostileScenarioFile, TheFileNameIsEscapedToo) {
  const auto why = scenario_error_of("bogus: 1\n", "evil\x1b[2J.yaml");
  EXPECT_EQ(why.rfind("evil\\x1b[2J.yaml:1:1: bogus: unknown key", 0), 0u) << why;
}

TEST(HostileScenarioFile, AProfileFileErrorIsEscapedOnceNotTwice) {
  const auto dir = fresh_dir("profile-escape");
  std::ofstream(dir / "lab.yaml") << "stale_cookie: \"\\e[31m\"\n";
  const auto text = "scenario: t\nserver:\n  profile: lab.yaml\n" + minimal.substr(minimal.find("clients:"));
  const auto why = scenario_error_of(text, "t.yaml", dir.string());
  EXPECT_FALSE(has_raw_escape(why)) << why;
  EXPECT_NE(why.find("found '\\x1b[31m'"), std::string::npos) << why;
  EXPECT_EQ(why.find("\\\\x1b"), std::string::npos) << "escaped twice: " << why;
}

TEST(HostileProfile, KeysAndValuesWithEscapeSequencesAreShownEscaped) {
  const auto key = profile_error_of("\"\\e[31mprotocols\": rdp\n");
  EXPECT_FALSE(has_raw_escape(key)) << key;
  EXPECT_EQ(key.rfind("p.yaml:1:1: \\x1b[31mprotocols: unknown key", 0), 0u) << key;
  const auto value = profile_error_of("protocols: rdp\nstale_cookie: \"\\e]0;owned\\a\"\n");
  EXPECT_FALSE(has_raw_escape(value)) << value;
  EXPECT_NE(value.find("found '\\x1b]0;owned\\x07'"), std::string::npos) << value;
}

}  // namespace
