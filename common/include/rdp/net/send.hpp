#pragma once
// The one way the tools send bytes: all of them, within a deadline for the whole write (a peer that stops reading
// cannot hold a connection forever), the error as a value — errc::timed_out when the deadline won.
#include "rdp/net/deadline.hpp"

#include <span>

namespace rdp::net {

template <class Stream>
asio::awaitable<error_code> send(Stream& stream, std::span<const std::uint8_t> bytes, clock::duration timeout) {
  auto [ec, n] = co_await with_deadline(asio::async_write(stream, asio::buffer(bytes.data(), bytes.size()), use_tuple),
                                        timeout);
  (void)n;
  co_return ec;
}

template <class Stream>
asio::awaitable<error_code> send(Stream& stream, std::string_view text, clock::duration timeout) {
  co_return co_await send(stream, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), timeout);
}

}  // namespace rdp::net
