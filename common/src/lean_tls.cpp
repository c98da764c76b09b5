#include "rdp/net/lean_tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <stdexcept>

namespace rdp::net {
namespace {

// A socket BIO that sends with MSG_NOSIGNAL: OpenSSL's own (SSL_set_fd) writes with write(2), and a peer that has gone
// would then raise SIGPIPE and end the whole process, not just the connection.
int socket_of(BIO* bio) { return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(bio))); }

int bio_write(BIO* bio, const char* data, int length) {
  BIO_clear_retry_flags(bio);
  const auto n = ::send(socket_of(bio), data, static_cast<std::size_t>(length), MSG_NOSIGNAL);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_write(bio);
  return static_cast<int>(n);
}

int bio_read(BIO* bio, char* data, int length) {
  BIO_clear_retry_flags(bio);
  const auto n = ::recv(socket_of(bio), data, static_cast<std::size_t>(length), 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_read(bio);
  return static_cast<int>(n);
}

long bio_ctrl(BIO*, int command, long, void*) { return command == BIO_CTRL_FLUSH ? 1 : 0; }

int bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD* socket_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "rdp socket (MSG_NOSIGNAL)");
    if (m) {
      BIO_meth_set_write(m, bio_write);
      BIO_meth_set_read(m, bio_read);
      BIO_meth_set_ctrl(m, bio_ctrl);
      BIO_meth_set_create(m, bio_create);
    }
    return m;
  }();
  return method;
}

}  // namespace

lean_tls::lean_tls(tcp::socket& socket, ssl::context& context) : socket_(socket), ssl_(SSL_new(context.native_handle())) {
  if (!ssl_) throw std::runtime_error("SSL_new failed");
  socket_.non_blocking(true);
  BIO* bio = socket_method() ? BIO_new(socket_method()) : nullptr;
  if (!bio) {
    SSL_free(ssl_);
    throw std::runtime_error("BIO_new failed");
  }
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(socket_.native_handle())));
  SSL_set_bio(ssl_, bio, bio);  // the SSL object owns it
  // RELEASE_BUFFERS: OpenSSL frees its read and write buffers whenever they are empty (an idle session holds none).
  // ENABLE_PARTIAL_WRITE + ACCEPT_MOVING_WRITE_BUFFER: a write resumed after "want write" may pass a buffer that has
  // moved on by what was already sent.
  SSL_set_mode(ssl_, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

lean_tls::~lean_tls() { SSL_free(ssl_); }

lean_tls::next lean_tls::classify(int result, error_code& ec) {
  switch (SSL_get_error(ssl_, result)) {
    case SSL_ERROR_NONE: return next::done;
    case SSL_ERROR_WANT_READ: return next::wait_read;
    case SSL_ERROR_WANT_WRITE: return next::wait_write;
    case SSL_ERROR_ZERO_RETURN: ec = asio::error::eof; return next::failed;  // the peer's close_notify
    case SSL_ERROR_SYSCALL: {
      const auto queued = ERR_get_error();
      if (queued) ec = error_code(static_cast<int>(queued), asio::error::get_ssl_category());
      else if (errno != 0) ec = error_code(errno, asio::error::get_system_category());
      else ec = ssl::error::stream_truncated;  // the connection ended without a close_notify
      return next::failed;
    }
    case SSL_ERROR_SSL: {
      const auto queued = ERR_get_error();
      // OpenSSL 3 reports an EOF without close_notify this way (SSL_R_UNEXPECTED_EOF_WHILE_READING).
      if (ERR_GET_REASON(queued) == SSL_R_UNEXPECTED_EOF_WHILE_READING) ec = ssl::error::stream_truncated;
      else ec = error_code(static_cast<int>(queued), asio::error::get_ssl_category());
      return next::failed;
    }
    default: ec = error_code(static_cast<int>(ERR_get_error()), asio::error::get_ssl_category()); return next::failed;
  }
}

// After an SSL_* call that did not complete (classified at once, before anything can touch errno or OpenSSL's error
// queue): the error to stop with, or nothing to call again — at once, or once the socket is ready when OpenSSL asked
// to wait for it.
asio::awaitable<std::optional<error_code>> lean_tls::settle(next n, error_code ec) {
  if (n == next::failed) co_return ec;
  if (n == next::done) co_return std::nullopt;
  auto [wait_ec] = co_await socket_.async_wait(n == next::wait_read ? tcp::socket::wait_read : tcp::socket::wait_write,
                                               use_tuple);
  if (wait_ec) co_return wait_ec;
  co_return std::nullopt;
}

asio::awaitable<std::tuple<error_code>> lean_tls::handshake(ssl::stream_base::handshake_type role) {
  for (;;) {
    ERR_clear_error();
    errno = 0;
    const int r = role == ssl::stream_base::server ? SSL_accept(ssl_) : SSL_connect(ssl_);
    if (r == 1) co_return std::tuple{error_code{}};
    error_code ec;
    const auto n = classify(r, ec);
    const auto stop = co_await settle(n, ec);
    if (stop) co_return std::tuple{*stop};
  }
}

asio::awaitable<std::tuple<error_code, std::size_t>> lean_tls::read_some(std::span<std::uint8_t> into) {
  const int want = static_cast<int>(std::min<std::size_t>(into.size(), INT_MAX));
  for (;;) {
    ERR_clear_error();
    errno = 0;
    const int r = SSL_read(ssl_, into.data(), want);
    if (r > 0) co_return std::tuple{error_code{}, static_cast<std::size_t>(r)};
    error_code ec;
    const auto n = classify(r, ec);
    const auto stop = co_await settle(n, ec);
    if (stop) co_return std::tuple{*stop, std::size_t{0}};
  }
}

asio::awaitable<std::tuple<error_code>> lean_tls::write(std::span<const std::uint8_t> bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    ERR_clear_error();
    errno = 0;
    const int chunk = static_cast<int>(std::min<std::size_t>(bytes.size() - sent, INT_MAX));
    const int r = SSL_write(ssl_, bytes.data() + sent, chunk);
    if (r > 0) {
      sent += static_cast<std::size_t>(r);
      continue;
    }
    error_code ec;
    const auto n = classify(r, ec);
    const auto stop = co_await settle(n, ec);
    if (stop) co_return std::tuple{*stop};
  }
  co_return std::tuple{error_code{}};
}

}  // namespace rdp::net
