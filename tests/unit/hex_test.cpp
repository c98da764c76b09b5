// protocol/hex: the one way the tools write hex. Numbers "0x" and upper case, zero-padded; bytes lower case.
#include "rdp/protocol/hex.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>

namespace rdp::protocol {
namespace {

using namespace std::string_literals;

TEST(Hex, NumbersAsTheSpecsWriteThem) {
  // requestedProtocols and flags (MS-RDPBCGR 2.2.1.1.1): two digits at least.
  EXPECT_EQ(hex_number(0x0B, 2), "0x0B");
  EXPECT_EQ(hex_number(0, 2), "0x00");
  EXPECT_EQ(hex_number(0x10B, 2), "0x10B");  // never cut: wider values keep every digit, as printf's %02X
  // SRC-REF, SMB commands: four.
  EXPECT_EQ(hex_number(0x1234, 4), "0x1234");
  EXPECT_EQ(hex_number(0xF0, 4), "0x00F0");
  // 32-bit codes: errorInfo, NTSTATUS (as FreeRDP and Windows print them).
  EXPECT_EQ(hex32(0x0000000C), "0x0000000C");
  EXPECT_EQ(hex32(0xC000006D), "0xC000006D");
  EXPECT_EQ(hex32(0xFFFFFFFF), "0xFFFFFFFF");
  EXPECT_EQ(hex32(0), "0x00000000");
  EXPECT_EQ(hex_number(0xDEADBEEF, 0), "0xDEADBEEF");
  EXPECT_EQ(hex_number(0, 0), "0x0");  // one digit at least
}

TEST(Hex, BytesLowerCaseTwoDigitsEach) {
  const std::array<std::uint8_t, 4> bytes{0x7f, 0x45, 0x4c, 0x00};
  EXPECT_EQ(to_hex(bytes), "7f454c00");
  EXPECT_EQ(to_hex(bytes, " "), "7f 45 4c 00");
  EXPECT_EQ(to_hex(bytes, ":"), "7f:45:4c:00");
  EXPECT_EQ(to_hex(std::span<const std::uint8_t>()), "");
  EXPECT_EQ(to_hex("a\xff\x1b"s), "61ff1b");
  EXPECT_EQ(to_hex(std::string_view()), "");
  std::string escaped = "\\x";
  append_hex(escaped, 0x1b);
  EXPECT_EQ(escaped, "\\x1b");
}

}  // namespace
}  // namespace rdp::protocol
