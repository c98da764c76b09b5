// The probe's verdict from hand-built reports (decide_verdict, verdict.hpp): every verdict it can give, and which
// evidence wins when attempts disagree. Then the names the JSON and the table print (docs/verdicts.md) and the
// --count statistics (nearest-rank percentiles).
#include "rdp/probe/verdict.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace rdp;
using probe::attempt_outcome;
using probe::protocol_attempt;
using probe::session_outcome;
using probe::target_report;
using probe::verdict;
using protocol::security_protocol;

protocol_attempt attempt(security_protocol requested, attempt_outcome outcome, std::string detail = "",
                         bool supported = false) {
  protocol_attempt a;
  a.requested = requested;
  a.requested_bits = protocol::to_bits(requested);
  a.outcome = outcome;
  a.supported = supported;
  a.detail = std::move(detail);
  return a;
}

// A server that selected what was asked (RDP_NEG_RSP, MS-RDPBCGR 2.2.1.2.1).
protocol_attempt selected(security_protocol requested) {
  auto a = attempt(requested, attempt_outcome::selected, "selected " + std::string(protocol::to_string(requested)),
                   true);
  a.selected = protocol::to_bits(requested);
  return a;
}

target_report decided(std::vector<protocol_attempt> protocols, std::optional<probe::session_result> session = {}) {
  target_report r;
  r.target = "host";
  r.protocols = std::move(protocols);
  r.session = std::move(session);
  probe::decide_verdict(r);
  return r;
}

probe::session_result session(std::string over, session_outcome outcome, std::string detail) {
  probe::session_result s;
  s.over = std::move(over);
  s.outcome = outcome;
  s.detail = std::move(detail);
  return s;
}

// ---- no RDP answer: what the listener did ----------------------------------------------------------------------

TEST(Verdict, NoAttemptAtAllIsATimeoutSayingSo) {
  const auto r = decided({});
  EXPECT_EQ(r.result, verdict::timeout);
  EXPECT_EQ(r.evidence, "no attempt was made");
}

TEST(Verdict, OnlySkippedAttemptsAreATimeoutSayingNoAttemptWasMade) {
  const auto r = decided({attempt(security_protocol::rdp, attempt_outcome::skipped, "skipped: ..."),
                          attempt(security_protocol::ssl, attempt_outcome::skipped, "skipped: ...")});
  EXPECT_EQ(r.result, verdict::timeout);
  EXPECT_EQ(r.evidence, "no attempt was made");
}

TEST(Verdict, EachListenerOutcomeGivesItsVerdictWithTheAttemptsEvidence) {
  const std::vector<std::pair<attempt_outcome, verdict>> cases = {
      {attempt_outcome::not_rdp, verdict::not_rdp}, {attempt_outcome::refused, verdict::refused},
      {attempt_outcome::timeout, verdict::timeout}, {attempt_outcome::reset, verdict::reset},
      {attempt_outcome::closed, verdict::closed},
      // Another socket error has no verdict of its own: the peer is gone without an answer, as for a close.
      {attempt_outcome::error, verdict::closed}};
  for (const auto& [outcome, expected] : cases) {
    const auto r = decided({attempt(security_protocol::ssl, outcome, "what happened"),
                            attempt(security_protocol::hybrid, attempt_outcome::skipped, "skipped: ...")});
    EXPECT_EQ(r.result, expected) << to_string(outcome);
    EXPECT_EQ(r.evidence, "tls attempt: what happened") << to_string(outcome);
  }
}

