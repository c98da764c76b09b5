// The FreeRDP client library (headless, through rdpprobe's run_login) against rdpsim: it reaches the active state
// (FreeRDP's PostConnect fires), and each admin action reaches it as the errorInfo FreeRDP's API reports
// (freerdp_error_info / the ErrorInfo event), repeated so that no race can lose the error. The cookie cases replay
// the 0xC0000203 story: disconnect then reconnect with the cookie resumes the same session; logoff then the old
// cookie gets the profile's stale-session answer. The disconnected-session limit tells the same story without an
// admin: the client leaves, stays away past the limit, and its cookie is stale when it comes back. The NLA tests at
// the end do the same over CredSSP, and check the NTSTATUS of each refusal.
#include "rdp/net/tls.hpp"
#include "rdp/probe/login.hpp"
#include "rdp/probe/login_ntstatus.hpp"
#include "rdp/protocol/errinfo.hpp"
#include "sim_thread.hpp"

#include <freerdp/error.h>
#include <gtest/gtest.h>
#include <winpr/nt.h>

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
    o.user = user_;
    o.domain = domain_;
    o.password = password_;
    o.security = security_;
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
  // What options() logs on with: the TLS tests' defaults (rdpsim without users accepts any credentials over TLS).
  std::string user_ = "alice", domain_, password_ = "secret";
  rdp::probe::login_security security_ = rdp::probe::login_security::tls;
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

// NLA: rdpsim performs the CredSSP logon (NTLMv2 against its users, the public-key binding, TSCredentials) and
// refuses one with the NTSTATUS Windows sends in TSRequest.errorCode (MS-CSSP 2.2.1). FreeRDP 2.11 must reach the
// active state with the right password, fail at once (no timeout) with the code's own ERRCONNECT_* otherwise, and
// rdpprobe's run_login must recover the NTSTATUS from what FreeRDP reported (login_ntstatus.hpp).
namespace {

constexpr const char* nla_password = "Passw0rd!";

class SimLoginNla : public SimLogin {
 protected:
  void start_nla(const std::string& protocols = "tls,credssp") {
    rdp::sim::server_config config;
    config.policy = rdp::sim::parse_policy(protocols);
    config.identity = rdp::net::make_self_signed(rdp::net::key_kind::ecdsa, "rdpsim-nla-test");
    config.users = {
        {.user = "alice", .domain = "LAB", .password = nla_password, .state = rdp::protocol::account_state::enabled,
         .remote_logon = true},
        {.user = "dora", .domain = "LAB", .password = nla_password, .state = rdp::protocol::account_state::disabled,
         .remote_logon = true},
        {.user = "luke", .domain = "LAB", .password = nla_password, .state = rdp::protocol::account_state::locked_out,
         .remote_logon = true},
        {.user = "eve", .domain = "LAB", .password = nla_password, .state = rdp::protocol::account_state::expired,
         .remote_logon = true},
        {.user = "pete", .domain = "LAB", .password = nla_password,
         .state = rdp::protocol::account_state::password_expired, .remote_logon = true},
        {.user = "max", .domain = "LAB", .password = nla_password,
         .state = rdp::protocol::account_state::password_must_change, .remote_logon = true},
    };
    sim_.emplace(std::move(config));
    domain_ = "LAB";
    password_ = nla_password;
    security_ = rdp::probe::login_security::nla;
  }

