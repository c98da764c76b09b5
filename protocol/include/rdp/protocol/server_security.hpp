#pragma once
// The server's side of Standard RDP Security's configuration (MS-RDPBCGR 5.3.2): which encryption method a server
// answers for the client's encryptionMethods (TS_UD_CS_SEC, 2.2.1.3.3) at its encryption level, and the Server
// Security Data it sends (TS_UD_SC_SEC1, 2.2.1.4.3) — method, level, server random and proprietary certificate
// (2.2.1.4.3.1.1). Pure: the server random and the signed certificate are inputs (protocol/ has no randomness and no
// RSA; rdpsim builds and signs the certificate with OpenSSL, sim/include/rdp/sim/standard_security_keys.hpp). The
// certificate's layout (the public key blob, the bytes that are signed, the signature's padding) is here, so the
// signer and the tests use one definition of it.
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/gcc.hpp"

#include <array>
#include <cstdint>
#include <optional>

namespace rdp::protocol {

// A server's Standard RDP Security settings: its encryption level ("Set client connection encryption level": None,
// Low, Client Compatible, High, FIPS Compliant) and the methods it allows (gcc::encryption_method bits).
struct standard_security_settings {
  std::uint32_t encryption_level = gcc::encryption_level::none;
  std::uint32_t methods = gcc::encryption_method::all;  // the level restricts them further (admitted_methods)
  // xrdp 0.9 answers the method its crypt_level implies whatever the client offered (docs/wire-vectors.md 4.4); a
  // Windows host chooses among the client's methods (5.3.2). True: the xrdp way.
  bool ignore_client_methods = false;
  // The signed proprietary certificate (2.2.1.4.3.1.1) sent as serverCertificate when the level is not None.
  byte_buffer server_certificate;
  friend bool operator==(const standard_security_settings&, const standard_security_settings&) = default;
};

// The settings plus this connection's 32-byte server random (2.2.1.4.3: serverRandom), an input of the machine.
struct standard_security_options {
  standard_security_settings settings;
  std::array<std::uint8_t, 32> server_random{};
  friend bool operator==(const standard_security_options&, const standard_security_options&) = default;
};

// The methods a client offers: encryptionMethods, or — for a French-locale client, which sends encryptionMethods 0 —
// extEncryptionMethods (2.2.1.3.3). A client that sent no TS_UD_CS_SEC offers nothing.
std::uint32_t offered_methods(const std::optional<gcc::client_security_data>& client) noexcept;

// The methods `level` admits of `allowed`, strongest first as a Windows host prefers them (5.3.1, 5.3.2):
//  - None: only ENCRYPTION_METHOD_NONE (returns 0).
//  - Low, Client Compatible: 128-bit, 56-bit, 40-bit RC4, then FIPS — the client's strongest RC4 method wins, and a
//    client that offers only FIPS gets FIPS (nmap's rdp-enum-encryption against Windows prints SUCCESS for each).
//  - High: 128-bit RC4, then FIPS ("128-bit or stronger"; nmap's published sample of a High host shows both).
//  - FIPS: only FIPS.
// An unknown level admits nothing.
std::uint32_t admitted_methods(std::uint32_t level, std::uint32_t allowed) noexcept;

// The one method the server answers: the first of `admitted_methods` (in that order of preference) that the client
// offered — or, with ignore_client_methods, the first whatever it offered. nullopt: no method in common, and the
// server ends the connection without a Connect-Response (Windows closes it; FreeRDP's server does the same: its
// gcc_write_server_security_data fails). 0 for level None.
std::optional<std::uint32_t> choose_encryption_method(const standard_security_settings& settings,
                                                      std::uint32_t offered) noexcept;

// The TS_UD_SC_SEC1 the server sends for a Connect-Initial carrying `client`: level None gives method and level 0
// and neither random nor certificate (what a TLS/CredSSP server sends too); any other level gives the chosen method,
// the level, the 32-byte server random and the certificate. nullopt: no method in common (see above).
std::optional<gcc::server_security_data> answer_standard_security(
    const standard_security_options& options, const std::optional<gcc::client_security_data>& client);

// ---- The proprietary certificate (2.2.1.4.3.1.1, 5.3.3.1) ----------------------------------------------------------

namespace proprietary_certificate {
inline constexpr std::uint32_t cert_chain_version_1 = 0x00000001;  // dwVersion (no temporary bit)
inline constexpr std::uint32_t signature_alg_rsa = 0x00000001;     // dwSigAlgId
inline constexpr std::uint32_t key_exchange_alg_rsa = 0x00000001;  // dwKeyAlgId
inline constexpr std::uint16_t bb_rsa_key_blob = 0x0006;           // wPublicKeyBlobType
inline constexpr std::uint16_t bb_rsa_signature_blob = 0x0008;     // wSignatureBlobType
inline constexpr std::uint32_t rsa1_magic = 0x31415352;            // RSA_PUBLIC_KEY.magic, "RSA1"
inline constexpr std::size_t signature_size = 64;                  // the TS signing key's modulus is 512 bits
inline constexpr std::size_t blob_padding = 8;                     // zero bytes after a modulus or signature
}  // namespace proprietary_certificate

// An RSA public key as RSA_PUBLIC_KEY carries it (2.2.1.4.3.1.1.1): the modulus little-endian, without padding.
struct rsa_public_key {
  std::uint32_t exponent = 0;
  byte_buffer modulus;  // little-endian, bitlen / 8 bytes
  friend bool operator==(const rsa_public_key&, const rsa_public_key&) = default;
};

// RSA_PUBLIC_KEY: magic, keylen (modulus + 8 padding bytes), bitlen, datalen (bitlen / 8 - 1), pubExp, modulus and
// its 8 zero bytes.
byte_buffer encode_rsa_public_key_blob(const rsa_public_key& key);

// What the signature covers (5.3.3.1.1): dwVersion, dwSigAlgId, dwKeyAlgId, wPublicKeyBlobType, wPublicKeyBlobLen
// and PublicKeyBlob, as they stand at the start of the certificate.
byte_buffer proprietary_certificate_signed_part(const rsa_public_key& key);

// The 64-byte little-endian number the TS private key "encrypts" to sign (5.3.3.1.2): the 16-byte MD5 hash of the
// signed part, 0x00, 45 bytes 0xFF, 0x01, and a last 0x00 (the 63 bytes of the spec, as a 64-byte number).
std::array<std::uint8_t, 64> proprietary_certificate_signature_input(const std::array<std::uint8_t, 16>& md5) noexcept;

// The whole certificate: the signed part, wSignatureBlobType, wSignatureBlobLen (72) and the 64-byte signature
// (little-endian) followed by 8 zero bytes.
byte_buffer encode_proprietary_certificate(const rsa_public_key& key,
                                           const std::array<std::uint8_t, proprietary_certificate::signature_size>& signature);

// A proprietary certificate read back: its key, its signature (without the padding) and the bytes it signs.
struct decoded_proprietary_certificate {
  rsa_public_key key;
  byte_buffer signature;    // little-endian, padding removed
  byte_buffer signed_part;  // the bytes the signature covers
};
// Reads a proprietary certificate (dwVersion 1, with or without the temporary bit). Errors: truncated for a short
// certificate or blob, value_out_of_range for a wrong type, magic or length, trailing_bytes for bytes after it.
boost::system::result<decoded_proprietary_certificate> decode_proprietary_certificate(bytes_view certificate);

}  // namespace rdp::protocol
