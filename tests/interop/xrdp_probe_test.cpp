// rdpprobe against a real xrdp 0.9.21 started by the test on a free loopback port, in each of its three
// security layers. The expected selections are xrdp's observed behaviour (docs/wire-vectors.md, "What xrdp
// selects"); where it departs from MS-RDPBCGR that is written next to the assertion.
#include "peers.hpp"
#include "rdp/net/tls.hpp"
#include "rdp/probe/scanner.hpp"

#include "xrdp_server.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace {

using namespace rdp;
using protocol::security_protocol;

class XrdpInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    RDP_REQUIRE_PEER(test::xrdp_server::unavailable_reason());
  }

  static probe::target_report probe(const test::xrdp_server& xrdp) {
    const std::uint16_t port = xrdp.port();
    return probe::probe_all({{"xrdp", {"127.0.0.1", port}}}, probe::probe_options{}, 1).at(0);
  }

  static const probe::protocol_attempt& attempt(const probe::target_report& r, security_protocol p) {
    for (const auto& a : r.protocols)
      if (a.requested == p) return a;
    throw std::logic_error("no attempt");
  }

  static std::string file_contents(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // "selected rdp", "failure 1", "disconnected"
  static std::string answer(const probe::protocol_attempt& a) {
    switch (a.outcome) {
      case probe::attempt_outcome::selected: return "selected " + protocol::describe_protocol_bits(*a.selected);
      case probe::attempt_outcome::failure: return "failure " + std::to_string(*a.failure_code);
      default: return std::string(probe::to_string(a.outcome));
    }
  }
};

TEST_F(XrdpInterop, NegotiateLayerSelectsTlsOrFallsBackToRdp) {
  test::xrdp_server xrdp({"negotiate", "high"});
  const auto r = probe(xrdp);
  EXPECT_EQ(r.result, probe::verdict::rdp) << r.evidence << "\n" << xrdp.log_tail();
  EXPECT_EQ(answer(attempt(r, security_protocol::rdp)), "selected rdp");
  EXPECT_EQ(answer(attempt(r, security_protocol::ssl)), "selected tls");
  // xrdp has no CredSSP/RDSTLS: a request for only those falls back to Standard RDP Security (a downgrade).
  EXPECT_EQ(answer(attempt(r, security_protocol::hybrid)), "selected rdp");
  EXPECT_EQ(answer(attempt(r, security_protocol::rdstls)), "selected rdp");
  EXPECT_EQ(answer(attempt(r, security_protocol::hybrid_ex)), "selected rdp");
  // xrdp rejects requestedProtocols above 0x0B with an MCS Disconnect Provider Ultimatum and no CC at all.
  EXPECT_EQ(answer(attempt(r, security_protocol::rdsaad)), "disconnected");
  for (const auto& a : r.protocols)
    EXPECT_EQ(a.supported, a.requested == security_protocol::rdp || a.requested == security_protocol::ssl)
        << protocol::to_string(a.requested);
  EXPECT_EQ(attempt(r, security_protocol::ssl).response_flags, protocol::neg_response_flags::extended_client_data_supported);
  // What FreeRDP (0x03) and mstsc (0x0B) send: xrdp picks TLS (docs/wire-vectors.md 1.2).
  ASSERT_EQ(r.combinations.size(), 2u);
  for (const auto& c : r.combinations) EXPECT_EQ(answer(c), "selected tls") << c.requested_bits;
  ASSERT_TRUE(r.tls && r.tls->certificate);
  EXPECT_EQ(r.tls->version, "TLSv1.3");  // xrdp's stock ssl_protocols=TLSv1.2, TLSv1.3 and OpenSSL 3 on both ends
  EXPECT_EQ(r.tls->certificate->sha256, net::certificate_sha256(file_contents(xrdp.cert_pem_path())));
  EXPECT_NE(r.tls->certificate->subject.find("rdp-interop-test"), std::string::npos);
}

TEST_F(XrdpInterop, TlsLayerRefusesEverythingWithoutTheSslBit) {
  test::xrdp_server xrdp({"tls", "high"});
  const auto r = probe(xrdp);
  EXPECT_EQ(r.result, probe::verdict::rdp) << r.evidence;
  EXPECT_EQ(answer(attempt(r, security_protocol::rdp)), "failure 1");  // SSL_REQUIRED_BY_SERVER
  EXPECT_EQ(answer(attempt(r, security_protocol::ssl)), "selected tls");
  // xrdp sends no failure for a HYBRID-only request under negotiate, but does under tls (docs/wire-facts.md 1.5).
  EXPECT_EQ(answer(attempt(r, security_protocol::hybrid)), "failure 1");
  EXPECT_EQ(answer(attempt(r, security_protocol::rdstls)), "failure 1");
  EXPECT_EQ(answer(attempt(r, security_protocol::hybrid_ex)), "failure 1");
  EXPECT_EQ(answer(attempt(r, security_protocol::rdsaad)), "disconnected");
  ASSERT_TRUE(r.tls && r.tls->certificate);
  EXPECT_EQ(r.tls->certificate->sha256, net::certificate_sha256(file_contents(xrdp.cert_pem_path())));
}

TEST_F(XrdpInterop, RdpLayerSelectsStandardSecurityForEverything) {
  test::xrdp_server xrdp({"rdp", "high"});
  const auto r = probe(xrdp);
  EXPECT_EQ(r.result, probe::verdict::rdp) << r.evidence;
  // MS-RDPBCGR has a server without TLS answer SSL_NOT_ALLOWED_BY_SERVER; xrdp selects PROTOCOL_RDP instead.
  for (auto p : {security_protocol::rdp, security_protocol::ssl, security_protocol::hybrid, security_protocol::rdstls,
                 security_protocol::hybrid_ex})
    EXPECT_EQ(answer(attempt(r, p)), "selected rdp") << protocol::to_string(p);
  EXPECT_TRUE(attempt(r, security_protocol::rdp).supported);
  EXPECT_FALSE(attempt(r, security_protocol::ssl).supported);
  for (const auto& c : r.combinations) {
    EXPECT_EQ(answer(c), "selected rdp");
    EXPECT_FALSE(c.supported);  // a downgrade from what the client asked
  }
  EXPECT_FALSE(r.tls);
}

}  // namespace
