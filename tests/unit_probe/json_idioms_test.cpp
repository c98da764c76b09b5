// The JSON idioms of rdp/net/json.hpp, and two reports built on them written out whole: the report's bytes are its
// interface (docs/json-schema.md), so a change in a helper must show up here as a changed string.
#include "rdp/net/json.hpp"
#include "rdp/probe/ntlm_info.hpp"
#include "rdp/probe/standard_security.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace rdp::net {
namespace {

TEST(JsonIdioms, EmptyTextIsNullAndAnyOtherTextIsItself) {
  EXPECT_TRUE(text_or_null("").is_null());
  EXPECT_EQ(text_or_null("High"), "High");
}

TEST(JsonIdioms, AnAbsentValueIsNullButAnEmptyOneIsKept) {
  EXPECT_TRUE(value_or_null(std::optional<int>()).is_null());
  EXPECT_EQ(value_or_null(std::optional<int>(0)), 0);
  // An optional string that is present but empty was sent empty: "" is the value, not "nothing was seen".
  EXPECT_EQ(value_or_null(std::optional<std::string>("")), "");
}

TEST(JsonIdioms, MapOrNullAppliesTheFunctionOnlyToAPresentValue) {
  int calls = 0;
  auto twice = [&calls](int v) {
    ++calls;
    return v * 2;
  };
  EXPECT_TRUE(map_or_null(std::optional<int>(), twice).is_null());
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(map_or_null(std::optional<int>(21), twice), 42);
  EXPECT_EQ(calls, 1);
}

TEST(JsonIdioms, A32BitCodeIsEightUpperCaseHexDigits) {
  EXPECT_TRUE(hex32_or_null(std::nullopt).is_null());
  EXPECT_EQ(hex32_or_null(0x7u), "0x00000007");
  EXPECT_EQ(hex32_or_null(0xC000006Du), "0xC000006D");  // STATUS_LOGON_FAILURE, as NTSTATUS tables print it
}

TEST(JsonIdioms, RoundedKeepsThreeDecimals) {
  EXPECT_TRUE(rounded_or_null(std::nullopt).is_null());
  EXPECT_EQ(rounded_or_null(12.3456789).dump(), "12.346");
  EXPECT_EQ(rounded_or_null(0.0004).dump(), "0.0");
  EXPECT_EQ(rounded_or_null(1.5).dump(), "1.5");
}

}  // namespace
}  // namespace rdp::net

namespace rdp::probe {
namespace {

TEST(JsonIdioms, StandardSecurityReportIsWrittenExactly) {
  standard_security_result r;
  r.attempted = true;
  r.encryption_level = 3;  // TS_UD_SC_SEC1.encryptionLevel ENCRYPTION_LEVEL_HIGH (MS-RDPBCGR 2.2.1.4.3)
  r.encryption_level_name = "High";
  r.selected_method = 2;  // ENCRYPTION_METHOD_128BIT
  r.rdp_version = 0x00080004;
  r.rdp_version_name = "RDP 5.0-8.1";
  r.mcs_ms = 12.3456789;
  EXPECT_EQ(to_json(r).dump(),
            R"({"attempted":true,"early_capability_flags":null,"encryption_level":3,"encryption_level_name":"High",)"
            R"("error":null,"methods":[],"rdp_version":"0x00080004","rdp_version_name":"RDP 5.0-8.1",)"
            R"("selected_method":2,"selected_method_name":"128-bit RC4","server_certificate_present":false,)"
            R"("timings_ms":{"mcs":12.346}})");
}

TEST(JsonIdioms, StandardSecurityReportOfNothingReadIsNulls) {
  standard_security_result r;
  r.error = "connection refused";
  EXPECT_EQ(to_json(r).dump(),
            R"({"attempted":false,"early_capability_flags":null,"encryption_level":null,)"
            R"("encryption_level_name":null,"error":"connection refused","methods":[],"rdp_version":null,)"
            R"("rdp_version_name":null,"selected_method":null,"selected_method_name":null,)"
            R"("server_certificate_present":false,"timings_ms":{"mcs":null}})");
}

TEST(JsonIdioms, NtlmInfoReportIsWrittenExactly) {
  ntlm_info_result r;
  r.attempted = true;
  r.netbios_computer = "SRV";
  r.product_version = "";  // present but empty stays "", unlike the AV_PAIR names
  r.clock_skew_seconds = 1.5;
  r.credssp_version = 6;
  r.error_code = 0xC000006D;
  EXPECT_EQ(to_json(r).dump(),
            R"({"attempted":true,"clock_skew_seconds":1.5,"credssp_version":6,"dns_computer":null,"dns_domain":null,)"
            R"("dns_tree":null,"error":null,"error_code":"0xC000006D","netbios_computer":"SRV","netbios_domain":null,)"
            R"("product_version":"","server_time":null,"timings_ms":{"credssp":null}})");
}

}  // namespace
}  // namespace rdp::probe
