// Listener conflicts that only some connections meet (issue 16), scanned with real listeners on loopback: an
// SO_REUSEPORT pair of rdpsim and an HTTP server, a pair of two rdpsims, an IPv4 RDP listener beside an IPv6 SSH
// listener on one port, and names (through probe_options::resolve) whose addresses meet different listeners. Each
// test asserts the verdict and the counts of what the connections met; a scan that stops at the first answer fails
// them. Addresses 127.0.0.41-49 are these tests' own, so ctest -j runs them beside the others.
//
// How deterministic: the kernel hands each connection to a member of an SO_REUSEPORT group by a hash of its 4-tuple,
// so by our (kernel-chosen) source port, with even odds per connection for a pair. These tests make 32 connections
// where one side could hide behind the other: a pair is then missed with probability 2^-31 per test, about once in
// two thousand million runs. One test fixes the order instead (HTTP alone for the first connection, rdpsim joining
// before it is answered), so that a scan skipping after the first answer fails it every run. Bounded: every
// connection has the probe's deadlines, and the listeners answer at once.
#include "rdp/net/listen.hpp"
#include "rdp/net/send.hpp"
#include "rdp/net/deadline.hpp"
#include "rdp/probe/report.hpp"
#include "rdp/probe/scanner.hpp"

#include "run_command.hpp"
#include "sim_thread.hpp"
#include "foreign_listener.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <optional>
#include <set>
#include <atomic>
#include <sstream>
#include <string>
#include <thread>

#include <unistd.h>

