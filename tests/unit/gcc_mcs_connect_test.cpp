// MCS Connect-Initial / Connect-Response with their GCC user data, against bytes captured from real peers
// (docs/wire-vectors.md section 4) and against PDUs built from fields.
#include "rdp/protocol/ber.hpp"
#include "rdp/protocol/gcc.hpp"
#include "rdp/protocol/mcs.hpp"
#include "rdp/protocol/per.hpp"
#include "rdp/protocol/x224.hpp"

#include "hex.hpp"
#include "split_feed.hpp"

#include <gtest/gtest.h>

namespace {

using namespace rdp::protocol;
using rdp::test::hex;

// NMAP-CI (docs/wire-vectors.md 4): nmap's rdp.lua Connect-Initial, SSL variant (serverSelectedProtocol 1 at
// offset 344, encryptionMethods 0 at offset 364), reconstructed byte for byte from nmap d20cbf09571e.
const char* const nmap_ci =
    "03 00 01 a0 02 f0 80 7f 65 82 01 94 04 01 01 04 "
    "01 01 01 01 ff 30 19 02 01 22 02 01 02 02 01 00 "
    "02 01 01 02 01 00 02 01 01 02 02 ff ff 02 01 02 "
    "30 19 02 01 01 02 01 01 02 01 01 02 01 01 02 01 "
    "00 02 01 01 02 02 04 20 02 01 02 30 1c 02 02 ff "
    "ff 02 02 fc 17 02 02 ff ff 02 01 01 02 01 00 02 "
    "01 01 02 02 ff ff 02 01 02 04 82 01 33 00 05 00 "
    "14 7c 00 01 81 2a 00 08 00 10 00 01 c0 00 44 75 "
    "63 61 81 1c 01 c0 d8 00 04 00 08 00 00 05 20 03 "
    "01 ca 03 aa 09 04 00 00 28 0a 00 00 45 00 4d 00 "
    "50 00 2d 00 4c 00 41 00 50 00 2d 00 30 00 30 00 "
    "31 00 34 00 00 00 00 00 00 00 00 00 04 00 00 00 "
    "00 00 00 00 0c 00 00 00 00 00 00 00 00 00 00 00 "
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
    "00 00 00 00 00 00 00 00 01 ca 01 00 00 00 00 00 "
    "18 00 07 00 01 00 00 00 00 00 00 00 00 00 00 00 "
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
    "00 00 00 00 00 00 00 00 01 00 00 00 04 c0 0c 00 "
    "09 00 00 00 00 00 00 00 02 c0 0c 00 00 00 00 00 "
    "00 00 00 00 03 c0 2c 00 03 00 00 00 72 64 70 64 "
    "72 00 00 00 00 00 80 80 63 6c 69 70 72 64 72 00 "
    "00 00 a0 c0 72 64 70 73 6e 64 00 00 00 00 00 c0";
constexpr std::size_t nmap_ci_selected_protocol_at = 344;
constexpr std::size_t nmap_ci_encryption_methods_at = 364;

// XRDP-MCS-RSP-TLS (docs/wire-vectors.md 4.1): xrdp 0.9.21.1, security_layer=negotiate, after TLS.
const char* const xrdp_rsp_tls =
    "03 00 00 6d 02 f0 80 7f 66 63 0a 01 00 02 01 00 "
    "30 1a 02 01 16 02 01 03 02 01 00 02 01 01 02 01 "
    "00 02 01 01 02 03 00 ff f8 02 01 02 04 3f 00 05 "
    "00 14 7c 00 01 2a 14 76 0a 01 01 00 01 c0 00 4d "
    "63 44 6e 80 28 01 0c 0c 00 04 00 08 00 01 00 00 "
    "00 03 0c 10 00 eb 03 03 00 ec 03 ed 03 ee 03 00 "
    "00 02 0c 0c 00 00 00 00 00 00 00 00 00";

// XRDP-MCS-RSP-RDP-NONE (docs/wire-vectors.md 4.2): xrdp 0.9.21.1, security_layer=rdp, crypt_level=none.
const char* const xrdp_rsp_rdp_none =
    "03 00 00 69 02 f0 80 7f 66 5f 0a 01 00 02 01 00 "
    "30 1a 02 01 16 02 01 03 02 01 00 02 01 01 02 01 "
    "00 02 01 01 02 03 00 ff f8 02 01 02 04 3b 00 05 "
    "00 14 7c 00 01 2a 14 76 0a 01 01 00 01 c0 00 4d "
    "63 44 6e 80 24 01 0c 08 00 04 00 08 00 03 0c 10 "
    "00 eb 03 03 00 ec 03 ed 03 ee 03 00 00 02 0c 0c "
    "00 00 00 00 00 00 00 00 00";

// XRDP-MCS-RSP-RDP-HIGH (docs/wire-vectors.md 4.3): xrdp 0.9.21.1, security_layer=rdp, crypt_level=high. Bytes
// 117..148 are that connection's server random; 149..524 the proprietary certificate of that host's key.
const char* const xrdp_rsp_rdp_high =
    "03 00 02 0d 02 f0 80 7f 66 82 02 01 0a 01 00 02 "
    "01 00 30 1a 02 01 16 02 01 03 02 01 00 02 01 01 "
    "02 01 00 02 01 01 02 03 00 ff f8 02 01 02 04 82 "
    "01 db 00 05 00 14 7c 00 01 2a 14 76 0a 01 01 00 "
    "01 c0 00 4d 63 44 6e 81 c4 01 0c 08 00 04 00 08 "
    "00 03 0c 10 00 eb 03 03 00 ec 03 ed 03 ee 03 00 "
    "00 02 0c ac 01 02 00 00 00 03 00 00 00 20 00 00 "
    "00 78 01 00 00 43 c5 54 33 52 f8 17 35 38 b8 ec "
    "2b 78 b7 09 f2 11 a0 54 89 e6 3f 97 5b b7 36 1d "
    "63 d0 18 a4 ca 01 00 00 00 01 00 00 00 01 00 00 "
    "00 06 00 1c 01 52 53 41 31 08 01 00 00 00 08 00 "
    "00 ff 00 00 00 01 00 01 00 39 7b 9f 33 c8 cc f1 "
    "43 31 8d 78 dc 21 39 69 d6 ef 9e 6a 47 49 b0 87 "
    "5b 66 68 90 c5 9e 7b d4 34 b7 c9 6f c1 b3 3f a9 "
    "71 30 68 81 6f ee 0f cb ad e0 13 0b 52 80 f5 1c "
    "b6 25 01 68 0c 74 3c 40 a4 5d 92 db 62 71 16 f6 "
    "3d 0d ec 3e 9d 3a 07 9a 74 a2 d1 88 e4 dd 84 11 "
    "ac 79 cc be cf c5 38 a2 55 51 16 19 70 7b 41 61 "
    "42 e6 d8 b3 7d 23 01 5b df ad 3e c5 7e f9 3b 76 "
    "c7 c0 48 14 21 c4 6d 5d 45 bf 6f a3 c0 75 c3 3c "
    "4d 25 fe 24 f4 50 1c 51 11 99 f1 1b 49 bd d6 c5 "
    "97 c0 44 b0 f0 4d 22 ab dc fa ed 53 b3 72 b8 99 "
    "41 45 36 1a 9c b0 f4 75 eb bc dc 22 6c ef 3b b3 "
    "7a 5b 73 f8 c4 0f 57 6d b9 9a 0c 11 72 9a 9d 54 "
    "22 6c 89 81 1a 16 37 12 76 de 5f a8 70 2e bb 3e "
    "9d 45 6d 5a 35 f5 76 b3 93 17 75 53 8f 79 b9 aa "
    "f2 e9 48 d2 61 19 ea df 73 7a 1f 0d 9f 0e 61 5f "
    "6d 55 14 83 8a d9 5d 5f e2 00 00 00 00 00 00 00 "
    "00 08 00 48 00 1e 24 0c 03 26 51 1e aa 53 78 01 "
    "33 aa af 82 0b c2 a5 2f cf 29 65 fb 27 0b 5d 28 "
    "84 50 4e 6a d1 8f 84 ba 9c 4d 20 27 ae 26 4f d9 "
    "b2 0a 29 29 5b 9d 3b 9e 01 60 34 53 f3 96 28 6e "
    "6e 05 10 28 0e 00 00 00 00 00 00 00 00";
constexpr std::size_t high_random_at = 117;
constexpr std::size_t high_certificate_at = 149;

// XRDP-DPU (docs/wire-vectors.md 1.4): what xrdp sends instead of a Connect-Response when it cannot read its key.
const char* const xrdp_dpu = "03 00 00 09 02 f0 80 21 80";
// XRDP-CC-NONEG (docs/wire-vectors.md 1.4).
const char* const xrdp_cc_noneg = "03 00 00 0b 06 d0 00 00 12 34 00";

// The domain parameters xrdp answers with (4.1): 22 channels, 3 users, MCS PDUs up to 65528 bytes.
constexpr mcs::domain_parameters xrdp_parameters{22, 3, 0, 1, 0, 1, 65528, 2};

// nmap's client data blocks, field by field (docs/wire-facts.md 2.2).
gcc::client_data nmap_client_data(std::uint32_t selected_protocol, std::uint32_t encryption_methods) {
  gcc::client_core_data core;
  core.version = gcc::rdp_version::rdp5_plus;
  core.desktop_width = 1280;
  core.desktop_height = 800;
  core.color_depth = 0xCA01;
  core.sas_sequence = 0xAA03;
  core.keyboard_layout = 0x0409;
  core.client_build = 2600;
  core.client_name = u"EMP-LAP-0014";
  core.keyboard_type = 4;
  core.keyboard_subtype = 0;
  core.keyboard_function_keys = 12;
  core.post_beta2_color_depth = 0xCA01;
  core.client_product_id = 1;
  core.serial_number = 0;
  core.high_color_depth = 24;
  core.supported_color_depths = 0x0007;
  core.early_capability_flags = gcc::early_capability::support_errinfo_pdu;
  core.client_dig_product_id = u"";
  core.connection_type = 0;
  core.server_selected_protocol = selected_protocol;
  gcc::client_data data;
  data.core = core;
  data.cluster = gcc::client_cluster_data{0x09, 0};
  data.security = gcc::client_security_data{encryption_methods, 0};
  data.network = gcc::client_network_data{{{"rdpdr", 0x80800000}, {"cliprdr", 0xC0A00000}, {"rdpsnd", 0xC0000000}}};
  return data;
}

mcs::connect_initial nmap_connect_initial(std::uint32_t selected_protocol, std::uint32_t encryption_methods) {
  mcs::connect_initial ci;  // selectors, upward flag and the three parameter sets are nmap's by default
  ci.user_data.client = nmap_client_data(selected_protocol, encryption_methods);
  return ci;
}

// The cipher-pass variant of NMAP-CI: the same bytes with serverSelectedProtocol 0 and one method offered.
std::vector<std::uint8_t> nmap_ci_cipher_variant(std::uint8_t method) {
  auto wire = hex(nmap_ci);
  wire[nmap_ci_selected_protocol_at] = 0;
  wire[nmap_ci_encryption_methods_at] = method;
  return wire;
}

mcs::connect_response xrdp_tls_response() {
  mcs::connect_response cr;
  cr.parameters = xrdp_parameters;
  cr.user_data.server.core = gcc::server_core_data{gcc::rdp_version::rdp5_plus, 1, std::nullopt};
  cr.user_data.server.network = gcc::server_network_data{1003, {1004, 1005, 1006}};
  cr.user_data.server.security = gcc::server_security_data{0, 0, std::nullopt};
  return cr;
}

std::vector<std::uint8_t> encoded(const auto& pdu) {
  auto wire = mcs::encode(pdu);
  EXPECT_TRUE(wire) << wire.error().message();
  return wire ? *wire : std::vector<std::uint8_t>{};
}

boost::system::error_code response_error(const std::vector<std::uint8_t>& wire) {
  auto r = mcs::decode_connect_response(wire);
  EXPECT_FALSE(r) << "decoded a malformed Connect-Response";
  return r ? boost::system::error_code{} : r.error();
}

boost::system::error_code initial_error(const std::vector<std::uint8_t>& wire) {
  auto r = mcs::decode_connect_initial(wire);
  EXPECT_FALSE(r) << "decoded a malformed Connect-Initial";
  return r ? boost::system::error_code{} : r.error();
}

// A Connect-Response frame around arbitrary server data blocks (to build malformed blocks without hex surgery).
std::vector<std::uint8_t> response_with_blocks(const std::vector<std::uint8_t>& blocks) {
  std::vector<std::uint8_t> gcc_data;
  byte_writer g(gcc_data);
  g.bytes(hex("00 05 00 14 7c 00 01 2a 14 76 0a 01 01 00 01 c0 00 4d 63 44 6e"));
  per::write_length_long(g, blocks.size());
  g.bytes(blocks);
  std::vector<std::uint8_t> content;
  byte_writer c(content);
  ber::write_enumerated(c, 0);
  ber::write_integer(c, 0);
  ber::write_tlv(c, ber::sequence_tag, hex("02 01 16 02 01 03 02 01 00 02 01 01 02 01 00 02 01 01 02 03 00 ff f8 02 01 02"));
  ber::write_octet_string(c, gcc_data);
  std::vector<std::uint8_t> pdu;
  byte_writer p(pdu);
  ber::write_tlv(p, ber::application(102), content);
  return x224::encode_data(pdu);
}

// --- names --------------------------------------------------------------------------------------------------------

TEST(GccNames, RdpVersionsAsFreeRdpNamesThem) {
  // FreeRDP include/freerdp/settings_types.h RDP_VERSION_4 … RDP_VERSION_10_12.
  EXPECT_EQ(gcc::rdp_version_name(0x00080001), "RDP 4.0");
  EXPECT_EQ(gcc::rdp_version_name(0x00080004), "RDP 5.0-8.1");
  EXPECT_EQ(gcc::rdp_version_name(0x00080005), "RDP 10.0");
  EXPECT_EQ(gcc::rdp_version_name(0x0008000A), "RDP 10.5");
  EXPECT_EQ(gcc::rdp_version_name(0x0008000C), "RDP 10.7");
  EXPECT_EQ(gcc::rdp_version_name(0x00080010), "RDP 10.11");
  EXPECT_EQ(gcc::rdp_version_name(0x00080011), "RDP 10.12");
  EXPECT_EQ(gcc::rdp_version_name(0x00080002), "");
  EXPECT_EQ(gcc::rdp_version_name(0x00080012), "");
}

TEST(GccNames, EncryptionMethodsAndLevels) {
  EXPECT_EQ(gcc::encryption_method_name(0x01), "40-bit RC4");
  EXPECT_EQ(gcc::encryption_method_name(0x02), "128-bit RC4");
  EXPECT_EQ(gcc::encryption_method_name(0x08), "56-bit RC4");
  EXPECT_EQ(gcc::encryption_method_name(0x10), "FIPS 140-1");
  EXPECT_EQ(gcc::encryption_method_name(0x00), "None");
  EXPECT_EQ(gcc::encryption_method_name(0x03), "");
  EXPECT_EQ(gcc::describe_encryption_methods(0x1B), "40-bit RC4|128-bit RC4|56-bit RC4|FIPS 140-1");
  EXPECT_EQ(gcc::describe_encryption_methods(0x21), "40-bit RC4|0x20");
  EXPECT_EQ(gcc::describe_encryption_methods(0), "None");
  EXPECT_EQ(gcc::encryption_level_name(0), "None");
  EXPECT_EQ(gcc::encryption_level_name(1), "Low");
  EXPECT_EQ(gcc::encryption_level_name(2), "Client Compatible");
  EXPECT_EQ(gcc::encryption_level_name(3), "High");
  EXPECT_EQ(gcc::encryption_level_name(4), "FIPS");
  EXPECT_EQ(gcc::encryption_level_name(5), "");
}

// --- PER helpers --------------------------------------------------------------------------------------------------

TEST(Per, LengthDeterminantBothForms) {
  for (const auto& [wire, expected] : {std::pair{"28", 0x28u}, std::pair{"80 28", 0x28u}, std::pair{"81 2a", 0x12Au},
                                       std::pair{"bf ff", 0x3FFFu}}) {
    const auto bytes = hex(wire);
    byte_reader r(bytes);
    std::size_t length = 0;
    EXPECT_FALSE(per::read_length(r, length)) << wire;
    EXPECT_EQ(length, expected) << wire;
    EXPECT_TRUE(r.empty());
  }
  std::vector<std::uint8_t> out;
  byte_writer w(out);
  EXPECT_FALSE(per::write_length(w, 0x7F));
  EXPECT_FALSE(per::write_length(w, 0x80));
  EXPECT_FALSE(per::write_length_long(w, 0x28));
  EXPECT_EQ(out, hex("7f 80 80 80 28"));
  EXPECT_EQ(per::write_length(w, 0x4000), make_error_code(errc::value_out_of_range));
}

TEST(Per, FragmentedLengthIsRefused) {
  const auto bytes = hex("c1 00");
  byte_reader r(bytes);
  std::size_t length = 0;
  EXPECT_EQ(per::read_length(r, length), make_error_code(errc::bad_mcs));
}

TEST(Per, NumericStringPacksTwoDigitsPerByte) {
  std::vector<std::uint8_t> out;
  byte_writer w(out);
  EXPECT_FALSE(per::write_numeric_string(w, "1", 1));
  EXPECT_FALSE(per::write_numeric_string(w, "123", 1));
  EXPECT_EQ(out, hex("00 10 02 12 30"));
  byte_reader r(out);
  std::string a, b;
  EXPECT_FALSE(per::read_numeric_string(r, 1, a));
  EXPECT_FALSE(per::read_numeric_string(r, 1, b));
  EXPECT_EQ(a, "1");
  EXPECT_EQ(b, "123");
  EXPECT_EQ(per::write_numeric_string(w, "1a", 1), make_error_code(errc::value_out_of_range));
  EXPECT_EQ(per::write_numeric_string(w, "", 1), make_error_code(errc::value_out_of_range));
}

TEST(Per, ObjectIdentifierOfT124) {
  std::vector<std::uint8_t> out;
  byte_writer w(out);
  per::write_object_identifier(w, {0, 0, 20, 124, 0, 1});
  EXPECT_EQ(out, hex("05 00 14 7c 00 01"));
  byte_reader r(out);
  per::object_identifier oid{};
  EXPECT_FALSE(per::read_object_identifier(r, oid));
  EXPECT_EQ(oid, (per::object_identifier{0, 0, 20, 124, 0, 1}));
}

// --- Connect-Response: xrdp captures ------------------------------------------------------------------------------

TEST(McsConnectResponse, DecodesXrdpTlsCaptureFieldByField) {
  const auto wire = hex(xrdp_rsp_tls);  // XRDP-MCS-RSP-TLS
  auto r = mcs::decode_connect_response(wire);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->consumed, 109u);
  const auto& cr = r->value;
  EXPECT_EQ(cr.result, 0u);
  EXPECT_EQ(cr.called_connect_id, 0u);
  EXPECT_EQ(cr.parameters, xrdp_parameters);
  EXPECT_EQ(cr.user_data.node_id, 0x79F3);
  EXPECT_EQ(cr.user_data.tag, 1u);
  EXPECT_EQ(cr.user_data.result, 0);
  const auto& server = cr.user_data.server;
  ASSERT_TRUE(server.core);
  EXPECT_EQ(server.core->version, 0x00080004u);
  EXPECT_EQ(server.core->client_requested_protocols, 1u);  // echoes the CR's PROTOCOL_SSL
  EXPECT_FALSE(server.core->early_capability_flags);
  ASSERT_TRUE(server.network);
  EXPECT_EQ(server.network->mcs_channel_id, 1003);
  EXPECT_EQ(server.network->channel_ids, (std::vector<std::uint16_t>{1004, 1005, 1006}));
  ASSERT_TRUE(server.security);
  EXPECT_EQ(server.security->encryption_method, gcc::encryption_method::none);
  EXPECT_EQ(server.security->encryption_level, gcc::encryption_level::none);
  EXPECT_FALSE(server.security->keys);
  EXPECT_TRUE(server.other.empty());
}