  std::vector<rdp::sim::session_info> sessions() {
    auto rows = sim_->call([this] { return sim_->server().admin().query_sessions(); });
    std::erase_if(rows, [](const auto& s) { return s.state == rdp::sim::session_state::listen; });
    return rows;
  }
};

TEST_F(SimLoginNla, TheRightPasswordReachesActiveOverNlaAndWithAnyWhereFreerdpPicksIt) {
  start_nla();
  for (const auto security : {rdp::probe::login_security::nla, rdp::probe::login_security::any}) {
    const auto before = counters();
    security_ = security;
    const auto r = rdp::probe::run_login(options(500ms));
    const auto name = std::string(rdp::probe::to_string(security));
    EXPECT_TRUE(r.reached_active) << name << ": " << r.last_error_name;
    EXPECT_FALSE(r.timed_out) << name;
    EXPECT_EQ(r.ntstatus, std::nullopt) << name;
    EXPECT_TRUE(r.session_id) << name;
    // The server saw a CredSSP logon: one NTLM CHALLENGE for this connection, and it became active.
    const auto after = counters();
    EXPECT_EQ(after.ntlm_challenges, before.ntlm_challenges + 1) << name << ": FreeRDP did not log on with NLA";
    EXPECT_EQ(after.activated, before.activated + 1) << name;
  }
  // Single session per user (the default): both logons are alice's one session, Disc now.
  const auto rows = sessions();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].user, "alice");
  EXPECT_EQ(rows[0].domain, "LAB");
  EXPECT_EQ(rows[0].state, rdp::sim::session_state::disconnected);
}

TEST_F(SimLoginNla, AWrongPasswordFailsFastWithLogonFailureAndItsNtstatus) {
  start_nla();
  password_ = "n0t-the-password";
  for (int round = 0; round < 3; ++round) {
    const auto r = rdp::probe::run_login(options());
    EXPECT_FALSE(r.reached_active) << "round " << round;
    EXPECT_FALSE(r.timed_out) << "round " << round << ": the refusal was left to FreeRDP's deadline";
    EXPECT_EQ(r.last_error, static_cast<std::uint32_t>(FREERDP_ERROR_CONNECT_LOGON_FAILURE))
        << "round " << round << ": " << r.last_error_name;
    EXPECT_EQ(r.ntstatus, 0xC000006Du) << "round " << round;  // STATUS_LOGON_FAILURE
    EXPECT_EQ(r.furthest_state, "CONNECTION_STATE_NLA") << "round " << round;
  }
  EXPECT_TRUE(sessions().empty()) << "a refused logon must leave no session";
  EXPECT_EQ(counters().ntlm_challenges, 3u) << "each refusal came after the NTLM exchange, not before it";
  EXPECT_EQ(counters().activated, 0u);
}

TEST_F(SimLoginNla, EachAccountStateGetsItsOwnErrorAndNtstatus) {
  start_nla();
  struct state_case {
    const char* user;
    std::uint32_t last_error;
    std::uint32_t ntstatus;
  };
  const state_case cases[] = {
      {"dora", FREERDP_ERROR_CONNECT_ACCOUNT_DISABLED, 0xC0000072},      // STATUS_ACCOUNT_DISABLED
      {"luke", FREERDP_ERROR_CONNECT_ACCOUNT_LOCKED_OUT, 0xC0000234},    // STATUS_ACCOUNT_LOCKED_OUT
      {"eve", FREERDP_ERROR_CONNECT_ACCOUNT_EXPIRED, 0xC0000193},        // STATUS_ACCOUNT_EXPIRED
      {"pete", FREERDP_ERROR_CONNECT_PASSWORD_EXPIRED, 0xC0000071},      // STATUS_PASSWORD_EXPIRED
      {"max", FREERDP_ERROR_CONNECT_PASSWORD_MUST_CHANGE, 0xC0000224},   // STATUS_PASSWORD_MUST_CHANGE
  };
  for (const auto& c : cases) {
    user_ = c.user;
    const auto r = rdp::probe::run_login(options());
    EXPECT_FALSE(r.reached_active) << c.user;
    EXPECT_FALSE(r.timed_out) << c.user;
    EXPECT_EQ(r.last_error, c.last_error) << c.user << ": " << r.last_error_name;
    EXPECT_EQ(r.ntstatus, c.ntstatus) << c.user;
  }
  EXPECT_TRUE(sessions().empty());
}

