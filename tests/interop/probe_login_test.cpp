// rdpprobe scan --login / --reconnect: the wire probe, then a real logon with the FreeRDP client library against
// rdpsim, and a reconnection presenting the auto-reconnect cookie. What the verdict says must be what happened on the
// server: the session resumed (same ID, one session in the table), a fresh logon in a new session after the old one
// was logged off (reconnect-failed, new-session), or a refusal under `stale_cookie: refuse`. Over NLA a wrong
// password is refused in CredSSP and the report carries its NTSTATUS. The command-line tests also check that the
// password never shows in any output.
#include "rdp/net/tls.hpp"
#include "rdp/probe/login_check.hpp"
#include "rdp/probe/scanner.hpp"
#include "run_command.hpp"
#include "sim_thread.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <thread>

namespace {

using namespace std::chrono_literals;
using rdp::probe::reconnect_outcome;
using rdp::probe::verdict;

constexpr const char* password = "c0rrect-Horse!";  // must never appear in what rdpprobe prints

class ProbeLogin : public ::testing::Test {
 protected:
  void start(rdp::sim::stale_cookie_answer stale = rdp::sim::stale_cookie_answer::fresh_logon,
             std::optional<std::chrono::seconds> disconnected_limit = std::nullopt) {
    rdp::sim::server_config config;
    config.sessions.disconnected_limit = disconnected_limit;
    config.policy = rdp::sim::parse_policy("rdp,tls");
    config.identity = rdp::net::make_self_signed(rdp::net::key_kind::ecdsa, "rdpsim-probe-login");
    config.users = {{"alice", "LAB", password}};
    config.stale_cookie = stale;
    sim_.emplace(std::move(config));
  }

  // Windows' NLA defaults as far as the logon goes: TLS and CredSSP offered, alice checked by the NTLMv2 exchange.
  void start_nla() {
    rdp::sim::server_config config;
    config.policy = rdp::sim::parse_policy("tls,credssp");
    config.identity = rdp::net::make_self_signed(rdp::net::key_kind::ecdsa, "rdpsim-probe-login-nla");
    config.users = {{"alice", "LAB", password}};
    sim_.emplace(std::move(config));
  }

  rdp::probe::probe_options options(bool reconnect, std::chrono::milliseconds after = 0ms,
                                    std::string secret = password) {
    rdp::probe::probe_options o;
    o.protocols = {rdp::protocol::security_protocol::ssl};
    o.combinations.clear();
    o.standard_security = false;
    rdp::probe::login_check_options login;
    login.user = "alice";
    login.domain = "LAB";
    login.password = std::move(secret);
    login.security = rdp::probe::login_security::tls;
    login.reconnect = reconnect;
    login.reconnect_after = after;
    login.ignore_certificate = true;  // rdpsim's self-signed test certificate
    o.login = login;
    return o;
  }

  rdp::probe::target_report probe(const rdp::probe::probe_options& o) {
    const auto where = rdp::net::host_port{"127.0.0.1", sim_->port()};
    auto reports = rdp::probe::probe_all({{where.text(), where}}, o, 1);
    EXPECT_EQ(reports.size(), 1u);
    return reports.at(0);
  }

  std::vector<rdp::sim::session_info> sessions() {
    auto rows = sim_->call([this] { return sim_->server().admin().query_sessions(); });
    std::erase_if(rows, [](const auto& s) { return s.state == rdp::sim::session_state::listen; });
    return rows;
  }

  // While the probe waits between its disconnect and its reconnection, the admin logs the disconnected session off
  // (Windows: `logoff ID`, or a disconnected-session time limit).
  std::future<bool> log_off_when_disconnected() {
    return std::async(std::launch::async, [this] {
      for (int i = 0; i < 200; ++i) {  // at most 10 s
        for (const auto& s : sessions())
          if (s.state == rdp::sim::session_state::disconnected)
            return sim_->call([&] { return sim_->server().admin().logoff(s.id).ok; });
        std::this_thread::sleep_for(50ms);
      }
      return false;
    });
  }

