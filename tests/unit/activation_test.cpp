// The connection sequence after MCS Connect: domain PDUs, Client Info, licensing, capabilities, finalization and
// the active-session PDUs rdpsim sends. Wire forms from docs/wire-facts.md 3.3-3.5 and 4.6 (derived from FreeRDP's
// mcs.c / license.c and MS-RDPBCGR), round trips for the rest, and every prefix of every PDU refused cleanly.
#include "rdp/protocol/activation.hpp"
#include "rdp/protocol/mcs.hpp"
#include "rdp/protocol/x224.hpp"

#include "hex.hpp"

#include <gtest/gtest.h>

namespace {

using namespace rdp::protocol;
using rdp::test::hex;

// The MCS user data of a whole server/client frame (TPKT, X.224 DT, Send Data stripped).
byte_buffer user_data_of(const byte_buffer& frame) {
  auto data = x224::decode_data(frame);
  EXPECT_TRUE(data);
  if (!data) return {};
  auto send = mcs::decode_send_data(data->value);
  EXPECT_TRUE(send);
  if (!send) return {};
  return byte_buffer(send->value.user_data.begin(), send->value.user_data.end());
}

template <class Decode>
void every_prefix_fails(const byte_buffer& full, Decode decode) {
  for (std::size_t n = 0; n < full.size(); ++n) {
    auto r = decode(bytes_view(full.data(), n));
    EXPECT_FALSE(r) << "a " << n << "-byte prefix of " << full.size() << " decoded";
  }
}

TEST(McsDomainPdus, WireFormsFromFreeRdp) {
  EXPECT_EQ(mcs::encode(mcs::erect_domain_request{}), hex("04 01 00 01 00"));
  EXPECT_EQ(mcs::encode(mcs::attach_user_request{}), hex("28"));
  EXPECT_EQ(*mcs::encode(mcs::attach_user_confirm{0, 1007}), hex("2e 00 00 06"));
  EXPECT_EQ(*mcs::encode(mcs::channel_join_request{1007, 1007}), hex("38 00 06 03 ef"));
  EXPECT_EQ(*mcs::encode(mcs::channel_join_confirm{0, 1007, 1007, 1007}), hex("3e 00 00 06 03 ef 03 ef"));
  // Framed as docs/wire-facts.md 3.3 shows them.
  EXPECT_EQ(x224::encode_data(*mcs::encode(mcs::attach_user_confirm{0, 1007})), hex("03 00 00 0b 02 f0 80 2e 00 00 06"));
}

TEST(McsDomainPdus, RoundTripAndRejects) {
  auto erect = mcs::decode_erect_domain_request(hex("04 01 00 01 00"));
  ASSERT_TRUE(erect);
  EXPECT_EQ(erect->value, mcs::erect_domain_request{});
  EXPECT_EQ(mcs::decode_erect_domain_request(hex("04 02 01 00 01 05"))->value, (mcs::erect_domain_request{256, 5}));
  EXPECT_TRUE(mcs::decode_attach_user_request(hex("28")));
  EXPECT_EQ(mcs::decode_attach_user_request(hex("28 00")).error(), make_error_code(errc::trailing_bytes));
  EXPECT_EQ(mcs::decode_attach_user_request(hex("2c")).error(), make_error_code(errc::unexpected_mcs_pdu));
  EXPECT_EQ(mcs::decode_attach_user_confirm(hex("2e 00 00 06"))->value, (mcs::attach_user_confirm{0, 1007}));
  EXPECT_EQ(mcs::decode_attach_user_confirm(hex("2c 00")).error(), make_error_code(errc::bad_mcs));  // no user id
  EXPECT_EQ(mcs::decode_channel_join_request(hex("38 00 06 03 eb"))->value, (mcs::channel_join_request{1007, 1003}));
  auto confirm = mcs::decode_channel_join_confirm(hex("3c 00 00 06 03 ef"));  // no channelId (a refused join)
  ASSERT_TRUE(confirm);
  EXPECT_FALSE(confirm->value.channel_id);
  EXPECT_EQ(mcs::encode(mcs::attach_user_confirm{0, 1000}).error(), make_error_code(errc::value_out_of_range));
  every_prefix_fails(hex("3e 00 00 06 03 ef 03 ef"), [](bytes_view b) { return mcs::decode_channel_join_confirm(b); });
  every_prefix_fails(hex("38 00 06 03 ef"), [](bytes_view b) { return mcs::decode_channel_join_request(b); });
  every_prefix_fails(hex("04 01 00 01 00"), [](bytes_view b) { return mcs::decode_erect_domain_request(b); });
}

TEST(Licensing, ValidClientFrameAsWireFactsDerivesIt) {
  share::data_pdu_route route;  // initiator 1002 on the I/O channel
  // docs/wire-facts.md 3.4, derived, with the two-byte PER length FreeRDP's rdp_write_header always writes (80 14).
  EXPECT_EQ(activation::encode(activation::license_error_alert{}, route),
            hex("03 00 00 23 02 f0 80 68 00 01 03 eb 70 80 14 80 00 00 00 ff 03 10 00 07 00 00 00 02 00 00 00 04 00 00 00"));
  auto alert = activation::decode_license_error_alert(user_data_of(activation::encode(activation::license_error_alert{}, route)));
  ASSERT_TRUE(alert);
  EXPECT_EQ(alert->value.error_code, 7u);
  EXPECT_EQ(alert->value.state_transition, 2u);
  every_prefix_fails(user_data_of(activation::encode(activation::license_error_alert{}, route)),
                     [](bytes_view b) { return activation::decode_license_error_alert(b); });
}

activation::client_info sample_client_info() {
  activation::client_info info;
  info.flags |= activation::info_flag::autologon | activation::info_flag::logon_errors;
  info.domain = "LAB";
  info.user = "alice";
  info.password = "pässword";  // non-ASCII survives UTF-16
  info.client_address = "127.0.0.1";
  info.client_dir = "C:\\Windows\\System32\\mstscax.dll";
  info.performance_flags = 0x6F;
  info.auto_reconnect_cookie = activation::arc_client_cookie{3, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};
  return info;
}

TEST(ClientInfo, RoundTripsWithCookie) {
  share::data_pdu_route route;
  route.from_server = false;
  route.initiator = 1007;
  auto frame = activation::encode(sample_client_info(), route);
  ASSERT_TRUE(frame);
  const auto user_data = user_data_of(*frame);
  ASSERT_GT(user_data.size(), 4u);
  EXPECT_EQ(user_data[0], 0x40);  // SEC_INFO_PKT
  auto decoded = activation::decode_client_info(user_data);
  ASSERT_TRUE(decoded) << decoded.error().message();
  auto expected = sample_client_info();
  expected.flags |= activation::info_flag::unicode;
  EXPECT_EQ(decoded->value, expected);
}

TEST(ClientInfo, WithoutExtendedInfoAndCookie) {
  auto info = sample_client_info();
  info.auto_reconnect_cookie.reset();
  share::data_pdu_route route;
  route.from_server = false;
  auto decoded = activation::decode_client_info(user_data_of(*activation::encode(info, route)));
  ASSERT_TRUE(decoded);
  EXPECT_FALSE(decoded->value.auto_reconnect_cookie);
  info.has_extended = false;
  decoded = activation::decode_client_info(user_data_of(*activation::encode(info, route)));
  ASSERT_TRUE(decoded);
  EXPECT_FALSE(decoded->value.has_extended);
  EXPECT_EQ(decoded->value.user, "alice");
}

TEST(ClientInfo, EncoderRefusesWhatTheDecoderWouldRefuse) {
  // Found by activation_fuzz: a 512-byte clientDir without its terminator decodes, and re-encoding it with the
  // terminator would make 514 bytes, more than a decoder accepts.
  auto info = sample_client_info();
  info.client_dir = std::string(256, 'x');
  share::data_pdu_route route;
  EXPECT_EQ(activation::encode(info, route).error(), make_error_code(errc::value_out_of_range));
  info.client_dir = std::string(255, 'x');
  EXPECT_TRUE(activation::encode(info, route));
}

TEST(ClientInfo, RejectsMalformed) {
  share::data_pdu_route route;
  auto user_data = user_data_of(*activation::encode(sample_client_info(), route));
  // Cut inside the fixed part or the strings: truncated; the optional tail after clientDir may be cut anywhere.
  const std::size_t strings_end = 4 + 18 + 2 * (3 + 5 + 8 + 0 + 0) + 5 * 2;
  for (std::size_t n = 0; n < strings_end; ++n)
    EXPECT_FALSE(activation::decode_client_info(bytes_view(user_data.data(), n))) << n;
  auto no_info_flag = user_data;
  no_info_flag[0] = 0x00;
  EXPECT_EQ(activation::decode_client_info(no_info_flag).error(), make_error_code(errc::unexpected_share_pdu));
  auto encrypted = user_data;
  encrypted[0] |= 0x08;
  EXPECT_EQ(activation::decode_client_info(encrypted).error(), make_error_code(errc::bad_share_header));
  auto odd_size = user_data;
  odd_size[4 + 8] = 5;  // cbDomain odd while INFO_UNICODE
  EXPECT_EQ(activation::decode_client_info(odd_size).error(), make_error_code(errc::bad_share_header));
  auto too_long = user_data;
  too_long[4 + 10] = 0x02;  // cbUserName 0x20A > 512
  too_long[4 + 11] = 0x02;
  EXPECT_EQ(activation::decode_client_info(too_long).error(), make_error_code(errc::bad_share_header));
  // A cookie whose cbAutoReconnectCookie is not 28 (before it: the cookie's 28 bytes, then reserved1, reserved2,
  // cbDynamicDSTTimeZoneKeyName and dynamicDaylightTimeDisabled, 2 bytes each).
  auto bad_cookie = user_data;
  bad_cookie[bad_cookie.size() - 30 - 8] = 27;
  EXPECT_EQ(activation::decode_client_info(bad_cookie).error(), make_error_code(errc::bad_share_header));
}

TEST(Capabilities, DemandActiveRoundTripsAndSummarizes) {
  activation::server_capabilities caps;
  caps.desktop_width = 800;
  caps.desktop_height = 600;
  activation::demand_active pdu;
  pdu.capabilities = activation::make_server_capability_sets(caps);
  pdu.session_id = 7;
  share::data_pdu_route route;
  route.pdu_source = 1002;
  auto frame = activation::encode(pdu, route);
  ASSERT_TRUE(frame);
  auto decoded = activation::decode_demand_active(user_data_of(*frame));
  ASSERT_TRUE(decoded) << decoded.error().message();
  EXPECT_EQ(decoded->value, pdu);
  ASSERT_EQ(decoded->value.capabilities.size(), 9u);
  // Lengths Windows and FreeRDP use for each set (FreeRDP's client rejects shorter ones).
  const std::pair<std::uint16_t, std::size_t> expected_lengths[] = {{1, 24}, {2, 28}, {3, 88}, {8, 10}, {13, 88},
                                                                    {20, 12}, {9, 8},  {14, 8}, {26, 8}};
  for (std::size_t i = 0; i < 9; ++i) {
    EXPECT_EQ(decoded->value.capabilities[i].type, expected_lengths[i].first);
    EXPECT_EQ(decoded->value.capabilities[i].body.size() + 4, expected_lengths[i].second) << "set " << i;
  }
  auto summary = activation::summarize(decoded->value.capabilities);
  EXPECT_EQ(summary.desktop_width, 800);
  EXPECT_EQ(summary.desktop_height, 600);
  EXPECT_EQ(summary.bits_per_pixel, 16);
  EXPECT_EQ(summary.os_major, 1);
  ASSERT_TRUE(summary.general_extra_flags);
  EXPECT_TRUE(*summary.general_extra_flags & activation::general_extra_flag::autoreconnect_supported);
  EXPECT_EQ(summary.multifragment_max_request, 0x00010000u);
  every_prefix_fails(user_data_of(*frame), [](bytes_view b) { return activation::decode_demand_active(b); });
}

TEST(Capabilities, ConfirmActiveRoundTripsAndRejectsOverrun) {
  activation::confirm_active pdu;
  pdu.capabilities = {{1, byte_buffer(20, 0)}, {2, byte_buffer(24, 0)}};
  share::data_pdu_route route;
  route.from_server = false;
  route.initiator = 1007;
  route.pdu_source = 1007;
  auto frame = activation::encode(pdu, route);
  ASSERT_TRUE(frame);
  auto user_data = user_data_of(*frame);
  auto decoded = activation::decode_confirm_active(user_data);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->value, pdu);
  EXPECT_EQ(activation::decode_demand_active(user_data).error(), make_error_code(errc::unexpected_share_pdu));
  // A set whose length runs past lengthCombinedCapabilities.
  auto overrun = user_data;
  const std::size_t first_set_length = 6 + 4 + 2 + 2 + 2 + 6 + 4 + 2;  // control hdr, shareId, originator, lengths, "MSTSC\0", count+pad, type
  overrun[first_set_length] = 0xF0;
  EXPECT_FALSE(activation::decode_confirm_active(overrun));
  auto short_set = user_data;
  short_set[first_set_length] = 2;  // a set shorter than its own header
  short_set[first_set_length + 1] = 0;
  EXPECT_EQ(activation::decode_confirm_active(short_set).error(), make_error_code(errc::bad_share_header));
}

