#include "rdp/protocol/mcs.hpp"

#include "rdp/protocol/ber.hpp"
#include "rdp/protocol/per.hpp"
#include "rdp/protocol/x224.hpp"

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


// ---- Domain PDUs of the connection sequence ------------------------------------------------------------------------
namespace {

// Checks the choice in the first byte and positions `r` after it. `option_bits` receives the low two bits.
boost::system::error_code read_choice(byte_reader& r, std::uint8_t expected, std::uint8_t& option_bits) {
  std::uint8_t first = 0;
  if (!r.u8(first)) return make_error_code(errc::truncated);
  if ((first >> 2) != expected) return make_error_code(errc::unexpected_mcs_pdu);
  option_bits = first & 0x03;
  return {};
}

template <class T>
decode_result<T> finish(const byte_reader& r, T value) {
  if (!r.empty()) return make_error_code(errc::trailing_bytes);
  return decoded<T>{std::move(value), r.position()};
}

std::uint8_t first_byte(std::uint8_t c, std::uint8_t option_bits = 0) {
  return static_cast<std::uint8_t>((c << 2) | option_bits);
}

}  // namespace

byte_buffer encode(const erect_domain_request& pdu) {
  byte_buffer out{first_byte(choice::erect_domain_request)};
  byte_writer w(out);
  per::write_integer(w, pdu.sub_height);
  per::write_integer(w, pdu.sub_interval);
  return out;
}

decode_result<erect_domain_request> decode_erect_domain_request(bytes_view mcs) {
  byte_reader r(mcs);
  std::uint8_t options = 0;
  erect_domain_request pdu;
  if (auto ec = read_choice(r, choice::erect_domain_request, options)) return ec;
  if (auto ec = per::read_integer(r, pdu.sub_height)) return ec;
  if (auto ec = per::read_integer(r, pdu.sub_interval)) return ec;
  return finish(r, pdu);
}

byte_buffer encode(const attach_user_request&) { return {first_byte(choice::attach_user_request)}; }

decode_result<attach_user_request> decode_attach_user_request(bytes_view mcs) {
  byte_reader r(mcs);
  std::uint8_t options = 0;
  if (auto ec = read_choice(r, choice::attach_user_request, options)) return ec;
  return finish(r, attach_user_request{});
}

boost::system::result<byte_buffer> encode(const attach_user_confirm& pdu) {
  byte_buffer out{first_byte(choice::attach_user_confirm, 0x02), pdu.result};
  byte_writer w(out);
  if (auto ec = per::write_integer16(w, pdu.initiator, base_channel_id)) return ec;
  return out;
}

decode_result<attach_user_confirm> decode_attach_user_confirm(bytes_view mcs) {
  byte_reader r(mcs);
  std::uint8_t options = 0;
  attach_user_confirm pdu;
  if (auto ec = read_choice(r, choice::attach_user_confirm, options)) return ec;
  if (!r.u8(pdu.result)) return make_error_code(errc::truncated);
  if (!(options & 0x02)) return make_error_code(errc::bad_mcs);  // no user id: nothing a client could use
  if (auto ec = per::read_integer16(r, base_channel_id, pdu.initiator)) return ec;
  return finish(r, pdu);
}

boost::system::result<byte_buffer> encode(const channel_join_request& pdu) {
  byte_buffer out{first_byte(choice::channel_join_request)};
  byte_writer w(out);
  if (auto ec = per::write_integer16(w, pdu.initiator, base_channel_id)) return ec;
  w.u16be(pdu.channel_id);
  return out;
}

decode_result<channel_join_request> decode_channel_join_request(bytes_view mcs) {
  byte_reader r(mcs);
  std::uint8_t options = 0;
  channel_join_request pdu;
  if (auto ec = read_choice(r, choice::channel_join_request, options)) return ec;
  if (auto ec = per::read_integer16(r, base_channel_id, pdu.initiator)) return ec;
  if (!r.u16be(pdu.channel_id)) return make_error_code(errc::truncated);
  return finish(r, pdu);
}

boost::system::result<byte_buffer> encode(const channel_join_confirm& pdu) {
  byte_buffer out{first_byte(choice::channel_join_confirm, pdu.channel_id ? 0x02 : 0x00), pdu.result};
  byte_writer w(out);
  if (auto ec = per::write_integer16(w, pdu.initiator, base_channel_id)) return ec;
  w.u16be(pdu.requested);
  if (pdu.channel_id) w.u16be(*pdu.channel_id);
  return out;
}

