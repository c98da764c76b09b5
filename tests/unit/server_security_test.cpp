// Standard RDP Security's server answer (protocol/server_security.hpp): the method chosen per level and offer
// (MS-RDPBCGR 5.3.2), the TS_UD_SC_SEC1 it makes and its exact layout through gcc encode/decode, and the proprietary
// certificate's layout (2.2.1.4.3.1.1) against xrdp's captured one (docs/wire-vectors.md 4.3). That the signature
// verifies with the published Terminal Services key is tests/unit_sim/standard_security_keys_test.cpp (the signer
// is rdpsim's, on OpenSSL; protocol/ has no RSA).
#include "rdp/protocol/gcc.hpp"
#include "rdp/protocol/mcs.hpp"
#include "rdp/protocol/server_security.hpp"

#include "captured_vectors.hpp"
#include "hex.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

namespace {

using namespace rdp::protocol;
using rdp::test::hex;
namespace method = gcc::encryption_method;
namespace level = gcc::encryption_level;

standard_security_settings settings(std::uint32_t l, std::uint32_t methods, bool ignore = false) {
  return {l, methods, ignore, hex("01 02 03 04")};
}

std::optional<gcc::client_security_data> offer(std::uint32_t methods, std::uint32_t ext = 0) {
  return gcc::client_security_data{methods, ext};
}

// nmap's cipher pass offers one method per connection (docs/wire-facts.md 2.2); its SUCCESS is "the server answered
// exactly that method". What a Windows host at each level answers to each single offer, with all methods allowed.
struct level_case {
  std::uint32_t level;
  std::uint32_t success;  // the single offers answered with the offered method
};

TEST(ChooseEncryptionMethod, SingleOffersPerLevelAsNmapSeesThem) {
  const level_case cases[] = {
      {level::low, method::all},
      {level::client_compatible, method::all},
      {level::high, method::bits128 | method::fips},
      {level::fips, method::fips},
  };
  for (const auto& c : cases) {
    for (const auto m : {method::bits40, method::bits56, method::bits128, method::fips}) {
      const auto chosen = choose_encryption_method(settings(c.level, method::all), m);
      if (c.success & m) {
        EXPECT_EQ(chosen, m) << "level " << c.level << " offer " << m;
      } else {
        EXPECT_FALSE(chosen) << "level " << c.level << " offer " << m << " got " << chosen.value_or(0);
      }
    }
  }
}

TEST(ChooseEncryptionMethod, StrongestOfferedRc4WinsAndFipsOnlyWhenAlone) {
  const auto cc = settings(level::client_compatible, method::all);
  EXPECT_EQ(choose_encryption_method(cc, method::all), method::bits128);  // mstsc/FreeRDP offer 40|56|128|FIPS
  EXPECT_EQ(choose_encryption_method(cc, method::bits40 | method::bits56), method::bits56);
  EXPECT_EQ(choose_encryption_method(cc, method::bits40 | method::fips), method::bits40);
  EXPECT_EQ(choose_encryption_method(settings(level::high, method::all), method::all), method::bits128);
  EXPECT_EQ(choose_encryption_method(settings(level::high, method::all), method::bits40 | method::fips), method::fips);
}

TEST(ChooseEncryptionMethod, ServerMethodsRestrictTheChoice) {
  // A Client Compatible server without 128-bit answers a 128-only client with nothing: the connection is closed.
  const auto no128 = settings(level::client_compatible, method::bits40 | method::bits56);
  EXPECT_FALSE(choose_encryption_method(no128, method::bits128));
  EXPECT_EQ(choose_encryption_method(no128, method::all), method::bits56);
  EXPECT_FALSE(choose_encryption_method(settings(level::client_compatible, method::all), 0));  // offers nothing
}

TEST(ChooseEncryptionMethod, LevelNoneAnswersNoneWhateverTheOffer) {
  for (const std::uint32_t m : {0u, method::bits40, method::all})
    EXPECT_EQ(choose_encryption_method(settings(level::none, method::all), m), method::none);
  EXPECT_EQ(admitted_methods(level::none, method::all), 0u);
  EXPECT_EQ(admitted_methods(7, method::all), 0u);  // an unknown level admits nothing
}

TEST(ChooseEncryptionMethod, IgnoringTheOfferAnswersTheServersMethod) {
  // xrdp 0.9.21 (docs/wire-vectors.md 4.4): crypt_level=high answers 128-bit to every offer, medium 40-bit.
  const auto high = settings(level::high, method::bits128, true);
  const auto medium = settings(level::client_compatible, method::bits40, true);
  for (const std::uint32_t m : {method::bits40, method::bits56, method::bits128, method::fips, 0u}) {
    EXPECT_EQ(choose_encryption_method(high, m), method::bits128);
    EXPECT_EQ(choose_encryption_method(medium, m), method::bits40);
  }
}

TEST(OfferedMethods, FrenchLocaleClientsUseExtEncryptionMethods) {
  EXPECT_EQ(offered_methods(offer(method::bits128, method::bits40)), method::bits128);
  EXPECT_EQ(offered_methods(offer(0, method::bits56)), method::bits56);  // 2.2.1.3.3: encryptionMethods 0
  EXPECT_EQ(offered_methods(std::nullopt), 0u);
}

TEST(AnswerStandardSecurity, EncryptedAnswerCarriesTheRandomAndCertificate) {
  standard_security_options o;
  o.settings = settings(level::client_compatible, method::all);
  std::iota(o.server_random.begin(), o.server_random.end(), std::uint8_t{0xA0});
  const auto answer = answer_standard_security(o, offer(method::bits40 | method::bits128));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->encryption_method, method::bits128);
  EXPECT_EQ(answer->encryption_level, level::client_compatible);
  ASSERT_TRUE(answer->keys);
  EXPECT_EQ(answer->keys->server_random, byte_buffer(o.server_random.begin(), o.server_random.end()));
  EXPECT_EQ(answer->keys->server_certificate, o.settings.server_certificate);
}

