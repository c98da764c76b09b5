#include "rdp/crypto/openssl_primitives.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include <limits>
#include <stdexcept>
#include <string>

namespace rdp::crypto {
namespace {

namespace pc = protocol::crypto;
using protocol::bytes_view;

[[noreturn]] void fail(const std::string& what) {
  const unsigned long code = ERR_get_error();
  char text[256] = "no OpenSSL error queued";
  if (code != 0) ERR_error_string_n(code, text, sizeof text);
  throw std::runtime_error("OpenSSL: " + what + ": " + text);
}

int checked_int(std::size_t n) {
  if (n > static_cast<std::size_t>(std::numeric_limits<int>::max())) throw std::length_error("crypto input too long");
  return static_cast<int>(n);
}

struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
struct cipher_ctx_deleter {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
struct mac_ctx_deleter {
  void operator()(EVP_MAC_CTX* c) const noexcept { EVP_MAC_CTX_free(c); }
};

class openssl_rc4 final : public pc::rc4_stream {
 public:
  openssl_rc4(const EVP_CIPHER* cipher, bytes_view key) : ctx_(EVP_CIPHER_CTX_new()) {
    if (!ctx_ || EVP_EncryptInit_ex2(ctx_.get(), cipher, nullptr, nullptr, nullptr) != 1) fail("RC4 init");
    // RC4's key length is variable: 16 bytes for NTLM sealing keys and RC4K, 5/8 for weaker ones.
    if (EVP_CIPHER_CTX_set_key_length(ctx_.get(), checked_int(key.size())) != 1 ||
        EVP_EncryptInit_ex2(ctx_.get(), nullptr, key.data(), nullptr, nullptr) != 1)
      fail("RC4 key");
  }
  using pc::rc4_stream::apply;
  void apply(bytes_view in, std::uint8_t* out) override {
    if (in.empty()) return;
    int written = 0;
    if (EVP_EncryptUpdate(ctx_.get(), out, &written, in.data(), checked_int(in.size())) != 1 ||
        written != static_cast<int>(in.size()))
      fail("RC4");
  }

 private:
  std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_deleter> ctx_;
};

class openssl_impl final : public pc::primitives {
 public:
  openssl_impl() : libctx_(OSSL_LIB_CTX_new()) {
    if (!libctx_) fail("a library context");
    legacy_ = OSSL_PROVIDER_load(libctx_, "legacy");
    if (!legacy_) fail("loading the legacy provider (MD4 and RC4, needed by NTLM)");
    default_ = OSSL_PROVIDER_load(libctx_, "default");
    if (!default_) fail("loading the default provider");
    md4_ = fetch_md("MD4");
    md5_ = fetch_md("MD5");
    sha256_ = fetch_md("SHA256");
    rc4_ = EVP_CIPHER_fetch(libctx_, "RC4", nullptr);
    if (!rc4_) fail("fetching RC4");
    hmac_ = EVP_MAC_fetch(libctx_, "HMAC", nullptr);
    if (!hmac_) fail("fetching HMAC");
  }
  ~openssl_impl() override {
    EVP_MAC_free(hmac_);
    EVP_CIPHER_free(rc4_);
    EVP_MD_free(sha256_);
    EVP_MD_free(md5_);
    EVP_MD_free(md4_);
    OSSL_PROVIDER_unload(default_);
    OSSL_PROVIDER_unload(legacy_);
    OSSL_LIB_CTX_free(libctx_);
  }
  openssl_impl(const openssl_impl&) = delete;
  openssl_impl& operator=(const openssl_impl&) = delete;

  pc::digest16 md4(bytes_view data) const override { return digest<16>(md4_, {data}); }
  pc::digest16 md5(std::initializer_list<bytes_view> parts) const override { return digest<16>(md5_, parts); }
  pc::digest32 sha256(std::initializer_list<bytes_view> parts) const override { return digest<32>(sha256_, parts); }

  pc::digest16 hmac_md5(bytes_view key, std::initializer_list<bytes_view> parts) const override {
    std::unique_ptr<EVP_MAC_CTX, mac_ctx_deleter> ctx(EVP_MAC_CTX_new(hmac_));
    char digest_name[] = "MD5";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                                 OSSL_PARAM_construct_end()};
    // An empty key is legal for HMAC; OpenSSL wants a non-null pointer for it.
    static const std::uint8_t no_key = 0;
    if (!ctx || EVP_MAC_init(ctx.get(), key.empty() ? &no_key : key.data(), key.size(), params) != 1)
      fail("HMAC-MD5 init");
    for (const auto part : parts)
      if (!part.empty() && EVP_MAC_update(ctx.get(), part.data(), part.size()) != 1) fail("HMAC-MD5");
    pc::digest16 out{};
    std::size_t length = 0;
    if (EVP_MAC_final(ctx.get(), out.data(), &length, out.size()) != 1 || length != out.size()) fail("HMAC-MD5 final");
    return out;
  }

  std::unique_ptr<pc::rc4_stream> rc4(bytes_view key) const override { return std::make_unique<openssl_rc4>(rc4_, key); }

 private:
  EVP_MD* fetch_md(const char* name) {
    EVP_MD* md = EVP_MD_fetch(libctx_, name, nullptr);
    if (!md) fail(std::string("fetching ") + name);
    return md;
  }
  template <std::size_t N>
  std::array<std::uint8_t, N> digest(const EVP_MD* md, std::initializer_list<bytes_view> parts) const {
    std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1) fail("digest init");
    for (const auto part : parts)
      if (!part.empty() && EVP_DigestUpdate(ctx.get(), part.data(), part.size()) != 1) fail("digest");
    std::array<std::uint8_t, N> out{};
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(ctx.get(), out.data(), &length) != 1 || length != N) fail("digest final");
    return out;
  }

  OSSL_LIB_CTX* libctx_ = nullptr;
  OSSL_PROVIDER* legacy_ = nullptr;
  OSSL_PROVIDER* default_ = nullptr;
  EVP_MD* md4_ = nullptr;
  EVP_MD* md5_ = nullptr;
  EVP_MD* sha256_ = nullptr;
  EVP_CIPHER* rc4_ = nullptr;
  EVP_MAC* hmac_ = nullptr;
};

}  // namespace

const protocol::crypto::primitives& openssl_primitives() {
  static const openssl_impl instance;
  return instance;
}

void random_bytes(std::uint8_t* out, std::size_t n) {
  if (n != 0 && RAND_bytes(out, checked_int(n)) != 1) fail("RAND_bytes");
}

}  // namespace rdp::crypto
