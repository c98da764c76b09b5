// The table of faults (proxy/faults.hpp): each row reads its value in its kind's one grammar wherever it comes from,
// merge and describe walk it, and docs/proxy.md holds the table as the code has it (and docs/scenarios.md every
// scenario key). The doc check is also run on a copy with a row missing, which must fail.
#include "rdp/proxy/faults.hpp"
#include "rdp/proxy/proxy_control.hpp"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

namespace {

using namespace rdp::proxy;
using namespace std::chrono_literals;

const fault_row& row(std::string_view key) {
  const auto* r = fault_by_scenario_key(key);
  if (!r) throw std::logic_error("no fault " + std::string(key));
  return *r;
}

// Reads `text` for the row `key` into `into`; "" when read, else why not.
std::string read(std::string_view key, std::string_view text, fault_change& into,
                 fault_origin origin = fault_origin::change) {
  std::string why;
  return read_fault(row(key), text, origin, into, &why) ? std::string() : why;
}

TEST(FaultTable, EachFaultIsNamedOnceInEachNaming) {
  std::set<std::string_view> scenario, control, flags, said;
  for (const auto& r : fault_table) {
    SCOPED_TRACE(r.scenario_key);
    EXPECT_TRUE(scenario.insert(r.scenario_key).second);
    EXPECT_TRUE(control.insert(r.control_key).second);
    EXPECT_TRUE(said.insert(r.said).second);
    if (!r.flag.empty()) {
      EXPECT_TRUE(flags.insert(r.flag).second);
    }
    EXPECT_EQ(r.flag.empty(), r.value == fault_value::act) << "every fault but an act has a flag";
    EXPECT_FALSE(r.doc.empty());
    EXPECT_EQ(fault_by_control_key(r.control_key), &r);
    // A word row's member has words (describe_value says "?" otherwise).
    EXPECT_EQ(describe_value(r).find('?'), std::string::npos) << describe_value(r);
    const bool in_ms = r.control_key.ends_with("_ms");
    EXPECT_EQ(in_ms, r.value == fault_value::time || r.value == fault_value::limit) << "a …_ms key is a duration";
  }
  EXPECT_EQ(fault_by_scenario_key("latency_ms"), nullptr);
}

TEST(FaultTable, EveryRowReadsItsValueAndNamesItsMember) {
  // One value per row in its grammar, and describe() of all of them in the table's order.
  const std::vector<std::pair<std::string_view, std::string_view>> values{
      {"idle_timeout", "30s"}, {"on_idle", "reset-both"}, {"idle_from", "active"},   {"latency", "5ms"},
      {"jitter", "2ms"},       {"bandwidth", "1000"},     {"slice", "10"},           {"slice_delay", "3ms"},
      {"reset_now", "true"},   {"reset_at", "tls-established"}, {"reset_after", "200ms"}, {"blackhole", "false"},
      {"listener_down", "100ms"}, {"refuse_new", "true"},  {"corrupt", "from-server"}};
  ASSERT_EQ(values.size(), fault_table.size()) << "a new row needs a value here";
  fault_change f;
  for (const auto& [key, text] : values) {
    SCOPED_TRACE(key);
    EXPECT_FALSE(names(f, row(key)));
    EXPECT_EQ(read(key, text, f), "");
    EXPECT_TRUE(names(f, row(key)));
  }
  const auto said = describe(f);
  EXPECT_EQ(said,
            "idle-timeout 30s, on-idle reset-both, idle-from active, latency 5ms, jitter 2ms, bandwidth 1000 B/s, "
            "slice 10 B, slice-delay 3ms, reset now, reset at tls-established, reset after 200ms, no blackhole, "
            "listener down 100ms, refuse new, corrupt from-server");
  EXPECT_NONFATAL_FAILURE(EXPECT_EQ(said, "idle-timeout 30s"), "on-idle reset-both");
  EXPECT_EQ(describe({}), "none");
  EXPECT_FALSE(names_any({}));
  EXPECT_TRUE(names_any(f));
}

TEST(FaultTable, EachKindReadsTheToolsOneGrammar) {
  fault_change f;
  EXPECT_EQ(read("latency", "1.5s", f), "");
  EXPECT_EQ(f.latency, std::optional<duration>(1500ms));
  EXPECT_EQ(read("latency", "1500us", f), "'1500us' is not a whole number of milliseconds");
  EXPECT_EQ(read("latency", "4x", f), "'4x' is not a duration: unit 'x' is not one of h, m, s, ms, us");
  EXPECT_EQ(read("bandwidth", "10Mbit/s", f), "");
  EXPECT_EQ(f.bandwidth, std::optional<std::uint64_t>(1250000));
  EXPECT_EQ(read("bandwidth", "10Mbit", f),
            "'10Mbit' is not a rate: a size with a unit says how much, not how fast: write '10Mbit/s'");
  EXPECT_EQ(read("slice", "1KiB", f), "");
  EXPECT_EQ(f.slice, std::optional<std::uint64_t>(1024));
  EXPECT_EQ(read("slice", "17MiB", f), "'17MiB' is more than 16777216 bytes");
  EXPECT_EQ(read("idle_timeout", "none", f), "");
  EXPECT_EQ(f.idle_timeout, std::optional<std::optional<duration>>(std::optional<duration>{}));
  EXPECT_EQ(read("idle_timeout", "0", f), "'0' is not a duration here: it must be more than 0");
  EXPECT_EQ(read("on_idle", "rst", f), "expected drop, reset or reset-both, found 'rst'");
  EXPECT_EQ(read("corrupt", "server", f), "expected from-client, from-server, both or none, found 'server'");
  EXPECT_EQ(read("reset_at", "lunch", f).rfind("expected a phase (connected, x224-request, ", 0), 0u);
  EXPECT_EQ(read("blackhole", "yes", f), "expected true or false, found 'yes'");
  EXPECT_EQ(read("listener_down", "0s", f), "'0s' is not a duration here: it must be more than 0");
}

TEST(FaultTable, AFlagSetsAFaultSoItNeverTakesZero) {
  fault_change f;
  EXPECT_EQ(read("latency", "0", f), "") << "in a change, 0 lifts the latency";
  EXPECT_EQ(read("latency", "0", f, fault_origin::flag), "'0' is not a duration here: it must be more than 0");
  EXPECT_EQ(read("bandwidth", "0", f, fault_origin::flag), "'0' is not a rate here: it must be more than 0");
  EXPECT_EQ(read("slice", "0", f, fault_origin::flag), "'0' is not a size here: it must be more than 0");
}

TEST(FaultTable, MergeKeepsWhatANewChangeDoesNotNameAndNeverAnAct) {
  fault_change into, change;
  into.latency = 5ms;
  into.corrupt = corrupt_target::both;
  change.jitter = 1ms;
  change.reset_now = true;
  change.corrupt = corrupt_target::none;
  merge(into, change);
  EXPECT_EQ(describe(into), "latency 5ms, jitter 1ms, corrupt none");
}

TEST(FaultTable, ForEachDurationVisitsEveryDurationButALimitsNone) {
  fault_change f;
  f.idle_timeout = std::optional<duration>{};
  f.latency = 20ms;
  f.listener_down = 3s;
  std::vector<std::string> seen;
  for_each_duration(f, [&](const fault_row& r, duration& d) {
    seen.push_back(std::string(r.scenario_key) + " " + std::to_string(d.count()));
    d *= 2;
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"latency 20", "listener_down 3000"}));
  EXPECT_EQ(f.latency, std::optional<duration>(40ms));
}

