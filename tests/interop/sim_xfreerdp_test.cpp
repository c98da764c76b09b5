// The stock xfreerdp (FreeRDP 2.11, under xvfb-run) against rdpsim: it reaches an active session, and each way the
// server ends a session reaches it as the error info a Windows server would send. xfreerdp's exit status is that
// error info (xf_exit_code_from_disconnect_reason: codes 1..12 pass through), so the exit status is the assertion.
#include "peers.hpp"
#include "rdp/net/tls.hpp"
#include "rdp/sim/profile.hpp"
#include "run_command.hpp"
#include "sim_thread.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <optional>
#include <thread>

namespace {

using namespace std::chrono_literals;
using rdp::test::command_result;
using rdp::test::run_command;

std::string missing_tools() {
  for (const char* tool : {"xfreerdp", "xvfb-run", "timeout"})
    if (auto why = rdp::test::missing_program(tool); !why.empty()) return why;
  return {};
}

rdp::sim::server_config sim_config() {
  rdp::sim::server_config config;
  config.policy = rdp::sim::parse_policy("rdp,tls");
  config.identity = rdp::net::make_self_signed(rdp::net::key_kind::rsa, "rdpsim-test");
  config.drain_timeout = 3000ms;
  return config;
}

// One xfreerdp run in the background; its exit status and output when it ends (bounded by `timeout`).
class xfreerdp_client {
 public:
  // `security`: the /sec: option ("/sec:tls" for the TLS tests; empty: xfreerdp's default negotiation, which picks
  // NLA whenever the server offers CredSSP).
  xfreerdp_client(std::uint16_t port, const std::string& user, const std::string& password, const std::string& extra = {},
                  int timeout_seconds = 40, const std::string& security = "/sec:tls") {
    static int counter = 0;
    home_ = std::filesystem::temp_directory_path() /
            ("rdpsim-xfreerdp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(home_);
    // HOME: xfreerdp writes its known_hosts and certificate store there (docs/freerdp.md 1.4).
    const std::string command = "HOME=" + home_.string() + " timeout " + std::to_string(timeout_seconds) +
                                " xvfb-run -a xfreerdp /v:127.0.0.1:" + std::to_string(port) + " /u:" + user +
                                " /p:" + password + " /d:LAB /cert:ignore " + security + " /size:640x480 " + extra;
    done_ = std::async(std::launch::async, [command] { return run_command(command); });
  }
  ~xfreerdp_client() {
    if (done_.valid()) done_.wait();
    std::error_code ignored;
    std::filesystem::remove_all(home_, ignored);
  }
  // The finished run, or nullopt if it is still running after `limit`.
  std::optional<command_result> wait(std::chrono::seconds limit) {
    if (done_.wait_for(limit) != std::future_status::ready) return std::nullopt;
    return done_.get();
  }

 private:
  std::filesystem::path home_;
  std::future<command_result> done_;
};

class SimXfreerdp : public ::testing::Test {
 protected:
  void SetUp() override {
    RDP_REQUIRE_PEER(missing_tools());
  }

  void start(rdp::sim::server_config config = sim_config()) { sim_.emplace(std::move(config)); }

  std::vector<rdp::sim::session_info> sessions() {
    return sim_->call([this] { return sim_->server().admin().query_sessions(); });
  }

  // Waits (bounded) until `user` has an Active session; returns it.
  std::optional<rdp::sim::session_info> wait_active(const std::string& user, std::optional<std::uint32_t> not_id = {}) {
    for (int i = 0; i < 300; ++i) {
      for (const auto& s : sessions())
        if (s.user == user && s.state == rdp::sim::session_state::active && (!not_id || s.id != *not_id)) return s;
      std::this_thread::sleep_for(100ms);
    }
    return std::nullopt;
  }

  rdp::sim::server_counters counters() {
    return sim_->call([this] { return sim_->server().counters(); });
  }

  rdp::sim::admin_result admin(const std::function<rdp::sim::admin_result(rdp::sim::session_admin&)>& action) {
    return sim_->call([&] { return action(sim_->server().admin()); });
  }