TEST(Finalization, ServerPdusDecodeToWhatWasSent) {
  share::data_pdu_route route;
  auto sync = share::decode_share_pdu(user_data_of(activation::encode(activation::synchronize{1007}, route)));
  ASSERT_TRUE(sync);
  EXPECT_EQ(sync->value.data->type2, share::pdu_type2::synchronize);
  EXPECT_EQ(activation::decode_synchronize(sync->value.body)->value.target_user, 1007);
  const activation::control granted{activation::control_action::granted_control, 1007, 1002};
  auto control = share::decode_share_pdu(user_data_of(activation::encode(granted, route)));
  ASSERT_TRUE(control);
  EXPECT_EQ(activation::decode_control(control->value.body)->value, granted);
  EXPECT_EQ(activation::decode_control(hex("09 00 00 00 00 00 00 00")).error(), make_error_code(errc::bad_share_header));
  auto font_map = share::decode_share_pdu(user_data_of(activation::encode_font_map(route)));
  ASSERT_TRUE(font_map);
  EXPECT_EQ(font_map->value.data->type2, share::pdu_type2::font_map);
  EXPECT_EQ(font_map->value.body.size(), 8u);
  auto font_list = share::decode_share_pdu(user_data_of(activation::encode_font_list(route)));
  ASSERT_TRUE(font_list);
  EXPECT_EQ(font_list->value.data->type2, share::pdu_type2::font_list);
}