TEST(McsConnectResponse, DecodesXrdpRdpNoneCaptureFieldByField) {
  const auto wire = hex(xrdp_rsp_rdp_none);  // XRDP-MCS-RSP-RDP-NONE
  auto r = mcs::decode_connect_response(wire);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->consumed, 105u);
  const auto& cr = r->value;
  EXPECT_EQ(cr.result, 0u);
  EXPECT_EQ(cr.called_connect_id, 0u);
  EXPECT_EQ(cr.parameters, xrdp_parameters);
  EXPECT_EQ(cr.user_data.node_id, 0x79F3);
  EXPECT_EQ(cr.user_data.tag, 1u);
  EXPECT_EQ(cr.user_data.result, 0);
  const auto& server = cr.user_data.server;
  ASSERT_TRUE(server.core);
  EXPECT_EQ(server.core->version, 0x00080004u);
  EXPECT_FALSE(server.core->client_requested_protocols);  // 8-byte SC_CORE: the CR had no RDP_NEG_REQ
  EXPECT_FALSE(server.core->early_capability_flags);
  ASSERT_TRUE(server.network);
  EXPECT_EQ(server.network->mcs_channel_id, 1003);
  EXPECT_EQ(server.network->channel_ids, (std::vector<std::uint16_t>{1004, 1005, 1006}));
  ASSERT_TRUE(server.security);
  EXPECT_EQ(server.security->encryption_method, 0u);
  EXPECT_EQ(server.security->encryption_level, 0u);
  EXPECT_FALSE(server.security->keys);
  EXPECT_TRUE(server.other.empty());
}

