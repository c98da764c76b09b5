#include "rdp/net/tls.hpp"

#include "rdp/net/local_file.hpp"
#include "rdp/protocol/hex.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>
#include <stdexcept>

namespace rdp::net {
namespace {

template <class T, void (*Free)(T*)>
struct openssl_deleter {
  void operator()(T* p) const noexcept { Free(p); }
};
using bio_ptr = std::unique_ptr<BIO, openssl_deleter<BIO, BIO_free_all>>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, openssl_deleter<X509, X509_free>>;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("TLS: " + what); }

std::string bio_to_string(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string x509_name(const X509_NAME* name) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  return bio_to_string(bio.get());
}

std::string iso8601(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return {};
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A PEM file of a certificate chain, a key or CA certificates: a few KiB; 1 MiB holds hundreds of certificates.
constexpr std::size_t max_pem_file_bytes = 1 << 20;

std::string read_pem_file(const std::string& path, const char* what) {
  std::string why;
  auto text = read_regular_file(path, max_pem_file_bytes, std::string("a ") + what + " file", why);
  if (!text) fail("cannot read " + std::string(what) + " file '" + path + "': " + why);
  return std::move(*text);
}

x509_ptr parse_certificate(std::string_view pem) {
  bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  x509_ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) fail("not a PEM certificate");
  return cert;
}

}  // namespace

namespace {

pkey_ptr new_key(key_kind kind) {
  pkey_ptr key(kind == key_kind::rsa ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048})
                                     : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) fail("key generation failed");
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) fail("cannot make the certificate extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// One certificate for `key`: self-signed when `issuer_cert` is null, else signed by it and `issuer_key`.
// A leaf carries `common_name` as its subjectAltName (IP: for an address literal, else DNS:); a CA carries
// basicConstraints CA:TRUE and keyUsage keyCertSign/cRLSign instead.
x509_ptr build_certificate(EVP_PKEY* key, std::string_view common_name, int valid_days, X509* issuer_cert,
                           EVP_PKEY* issuer_key, bool certificate_authority) {
  x509_ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7F;  // a positive serial number (RFC 5280 4.1.2.2)
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);  // an hour of slack for skewed clocks
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(valid_days) * 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  const std::string cn(common_name);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer_cert ? X509_get_subject_name(issuer_cert) : name);
  X509* signer = issuer_cert ? issuer_cert : cert.get();
  if (certificate_authority) {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
  } else {
    boost::system::error_code not_ip;
    asio::ip::make_address(cn, not_ip);
    add_extension(cert.get(), signer, NID_subject_alt_name, (not_ip ? "DNS:" : "IP:") + cn);
  }
  if (issuer_cert) add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  if (X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) == 0) fail("signing the certificate failed");
  return cert;
}

tls_identity identity_of(X509* cert, EVP_PKEY* key) {
  tls_identity id;
  bio_ptr cert_bio(BIO_new(BIO_s_mem())), key_bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(cert_bio.get(), cert);
  PEM_write_bio_PrivateKey(key_bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  id.certificate_pem = bio_to_string(cert_bio.get());
  id.private_key_pem = bio_to_string(key_bio.get());
  return id;
}

}  // namespace

tls_identity make_self_signed(key_kind kind, std::string_view common_name, int valid_days) {
  auto key = new_key(kind);
  auto cert = build_certificate(key.get(), common_name, valid_days, nullptr, nullptr, false);
  return identity_of(cert.get(), key.get());
}

tls_identity make_self_signed(key_kind kind, std::string_view common_name, int valid_days,
                              const std::vector<std::string>& extra_dns_names) {
  auto key = new_key(kind);
  x509_ptr cert(X509_new());
  {
    // build_certificate's certificate, re-made with the extra names in its subjectAltName: the extension is built
    // from GENERAL_NAMEs, not from a config string, so that any byte (a comma, a NUL, 0xFF) goes in as it is.
    auto plain = build_certificate(key.get(), common_name, valid_days, nullptr, nullptr, false);
    cert.reset(X509_dup(plain.get()));
  }
  if (!cert) fail("cannot copy the certificate");
  GENERAL_NAMES* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  if (!names) fail("the certificate has no subjectAltName");
  for (const auto& raw : extra_dns_names) {
    GENERAL_NAME* name = GENERAL_NAME_new();
    ASN1_IA5STRING* text = ASN1_IA5STRING_new();
    if (!name || !text || ASN1_STRING_set(text, raw.data(), static_cast<int>(raw.size())) != 1) {
      GENERAL_NAME_free(name);
      ASN1_IA5STRING_free(text);
      GENERAL_NAMES_free(names);
      fail("cannot make a subjectAltName");
    }
    GENERAL_NAME_set0_value(name, GEN_DNS, text);
    sk_GENERAL_NAME_push(names, name);
  }
  const int replaced = X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names, 0, X509V3_ADD_REPLACE);
  GENERAL_NAMES_free(names);
  if (replaced != 1) fail("cannot replace the subjectAltName");
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) fail("signing the certificate failed");
  return identity_of(cert.get(), key.get());
}

