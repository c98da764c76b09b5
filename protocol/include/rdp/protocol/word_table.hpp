#pragma once
// A closed vocabulary: each value of an enum with the one word that names it in files, flags and output. One table
// per vocabulary, read both ways, so a word and its value can never drift apart (the scenario schema's words, the
// proxy's fault words).
#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace rdp::protocol {

template <class T, std::size_t N>
using word_table = std::array<std::pair<T, std::string_view>, N>;

// The word of `value`; "?" for a value the table lacks (a table that misses a value is a bug its tests catch).
template <class T, std::size_t N>
constexpr std::string_view word_of(const word_table<T, N>& table, T value) noexcept {
  for (const auto& [v, word] : table)
    if (v == value) return word;
  return "?";
}

template <class T, std::size_t N>
constexpr std::optional<T> value_of(const word_table<T, N>& table, std::string_view word) noexcept {
  for (const auto& [v, w] : table)
    if (w == word) return v;
  return std::nullopt;
}

// The words joined by `between`, the last two by `last` when it is given: "a, b, c", or "a, b or c".
template <class T, std::size_t N>
std::string list_words(const word_table<T, N>& table, std::string_view between = ", ", std::string_view last = {}) {
  std::string list;
  for (std::size_t i = 0; i < N; ++i) {
    if (i > 0) list += (i + 1 == N && !last.empty()) ? std::string(last) : std::string(between);
    list += table[i].second;
  }
  return list;
}

template <std::size_t N>
std::string list_words(const std::array<std::string_view, N>& words, std::string_view between = ", ") {
  std::string list;
  for (std::size_t i = 0; i < N; ++i) list += (i > 0 ? std::string(between) : std::string()) + std::string(words[i]);
  return list;
}

}  // namespace rdp::protocol
