#pragma once
// Test helper: "03 00 00 0b" → bytes, and back, so vectors read like the captures they came from.
#include "rdp/protocol/hex.hpp"

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rdp::test {

inline std::vector<std::uint8_t> hex(std::string_view text) {
  std::vector<std::uint8_t> out;
  int high = -1;
  for (char c : text) {
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else if (c == ' ' || c == '\n' || c == '|' || c == ':') continue;
    else throw std::invalid_argument("bad hex digit in test vector");
    if (high < 0) high = v;
    else {
      out.push_back(static_cast<std::uint8_t>(high * 16 + v));
      high = -1;
    }
  }
  if (high >= 0) throw std::invalid_argument("odd number of hex digits in test vector");
  return out;
}

// "03 00 00 0b": protocol::to_hex, spaced as the vectors are written.
inline std::string to_hex(std::span<const std::uint8_t> bytes) { return protocol::to_hex(bytes, " "); }

}  // namespace rdp::test
