#pragma once
// The rest of the RDP connection sequence after the MCS domain is set up, as a TLS/CredSSP server and client speak
// it (MS-RDPBCGR 1.3.1.1): Client Info (2.2.1.11), licensing as "valid client" (2.2.1.12), capability exchange
// (Demand Active 2.2.1.13.1, Confirm Active 2.2.1.13.2), finalization (Synchronize, Control, Font List/Map,
// 2.2.1.14-2.2.1.22), then the PDUs of an active session this project needs: a bitmap update (2.2.9.1.1.3.1.2),
// Save Session Info with the auto-reconnect cookie (2.2.10.1), Auto-Reconnect Status (2.2.4.1) and the server
// heartbeat (2.2.16.1). No RDP-security encryption: with TLS the basic security header carries flags only.
//
// Encoders return whole TPKT frames; decoders take MCS user data (the Send Data payload). Strings are UTF-8 here
// and UTF-16LE on the wire.
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/errc.hpp"
#include "rdp/protocol/share.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace rdp::protocol::activation {

// ---- Basic security header (2.2.8.1.1.2.1): flags, flagsHi ----------------------------------------------------------
namespace security_flag {
inline constexpr std::uint16_t exchange_pkt = 0x0001;
inline constexpr std::uint16_t encrypt = 0x0008;
inline constexpr std::uint16_t info_pkt = 0x0040;
inline constexpr std::uint16_t license_pkt = 0x0080;
inline constexpr std::uint16_t autodetect_req = 0x1000;
inline constexpr std::uint16_t heartbeat = 0x4000;
}  // namespace security_flag

struct security_header {
  std::uint16_t flags = 0;
  std::uint16_t flags_hi = 0;
};
decode_result<security_header> decode_security_header(bytes_view user_data);

// ---- Client Info PDU (2.2.1.11.1.1 TS_INFO_PACKET, 2.2.1.11.1.1.1 TS_EXTENDED_INFO_PACKET) ---------------------------
namespace info_flag {
inline constexpr std::uint32_t mouse = 0x00000001;
inline constexpr std::uint32_t autologon = 0x00000008;  // the password field holds the password
inline constexpr std::uint32_t unicode = 0x00000010;
inline constexpr std::uint32_t logon_notify = 0x00000040;
inline constexpr std::uint32_t logon_errors = 0x00010000;  // the client understands Save Session Info logon errors
}  // namespace info_flag

// ARC_CS_PRIVATE_PACKET (2.2.4.3): what a reconnecting client proves it holds the server's cookie with.
struct arc_client_cookie {
  std::uint32_t logon_id = 0;
  std::array<std::uint8_t, 16> security_verifier{};  // HMAC-MD5(key = ArcRandomBits, data = client random)
  friend bool operator==(const arc_client_cookie&, const arc_client_cookie&) = default;
};

struct client_info {
  std::uint32_t code_page = 0;
  std::uint32_t flags = info_flag::mouse | info_flag::unicode | info_flag::logon_notify;
  std::string domain, user, password, alternate_shell, working_dir;
  // Extended info (RDP 5.0 and later clients send it); absent fields stay empty / nullopt.
  bool has_extended = true;
  std::uint16_t client_address_family = 2;  // AF_INET
  std::string client_address, client_dir;
  std::uint32_t client_session_id = 0;
  std::uint32_t performance_flags = 0;
  std::optional<arc_client_cookie> auto_reconnect_cookie;
  friend bool operator==(const client_info&, const client_info&) = default;
};
// The Client Info PDU's user data: basic security header with SEC_INFO_PKT, then TS_INFO_PACKET. Strings longer than
// the format allows and a cookie with cbLen != 28 are errors (bad_share_header / value_out_of_range on encode).
decode_result<client_info> decode_client_info(bytes_view user_data);
// Client → server frame (route.from_server = false, initiator = the client's user id).
boost::system::result<byte_buffer> encode(const client_info& info, const share::data_pdu_route& route);

// ---- Licensing (2.2.1.12): the server says "valid client" and licensing is over --------------------------------------
struct license_error_alert {
  std::uint8_t msg_type = 0xFF;             // ERROR_ALERT
  std::uint8_t flags = 0x03;                // PREAMBLE_VERSION_3_0 (FreeRDP's server leaves out 0x80: mstsc crashed)
  std::uint32_t error_code = 0x00000007;    // STATUS_VALID_CLIENT
  std::uint32_t state_transition = 0x00000002;  // ST_NO_TRANSITION
  friend bool operator==(const license_error_alert&, const license_error_alert&) = default;
};
byte_buffer encode(const license_error_alert& alert, const share::data_pdu_route& route);
decode_result<license_error_alert> decode_license_error_alert(bytes_view user_data);

