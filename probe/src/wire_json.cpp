#include "rdp/probe/wire_json.hpp"

#include "rdp/protocol/text.hpp"

#include <nlohmann/json.hpp>

#include <utility>
#include <vector>

namespace rdp::probe {
namespace {

using nlohmann::json;

// A string in place made valid; returns whether its raw bytes are worth keeping as hex, and their hex.
bool make_valid(json& value, std::string& hex) {
  const auto& raw = value.get_ref<const std::string&>();
  const bool needs = protocol::needs_raw_hex(raw);
  if (needs) hex = protocol::to_hex(raw);
  if (!protocol::is_valid_utf8(raw)) value = protocol::to_valid_utf8(raw);
  return needs;
}

}  // namespace

void make_wire_safe(json& j) {
  if (j.is_array()) {
    for (auto& e : j) {
      std::string ignored;
      if (e.is_string()) make_valid(e, ignored);
      else make_wire_safe(e);
    }
    return;
  }
  if (!j.is_object()) return;
  // Added after the walk: inserting into the object while iterating it would invalidate the iterators.
  std::vector<std::pair<std::string, json>> raw_members;
  for (auto it = j.begin(); it != j.end(); ++it) {
    auto& value = it.value();
    std::string hex_name = it.key() + "_hex";
    if (value.is_string()) {
      std::string hex;
      if (make_valid(value, hex) && !j.contains(hex_name)) raw_members.emplace_back(std::move(hex_name), hex);
    } else if (value.is_array()) {
      json hexes = json::array();
      bool any = false;
      for (auto& e : value) {
        std::string hex;
        if (e.is_string() && make_valid(e, hex)) {
          hexes.push_back(hex);
          any = true;
        } else {
          if (!e.is_string()) make_wire_safe(e);
          hexes.push_back(nullptr);
        }
      }
      if (any && !j.contains(hex_name)) raw_members.emplace_back(std::move(hex_name), std::move(hexes));
    } else {
      make_wire_safe(value);
    }
  }
  for (auto& [name, value] : raw_members) j[name] = std::move(value);
}

std::string dump_wire_safe(const json& j) {
  json copy = j;
  make_wire_safe(copy);
  return copy.dump();
}

}  // namespace rdp::probe
