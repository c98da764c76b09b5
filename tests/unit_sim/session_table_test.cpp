// The session table (sim/include/rdp/sim/session_table.hpp) on made-up times and deterministic ArcRandomBits:
// which session a logon lands in, what each ending does to it and sends, and when Disc sessions expire.
#include "rdp/protocol/errinfo.hpp"
#include "rdp/sim/session_table.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

namespace {

using namespace std::chrono_literals;
using rdp::protocol::activation::arc_client_cookie;
using rdp::protocol::activation::client_info;
using rdp::protocol::mcs::disconnect_reason;
using rdp::sim::arc_random_bits;
using rdp::sim::close_style;
using rdp::sim::logon_rules;
using rdp::sim::session_state;
using rdp::sim::session_table;
using rdp::sim::termination;
namespace errinfo = rdp::protocol::errinfo;

const auto t0 = std::chrono::steady_clock::time_point{} + 1000s;
const auto logon_time = std::chrono::system_clock::time_point{} + 86400s;

// The n-th ArcRandomBits the source made: every byte n, so a test can tell which draw a session holds.
arc_random_bits bits(std::uint8_t n) {
  arc_random_bits b{};
  b.fill(n);
  return b;
}

struct table_under_test : ::testing::Test {
  std::uint8_t draws = 0;
  session_table table{[this] { return bits(++draws); }};
  logon_rules rules;

  static client_info user(std::string name, std::string password = "", std::string domain = "") {
    client_info info;
    info.user = std::move(name);
    info.password = std::move(password);
    info.domain = std::move(domain);
    return info;
  }
  static client_info with_cookie(client_info info, std::uint32_t logon_id, const arc_random_bits& key) {
    info.auto_reconnect_cookie = arc_client_cookie{logon_id, rdp::sim::arc_security_verifier(key)};
    return info;
  }
  rdp::sim::logon_outcome logon(rdp::sim::connection_number conn, const client_info& info) {
    return table.choose(conn, info, rules, logon_time);
  }
  // A session logged on through connection `conn` whose client took its cookie, then disconnected at `when`.
  std::uint32_t disconnected_session(rdp::sim::connection_number conn, const std::string& name,
                                     std::chrono::steady_clock::time_point when) {
    const auto out = logon(conn, user(name));
    table.renew_cookie(conn, true);
    table.mark_active(conn);
    table.settle(conn, termination::none, when);
    return out.session_id;
  }
};

// ---- choose -----------------------------------------------------------------------------------------------------

TEST_F(table_under_test, a_first_logon_makes_session_2_bound_to_its_connection) {
  const auto out = logon(7, user("alice", "", "LAB"));
  EXPECT_FALSE(out.denied);
  EXPECT_EQ(out.session_id, 2u);  // 0 is services and 1 the console on Windows
  EXPECT_FALSE(out.resumed);
  EXPECT_FALSE(out.stale_cookie);
  EXPECT_FALSE(out.replaced);
  const auto* s = table.bound(7);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->id, 2u);
  EXPECT_EQ(s->user, "alice");
  EXPECT_EQ(s->domain, "LAB");
  EXPECT_EQ(s->state, session_state::connected);
  EXPECT_EQ(s->logon_time, logon_time);
  EXPECT_EQ(s->arc_random, bits(1));  // random from creation
  EXPECT_FALSE(s->cookie_issued);
  EXPECT_EQ(logon(8, user("bob")).session_id, 3u);
  EXPECT_EQ(table.size(), 2u);
}

TEST_F(table_under_test, an_issued_cookie_resumes_its_disconnected_session) {
  rules.policy.single_session = false;  // so only the cookie can resume it
  const auto id = disconnected_session(1, "alice", t0);
  const auto key = table.find(id)->arc_random;
  const auto out = logon(2, with_cookie(user("alice"), id, key));
  EXPECT_FALSE(out.denied);
  EXPECT_TRUE(out.resumed);
  EXPECT_FALSE(out.stale_cookie);
  EXPECT_EQ(out.session_id, id);
  EXPECT_EQ(table.bound(2)->state, session_state::connected);
  EXPECT_EQ(table.counters().reconnected, 1u);
  EXPECT_EQ(table.size(), 1u);
}

