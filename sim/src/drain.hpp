#pragma once
// The one drain of rdpsim's sockets: the RDP listener after a refusal, the session host after its last PDU, and the
// control interface after an error all end a connection the same way.
#include "rdp/net/asio.hpp"
#include "rdp/net/deadline.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace rdp::sim {

// Half-closes `socket` (we send nothing more) and reads and discards what the peer still sends until it hangs up,
// `limit` has passed in all — not per read, so a peer trickling bytes cannot stretch it — or `max_bytes` have been
// read. Closing with unread data would make the kernel answer with a reset that can destroy what we sent last
// (docs/freerdp.md 2.4). Under TLS the raw socket is read: the bytes are only thrown away.
inline net::asio::awaitable<void> half_close_and_drain(net::tcp::socket& socket, net::milliseconds limit,
                                                       std::size_t max_bytes = std::numeric_limits<std::size_t>::max()) {
  net::error_code ignored;
  socket.shutdown(net::tcp::socket::shutdown_send, ignored);
  std::array<std::uint8_t, 4096> sink{};
  std::size_t drained = 0;
  const auto deadline = net::clock::now() + limit;
  while (drained < max_bytes) {
    const auto left = deadline - net::clock::now();
    if (left <= net::clock::duration::zero()) co_return;
    auto [ec, n] =
        co_await net::with_deadline(socket.async_read_some(net::asio::buffer(sink), net::use_tuple), left);
    if (ec) co_return;
    drained += n;
  }
}

}  // namespace rdp::sim
