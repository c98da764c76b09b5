// Outcome words that match the wire (issue 25): the scenario runner's `closed:` and `reconnect:` words, each from
// what the client's socket and PDUs showed, and a file with a wrong word FAILs naming its line and what was seen.
// The library's words against their pcaps: tests/scripts/scenario_test.sh.
#include "rdp/scenarios/runner.hpp"
#include "rdp/scenarios/scenario.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace rdp {
namespace {

std::string timeline_of(const scenarios::scenario_result& r) {
  std::string text;
  for (const auto& e : r.timeline) text += e.lane + ": " + e.text + "\n";
  for (const auto& c : r.checks) text += (c.passed ? "ok   " : "FAIL ") + c.what + " — saw " + c.why + "\n";
  return text + (r.error.empty() ? "" : "ERROR " + r.error + "\n");
}

scenarios::scenario_result run(const std::string& text, bool pcap) {
  const auto parsed = scenarios::parse_scenario(text, "inline.yaml", RDP_SOURCE_DIR "/scenarios");
  scenarios::run_options options;
  options.time_scale = 0.05;
  if (pcap) {
    options.pcap_dir = std::filesystem::temp_directory_path() /
                       ("closing-words-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
                        parsed.name);
  }
  return scenarios::run_scenario(parsed, options);
}

// The service restarts with its listener down; a reconnection meanwhile meets a closed port: `refused`, with the
// recording relay of --pcap in front as without it (the relay's listener goes down with the service's).
const char* const restart_text = R"(scenario: refused-while-down
summary: A reconnection while the listener is down is refused.
cause: service-restart
timeout: 2m
server:
  profile: ../sim/profiles/windows-server-2022.yaml
path: direct
clients:
  - {name: alice, kind: lean, security: nla, user: alice, password: "Passw0rd!", domain: LAB}
timeline:
  - {at: 0s, logon: alice}
  - {on: alice.cookie, after: 2s, admin: restart, down: 40s}
  - {on: alice.ended, after: 5s, reconnect: alice}
expect:
  - {client: alice, attempt: 1, active: true, closed: fin}
  - {client: alice, attempt: 2, active: false, closed: refused}
)";

TEST(ClosingWords, ARefusedConnectIsRefusedNotReset) {
  const auto r = run(restart_text, false);
  EXPECT_TRUE(r.passed) << timeline_of(r);
}

TEST(ClosingWords, RecordingDoesNotChangeTheOutcome) {
  const auto r = run(restart_text, true);
  EXPECT_TRUE(r.passed) << timeline_of(r);
  const auto text = timeline_of(r);
  EXPECT_NE(text.find("attempt 2 closed: refused"), std::string::npos) << text;
}

// A wrong closing word in a file: FAIL, naming the line of the expectation and what the socket saw.
TEST(ClosingWords, AWrongClosingWordFailsNamingTheLineAndWhatWasSeen) {
  const std::string text = R"(scenario: wrong-closing-word
summary: The logoff ends with a FIN; the file says reset.
cause: admin-logoff
timeout: 1m
server:
  profile: ../sim/profiles/windows-server-2022.yaml
path: direct
clients:
  - {name: alice, kind: lean, security: nla, user: alice, password: "Passw0rd!", domain: LAB}
timeline:
  - {at: 0s, logon: alice}
  - {on: alice.cookie, after: 2s, admin: logoff, session: alice}
expect:
  - {client: alice, active: true, closed: reset}
)";
  const auto r = run(text, false);
  EXPECT_FALSE(r.passed) << timeline_of(r);
  ASSERT_EQ(r.checks.size(), 1u) << timeline_of(r);
  const auto& check = r.checks.front();
  EXPECT_FALSE(check.passed);
  EXPECT_EQ(check.where.line, 14) << timeline_of(r);
  EXPECT_NE(check.what.find("closed reset"), std::string::npos) << check.what;
  EXPECT_NE(check.why.find("closed fin"), std::string::npos) << check.why;
}

// Single-session policy: the desktop takes the session over (and gets a new cookie: rdpsim draws new random bits for
// every cookie it issues), so the laptop's cookie is stale when it comes back; the policy reattaches the same
// session all the same. Nothing of the desktop was lost: same-session, not new-session.
TEST(ReconnectWords, AStaleCookieThatLandsInTheSameSessionIsSameSession) {
  const std::string text = R"(scenario: same-session-after-takeover
summary: The laptop's cookie is stale after the takeover, but the single-session policy reattaches its session.
cause: single-session-policy
timeout: 2m
server:
  profile: ../sim/profiles/windows-server-2022.yaml
path: direct
clients:
  - {name: laptop, kind: lean, security: nla, user: alice, password: "Passw0rd!", domain: LAB}
  - {name: desktop, kind: lean, security: nla, user: alice, password: "Passw0rd!", domain: LAB, hold: 5s}
timeline:
  - {at: 0s, logon: laptop}
  - {on: laptop.cookie, after: 2s, logon: desktop}
  - {on: desktop.ended, after: 2s, reconnect: laptop}
  - {on: step.3.done, after: 5s, leave: laptop}
expect:
  - {client: laptop, attempt: 1, active: true, error_info: ERRINFO_DISCONNECTED_BY_OTHERCONNECTION, closed: fin}
  - {client: laptop, attempt: 2, active: true, reconnect: same-session}
  - {server: {counters: {stale_cookies: 1}, sessions: 1}}
)";
  const auto r = run(text, false);
  EXPECT_TRUE(r.passed) << timeline_of(r);
}

}  // namespace
}  // namespace rdp
