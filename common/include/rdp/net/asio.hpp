#pragma once
// The Asio vocabulary every I/O file uses, so spellings stay the same everywhere.
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl.hpp>

#include <chrono>

namespace rdp::net {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;
using milliseconds = std::chrono::milliseconds;

// Completion token for coroutines that want error codes as values rather than exceptions.
inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Milliseconds as a double, for reports.
inline double ms_since(clock::time_point start) {
  return std::chrono::duration<double, std::milli>(clock::now() - start).count();
}

}  // namespace rdp::net
