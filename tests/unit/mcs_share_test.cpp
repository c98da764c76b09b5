#include "rdp/protocol/mcs.hpp"
#include "rdp/protocol/share.hpp"
#include "rdp/protocol/x224.hpp"

#include "hex.hpp"

#include <gtest/gtest.h>

namespace {

using namespace rdp::protocol;
using rdp::test::hex;

TEST(McsDisconnectProviderUltimatum, WireFormsFromTheSpec) {
  // MS-RDPBCGR 2.2.2.3 / FreeRDP mcs.c: "21 80" is rn-user-requested, "20 80" rn-provider-initiated.
  EXPECT_EQ(mcs::encode({mcs::disconnect_reason::user_requested}), hex("21 80"));
  EXPECT_EQ(mcs::encode({mcs::disconnect_reason::provider_initiated}), hex("20 80"));
  EXPECT_EQ(mcs::encode({mcs::disconnect_reason::channel_purged}), hex("22 00"));
}

TEST(McsDisconnectProviderUltimatum, EveryReasonRoundTrips) {
  for (std::uint8_t reason = 0; reason <= 4; ++reason) {
    mcs::disconnect_provider_ultimatum dpu{static_cast<mcs::disconnect_reason>(reason)};
    auto r = mcs::decode_disconnect_provider_ultimatum(mcs::encode(dpu));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->value, dpu);
    EXPECT_EQ(r->consumed, 2u);
    EXPECT_TRUE(mcs::to_string(dpu.reason).starts_with("rn-"));
  }
}

TEST(McsDisconnectProviderUltimatum, Malformed) {
  EXPECT_EQ(mcs::decode_disconnect_provider_ultimatum(hex("21")).error(), make_error_code(errc::truncated));
  EXPECT_EQ(mcs::decode_disconnect_provider_ultimatum(hex("")).error(), make_error_code(errc::truncated));
  EXPECT_EQ(mcs::decode_disconnect_provider_ultimatum(hex("28 00")).error(), make_error_code(errc::unexpected_mcs_pdu));
  EXPECT_EQ(mcs::decode_disconnect_provider_ultimatum(hex("23 80")).error(), make_error_code(errc::bad_mcs));  // reason 7
}

TEST(McsSendData, DecodesOneAndTwoByteLengths) {
  // docs/wire-facts.md 4.2 (one-byte PER length 0x16) and FreeRDP's two-byte form.
  auto one = mcs::decode_send_data(hex("68 00 01 03 eb 70 02 aa bb"));
  ASSERT_TRUE(one);
  EXPECT_TRUE(one->value.indication);
  EXPECT_EQ(one->value.initiator, 1002);
  EXPECT_EQ(one->value.channel_id, 1003);
  EXPECT_EQ(one->value.user_data.size(), 2u);
  auto two = mcs::decode_send_data(hex("64 00 06 03 eb 70 80 02 aa bb"));
  ASSERT_TRUE(two);
  EXPECT_FALSE(two->value.indication);
  EXPECT_EQ(two->value.initiator, 1007);
}

TEST(McsSendData, Malformed) {
  EXPECT_EQ(mcs::decode_send_data(hex("68 00 01 03 eb 70 05 aa")).error(), make_error_code(errc::truncated));
  EXPECT_EQ(mcs::decode_send_data(hex("68 00 01 03 eb 70 01 aa bb")).error(), make_error_code(errc::trailing_bytes));
  EXPECT_EQ(mcs::decode_send_data(hex("68 00 01 03 eb 70 c0 01 aa")).error(), make_error_code(errc::bad_mcs));
  EXPECT_EQ(mcs::decode_send_data(hex("2e 00 00 06")).error(), make_error_code(errc::unexpected_mcs_pdu));
  EXPECT_EQ(mcs::decode_send_data(hex("68 fc 17 03 eb 70 00")).error(), make_error_code(errc::bad_mcs));
}

TEST(SetErrorInfo, DecodesTheSpecExampleWithOneByteLength) {
  // docs/wire-facts.md 4.2, derived from MS-RDPBCGR 2.2.5.1: errorInfo 3 (idle timeout), shareId 0x000103EA.
  const auto wire = hex(
      "03 00 00 24 02 f0 80 68 00 01 03 eb 70 16 16 00 17 00 00 00 "
      "ea 03 01 00 00 01 04 00 2f 00 00 00 03 00 00 00");
  auto event = share::inspect_server_frame(wire);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->kind, share::server_event_kind::set_error_info);
  EXPECT_EQ(event->error_info, 3u);
}

