// `rdpprobe local`'s report without I/O (local_report.hpp): the findings — owner groups, listeners that are not RDP
// servers, owners that cannot be seen — on hand-built reports, then the JSON and the table they are rendered as.
#include "rdp/probe/local_report.hpp"
#include "finding_lines.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace rdp;
using probe::local_listener;
using probe::local_report;

using test::contains;
using test::joined;

// --- the findings logic, on hand-built reports ---

local_listener socket_on(std::string address, bool ipv6, std::vector<int> pids, std::uint32_t uid = 0) {
  local_listener l;
  l.socket = {std::move(address), ipv6, 3389, probe::tcp_state_listen, uid, 0};
  l.user = uid == 0 ? "root" : std::to_string(uid);
  for (const int pid : pids) l.owners.push_back({pid, "prog" + std::to_string(pid), ""});
  l.probed = ipv6 ? "[::1]:3389" : "127.0.0.1:3389";
  l.result = probe::verdict::rdp;
  l.evidence = "RDP server; supports rdp, tls";
  return l;
}

local_report evaluated(std::vector<local_listener> listeners) {
  local_report r;
  r.port = 3389;
  r.probed = true;
  r.listeners = std::move(listeners);
  probe::evaluate_local_report(r);
  return r;
}

TEST(LocalListenersFindings, OneProgramOnV4AndV6IsOneOwner) {
  const auto r = evaluated({socket_on("0.0.0.0", false, {10}), socket_on("::", true, {10})});
  EXPECT_TRUE(r.findings.empty()) << joined(r.findings);
}

TEST(LocalListenersFindings, SocketSharedAcrossForkIsOneOwner) {
  // A pre-forking server (or systemd socket activation): several pids, one socket, one accept queue.
  const auto r = evaluated({socket_on("0.0.0.0", false, {10, 11, 12}), socket_on("::", true, {10, 12})});
  EXPECT_TRUE(r.findings.empty()) << joined(r.findings);
}

TEST(LocalListenersFindings, V4AndV6SplitBetweenTwoPrograms) {
  const auto r = evaluated({socket_on("0.0.0.0", false, {10}), socket_on("::", true, {20})});
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_NE(r.findings[0].find("multiple owners"), std::string::npos);
  EXPECT_NE(r.findings[0].find("depends on the address"), std::string::npos);
  EXPECT_NE(r.findings[0].find("prog10 (pid 10) on 0.0.0.0:3389"), std::string::npos) << r.findings[0];
  EXPECT_NE(r.findings[0].find("prog20 (pid 20) on [::]:3389"), std::string::npos) << r.findings[0];
}

TEST(LocalListenersFindings, SameAddressTwiceIsReuseport) {
  const auto r = evaluated({socket_on("0.0.0.0", false, {10}), socket_on("0.0.0.0", false, {20})});
  EXPECT_TRUE(contains(r.findings, "SO_REUSEPORT")) << joined(r.findings);
}

TEST(LocalListenersFindings, UnknownOwnersOfDifferentUsersAreMultiple) {
  const auto r = evaluated({socket_on("0.0.0.0", false, {}, 0), socket_on("::", true, {}, 1000)});
  EXPECT_TRUE(contains(r.findings, "multiple owners")) << joined(r.findings);
  EXPECT_TRUE(contains(r.findings, "owner unknown")) << joined(r.findings);
}

TEST(LocalListenersFindings, UnknownOwnerIsAFindingNotAConflict) {
  const auto r = evaluated({socket_on("0.0.0.0", false, {}, 0)});
  ASSERT_EQ(r.findings.size(), 1u) << joined(r.findings);
  EXPECT_NE(r.findings[0].find("owner unknown"), std::string::npos);
  EXPECT_NE(r.findings[0].find("run as root"), std::string::npos);
}

TEST(LocalListenersFindings, RdpStackRefusingOurProtocolsIsStillRdp) {
  auto l = socket_on("0.0.0.0", false, {10});
  l.result = probe::verdict::negotiation_failed;  // e.g. CredSSP only; we ask for rdp and tls
  EXPECT_TRUE(evaluated({l}).findings.empty());
}