  std::optional<rdp::test::sim_thread> sim_;
};

TEST_F(SimXfreerdp, ReachesActiveWithASessionAndLogoffByAdminEndsItWithRpcInitiatedLogoff) {
  start();
  xfreerdp_client client(sim_->port(), "alice", "secret");
  auto session = wait_active("alice");
  ASSERT_TRUE(session) << "xfreerdp never reached an active session";
  EXPECT_EQ(session->id, 2u);
  EXPECT_EQ(session->name, "rdp-tcp#0");
  EXPECT_TRUE(session->client_address.starts_with("127.0.0.1:"));
  EXPECT_EQ(counters().activated, 1u);
  ASSERT_TRUE(admin([&](auto& a) { return a.logoff(session->id); }).ok);
  auto result = client.wait(30s);
  ASSERT_TRUE(result) << "xfreerdp did not exit after logoff";
  EXPECT_EQ(result->status, 2) << result->output;  // ERRINFO_RPC_INITIATED_LOGOFF
  EXPECT_NE(result->output.find("ERRINFO_RPC_INITIATED_LOGOFF"), std::string::npos) << result->output;
  for (const auto& s : sessions()) EXPECT_NE(s.id, session->id) << "the logged-off session is still in the table";
}

TEST_F(SimXfreerdp, LogoffErrorSurvivesEveryTime) {
  // The error info must not be lost to a race between our close and the client's reads (docs/freerdp.md 2.4).
  start();
  for (int round = 0; round < 3; ++round) {
    xfreerdp_client client(sim_->port(), "alice", "secret");
    auto session = wait_active("alice");
    ASSERT_TRUE(session) << "round " << round;
    ASSERT_TRUE(admin([&](auto& a) { return a.logoff(session->id); }).ok);
    auto result = client.wait(30s);
    ASSERT_TRUE(result) << "round " << round;
    EXPECT_EQ(result->status, 2) << "round " << round << "\n" << result->output;
  }
}

TEST_F(SimXfreerdp, DisconnectByAdminKeepsTheSessionDisconnected) {
  start();
  xfreerdp_client client(sim_->port(), "alice", "secret");
  auto session = wait_active("alice");
  ASSERT_TRUE(session);
  ASSERT_TRUE(admin([&](auto& a) { return a.disconnect(session->id); }).ok);
  auto result = client.wait(30s);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 1) << result->output;  // ERRINFO_RPC_INITIATED_DISCONNECT
  bool found = false;
  for (const auto& s : sessions()) {
    if (s.id != session->id) continue;
    found = true;
    EXPECT_EQ(s.state, rdp::sim::session_state::disconnected);
    EXPECT_EQ(s.name, "");
    EXPECT_EQ(s.user, "alice");
  }
  EXPECT_TRUE(found) << "a disconnected session must stay in the table";
  EXPECT_FALSE(admin([&](auto& a) { return a.disconnect(session->id); }).ok) << "it is not connected any more";
}

TEST_F(SimXfreerdp, IdleLimitEndsTheSessionWithIdleTimeout) {
  auto config = sim_config();
  config.sessions.idle_limit = 2s;
  start(config);
  xfreerdp_client client(sim_->port(), "alice", "secret");
  auto result = client.wait(30s);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 3) << result->output;  // ERRINFO_IDLE_TIMEOUT
  auto rows = sessions();
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.front().state, rdp::sim::session_state::disconnected);
}

TEST_F(SimXfreerdp, ActiveSessionLimitEndsItWithLogonTimeout) {
  start();
  xfreerdp_client client(sim_->port(), "alice", "secret");
  ASSERT_TRUE(wait_active("alice"));
  auto policy = sim_->call([this] { return sim_->server().admin().policy(); });
  policy.logon_timeout = 1s;
  ASSERT_TRUE(admin([&](auto& a) { return a.set_policy(policy); }).ok);
  auto result = client.wait(30s);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 4) << result->output;  // ERRINFO_LOGON_TIMEOUT
}

TEST_F(SimXfreerdp, SingleSessionPolicyHandsTheSessionToTheNewConnection) {
  start();
  xfreerdp_client first(sim_->port(), "alice", "secret");
  auto session = wait_active("alice");
  ASSERT_TRUE(session);
  xfreerdp_client second(sim_->port(), "alice", "secret", {}, 15);
  auto result = first.wait(30s);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 5) << result->output;  // ERRINFO_DISCONNECTED_BY_OTHERCONNECTION
  auto now = wait_active("alice");
  ASSERT_TRUE(now);
  EXPECT_EQ(now->id, session->id) << "the new connection takes over the same session";
  EXPECT_EQ(now->name, "rdp-tcp#1");
}

