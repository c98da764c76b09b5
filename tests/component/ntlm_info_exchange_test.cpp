// The probe's NTLM-info exchange (protocol/ntlm_info_exchange.hpp) driven as a script on made-up time: TLS, the
// NEGOTIATE TSRequest (exact bytes), the server's CHALLENGE fed whole, byte at a time and at every split; then each
// way it can end early — a TLS failure or timeout, a send failure or timeout, no answer, an answer cut short, a
// malformed answer, the cap — and that a trickling peer cannot stretch the answer's deadline.
#include "rdp/protocol/ntlm_info_exchange.hpp"

#include "script.hpp"

#include <gtest/gtest.h>

namespace rdp::test {
namespace {

using namespace std::chrono_literals;
using protocol::byte_buffer;
using protocol::ntlm_info_exchange;
using protocol::ntlm_info_stop;
namespace credssp = protocol::credssp;
namespace ntlm = protocol::ntlm;
using exchange_script = script<ntlm_info_exchange>;

const boost::system::error_code reset = boost::system::errc::make_error_code(boost::system::errc::connection_reset);

protocol::ntlm_info_options options() {
  protocol::ntlm_info_options o;
  o.tls_timeout = 700ms;
  o.read_timeout = 900ms;
  o.max_answer_bytes = 4096;
  return o;
}

// A CHALLENGE as a server builds it (MS-NLMP 2.2.1.2): NetBIOS computer name "SIM" (UTF-16LE), Version 10.0.20348.
byte_buffer challenge_answer() {
  ntlm::challenge_message c;
  c.flags = ntlm::negotiate_flags::nmap_negotiate | ntlm::negotiate_flags::target_info | ntlm::negotiate_flags::version;
  c.target_info.push_back({1, {'S', 0, 'I', 0, 'M', 0}});  // MsvAvNbComputerName
  c.os_version = ntlm::version{10, 0, 20348, 0x0F};
  credssp::ts_request answer;
  answer.version = 6;
  answer.nego_tokens.push_back(ntlm::encode(c).value());
  return credssp::encode(answer);
}

// Up to the read of the answer; checks the TSRequest's exact bytes.
void reach_answer(exchange_script& s) {
  ASSERT_TRUE(s.expect(seq::action_kind::start_tls));
  EXPECT_EQ(s.pending().deadline, s.now() + 700ms);
  s.advance(5ms);
  ASSERT_TRUE(s.tls_done());
  EXPECT_EQ(s.pending().deadline, s.now() + 900ms);
  credssp::ts_request hello;
  hello.version = credssp::latest_version;
  hello.nego_tokens.push_back(ntlm::encode(ntlm::negotiate_message{}).value());
  const auto expected = credssp::encode(hello);
  ASSERT_TRUE(s.expect_write([&](protocol::bytes_view b) { return byte_buffer(b.begin(), b.end()) == expected; }));
  ASSERT_TRUE(s.expect(seq::action_kind::read));
}

TEST(NtlmInfoExchange, ReadsTheChallengeWholeByteAtATimeAndAtEverySplit) {
  const auto answer = challenge_answer();
  for (std::size_t piece = 0; piece <= 1; ++piece) {
    for (std::size_t cut = 0; cut < (piece == 0 ? answer.size() : 1); ++cut) {
      ntlm_info_exchange m(options());
      exchange_script s(m);
      s.start();
      reach_answer(s);
      s.advance(3ms);
      ASSERT_TRUE(cut == 0 ? s.feed(answer, piece) : s.feed_split(answer, {cut}));
      ASSERT_TRUE(s.expect_done());
      const auto& out = m.outcome();
      EXPECT_EQ(out.stopped_at, ntlm_info_stop::answer);
      ASSERT_TRUE(out.answer) << "piece " << piece << " cut " << cut;
      EXPECT_EQ(out.answered_at - out.sent_at, 3ms);
      auto challenge = protocol::find_challenge(*out.answer);
      ASSERT_TRUE(challenge);
      EXPECT_EQ(ntlm::facts(*challenge).netbios_computer, "SIM");
      EXPECT_FALSE(out.timed_out);
      EXPECT_FALSE(out.io_error);
    }
  }
}

TEST(NtlmInfoExchange, FindsTheChallengeBehindAWrapper) {
  ntlm::challenge_message c;
  c.flags = ntlm::negotiate_flags::nmap_negotiate;
  credssp::ts_request answer;
  auto token = byte_buffer{0xA1, 0x81, 0x00, 0x30};  // a SPNEGO-looking prefix
  const auto inner = ntlm::encode(c).value();
  token.insert(token.end(), inner.begin(), inner.end());
  answer.nego_tokens.push_back(token);
  EXPECT_TRUE(protocol::find_challenge(answer));
  answer.nego_tokens = {byte_buffer{1, 2, 3}};
  EXPECT_EQ(protocol::find_challenge(answer).error(), ntlm::error::bad_signature);
}

TEST(NtlmInfoExchange, TlsFailureAndTimeoutStopAtTls) {
  {
    ntlm_info_exchange m(options());
    exchange_script s(m);
    s.start();
    ASSERT_TRUE(s.fail(reset));
    ASSERT_TRUE(s.expect_done());
    EXPECT_EQ(m.outcome().stopped_at, ntlm_info_stop::tls);
    EXPECT_EQ(m.outcome().io_error, reset);
  }
  ntlm_info_exchange m(options());
  exchange_script s(m);
  s.start();
  ASSERT_TRUE(s.time_out());
  ASSERT_TRUE(s.expect_done());
  EXPECT_EQ(m.outcome().stopped_at, ntlm_info_stop::tls);
  EXPECT_TRUE(m.outcome().timed_out);
}

TEST(NtlmInfoExchange, SendFailureStopsAtSend) {
  ntlm_info_exchange m(options());
  exchange_script s(m);
  s.start();
  ASSERT_TRUE(s.tls_done());
  ASSERT_TRUE(s.expect(seq::action_kind::write));
  ASSERT_TRUE(s.time_out());
  ASSERT_TRUE(s.expect_done());
  EXPECT_EQ(m.outcome().stopped_at, ntlm_info_stop::send);
  EXPECT_TRUE(m.outcome().timed_out);
}

TEST(NtlmInfoExchange, NoAnswerAndCutShortKeepWhatCame) {
  {
    ntlm_info_exchange m(options());
    exchange_script s(m);
    s.start();
    reach_answer(s);
    ASSERT_TRUE(s.time_out());
    ASSERT_TRUE(s.expect_done());
    EXPECT_EQ(m.outcome().stopped_at, ntlm_info_stop::answer);
    EXPECT_TRUE(m.outcome().timed_out);
    EXPECT_TRUE(m.outcome().received.empty());
  }
  const auto answer = challenge_answer();
  ntlm_info_exchange m(options());
  exchange_script s(m);
  s.start();
  reach_answer(s);
  ASSERT_TRUE(s.feed(protocol::bytes_view(answer).first(10)));
  ASSERT_TRUE(s.fail(reset));
  ASSERT_TRUE(s.expect_done());
  EXPECT_FALSE(m.outcome().answer);
  EXPECT_EQ(m.outcome().received.size(), 10u);
  EXPECT_EQ(m.outcome().io_error, reset);
}

TEST(NtlmInfoExchange, ATricklingPeerCannotStretchTheDeadline) {
  const auto answer = challenge_answer();
  ntlm_info_exchange m(options());
  exchange_script s(m);
  s.start();
  reach_answer(s);
  const auto deadline = s.pending().deadline;
  for (std::size_t i = 0; i < 5; ++i) {
    s.advance(100ms);
    ASSERT_TRUE(s.feed(protocol::bytes_view(answer).subspan(i, 1)));
    EXPECT_EQ(s.pending().deadline, deadline);
  }
}

TEST(NtlmInfoExchange, MalformedAnswerEndsAtOnce) {
  const byte_buffer http{'H', 'T', 'T', 'P', '/', '1', '.', '1', ' ', '4', '0', '0'};
  ntlm_info_exchange m(options());
  exchange_script s(m);
  s.start();
  reach_answer(s);
  ASSERT_TRUE(s.feed(http));
  ASSERT_TRUE(s.expect_done());
  EXPECT_TRUE(m.outcome().malformed);
  EXPECT_FALSE(m.outcome().answer);
}

TEST(NtlmInfoExchange, AnswerOverTheCapEndsAtTheCap) {
  // A SEQUENCE announcing 1 MiB: never whole within the 4096-byte cap.
  byte_buffer big{0x30, 0x83, 0x10, 0x00, 0x00};
  big.resize(6000, 0);
  ntlm_info_exchange m(options());
  exchange_script s(m);
  s.start();
  reach_answer(s);
  ASSERT_TRUE(s.feed(big));
  ASSERT_TRUE(s.expect_done());
  EXPECT_TRUE(m.outcome().over_cap);
  EXPECT_EQ(m.outcome().received.size(), 4096u);
}

}  // namespace
}  // namespace rdp::test
