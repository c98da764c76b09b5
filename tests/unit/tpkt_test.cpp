#include "rdp/protocol/tpkt.hpp"

#include "hex.hpp"

#include <gtest/gtest.h>

#include <random>

namespace {

using namespace rdp::protocol;
using rdp::test::hex;

TEST(TpktPeek, SlowPathLength) {
  auto h = tpkt::peek_frame(hex("03 00 00 13 0e d0"));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->kind, tpkt::frame_kind::slow_path);
  EXPECT_EQ(h->length, 0x13u);
  EXPECT_EQ(h->header_length, 4u);
}

TEST(TpktPeek, NeedMoreOnEveryShortHeader) {
  const auto wire = hex("03 00 00 13");
  for (std::size_t n = 0; n < wire.size(); ++n) {
    auto h = tpkt::peek_frame(bytes_view(wire).first(n));
    ASSERT_FALSE(h);
    EXPECT_TRUE(is_need_more(h.error())) << n;
  }
}

TEST(TpktPeek, LengthBelowHeaderIsError) {
  auto h = tpkt::peek_frame(hex("03 00 00 03"));
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error(), make_error_code(errc::bad_frame_length));
}

TEST(TpktPeek, MinimumAndMaximumLengthsAccepted) {
  EXPECT_TRUE(tpkt::peek_frame(hex("03 00 00 04")));
  EXPECT_TRUE(tpkt::peek_frame(hex("03 00 ff ff")));
}

TEST(TpktPeek, CapIsErrorNotAllocation) {
  tpkt::framing_options options;
  options.max_frame = 1024;
  auto h = tpkt::peek_frame(hex("03 00 04 01"), options);
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error(), make_error_code(errc::frame_too_large));
  EXPECT_TRUE(tpkt::peek_frame(hex("03 00 04 00"), options));
}

TEST(TpktPeek, NonTpktRejectedUnlessFastPathAllowed) {
  auto h = tpkt::peek_frame(hex("48 54 54 50"));  // "HTTP"
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error(), make_error_code(errc::bad_tpkt_version));
}

TEST(TpktPeek, FastPathOneAndTwoByteLengths) {
  tpkt::framing_options options;
  options.allow_fast_path = true;
  auto one = tpkt::peek_frame(hex("00 05 01 02 03"), options);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->kind, tpkt::frame_kind::fast_path);
  EXPECT_EQ(one->length, 5u);
  EXPECT_EQ(one->header_length, 2u);
  auto two = tpkt::peek_frame(hex("00 81 00"), options);
  ASSERT_TRUE(two);
  EXPECT_EQ(two->length, 0x100u);
  EXPECT_EQ(two->header_length, 3u);
  auto need = tpkt::peek_frame(hex("00 81"), options);
  ASSERT_FALSE(need);
  EXPECT_TRUE(is_need_more(need.error()));
}

TEST(TpktPeek, FastPathOutOfRangeLengths) {
  tpkt::framing_options options;
  options.allow_fast_path = true;
  EXPECT_EQ(tpkt::peek_frame(hex("00 02"), options).error(), make_error_code(errc::bad_frame_length));
  EXPECT_EQ(tpkt::peek_frame(hex("00 80 02"), options).error(), make_error_code(errc::bad_frame_length));
  EXPECT_EQ(tpkt::peek_frame(hex("00 80 02"), options).error(), make_error_code(errc::bad_frame_length));
  EXPECT_EQ(tpkt::peek_frame(hex("00 81 01"), options)->length, 0x101u);
  EXPECT_EQ(tpkt::peek_frame(hex("00 ff ff"), options)->length, 0x7FFFu);  // the largest a 15-bit length holds
  // Action bits other than FASTPATH (0) and X224 (3) are not a frame start.
  EXPECT_EQ(tpkt::peek_frame(hex("01 05"), options).error(), make_error_code(errc::bad_tpkt_version));
}

