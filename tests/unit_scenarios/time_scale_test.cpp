// time_scale_problem (scenario.hpp): which `--time-scale` can replay a scenario. Every duration the runner scales to
// the millisecond must last at least 1 ms once scaled, and stay far from overflow; `rdpsim run` and `rdpsim demo`
// refuse the others (issue 24, item 11: 1e-300 made the timeline print -9223372036854775808m).
#include "rdp/scenarios/scenario.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace {

using namespace rdp::scenarios;

scenario parse(const std::string& text) {
  return parse_scenario(text, "t.yaml", ".", rdp::sim::certificate_handling::check_only);
}

const std::string with_short_wait = R"(scenario: t
timeout: 1m
path: {proxy: {latency: 20ms}}
clients:
  - {name: alice, busy: 2s}
timeline:
  - {at: 0s, logon: alice}
  - {on: alice.active, after: 500ms, leave: alice}
expect:
  - {client: alice, active: true}
)";

TEST(TimeScale, ScalesThatKeepEveryDurationAtLeastAMillisecondAreAccepted) {
  const auto s = parse(with_short_wait);
  EXPECT_EQ(time_scale_problem(s, 1.0), std::nullopt);
  EXPECT_EQ(time_scale_problem(s, 0.05), std::nullopt);  // 20ms -> 1 ms exactly
  EXPECT_EQ(time_scale_problem(s, 1000), std::nullopt);
}

TEST(TimeScale, AScaleThatShrinksTheShortestDurationBelowAMillisecondNamesIt) {
  const auto s = parse(with_short_wait);
  const auto why = time_scale_problem(s, 0.01);
  ASSERT_TRUE(why);
  EXPECT_EQ(why->rfind("path.proxy.latency (20ms) would last 0.2 ms: a scaled duration lasts at least 1 ms", 0), 0u)
      << *why;
  EXPECT_NE(why->find("at least 0.05)"), std::string::npos) << *why;
}

TEST(TimeScale, TheScaleOfTheIssueIsRefusedWhateverTheScenario) {
  const auto s = parse(with_short_wait);
  for (const double scale : {1e-300, 1e-9, 0.0, -1.0, std::numeric_limits<double>::quiet_NaN(),
                             std::numeric_limits<double>::infinity(), 1e300})
    EXPECT_TRUE(time_scale_problem(s, scale)) << scale;
}

TEST(TimeScale, EachScaledDurationCounts) {
  // Each of these, alone below 1 ms at 0.0004 (the others made 30s: 12 ms), is the one named.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"after: 500ms", "timeline[2].after (500ms)"},
      {"busy: 2s", "clients[1].busy (2s)"},
  };
  for (const auto& [fragment, named] : cases) {
    auto text = with_short_wait;
    text.replace(text.find("latency: 20ms"), 13, "latency: 0ms");
    for (const auto& [other, unused] : cases)
      if (other != fragment) text.replace(text.find(other), other.size(), other.substr(0, other.find(':')) + ": 30s");
    const auto why = time_scale_problem(parse(text), 0.0004);
    ASSERT_TRUE(why) << fragment;
    EXPECT_EQ(why->rfind(named, 0), 0u) << *why;
  }
}

}  // namespace