TEST_F(SimXfreerdp, WithoutSingleSessionASecondLogonGetsItsOwnSession) {
  auto config = sim_config();
  config.sessions.single_session = false;
  start(config);
  xfreerdp_client first(sim_->port(), "alice", "secret", {}, 15);
  auto one = wait_active("alice");
  ASSERT_TRUE(one);
  xfreerdp_client second(sim_->port(), "alice", "secret", {}, 15);
  auto two = wait_active("alice", one->id);
  ASSERT_TRUE(two);
  EXPECT_NE(two->id, one->id);
  EXPECT_FALSE(first.wait(1s)) << "the first connection must stay up";
}

TEST_F(SimXfreerdp, WrongPasswordIsRefusedWithAnErrorInfo) {
  auto config = sim_config();
  config.users = {{"alice", "", "secret"}};
  start(config);
  xfreerdp_client client(sim_->port(), "alice", "wrong");
  auto result = client.wait(30s);
  ASSERT_TRUE(result);
  EXPECT_NE(result->status, 0);
  EXPECT_NE(result->output.find("ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES"), std::string::npos) << result->output;
  EXPECT_TRUE(sessions().size() == 1) << "only the listener: no session for a failed logon";
  EXPECT_EQ(counters().logon_failures, 1u);
}

TEST_F(SimXfreerdp, ResetDropsTheConnectionAndTheAutoReconnectFindsTheSessionGone) {
  // The 0xC0000203 story over TLS: the session is reset under the client, its auto-reconnect cookie names a session
  // that no longer exists, and the server (as Windows does) starts a fresh logon in a new session.
  start();
  xfreerdp_client client(sim_->port(), "alice", "secret", "+auto-reconnect /auto-reconnect-max-retries:2", 30);
  auto session = wait_active("alice");
  ASSERT_TRUE(session);
  // A reset destroys whatever the client has not read yet: give it a moment to read its cookie, as a real session
  // has minutes or hours between logon and the drop.
  std::this_thread::sleep_for(1s);
  ASSERT_TRUE(admin([&](auto& a) { return a.reset(session->id); }).ok);
  auto fresh = wait_active("alice", session->id);
  ASSERT_TRUE(fresh) << "xfreerdp did not come back after the reset";
  EXPECT_GT(fresh->id, session->id);
  EXPECT_EQ(counters().stale_cookies, 1u);
  EXPECT_EQ(counters().reconnected, 0u);
  ASSERT_TRUE(admin([&](auto& a) { return a.logoff(fresh->id); }).ok);
  auto result = client.wait(30s);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 2) << result->output;
}

TEST_F(SimXfreerdp, AfterANetworkDropTheAutoReconnectCookieResumesTheSameSession) {
  start();
  xfreerdp_client client(sim_->port(), "alice", "secret", "+auto-reconnect /auto-reconnect-max-retries:2", 30);
  auto session = wait_active("alice");
  ASSERT_TRUE(session);
  std::this_thread::sleep_for(1s);  // as above: let the client read its cookie before the flow dies
  ASSERT_TRUE(admin([&](auto& a) { return a.drop_connection(session->id); }).ok);
  std::optional<rdp::sim::session_info> resumed;
  for (int i = 0; i < 200 && !resumed; ++i) {
    std::this_thread::sleep_for(100ms);
    if (counters().reconnected == 1) resumed = wait_active("alice");
  }
  ASSERT_TRUE(resumed) << "xfreerdp did not resume with its cookie";
  EXPECT_EQ(resumed->id, session->id) << "the cookie must bring the client back to the same session";
  EXPECT_EQ(resumed->name, "rdp-tcp#1");
  EXPECT_EQ(counters().stale_cookies, 0u);
  ASSERT_TRUE(admin([&](auto& a) { return a.logoff(resumed->id); }).ok);
  auto result = client.wait(30s);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 2) << result->output;
}

// ---- Over NLA: xfreerdp with its default settings against a host that requires NLA, as Windows does ----------

rdp::sim::server_config nla_config() {
  auto config = sim_config();
  config.policy = rdp::sim::parse_policy("credssp,credssp-ex");
  config.users = {{"alice", "LAB", "Passw0rd!"},
                  {"bob", "LAB", "Passw0rd!", rdp::protocol::account_state::disabled},
                  {"carol", "LAB", "Passw0rd!", rdp::protocol::account_state::locked_out},
                  {"erin", "LAB", "Passw0rd!", rdp::protocol::account_state::enabled, false}};
  return config;
}

