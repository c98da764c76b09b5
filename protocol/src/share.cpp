#include "rdp/protocol/share.hpp"

#include "rdp/protocol/tpkt.hpp"
#include "rdp/protocol/x224.hpp"

#include <algorithm>

namespace rdp::protocol::share {
namespace {

constexpr std::uint16_t flow_control_marker = 0x8000;

constexpr std::size_t mcs_send_data_header_size = 8;  // choice, initiator, channel, priority, 2-byte length

// TPKT + X.224 data + MCS Send Data header for `user_data_size` bytes that the caller appends.
byte_buffer start_frame(std::size_t user_data_size, const data_pdu_route& route) {
  byte_buffer out;
  out.reserve(tpkt::header_size + x224::data_header_size + mcs_send_data_header_size + user_data_size);
  byte_writer w(out);
  x224::write_data_header(w, mcs_send_data_header_size + user_data_size);
  mcs::write_send_data_header(w, route.from_server, route.initiator, route.channel_id, user_data_size);
  return out;
}

}  // namespace

byte_buffer encode_send_data(bytes_view user_data, const data_pdu_route& route) {
  auto out = start_frame(user_data.size(), route);
  byte_writer(out).bytes(user_data);
  return out;
}

byte_buffer encode_control_pdu(std::uint16_t type, bytes_view body, const data_pdu_route& route) {
  const std::size_t share_length = control_header_size + body.size();
  auto out = start_frame(share_length, route);
  byte_writer w(out);
  w.u16le(static_cast<std::uint16_t>(share_length));
  w.u16le(static_cast<std::uint16_t>(type | protocol_version));
  w.u16le(route.pdu_source);
  w.bytes(body);
  return out;
}

byte_buffer encode_data_pdu(std::uint8_t type2, bytes_view body, const data_pdu_route& route) {
  byte_buffer share;
  share.reserve(data_header_size + body.size());
  byte_writer w(share);
  w.u32le(route.share_id);
  w.u8(0);  // pad1
  w.u8(1);  // STREAM_LOW
  // uncompressedLength: FreeRDP writes the body length and ignores the field on receive for uncompressed PDUs.
  w.u16le(static_cast<std::uint16_t>(body.size()));
  w.u8(type2);
  w.u8(0);  // not compressed
  w.u16le(0);
  w.bytes(body);
  return encode_control_pdu(pdu_type::data, share, route);
}

decode_result<share_pdu> decode_share_pdu(bytes_view user_data) {
  auto control = decode_control_header(user_data);
  if (!control) return control.error();
  share_pdu pdu;
  pdu.control = control->value;
  // Windows XP's 4-byte Deactivate All has no pduSource and no body.
  const std::size_t total = std::max<std::size_t>(pdu.control.total_length, control->consumed);
  std::size_t offset = control->consumed;
  if (pdu.control.type == pdu_type::data) {
    auto data = decode_data_header(user_data.subspan(offset, total - offset));
    if (!data) return data.error();
    if (data->value.compressed_type & 0x20) return make_error_code(errc::bad_share_header);
    pdu.data = data->value;
    offset += data->consumed;
  }
  pdu.body = user_data.subspan(offset, total - offset);
  return decoded<share_pdu>{pdu, total};
}

decode_result<control_header> decode_control_header(bytes_view user_data) {
  byte_reader r(user_data);
  control_header h;
  if (!r.u16le(h.total_length)) return make_error_code(errc::truncated);
  if (h.total_length == flow_control_marker) return make_error_code(errc::unexpected_share_pdu);
  std::uint16_t type = 0;
  if (!r.u16le(type)) return make_error_code(errc::truncated);
  h.type = type & 0x0F;
  // Windows XP sends a Deactivate All with only the 4-byte header (2.2.3.1): pduSource is then absent.
  if (h.total_length == 4 && h.type == pdu_type::deactivate_all) return decoded<control_header>{h, 4};
  if (!r.u16le(h.source)) return make_error_code(errc::truncated);
  if (h.total_length < control_header_size || h.total_length > user_data.size())
    return make_error_code(errc::bad_share_header);
  return decoded<control_header>{h, control_header_size};
}

decode_result<data_header> decode_data_header(bytes_view after_control_header) {
  byte_reader r(after_control_header);
  data_header h;
  std::uint8_t pad = 0;
  if (!r.u32le(h.share_id) || !r.u8(pad) || !r.u8(h.stream_id) || !r.u16le(h.uncompressed_length) ||
      !r.u8(h.type2) || !r.u8(h.compressed_type) || !r.u16le(h.compressed_length))
    return make_error_code(errc::truncated);
  return decoded<data_header>{h, data_header_size};
}

byte_buffer encode_set_error_info(const set_error_info& pdu, const data_pdu_route& route) {
  byte_buffer body;
  byte_writer(body).u32le(pdu.error_info);
  return encode_data_pdu(pdu_type2::set_error_info, body, route);
}

decode_result<set_error_info> decode_set_error_info(bytes_view user_data) {
  auto control = decode_control_header(user_data);
  if (!control) return control.error();
  if (control->value.type != pdu_type::data) return make_error_code(errc::unexpected_share_pdu);
  auto data = decode_data_header(user_data.subspan(control->consumed));
  if (!data) return data.error();
  if (data->value.type2 != pdu_type2::set_error_info) return make_error_code(errc::unexpected_share_pdu);
  // MS-RDPBCGR 3.3.5.7.1 (compression) is never applied to Set Error Info by real servers; a compressed one
  // would be unreadable without the bulk decompressor.
  if (data->value.compressed_type & 0x20) return make_error_code(errc::bad_share_header);
  byte_reader r(user_data.subspan(control->consumed + data->consumed));
  set_error_info pdu;
  if (!r.u32le(pdu.error_info)) return make_error_code(errc::truncated);
  return decoded<set_error_info>{pdu, control->consumed + data->consumed + 4};
}

byte_buffer encode_deactivate_all(const data_pdu_route& route) {
  byte_buffer body;
  byte_writer w(body);
  w.u32le(route.share_id);
  w.u16le(1);  // lengthSourceDescriptor
  w.u8(0);
  data_pdu_route from_user = route;
  from_user.pdu_source = route.initiator;  // FreeRDP's server names its user id here
  return encode_control_pdu(pdu_type::deactivate_all, body, from_user);
}

boost::system::result<server_event> inspect_server_frame(bytes_view frame) {
  auto header = tpkt::peek_frame(frame);
  if (!header) return header.error();
  server_event event;
  const auto code = x224::peek_tpdu_code(frame);
  if (code && (*code & 0xF0) == x224::tpdu_code::disconnect_request) {
    event.kind = server_event_kind::x224_disconnect_request;
    return event;
  }
  auto data = x224::decode_data(frame);
  if (!data) return event;
  const bytes_view mcs_bytes = data->value;
  if (auto dpu = mcs::decode_disconnect_provider_ultimatum(mcs_bytes)) {
    event.kind = server_event_kind::disconnect_provider_ultimatum;
    event.reason = dpu->value.reason;
    return event;
  }
  auto send = mcs::decode_send_data(mcs_bytes);
  if (!send) return event;
  if (auto sei = decode_set_error_info(send->value.user_data)) {
    event.kind = server_event_kind::set_error_info;
    event.error_info = sei->value.error_info;
    return event;
  }
  if (auto control = decode_control_header(send->value.user_data);
      control && control->value.type == pdu_type::deactivate_all)
    event.kind = server_event_kind::deactivate_all;
  return event;
}

}  // namespace rdp::protocol::share