TEST_F(table_under_test, a_cookie_resumes_without_the_password_checked_again) {
  // The cookie is the proof (MS-RDPBCGR 5.5): the password a reconnecting client sends is not what lets it in.
  const std::vector<rdp::sim::user_account> accounts{{"alice", "", "secret"}};
  rules.users = accounts;
  rules.policy.single_session = false;
  const auto first = logon(1, user("alice", "secret"));
  table.renew_cookie(1, true);
  table.mark_active(1);
  table.settle(1, termination::network_drop, t0);
  const auto key = table.find(first.session_id)->arc_random;
  const auto out = logon(2, with_cookie(user("alice", "wrong"), first.session_id, key));
  EXPECT_TRUE(out.resumed);
  EXPECT_EQ(table.counters().logon_failures, 0u);
}

TEST_F(table_under_test, a_cookie_never_issued_is_stale_whatever_it_proves) {
  rules.policy.single_session = false;
  const auto first = logon(1, user("alice"));
  table.renew_cookie(1, false);  // the client did not take a cookie
  table.mark_active(1);          // Save Session Info (logon) went out all the same
  table.settle(1, termination::none, t0);
  const auto key = table.find(first.session_id)->arc_random;
  const auto out = logon(2, with_cookie(user("alice"), first.session_id, key));
  EXPECT_TRUE(out.stale_cookie);
  EXPECT_FALSE(out.resumed);
  EXPECT_NE(out.session_id, first.session_id);  // a fresh logon into a new session
  EXPECT_EQ(table.counters().stale_cookies, 1u);
  EXPECT_EQ(table.counters().reconnected, 0u);
}

TEST_F(table_under_test, the_previous_connections_cookie_is_stale_after_a_new_logon) {
  rules.policy.single_session = false;
  const auto id = disconnected_session(1, "alice", t0);
  const auto old_key = table.find(id)->arc_random;
  ASSERT_TRUE(logon(2, with_cookie(user("alice"), id, old_key)).resumed);
  table.renew_cookie(2, true);  // Save Session Info on the new connection: fresh bits
  EXPECT_NE(table.find(id)->arc_random, old_key);
  table.settle(2, termination::none, t0 + 1s);
  const auto out = logon(3, with_cookie(user("alice"), id, old_key));
  EXPECT_TRUE(out.stale_cookie);
  EXPECT_FALSE(out.resumed);
}

TEST_F(table_under_test, a_stale_cookie_goes_on_with_a_fresh_logon_by_default) {
  const auto out = logon(1, with_cookie(user("alice"), 42, bits(9)));  // no session 42
  EXPECT_FALSE(out.denied);
  EXPECT_TRUE(out.stale_cookie);
  EXPECT_FALSE(out.resumed);
  EXPECT_EQ(out.session_id, 2u);
  EXPECT_EQ(table.counters().stale_cookies, 1u);
}

TEST_F(table_under_test, a_stale_cookie_under_single_session_lands_in_the_users_session) {
  const auto id = disconnected_session(1, "alice", t0);
  const auto out = logon(2, with_cookie(user("alice"), id, bits(99)));  // wrong verifier
  EXPECT_TRUE(out.stale_cookie);
  EXPECT_TRUE(out.resumed);  // by user name, not by the cookie
  EXPECT_EQ(out.session_id, id);
  EXPECT_EQ(table.counters().reconnected, 0u);
}

TEST_F(table_under_test, a_stale_cookie_is_refused_with_the_configured_error_when_told_to) {
  rules.stale_cookie = rdp::sim::stale_cookie_answer::refuse;
  rules.stale_cookie_error = errinfo::server_denied_connection;
  const auto out = logon(1, with_cookie(user("alice"), 2, bits(9)));
  ASSERT_TRUE(out.denied);
  EXPECT_EQ(*out.denied, errinfo::server_denied_connection);
  EXPECT_TRUE(out.stale_cookie);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.bound(1), nullptr);
  EXPECT_EQ(table.counters().stale_cookies, 1u);
}

