#pragma once
// The one way the tools open a TCP connection: each resolved address in turn, each within the connect deadline.
#include "rdp/net/deadline.hpp"

#include <tuple>
#include <vector>

namespace rdp::net {

// Connects `socket` to the first of `endpoints` that accepts; returns the error of the last try, or the endpoint
// reached. A timed-out address ends the walk: one silent address is enough to spend the budget on.
inline asio::awaitable<std::tuple<error_code, tcp::endpoint>> connect_first(tcp::socket& socket,
                                                                            std::vector<tcp::endpoint> endpoints,
                                                                            milliseconds timeout) {
  error_code last = asio::error::host_not_found;
  for (const auto& ep : endpoints) {
    error_code ignored;
    if (socket.is_open()) socket.close(ignored);
    last = co_await with_deadline(socket.async_connect(ep, use_tuple), timeout);
    if (!last) co_return std::tuple{error_code{}, ep};
    if (last == errc::timed_out) break;
  }
  co_return std::tuple{last, tcp::endpoint{}};
}

}  // namespace rdp::net