  std::optional<rdp::test::sim_thread> sim_;
};

TEST_F(ProbeLogin, LogonReachesTheActiveStateAndTheCookieResumesTheSameSession) {
  start();
  const auto r = probe(options(true));
  ASSERT_TRUE(r.login) << r.evidence;
  const auto& login = *r.login;
  EXPECT_EQ(r.result, verdict::rdp) << r.evidence;
  EXPECT_TRUE(login.healthy);
  EXPECT_TRUE(login.logon.reached_active);
  ASSERT_TRUE(login.logon.session_id);
  ASSERT_TRUE(login.logon.cookie) << "rdpsim issues a cookie to a client announcing auto-reconnect support";
  EXPECT_EQ(login.reconnect, reconnect_outcome::honoured) << login.evidence;
  ASSERT_TRUE(login.reconnection);
  EXPECT_EQ(login.reconnection->session_id, login.logon.session_id);
  // The server agrees: one session, alice's, disconnected again after the probe left.
  const auto rows = sessions();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].id, *login.logon.session_id);
  EXPECT_EQ(rows[0].user, "alice");
  EXPECT_EQ(rows[0].state, rdp::sim::session_state::disconnected);
}

TEST_F(ProbeLogin, WrongPasswordIsLoginFailedWithTheServersErrorInfo) {
  start();
  const auto r = probe(options(true, 0ms, "wrong"));
  ASSERT_TRUE(r.login);
  EXPECT_EQ(r.result, verdict::login_failed) << r.evidence;
  EXPECT_FALSE(r.login->logon.reached_active);
  EXPECT_EQ(r.login->logon.error_info, 0x00000009u);  // ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES, as rdpsim answers
  EXPECT_EQ(r.login->reconnect, reconnect_outcome::not_attempted);
  EXPECT_NE(r.evidence.find("ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES"), std::string::npos) << r.evidence;
  EXPECT_TRUE(sessions().empty());
}

TEST_F(ProbeLogin, WrongPasswordOverNlaIsLoginFailedWithTheNtstatusAndNoTimeout) {
  start_nla();
  auto o = options(true, 0ms, "wrong");
  o.login->security = rdp::probe::login_security::nla;
  const auto r = probe(o);
  ASSERT_TRUE(r.login);
  EXPECT_EQ(r.result, verdict::login_failed) << r.evidence;
  EXPECT_FALSE(r.login->logon.timed_out);
  EXPECT_EQ(r.login->logon.ntstatus, 0xC000006Du);
  EXPECT_EQ(r.login->reconnect, reconnect_outcome::not_attempted);
  EXPECT_NE(r.evidence.find("the credentials were refused with NTSTATUS STATUS_LOGON_FAILURE (0xC000006D)"),
            std::string::npos)
      << r.evidence;
  EXPECT_TRUE(sessions().empty());
}

TEST_F(ProbeLogin, CookieOfALoggedOffSessionLeadsToANewSessionAndReconnectFailed) {
  start(rdp::sim::stale_cookie_answer::fresh_logon);
  auto logoff = log_off_when_disconnected();
  const auto r = probe(options(true, 1500ms));
  EXPECT_TRUE(logoff.get()) << "the session never showed as disconnected";
  ASSERT_TRUE(r.login);
  EXPECT_EQ(r.result, verdict::reconnect_failed) << r.evidence;
  EXPECT_EQ(r.login->reconnect, reconnect_outcome::new_session) << r.login->evidence;
  ASSERT_TRUE(r.login->reconnection && r.login->reconnection->session_id && r.login->logon.session_id);
  EXPECT_NE(*r.login->reconnection->session_id, *r.login->logon.session_id);
  // The server agrees: the first session is gone, the reconnection's is the only one.
  const auto rows = sessions();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].id, *r.login->reconnection->session_id);
  EXPECT_EQ(sim_->call([this] { return sim_->server().counters().stale_cookies; }), 1u);
}

TEST_F(ProbeLogin, CookieOfALoggedOffSessionRefusedWhenTheServerSaysSo) {
  start(rdp::sim::stale_cookie_answer::refuse);
  auto logoff = log_off_when_disconnected();
  const auto r = probe(options(true, 1500ms));
  EXPECT_TRUE(logoff.get()) << "the session never showed as disconnected";
  ASSERT_TRUE(r.login);
  EXPECT_EQ(r.result, verdict::reconnect_failed) << r.evidence;
  EXPECT_EQ(r.login->reconnect, reconnect_outcome::refused) << r.login->evidence;
  ASSERT_TRUE(r.login->reconnection);
  EXPECT_FALSE(r.login->reconnection->reached_active);
  EXPECT_EQ(r.login->reconnection->error_info, 0x00000007u);  // the profile's stale_cookie_error default
  EXPECT_TRUE(sessions().empty());
}

