#include "rdp/protocol/bytes.hpp"

#include <cstdio>

namespace rdp::protocol {

std::string hex32(std::uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08X", static_cast<unsigned>(value));
  return text;
}

}  // namespace rdp::protocol