TEST(McsConnectResponse, DecodesXrdpRdpHighCaptureHeader) {
  const auto wire = hex(xrdp_rsp_rdp_high);  // XRDP-MCS-RSP-RDP-HIGH
  auto r = mcs::decode_connect_response(wire);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->consumed, 525u);
  const auto& server = r->value.user_data.server;
  ASSERT_TRUE(server.core && server.security && server.network);
  EXPECT_EQ(server.core->version, 0x00080004u);
  EXPECT_EQ(server.security->encryption_method, gcc::encryption_method::bits128);
  EXPECT_EQ(server.security->encryption_level, gcc::encryption_level::high);
  ASSERT_TRUE(server.security->keys);
  const auto& keys = *server.security->keys;
  ASSERT_EQ(keys.server_random.size(), 32u);
  EXPECT_TRUE(std::equal(keys.server_random.begin(), keys.server_random.end(), wire.begin() + high_random_at));
  ASSERT_EQ(keys.server_certificate.size(), 376u);
  EXPECT_TRUE(std::equal(keys.server_certificate.begin(), keys.server_certificate.end(),
                         wire.begin() + high_certificate_at));
  // 2.2.1.4.3.1: a proprietary certificate (dwVersion 1) with an RSA1 public key blob.
  EXPECT_EQ(keys.server_certificate[0], 0x01);
  EXPECT_EQ(std::vector<std::uint8_t>(keys.server_certificate.begin() + 16, keys.server_certificate.begin() + 20),
            hex("52 53 41 31"));
}