TEST(LocalListenersFindings, NotRdpIsNamedOncePerProbedAddress) {
  auto a = socket_on("0.0.0.0", false, {10});
  a.result = probe::verdict::not_rdp;
  a.listener = protocol::classification{protocol::listener_kind::ssh, "SSH-2.0-OpenSSH_9.2p1"};
  auto b = a;
  b.socket.address = "127.0.0.1";  // both probed at 127.0.0.1
  const auto r = evaluated({a, b});
  ASSERT_EQ(r.findings.size(), 1u) << joined(r.findings);
  EXPECT_NE(r.findings[0].find("owner is not an RDP server: prog10 (pid 10) on 0.0.0.0:3389 answers ssh: SSH-2.0"),
            std::string::npos)
      << r.findings[0];
}

TEST(LocalListenersFindings, NothingListening) {
  const auto r = evaluated({});
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0], "nothing listens on port 3389");
}

TEST(LocalListenersFindings, NotRdpWithoutAClassificationQuotesTheVerdictAndWhereItWasProbed) {
  auto l = socket_on("0.0.0.0", false, {10});
  l.result = probe::verdict::timeout;
  l.evidence = "rdp attempt: no answer within 1500 ms";
  const auto r = evaluated({l});
  ASSERT_EQ(r.findings.size(), 1u) << joined(r.findings);
  // A wildcard socket is probed via loopback; the finding says so.
  EXPECT_EQ(r.findings[0], "owner is not an RDP server: prog10 (pid 10) on 0.0.0.0:3389 answers timeout: rdp attempt: "
                           "no answer within 1500 ms (probed 127.0.0.1:3389)");
}

TEST(LocalListenersFindings, ALinkLocalSocketNotProbedIsAFindingOnlyAfterProbing) {
  auto l = socket_on("fe80::1", true, {10});
  l.probed.clear();
  l.result.reset();
  l.evidence.clear();
  auto r = evaluated({l});
  ASSERT_EQ(r.findings.size(), 1u) << joined(r.findings);
  EXPECT_EQ(r.findings[0], "not probed: [fe80::1]:3389 is link-local and /proc/net/tcp6 does not say on which interface");
  r.probed = false;  // the collector alone (no verdict step): nothing was meant to be probed
  probe::evaluate_local_report(r);
  EXPECT_TRUE(r.findings.empty()) << joined(r.findings);
}

TEST(LocalListenersFindings, UninspectedProcessesAreANoteNotAFinding) {
  local_report r;
  r.port = 3389;
  r.probed = true;
  r.listeners = {socket_on("0.0.0.0", false, {10})};
  r.uninspected = 3;
  probe::evaluate_local_report(r);
  EXPECT_TRUE(r.findings.empty()) << joined(r.findings);
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_EQ(r.notes[0].rfind("3 processes could not be inspected", 0), 0u) << r.notes[0];
}

TEST(LocalListenersFindings, EvaluatingAgainReplacesTheFindings) {
  auto r = evaluated({socket_on("0.0.0.0", false, {10}), socket_on("::", true, {20})});
  ASSERT_EQ(r.findings.size(), 1u);
  r.listeners.pop_back();
  probe::evaluate_local_report(r);
  EXPECT_TRUE(r.findings.empty()) << joined(r.findings);
}

TEST(LocalListenersFindings, AnRdpServerIsOneThatAnsweredRdpWhateverItThenRefused) {
  for (const auto v : {probe::verdict::rdp, probe::verdict::negotiation_failed, probe::verdict::tls_failed})
    EXPECT_TRUE(probe::is_rdp_server(v)) << to_string(v);
  for (const auto v : {probe::verdict::not_rdp, probe::verdict::refused, probe::verdict::timeout, probe::verdict::reset,
                       probe::verdict::closed, probe::verdict::session_error, probe::verdict::dns_failed,
                       probe::verdict::login_failed, probe::verdict::reconnect_failed, probe::verdict::internal_error})
    EXPECT_FALSE(probe::is_rdp_server(v)) << to_string(v);
}

// --- SO_REUSEPORT groups, their spread, and split families (issue 16) ---

// `n` connections that met `kind` with `fingerprint`, at 127.0.0.1:3389, requestedProtocols 0x01 as the spread asks.
void add(probe::tally& t, protocol::listener_kind kind, std::string fingerprint, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    t.add(probe::connection_met{.kind = kind,
                                .requested_bits = 0x01,
                                .fingerprint = fingerprint,
                                .evidence = "evidence of " + fingerprint,
                                .address = "127.0.0.1:3389"});
}

