#pragma once
// The one way a connection is ended gracefully: half-close, then read and discard until the peer hangs up.
#include "rdp/net/deadline.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace rdp::net {

// Half-closes `stream` (we send nothing more) and reads and discards what the peer still sends until it hangs up,
// `limit` has passed in all on `Clock` — not per read, so a peer trickling bytes cannot stretch it — or `max_bytes`
// have been read. Closing with unread data would make the kernel answer with a reset that can destroy what we sent
// last (docs/freerdp.md 2.4). Under TLS the raw socket is read: the bytes are only thrown away. `Stream` is a
// tcp::socket, or a test's memory_stream (memory_stream.hpp), which has the same shutdown and async_read_some.
template <class Clock = clock, class Stream>
asio::awaitable<void> half_close_and_drain(Stream& stream, typename Clock::duration limit,
                                           std::size_t max_bytes = std::numeric_limits<std::size_t>::max()) {
  error_code ignored;
  stream.shutdown(asio::socket_base::shutdown_send, ignored);
  std::array<std::uint8_t, 2048> sink{};
  std::size_t drained = 0;
  const auto deadline = Clock::now() + limit;
  while (drained < max_bytes) {
    const auto left = deadline - Clock::now();
    if (left <= Clock::duration::zero()) co_return;
    auto [ec, n] = co_await with_deadline<Clock>(stream.async_read_some(asio::buffer(sink), use_tuple), left);
    if (ec) co_return;
    drained += n;
  }
}

// Ends `socket` with a TCP RST (SO_LINGER 0): what a server that resets a session, or a firewall, sends.
inline void close_with_reset(tcp::socket& socket) {
  error_code ignored;
  socket.set_option(asio::socket_base::linger(true, 0), ignored);
  socket.close(ignored);
}

}  // namespace rdp::net
