#pragma once
// The hash and cipher primitives NTLM and CredSSP need (MS-NLMP 3.3.2, 3.4; MS-CSSP 3.1.5), as an interface the
// pure library calls and the I/O layers implement (common/: rdp/crypto/openssl_primitives.hpp, OpenSSL 3 with its
// legacy provider for MD4 and RC4). protocol/ links no crypto library (STYLE.md 1), and nothing here is hand-written
// crypto: the interface only names what the protocol code asks for.
#include "rdp/protocol/bytes.hpp"

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>

namespace rdp::protocol::crypto {

using digest16 = std::array<std::uint8_t, 16>;  // MD4, MD5, HMAC-MD5
using digest32 = std::array<std::uint8_t, 32>;  // SHA-256

// One RC4 keystream (MS-NLMP 3.4.3: a connection-oriented NTLM session keeps one per direction for its lifetime).
class rc4_stream {
 public:
  virtual ~rc4_stream() = default;
  // XORs the next in.size() keystream bytes into `in`, writing to `out` (which may be in.data(); out has in.size()).
  virtual void apply(bytes_view in, std::uint8_t* out) = 0;
  byte_buffer apply(bytes_view in) {
    byte_buffer out(in.size());
    apply(in, out.data());
    return out;
  }
};

// Multi-part inputs are hashed as their concatenation.
class primitives {
 public:
  virtual ~primitives() = default;
  virtual digest16 md4(bytes_view data) const = 0;
  virtual digest16 md5(std::initializer_list<bytes_view> parts) const = 0;
  virtual digest16 hmac_md5(bytes_view key, std::initializer_list<bytes_view> parts) const = 0;
  virtual digest32 sha256(std::initializer_list<bytes_view> parts) const = 0;
  virtual std::unique_ptr<rc4_stream> rc4(bytes_view key) const = 0;
};

}  // namespace rdp::protocol::crypto
