#include "rdp/net/endpoint.hpp"

#include "rdp/net/errors.hpp"

#include <algorithm>
#include <charconv>

namespace rdp::net {
namespace {

boost::system::result<std::uint16_t> parse_port(std::string_view s, std::string* why, port_zero zero) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  const unsigned lowest = zero == port_zero::allow ? 0 : 1;
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || value < lowest || value > 65535) {
    if (why) *why = "port '" + std::string(s) + "' is not a number from " + std::to_string(lowest) + " to 65535";
    return make_error_code(errc::bad_target);
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::string host_port::text() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

boost::system::result<host_port> parse_host_port(std::string_view text, std::uint16_t default_port,
                                                 std::string* why, port_zero zero) {
  auto fail = [&](std::string reason) -> boost::system::result<host_port> {
    if (why) *why = std::move(reason);
    return make_error_code(errc::bad_target);
  };
  if (text.empty()) return fail("empty target");
  if (std::any_of(text.begin(), text.end(), [](char c) { return c == ' ' || c == '\t' || c == '/' || c == '@'; }))
    return fail("target '" + std::string(text) + "' contains a character a host name cannot have");
  host_port out;
  out.port = default_port;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return fail("target '" + std::string(text) + "' has '[' without ']'");
    out.host = std::string(text.substr(1, close - 1));
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return fail("expected ':PORT' after ']' in '" + std::string(text) + "'");
      auto port = parse_port(rest.substr(1), why, zero);
      if (!port) return port.error();
      out.port = *port;
    }
  } else if (std::count(text.begin(), text.end(), ':') > 1) {
    out.host = std::string(text);  // a bare IPv6 literal: no port can be given without brackets
  } else if (const auto colon = text.find(':'); colon != std::string_view::npos) {
    out.host = std::string(text.substr(0, colon));
    auto port = parse_port(text.substr(colon + 1), why, zero);
    if (!port) return port.error();
    out.port = *port;
  } else {
    out.host = std::string(text);
  }
  if (out.host.empty()) return fail("target '" + std::string(text) + "' has no host");
  return out;
}

boost::system::result<std::chrono::milliseconds> parse_duration(std::string_view text, std::string* why) {
  auto fail = [&]() -> boost::system::result<std::chrono::milliseconds> {
    if (why) *why = "duration '" + std::string(text) + "' is not like 500ms, 3s, 1.5s or 2m";
    return make_error_code(errc::bad_target);
  };
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || !(value > 0)) return fail();
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  double scale = 0;
  if (unit.empty() || unit == "s") scale = 1000;
  else if (unit == "ms") scale = 1;
  else if (unit == "m") scale = 60000;
  else return fail();
  const double ms = value * scale;
  if (ms < 1 || ms > 86400000.0) {
    if (why) *why = "duration '" + std::string(text) + "' must be between 1ms and 24h";
    return make_error_code(errc::bad_target);
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

}  // namespace rdp::net