namespace {

using namespace rdp;
namespace asio = net::asio;
using protocol::listener_kind;

using other_listener = test::foreign_listener;
using other_kind = test::foreign_listener::speaks;

asio::ip::tcp::endpoint at(const std::string& address, std::uint16_t port) {
  return {asio::ip::make_address(address), port};
}

sim::server_config sim_on(const std::string& address, std::uint16_t port, bool reuse_port) {
  sim::server_config c;
  c.listen = {address, port};
  c.reuse_port = reuse_port;
  c.policy = sim::parse_policy("rdp,tls");
  c.identity = net::make_self_signed(net::key_kind::rsa, "rdpsim-conflict-test");
  return c;
}

// 32 connections when the first answer is RDP (6 protocols, 0x0B and 25 more 0x03 as FreeRDP sends), and 32 more after
// a first answer that is not RDP. No side exchanges (Standard RDP Security, NTLM info): every connection the listeners
// see is one the spread counts.
probe::probe_options spread_options() {
  probe::probe_options o;
  o.combinations.assign(26, 0x03);
  o.combinations.push_back(0x0B);
  o.conflict_probes = 32;
  o.standard_security = false;
  o.ntlm_info = false;
  o.connect_timeout = o.read_timeout = net::milliseconds(2000);
  return o;
}
constexpr std::size_t main_connections = 6 + 27;

probe::target_report scan(const std::string& text, const net::host_port& where, const probe::probe_options& options) {
  return probe::probe_all({{text, where}}, options, 1).at(0);
}

std::size_t sum(const probe::tally& t) {
  std::size_t n = 0;
  for (const auto& e : t.entries) n += e.connections;
  return n;
}

bool has_ipv6_loopback() {
  try {
    asio::io_context io;
    auto a = net::open_listener(io.get_executor(), at("::1", 0), "the ::1 check");
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

TEST(ScanConflict, ReusePortPairOfRdpAndHttpIsAListenerConflict) {
  test::sim_thread sim(sim_on("127.0.0.41", 0, true), true);
  other_listener http(other_kind::http, at("127.0.0.41", sim.port()), true);
  const auto r = scan("127.0.0.41:" + std::to_string(sim.port()), {"127.0.0.41", sim.port()}, spread_options());

  EXPECT_EQ(r.result, probe::verdict::listener_conflict) << r.evidence;
  const auto rdp = r.spread.connections_of(listener_kind::rdp), other = r.spread.connections_of(listener_kind::http);
  EXPECT_GT(rdp, 0u) << probe::describe(r.spread);
  EXPECT_GT(other, 0u) << probe::describe(r.spread);
  EXPECT_EQ(rdp + other, r.spread.connections()) << probe::describe(r.spread);
  // Every connection counted: the 33 attempts, and the 32 extra ones when the first met HTTP (after which one of them
  // met RDP, so the other attempts ran after all).
  const bool first_met_http = r.protocols.at(0).outcome == probe::attempt_outcome::not_rdp;
  EXPECT_EQ(r.spread.connections(), main_connections + (first_met_http ? 32u : 0u)) << probe::describe(r.spread);
  // The HTTP server saw exactly the connections the spread says met it.
  EXPECT_EQ(http.accepted(), other);
  EXPECT_TRUE(probe::disagree(r.spread));
  EXPECT_NE(r.evidence.find("met http (HTTP/1.1 400 Bad Request; Server: nginx)"), std::string::npos) << r.evidence;
  EXPECT_NE(r.evidence.find(" met rdp ("), std::string::npos) << r.evidence;
  // No other attempt was skipped: a scan that stops at the first answer would have.
  for (const auto& a : r.protocols) EXPECT_NE(a.outcome, probe::attempt_outcome::skipped) << a.detail;

  const auto j = probe::to_json(r);
  EXPECT_EQ(j["verdict"], "listener-conflict");
  EXPECT_EQ(j["listener_spread"]["disagree"], true);
  EXPECT_EQ(j["listener_spread"]["connections"], r.spread.connections());
}

// The same pair with its order fixed: the HTTP server holds the port alone until its first connection, and rdpsim
// joins the group before that connection is answered. So the first attempt meets HTTP every run, and only the
// connections made after a non-RDP answer (--conflict-probes) can meet rdpsim: a scan that skips the rest after the
// first answer says not-rdp here, every time.
TEST(ScanConflict, HttpMetFirstIsAListenerConflictOnceTheConflictProbesMeetRdp) {
  std::optional<test::sim_thread> sim;
  std::atomic<std::uint16_t> port = 0;
  other_listener http(other_kind::http, at("127.0.0.49", 0), true,
                      [&] { sim.emplace(sim_on("127.0.0.49", port.load(), true), true); });
  port = http.port();
  const auto r = scan("127.0.0.49:" + std::to_string(port), {"127.0.0.49", port}, spread_options());

  ASSERT_TRUE(sim.has_value()) << "the HTTP listener was never reached: " << r.evidence;
  EXPECT_EQ(r.protocols.at(0).outcome, probe::attempt_outcome::not_rdp) << r.protocols.at(0).detail;
  EXPECT_EQ(r.result, probe::verdict::listener_conflict) << r.evidence;
  const auto rdp = r.spread.connections_of(listener_kind::rdp), other = r.spread.connections_of(listener_kind::http);
  EXPECT_GT(rdp, 0u) << probe::describe(r.spread);
  EXPECT_GT(other, 0u) << probe::describe(r.spread);
  // The 33 attempts and the 32 connections after the first answer; the HTTP server and rdpsim saw them all.
  EXPECT_EQ(r.spread.connections(), main_connections + 32u) << probe::describe(r.spread);
  EXPECT_EQ(rdp + other, r.spread.connections()) << probe::describe(r.spread);
  EXPECT_EQ(http.accepted(), other);
  EXPECT_EQ(sim->counters().accepted, rdp);
  for (const auto& a : r.protocols) EXPECT_NE(a.outcome, probe::attempt_outcome::skipped) << a.detail;
}

TEST(ScanConflict, ReusePortPairOfTwoRdpsimsIsNoConflict) {
  test::sim_thread first(sim_on("127.0.0.42", 0, true), true);
  test::sim_thread second(sim_on("127.0.0.42", first.port(), true), true);
  const auto r = scan("127.0.0.42:" + std::to_string(first.port()), {"127.0.0.42", first.port()}, spread_options());

  EXPECT_EQ(r.result, probe::verdict::rdp) << r.evidence;
  EXPECT_FALSE(probe::disagree(r.spread)) << probe::describe(r.spread);
  EXPECT_EQ(r.spread.connections(), main_connections);
  EXPECT_EQ(r.spread.connections_of(listener_kind::rdp), main_connections) << probe::describe(r.spread);
  // Both members were met (so "no conflict" is not one of them hiding): each accepted some of the connections.
  const auto a = first.counters().accepted, b = second.counters().accepted;
  EXPECT_GT(a, 0u);
  EXPECT_GT(b, 0u);
  EXPECT_EQ(a + b, main_connections);
}

// RDP on 127.0.0.43:P and an SSH server on [::1]:P; "split.test" resolves to both.
class ScanConflictSplit : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!has_ipv6_loopback()) GTEST_SKIP() << "this machine has no ::1 to listen on";
    // The port the sim picked on 127.0.0.43 may be taken on ::1: a few tries, each a new port.
    for (int tries = 0; tries < 8 && !ssh_; ++tries) {
      sim_.emplace(sim_on("127.0.0.43", 0, false), true);
      try {
        ssh_.emplace(other_kind::ssh, at("::1", sim_->port()), false);
      } catch (const std::exception&) {
        sim_.reset();
      }
    }
    ASSERT_TRUE(ssh_) << "no port free on both 127.0.0.43 and ::1";
  }
  probe::probe_options options(std::vector<std::string> addresses) const {
    auto o = spread_options();
    o.resolve = [addresses](const std::string& host) {
      std::vector<asio::ip::address> out;
      if (host == "split.test")
        for (const auto& a : addresses) out.push_back(asio::ip::make_address(a));
      return out;
    };
    return o;
  }
  std::uint16_t port() const { return sim_->port(); }
  std::optional<test::sim_thread> sim_;
  std::optional<other_listener> ssh_;
};