TEST(McsConnectResponse, CapturesRoundTripExactly) {
  for (const char* vector : {xrdp_rsp_tls, xrdp_rsp_rdp_none, xrdp_rsp_rdp_high}) {
    const auto wire = hex(vector);
    auto r = mcs::decode_connect_response(wire);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(encoded(r->value), wire) << vector;
  }
}

TEST(McsConnectResponse, EncodesXrdpTlsCaptureFromFields) {
  EXPECT_EQ(encoded(xrdp_tls_response()), hex(xrdp_rsp_tls));  // XRDP-MCS-RSP-TLS
}

TEST(McsConnectResponse, EveryPrefixNeedsMore) {
  for (const char* vector : {xrdp_rsp_tls, xrdp_rsp_rdp_none, xrdp_rsp_rdp_high})
    rdp::test::expect_need_more_on_every_prefix(hex(vector),
                                                [](bytes_view b) { return mcs::decode_connect_response(b); });
}

TEST(McsConnectResponse, StopsAtFrameEndLeavingTheRest) {
  auto wire = hex(xrdp_rsp_tls);
  const auto next = hex(xrdp_dpu);
  wire.insert(wire.end(), next.begin(), next.end());
  auto r = mcs::decode_connect_response(wire);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->consumed, 109u);
}

