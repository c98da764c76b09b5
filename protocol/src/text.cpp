#include "rdp/protocol/text.hpp"

namespace rdp::protocol {

namespace {

constexpr char32_t replacement = 0xFFFD;

// Decodes one code point at `raw[i]`. On success returns its length and sets `cp`; on an ill-formed sequence
// returns the length of its maximal subpart (at least 1) and sets `cp` to replacement. Table 3-7 of the Unicode
// standard (well-formed UTF-8 byte sequences) is followed byte range by byte range.
std::size_t decode_one(std::string_view raw, std::size_t i, char32_t& cp) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(raw[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) length = 2;
  else if (b0 == 0xE0) length = 3, low = 0xA0;
  else if (b0 >= 0xE1 && b0 <= 0xEC) length = 3;
  else if (b0 == 0xED) length = 3, high = 0x9F;  // no surrogates
  else if (b0 >= 0xEE && b0 <= 0xEF) length = 3;
  else if (b0 == 0xF0) length = 4, low = 0x90;
  else if (b0 >= 0xF1 && b0 <= 0xF3) length = 4;
  else if (b0 == 0xF4) length = 4, high = 0x8F;  // nothing above U+10FFFF
  else {
    cp = replacement;
    return 1;
  }
  char32_t value = b0 & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07);
  for (std::size_t k = 1; k < length; ++k) {
    if (i + k >= raw.size()) {
      cp = replacement;
      return k;
    }
    const unsigned char b = byte(i + k);
    const unsigned char lo = k == 1 ? low : 0x80, hi = k == 1 ? high : 0xBF;
    if (b < lo || b > hi) {
      cp = replacement;
      return k;
    }
    value = (value << 6) | (b & 0x3F);
  }
  cp = value;
  return length;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool is_control(char32_t cp) noexcept { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

void append_escaped_byte(std::string& out, unsigned char b) {
  out += "\\x";
  append_hex(out, b);
}

}  // namespace

bool is_valid_utf8(std::string_view raw) noexcept {
  for (std::size_t i = 0; i < raw.size();) {
    char32_t cp = 0;
    const auto n = decode_one(raw, i, cp);
    if (cp == replacement && !(n == 3 && raw.substr(i, 3) == "\xEF\xBF\xBD")) return false;
    i += n;
  }
  return true;
}

std::string to_valid_utf8(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size();) {
    char32_t cp = 0;
    const auto n = decode_one(raw, i, cp);
    if (cp == replacement) append_utf8(out, replacement);
    else out.append(raw.substr(i, n));
    i += n;
  }
  return out;
}

std::string escape_xml(std::string_view raw) {
  const std::string s = to_xml_chars(raw);
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string to_xml_chars(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size();) {
    char32_t cp = 0;
    const auto n = decode_one(raw, i, cp);
    const bool allowed = cp == 0x09 || cp == 0x0A || cp == 0x0D || (cp >= 0x20 && cp != 0xFFFE && cp != 0xFFFF);
    if (cp == replacement || !allowed) append_utf8(out, replacement);
    else out.append(raw.substr(i, n));
    i += n;
  }
  return out;
}

std::string escape_for_terminal(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size();) {
    char32_t cp = 0;
    const auto n = decode_one(raw, i, cp);
    const bool ill_formed = cp == replacement && raw.substr(i, n) != "\xEF\xBF\xBD";
    if (ill_formed) {
      for (std::size_t k = 0; k < n; ++k) append_escaped_byte(out, static_cast<unsigned char>(raw[i + k]));
    } else if (cp == '\\') {
      out += "\\\\";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (is_control(cp)) {
      // A C1 control is two bytes in UTF-8; both are shown, so the escape says exactly what was sent.
      for (std::size_t k = 0; k < n; ++k) append_escaped_byte(out, static_cast<unsigned char>(raw[i + k]));
    } else {
      out.append(raw.substr(i, n));
    }
    i += n;
  }
  return out;
}

bool needs_raw_hex(std::string_view raw) noexcept {
  for (std::size_t i = 0; i < raw.size();) {
    char32_t cp = 0;
    const auto n = decode_one(raw, i, cp);
    if (cp == replacement && raw.substr(i, n) != "\xEF\xBF\xBD") return true;
    if (is_control(cp) && cp != '\t' && cp != '\n' && cp != '\r') return true;
    i += n;
  }
  return false;
}

}  // namespace rdp::protocol
