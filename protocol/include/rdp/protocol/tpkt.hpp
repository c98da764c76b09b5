#pragma once
// TPKT framing (RFC 1006 / T.123 section 8) and RDP fast-path frame length detection (MS-RDPBCGR 2.2.9.1.2,
// 2.2.8.1.2). Upper layers see whole frames: a slow-path TPKT frame or a fast-path PDU.
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/errc.hpp"

#include <cstddef>
#include <cstdint>

namespace rdp::protocol::tpkt {

inline constexpr std::size_t header_size = 4;
inline constexpr std::uint8_t version = 0x03;
inline constexpr std::size_t min_length = 4;        // a header and nothing else
inline constexpr std::size_t max_length = 0xFFFF;   // 16-bit length field
// FreeRDP accepts fast-path lengths 3..0x8000 (transport.c parse_default_mode_pdu); so do we.
inline constexpr std::size_t fastpath_min_length = 3;
inline constexpr std::size_t fastpath_max_length = 0x8000;

enum class frame_kind { slow_path, fast_path };

struct frame_header {
  frame_kind kind;
  std::size_t length;         // whole frame, header included
  std::size_t header_length;  // 4 for TPKT; 2 or 3 for fast-path
};

struct framing_options {
  std::size_t max_frame = max_length;  // frames above this are errc::frame_too_large, never allocated
  bool allow_fast_path = false;        // only after the connection is established (MS-RDPBCGR 1.3.1.1)
};

// Looks at the start of `data` and says how long the next frame is; errc::need_more if the header is incomplete.
boost::system::result<frame_header> peek_frame(bytes_view data, const framing_options& options = {});

// Appends a TPKT header for a payload of `payload_size` bytes; errc::value_out_of_range if it would not fit.
boost::system::error_code write_header(byte_writer& out, std::size_t payload_size);

// Wraps a payload in a TPKT frame. Precondition: payload.size() <= max_length - header_size.
byte_buffer wrap(bytes_view payload);

// An incremental framer: feed it any split of the byte stream, take whole frames out.
// The view returned by next() stays valid until the next call to feed() or next().
class frame_decoder {
 public:
  explicit frame_decoder(framing_options options = {}) : options_(options) {}

  void feed(bytes_view bytes);

  struct frame {
    frame_kind kind;
    bytes_view bytes;  // the whole frame, header included
  };
  // The next whole frame; errc::need_more until one is complete; any other error is sticky (the stream is
  // no longer framed, so the caller must drop the connection).
  boost::system::result<frame> next();

  std::size_t buffered() const noexcept { return buffer_.size() - start_; }
  void set_options(const framing_options& options) noexcept { options_ = options; }

 private:
  framing_options options_;
  byte_buffer buffer_;
  std::size_t start_ = 0;
  boost::system::error_code failed_;
};

}  // namespace rdp::protocol::tpkt
