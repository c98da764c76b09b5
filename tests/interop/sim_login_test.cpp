// The FreeRDP client library (headless, through rdpprobe's run_login) against rdpsim: it reaches the active state
// (FreeRDP's PostConnect fires), and each admin action reaches it as the errorInfo FreeRDP's API reports
// (freerdp_error_info / the ErrorInfo event), repeated so that no race can lose the error. The cookie cases replay
// the 0xC0000203 story: disconnect then reconnect with the cookie resumes the same session; logoff then the old
// cookie gets the profile's stale-session answer. The disconnected-session limit tells the same story without an
// admin: the client leaves, stays away past the limit, and its cookie is stale when it comes back.
#include "rdp/net/tls.hpp"
#include "rdp/probe/login.hpp"
#include "rdp/protocol/errinfo.hpp"
#include "sim_thread.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <future>
#include <optional>
#include <thread>

namespace {

using namespace std::chrono_literals;

class SimLogin : public ::testing::Test {
 protected:
  void start(rdp::sim::server_config config = {}) {
    config.policy = rdp::sim::parse_policy("rdp,tls");
    config.identity = rdp::net::make_self_signed(rdp::net::key_kind::ecdsa, "rdpsim-login-test");
    sim_.emplace(std::move(config));
  }

  rdp::probe::login_options options(std::chrono::milliseconds stay = 20s) {
    rdp::probe::login_options o;
    o.host = "127.0.0.1";
    o.port = sim_->port();
    o.user = "alice";
    o.password = "secret";
    o.security = rdp::probe::login_security::tls;
    o.stay = stay;
    o.accept_any_certificate = true;  // rdpsim's self-signed test certificate
    return o;
  }

  std::optional<rdp::sim::session_info> wait_active(std::optional<std::uint32_t> not_id = {}) {
    for (int i = 0; i < 300; ++i) {
      auto rows = sim_->call([this] { return sim_->server().admin().query_sessions(); });
      for (const auto& s : rows)
        if (s.state == rdp::sim::session_state::active && (!not_id || s.id != *not_id)) return s;
      std::this_thread::sleep_for(50ms);
    }
    return std::nullopt;
  }

  rdp::sim::admin_result admin(const std::function<rdp::sim::admin_result(rdp::sim::session_admin&)>& action) {
    return sim_->call([&] { return action(sim_->server().admin()); });
  }

  rdp::sim::server_counters counters() {
    return sim_->call([this] { return sim_->server().counters(); });
  }

  // Logs on, waits for the session, applies `action` to it, returns what the client saw.
  rdp::probe::login_result drop_with(const std::function<rdp::sim::admin_result(rdp::sim::session_admin&, std::uint32_t)>& action) {
    auto client = std::async(std::launch::async, [o = options()] { return rdp::probe::run_login(o); });
    auto session = wait_active();
    EXPECT_TRUE(session) << "the FreeRDP client never reached an active session";
    if (session) {
      EXPECT_TRUE(admin([&](auto& a) { return action(a, session->id); }).ok);
    }
    return client.get();
  }

  // Logs on and leaves: the client disconnects by itself and its session is Disc, the cookie in hand. It stays a
  // moment first, because with stay 0 FreeRDP hangs up before the Save Session Info that carries the cookie.
  rdp::probe::login_result log_on_and_leave() {
    auto r = rdp::probe::run_login(options(500ms));
    EXPECT_TRUE(r.reached_active);
    EXPECT_TRUE(r.cookie) << "no auto-reconnect cookie: nothing to come back with";
    EXPECT_TRUE(r.session_id);
    return r;
  }

