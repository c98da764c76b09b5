#pragma once
// Values as users type them on a command line: targets (HOST, HOST:PORT, [IPv6]:PORT, bare IPv6, with a
// default port) and durations ("500ms", "3s", "1.5s", "2m"; a bare number is seconds).
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

// A positive duration; errc::bad_target with `why` naming the problem otherwise.
boost::system::result<std::chrono::milliseconds> parse_duration(std::string_view text, std::string* why = nullptr);
// A duration as the tools print it, in the largest unit that holds it exactly: "15m", "90s", "500ms" (and "0ms").
// What parse_duration reads back to the same value, for anything from 1ms to 24h.
std::string format_duration(std::chrono::milliseconds d);

}  // namespace rdp::net
