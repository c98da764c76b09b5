// The disconnected-session limit (Group Policy "Set time limit for disconnected sessions", MaxDisconnectionTime) on
// an in-process rdpsim with lean clients (the product client, client/include/rdp/client/session.hpp): a session left Disc for the limit is logged
// off — gone from the table, so its user's next logon is a new session — while one resumed before the limit stays
// and counts afresh when it is Disc again; a change through the control interface (`rdpsim ctl` as a process)
// applies to sessions already Disc; and a pending limit never keeps the server from stopping. Waits poll the
// session table with a bound; how long a session has been Disc is read from the server's own idle_ms.
#include "control_in_sim.hpp"
#include "rdp/client/session.hpp"
#include "run_command.hpp"
#include "sim_thread.hpp"
#include "wait_until.hpp"

#include "rdp/net/tls.hpp"
#include "rdp/sim/control.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <thread>

namespace {

using namespace rdp;
namespace asio = net::asio;
using namespace std::chrono_literals;
using sim::session_state;

const std::string test_token(64, 'd');

sim::server_config sim_config(std::optional<std::chrono::seconds> disconnected_limit = std::nullopt) {
  sim::server_config config;
  config.identity = net::make_self_signed(net::key_kind::ecdsa, "rdpsim-disconnected-limit-test");
  config.sessions.disconnected_limit = disconnected_limit;
  return config;
}

// One mini session to the end: with `hold`, until the server ends it (or the hold deadline); without, the client
// closes as soon as the session is active and the server keeps the session, Disc.
client::session_result run_client(std::uint16_t port, std::string user, bool hold) {
  client::session_options options;
  options.port = port;
  options.user = std::move(user);
  options.hold = hold;
  options.deadlines.step = 5000ms;
  options.deadlines.hold = 15000ms;
  auto context = client::make_client_context();
  return client::run_session_blocking(context, std::move(options));
}

// Polls (bounded, 10 s) until session `id` satisfies `done` (called with nullopt once it is gone); the last row seen.
template <class Predicate>
std::optional<sim::session_info> wait_for(test::sim_thread& sim, std::uint32_t id, Predicate done) {
  std::optional<sim::session_info> row;
  for (int i = 0; i < 500; ++i) {
    row = sim.find_session(id);
    if (done(row)) break;
    std::this_thread::sleep_for(20ms);
  }
  return row;
}

std::optional<sim::session_info> wait_for_state(test::sim_thread& sim, std::uint32_t id, session_state state) {
  return wait_for(sim, id, [&](const auto& row) { return row && row->state == state; });
}

bool wait_gone(test::sim_thread& sim, std::uint32_t id) {
  return !wait_for(sim, id, [](const auto& row) { return !row; });
}

// Disc for at least `age` by the server's clock (idle_ms of a Disc session counts from its disconnection).
std::optional<sim::session_info> wait_disc_for(test::sim_thread& sim, std::uint32_t id, std::chrono::milliseconds age) {
  return wait_for(sim, id, [&](const auto& row) {
    return !row || (row->state == session_state::disconnected && row->idle >= age);
  });
}

std::uint64_t expired(test::sim_thread& sim) {
  return sim.call([&] { return sim.server().counters().disconnected_expired; });
}

TEST(DisconnectedLimit, ASessionDiscForTheLimitIsLoggedOff) {
  test::sim_thread sim(sim_config(1s));
  const auto left = run_client(sim.port(), "alice", false);
  ASSERT_TRUE(left.active()) << left.failure;
  ASSERT_TRUE(left.session_id);
  const auto id = *left.session_id;

  const auto disc = wait_for_state(sim, id, session_state::disconnected);
  ASSERT_TRUE(disc) << "session " << id << " vanished before it was seen Disc";
  EXPECT_EQ(disc->state, session_state::disconnected);
  EXPECT_EQ(disc->user, "alice");

  EXPECT_TRUE(wait_gone(sim, id)) << "session " << id << " still in the table 10 s after a 1 s limit";
  EXPECT_EQ(expired(sim), 1u);
  // Logged off, not hidden: alice's next logon finds no session of hers to take over and gets a new one.
  const auto back = run_client(sim.port(), "alice", false);
  ASSERT_TRUE(back.active()) << back.failure;
  EXPECT_NE(back.session_id, left.session_id);
}

TEST(DisconnectedLimit, ASessionResumedBeforeTheLimitStaysAndCountsAfreshWhenDiscAgain) {
  constexpr auto limit = 2s;
  test::sim_thread sim(sim_config(limit));
  const auto left = run_client(sim.port(), "alice", false);
  ASSERT_TRUE(left.active()) << left.failure;
  const auto id = left.session_id.value();
  ASSERT_TRUE(wait_for_state(sim, id, session_state::disconnected));
  const auto disc_seen = std::chrono::steady_clock::now();  // no earlier than the disconnection

  // alice logs on again: single-session takes her Disc session over (the same id) before the limit.
  auto held = std::async(std::launch::async, [port = sim.port()] { return run_client(port, "alice", true); });
  auto row = wait_for_state(sim, id, session_state::active);
  ASSERT_TRUE(row && row->state == session_state::active)
      << "session " << id << " was not resumed (" << (row ? "still there, not Active" : "gone") << ")";

  std::this_thread::sleep_until(disc_seen + limit + 500ms);  // past the moment the first disconnection would expire
  row = sim.find_session(id);
  ASSERT_TRUE(row) << "a resumed session was logged off by its earlier disconnection";
  EXPECT_EQ(row->state, session_state::active);
  EXPECT_EQ(expired(sim), 0u);

  // Disc again: the limit counts from this disconnection, not from the first.
  ASSERT_TRUE(sim.call([&] { return sim.server().admin().disconnect(id); }).ok);
  const auto ended = held.get();
  EXPECT_EQ(ended.error_info, 0x00000001u) << "ERRINFO_RPC_INITIATED_DISCONNECT";
  row = wait_for(sim, id, [](const auto& r) { return !r || r->state == session_state::disconnected; });
  ASSERT_TRUE(row) << "logged off at once when Disc again: the limit did not count afresh";
  EXPECT_EQ(row->state, session_state::disconnected);
  EXPECT_TRUE(wait_gone(sim, id));
  EXPECT_EQ(expired(sim), 1u);
}

// rdpsim's control interface in front of `sim`, with the test's token.
class control_in_sim : public test::control_in_sim {
 public:
  explicit control_in_sim(test::sim_thread& sim) : test::control_in_sim(sim, test_token, RDPSIM_BIN) {}
};

// The row `rdpsim ctl query session` prints for a disconnected session of `user`.
std::string disc_row(std::uint32_t id, const std::string& user) {
  sim::session_info row;
  row.id = id;
  row.user = user;
  row.state = session_state::disconnected;
  const auto table = sim::format_query_session({row});
  return table.substr(table.find('\n') + 1);
}

TEST(DisconnectedLimit, PolicyChangesThroughTheControlInterfaceApplyToSessionsAlreadyDisc) {
  test::sim_thread sim(sim_config());  // no limit: Windows' default
  control_in_sim control(sim);

  const auto alice = run_client(sim.port(), "alice", false);
  ASSERT_TRUE(alice.active()) << alice.failure;
  const auto alice_id = alice.session_id.value();
  auto row = wait_disc_for(sim, alice_id, 1200ms);
  ASSERT_TRUE(row) << "without a limit a Disc session must stay";
  ASSERT_GE(row->idle, 1200ms);
  auto r = control.ctl("query session");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(disc_row(alice_id, "alice")), std::string::npos) << r.output;

