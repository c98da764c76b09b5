#include "rdp/protocol/x224.hpp"

#include "rdp/protocol/tpkt.hpp"

#include <algorithm>

namespace rdp::protocol::x224 {
namespace {

using boost::system::error_code;

// Returns the complete TPKT frame at the start of `stream` (header included) or need_more / an error.
boost::system::result<bytes_view> whole_frame(bytes_view stream) {
  auto header = tpkt::peek_frame(stream);
  if (!header) return header.error();
  if (stream.size() < header->length) return make_error_code(errc::need_more);
  return stream.first(header->length);
}

// Parses the fixed part of a CR/CC/DR TPDU: checks LI against the frame and the TPDU code.
// On success `r` is positioned after the class byte.
error_code read_fixed_part(byte_reader& r, std::size_t frame_length, std::uint8_t expected_code,
                           std::uint16_t& dst_ref, std::uint16_t& src_ref, std::uint8_t& class_option) {
  std::uint8_t li = 0, code = 0;
  if (!r.skip(tpkt::header_size) || !r.u8(li) || !r.u8(code)) return errc::truncated;
  // X.224 13.3.1: LI counts the header bytes after itself. For these TPDUs it covers the rest of the frame.
  if (std::size_t{li} + tpkt::header_size + 1 != frame_length) return errc::bad_x224_length;
  if ((code & 0xF0) != expected_code) return errc::unexpected_tpdu;
  if (li < fixed_part_size - 1) return errc::bad_x224_length;
  if (!r.u16be(dst_ref) || !r.u16be(src_ref) || !r.u8(class_option)) return errc::truncated;
  return {};
}

error_code read_neg_header(byte_reader& r, std::uint8_t& type, std::uint8_t& flags) {
  std::uint16_t length = 0;
  if (!r.u8(type) || !r.u8(flags) || !r.u16le(length)) return errc::truncated;
  if (length != neg_structure_length) return errc::bad_negotiation;
  return {};
}

template <class T>
decode_result<T> finish(boost::system::result<T> value, std::size_t consumed) {
  if (!value) return value.error();
  return decoded<T>{std::move(*value), consumed};
}

}  // namespace

boost::system::result<byte_buffer> encode(const connection_request& cr) {
  byte_buffer out;
  byte_writer w(out);
  w.bytes(std::array<std::uint8_t, 4>{tpkt::version, 0, 0, 0});  // length patched below
  w.u8(0);                                                         // LI patched below
  w.u8(tpdu_code::connection_request);
  w.u16be(0);
  w.u16be(cr.src_ref);
  w.u8(0);
  auto write_line = [&](std::string_view prefix, const std::string& value) -> bool {
    if (value.find_first_of("\r\n") != std::string::npos) return false;
    w.text(prefix);
    w.text(value);
    w.text("\r\n");
    return true;
  };
  if (cr.cookie && !write_line(cookie_prefix, *cr.cookie)) return make_error_code(errc::value_out_of_range);
  if (cr.routing_token && !write_line("", *cr.routing_token)) return make_error_code(errc::value_out_of_range);
  if (cr.negotiation) {
    std::uint8_t flags = cr.negotiation->flags;
    if (cr.correlation) flags = static_cast<std::uint8_t>(flags | neg_request_flags::correlation_info_present);
    w.u8(neg_type::request);
    w.u8(flags);
    w.u16le(neg_structure_length);
    w.u32le(cr.negotiation->requested_protocols);
    if (cr.correlation) {
      w.u8(neg_type::correlation_info);
      w.u8(0);
      w.u16le(correlation_info_length);
      w.bytes(cr.correlation->correlation_id);
      for (int i = 0; i < 16; ++i) w.u8(0);
    }
  } else if (cr.correlation) {
    return make_error_code(errc::value_out_of_range);  // correlation info travels only with RDP_NEG_REQ
  }
  // LI is one byte: the CR may carry at most 254 bytes after it.
  if (out.size() - tpkt::header_size - 1 > 0xFE) return make_error_code(errc::value_out_of_range);
  out[4] = static_cast<std::uint8_t>(out.size() - tpkt::header_size - 1);
  w.patch_u16be(2, static_cast<std::uint16_t>(out.size()));
  return out;
}

byte_buffer encode(const connection_confirm& cc) {
  byte_buffer out;
  byte_writer w(out);
  const bool has_neg = !std::holds_alternative<std::monostate>(cc.negotiation);
  const std::size_t payload = fixed_part_size + (has_neg ? neg_structure_length : 0);
  tpkt::write_header(w, payload);
  w.u8(static_cast<std::uint8_t>(payload - 1));
  w.u8(tpdu_code::connection_confirm);
  w.u16be(cc.dst_ref);
  w.u16be(cc.src_ref);
  w.u8(0);
  if (const auto* rsp = std::get_if<neg_response>(&cc.negotiation)) {
    w.u8(neg_type::response);
    w.u8(rsp->flags);
    w.u16le(neg_structure_length);
    w.u32le(rsp->selected_protocol);
  } else if (const auto* failure = std::get_if<neg_failure>(&cc.negotiation)) {
    w.u8(neg_type::failure);
    w.u8(0);  // 2.2.1.2.2: flags MUST be 0
    w.u16le(neg_structure_length);
    w.u32le(failure->failure_code);
  }
  return out;
}

byte_buffer encode(const disconnect_request& dr) {
  byte_buffer out;
  byte_writer w(out);
  tpkt::write_header(w, fixed_part_size);
  w.u8(fixed_part_size - 1);
  w.u8(tpdu_code::disconnect_request);
  w.u16be(dr.dst_ref);
  w.u16be(dr.src_ref);
  w.u8(dr.reason);
  return out;
}

decode_result<connection_request> decode_connection_request(bytes_view stream) {
  auto frame = whole_frame(stream);
  if (!frame) return frame.error();
  auto parse = [&]() -> boost::system::result<connection_request> {
    byte_reader r(*frame);
    connection_request cr;
    std::uint16_t dst_ref = 0;
    std::uint8_t class_option = 0;
    if (auto ec = read_fixed_part(r, frame->size(), tpdu_code::connection_request, dst_ref, cr.src_ref, class_option))
      return ec;
    // RDP uses class 0 without options; FreeRDP's server does not check this byte and neither do we.
    bytes_view rest = r.rest();
    // A cookie or routing token is a text line ending in CR LF; RDP_NEG_REQ starts with type 0x01, which no
    // token starts with (MS-RDPBCGR 2.2.1.1: tokens are ANSI text).
    if (!rest.empty() && rest[0] != neg_type::request) {
      const auto* begin = rest.data();
      const auto* end = begin + rest.size();
      const std::uint8_t crlf[] = {'\r', '\n'};
      const auto* line_end = std::search(begin, end, std::begin(crlf), std::end(crlf));
      if (line_end == end) return make_error_code(errc::bad_cookie);
      std::string line(reinterpret_cast<const char*>(begin), static_cast<std::size_t>(line_end - begin));
      if (line.starts_with(cookie_prefix)) {
        cr.cookie = line.substr(cookie_prefix.size());
      } else {
        cr.routing_token = std::move(line);
      }
      r.skip(static_cast<std::size_t>(line_end - begin) + 2);
    }
    if (!r.empty()) {
      std::uint8_t type = 0, flags = 0;
      if (auto ec = read_neg_header(r, type, flags)) return ec;
      if (type != neg_type::request) return make_error_code(errc::bad_negotiation);
      neg_request neg{flags, 0};
      if (!r.u32le(neg.requested_protocols)) return make_error_code(errc::truncated);
      if (flags & neg_request_flags::correlation_info_present) {
        std::uint8_t ctype = 0, cflags = 0;
        std::uint16_t clength = 0;
        bytes_view id;
        if (!r.u8(ctype) || !r.u8(cflags) || !r.u16le(clength)) return make_error_code(errc::truncated);
        if (ctype != neg_type::correlation_info || clength != correlation_info_length)
          return make_error_code(errc::bad_correlation_info);
        if (!r.bytes(16, id) || !r.skip(16)) return make_error_code(errc::truncated);
        correlation_info info;
        std::copy(id.begin(), id.end(), info.correlation_id.begin());
        cr.correlation = info;
        neg.flags = static_cast<std::uint8_t>(neg.flags & ~neg_request_flags::correlation_info_present);
      }
      cr.negotiation = neg;
    }
    if (!r.empty()) return make_error_code(errc::trailing_bytes);
    return cr;
  };
  return finish(parse(), frame->size());
}

decode_result<connection_confirm> decode_connection_confirm(bytes_view stream) {
  auto frame = whole_frame(stream);
  if (!frame) return frame.error();
  auto parse = [&]() -> boost::system::result<connection_confirm> {
    byte_reader r(*frame);
    connection_confirm cc;
    std::uint8_t class_option = 0;
    if (auto ec = read_fixed_part(r, frame->size(), tpdu_code::connection_confirm, cc.dst_ref, cc.src_ref,
                                  class_option))
      return ec;
    if (r.empty()) return cc;  // LI == 6: a legacy server without negotiation data
    std::uint8_t type = 0, flags = 0;
    if (auto ec = read_neg_header(r, type, flags)) return ec;
    std::uint32_t value = 0;
    if (!r.u32le(value)) return make_error_code(errc::truncated);
    if (type == neg_type::response) {
      cc.negotiation = neg_response{flags, value};
    } else if (type == neg_type::failure) {
      // 2.2.1.2.2 says flags MUST be 0; FreeRDP rejects other values. We keep the failure: a server that gets
      // this detail wrong still told us why it refused, and that is what a user needs to know.
      cc.negotiation = neg_failure{value};
    } else {
      return make_error_code(errc::bad_negotiation);
    }
    if (!r.empty()) return make_error_code(errc::trailing_bytes);
    return cc;
  };
  return finish(parse(), frame->size());
}

decode_result<disconnect_request> decode_disconnect_request(bytes_view stream) {
  auto frame = whole_frame(stream);
  if (!frame) return frame.error();
  auto parse = [&]() -> boost::system::result<disconnect_request> {
    byte_reader r(*frame);
    disconnect_request dr;
    if (auto ec = read_fixed_part(r, frame->size(), tpdu_code::disconnect_request, dr.dst_ref, dr.src_ref, dr.reason))
      return ec;
    // X.224 allows a variable part (e.g. additional information); we accept and ignore it.
    return dr;
  };
  return finish(parse(), frame->size());
}

decode_result<bytes_view> decode_data(bytes_view stream) {
  auto frame = whole_frame(stream);
  if (!frame) return frame.error();
  byte_reader r(*frame);
  std::uint8_t li = 0, code = 0, eot = 0;
  if (!r.skip(tpkt::header_size) || !r.u8(li) || !r.u8(code)) return make_error_code(errc::truncated);
  if ((code & 0xF0) != tpdu_code::data) return make_error_code(errc::unexpected_tpdu);
  if (li != 2) return make_error_code(errc::bad_x224_length);
  if (!r.u8(eot)) return make_error_code(errc::truncated);
  return decoded<bytes_view>{r.rest(), frame->size()};
}

boost::system::error_code write_data_header(byte_writer& out, std::size_t payload_size) {
  if (auto ec = tpkt::write_header(out, payload_size + data_header_size)) return ec;
  out.u8(2);
  out.u8(tpdu_code::data);
  out.u8(0x80);  // EOT: RDP never segments at the X.224 level
  return {};
}

byte_buffer encode_data(bytes_view payload) {
  byte_buffer out;
  byte_writer w(out);
  write_data_header(w, payload.size());
  w.bytes(payload);
  return out;
}

std::optional<std::uint8_t> peek_tpdu_code(bytes_view frame) noexcept {
  if (frame.size() < tpkt::header_size + 2) return std::nullopt;
  return frame[5];
}

}  // namespace rdp::protocol::x224
