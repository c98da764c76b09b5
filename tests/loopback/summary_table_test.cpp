// rdpprobe scan with several targets and human output: one aligned row per target, then the detailed report of the
// targets with a finding (of all with --details). One target keeps the detailed report.
#include "scripted_listener.hpp"
#include "sim_thread.hpp"

#include "run_command.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace {

using namespace rdp;

using rdp::test::run_command;  // stdout and stderr together

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::vector<std::string> words_of(const std::string& line) {
  std::vector<std::string> words;
  std::istringstream in(line);
  std::string w;
  while (in >> w) words.push_back(w);
  return words;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

sim::server_config tls_sim() {
  sim::server_config c;
  c.policy = sim::parse_policy("rdp,tls");
  c.identity = net::make_self_signed(net::key_kind::rsa, "table-test");
  return c;
}

TEST(SummaryTable, OneRowPerTargetThenDetailsOfFindingsOnly) {
  test::sim_thread sim(tls_sim());
  const std::string healthy = "127.0.0.1:" + std::to_string(sim.port());
  const std::string refused = "127.0.0.1:" + std::to_string(test::closed_port());
  auto r = run_command(std::string(RDPPROBE_BIN) + " scan " + healthy + " " + refused);
  EXPECT_EQ(r.status, 1) << r.output;
  const auto lines = lines_of(r.output);
  ASSERT_GE(lines.size(), 3u) << r.output;
  // The header, then the rows in the order given.
  EXPECT_EQ(words_of(lines[0]), (std::vector<std::string>{"target", "verdict", "accepted", "0x03", "0x0B", "tls",
                                                          "cert", "days", "connect+hs", "finding"}))
      << lines[0];
  const auto row1 = words_of(lines[1]);
  ASSERT_EQ(row1.size(), 10u) << lines[1];
  EXPECT_EQ(row1[0], healthy);
  EXPECT_EQ(row1[1], "rdp");
  EXPECT_EQ(row1[2], "rdp,tls");
  EXPECT_EQ(row1[3], "tls");  // 0x03 (FreeRDP) gets TLS
  EXPECT_EQ(row1[4], "tls");  // 0x0B (mstsc) too
  EXPECT_EQ(row1[5], "TLSv1.3");
  EXPECT_TRUE(row1[6] == "364" || row1[6] == "365") << row1[6];
  EXPECT_GT(std::stod(row1[7]), 0.0);
  EXPECT_EQ(row1[8], "ms");
  EXPECT_EQ(row1[9], "-");  // healthy: no finding
  EXPECT_EQ(lines[2].rfind(refused, 0), 0u) << lines[2];
  EXPECT_TRUE(contains(lines[2], " refused ")) << lines[2];
  EXPECT_TRUE(contains(lines[2], "rdp attempt: TCP connect: Connection refused")) << lines[2];
  // Aligned: every column starts at the header's offset in every row.
  for (const char* column : {"verdict", "accepted", "0x03", "0x0B", "tls ", "finding"}) {
    const auto at = lines[0].find(column);
    ASSERT_NE(at, std::string::npos) << column;
    EXPECT_EQ(lines[1][at - 1], ' ') << column << "\n" << lines[0] << "\n" << lines[1];
    EXPECT_NE(lines[1][at], ' ') << column << "\n" << lines[0] << "\n" << lines[1];
    EXPECT_EQ(lines[2][at - 1], ' ') << column;
    EXPECT_NE(lines[2][at], ' ') << column << "\n" << lines[0] << "\n" << lines[2];
  }
  // No details: the healthy target has no finding, and the refused one's row says all there is.
  EXPECT_EQ(lines.size(), 3u) << r.output;
  EXPECT_FALSE(contains(r.output, refused + ": refused —")) << r.output;
  EXPECT_FALSE(contains(r.output, healthy + ": rdp —")) << r.output;
}

TEST(SummaryTable, OnlyTargetsWithRdpFindingsGetDetails) {
  // Over a range most hosts refuse, stay silent or speak something else: one row each, and nothing more (the old
  // output gave each nine lines, eight of them "skipped"). A host that answered RDP and has a finding keeps them.
  test::sim_thread healthy_sim(tls_sim());
  test::scripted_listener silent(test::listener_behaviour::silent);
  test::scripted_listener http(test::listener_behaviour::http_400);
  test::scripted_listener tearing_down(test::listener_behaviour::tls_then_dpu);
  const std::vector<std::string> targets{
      "127.0.0.1:" + std::to_string(healthy_sim.port()), "127.0.0.1:" + std::to_string(test::closed_port()),
      "127.0.0.1:" + std::to_string(silent.port()), "127.0.0.1:" + std::to_string(http.port()),
      "127.0.0.1:" + std::to_string(tearing_down.port())};
  std::string command = std::string(RDPPROBE_BIN) + " scan --read-timeout 300ms";
  for (const auto& t : targets) command += " " + t;
  auto r = run_command(command);
  EXPECT_EQ(r.status, 1) << r.output;
  const auto lines = lines_of(r.output);
  ASSERT_GE(lines.size(), 6u) << r.output;
  for (std::size_t i = 0; i < targets.size(); ++i) EXPECT_EQ(lines[i + 1].rfind(targets[i] + " ", 0), 0u) << lines[i + 1];
  EXPECT_TRUE(contains(lines[2], " refused ")) << lines[2];
  EXPECT_TRUE(contains(lines[3], " timeout ")) << lines[3];
  EXPECT_TRUE(contains(lines[4], " not-rdp ")) << lines[4];
  EXPECT_TRUE(contains(lines[5], " session-error ")) << lines[5];
  // The details after the table: the session-error target's only.
  EXPECT_TRUE(contains(r.output, "\n" + targets[4] + ": session-error — ")) << r.output;
  for (std::size_t i = 0; i < 4; ++i) EXPECT_FALSE(contains(r.output, "\n" + targets[i] + ": ")) << r.output;
  EXPECT_FALSE(contains(r.output, "skipped")) << r.output;
  // --details: every target, the quiet ones included.
  auto all = run_command(command + " --details");
  for (const auto& t : targets) EXPECT_TRUE(contains(all.output, "\n" + t + ": ")) << t << "\n" << all.output;
}

TEST(SummaryTable, DetailsFlagPrintsEveryTarget) {
  test::sim_thread sim(tls_sim());
  const std::string healthy = "127.0.0.1:" + std::to_string(sim.port());
  const std::string refused = "127.0.0.1:" + std::to_string(test::closed_port());
  auto r = run_command(std::string(RDPPROBE_BIN) + " scan --details " + healthy + " " + refused);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_EQ(r.output.rfind("target ", 0), 0u) << r.output;
  EXPECT_TRUE(contains(r.output, "\n" + healthy + ": rdp — RDP server; supports rdp, tls\n")) << r.output;
  EXPECT_TRUE(contains(r.output, "\n" + refused + ": refused —")) << r.output;
}

TEST(SummaryTable, AllHealthyPrintsOnlyTheTable) {
  test::sim_thread a(tls_sim());
  test::sim_thread b(tls_sim());
  auto r = run_command(std::string(RDPPROBE_BIN) + " scan --combinations 0x03 127.0.0.1:" + std::to_string(a.port()) +
               " 127.0.0.1:" + std::to_string(b.port()));
  EXPECT_EQ(r.status, 0) << r.output;
  const auto lines = lines_of(r.output);
  ASSERT_EQ(lines.size(), 3u) << r.output;  // header and two rows, no details
  EXPECT_EQ(words_of(lines[0]).at(3), "0x03");
  EXPECT_EQ(words_of(lines[0]).at(4), "tls");  // only the combinations asked get a column
}

TEST(SummaryTable, OneTargetKeepsTheDetailedReport) {
  test::sim_thread sim(tls_sim());
  const std::string healthy = "127.0.0.1:" + std::to_string(sim.port());
  auto r = run_command(std::string(RDPPROBE_BIN) + " scan " + healthy);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.rfind(healthy + ": rdp — RDP server; supports rdp, tls\n", 0), 0u) << r.output;
  EXPECT_FALSE(contains(r.output, "connect+hs")) << r.output;
}

}  // namespace
