// rdpsim's CredSSP over SPNEGO against a real SPNEGO implementation: Samba 4.17's gensec (python3-samba), driven by
// tests/interop/samba_spnego_credssp_client.py, which speaks X.224, TLS and the TSRequests itself and leaves SPNEGO,
// NTLM, both mechListMICs and the sealing to Samba. What it shows: Samba accepts rdpsim's accept-completed and its
// mechListMIC (gensec's update() only finishes once that MIC checks), rdpsim accepts Samba's mechListMIC and
// pubKeyAuth on the RC4 stream restarted after it (MS-SPNG 3.3.5.1), the binding and TSCredentials unseal, and
// HYBRID_EX's Early User Authorization Result follows; a wrong password or an account's state comes back as its
// NTSTATUS in TSRequest.errorCode.
#include "rdp/net/tls.hpp"
#include "rdp/protocol/errinfo.hpp"
#include "rdp/sim/profile.hpp"
#include "rdp/sim/server.hpp"

#include "peers.hpp"
#include "run_command.hpp"
#include "sim_thread.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace {

using namespace std::chrono_literals;
namespace ntstatus = rdp::protocol::ntstatus;

std::string missing_samba() {
  if (rdp::test::run_command("/usr/bin/python3 -c 'import samba.gensec, samba.credentials'").status != 0)
    return "python3-samba (Samba's gensec for Debian's /usr/bin/python3) is not installed";
  return {};
}

rdp::sim::server_config nla_config(rdp::net::key_kind key) {
  rdp::sim::server_config config;
  config.policy = rdp::sim::parse_policy("credssp,credssp-ex");
  config.identity = rdp::net::make_self_signed(key, "rdpsim-spnego-test");
  config.users = {{"alice", "LAB", "Passw0rd!"},
                  {"bob", "LAB", "Passw0rd!", rdp::protocol::account_state::disabled},
                  {"carol", "LAB", "Passw0rd!", rdp::protocol::account_state::locked_out},
                  {"erin", "LAB", "Passw0rd!", rdp::protocol::account_state::enabled, false}};
  return config;
}

// One run of Samba's client against the port; its JSON answer (the script bounds every read by --timeout).
nlohmann::json samba_logon(std::uint16_t port, const std::string& user, const std::string& password) {
  const auto r = rdp::test::run_command("timeout 30 /usr/bin/python3 " RDP_SOURCE_DIR
                                        "/tests/interop/samba_spnego_credssp_client.py --port " +
                                        std::to_string(port) + " --user " + user + " --password '" + password +
                                        "' --domain LAB --timeout 10");
  EXPECT_EQ(r.status, 0) << r.output;
  const auto line = r.output.substr(0, r.output.find('\n'));
  auto parsed = nlohmann::json::parse(line, nullptr, false);
  EXPECT_FALSE(parsed.is_discarded()) << r.output;
  return parsed.is_discarded() ? nlohmann::json::object() : parsed;
}

class SambaSpnego : public ::testing::TestWithParam<rdp::net::key_kind> {
 protected:
  void SetUp() override {
    RDP_REQUIRE_PEER(missing_samba());
    sim_.emplace(nla_config(GetParam()));
  }
  rdp::sim::server_counters counters() { return sim_->call([&] { return sim_->server().counters(); }); }
  std::optional<rdp::test::sim_thread> sim_;
};

TEST_P(SambaSpnego, LogsOnAndTheEarlyUserAuthorizationResultSaysAuthorized) {
  const auto answer = samba_logon(sim_->port(), "alice", "Passw0rd!");
  EXPECT_EQ(answer.value("selected", -1), 8) << answer.dump();  // PROTOCOL_HYBRID_EX
  EXPECT_TRUE(answer.value("spnego_complete", false)) << answer.dump();  // Samba checked rdpsim's mechListMIC
  EXPECT_TRUE(answer.value("binding_ok", false)) << answer.dump();
  ASSERT_TRUE(answer.contains("euar") && answer["euar"].is_number()) << answer.dump();
  EXPECT_EQ(answer["euar"].get<int>(), 0) << answer.dump();  // AUTHZ_SUCCESS: rdpsim took the TSCredentials
  // nla_logons counts logons that reach the Client Info; the script ends at the authorization result.
  EXPECT_EQ(counters().nla_refusals, 0u);
}

TEST_P(SambaSpnego, RefusalsComeBackAsTheirNtstatus) {
  struct refusal {
    const char* user;
    const char* password;
    std::uint32_t status;
  };
  const refusal cases[] = {{"alice", "wrong", ntstatus::logon_failure},
                           {"mallory", "Passw0rd!", ntstatus::logon_failure},
                           {"bob", "Passw0rd!", ntstatus::account_disabled},
                           {"carol", "wrong", ntstatus::account_locked_out}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.user);
    const auto answer = samba_logon(sim_->port(), c.user, c.password);
    ASSERT_TRUE(answer.contains("error_code") && answer["error_code"].is_number()) << answer.dump();
    EXPECT_EQ(answer["error_code"].get<std::uint32_t>(), c.status) << answer.dump();
    EXPECT_TRUE(answer["euar"].is_null()) << answer.dump();
  }
  EXPECT_EQ(counters().nla_refusals, 4u);
  EXPECT_EQ(counters().nla_logons, 0u);
}

TEST_P(SambaSpnego, AnAccountWithoutTheRemoteLogonRightIsDeniedByTheEarlyUserAuthorizationResult) {
  const auto answer = samba_logon(sim_->port(), "erin", "Passw0rd!");
  EXPECT_TRUE(answer.value("binding_ok", false)) << answer.dump();
  ASSERT_TRUE(answer.contains("euar") && answer["euar"].is_number()) << answer.dump();
  EXPECT_EQ(answer["euar"].get<int>(), 5) << answer.dump();  // AUTHZ_ACCESS_DENIED (MS-RDPBCGR 2.2.10.2)
}

INSTANTIATE_TEST_SUITE_P(Keys, SambaSpnego, ::testing::Values(rdp::net::key_kind::rsa, rdp::net::key_kind::ecdsa),
                         [](const auto& param_info) { return param_info.param == rdp::net::key_kind::rsa ? "Rsa" : "Ecdsa"; });

}  // namespace
