#pragma once
// X.224 class 0 TPDUs as RDP uses them (ITU-T X.224, MS-RDPBCGR 2.2.1.1 / 2.2.1.2). Every function here works on
// a whole TPKT frame (the 4-byte TPKT header included), because CR/CC/DR always travel alone in one frame.
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/errc.hpp"
#include "rdp/protocol/nego.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace rdp::protocol::x224 {

namespace tpdu_code {
inline constexpr std::uint8_t connection_request = 0xE0;
inline constexpr std::uint8_t connection_confirm = 0xD0;
inline constexpr std::uint8_t disconnect_request = 0x80;
inline constexpr std::uint8_t data = 0xF0;
inline constexpr std::uint8_t error = 0x70;
}  // namespace tpdu_code

inline constexpr std::size_t fixed_part_size = 7;  // LI, code, DST-REF, SRC-REF, class (CR/CC/DR)
inline constexpr std::size_t data_header_size = 3; // LI=2, 0xF0, EOT 0x80
inline constexpr std::string_view cookie_prefix = "Cookie: mstshash=";

// Client X.224 Connection Request (2.2.1.1).
struct connection_request {
  std::optional<std::string> cookie;         // the value of "Cookie: mstshash=<value>\r\n"
  std::optional<std::string> routing_token;  // any other CR LF-terminated token line, without CR LF
  std::optional<neg_request> negotiation;
  std::optional<correlation_info> correlation;  // present only with neg_request_flags::correlation_info_present
  std::uint16_t src_ref = 0;
  friend bool operator==(const connection_request&, const connection_request&) = default;
};

// Server X.224 Connection Confirm (2.2.1.2): no negotiation data (legacy servers), a response or a failure.
struct connection_confirm {
  std::uint16_t dst_ref = 0;
  std::uint16_t src_ref = 0x1234;  // what Windows and xrdp send
  std::variant<std::monostate, neg_response, neg_failure> negotiation;
  friend bool operator==(const connection_confirm&, const connection_confirm&) = default;
};

struct disconnect_request {
  std::uint16_t dst_ref = 0;
  std::uint16_t src_ref = 0;
  std::uint8_t reason = 0;
  friend bool operator==(const disconnect_request&, const disconnect_request&) = default;
};

// Encoders return whole TPKT frames. errc::value_out_of_range when a cookie/token has CR or LF in it or the
// frame would exceed the TPKT length.
boost::system::result<byte_buffer> encode(const connection_request& cr);
byte_buffer encode(const connection_confirm& cc);
byte_buffer encode(const disconnect_request& dr);

// Decoders take the start of a byte stream: errc::need_more while the frame is incomplete; consumed = frame length.
decode_result<connection_request> decode_connection_request(bytes_view stream);
decode_result<connection_confirm> decode_connection_confirm(bytes_view stream);
decode_result<disconnect_request> decode_disconnect_request(bytes_view stream);

// Data TPDU (02 F0 80): the payload after the header, e.g. an MCS PDU.
decode_result<bytes_view> decode_data(bytes_view stream);
// Appends TPKT header + data TPDU header for a payload of payload_size bytes (the payload follows).
boost::system::error_code write_data_header(byte_writer& out, std::size_t payload_size);
byte_buffer encode_data(bytes_view payload);

// The TPDU code of a TPKT frame (byte 5), or nullopt when the frame is too short to hold one.
std::optional<std::uint8_t> peek_tpdu_code(bytes_view frame) noexcept;

}  // namespace rdp::protocol::x224