  // Set while alice has been Disc for longer: it counts from her disconnection, so she is gone when ctl returns.
  r = control.ctl("policy disconnected-limit 1");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("disconnected-limit  1s\n"), std::string::npos) << r.output;
  r = control.ctl("query session");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("alice"), std::string::npos) << r.output;
  EXPECT_EQ(expired(sim), 1u);

  // Switched off while bob is Disc under a limit: he is spared past it.
  r = control.ctl("policy disconnected-limit 3");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto bob = run_client(sim.port(), "bob", false);
  ASSERT_TRUE(bob.active()) << bob.failure;
  const auto bob_id = bob.session_id.value();
  ASSERT_TRUE(wait_for_state(sim, bob_id, session_state::disconnected));
  r = control.ctl("policy disconnected-limit off");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("disconnected-limit  none\n"), std::string::npos) << r.output;
  row = wait_disc_for(sim, bob_id, 3500ms);
  ASSERT_TRUE(row) << "a Disc session was logged off after the limit was switched off";
  EXPECT_GE(row->idle, 3500ms);
  r = control.ctl("query session");
  EXPECT_NE(r.output.find(disc_row(bob_id, "bob")), std::string::npos) << r.output;
  EXPECT_EQ(expired(sim), 1u);
}

// Destroys `sim` (sim_thread's destructor stops the server and joins its thread, which returns once nothing is
// pending on its executor); false when that has not happened within 10 s.
bool stops_in_time(std::shared_ptr<test::sim_thread> sim) {
  auto stopped = std::make_shared<std::promise<void>>();
  auto done = stopped->get_future();
  std::thread stopper([owned = std::move(sim), stopped]() mutable {
    owned.reset();
    stopped->set_value();
  });
  const bool in_time = done.wait_for(10s) == std::future_status::ready;
  if (in_time) stopper.join();
  else stopper.detach();  // it would hold the test binary for the hour; it owns everything it touches
  return in_time;
}