probe::local_probe probe_at(std::string address, bool ipv6, std::vector<std::size_t> sockets,
                            probe::verdict v = probe::verdict::rdp) {
  probe::local_probe p;
  p.address = std::move(address);
  p.ipv6 = ipv6;
  p.sockets = std::move(sockets);
  p.result = v;
  p.evidence = "evidence";
  return p;
}

local_report evaluated(std::vector<local_listener> listeners, std::vector<probe::local_probe> probes) {
  local_report r;
  r.port = 3389;
  r.probed = true;
  r.listeners = std::move(listeners);
  r.probes = std::move(probes);
  probe::evaluate_local_report(r);
  return r;
}

TEST(LocalListenersGroups, TwoSocketsOfOneProcessOnOneAddressAreAGroup) {
  // One program with two SO_REUSEPORT sockets (a stale thread pool, or rdpsim and a test's HTTP listener): one owner,
  // but two accept queues that the kernel splits connections between.
  const auto r = evaluated({socket_on("127.0.0.1", false, {10}), socket_on("127.0.0.1", false, {10})});
  ASSERT_EQ(r.findings.size(), 1u) << joined(r.findings);
  EXPECT_EQ(r.findings[0], "2 sockets share 127.0.0.1:3389 (SO_REUSEPORT group): prog10 (pid 10); the kernel splits "
                           "connections between them");
}

TEST(LocalListenersGroups, AGroupOfTwoProcessesIsNamedOnceNotAlsoAsMultipleOwners) {
  const auto r = evaluated({socket_on("0.0.0.0", false, {10}), socket_on("0.0.0.0", false, {20}),
                            socket_on("0.0.0.0", false, {30})});
  ASSERT_EQ(r.findings.size(), 1u) << joined(r.findings);
  EXPECT_EQ(r.findings[0], "3 sockets share 0.0.0.0:3389 (SO_REUSEPORT group): prog10 (pid 10), prog20 (pid 20), "
                           "prog30 (pid 30); the kernel splits connections between them");
}

TEST(LocalListenersGroups, OneSocketInheritedBySeveralProcessesIsNoGroup) {
  const auto r = evaluated({socket_on("127.0.0.1", false, {10, 11, 12})});
  EXPECT_TRUE(r.findings.empty()) << joined(r.findings);
}

TEST(LocalListenersGroups, AGroupBesideAnotherProgramOnAnotherAddressIsBoth) {
  const auto r = evaluated(
      {socket_on("127.0.0.1", false, {10}), socket_on("127.0.0.1", false, {20}), socket_on("10.0.0.5", false, {30})});
  ASSERT_EQ(r.findings.size(), 2u) << joined(r.findings);
  EXPECT_TRUE(contains(r.findings, "2 sockets share 127.0.0.1:3389")) << joined(r.findings);
  EXPECT_TRUE(contains(r.findings, "multiple owners of port 3389 (which one a client reaches depends on the address it "
                                   "connects to): prog10 (pid 10), prog20 (pid 20) on 127.0.0.1:3389; prog30 (pid 30) "
                                   "on 10.0.0.5:3389"))
      << joined(r.findings);
}

TEST(LocalListenersGroups, ASpreadWithAnHttpShareNamesTheShare) {
  auto rdp = socket_on("127.0.0.1", false, {10});
  auto http = socket_on("127.0.0.1", false, {20});
  auto p = probe_at("127.0.0.1:3389", false, {0, 1});
  probe::tally t;
  add(t, protocol::listener_kind::rdp, "selected SSL", 9);
  add(t, protocol::listener_kind::http, "HTTP/1.1 400 Bad Request", 7);
  p.spread = t;
  const auto r = evaluated({rdp, http}, {p});
  ASSERT_EQ(r.findings.size(), 2u) << joined(r.findings);
  EXPECT_TRUE(contains(r.findings, "2 sockets share 127.0.0.1:3389")) << joined(r.findings);
  EXPECT_EQ(r.findings[1], "the SO_REUSEPORT group on 127.0.0.1:3389 answers differently: 7 of 16 connections met http "
                           "(HTTP/1.1 400 Bad Request); the other 9 met rdp");
  // The rows show the spread's shares, not the one probe's verdict.
  const auto text = [&] {
    std::ostringstream out;
    probe::print_human(out, r);
    return out.str();
  }();
  EXPECT_NE(text.find("rdp 9/16, http 7/16"), std::string::npos) << text;
  EXPECT_NE(text.find("  spread: 16 connections: 9 met rdp"), std::string::npos) << text;
  EXPECT_EQ(text.find("OK:"), std::string::npos) << text;
}

