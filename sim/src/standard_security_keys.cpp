#include "rdp/sim/standard_security_keys.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <stdexcept>

namespace rdp::sim {
namespace {

namespace pc = protocol::proprietary_certificate;

// The Terminal Services signing key, MS-RDPBCGR 5.3.3.1.1, little-endian as the spec prints it. Microsoft published
// the private exponent so that servers can sign proprietary certificates: the signature proves nothing about who
// signed (anybody can), only that the certificate was not altered by accident.
constexpr std::array<std::uint8_t, 64> ts_modulus = {
    0x3d, 0x3a, 0x5e, 0xbd, 0x72, 0x43, 0x3e, 0xc9, 0x4d, 0xbb, 0xc1, 0x1e, 0x4a, 0xba, 0x5f, 0xcb,
    0x3e, 0x88, 0x20, 0x87, 0xef, 0xf5, 0xc1, 0xe2, 0xd7, 0xb7, 0x6b, 0x9a, 0xf2, 0x52, 0x45, 0x95,
    0xce, 0x63, 0x65, 0x6b, 0x58, 0x3a, 0xfe, 0xef, 0x7c, 0xe7, 0xbf, 0xfe, 0x3d, 0xf6, 0x5c, 0x7d,
    0x6c, 0x5e, 0x06, 0x09, 0x1a, 0xf5, 0x61, 0xbb, 0x20, 0x93, 0x09, 0x5f, 0x05, 0x6d, 0xea, 0x87};
constexpr std::array<std::uint8_t, 64> ts_private_exponent = {
    0x87, 0xa7, 0x19, 0x32, 0xda, 0x11, 0x87, 0x55, 0x58, 0x00, 0x16, 0x16, 0x25, 0x65, 0x68, 0xf8,
    0x24, 0x3e, 0xe6, 0xfa, 0xe9, 0x67, 0x49, 0x94, 0xcf, 0x92, 0xcc, 0x33, 0x99, 0xe8, 0x08, 0x60,
    0x17, 0x9a, 0x12, 0x9f, 0x24, 0xdd, 0xb1, 0x24, 0x99, 0xc7, 0x3a, 0xb8, 0x0a, 0x7b, 0x0d, 0xdd,
    0x35, 0x07, 0x79, 0x17, 0x0b, 0x51, 0x9b, 0xb3, 0xc7, 0x10, 0x01, 0x13, 0xe7, 0x3f, 0xf3, 0x5f};
constexpr std::array<std::uint8_t, 4> ts_public_exponent = {0x5b, 0x7b, 0x88, 0xc0};

struct bn_free {
  void operator()(BIGNUM* b) const noexcept { BN_clear_free(b); }
};
using bn_ptr = std::unique_ptr<BIGNUM, bn_free>;
struct ctx_free {
  void operator()(BN_CTX* c) const noexcept { BN_CTX_free(c); }
};
struct pkey_free {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};

[[noreturn]] void openssl_failed(const char* what) {
  throw std::runtime_error(std::string("rdpsim: OpenSSL failed to ") + what +
                           " (Standard RDP Security's proprietary certificate)");
}

bn_ptr from_le(protocol::bytes_view bytes) {
  bn_ptr out(BN_lebin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
  if (!out) openssl_failed("read a number");
  return out;
}

protocol::byte_buffer to_le(const BIGNUM* n, std::size_t size) {
  protocol::byte_buffer out(size);
  if (BN_bn2lebinpad(n, out.data(), static_cast<int>(size)) != static_cast<int>(size)) openssl_failed("write a number");
  return out;
}

std::array<std::uint8_t, 16> md5_of(protocol::bytes_view data) {
  std::array<std::uint8_t, 16> out{};
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &size, EVP_md5(), nullptr) != 1 || size != out.size())
    openssl_failed("compute MD5");
  return out;
}

// base^exponent mod modulus, all little-endian, the result 64 bytes.
protocol::byte_buffer mod_exp(protocol::bytes_view base, protocol::bytes_view exponent, protocol::bytes_view modulus) {
  std::unique_ptr<BN_CTX, ctx_free> ctx(BN_CTX_new());
  bn_ptr result(BN_new());
  if (!ctx || !result) openssl_failed("allocate");
  const auto b = from_le(base), e = from_le(exponent), m = from_le(modulus);
  if (BN_mod_exp(result.get(), b.get(), e.get(), m.get(), ctx.get()) != 1) openssl_failed("raise to a power");
  return to_le(result.get(), modulus.size());
}

bn_ptr rsa_param(const EVP_PKEY* key, const char* name) {
  BIGNUM* value = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &value) != 1) openssl_failed("read the RSA key");
  return bn_ptr(value);
}

}  // namespace

std::array<std::uint8_t, pc::signature_size> sign_with_terminal_services_key(protocol::bytes_view signed_part) {
  const auto input = protocol::proprietary_certificate_signature_input(md5_of(signed_part));
  const auto signature = mod_exp(input, ts_private_exponent, ts_modulus);
  std::array<std::uint8_t, pc::signature_size> out{};
  std::copy(signature.begin(), signature.end(), out.begin());
  return out;
}

bool verify_terminal_services_signature(protocol::bytes_view signed_part, protocol::bytes_view signature) {
  if (signature.size() != pc::signature_size) return false;
  const auto expected = protocol::proprietary_certificate_signature_input(md5_of(signed_part));
  const auto recovered = mod_exp(signature, ts_public_exponent, ts_modulus);
  return std::equal(expected.begin(), expected.end(), recovered.begin(), recovered.end());
}

proprietary_identity make_proprietary_identity() {
  // 512 bits: the proprietary certificate's key on Windows, and what clients expect of it (5.3.3.1: "the server
  // generates a 512-bit RSA key pair"); e = 65537, OpenSSL's default and Windows' too.
  std::unique_ptr<EVP_PKEY, pkey_free> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(512)));
  if (!key) openssl_failed("generate a 512-bit RSA key");
  const auto n = rsa_param(key.get(), OSSL_PKEY_PARAM_RSA_N);
  const auto e = rsa_param(key.get(), OSSL_PKEY_PARAM_RSA_E);
  const auto d = rsa_param(key.get(), OSSL_PKEY_PARAM_RSA_D);
  proprietary_identity out;
  out.public_key.modulus = to_le(n.get(), 64);
  out.public_key.exponent = static_cast<std::uint32_t>(BN_get_word(e.get()));
  out.private_exponent = to_le(d.get(), 64);
  const auto signed_part = protocol::proprietary_certificate_signed_part(out.public_key);
  out.certificate = protocol::encode_proprietary_certificate(out.public_key, sign_with_terminal_services_key(signed_part));
  return out;
}

std::array<std::uint8_t, 32> fresh_server_random() {
  std::array<std::uint8_t, 32> out{};
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1)
    throw std::runtime_error("RAND_bytes failed: no server random can be made");
  return out;
}

}  // namespace rdp::sim