TEST_F(ScanConflictSplit, AddressesMeetingRdpAndSshAreAListenerConflict) {
  const auto v4 = "127.0.0.43:" + std::to_string(port()), v6 = "[::1]:" + std::to_string(port());
  const auto r = scan("split.test", {"split.test", port()}, options({"127.0.0.43", "::1"}));
  EXPECT_EQ(r.result, probe::verdict::listener_conflict) << r.evidence;
  EXPECT_EQ(r.resolved, (std::vector<std::string>{"127.0.0.43", "::1"}));
  // The 33 attempts on the first address, and one on the other.
  EXPECT_EQ(r.spread.connections(), main_connections + 1);
  EXPECT_EQ(r.spread.connections_of(listener_kind::rdp), main_connections);
  EXPECT_EQ(r.spread.connections_of(listener_kind::ssh), 1u);
  EXPECT_EQ(ssh_->accepted(), 1u);
  // Which address met what.
  for (const auto& e : r.spread.entries)
    EXPECT_EQ(e.addresses, std::vector<std::string>{e.kind == listener_kind::rdp ? v4 : v6}) << probe::describe(r.spread);
  EXPECT_NE(r.evidence.find("met ssh (SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3) at " + v6), std::string::npos)
      << r.evidence;
  EXPECT_NE(r.evidence.find("at " + v4), std::string::npos) << r.evidence;
}

TEST_F(ScanConflictSplit, SshFirstIsStillAConflictOnceTheOtherAddressIsMet) {
  // The AAAA first, as a resolver preferring IPv6 orders them: the first answer is SSH, the 32 extra connections meet
  // SSH too (nothing shares [::1]:P), the other attempts are skipped, and the IPv4 address then meets RDP.
  const auto r = scan("split.test", {"split.test", port()}, options({"::1", "127.0.0.43"}));
  EXPECT_EQ(r.result, probe::verdict::listener_conflict) << r.evidence;
  EXPECT_EQ(r.spread.connections_of(listener_kind::ssh), 33u) << probe::describe(r.spread);
  EXPECT_EQ(r.spread.connections_of(listener_kind::rdp), 1u) << probe::describe(r.spread);
  EXPECT_EQ(ssh_->accepted(), 33u);
}

TEST_F(ScanConflictSplit, FirstAddressKeepsTheSingleAddressVerdict) {
  auto o = options({"127.0.0.43", "::1"});
  o.first_address = true;
  const auto rdp_first = scan("split.test", {"split.test", port()}, o);
  EXPECT_EQ(rdp_first.result, probe::verdict::rdp) << rdp_first.evidence;
  EXPECT_EQ(rdp_first.spread.connections(), main_connections);
  EXPECT_EQ(ssh_->accepted(), 0u);

  auto o6 = options({"::1", "127.0.0.43"});
  o6.first_address = true;
  o6.conflict_probes = 0;
  const auto ssh_first = scan("split.test", {"split.test", port()}, o6);
  EXPECT_EQ(ssh_first.result, probe::verdict::not_rdp) << ssh_first.evidence;
  EXPECT_EQ(ssh_first.spread.connections(), 1u);
  EXPECT_EQ(ssh_->accepted(), 1u);
}

