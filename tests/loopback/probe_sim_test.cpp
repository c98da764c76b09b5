// rdpprobe's library against rdpsim and against scripted non-RDP/hostile listeners, over real loopback sockets.
#include "rdp/probe/scanner.hpp"
#include "rdp/net/tls.hpp"

#include "scripted_listener.hpp"
#include "sim_thread.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace {

using namespace rdp;
using protocol::security_protocol;

probe::target_report probe_port(std::uint16_t port, probe::probe_options options = {}) {
  auto reports = probe::probe_all({{"127.0.0.1:" + std::to_string(port), {"127.0.0.1", port}}}, options, 1);
  return reports.at(0);
}

const probe::protocol_attempt& attempt(const probe::target_report& r, security_protocol p) {
  for (const auto& a : r.protocols)
    if (a.requested == p) return a;
  throw std::logic_error("no attempt for that protocol");
}

sim::server_config config_for(const std::string& protocols, net::key_kind key = net::key_kind::rsa) {
  sim::server_config c;
  c.policy = sim::parse_policy(protocols);
  c.identity = net::make_self_signed(key, "rdpsim-test");
  return c;
}

TEST(ProbeAgainstSim, RdpAndTlsReportsExactlyThoseTwo) {
  test::sim_thread sim(config_for("rdp,tls"));
  const auto r = probe_port(sim.port());
  EXPECT_EQ(r.result, probe::verdict::rdp) << r.evidence;
  ASSERT_EQ(r.protocols.size(), 6u);
  for (const auto& a : r.protocols) {
    const bool expected = a.requested == security_protocol::rdp || a.requested == security_protocol::ssl;
    EXPECT_EQ(a.supported, expected) << protocol::to_string(a.requested) << ": " << a.detail;
    EXPECT_EQ(a.outcome, probe::attempt_outcome::selected) << protocol::to_string(a.requested);
  }
  // What real clients send (0x03 FreeRDP, 0x0B mstsc) gets TLS, the best it has.
  ASSERT_EQ(r.combinations.size(), 2u);
  for (const auto& c : r.combinations) {
    EXPECT_TRUE(c.supported) << c.detail;
    EXPECT_EQ(c.selected, 1u);
  }
  // The four it does not offer come back as a downgrade to Standard RDP Security, named as such.
  EXPECT_EQ(attempt(r, security_protocol::hybrid).selected, 0u);
  EXPECT_NE(attempt(r, security_protocol::hybrid).detail.find("downgrade"), std::string::npos);
  ASSERT_TRUE(r.tls);
  EXPECT_FALSE(r.tls->version.empty());
  EXPECT_FALSE(r.tls->cipher.empty());
  ASSERT_TRUE(r.tls->certificate);
  EXPECT_EQ(r.tls->certificate->sha256, net::certificate_sha256(sim.identity().certificate_pem));
  EXPECT_TRUE(r.tls->certificate->self_signed);
  EXPECT_EQ(r.tls->certificate->key_type, "RSA");
  EXPECT_EQ(r.tls->certificate->key_bits, 2048);
  EXPECT_TRUE(r.connect_ms && r.negotiation_ms && r.tls_ms);
}

TEST(ProbeAgainstSim, CredSspOnlyServerRefusesRdpAndTls) {
  test::sim_thread sim(config_for("credssp", net::key_kind::ecdsa));
  const auto r = probe_port(sim.port());
  EXPECT_EQ(r.result, probe::verdict::rdp) << r.evidence;
  EXPECT_EQ(attempt(r, security_protocol::rdp).outcome, probe::attempt_outcome::failure);
  EXPECT_EQ(attempt(r, security_protocol::rdp).failure_code, 5u);  // HYBRID_REQUIRED_BY_SERVER
  EXPECT_EQ(attempt(r, security_protocol::ssl).failure_code, 5u);
  EXPECT_TRUE(attempt(r, security_protocol::hybrid).supported);
  EXPECT_EQ(r.combinations.at(0).selected, 2u);  // 0x03 → CredSSP
  EXPECT_EQ(r.combinations.at(1).selected, 2u);  // 0x0B → CredSSP (it has no CredSSP-EX)
  EXPECT_FALSE(attempt(r, security_protocol::hybrid_ex).supported);
  ASSERT_TRUE(r.tls && r.tls->certificate);
  EXPECT_EQ(r.tls->certificate->key_type, "EC");
}