class SimXfreerdpNla : public SimXfreerdp {
 protected:
  static constexpr const char* default_security = "";
  xfreerdp_client client(const std::string& user, const std::string& password, const std::string& extra = {},
                         int timeout_seconds = 40) {
    return xfreerdp_client(sim_->port(), user, password, extra, timeout_seconds, default_security);
  }
};

TEST_F(SimXfreerdpNla, ReachesActiveOverNlaAndTheLogoffArrivesAsItsErrorInfo) {
  start(nla_config());
  auto c = client("alice", "Passw0rd!");
  auto session = wait_active("alice");
  ASSERT_TRUE(session) << "xfreerdp never reached an active session over NLA";
  EXPECT_EQ(counters().nla_logons, 1u);
  EXPECT_EQ(counters().ntlm_challenges, 1u);
  ASSERT_TRUE(admin([&](auto& a) { return a.logoff(session->id); }).ok);
  auto result = c.wait(30s);
  ASSERT_TRUE(result) << "xfreerdp did not exit after logoff";
  EXPECT_EQ(result->status, 2) << result->output;  // ERRINFO_RPC_INITIATED_LOGOFF
  EXPECT_NE(result->output.find("ERRINFO_RPC_INITIATED_LOGOFF"), std::string::npos) << result->output;
}

TEST_F(SimXfreerdpNla, DisconnectAndTakeoverArriveAsTheirErrorInfo) {
  start(nla_config());
  {
    auto c = client("alice", "Passw0rd!");
    auto session = wait_active("alice");
    ASSERT_TRUE(session);
    ASSERT_TRUE(admin([&](auto& a) { return a.disconnect(session->id); }).ok);
    auto result = c.wait(30s);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 1) << result->output;  // ERRINFO_RPC_INITIATED_DISCONNECT
  }
  auto first = client("alice", "Passw0rd!");
  auto session = wait_active("alice");
  ASSERT_TRUE(session) << "the disconnected session is not taken up again over NLA";
  auto second = client("alice", "Passw0rd!", {}, 15);
  auto result = first.wait(30s);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 5) << result->output;  // ERRINFO_DISCONNECTED_BY_OTHERCONNECTION
  auto now = wait_active("alice");
  ASSERT_TRUE(now);
  EXPECT_EQ(now->id, session->id) << "the new NLA logon takes over the same session";
  EXPECT_EQ(counters().nla_logons, 3u);
}

// Each refusal is the NTSTATUS Windows sends in TSRequest.errorCode, which FreeRDP 2.11 maps to its own error and
// reports at once: no session, no activation, no timeout.
TEST_F(SimXfreerdpNla, RefusedLogonsAreReportedWithTheirNtstatusAtOnce) {
  start(nla_config());
  struct refusal {
    const char* user;
    const char* password;
    const char* freerdp_error;
  };
  const refusal cases[] = {{"alice", "wrong", "ERRCONNECT_LOGON_FAILURE"},
                           {"mallory", "Passw0rd!", "ERRCONNECT_LOGON_FAILURE"},
                           {"bob", "Passw0rd!", "ERRCONNECT_ACCOUNT_DISABLED"},
                           {"carol", "Passw0rd!", "ERRCONNECT_ACCOUNT_LOCKED_OUT"}};
  for (const auto& k : cases) {
    auto c = client(k.user, k.password, {}, 30);
    auto result = c.wait(40s);
    ASSERT_TRUE(result) << k.user;
    EXPECT_NE(result->status, 0) << k.user;
    EXPECT_NE(result->output.find(k.freerdp_error), std::string::npos) << k.user << ":\n" << result->output;
    EXPECT_EQ(result->output.find("Timeout"), std::string::npos) << k.user << ":\n" << result->output;
  }
  EXPECT_EQ(counters().activated, 0u);
  EXPECT_EQ(counters().nla_refusals, 4u);
  EXPECT_EQ(sessions().size(), 1u) << "only the listener: no session for a refused logon";
}

// An account without "Allow log on through Remote Desktop Services": xfreerdp asks for HYBRID (not HYBRID_EX), so the
// account authenticates and is refused at the Client Info with ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES.
TEST_F(SimXfreerdpNla, AnAccountWithoutTheRemoteLogonRightIsRefusedAfterAuthenticating) {
  start(nla_config());
  auto c = client("erin", "Passw0rd!", {}, 30);
  auto result = c.wait(40s);
  ASSERT_TRUE(result);
  EXPECT_NE(result->output.find("ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES"), std::string::npos) << result->output;
  EXPECT_EQ(counters().nla_logons, 1u);
  EXPECT_EQ(counters().activated, 0u);
}

