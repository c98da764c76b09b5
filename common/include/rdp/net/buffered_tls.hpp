#pragma once
// TLS through asio::ssl::stream over any stream: what the engine (engine.hpp) starts on a stream that is not a TCP
// socket — the in-memory test stream (memory_stream.hpp) — where lean_tls cannot run, since it hands OpenSSL the
// socket's file descriptor. The same three operations as lean_tls, so the engine's code is one for both; the cost
// lean_tls avoids (Asio's per-connection TLS buffers) does not matter in a test.
#include "rdp/net/asio.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <tuple>

namespace rdp::net {

template <class Stream>
class buffered_tls {
 public:
  // `stream` and `context` must outlive this object.
  buffered_tls(Stream& stream, ssl::context& context) : tls_(stream, context) {}

  SSL* native_handle() noexcept { return tls_.native_handle(); }

  asio::awaitable<std::tuple<error_code>> handshake(ssl::stream_base::handshake_type role) {
    co_return co_await tls_.async_handshake(role, use_tuple);
  }
  asio::awaitable<std::tuple<error_code, std::size_t>> read_some(std::span<std::uint8_t> into) {
    co_return co_await tls_.async_read_some(asio::buffer(into.data(), into.size()), use_tuple);
  }
  asio::awaitable<std::tuple<error_code>> write(std::span<const std::uint8_t> bytes) {
    auto [ec, n] = co_await asio::async_write(tls_, asio::buffer(bytes.data(), bytes.size()), use_tuple);
    (void)n;
    co_return std::tuple<error_code>{ec};
  }

 private:
  ssl::stream<Stream&> tls_;
};

}  // namespace rdp::net
