#include "rdp/protocol/hex.hpp"

namespace rdp::protocol {
namespace {

constexpr std::string_view lower_digits = "0123456789abcdef";
constexpr std::string_view upper_digits = "0123456789ABCDEF";

}  // namespace

std::string hex_number(std::uint32_t value, int digits) {
  std::string reversed;
  for (int i = 0; i < digits || value != 0 || i == 0; ++i, value >>= 4) reversed += upper_digits[value & 0xFu];
  return "0x" + std::string(reversed.rbegin(), reversed.rend());
}

std::string hex32(std::uint32_t value) { return hex_number(value, 8); }

void append_hex(std::string& out, std::uint8_t byte) {
  out += lower_digits[byte >> 4];
  out += lower_digits[byte & 0x0Fu];
}

std::string to_hex(std::span<const std::uint8_t> bytes, std::string_view between) {
  std::string out;
  out.reserve(bytes.size() * (2 + between.size()));
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i != 0) out += between;
    append_hex(out, bytes[i]);
  }
  return out;
}

std::string to_hex(std::string_view raw, std::string_view between) {
  return to_hex(std::span(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size()), between);
}

}  // namespace rdp::protocol
