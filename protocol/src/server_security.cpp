#include "rdp/protocol/server_security.hpp"

#include "rdp/protocol/errc.hpp"

#include <algorithm>

namespace rdp::protocol {

namespace method = gcc::encryption_method;
namespace level = gcc::encryption_level;
namespace pc = proprietary_certificate;

std::uint32_t offered_methods(const std::optional<gcc::client_security_data>& client) noexcept {
  if (!client) return 0;
  // 2.2.1.3.3: "In French locale clients, encryptionMethods MUST be set to 0 and extEncryptionMethods MUST be set to
  // the value to which encryptionMethods would have been set."
  return client->encryption_methods != 0 ? client->encryption_methods : client->ext_encryption_methods;
}

namespace {

// Preference order, strongest first (5.3.2 gives no order; this is what Windows answers: the client's strongest
// RC4 method, FIPS only when nothing else is in common — FreeRDP's server, written against Windows, uses it too).
constexpr std::array<std::uint32_t, 4> preference = {method::bits128, method::bits56, method::bits40, method::fips};

std::uint32_t level_mask(std::uint32_t l) noexcept {
  switch (l) {
    case level::low:
    case level::client_compatible: return method::all;
    case level::high: return method::bits128 | method::fips;
    case level::fips: return method::fips;
    default: return 0;  // None (no encryption) and unknown levels
  }
}

}  // namespace

std::uint32_t admitted_methods(std::uint32_t l, std::uint32_t allowed) noexcept { return level_mask(l) & allowed; }

std::optional<std::uint32_t> choose_encryption_method(const standard_security_settings& settings,
                                                      std::uint32_t offered) noexcept {
  if (settings.encryption_level == level::none) return method::none;
  const auto admitted = admitted_methods(settings.encryption_level, settings.methods);
  for (const auto m : preference) {
    if ((admitted & m) == 0) continue;
    if (settings.ignore_client_methods || (offered & m) != 0) return m;
  }
  return std::nullopt;
}

std::optional<gcc::server_security_data> answer_standard_security(
    const standard_security_options& options, const std::optional<gcc::client_security_data>& client) {
  const auto& s = options.settings;
  const auto chosen = choose_encryption_method(s, offered_methods(client));
  if (!chosen) return std::nullopt;
  gcc::server_security_data out;
  if (s.encryption_level == level::none) return out;  // method and level 0, no random, no certificate (2.2.1.4.3)
  out.encryption_method = *chosen;
  out.encryption_level = s.encryption_level;
  out.keys = gcc::server_keys{byte_buffer(options.server_random.begin(), options.server_random.end()),
                              s.server_certificate};
  return out;
}

// ---- The proprietary certificate ----------------------------------------------------------------------------------

byte_buffer encode_rsa_public_key_blob(const rsa_public_key& key) {
  byte_buffer out;
  byte_writer w(out);
  const auto bytes = static_cast<std::uint32_t>(key.modulus.size());
  w.u32le(pc::rsa1_magic);
  w.u32le(bytes + static_cast<std::uint32_t>(pc::blob_padding));  // keylen: "(bitlen / 8) + 8"
  w.u32le(bytes * 8);                                              // bitlen
  w.u32le(bytes == 0 ? 0 : bytes - 1);                             // datalen: "(bitlen / 8) - 1"
  w.u32le(key.exponent);
  w.bytes(key.modulus);
  for (std::size_t i = 0; i < pc::blob_padding; ++i) w.u8(0);
  return out;
}

byte_buffer proprietary_certificate_signed_part(const rsa_public_key& key) {
  const auto blob = encode_rsa_public_key_blob(key);
  byte_buffer out;
  byte_writer w(out);
  w.u32le(pc::cert_chain_version_1);
  w.u32le(pc::signature_alg_rsa);
  w.u32le(pc::key_exchange_alg_rsa);
  w.u16le(pc::bb_rsa_key_blob);
  w.u16le(static_cast<std::uint16_t>(blob.size()));
  w.bytes(blob);
  return out;
}

std::array<std::uint8_t, 64> proprietary_certificate_signature_input(const std::array<std::uint8_t, 16>& md5) noexcept {
  std::array<std::uint8_t, 64> out{};
  std::copy(md5.begin(), md5.end(), out.begin());
  out[16] = 0x00;
  std::fill(out.begin() + 17, out.begin() + 62, std::uint8_t{0xFF});  // 45 bytes
  out[62] = 0x01;
  out[63] = 0x00;
  return out;
}

byte_buffer encode_proprietary_certificate(const rsa_public_key& key,
                                           const std::array<std::uint8_t, pc::signature_size>& signature) {
  auto out = proprietary_certificate_signed_part(key);
  byte_writer w(out);
  w.u16le(pc::bb_rsa_signature_blob);
  w.u16le(static_cast<std::uint16_t>(signature.size() + pc::blob_padding));
  w.bytes(signature);
  for (std::size_t i = 0; i < pc::blob_padding; ++i) w.u8(0);
  return out;
}

boost::system::result<decoded_proprietary_certificate> decode_proprietary_certificate(bytes_view certificate) {
  const auto bad = make_error_code(errc::value_out_of_range);
  const auto truncated = make_error_code(errc::truncated);
  byte_reader r(certificate);
  std::uint32_t version = 0, sig_alg = 0, key_alg = 0;
  std::uint16_t blob_type = 0, blob_len = 0;
  if (!r.u32le(version) || !r.u32le(sig_alg) || !r.u32le(key_alg) || !r.u16le(blob_type) || !r.u16le(blob_len))
    return truncated;
  // dwVersion: CERT_CHAIN_VERSION_1 in the low 31 bits; the top bit only says the certificate is temporary.
  if ((version & 0x7FFFFFFF) != pc::cert_chain_version_1 || sig_alg != pc::signature_alg_rsa ||
      key_alg != pc::key_exchange_alg_rsa || blob_type != pc::bb_rsa_key_blob)
    return bad;
  bytes_view blob;
  if (!r.bytes(blob_len, blob)) return truncated;
  decoded_proprietary_certificate out;
  out.signed_part.assign(certificate.begin(), certificate.begin() + static_cast<std::ptrdiff_t>(r.position()));

  byte_reader k(blob);
  std::uint32_t magic = 0, keylen = 0, bitlen = 0, datalen = 0;
  if (!k.u32le(magic) || !k.u32le(keylen) || !k.u32le(bitlen) || !k.u32le(datalen) || !k.u32le(out.key.exponent))
    return truncated;
  if (magic != pc::rsa1_magic || bitlen % 8 != 0 || keylen != bitlen / 8 + pc::blob_padding) return bad;
  bytes_view modulus;
  if (!k.bytes(keylen, modulus)) return truncated;
  if (!k.empty()) return bad;
  out.key.modulus.assign(modulus.begin(), modulus.begin() + static_cast<std::ptrdiff_t>(bitlen / 8));

  std::uint16_t sig_type = 0, sig_len = 0;
  if (!r.u16le(sig_type) || !r.u16le(sig_len)) return truncated;
  if (sig_type != pc::bb_rsa_signature_blob || sig_len < pc::blob_padding) return bad;
  bytes_view signature;
  if (!r.bytes(sig_len, signature)) return truncated;
  if (!r.empty()) return make_error_code(errc::trailing_bytes);
  out.signature.assign(signature.begin(), signature.end() - static_cast<std::ptrdiff_t>(pc::blob_padding));
  return out;
}

}  // namespace rdp::protocol
