// What a service restart does to the sessions, as a scenario step (`sessions: keep|end`) and as a profile key
// (`restart: {sessions: keep|end}`): the two words, the profile's default, and every other value refused with its
// place in the file.
#include "rdp/scenarios/scenario.hpp"
#include "rdp/sim/profile.hpp"

#include "scenario_text.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <variant>

namespace {

using namespace rdp::scenarios;
using rdp::sim::certificate_handling;
using rdp::sim::restart_sessions;

std::string with_restart(const std::string& step) {
  return "scenario: t\nclients:\n  - {name: alice}\ntimeline:\n  - {at: 0s, logon: alice}\n  - " + step +
         "\nexpect:\n  - {client: alice, active: true}\n";
}

using rdp::test::scenario_error_of;

TEST(RestartSessionsParse, TheStepTakesKeepOrEndAndOtherwiseThePolicyOfTheProfile) {
  const auto step_of = [](const std::string& text) {
    const auto s = parse_scenario(text, "t.yaml", ".", certificate_handling::check_only);
    return std::get<admin_step>(s.steps.at(1).action);
  };
  EXPECT_EQ(step_of(with_restart("{at: 1s, admin: restart, down: 5s, sessions: keep}")).sessions,
            std::optional<restart_sessions>(restart_sessions::keep));
  EXPECT_EQ(step_of(with_restart("{at: 1s, admin: restart, down: 5s, sessions: end}")).sessions,
            std::optional<restart_sessions>(restart_sessions::end));
  EXPECT_FALSE(step_of(with_restart("{at: 1s, admin: restart, down: 5s}")).sessions);
}

TEST(RestartSessionsParse, AnotherWordOrAnotherActionIsRefusedWithItsPlace) {
  auto why = scenario_error_of(with_restart("{at: 1s, admin: restart, sessions: kept}"));
  EXPECT_EQ(why.rfind("t.yaml:6:40: timeline[2].sessions: expected one of keep, end", 0), 0u) << why;
  EXPECT_NE(why.find("'kept'"), std::string::npos) << why;
  why = scenario_error_of(with_restart("{at: 1s, admin: logoff, session: alice, sessions: end}"));
  EXPECT_NE(why.find("timeline[2].sessions: goes with admin: restart"), std::string::npos) << why;
}

TEST(RestartSessionsParse, TheProfileSaysWhatARestartDoesWhenTheStepDoesNot) {
  const auto parse = [](const std::string& text) {
    return rdp::sim::parse_profile(text, "p.yaml", ".", certificate_handling::check_only).server.restart;
  };
  EXPECT_EQ(parse("protocols: [rdp]\n"), restart_sessions::end);  // as rdpsim always did
  EXPECT_EQ(parse("protocols: [rdp]\nrestart: {sessions: keep}\n"), restart_sessions::keep);
  try {
    parse("protocols: [rdp]\nrestart: {sessions: sometimes}\n");
    FAIL() << "restart.sessions: sometimes was accepted";
  } catch (const rdp::sim::profile_error& e) {
    const std::string why = e.what();
    EXPECT_EQ(why.rfind("p.yaml:2:21: restart.sessions: expected keep or end, found 'sometimes'", 0), 0u) << why;
  }
}

}  // namespace
