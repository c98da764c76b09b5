// The SVG sequence diagram of a finished scenario (scenarios::to_svg): scenario time on its axis, labels whole, the
// session's state along each client lane, and the PDUs a client received drawn from the server's lane. Pure: a
// scenario_result in, SVG text out (the suite's eyes on it are `rsvg-convert` by hand; these pin what it must say).
#include "rdp/scenarios/runner.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace {

using namespace rdp::scenarios;
using namespace std::chrono_literals;

// A logoff story as the runner records it, replayed at time scale 0.05 (real instants).
scenario_result logoff_story(double scale) {
  scenario_result r;
  r.name = "admin-logoff";
  r.time_scale = scale;
  r.passed = true;
  const auto at = [&](double scenario_seconds) {
    return std::chrono::microseconds(static_cast<long long>(scenario_seconds * scale * 1e6));
  };
  r.timeline = {
      {at(0.1), "client:alice", "logs on as alice (lean client, NLA) to 127.0.0.1:3389", false},
      {at(0.2), "client:alice", "active (handshake 3 ms)", false},
      {at(0.2), "server", "rdp-tcp#0 active, user alice, session 2  [alice #1]", false},
      {at(0.3), "client:alice", "Save Session Info: session 2, auto-reconnect cookie issued", false},
      {at(270.0), "server", "admin: logoff 2", false},
      {at(270.0), "server", "rdp-tcp#0 ended, user alice, session 2 (teardown)  [alice #1]", false},
      {at(270.1), "client:alice",
       "ended: Set Error Info 0x00000002 ERRINFO_RPC_INITIATED_LOGOFF, then Disconnect Provider Ultimatum (reason 1), "
       "then closed, and a long tail of words that the old diagram cut at ninety characters: THE-END",
       false},
  };
  r.checks = {{"alice active yes", true, "active yes", {}}};
  return r;
}

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

TEST(SequenceDiagram, RowsAreHeadedByScenarioTimeWithTheRealTimeBeside) {
  const auto svg = to_svg(logoff_story(0.05));
  // 270 s of scenario time is 13.5 s of real time at 0.05: the scenario's clock first.
  EXPECT_NE(svg.find(">4m30.0s<tspan fill=\"#999\"> (13.500s)</tspan>"), std::string::npos) << svg;
  EXPECT_NE(svg.find("replayed at time scale 0.05"), std::string::npos);
  const auto unscaled = to_svg(logoff_story(1.0));
  EXPECT_NE(unscaled.find(">4m30.0s</text>"), std::string::npos) << unscaled;
  EXPECT_EQ(unscaled.find("replayed at time scale"), std::string::npos);
}

TEST(SequenceDiagram, LongLabelsAreWrappedNotCut) {
  const auto svg = to_svg(logoff_story(0.05));
  EXPECT_NE(svg.find("THE-END"), std::string::npos) << "the end of a long label was lost";
  EXPECT_EQ(svg.find("..."), std::string::npos);
  // Every line is a tspan no longer than the widest wrap (lane labels 52, notes 150, checks 180 characters).
  const std::regex tspan(R"(<tspan x="[0-9]+" dy="[0-9]+">([^<]*)</tspan>)");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), tspan); it != std::sregex_iterator(); ++it)
    EXPECT_LE((*it)[1].str().size(), 180u);
}

TEST(SequenceDiagram, TheClientLaneShowsItsSessionsStates) {
  auto r = logoff_story(0.05);
  auto svg = to_svg(r);
  EXPECT_EQ(count(svg, ">Active</text>"), 1u) << svg;
  EXPECT_EQ(count(svg, ">ended</text>"), 1u) << svg;
  EXPECT_EQ(count(svg, ">Disc</text>"), 0u);
  // A connection that ended because the client left keeps its session on the server, disconnected.
  r.timeline[5].text = "rdp-tcp#0 ended, user alice, session 2 (client-left)  [alice #1]";
  svg = to_svg(r);
  EXPECT_EQ(count(svg, ">Disc</text>"), 1u) << svg;
  EXPECT_EQ(count(svg, ">ended</text>"), 0u);
}

TEST(SequenceDiagram, PdusFromTheServerAreArrowsAndTheProxyLaneOnlyWhereThereIsOne) {
  auto r = logoff_story(0.05);
  auto svg = to_svg(r);
  // Save Session Info, and Set Error Info + DPU: two dashed arrows from the server's lane.
  EXPECT_EQ(count(svg, "stroke-dasharray=\"6 3\""), 2u) << svg;
  EXPECT_EQ(svg.find(">proxy</text>"), std::string::npos) << "a direct path has no proxy lane";
  r.timeline.push_back({r.timeline.back().at, "proxy", "#1 closed by proxy toward client (rst): reset now", false});
  svg = to_svg(r);
  EXPECT_NE(svg.find(">proxy</text>"), std::string::npos);
  EXPECT_EQ(count(svg, "<polygon"), 3u) << "two PDU arrows and the proxy's reset toward the client";
}

}  // namespace