// A control request's "set" reaches every row by its control key, in the JSON type of its kind.
TEST(FaultTable, AControlRequestSetsEveryFaultByItsControlKey) {
  const auto set = nlohmann::json::parse(R"({"idle_timeout_ms":30000,"on_idle":"reset-both","idle_from":"active",
      "latency_ms":5,"jitter_ms":2,"bandwidth":"1MB/s","slice":"1KiB","slice_delay_ms":3,"reset_now":true,
      "reset_at":"tls-established","reset_after_ms":200,"blackhole":false,"listener_down_ms":100,"refuse_new":true,
      "corrupt":"both"})");
  ASSERT_EQ(set.size(), fault_table.size()) << "a new row needs a member here";
  fault_change f;
  std::string why;
  ASSERT_TRUE(fault_change_from_json(set, f, &why)) << why;
  EXPECT_EQ(describe(f),
            "idle-timeout 30s, on-idle reset-both, idle-from active, latency 5ms, jitter 2ms, bandwidth 1000000 B/s, "
            "slice 1024 B, slice-delay 3ms, reset now, reset at tls-established, reset after 200ms, no blackhole, "
            "listener down 100ms, refuse new, corrupt both");
  EXPECT_FALSE(fault_change_from_json(nlohmann::json::parse(R"({"corrupt":true})"), f, &why));
  EXPECT_EQ(why, "'corrupt': expected from-client, from-server, both or none");
  EXPECT_FALSE(fault_change_from_json(nlohmann::json::parse(R"({"latency_ms":"fast"})"), f, &why));
  EXPECT_EQ(why, "'latency_ms': expected a whole number of milliseconds from 0 to 86400000");
  EXPECT_FALSE(fault_change_from_json(nlohmann::json::parse(R"({"latency_ms":90000000})"), f, &why));
  EXPECT_EQ(why, "'latency_ms': '90000000ms' is not a duration: longer than 24h");
  EXPECT_FALSE(fault_change_from_json(nlohmann::json::parse(R"({"corupt":"both"})"), f, &why));
  EXPECT_EQ(why.rfind("unknown fault 'corupt' (idle_timeout_ms, on_idle, ", 0), 0u) << why;
}