TEST_F(ProbeLogin, ReconnectingAfterTheDisconnectedSessionTimeLimitFindsTheSessionDeleted) {
  // No admin at all: Windows' "Set time limit for disconnected sessions" (1 s here) logs the session off while the
  // client is away, and --reconnect-after stays away longer than that.
  start(rdp::sim::stale_cookie_answer::fresh_logon, 1s);
  const auto r = probe(options(true, 2500ms));
  ASSERT_TRUE(r.login);
  EXPECT_EQ(r.result, verdict::reconnect_failed) << r.evidence;
  EXPECT_EQ(r.login->reconnect, reconnect_outcome::new_session) << r.login->evidence;
  EXPECT_EQ(sim_->call([this] { return sim_->server().counters().disconnected_expired; }), 1u);
  // Within the limit the same probe finds its session again.
  const auto quick = probe(options(true, 0ms));
  ASSERT_TRUE(quick.login);
  EXPECT_EQ(quick.login->reconnect, reconnect_outcome::honoured) << quick.login->evidence;
}

TEST_F(ProbeLogin, NoLogonWhenTheTargetDoesNotAnswerRdp) {
  // A port nobody listens on: the wire probe says refused, and no FreeRDP logon is attempted.
  rdp::net::asio::io_context io;
  rdp::net::tcp::acceptor closed(io, {rdp::net::asio::ip::make_address("127.0.0.1"), 0});
  const auto port = closed.local_endpoint().port();
  closed.close();
  const auto where = rdp::net::host_port{"127.0.0.1", port};
  const auto r = rdp::probe::probe_all({{where.text(), where}}, options(true), 1).at(0);
  EXPECT_EQ(r.result, verdict::refused);
  EXPECT_FALSE(r.login);
  EXPECT_NE(r.login_skipped.find("did not answer RDP"), std::string::npos) << r.login_skipped;
}