TEST(Verdict, ListenerOutcomesHaveAPrecedenceNotAnOrder) {
  // not-rdp says the most about the listener, whichever attempt saw it.
  auto r = decided({attempt(security_protocol::rdp, attempt_outcome::refused, "TCP connect: Connection refused"),
                    attempt(security_protocol::ssl, attempt_outcome::not_rdp, "http: HTTP/1.1 400 Bad Request")});
  EXPECT_EQ(r.result, verdict::not_rdp);
  EXPECT_EQ(r.evidence, "tls attempt: http: HTTP/1.1 400 Bad Request");
  // Then refused, timeout, reset, closed.
  r = decided({attempt(security_protocol::rdp, attempt_outcome::closed, "closed"),
               attempt(security_protocol::ssl, attempt_outcome::reset, "reset"),
               attempt(security_protocol::hybrid, attempt_outcome::timeout, "silent"),
               attempt(security_protocol::rdstls, attempt_outcome::refused, "refused")});
  EXPECT_EQ(r.result, verdict::refused);
  EXPECT_EQ(r.evidence, "rdstls attempt: refused");
  r = decided({attempt(security_protocol::rdp, attempt_outcome::closed, "closed"),
               attempt(security_protocol::ssl, attempt_outcome::reset, "reset")});
  EXPECT_EQ(r.result, verdict::reset);
  r = decided({attempt(security_protocol::rdp, attempt_outcome::error, "error"),
               attempt(security_protocol::ssl, attempt_outcome::closed, "closed")});
  EXPECT_EQ(r.result, verdict::closed);
  EXPECT_EQ(r.evidence, "tls attempt: closed");  // a close is named before another error
}

TEST(Verdict, TheFirstAttemptWithTheWinningOutcomeIsTheEvidence) {
  const auto r = decided({attempt(security_protocol::rdp, attempt_outcome::not_rdp, "ssh: SSH-2.0-OpenSSH_9.2p1"),
                          attempt(security_protocol::ssl, attempt_outcome::not_rdp, "unknown: 00 01")});
  EXPECT_EQ(r.evidence, "rdp attempt: ssh: SSH-2.0-OpenSSH_9.2p1");
}

// ---- an RDP server ---------------------------------------------------------------------------------------------

TEST(Verdict, AnyRdpAnswerOutweighsListenerOutcomesOfOtherAttempts) {
  // A failure code, a legacy confirm and an RDP hang-up are RDP answers too (MS-RDPBCGR 2.2.1.2.2, 2.2.1.2,
  // 2.2.2.3): with none of the protocols supported, the verdict is negotiation-failed, not what the others saw.
  for (const auto answer : {attempt_outcome::failure, attempt_outcome::no_negotiation, attempt_outcome::disconnected,
                            attempt_outcome::selected}) {
    const auto r = decided({attempt(security_protocol::rdp, attempt_outcome::refused, "refused"),
                            attempt(security_protocol::ssl, answer, "an RDP answer"),
                            attempt(security_protocol::hybrid, attempt_outcome::timeout, "silent")});
    EXPECT_EQ(r.result, verdict::negotiation_failed) << to_string(answer);
    EXPECT_EQ(r.evidence, "an RDP server, but it selected none of the requested protocols") << to_string(answer);
  }
}

TEST(Verdict, SupportedProtocolsAreNamedInTheOrderAsked) {
  auto downgrade = attempt(security_protocol::hybrid, attempt_outcome::selected, "selected rdp (downgrade)");
  downgrade.selected = 0;
  const auto r = decided({selected(security_protocol::rdp), downgrade, selected(security_protocol::ssl)});
  EXPECT_EQ(r.result, verdict::rdp);
  EXPECT_EQ(r.evidence, "RDP server; supports rdp, tls");
}

TEST(Verdict, ReplacesWhateverTheReportSaidBefore) {
  target_report r;  // internal-error until decided
  r.protocols = {selected(security_protocol::ssl)};
  probe::decide_verdict(r);
  EXPECT_EQ(r.result, verdict::rdp);
  EXPECT_EQ(r.evidence, "RDP server; supports tls");
}

TEST(Verdict, OnlySingleProtocolAttemptsDecideNotTheClientCombinations) {
  target_report r;
  r.protocols = {attempt(security_protocol::ssl, attempt_outcome::failure, "RDP_NEG_FAILURE HYBRID_REQUIRED_BY_SERVER")};
  auto combination = selected(security_protocol::hybrid);
  combination.requested_bits = 0x03;
  combination.combination = true;
  r.combinations = {combination};
  probe::decide_verdict(r);
  EXPECT_EQ(r.result, verdict::negotiation_failed);
}

