#pragma once
// Hex, the one way the tools write it (every report, log line and JSON member):
//  - numbers (codes, flags, requested protocols) as MS-RDPBCGR, FreeRDP and Windows write them: "0x" and upper-case
//    digits, zero-padded ("0x0B", "0x0000000C");
//  - bytes (dumps of unknown data, digests, tokens, \xNN escapes) lower-case, two digits each ("a1ff1b", "7f 45 4c").
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace rdp::protocol {

// "0x" and `value` in upper-case hex, at least `digits` digits: hex_number(0x0B, 2) is "0x0B", hex_number(0x1F40, 4)
// "0x1F40", hex_number(0x10B, 2) "0x10B" (printf's "0x%0*X").
std::string hex_number(std::uint32_t value, int digits);

// hex_number(value, 8), "0x0000000C": a 32-bit code (errorInfo, NTSTATUS, versions, flags).
std::string hex32(std::uint32_t value);

// Lower-case hex of the bytes, two digits each, `between` between them: "a1ff1b", or "7f 45 4c" with " ".
std::string to_hex(std::span<const std::uint8_t> bytes, std::string_view between = {});
std::string to_hex(std::string_view raw, std::string_view between = {});

// Appends the two lower-case hex digits of `byte` ("1b"), for escapes built a character at a time (\x1b).
void append_hex(std::string& out, std::uint8_t byte);

}  // namespace rdp::protocol
