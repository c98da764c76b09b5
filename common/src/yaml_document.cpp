// load_single_document and located_message (rdp/yaml/document.hpp): how profiles and scenario files are loaded, and
// how their errors are written.
#include "rdp/yaml/document.hpp"

#include "rdp/protocol/text.hpp"

#include <yaml-cpp/anchor.h>
#include <yaml-cpp/eventhandler.h>

#include <set>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace rdp::yaml {
namespace {

// Notes where the documents after the first one start; builds nothing.
class document_start : public YAML::EventHandler {
 public:
  YAML::Mark at = YAML::Mark::null_mark();
  void OnDocumentStart(const YAML::Mark& mark) override { at = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

[[noreturn]] void refuse(const std::string& source, const YAML::Mark& at, const std::string& path, const std::string& why) {
  throw error(located_message(source, at, path, why));
}

// A mapping or list of the tree, and how it was reached: the parent's frame and the key (or item index) under which.
struct frame {
  YAML::Node node;
  std::size_t parent;  // index in the frames; npos for the root
  bool in_list;
  YAML::Node key;      // in a mapping: the key it is the value of
  std::size_t item;    // in a list: its index
  int depth;
};
constexpr std::size_t npos = static_cast<std::size_t>(-1);

// "clients[1].name": keys joined with '.', list items numbered from 1 (as both parsers write key paths).
std::string path_of(const std::vector<frame>& frames, std::size_t at, const std::string& last = {}) {
  std::vector<std::string> parts;
  if (!last.empty()) parts.push_back("." + last);
  for (std::size_t i = at; i != npos && frames[i].parent != npos; i = frames[i].parent) {
    const auto& f = frames[i];
    if (f.in_list) parts.push_back("[" + std::to_string(f.item + 1) + "]");
    else parts.push_back("." + (f.key.IsScalar() ? f.key.Scalar() : std::string("?")));
  }
  std::string path;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) path += *it;
  return !path.empty() && path[0] == '.' ? path.substr(1) : path;
}

void check_keys(const YAML::Node& root, const std::string& source) {
  if (!root.IsMap() && !root.IsSequence()) return;
  std::vector<frame> frames{{root, npos, false, YAML::Node(), 0, 0}};
  // An aliased node is the same node wherever it is named, with the anchor's position: walked once.
  std::set<std::pair<int, bool>> walked{{root.Mark().pos, root.IsMap()}};
  for (std::size_t next = 0; next < frames.size(); ++next) {
    const auto node = frames[next].node;
    const int depth = frames[next].depth;
    const auto enter = [&](const YAML::Node& child, bool in_list, const YAML::Node& key, std::size_t item) {
      if (!child.IsMap() && !child.IsSequence()) return;
      if (!walked.insert({child.Mark().pos, child.IsMap()}).second) return;
      frames.push_back({child, next, in_list, key, item, depth + 1});
      if (depth + 1 > max_depth)
        refuse(source, child.Mark(), path_of(frames, frames.size() - 1),
               "nested more than " + std::to_string(max_depth) + " levels deep (no key of this file is)");
    };
    if (node.IsSequence()) {
      std::size_t i = 0;
      for (const auto& child : node) enter(child, true, child, i++);
      continue;
    }
    std::unordered_map<std::string_view, YAML::Mark> seen;
    for (const auto& entry : node) {
      const auto& key = entry.first;
      // A list or mapping as a key is no key of ours: the parsers refuse it with its position.
      if (key.IsScalar()) {
        const auto& text = key.Scalar();
        if (text.size() > max_key_bytes)
          refuse(source, key.Mark(), path_of(frames, next),
                 "a key of " + std::to_string(text.size()) + " bytes (no key of this file is longer than " +
                     std::to_string(max_key_bytes) + ")");
        const auto [first, inserted] = seen.emplace(text, key.Mark());
        if (!inserted)
          refuse(source, key.Mark(), path_of(frames, next, text),
                 "given twice (first at line " + std::to_string(first->second.line + 1) + ", column " +
                     std::to_string(first->second.column + 1) + ")");
      }
      enter(entry.second, false, key, 0);
    }
  }
}

}  // namespace

std::string located_message(const std::string& source, const YAML::Mark& at, const std::string& path,
                            const std::string& why) {
  std::string out = protocol::escape_for_terminal(source);
  if (at.line >= 0) out += ":" + std::to_string(at.line + 1) + ":" + std::to_string(at.column + 1);
  out += ": ";
  if (!path.empty()) out += protocol::escape_for_terminal(path) + ": ";
  return out + protocol::escape_for_terminal(why);
}

YAML::Node load_single_document(const std::string& text, const std::string& source, std::string_view what) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
    // The first document again, as events only (cheap: aliases are not expanded), then whether another follows.
    std::istringstream in(text);
    YAML::Parser events(in);
    document_start first, second;
    events.HandleNextDocument(first);
    if (events.HandleNextDocument(second))
      refuse(source, second.at, "",
             "a second YAML document: a file holds one (its keys would be ignored; remove the '---' or the rest)");
  } catch (const YAML::Exception& e) {
    refuse(source, e.mark, "", "not valid YAML: " + e.msg);
  }
  if (root.IsNull()) refuse(source, YAML::Mark::null_mark(), "", std::string(what) + " is empty");
  check_keys(root, source);
  return root;
}

}  // namespace rdp::yaml