TEST(Verdict, AFailedTlsHandshakeIsTlsFailedNamingTheProtocol) {
  auto broken = selected(security_protocol::ssl);
  broken.tls_attempted = true;
  broken.tls_error = "TLS handshake timed out";
  const auto r = decided({selected(security_protocol::rdp), broken});
  EXPECT_EQ(r.result, verdict::tls_failed);
  EXPECT_EQ(r.evidence, "server selected tls but TLS handshake timed out");
}

TEST(Verdict, TlsFailedOutweighsASessionTornDown) {
  auto broken = selected(security_protocol::hybrid);
  broken.tls_error = "TLS handshake: unexpected eof";
  const auto r = decided({selected(security_protocol::rdp), broken},
                         session("rdp", session_outcome::closed, "a close"));
  EXPECT_EQ(r.result, verdict::tls_failed);
}

TEST(Verdict, ASessionTornDownIsSessionErrorSayingOverWhat) {
  // Set Error Info (MS-RDPBCGR 2.2.5.1.1) answering the MCS Connect-Initial (2.2.1.3) inside TLS.
  const std::string denied = "Set Error Info ERRINFO_SERVER_DENIED_CONNECTION (0x00000007)";
  auto r = decided({selected(security_protocol::ssl)}, session("tls", session_outcome::set_error_info, denied));
  EXPECT_EQ(r.result, verdict::session_error);
  EXPECT_EQ(r.evidence, "after TLS, the MCS Connect-Initial got " + denied);
  r = decided({selected(security_protocol::rdp)}, session("rdp", session_outcome::reset, "a TCP reset"));
  EXPECT_EQ(r.result, verdict::session_error);
  EXPECT_EQ(r.evidence, "under Standard RDP Security, the MCS Connect-Initial got a TCP reset");
}

TEST(Verdict, EveryTearDownIsSessionErrorAndNothingElseIs) {
  for (const auto outcome : {session_outcome::disconnect_provider_ultimatum, session_outcome::x224_disconnect_request,
                             session_outcome::set_error_info, session_outcome::reset, session_outcome::closed}) {
    EXPECT_TRUE(probe::tears_down(outcome)) << to_string(outcome);
    EXPECT_EQ(decided({selected(security_protocol::ssl)}, session("tls", outcome, "x")).result, verdict::session_error)
        << to_string(outcome);
  }
  // A healthy answer, no answer within the read timeout (not a finding) or our own failure to send: still rdp.
  for (const auto outcome : {session_outcome::connect_response, session_outcome::no_answer, session_outcome::error}) {
    EXPECT_FALSE(probe::tears_down(outcome)) << to_string(outcome);
    EXPECT_EQ(decided({selected(security_protocol::ssl)}, session("tls", outcome, "x")).result, verdict::rdp)
        << to_string(outcome);
  }
}

TEST(Verdict, SessionErrorOutweighsNegotiationFailed) {
  const auto r = decided({attempt(security_protocol::ssl, attempt_outcome::failure, "RDP_NEG_FAILURE ...")},
                         session("rdp", session_outcome::disconnect_provider_ultimatum, "MCS DPU"));
  EXPECT_EQ(r.result, verdict::session_error);
}

// ---- names ---------------------------------------------------------------------------------------------------

