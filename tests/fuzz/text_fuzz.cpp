// Fuzzes protocol/text: whatever bytes come off the wire, the JSON/XML form is valid UTF-8, the XML form holds no
// character XML 1.0 forbids, the terminal form holds no control byte, and valid UTF-8 passes through unchanged.
#include "rdp/protocol/text.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace rdp::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  const auto valid = to_valid_utf8(raw);
  if (!is_valid_utf8(valid)) std::abort();
  if (is_valid_utf8(raw) != (valid == raw)) std::abort();
  const auto xml = to_xml_chars(raw);
  if (!is_valid_utf8(xml)) std::abort();
  for (const char c : xml) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 && b != '\t' && b != '\n' && b != '\r') std::abort();
  }
  const auto shown = escape_for_terminal(raw);
  if (!is_valid_utf8(shown)) std::abort();
  for (const char c : shown) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f) std::abort();
  }
  // No C1 control (U+0080..U+009F, encoded C2 80..C2 9F) survives either.
  for (std::size_t i = 0; i + 1 < shown.size(); ++i)
    if (static_cast<unsigned char>(shown[i]) == 0xC2 && static_cast<unsigned char>(shown[i + 1]) <= 0x9F) std::abort();
  if (to_hex(raw).size() != 2 * size) std::abort();
  if (!needs_raw_hex(raw) && valid != raw) std::abort();
  return 0;
}
