#pragma once
// Quantities as people write them — command-line flags, scenario files, control requests — and as the tools print
// them. One grammar per kind, described once in docs/quantities.md:
//   durations  "250us", "500ms", "1.5s", "4m30s", "1h30m", "24h"; a lone number is seconds ("30")
//   sizes      "1500", "64KiB", "1MB", "10Mbit" (bytes)
//   rates      "64KiB/s", "10Mbit/s", "1MB/s"; a lone number is bytes per second
// A decimal fraction is read exactly ("1.5s", "0.5MB") and refused where it is finer than the result can hold (a
// microsecond, a byte): nothing is rounded. No signs, no exponents, no spaces.
// Each reader's `why` quotes the text as it was given: the caller escapes the whole message where it prints it
// (protocol::escape_for_terminal; a scenario file's errors are escaped once, by their reader), so nothing is escaped
// twice. Header-only and pure: every parser and fuzz target that reads a quantity compiles it with nothing else.
#include "rdp/net/errors.hpp"

#include <boost/system/result.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace rdp::net {

// Whether 0 is a value where the quantity is read ("latency: 0"; "bandwidth: 0" = unlimited) or a mistake (a
// timeout of 0).
enum class zero_value { refuse, allow };

// The longest duration any tool takes.
inline constexpr std::chrono::hours longest_duration{24};

// A duration from 1us (0 with zero_value::allow) to 24h: parts of a number and a unit (h, m, s, ms, us) from the
// largest unit to the smallest, each unit once ("1h30m", "4m30s", "1s500ms"); a lone number without a unit is
// seconds. Otherwise errc::bad_quantity, and `why` says what is wrong: "'4x' is not a duration: unit 'x' is not one
// of h, m, s, ms, us". Callers that keep milliseconds refuse what is finer themselves (parse_duration, endpoint.hpp).
boost::system::result<std::chrono::microseconds> read_duration(std::string_view text, zero_value zero,
                                                               std::string* why = nullptr);

// A duration as the tools print it: one number in the largest unit that holds it exactly ("24h", "15m", "90s",
// "1500ms", "250us"; 0 is "0ms"). read_duration reads it back to the same value, from 1us to 24h.
std::string format_duration(std::chrono::microseconds d);

// A number of bytes: a number and a unit, B (or none), kB or KB, MB, GB (powers of 1000), KiB, MiB, GiB (of 1024),
// or bits: bit, kbit, Mbit, Gbit (powers of 1000, a whole number of bytes: "10Mbit" is 1250000). Up to 2^64-1.
boost::system::result<std::uint64_t> read_size(std::string_view text, zero_value zero, std::string* why = nullptr);

// Bytes per second: a size followed by /s ("64KiB/s", "10Mbit/s", "1500/s"), or a lone number. A size with a unit
// but without /s ("10Mbit") is refused: it says how much, not how fast.
boost::system::result<std::uint64_t> read_rate(std::string_view text, zero_value zero, std::string* why = nullptr);

// ---- Implementation ------------------------------------------------------------------------------------------

