#pragma once
// Share Control / Share Data headers (MS-RDPBCGR 2.2.8.1.1.1.1, 2.2.8.1.1.1.2) and the PDUs that tell a client
// its session is gone: Set Error Info (2.2.5.1) and Deactivate All (2.2.3.1). Also one inspector that turns any
// slow-path server frame into "what did the server just tell us" — the teardown evidence the probe reports.
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/errc.hpp"
#include "rdp/protocol/mcs.hpp"

#include <cstdint>
#include <optional>

namespace rdp::protocol::share {

namespace pdu_type {  // Share Control Header pduType, low 4 bits
inline constexpr std::uint16_t demand_active = 0x1;
inline constexpr std::uint16_t confirm_active = 0x3;
inline constexpr std::uint16_t deactivate_all = 0x6;
inline constexpr std::uint16_t data = 0x7;
inline constexpr std::uint16_t server_redirection = 0xA;
}  // namespace pdu_type
inline constexpr std::uint16_t protocol_version = 0x10;  // TS_PROTOCOL_VERSION, or'ed into pduType

namespace pdu_type2 {  // Share Data Header pduType2
inline constexpr std::uint8_t update = 0x02;
inline constexpr std::uint8_t control = 0x14;
inline constexpr std::uint8_t input = 0x1C;
inline constexpr std::uint8_t synchronize = 0x1F;
inline constexpr std::uint8_t save_session_info = 0x26;
inline constexpr std::uint8_t font_list = 0x27;
inline constexpr std::uint8_t font_map = 0x28;
inline constexpr std::uint8_t set_error_info = 0x2F;
inline constexpr std::uint8_t arc_status = 0x32;
}  // namespace pdu_type2

inline constexpr std::size_t control_header_size = 6;
inline constexpr std::size_t data_header_size = 12;

struct control_header {
  std::uint16_t total_length = 0;
  std::uint16_t type = 0;  // low 4 bits of pduType
  std::uint16_t source = 0;
};

struct data_header {
  std::uint32_t share_id = 0;
  std::uint8_t stream_id = 1;  // STREAM_LOW
  std::uint16_t uncompressed_length = 0;
  std::uint8_t type2 = 0;
  std::uint8_t compressed_type = 0;
  std::uint16_t compressed_length = 0;
};

// Reads a Share Control Header from MCS user data. totalLength 0x8000 marks a flow-control PDU, which has no
// share header after it; we report it as errc::unexpected_share_pdu.
decode_result<control_header> decode_control_header(bytes_view user_data);
decode_result<data_header> decode_data_header(bytes_view after_control_header);

struct set_error_info {
  std::uint32_t error_info = 0;
  friend bool operator==(const set_error_info&, const set_error_info&) = default;
};

// The share id FreeRDP's and Windows' servers announce in Demand Active (2.2.1.13.1.1 shareId; T.128 8.4.2 leaves
// its value to the server, and both use 0x10000 + the server's channel id); the client takes it from there and
// repeats it in every share PDU.
inline constexpr std::uint32_t server_share_id = 0x00010000u + mcs::server_channel_id;
static_assert(server_share_id == 0x000103EA);

// Everything a server writes to carry one share data PDU over TLS/NLA (no RDP security header): TPKT, X.224
// data, MCS Send Data Indication from `initiator` on the I/O channel, share control + data headers, body.
struct data_pdu_route {
  std::uint32_t share_id = server_share_id;
  std::uint16_t initiator = mcs::server_channel_id;  // MCS user id the server speaks as; FreeRDP ignores it on receive
  std::uint16_t channel_id = mcs::global_channel_id;
  std::uint16_t pdu_source = 0;         // 2.2.5.1: MUST be 0 for Set Error Info
  bool from_server = true;              // Send Data Indication (server) or Send Data Request (client)
};

// The building blocks every encoder below uses; each returns a whole TPKT frame. User data above 16383 bytes (the
// largest two-byte PER length) cannot be carried in one MCS PDU: callers split; these assert it in tests.
// MCS Send Data around arbitrary user data (PDUs behind a basic security header: Client Info, licensing, heartbeat).
byte_buffer encode_send_data(bytes_view user_data, const data_pdu_route& route);
// A share control PDU of `type` (Demand Active, Confirm Active, Deactivate All) with pduSource route.pdu_source.
byte_buffer encode_control_pdu(std::uint16_t type, bytes_view body, const data_pdu_route& route);
// A share data PDU (control + data headers) of `type2`, not compressed.
byte_buffer encode_data_pdu(std::uint8_t type2, bytes_view body, const data_pdu_route& route);

// A share PDU split into its headers and body (MCS user data, share control header onwards). `data` is present for
// PDUTYPE_DATAPDU; the body ends at the control header's totalLength. Compressed data PDUs are bad_share_header:
// nothing we exchange is compressed (we never offer bulk compression).
struct share_pdu {
  control_header control;
  std::optional<data_header> data;
  bytes_view body;
};
decode_result<share_pdu> decode_share_pdu(bytes_view user_data);
byte_buffer encode_set_error_info(const set_error_info& pdu, const data_pdu_route& route = {});
// Decodes a Set Error Info PDU from MCS user data (share control header onwards).
decode_result<set_error_info> decode_set_error_info(bytes_view user_data);
// Deactivate All (2.2.3.1) as FreeRDP's server sends it: shareId, lengthSourceDescriptor 1, sourceDescriptor 0.
byte_buffer encode_deactivate_all(const data_pdu_route& route = {});

// What a slow-path frame from a server means for the session. Frames we do not interpret are `other`.
enum class server_event_kind {
  other,
  x224_disconnect_request,
  disconnect_provider_ultimatum,
  set_error_info,
  deactivate_all,
};
struct server_event {
  server_event_kind kind = server_event_kind::other;
  std::uint32_t error_info = 0;                       // for set_error_info
  mcs::disconnect_reason reason{};                    // for disconnect_provider_ultimatum
};
// `frame` is one whole TPKT frame. Unparseable layers give `other` (a probe must not stop at a PDU it does not
// know); only a frame that is not TPKT at all is an error.
boost::system::result<server_event> inspect_server_frame(bytes_view frame);

}  // namespace rdp::protocol::share