TEST(SetErrorInfo, EncodesFreeRdpLayoutAndRoundTrips) {
  const auto wire = share::encode_set_error_info({0x0C});
  // Same as the spec example but with FreeRDP's two-byte PER length (80 16) and TPKT length 37.
  EXPECT_EQ(wire, hex("03 00 00 25 02 f0 80 68 00 01 03 eb 70 80 16 16 00 17 00 00 00 "
                      "ea 03 01 00 00 01 04 00 2f 00 00 00 0c 00 00 00"));
  auto data = x224::decode_data(wire);
  ASSERT_TRUE(data);
  auto send = mcs::decode_send_data(data->value);
  ASSERT_TRUE(send);
  auto sei = share::decode_set_error_info(send->value.user_data);
  ASSERT_TRUE(sei);
  EXPECT_EQ(sei->value.error_info, 0x0Cu);
}

TEST(SetErrorInfo, OtherDataPduIsNotSetErrorInfo) {
  auto wire = share::encode_set_error_info({1});
  // TPKT 4 + X.224 3 + MCS 8 + share control 6 + shareId 4, pad, streamId, uncompressedLength 2 → pduType2 at 29.
  wire[29] = share::pdu_type2::save_session_info;
  auto data = x224::decode_data(wire);
  auto send = mcs::decode_send_data(data->value);
  EXPECT_EQ(share::decode_set_error_info(send->value.user_data).error(), make_error_code(errc::unexpected_share_pdu));
  EXPECT_EQ(share::inspect_server_frame(wire)->kind, share::server_event_kind::other);
}

TEST(SetErrorInfo, TruncatedBodyAndBadHeader) {
  EXPECT_EQ(share::decode_set_error_info(hex("16 00 17 00 00 00 ea 03 01 00 00 01 04 00 2f 00 00 00 03")).error(),
            make_error_code(errc::bad_share_header));  // totalLength 22 but only 19 bytes
  EXPECT_EQ(share::decode_set_error_info(hex("12 00 17 00 00 00 ea 03 01 00 00 01 04 00 2f 00 00 00")).error(),
            make_error_code(errc::truncated));  // header says 18 bytes, body missing
  EXPECT_EQ(share::decode_set_error_info(hex("00 80 17 00")).error(), make_error_code(errc::unexpected_share_pdu));
  EXPECT_EQ(share::decode_set_error_info(hex("16 00")).error(), make_error_code(errc::truncated));
}

TEST(InspectServerFrame, UltimatumDisconnectRequestDeactivateAndOther) {
  auto dpu = share::inspect_server_frame(hex("03 00 00 09 02 f0 80 21 80"));
  ASSERT_TRUE(dpu);
  EXPECT_EQ(dpu->kind, share::server_event_kind::disconnect_provider_ultimatum);
  EXPECT_EQ(dpu->reason, mcs::disconnect_reason::user_requested);
  EXPECT_EQ(share::inspect_server_frame(hex("03 00 00 0b 06 80 00 00 00 00 00"))->kind,
            share::server_event_kind::x224_disconnect_request);
  // docs/wire-facts.md 4.5 (derived from MS-RDPBCGR 2.2.3.1), TLS session Deactivate All.
  EXPECT_EQ(share::inspect_server_frame(
                hex("03 00 00 1b 02 f0 80 68 00 01 03 eb 70 0d 0d 00 16 00 ea 03 ea 03 01 00 01 00 00"))
                ->kind,
            share::server_event_kind::deactivate_all);
  EXPECT_EQ(share::inspect_server_frame(share::encode_deactivate_all())->kind, share::server_event_kind::deactivate_all);
  EXPECT_EQ(share::inspect_server_frame(hex("03 00 00 0b 02 f0 80 2e 00 00 06"))->kind, share::server_event_kind::other);
  EXPECT_FALSE(share::inspect_server_frame(hex("15 03 01 00 02 02 0a")));
}

}  // namespace