tls_identity make_certificate_authority(key_kind kind, std::string_view common_name, int valid_days) {
  auto key = new_key(kind);
  auto cert = build_certificate(key.get(), common_name, valid_days, nullptr, nullptr, true);
  return identity_of(cert.get(), key.get());
}

tls_identity make_issued(const tls_identity& issuer, key_kind kind, std::string_view common_name, int valid_days) {
  auto issuer_cert = parse_certificate(issuer.certificate_pem);
  bio_ptr bio(BIO_new_mem_buf(issuer.private_key_pem.data(), static_cast<int>(issuer.private_key_pem.size())));
  pkey_ptr issuer_key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!issuer_key) fail("the issuer has no PEM private key");
  auto key = new_key(kind);
  auto cert = build_certificate(key.get(), common_name, valid_days, issuer_cert.get(), issuer_key.get(), false);
  auto id = identity_of(cert.get(), key.get());
  id.certificate_pem += issuer.certificate_pem;
  return id;
}

tls_identity load_identity(const std::string& certificate_path, const std::string& private_key_path) {
  tls_identity id{read_pem_file(certificate_path, "certificate"), read_pem_file(private_key_path, "private key")};
  parse_certificate(id.certificate_pem);
  bio_ptr bio(BIO_new_mem_buf(id.private_key_pem.data(), static_cast<int>(id.private_key_pem.size())));
  pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) fail("'" + private_key_path + "' holds no PEM private key (or it is encrypted)");
  return id;
}

ssl::context make_server_context(const tls_identity& identity) {
  ssl::context ctx(ssl::context::tls_server);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::single_dh_use);
  error_code ec;
  ctx.use_certificate_chain(asio::buffer(identity.certificate_pem), ec);
  if (ec) fail("server certificate rejected: " + ec.message());
  ctx.use_private_key(asio::buffer(identity.private_key_pem), ssl::context::pem, ec);
  if (ec) fail("server private key rejected: " + ec.message());
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) fail("private key does not match the certificate");
  return ctx;
}

namespace {

// The system trust store. OpenSSL's default paths include the bundle file (Debian: /etc/ssl/certs/ca-certificates.crt,
// ~140 certificates), which SSL_CTX_set_default_verify_paths parses at once: 23 ms, more than probing a nearby
// server takes. The hashed directory beside it (update-ca-certificates keeps both from the same set) is looked up
// per issuer, only when a chain is verified: 0.01 ms. So the directory alone when it is hashed, and the defaults
// when the user pointed SSL_CERT_FILE somewhere or the directory has no hash links.
void use_system_store(SSL_CTX* ctx) {
  const char* dir_env = std::getenv(X509_get_default_cert_dir_env());
  const std::string dir = dir_env && *dir_env ? dir_env : X509_get_default_cert_dir();
  const char* file_env = std::getenv(X509_get_default_cert_file_env());
  bool hashed = false;
  if (!(file_env && *file_env)) {
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().extension() == ".0") {
        hashed = true;
        break;
      }
    }
  }
  if (!hashed || SSL_CTX_load_verify_dir(ctx, dir.c_str()) != 1) SSL_CTX_set_default_verify_paths(ctx);
}

}  // namespace

ssl::context make_client_context(const std::string& ca_file) {
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_verify_mode(ssl::verify_none);  // verified afterwards, never refused (see header)
  error_code ec;
  if (ca_file.empty()) {
    use_system_store(ctx.native_handle());
  } else {
    // Read with the size cap and type check of every local file (OpenSSL's own reader would block on a FIFO and read
    // /dev/zero without end), then handed over whole: add_certificate_authority adds every certificate in it.
    const auto pem = read_pem_file(ca_file, "CA");
    ctx.add_certificate_authority(asio::buffer(pem), ec);
    if (ec) fail("cannot load CA file '" + ca_file + "': " + ec.message());
  }
  SSL_CTX_set_security_level(ctx.native_handle(), 0);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_VERSION);
  SSL_CTX_set_cipher_list(ctx.native_handle(), "ALL:@SECLEVEL=0");
  return ctx;
}