TEST(TpktWrap, RoundTripsExactBytes) {
  const auto payload = hex("02 f0 80 21 80");
  EXPECT_EQ(tpkt::wrap(payload), hex("03 00 00 09 02 f0 80 21 80"));
}

TEST(TpktWrap, PayloadTooLargeIsError) {
  byte_buffer out;
  byte_writer w(out);
  EXPECT_EQ(tpkt::write_header(w, 0xFFFC), make_error_code(errc::value_out_of_range));
  EXPECT_FALSE(tpkt::write_header(w, 0xFFFB));
}

std::vector<std::uint8_t> three_frames() {
  auto a = hex("03 00 00 0b 06 d0 00 00 12 34 00");
  auto b = hex("03 00 00 09 02 f0 80 21 80");
  auto c = hex("03 00 00 04");
  a.insert(a.end(), b.begin(), b.end());
  a.insert(a.end(), c.begin(), c.end());
  return a;
}

std::vector<std::vector<std::uint8_t>> drain(tpkt::frame_decoder& d) {
  std::vector<std::vector<std::uint8_t>> frames;
  for (;;) {
    auto f = d.next();
    if (!f) {
      EXPECT_TRUE(is_need_more(f.error())) << f.error().message();
      return frames;
    }
    frames.emplace_back(f->bytes.begin(), f->bytes.end());
  }
}

TEST(TpktFrameDecoder, WholeStreamAtOnce) {
  tpkt::frame_decoder d;
  d.feed(three_frames());
  auto frames = drain(d);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[1], hex("03 00 00 09 02 f0 80 21 80"));
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(TpktFrameDecoder, ByteAtATime) {
  const auto stream = three_frames();
  tpkt::frame_decoder d;
  std::vector<std::vector<std::uint8_t>> frames;
  for (auto b : stream) {
    d.feed(bytes_view(&b, 1));
    auto more = drain(d);
    frames.insert(frames.end(), more.begin(), more.end());
  }
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0], hex("03 00 00 0b 06 d0 00 00 12 34 00"));
  EXPECT_EQ(frames[2], hex("03 00 00 04"));
}

TEST(TpktFrameDecoder, RandomSplitsGiveSameFrames) {
  const auto stream = three_frames();
  std::mt19937 rng(20261124);
  for (int round = 0; round < 200; ++round) {
    tpkt::frame_decoder d;
    std::vector<std::vector<std::uint8_t>> frames;
    std::size_t pos = 0;
    while (pos < stream.size()) {
      std::size_t n = std::uniform_int_distribution<std::size_t>(1, stream.size() - pos)(rng);
      d.feed(bytes_view(stream).subspan(pos, n));
      pos += n;
      auto more = drain(d);
      frames.insert(frames.end(), more.begin(), more.end());
    }
    ASSERT_EQ(frames.size(), 3u) << "round " << round;
  }
}

TEST(TpktFrameDecoder, ErrorIsSticky) {
  tpkt::frame_decoder d;
  d.feed(hex("16 03 01 00 05"));
  auto f = d.next();
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error(), make_error_code(errc::bad_tpkt_version));
  d.feed(hex("03 00 00 04"));
  EXPECT_EQ(d.next().error(), make_error_code(errc::bad_tpkt_version));
}

TEST(TpktFrameDecoder, HugeLengthRejectedBeforeBuffering) {
  tpkt::framing_options options;
  options.max_frame = 4096;
  tpkt::frame_decoder d(options);
  d.feed(hex("03 00 ff ff"));
  EXPECT_EQ(d.next().error(), make_error_code(errc::frame_too_large));
}

TEST(TpktFrameDecoder, LongStreamDoesNotGrowWithoutBound) {
  tpkt::frame_decoder d;
  const auto frame = hex("03 00 00 09 02 f0 80 21 80");
  for (int i = 0; i < 10000; ++i) {
    d.feed(frame);
    ASSERT_TRUE(d.next());
  }
  EXPECT_EQ(d.buffered(), 0u);
}

}  // namespace