TEST(McsConnectResponse, KeepsUnknownServerBlocks) {
  auto cr = xrdp_tls_response();
  cr.user_data.server.other.push_back({gcc::block_type::sc_mcs_msgchannel, hex("ef 03")});
  const auto wire = encoded(cr);
  auto r = mcs::decode_connect_response(wire);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->value, cr);
}

TEST(McsConnectResponse, ServerKeysAndEarlyFlagsRoundTrip) {
  auto cr = xrdp_tls_response();
  cr.user_data.server.core->early_capability_flags = 0x0F;
  cr.user_data.server.security = gcc::server_security_data{0x10, 4, gcc::server_keys{byte_buffer(32, 0xAB), hex("01 02 03")}};
  cr.user_data.server.network->channel_ids = {1004, 1005};
  auto r = mcs::decode_connect_response(encoded(cr));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->value, cr);
}

// --- Connect-Initial: nmap --------------------------------------------------------------------------------------

TEST(McsConnectInitial, EncodesNmapConnectInitialFromFields) {
  EXPECT_EQ(rdp::test::to_hex(encoded(nmap_connect_initial(1, 0))), rdp::test::to_hex(hex(nmap_ci)));  // NMAP-CI
}

TEST(McsConnectInitial, EncodesNmapCipherVariantFromFields) {
  // NMAP-CI cipher pass: the same PDU with serverSelectedProtocol 0 and only the tested method offered.
  for (std::uint8_t method : {std::uint8_t{0x01}, std::uint8_t{0x08}, std::uint8_t{0x02}, std::uint8_t{0x10}})
    EXPECT_EQ(encoded(nmap_connect_initial(0, method)), nmap_ci_cipher_variant(method)) << int{method};
}

