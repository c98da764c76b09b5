#pragma once
// Values as users type them on a command line: targets (HOST, HOST:PORT, [IPv6]:PORT, bare IPv6, with a
// default port) and durations ("500ms", "3s", "1.5s", "2m"; a bare number is seconds).
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace rdp::net {

inline constexpr std::uint16_t default_rdp_port = 3389;

struct host_port {
  std::string host;  // name or address literal, without brackets
  std::uint16_t port = default_rdp_port;
  std::string text() const;  // "host:port" or "[v6]:port"
};

// Errors are errc::bad_target; `why` (if given) receives a sentence naming what is wrong. Port 0 ("any free
// port") is accepted only for listen addresses.
enum class port_zero { reject, allow };
boost::system::result<host_port> parse_host_port(std::string_view text, std::uint16_t default_port = default_rdp_port,
                                                 std::string* why = nullptr, port_zero zero = port_zero::reject);

// A positive duration; errc::bad_target with `why` naming the problem otherwise.
boost::system::result<std::chrono::milliseconds> parse_duration(std::string_view text, std::string* why = nullptr);

}  // namespace rdp::net
