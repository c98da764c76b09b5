// The one grammar of durations, sizes and rates (common/include/rdp/net/quantity.hpp, docs/quantities.md): every form
// it reads, every refusal with the sentence a user sees, and the formatter that reads back. Pure: no sockets.
#include "rdp/net/endpoint.hpp"
#include "rdp/net/quantity.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace {

using namespace std::chrono_literals;
using rdp::net::zero_value;
using std::chrono::microseconds;

microseconds duration_of(std::string_view text, zero_value zero = zero_value::refuse) {
  std::string why;
  const auto d = rdp::net::read_duration(text, zero, &why);
  EXPECT_TRUE(d) << text << ": " << why;
  return d ? *d : microseconds(-1);
}

std::string duration_error(std::string_view text, zero_value zero = zero_value::refuse) {
  std::string why;
  const auto d = rdp::net::read_duration(text, zero, &why);
  EXPECT_FALSE(d) << text;
  if (d) return "read as " + std::to_string(d->count()) + "us";
  EXPECT_EQ(d.error(), rdp::net::errc::bad_quantity);
  return why;
}

std::uint64_t size_of(std::string_view text) {
  std::string why;
  const auto s = rdp::net::read_size(text, zero_value::allow, &why);
  EXPECT_TRUE(s) << text << ": " << why;
  return s ? *s : 0;
}

std::string size_error(std::string_view text, zero_value zero = zero_value::allow) {
  std::string why;
  const auto s = rdp::net::read_size(text, zero, &why);
  EXPECT_FALSE(s) << text;
  return s ? "read as " + std::to_string(*s) : why;
}

std::uint64_t rate_of(std::string_view text) {
  std::string why;
  const auto r = rdp::net::read_rate(text, zero_value::allow, &why);
  EXPECT_TRUE(r) << text << ": " << why;
  return r ? *r : 0;
}

std::string rate_error(std::string_view text, zero_value zero = zero_value::allow) {
  std::string why;
  const auto r = rdp::net::read_rate(text, zero, &why);
  EXPECT_FALSE(r) << text;
  return r ? "read as " + std::to_string(*r) : why;
}

TEST(Durations, EveryForm) {
  EXPECT_EQ(duration_of("250us"), 250us);
  EXPECT_EQ(duration_of("500ms"), 500ms);
  EXPECT_EQ(duration_of("30s"), 30s);
  EXPECT_EQ(duration_of("30"), 30s);  // a lone number is seconds
  EXPECT_EQ(duration_of("2m"), 2min);
  EXPECT_EQ(duration_of("1h"), 1h);
  EXPECT_EQ(duration_of("24h"), 24h);
  EXPECT_EQ(duration_of("4m30s"), 4min + 30s);
  EXPECT_EQ(duration_of("1h30m"), 90min);
  EXPECT_EQ(duration_of("1h0m5s250ms10us"), 1h + 5s + 250ms + 10us);
  // Decimals, read exactly.
  EXPECT_EQ(duration_of("1.5s"), 1500ms);
  EXPECT_EQ(duration_of("1.5"), 1500ms);
  EXPECT_EQ(duration_of("0.25ms"), 250us);
  EXPECT_EQ(duration_of("1.50m"), 90s);
  EXPECT_EQ(duration_of("0.000001s"), 1us);
  EXPECT_EQ(duration_of("0.5h"), 30min);
  EXPECT_EQ(duration_of("0.000250000s"), 250us);  // trailing zeros are no finer
}

TEST(Durations, ZeroOnlyWhereTheCallerAllowsIt) {
  for (const char* zero : {"0", "0s", "0ms", "0us", "0h0m", "0.0s"}) {
    EXPECT_EQ(duration_of(zero, zero_value::allow), 0us) << zero;
    EXPECT_EQ(duration_error(zero), "'" + std::string(zero) + "' is not a duration here: it must be more than 0");
  }
}

