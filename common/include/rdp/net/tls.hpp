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
  std::string certificate_pem;  // the certificate, optionally followed by its issuers: the chain a server sends
  std::string private_key_pem;  // the first certificate's key
};

// A fresh key (RSA 2048 or ECDSA P-256) and a self-signed SHA-256 certificate for `common_name`, with the name
// also as a subjectAltName (IP: for an address literal, else DNS:). Throws std::runtime_error if OpenSSL fails (a start-up error, not bad input).
tls_identity make_self_signed(key_kind kind, std::string_view common_name, int valid_days = 365);
// make_self_signed with more subjectAltNames after the name's own: each a dNSName holding exactly these bytes, not
// checked or converted (for tests of what a probe does with a hostile certificate, e.g. "a\xff\x1b]0;pwn\a").
tls_identity make_self_signed(key_kind kind, std::string_view common_name, int valid_days,
                              const std::vector<std::string>& extra_dns_names);
// A certificate authority for tests and labs: a fresh key and a self-signed certificate for `common_name` with
// basicConstraints CA:TRUE and keyUsage keyCertSign/cRLSign. Throws std::runtime_error if OpenSSL fails.
tls_identity make_certificate_authority(key_kind kind, std::string_view common_name, int valid_days = 3650);
// A fresh key and a certificate for `common_name` (also its subjectAltName, as make_self_signed) signed by the first
// certificate and the key of `issuer`. The result's certificate_pem is the chain a server sends: the new certificate,
// then all of issuer.certificate_pem. Throws std::runtime_error if OpenSSL fails or `issuer` does not parse.
tls_identity make_issued(const tls_identity& issuer, key_kind kind, std::string_view common_name, int valid_days = 365);
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
  // Subjects of the chain OpenSSL built, leaf first, up to the trust anchor when it found one (which may come from
  // the trust store rather than from the server); as far as it got when verification failed.
  std::vector<std::string> built_chain;
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
  std::optional<certificate_facts> certificate;  // the leaf (the server's own certificate)
  std::vector<certificate_facts> chain;          // every certificate the server sent, in its order: leaf first
  std::optional<verification_result> verification;
  std::string trust_store;  // "system" or the --ca file
};

tls_facts collect_tls_facts(const SSL* ssl);
certificate_facts describe_certificate(X509* certificate);
// SHA-256 of a PEM certificate's DER, lowercase hex; throws std::runtime_error on a bad PEM.
std::string certificate_sha256(std::string_view certificate_pem);
// The SubjectPublicKey of a certificate (the BIT STRING content of its SubjectPublicKeyInfo: PKCS#1 RSAPublicKey for
// RSA, the EC point for ECDSA), what CredSSP binds to (MS-CSSP 3.1.5) — as FreeRDP's crypto_cert_get_public_key
// gives it (i2d_PublicKey). Empty when the certificate has no key OpenSSL can write.
std::vector<std::uint8_t> subject_public_key(X509* certificate);
// The same for the first certificate of an identity (a server's own key). Throws std::runtime_error when the PEM
// does not parse (a start-up error).
std::vector<std::uint8_t> subject_public_key(const tls_identity& identity);

}  // namespace rdp::net
