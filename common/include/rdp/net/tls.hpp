#pragma once
// TLS for both tools: contexts, a self-signed identity generated at start, and the facts a probe reports about
// a server's TLS (version, cipher, group, certificate).
#include "rdp/net/asio.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rdp::net {

enum class key_kind { rsa, ecdsa };

struct tls_identity {
  std::string certificate_pem;
  std::string private_key_pem;
};

// A fresh key (RSA 2048 or ECDSA P-256) and a self-signed SHA-256 certificate for `common_name`, with the name
// also as a subjectAltName (IP: for an address literal, else DNS:). Throws std::runtime_error if OpenSSL fails (a start-up error, not bad input).
tls_identity make_self_signed(key_kind kind, std::string_view common_name, int valid_days = 365);
// Reads PEM files; throws std::runtime_error naming the file that could not be read or parsed.
tls_identity load_identity(const std::string& certificate_path, const std::string& private_key_path);

ssl::context make_server_context(const tls_identity& identity);
// A probe's client context: the handshake never fails on the certificate (the probe reports what it sees rather
// than refusing it) and every protocol version OpenSSL still has (TLS 1.0 upwards, security level 0), so old
// servers are seen as they are. The chain is still verified — against `ca_file` (PEM) or, when empty, the system
// store — and the outcome read afterwards with verify_peer(). Throws std::runtime_error naming an unreadable CA file.
ssl::context make_client_context(const std::string& ca_file = {});

// Before the handshake: send SNI (for names) and make OpenSSL check the certificate against `name` (DNS name or
// IP address literal) as part of its chain verification.
void prepare_verification(SSL* ssl, const std::string& name);

struct verification_result {
  bool trusted = false;       // chain verified to a trusted root and the name matched
  std::string error;          // OpenSSL's reason when not trusted, e.g. "self-signed certificate"
  std::string name;           // the name checked
};
verification_result verify_peer(const SSL* ssl, const std::string& name);

struct certificate_facts {
  std::string subject;
  std::string issuer;
  std::vector<std::string> subject_alt_names;  // "DNS:host", "IP:127.0.0.1"
  std::string not_before;                      // ISO 8601 UTC
  std::string not_after;
  std::int64_t days_left = 0;                  // negative once expired
  std::string key_type;                        // "RSA", "EC", …
  int key_bits = 0;
  std::string signature_algorithm;             // "sha256WithRSAEncryption"
  std::string sha256;                          // lowercase hex of the DER, no separators
  bool self_signed = false;
};

struct tls_facts {
  std::string version;  // "TLSv1.3"
  std::string cipher;   // "TLS_AES_256_GCM_SHA384"
  std::string group;    // key exchange group, e.g. "x25519"; empty when OpenSSL cannot tell
  std::optional<certificate_facts> certificate;
  std::optional<verification_result> verification;
  std::string trust_store;  // "system" or the --ca file
};

tls_facts collect_tls_facts(const SSL* ssl);
certificate_facts describe_certificate(X509* certificate);
// SHA-256 of a PEM certificate's DER, lowercase hex; throws std::runtime_error on a bad PEM.
std::string certificate_sha256(std::string_view certificate_pem);

}  // namespace rdp::net
