#include "rdp/net/endpoint.hpp"

#include "rdp/net/errors.hpp"
#include "rdp/net/local_file.hpp"
#include "rdp/protocol/text.hpp"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <charconv>

namespace rdp::net {
namespace {

// What a user typed, quoted back in an error message: escaped, since a target file may hold any bytes.
std::string shown(std::string_view text) { return protocol::escape_for_terminal(text); }

boost::system::result<std::uint16_t> parse_port(std::string_view s, std::string* why, port_zero zero) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  const unsigned lowest = zero == port_zero::allow ? 0 : 1;
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || value < lowest || value > 65535) {
    if (why) *why = "port '" + shown(s) + "' is not a number from " + std::to_string(lowest) + " to 65535";
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
    return fail("target '" + shown(text) + "' contains a character a host name cannot have");
  host_port out;
  out.port = default_port;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return fail("target '" + shown(text) + "' has '[' without ']'");
    out.host = std::string(text.substr(1, close - 1));
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return fail("expected ':PORT' after ']' in '" + shown(text) + "'");
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
  if (out.host.empty()) return fail("target '" + shown(text) + "' has no host");
  if (std::any_of(out.host.begin(), out.host.end(), [](char c) {
        const auto b = static_cast<unsigned char>(c);
        return b < 0x21 || b == 0x7F || c == '[' || c == ']' || c == '\\';
      }))
    return fail("target '" + shown(text) + "' contains a character a host name cannot have");
  // A host with a colon is an IPv6 literal, nothing else: text() brackets it, and it must parse back the same.
  if (out.host.find(':') != std::string::npos) {
    boost::system::error_code v6_ec;
    boost::asio::ip::make_address_v6(out.host, v6_ec);
    if (v6_ec) return fail("target '" + shown(text) + "': '" + shown(out.host) + "' is not an IPv6 address");
  }
  return out;
}

namespace {

// "a.b.c.d/n" or "v6/n" (already without brackets and port): the addresses of the range, or an error.
boost::system::result<std::vector<std::string>> expand_cidr(std::string_view range, std::size_t room, std::string* why) {
  auto fail = [&](std::string reason) -> boost::system::result<std::vector<std::string>> {
    if (why) *why = std::move(reason);
    return make_error_code(errc::bad_target);
  };
  const auto slash = range.find('/');
  const std::string base(range.substr(0, slash));
  unsigned prefix = 0;
  const auto bits_text = range.substr(slash + 1);
  auto [end, ec] = std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), prefix);
  if (bits_text.empty() || ec != std::errc{} || end != bits_text.data() + bits_text.size())
    return fail("range '" + shown(range) + "' has no prefix length after '/'");
  boost::system::error_code address_ec;
  const auto address = boost::asio::ip::make_address(base, address_ec);
  if (address_ec) return fail("range '" + shown(range) + "': '" + shown(base) + "' is not an IP address");
  const unsigned width = address.is_v4() ? 32 : 128;
  if (prefix > width) return fail("range '" + shown(range) + "': prefix longer than the address");
  const unsigned host_bits = width - prefix;
  if (host_bits > 16 || (std::size_t{1} << host_bits) > room)
    return fail("range '" + shown(range) + "' holds more addresses than the limit of targets");
  std::vector<std::string> out;
  const std::size_t count = std::size_t{1} << host_bits;
  if (address.is_v4()) {
    const std::uint32_t mask = host_bits == 32 ? 0 : ~((std::uint32_t{1} << host_bits) - 1);
    const std::uint32_t first = address.to_v4().to_uint() & mask;
    for (std::size_t i = 0; i < count; ++i)
      out.push_back(boost::asio::ip::address_v4(first + static_cast<std::uint32_t>(i)).to_string());
  } else {
    // At most 16 host bits: they all sit in the last two bytes. Clear them, then count through them.
    auto bytes = address.to_v6().to_bytes();
    const unsigned low16 = (unsigned{bytes[14]} << 8) | bytes[15];
    const unsigned start = low16 & ~((1u << host_bits) - 1u) & 0xFFFFu;
    for (std::size_t i = 0; i < count; ++i) {
      const auto v = start + static_cast<unsigned>(i);
      bytes[14] = static_cast<unsigned char>(v >> 8);
      bytes[15] = static_cast<unsigned char>(v);
      out.push_back(boost::asio::ip::address_v6(bytes).to_string());
    }
  }
  return out;
}

}  // namespace