void prepare_verification(SSL* ssl, const std::string& name) {
  boost::system::error_code ec;
  asio::ip::make_address(name, ec);
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (!ec) {
    X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
  } else {
    // RFC 6066: SNI carries names only, never addresses. (SSL_set_tlsext_host_name, without its C cast.)
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(name.c_str()));
    X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
  }
}

verification_result verify_peer(const SSL* ssl, const std::string& name) {
  verification_result v;
  v.name = name;
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert) {
    v.error = "no certificate presented";
    return v;
  }
  const long result = SSL_get_verify_result(ssl);
  v.trusted = result == X509_V_OK;
  if (!v.trusted) v.error = X509_verify_cert_error_string(result);
  // OpenSSL keeps the chain it built even in SSL_VERIFY_NONE mode (ssl_verify_cert_chain).
  if (STACK_OF(X509)* built = SSL_get0_verified_chain(ssl)) {
    for (int i = 0; i < sk_X509_num(built); ++i)
      v.built_chain.push_back(x509_name(X509_get_subject_name(sk_X509_value(built, i))));
  }
  return v;
}

certificate_facts describe_certificate(X509* certificate) {
  certificate_facts f;
  f.subject = x509_name(X509_get_subject_name(certificate));
  f.issuer = x509_name(X509_get_issuer_name(certificate));
  f.not_before = iso8601(X509_get0_notBefore(certificate));
  f.not_after = iso8601(X509_get0_notAfter(certificate));
  int days = 0, seconds = 0;
  if (ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(certificate)) == 1) f.days_left = days;
  if (EVP_PKEY* key = X509_get0_pubkey(certificate)) {
    f.key_bits = EVP_PKEY_get_bits(key);
    const char* type = EVP_PKEY_get0_type_name(key);
    f.key_type = type ? type : "unknown";
    f.self_signed = X509_check_issued(certificate, certificate) == X509_V_OK && X509_verify(certificate, key) == 1;
  }
  f.signature_algorithm = OBJ_nid2ln(X509_get_signature_nid(certificate));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  X509_digest(certificate, EVP_sha256(), digest, &length);
  f.sha256 = protocol::to_hex(std::span<const std::uint8_t>(digest, length));
  if (auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr))) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
      if (n->type == GEN_DNS) {
        const auto* s = n->d.dNSName;
        f.subject_alt_names.push_back("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                                           static_cast<std::size_t>(ASN1_STRING_length(s))));
      } else if (n->type == GEN_IPADD) {
        const auto* s = n->d.iPAddress;
        const unsigned char* p = ASN1_STRING_get0_data(s);
        char buf[64] = {};
        if (ASN1_STRING_length(s) == 4) std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
        else std::snprintf(buf, sizeof buf, "(%d-byte address)", ASN1_STRING_length(s));
        f.subject_alt_names.push_back(std::string("IP:") + buf);
      }
    }
    GENERAL_NAMES_free(names);
  }
  return f;
}

tls_facts collect_tls_facts(const SSL* ssl) {
  tls_facts f;
  f.version = SSL_get_version(ssl);
  if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) f.cipher = SSL_CIPHER_get_name(c);
  const auto group = static_cast<int>(SSL_get_negotiated_group(const_cast<SSL*>(ssl)));
  if (group > 0) {
    if (const char* name = SSL_group_to_name(const_cast<SSL*>(ssl), group)) f.group = name;
  }
  if (X509* cert = SSL_get1_peer_certificate(ssl)) {
    f.certificate = describe_certificate(cert);
    X509_free(cert);
  }
  // On the client side the stack holds the leaf too, in the order the server sent them (SSL_get_peer_cert_chain(3)).
  if (STACK_OF(X509)* sent = SSL_get_peer_cert_chain(ssl)) {
    for (int i = 0; i < sk_X509_num(sent); ++i) f.chain.push_back(describe_certificate(sk_X509_value(sent, i)));
  }
  return f;
}

std::string certificate_sha256(std::string_view certificate_pem) {
  auto cert = parse_certificate(certificate_pem);
  return describe_certificate(cert.get()).sha256;
}

std::vector<std::uint8_t> subject_public_key(X509* certificate) {
  EVP_PKEY* key = certificate ? X509_get0_pubkey(certificate) : nullptr;
  if (!key) return {};
  const int length = i2d_PublicKey(key, nullptr);
  if (length <= 0) return {};
  std::vector<std::uint8_t> out(static_cast<std::size_t>(length));
  unsigned char* at = out.data();
  if (i2d_PublicKey(key, &at) != length) return {};
  return out;
}

std::vector<std::uint8_t> subject_public_key(const tls_identity& identity) {
  auto cert = parse_certificate(identity.certificate_pem);
  return subject_public_key(cert.get());
}

}  // namespace rdp::net