TEST_F(table_under_test, single_session_takes_the_users_session_over_and_names_the_old_connection) {
  const auto first = logon(1, user("Alice", "", "LAB"));
  table.mark_active(1);
  const auto out = logon(2, user("alice", "", "lab"));  // user and domain compare without case, as on Windows
  EXPECT_TRUE(out.resumed);
  EXPECT_EQ(out.session_id, first.session_id);
  ASSERT_TRUE(out.replaced);
  EXPECT_EQ(*out.replaced, 1u);
  EXPECT_EQ(table.bound(1), nullptr);
  ASSERT_NE(table.bound(2), nullptr);
  EXPECT_EQ(table.bound(2)->state, session_state::connected);
  EXPECT_EQ(table.size(), 1u);
}

TEST_F(table_under_test, a_disconnected_session_taken_over_replaces_no_connection) {
  const auto id = disconnected_session(1, "alice", t0);
  const auto out = logon(2, user("alice"));
  EXPECT_EQ(out.session_id, id);
  EXPECT_FALSE(out.replaced);
}

TEST_F(table_under_test, without_single_session_the_same_user_gets_a_second_session) {
  rules.policy.single_session = false;
  logon(1, user("alice"));
  const auto out = logon(2, user("alice"));
  EXPECT_FALSE(out.resumed);
  EXPECT_FALSE(out.replaced);
  EXPECT_EQ(out.session_id, 3u);
  EXPECT_NE(table.bound(1), nullptr);
}

TEST_F(table_under_test, max_sessions_refuses_a_new_session_but_not_a_takeover) {
  rules.policy.max_sessions = 1;
  logon(1, user("alice"));
  const auto refused = logon(2, user("bob"));
  ASSERT_TRUE(refused.denied);
  EXPECT_EQ(*refused.denied, errinfo::server_denied_connection);
  EXPECT_FALSE(refused.table_full);  // the policy, not the simulator's bound
  EXPECT_EQ(table.counters().session_table_full, 0u);
  EXPECT_FALSE(logon(3, user("alice")).denied);  // lands in the session that exists
  EXPECT_EQ(table.size(), 1u);
}

TEST_F(table_under_test, a_full_table_refuses_and_is_counted) {
  rules.max_session_table = 2;
  logon(1, user("a"));
  logon(2, user("b"));
  const auto out = logon(3, user("c"));
  ASSERT_TRUE(out.denied);
  EXPECT_EQ(*out.denied, errinfo::server_denied_connection);
  EXPECT_TRUE(out.table_full);
  EXPECT_EQ(table.counters().session_table_full, 1u);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.bound(3), nullptr);
}

TEST_F(table_under_test, wrong_credentials_are_refused_with_insufficient_privileges) {
  const std::vector<rdp::sim::user_account> accounts{{"alice", "", "secret"}, {"bob", "LAB", "pw"}};
  rules.users = accounts;
  const auto wrong = logon(1, user("alice", "Secret"));  // passwords compare exactly
  ASSERT_TRUE(wrong.denied);
  EXPECT_EQ(*wrong.denied, errinfo::server_insufficient_privileges);
  EXPECT_EQ(table.counters().logon_failures, 1u);
  EXPECT_EQ(table.size(), 0u);
  const auto other_domain = logon(2, user("bob", "pw", "ELSEWHERE"));
  EXPECT_TRUE(other_domain.denied);
  EXPECT_EQ(table.counters().logon_failures, 2u);
  EXPECT_FALSE(logon(3, user("ALICE", "secret", "ANY")).denied);  // an account without a domain takes any
  EXPECT_FALSE(logon(4, user("bob", "pw", "lab")).denied);
}

