#include "rdp/protocol/mcs.hpp"

namespace rdp::protocol::mcs {

std::string_view to_string(disconnect_reason r) noexcept {
  switch (r) {
    case disconnect_reason::domain_disconnected: return "rn-domain-disconnected";
    case disconnect_reason::provider_initiated: return "rn-provider-initiated";
    case disconnect_reason::token_purged: return "rn-token-purged";
    case disconnect_reason::user_requested: return "rn-user-requested";
    case disconnect_reason::channel_purged: return "rn-channel-purged";
  }
  return "rn-unknown";
}

std::optional<std::uint8_t> peek_choice(bytes_view mcs) noexcept {
  if (mcs.empty()) return std::nullopt;
  return static_cast<std::uint8_t>(mcs[0] >> 2);
}

byte_buffer encode(const disconnect_provider_ultimatum& dpu) {
  const auto reason = static_cast<std::uint8_t>(dpu.reason);
  return {static_cast<std::uint8_t>((choice::disconnect_provider_ultimatum << 2) | (reason >> 1)),
          static_cast<std::uint8_t>((reason & 1) << 7)};
}

decode_result<disconnect_provider_ultimatum> decode_disconnect_provider_ultimatum(bytes_view mcs) {
  if (mcs.size() < 2) return make_error_code(errc::truncated);
  if ((mcs[0] >> 2) != choice::disconnect_provider_ultimatum) return make_error_code(errc::unexpected_mcs_pdu);
  // The reason straddles the two bytes: its top two bits are the low bits of byte 0, its low bit is byte 1's MSB.
  // (FreeRDP's reader keeps only one bit of byte 0 and so reads rn-channel-purged as 0; we read all three.)
  const auto reason = static_cast<std::uint8_t>(((mcs[0] & 0x03) << 1) | (mcs[1] >> 7));
  if (reason > static_cast<std::uint8_t>(disconnect_reason::channel_purged)) return make_error_code(errc::bad_mcs);
  return decoded<disconnect_provider_ultimatum>{{static_cast<disconnect_reason>(reason)}, 2};
}

decode_result<send_data> decode_send_data(bytes_view mcs) {
  byte_reader r(mcs);
  std::uint8_t first = 0, priority = 0, len1 = 0;
  send_data out;
  std::uint16_t initiator = 0;
  if (!r.u8(first)) return make_error_code(errc::truncated);
  const auto c = static_cast<std::uint8_t>(first >> 2);
  if (c != choice::send_data_indication && c != choice::send_data_request)
    return make_error_code(errc::unexpected_mcs_pdu);
  out.indication = c == choice::send_data_indication;
  if (!r.u16be(initiator) || !r.u16be(out.channel_id) || !r.u8(priority) || !r.u8(len1))
    return make_error_code(errc::truncated);
  if (initiator > 0xFFFF - base_channel_id) return make_error_code(errc::bad_mcs);
  out.initiator = static_cast<std::uint16_t>(initiator + base_channel_id);
  // PER length determinant (X.691 10.9): one byte below 128, else two bytes with the top bit set (15 bits).
  std::size_t length = len1;
  if (len1 & 0x80) {
    if (len1 & 0x40) return make_error_code(errc::bad_mcs);  // fragmented lengths are never used by RDP
    std::uint8_t len2 = 0;
    if (!r.u8(len2)) return make_error_code(errc::truncated);
    length = (std::size_t{len1 & 0x3Fu} << 8) | len2;
  }
  if (!r.bytes(length, out.user_data)) return make_error_code(errc::truncated);
  if (!r.empty()) return make_error_code(errc::trailing_bytes);
  return decoded<send_data>{out, r.position()};
}

boost::system::error_code write_send_data_header(byte_writer& out, bool indication, std::uint16_t initiator,
                                                 std::uint16_t channel_id, std::size_t user_data_size) {
  if (initiator < base_channel_id || user_data_size > 0x3FFF) return make_error_code(errc::value_out_of_range);
  out.u8(static_cast<std::uint8_t>((indication ? choice::send_data_indication : choice::send_data_request) << 2));
  out.u16be(static_cast<std::uint16_t>(initiator - base_channel_id));
  out.u16be(channel_id);
  out.u8(0x70);  // dataPriority high, segmentation begin|end
  // Always the two-byte form, as FreeRDP and Windows write it (rdp.c rdp_write_header).
  out.u16be(static_cast<std::uint16_t>(0x8000 | user_data_size));
  return {};
}

}  // namespace rdp::protocol::mcs
