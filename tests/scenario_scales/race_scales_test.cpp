// The scale tier (ctest label scenario-scales; issue 25, "One clock at every time scale"): each race of near-equal
// timers in tests/scenarios/races/ — heartbeats against a firewall's idle timeout within 1 s, the disconnected-session
// limit against a reconnection, a restart's downtime against a reconnection — is replayed at several time scales in
// this process, and every replay must tell the same story: the run passes, each expectation has the same verdict, and
// the events come in the same order. A file names its scales in a comment line `# scales: 0.02 0.05 0.2` (the 62 s
// races would take minutes at 1); without one it runs at 0.02, 0.05, 0.2 and 1.
//
// What would fail without one clock: rdpsim rounded its heartbeat period, limits and restart downtime to whole real
// seconds while the proxy scaled to the millisecond, so at 0.05 a 62 s heartbeat (3.1 s) became 3 s and beat a 61 s
// firewall (3.05 s), and `down: 5s` (250 ms) became 1 s.
#include "rdp/scenarios/runner.hpp"
#include "rdp/scenarios/scenario.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using rdp::scenarios::scenario_result;

struct race {
  fs::path file;
  std::vector<double> scales;
};

// `# scales: 0.02 0.05 0.2` in the file, else all four.
std::vector<double> scales_of(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  const std::string marker = "# scales:";
  while (std::getline(in, line)) {
    if (line.rfind(marker, 0) != 0) continue;
    std::istringstream words(line.substr(marker.size()));
    std::vector<double> out;
    for (double s = 0; words >> s;) out.push_back(s);
    if (!out.empty()) return out;
  }
  return {0.02, 0.05, 0.2, 1.0};
}

std::vector<race> races() {
  std::vector<race> out;
  for (const auto& entry : fs::directory_iterator(RDP_RACES_DIR))
    if (entry.path().extension() == ".yaml") out.push_back({entry.path(), scales_of(entry.path())});
  std::sort(out.begin(), out.end(), [](const race& a, const race& b) { return a.file < b.file; });
  return out;
}

// A timeline text without what differs from run to run or scale to scale but is no event: the real time the runner
// writes beside a scenario duration ("1m (3s real)"), and numbers (ports, session and connection numbers, handshake
// milliseconds), which become '#'.
std::string without_numbers(std::string text) {
  for (auto open = text.find(" ("); open != std::string::npos; open = text.find(" (", open + 1)) {
    const auto close = text.find(')', open);
    if (close != std::string::npos && close >= 5 && text.compare(close - 5, 5, " real") == 0 &&
        text.find('(', open + 2) > close)
      text.erase(open, close + 1 - open);
  }
  std::string out;
  for (char c : text) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      if (out.empty() || out.back() != '#') out += '#';
    } else {
      out += c;
    }
  }
  return out;
}

// The events of a replay, as the timeline gives them: what each side saw (not the runner's own notes, nor the set-up
// lines and policy notes that quote scaled durations), each named by its lane, its text and which occurrence of that
// text it is, with its scenario time.
struct event {
  std::string key;
  double at;  // scenario seconds
};

std::vector<event> events_of(const scenario_result& r) {
  std::vector<event> out;
  std::map<std::string, int> seen;
  for (const auto& e : r.timeline) {
    if (e.detail || e.lane == "runner") continue;
    if (e.text.find("listening on") != std::string::npos || e.text.rfind("fault proxy on", 0) == 0 ||
        e.text.find("admin: policy") != std::string::npos)
      continue;
    auto key = e.lane + ": " + without_numbers(e.text);
    key += " (" + std::to_string(++seen[key]) + ")";
    out.push_back({std::move(key), static_cast<double>(e.at.count()) / 1e6 / r.time_scale});
  }
  return out;
}

std::vector<std::string> keys_of(const std::vector<event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.key);
  return out;
}