TEST(McsConnectInitial, DecodesNmapConnectInitialFieldByField) {
  const auto wire = hex(nmap_ci);  // NMAP-CI
  auto r = mcs::decode_connect_initial(wire);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->consumed, 416u);
  const auto& ci = r->value;
  EXPECT_EQ(ci.calling_domain_selector, hex("01"));
  EXPECT_EQ(ci.called_domain_selector, hex("01"));
  EXPECT_TRUE(ci.upward_flag);
  EXPECT_EQ(ci.target_parameters, (mcs::domain_parameters{34, 2, 0, 1, 0, 1, 65535, 2}));
  EXPECT_EQ(ci.minimum_parameters, (mcs::domain_parameters{1, 1, 1, 1, 0, 1, 1056, 2}));
  EXPECT_EQ(ci.maximum_parameters, (mcs::domain_parameters{65535, 64535, 65535, 1, 0, 1, 65535, 2}));
  EXPECT_EQ(ci.user_data.conference_name, "1");
  const auto& client = ci.user_data.client;
  ASSERT_TRUE(client.core && client.security && client.network && client.cluster);
  EXPECT_EQ(client.core->version, 0x00080004u);
  EXPECT_EQ(client.core->desktop_width, 1280);
  EXPECT_EQ(client.core->desktop_height, 800);
  EXPECT_EQ(client.core->client_build, 2600u);
  EXPECT_EQ(client.core->client_name, u"EMP-LAP-0014");
  EXPECT_EQ(client.core->keyboard_layout, 0x0409u);
  EXPECT_EQ(client.core->high_color_depth, 24);
  EXPECT_EQ(client.core->early_capability_flags, gcc::early_capability::support_errinfo_pdu);
  EXPECT_EQ(client.core->connection_type, 0);
  EXPECT_EQ(client.core->server_selected_protocol, 1u);
  EXPECT_FALSE(client.core->desktop_physical_width);  // nmap's block ends at serverSelectedProtocol (216 bytes)
  EXPECT_EQ(client.security->encryption_methods, 0u);
  EXPECT_EQ(client.cluster->flags, 0x09u);
  ASSERT_EQ(client.network->channels.size(), 3u);
  EXPECT_EQ(client.network->channels[0], (gcc::channel_def{"rdpdr", 0x80800000}));
  EXPECT_EQ(client.network->channels[1], (gcc::channel_def{"cliprdr", 0xC0A00000}));
  EXPECT_EQ(client.network->channels[2], (gcc::channel_def{"rdpsnd", 0xC0000000}));
  EXPECT_EQ(ci, nmap_connect_initial(1, 0));
}

TEST(McsConnectInitial, CipherVariantDecodesTheOfferedMethod) {
  auto r = mcs::decode_connect_initial(nmap_ci_cipher_variant(0x08));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->value.user_data.client.security->encryption_methods, gcc::encryption_method::bits56);
  EXPECT_EQ(r->value.user_data.client.core->server_selected_protocol, 0u);
}

TEST(McsConnectInitial, EveryPrefixNeedsMore) {
  rdp::test::expect_need_more_on_every_prefix(hex(nmap_ci), [](bytes_view b) { return mcs::decode_connect_initial(b); });
}

TEST(McsConnectInitial, FullCoreDataAndUnknownBlocksRoundTrip) {
  auto ci = nmap_connect_initial(0, gcc::encryption_method::all);
  auto& core = *ci.user_data.client.core;
  core.client_dig_product_id = u"0123456789abcdef0123456789abcdef";  // fills the field: no terminator
  core.client_name = u"ABCDEFGHIJKLMNOP";
  core.desktop_physical_width = 300;
  core.desktop_physical_height = 200;
  core.desktop_orientation = 90;
  core.desktop_scale_factor = 100;
  core.device_scale_factor = 100;
  ci.user_data.conference_name = "12345";
  ci.user_data.client.network->channels.push_back({"12345678", 1});  // 8 bytes, no NUL
  ci.user_data.client.other.push_back({gcc::block_type::cs_mcs_msgchannel, hex("00 00 00 00")});
  auto r = mcs::decode_connect_initial(encoded(ci));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->value, ci);
}

TEST(McsConnectInitial, MinimalCoreDataRoundTrips) {
  mcs::connect_initial ci;
  ci.user_data.client.core = gcc::client_core_data{};
  auto r = mcs::decode_connect_initial(encoded(ci));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->value, ci);
  EXPECT_FALSE(r->value.user_data.client.security);
}

// --- malformed input: one test per input ------------------------------------------------------------------------

TEST(McsConnectMalformed, ConnectInitialIsNotAConnectResponse) {
  EXPECT_EQ(response_error(hex(nmap_ci)), make_error_code(errc::unexpected_mcs_pdu));
}

TEST(McsConnectMalformed, ConnectResponseIsNotAConnectInitial) {
  EXPECT_EQ(initial_error(hex(xrdp_rsp_tls)), make_error_code(errc::unexpected_mcs_pdu));
}

TEST(McsConnectMalformed, DisconnectProviderUltimatumInstead) {
  EXPECT_EQ(response_error(hex(xrdp_dpu)), make_error_code(errc::unexpected_mcs_pdu));  // XRDP-DPU
}

TEST(McsConnectMalformed, ConnectionConfirmInstead) {
  EXPECT_EQ(response_error(hex(xrdp_cc_noneg)), make_error_code(errc::unexpected_tpdu));  // XRDP-CC-NONEG
}

TEST(McsConnectMalformed, NotTpkt) {
  EXPECT_EQ(response_error(hex("48 54 54 50 2f 31 2e 31 20 34 30 30")), make_error_code(errc::bad_tpkt_version));
}

TEST(McsConnectMalformed, EmptyDataTpdu) {
  EXPECT_EQ(response_error(hex("03 00 00 07 02 f0 80")), make_error_code(errc::truncated));
}

TEST(McsConnectMalformed, EmptyConnectResponse) {
  EXPECT_EQ(response_error(hex("03 00 00 0a 02 f0 80 7f 66 00")), make_error_code(errc::truncated));
}

TEST(McsConnectMalformed, BerLengthBeyondTheFrame) {
  auto wire = hex(xrdp_rsp_tls);
  wire[9] = 0x64;  // 7f 66 63 -> 7f 66 64
  EXPECT_EQ(response_error(wire), make_error_code(errc::truncated));
}

