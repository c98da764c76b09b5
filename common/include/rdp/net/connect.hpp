#pragma once
// The one way the tools open a TCP connection: resolve the name within a deadline, then each address in turn, each
// within the connect deadline.
#include "rdp/net/deadline.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

namespace rdp::net {

// The addresses of `host` at `port`: an address literal as it is (no resolver, which would cost a thread hop), a
// name through the system resolver within `timeout` (errc::timed_out after it). A and AAAA alike (AF_UNSPEC, and no
// AI_ADDRCONFIG: a name's IPv6 address is reached even where this machine has no global IPv6 address of its own, as
// ::1 shows), in the resolver's order, each address once (getaddrinfo repeats one per matching hosts line). A name
// that resolves to nothing gives no error and no address: the caller says what that means.
inline asio::awaitable<std::tuple<error_code, std::vector<tcp::endpoint>>> resolve(std::string host, std::uint16_t port,
                                                                                  milliseconds timeout) {
  std::vector<tcp::endpoint> endpoints;
  error_code literal_ec;
  const auto literal = asio::ip::make_address(host, literal_ec);
  if (!literal_ec) {
    endpoints.emplace_back(literal, port);
    co_return std::tuple{error_code{}, std::move(endpoints)};
  }
  tcp::resolver resolver(co_await asio::this_coro::executor);
  auto [ec, results] = co_await with_deadline(
      resolver.async_resolve(host, std::to_string(port), tcp::resolver::numeric_service, use_tuple), timeout);
  if (ec) co_return std::tuple{ec, std::move(endpoints)};
  for (const auto& r : results)
    if (std::find(endpoints.begin(), endpoints.end(), r.endpoint()) == endpoints.end()) endpoints.push_back(r.endpoint());
  co_return std::tuple{error_code{}, std::move(endpoints)};
}

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