// Where `a` orders two events that are apart by more than half a second of scenario time, `b` must order them the
// same way. Events closer than that are one moment (two sides noting the same logon, in whichever order their
// coroutines ran; a handshake's real milliseconds are a large part of a second at 0.02); a race of near-equal timers
// here is 1 s apart. Returns the first pair `b` swapped, or empty.
std::string swapped_pair(const std::vector<event>& a, const std::vector<event>& b) {
  std::map<std::string, std::size_t> index_in_b;
  for (std::size_t i = 0; i < b.size(); ++i) index_in_b[b[i].key] = i;
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = i + 1; j < a.size(); ++j) {
      if (a[j].at - a[i].at <= 0.5) continue;
      const auto first = index_in_b.find(a[i].key), second = index_in_b.find(a[j].key);
      if (first == index_in_b.end() || second == index_in_b.end()) continue;  // the key lists differ: said apart
      if (first->second > second->second) return "'" + a[i].key + "' before '" + a[j].key + "'";
    }
  return {};
}

std::vector<std::string> verdicts(const scenario_result& r) {
  std::vector<std::string> out;
  for (const auto& c : r.checks) out.push_back(std::string(c.passed ? "ok   " : "FAIL ") + c.what);
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "    " + l + "\n";
  return out;
}

// gtest names a race by its file (race_name); this is what it prints for one.
void PrintTo(const race& r, std::ostream* out) { *out << r.file.filename().string(); }

class RaceAtEveryScale : public ::testing::TestWithParam<race> {};

TEST_P(RaceAtEveryScale, TellsTheSameStory) {
  const auto& r = GetParam();
  const auto s = rdp::scenarios::load_scenario(r.file.string());
  std::vector<scenario_result> results;
  for (double scale : r.scales) {
    ASSERT_FALSE(rdp::scenarios::time_scale_problem(s, scale)) << *rdp::scenarios::time_scale_problem(s, scale);
    rdp::scenarios::run_options options;
    options.time_scale = scale;
    results.push_back(rdp::scenarios::run_scenario(s, options));
    const auto& result = results.back();
    // Each replay must tell the file's story (the one it tells at scale 1), not only agree with the others.
    EXPECT_TRUE(result.passed) << r.file.filename().string() << " at time scale " << scale << ":\n"
                               << rdp::scenarios::format_result(result, true);
  }
  // The largest scale is the reference: the closest to real time.
  const auto reference = std::max_element(r.scales.begin(), r.scales.end()) - r.scales.begin();
  const auto& ref = results[static_cast<std::size_t>(reference)];
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (static_cast<std::ptrdiff_t>(i) == reference) continue;
    EXPECT_EQ(verdicts(results[i]), verdicts(ref))
        << "verdicts at time scale " << r.scales[i] << ":\n" << joined(verdicts(results[i])) << "at time scale "
        << r.scales[static_cast<std::size_t>(reference)] << ":\n" << joined(verdicts(ref));
    const auto here = events_of(results[i]), there = events_of(ref);
    auto sorted_here = keys_of(here), sorted_there = keys_of(there);
    std::sort(sorted_here.begin(), sorted_here.end());
    std::sort(sorted_there.begin(), sorted_there.end());
    const auto shown = [&] {
      return "events at time scale " + std::to_string(r.scales[i]) + ":\n" + joined(keys_of(here)) +
             "at time scale " + std::to_string(r.scales[static_cast<std::size_t>(reference)]) + ":\n" +
             joined(keys_of(there));
    };
    EXPECT_EQ(sorted_here, sorted_there) << "not the same events\n" << shown();
    if (const auto pair = swapped_pair(there, here); !pair.empty())
      ADD_FAILURE() << "at time scale " << r.scales[i] << " the order of " << pair << " is swapped\n" << shown();
    if (const auto pair = swapped_pair(here, there); !pair.empty())
      ADD_FAILURE() << "at the reference scale the order of " << pair << " is swapped\n" << shown();
  }
}

std::string race_name(const ::testing::TestParamInfo<race>& info) {
  std::string out;
  for (char c : info.param.file.stem().string()) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

INSTANTIATE_TEST_SUITE_P(Races, RaceAtEveryScale, ::testing::ValuesIn(races()), race_name);

}  // namespace