TEST(McsConnectMalformed, BerLengthShortOfTheFrame) {
  auto wire = hex(xrdp_rsp_tls);
  wire[9] = 0x62;
  EXPECT_EQ(response_error(wire), make_error_code(errc::trailing_bytes));
}

TEST(McsConnectMalformed, IndefiniteBerLength) {
  auto wire = hex(xrdp_rsp_tls);
  wire[9] = 0x80;
  EXPECT_EQ(response_error(wire), make_error_code(errc::bad_mcs));
}

TEST(McsConnectMalformed, OversizedBerLengthField) {
  // A five-octet BER length (0x85): beyond what any RDP PDU needs; refused before it is read.
  EXPECT_EQ(response_error(hex("03 00 00 0f 02 f0 80 7f 66 85 ff ff ff ff ff")), make_error_code(errc::bad_mcs));
}

TEST(McsConnectMalformed, ResultIsNotEnumerated) {
  auto wire = hex(xrdp_rsp_tls);
  wire[10] = 0x02;  // 0a 01 00 -> 02 01 00
  EXPECT_EQ(response_error(wire), make_error_code(errc::bad_mcs));
}

TEST(McsConnectMalformed, DomainParametersWithSevenMembers) {
  std::vector<std::uint8_t> content;
  byte_writer c(content);
  ber::write_enumerated(c, 0);
  ber::write_integer(c, 0);
  ber::write_tlv(c, ber::sequence_tag, hex("02 01 16 02 01 03 02 01 00 02 01 01 02 01 00 02 01 01 02 03 00 ff f8"));
  ber::write_octet_string(c, hex("00"));
  std::vector<std::uint8_t> pdu;
  byte_writer p(pdu);
  ber::write_tlv(p, ber::application(102), content);
  EXPECT_EQ(response_error(x224::encode_data(pdu)), make_error_code(errc::truncated));
}

TEST(McsConnectMalformed, DomainParameterWiderThan32Bits) {
  std::vector<std::uint8_t> content;
  byte_writer c(content);
  ber::write_enumerated(c, 0);
  ber::write_tlv(c, ber::integer_tag, hex("01 00 00 00 00"));  // calledConnectId 2^32
  std::vector<std::uint8_t> pdu;
  byte_writer p(pdu);
  ber::write_tlv(p, ber::application(102), content);
  EXPECT_EQ(response_error(x224::encode_data(pdu)), make_error_code(errc::bad_mcs));
}

TEST(McsConnectMalformed, BytesAfterUserData) {
  std::vector<std::uint8_t> content;
  byte_writer c(content);
  auto wire = hex(xrdp_rsp_tls);
  c.bytes(bytes_view(wire).subspan(10));  // result … userData
  c.u8(0x00);
  std::vector<std::uint8_t> pdu;
  byte_writer p(pdu);
  ber::write_tlv(p, ber::application(102), content);
  EXPECT_EQ(response_error(x224::encode_data(pdu)), make_error_code(errc::trailing_bytes));
}

TEST(McsConnectMalformed, WrongT124ObjectIdentifier) {
  auto wire = hex(xrdp_rsp_tls);
  wire[50] = 0x7d;  // 0.0.20.125.0.1
  EXPECT_EQ(response_error(wire), make_error_code(errc::bad_mcs));
}

TEST(McsConnectMalformed, WrongH221Key) {
  auto wire = hex(xrdp_rsp_tls);
  wire[66] = 'x';  // "McDx"
  EXPECT_EQ(response_error(wire), make_error_code(errc::bad_mcs));
}

TEST(McsConnectMalformed, ClientKeyInAResponse) {
  auto wire = hex(xrdp_rsp_tls);
  for (std::size_t i = 0; i < 4; ++i) wire[63 + i] = static_cast<std::uint8_t>("Duca"[i]);
  EXPECT_EQ(response_error(wire), make_error_code(errc::bad_mcs));
}

TEST(McsConnectMalformed, GccUserDataLengthTooLong) {
  auto wire = hex(xrdp_rsp_tls);
  wire[68] = 0x29;  // 80 28 -> 80 29
  EXPECT_EQ(response_error(wire), make_error_code(errc::truncated));
}

TEST(McsConnectMalformed, GccUserDataLengthTooShort) {
  auto wire = hex(xrdp_rsp_tls);
  wire[68] = 0x27;
  EXPECT_EQ(response_error(wire), make_error_code(errc::trailing_bytes));
}

TEST(McsConnectMalformed, GccFragmentedLength) {
  auto wire = hex(xrdp_rsp_tls);
  wire[67] = 0xC0;  // 11xxxxxx: X.691 fragmentation
  EXPECT_EQ(response_error(wire), make_error_code(errc::bad_mcs));
}

TEST(McsConnectMalformed, BlockLengthBelowHeader) {
  auto wire = hex(xrdp_rsp_tls);
  wire[71] = 0x03;  // SC_CORE length 12 -> 3
  EXPECT_EQ(response_error(wire), make_error_code(errc::bad_mcs));
}

TEST(McsConnectMalformed, BlockOverrunsUserData) {
  auto wire = hex(xrdp_rsp_tls);
  wire[99] = 0x10;  // SC_SECURITY (the last block) length 12 -> 16
  EXPECT_EQ(response_error(wire), make_error_code(errc::truncated));
}