TEST(ScanConflict, NameWithTwoAddressesMeetingDifferentListeners) {
  test::sim_thread sim(sim_on("127.0.0.44", 0, false), true);
  other_listener http(other_kind::http, at("127.0.0.45", sim.port()), false);
  auto o = spread_options();
  o.resolve = [](const std::string&) {
    return std::vector<asio::ip::address>{asio::ip::make_address("127.0.0.44"), asio::ip::make_address("127.0.0.45"),
                                          asio::ip::make_address("127.0.0.44")};  // a repeated address counts once
  };
  const auto r = scan("two.test", {"two.test", sim.port()}, o);
  EXPECT_EQ(r.result, probe::verdict::listener_conflict) << r.evidence;
  EXPECT_EQ(r.resolved, (std::vector<std::string>{"127.0.0.44", "127.0.0.45"}));
  EXPECT_EQ(r.spread.connections(), main_connections + 1);
  EXPECT_EQ(r.spread.connections_of(listener_kind::http), 1u);
  EXPECT_EQ(http.accepted(), 1u);
  EXPECT_EQ(r.spread.addresses(), (std::vector<std::string>{"127.0.0.44:" + std::to_string(sim.port()),
                                                             "127.0.0.45:" + std::to_string(sim.port())}));
}

TEST(ScanConflict, NameWithTwoAddressesBothRdpsimIsNoConflict) {
  test::sim_thread a(sim_on("127.0.0.46", 0, false), true);
  // The second sim on the same port of another address (free there unless another program took it: then skip).
  std::optional<test::sim_thread> b;
  try {
    b.emplace(sim_on("127.0.0.47", a.port(), false), true);
  } catch (const std::exception& e) {
    GTEST_SKIP() << "127.0.0.47:" << a.port() << " is taken: " << e.what();
  }
  auto o = spread_options();
  o.resolve = [](const std::string&) {
    return std::vector<asio::ip::address>{asio::ip::make_address("127.0.0.46"), asio::ip::make_address("127.0.0.47")};
  };
  const auto r = scan("both.test", {"both.test", a.port()}, o);
  EXPECT_EQ(r.result, probe::verdict::rdp) << r.evidence;
  EXPECT_FALSE(probe::disagree(r.spread));
  EXPECT_EQ(r.spread.connections(), main_connections + 1);
  EXPECT_EQ(r.spread.connections_of(listener_kind::rdp), main_connections + 1);
  EXPECT_EQ(b->counters().accepted, 1u);
  EXPECT_EQ(r.spread.addresses().size(), 2u);
  EXPECT_EQ(sum(r.spread), r.spread.connections());
}

TEST(ScanConflict, MinConnectionsTopsUpTheAttemptsWithTheFirstRequest) {
  other_listener http(other_kind::http, at("127.0.0.48", 0), false);
  auto o = spread_options();
  o.conflict_probes = 3;
  o.min_connections = 10;  // 1 attempt + 3 after the non-RDP answer, then 6 more
  const auto r = scan("127.0.0.48:" + std::to_string(http.port()), {"127.0.0.48", http.port()}, o);
  EXPECT_EQ(r.result, probe::verdict::not_rdp) << r.evidence;
  EXPECT_EQ(r.spread.connections(), 10u);
  EXPECT_EQ(r.spread.connections_of(listener_kind::http), 10u);
  EXPECT_EQ(http.accepted(), 10u);
}

TEST(ScanConflict, NameThatResolvesToNothingThroughTheHookIsDnsFailed) {
  auto o = spread_options();
  o.resolve = [](const std::string&) { return std::vector<asio::ip::address>{}; };
  const auto r = scan("nowhere.test", {"nowhere.test", 3389}, o);
  EXPECT_EQ(r.result, probe::verdict::dns_failed);
  EXPECT_EQ(r.spread.connections(), 0u);
}

// The command: --conflict-probes N makes N more connections after a non-RDP first answer (0: none, the old way), and
// the JSON carries the spread.
// rdpprobe's standard output alone (run_command merges stderr into it otherwise).
test::command_result rdpprobe(const std::string& arguments) {
  return test::run_command("{ " + std::string(RDPPROBE_BIN) + " " + arguments + " 2>/dev/null; }");
}

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