decode_result<channel_join_confirm> decode_channel_join_confirm(bytes_view mcs) {
  byte_reader r(mcs);
  std::uint8_t options = 0;
  channel_join_confirm pdu;
  if (auto ec = read_choice(r, choice::channel_join_confirm, options)) return ec;
  if (!r.u8(pdu.result)) return make_error_code(errc::truncated);
  if (auto ec = per::read_integer16(r, base_channel_id, pdu.initiator)) return ec;
  if (!r.u16be(pdu.requested)) return make_error_code(errc::truncated);
  pdu.channel_id.reset();
  if (options & 0x02) {
    std::uint16_t id = 0;
    if (!r.u16be(id)) return make_error_code(errc::truncated);
    pdu.channel_id = id;
  }
  return finish(r, pdu);
}

}  // namespace rdp::protocol::mcs

// ---- MCS Connect-Initial / Connect-Response ---------------------------------------------------------------------
namespace rdp::protocol::mcs {
namespace {

using boost::system::error_code;

// T.125 ConnectMCSPDU tags: Connect-Initial [APPLICATION 101], Connect-Response [APPLICATION 102], both
// constructed, so the identifier is the two bytes 7F 65 / 7F 66.
constexpr std::uint32_t connect_initial_tag = 101;
constexpr std::uint32_t connect_response_tag = 102;

enum class integer_style { shortest_unsigned, der };

// ber.hpp reports malformed BER as value_out_of_range; at this layer it is malformed MCS.
error_code mcs_error(const error_code& ec) {
  return ec == make_error_code(errc::value_out_of_range) ? make_error_code(errc::bad_mcs) : ec;
}

void write_unsigned(byte_writer& w, std::uint32_t value, integer_style style) {
  if (style == integer_style::der) {
    ber::write_integer(w, value);
    return;
  }
  // mstsc/nmap: the fewest octets that hold the value, without a sign octet (so 65535 is 02 02 FF FF).
  std::uint8_t octets[4];
  std::size_t n = 0;
  for (int shift = 24; shift >= 0; shift -= 8) {
    const auto b = static_cast<std::uint8_t>(value >> shift);
    if (n == 0 && b == 0 && shift > 0) continue;
    octets[n++] = b;
  }
  ber::write_tlv(w, ber::integer_tag, bytes_view(octets, n));
}

// Reads an INTEGER as unsigned 32-bit, accepting both writers' forms: FF FF (mstsc) and 00 FF FF (DER).
boost::system::result<std::uint32_t> read_unsigned(ber::reader& r) {
  auto v = r.expect(ber::integer_tag);
  if (!v) return mcs_error(v.error());
  if (v->empty() || v->size() > 5 || (v->size() == 5 && (*v)[0] != 0)) return make_error_code(errc::bad_mcs);
  std::uint32_t value = 0;
  for (auto b : *v) value = (value << 8) | b;  // a 5th (zero) octet shifts out
  return value;
}

void write_domain_parameters(byte_writer& w, const domain_parameters& p, integer_style style) {
  byte_buffer content;
  byte_writer c(content);
  for (auto v : {p.max_channel_ids, p.max_user_ids, p.max_token_ids, p.num_priorities, p.min_throughput,
                 p.max_height, p.max_mcs_pdu_size, p.protocol_version})
    write_unsigned(c, v, style);
  ber::write_tlv(w, ber::sequence_tag, content);
}

error_code read_domain_parameters(ber::reader& r, domain_parameters& p) {
  auto seq = r.expect(ber::sequence_tag);
  if (!seq) return mcs_error(seq.error());
  ber::reader inner(*seq);
  for (auto* field : {&p.max_channel_ids, &p.max_user_ids, &p.max_token_ids, &p.num_priorities, &p.min_throughput,
                      &p.max_height, &p.max_mcs_pdu_size, &p.protocol_version}) {
    auto v = read_unsigned(inner);
    if (!v) return v.error();
    *field = *v;
  }
  if (!inner.empty()) return errc::bad_mcs;  // DomainParameters has exactly eight members
  return {};
}

// TPKT + X.224 data + the BER PDU.
boost::system::result<byte_buffer> wrap(std::uint32_t tag, const byte_buffer& content) {
  byte_buffer pdu;
  byte_writer p(pdu);
  ber::write_tlv(p, ber::application(tag), content);
  byte_buffer out;
  byte_writer w(out);
  if (auto ec = x224::write_data_header(w, pdu.size())) return ec;
  w.bytes(pdu);
  return out;
}

// The content of the [APPLICATION tag] PDU in the X.224 data TPDU at the start of `stream`, and the frame length.
struct unwrapped {
  bytes_view content;
  std::size_t frame_size = 0;
};
boost::system::result<unwrapped> unwrap(bytes_view stream, std::uint32_t tag) {
  auto data = x224::decode_data(stream);
  if (!data) return data.error();
  const bytes_view payload = data->value;
  if (payload.empty()) return make_error_code(errc::truncated);
  // Every ConnectMCSPDU starts with 7F (application, constructed, high tag number); a PER domain PDU such as the
  // Disconnect Provider Ultimatum xrdp sends instead (docs/wire-vectors.md 4.4) cannot.
  if (payload[0] != 0x7F) return make_error_code(errc::unexpected_mcs_pdu);
  auto tlv = ber::read_tlv(payload);
  if (!tlv) return is_need_more(tlv.error()) ? make_error_code(errc::truncated) : mcs_error(tlv.error());
  if (!(tlv->value.tag == ber::application(tag))) return make_error_code(errc::unexpected_mcs_pdu);
  if (tlv->consumed != payload.size()) return make_error_code(errc::trailing_bytes);
  return unwrapped{tlv->value.value, data->consumed};
}

}  // namespace

boost::system::result<byte_buffer> encode(const connect_initial& ci) {
  auto gcc_data = gcc::encode(ci.user_data);
  if (!gcc_data) return gcc_data.error();
  byte_buffer content;
  byte_writer c(content);
  ber::write_octet_string(c, ci.calling_domain_selector);
  ber::write_octet_string(c, ci.called_domain_selector);
  ber::write_boolean(c, ci.upward_flag);
  write_domain_parameters(c, ci.target_parameters, integer_style::shortest_unsigned);
  write_domain_parameters(c, ci.minimum_parameters, integer_style::shortest_unsigned);
  write_domain_parameters(c, ci.maximum_parameters, integer_style::shortest_unsigned);
  ber::write_octet_string(c, *gcc_data);
  return wrap(connect_initial_tag, content);
}

boost::system::result<byte_buffer> encode(const connect_response& cr) {
  auto gcc_data = gcc::encode(cr.user_data);
  if (!gcc_data) return gcc_data.error();
  byte_buffer content;
  byte_writer c(content);
  ber::write_enumerated(c, cr.result);
  ber::write_integer(c, cr.called_connect_id);
  write_domain_parameters(c, cr.parameters, integer_style::der);
  ber::write_octet_string(c, *gcc_data);
  return wrap(connect_response_tag, content);
}

decode_result<connect_initial> decode_connect_initial(bytes_view stream) {
  auto pdu = unwrap(stream, connect_initial_tag);
  if (!pdu) return pdu.error();
  ber::reader r(pdu->content);
  connect_initial ci;
  auto calling = r.octet_string();
  if (!calling) return mcs_error(calling.error());
  auto called = r.octet_string();
  if (!called) return mcs_error(called.error());
  auto upward = r.boolean();
  if (!upward) return mcs_error(upward.error());
  ci.calling_domain_selector.assign(calling->begin(), calling->end());
  ci.called_domain_selector.assign(called->begin(), called->end());
  ci.upward_flag = *upward;
  for (auto* p : {&ci.target_parameters, &ci.minimum_parameters, &ci.maximum_parameters})
    if (auto ec = read_domain_parameters(r, *p)) return ec;
  auto user_data = r.octet_string();
  if (!user_data) return mcs_error(user_data.error());
  if (!r.empty()) return make_error_code(errc::trailing_bytes);
  auto request = gcc::decode_conference_create_request(*user_data);
  if (!request) return request.error();
  ci.user_data = std::move(request->value);
  return decoded<connect_initial>{std::move(ci), pdu->frame_size};
}

decode_result<connect_response> decode_connect_response(bytes_view stream) {
  auto pdu = unwrap(stream, connect_response_tag);
  if (!pdu) return pdu.error();
  ber::reader r(pdu->content);
  connect_response cr;
  auto result = r.enumerated();
  if (!result) return mcs_error(result.error());
  cr.result = *result;
  auto id = read_unsigned(r);
  if (!id) return id.error();
  cr.called_connect_id = *id;
  if (auto ec = read_domain_parameters(r, cr.parameters)) return ec;
  auto user_data = r.octet_string();
  if (!user_data) return mcs_error(user_data.error());
  if (!r.empty()) return make_error_code(errc::trailing_bytes);
  auto response = gcc::decode_conference_create_response(*user_data);
  if (!response) return response.error();
  cr.user_data = std::move(response->value);
  return decoded<connect_response>{std::move(cr), pdu->frame_size};
}

}  // namespace rdp::protocol::mcs
