#pragma once
// Test helper: findings and notes are lists of sentences (probe::local_report); these search and print them.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace rdp::test {

// Whether any line contains `needle`.
inline bool contains(const std::vector<std::string>& lines, std::string_view needle) {
  return std::any_of(lines.begin(), lines.end(), [&](const auto& l) { return l.find(needle) != std::string::npos; });
}

// The lines, one per line, for a failure message.
inline std::string joined(const std::vector<std::string>& lines) {
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  return all;
}

}  // namespace rdp::test
