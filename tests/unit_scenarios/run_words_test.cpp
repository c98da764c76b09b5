// The runner's pure pieces, without a run: the closing word and the reconnect outcome judged from an attempt
// (scenarios/src/closing_words.cpp) and the one clock of a run (scenarios/src/run_clock.cpp). The words are what a
// scenario's `closed:` and `reconnect:` are checked against; tests/scripts/scenario_test.sh compares the closing words
// of the library with their pcaps, and these pin each reading rule by itself.
#include "attempts.hpp"
#include "run_clock.hpp"
#include "run_expectations.hpp"

#include <gtest/gtest.h>

#include <boost/system/errc.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace rdp;
using namespace std::chrono_literals;
using scenarios::close_kind;
using scenarios::reconnect_outcome;
using scenarios::running::attempt;
using scenarios::running::closed_of;
using scenarios::running::reconnect_of;
using scenarios::running::run_clock;
namespace errc = boost::system::errc;

// A lean client's attempt that reached the active state, then ended with `last` (none: no teardown recorded).
attempt lean_attempt(std::optional<protocol::teardown_kind> last, boost::system::error_code error = {}) {
  attempt a;
  client::session_result r;
  r.reached = protocol::client_phase::active;
  r.error = error;
  if (last) r.teardown.push_back({{}, *last, 0});
  a.lean = r;
  return a;
}

TEST(ClosingWord, EachEndingOfALeanClientReadsAsItsWord) {
  EXPECT_EQ(closed_of(lean_attempt(protocol::teardown_kind::reset)), close_kind::reset);
  EXPECT_EQ(closed_of(lean_attempt(protocol::teardown_kind::closed)), close_kind::fin);
  // ETIMEDOUT on the stream: TCP gave up (keepalive or retransmissions), not the server's FIN.
  EXPECT_EQ(closed_of(lean_attempt(protocol::teardown_kind::closed, make_error_code(errc::timed_out))),
            close_kind::timeout);
  EXPECT_EQ(closed_of(lean_attempt(protocol::teardown_kind::silence)), close_kind::silence);
  // The client's own hold running out, once active, is the client closing.
  EXPECT_EQ(closed_of(lean_attempt(protocol::teardown_kind::timeout)), close_kind::client);
  // A DPU says the server ends the connection, whoever then closed first.
  EXPECT_EQ(closed_of(lean_attempt(protocol::teardown_kind::disconnect_provider_ultimatum)), close_kind::fin);
  auto left = lean_attempt(protocol::teardown_kind::closed);
  left.lean->closed_by_owner = true;
  EXPECT_EQ(closed_of(left), close_kind::client);
  auto still_open = lean_attempt(std::nullopt);
  still_open.open_at_end = true;
  EXPECT_EQ(closed_of(still_open), close_kind::none);
}

TEST(ClosingWord, AConnectThatFailedIsRefusedOrATimeout) {
  auto refused = lean_attempt(std::nullopt, make_error_code(errc::connection_refused));
  refused.lean->reached = protocol::client_phase::none;
  EXPECT_EQ(closed_of(refused), close_kind::refused);
  auto unanswered = lean_attempt(std::nullopt, make_error_code(errc::timed_out));
  unanswered.lean->reached = protocol::client_phase::none;
  unanswered.lean->local_port = 0;  // no connection was made
  EXPECT_EQ(closed_of(unanswered), close_kind::timeout);
}

// The client closed on bytes it could not use: the word is the server's when its FIN or RST had already come (the
// socket's TCP state, read before the client's own close), the client's otherwise.
TEST(ClosingWord, AClientThatClosedOnBadBytesTakesThePeersEndWhenItHadCome) {
  auto client_first = lean_attempt(std::nullopt, make_error_code(errc::protocol_error));
  client_first.lean->local_port = 40000;
  EXPECT_EQ(closed_of(client_first), close_kind::client);
  auto fin_first = client_first;
  fin_first.lean->peer_at_close = client::session_result::peer_state::fin;
  EXPECT_EQ(closed_of(fin_first), close_kind::fin);
  auto reset_first = client_first;
  reset_first.lean->peer_at_close = client::session_result::peer_state::reset;
  EXPECT_EQ(closed_of(reset_first), close_kind::reset);
}

