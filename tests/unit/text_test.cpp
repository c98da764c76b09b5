// protocol/text: wire bytes made safe for JSON/XML (valid UTF-8), for a terminal (escaped) and kept as hex.
#include "rdp/protocol/text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace rdp::protocol {
namespace {

using namespace std::string_literals;

// The SAN a hostile server sent in issue 12: an invalid byte, then an OSC title-setting sequence ended by BEL.
const std::string hostile = "a\xff\x1b]0;pwn\a"s;

TEST(WireText, ValidUtf8IsKeptAsIs) {
  for (const std::string& s : {""s, "plain"s, "caf\xc3\xa9"s, "\xe2\x82\xac 100"s, "\xf0\x9f\x98\x80"s, "\xef\xbf\xbd"s}) {
    EXPECT_TRUE(is_valid_utf8(s)) << to_hex(s);
    EXPECT_EQ(to_valid_utf8(s), s);
  }
}

TEST(WireText, IllFormedSequencesAreRejectedAndReplaced) {
  struct case_t {
    std::string raw, replaced;
  };
  const std::string fffd = "\xef\xbf\xbd";
  const case_t cases[] = {
      {"\xff"s, fffd},
      {"\xc0\xaf"s, fffd + fffd},                     // overlong '/'
      {"\xe0\x80\xaf"s, fffd + fffd + fffd},          // overlong, 3 bytes
      {"\xed\xa0\x80"s, fffd + fffd + fffd},          // a UTF-16 surrogate
      {"\xf4\x90\x80\x80"s, fffd + fffd + fffd + fffd},  // above U+10FFFF
      {"\xe2\x82"s, fffd},                            // truncated: one maximal subpart
      {"a\xe2\x82z"s, "a" + fffd + "z"},
      {"\xc3"s, fffd},
  };
  for (const auto& c : cases) {
    EXPECT_FALSE(is_valid_utf8(c.raw)) << to_hex(c.raw);
    EXPECT_EQ(to_valid_utf8(c.raw), c.replaced) << to_hex(c.raw);
    EXPECT_TRUE(is_valid_utf8(to_valid_utf8(c.raw)));
    EXPECT_TRUE(needs_raw_hex(c.raw));
  }
}

TEST(WireText, TerminalEscapingLeavesNoControlByte) {
  const auto shown = escape_for_terminal(hostile);
  EXPECT_EQ(shown, "a\\xff\\x1b]0;pwn\\x07");
  for (const char c : shown) EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == 0x7f);
  // C1 controls (U+009B is CSI on some terminals) are shown as their two bytes.
  EXPECT_EQ(escape_for_terminal("x\xc2\x9b" "31m"s), "x\\xc2\\x9b31m");
  EXPECT_EQ(escape_for_terminal("back\\slash\ttab\nnl\r\x7f"s), "back\\\\slash\\ttab\\nnl\\r\\x7f");
  EXPECT_EQ(escape_for_terminal("caf\xc3\xa9"s), "caf\xc3\xa9");
}

TEST(WireText, XmlCharsAreValidXml10) {
  const auto xml = to_xml_chars(hostile);
  EXPECT_TRUE(is_valid_utf8(xml));
  EXPECT_EQ(xml, "a\xef\xbf\xbd\xef\xbf\xbd]0;pwn\xef\xbf\xbd");
  EXPECT_EQ(to_xml_chars("tab\tlf\ncr\r"s), "tab\tlf\ncr\r");
  EXPECT_EQ(to_xml_chars("\xef\xbf\xbe"s), "\xef\xbf\xbd");  // U+FFFE is not an XML character
  EXPECT_EQ(to_xml_chars(std::string(1, '\0')), "\xef\xbf\xbd");
}

TEST(WireText, HexAndWhenItIsNeeded) {
  EXPECT_EQ(to_hex(hostile), "61ff1b5d303b70776e07");
  EXPECT_TRUE(needs_raw_hex(hostile));
  EXPECT_TRUE(needs_raw_hex("\x1b[2J"s));
  EXPECT_FALSE(needs_raw_hex("CN=rdpsim-demo, O=Caf\xc3\xa9\tx"s));
  EXPECT_FALSE(needs_raw_hex(""));
}

// Every byte string of length 1 and 2 (and a sample of 3): the outputs are always valid UTF-8 and free of controls.
TEST(WireText, ExhaustiveShortInputs) {
  auto check = [](const std::string& raw) {
    ASSERT_TRUE(is_valid_utf8(to_valid_utf8(raw))) << to_hex(raw);
    ASSERT_TRUE(is_valid_utf8(to_xml_chars(raw))) << to_hex(raw);
    const auto shown = escape_for_terminal(raw);
    ASSERT_TRUE(is_valid_utf8(shown)) << to_hex(raw);
    for (const char c : shown) ASSERT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == 0x7f) << to_hex(raw);
    ASSERT_EQ(is_valid_utf8(raw), to_valid_utf8(raw) == raw) << to_hex(raw);
  };
  for (int a = 0; a < 256; ++a) {
    check(std::string(1, static_cast<char>(a)));
    for (int b = 0; b < 256; ++b) check(std::string{static_cast<char>(a), static_cast<char>(b)});
  }
  for (int a = 0xe0; a < 0xf5; ++a)
    for (int b = 0x70; b < 0xd0; ++b)
      for (int c = 0x70; c < 0xd0; c += 7) check(std::string{static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)});
}

}  // namespace
}  // namespace rdp::protocol