TEST(ProbeAgainstSim, StandardSecurityOnlyServerSaysSslNotAllowed) {
  sim::server_config c;
  c.policy = sim::parse_policy("rdp");
  test::sim_thread sim(c);
  const auto r = probe_port(sim.port());
  EXPECT_EQ(r.result, probe::verdict::rdp);
  EXPECT_TRUE(attempt(r, security_protocol::rdp).supported);
  EXPECT_EQ(attempt(r, security_protocol::ssl).failure_code, 2u);  // SSL_NOT_ALLOWED_BY_SERVER
  EXPECT_FALSE(r.tls);
}

TEST(ProbeAgainstSim, EveryProtocolOffered) {
  test::sim_thread sim(config_for("rdp,tls,credssp,credssp-ex,rdstls,rdsaad"));
  const auto r = probe_port(sim.port());
  EXPECT_EQ(r.result, probe::verdict::rdp);
  for (const auto& a : r.protocols) EXPECT_TRUE(a.supported) << protocol::to_string(a.requested);
}

TEST(ProbeAgainstSim, NoCommonProtocolIsNegotiationFailed) {
  test::sim_thread sim(config_for("credssp"));
  probe::probe_options options;
  options.protocols = {security_protocol::rdp, security_protocol::ssl};
  const auto r = probe_port(sim.port(), options);
  EXPECT_EQ(r.result, probe::verdict::negotiation_failed) << r.evidence;
}

TEST(ProbeAgainstSim, JsonHasTheDocumentedFields) {
  test::sim_thread sim(config_for("rdp,tls"));
  const auto j = probe::to_json(probe_port(sim.port()));
  EXPECT_EQ(j.at("verdict"), "rdp");
  EXPECT_EQ(j.at("protocols").at("tls").at("supported"), true);
  EXPECT_EQ(j.at("protocols").at("credssp").at("supported"), false);
  EXPECT_EQ(j.at("protocols").at("credssp").at("selected"), "rdp");
  EXPECT_TRUE(j.at("protocols").at("rdp").at("failure").is_null());
  EXPECT_EQ(j.at("tls").at("cert_sha256"), net::certificate_sha256(sim.identity().certificate_pem));
  EXPECT_TRUE(j.at("timings_ms").at("connect").is_number());
  EXPECT_TRUE(j.at("timings_ms").at("tls").is_number());
}

TEST(ProbeAgainstListeners, HttpServerIsNotRdp) {
  test::scripted_listener http(test::listener_behaviour::http_400);
  const auto r = probe_port(http.port());
  EXPECT_EQ(r.result, probe::verdict::not_rdp);
  ASSERT_TRUE(r.listener);
  EXPECT_EQ(r.listener->kind, protocol::listener_kind::http);
  EXPECT_NE(r.listener->detail.find("scripted-http/1.0"), std::string::npos) << r.listener->detail;
  // After the first answer shows it is not RDP, the rest are skipped rather than asked again.
  EXPECT_EQ(r.protocols.back().outcome, probe::attempt_outcome::skipped);
}

TEST(ProbeAgainstListeners, SshBannerIsNotRdp) {
  test::scripted_listener ssh(test::listener_behaviour::ssh_banner);
  const auto r = probe_port(ssh.port());
  EXPECT_EQ(r.result, probe::verdict::not_rdp);
  ASSERT_TRUE(r.listener);
  EXPECT_EQ(r.listener->kind, protocol::listener_kind::ssh);
}

TEST(ProbeAgainstListeners, ClosedPortIsRefused) {
  const auto r = probe_port(test::closed_port());
  EXPECT_EQ(r.result, probe::verdict::refused) << r.evidence;
}

TEST(ProbeAgainstListeners, SilentListenerTimesOut) {
  test::scripted_listener silent(test::listener_behaviour::silent);
  probe::probe_options options;
  options.read_timeout = std::chrono::milliseconds(300);
  const auto r = probe_port(silent.port(), options);
  EXPECT_EQ(r.result, probe::verdict::timeout) << r.evidence;
}

TEST(ProbeAgainstListeners, ResetIsReset) {
  test::scripted_listener rst(test::listener_behaviour::reset_on_data);
  const auto r = probe_port(rst.port());
  EXPECT_EQ(r.result, probe::verdict::reset) << r.evidence;
}

