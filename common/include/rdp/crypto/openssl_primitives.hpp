#pragma once
// protocol::crypto::primitives on OpenSSL 3. MD4 and RC4 live in OpenSSL 3's legacy provider, which is not loaded by
// default; this implementation loads it (with the default provider) into a library context of its own, so the
// process-wide default context — the one TLS uses — is left exactly as it was. winpr does the same for FreeRDP, but
// in the default context (shared/FREERDP.md 4).
#include "rdp/protocol/crypto.hpp"

namespace rdp::crypto {

// The one instance. Throws std::runtime_error naming the missing piece on first use when OpenSSL's legacy provider
// cannot be loaded (Debian 12's libssl3 ships it as ossl-modules/legacy.so).
const protocol::crypto::primitives& openssl_primitives();

// Random bytes from OpenSSL's CSPRNG (RAND_bytes): NTLM client challenges, session keys, CredSSP nonces.
void random_bytes(std::uint8_t* out, std::size_t n);
template <std::size_t N>
std::array<std::uint8_t, N> random_array() {
  std::array<std::uint8_t, N> out{};
  random_bytes(out.data(), N);
  return out;
}

}  // namespace rdp::crypto
