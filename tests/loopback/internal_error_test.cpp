// A probe that fails itself (issue 12, item 4): an exception in a negotiation attempt's worker or in a target's
// probe must end that target visibly, with verdict internal-error, never leave the run waiting forever or the
// target's slot empty (which printed as `refused`). Exceptions are injected through probe_options' test hooks.
#include "sim_thread.hpp"

#include "rdp/probe/junit.hpp"
#include "rdp/probe/scanner.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace {

using namespace rdp;
using protocol::security_protocol;

sim::server_config tls_sim() {
  sim::server_config c;
  c.policy = sim::parse_policy("rdp,tls");
  c.identity = net::make_self_signed(net::key_kind::rsa, "internal-error-test");
  return c;
}

std::vector<std::pair<std::string, net::host_port>> targets_at(std::uint16_t port, std::size_t n) {
  std::vector<std::pair<std::string, net::host_port>> targets;
  for (std::size_t i = 0; i < n; ++i) {
    // The same server under different names, so that a hook can tell the targets apart.
    net::host_port where{"127.0.0.1", port};
    targets.emplace_back("target-" + std::to_string(i) + "=" + where.text(), where);
  }
  return targets;
}

probe::probe_options quick_options() {
  probe::probe_options o;
  o.protocols = {security_protocol::rdp, security_protocol::ssl, security_protocol::hybrid};
  o.combinations.clear();
  o.standard_security = false;
  o.ntlm_info = false;
  return o;
}

TEST(InternalError, AnAttemptWorkerThatThrowsEndsItsTargetAsInternalError) {
  test::sim_thread sim(tls_sim());
  auto o = quick_options();
  // The first attempt (rdp) runs alone; tls and credssp go to the attempt workers, and the tls one throws.
  o.before_attempt = [](const std::string&, std::uint32_t bits) {
    if (bits == protocol::to_bits(security_protocol::ssl)) throw std::runtime_error("injected fault in the tls attempt");
  };
  const auto reports = probe::probe_all(targets_at(sim.port(), 1), o, 1);  // the old code never returned
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].result, probe::verdict::internal_error) << reports[0].evidence;
  EXPECT_NE(reports[0].evidence.find("injected fault in the tls attempt"), std::string::npos) << reports[0].evidence;
  // The attempts that did run are still reported.
  ASSERT_EQ(reports[0].protocols.size(), 3u);
  EXPECT_TRUE(reports[0].protocols[0].supported);
}

TEST(InternalError, EveryAttemptWorkerThrowingStillEndsTheTarget) {
  test::sim_thread sim(tls_sim());
  auto o = quick_options();
  o.attempts_in_flight = 2;
  o.before_attempt = [](const std::string&, std::uint32_t bits) {
    if (bits != 0) throw std::runtime_error("injected fault");
  };
  const auto reports = probe::probe_all(targets_at(sim.port(), 1), o, 1);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].result, probe::verdict::internal_error);
}

TEST(InternalError, ATargetWhoseProbeThrowsGetsItsOwnVerdictAndTheOthersTheirs) {
  test::sim_thread sim(tls_sim());
  auto o = quick_options();
  o.before_target = [](const std::string& target) {
    if (target.starts_with("target-1=")) throw std::runtime_error("injected fault in target 1");
  };
  const auto targets = targets_at(sim.port(), 3);
  std::vector<std::size_t> reported;
  probe::run_hooks hooks;
  hooks.on_report = [&](std::size_t i, const probe::target_report&) { reported.push_back(i); };
  const auto result = probe::probe_all(targets, o, 2, hooks);
  ASSERT_EQ(result.reports.size(), 3u);
  EXPECT_EQ(reported.size(), 3u);  // the failed target is reported like any other
  for (std::size_t i = 0; i < 3; ++i) ASSERT_TRUE(result.reports[i].has_value()) << i;
  EXPECT_EQ(result.reports[0]->result, probe::verdict::rdp) << result.reports[0]->evidence;
  EXPECT_EQ(result.reports[1]->result, probe::verdict::internal_error);
  EXPECT_EQ(result.reports[1]->target, targets[1].first);
  EXPECT_NE(result.reports[1]->evidence.find("injected fault in target 1"), std::string::npos);
  EXPECT_EQ(result.reports[2]->result, probe::verdict::rdp) << result.reports[2]->evidence;

  // JUnit: an error (the probe broke), not a failure (a finding about the server).
  std::vector<std::string> names;
  for (const auto& t : targets) names.push_back(t.first);
  const auto xml = probe::to_junit(names, result.reports);
  EXPECT_NE(xml.find("failures=\"0\" errors=\"1\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<error type=\"internal-error\""), std::string::npos) << xml;
}

TEST(InternalError, TheFirstAttemptThrowingEndsTheTargetToo) {
  test::sim_thread sim(tls_sim());
  auto o = quick_options();
  o.before_attempt = [](const std::string&, std::uint32_t bits) {
    if (bits == 0) throw std::runtime_error("injected fault in the first attempt");
  };
  const auto reports = probe::probe_all(targets_at(sim.port(), 2), o, 2);
  ASSERT_EQ(reports.size(), 2u);
  for (const auto& r : reports) {
    EXPECT_EQ(r.result, probe::verdict::internal_error);
    EXPECT_NE(r.evidence.find("injected fault in the first attempt"), std::string::npos) << r.evidence;
  }
}

}  // namespace
