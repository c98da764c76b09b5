// rdpsim's proprietary certificate (sim/standard_security_keys.hpp): a fresh 512-bit key, laid out as
// MS-RDPBCGR 2.2.1.4.3.1.1 says, and signed so that the published Terminal Services public key (5.3.3.1.1) verifies
// it — checked here with OpenSSL directly from the spec's (e, n), independently of the signer, and against the
// signature of a real xrdp's certificate (docs/wire-vectors.md 4.3).
#include "rdp/protocol/server_security.hpp"
#include "rdp/sim/standard_security_keys.hpp"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/evp.h>

#include <memory>
#include <string>

namespace {

using namespace rdp;
using protocol::byte_buffer;

byte_buffer from_hex(const std::string& text) {
  byte_buffer out;
  for (std::size_t i = 0; i + 1 < text.size();) {
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    out.push_back(static_cast<std::uint8_t>(std::stoul(text.substr(i, 2), nullptr, 16)));
    i += 2;
  }
  return out;
}

// The TS public key, MS-RDPBCGR 5.3.3.1.1, little-endian as printed there.
const byte_buffer ts_n = from_hex(
    "3d 3a 5e bd 72 43 3e c9 4d bb c1 1e 4a ba 5f cb 3e 88 20 87 ef f5 c1 e2 d7 b7 6b 9a f2 52 45 95 "
    "ce 63 65 6b 58 3a fe ef 7c e7 bf fe 3d f6 5c 7d 6c 5e 06 09 1a f5 61 bb 20 93 09 5f 05 6d ea 87");
const byte_buffer ts_e = from_hex("5b 7b 88 c0");

// What a client does (5.3.3.1.2): signature^e mod n, little-endian, must be the padded MD5 of the signed part.
bool client_verifies(const byte_buffer& signed_part, const byte_buffer& signature) {
  std::unique_ptr<BN_CTX, decltype(&BN_CTX_free)> ctx(BN_CTX_new(), BN_CTX_free);
  auto bn = [](const byte_buffer& b) {
    return std::unique_ptr<BIGNUM, decltype(&BN_free)>(BN_lebin2bn(b.data(), static_cast<int>(b.size()), nullptr),
                                                       BN_free);
  };
  auto s = bn(signature), e = bn(ts_e), n = bn(ts_n);
  std::unique_ptr<BIGNUM, decltype(&BN_free)> m(BN_new(), BN_free);
  if (BN_mod_exp(m.get(), s.get(), e.get(), n.get(), ctx.get()) != 1) return false;
  byte_buffer recovered(64);
  BN_bn2lebinpad(m.get(), recovered.data(), 64);
  std::array<std::uint8_t, 16> md5{};
  unsigned int len = 0;
  EVP_Digest(signed_part.data(), signed_part.size(), md5.data(), &len, EVP_md5(), nullptr);
  const auto expected = protocol::proprietary_certificate_signature_input(md5);
  return std::equal(expected.begin(), expected.end(), recovered.begin());
}

TEST(ProprietaryIdentity, IsA512BitKeySignedWithTheTerminalServicesKey) {
  const auto id = sim::make_proprietary_identity();
  EXPECT_EQ(id.public_key.exponent, 65537u);
  ASSERT_EQ(id.public_key.modulus.size(), 64u);
  EXPECT_GE(id.public_key.modulus.back(), 0x80);  // exactly 512 bits: the top bit is set
  EXPECT_EQ(id.private_exponent.size(), 64u);
  auto cert = protocol::decode_proprietary_certificate(id.certificate);
  ASSERT_TRUE(cert) << cert.error().message();
  EXPECT_EQ(id.certificate.size(), 184u);
  EXPECT_EQ(cert->key, id.public_key);
  EXPECT_TRUE(client_verifies(cert->signed_part, cert->signature));
  EXPECT_TRUE(sim::verify_terminal_services_signature(cert->signed_part, cert->signature));
  // A changed byte breaks it, as a client would notice.
  auto tampered = cert->signed_part;
  tampered[40] ^= 0x01;
  EXPECT_FALSE(client_verifies(tampered, cert->signature));
  EXPECT_FALSE(sim::verify_terminal_services_signature(tampered, cert->signature));
}

TEST(ProprietaryIdentity, EachServerStartMakesANewKey) {
  EXPECT_NE(sim::make_proprietary_identity().public_key, sim::make_proprietary_identity().public_key);
}

TEST(ProprietaryIdentity, TheKeyPairWorks) {
  // What an RC4 session would need: the client encrypts its random with (e, n), the server decrypts with d.
  const auto id = sim::make_proprietary_identity();
  std::unique_ptr<BN_CTX, decltype(&BN_CTX_free)> ctx(BN_CTX_new(), BN_CTX_free);
  auto bn = [](const byte_buffer& b) {
    return std::unique_ptr<BIGNUM, decltype(&BN_free)>(BN_lebin2bn(b.data(), static_cast<int>(b.size()), nullptr),
                                                       BN_free);
  };
  const byte_buffer message(32, 0x42);
  byte_buffer e_bytes = {0x01, 0x00, 0x01};
  auto m = bn(message), e = bn(e_bytes), n = bn(id.public_key.modulus), d = bn(id.private_exponent);
  std::unique_ptr<BIGNUM, decltype(&BN_free)> c(BN_new(), BN_free), back(BN_new(), BN_free);
  ASSERT_EQ(BN_mod_exp(c.get(), m.get(), e.get(), n.get(), ctx.get()), 1);
  ASSERT_EQ(BN_mod_exp(back.get(), c.get(), d.get(), n.get(), ctx.get()), 1);
  EXPECT_EQ(BN_cmp(back.get(), m.get()), 0);
}

// xrdp 0.9.21.1's certificate from XRDP-MCS-RSP-RDP-HIGH (docs/wire-vectors.md 4.3): its signature, made by xrdp's
// own signer, verifies the same way — the padding and byte order here are the ones real peers use.
TEST(ProprietaryIdentity, XrdpsCapturedSignatureVerifiesTheSameWay) {
  const auto wire = from_hex(
      "01 00 00 00 01 00 00 00 01 00 00 00 06 00 1c 01 52 53 41 31 08 01 00 00 00 08 00 00 ff 00 00 00 01 00 01 00 "
      "39 7b 9f 33 c8 cc f1 43 31 8d 78 dc 21 39 69 d6 ef 9e 6a 47 49 b0 87 5b 66 68 90 c5 9e 7b d4 34 b7 c9 6f c1 "
      "b3 3f a9 71 30 68 81 6f ee 0f cb ad e0 13 0b 52 80 f5 1c b6 25 01 68 0c 74 3c 40 a4 5d 92 db 62 71 16 f6 3d "
      "0d ec 3e 9d 3a 07 9a 74 a2 d1 88 e4 dd 84 11 ac 79 cc be cf c5 38 a2 55 51 16 19 70 7b 41 61 42 e6 d8 b3 7d "
      "23 01 5b df ad 3e c5 7e f9 3b 76 c7 c0 48 14 21 c4 6d 5d 45 bf 6f a3 c0 75 c3 3c 4d 25 fe 24 f4 50 1c 51 11 "
      "99 f1 1b 49 bd d6 c5 97 c0 44 b0 f0 4d 22 ab dc fa ed 53 b3 72 b8 99 41 45 36 1a 9c b0 f4 75 eb bc dc 22 6c "
      "ef 3b b3 7a 5b 73 f8 c4 0f 57 6d b9 9a 0c 11 72 9a 9d 54 22 6c 89 81 1a 16 37 12 76 de 5f a8 70 2e bb 3e 9d "
      "45 6d 5a 35 f5 76 b3 93 17 75 53 8f 79 b9 aa f2 e9 48 d2 61 19 ea df 73 7a 1f 0d 9f 0e 61 5f 6d 55 14 83 8a "
      "d9 5d 5f e2 00 00 00 00 00 00 00 00 08 00 48 00 1e 24 0c 03 26 51 1e aa 53 78 01 33 aa af 82 0b c2 a5 2f cf "
      "29 65 fb 27 0b 5d 28 84 50 4e 6a d1 8f 84 ba 9c 4d 20 27 ae 26 4f d9 b2 0a 29 29 5b 9d 3b 9e 01 60 34 53 f3 "
      "96 28 6e 6e 05 10 28 0e 00 00 00 00 00 00 00 00");
  auto cert = protocol::decode_proprietary_certificate(wire);
  ASSERT_TRUE(cert) << cert.error().message();
  EXPECT_TRUE(client_verifies(cert->signed_part, cert->signature));
  EXPECT_TRUE(sim::verify_terminal_services_signature(cert->signed_part, cert->signature));
}

}  // namespace
