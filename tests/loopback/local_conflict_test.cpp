// `rdpprobe local` against listener conflicts that only some connections meet (issue 16), with real listeners this
// test starts on loopback: an SO_REUSEPORT group of rdpsim and an HTTP listener, a group of two rdpsims, and RDP on
// 127.0.0.1 beside an SSH banner on [::1]. Each test asserts the finding and the counts: a detector that connects
// once per address meets one member of a group and cannot pass them. The findings' logic alone, from hand-built
// reports, is tests/unit_probe/local_report_test.cpp.
#include "rdp/net/listen.hpp"
#include "rdp/probe/local_listeners.hpp"

#include "run_command.hpp"
#include "sim_thread.hpp"
#include "finding_lines.hpp"
#include "foreign_listener.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>

namespace {

using namespace rdp;
namespace asio = net::asio;

using test::contains;
using test::joined;

using group_listener = test::foreign_listener;

sim::server_config sim_config() {
  sim::server_config c;
  c.policy = sim::parse_policy("rdp,tls");
  c.identity = net::make_self_signed(net::key_kind::rsa, "rdpsim-conflict-test");
  return c;
}

// rdpsim on 127.0.0.1:port in an SO_REUSEPORT group (port 0: a free port, the group's first member).
std::unique_ptr<test::sim_thread> sim_in_group(std::uint16_t port) {
  auto c = sim_config();
  c.listen = {"127.0.0.1", port};
  c.reuse_port = true;
  return std::make_unique<test::sim_thread>(std::move(c), /*keep_listen=*/true);
}

const probe::local_probe* probe_at(const probe::local_report& r, const std::string& address) {
  for (const auto& p : r.probes)
    if (p.address == address) return &p;
  return nullptr;
}

TEST(LocalConflict, ReuseportGroupOfRdpsimAndHttpIsAFindingWithBothShares) {
  const auto sim = sim_in_group(0);
  const auto port = sim->port();
  group_listener http(group_listener::speaks::http, {asio::ip::make_address("127.0.0.1"), port}, {.reuse_address = true,
                      .reuse_port = true, .v6_only = std::nullopt});
  const std::string where = "127.0.0.1:" + std::to_string(port);

  auto r = probe::find_listeners(port);
  ASSERT_EQ(r.listeners.size(), 2u);
  for (const auto& l : r.listeners) {
    EXPECT_EQ(l.local_address(), where);
    ASSERT_EQ(l.owners.size(), 1u);
    EXPECT_EQ(l.owners[0].pid, ::getpid());  // one process, two sockets: no "multiple owners", but a group
  }
  probe::probe_local_listeners(r);

  EXPECT_TRUE(contains(r.findings, "2 sockets share " + where + " (SO_REUSEPORT group)")) << joined(r.findings);
  EXPECT_TRUE(contains(r.findings, "pid " + std::to_string(::getpid()))) << joined(r.findings);
  const auto* p = probe_at(r, where);
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(p->spread);
  const auto& t = *p->spread;
  // 8 connections per member of the pair, each one negotiation: every one met rdpsim or the HTTP listener.
  EXPECT_EQ(t.connections(), 16u) << probe::describe(t);
  const auto rdp = t.connections_of(protocol::listener_kind::rdp), http_met = t.connections_of(protocol::listener_kind::http);
  EXPECT_GT(rdp, 0u) << probe::describe(t);
  EXPECT_GT(http_met, 0u) << probe::describe(t);
  EXPECT_EQ(rdp + http_met, 16u) << probe::describe(t);
  EXPECT_TRUE(probe::disagree(t));
  // The members saw them too (the scanner's own probe adds its connections to one of them).
  EXPECT_GE(http.accepted(), http_met);
  EXPECT_GE(sim->counters().accepted, rdp);
  EXPECT_TRUE(contains(r.findings, "the SO_REUSEPORT group on " + where + " answers differently: " +
                                       std::to_string(http_met) + " of 16 connections met http"))
      << joined(r.findings);
  EXPECT_FALSE(contains(r.findings, "multiple owners")) << joined(r.findings);

  // The same in the command's two renderings (a fresh run: its own spread, so only the shape is compared).
  std::ostringstream human, json;
  EXPECT_EQ(probe::run_local(port, false, human), 1);
  EXPECT_NE(human.str().find("FINDING: 2 sockets share " + where), std::string::npos) << human.str();
  EXPECT_NE(human.str().find("  spread: 16 connections: "), std::string::npos) << human.str();
  EXPECT_EQ(human.str().find("OK:"), std::string::npos) << human.str();
  EXPECT_EQ(probe::run_local(port, true, json), 1);
  const auto j = nlohmann::json::parse(json.str());
  EXPECT_EQ(j.at("listeners").at(0).at("group_size"), 2);
  EXPECT_EQ(j.at("probes").at(0).at("spread").at("connections"), 16);
  EXPECT_EQ(j.at("probes").at(0).at("spread").at("disagree"), true);
  EXPECT_EQ(j.at("healthy"), false);

  // The command line: `--connections 24` makes 24 spread connections instead of 8 per member.
  const auto cli = test::run_command("{ " + std::string(RDPPROBE_BIN) + " local --port " + std::to_string(port) +
                                     " --json --connections 24 2>/dev/null; }");
  EXPECT_EQ(cli.status, 1) << cli.output;
  const auto cj = nlohmann::json::parse(cli.output, nullptr, false);
  ASSERT_FALSE(cj.is_discarded()) << cli.output;
  EXPECT_EQ(cj.at("probes").at(0).at("spread").at("connections"), 24) << cli.output;
}

TEST(LocalConflict, ReuseportGroupOfTwoRdpsimsIsAGroupWithoutANotRdpShare) {
  const auto first = sim_in_group(0);
  const auto port = first->port();
  const auto second = sim_in_group(port);  // a stale second instance joins the port
  const std::string where = "127.0.0.1:" + std::to_string(port);

  auto r = probe::find_listeners(port);
  ASSERT_EQ(r.listeners.size(), 2u);
  probe::local_options options;
  options.connections = 24;  // the local_options knob: 24 rather than 8 per member
  probe::probe_local_listeners(r, options);

  ASSERT_EQ(r.findings.size(), 1u) << joined(r.findings);
  EXPECT_NE(r.findings[0].find("2 sockets share " + where + " (SO_REUSEPORT group)"), std::string::npos)
      << r.findings[0];
  const auto* p = probe_at(r, where);
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(p->spread);
  EXPECT_EQ(p->spread->connections(), 24u);
  EXPECT_EQ(p->spread->connections_of(protocol::listener_kind::rdp), 24u) << probe::describe(*p->spread);
  EXPECT_FALSE(probe::disagree(*p->spread)) << probe::describe(*p->spread);  // the same answer from both
  // Both instances were met, which one connection could not show.
  EXPECT_GT(first->counters().accepted, 0u);
  EXPECT_GT(second->counters().accepted, 0u);
  // The spread's 24, and the scanner's own probe (its connections are the scanner's business).
  EXPECT_GE(first->counters().accepted + second->counters().accepted, 25u);
}

// Binds [::1]:port for the SSH listener; nullptr when ::1 is missing (no IPv6 on lo) or the port is taken there.
std::unique_ptr<group_listener> ssh_on_v6_loopback(std::uint16_t port, std::string& why) {
  try {
    return std::make_unique<group_listener>(group_listener::speaks::ssh,
                                            net::tcp::endpoint{asio::ip::make_address("::1"), port},
                                            net::listen_options{.reuse_address = true, .reuse_port = false,
                                                                .v6_only = true});
  } catch (const std::exception& e) {
    why = e.what();
    return nullptr;
  }
}

TEST(LocalConflict, RdpOnV4LoopbackAndSshOnV6LoopbackIsWhatEachFamilyMeets) {
  // The sim takes a free port on 127.0.0.1; [::1] may have that port taken by someone else: a few tries, bounded.
  std::unique_ptr<test::sim_thread> sim;
  std::unique_ptr<group_listener> ssh;
  std::string why;
  for (int attempt = 0; attempt < 5 && !ssh; ++attempt) {
    sim = std::make_unique<test::sim_thread>(sim_config());
    ssh = ssh_on_v6_loopback(sim->port(), why);
    if (!ssh && why.find("already in use") == std::string::npos) break;  // not a port clash: ::1 itself is missing
  }
  if (!ssh) GTEST_SKIP() << "cannot listen on [::1] (no IPv6 loopback on this machine?): " << why;
  const auto port = sim->port();
  const std::string v4 = "127.0.0.1:" + std::to_string(port), v6 = "[::1]:" + std::to_string(port);

  auto r = probe::find_listeners(port);
  ASSERT_EQ(r.listeners.size(), 2u);
  probe::probe_local_listeners(r);

  ASSERT_EQ(r.probes.size(), 2u);  // one per family, no spread (one socket each), no dual-stack check (no [::])
  for (const auto& p : r.probes) EXPECT_FALSE(p.spread) << p.address;
  const auto* p4 = probe_at(r, v4);
  const auto* p6 = probe_at(r, v6);
  ASSERT_TRUE(p4 && p6);
  EXPECT_EQ(p4->result, probe::verdict::rdp) << p4->evidence;
  EXPECT_EQ(p6->result, probe::verdict::not_rdp) << p6->evidence;
  EXPECT_GE(ssh->accepted(), 1u);

  const std::string pid = "(pid " + std::to_string(::getpid()) + ")";
  EXPECT_TRUE(contains(r.findings, "IPv4 and IPv6 clients meet different listeners on port " + std::to_string(port) +
                                       ": an IPv4 client meets an RDP server (rdp) ("))
      << joined(r.findings);
  EXPECT_TRUE(contains(r.findings, pid + " on " + v4 + "; probed " + v4 + "), an IPv6 client meets ssh: SSH-2.0-OpenSSH_9.2p1"))
      << joined(r.findings);
  EXPECT_TRUE(contains(r.findings, pid + " on " + v6 + "; probed " + v6 + ")")) << joined(r.findings);
  EXPECT_TRUE(contains(r.findings, "owner is not an RDP server")) << joined(r.findings);
  EXPECT_FALSE(contains(r.findings, "SO_REUSEPORT")) << joined(r.findings);
}

TEST(LocalConflict, AnIpv6OnlyWildcardIsToldFromADualStackOne) {
  // [::] with IPV6_V6ONLY and nothing on IPv4: the check at 127.0.0.1 is refused. Without it, the check is answered.
  for (const bool v6_only : {true, false}) {
    std::unique_ptr<group_listener> http;
    try {
      http = std::make_unique<group_listener>(group_listener::speaks::http,
                                              net::tcp::endpoint{asio::ip::make_address("::"), 0},
                                              net::listen_options{.reuse_address = true, .reuse_port = false,
                                                                  .v6_only = v6_only});
    } catch (const std::exception& e) {
      GTEST_SKIP() << "cannot listen on [::]: " << e.what();
    }
    auto r = probe::find_listeners(http->port());
    ASSERT_EQ(r.listeners.size(), 1u);
    probe::probe_local_listeners(r);
    const auto* check = probe_at(r, "127.0.0.1:" + std::to_string(http->port()));
    ASSERT_NE(check, nullptr);
    EXPECT_TRUE(check->dual_stack_check);
    EXPECT_EQ(check->result, v6_only ? probe::verdict::refused : probe::verdict::not_rdp) << check->evidence;
    EXPECT_TRUE(contains(r.notes, v6_only ? "takes IPv6 clients only (IPV6_V6ONLY=1)" : "takes IPv4 clients too"))
        << joined(r.notes);
  }
}

}  // namespace
