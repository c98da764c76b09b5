// rdpsim profiles: every shipped profile loads to what it says; every kind of bad profile is refused with the file,
// line and key named (a typo must never silently become a default); `rdpsim serve --profile` uses one.
#include "rdp/sim/profile.hpp"
#include "run_command.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace {

using rdp::sim::parse_profile;
using rdp::sim::profile_error;

// Paths are joined with std::filesystem: GCC 12 at -O2 reports a false -Warray-bounds for std::string + "…" here.
std::string shipped_profile(const char* name) {
  return (std::filesystem::path(RDP_SOURCE_DIR) / "sim" / "profiles" / name).string();
}

// The message of the profile_error that parsing `text` throws, or "" if it parses.
std::string error_of(const std::string& text) {
  try {
    parse_profile(text, "test.yaml");
  } catch (const profile_error& e) {
    return e.what();
  }
  return "";
}

TEST(Profile, WindowsServer2022LoadsAsWritten) {
  auto p = rdp::sim::load_profile(shipped_profile("windows-server-2022.yaml"));
  EXPECT_EQ(p.name, "windows-server-2022");
  EXPECT_EQ(p.server.listen.text(), "127.0.0.1:13389");
  // Windows' default: NLA required — CredSSP and CredSSP with the Early User Authorization Result, nothing else.
  EXPECT_FALSE(p.server.policy.supports_standard_rdp);
  EXPECT_EQ(p.server.policy.supported, 0xAu);  // HYBRID | HYBRID_EX
  EXPECT_FALSE(p.server.identity.certificate_pem.empty());
  EXPECT_EQ(p.server.ntlm.netbios_computer, "RDSH01");
  EXPECT_EQ(p.server.ntlm.build, 20348);
  ASSERT_EQ(p.server.users.size(), 2u);
  EXPECT_EQ(p.server.users[0].user, "alice");
  EXPECT_EQ(p.server.users[0].domain, "LAB");
  EXPECT_EQ(p.server.users[0].password, "Passw0rd!");
  EXPECT_TRUE(p.server.sessions.single_session);
  EXPECT_FALSE(p.server.sessions.max_sessions);
  EXPECT_FALSE(p.server.sessions.disconnected_limit) << "Windows' default: never";
  EXPECT_FALSE(p.server.heartbeat);
  EXPECT_EQ(p.server.stale_cookie, rdp::sim::stale_cookie_answer::fresh_logon);
  ASSERT_TRUE(p.control);
  EXPECT_EQ(p.control->listen.port, 13390);
}

TEST(Profile, IdleLimitAndXrdpLikeLoad) {
  auto idle = rdp::sim::load_profile(shipped_profile("idle-limit.yaml"));
  ASSERT_TRUE(idle.server.sessions.idle_limit);
  EXPECT_EQ(*idle.server.sessions.idle_limit, std::chrono::seconds(60));
  EXPECT_FALSE(idle.server.policy.supports_standard_rdp);
  EXPECT_EQ(idle.server.stale_cookie, rdp::sim::stale_cookie_answer::refuse);
  EXPECT_EQ(idle.server.stale_cookie_error, 7u);
  EXPECT_FALSE(idle.control);
  auto xrdp = rdp::sim::load_profile(shipped_profile("xrdp-like.yaml"));
  EXPECT_EQ(xrdp.server.policy.supported, 0x1u);
  EXPECT_TRUE(xrdp.server.users.empty());
}

