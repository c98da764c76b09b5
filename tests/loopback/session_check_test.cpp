// The session check (docs/verdicts.md, session-error): after TLS, rdpprobe sends an MCS Connect-Initial on the same
// connection and reports a server that tears the session down — with a Disconnect Provider Ultimatum, a Set Error
// Info PDU, or a reset — as session-error with that evidence, in the report and in the JSON line.
#include "rdp/probe/scanner.hpp"
#include "rdp/protocol/errinfo.hpp"
#include "rdp/protocol/gcc.hpp"

#include "scripted_listener.hpp"
#include "sim_thread.hpp"

#include "run_command.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>


namespace {

using namespace rdp;
using test::listener_behaviour;

using rdp::test::run_command;  // stdout and stderr together

std::string target(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

// rdpprobe scan --json of one target: the exit status and the parsed line.
std::pair<int, nlohmann::json> scan_json(std::uint16_t port, const std::string& flags = "") {
  auto r = run_command(std::string(RDPPROBE_BIN) + " scan --json --read-timeout 2s " + flags + " " + target(port));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(r.output);
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what() << "\n" << r.output;
  }
  return {r.status, j};
}

probe::target_report probe_port(std::uint16_t port, probe::probe_options options = {}) {
  options.read_timeout = net::milliseconds(2000);
  return probe::probe_all({{target(port), {"127.0.0.1", port}}}, options, 1).at(0);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(SessionCheck, DisconnectProviderUltimatumAfterTlsIsSessionError) {
  test::scripted_listener server(listener_behaviour::tls_then_dpu);
  const auto [status, j] = scan_json(server.port());
  EXPECT_EQ(status, 1);
  EXPECT_EQ(j.at("verdict"), "session-error");
  EXPECT_EQ(j.at("evidence"),
            "after TLS, the MCS Connect-Initial got MCS Disconnect Provider Ultimatum (rn-provider-initiated)");
  const auto& s = j.at("session");
  EXPECT_EQ(s.at("over"), "tls");
  EXPECT_EQ(s.at("outcome"), "disconnect-provider-ultimatum");
  EXPECT_EQ(s.at("torn_down"), true);
  EXPECT_EQ(s.at("disconnect_reason"), "rn-provider-initiated");
  EXPECT_EQ(s.at("disconnect_reason_code"), 1);
  EXPECT_TRUE(s.at("error_info").is_null());
  EXPECT_TRUE(s.at("timings_ms").at("mcs").is_number());
  // The TLS facts were read on the same connection before the check, and the check ran once per target.
  EXPECT_EQ(j.at("tls").at("version"), "TLSv1.3");
  EXPECT_EQ(server.connect_initials(), 1);
}

TEST(SessionCheck, ConnectInitialAnnouncesErrorInfoSupportAndTheSelectedProtocol) {
  test::scripted_listener server(listener_behaviour::tls_then_dpu);
  scan_json(server.port());
  const auto ci = server.last_connect_initial();
  ASSERT_TRUE(ci);
  const auto& core = ci->user_data.client.core;
  ASSERT_TRUE(core);
  EXPECT_EQ(core->early_capability_flags, protocol::gcc::early_capability::support_errinfo_pdu);
  EXPECT_EQ(core->server_selected_protocol, 1u);  // PROTOCOL_SSL, as negotiated
  ASSERT_TRUE(ci->user_data.client.security);
  EXPECT_EQ(ci->user_data.client.security->encryption_methods, 0u);
}

TEST(SessionCheck, SetErrorInfoThenDisconnectIsSessionErrorWithTheCode) {
  test::scripted_listener server(listener_behaviour::tls_then_error_info);
  const auto [status, j] = scan_json(server.port());
  EXPECT_EQ(status, 1);
  EXPECT_EQ(j.at("verdict"), "session-error");
  const auto& s = j.at("session");
  EXPECT_EQ(s.at("outcome"), "disconnect-provider-ultimatum");
  EXPECT_EQ(s.at("error_info"), "0x00000007");
  EXPECT_EQ(s.at("error_info_name"), "ERRINFO_SERVER_DENIED_CONNECTION");
  EXPECT_EQ(s.at("error_info_meaning"), "The server refused the connection.");
  EXPECT_EQ(s.at("error_info_session_fate"), "never_created");
  EXPECT_EQ(s.at("disconnect_reason"), "rn-user-requested");
  EXPECT_EQ(s.at("disconnect_reason_code"), 3);
  EXPECT_EQ(j.at("evidence"),
            "after TLS, the MCS Connect-Initial got Set Error Info ERRINFO_SERVER_DENIED_CONNECTION (0x00000007: The "
            "server refused the connection), then MCS Disconnect Provider Ultimatum (rn-user-requested)");

  // The human report says the same.
  auto human = run_command(std::string(RDPPROBE_BIN) + " scan --read-timeout 2s " + target(server.port()));
  EXPECT_EQ(human.status, 1);
  EXPECT_TRUE(contains(human.output, target(server.port()) + ": session-error — after TLS")) << human.output;
  EXPECT_TRUE(contains(human.output, "session     over TLS: TORN DOWN: the MCS Connect-Initial got Set Error Info "
                                  "ERRINFO_SERVER_DENIED_CONNECTION (0x00000007: "))
      << human.output;
}

TEST(SessionCheck, ResetAfterConnectInitialIsSessionError) {
  test::scripted_listener server(listener_behaviour::tls_then_reset);
  const auto r = probe_port(server.port());
  EXPECT_EQ(r.result, probe::verdict::session_error) << r.evidence;
  ASSERT_TRUE(r.session);
  EXPECT_EQ(r.session->outcome, probe::session_outcome::reset) << r.session->detail;
  EXPECT_EQ(r.evidence, "after TLS, the MCS Connect-Initial got a TCP reset");
  const auto j = probe::to_json(r);
  EXPECT_EQ(j.at("verdict"), "session-error");
  EXPECT_EQ(j.at("session").at("outcome"), "reset");
  EXPECT_TRUE(j.at("session").at("disconnect_reason").is_null());
}

TEST(SessionCheck, ConnectResponseIsHealthyAndItsCoreDataIsRecorded) {
  test::scripted_listener server(listener_behaviour::tls_then_connect_response);
  const auto [status, j] = scan_json(server.port(), "--protocols rdp,tls --combinations none");
  EXPECT_EQ(status, 0) << j.dump();
  EXPECT_EQ(j.at("verdict"), "rdp");
  const auto& s = j.at("session");
  EXPECT_EQ(s.at("over"), "tls");
  EXPECT_EQ(s.at("outcome"), "connect-response");
  EXPECT_EQ(s.at("torn_down"), false);
  EXPECT_EQ(s.at("rdp_version"), "0x0008000C");
  EXPECT_EQ(s.at("rdp_version_name"), "RDP 10.7");
  EXPECT_EQ(s.at("early_capability_flags"), "0x00000001");
  EXPECT_EQ(s.at("client_requested_protocols"), "tls");  // the server echoes what the checked connection asked
  EXPECT_EQ(server.connect_initials(), 1);
}

TEST(SessionCheck, CanBeSkipped) {
  test::scripted_listener server(listener_behaviour::tls_then_dpu);
  const auto [status, j] = scan_json(server.port(), "--no-session-check");
  EXPECT_EQ(status, 0);
  EXPECT_EQ(j.at("verdict"), "rdp");
  EXPECT_TRUE(j.at("session").is_null());
  EXPECT_EQ(server.connect_initials(), 0);
}

TEST(SessionCheck, RdpsimIsHealthy) {
  sim::server_config c;
  c.policy = sim::parse_policy("rdp,tls,credssp");
  c.identity = net::make_self_signed(net::key_kind::rsa, "session-check");
  test::sim_thread sim(c);
  const auto r = probe_port(sim.port());
  EXPECT_EQ(r.result, probe::verdict::rdp) << r.evidence;
  ASSERT_TRUE(r.session);
  EXPECT_EQ(r.session->over, "tls");
  EXPECT_FALSE(probe::tears_down(r.session->outcome)) << r.session->detail;
}

TEST(SessionCheck, NotAttemptedWhenOnlyCredSspIsSelected) {
  // After CredSSP the client owes the server its authentication before any MCS PDU: no check there.
  sim::server_config c;
  c.policy = sim::parse_policy("credssp");
  c.identity = net::make_self_signed(net::key_kind::ecdsa, "session-check");
  test::sim_thread sim(c);
  const auto r = probe_port(sim.port());
  EXPECT_EQ(r.result, probe::verdict::rdp) << r.evidence;
  EXPECT_FALSE(r.session);
  EXPECT_TRUE(probe::to_json(r).at("session").is_null());
}

}  // namespace
