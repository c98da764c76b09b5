// Every check of `rdpsim run` must be able to fail (issue 25, docs/scenarios.md "Tests"): each file of
// tests/scenarios/must-fail/ is written from the schema with one thing wrong on purpose — a wrong value, a wrong
// window, a step that never runs, an event never seen — and must FAIL with exit 1, one FAIL line at the line and
// column of what is wrong, and what was seen. Then the same file with the correction its header gives must PASS, so
// each check is shown able to both pass and fail.
//
// The header of each file (comment lines, read here):
//   # fail: TEXT     the FAIL line starts with "  " TEXT
//   # saw: TEXT      the same line holds TEXT after its "— saw"
//   # error: TEXT    (optional) the run's error holds TEXT, in the output and in the JSON report's "error";
//                    without it, the JSON error is null (the failure is the check's, not the run's)
//   # fix: A => B    the correction: A, which occurs once in the file, replaced by B
// and the line that must fail ends with "# <- FAIL": the FAIL line names that line and the column of its item.
#include "run_command.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdlib.h>  // mkdtemp

namespace {

namespace fs = std::filesystem;
using rdp::test::run_command;

const fs::path must_fail_dir = fs::path(RDP_SOURCE_DIR) / "tests" / "scenarios" / "must-fail";
// Every file runs at this scale: a 1-minute story in 3 s; the whole directory, wrong and corrected, in about 20 s.
constexpr const char* time_scale = "0.05";

// The rdpsim under test: this build's, or RDP_MUST_FAIL_RDPSIM (to show what another build, an older one, makes of
// the same files).
std::string rdpsim() {
  const char* other = std::getenv("RDP_MUST_FAIL_RDPSIM");
  return other && *other ? other : RDPSIM_BIN;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct must_fail_file {
  fs::path path;
  std::string text, fail, saw, error, fix_from, fix_to;
  int line = 0, column = 0;  // of the item marked "# <- FAIL"
};

must_fail_file read_header(const fs::path& path) {
  must_fail_file f;
  f.path = path;
  f.text = slurp(path);
  std::istringstream in(f.text);
  std::string line;
  const auto value = [&](const char* key, std::string& out) {
    const std::string prefix = std::string("# ") + key + ": ";
    if (line.rfind(prefix, 0) == 0) out = line.substr(prefix.size());
  };
  for (int number = 1; std::getline(in, line); ++number) {
    value("fail", f.fail);
    value("saw", f.saw);
    value("error", f.error);
    std::string fix;
    value("fix", fix);
    if (const auto arrow = fix.find(" => "); arrow != std::string::npos) {
      f.fix_from = fix.substr(0, arrow);
      f.fix_to = fix.substr(arrow + 4);
    }
    if (line.find("# <- FAIL") != std::string::npos && line.rfind("#", 0) != 0) {
      f.line = number;
      // The item of the list: "  - {...}" is at the column after "- ".
      f.column = static_cast<int>(line.find("- ")) + 3;
    }
  }
  return f;
}

std::vector<std::string> must_fail_names() {
  std::vector<std::string> names;
  if (fs::is_directory(must_fail_dir))
    for (const auto& entry : fs::directory_iterator(must_fail_dir))
      if (entry.path().extension() == ".yaml") names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string scratch_dir() {
  std::string pattern = (fs::temp_directory_path() / "rdp-must-fail-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) return fs::temp_directory_path().string();
  return pattern;
}

// The check lines of an output: "  FAIL ..." and "  ok   ..." (not the scenario's own "FAIL NAME in ...").
std::vector<std::string> check_lines(const std::string& output, const std::string& word) {
  std::vector<std::string> lines;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("  " + word + " ", 0) == 0) lines.push_back(line);
  return lines;
}

class MustFail : public ::testing::TestWithParam<std::string> {};

TEST_P(MustFail, FailsAtItsLineSayingWhatWasSeenAndPassesOnceCorrected) {
  const auto f = read_header(must_fail_dir / GetParam());
  ASSERT_FALSE(f.fail.empty()) << GetParam() << ": no '# fail:' header";
  ASSERT_FALSE(f.saw.empty()) << GetParam() << ": no '# saw:' header";
  ASSERT_FALSE(f.fix_from.empty()) << GetParam() << ": no '# fix: A => B' header";
  ASSERT_GT(f.line, 0) << GetParam() << ": no line marked '# <- FAIL'";
  const auto dir = scratch_dir();

  // Wrong on purpose: exit 1, one FAIL line, at the marked item, saying what was seen.
  const auto json = dir + "/wrong.json";
  const auto wrong = run_command(rdpsim() + " run " + f.path.string() + " --time-scale " + time_scale +
                                 " --json " + json);
  EXPECT_EQ(wrong.status, 1) << wrong.output;
  const auto fails = check_lines(wrong.output, "FAIL");
  ASSERT_EQ(fails.size(), 1u) << "exactly one check must fail\n" << wrong.output;
  const auto& line = fails.front();
  EXPECT_EQ(line.rfind("  " + f.fail, 0), 0u) << "the FAIL line must start with: " << f.fail << "\n" << wrong.output;
  const auto saw_at = line.find(" — saw ");
  ASSERT_NE(saw_at, std::string::npos) << line;
  EXPECT_NE(line.find(f.saw, saw_at), std::string::npos) << "the FAIL line must say it saw: " << f.saw << "\n" << line;
  const auto where = "(" + f.path.string() + ":" + std::to_string(f.line) + ":" + std::to_string(f.column) + ")";
  EXPECT_TRUE(line.size() >= where.size() && line.compare(line.size() - where.size(), where.size(), where) == 0)
      << "the FAIL line must end with " << where << "\n" << line;
  const auto report = nlohmann::json::parse(slurp(json), nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << slurp(json);
  const auto& result = report.at("scenarios").at(0);
  EXPECT_EQ(result.at("result"), "fail");
  if (f.error.empty()) {
    EXPECT_TRUE(result.at("error").is_null()) << result.at("error");
  } else {
    ASSERT_TRUE(result.at("error").is_string()) << "the JSON report's error must name the step\n" << wrong.output;
    EXPECT_NE(result.at("error").get<std::string>().find(f.error), std::string::npos) << result.at("error");
    EXPECT_NE(wrong.output.find("  ERROR "), std::string::npos) << wrong.output;
  }

  // Corrected: the same file with its one fix (in the YAML after the header, which quotes it) passes.
  auto fixed = f.text;
  std::size_t body = 0;
  while (body < fixed.size() && fixed[body] == '#') body = fixed.find('\n', body) + 1;
  const auto at = fixed.find(f.fix_from, body);
  ASSERT_NE(at, std::string::npos) << "'" << f.fix_from << "' is not in " << GetParam();
  ASSERT_EQ(fixed.find(f.fix_from, at + 1), std::string::npos) << "'" << f.fix_from << "' is in " << GetParam() << " twice";
  fixed.replace(at, f.fix_from.size(), f.fix_to);
  const auto fixed_path = dir + "/" + GetParam();
  std::ofstream(fixed_path) << fixed;
  const auto right = run_command(rdpsim() + " run " + fixed_path + " --time-scale " + time_scale);
  EXPECT_EQ(right.status, 0) << "corrected (" << f.fix_from << " => " << f.fix_to << ") it must pass\n" << right.output;
  EXPECT_TRUE(check_lines(right.output, "FAIL").empty()) << right.output;
  EXPECT_EQ(right.output.find("  ERROR "), std::string::npos) << right.output;
  std::error_code ignored;
  fs::remove_all(dir, ignored);
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  auto name = fs::path(info.param).stem().string();
  std::replace_if(name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Files, MustFail, ::testing::ValuesIn(must_fail_names()), test_name);

// The directory keeps a wrong-on-purpose file for every kind of expectation and every kind of step
// (scenarios/include/rdp/scenarios/scenario.hpp, docs/scenarios.md): a kind added without one fails here.
TEST(MustFailDirectory, CoversEveryExpectationAndStepKind) {
  std::string failing_lines, timelines;
  for (const auto& name : must_fail_names()) {
    const auto f = read_header(must_fail_dir / name);
    std::istringstream in(f.text);
    std::string line;
    bool in_timeline = false;
    while (std::getline(in, line)) {
      if (line.find("# <- FAIL") != std::string::npos && line.rfind("#", 0) != 0) failing_lines += line + "\n";
      if (line.rfind("timeline:", 0) == 0) in_timeline = true;
      else if (!line.empty() && line[0] != ' ') in_timeline = false;
      if (in_timeline) timelines += line + "\n";
    }
  }
  // client:, server: and proxy: expectations, each of their keys on a line that must fail.
  for (const char* key : {"active:", "error_info:", "dpu_reason:", "closed:", "reconnect:", "verdict:", "within:",
                          "counters:", "sessions:", "idle_expiries:", "resets_sent:", "connections:"})
    EXPECT_NE(failing_lines.find(key), std::string::npos) << "no must-fail file fails on " << key;
  // Each step kind (and each admin action) in a timeline of the directory; and steps that never run: one waiting for
  // an event never seen (step-never-ran.yaml), one due after the timeout (step-due-after-timeout.yaml).
  for (const char* step : {"logon:", "reconnect:", "leave:", "busy:", "admin: logoff", "admin: reset",
                           "admin: disconnect", "admin: drop-connection", "admin: restart", "policy:", "fault:",
                           "probe:", "occupy_port:", "share_port:"})
    EXPECT_NE(timelines.find(step), std::string::npos) << "no must-fail file has a " << step << " step";
  for (const char* name : {"step-never-ran.yaml", "step-due-after-timeout.yaml", "wrong-window-late.yaml"})
    EXPECT_TRUE(fs::exists(must_fail_dir / name)) << name;
}

}  // namespace