  // Polls (bounded, 15 s) until session `id` is gone, or has been Disc for `away` by the server's clock.
  void stay_away(std::uint32_t id, std::chrono::milliseconds away) {
    for (int i = 0; i < 300; ++i) {
      bool waiting = false;
      for (const auto& s : sim_->call([this] { return sim_->server().admin().query_sessions(); }))
        if (s.id == id) waiting = s.state != rdp::sim::session_state::disconnected || s.idle < away;
      if (!waiting) return;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "session " << id << " neither gone nor Disc for " << away.count() << " ms within 15 s";
  }

  rdp::probe::login_result come_back(const rdp::probe::login_result& first, std::chrono::milliseconds stay = 500ms) {
    auto o = options(stay);
    o.reconnect_cookie = first.cookie;
    return rdp::probe::run_login(o);
  }

  std::optional<rdp::test::sim_thread> sim_;
};

TEST_F(SimLogin, ReachesActiveAndGetsItsSessionIdAndCookie) {
  start();
  auto r = rdp::probe::run_login(options(500ms));
  EXPECT_TRUE(r.connected);
  EXPECT_TRUE(r.reached_active);
  EXPECT_EQ(r.furthest_state, "CONNECTION_STATE_ACTIVE");
  EXPECT_EQ(r.session_id, 2u);
  ASSERT_TRUE(r.cookie);
  EXPECT_EQ(r.cookie->logon_id, 2u);
  EXPECT_FALSE(r.ended_by_server);
}

TEST_F(SimLogin, EveryAdminActionArrivesAsItsErrorInfoEveryTime) {
  start();
  struct action_case {
    const char* name;
    std::function<rdp::sim::admin_result(rdp::sim::session_admin&, std::uint32_t)> act;
    std::uint32_t error_info;
  };
  const action_case cases[] = {
      {"logoff", [](auto& a, auto id) { return a.logoff(id); }, 0x00000002},
      {"disconnect", [](auto& a, auto id) { return a.disconnect(id); }, 0x00000001},
  };
  for (const auto& c : cases) {
    for (int round = 0; round < 3; ++round) {
      auto r = drop_with(c.act);
      EXPECT_TRUE(r.reached_active) << c.name << " round " << round;
      EXPECT_TRUE(r.ended_by_server) << c.name << " round " << round;
      EXPECT_EQ(r.error_info, c.error_info) << c.name << " round " << round << ": " << r.error_info_name;
      EXPECT_FALSE(r.error_info_from_ultimatum) << "a Set Error Info PDU must carry it, not FreeRDP's guess";
      EXPECT_EQ(r.disconnect_ultimatum, 1) << "rn-provider-initiated";
    }
  }
}

TEST_F(SimLogin, IdleAndActiveLimitsArriveAsTheirErrorInfo) {
  rdp::sim::server_config config;
  config.sessions.idle_limit = 1s;
  start(config);
  auto idle = rdp::probe::run_login(options());
  EXPECT_TRUE(idle.reached_active);
  EXPECT_EQ(idle.error_info, 0x00000003u) << idle.error_info_name;  // ERRINFO_IDLE_TIMEOUT
  auto policy = sim_->call([this] { return sim_->server().admin().policy(); });
  policy.idle_limit.reset();
  policy.logon_timeout = 1s;
  ASSERT_TRUE(admin([&](auto& a) { return a.set_policy(policy); }).ok);
  auto active = rdp::probe::run_login(options());
  EXPECT_TRUE(active.reached_active);
  EXPECT_EQ(active.error_info, 0x00000004u) << active.error_info_name;  // ERRINFO_LOGON_TIMEOUT
}

TEST_F(SimLogin, ASecondLogonTakesTheSessionOverWithDisconnectedByOtherConnection) {
  start();
  auto first = std::async(std::launch::async, [o = options()] { return rdp::probe::run_login(o); });
  auto session = wait_active();
  ASSERT_TRUE(session);
  auto second = rdp::probe::run_login(options(300ms));
  auto r = first.get();
  EXPECT_EQ(r.error_info, 0x00000005u) << r.error_info_name;  // ERRINFO_DISCONNECTED_BY_OTHERCONNECTION
  EXPECT_TRUE(second.reached_active);
  EXPECT_EQ(second.session_id, session->id);
}

TEST_F(SimLogin, ResetLeavesNoErrorInfoOnlyATransportFailure) {
  start();
  auto r = drop_with([](auto& a, auto id) { return a.reset(id); });
  EXPECT_TRUE(r.reached_active);
  EXPECT_TRUE(r.ended_by_server);
  EXPECT_EQ(r.error_info, 0u) << "a reset carries no PDU";
  EXPECT_FALSE(r.disconnect_ultimatum);
}

TEST_F(SimLogin, DisconnectThenTheCookieResumesTheSameSession) {
  start();
  auto r = drop_with([](auto& a, auto id) { return a.disconnect(id); });
  ASSERT_TRUE(r.cookie);
  ASSERT_TRUE(r.session_id);
  auto o = options(500ms);
  o.reconnect_cookie = r.cookie;
  auto again = rdp::probe::run_login(o);
  EXPECT_TRUE(again.reached_active);
  EXPECT_EQ(again.session_id, r.session_id) << "the cookie must bring the client back to its session";
  EXPECT_EQ(counters().reconnected, 1u);
  EXPECT_EQ(counters().stale_cookies, 0u);
  ASSERT_TRUE(again.cookie);
  EXPECT_NE(again.cookie->random_bits, r.cookie->random_bits) << "a new cookie on every connection";
}

TEST_F(SimLogin, LogoffThenTheOldCookieGetsAFreshLogonByDefault) {
  start();
  auto r = drop_with([](auto& a, auto id) { return a.logoff(id); });
  ASSERT_TRUE(r.cookie);
  auto o = options(500ms);
  o.reconnect_cookie = r.cookie;
  auto again = rdp::probe::run_login(o);
  EXPECT_TRUE(again.reached_active);
  ASSERT_TRUE(again.session_id);
  EXPECT_NE(again.session_id, r.session_id) << "the old session is gone: a new one";
  EXPECT_EQ(counters().stale_cookies, 1u);
  EXPECT_EQ(counters().reconnected, 0u);
}

TEST_F(SimLogin, LogoffThenTheOldCookieIsRefusedWhenTheProfileSaysSo) {
  rdp::sim::server_config config;
  config.stale_cookie = rdp::sim::stale_cookie_answer::refuse;
  config.stale_cookie_error = rdp::protocol::errinfo::server_denied_connection;
  start(config);
  auto r = drop_with([](auto& a, auto id) { return a.logoff(id); });
  ASSERT_TRUE(r.cookie);
  auto o = options(500ms);
  o.reconnect_cookie = r.cookie;
  auto again = rdp::probe::run_login(o);
  EXPECT_FALSE(again.reached_active);
  EXPECT_EQ(again.last_error, 0x00010007u) << again.last_error_name;  // the errorInfo, as FreeRDP's last error
}

TEST_F(SimLogin, WithoutADisconnectedLimitTheCookieResumesAfterTheSameAbsence) {
  start();  // Windows' default: Disc sessions are kept for ever
  const auto first = log_on_and_leave();
  ASSERT_TRUE(first.cookie && first.session_id);
  stay_away(*first.session_id, 1500ms);
  const auto again = come_back(first);
  EXPECT_TRUE(again.reached_active);
  EXPECT_EQ(again.session_id, first.session_id) << "the cookie must bring the client back to its session";
  EXPECT_EQ(counters().reconnected, 1u);
  EXPECT_EQ(counters().stale_cookies, 0u);
  EXPECT_EQ(counters().disconnected_expired, 0u);
}

TEST_F(SimLogin, DisconnectedLimitLogsTheSessionOffAndTheCookieGetsAFreshLogon) {
  rdp::sim::server_config config;
  config.sessions.disconnected_limit = 1s;
  start(config);
  const auto first = log_on_and_leave();
  ASSERT_TRUE(first.cookie && first.session_id);
  stay_away(*first.session_id, 1500ms);
  const auto again = come_back(first);
  EXPECT_TRUE(again.reached_active) << again.last_error_name;
  ASSERT_TRUE(again.session_id);
  EXPECT_NE(again.session_id, first.session_id) << "the session was logged off: a fresh logon, a new session";
  EXPECT_EQ(counters().disconnected_expired, 1u);
  EXPECT_EQ(counters().stale_cookies, 1u);
  EXPECT_EQ(counters().reconnected, 0u);
}

TEST_F(SimLogin, DisconnectedLimitLogsTheSessionOffAndTheCookieIsRefusedWhenTheProfileSaysSo) {
  rdp::sim::server_config config;
  config.sessions.disconnected_limit = 1s;
  config.stale_cookie = rdp::sim::stale_cookie_answer::refuse;
  config.stale_cookie_error = rdp::protocol::errinfo::server_denied_connection;
  start(config);
  const auto first = log_on_and_leave();
  ASSERT_TRUE(first.cookie && first.session_id);
  stay_away(*first.session_id, 1500ms);
  const auto again = come_back(first);
  EXPECT_FALSE(again.reached_active);
  EXPECT_EQ(again.error_info, 0x00000007u) << again.error_info_name;
  EXPECT_EQ(again.last_error, 0x00010007u) << again.last_error_name;  // the errorInfo, as FreeRDP's last error
  EXPECT_EQ(counters().disconnected_expired, 1u);
  EXPECT_EQ(counters().stale_cookies, 1u);
}

TEST_F(SimLogin, DisconnectedLimitSparesASessionResumedWithItsCookieBeforeIt) {
  rdp::sim::server_config config;
  config.sessions.disconnected_limit = 2s;
  config.sessions.single_session = false;  // only the cookie can bring the client back to its session
  start(config);
  const auto first = log_on_and_leave();
  ASSERT_TRUE(first.cookie && first.session_id);
  // Back at once, and connected for longer than the limit: from the resumption on, the session is not Disc.
  const auto again = come_back(first, 3s);
  EXPECT_TRUE(again.reached_active) << again.last_error_name;
  EXPECT_EQ(again.session_id, first.session_id) << "not resumed: the limit must not have run out yet";
  EXPECT_FALSE(again.ended_by_server) << "the session ended while connected: " << again.error_info_name;
  EXPECT_EQ(counters().reconnected, 1u);
  EXPECT_EQ(counters().disconnected_expired, 0u);
  const auto rows = sim_->call([this] { return sim_->server().admin().query_sessions(); });
  EXPECT_TRUE(std::any_of(rows.begin(), rows.end(), [&](const auto& s) { return s.id == *first.session_id; }))
      << "the session must still be in the table (Disc again, counting afresh)";
}

}  // namespace

// NLA is not simulated (yet): a client that offers only CredSSP gets the NTLM CHALLENGE, and its AUTHENTICATE is
// refused at once with TSRequest.errorCode STATUS_NOT_SUPPORTED, so FreeRDP ends its connect with that NTSTATUS
// instead of waiting for a reply until its own deadline (before: "Timeout waiting for activation", watchdog abort).
class SimLoginNla : public SimLogin {};

TEST_F(SimLoginNla, ACredSspLogonIsRefusedWithAnNtstatusNotLeftToTimeOut) {
  rdp::sim::server_config config;
  config.policy = rdp::sim::parse_policy("rdp,tls,credssp");
  config.identity = rdp::net::make_self_signed(rdp::net::key_kind::ecdsa, "rdpsim-nla-test");
  sim_.emplace(std::move(config));
  auto o = options();
  o.security = rdp::probe::login_security::nla;
  const auto r = rdp::probe::run_login(o);
  EXPECT_FALSE(r.reached_active);
  EXPECT_FALSE(r.timed_out) << "rdpsim held the CredSSP exchange until FreeRDP's deadline";
  EXPECT_EQ(counters().ntlm_challenges, 1u) << "FreeRDP never got as far as the CHALLENGE";
  const bool ntstatus_seen = std::any_of(r.freerdp_errors.begin(), r.freerdp_errors.end(), [](const std::string& line) {
    return line.find("C00000BB") != std::string::npos || line.find("NOT_SUPPORTED") != std::string::npos;
  });
  EXPECT_TRUE(ntstatus_seen) << "FreeRDP did not report the server's errorCode; last error " << r.last_error_name;
}
