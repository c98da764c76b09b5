// The probe's X.224 exchange (protocol/x224_negotiation.hpp) driven as a script on made-up time: the Connection
// Request's exact bytes (with and without RDP_NEG_REQ), a Connection Confirm fed whole, byte at a time and at every
// split, and each other way the answer can end — not TPKT (a banner), a TPKT length over the cap, a whole frame that
// is not a CC, the cap, silence, a reset with bytes kept, a send that fails or times out, a cookie too long to encode.
#include "rdp/protocol/errc.hpp"
#include "rdp/protocol/x224_negotiation.hpp"

#include "script.hpp"

#include <gtest/gtest.h>

namespace rdp::test {
namespace {

using namespace std::chrono_literals;
using protocol::byte_buffer;
using protocol::x224_negotiation;
using protocol::x224_negotiation_stop;
namespace x224 = protocol::x224;
using negotiation_script = script<x224_negotiation>;

const boost::system::error_code reset = boost::system::errc::make_error_code(boost::system::errc::connection_reset);
constexpr std::uint32_t ssl_hybrid = 0x3;

protocol::x224_negotiation_options options(std::optional<std::uint32_t> requested = ssl_hybrid) {
  protocol::x224_negotiation_options o;
  o.cookie = "probe";
  o.requested = requested;
  o.cap = 512;
  o.read_timeout = 800ms;
  return o;
}

byte_buffer confirm_selecting(std::uint32_t selected) {
  x224::connection_confirm cc;
  cc.negotiation = protocol::neg_response{0, selected};
  return x224::encode(cc);
}

void reach_answer(negotiation_script& s, std::optional<std::uint32_t> requested = ssl_hybrid) {
  ASSERT_TRUE(s.expect(seq::action_kind::write));
  EXPECT_EQ(s.pending().deadline, s.now() + 800ms);
  x224::connection_request cr;
  cr.cookie = "probe";
  if (requested) cr.negotiation = protocol::neg_request{0, *requested};
  const auto expected = x224::encode(cr).value();
  ASSERT_TRUE(s.expect_write([&](protocol::bytes_view b) { return byte_buffer(b.begin(), b.end()) == expected; }));
  ASSERT_TRUE(s.expect(seq::action_kind::read));
}

TEST(X224Negotiation, ReadsTheConfirmWholeByteAtATimeAndAtEverySplit) {
  const auto cc = confirm_selecting(2);
  for (std::size_t cut = 0; cut <= cc.size(); ++cut) {  // cut == size: byte at a time
    x224_negotiation m(options());
    negotiation_script s(m);
    s.start();
    reach_answer(s);
    s.advance(4ms);
    ASSERT_TRUE(cut == cc.size() ? s.feed(cc, 1) : s.feed_split(cc, {cut}));
    ASSERT_TRUE(s.expect_done());
    const auto& out = m.outcome();
    ASSERT_TRUE(out.confirm) << "cut " << cut;
    EXPECT_EQ(std::get<protocol::neg_response>(out.confirm->negotiation).selected_protocol, 2u);
    EXPECT_EQ(out.confirm_size, cc.size());
    EXPECT_EQ(out.received, cc);
    EXPECT_EQ(out.ended_at - out.sent_at, 4ms);
    EXPECT_FALSE(out.malformed);
    EXPECT_FALSE(out.timed_out);
  }
}

TEST(X224Negotiation, WithoutNegReqAsksForStandardSecurity) {
  x224::connection_confirm cc;  // no RDP_NEG_RSP: Standard RDP Security
  x224_negotiation m(options(std::nullopt));
  negotiation_script s(m);
  s.start();
  reach_answer(s, std::nullopt);
  ASSERT_TRUE(s.feed(x224::encode(cc)));
  ASSERT_TRUE(s.expect_done());
  ASSERT_TRUE(m.outcome().confirm);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(m.outcome().confirm->negotiation));
}

TEST(X224Negotiation, ABannerIsNotTpktAtOnce) {
  const byte_buffer banner{'S', 'S', 'H', '-', '2', '.', '0', '-', 'x', '\r', '\n'};
  x224_negotiation m(options());
  negotiation_script s(m);
  s.start();
  reach_answer(s);
  ASSERT_TRUE(s.feed(banner));
  ASSERT_TRUE(s.expect_done());
  EXPECT_EQ(m.outcome().malformed, protocol::errc::bad_tpkt_version);
  EXPECT_EQ(m.outcome().received, banner);
}

TEST(X224Negotiation, ATpktLengthOverTheCapEndsAtOnce) {
  x224_negotiation m(options());
  negotiation_script s(m);
  s.start();
  reach_answer(s);
  ASSERT_TRUE(s.feed(byte_buffer{0x03, 0x00, 0x10, 0x00}));  // 4096 bytes announced, cap 512
  ASSERT_TRUE(s.expect_done());
  EXPECT_EQ(m.outcome().malformed, protocol::errc::frame_too_large);
}

TEST(X224Negotiation, AWholeFrameThatIsNotAConfirmIsMalformed) {
  const byte_buffer data_tpdu{0x03, 0x00, 0x00, 0x09, 0x02, 0xF0, 0x80, 0x7F, 0x66};  // X.224 Data, not a CC
  x224_negotiation m(options());
  negotiation_script s(m);
  s.start();
  reach_answer(s);
  ASSERT_TRUE(s.feed(data_tpdu));
  ASSERT_TRUE(s.expect_done());
  EXPECT_TRUE(m.outcome().malformed);
  EXPECT_FALSE(m.outcome().confirm);
}

TEST(X224Negotiation, SilenceTimesOutAndATricklingPeerCannotStretchIt) {
  const auto cc = confirm_selecting(1);
  x224_negotiation m(options());
  negotiation_script s(m);
  s.start();
  reach_answer(s);
  const auto deadline = s.pending().deadline;
  for (std::size_t i = 0; i < 3; ++i) {
    s.advance(200ms);
    ASSERT_TRUE(s.feed(protocol::bytes_view(cc).subspan(i, 1)));
    EXPECT_EQ(s.pending().deadline, deadline);
  }
  ASSERT_TRUE(s.time_out());
  ASSERT_TRUE(s.expect_done());
  EXPECT_TRUE(m.outcome().timed_out);
  EXPECT_EQ(m.outcome().received.size(), 3u);
  EXPECT_EQ(m.outcome().stopped_at, x224_negotiation_stop::answer);
}

TEST(X224Negotiation, AResetKeepsWhatCame) {
  x224_negotiation m(options());
  negotiation_script s(m);
  s.start();
  reach_answer(s);
  ASSERT_TRUE(s.feed(byte_buffer{0x03, 0x00}));
  ASSERT_TRUE(s.fail(reset));
  ASSERT_TRUE(s.expect_done());
  EXPECT_EQ(m.outcome().io_error, reset);
  EXPECT_EQ(m.outcome().received.size(), 2u);
}

TEST(X224Negotiation, AFrameOfTheCapIsJudgedWhenWhole) {
  // A TPKT frame of exactly the cap (512) with a Data TPDU inside: judged once whole, never waited past.
  byte_buffer frame{0x03, 0x00, 0x02, 0x00, 0x02, 0xF0, 0x80};
  frame.resize(512, 0);
  x224_negotiation m(options());
  negotiation_script s(m);
  s.start();
  reach_answer(s);
  ASSERT_TRUE(s.feed(protocol::bytes_view(frame).first(500), 100));
  ASSERT_TRUE(s.expect(seq::action_kind::read));
  ASSERT_TRUE(s.feed(protocol::bytes_view(frame).subspan(500)));
  ASSERT_TRUE(s.expect_done());
  EXPECT_TRUE(m.outcome().malformed);
  EXPECT_FALSE(m.outcome().over_cap);
  EXPECT_EQ(m.outcome().received.size(), 512u);
}

TEST(X224Negotiation, TheCapEndsTheWait) {
  // A cap below a TPKT header: three bytes in, still no verdict, the cap ends it and keeps no more.
  auto o = options();
  o.cap = 3;
  x224_negotiation m(o);
  negotiation_script s(m);
  s.start();
  reach_answer(s);
  ASSERT_TRUE(s.feed(byte_buffer{0x03, 0x00, 0x00, 0x13, 0x0E}));
  ASSERT_TRUE(s.expect_done());
  EXPECT_TRUE(m.outcome().over_cap);
  EXPECT_FALSE(m.outcome().malformed);
  EXPECT_EQ(m.outcome().received.size(), 3u);
}

TEST(X224Negotiation, SendFailureAndTimeoutStopAtSend) {
  for (bool timeout : {false, true}) {
    x224_negotiation m(options());
    negotiation_script s(m);
    s.start();
    ASSERT_TRUE(timeout ? s.time_out() : s.fail(reset));
    ASSERT_TRUE(s.expect_done());
    EXPECT_EQ(m.outcome().stopped_at, x224_negotiation_stop::send);
    EXPECT_EQ(m.outcome().timed_out, timeout);
    EXPECT_TRUE(m.outcome().received.empty());
  }
}

TEST(X224Negotiation, ACookieTooLongToEncodeStopsBeforeWriting) {
  auto o = options();
  o.cookie = std::string(70000, 'x');
  x224_negotiation m(o);
  negotiation_script s(m);
  s.start();
  ASSERT_TRUE(s.expect_done());
  EXPECT_TRUE(m.outcome().io_error);
  EXPECT_FALSE(m.outcome().encoded);
}

}  // namespace
}  // namespace rdp::test