TEST_F(table_under_test, a_failing_random_source_leaves_the_table_as_it_was) {
  session_table failing([]() -> arc_random_bits { throw std::runtime_error("no entropy"); });
  EXPECT_THROW(failing.choose(1, user("alice"), rules, logon_time), std::runtime_error);
  EXPECT_EQ(failing.size(), 0u);
  EXPECT_EQ(failing.bound(1), nullptr);
}

// ---- settle -----------------------------------------------------------------------------------------------------

enum class fate { deleted, disconnected, untouched };

struct settle_case {
  termination how;
  fate expected;
};

class settle_every_termination : public table_under_test, public ::testing::WithParamInterface<settle_case> {};

TEST_P(settle_every_termination, does_to_the_session_what_docs_session_drops_says) {
  const auto [how, expected] = GetParam();
  const auto id = logon(5, user("alice")).session_id;
  table.mark_active(5);
  const bool became_disc = table.settle(5, how, t0);
  EXPECT_EQ(became_disc, expected == fate::disconnected);
  const auto* s = table.find(id);
  switch (expected) {
    case fate::deleted:
      EXPECT_EQ(s, nullptr);
      break;
    case fate::disconnected:
      ASSERT_NE(s, nullptr);
      EXPECT_EQ(s->state, session_state::disconnected);
      EXPECT_FALSE(s->connection);
      EXPECT_EQ(s->disconnected_since, t0);
      EXPECT_EQ(s->idle_since, t0);
      EXPECT_EQ(table.bound(5), nullptr);
      break;
    case fate::untouched:
      ASSERT_NE(s, nullptr);
      EXPECT_EQ(s->state, session_state::active);
      EXPECT_EQ(table.bound(5), s);
      break;
  }
}

INSTANTIATE_TEST_SUITE_P(session_table, settle_every_termination,
                         ::testing::Values(settle_case{termination::none, fate::disconnected},
                                           settle_case{termination::logoff_by_admin, fate::deleted},
                                           settle_case{termination::disconnect_by_admin, fate::disconnected},
                                           settle_case{termination::reset, fate::deleted},
                                           settle_case{termination::replaced, fate::untouched},
                                           settle_case{termination::idle_timeout, fate::disconnected},
                                           settle_case{termination::active_limit, fate::disconnected},
                                           settle_case{termination::service_stop, fate::deleted},
                                           settle_case{termination::network_drop, fate::disconnected}));

// A connection that ends without a logoff before its logon completed (the client left during licensing or
// finalization, the pre-logon deadline passed, the network or an admin cut it): a Windows host keeps nothing — there is
// no desktop to go back to — so the session is gone, not Disc, and no disconnected-session limit starts for it.
class settle_before_logon : public table_under_test, public ::testing::WithParamInterface<termination> {};

TEST_P(settle_before_logon, ends_a_session_never_logged_on) {
  const auto id = logon(5, user("alice")).session_id;
  table.renew_cookie(5, true);  // activated, but Save Session Info never reached `logged_on`
  EXPECT_FALSE(table.settle(5, GetParam(), t0));
  EXPECT_EQ(table.find(id), nullptr);
  EXPECT_EQ(table.bound(5), nullptr);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_FALSE(table.expire(t0, 1s)) << "no Disc session, so no expiry due";
}

INSTANTIATE_TEST_SUITE_P(session_table, settle_before_logon,
                         ::testing::Values(termination::none, termination::network_drop,
                                           termination::disconnect_by_admin, termination::idle_timeout,
                                           termination::active_limit));

TEST_F(table_under_test, a_resumed_session_cut_off_before_its_new_logon_completes_is_disc_again) {
  // It was logged on before: losing the connection that came back for it leaves it as it was, Disc, with the limit
  // counting from this second disconnection.
  rules.policy.single_session = false;
  const auto id = disconnected_session(1, "alice", t0);
  const auto key = table.find(id)->arc_random;
  ASSERT_TRUE(logon(2, with_cookie(user("alice"), id, key)).resumed);
  EXPECT_TRUE(table.settle(2, termination::none, t0 + 30s));
  const auto* s = table.find(id);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->state, session_state::disconnected);
  EXPECT_EQ(s->disconnected_since, t0 + 30s);
  EXPECT_EQ(table.expire(t0 + 30s, 60s), t0 + 90s);
}