// The resource limits (issue 12 item 5): documented defaults, and each settable within its range.
TEST(Profile, LimitsHaveDefaultsAndAreSettable) {
  const auto defaults = parse_profile("protocols: rdp\n", "test.yaml").server;
  EXPECT_EQ(defaults.max_connections, 4096u);
  EXPECT_EQ(defaults.max_session_table, 4096u);
  EXPECT_EQ(defaults.prelogon_timeout, std::chrono::milliseconds(30000));
  const auto set = parse_profile("protocols: rdp\nlimits:\n  max_connections: 10\n  max_session_table: 20\n"
                                 "timeouts:\n  prelogon_ms: 1500\n",
                                 "test.yaml")
                       .server;
  EXPECT_EQ(set.max_connections, 10u);
  EXPECT_EQ(set.max_session_table, 20u);
  EXPECT_EQ(set.prelogon_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(error_of("protocols: rdp\nlimits:\n  max_connections: 0\n"),
            "test.yaml:3:20: limits.max_connections: expected a whole number from 1 to 1000000, found '0'");
  EXPECT_NE(error_of("protocols: rdp\nlimits:\n  max_sessions: 3\n").find("unknown key"), std::string::npos);
  EXPECT_NE(error_of("protocols: rdp\ntimeouts:\n  prelogon_ms: none\n").find("timeouts.prelogon_ms"),
            std::string::npos);
}

// check_only reads the tls keys without loading or generating anything (what the fuzz target relies on).
TEST(Profile, CertificatesCanBeCheckedWithoutBeingMade) {
  const auto p = parse_profile("protocols: tls\ntls:\n  generate: rsa\n", "test.yaml", ".",
                               rdp::sim::certificate_handling::check_only);
  EXPECT_TRUE(p.server.identity.certificate_pem.empty());
  try {
    parse_profile("protocols: tls\ntls:\n  generate: dsa\n", "test.yaml", ".",
                  rdp::sim::certificate_handling::check_only);
    ADD_FAILURE() << "a bad tls.generate was accepted";
  } catch (const profile_error& e) {
    EXPECT_NE(std::string(e.what()).find("tls.generate"), std::string::npos) << e.what();
  }
}

TEST(Profile, MinimalProfileKeepsDefaults) {
  auto p = parse_profile("protocols: rdp\n", "mini.yaml");
  EXPECT_EQ(p.name, "mini");
  EXPECT_TRUE(p.server.identity.certificate_pem.empty()) << "no TLS offered, so no certificate generated";
  EXPECT_EQ(p.server.listen.port, 13389);
}

TEST(Profile, BadProfilesNameFileLineAndKey) {
  EXPECT_EQ(error_of("protocols: [rdp, tls]\nsessions:\n  max_sesions: 3\n"),
            "test.yaml:3:3: sessions.max_sesions: unknown key (known here: single_session, max_sessions, "
            "idle_limit_seconds, logon_timeout_seconds, disconnected_limit_seconds)");
  EXPECT_EQ(error_of("protocols: [rdp, tls]\nsessions:\n  max_sessions: many\n"),
            "test.yaml:3:17: sessions.max_sessions: expected a whole number from 1 to 1000000, found 'many'");
  EXPECT_EQ(error_of("protocols: [rdp, tls]\nsessions:\n  idle_limit_seconds: -5\n"),
            "test.yaml:3:23: sessions.idle_limit_seconds: expected a whole number from 1 to 31536000, found '-5'");
  EXPECT_EQ(error_of("protocols: [rdp, telnet]\n"),
            "test.yaml:1:12: protocols: unknown protocol 'telnet' (expected rdp, tls, credssp, credssp-ex, rdstls, rdsaad)");
  EXPECT_EQ(error_of("listen: 127.0.0.1:99999\n"), "test.yaml:1:9: listen: port '99999' is not a number from 0 to 65535");
  EXPECT_NE(error_of("sessions: {single_session: maybe}\n").find("sessions.single_session: expected true or false"),
            std::string::npos);
  EXPECT_NE(error_of("protocols: [rdp]\ntls: {generate: rsa}\n").find("tls: no TLS-based protocol is offered"),
            std::string::npos);
  EXPECT_NE(error_of("protocols: [tls]\ntls: {generate: dsa}\n").find("tls.generate: expected rsa or ecdsa"),
            std::string::npos);
  EXPECT_NE(error_of("protocols: [tls]\ntls: {certificate: /nonexistent/c.pem, key: /nonexistent/k.pem}\n")
                .find("test.yaml:2:20: tls.certificate:"),
            std::string::npos);
  EXPECT_NE(error_of("protocols: [tls]\ntls: {certificate: c.pem}\n").find("tls: certificate and key go together"),
            std::string::npos);
  EXPECT_NE(error_of("users:\n  - {user: alice}\n").find("users[1]: user and password are required"), std::string::npos);
  EXPECT_NE(error_of("stale_cookie: sometimes\n").find("stale_cookie: expected fresh-logon or refuse"), std::string::npos);
  EXPECT_NE(error_of("ntlm: {version: ten}\n").find("ntlm.version: expected major.minor.build"), std::string::npos);
  EXPECT_NE(error_of("control: {listen: 'not an address:x'}\n").find("test.yaml:1:19: control.listen:"), std::string::npos);
  EXPECT_NE(error_of("protocols: [rdp\n").find("test.yaml:"), std::string::npos);  // YAML syntax error, located
  EXPECT_NE(error_of("protocols: [rdp\n").find("not valid YAML"), std::string::npos);
  EXPECT_EQ(error_of(""), "test.yaml: the profile is empty");
  EXPECT_NE(error_of("- just\n- a list\n").find("expected a mapping"), std::string::npos);
}

TEST(Profile, DisconnectedLimitIsNullOrWholeSecondsUpToADay) {
  auto limit_of = [](const std::string& value) {
    return parse_profile("protocols: rdp\nsessions:\n  disconnected_limit_seconds: " + value + "\n", "test.yaml")
        .server.sessions.disconnected_limit;
  };
  EXPECT_FALSE(limit_of("null"));
  EXPECT_FALSE(limit_of("~"));
  EXPECT_EQ(limit_of("1"), std::chrono::seconds(1));
  EXPECT_EQ(limit_of("3600"), std::chrono::seconds(3600));
  EXPECT_EQ(limit_of("86400"), std::chrono::seconds(86400));
  EXPECT_FALSE(parse_profile("protocols: rdp\n", "test.yaml").server.sessions.disconnected_limit) << "default: never";

  auto error_for = [](const std::string& value) {
    return error_of("protocols: rdp\nsessions:\n  disconnected_limit_seconds: " + value + "\n");
  };
  const std::string where = "test.yaml:3:31: sessions.disconnected_limit_seconds: expected a whole number from 1 to "
                            "86400, found ";
  EXPECT_EQ(error_for("0"), where + "'0'") << "0 is not Group Policy's \"never\" here: null is";
  EXPECT_EQ(error_for("-5"), where + "'-5'");
  EXPECT_EQ(error_for("1.5"), where + "'1.5'");
  EXPECT_EQ(error_for("an hour"), where + "'an hour'");
  EXPECT_EQ(error_for("86401"), where + "'86401'");
  EXPECT_EQ(error_for("[60]"), where + "a list");
}

TEST(Profile, ServeRefusesABadProfileWithExitTwo) {
  const auto path = std::filesystem::temp_directory_path() / ("rdpsim-bad-profile-" + std::to_string(::getpid()) + ".yaml");
  {
    std::ofstream out(path);
    out << "protocols: [rdp, tls]\nheartbeat_seconds: 1000\n";
  }
  std::string command = RDPSIM_BIN;
  command += " serve --no-control --profile ";
  command += path.string();
  auto r = rdp::test::run_command(command);
  std::filesystem::remove(path);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find(":2:20: heartbeat_seconds: expected a whole number from 1 to 255, found '1000'"), std::string::npos)
      << r.output;
}

}  // namespace