// ---- Capability sets (2.2.7) ------------------------------------------------------------------------------------------
namespace capability_type {
inline constexpr std::uint16_t general = 1;
inline constexpr std::uint16_t bitmap = 2;
inline constexpr std::uint16_t order = 3;
inline constexpr std::uint16_t pointer = 8;
inline constexpr std::uint16_t share = 9;
inline constexpr std::uint16_t input = 13;
inline constexpr std::uint16_t font = 14;
inline constexpr std::uint16_t virtual_channel = 20;
inline constexpr std::uint16_t multifragment_update = 26;
}  // namespace capability_type

namespace general_extra_flag {
inline constexpr std::uint16_t fastpath_output_supported = 0x0001;
inline constexpr std::uint16_t long_credentials_supported = 0x0004;
inline constexpr std::uint16_t autoreconnect_supported = 0x0008;
inline constexpr std::uint16_t no_bitmap_compression_hdr = 0x0400;
}  // namespace general_extra_flag

struct capability_set {
  std::uint16_t type = 0;
  byte_buffer body;  // after the 4-byte header
  friend bool operator==(const capability_set&, const capability_set&) = default;
};

// The facts a server or probe acts on, read from a list of capability sets (absent sets give nullopt).
struct capability_summary {
  std::optional<std::uint16_t> os_major, os_minor, general_extra_flags;
  std::optional<std::uint16_t> bits_per_pixel, desktop_width, desktop_height;
  std::optional<std::uint16_t> input_flags;
  std::optional<std::uint32_t> multifragment_max_request;
};
capability_summary summarize(std::span<const capability_set> sets);

// What rdpsim announces in Demand Active. Without fast-path flags the client sends input and expects output on the
// slow path, which is all the simulator reads and writes.
struct server_capabilities {
  std::uint16_t desktop_width = 1024, desktop_height = 768;
  std::uint16_t bits_per_pixel = 16;
  bool auto_reconnect = true;  // general extraFlags AUTORECONNECT_SUPPORTED
  std::uint16_t share_node_id = mcs::server_channel_id;
  std::uint32_t multifragment_max_request = 0x00010000;
};
// The capability sets a Windows-like TLS server sends (general, bitmap, order, pointer, input, virtual channel,
// share, font, multifragment update), in that order.
std::vector<capability_set> make_server_capability_sets(const server_capabilities& caps);

// Demand Active (server) and Confirm Active (client) share one layout apart from Confirm Active's originatorId and
// Demand Active's trailing sessionId.
struct demand_active {
  std::uint32_t share_id = share::server_share_id;
  std::string source_descriptor = "RDP";
  std::vector<capability_set> capabilities;
  std::uint32_t session_id = 0;
  friend bool operator==(const demand_active&, const demand_active&) = default;
};
struct confirm_active {
  std::uint32_t share_id = share::server_share_id;
  std::uint16_t originator_id = mcs::server_channel_id;
  std::string source_descriptor = "MSTSC";
  std::vector<capability_set> capabilities;
  friend bool operator==(const confirm_active&, const confirm_active&) = default;
};
// route.pdu_source is the share control header's pduSource (the server's channel id, 1002, for Demand Active; the
// client's user id for Confirm Active). More than 255 sets or a frame beyond 16383 bytes: value_out_of_range.
boost::system::result<byte_buffer> encode(const demand_active& pdu, const share::data_pdu_route& route);
boost::system::result<byte_buffer> encode(const confirm_active& pdu, const share::data_pdu_route& route);
decode_result<demand_active> decode_demand_active(bytes_view user_data);
decode_result<confirm_active> decode_confirm_active(bytes_view user_data);

// ---- Finalization (2.2.1.14-2.2.1.22) -----------------------------------------------------------------------------------
struct synchronize {
  std::uint16_t target_user = 0;  // messageType is always SYNCMSGTYPE_SYNC (1)
  friend bool operator==(const synchronize&, const synchronize&) = default;
};
namespace control_action {
inline constexpr std::uint16_t request_control = 1;
inline constexpr std::uint16_t granted_control = 2;
inline constexpr std::uint16_t detach = 3;
inline constexpr std::uint16_t cooperate = 4;
}  // namespace control_action
struct control {
  std::uint16_t action = control_action::cooperate;
  std::uint16_t grant_id = 0;
  std::uint32_t control_id = 0;
  friend bool operator==(const control&, const control&) = default;
};
// Font List (client) and Font Map (server) carry nothing anyone uses; their arrival is the message.
byte_buffer encode(const synchronize& pdu, const share::data_pdu_route& route);
byte_buffer encode(const control& pdu, const share::data_pdu_route& route);
byte_buffer encode_font_list(const share::data_pdu_route& route);
byte_buffer encode_font_map(const share::data_pdu_route& route);
// Bodies of share data PDUs (after the share data header).
decode_result<synchronize> decode_synchronize(bytes_view body);
decode_result<control> decode_control(bytes_view body);

