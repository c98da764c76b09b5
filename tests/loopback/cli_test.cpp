// The two commands as a user runs them: exit statuses, usage errors, JSON lines.
#include "scripted_listener.hpp"
#include "sim_thread.hpp"

#include "run_command.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <unistd.h>

namespace {

using rdp::test::run_command;  // stdout and stderr together

TEST(RdpprobeCli, UnknownFlagIsUsageError) {
  auto r = run_command(std::string(RDPPROBE_BIN) + " scan --no-such-flag 127.0.0.1");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--no-such-flag"), std::string::npos) << r.output;
}

TEST(RdpprobeCli, BadPortIsUsageErrorNamingTheTarget) {
  auto r = run_command(std::string(RDPPROBE_BIN) + " scan 127.0.0.1:99999");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("127.0.0.1:99999"), std::string::npos) << r.output;
}

TEST(RdpprobeCli, UnknownProtocolIsUsageError) {
  auto r = run_command(std::string(RDPPROBE_BIN) + " scan --protocols tls,kerberos 127.0.0.1");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("kerberos"), std::string::npos) << r.output;
}

TEST(RdpprobeCli, BadDurationIsUsageError) {
  auto r = run_command(std::string(RDPPROBE_BIN) + " scan --read-timeout soon 127.0.0.1");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("soon"), std::string::npos) << r.output;
}

TEST(RdpprobeCli, HealthyTargetExitsZeroWithJsonLine) {
  rdp::sim::server_config c;
  c.policy = rdp::sim::parse_policy("rdp,tls");
  c.identity = rdp::net::make_self_signed(rdp::net::key_kind::rsa, "cli-test");
  rdp::test::sim_thread sim(c);
  auto r = run_command(std::string(RDPPROBE_BIN) + " scan --json 127.0.0.1:" + std::to_string(sim.port()));
  EXPECT_EQ(r.status, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j.at("verdict"), "rdp");
  EXPECT_EQ(j.at("target"), "127.0.0.1:" + std::to_string(sim.port()));
}

TEST(RdpprobeCli, AnyUnhealthyTargetExitsOne) {
  rdp::sim::server_config c;
  c.policy = rdp::sim::parse_policy("rdp");
  rdp::test::sim_thread sim(c);
  auto r = run_command(std::string(RDPPROBE_BIN) + " scan --json 127.0.0.1:" + std::to_string(sim.port()) + " 127.0.0.1:1");
  EXPECT_EQ(r.status, 1) << r.output;
  std::istringstream lines(r.output);
  std::string line;
  std::vector<std::string> verdicts;
  while (std::getline(lines, line)) verdicts.push_back(nlohmann::json::parse(line).at("verdict"));
  EXPECT_EQ(verdicts, (std::vector<std::string>{"rdp", "refused"}));
}

TEST(RdpsimCli, DemoProbesItsOwnServer) {
  auto r = run_command(std::string(RDPSIM_BIN) + " demo --json");
  EXPECT_EQ(r.status, 0) << r.output;
  auto j = nlohmann::json::parse(r.output.substr(r.output.find("{\"")));
  EXPECT_EQ(j.at("verdict"), "rdp");
  EXPECT_EQ(j.at("protocols").at("credssp").at("supported"), true);
}

TEST(RdpsimCli, DemoReproducesADropWithARealClient) {
  // The README's first command: the FreeRDP client library logs on to rdpsim, the admin logs it off, and the client
  // comes back with the deleted session's auto-reconnect cookie.
  auto r = run_command(std::string(RDPSIM_BIN) + " demo");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("rdp-tcp#"), std::string::npos) << r.output;  // the session table while it was active
  EXPECT_NE(r.output.find("Set Error Info 0x00000002 ERRINFO_RPC_INITIATED_LOGOFF"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Disconnect Provider Ultimatum (reason 1)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("counted 1 stale cookie and started a fresh logon in session 3"), std::string::npos) << r.output;
}