// ---- The docs ---------------------------------------------------------------------------------------------------

std::string read_doc(const std::string& name) {
  std::ifstream in(std::string(RDP_SOURCE_DIR) + "/docs/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string escape_bars(std::string text) {
  for (std::size_t at = 0; (at = text.find('|', at)) != std::string::npos; at += 2) text.insert(at, "\\");
  return text;
}

// docs/proxy.md's table of faults, as the table makes it.
std::string markdown_table() {
  std::string out = "| scenario key | flag | control key | what it does |\n|---|---|---|---|\n";
  for (const auto& r : fault_table) {
    const auto placeholder = value_placeholder(r);
    const std::string flag = r.flag.empty()
                                 ? "—"
                                 : "`" + std::string(r.flag) + (placeholder.empty() ? "" : " " + placeholder) + "`";
    out += "| `" + std::string(r.scenario_key) + "` | " + escape_bars(flag) + " | `" + std::string(r.control_key) +
           "` | " + std::string(r.doc) + " |\n";
  }
  return out;
}

// What a doc lacks of the table: "" if it holds it whole.
std::string proxy_doc_problem(const std::string& doc) {
  const auto table = markdown_table();
  if (doc.find(table) != std::string::npos) return "";
  return "docs/proxy.md does not hold the table of faults as proxy/include/rdp/proxy/faults.hpp has it; it should "
         "read:\n" + table;
}

TEST(FaultTableDocs, ProxyDocHoldsTheTable) {
  const auto doc = read_doc("proxy.md");
  ASSERT_FALSE(doc.empty()) << "cannot read docs/proxy.md";
  EXPECT_EQ(proxy_doc_problem(doc), "");
  // Wrong on purpose: the same doc without the corrupt row must fail.
  auto without = doc;
  const auto at = without.find("| `corrupt` |");
  ASSERT_NE(at, std::string::npos);
  without.erase(at, without.find('\n', at) + 1 - at);
  EXPECT_NONFATAL_FAILURE(EXPECT_EQ(proxy_doc_problem(without), ""), "corrupt");
}

TEST(FaultTableDocs, ScenarioDocNamesEveryScenarioKey) {
  const auto doc = read_doc("scenarios.md");
  ASSERT_FALSE(doc.empty()) << "cannot read docs/scenarios.md";
  const auto section = doc.find("### Faults");
  ASSERT_NE(section, std::string::npos);
  const auto faults = doc.substr(section, doc.find("\n### ", section + 1) - section);
  for (const auto& r : fault_table)
    EXPECT_NE(faults.find("`" + std::string(r.scenario_key) + "`"), std::string::npos)
        << "docs/scenarios.md's Faults table lacks `" << r.scenario_key << "`";
}

}  // namespace
