// The profile's standard_security keys (sim/src/profile.cpp, docs/profiles.md): values, defaults, and refusals with
// file:line:column, and the shipped profiles that use them.
#include "rdp/sim/profile.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace {

using namespace rdp;
namespace method = protocol::gcc::encryption_method;
namespace level = protocol::gcc::encryption_level;

sim::profile parse(const std::string& text) {
  return sim::parse_profile(text, "lab.yaml", ".", sim::certificate_handling::check_only);
}

// sim/profiles/, found from this file's path (CMake compiles it by its absolute path).
std::string shipped(const std::string& name) {
  return (std::filesystem::path(__FILE__).parent_path() / "../../sim/profiles" / name).lexically_normal().string();
}

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const sim::profile_error& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(StandardSecurityProfile, ReadsLevelMethodsAndTheXrdpWay) {
  const auto p = parse(
      "protocols: [rdp, tls]\n"
      "standard_security:\n"
      "  encryption_level: client-compatible\n"
      "  methods: [40, 128]\n");
  const auto& s = p.server.standard_security;
  EXPECT_EQ(s.encryption_level, level::client_compatible);
  EXPECT_EQ(s.methods, method::bits40 | method::bits128);
  EXPECT_FALSE(s.ignore_client_methods);
  EXPECT_TRUE(s.server_certificate.empty());  // made when the server starts

  const auto x = parse("protocols: [rdp]\nstandard_security: {encryption_level: high, methods: [128], "
                       "ignore_client_methods: true}\n");
  EXPECT_EQ(x.server.standard_security.encryption_level, level::high);
  EXPECT_TRUE(x.server.standard_security.ignore_client_methods);
}

TEST(StandardSecurityProfile, DefaultsAreLevelNoneAndEveryMethod) {
  EXPECT_EQ(parse("protocols: [rdp]\n").server.standard_security.encryption_level, level::none);
  const auto p = parse("protocols: [rdp]\nstandard_security: {encryption_level: fips}\n");
  EXPECT_EQ(p.server.standard_security.methods, method::all);
}

TEST(StandardSecurityProfile, BadValuesNameTheLineColumnAndKey) {
  EXPECT_EQ(error_of("protocols: [rdp]\nstandard_security:\n  encryption_level: medium\n"),
            "lab.yaml:3:21: standard_security.encryption_level: expected none, low, client-compatible, high or fips, "
            "found 'medium'");
  EXPECT_EQ(error_of("protocols: [rdp]\nstandard_security:\n  methods: [40, 64]\n"),
            "lab.yaml:3:17: standard_security.methods: expected 40, 56, 128 or fips, found '64'");
  EXPECT_EQ(error_of("protocols: [rdp]\nstandard_security:\n  method: [40]\n"),
            "lab.yaml:3:3: standard_security.method: unknown key (known here: encryption_level, methods, "
            "ignore_client_methods)");
  EXPECT_EQ(error_of("protocols: [rdp]\nstandard_security: {encryption_level: high, methods: [40, 56]}\n"),
            "lab.yaml:2:20: standard_security: encryption_level High admits none of the methods listed (high needs "
            "128 or fips, fips needs fips)");
  EXPECT_EQ(error_of("protocols: [tls]\nstandard_security: {encryption_level: high}\n"),
            "lab.yaml:2:20: standard_security: Standard RDP Security is not offered (protocols: rdp)");
  EXPECT_EQ(error_of("protocols: [rdp]\nstandard_security: {ignore_client_methods: maybe}\n"),
            "lab.yaml:2:44: standard_security.ignore_client_methods: expected true or false, found 'maybe'");
}

TEST(StandardSecurityProfile, ShippedProfilesSayWhatTheyAnswer) {
  const auto windows = sim::load_profile(shipped("windows-server-2022-tls.yaml"));
  EXPECT_EQ(windows.name, "windows-server-2022-tls");
  EXPECT_EQ(windows.server.standard_security.encryption_level, level::client_compatible);
  EXPECT_EQ(windows.server.standard_security.methods, method::all);
  EXPECT_FALSE(windows.server.standard_security.ignore_client_methods);
  EXPECT_TRUE(windows.server.policy.supports_standard_rdp);
  const auto xrdp = sim::load_profile(shipped("xrdp-like.yaml"));
  EXPECT_EQ(xrdp.server.standard_security.encryption_level, level::high);
  EXPECT_EQ(xrdp.server.standard_security.methods, method::bits128);
  EXPECT_TRUE(xrdp.server.standard_security.ignore_client_methods);
}

}  // namespace
