// What many connections met and whether they disagree (listener_spread.hpp), from hand-built attempts: how each
// attempt outcome maps to a kind and a fingerprint, how the tally counts, and which spreads are a listener conflict.
#include "rdp/probe/listener_spread.hpp"

#include "rdp/probe/report.hpp"
#include "rdp/probe/verdict.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace {

using namespace rdp;
using probe::attempt_outcome;
using protocol::listener_kind;
using probe::protocol_attempt;
using probe::tally;

protocol_attempt attempt(std::uint32_t requested, attempt_outcome outcome, std::string detail) {
  protocol_attempt a;
  a.requested_bits = requested;
  a.outcome = outcome;
  a.detail = std::move(detail);
  return a;
}

// RDP_NEG_RSP (MS-RDPBCGR 2.2.1.2.1) selecting `selected` for `requested`.
probe::connection_met rdp_selected(std::uint32_t requested, std::uint32_t selected, std::string address = {}) {
  auto a = attempt(requested, attempt_outcome::selected, "selected");
  a.selected = selected;
  return *probe::met_by(a, std::nullopt, std::move(address));
}

probe::connection_met http(std::string address = {}) {
  auto a = attempt(0, attempt_outcome::not_rdp, "http: HTTP/1.0 400 Bad Request");
  return *probe::met_by(a, protocol::classification{protocol::listener_kind::http, "HTTP/1.0 400 Bad Request"},
                        std::move(address));
}

probe::connection_met ssh(std::string address = {}) {
  auto a = attempt(0, attempt_outcome::not_rdp, "ssh: SSH-2.0-OpenSSH_9.2p1");
  return *probe::met_by(a, protocol::classification{protocol::listener_kind::ssh, "SSH-2.0-OpenSSH_9.2p1"},
                        std::move(address));
}

TEST(ListenerSpread, RdpAnswersAreFingerprintedByWhatTheServerChose) {
  auto m = rdp_selected(0x03, 0x02);
  EXPECT_EQ(m.kind, listener_kind::rdp);
  EXPECT_EQ(m.requested_bits, 0x03u);
  EXPECT_EQ(m.fingerprint, "selected credssp");

  auto f = attempt(0x00, attempt_outcome::failure, "RDP_NEG_FAILURE");
  f.failure_code = 0x05;  // HYBRID_REQUIRED_BY_SERVER (2.2.1.2.2)
  EXPECT_EQ(probe::met_by(f, std::nullopt)->fingerprint, "failure HYBRID_REQUIRED_BY_SERVER");
  EXPECT_EQ(probe::met_by(attempt(0, attempt_outcome::no_negotiation, ""), std::nullopt)->kind, listener_kind::rdp);
  EXPECT_EQ(probe::met_by(attempt(0x10, attempt_outcome::disconnected, ""), std::nullopt)->fingerprint, "disconnected");
}

TEST(ListenerSpread, OtherListenersAreFingerprintedByTheirClassification) {
  auto m = http("127.0.0.1:3389");
  EXPECT_EQ(m.kind, listener_kind::http);
  EXPECT_EQ(m.fingerprint, "HTTP/1.0 400 Bad Request");
  EXPECT_EQ(m.evidence, "http: HTTP/1.0 400 Bad Request");
  EXPECT_EQ(m.address, "127.0.0.1:3389");
  // A silent listener: classified silent, no fingerprint (nothing spoke).
  auto silent = probe::met_by(attempt(0, attempt_outcome::timeout, "silent: nothing in 3000 ms"),
                              protocol::classification{protocol::listener_kind::silent, "nothing in 3000 ms"});
  EXPECT_EQ(silent->kind, listener_kind::silent);
  EXPECT_EQ(silent->fingerprint, "");
  EXPECT_EQ(probe::met_by(attempt(0, attempt_outcome::refused, "TCP connect: refused"), std::nullopt)->kind,
            listener_kind::refused);
  // A connect that timed out (no classification) is a transport error, not a silent listener.
  EXPECT_EQ(probe::met_by(attempt(0, attempt_outcome::timeout, "TCP connect: timed out"), std::nullopt)->kind,
            listener_kind::error);
  // A malformed confirm: a TPKT speaker we cannot understand.
  EXPECT_EQ(probe::met_by(attempt(0, attempt_outcome::not_rdp, "malformed X.224 Connection Confirm"), std::nullopt)->kind,
            listener_kind::tpkt_not_rdp);
  EXPECT_FALSE(probe::met_by(attempt(0, attempt_outcome::skipped, "skipped"), std::nullopt));
}

