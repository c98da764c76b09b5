// The FreeRDP client library (rdpprobe's run_login, TLS security) through the fault proxy to rdpsim: the firewall
// idle timeout with resets, and the phase-triggered reset, as FreeRDP itself reports them.
#include "rdp/net/tls.hpp"
#include "rdp/probe/login.hpp"
#include "rdp/proxy/fault_proxy.hpp"
#include "proxy_thread.hpp"
#include "sim_thread.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

namespace {

using namespace rdp;
using namespace std::chrono_literals;
namespace asio = net::asio;

using rdp::test::proxy_thread;


sim::server_config sim_config() {
  sim::server_config config;
  config.policy = sim::parse_policy("rdp,tls");
  config.identity = net::make_self_signed(net::key_kind::ecdsa, "rdpsim-proxy-interop");
  return config;
}

proxy::proxy_config to_sim(std::uint16_t port, proxy::fault_change faults) {
  proxy::proxy_config c;
  c.upstream = {"127.0.0.1", port};
  c.initial = faults;
  return c;
}

probe::login_options through(std::uint16_t port, std::chrono::milliseconds stay) {
  probe::login_options o;
  o.host = "127.0.0.1";
  o.port = port;
  o.user = "alice";
  o.password = "secret";
  o.security = probe::login_security::tls;
  o.stay = stay;
  o.accept_any_certificate = true;
  return o;
}

std::optional<sim::session_info> wait_active(test::sim_thread& sim) {
  for (int i = 0; i < 200; ++i) {
    for (const auto& s : sim.call([&] { return sim.server().admin().query_sessions(); }))
      if (s.state == sim::session_state::active) return s;
    std::this_thread::sleep_for(25ms);
  }
  return std::nullopt;
}

TEST(ProxyFreeRdp, IdleTimeoutResetBothEndsFreeRdpWithATransportError) {
  test::sim_thread sim(sim_config());
  proxy::fault_change idle;
  idle.idle_timeout = std::optional<proxy::duration>(400ms);
  idle.on_idle = proxy::idle_expiry::reset_both;
  idle.idle_from = proxy::phase::first_app_data;
  proxy_thread proxy(to_sim(sim.port(), idle));
  const auto r = probe::run_login(through(proxy.port(), 10s));
  ASSERT_TRUE(r.setup_error.empty()) << r.setup_error;
  EXPECT_TRUE(r.reached_active) << r.furthest_state << " " << r.last_error_name;
  EXPECT_TRUE(r.ended_by_server) << "FreeRDP should see the connection fail during its stay";
  EXPECT_EQ(r.error_info, 0u) << "a reset carries no PDU: " << r.error_info_name;
  EXPECT_LT(r.active_time, 10s) << "ended by the reset, not by the end of its stay";
  const auto c = proxy.counters();
  EXPECT_EQ(c.idle_expiries, 1u);
  EXPECT_EQ(c.resets_to_client, 1u);
  EXPECT_EQ(c.resets_to_server, 1u);
}

TEST(ProxyFreeRdp, IdleTimeoutResetSenderResetsOnlyTheSideThatSpeaks) {
  test::sim_thread sim(sim_config());
  proxy::fault_change idle;
  idle.idle_timeout = std::optional<proxy::duration>(400ms);
  idle.on_idle = proxy::idle_expiry::reset_sender;
  idle.idle_from = proxy::phase::first_app_data;
  proxy_thread proxy(to_sim(sim.port(), idle));
  auto client = std::async(std::launch::async, [o = through(proxy.port(), 3s)] { return probe::run_login(o); });
  const auto session = wait_active(sim);
  ASSERT_TRUE(session) << "FreeRDP never reached an active session through the proxy";
  // Wait for the expiry, then make the server speak: its Set Error Info + Disconnect Provider Ultimatum is the
  // segment the forgotten flow answers with a reset — to the server only.
  for (int i = 0; i < 200 && proxy.counters().idle_expiries == 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(proxy.counters().idle_expiries, 1u);
  EXPECT_TRUE(sim.call([&] { return sim.server().admin().disconnect(session->id); }).ok);
  const auto r = client.get();
  EXPECT_TRUE(r.reached_active);
  EXPECT_EQ(r.error_info, 0u) << "the client never saw the server's goodbye: " << r.error_info_name;
  EXPECT_FALSE(r.ended_by_server) << "the client side of a forgotten flow hears nothing until it sends";
  const auto c = proxy.counters();
  EXPECT_EQ(c.resets_to_server, 1u);
}

TEST(ProxyFreeRdp, ResetTwoHundredMsAfterTlsEstablished) {
  test::sim_thread sim(sim_config());
  proxy::fault_change at;
  at.reset_at_phase = proxy::phase::tls_established;
  at.reset_after = 200ms;
  proxy_thread proxy(to_sim(sim.port(), at));
  const auto r = probe::run_login(through(proxy.port(), 5s));
  ASSERT_TRUE(r.setup_error.empty()) << r.setup_error;
  EXPECT_TRUE(!r.connected || r.ended_by_server) << "FreeRDP must see the connection end under it";
  EXPECT_EQ(r.error_info, 0u) << r.error_info_name;
  EXPECT_LT(r.active_time, 5s);
  // FreeRDP connects again after the first reset (2 connections on this machine): each one is reset at its phase.
  const auto c = proxy.counters();
  EXPECT_GE(c.accepted, 1u);
  EXPECT_EQ(c.resets_to_client, c.accepted);
  EXPECT_EQ(c.resets_to_server, c.accepted);
}

}  // namespace