TEST(LocalListenersGroups, ASpreadThatMetOnlyOneKindOfRdpServerAddsNothing) {
  auto p = probe_at("127.0.0.1:3389", false, {0, 1});
  probe::tally t;
  add(t, protocol::listener_kind::rdp, "selected SSL", 16);
  p.spread = t;
  const auto r = evaluated({socket_on("127.0.0.1", false, {10}), socket_on("127.0.0.1", false, {20})}, {p});
  ASSERT_EQ(r.findings.size(), 1u) << joined(r.findings);  // the group alone: still a stale second instance
  EXPECT_TRUE(contains(r.findings, "SO_REUSEPORT group")) << joined(r.findings);
}

TEST(LocalListenersGroups, ASpreadOfContradictingRdpAnswersIsAFinding) {
  auto p = probe_at("127.0.0.1:3389", false, {0, 1});
  probe::tally t;
  add(t, protocol::listener_kind::rdp, "selected SSL", 10);
  add(t, protocol::listener_kind::rdp, "failure SSL_NOT_ALLOWED_BY_SERVER (0x02)", 6);
  p.spread = t;
  const auto r = evaluated({socket_on("127.0.0.1", false, {10}), socket_on("127.0.0.1", false, {20})}, {p});
  ASSERT_EQ(r.findings.size(), 2u) << joined(r.findings);
  EXPECT_NE(r.findings[1].find("answers differently: the RDP answers contradict each other"), std::string::npos)
      << r.findings[1];
}

TEST(LocalListenersGroups, ASpreadReplacesTheOneProbesNotRdpFinding) {
  auto a = socket_on("127.0.0.1", false, {10});
  a.result = probe::verdict::not_rdp;  // the single probe happened to meet the HTTP member
  a.listener = protocol::classification{protocol::listener_kind::http, "HTTP/1.1 400 Bad Request"};
  auto b = a;
  b.owners = {{20, "prog20", ""}};
  auto p = probe_at("127.0.0.1:3389", false, {0, 1}, probe::verdict::not_rdp);
  probe::tally t;
  add(t, protocol::listener_kind::http, "HTTP/1.1 400 Bad Request", 8);
  add(t, protocol::listener_kind::rdp, "selected SSL", 8);
  p.spread = t;
  const auto r = evaluated({a, b}, {p});
  EXPECT_FALSE(contains(r.findings, "owner is not an RDP server")) << joined(r.findings);
  EXPECT_TRUE(contains(r.findings, "8 of 16 connections met http")) << joined(r.findings);
}

TEST(LocalListenersFamilies, V4WildcardBesideV6LoopbackIsWhatEachFamilyMeets) {
  auto rdp = socket_on("0.0.0.0", false, {10});
  auto ssh = socket_on("::1", true, {20});
  ssh.result = probe::verdict::not_rdp;
  ssh.listener = protocol::classification{protocol::listener_kind::ssh, "SSH-2.0-OpenSSH_9.2p1"};
  auto p6 = probe_at("[::1]:3389", true, {1}, probe::verdict::not_rdp);
  p6.listener = ssh.listener;
  const auto r = evaluated({rdp, ssh}, {probe_at("127.0.0.1:3389", false, {0}), p6});
  ASSERT_EQ(r.findings.size(), 2u) << joined(r.findings);
  EXPECT_EQ(r.findings[0], "IPv4 and IPv6 clients meet different listeners on port 3389: an IPv4 client meets an RDP "
                           "server (rdp) (prog10 (pid 10) on 0.0.0.0:3389; probed 127.0.0.1:3389), an IPv6 client "
                           "meets ssh: SSH-2.0-OpenSSH_9.2p1 (prog20 (pid 20) on [::1]:3389; probed [::1]:3389)");
  // Not repeated as "multiple owners": the family finding names both.
  EXPECT_FALSE(contains(r.findings, "multiple owners")) << joined(r.findings);
  EXPECT_TRUE(contains(r.findings, "owner is not an RDP server: prog20 (pid 20) on [::1]:3389 answers ssh"))
      << joined(r.findings);
}