TEST(ScanConflictCli, ConflictProbesZeroIsTheOldNotRdp) {
  other_listener http(other_kind::http, at("127.0.0.48", 0), false);
  const std::string target = "127.0.0.48:" + std::to_string(http.port());
  const auto r = rdpprobe("scan " + target + " --json --conflict-probes 0");
  EXPECT_EQ(r.status, 1) << r.output;
  const auto lines = json_lines(r.output);
  ASSERT_EQ(lines.size(), 1u) << r.output;
  const auto& j = lines[0];
  EXPECT_EQ(j["verdict"], "not-rdp");
  EXPECT_EQ(j["listener_spread"]["connections"], 1);
  EXPECT_EQ(j["listener_spread"]["disagree"], false);
  ASSERT_EQ(j["listener_spread"]["met"].size(), 1u);
  EXPECT_EQ(j["listener_spread"]["met"][0]["kind"], "http");
  EXPECT_EQ(j["listener_spread"]["met"][0]["fingerprint"], "HTTP/1.1 400 Bad Request; Server: nginx");
  EXPECT_TRUE(j["listener_spread"]["met"][0]["requested"].is_null());
  EXPECT_EQ(j["listener_spread"]["met"][0]["addresses"], nlohmann::json::array({target}));
  EXPECT_EQ(j["resolved"], nlohmann::json::array());
  EXPECT_EQ(http.accepted(), 1u);

  // The same listener with 5 extra connections: still not-rdp (nothing else shares the port), six connections.
  const auto five = rdpprobe("scan " + target + " --json --conflict-probes 5");
  EXPECT_EQ(five.status, 1) << five.output;
  const auto more = json_lines(five.output);
  ASSERT_EQ(more.size(), 1u) << five.output;
  EXPECT_EQ(more[0]["verdict"], "not-rdp");
  EXPECT_EQ(more[0]["listener_spread"]["connections"], 6);
  EXPECT_EQ(more[0]["listener_spread"]["met"][0]["connections"], 6);
  EXPECT_EQ(http.accepted(), 7u);
}

TEST(ScanConflictCli, ListenerConflictIsAFindingInTextAndJson) {
  test::sim_thread sim(sim_on("127.0.0.49", 0, true), true);
  other_listener http(other_kind::http, at("127.0.0.49", sim.port()), true);
  const std::string target = "127.0.0.49:" + std::to_string(sim.port());
  // --combinations with 26 more requests, and --conflict-probes 32: as spread_options, so both members are met.
  std::string combinations = "0x0B";
  for (int i = 0; i < 26; ++i) combinations += ",0x03";
  const auto r = rdpprobe("scan " + target + " --conflict-probes 32 --combinations " + combinations +
                          " --no-rdp-security --no-ntlm-info");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find(": listener-conflict — the connections met different listeners ("), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("connections, DISAGREEING"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(" http: HTTP/1.1 400 Bad Request; Server: nginx at " + target), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(" rdp (asked 0x00): selected rdp at " + target), std::string::npos) << r.output;
}

// The real resolver, not the hook: a hosts file the test writes, bind-mounted over /etc/hosts in a mount namespace of
// rdpprobe's own (root only), gives split.test an A and an AAAA record; getaddrinfo returns both, and the scan meets
// RDP at one and SSH at the other whatever order the resolver sorts them in.
TEST_F(ScanConflictSplit, AHostsEntryWithBothFamiliesIsProbedThroughGetaddrinfo) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to bind-mount a test hosts file over /etc/hosts (unshare --mount)";
  if (!test::have_program("unshare")) GTEST_SKIP() << "needs util-linux's unshare";
  const auto hosts = ::testing::TempDir() + "scan_conflict_hosts";
  {
    std::ofstream out(hosts);
    out << "127.0.0.43 split.test\n::1 split.test\n";
  }
  const auto r = test::run_command("unshare --mount --propagation private sh -c 'mount --bind " + hosts +
                                   " /etc/hosts && exec " + std::string(RDPPROBE_BIN) + " scan split.test:" +
                                   std::to_string(port()) + " --json 2>/dev/null'");
  EXPECT_EQ(r.status, 1) << r.output;
  const auto lines = json_lines(r.output);
  ASSERT_EQ(lines.size(), 1u) << r.output;
  const auto& j = lines[0];
  EXPECT_EQ(j["verdict"], "listener-conflict") << j.dump();
  auto resolved = j["resolved"].get<std::vector<std::string>>();
  std::sort(resolved.begin(), resolved.end());
  EXPECT_EQ(resolved, (std::vector<std::string>{"127.0.0.43", "::1"})) << j.dump();
  std::set<std::string> kinds;
  for (const auto& met : j["listener_spread"]["met"]) kinds.insert(met["kind"].get<std::string>());
  EXPECT_EQ(kinds, (std::set<std::string>{"rdp", "ssh"})) << j.dump();
  EXPECT_GE(ssh_->accepted(), 1u);
  std::remove(hosts.c_str());
}

}  // namespace

