// yaml::reader and its helpers (rdp/yaml/reader.hpp): the typed reads of profiles and scenario files, in one wording.
#include "rdp/yaml/reader.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

namespace rdp::yaml {

std::string join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

std::string item(const std::string& path, std::size_t index0) { return path + "[" + std::to_string(index0 + 1) + "]"; }

std::string found(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing (null)";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  std::string text = node.Scalar();
  const bool cut = text.size() > 60;
  if (cut) text.resize(60);
  return "'" + text + (cut ? "…'" : "'");
}

std::optional<std::uint64_t> parse_whole(std::string_view text) {
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
    base = 16;
  }
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<bool> schema_bool(const YAML::Node& node) {
  if (!node.IsScalar()) return std::nullopt;
  if (node.Scalar() == "true") return true;
  if (node.Scalar() == "false") return false;
  return std::nullopt;
}

std::string schema_bool_hint(const YAML::Node& node) {
  bool ignored = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, ignored)) return {};
  return " (only the words true and false are booleans here, not YAML 1.1's yes/no, on/off, y/n or other casings)";
}

reader::reader(std::string source, std::string prefix) : source_(std::move(source)), prefix_(std::move(prefix)) {}

void reader::fail(const YAML::Node& at, const std::string& path, const std::string& why) const {
  throw error(located_message(source_, at.Mark(), path.empty() ? prefix_ : join(prefix_, path), why));
}

const YAML::Node& reader::keys(const YAML::Node& map, const std::string& path,
                               std::initializer_list<std::string_view> allowed, const std::string& what) const {
  return keys(map, path, std::span<const std::string_view>(allowed.begin(), allowed.size()), what);
}

const YAML::Node& reader::keys(const YAML::Node& map, const std::string& path,
                               std::span<const std::string_view> allowed, const std::string& what) const {
  if (!map.IsMap()) fail(map, path, "expected " + what + ", found " + found(map));
  for (const auto& entry : map) {
    if (!entry.first.IsScalar()) fail(entry.first, path, "expected a key name, found " + found(entry.first));
    const auto& key = entry.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string known;
      for (const auto k : allowed) known += (known.empty() ? "" : ", ") + std::string(k);
      fail(entry.first, join(path, key), "unknown key (known here: " + known + ")");
    }
  }
  return map;
}

const YAML::Node& reader::list(const YAML::Node& node, const std::string& path, const std::string& of,
                               empty_value empty) const {
  if (!node.IsSequence()) fail(node, path, "expected a list of " + of + ", found " + found(node));
  if (empty == empty_value::refuse && node.size() == 0)
    fail(node, path, "the list is empty: at least one " + of + " is needed");
  return node;
}

std::string reader::text(const YAML::Node& node, const std::string& path, const std::string& what,
                         empty_value empty) const {
  if (!node.IsScalar()) fail(node, path, "expected " + what + ", found " + found(node));
  if (empty == empty_value::refuse && node.Scalar().empty())
    fail(node, path, "expected " + what + ", found an empty value");
  return node.Scalar();
}

bool reader::flag(const YAML::Node& node, const std::string& path) const {
  const auto value = schema_bool(node);
  if (!value) fail(node, path, "expected true or false, found " + found(node) + schema_bool_hint(node));
  return *value;
}

std::uint64_t reader::whole(const YAML::Node& node, const std::string& path, std::uint64_t min,
                            std::uint64_t max) const {
  const auto value = node.IsScalar() ? parse_whole(node.Scalar()) : std::nullopt;
  if (!value || *value < min || *value > max)
    fail(node, path,
         "expected a whole number from " + std::to_string(min) + " to " + std::to_string(max) + ", found " +
             found(node));
  return *value;
}

bool reader::is_off(const YAML::Node& node) { return node.IsNull() || (node.IsScalar() && node.Scalar() == "none"); }

}  // namespace rdp::yaml