TEST(RdpsimCli, UnknownProtocolIsUsageError) {
  auto r = run_command(std::string(RDPSIM_BIN) + " serve --protocols tls,bogus");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("bogus"), std::string::npos) << r.output;
}

TEST(RdpsimCli, MissingCertificateFileIsNamed) {
  auto r = run_command(std::string(RDPSIM_BIN) + " serve --listen 127.0.0.1:0 --cert /nonexistent/c.pem --key /nonexistent/k.pem");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("/nonexistent/c.pem"), std::string::npos) << r.output;
}

}  // namespace

namespace {

rdp::sim::server_config tls_config() {
  rdp::sim::server_config c;
  c.policy = rdp::sim::parse_policy("rdp,tls");
  c.identity = rdp::net::make_self_signed(rdp::net::key_kind::rsa, "cli-test");
  return c;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(RdpprobeCli, JunitHasOneCasePerTargetAndFailsUnhealthyOnes) {
  rdp::test::sim_thread sim(tls_config());
  const std::string junit = testing::TempDir() + "/rdpprobe-junit.xml";
  auto r = run_command(std::string(RDPPROBE_BIN) + " scan --protocols tls --junit " + junit + " 127.0.0.1:" +
               std::to_string(sim.port()) + " 127.0.0.1:1");
  EXPECT_EQ(r.status, 1) << r.output;
  const auto xml = slurp(junit);
  EXPECT_NE(xml.find("tests=\"2\" failures=\"1\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("name=\"127.0.0.1:1\""), std::string::npos);
  EXPECT_NE(xml.find("<failure type=\"refused\""), std::string::npos);
}

TEST(RdpprobeCli, CountReportsStatistics) {
  rdp::test::sim_thread sim(tls_config());
  auto r = run_command(std::string(RDPPROBE_BIN) + " scan --json --count 5 --protocols tls 127.0.0.1:" + std::to_string(sim.port()));
  EXPECT_EQ(r.status, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  const auto& tls = j.at("timing_stats_ms").at("tls");
  EXPECT_EQ(tls.at("samples"), 5);
  EXPECT_LE(tls.at("min").get<double>(), tls.at("median").get<double>());
  EXPECT_LE(tls.at("median").get<double>(), tls.at("p99").get<double>());
}

TEST(RdpprobeCli, CountReportsStatisticsForEveryPhaseThatHappened) {
  auto config = tls_config();
  config.policy = rdp::sim::parse_policy("rdp,tls,credssp");
  rdp::test::sim_thread sim(std::move(config));
  auto r = run_command(std::string(RDPPROBE_BIN) + " scan --json --count 3 --protocols tls,credssp --combinations none "
               "127.0.0.1:" + std::to_string(sim.port()));
  EXPECT_EQ(r.status, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  // CredSSP selected: the NTLM info exchange; TLS selected: the session check's MCS exchange.
  for (const char* phase : {"connect", "negotiation", "tls", "credssp", "mcs", "total"}) {
    ASSERT_TRUE(j.at("timing_stats_ms").contains(phase)) << phase << " in " << j.at("timing_stats_ms").dump();
    EXPECT_EQ(j.at("timing_stats_ms").at(phase).at("samples"), 3) << phase;
    EXPECT_TRUE(j.at("timings_ms").at(phase).is_number()) << phase;
  }
  EXPECT_EQ(j.at("timings_ms").at("credssp"), j.at("ntlm_info").at("timings_ms").at("credssp"));
  EXPECT_EQ(j.at("timings_ms").at("mcs"), j.at("session").at("timings_ms").at("mcs"));
  // Without CredSSP there is no CredSSP phase to time.
  auto tls_only = run_command(std::string(RDPPROBE_BIN) + " scan --json --count 2 --protocols tls --combinations none "
                      "127.0.0.1:" + std::to_string(sim.port()));
  auto k = nlohmann::json::parse(tls_only.output);
  EXPECT_TRUE(k.at("timings_ms").at("credssp").is_null());
  EXPECT_FALSE(k.at("timing_stats_ms").contains("credssp"));
}

TEST(RdpprobeCli, TargetFileAndRange) {
  rdp::test::sim_thread sim(tls_config());
  const std::string file = testing::TempDir() + "/rdpprobe-targets.txt";
  {
    std::ofstream f(file);
    f << "# the simulator\n127.0.0.1:" << sim.port() << "\n";
  }
  auto r = run_command(std::string(RDPPROBE_BIN) + " scan --json --protocols tls @" + file + " 127.0.0.1/32:" + std::to_string(sim.port()));
  EXPECT_EQ(r.status, 0) << r.output;
  std::istringstream lines(r.output);
  std::string line;
  int healthy = 0;
  while (std::getline(lines, line)) healthy += nlohmann::json::parse(line).at("verdict") == "rdp";
  EXPECT_EQ(healthy, 2);
}

TEST(RdpprobeCli, InterruptWritesWhatIsFinished) {
  rdp::test::sim_thread sim(tls_config());
  rdp::test::scripted_listener silent(rdp::test::listener_behaviour::silent);
  const std::string junit = testing::TempDir() + "/rdpprobe-interrupted.xml";
  // The silent target would take 60 s; SIGINT after 1 s must still print the finished one and write the JUnit file.
  auto r = run_command("timeout --preserve-status -s INT 1 " + std::string(RDPPROBE_BIN) + " scan --json --read-timeout 60s --junit " + junit +
               " 127.0.0.1:" + std::to_string(silent.port()) + " 127.0.0.1:" + std::to_string(sim.port()));
  EXPECT_EQ(r.status, 130) << r.output;
  EXPECT_NE(r.output.find("\"verdict\":\"rdp\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("interrupted; 1 of 2 targets finished"), std::string::npos) << r.output;
  const auto xml = slurp(junit);
  EXPECT_NE(xml.find("<skipped message=\"not finished"), std::string::npos) << xml;
}

TEST(RdpprobeCli, OverallTimeoutBoundsATarget) {
  rdp::test::scripted_listener silent(rdp::test::listener_behaviour::silent);
  auto r = run_command(std::string(RDPPROBE_BIN) + " scan --json --read-timeout 60s --timeout 500ms 127.0.0.1:" +
               std::to_string(silent.port()));
  EXPECT_EQ(r.status, 1) << r.output;
  auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j.at("verdict"), "timeout");
  EXPECT_LT(j.at("timings_ms").at("total").get<double>(), 60000.0);
}

TEST(RdpprobeCli, BadRateIsUsageError) {
  auto r = run_command(std::string(RDPPROBE_BIN) + " scan --rate fast 127.0.0.1");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("--rate"), std::string::npos) << r.output;
}

}  // namespace

namespace {

TEST(RdpprobeCli, UnreadableCaFileIsUsageError) {
  auto r = run_command(std::string(RDPPROBE_BIN) + " scan --ca /nonexistent/ca.pem 127.0.0.1");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("/nonexistent/ca.pem"), std::string::npos) << r.output;
}

}  // namespace

namespace {

TEST(RdpprobeCli, LocalFindsTheSimulatorAndItsProcess) {
  rdp::sim::server_config c;
  c.policy = rdp::sim::parse_policy("rdp");
  rdp::test::sim_thread sim(c);
  auto r = run_command(std::string(RDPPROBE_BIN) + " local --json --port " + std::to_string(sim.port()));
  EXPECT_EQ(r.status, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  ASSERT_EQ(j.at("listeners").size(), 1u) << r.output;
  EXPECT_EQ(j.at("listeners").at(0).at("owners").at(0).at("pid"), static_cast<int>(::getpid()));
}

TEST(RdpprobeCli, LocalWithNothingListeningIsAFinding) {
  auto r = run_command(std::string(RDPPROBE_BIN) + " local --port " + std::to_string(rdp::test::closed_port()));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("nothing listens"), std::string::npos) << r.output;
}

}  // namespace