TEST(LocalListenersFamilies, OneProgramInBothFamiliesIsNoSplit) {
  const auto r = evaluated({socket_on("0.0.0.0", false, {10}), socket_on("::", true, {10})},
                           {probe_at("127.0.0.1:3389", false, {0}), probe_at("[::1]:3389", true, {1})});
  EXPECT_TRUE(r.findings.empty()) << joined(r.findings);
}

TEST(LocalListenersFamilies, TwoRdpProgramsSplitByFamilyAreStillASplit) {
  const auto r = evaluated({socket_on("127.0.0.1", false, {10}), socket_on("::", true, {20})},
                           {probe_at("127.0.0.1:3389", false, {0}), probe_at("[::1]:3389", true, {1})});
  ASSERT_EQ(r.findings.size(), 1u) << joined(r.findings);
  EXPECT_NE(r.findings[0].find("an IPv4 client meets an RDP server (rdp) (prog10 (pid 10) on 127.0.0.1:3389"),
            std::string::npos)
      << r.findings[0];
}

TEST(LocalListenersFamilies, TheDualStackCheckIsANote) {
  auto check = probe_at("127.0.0.1:3389", false, {0}, probe::verdict::refused);
  check.dual_stack_check = true;
  auto r = evaluated({socket_on("::", true, {10})}, {probe_at("[::1]:3389", true, {0}), check});
  EXPECT_TRUE(r.findings.empty()) << joined(r.findings);
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_EQ(r.notes[0], "[::]:3389 takes IPv6 clients only (IPV6_V6ONLY=1): a connection to 127.0.0.1:3389 was "
                        "refused, so IPv4 clients reach it nowhere");
  r.probes[1].result = probe::verdict::rdp;
  probe::evaluate_local_report(r);
  EXPECT_TRUE(r.findings.empty()) << joined(r.findings);
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_EQ(r.notes[0].rfind("[::]:3389 takes IPv4 clients too (IPV6_V6ONLY=0)", 0), 0u) << r.notes[0];
}

TEST(LocalListenersFamilies, ADualStackV6SocketBesideAV6LoopbackOneSplitsTheFamilies) {
  // [::] (dual-stack, shown by the check at 127.0.0.1) and another program on ::1: IPv4 clients meet the first.
  auto check = probe_at("127.0.0.1:3389", false, {0});
  check.dual_stack_check = true;
  auto ssh = socket_on("::1", true, {20});
  auto p6 = probe_at("[::1]:3389", true, {1}, probe::verdict::not_rdp);
  p6.listener = protocol::classification{protocol::listener_kind::ssh, "SSH-2.0-x"};
  const auto r = evaluated({socket_on("::", true, {10}), ssh}, {check, p6});
  EXPECT_TRUE(contains(r.findings, "an IPv4 client meets an RDP server (rdp) (prog10 (pid 10) on [::]:3389"))
      << joined(r.findings);
}

TEST(LocalListenersFamilies, SocketsMetFollowTheKernelsLookupOrder) {
  const std::vector<local_listener> ls{socket_on("0.0.0.0", false, {1}), socket_on("127.0.0.1", false, {2}),
                                       socket_on("::", true, {3}), socket_on("::1", true, {4}),
                                       socket_on("127.0.0.1", false, {5})};
  EXPECT_EQ(probe::sockets_met_at(ls, "127.0.0.1"), (std::vector<std::size_t>{1, 4}));  // exact beats wildcard
  EXPECT_EQ(probe::sockets_met_at(ls, "127.0.0.2"), (std::vector<std::size_t>{0}));     // v4 wildcard beats [::]
  EXPECT_EQ(probe::sockets_met_at(ls, "::1"), (std::vector<std::size_t>{3}));
  EXPECT_EQ(probe::sockets_met_at(ls, "::2"), (std::vector<std::size_t>{2}));
  const std::vector<local_listener> only6{socket_on("::", true, {3}), socket_on("::ffff:127.0.0.1", true, {6})};
  EXPECT_EQ(probe::sockets_met_at(only6, "127.0.0.1"), (std::vector<std::size_t>{1}));  // v4-mapped exact
  EXPECT_EQ(probe::sockets_met_at(only6, "127.0.0.2"), (std::vector<std::size_t>{0}));  // [::], if dual-stack
  EXPECT_TRUE(probe::sockets_met_at({}, "127.0.0.1").empty());
}