TEST(VerdictNames, EveryVerdictHasTheNameDocsVerdictsMdGives) {
  const std::vector<std::pair<verdict, std::string_view>> names = {
      {verdict::rdp, "rdp"},
      {verdict::not_rdp, "not-rdp"},
      {verdict::refused, "refused"},
      {verdict::timeout, "timeout"},
      {verdict::reset, "reset"},
      {verdict::closed, "closed"},
      {verdict::negotiation_failed, "negotiation-failed"},
      {verdict::tls_failed, "tls-failed"},
      {verdict::session_error, "session-error"},
      {verdict::dns_failed, "dns-failed"},
      {verdict::login_failed, "login-failed"},
      {verdict::reconnect_failed, "reconnect-failed"},
      {verdict::internal_error, "internal-error"}};
  std::set<std::string_view> seen;
  for (const auto& [v, name] : names) {
    EXPECT_EQ(probe::to_string(v), name);
    EXPECT_TRUE(seen.insert(probe::to_string(v)).second) << name;
  }
  EXPECT_EQ(probe::to_string(static_cast<verdict>(99)), "unknown");
}

TEST(VerdictNames, AnUnfinishedReportIsNotARealVerdict) {
  EXPECT_EQ(target_report{}.result, verdict::internal_error);
}

TEST(VerdictNames, EveryAttemptOutcomeHasTheNameDocsVerdictsMdGives) {
  const std::vector<std::pair<attempt_outcome, std::string_view>> names = {
      {attempt_outcome::selected, "selected"},   {attempt_outcome::failure, "failure"},
      {attempt_outcome::no_negotiation, "no-negotiation"}, {attempt_outcome::disconnected, "disconnected"},
      {attempt_outcome::not_rdp, "not-rdp"},     {attempt_outcome::refused, "refused"},
      {attempt_outcome::timeout, "timeout"},     {attempt_outcome::reset, "reset"},
      {attempt_outcome::closed, "closed"},       {attempt_outcome::error, "error"},
      {attempt_outcome::skipped, "skipped"}};
  for (const auto& [o, name] : names) EXPECT_EQ(probe::to_string(o), name);
  EXPECT_EQ(probe::to_string(static_cast<attempt_outcome>(99)), "unknown");
}

// ---- --count statistics --------------------------------------------------------------------------------------

TEST(TimingSummary, NoSamplesIsAllZero) {
  const auto t = probe::summarize({});
  EXPECT_EQ(t.samples, 0u);
  EXPECT_EQ(t.min, 0);
  EXPECT_EQ(t.median, 0);
  EXPECT_EQ(t.p99, 0);
  EXPECT_EQ(t.max, 0);
}

TEST(TimingSummary, OneSampleIsEveryStatistic) {
  const auto t = probe::summarize({7.5});
  EXPECT_EQ(t.samples, 1u);
  EXPECT_EQ(t.min, 7.5);
  EXPECT_EQ(t.median, 7.5);
  EXPECT_EQ(t.p99, 7.5);
  EXPECT_EQ(t.max, 7.5);
}

TEST(TimingSummary, NearestRankOfUnsortedSamples) {
  // Nearest rank: the smallest sample with at least q of them at or below it — a sample, never an average.
  auto t = probe::summarize({4, 1, 3, 2});
  EXPECT_EQ(t.samples, 4u);
  EXPECT_EQ(t.min, 1);
  EXPECT_EQ(t.median, 2);  // rank ceil(0.5 * 4) = 2
  EXPECT_EQ(t.p99, 4);     // rank ceil(0.99 * 4) = 4
  EXPECT_EQ(t.max, 4);
  t = probe::summarize({5, 1, 3});
  EXPECT_EQ(t.median, 3);  // rank ceil(1.5) = 2
}

TEST(TimingSummary, P99OfAHundredIsTheNinetyNinthSample) {
  std::vector<double> samples(100);
  std::iota(samples.begin(), samples.end(), 1.0);
  std::reverse(samples.begin(), samples.end());
  const auto t = probe::summarize(samples);
  EXPECT_EQ(t.samples, 100u);
  EXPECT_EQ(t.median, 50);
  EXPECT_EQ(t.p99, 99);
  EXPECT_EQ(t.max, 100);
  // With ten, rank ceil(9.9) = 10: the slowest run is the p99.
  EXPECT_EQ(probe::summarize({10, 9, 8, 7, 6, 5, 4, 3, 2, 1}).p99, 10);
}

}  // namespace