TEST(AnswerStandardSecurity, LevelNoneIsTheTwelveByteBlock) {
  standard_security_options o;
  const auto answer = answer_standard_security(o, offer(method::all));
  ASSERT_TRUE(answer);
  EXPECT_EQ(*answer, gcc::server_security_data{});  // method 0, level 0, no random, no certificate
  EXPECT_FALSE(answer_standard_security({settings(level::fips, method::all), {}}, offer(method::bits128)));
}

// The whole Connect-Response through mcs/gcc encode and decode: SC_SEC1's exact bytes (2.2.1.4.3) — header
// 0x0C02 and length, method, level, serverRandomLen 32, serverCertLen, the random, the certificate.
TEST(AnswerStandardSecurity, ExactLayoutRoundTripsThroughGcc) {
  standard_security_options o;
  o.settings = settings(level::client_compatible, method::all);
  o.server_random.fill(0x5A);
  const auto answer = answer_standard_security(o, offer(method::bits56));
  ASSERT_TRUE(answer);
  mcs::connect_response response;
  response.user_data.server.core = gcc::server_core_data{gcc::rdp_version::rdp5_plus, 0, std::nullopt};
  response.user_data.server.security = *answer;
  response.user_data.server.network = gcc::server_network_data{};
  auto wire = mcs::encode(response);
  ASSERT_TRUE(wire) << wire.error().message();
  byte_buffer block = hex("02 0c 38 00 08 00 00 00 02 00 00 00 20 00 00 00 04 00 00 00");
  block.insert(block.end(), 32, 0x5A);
  block.insert(block.end(), {0x01, 0x02, 0x03, 0x04});
  const auto at = std::search(wire->begin(), wire->end(), block.begin(), block.end());
  ASSERT_NE(at, wire->end()) << "SC_SEC1 not found as expected";
  EXPECT_EQ(at + static_cast<std::ptrdiff_t>(block.size()), wire->end());  // the last block (core, network, security)
  auto back = mcs::decode_connect_response(*wire);
  ASSERT_TRUE(back) << back.error().message();
  ASSERT_TRUE(back->value.user_data.server.security);
  EXPECT_EQ(*back->value.user_data.server.security, *answer);
}

// ---- The proprietary certificate ----------------------------------------------------------------------------------