TEST(ReconnectWord, HonouredSameSessionNewSessionOrRefused) {
  auto back = lean_attempt(std::nullopt);
  back.reconnect = true;
  back.previous_session = 7;
  back.lean->logon_session_id = 7;
  EXPECT_EQ(reconnect_of(back), reconnect_outcome::honoured);
  back.lean->auto_reconnect_status = true;  // the cookie refused, yet the same session: the policy reattached it
  EXPECT_EQ(reconnect_of(back), reconnect_outcome::same_session);
  back.lean->logon_session_id = 8;
  EXPECT_EQ(reconnect_of(back), reconnect_outcome::new_session);
  back.lean->reached = protocol::client_phase::connected;
  EXPECT_EQ(reconnect_of(back), reconnect_outcome::refused);
}

// One clock: scaled to the millisecond, and read back as scenario time; what a person reads is the file's duration.
TEST(RunClock, ScalesToTheMillisecondAndReadsBackAsScenarioTime) {
  const run_clock at_005{0.05};
  EXPECT_EQ(at_005.scaled(62s), 3100ms);  // against a 61 s firewall's 3050 ms: the order is kept
  EXPECT_EQ(at_005.scaled(61s), 3050ms);
  EXPECT_EQ(at_005.scenario_ms(3100000us), 62000ms);
  const run_clock at_002{0.02};
  EXPECT_EQ(at_002.span_text(4min), "4m (4800ms real)");
  const run_clock at_1{1.0};
  EXPECT_EQ(at_1.span_text(4min), "4m");
  EXPECT_EQ(at_1.scaled(1500ms), 1500ms);
}

}  // namespace

namespace {

using scenarios::running::client_state;
using scenarios::running::judge_expectations;
using scenarios::running::run_observations;

// The judging of `within:` without a run: the end in scenario time (real time / scale), the window widened by the
// tolerance at each end, and the check line printing the window it was judged against.
TEST(JudgeExpectations, AWindowIsJudgedInScenarioTimeWithItsTolerance) {
  scenarios::scenario s;
  scenarios::client_spec alice;
  alice.name = "alice";
  s.clients.push_back(alice);
  scenarios::client_expectation e;
  e.client = "alice";
  e.closed = close_kind::silence;
  e.within = scenarios::time_window{95s, 100s};
  s.expect.push_back(e);

  std::map<std::string, client_state> clients;
  clients["alice"].spec = &s.clients.front();
  auto a = lean_attempt(protocol::teardown_kind::silence);
  a.finished = true;
  a.ended_at = std::chrono::microseconds(5'040'000);  // 5.04 s real at 0.05: 100.8 s of scenario time
  clients["alice"].attempts.push_back(a);
  const std::optional<sim::server_counters> no_server;
  const std::vector<sim::session_info> no_sessions;
  const std::optional<proxy::proxy_counters> no_proxy;
  const run_observations seen{clients, no_server, no_sessions, no_proxy};

  auto checks = judge_expectations(s, seen, run_clock{0.05});
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_TRUE(checks[0].passed) << checks[0].what << " — " << checks[0].why;  // 100.8 s is within 94 s..101 s
  EXPECT_NE(checks[0].what.find("within 95s..100s (±1s)"), std::string::npos) << checks[0].what;

  clients["alice"].attempts.back().ended_at = std::chrono::microseconds(5'060'000);  // 101.2 s: 200 ms too late
  checks = judge_expectations(s, seen, run_clock{0.05});
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_FALSE(checks[0].passed) << checks[0].why;
  EXPECT_NE(checks[0].why.find("ended at 101.200s, outside 94s..101s"), std::string::npos) << checks[0].why;

  // The same real end at time scale 1 is 5 s of scenario time: far outside, whatever the tolerance of a real clock.
  clients["alice"].attempts.back().ended_at = std::chrono::microseconds(5'040'000);
  checks = judge_expectations(s, seen, run_clock{1.0});
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_FALSE(checks[0].passed) << checks[0].why;
}

}  // namespace
