#pragma once
// TLS straight on a non-blocking TCP socket: OpenSSL reads and writes the socket itself (SSL_set_fd), and Asio only
// waits for the socket to become readable or writable. This is what lets ten thousand idle sessions fit where
// asio::ssl::stream could not: that stream keeps two 17 KiB buffers of its own (stream_core) and a BIO pair of two
// more 17 KiB buffers per connection, about 70 KiB that an idle session never uses. Here, with SSL_MODE_RELEASE_BUFFERS,
// an idle session holds OpenSSL's SSL object and nothing else (the figures are in bench/session_load.cpp's note).
//
// The engine (engine.hpp) runs the TLS it starts itself on this. Cancelling a read or a write (a deadline, a wake) is
// safe at any point: OpenSSL has said "want read/write" and simply is not called again until the next operation.
#include "rdp/net/asio.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <optional>
#include <tuple>

namespace rdp::net {

class lean_tls {
 public:
  // `socket` must be open and connected; it is made non-blocking. `context` must outlive this object.
  lean_tls(tcp::socket& socket, ssl::context& context);
  ~lean_tls();
  lean_tls(const lean_tls&) = delete;
  lean_tls& operator=(const lean_tls&) = delete;

  SSL* native_handle() noexcept { return ssl_; }

  // (Results as tuples, the shape net::with_deadline and the awaitable operators take.)
  // The handshake in `role`. Errors: the socket's, or OpenSSL's in asio::error::get_ssl_category().
  asio::awaitable<std::tuple<error_code>> handshake(ssl::stream_base::handshake_type role);
  // Some decrypted bytes (at least one), or an error: asio::error::eof after the peer's close_notify,
  // ssl::error::stream_truncated when the connection ended without one, or the socket's error (connection_reset …).
  asio::awaitable<std::tuple<error_code, std::size_t>> read_some(std::span<std::uint8_t> into);
  // All of `bytes`, or an error.
  asio::awaitable<std::tuple<error_code>> write(std::span<const std::uint8_t> bytes);

 private:
  // What an SSL_* call's result means: done, wait for the socket (read or write), or an error.
  enum class next { done, wait_read, wait_write, failed };
  next classify(int result, error_code& ec);
  asio::awaitable<std::optional<error_code>> settle(next n, error_code ec);

  tcp::socket& socket_;
  SSL* ssl_ = nullptr;
};

}  // namespace rdp::net