TEST(ProbeAgainstListeners, CloseWithoutAnswerIsClosed) {
  test::scripted_listener fin(test::listener_behaviour::close_on_data);
  const auto r = probe_port(fin.port());
  EXPECT_EQ(r.result, probe::verdict::closed) << r.evidence;
}

TEST(ProbeAgainstHostileServers, DribbleEndsAtTheDeadline) {
  test::scripted_listener dribble(test::listener_behaviour::dribble);
  probe::probe_options options;
  options.read_timeout = std::chrono::milliseconds(1500);
  const auto r = probe_port(dribble.port(), options);
  // 19 bytes at one a second cannot finish in 1.5 s: the attempt must end by its deadline, not the peer's pace.
  EXPECT_EQ(attempt(r, security_protocol::rdp).outcome, probe::attempt_outcome::not_rdp);
  EXPECT_NE(r.result, probe::verdict::rdp);
}

TEST(ProbeAgainstHostileServers, HugeTpktLengthDoesNotWaitForever) {
  test::scripted_listener huge(test::listener_behaviour::huge_tpkt);
  probe::probe_options options;
  options.read_timeout = std::chrono::milliseconds(500);
  const auto r = probe_port(huge.port(), options);
  EXPECT_EQ(r.result, probe::verdict::not_rdp) << r.evidence;
}

TEST(ProbeAgainstHostileServers, EndlessDataIsCappedAndClassified) {
  test::scripted_listener endless(test::listener_behaviour::endless);
  probe::probe_options options;
  options.read_timeout = std::chrono::milliseconds(2000);
  const auto r = probe_port(endless.port(), options);
  EXPECT_EQ(r.result, probe::verdict::not_rdp) << r.evidence;
}

}  // namespace

namespace {

using namespace rdp;

std::string write_temp(const std::string& name, const std::string& content) {
  const std::string path = testing::TempDir() + "/" + name;
  std::ofstream(path) << content;
  return path;
}

TEST(ProbeTlsVerification, SelfSignedIsNotTrustedBySystemStore) {
  sim::server_config c;
  c.policy = sim::parse_policy("tls");
  c.identity = net::make_self_signed(net::key_kind::rsa, "127.0.0.1");
  test::sim_thread sim(c);
  probe::probe_options options;
  options.protocols = {protocol::security_protocol::ssl};
  const auto r = probe::probe_all({{"t", {"127.0.0.1", sim.port()}}}, options, 1).at(0);
  ASSERT_TRUE(r.tls && r.tls->verification);
  EXPECT_FALSE(r.tls->verification->trusted);
  EXPECT_EQ(r.tls->verification->error, "self-signed certificate");
  EXPECT_EQ(r.tls->trust_store, "system");
}

TEST(ProbeTlsVerification, TrustedWithItsOwnCaFileAndMatchingAddress) {
  sim::server_config c;
  c.policy = sim::parse_policy("tls");
  c.identity = net::make_self_signed(net::key_kind::ecdsa, "127.0.0.1");
  test::sim_thread sim(c);
  probe::probe_options options;
  options.protocols = {protocol::security_protocol::ssl};
  options.ca_file = write_temp("ca-match.pem", c.identity.certificate_pem);
  const auto r = probe::probe_all({{"t", {"127.0.0.1", sim.port()}}}, options, 1).at(0);
  ASSERT_TRUE(r.tls && r.tls->verification);
  EXPECT_TRUE(r.tls->verification->trusted) << r.tls->verification->error;
  EXPECT_EQ(r.tls->verification->name, "127.0.0.1");
}

TEST(ProbeTlsVerification, TrustedChainButWrongNameIsNotTrusted) {
  sim::server_config c;
  c.policy = sim::parse_policy("tls");
  c.identity = net::make_self_signed(net::key_kind::rsa, "rdp.lab.example");
  test::sim_thread sim(c);
  probe::probe_options options;
  options.protocols = {protocol::security_protocol::ssl};
  options.ca_file = write_temp("ca-name.pem", c.identity.certificate_pem);
  const auto r = probe::probe_all({{"t", {"127.0.0.1", sim.port()}}}, options, 1).at(0);
  ASSERT_TRUE(r.tls && r.tls->verification);
  EXPECT_FALSE(r.tls->verification->trusted);
  EXPECT_EQ(r.tls->verification->error, "IP address mismatch");
}

}  // namespace
