// rdpsim's proprietary certificate (sim/standard_security_keys.hpp): a fresh 512-bit key, laid out as
// MS-RDPBCGR 2.2.1.4.3.1.1 says, and signed so that the published Terminal Services public key (5.3.3.1.1) verifies
// it — checked here with OpenSSL directly from the spec's (e, n), independently of the signer, and against the
// signature of a real xrdp's certificate (docs/wire-vectors.md 4.3).
#include "rdp/protocol/server_security.hpp"
#include "rdp/sim/standard_security_keys.hpp"

#include "captured_vectors.hpp"
#include "hex.hpp"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/evp.h>

#include <memory>
#include <string>

namespace {

using namespace rdp;
using protocol::byte_buffer;

using test::hex;

// The TS public key, MS-RDPBCGR 5.3.3.1.1, little-endian as printed there.
const byte_buffer ts_n = hex(
    "3d 3a 5e bd 72 43 3e c9 4d bb c1 1e 4a ba 5f cb 3e 88 20 87 ef f5 c1 e2 d7 b7 6b 9a f2 52 45 95 "
    "ce 63 65 6b 58 3a fe ef 7c e7 bf fe 3d f6 5c 7d 6c 5e 06 09 1a f5 61 bb 20 93 09 5f 05 6d ea 87");
const byte_buffer ts_e = hex("5b 7b 88 c0");

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
  const auto wire = hex(test::vectors::xrdp_certificate);
  auto cert = protocol::decode_proprietary_certificate(wire);
  ASSERT_TRUE(cert) << cert.error().message();
  EXPECT_TRUE(client_verifies(cert->signed_part, cert->signature));
  EXPECT_TRUE(sim::verify_terminal_services_signature(cert->signed_part, cert->signature));
}

}  // namespace
