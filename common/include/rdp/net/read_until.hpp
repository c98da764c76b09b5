#pragma once
// Reading an answer whose end only a decoder can tell (an X.224 Connection Confirm, a CredSSP TSRequest, whatever a
// non-RDP listener says), with one deadline for the whole answer and a cap on what is kept.
#include "rdp/net/deadline.hpp"
#include "rdp/protocol/bytes.hpp"

#include <algorithm>
#include <array>

namespace rdp::net {

// Reads into `received` until `done(received)` returns true (the caller's decoder has an answer: a message, or a
// verdict that it is malformed), `cap` bytes are in (errc::frame_too_large) or `timeout` passes (errc::timed_out) —
// one deadline for the whole answer, so a peer dribbling a byte at a time cannot stretch it. Other errors are the
// stream's own (eof, connection_reset, …); `received` keeps what came before them.
template <class Stream, class Done>
asio::awaitable<error_code> read_until(Stream& stream, protocol::byte_buffer& received, std::size_t cap,
                                       milliseconds timeout, Done done) {
  std::array<std::uint8_t, 4096> chunk{};
  const auto deadline = clock::now() + timeout;
  for (;;) {
    if (done(received)) co_return error_code{};
    if (received.size() >= cap) co_return make_error_code(errc::frame_too_large);
    const auto left = deadline - clock::now();
    if (left <= clock::duration::zero()) co_return make_error_code(errc::timed_out);
    auto [ec, n] = co_await with_deadline(stream.async_read_some(asio::buffer(chunk), use_tuple), left);
    const auto keep = std::min(n, cap - received.size());
    received.insert(received.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(keep));
    if (ec) co_return ec;
  }
}

}  // namespace rdp::net
