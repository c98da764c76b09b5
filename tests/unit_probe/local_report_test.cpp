// `rdpprobe local`'s report without I/O (local_report.hpp): the findings — owner groups, listeners that are not RDP
// servers, owners that cannot be seen — on hand-built reports, then the JSON and the table they are rendered as.
#include "rdp/probe/local_report.hpp"

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

bool contains(const std::vector<std::string>& lines, std::string_view needle) {
  return std::any_of(lines.begin(), lines.end(), [&](const auto& l) { return l.find(needle) != std::string::npos; });
}

std::string joined(const std::vector<std::string>& lines) {
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  return all;
}

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
      "user": "root", "inode": 75371,
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
