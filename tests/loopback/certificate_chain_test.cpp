// The certificate chain beyond the leaf: every certificate the server sends (subject, issuer, SANs, validity, key,
// signature algorithm, SHA-256, self-signed), and its verification against --ca with the target name. A two-level
// chain made in the test: a CA, and a leaf for "localhost" signed by it, served leaf first with the CA after it.
#include "rdp/net/tls.hpp"
#include "rdp/probe/scanner.hpp"

#include "run_command.hpp"
#include "scripted_listener.hpp"
#include "sim_thread.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace {

using namespace rdp;
using nlohmann::json;

constexpr const char* ca_name = "rdpprobe test CA";

struct two_level_chain {
  net::tls_identity ca = net::make_certificate_authority(net::key_kind::rsa, ca_name);
  net::tls_identity leaf = net::make_issued(ca, net::key_kind::ecdsa, "localhost");
  // One file per test: ctest runs tests in parallel, each with a CA of its own.
  std::string ca_file = testing::TempDir() + "/rdpprobe-chain-ca-" +
                        testing::UnitTest::GetInstance()->current_test_info()->name() + "-" +
                        std::to_string(::getpid()) + ".pem";
  two_level_chain() {
    std::ofstream out(ca_file);
    out << ca.certificate_pem;
  }
  ~two_level_chain() { std::remove(ca_file.c_str()); }
};