// ---- Active session -----------------------------------------------------------------------------------------------
// One uncompressed rectangle of a slow-path bitmap update; `pixels` rows bottom-up, width * height * bpp/8 bytes.
struct bitmap_rectangle {
  std::uint16_t left = 0, top = 0, width = 0, height = 0, bits_per_pixel = 16;
  byte_buffer pixels;
};
// value_out_of_range when a rectangle's pixel count does not match or the update does not fit one PDU.
boost::system::result<byte_buffer> encode_bitmap_update(std::span<const bitmap_rectangle> rectangles,
                                                        const share::data_pdu_route& route);

// ARC_SC_PRIVATE_PACKET (2.2.4.2): the cookie a server issues for a session.
struct arc_server_cookie {
  std::uint32_t logon_id = 0;
  std::array<std::uint8_t, 16> random_bits{};
  friend bool operator==(const arc_server_cookie&, const arc_server_cookie&) = default;
};
// TS_LOGON_ERRORS_INFO (2.2.10.1.1.4.1.1).
struct logon_errors {
  std::uint32_t error_notification_type = 0;
  std::uint32_t error_notification_data = 0;
  friend bool operator==(const logon_errors&, const logon_errors&) = default;
};
namespace info_type {
inline constexpr std::uint32_t logon = 0;
inline constexpr std::uint32_t logon_long = 1;
inline constexpr std::uint32_t logon_plain_notify = 2;
inline constexpr std::uint32_t logon_extended_info = 3;
}  // namespace info_type

// Save Session Info, as decoded: which info type, and what it carried.
struct save_session_info {
  std::uint32_t type = info_type::logon_long;
  std::optional<std::uint32_t> session_id;  // logon / logon_long
  std::string domain, user;                 // logon / logon_long
  std::optional<arc_server_cookie> cookie;  // logon_extended_info
  std::optional<logon_errors> errors;       // logon_extended_info
  friend bool operator==(const save_session_info&, const save_session_info&) = default;
};
// INFOTYPE_LOGON_LONG (TS_LOGON_INFO_VERSION_2): session id, domain, user. value_out_of_range for names too long.
boost::system::result<byte_buffer> encode_logon_long(std::uint32_t session_id, std::string_view domain,
                                                     std::string_view user, const share::data_pdu_route& route);
// INFOTYPE_LOGON_EXTENDED_INFO with the cookie and/or logon errors present.
byte_buffer encode_logon_extended(const std::optional<arc_server_cookie>& cookie,
                                  const std::optional<logon_errors>& errors, const share::data_pdu_route& route);
decode_result<save_session_info> decode_save_session_info(bytes_view body);

// Server Auto-Reconnect Status PDU (2.2.4.1): the cookie was not accepted; the client goes on to a full logon.
byte_buffer encode_auto_reconnect_status(const share::data_pdu_route& route);

// Server Heartbeat PDU (2.2.16.1), behind a security header with SEC_HEARTBEAT: period in seconds, and the counts
// of missed heartbeats after which the client should warn (count1) and reconnect (count2).
struct heartbeat {
  std::uint8_t period = 0, count1 = 0, count2 = 0;
  friend bool operator==(const heartbeat&, const heartbeat&) = default;
};
byte_buffer encode(const heartbeat& pdu, const share::data_pdu_route& route);
decode_result<heartbeat> decode_heartbeat(bytes_view user_data);

// Client Input Event PDU (2.2.8.1.1.3.1, slow path) with one Synchronize event (2.2.8.1.1.3.1.1.5): toggleFlags
// is the state of the lock keys (TS_SYNC_SCROLL_LOCK 1, NUM_LOCK 2, CAPS_LOCK 4, KANA_LOCK 8). Client → server.
byte_buffer encode_input_synchronize(std::uint32_t toggle_flags, const share::data_pdu_route& route);

}  // namespace rdp::protocol::activation