TEST(SaveSessionInfo, LogonLongAndExtendedRoundTrip) {
  share::data_pdu_route route;
  auto logon = activation::encode_logon_long(5, "LAB", "alice", route);
  ASSERT_TRUE(logon);
  auto pdu = share::decode_share_pdu(user_data_of(*logon));
  ASSERT_TRUE(pdu);
  EXPECT_EQ(pdu->value.data->type2, share::pdu_type2::save_session_info);
  auto info = activation::decode_save_session_info(pdu->value.body);
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(info->value.type, activation::info_type::logon_long);
  EXPECT_EQ(info->value.session_id, 5u);
  EXPECT_EQ(info->value.domain, "LAB");
  EXPECT_EQ(info->value.user, "alice");
  every_prefix_fails(byte_buffer(pdu->value.body.begin(), pdu->value.body.end()),
                     [](bytes_view b) { return activation::decode_save_session_info(b); });

  const activation::arc_server_cookie cookie{5, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6}};
  const activation::logon_errors errors{0, 0xFFFFFFFD};
  auto extended = share::decode_share_pdu(user_data_of(activation::encode_logon_extended(cookie, errors, route)));
  ASSERT_TRUE(extended);
  // 2.2.10.1.1.4: Length excludes the 570-byte pad: 2 + 4 + (4 + 28) + (4 + 8).
  EXPECT_EQ(extended->value.body[4] | (extended->value.body[5] << 8), 50);
  auto decoded = activation::decode_save_session_info(extended->value.body);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->value.cookie, cookie);
  EXPECT_EQ(decoded->value.errors, errors);
  EXPECT_EQ(activation::encode_logon_long(1, std::string(26, 'D'), "u", route).error(),
            make_error_code(errc::value_out_of_range));  // 26 UTF-16 chars + NUL > 52 bytes
}