TEST(Durations, EveryRefusalSaysWhatIsWrong) {
  EXPECT_EQ(duration_error(""), "'' is not a duration: it is empty");
  EXPECT_EQ(duration_error("4x"), "'4x' is not a duration: unit 'x' is not one of h, m, s, ms, us");
  EXPECT_EQ(duration_error("1d"), "'1d' is not a duration: unit 'd' is not one of h, m, s, ms, us");
  EXPECT_EQ(duration_error("1H"), "'1H' is not a duration: unit 'H' is not one of h, m, s, ms, us");
  EXPECT_EQ(duration_error("1e3s"), "'1e3s' is not a duration: unit 'e' is not one of h, m, s, ms, us");
  EXPECT_EQ(duration_error("-1s"), "'-1s' is not a duration: it is negative");
  EXPECT_EQ(duration_error("+1s"), "'+1s' is not a duration: expected a number, found '+'");
  EXPECT_EQ(duration_error("soon"), "'soon' is not a duration: expected a number, found 's'");
  EXPECT_EQ(duration_error(".5s"), "'.5s' is not a duration: expected a number, found '.'");
  EXPECT_EQ(duration_error("1.s"), "'1.s' is not a duration: expected a digit after the '.'");
  EXPECT_EQ(duration_error("3 s"), "'3 s' is not a duration: unexpected ' ' after '3'");
  EXPECT_EQ(duration_error("1m.s"), "'1m.s' is not a duration: expected a number after '1m', found '.'");
  EXPECT_EQ(duration_error("4m30"), "'4m30' is not a duration: '30' has no unit (only a lone number means seconds)");
  EXPECT_EQ(duration_error("30s4m"),
            "'30s4m' is not a duration: its units go from the largest to the smallest, each once (h, m, s, ms, us: "
            "1h30m, 4m30s)");
  EXPECT_EQ(duration_error("1m1m"),
            "'1m1m' is not a duration: its units go from the largest to the smallest, each once (h, m, s, ms, us: "
            "1h30m, 4m30s)");
  EXPECT_EQ(duration_error("0.5us"), "'0.5us' is not a duration: finer than a microsecond");
  EXPECT_EQ(duration_error("1.0000001s"), "'1.0000001s' is not a duration: finer than a microsecond");
  EXPECT_EQ(duration_error("23.999999999h"), "'23.999999999h' is not a duration: finer than a microsecond");
  EXPECT_EQ(duration_error("1.0000000001s"), "'1.0000000001s' is not a duration: finer than a microsecond");
  EXPECT_EQ(duration_error("25h"), "'25h' is not a duration: longer than 24h");
  EXPECT_EQ(duration_error("24h1us"), "'24h1us' is not a duration: longer than 24h");
  EXPECT_EQ(duration_error("23h61m"), "'23h61m' is not a duration: longer than 24h");
  EXPECT_EQ(duration_error("99999999999h"), "'99999999999h' is not a duration: longer than 24h");
  EXPECT_EQ(duration_error("99999999999999999999999s"), "'99999999999999999999999s' is not a duration: longer than 24h");
}

TEST(Durations, FormatInTheLargestExactUnitAndReadBack) {
  using rdp::net::format_duration;
  EXPECT_EQ(format_duration(24h), "24h");
  EXPECT_EQ(format_duration(15min), "15m");
  EXPECT_EQ(format_duration(90min), "90m");
  EXPECT_EQ(format_duration(90s), "90s");
  EXPECT_EQ(format_duration(500ms), "500ms");
  EXPECT_EQ(format_duration(1500ms), "1500ms");
  EXPECT_EQ(format_duration(250us), "250us");
  EXPECT_EQ(format_duration(0ms), "0ms");
  for (const microseconds d : {microseconds(1us), microseconds(999us), microseconds(1ms), microseconds(999ms),
                               microseconds(1s), microseconds(61s), microseconds(1h), microseconds(24h),
                               microseconds(24h - 1us)})
    EXPECT_EQ(duration_of(format_duration(d)), d) << format_duration(d);
  EXPECT_EQ(duration_of(format_duration(0us), zero_value::allow), 0us);
}

// net::parse_duration: the same grammar for the flags that keep milliseconds; 0 and sub-millisecond refused.
TEST(Durations, FlagsInMilliseconds) {
  using rdp::net::parse_duration;
  EXPECT_EQ(parse_duration("500ms").value(), 500ms);
  EXPECT_EQ(parse_duration("1.5s").value(), 1500ms);
  EXPECT_EQ(parse_duration("2").value(), 2s);
  EXPECT_EQ(parse_duration("1h").value(), 1h);
  EXPECT_EQ(parse_duration("4m30s").value(), 4min + 30s);
  EXPECT_EQ(parse_duration("1000us").value(), 1ms);
  std::string why;
  EXPECT_FALSE(parse_duration("1500us", &why));
  EXPECT_EQ(why, "'1500us' is not a whole number of milliseconds");
  EXPECT_FALSE(parse_duration("0", &why));
  EXPECT_EQ(why, "'0' is not a duration here: it must be more than 0");
  // A flag's message is printed as it is: the text is escaped here.
  EXPECT_FALSE(parse_duration("1\x1b[2J", &why));
  EXPECT_EQ(why, "'1\\x1b[2J' is not a duration: unexpected '\\x1b' after '1'");
  for (const char* bad : {"", "-1s", "soon", "25h", "0.1ms", "3 s"}) EXPECT_FALSE(parse_duration(bad)) << bad;
}