TEST(LocalReportJson, ProbesAndGroupSizeAndSpread) {
  auto p = probe_at("127.0.0.1:3389", false, {0, 1});
  probe::tally t;
  add(t, protocol::listener_kind::rdp, "selected SSL", 3);
  add(t, protocol::listener_kind::http, "HTTP/1.1 400 Bad Request", 1);
  p.spread = t;
  const auto j = probe::to_json(evaluated({socket_on("127.0.0.1", false, {10}), socket_on("127.0.0.1", false, {20})}, {p}));
  EXPECT_EQ(j.at("listeners").at(0).at("group_size"), 2);
  EXPECT_EQ(j.at("listeners").at(1).at("group_size"), 2);
  ASSERT_EQ(j.at("probes").size(), 1u);
  const auto& probe = j.at("probes").at(0);
  EXPECT_EQ(probe.at("address"), "127.0.0.1:3389");
  EXPECT_EQ(probe.at("family"), "ipv4");
  EXPECT_EQ(probe.at("sockets"), (nlohmann::json{"127.0.0.1:3389", "127.0.0.1:3389"}));
  EXPECT_EQ(probe.at("dual_stack_check"), false);
  EXPECT_EQ(probe.at("verdict"), "rdp");
  EXPECT_TRUE(probe.at("listener").is_null());
  EXPECT_EQ(probe.at("spread"), probe::to_json(t));
  EXPECT_EQ(probe.at("spread").at("connections"), 4);
  EXPECT_EQ(j.at("healthy"), false);
}

// --- the renderings ---

local_listener xrdp_on_any() {
  auto l = socket_on("0.0.0.0", false, {});
  l.socket.inode = 75371;
  l.owners.push_back({10, "xrdp", "/usr/sbin/xrdp --nodaemon"});
  return l;
}

TEST(LocalReportJson, OneListenerWithEveryMember) {
  auto unknown = socket_on("::", true, {}, 1000);
  unknown.probed.clear();
  unknown.result.reset();
  unknown.evidence.clear();
  auto r = evaluated({xrdp_on_any(), unknown});
  r.uninspected = 2;
  const auto j = probe::to_json(r);
  EXPECT_EQ(j.at("schema_version"), probe::local_report_schema_version);
  EXPECT_EQ(j.at("port"), 3389);
  EXPECT_EQ(j.at("uninspected_processes"), 2);
  EXPECT_EQ(j.at("findings"), nlohmann::json(r.findings));
  EXPECT_EQ(j.at("notes"), nlohmann::json::array());
  EXPECT_EQ(j.at("healthy"), false);  // the unknown owner is a finding
  ASSERT_EQ(j.at("listeners").size(), 2u);
  EXPECT_EQ(j.at("listeners").at(0), nlohmann::json::parse(R"({
      "proto": "tcp", "address": "0.0.0.0", "port": 3389, "local_address": "0.0.0.0:3389", "uid": 0,
      "user": "root", "inode": 75371, "group_size": 1,
      "owners": [{"pid": 10, "comm": "xrdp", "cmdline": "/usr/sbin/xrdp --nodaemon"}],
      "probed": "127.0.0.1:3389", "verdict": "rdp", "rdp_server": true, "evidence": "RDP server; supports rdp, tls",
      "listener": null})"));
  // Not probed: every verdict member is null, not an empty string or false.
  const auto& second = j.at("listeners").at(1);
  EXPECT_EQ(second.at("proto"), "tcp6");
  EXPECT_EQ(second.at("local_address"), "[::]:3389");
  EXPECT_EQ(second.at("owners"), nlohmann::json::array());
  for (const auto* member : {"probed", "verdict", "rdp_server", "evidence", "listener"})
    EXPECT_TRUE(second.at(member).is_null()) << member;
}