// `args` after rdpprobe's usual flags, or (whole_command) the whole command line.
std::pair<int, json> scan_json(const std::string& args, bool whole_command = false) {
  const auto command =
      whole_command ? args : std::string(RDPPROBE_BIN) + " scan --json --protocols rdp,tls --combinations none " + args;
  const auto result = rdp::test::run_command(command);
  const auto& out = result.output;
  json j;
  try {
    j = json::parse(out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what() << "\n" << out;
  }
  return {result.status, j};
}

TEST(CertificateChain, IssuedCertificateCarriesItsIssuerInThePem) {
  two_level_chain c;
  // The leaf first (its fingerprint is the identity's), then the CA: the order a server sends them.
  const auto first = c.leaf.certificate_pem.find("-----BEGIN CERTIFICATE-----");
  const auto second = c.leaf.certificate_pem.find("-----BEGIN CERTIFICATE-----", first + 1);
  ASSERT_NE(second, std::string::npos);
  EXPECT_EQ(c.leaf.certificate_pem.substr(second), c.ca.certificate_pem);
  EXPECT_NE(net::certificate_sha256(c.leaf.certificate_pem), net::certificate_sha256(c.ca.certificate_pem));
}

TEST(CertificateChain, EveryCertificateIsReportedAndVerifiesWithTheCaForTheRightName) {
  two_level_chain c;
  test::scripted_listener server(test::listener_behaviour::tls_then_connect_response, c.leaf);
  const auto [status, j] = scan_json("--ca " + c.ca_file + " localhost:" + std::to_string(server.port()));
  EXPECT_EQ(status, 0) << j.dump(2);
  const auto& tls = j.at("tls");
  const auto& chain = tls.at("chain");
  ASSERT_EQ(chain.size(), 2u) << tls.dump(2);
  const auto& leaf = chain.at(0);
  const auto& ca = chain.at(1);
  EXPECT_EQ(leaf.at("subject"), "CN=localhost");
  EXPECT_EQ(leaf.at("issuer"), std::string("CN=") + ca_name);
  EXPECT_EQ(ca.at("subject"), leaf.at("issuer"));  // the linkage
  EXPECT_EQ(ca.at("issuer"), ca.at("subject"));
  EXPECT_EQ(leaf.at("self_signed"), false);
  EXPECT_EQ(ca.at("self_signed"), true);
  EXPECT_EQ(leaf.at("subject_alt_names"), json::array({"DNS:localhost"}));
  EXPECT_EQ(ca.at("subject_alt_names"), json::array());
  EXPECT_EQ(leaf.at("key_type"), "EC");
  EXPECT_EQ(leaf.at("key_bits"), 256);
  EXPECT_EQ(ca.at("key_type"), "RSA");
  EXPECT_EQ(ca.at("key_bits"), 2048);
  EXPECT_EQ(leaf.at("signature_algorithm"), "sha256WithRSAEncryption");  // signed by the RSA CA
  EXPECT_EQ(leaf.at("sha256"), net::certificate_sha256(c.leaf.certificate_pem));
  EXPECT_EQ(ca.at("sha256"), net::certificate_sha256(c.ca.certificate_pem));
  EXPECT_GE(leaf.at("days_left").get<int>(), 364);
  EXPECT_LE(leaf.at("days_left").get<int>(), 365);
  EXPECT_GE(ca.at("days_left").get<int>(), 3649);
  EXPECT_FALSE(ca.at("not_before").get<std::string>().empty());
  // The leaf keeps its own field, equal to chain[0].
  EXPECT_EQ(tls.at("certificate"), leaf);
  const auto& v = tls.at("verification");
  EXPECT_EQ(v.at("trusted"), true) << v.dump();
  EXPECT_TRUE(v.at("error").is_null());
  EXPECT_EQ(v.at("name"), "localhost");
  EXPECT_EQ(v.at("trust_store"), c.ca_file);
  EXPECT_EQ(v.at("built_chain"), json::array({"CN=localhost", std::string("CN=") + ca_name}));
}

TEST(CertificateChain, TheRightCaButTheWrongNameIsNotTrusted) {
  two_level_chain c;
  test::scripted_listener server(test::listener_behaviour::tls_then_connect_response, c.leaf);
  const auto [status, j] = scan_json("--ca " + c.ca_file + " 127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(status, 0);  // an untrusted certificate is reported, it is not a verdict
  EXPECT_EQ(j.at("tls").at("chain").size(), 2u);
  const auto& v = j.at("tls").at("verification");
  EXPECT_EQ(v.at("trusted"), false);
  EXPECT_EQ(v.at("error"), "IP address mismatch");
  EXPECT_EQ(v.at("name"), "127.0.0.1");
}

// The system store is read from its hashed directory, one lookup per issuer at verification time (parsing the whole
// bundle costs 23 ms per run); SSL_CERT_DIR and SSL_CERT_FILE, OpenSSL's own overrides, point it elsewhere.
TEST(CertificateChain, TheSystemStoreIsFoundInItsHashedDirectoryOrTheFileTheUserNames) {
  two_level_chain c;
  const auto dir = std::filesystem::path(testing::TempDir()) / ("rdpprobe-cert-dir-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(c.ca.certificate_pem.data(),
                                                                static_cast<int>(c.ca.certificate_pem.size())),
                                                BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> ca(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
  ASSERT_TRUE(ca);
  char hash[16];
  std::snprintf(hash, sizeof hash, "%08lx.0", X509_subject_name_hash(ca.get()));
  std::filesystem::copy_file(c.ca_file, dir / hash);
  test::scripted_listener server(test::listener_behaviour::tls_then_connect_response, c.leaf);
  const auto target = " localhost:" + std::to_string(server.port());

  auto [status, j] = scan_json("SSL_CERT_DIR=" + dir.string() + " " + RDPPROBE_BIN + " scan --json --protocols rdp,tls "
                               "--combinations none" + target, true);
  EXPECT_EQ(j.at("tls").at("verification").at("trusted"), true) << j.dump();
  EXPECT_EQ(j.at("tls").at("verification").at("trust_store"), "system");

  // A CA directory without hash links: the defaults, here the file the user named.
  const auto empty = dir / "empty";
  std::filesystem::create_directories(empty);
  std::tie(status, j) = scan_json("SSL_CERT_DIR=" + empty.string() + " SSL_CERT_FILE=" + c.ca_file + " " +
                                  RDPPROBE_BIN + " scan --json --protocols rdp,tls --combinations none" + target, true);
  EXPECT_EQ(j.at("tls").at("verification").at("trusted"), true) << j.dump();
  // Neither: the CA is nowhere, and the chain is not trusted.
  std::tie(status, j) = scan_json("SSL_CERT_DIR=" + empty.string() + " SSL_CERT_FILE=/nonexistent " + RDPPROBE_BIN +
                                  " scan --json --protocols rdp,tls --combinations none" + target, true);
  EXPECT_EQ(j.at("tls").at("verification").at("trusted"), false) << j.dump();
  std::filesystem::remove_all(dir);
}

TEST(CertificateChain, WithoutTheCaTheSentRootIsNotTrusted) {
  two_level_chain c;
  test::scripted_listener server(test::listener_behaviour::tls_then_connect_response, c.leaf);
  const auto [status, j] = scan_json("localhost:" + std::to_string(server.port()));
  const auto& v = j.at("tls").at("verification");
  EXPECT_EQ(v.at("trusted"), false);
  // The server sent its root too; a root the store does not hold is "self-signed certificate in certificate chain".
  EXPECT_EQ(v.at("error"), "self-signed certificate in certificate chain");
  EXPECT_EQ(v.at("trust_store"), "system");
}

TEST(CertificateChain, RdpsimServesAChainFromItsIdentity) {
  two_level_chain c;
  sim::server_config config;
  config.policy = sim::parse_policy("rdp,tls");
  config.identity = c.leaf;
  test::sim_thread sim(config);
  probe::probe_options options;
  options.ca_file = c.ca_file;
  options.protocols = {protocol::security_protocol::ssl};
  options.combinations.clear();
  const auto r = probe::probe_all({{"localhost", {"localhost", sim.port()}}}, options, 1).at(0);
  EXPECT_EQ(r.result, probe::verdict::rdp) << r.evidence;
  ASSERT_TRUE(r.tls);
  ASSERT_EQ(r.tls->chain.size(), 2u);
  EXPECT_EQ(r.tls->chain[0].sha256, net::certificate_sha256(c.leaf.certificate_pem));
  EXPECT_EQ(r.tls->chain[1].subject, std::string("CN=") + ca_name);
  ASSERT_TRUE(r.tls->verification);
  EXPECT_TRUE(r.tls->verification->trusted) << r.tls->verification->error;
  // The human report lists the issuer after the leaf.
  std::ostringstream human;
  probe::print_human(human, r);
  EXPECT_NE(human.str().find("  chain [1]   CN=rdpprobe test CA (self-signed), RSA 2048"), std::string::npos)
      << human.str();
  EXPECT_NE(human.str().find("verified chain CN=localhost -> CN=rdpprobe test CA"), std::string::npos) << human.str();
}

}  // namespace