TEST(ActiveSession, BitmapUpdateLayoutAndLimits) {
  share::data_pdu_route route;
  activation::bitmap_rectangle rect{8, 16, 4, 2, 16, byte_buffer(4 * 2 * 2, 0xAB)};
  auto frame = activation::encode_bitmap_update(std::span(&rect, 1), route);
  ASSERT_TRUE(frame);
  auto pdu = share::decode_share_pdu(user_data_of(*frame));
  ASSERT_TRUE(pdu);
  EXPECT_EQ(pdu->value.data->type2, share::pdu_type2::update);
  // updateType, count, left, top, right (inclusive), bottom (inclusive), width, height, bpp, flags, length
  EXPECT_EQ(byte_buffer(pdu->value.body.begin(), pdu->value.body.begin() + 22),
            hex("01 00 01 00 08 00 10 00 0b 00 11 00 04 00 02 00 10 00 00 00 10 00"));
  rect.pixels.pop_back();
  EXPECT_EQ(activation::encode_bitmap_update(std::span(&rect, 1), route).error(), make_error_code(errc::value_out_of_range));
  activation::bitmap_rectangle huge{0, 0, 128, 128, 32, byte_buffer(128 * 128 * 4, 0)};
  EXPECT_EQ(activation::encode_bitmap_update(std::span(&huge, 1), route).error(), make_error_code(errc::value_out_of_range));
}