TEST(McsConnectMalformed, ServerRandomLongerThanItsBlock) {
  auto wire = hex(xrdp_rsp_rdp_high);
  wire[high_random_at - 7] = 0x20;  // serverRandomLen 0x20 -> 0x2020
  EXPECT_EQ(response_error(wire), make_error_code(errc::bad_mcs));
}

TEST(McsConnectMalformed, ServerCertificateLengthOfFourGigabytes) {
  auto wire = hex(xrdp_rsp_rdp_high);
  for (std::size_t i = 0; i < 4; ++i) wire[high_random_at - 4 + i] = 0xFF;  // serverCertLen 0xFFFFFFFF
  EXPECT_EQ(response_error(wire), make_error_code(errc::bad_mcs));
}

TEST(McsConnectMalformed, ServerSecurityWithoutLevel) {
  EXPECT_EQ(response_error(response_with_blocks(hex("02 0c 08 00 02 00 00 00"))), make_error_code(errc::bad_mcs));
}

TEST(McsConnectMalformed, ServerCoreWithoutVersion) {
  EXPECT_EQ(response_error(response_with_blocks(hex("01 0c 06 00 04 00"))), make_error_code(errc::bad_mcs));
}

TEST(McsConnectMalformed, ServerNetworkCountBeyondBlock) {
  EXPECT_EQ(response_error(response_with_blocks(hex("03 0c 0c 00 eb 03 ff ff ec 03 ed 03"))),
            make_error_code(errc::bad_mcs));
}

TEST(McsConnectMalformed, ServerCoreTwice) {
  EXPECT_EQ(response_error(response_with_blocks(hex("01 0c 08 00 04 00 08 00 01 0c 08 00 04 00 08 00"))),
            make_error_code(errc::bad_mcs));
}

TEST(McsConnectMalformed, PartialBlockHeader) {
  EXPECT_EQ(response_error(response_with_blocks(hex("01 0c 08 00 04 00 08 00 03 0c"))), make_error_code(errc::truncated));
}

TEST(McsConnectMalformed, NonDigitConferenceName) {
  auto wire = hex(nmap_ci);
  wire[121] = 0xA0;  // ConferenceName::numeric "1" -> nibble 10
  EXPECT_EQ(initial_error(wire), make_error_code(errc::bad_mcs));
}

TEST(McsConnectMalformed, ClientNetworkCountBeyondBlock) {
  auto wire = hex(nmap_ci);
  wire[376] = 0xFF;  // CS_NET (at 372) channelCount 3 -> 0xFF0000FF
  wire[379] = 0xFF;
  EXPECT_EQ(initial_error(wire), make_error_code(errc::bad_mcs));
}

TEST(McsConnectMalformed, ClientCoreShorterThanItsFixedPart) {
  auto ci = nmap_connect_initial(0, 1);
  ci.user_data.client.core.reset();
  ci.user_data.client.other.push_back({gcc::block_type::cs_core, hex("04 00 08 00 00 05")});
  EXPECT_EQ(initial_error(encoded(ci)), make_error_code(errc::bad_mcs));
}

TEST(McsConnectMalformed, ClientSecurityTooShort) {
  auto ci = nmap_connect_initial(0, 1);
  ci.user_data.client.security.reset();
  ci.user_data.client.other.push_back({gcc::block_type::cs_security, hex("01 00 00 00")});
  EXPECT_EQ(initial_error(encoded(ci)), make_error_code(errc::bad_mcs));
}

TEST(McsConnectMalformed, UpwardFlagMissing) {
  auto wire = hex(nmap_ci);
  wire[18] = 0x04;  // 01 01 ff (BOOLEAN) -> 04 01 ff (OCTET STRING)
  EXPECT_EQ(initial_error(wire), make_error_code(errc::bad_mcs));
}

// --- encoder limits -------------------------------------------------------------------------------------------------

TEST(McsConnectEncode, RefusesAGapInOptionalCoreFields) {
  auto ci = nmap_connect_initial(0, 1);
  ci.user_data.client.core->high_color_depth.reset();  // present fields follow it
  EXPECT_EQ(mcs::encode(ci).error(), make_error_code(errc::value_out_of_range));
}

TEST(McsConnectEncode, RefusesAnOverlongClientName) {
  auto ci = nmap_connect_initial(0, 1);
  ci.user_data.client.core->client_name = u"ABCDEFGHIJKLMNOPQ";  // 17 units
  EXPECT_EQ(mcs::encode(ci).error(), make_error_code(errc::value_out_of_range));
}

TEST(McsConnectEncode, RefusesAnOverlongChannelName) {
  auto ci = nmap_connect_initial(0, 1);
  ci.user_data.client.network->channels.push_back({"123456789", 0});
  EXPECT_EQ(mcs::encode(ci).error(), make_error_code(errc::value_out_of_range));
}

TEST(McsConnectEncode, RefusesEarlyFlagsWithoutRequestedProtocols) {
  auto cr = xrdp_tls_response();
  cr.user_data.server.core->client_requested_protocols.reset();
  cr.user_data.server.core->early_capability_flags = 1;
  EXPECT_EQ(mcs::encode(cr).error(), make_error_code(errc::value_out_of_range));
}

TEST(McsConnectEncode, RefusesUserDataBeyondPerLength) {
  auto cr = xrdp_tls_response();
  cr.user_data.server.other.push_back({0x0C99, byte_buffer(0x4000, 0)});  // PER lengths stop at 0x3FFF
  EXPECT_EQ(mcs::encode(cr).error(), make_error_code(errc::value_out_of_range));
}

}  // namespace