TEST(ListenerSpread, TallyCountsPerKindAndFingerprintAndRequest) {
  tally t;
  t.add(rdp_selected(0x00, 0x00, "127.0.0.1:3389"));
  t.add(http("127.0.0.1:3389"));
  t.add(rdp_selected(0x00, 0x00, "127.0.0.1:3389"));
  t.add(rdp_selected(0x03, 0x02, "127.0.0.1:3389"));  // another request: an entry of its own
  t.add(http("127.0.0.1:3389"));
  t.add(http("127.0.0.1:3389"));
  ASSERT_EQ(t.entries.size(), 3u);
  EXPECT_EQ(t.connections(), 6u);
  EXPECT_EQ(t.connections_of(listener_kind::rdp), 3u);
  EXPECT_EQ(t.connections_of(listener_kind::http), 3u);
  EXPECT_EQ(t.entries[0].connections, 2u);
  EXPECT_EQ(t.entries[0].requested_bits, 0x00u);
  EXPECT_EQ(t.entries[1].kind, listener_kind::http);
  EXPECT_FALSE(t.entries[1].requested_bits);  // a non-RDP answer does not depend on the request
  EXPECT_EQ(t.entries[1].example, "http: HTTP/1.0 400 Bad Request");
  EXPECT_EQ(t.addresses(), std::vector<std::string>{"127.0.0.1:3389"});
  EXPECT_TRUE(probe::disagree(t));
  EXPECT_EQ(probe::describe(t),
            "6 connections: 3 met rdp (0x00: selected rdp; 0x03: selected credssp), 3 met http (HTTP/1.0 400 Bad "
            "Request)");
  // At most three answers per kind are named.
  t.add(rdp_selected(0x01, 0x01));
  t.add(rdp_selected(0x08, 0x00));
  t.add(rdp_selected(0x0B, 0x02));
  EXPECT_EQ(probe::describe(t),
            "9 connections: 6 met rdp (0x00: selected rdp; 0x03: selected credssp; 0x01: selected tls; 2 more), "
            "3 met http (HTTP/1.0 400 Bad Request)");
}

TEST(ListenerSpread, RdpBesideAnotherListenerDisagrees) {
  tally t;
  t.add(rdp_selected(0x00, 0x00));
  EXPECT_FALSE(probe::disagree(t));
  t.add(ssh());
  EXPECT_TRUE(probe::disagree(t));
}

TEST(ListenerSpread, TwoDifferentNonRdpListenersDisagree) {
  tally t;
  t.add(http());
  t.add(http());
  EXPECT_FALSE(probe::disagree(t));
  t.add(ssh());
  EXPECT_TRUE(probe::disagree(t));
}

TEST(ListenerSpread, ContradictoryRdpAnswersToOneRequestDisagree) {
  tally t;
  t.add(rdp_selected(0x03, 0x02));
  t.add(rdp_selected(0x0B, 0x08));  // another request may well be answered otherwise
  t.add(rdp_selected(0x03, 0x02));
  EXPECT_FALSE(probe::disagree(t));
  t.add(rdp_selected(0x03, 0x01));  // one server says CredSSP to 0x03, another TLS: two servers share the port
  EXPECT_TRUE(probe::disagree(t));
}

