#include "rdp/protocol/ber.hpp"

#include "hex.hpp"

#include <gtest/gtest.h>

namespace {

using namespace rdp::protocol;
using rdp::test::hex;

byte_buffer written(auto fn) {
  byte_buffer out;
  byte_writer w(out);
  fn(w);
  return out;
}

TEST(Ber, IntegersAreMinimalTwosComplement) {
  EXPECT_EQ(written([](auto& w) { ber::write_integer(w, 0); }), hex("02 01 00"));
  EXPECT_EQ(written([](auto& w) { ber::write_integer(w, 0x7F); }), hex("02 01 7f"));
  EXPECT_EQ(written([](auto& w) { ber::write_integer(w, 0x80); }), hex("02 02 00 80"));
  EXPECT_EQ(written([](auto& w) { ber::write_integer(w, 65535); }), hex("02 03 00 ff ff"));
  EXPECT_EQ(written([](auto& w) { ber::write_integer(w, -1); }), hex("02 01 ff"));
  EXPECT_EQ(written([](auto& w) { ber::write_integer(w, 96); }), hex("02 01 60"));  // nmap's TSRequest version
  for (std::int64_t v : {0ll, 1ll, -1ll, 127ll, 128ll, -128ll, -129ll, 65535ll, 1ll << 40, -(1ll << 40)}) {
    const auto wire = written([&](auto& w) { ber::write_integer(w, v); });
    ber::reader r(wire);
    auto back = r.integer();
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, v);
    EXPECT_TRUE(r.empty());
  }
}

TEST(Ber, LongLengthsAndHighTags) {
  // MCS Connect-Initial: [APPLICATION 101] constructed = 7f 65, length 0x194 = 82 01 94 (docs/wire-facts.md 2.2).
  const byte_buffer content(0x194, 0xAB);
  const auto wire = written([&](auto& w) { ber::write_tlv(w, ber::application(101), content); });
  EXPECT_EQ(byte_buffer(wire.begin(), wire.begin() + 5), hex("7f 65 82 01 94"));
  auto t = ber::read_tlv(wire);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->value.tag, ber::application(101));
  EXPECT_EQ(t->value.value.size(), 0x194u);
  EXPECT_EQ(t->consumed, wire.size());
}

TEST(Ber, EveryPrefixNeedsMore) {
  const byte_buffer content(200, 1);
  const auto wire = written([&](auto& w) { ber::write_tlv(w, ber::application(102), content); });
  for (std::size_t n = 0; n < wire.size(); ++n) {
    auto t = ber::read_tlv(bytes_view(wire).first(n));
    ASSERT_FALSE(t);
    EXPECT_TRUE(is_need_more(t.error())) << n;
  }
}

TEST(Ber, RejectsIndefiniteAndHugeLengths) {
  EXPECT_EQ(ber::read_tlv(hex("30 80 00 00")).error(), make_error_code(errc::value_out_of_range));
  EXPECT_EQ(ber::read_tlv(hex("30 85 01 00 00 00 00")).error(), make_error_code(errc::value_out_of_range));
  EXPECT_EQ(ber::read_tlv(hex("30 84 ff ff ff ff")).error(), make_error_code(errc::value_out_of_range));
  EXPECT_EQ(ber::read_tlv(hex("1f ff ff ff ff 7f 00")).error(), make_error_code(errc::value_out_of_range));
}

TEST(Ber, ReaderChecksTags) {
  const auto wire = hex("a0 03 02 01 60 04 02 aa bb 01 01 ff 0a 01 00");
  ber::reader r(wire);
  auto version = r.expect(ber::context(0));
  ASSERT_TRUE(version);
  EXPECT_EQ(*ber::reader(*version).integer(), 0x60);
  EXPECT_FALSE(r.next_if(ber::context(1)));
  EXPECT_EQ(r.octet_string()->size(), 2u);
  EXPECT_EQ(*r.boolean(), true);
  EXPECT_EQ(*r.enumerated(), 0u);
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.next().error(), make_error_code(errc::truncated));
  const auto octets = hex("04 01 00");
  ber::reader wrong(octets);
  EXPECT_EQ(wrong.integer().error(), make_error_code(errc::value_out_of_range));
}

TEST(Ber, EnumeratedAndBoolean) {
  EXPECT_EQ(written([](auto& w) { ber::write_enumerated(w, 0); }), hex("0a 01 00"));
  EXPECT_EQ(written([](auto& w) { ber::write_enumerated(w, 0x80); }), hex("0a 02 00 80"));
  EXPECT_EQ(written([](auto& w) { ber::write_boolean(w, true); }), hex("01 01 ff"));
}

}  // namespace