TEST(Sizes, EveryForm) {
  EXPECT_EQ(size_of("1500"), 1500u);
  EXPECT_EQ(size_of("1500B"), 1500u);
  EXPECT_EQ(size_of("64kB"), 64000u);
  EXPECT_EQ(size_of("64KB"), 64000u);
  EXPECT_EQ(size_of("1MB"), 1000000u);
  EXPECT_EQ(size_of("2GB"), 2000000000u);
  EXPECT_EQ(size_of("64KiB"), 65536u);
  EXPECT_EQ(size_of("1MiB"), 1048576u);
  EXPECT_EQ(size_of("4GiB"), 4294967296u);
  EXPECT_EQ(size_of("1.5KiB"), 1536u);
  EXPECT_EQ(size_of("0.5MB"), 500000u);
  EXPECT_EQ(size_of("8bit"), 1u);
  EXPECT_EQ(size_of("10Mbit"), 1250000u);
  EXPECT_EQ(size_of("64kbit"), 8000u);
  EXPECT_EQ(size_of("1Gbit"), 125000000u);
  EXPECT_EQ(size_of("0"), 0u);
  EXPECT_EQ(size_of("18446744073709551615"), 18446744073709551615u);
}

TEST(Sizes, EveryRefusalSaysWhatIsWrong) {
  const std::string units = "B, kB, KB, MB, GB, KiB, MiB, GiB, bit, kbit, Mbit, Gbit";
  EXPECT_EQ(size_error(""), "'' is not a size: it is empty");
  EXPECT_EQ(size_error("-1"), "'-1' is not a size: it is negative");
  EXPECT_EQ(size_error("MB"), "'MB' is not a size: expected a number first");
  EXPECT_EQ(size_error("1 MB"), "'1 MB' is not a size: unit ' MB' is not one of " + units);
  EXPECT_EQ(size_error("1mb"), "'1mb' is not a size: unit 'mb' is not one of " + units);
  EXPECT_EQ(size_error("1TB"), "'1TB' is not a size: unit 'TB' is not one of " + units);
  EXPECT_EQ(size_error("1.5"), "'1.5' is not a size: not a whole number of bytes");
  EXPECT_EQ(size_error("1bit"), "'1bit' is not a size: not a whole number of bytes");
  EXPECT_EQ(size_error("18446744073709551616"), "'18446744073709551616' is not a size: more than 18446744073709551615 bytes");
  EXPECT_EQ(size_error("99999999999GB"), "'99999999999GB' is not a size: more than 18446744073709551615 bytes");
  EXPECT_EQ(size_error("0", zero_value::refuse), "'0' is not a size here: it must be more than 0");
}

TEST(Rates, EveryForm) {
  EXPECT_EQ(rate_of("1500"), 1500u);  // a lone number is bytes per second
  EXPECT_EQ(rate_of("1500/s"), 1500u);
  EXPECT_EQ(rate_of("1500B/s"), 1500u);
  EXPECT_EQ(rate_of("64KiB/s"), 65536u);
  EXPECT_EQ(rate_of("1MB/s"), 1000000u);
  EXPECT_EQ(rate_of("500kB/s"), 500000u);
  EXPECT_EQ(rate_of("10Mbit/s"), 1250000u);
  EXPECT_EQ(rate_of("1.5MB/s"), 1500000u);
  EXPECT_EQ(rate_of("0"), 0u);  // where the caller allows it: unlimited, in a scenario's bandwidth
}

TEST(Rates, EveryRefusalSaysWhatIsWrong) {
  const std::string units = "B, kB, KB, MB, GB, KiB, MiB, GiB, bit, kbit, Mbit, Gbit, each followed by /s";
  EXPECT_EQ(rate_error(""), "'' is not a rate: it is empty");
  EXPECT_EQ(rate_error("-1MB/s"), "'-1MB/s' is not a rate: it is negative");
  EXPECT_EQ(rate_error("/s"), "'/s' is not a rate: expected a number first");
  // A size with a unit says how much, not how fast.
  EXPECT_EQ(rate_error("10Mbit"), "'10Mbit' is not a rate: a size with a unit says how much, not how fast: write "
                                  "'10Mbit/s'");
  EXPECT_EQ(rate_error("1MB/h"), "'1MB/h' is not a rate: unit 'MB/h' is not one of " + units);
  EXPECT_EQ(rate_error("fast"), "'fast' is not a rate: expected a number first");
  EXPECT_EQ(rate_error("1bit/s"), "'1bit/s' is not a rate: not a whole number of bytes per second");
  EXPECT_EQ(rate_error("99999999999GB/s"),
            "'99999999999GB/s' is not a rate: more than 18446744073709551615 bytes per second");
  EXPECT_EQ(rate_error("0/s", zero_value::refuse), "'0/s' is not a rate here: it must be more than 0");
}

}  // namespace