TEST(ProprietaryCertificate, XrdpsCaptureDecodesAndReencodesExactly) {
  const auto wire = hex(rdp::test::vectors::xrdp_certificate);
  ASSERT_EQ(wire.size(), 376u);
  auto cert = decode_proprietary_certificate(wire);
  ASSERT_TRUE(cert) << cert.error().message();
  EXPECT_EQ(cert->key.exponent, 65537u);
  EXPECT_EQ(cert->key.modulus.size(), 256u);
  EXPECT_EQ(cert->key.modulus.front(), 0x39);
  ASSERT_EQ(cert->signature.size(), 64u);
  EXPECT_EQ(cert->signature.front(), 0x1e);
  EXPECT_EQ(cert->signed_part, byte_buffer(wire.begin(), wire.begin() + 300));  // 16 + 284-byte key blob
  EXPECT_EQ(proprietary_certificate_signed_part(cert->key), cert->signed_part);
  std::array<std::uint8_t, 64> signature{};
  std::copy(cert->signature.begin(), cert->signature.end(), signature.begin());
  EXPECT_EQ(encode_proprietary_certificate(cert->key, signature), wire);
}

TEST(ProprietaryCertificate, A512BitKeyHasTheWindowsLayout) {
  rsa_public_key key{65537, byte_buffer(64, 0xC3)};
  std::array<std::uint8_t, 64> signature{};
  signature.fill(0x11);
  const auto wire = encode_proprietary_certificate(key, signature);
  // 2.2.1.4.3.1.1: 16 bytes of header, a 92-byte RSA1 blob (20 + 64 + 8), 4 bytes of signature header, 72 bytes.
  ASSERT_EQ(wire.size(), 184u);
  EXPECT_EQ(byte_buffer(wire.begin(), wire.begin() + 36),
            hex("01 00 00 00 01 00 00 00 01 00 00 00 06 00 5c 00 52 53 41 31 48 00 00 00 00 02 00 00 3f 00 00 00 "
                "01 00 01 00"));
  EXPECT_EQ(byte_buffer(wire.begin() + 100, wire.begin() + 112), hex("00 00 00 00 00 00 00 00 08 00 48 00"));
  auto back = decode_proprietary_certificate(wire);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->key, key);
  EXPECT_EQ(back->signature, byte_buffer(64, 0x11));
}

TEST(ProprietaryCertificate, SignatureInputIsTheSpecsPadding) {
  std::array<std::uint8_t, 16> md5{};
  std::iota(md5.begin(), md5.end(), std::uint8_t{1});
  const auto in = proprietary_certificate_signature_input(md5);
  // 5.3.3.1.2: the hash, 0x00, 45 bytes 0xFF, 0x01 (63 bytes), as a 64-byte little-endian number.
  EXPECT_TRUE(std::equal(md5.begin(), md5.end(), in.begin()));
  EXPECT_EQ(in[16], 0x00);
  EXPECT_TRUE(std::all_of(in.begin() + 17, in.begin() + 62, [](std::uint8_t b) { return b == 0xFF; }));
  EXPECT_EQ(in[62], 0x01);
  EXPECT_EQ(in[63], 0x00);
}

TEST(ProprietaryCertificate, MalformedCertificatesAreRefused) {
  const auto wire = hex(rdp::test::vectors::xrdp_certificate);
  for (std::size_t n = 0; n < wire.size(); ++n) {
    EXPECT_FALSE(decode_proprietary_certificate(bytes_view(wire).first(n))) << "prefix " << n;
  }
  auto bad_magic = wire;
  bad_magic[16] = 'X';
  EXPECT_EQ(decode_proprietary_certificate(bad_magic).error(), make_error_code(errc::value_out_of_range));
  auto x509 = wire;
  x509[0] = 0x02;  // CERT_CHAIN_VERSION_2: an X.509 chain, not this structure
  EXPECT_EQ(decode_proprietary_certificate(x509).error(), make_error_code(errc::value_out_of_range));
  auto longer = wire;
  longer.push_back(0);
  EXPECT_EQ(decode_proprietary_certificate(longer).error(), make_error_code(errc::trailing_bytes));
  auto temporary = wire;
  temporary[3] = 0x80;  // the temporary-certificate bit
  EXPECT_TRUE(decode_proprietary_certificate(temporary));
}

}  // namespace
