#include "rdp/protocol/tpkt.hpp"

namespace rdp::protocol::tpkt {

boost::system::result<frame_header> peek_frame(bytes_view data, const framing_options& options) {
  if (data.empty()) return make_error_code(errc::need_more);
  if (data[0] == version) {
    if (data.size() < header_size) return make_error_code(errc::need_more);
    // byte 1 is reserved (0); we do not insist on it, as FreeRDP does not.
    const std::size_t length = (std::size_t{data[2]} << 8) | data[3];
    if (length < min_length) return make_error_code(errc::bad_frame_length);
    if (length > options.max_frame) return make_error_code(errc::frame_too_large);
    return frame_header{frame_kind::slow_path, length, header_size};
  }
  if (!options.allow_fast_path) return make_error_code(errc::bad_tpkt_version);
  // Fast-path: fpOutputHeader (action bits 0 = FASTPATH_OUTPUT_ACTION_FASTPATH), then length1 and, when its
  // high bit is set, length2 carrying a 15-bit length (MS-RDPBCGR 2.2.9.1.2).
  if ((data[0] & 0x03) != 0) return make_error_code(errc::bad_tpkt_version);
  if (data.size() < 2) return make_error_code(errc::need_more);
  std::size_t length = data[1];
  std::size_t header = 2;
  if (length & 0x80) {
    if (data.size() < 3) return make_error_code(errc::need_more);
    length = ((length & 0x7F) << 8) | data[2];
    header = 3;
  }
  if (length < fastpath_min_length || length > fastpath_max_length || length < header)
    return make_error_code(errc::bad_frame_length);
  if (length > options.max_frame) return make_error_code(errc::frame_too_large);
  return frame_header{frame_kind::fast_path, length, header};
}

boost::system::error_code write_header(byte_writer& out, std::size_t payload_size) {
  if (payload_size > max_length - header_size) return make_error_code(errc::value_out_of_range);
  out.u8(version);
  out.u8(0);
  out.u16be(static_cast<std::uint16_t>(payload_size + header_size));
  return {};
}

byte_buffer wrap(bytes_view payload) {
  byte_buffer out;
  out.reserve(payload.size() + header_size);
  byte_writer w(out);
  write_header(w, payload.size());
  w.bytes(payload);
  return out;
}

void frame_decoder::feed(bytes_view bytes) {
  // Reclaim the consumed prefix before growing, so a long-lived connection does not grow without bound.
  if (start_ > 0 && start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  } else if (start_ > 4096 && start_ * 2 > buffer_.size()) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(start_));
    start_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

boost::system::result<frame_decoder::frame> frame_decoder::next() {
  if (failed_) return failed_;
  const bytes_view pending = bytes_view(buffer_).subspan(start_);
  auto header = peek_frame(pending, options_);
  if (!header) {
    if (!is_need_more(header.error())) failed_ = header.error();
    return header.error();
  }
  if (pending.size() < header->length) return make_error_code(errc::need_more);
  frame f{header->kind, pending.first(header->length)};
  start_ += header->length;
  return f;
}

}  // namespace rdp::protocol::tpkt
