#pragma once
// Targets as users type them on a command line: HOST, HOST:PORT, [IPv6]:PORT, bare IPv6, with a default port. And
// the durations of the flags that take milliseconds (the grammar itself is quantity.hpp's).
#include "rdp/net/quantity.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

// Expands what a user typed as targets: HOST, HOST:PORT, [IPv6]:PORT, an IPv4 CIDR range (10.0.0.0/24,
// 10.0.0.0/24:3390), an IPv6 CIDR range of at most 65536 addresses ([fd00::/120]:3389), and @FILE (one target per
// line; blank lines and lines starting with # are ignored; @FILE inside a file is not followed). Every address of
// a range is included, network and broadcast too, as nmap does. At most `limit` targets in all.
// Each target keeps the text it came from, so reports can name the line or range a target was expanded from.
struct expanded_target {
  std::string text;  // the single target, e.g. "10.0.0.3:3389"
  host_port where;
};
boost::system::result<std::vector<expanded_target>> expand_targets(const std::vector<std::string>& inputs,
                                                                   std::uint16_t default_port, std::size_t limit,
                                                                   std::string* why);

// The targets of a target file's text (what @FILE holds), as expand_targets reads them: one per line, blank lines and
// lines starting with # ignored, no @FILE inside; `name` prefixes each error ("hosts.txt:3: …"). No I/O: the parser
// alone, for tests and fuzzing.
boost::system::result<std::vector<expanded_target>> expand_target_file(std::string_view text, const std::string& name,
                                                                       std::uint16_t default_port, std::size_t limit,
                                                                       std::string* why);

// A duration of 1ms to 24h in whole milliseconds, for the flags whose timers keep milliseconds: read_duration
// (quantity.hpp: "500ms", "1.5s", "4m30s", "1h"; a lone number is seconds) without 0, and without what is finer
// than a millisecond ("1500us" is refused, not rounded). errc::bad_quantity with `why` naming the problem otherwise.
// format_duration (quantity.hpp) prints what it reads back to the same value.
boost::system::result<std::chrono::milliseconds> parse_duration(std::string_view text, std::string* why = nullptr);

}  // namespace rdp::net
