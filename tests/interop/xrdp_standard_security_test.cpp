// rdpprobe's Standard RDP Security enumeration (nmap's rdp-enum-encryption cipher pass) against a real xrdp 0.9.21
// at each crypt_level. The expected level/method pairs are the ones captured in docs/wire-vectors.md 4.4: xrdp
// ignores the client's encryptionMethods and always answers the method its crypt_level implies.
#include "peers.hpp"
#include "rdp/probe/standard_security.hpp"
#include "rdp/protocol/gcc.hpp"

#include "xrdp_server.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <optional>

namespace {

using namespace rdp;
namespace gcc = protocol::gcc;

probe::standard_security_result enumerate(std::uint16_t port) {
  net::asio::io_context io;
  auto options = std::make_shared<probe::probe_options>();
  std::vector<net::tcp::endpoint> endpoints{{net::asio::ip::make_address("127.0.0.1"), port}};
  std::optional<probe::standard_security_result> out;
  net::asio::co_spawn(io, probe::probe_standard_security(endpoints, options),
                      [&](std::exception_ptr e, probe::standard_security_result r) {
                        if (e) std::rethrow_exception(e);
                        out = std::move(r);
                      });
  io.run();
  return *out;
}

struct level_case {
  const char* security_layer;
  const char* crypt_level;
  std::uint32_t level;
  std::uint32_t method;
};

std::ostream& operator<<(std::ostream& os, const level_case& c) {
  return os << c.security_layer << "/" << c.crypt_level;
}

class XrdpStandardSecurity : public ::testing::TestWithParam<level_case> {
 protected:
  void SetUp() override {
    RDP_REQUIRE_PEER(test::xrdp_server::unavailable_reason());
  }
};

TEST_P(XrdpStandardSecurity, ReportsTheLevelAndMethodXrdpAnswers) {
  const auto& c = GetParam();
  test::xrdp_server xrdp({c.security_layer, c.crypt_level});
  const auto r = enumerate(xrdp.port());
  ASSERT_TRUE(r.error.empty()) << r.error << "\n" << xrdp.log_tail();
  EXPECT_TRUE(r.attempted);
  EXPECT_EQ(r.encryption_level, c.level);
  EXPECT_EQ(r.encryption_level_name, gcc::encryption_level_name(c.level));
  EXPECT_EQ(r.selected_method, c.method);
  // xrdp 0.9.21 reports RDP 5.0-8.1 in TS_UD_SC_CORE whatever the client claims (docs/wire-vectors.md 4.1-4.3).
  EXPECT_EQ(r.rdp_version, gcc::rdp_version::rdp5_plus);
  EXPECT_EQ(r.rdp_version_name, "RDP 5.0-8.1");
  EXPECT_FALSE(r.early_capability_flags);  // its SC_CORE stops after the version for a client without RDP_NEG_REQ
  // With encryption, SC_SECURITY carries the server random and the proprietary certificate (wire-vectors.md 4.3).
  EXPECT_EQ(r.server_certificate_present, c.level != gcc::encryption_level::none);
  EXPECT_TRUE(r.mcs_ms);
  ASSERT_EQ(r.methods.size(), 4u);
  const std::uint32_t order[] = {0x01, 0x08, 0x02, 0x10};
  for (std::size_t i = 0; i < 4; ++i) {
    const auto& m = r.methods[i];
    EXPECT_EQ(m.method, order[i]);
    // xrdp ignores the offer, so nmap's "SUCCESS" is exactly the method the crypt_level implies.
    EXPECT_EQ(m.accepted, m.method == c.method) << m.name << ": " << m.detail;
    EXPECT_FALSE(m.detail.empty());
  }
  const auto j = probe::to_json(r);
  EXPECT_EQ(j["encryption_level"], c.level);
  EXPECT_EQ(j["rdp_version"], "0x00080004");
  EXPECT_TRUE(j["error"].is_null());
  std::cout << "[ xrdp " << c << " ] " << j.dump() << "\n";
}

INSTANTIATE_TEST_SUITE_P(
    CryptLevels, XrdpStandardSecurity,
    ::testing::Values(level_case{"rdp", "none", gcc::encryption_level::none, gcc::encryption_method::none},
                      level_case{"rdp", "low", gcc::encryption_level::low, gcc::encryption_method::bits40},
                      level_case{"rdp", "medium", gcc::encryption_level::client_compatible,
                                 gcc::encryption_method::bits40},
                      level_case{"rdp", "high", gcc::encryption_level::high, gcc::encryption_method::bits128},
                      level_case{"rdp", "fips", gcc::encryption_level::fips, gcc::encryption_method::fips},
                      level_case{"negotiate", "high", gcc::encryption_level::high, gcc::encryption_method::bits128}),
    [](const ::testing::TestParamInfo<level_case>& p) {
      return std::string(p.param.security_layer) + "_" + p.param.crypt_level;
    });

TEST(XrdpStandardSecurityRefused, TlsLayerHangsUpInsteadOfAnswering) {
  RDP_REQUIRE_PEER(test::xrdp_server::unavailable_reason());
  // security_layer=tls: xrdp confirms a CR without RDP_NEG_REQ, then sends a DPU and closes (wire-vectors.md 1.3).
  test::xrdp_server xrdp({"tls", "high"});
  const auto r = enumerate(xrdp.port());
  EXPECT_TRUE(r.attempted);
  EXPECT_FALSE(r.error.empty());
  EXPECT_FALSE(r.encryption_level);
  EXPECT_TRUE(r.methods.empty());  // the first exchange failed: the per-method ones are not tried
  std::cout << "[ xrdp tls/high ] " << r.error << "\n";
}

}  // namespace
