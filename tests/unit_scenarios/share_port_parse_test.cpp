// The scenario parser's `share_port:` step (scenarios/src/parse_timeline.cpp): another program joins the server's
// port with SO_REUSEPORT while the server runs. The same four occupants as `occupy_port:`, and its errors.
#include "rdp/scenarios/scenario.hpp"

#include <gtest/gtest.h>

namespace {

using namespace rdp::scenarios;

scenario parse(const std::string& step) {
  const std::string text = "scenario: t\nclients:\n  - {name: scan, kind: rdpprobe}\ntimeline:\n  - " + step +
                           "\n  - {on: step.1.done, probe: scan}\nexpect:\n  - {client: scan, verdict: listener-conflict}\n";
  return parse_scenario(text, "t.yaml", ".", rdp::sim::certificate_handling::check_only);
}

std::string error_of(const std::string& step) {
  try {
    parse(step);
  } catch (const scenario_error& e) {
    return e.what();
  }
  return "(parsed without an error)";
}

TEST(ScenarioParseSharePort, SharePortNamesTheOccupant) {
  for (const auto& [word, kind] : {std::pair{"http", occupant_kind::http}, {"ssh", occupant_kind::ssh},
                                   {"banner", occupant_kind::banner}, {"silent", occupant_kind::silent}}) {
    const auto s = parse(std::string("{at: 0s, share_port: ") + word + "}");
    ASSERT_EQ(s.steps.size(), 2u);
    EXPECT_EQ(std::get<share_port_step>(s.steps[0].action).by, kind) << word;
  }
  // The verdict it exists for can be expected.
  EXPECT_EQ(std::get<client_expectation>(parse("{at: 0s, share_port: http}").expect[0]).verdict,
            std::optional<std::string>("listener-conflict"));
}

TEST(ScenarioParseSharePort, ErrorsSayWhereAndWhy) {
  EXPECT_EQ(error_of("{at: 0s, share_port: ftp}"),
            "t.yaml:5:26: timeline[1].share_port: expected one of http, ssh, banner, silent, found 'ftp'");
  EXPECT_NE(error_of("{at: 0s, share_port: http, occupy_port: http}").find("a step does one thing"), std::string::npos);
  EXPECT_NE(error_of("{at: 0s, share_port: http, client: scan}").find("goes with fault:"), std::string::npos);
}

}  // namespace
