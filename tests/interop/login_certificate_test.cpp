// rdpprobe scan --login gives the password only to a server whose certificate it can trust (issue 12, item 6), as
// mstsc and xfreerdp decide: verified against the system store or --ca for the target's name, pinned with
// --cert-sha256, or any with an explicit --ignore-certificate. Otherwise the logon is refused at the TLS handshake,
// before CredSSP or the Client Info PDU carry the credentials — rdpsim's counters show no logon attempt at all.
#include "sim_thread.hpp"

#include "run_command.hpp"

#include "rdp/probe/scanner.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace {

using rdp::probe::verdict;
constexpr const char* password = "c0rrect-Horse!";

class LoginCertificate : public ::testing::Test {
 protected:
  void start(rdp::net::tls_identity identity) {
    rdp::sim::server_config config;
    config.policy = rdp::sim::parse_policy("rdp,tls");
    config.identity = std::move(identity);
    config.users = {{"alice", "LAB", password}};
    sim_.emplace(std::move(config));
  }
  void start_self_signed() { start(rdp::net::make_self_signed(rdp::net::key_kind::ecdsa, "rdpsim-cert-test")); }

  rdp::probe::probe_options options(rdp::probe::login_security security = rdp::probe::login_security::tls) {
    rdp::probe::probe_options o;
    o.protocols = {rdp::protocol::security_protocol::ssl};
    o.combinations.clear();
    o.standard_security = false;
    rdp::probe::login_check_options login;
    login.user = "alice";
    login.domain = "LAB";
    login.password = password;
    login.security = security;
    o.login = login;
    return o;
  }

  rdp::probe::target_report probe(const rdp::probe::probe_options& o) {
    const auto where = rdp::net::host_port{"127.0.0.1", sim_->port()};
    return rdp::probe::probe_all({{where.text(), where}}, o, 1).at(0);
  }

  // What rdpsim saw of logons: none at all when the certificate was refused.
  std::uint64_t logon_attempts() {
    return sim_->call([this] {
      const auto& c = sim_->server().counters();
      return c.activated + c.logon_failures;
    });
  }

  void expect_refused(const rdp::probe::target_report& r) {
    EXPECT_EQ(r.result, verdict::login_failed) << r.evidence;
    ASSERT_TRUE(r.login);
    EXPECT_FALSE(r.login->logon.reached_active);
    EXPECT_FALSE(r.login->certificate_refused.empty()) << r.login->evidence;
    EXPECT_NE(r.login->evidence.find("refused before any credentials were sent"), std::string::npos)
        << r.login->evidence;
    EXPECT_EQ(logon_attempts(), 0u);
  }
  void expect_logged_on(const rdp::probe::target_report& r) {
    EXPECT_EQ(r.result, verdict::rdp) << r.evidence;
    ASSERT_TRUE(r.login);
    EXPECT_TRUE(r.login->healthy) << r.login->evidence;
    EXPECT_TRUE(r.login->certificate_refused.empty()) << r.login->certificate_refused;
    EXPECT_EQ(sim_->call([this] { return sim_->server().counters().activated; }), 1u);
  }

  std::optional<rdp::test::sim_thread> sim_;
};

TEST_F(LoginCertificate, ASelfSignedCertificateIsRefusedAndNoPasswordIsSent) {
  start_self_signed();
  expect_refused(probe(options()));
  // The same under `any`: FreeRDP then offers no Standard RDP Security, which cannot authenticate a server.
  expect_refused(probe(options(rdp::probe::login_security::any)));
}

TEST_F(LoginCertificate, StandardRdpSecurityIsRefusedWithoutIgnoreCertificate) {
  start_self_signed();
  auto r = probe(options(rdp::probe::login_security::rdp));
  ASSERT_TRUE(r.login);
  EXPECT_NE(r.login->certificate_refused.find("Standard RDP Security"), std::string::npos)
      << r.login->certificate_refused;
  EXPECT_EQ(logon_attempts(), 0u);
}

TEST_F(LoginCertificate, IgnoreCertificateLogsOn) {
  start_self_signed();
  auto o = options();
  o.login->ignore_certificate = true;
  expect_logged_on(probe(o));
}

TEST_F(LoginCertificate, AMatchingPinLogsOnAndAWrongOneIsRefused) {
  start_self_signed();
  auto o = options();
  o.login->accepted_sha256 = {std::string(64, 'a')};
  expect_refused(probe(o));
  // Colon-separated upper-case, as openssl x509 -fingerprint prints it, is the same pin.
  std::string pin;
  for (char c : rdp::net::certificate_sha256(sim_->identity().certificate_pem)) {
    if (!pin.empty() && pin.size() % 3 == 2) pin += ':';
    pin += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  o.login->accepted_sha256 = {pin};
  expect_logged_on(probe(o));
}

TEST_F(LoginCertificate, ACertificateVerifiedWithTheCaLogsOnAndWithoutItIsRefused) {
  const auto ca = rdp::net::make_certificate_authority(rdp::net::key_kind::ecdsa, "rdpprobe test CA");
  start(rdp::net::make_issued(ca, rdp::net::key_kind::ecdsa, "127.0.0.1"));
  expect_refused(probe(options()));
  const auto ca_file = std::filesystem::temp_directory_path() / ("rdpprobe-login-ca-" + std::to_string(::getpid()));
  std::ofstream(ca_file) << ca.certificate_pem;
  auto o = options();
  o.ca_file = ca_file.string();
  const auto r = probe(o);
  std::filesystem::remove(ca_file);
  ASSERT_TRUE(r.tls && r.tls->verification);
  EXPECT_TRUE(r.tls->verification->trusted) << r.tls->verification->error;
  expect_logged_on(r);
}

TEST_F(LoginCertificate, TheCommandReportsTheRefusalAndWhy) {
  start_self_signed();
  const std::string scan = "RDPPROBE_PASSWORD='" + std::string(password) + "' " + RDPPROBE_BIN + " scan 127.0.0.1:" +
                           std::to_string(sim_->port()) + " --protocols tls --combinations none --login 'LAB\\alice' "
                           "--login-security tls";
  auto json = rdp::test::run_command(scan + " --json 2>/dev/null");
  EXPECT_EQ(json.status, 1) << json.output;
  const auto j = nlohmann::json::parse(json.output);
  EXPECT_EQ(j.at("verdict"), "login-failed");
  EXPECT_TRUE(j.at("login").at("certificate").at("refused").is_string()) << j.at("login").dump();
  EXPECT_EQ(j.at("login").at("certificate").at("ignored"), false);
  EXPECT_EQ(j.at("login").at("logon").at("certificate_sha256"), j.at("tls").at("cert_sha256"));
  auto human = rdp::test::run_command(scan);
  EXPECT_EQ(human.status, 1) << human.output;
  EXPECT_NE(human.output.find("refused before any credentials were sent"), std::string::npos) << human.output;
  EXPECT_NE(human.output.find("--ignore-certificate"), std::string::npos) << human.output;
  EXPECT_EQ(human.output.find(password), std::string::npos);
  EXPECT_EQ(logon_attempts(), 0u);
  // The pin the report showed lets the next run in.
  auto pinned = rdp::test::run_command(scan + " --cert-sha256 " + j.at("tls").at("cert_sha256").get<std::string>());
  EXPECT_EQ(pinned.status, 0) << pinned.output;
  auto bad = rdp::test::run_command(scan + " --cert-sha256 nothex");
  EXPECT_EQ(bad.status, 2) << bad.output;
  EXPECT_NE(bad.output.find("--cert-sha256"), std::string::npos) << bad.output;
}

}  // namespace
