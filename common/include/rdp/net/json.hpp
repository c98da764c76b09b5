#pragma once
// The JSON idioms rdpprobe's reports and rdpsim's control interface share, header-only on nlohmann::json: a field
// that is absent is null (never "" or 0, which could be real values), and a 32-bit code is "0x%08X" text, as the
// spec tables print it (MS-RDPBCGR 2.2.5.1.1 errorInfo, 2.2.1.3.2 version, 2.2.1.3.2 earlyCapabilityFlags).
// Text from the wire still goes through make_wire_safe / to_valid_utf8 before it is written.
#include "rdp/protocol/bytes.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace rdp::net {

// null for an empty string (nothing was seen), the string otherwise.
inline nlohmann::json text_or_null(const std::string& s) {
  return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
}

// null for nullopt, the value otherwise.
template <class T>
nlohmann::json value_or_null(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

// null for nullopt, f(value) otherwise (e.g. a nested object's to_json).
template <class T, class F>
nlohmann::json map_or_null(const std::optional<T>& v, F&& f) {
  return v ? nlohmann::json(std::forward<F>(f)(*v)) : nlohmann::json(nullptr);
}

// null for nullopt, "0x00000007" otherwise.
inline nlohmann::json hex32_or_null(const std::optional<std::uint32_t>& v) {
  return v ? nlohmann::json(protocol::hex32(*v)) : nlohmann::json(nullptr);
}

// null for nullopt, the value rounded to three decimals otherwise: a microsecond of a timing in milliseconds, a
// millisecond of a clock skew in seconds — all a report needs, and the digits after that are only noise.
inline nlohmann::json rounded_or_null(const std::optional<double>& v) {
  return v ? nlohmann::json(std::round(*v * 1000.0) / 1000.0) : nlohmann::json(nullptr);
}

}  // namespace rdp::net