TEST_F(table_under_test, the_disconnected_limit_counts_from_when_the_connection_ended) {
  const auto id = disconnected_session(1, "alice", t0);
  EXPECT_EQ(table.expire(t0 + 59s, 60s), t0 + 60s);
  ASSERT_NE(table.find(id), nullptr);
  EXPECT_FALSE(table.expire(t0 + 60s, 60s));
  EXPECT_EQ(table.find(id), nullptr);
  EXPECT_EQ(table.counters().disconnected_expired, 1u);
}

TEST_F(table_under_test, a_restart_that_keeps_sessions_makes_logged_on_ones_disc_and_ends_the_rest) {
  rules.policy.single_session = false;
  const auto disc = disconnected_session(1, "carol", t0);  // already Disc: untouched, its limit keeps counting
  const auto alice = logon(2, user("alice")).session_id;
  table.renew_cookie(2, true);
  table.mark_active(2);
  const auto bob = logon(3, user("bob")).session_id;  // still logging on
  EXPECT_TRUE(table.disconnect_all(t0 + 10s));
  EXPECT_EQ(table.bound(2), nullptr);
  EXPECT_EQ(table.bound(3), nullptr);
  ASSERT_NE(table.find(alice), nullptr);
  EXPECT_EQ(table.find(alice)->state, session_state::disconnected);
  EXPECT_EQ(table.find(alice)->disconnected_since, t0 + 10s);
  EXPECT_TRUE(table.find(alice)->cookie_issued) << "the cookie still resumes it once the service is back";
  EXPECT_EQ(table.find(bob), nullptr);
  ASSERT_NE(table.find(disc), nullptr);
  EXPECT_EQ(table.find(disc)->disconnected_since, t0);
  EXPECT_EQ(table.size(), 2u);
  const auto key = table.find(alice)->arc_random;
  EXPECT_TRUE(logon(4, with_cookie(user("alice"), alice, key)).resumed);
}

TEST_F(table_under_test, settling_a_replaced_connection_leaves_the_session_with_the_new_one) {
  const auto id = logon(1, user("alice")).session_id;
  ASSERT_TRUE(logon(2, user("alice")).replaced);
  table.mark_active(2);
  EXPECT_FALSE(table.settle(1, termination::replaced, t0));
  ASSERT_NE(table.bound(2), nullptr);
  EXPECT_EQ(table.bound(2)->id, id);
  EXPECT_EQ(table.bound(2)->state, session_state::active);
}

TEST_F(table_under_test, settling_after_an_admin_logoff_finds_nothing_left_to_do) {
  const auto id = logon(1, user("alice")).session_id;
  const auto target = table.remove(id);
  EXPECT_TRUE(target.result.ok);
  ASSERT_TRUE(target.connection);
  EXPECT_EQ(*target.connection, 1u);
  EXPECT_FALSE(table.settle(1, termination::logoff_by_admin, t0));
  EXPECT_EQ(table.size(), 0u);
}

// ---- teardown_for -----------------------------------------------------------------------------------------------

struct teardown_case {
  termination how;
  rdp::sim::teardown expected;
};

class teardown_of_every_termination : public ::testing::TestWithParam<teardown_case> {};

TEST_P(teardown_of_every_termination, is_the_wire_sequence_of_docs_session_drops) {
  EXPECT_EQ(rdp::sim::teardown_for(GetParam().how), GetParam().expected);
}

