#pragma once
// rdpsim's Standard RDP Security identity (MS-RDPBCGR 5.3.3.1): a 512-bit RSA key pair of its own, made at start as
// a Windows host makes one, and the proprietary certificate carrying its public key, signed with the Terminal
// Services signing key that the spec publishes (5.3.3.1.1) — what a client such as FreeRDP verifies. OpenSSL does the
// RSA and MD5 (protocol/ may not link it); the certificate's layout is protocol/server_security.hpp's.
#include "rdp/protocol/server_security.hpp"

#include <array>
#include <cstdint>

namespace rdp::sim {

struct proprietary_identity {
  protocol::rsa_public_key public_key;           // modulus little-endian, 64 bytes; exponent 65537
  protocol::byte_buffer private_exponent;        // little-endian, 64 bytes: what an RC4 session would decrypt with
  protocol::byte_buffer certificate;             // the signed proprietary certificate (2.2.1.4.3.1.1)
};

// A fresh key pair and its signed certificate. Throws std::runtime_error if OpenSSL fails.
proprietary_identity make_proprietary_identity();

// The 64-byte little-endian signature of `signed_part` (5.3.3.1.2): MD5, padded, raised to the TS private exponent
// modulo the TS modulus.
std::array<std::uint8_t, protocol::proprietary_certificate::signature_size> sign_with_terminal_services_key(
    protocol::bytes_view signed_part);

// True when `signature` (little-endian, padding removed) over `signed_part` verifies with the published TS public key
// (e, n) the way a client checks it: raised to e modulo n, it gives back the padded MD5 of the signed part.
bool verify_terminal_services_signature(protocol::bytes_view signed_part, protocol::bytes_view signature);

// 32 bytes from OpenSSL's CSPRNG: one connection's serverRandom (2.2.1.4.3). Throws std::runtime_error if it fails.
std::array<std::uint8_t, 32> fresh_server_random();

}  // namespace rdp::sim