namespace quantity_detail {

// One unit: a value in it is `numerator / denominator` of the result's unit (a microsecond, a byte).
struct unit {
  std::string_view name;
  std::uint64_t numerator;
  std::uint64_t denominator;
};

// From the largest to the smallest: the order of the parts of a compound.
inline constexpr std::array<unit, 5> duration_units{{{"h", 3'600'000'000u, 1},
                                                      {"m", 60'000'000u, 1},
                                                      {"s", 1'000'000u, 1},
                                                      {"ms", 1'000u, 1},
                                                      {"us", 1u, 1}}};
inline constexpr std::array<unit, 13> size_units{{{"", 1, 1},
                                                  {"B", 1, 1},
                                                  {"kB", 1'000u, 1},
                                                  {"KB", 1'000u, 1},
                                                  {"MB", 1'000'000u, 1},
                                                  {"GB", 1'000'000'000u, 1},
                                                  {"KiB", 1u << 10, 1},
                                                  {"MiB", 1u << 20, 1},
                                                  {"GiB", 1u << 30, 1},
                                                  {"bit", 1, 8},
                                                  {"kbit", 1'000u, 8},
                                                  {"Mbit", 1'000'000u, 8},
                                                  {"Gbit", 1'000'000'000u, 8}}};

template <std::size_t N>
std::string unit_list(const std::array<unit, N>& units) {
  std::string list;
  for (const auto& u : units)
    if (!u.name.empty()) list += (list.empty() ? "" : ", ") + std::string(u.name);
  return list;
}

// Why a number and its unit make no value of the result's unit.
enum class scaling { exact, too_large, too_fine };

// "12.05": whole 12, fraction 5 of 10^2. Trailing zeros of the fraction are dropped ("1.50" is 1.5).
struct decimal {
  std::uint64_t whole = 0;
  std::uint64_t fraction = 0;
  std::uint64_t fraction_scale = 1;
  bool whole_overflows = false;    // more than 2^64-1
  bool fraction_too_long = false;  // more than 9 significant digits after the point
};

inline bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
inline bool is_letter(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Digits, then optionally '.' and digits, from text[pos] (a digit). Advances pos past them; false for a '.' that no
// digit follows.
inline bool read_decimal(std::string_view text, std::size_t& pos, decimal& out) {
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  for (; pos < text.size() && is_digit(text[pos]); ++pos) {
    const auto digit = static_cast<std::uint64_t>(text[pos] - '0');
    if (out.whole > (max - digit) / 10) out.whole_overflows = true;
    else out.whole = out.whole * 10 + digit;
  }
  if (pos == text.size() || text[pos] != '.') return true;
  ++pos;
  if (pos == text.size() || !is_digit(text[pos])) return false;
  std::string_view digits;
  const std::size_t start = pos;
  while (pos < text.size() && is_digit(text[pos])) ++pos;
  digits = text.substr(start, pos - start);
  while (!digits.empty() && digits.back() == '0') digits.remove_suffix(1);
  // 9 digits keep fraction * numerator below 2^64 for every unit above (3.6e9 * 1e9 < 1.8e19).
  if (digits.size() > 9) out.fraction_too_long = true;
  else
    for (const char c : digits) {
      out.fraction = out.fraction * 10 + static_cast<std::uint64_t>(c - '0');
      out.fraction_scale *= 10;
    }
  return true;
}

// d × numerator / denominator, exactly.
inline scaling scale(const decimal& d, const unit& u, std::uint64_t& out) {
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  if (d.whole_overflows || d.whole > max / u.numerator) return scaling::too_large;
  if (d.fraction_too_long) return scaling::too_fine;
  const std::uint64_t fraction = d.fraction * u.numerator;
  if (fraction % d.fraction_scale != 0) return scaling::too_fine;
  const std::uint64_t whole = d.whole * u.numerator;
  if (whole > max - fraction / d.fraction_scale) return scaling::too_large;
  const std::uint64_t total = whole + fraction / d.fraction_scale;
  if (total % u.denominator != 0) return scaling::too_fine;
  out = total / u.denominator;
  return scaling::exact;
}

inline std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

template <class T>
boost::system::result<T> refuse(std::string_view text, std::string_view kind, const std::string& reason,
                                std::string* why) {
  if (why) *why = quoted(text) + " is not " + std::string(kind) + ": " + reason;
  return make_error_code(errc::bad_quantity);
}

// A size: one number and its unit (`units`, `suffix` after each, such as "/s" for a rate), for read_size and read_rate.
inline boost::system::result<std::uint64_t> read_amount(std::string_view text, std::string_view number_and_unit,
                                                        std::string_view kind, std::string_view suffix,
                                                        std::string_view result_unit, zero_value zero,
                                                        std::string* why) {
  using result = boost::system::result<std::uint64_t>;
  if (text.empty()) return refuse<std::uint64_t>(text, kind, "it is empty", why);
  if (text.front() == '-') return refuse<std::uint64_t>(text, kind, "it is negative", why);
  if (!is_digit(number_and_unit.empty() ? '\0' : number_and_unit.front()))
    return refuse<std::uint64_t>(text, kind, "expected a number first", why);
  std::size_t pos = 0;
  decimal d;
  if (!read_decimal(number_and_unit, pos, d))
    return refuse<std::uint64_t>(text, kind, "expected a digit after the '.'", why);
  const auto name = number_and_unit.substr(pos);
  const unit* found = nullptr;
  for (const auto& u : size_units)
    if (u.name == name) found = &u;
  if (!found) {
    std::string units = unit_list(size_units);
    if (!suffix.empty()) units += ", each followed by " + std::string(suffix);
    return refuse<std::uint64_t>(text, kind, "unit " + quoted(name) + " is not one of " + units, why);
  }
  std::uint64_t value = 0;
  switch (scale(d, *found, value)) {
    case scaling::too_large:
      return refuse<std::uint64_t>(text, kind,
                                   "more than " + std::to_string(std::numeric_limits<std::uint64_t>::max()) + " " +
                                       std::string(result_unit),
                                   why);
    case scaling::too_fine:
      return refuse<std::uint64_t>(text, kind, "not a whole number of " + std::string(result_unit), why);
    case scaling::exact: break;
  }
  if (value == 0 && zero == zero_value::refuse)
    return refuse<std::uint64_t>(text, std::string(kind) + " here", "it must be more than 0", why);
  return result(value);
}

}  // namespace quantity_detail

inline boost::system::result<std::chrono::microseconds> read_duration(std::string_view text, zero_value zero,
                                                                      std::string* why) {
  using namespace quantity_detail;
  using result = boost::system::result<std::chrono::microseconds>;
  constexpr std::string_view kind = "a duration";
  const auto longest = static_cast<std::uint64_t>(std::chrono::microseconds(longest_duration).count());
  const auto fail = [&](const std::string& reason) { return refuse<std::chrono::microseconds>(text, kind, reason, why); };
  if (text.empty()) return fail("it is empty");
  if (text.front() == '-') return fail("it is negative");
  std::uint64_t total = 0;
  std::size_t next_unit = 0;  // duration_units from here on: each part's unit is smaller than the one before
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (!is_digit(text[pos]))
      return fail("expected a number" + std::string(pos == 0 ? "" : " after " + quoted(text.substr(0, pos))) +
                  ", found " + quoted(text.substr(pos, 1)));
    const std::size_t number_start = pos;
    decimal d;
    if (!read_decimal(text, pos, d)) return fail("expected a digit after the '.'");
    const std::size_t unit_start = pos;
    while (pos < text.size() && is_letter(text[pos])) ++pos;
    std::string_view name = text.substr(unit_start, pos - unit_start);
    if (name.empty()) {
      if (pos < text.size())
        return fail("unexpected " + quoted(text.substr(pos, 1)) + " after " + quoted(text.substr(0, pos)));
      if (number_start != 0)
        return fail(quoted(text.substr(number_start)) + " has no unit (only a lone number means seconds)");
      name = "s";
    }
    std::size_t index = 0;
    while (index < duration_units.size() && duration_units[index].name != name) ++index;
    if (index == duration_units.size())
      return fail("unit " + quoted(name) + " is not one of " + unit_list(duration_units));
    if (index < next_unit)
      return fail("its units go from the largest to the smallest, each once (h, m, s, ms, us: 1h30m, 4m30s)");
    next_unit = index + 1;
    std::uint64_t part = 0;
    const auto scaled = scale(d, duration_units[index], part);
    if (scaled == scaling::too_fine) return fail("finer than a microsecond");
    if (scaled == scaling::too_large || part > longest - total) return fail("longer than 24h");
    total += part;
  }
  if (total == 0 && zero == zero_value::refuse)
    return refuse<std::chrono::microseconds>(text, "a duration here", "it must be more than 0", why);
  return result(std::chrono::microseconds(static_cast<std::chrono::microseconds::rep>(total)));
}

inline std::string format_duration(std::chrono::microseconds d) {
  const auto us = d.count();
  if (us == 0) return "0ms";
  for (const auto& u : quantity_detail::duration_units) {
    const auto size = static_cast<std::chrono::microseconds::rep>(u.numerator);
    if (us % size == 0) return std::to_string(us / size) + std::string(u.name);
  }
  return std::to_string(us) + "us";  // not reached: every count is a whole number of microseconds
}

inline boost::system::result<std::uint64_t> read_size(std::string_view text, zero_value zero, std::string* why) {
  return quantity_detail::read_amount(text, text, "a size", "", "bytes", zero, why);
}

inline boost::system::result<std::uint64_t> read_rate(std::string_view text, zero_value zero, std::string* why) {
  constexpr std::string_view per_second = "/s";
  std::string_view amount = text;
  if (amount.ends_with(per_second)) {
    amount.remove_suffix(per_second.size());
  } else if (const auto size = read_size(text, zero_value::allow, nullptr);
             size && !text.empty() && quantity_detail::is_letter(text.back())) {
    return quantity_detail::refuse<std::uint64_t>(
        text, "a rate", "a size with a unit says how much, not how fast: write " +
                            quantity_detail::quoted(std::string(text) + std::string(per_second)),
        why);
  }
  return quantity_detail::read_amount(text, amount, "a rate", per_second, "bytes per second", zero, why);
}

}  // namespace rdp::net