TEST(ListenerSpread, TransportOutcomesAloneDoNotDisagree) {
  tally t;
  t.add(rdp_selected(0x00, 0x00));
  t.add(*probe::met_by(attempt(0, attempt_outcome::reset, "reset"), std::nullopt));
  t.add(*probe::met_by(attempt(0, attempt_outcome::refused, "refused"), std::nullopt));
  t.add(*probe::met_by(attempt(0, attempt_outcome::timeout, "silence"),
                       protocol::classification{protocol::listener_kind::silent, "nothing"}));
  EXPECT_EQ(t.connections(), 4u);
  EXPECT_FALSE(probe::disagree(t));
  EXPECT_FALSE(probe::disagree(tally{}));
}

TEST(ListenerSpread, DescribeNamesTheAddressesWhenThereAreSeveral) {
  tally t;
  t.add(rdp_selected(0x00, 0x00, "127.0.0.41:3389"));
  t.add(ssh("[::1]:3389"));
  EXPECT_TRUE(probe::disagree(t));
  EXPECT_EQ(probe::describe(t), "2 connections: 1 met rdp (0x00: selected rdp) at 127.0.0.41:3389, "
                                "1 met ssh (SSH-2.0-OpenSSH_9.2p1) at [::1]:3389");
}

TEST(ListenerSpread, JsonShape) {
  tally t;
  t.add(rdp_selected(0x00, 0x00, "127.0.0.1:3389"));
  t.add(http("127.0.0.1:3389"));
  const auto j = probe::to_json(t);
  EXPECT_EQ(j["connections"], 2);
  EXPECT_EQ(j["disagree"], true);
  ASSERT_EQ(j["met"].size(), 2u);
  EXPECT_EQ(j["met"][0]["kind"], "rdp");
  EXPECT_EQ(j["met"][0]["requested"], "0x00");
  EXPECT_EQ(j["met"][0]["fingerprint"], "selected rdp");
  EXPECT_EQ(j["met"][0]["connections"], 1);
  EXPECT_EQ(j["met"][1]["kind"], "http");
  EXPECT_TRUE(j["met"][1]["requested"].is_null());
  EXPECT_EQ(j["met"][1]["addresses"], nlohmann::json::array({"127.0.0.1:3389"}));
  EXPECT_EQ(j["met"][1]["example"], "http: HTTP/1.0 400 Bad Request");
}

// The spread counts in the classifier's words (protocol::listener_kind): a banner is "banner" in listener.kind and
// in listener_spread alike.
TEST(ListenerSpread, CountsInTheClassifiersWords) {
  const auto banner = probe::met_by(attempt(0, attempt_outcome::not_rdp, "banner: 220 ftp ready"),
                                    protocol::classification{listener_kind::banner, "220 ftp ready"});
  ASSERT_TRUE(banner);
  EXPECT_EQ(banner->kind, listener_kind::banner);
  EXPECT_EQ(banner->fingerprint, "220 ftp ready");
  tally t;
  t.add(*banner);
  EXPECT_EQ(probe::to_json(t)["met"][0]["kind"], "banner");
}

// The verdict (decide_verdict): a disagreeing spread is listener-conflict whatever the attempts say, its evidence
// counting what was met; a spread that agrees leaves the verdict to the attempts.
TEST(ListenerSpread, DisagreementIsVerdictListenerConflict) {
  probe::target_report r;
  auto first = attempt(0, attempt_outcome::not_rdp, "http: HTTP/1.0 400 Bad Request");
  r.protocols.push_back(first);
  r.spread.add(http("127.0.0.1:3389"));
  r.spread.add(rdp_selected(0x00, 0x00, "127.0.0.1:3389"));
  probe::decide_verdict(r);
  EXPECT_EQ(r.result, probe::verdict::listener_conflict);
  EXPECT_EQ(probe::to_string(r.result), "listener-conflict");
  EXPECT_EQ(r.evidence, "the connections met different listeners (2 connections: 1 met http (HTTP/1.0 400 Bad "
                        "Request), 1 met rdp (0x00: selected rdp))");

  probe::target_report agreeing;
  agreeing.protocols.push_back(first);
  agreeing.spread.add(http());
  agreeing.spread.add(http());
  probe::decide_verdict(agreeing);
  EXPECT_EQ(agreeing.result, probe::verdict::not_rdp);
}

}  // namespace