TEST_F(SimLoginNla, AdminActionsOverNlaArriveAsTheirErrorInfo) {
  start_nla();
  struct action_case {
    const char* name;
    std::function<rdp::sim::admin_result(rdp::sim::session_admin&, std::uint32_t)> act;
    std::uint32_t error_info;
  };
  const action_case cases[] = {
      {"logoff", [](auto& a, auto id) { return a.logoff(id); }, 0x00000002},      // ERRINFO_RPC_INITIATED_LOGOFF
      {"disconnect", [](auto& a, auto id) { return a.disconnect(id); }, 0x00000001},  // ..._DISCONNECT
  };
  for (const auto& c : cases) {
    for (int round = 0; round < 2; ++round) {
      const auto before = counters().ntlm_challenges;
      const auto r = drop_with(c.act);
      EXPECT_EQ(counters().ntlm_challenges, before + 1) << c.name << " round " << round << ": not over NLA";
      EXPECT_TRUE(r.reached_active) << c.name << " round " << round;
      EXPECT_TRUE(r.ended_by_server) << c.name << " round " << round;
      EXPECT_EQ(r.error_info, c.error_info) << c.name << " round " << round << ": " << r.error_info_name;
      EXPECT_FALSE(r.error_info_from_ultimatum) << "a Set Error Info PDU must carry it, not FreeRDP's guess";
      EXPECT_EQ(r.ntstatus, std::nullopt) << "the logon itself succeeded";
    }
  }
}

// The probe's table of nla_recv_pdu's mappings (copied so that rdp_probe needs no FreeRDP headers) against the
// headers it was copied from.
TEST(FreerdpNtstatusTable, MatchesFreerdpErrorHAndWinprNtH) {
  const std::pair<std::uint32_t, std::uint32_t> headers[] = {
      {static_cast<std::uint32_t>(STATUS_PASSWORD_MUST_CHANGE), FREERDP_ERROR_CONNECT_PASSWORD_MUST_CHANGE},
      {static_cast<std::uint32_t>(STATUS_PASSWORD_EXPIRED), FREERDP_ERROR_CONNECT_PASSWORD_EXPIRED},
      {static_cast<std::uint32_t>(STATUS_ACCOUNT_DISABLED), FREERDP_ERROR_CONNECT_ACCOUNT_DISABLED},
      {static_cast<std::uint32_t>(STATUS_LOGON_FAILURE), FREERDP_ERROR_CONNECT_LOGON_FAILURE},
      {static_cast<std::uint32_t>(STATUS_WRONG_PASSWORD), FREERDP_ERROR_CONNECT_WRONG_PASSWORD},
      {static_cast<std::uint32_t>(STATUS_ACCESS_DENIED), FREERDP_ERROR_CONNECT_ACCESS_DENIED},
      {static_cast<std::uint32_t>(STATUS_ACCOUNT_RESTRICTION), FREERDP_ERROR_CONNECT_ACCOUNT_RESTRICTION},
      {static_cast<std::uint32_t>(STATUS_ACCOUNT_LOCKED_OUT), FREERDP_ERROR_CONNECT_ACCOUNT_LOCKED_OUT},
      {static_cast<std::uint32_t>(STATUS_ACCOUNT_EXPIRED), FREERDP_ERROR_CONNECT_ACCOUNT_EXPIRED},
      {static_cast<std::uint32_t>(STATUS_LOGON_TYPE_NOT_GRANTED), FREERDP_ERROR_CONNECT_LOGON_TYPE_NOT_GRANTED},
  };
  const auto table = rdp::probe::freerdp_ntstatus_mappings();
  ASSERT_EQ(table.size(), std::size(headers));
  for (std::size_t i = 0; i < table.size(); ++i) {
    EXPECT_EQ(table[i].ntstatus, headers[i].first) << i;
    EXPECT_EQ(table[i].last_error, headers[i].second) << i;
  }
}

}  // namespace