TEST(ActiveSession, HeartbeatAndAutoReconnectStatus) {
  share::data_pdu_route route;
  auto frame = activation::encode(activation::heartbeat{30, 3, 6}, route);
  auto user_data = user_data_of(frame);
  EXPECT_EQ(user_data, hex("00 40 00 00 00 1e 03 06"));
  EXPECT_EQ(activation::decode_heartbeat(user_data)->value, (activation::heartbeat{30, 3, 6}));
  every_prefix_fails(user_data, [](bytes_view b) { return activation::decode_heartbeat(b); });
  auto status = share::decode_share_pdu(user_data_of(activation::encode_auto_reconnect_status(route)));
  ASSERT_TRUE(status);
  EXPECT_EQ(status->value.data->type2, share::pdu_type2::arc_status);
  EXPECT_EQ(byte_buffer(status->value.body.begin(), status->value.body.end()), hex("00 00 00 00"));
}

TEST(SharePdu, DecodeSplitsHeadersAndBody) {
  share::data_pdu_route route;
  auto user_data = user_data_of(share::encode_set_error_info({0x0C}, route));
  auto pdu = share::decode_share_pdu(user_data);
  ASSERT_TRUE(pdu);
  EXPECT_EQ(pdu->value.control.type, share::pdu_type::data);
  EXPECT_EQ(pdu->value.data->type2, share::pdu_type2::set_error_info);
  EXPECT_EQ(byte_buffer(pdu->value.body.begin(), pdu->value.body.end()), hex("0c 00 00 00"));
  auto compressed = user_data;
  compressed[6 + 9] = 0x20;  // compressedType: PACKET_COMPRESSED
  EXPECT_EQ(share::decode_share_pdu(compressed).error(), make_error_code(errc::bad_share_header));
}

}  // namespace