namespace {

// One target as typed (HOST[:PORT], [v6]:PORT, a range) appended to `out`, at most `limit` in all. `origin` prefixes
// the error ("hosts.txt:3: ").
boost::system::error_code add_target(std::vector<expanded_target>& out, std::string_view text,
                                     const std::string& origin, std::uint16_t default_port, std::size_t limit,
                                     std::string* why) {
  std::string reason;
  // A range is "base/bits" optionally followed by ":port" (IPv4) or bracketed "[base/bits]:port" (IPv6).
  std::string_view range = text, port_text;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close != std::string_view::npos && text.substr(0, close).find('/') != std::string_view::npos) {
      range = text.substr(1, close - 1);
      if (close + 1 < text.size()) {
        if (text[close + 1] != ':') {
          if (why) *why = origin + "expected ':PORT' after ']' in '" + shown(text) + "'";
          return make_error_code(errc::bad_target);
        }
        port_text = text.substr(close + 2);
      }
    }
  } else if (text.find('/') != std::string_view::npos && std::count(text.begin(), text.end(), ':') <= 1) {
    const auto colon = text.find(':');
    if (colon != std::string_view::npos) {
      range = text.substr(0, colon);
      port_text = text.substr(colon + 1);
    }
  }
  if (range.find('/') != std::string_view::npos) {
    std::uint16_t port = default_port;
    if (!port_text.empty()) {
      auto p = parse_host_port("x:" + std::string(port_text), default_port, &reason);
      if (!p) {
        if (why) *why = origin + reason;
        return p.error();
      }
      port = p->port;
    }
    auto addresses = expand_cidr(range, limit > out.size() ? limit - out.size() : 0, &reason);
    if (!addresses) {
      if (why) *why = origin + reason;
      return addresses.error();
    }
    for (auto& a : *addresses) {
      host_port hp{std::move(a), port};
      out.push_back({hp.text(), hp});
    }
    return {};
  }
  auto hp = parse_host_port(text, default_port, &reason);
  if (!hp) {
    if (why) *why = origin + "target '" + shown(text) + "': " + reason;
    return hp.error();
  }
  if (out.size() >= limit) {
    if (why) *why = "more than " + std::to_string(limit) + " targets";
    return make_error_code(errc::bad_target);
  }
  out.push_back({std::string(text), *hp});
  return {};
}

// A target file of one host or network per line; 8 MiB is far more lines than any target limit lets through.
constexpr std::size_t max_target_file_bytes = 8u << 20;

// The lines of a target file's text, appended to `out`.
boost::system::error_code add_target_file(std::vector<expanded_target>& out, std::string_view text,
                                          const std::string& name, std::uint16_t default_port, std::size_t limit,
                                          std::string* why) {
  for (std::size_t number = 1; !text.empty(); ++number) {
    const auto eol = text.find('\n');
    const std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos || line[first] == '#') continue;
    const auto last = line.find_last_not_of(" \t\r");
    const std::string_view target = line.substr(first, last - first + 1);
    if (target.starts_with('@')) {
      if (why) *why = name + ":" + std::to_string(number) + ": a target file cannot include another (" + shown(target) + ")";
      return make_error_code(errc::bad_target);
    }
    if (auto ec = add_target(out, target, name + ":" + std::to_string(number) + ": ", default_port, limit, why)) return ec;
  }
  return {};
}

boost::system::result<std::vector<expanded_target>> none_is_an_error(std::vector<expanded_target> out, std::string* why) {
  if (out.empty()) {
    if (why) *why = "no targets";
    return make_error_code(errc::bad_target);
  }
  return out;
}

}  // namespace

boost::system::result<std::vector<expanded_target>> expand_targets(const std::vector<std::string>& inputs,
                                                                   std::uint16_t default_port, std::size_t limit,
                                                                   std::string* why) {
  std::vector<expanded_target> out;
  for (const auto& input : inputs) {
    if (!input.starts_with('@')) {
      if (auto ec = add_target(out, input, "", default_port, limit, why)) return ec;
      continue;
    }
    const std::string path = input.substr(1);
    std::string unreadable;
    const auto text = read_regular_file(path, max_target_file_bytes, "a target file", unreadable);
    if (!text) {
      if (why) *why = "cannot read target file '" + shown(path) + "': " + unreadable;
      return make_error_code(errc::bad_target);
    }
    if (auto ec = add_target_file(out, *text, path, default_port, limit, why)) return ec;
  }
  return none_is_an_error(std::move(out), why);
}

boost::system::result<std::vector<expanded_target>> expand_target_file(std::string_view text, const std::string& name,
                                                                       std::uint16_t default_port, std::size_t limit,
                                                                       std::string* why) {
  std::vector<expanded_target> out;
  if (auto ec = add_target_file(out, text, name, default_port, limit, why)) return ec;
  return none_is_an_error(std::move(out), why);
}

boost::system::result<std::chrono::milliseconds> parse_duration(std::string_view text, std::string* why) {
  // Escaped here, as the flags' error messages are printed as they are.
  const auto d = read_duration(text, zero_value::refuse, why);
  if (!d) {
    if (why) *why = shown(*why);
    return d.error();
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  if (ms != *d) {
    if (why) *why = "'" + shown(text) + "' is not a whole number of milliseconds";
    return make_error_code(errc::bad_quantity);
  }
  return ms;
}

}  // namespace rdp::net