constexpr auto dpu = disconnect_reason::provider_initiated;  // rn-provider-initiated: the server ends it
INSTANTIATE_TEST_SUITE_P(
    session_table, teardown_of_every_termination,
    ::testing::Values(
        teardown_case{termination::none, {std::nullopt, std::nullopt, close_style::graceful}},
        teardown_case{termination::logoff_by_admin, {errinfo::rpc_initiated_logoff, dpu, close_style::graceful}},
        teardown_case{termination::disconnect_by_admin,
                      {errinfo::rpc_initiated_disconnect, dpu, close_style::graceful}},
        teardown_case{termination::reset, {std::nullopt, std::nullopt, close_style::reset}},
        teardown_case{termination::replaced, {errinfo::disconnected_by_other_connection, dpu, close_style::graceful}},
        teardown_case{termination::idle_timeout, {errinfo::idle_timeout, dpu, close_style::graceful}},
        teardown_case{termination::active_limit, {errinfo::logon_timeout, dpu, close_style::graceful}},
        teardown_case{termination::service_stop, {std::nullopt, std::nullopt, close_style::abrupt}},
        teardown_case{termination::network_drop, {std::nullopt, std::nullopt, close_style::reset}}));

TEST(session_table, teardown_error_infos_are_the_codes_the_spec_names) {
  // The values on the wire, not just the constants: MS-RDPBCGR 2.2.5.1.1.
  EXPECT_EQ(rdp::sim::teardown_for(termination::logoff_by_admin).error_info, 0x00000002u);
  EXPECT_EQ(rdp::sim::teardown_for(termination::disconnect_by_admin).error_info, 0x00000001u);
  EXPECT_EQ(rdp::sim::teardown_for(termination::idle_timeout).error_info, 0x00000003u);
  EXPECT_EQ(rdp::sim::teardown_for(termination::active_limit).error_info, 0x00000004u);
  EXPECT_EQ(rdp::sim::teardown_for(termination::replaced).error_info, 0x00000005u);
}

// ---- expire -----------------------------------------------------------------------------------------------------

TEST_F(table_under_test, expire_logs_off_disc_sessions_at_their_limit_and_says_when_the_next_is_due) {
  rules.policy.single_session = false;
  const auto first = disconnected_session(1, "alice", t0);
  const auto second = disconnected_session(2, "bob", t0 + 10s);
  logon(3, user("carol"));  // connected: never expires
  const auto limit = std::optional<std::chrono::seconds>(60s);

  EXPECT_EQ(table.expire(t0 + 30s, limit), t0 + 60s);
  EXPECT_EQ(table.size(), 3u);
  EXPECT_EQ(table.expire(t0 + 60s, limit), t0 + 70s);  // due exactly at the limit
  EXPECT_EQ(table.find(first), nullptr);
  EXPECT_NE(table.find(second), nullptr);
  EXPECT_EQ(table.counters().disconnected_expired, 1u);
  EXPECT_EQ(table.expire(t0 + 1h, limit), std::nullopt);  // none left to expire
  EXPECT_EQ(table.find(second), nullptr);
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.counters().disconnected_expired, 2u);
}

TEST_F(table_under_test, expire_without_a_limit_keeps_every_session) {
  disconnected_session(1, "alice", t0);
  EXPECT_EQ(table.expire(t0 + 24h, std::nullopt), std::nullopt);
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.counters().disconnected_expired, 0u);
}

// A limit scaled by a time scale (5 s at 0.02 is 100 ms) is counted to the millisecond, not rounded to a second.
TEST_F(table_under_test, expire_counts_a_scaled_limit_to_the_millisecond) {
  using std::chrono::milliseconds;
  const auto id = disconnected_session(1, "alice", t0);
  const auto limit = std::optional<milliseconds>(100);
  EXPECT_EQ(table.expire(t0 + milliseconds(99), limit), t0 + milliseconds(100));
  EXPECT_NE(table.find(id), nullptr);
  EXPECT_EQ(table.expire(t0 + milliseconds(100), limit), std::nullopt);
  EXPECT_EQ(table.find(id), nullptr);
}