// /sec:tls against a host that requires NLA: RDP_NEG_FAILURE HYBRID_REQUIRED_BY_SERVER, as from Windows.
TEST_F(SimXfreerdpNla, SecTlsMeetsHybridRequiredByServer) {
  start(nla_config());
  xfreerdp_client c(sim_->port(), "alice", "Passw0rd!", {}, 30);
  auto result = c.wait(40s);
  ASSERT_TRUE(result);
  EXPECT_NE(result->status, 0);
  EXPECT_NE(result->output.find("HYBRID_REQUIRED_BY_SERVER"), std::string::npos) << result->output;
  EXPECT_EQ(counters().refused, 1u);
}

}  // namespace

// The README's own example, as written there, against the profile it names: the claim must be true.
class ReadmeExample : public SimXfreerdp {
 protected:
  // The xfreerdp command line in README.md, between backticks, with the profile's port.
  static std::string readme_command() {
    std::ifstream in(std::string(RDP_SOURCE_DIR) + "/README.md");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto at = text.find("`xfreerdp /v:127.0.0.1:13389");
    if (at == std::string::npos) return {};
    const auto end = text.find('`', at + 1);
    return text.substr(at + 1, end - at - 1);
  }
  void start_profile() {
    auto profile = rdp::sim::load_profile(std::string(RDP_SOURCE_DIR) + "/sim/profiles/windows-server-2022.yaml");
    profile.server.drain_timeout = 3000ms;
    sim_.emplace(std::move(profile.server));  // on a free loopback port instead of 13389
  }
  // The command with the profile's port replaced by the simulator's, run under Xvfb with a private HOME.
  // With `log_off`, the admin logs off alice's session once it is active (waiting for it, bounded).
  std::optional<command_result> run(std::string command, bool log_off, int timeout_seconds = 40) {
    const std::string fixed = "127.0.0.1:13389";
    command.replace(command.find(fixed), fixed.size(), "127.0.0.1:" + std::to_string(sim_->port()));
    home_ = std::filesystem::temp_directory_path() / ("rdpsim-readme-" + std::to_string(::getpid()));
    std::filesystem::create_directories(home_);
    auto done = std::async(std::launch::async, [=, this] {
      return run_command("HOME=" + home_.string() + " timeout " + std::to_string(timeout_seconds) + " xvfb-run -a " +
                         command);
    });
    if (log_off)
      if (auto session = wait_active("alice")) admin([&](auto& a) { return a.logoff(session->id); });
    if (done.wait_for(60s) != std::future_status::ready) return std::nullopt;
    return done.get();
  }
  void TearDown() override {
    std::error_code ignored;
    if (!home_.empty()) std::filesystem::remove_all(home_, ignored);
  }
  std::filesystem::path home_;
};

TEST_F(ReadmeExample, TheXfreerdpCommandReachesTheProfilesSessionAndSeesTheLogoff) {
  const auto command = readme_command();
  ASSERT_FALSE(command.empty()) << "README.md has no `xfreerdp /v:127.0.0.1:13389 …` example any more";
  start_profile();
  const auto result = run(command, true);
  ASSERT_TRUE(result) << "xfreerdp did not end";
  EXPECT_EQ(result->status, 2) << "expected the admin's logoff (ERRINFO_RPC_INITIATED_LOGOFF):\n" << result->output;
  EXPECT_EQ(counters().activated, 1u) << result->output;
  EXPECT_EQ(counters().nla_logons, 1u) << "the README's command must log on with NLA, as against Windows";
}

// The README's command has no /sec: a client with its default settings picks NLA, which the profile (like Windows)
// requires; asked for TLS only, the profile answers as Windows does.
TEST_F(ReadmeExample, WithSecTlsTheProfileAnswersHybridRequiredByServer) {
  auto command = readme_command();
  ASSERT_FALSE(command.empty());
  ASSERT_EQ(command.find("/sec:"), std::string::npos) << "the README's example should use xfreerdp's defaults";
  command += " /sec:tls";
  start_profile();
  const auto result = run(command, false);
  ASSERT_TRUE(result) << "xfreerdp did not end";
  EXPECT_EQ(counters().activated, 0u);
  EXPECT_EQ(counters().refused, 1u);
  EXPECT_NE(result->output.find("HYBRID_REQUIRED_BY_SERVER"), std::string::npos) << result->output;
}
