// common/'s YAML reader (rdp/yaml/document.hpp, rdp/yaml/reader.hpp), on its own: the one loader and the typed reads
// that profiles and scenario files share. Each test pins a message or a refusal that the parsers' own tests only
// reach through a schema: positions, one document only, the size cap of the files, the two boolean words, and unknown
// keys.
#include "rdp/yaml/document.hpp"
#include "rdp/yaml/reader.hpp"

#include "rdp/scenarios/scenario.hpp"
#include "rdp/sim/profile.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace {

namespace fs = std::filesystem;

using rdp::yaml::empty_value;
using rdp::yaml::load_single_document;
using rdp::yaml::reader;

// The what() of the yaml::error that `action` throws, or a failure if it throws nothing (or something else).
template <class Action>
std::string error_of(Action&& action) {
  try {
    action();
  } catch (const rdp::yaml::error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no yaml::error was thrown";
  return {};
}

// The what() of any std::exception `action` throws (the parsers' own errors: profile_error, scenario_error).
template <class Action>
std::string error_of_any(Action&& action) {
  try {
    action();
  } catch (const std::exception& e) {
    return e.what();
  }
  ADD_FAILURE() << "nothing was thrown";
  return {};
}

std::string load_error(const std::string& text) {
  return error_of([&] { load_single_document(text, "f.yaml", "the file"); });
}

// ---- Positions -----------------------------------------------------------------------------------------------

TEST(YamlReader, AnErrorNamesTheNodesLineAndColumnAndTheKeyPath) {
  const auto root = load_single_document("a:\n  b:\n    - 1\n    - two\n", "f.yaml", "the file");
  const reader r("f.yaml");
  EXPECT_EQ(error_of([&] { r.whole(root["a"]["b"][1], "a.b[2]", 0, 9); }),
            "f.yaml:4:7: a.b[2]: expected a whole number from 0 to 9, found 'two'");
  // A profile inline in a scenario file: its key paths start with the prefix; an empty path is the prefix itself.
  const reader inline_profile("s.yaml", "server.profile");
  EXPECT_EQ(error_of([&] { inline_profile.fail(root["a"], "b", "why"); }), "s.yaml:2:3: server.profile.b: why");
  EXPECT_EQ(error_of([&] { inline_profile.fail(root["a"], "", "why"); }), "s.yaml:2:3: server.profile: why");
}

TEST(YamlReader, LocatedMessagesEscapeTheFilesTextAndOmitWhatIsMissing) {
  EXPECT_EQ(rdp::yaml::located_message("f.yaml", YAML::Mark::null_mark(), "", "the file is empty"),
            "f.yaml: the file is empty");
  const auto root = YAML::Load("x: 1\n");
  EXPECT_EQ(rdp::yaml::located_message("evil\x1b[2J.yaml", root["x"].Mark(), "k\x1b", "found '\a'"),
            "evil\\x1b[2J.yaml:1:4: k\\x1b: found '\\x07'");
}

TEST(YamlReader, WhatYamlCppRefusesBecomesALocatedError) {
  const auto root = load_single_document("a: scalar\n", "f.yaml", "the file");
  const auto message = error_of([&] {
    rdp::yaml::with_positions("f.yaml", [&] { return root["a"].as<int>(); });
  });
  EXPECT_EQ(message.rfind("f.yaml:1:4: ", 0), 0u) << message;
}

// ---- One document, unique keys, bounded --------------------------------------------------------------------------

TEST(YamlDocument, OnlyOneDocumentIsRead) {
  EXPECT_EQ(load_error("a: 1\n---\nb: 2\n"),
            "f.yaml:2:1: a second YAML document: a file holds one (its keys would be ignored; remove the '---' or "
            "the rest)");
  EXPECT_NO_THROW(load_single_document("---\na: 1\n...\n", "f.yaml", "the file"));  // one document, marked out
}

TEST(YamlDocument, AnEmptyDocumentIsRefusedInTheCallersWords) {
  EXPECT_EQ(load_error(""), "f.yaml: the file is empty");
  EXPECT_EQ(error_of([] { load_single_document("# nothing\n", "p.yaml", "the profile"); }),
            "p.yaml: the profile is empty");
}

TEST(YamlDocument, AKeyGivenTwiceIsRefusedAtTheSecond) {
  EXPECT_EQ(load_error("a: 1\nb:\n  c: 1\n  c: 2\n"), "f.yaml:4:3: b.c: given twice (first at line 3, column 3)");
  EXPECT_EQ(load_error("l:\n  - {k: 1, k: 2}\n"), "f.yaml:2:12: l[1].k: given twice (first at line 2, column 6)");
}

// yaml::max_document_bytes is the one cap of both kinds of file, wherever they are read: a file of exactly that many
// bytes is read, one byte more is refused before it is parsed.
TEST(YamlDocument, EveryFileReaderHoldsTheOneSizeCap) {
  const auto dir = fs::path(testing::TempDir()) / ("yaml-cap-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto write = [&](const std::string& name, const std::string& head, std::size_t size) {
    std::ofstream(dir / name) << head << "#" << std::string(size - head.size() - 2, 'x') << "\n";
    EXPECT_EQ(fs::file_size(dir / name), size);
    return (dir / name).string();
  };
  constexpr auto cap = rdp::yaml::max_document_bytes;
  EXPECT_EQ(cap, 1048576u);
  EXPECT_EQ(rdp::sim::load_profile(write("at-cap.yaml", "protocols: rdp\n", cap)).name, "at-cap");
  const auto over = write("over.yaml", "protocols: rdp\n", cap + 1);
  const auto profile_error = error_of_any([&] { rdp::sim::load_profile(over); });
  EXPECT_EQ(profile_error, over + ": cannot read the profile: larger than the 1048576-byte limit for a profile");
  const auto scenario_error = error_of_any([&] { rdp::scenarios::load_scenario(over); });
  EXPECT_EQ(scenario_error, over + ": larger than the 1048576-byte limit for a scenario file");
  // A scenario's `server.profile:` file, read by the scenario parser.
  std::ofstream(dir / "s.yaml") << "scenario: s\nserver: {profile: over.yaml}\nclients: [{name: a}]\n"
                                   "timeline: [{at: 0s, logon: a}]\nexpect: [{client: a, active: true}]\n";
  const auto named = error_of_any([&] { rdp::scenarios::load_scenario((dir / "s.yaml").string()); });
  EXPECT_NE(named.find("larger than the 1048576-byte limit for a file a scenario names"), std::string::npos) << named;
  fs::remove_all(dir);
}

TEST(YamlDocument, DeepNestingAndLongKeysAreRefused) {
  // The root is level 0: max_depth + 1 brackets reach level max_depth, one more is too deep.
  const auto nested = [](int brackets) { return std::string(static_cast<std::size_t>(brackets), '[') +
                                                std::string(static_cast<std::size_t>(brackets), ']'); };
  EXPECT_NO_THROW(load_single_document(nested(rdp::yaml::max_depth + 1), "f.yaml", "the file"));
  EXPECT_EQ(load_error(nested(rdp::yaml::max_depth + 2)),
            "f.yaml:1:34: [1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1]"
            "[1]: nested more than 32 levels deep (no key of this file is)");
  const std::string key(rdp::yaml::max_key_bytes + 1, 'k');
  EXPECT_EQ(load_error(key + ": 1\n"), "f.yaml:1:1: a key of 129 bytes (no key of this file is longer than 128)");
  EXPECT_NO_THROW(load_single_document(std::string(rdp::yaml::max_key_bytes, 'k') + ": 1\n", "f.yaml", "the file"));
}

TEST(YamlDocument, TextThatIsNotYamlIsLocated) {
  EXPECT_EQ(load_error("a: [1\n").rfind("f.yaml:2:1: not valid YAML: ", 0), 0u) << load_error("a: [1\n");
}

// ---- Typed reads ---------------------------------------------------------------------------------------------------

TEST(YamlReader, UnknownKeysAreNamedWithTheKnownOnes) {
  const auto root = load_single_document("sessions:\n  max: 3\n", "f.yaml", "the file");
  const reader r("f.yaml");
  EXPECT_EQ(error_of([&] { r.keys(root["sessions"], "sessions", {"single_session", "max_sessions"}); }),
            "f.yaml:2:3: sessions.max: unknown key (known here: single_session, max_sessions)");
  EXPECT_NO_THROW(r.keys(root["sessions"], "sessions", {"max", "other"}));
  EXPECT_EQ(error_of([&] { r.keys(root["sessions"]["max"], "sessions.max", {"x"}); }),
            "f.yaml:2:8: sessions.max: expected a mapping, found '3'");
  const auto list_key = load_single_document("? [1]\n: 2\n", "f.yaml", "the file");
  EXPECT_EQ(error_of([&] { r.keys(list_key, "", {"x"}); }), "f.yaml:1:3: expected a key name, found a list");
}

TEST(YamlReader, BooleansAreTheWordsTrueAndFalseOnly) {
  const auto root = load_single_document("t: true\nf: false\nyes: yes\non: On\ny: y\nq: 'maybe'\n", "f.yaml", "the file");
  const reader r("f.yaml");
  EXPECT_TRUE(r.flag(root["t"], "t"));
  EXPECT_FALSE(r.flag(root["f"], "f"));
  const std::string hint =
      " (only the words true and false are booleans here, not YAML 1.1's yes/no, on/off, y/n or other casings)";
  EXPECT_EQ(error_of([&] { r.flag(root["yes"], "yes"); }), "f.yaml:3:6: yes: expected true or false, found 'yes'" + hint);
  EXPECT_EQ(error_of([&] { r.flag(root["on"], "on"); }), "f.yaml:4:5: on: expected true or false, found 'On'" + hint);
  EXPECT_EQ(error_of([&] { r.flag(root["y"], "y"); }), "f.yaml:5:4: y: expected true or false, found 'y'" + hint);
  EXPECT_EQ(error_of([&] { r.flag(root["q"], "q"); }), "f.yaml:6:4: q: expected true or false, found 'maybe'");
}

TEST(YamlReader, WholeNumbersAreDecimalOrHexAndNothingElse) {
  const auto root = load_single_document("[10, 0x1F, 010, '+5', -1, 1.5, 300, [1], ~]", "f.yaml", "the file");
  const reader r("f.yaml");
  EXPECT_EQ(r.whole(root[0], "n", 0, 255), 10u);
  EXPECT_EQ(r.whole(root[1], "n", 0, 255), 31u);
  EXPECT_EQ(r.whole(root[2], "n", 0, 255), 10u) << "a leading 0 is not octal";
  for (const std::size_t i : {3u, 4u, 5u})
    EXPECT_NE(error_of([&] { r.whole(root[i], "n", 0, 255); }).find("expected a whole number from 0 to 255, found '"),
              std::string::npos)
        << i;
  EXPECT_EQ(error_of([&] { r.whole(root[6], "n", 0, 255); }),
            "f.yaml:1:32: n: expected a whole number from 0 to 255, found '300'");
  EXPECT_NE(error_of([&] { r.whole(root[7], "n", 0, 255); }).find("found a list"), std::string::npos);
  EXPECT_NE(error_of([&] { r.whole(root[8], "n", 0, 255); }).find("found nothing (null)"), std::string::npos);
  EXPECT_TRUE(reader::is_off(root[8]));
  EXPECT_FALSE(reader::is_off(root[0]));
}

TEST(YamlReader, TextAndListsRefuseEmptinessUnlessAllowed) {
  const auto root = load_single_document("e: ''\nm: {a: 1}\nl: []\n", "f.yaml", "the file");
  const reader r("f.yaml");
  EXPECT_EQ(error_of([&] { r.text(root["e"], "e", "a name"); }), "f.yaml:1:4: e: expected a name, found an empty value");
  EXPECT_EQ(r.text(root["e"], "e", "a password", empty_value::allow), "");
  EXPECT_EQ(error_of([&] { r.text(root["m"], "m"); }), "f.yaml:2:4: m: expected a text value, found a mapping");
  EXPECT_EQ(error_of([&] { r.list(root["l"], "l", "steps"); }),
            "f.yaml:3:4: l: the list is empty: at least one steps is needed");
  EXPECT_EQ(r.list(root["l"], "l", "users", empty_value::allow).size(), 0u);
  EXPECT_EQ(error_of([&] { r.list(root["m"], "m", "steps"); }), "f.yaml:2:4: m: expected a list of steps, found a mapping");
}

TEST(YamlReader, FoundQuotesAValueCutShort) {
  EXPECT_EQ(rdp::yaml::found(YAML::Load(std::string(61, 'v'))), "'" + std::string(60, 'v') + "…'");
  EXPECT_EQ(rdp::yaml::found(YAML::Load(std::string(60, 'v'))), "'" + std::string(60, 'v') + "'");
  EXPECT_EQ(rdp::yaml::item("users", 0), "users[1]");
  EXPECT_EQ(rdp::yaml::join("", "a"), "a");
  EXPECT_EQ(rdp::yaml::join("a", "b"), "a.b");
}

}  // namespace
