// The words the schemas document, and nothing else (issue 25, "False greens"): a boolean is `true` or `false` in a
// scenario file and in a profile alike (yaml::schema_bool) — yaml-cpp's own decoding also took yes/no, on/off, y/n and
// other casings, which neither docs/scenarios.md nor docs/profiles.md lists — and a `within:` window's tolerance is
// the file's, in scenario time, 1 s unless the file says otherwise.
#include "rdp/scenarios/scenario.hpp"
#include "rdp/sim/profile.hpp"

#include "scenario_text.hpp"
#include "rdp/yaml/reader.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace {

using namespace rdp::scenarios;
using namespace std::chrono_literals;
using rdp::sim::certificate_handling;

scenario parse(const std::string& text) { return rdp::test::parse_scenario_text(text); }
std::string error_of(const std::string& text) { return rdp::test::scenario_error_of(text); }
using rdp::test::profile_error_of;
using rdp::test::with;

const std::string minimal = R"(scenario: t
clients:
  - {name: alice, heartbeat: true}
timeline:
  - {at: 0s, logon: alice}
expect:
  - {client: alice, active: true}
)";

// yaml-cpp's convert<bool> takes every one of these; the schema takes none of them.
const char* const other_bool_words[] = {"yes", "no", "on", "off", "y", "n", "Yes", "NO", "On", "OFF", "True",
                                        "FALSE", "Y", "N"};

TEST(SchemaBool, OnlyTrueAndFalse) {
  EXPECT_EQ(rdp::yaml::schema_bool(YAML::Load("true")), true);
  EXPECT_EQ(rdp::yaml::schema_bool(YAML::Load("false")), false);
  for (const char* word : other_bool_words) {
    SCOPED_TRACE(word);
    EXPECT_FALSE(rdp::yaml::schema_bool(YAML::Load(word)).has_value());
    EXPECT_NE(rdp::yaml::schema_bool_hint(YAML::Load(word)).find("only the words true and false"), std::string::npos);
  }
  EXPECT_FALSE(rdp::yaml::schema_bool(YAML::Load("maybe")).has_value());
  EXPECT_EQ(rdp::yaml::schema_bool_hint(YAML::Load("maybe")), "");  // not a boolean word at all: no hint
  EXPECT_FALSE(rdp::yaml::schema_bool(YAML::Load("[true]")).has_value());
}

TEST(SchemaBool, AScenarioRefusesEveryOtherWordWithItsPosition) {
  EXPECT_TRUE(parse(minimal).clients[0].announce_heartbeat);
  EXPECT_FALSE(parse(with(minimal, "heartbeat: true", "heartbeat: false")).clients[0].announce_heartbeat);
  for (const char* word : other_bool_words) {
    SCOPED_TRACE(word);
    // A client's flag, an expectation's, a fault's and a policy step's: every boolean of the file goes through one
    // reader.
    const auto client = error_of(with(minimal, "heartbeat: true", std::string("heartbeat: ") + word));
    EXPECT_EQ(client.rfind("t.yaml:3:30: clients[1].heartbeat: expected true or false, found '" + std::string(word) +
                               "'",
                           0),
              0u)
        << client;
    const auto expectation = error_of(with(minimal, "active: true", std::string("active: ") + word));
    EXPECT_EQ(expectation.rfind("t.yaml:7:29: expect[1].active: expected true or false", 0), 0u) << expectation;
    const auto policy = error_of(with(minimal, "{at: 0s, logon: alice}",
                                      std::string("{at: 0s, logon: alice}\n  - {at: 1s, policy: {single_session: ") +
                                          word + "}}"));
    EXPECT_EQ(policy.rfind("t.yaml:6:39: timeline[2].policy.single_session: expected true or false", 0), 0u) << policy;
    const auto fault = error_of(with(with(minimal, "scenario: t\n", "scenario: t\npath: proxy\n"),
                                     "{at: 0s, logon: alice}",
                                     std::string("{at: 0s, logon: alice}\n  - {at: 1s, fault: {blackhole: ") + word +
                                         "}}"));
    EXPECT_EQ(fault.rfind("t.yaml:7:33: timeline[2].fault.blackhole: expected true or false", 0), 0u) << fault;
  }
}

TEST(SchemaBool, AProfileRefusesThemToo) {
  EXPECT_EQ(profile_error_of("sessions: {single_session: false}\n"), "(parsed without an error)");
  for (const char* word : other_bool_words) {
    SCOPED_TRACE(word);
    const auto file = profile_error_of(std::string("tcp_keepalive: ") + word + "\n");
    EXPECT_EQ(file.rfind("p.yaml:1:16: tcp_keepalive: expected true or false", 0), 0u) << file;
    EXPECT_NE(file.find("only the words true and false"), std::string::npos) << file;
    // An inline profile of a scenario: the profile's reader, at the scenario's line and column.
    const auto inline_profile = error_of(with(minimal, "clients:", std::string("server:\n  profile: {sessions: {single_session: ") +
                                                                       word + "}}\nclients:"));
    EXPECT_EQ(inline_profile.rfind("t.yaml:3:40: server.profile.sessions.single_session: expected true or false", 0), 0u)
        << inline_profile;
  }
}

const std::string windowed = R"(scenario: t
timeout: 2m
clients:
  - {name: alice}
timeline:
  - {at: 0s, logon: alice}
expect:
  - {client: alice, within: 95s..100s}
)";

TEST(WindowTolerance, OneSecondOfScenarioTimeUnlessTheFileSays) {
  const auto s = parse(windowed);
  EXPECT_EQ(s.tolerance, 1s);
  EXPECT_FALSE(std::get<client_expectation>(s.expect[0]).tolerance.has_value());

  const auto file_wide = parse(with(windowed, "timeout: 2m\n", "timeout: 2m\ntolerance: 3s\n"));
  EXPECT_EQ(file_wide.tolerance, 3s);

  const auto own = parse(with(windowed, "within: 95s..100s", "within: 95s..100s, tolerance: 0"));
  EXPECT_EQ(std::get<client_expectation>(own.expect[0]).tolerance, 0ms);
  EXPECT_EQ(own.tolerance, 1s);
}

TEST(WindowTolerance, IsRefusedWithoutAWindowOrBeyondTheTimeout) {
  const auto alone = error_of(with(windowed, "within: 95s..100s", "active: true, tolerance: 2s"));
  EXPECT_EQ(alone.rfind("t.yaml:8:46: expect[1].tolerance: goes with within:", 0), 0u) << alone;
  const auto too_long = error_of(with(windowed, "timeout: 2m\n", "timeout: 2m\ntolerance: 3m\n"));
  EXPECT_EQ(too_long.rfind("t.yaml:3:12: tolerance: a tolerance of 3m is longer than the scenario's timeout (2m)", 0),
            0u)
      << too_long;
  const auto not_a_duration = error_of(with(windowed, "within: 95s..100s", "within: 95s..100s, tolerance: lots"));
  EXPECT_EQ(not_a_duration.rfind("t.yaml:8:51: expect[1].tolerance: 'lots' is not a duration: expected a number", 0),
            0u)
      << not_a_duration;
}

}  // namespace