// The command line: the password from a file or the environment, never printed; JSON and JUnit carry the outcome.
class ProbeLoginCli : public ProbeLogin {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("rdpprobe-login-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    password_file_ = dir_ / "password";
    std::ofstream(password_file_) << password << "\n";
    std::filesystem::permissions(password_file_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string scan(const std::string& flags) {
    return std::string(RDPPROBE_BIN) + " scan 127.0.0.1:" + std::to_string(sim_->port()) +
           " --protocols tls --combinations none --login 'LAB\\alice' --login-security tls --ignore-certificate " + flags;
  }

  std::filesystem::path dir_, password_file_;
};

TEST_F(ProbeLoginCli, PasswordFileJsonAndJunitCarryTheOutcomeButNeverThePassword) {
  start();
  const auto junit = dir_ / "report.xml";
  const auto out = rdp::test::run_command(scan("--reconnect --json --password-file " + password_file_.string() +
                                               " --junit " + junit.string()));
  ASSERT_EQ(out.status, 0) << out.output;
  const auto j = nlohmann::json::parse(out.output.substr(0, out.output.find('\n')));
  EXPECT_EQ(j.at("verdict"), "rdp");
  EXPECT_EQ(j.at("login").at("user"), "alice");
  EXPECT_EQ(j.at("login").at("domain"), "LAB");
  EXPECT_EQ(j.at("login").at("logon").at("reached_active"), true);
  EXPECT_EQ(j.at("login").at("logon").at("cookie_issued"), true);
  EXPECT_EQ(j.at("login").at("reconnect").at("outcome"), "honoured");
  EXPECT_EQ(j.at("login").at("reconnect").at("logon").at("session_id"), j.at("login").at("logon").at("session_id"));
  std::ifstream in(junit);
  const std::string xml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(xml.find("testcase"), std::string::npos);
  EXPECT_EQ(out.output.find(password), std::string::npos) << "the password was printed";
  EXPECT_EQ(xml.find(password), std::string::npos) << "the password went into the JUnit report";
}

TEST_F(ProbeLoginCli, PasswordFromTheEnvironmentAndAHumanReportWithTheFailure) {
  start();
  const auto wrong = rdp::test::run_command("RDPPROBE_PASSWORD='n0t-" + std::string(password) + "' " + scan(""));
  EXPECT_EQ(wrong.status, 1) << wrong.output;
  EXPECT_NE(wrong.output.find("login-failed"), std::string::npos) << wrong.output;
  EXPECT_NE(wrong.output.find("ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES"), std::string::npos) << wrong.output;
  EXPECT_EQ(wrong.output.find(password), std::string::npos) << "the password was printed";
  const auto right = rdp::test::run_command("RDPPROBE_PASSWORD='" + std::string(password) + "' " + scan("--reconnect"));
  EXPECT_EQ(right.status, 0) << right.output;
  EXPECT_NE(right.output.find("reconnect   honoured"), std::string::npos) << right.output;
  EXPECT_EQ(right.output.find(password), std::string::npos) << "the password was printed";
}

// `rdpprobe scan --login --login-security any` against rdpsim with [tls, credssp]: FreeRDP picks NLA and logs on; a
// wrong password is refused in CredSSP with STATUS_LOGON_FAILURE, which the report carries as login.ntstatus.
TEST_F(ProbeLoginCli, LoginSecurityAnyLogsOnOverNlaAndAWrongPasswordCarriesItsNtstatus) {
  start_nla();
  const std::string scan_any = std::string(RDPPROBE_BIN) + " scan 127.0.0.1:" + std::to_string(sim_->port()) +
                               " --login 'LAB\\alice' --login-security any --ignore-certificate ";
  const auto right = rdp::test::run_command(scan_any + "--json --password-file " + password_file_.string());
  ASSERT_EQ(right.status, 0) << right.output;
  const auto j = nlohmann::json::parse(right.output.substr(0, right.output.find('\n')));
  EXPECT_EQ(j.at("verdict"), "rdp");
  EXPECT_EQ(j.at("login").at("logon").at("reached_active"), true) << j.at("login").dump();
  EXPECT_TRUE(j.at("login").at("ntstatus").is_null());
  const auto rows = sessions();
  ASSERT_EQ(rows.size(), 1u) << "the logon left no session";
  EXPECT_EQ(rows[0].user, "alice");
  EXPECT_EQ(rows[0].domain, "LAB");
  const auto challenges = sim_->call([this] { return sim_->server().counters().ntlm_challenges; });

  std::ofstream(dir_ / "wrong") << "n0t-" << password << "\n";
  std::filesystem::permissions(dir_ / "wrong", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const auto wrong = rdp::test::run_command(scan_any + "--json --password-file " + (dir_ / "wrong").string());
  EXPECT_EQ(wrong.status, 1) << wrong.output;  // a finding: docs/verdicts.md, login-failed
  const auto w = nlohmann::json::parse(wrong.output.substr(0, wrong.output.find('\n')));
  EXPECT_EQ(w.at("verdict"), "login-failed");
  EXPECT_EQ(w.at("login").at("ntstatus"), 3221225581u);  // 0xC000006D STATUS_LOGON_FAILURE
  EXPECT_EQ(w.at("login").at("ntstatus_name"), "STATUS_LOGON_FAILURE");
  EXPECT_EQ(w.at("login").at("logon").at("timed_out"), false);
  EXPECT_EQ(w.at("login").at("logon").at("last_error").at("name"), "ERRCONNECT_LOGON_FAILURE");
  EXPECT_NE(w.at("evidence").get<std::string>().find("the credentials were refused"), std::string::npos)
      << w.at("evidence");
  EXPECT_GT(sim_->call([this] { return sim_->server().counters().ntlm_challenges; }), challenges)
      << "the refusal did not come from the CredSSP exchange";
  const auto text = rdp::test::run_command(scan_any + "--password-file " + (dir_ / "wrong").string());
  EXPECT_EQ(text.status, 1) << text.output;
  EXPECT_NE(text.output.find("login-failed"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("  ntstatus    STATUS_LOGON_FAILURE (0xC000006D)"), std::string::npos) << text.output;
  for (const auto* out : {&right.output, &wrong.output, &text.output})
    EXPECT_EQ(out->find(password), std::string::npos) << "the password was printed";
  ASSERT_EQ(sessions().size(), 1u) << "a refused logon must add no session";
}

TEST_F(ProbeLoginCli, FreerdpIsLoadedOnlyForALoginAndAMissingModuleIsAClearFailure) {
  // FreeRDP 2 brings ~100 shared libraries; rdpprobe and rdpsim load them only when a login needs them.
  for (const std::string binary : {RDPPROBE_BIN, RDPSIM_BIN}) {
    const auto deps = rdp::test::run_command("ldd " + binary);
    ASSERT_EQ(deps.status, 0) << deps.output;
    EXPECT_EQ(deps.output.find("libfreerdp"), std::string::npos) << binary << " links FreeRDP:\n" << deps.output;
  }
  start();
  const auto missing = rdp::test::run_command("RDP_LOGIN_MODULE=/nonexistent/librdp_login.so " +
                                              scan("--password-file " + password_file_.string()));
  EXPECT_EQ(missing.status, 1) << missing.output;
  EXPECT_NE(missing.output.find("login-failed"), std::string::npos) << missing.output;
  EXPECT_NE(missing.output.find("cannot load the FreeRDP login module (/nonexistent/librdp_login.so: not found)"),
            std::string::npos)
      << missing.output;
  EXPECT_TRUE(sessions().empty());
}

TEST_F(ProbeLoginCli, CtrlCDuringALongReconnectWaitEndsPromptlyAndLeavesTheSessionAsItWas) {
  start();
  // SIGINT 3 s in, while rdpprobe waits its 10 minutes before the reconnection.
  const auto started = std::chrono::steady_clock::now();
  const auto r = rdp::test::run_command("timeout --preserve-status -s INT 3 " +
                                        scan("--reconnect --reconnect-after 10m --password-file " +
                                             password_file_.string()));
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(r.status, 130) << r.output;
  EXPECT_LT(took, 60s) << "Ctrl-C waited for --reconnect-after";
  // The target's wire results and its logon are still reported, the logon marked as interrupted.
  EXPECT_NE(r.output.find(": rdp — RDP server"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("interrupted before the reconnection"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 of 1 targets finished"), std::string::npos) << r.output;
  // The first logon happened and left its session disconnected; no reconnection was made.
  const auto rows = sessions();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].state, rdp::sim::session_state::disconnected);
  EXPECT_EQ(sim_->call([this] { return sim_->server().counters().reconnected; }), 0u);
}

TEST_F(ProbeLoginCli, UsageErrorsNameTheFlag) {
  start();
  const auto no_password = rdp::test::run_command("env -u RDPPROBE_PASSWORD " + scan(""));
  EXPECT_EQ(no_password.status, 2) << no_password.output;
  EXPECT_NE(no_password.output.find("RDPPROBE_PASSWORD"), std::string::npos) << no_password.output;
  const auto missing_file = rdp::test::run_command(scan("--password-file " + (dir_ / "absent").string()));
  EXPECT_EQ(missing_file.status, 2) << missing_file.output;
  EXPECT_NE(missing_file.output.find("--password-file"), std::string::npos) << missing_file.output;
  const auto reconnect_alone = rdp::test::run_command(std::string(RDPPROBE_BIN) + " scan 127.0.0.1:1 --reconnect");
  EXPECT_EQ(reconnect_alone.status, 2) << reconnect_alone.output;
  EXPECT_NE(reconnect_alone.output.find("--reconnect needs --login"), std::string::npos) << reconnect_alone.output;
  const auto bad_security = rdp::test::run_command(scan("--password-file " + password_file_.string() +
                                                        " --login-security kerberos"));
  EXPECT_EQ(bad_security.status, 2) << bad_security.output;
  EXPECT_NE(bad_security.output.find("--login-security"), std::string::npos) << bad_security.output;
  // No argv flag for the password exists at all.
  const auto argv_password = rdp::test::run_command(scan("--password secret"));
  EXPECT_EQ(argv_password.status, 2) << argv_password.output;
  EXPECT_TRUE(sessions().empty()) << "a usage error must not log on";
}

}  // namespace
