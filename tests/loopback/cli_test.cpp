// The two commands as a user runs them: exit statuses, usage errors, JSON lines.
#include "sim_thread.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <sstream>
#include <sys/wait.h>

namespace {

struct run_result {
  int status = -1;
  std::string out;
};

run_result run(const std::string& command) {
  run_result r;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) r.out.append(buf.data(), n);
  const int raw = pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

TEST(RdpprobeCli, UnknownFlagIsUsageError) {
  auto r = run(std::string(RDPPROBE_BIN) + " scan --no-such-flag 127.0.0.1");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("--no-such-flag"), std::string::npos) << r.out;
}

TEST(RdpprobeCli, BadPortIsUsageErrorNamingTheTarget) {
  auto r = run(std::string(RDPPROBE_BIN) + " scan 127.0.0.1:99999");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("127.0.0.1:99999"), std::string::npos) << r.out;
}

TEST(RdpprobeCli, UnknownProtocolIsUsageError) {
  auto r = run(std::string(RDPPROBE_BIN) + " scan --protocols tls,kerberos 127.0.0.1");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("kerberos"), std::string::npos) << r.out;
}

TEST(RdpprobeCli, BadDurationIsUsageError) {
  auto r = run(std::string(RDPPROBE_BIN) + " scan --read-timeout soon 127.0.0.1");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("soon"), std::string::npos) << r.out;
}

TEST(RdpprobeCli, HealthyTargetExitsZeroWithJsonLine) {
  rdp::sim::server_config c;
  c.policy = rdp::sim::parse_policy("rdp,tls");
  c.identity = rdp::net::make_self_signed(rdp::net::key_kind::rsa, "cli-test");
  rdp::test::sim_thread sim(c);
  auto r = run(std::string(RDPPROBE_BIN) + " scan --json 127.0.0.1:" + std::to_string(sim.port()));
  EXPECT_EQ(r.status, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("verdict"), "rdp");
  EXPECT_EQ(j.at("target"), "127.0.0.1:" + std::to_string(sim.port()));
}

TEST(RdpprobeCli, AnyUnhealthyTargetExitsOne) {
  rdp::sim::server_config c;
  c.policy = rdp::sim::parse_policy("rdp");
  rdp::test::sim_thread sim(c);
  auto r = run(std::string(RDPPROBE_BIN) + " scan --json 127.0.0.1:" + std::to_string(sim.port()) + " 127.0.0.1:1");
  EXPECT_EQ(r.status, 1) << r.out;
  std::istringstream lines(r.out);
  std::string line;
  std::vector<std::string> verdicts;
  while (std::getline(lines, line)) verdicts.push_back(nlohmann::json::parse(line).at("verdict"));
  EXPECT_EQ(verdicts, (std::vector<std::string>{"rdp", "refused"}));
}

TEST(RdpsimCli, DemoProbesItsOwnServer) {
  auto r = run(std::string(RDPSIM_BIN) + " demo --json");
  EXPECT_EQ(r.status, 0) << r.out;
  auto j = nlohmann::json::parse(r.out.substr(r.out.find("{\"")));
  EXPECT_EQ(j.at("verdict"), "rdp");
  EXPECT_EQ(j.at("protocols").at("credssp").at("supported"), true);
}

TEST(RdpsimCli, UnknownProtocolIsUsageError) {
  auto r = run(std::string(RDPSIM_BIN) + " serve --protocols tls,bogus");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("bogus"), std::string::npos) << r.out;
}

TEST(RdpsimCli, MissingCertificateFileIsNamed) {
  auto r = run(std::string(RDPSIM_BIN) + " serve --listen 127.0.0.1:0 --cert /nonexistent/c.pem --key /nonexistent/k.pem");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("/nonexistent/c.pem"), std::string::npos) << r.out;
}

}  // namespace