TEST(DisconnectedLimit, APendingLimitDoesNotKeepTheServerFromStopping) {
  auto sim = std::make_shared<test::sim_thread>(sim_config(3600s));
  const auto alice = run_client(sim->port(), "alice", false);  // Disc: the limit is pending for an hour
  ASSERT_TRUE(alice.active()) << alice.failure;
  ASSERT_TRUE(wait_for_state(*sim, alice.session_id.value(), session_state::disconnected));
  EXPECT_TRUE(stops_in_time(std::move(sim))) << "the server's thread was still running 10 s after stop()";
}

TEST(DisconnectedLimit, ASessionDisconnectedByStoppingDoesNotKeepTheServerRunning) {
  auto sim = std::make_shared<test::sim_thread>(sim_config(3600s));
  // bob is active: stopping closes his connection and ends his session with the service.
  auto held = std::async(std::launch::async, [port = sim->port()] { return run_client(port, "bob", true); });
  bool bob_active = false;
  for (int i = 0; i < 500 && !bob_active; ++i) {
    for (const auto& row : sim->call([&] { return sim->server().admin().query_sessions(); }))
      bob_active = bob_active || (row.user == "bob" && row.state == session_state::active);
    if (!bob_active) std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(bob_active);
  EXPECT_TRUE(stops_in_time(std::move(sim))) << "the server's thread was still running 10 s after stop()";
  held.get();
}

// The service stopping ends every session it holds, as a stopped Remote Desktop service does not leave them Disc for
// a later logon to resume: bob's connection is closed with no PDU (termination::service_stop), his session is gone
// from the table, and the table stays empty while the stopped server still answers queries.
TEST(DisconnectedLimit, StoppingTheServerEndsEverySessionItHolds) {
  test::sim_thread sim(sim_config(3600s));
  auto held = std::async(std::launch::async, [port = sim.port()] { return run_client(port, "bob", true); });
  // The session table has no event a test can wait on: it is polled, with a bound.
  std::optional<std::uint32_t> bob_session;
  const bool bob_active = test::wait_until(
      [&] {
        for (const auto& row : sim.call([&] { return sim.server().admin().query_sessions(); }))
          if (row.user == "bob" && row.state == session_state::active) bob_session = row.id;
        return bob_session.has_value();
      },
      10s, 20ms);
  ASSERT_TRUE(bob_active);
  sim.call([&] { sim.server().stop(); });
  ASSERT_EQ(held.wait_for(10s), std::future_status::ready) << "bob's client still held 10 s after the server stopped";
  const auto bob = held.get();
  ASSERT_TRUE(bob.active()) << bob.failure;
  EXPECT_TRUE(bob.server_closed) << "the stopped server should have closed bob's connection";
  EXPECT_FALSE(bob.error_info) << "a stopping service sends no Set Error Info";
  EXPECT_FALSE(bob.disconnect_reason) << "a stopping service sends no Disconnect Provider Ultimatum";
  EXPECT_TRUE(wait_gone(sim, *bob_session)) << "bob's session was left in the table (Disc?) after the server stopped";
  EXPECT_TRUE(sim.call([&] { return sim.server().admin().query_sessions(); }).empty());
}

}  // namespace