TEST(LocalReportJson, WhatAnsweredWhenItWasNotRdp) {
  auto l = xrdp_on_any();
  l.result = probe::verdict::not_rdp;
  l.evidence = "rdp attempt: ssh: SSH-2.0-OpenSSH_9.2p1";
  l.listener = protocol::classification{protocol::listener_kind::ssh, "SSH-2.0-OpenSSH_9.2p1"};
  const auto j = probe::to_json(evaluated({l}));
  const auto& listener = j.at("listeners").at(0);
  EXPECT_EQ(listener.at("verdict"), "not-rdp");
  EXPECT_EQ(listener.at("rdp_server"), false);
  EXPECT_EQ(listener.at("listener"), (nlohmann::json{{"kind", "ssh"}, {"detail", "SSH-2.0-OpenSSH_9.2p1"}}));
  EXPECT_EQ(j.at("healthy"), false);
}

TEST(LocalReportJson, HealthyIsNoFindings) {
  EXPECT_EQ(probe::to_json(evaluated({xrdp_on_any()})).at("healthy"), true);
  EXPECT_EQ(probe::to_json(evaluated({})).at("healthy"), false);
}

std::string human(const local_report& r) {
  std::ostringstream out;
  probe::print_human(out, r);
  return out.str();
}

TEST(LocalReportHuman, OneOwnerThatIsAnRdpServer) {
  // Columns two spaces apart at their widest cell, trailing blanks trimmed; one "probe" line per probed address.
  EXPECT_EQ(human(evaluated({xrdp_on_any()})),
            "Proto  Local Address  PID  Process  User  RDP?  Command\n"
            "tcp    0.0.0.0:3389   10   xrdp     root  rdp   /usr/sbin/xrdp --nodaemon\n"
            "probe 127.0.0.1:3389: rdp — RDP server; supports rdp, tls\n"
            "OK: one owner, and it is an RDP server\n");
}

TEST(LocalReportHuman, ARowPerOwnerAndADashForAnUnknownOne) {
  auto shared = xrdp_on_any();
  shared.owners.push_back({11, "xrdp", "/usr/sbin/xrdp --nodaemon"});
  auto unknown = socket_on("::", true, {}, 1000);
  unknown.result = probe::verdict::not_rdp;
  unknown.listener = protocol::classification{protocol::listener_kind::http, "HTTP/1.1 400 Bad Request"};
  unknown.evidence = "rdp attempt: http: HTTP/1.1 400 Bad Request";
  const auto r = evaluated({shared, unknown});
  const auto text = human(r);
  EXPECT_EQ(text.substr(0, text.find("probe ")),
            "Proto  Local Address  PID  Process  User  RDP?            Command\n"
            "tcp    0.0.0.0:3389   10   xrdp     root  rdp             /usr/sbin/xrdp --nodaemon\n"
            "tcp    0.0.0.0:3389   11   xrdp     root  rdp             /usr/sbin/xrdp --nodaemon\n"
            "tcp6   [::]:3389      -    -        1000  not-rdp (http)\n");
  EXPECT_NE(text.find("probe 127.0.0.1:3389: rdp — "), std::string::npos) << text;
  EXPECT_NE(text.find("probe [::1]:3389: not-rdp — rdp attempt: http: HTTP/1.1 400 Bad Request\n"), std::string::npos)
      << text;
  for (const auto& f : r.findings) EXPECT_NE(text.find("FINDING: " + f + "\n"), std::string::npos) << f;
  EXPECT_EQ(text.find("OK:"), std::string::npos) << text;
}

TEST(LocalReportHuman, NothingListening) {
  EXPECT_EQ(human(evaluated({})), "no socket listens on TCP port 3389\nFINDING: nothing listens on port 3389\n");
}

TEST(LocalReportHuman, WithoutTheVerdictStepThereIsNoVerdictAndNoOk) {
  auto l = xrdp_on_any();
  l.probed.clear();
  l.result.reset();
  l.evidence.clear();
  local_report r;
  r.port = 3389;
  r.listeners = {l};
  probe::evaluate_local_report(r);
  EXPECT_EQ(human(r),
            "Proto  Local Address  PID  Process  User  RDP?  Command\n"
            "tcp    0.0.0.0:3389   10   xrdp     root  -     /usr/sbin/xrdp --nodaemon\n");
}

TEST(LocalReportHuman, NotesFollowTheFindings) {
  auto r = evaluated({xrdp_on_any()});
  r.findings = {"a finding"};
  r.notes = {"a note"};
  const auto text = human(r);
  EXPECT_NE(text.find("FINDING: a finding\nnote: a note\n"), std::string::npos) << text;
}

}  // namespace