TEST_F(table_under_test, a_session_resumed_before_its_limit_does_not_expire) {
  const auto id = disconnected_session(1, "alice", t0);
  logon(2, user("alice"));  // single session: back in it
  EXPECT_EQ(table.expire(t0 + 1h, std::chrono::seconds(60)), std::nullopt);
  EXPECT_NE(table.find(id), nullptr);
}

// ---- cookies, rows and admin targets ----------------------------------------------------------------------------

TEST(session_table, security_verifier_is_hmac_md5_of_32_zero_bytes) {
  // Known answer from Python's hmac module: hmac.new(bytes(range(16)), bytes(32), hashlib.md5).
  arc_random_bits key{};
  for (std::uint8_t i = 0; i < 16; ++i) key[i] = i;
  const std::array<std::uint8_t, 16> expected{0xb6, 0x39, 0xc8, 0x73, 0x16, 0x38, 0x61, 0x8b,
                                              0x70, 0x79, 0x72, 0xaa, 0x6e, 0x96, 0xcf, 0x90};
  EXPECT_EQ(rdp::sim::arc_security_verifier(key), expected);
}

TEST_F(table_under_test, renew_cookie_draws_fresh_bits_every_logon) {
  const auto id = logon(1, user("alice")).session_id;
  const auto* s = table.renew_cookie(1, true);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->id, id);
  EXPECT_EQ(s->arc_random, bits(2));  // the second draw: the first made the session
  EXPECT_TRUE(s->cookie_issued);
  EXPECT_EQ(table.renew_cookie(1, false)->arc_random, bits(3));
  EXPECT_FALSE(table.find(id)->cookie_issued);
  EXPECT_EQ(table.renew_cookie(99, true), nullptr);
}

TEST_F(table_under_test, query_rows_name_connections_and_count_idle_from_the_last_input) {
  rules.policy.single_session = false;
  disconnected_session(4, "alice", t0);
  logon(9, user("bob"));
  table.mark_active(9);
  const auto rows = table.query(t0 + 90s, [](rdp::sim::connection_number n) {
    EXPECT_EQ(n, 9u);  // only connected sessions are asked about
    return rdp::sim::connection_view{"127.0.0.1:50000", t0 + 80s};
  });
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].id, 2u);
  EXPECT_EQ(rows[0].name, "");
  EXPECT_EQ(rows[0].state, session_state::disconnected);
  EXPECT_EQ(rows[0].idle, 90s);
  EXPECT_EQ(rows[1].id, 3u);
  EXPECT_EQ(rows[1].name, "rdp-tcp#9");
  EXPECT_EQ(rows[1].user, "bob");
  EXPECT_EQ(rows[1].client_address, "127.0.0.1:50000");
  EXPECT_EQ(rows[1].state, session_state::active);
  EXPECT_EQ(rows[1].idle, 10s);
  EXPECT_EQ(rows[1].logon_time, logon_time);
}

TEST_F(table_under_test, admin_targets_say_why_not) {
  const auto id = disconnected_session(1, "alice", t0);
  EXPECT_EQ(table.remove(7).result.error, "no session 7");
  EXPECT_EQ(table.connected(7).result.error, "no session 7");
  const auto disc = table.connected(id);
  EXPECT_FALSE(disc.result.ok);
  EXPECT_EQ(disc.result.error, "session 2 is not connected");
  logon(3, user("alice"));
  const auto live = table.connected(id);
  EXPECT_TRUE(live.result.ok);
  EXPECT_EQ(live.connection, 3u);
  const auto removed = table.remove(id);
  EXPECT_TRUE(removed.result.ok);
  EXPECT_EQ(removed.connection, 3u);
  EXPECT_EQ(table.bound(3), nullptr);
}

TEST_F(table_under_test, clear_empties_the_table_but_numbering_goes_on) {
  logon(1, user("alice"));
  table.clear();
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.bound(1), nullptr);
  EXPECT_EQ(logon(2, user("alice")).session_id, 3u);  // ids are not reused after a service restart
}

}  // namespace
