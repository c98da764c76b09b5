#pragma once
// MCS domain PDUs (T.125, ALIGNED PER) that the probe and the simulator need so far: the Disconnect Provider
// Ultimatum (MS-RDPBCGR 2.2.2.3) and the Send Data Request/Indication framing that carries every RDP PDU after
// the connection is set up (MS-RDPBCGR 2.2.8.1.1.1 / 2.2.1.x). Functions take the X.224 data payload.
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/errc.hpp"
#include "rdp/protocol/gcc.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace rdp::protocol::mcs {

// DomainMCSPDU CHOICE indices (T.125 section 7, as FreeRDP's mcs.h numbers them).
namespace choice {
inline constexpr std::uint8_t erect_domain_request = 1;
inline constexpr std::uint8_t disconnect_provider_ultimatum = 8;
inline constexpr std::uint8_t attach_user_request = 10;
inline constexpr std::uint8_t attach_user_confirm = 11;
inline constexpr std::uint8_t channel_join_request = 14;
inline constexpr std::uint8_t channel_join_confirm = 15;
inline constexpr std::uint8_t send_data_request = 25;
inline constexpr std::uint8_t send_data_indication = 26;
}  // namespace choice

inline constexpr std::uint16_t base_channel_id = 1001;    // user ids are PER "integer16 minus 1001"
// The channel numbering of FreeRDP's and Windows' servers, which rdpsim follows: the server speaks as user 1002
// (0x03EA, also the share's node id and the low half of its share id), 1003 is the I/O channel, static virtual
// channels get 1004, 1005, … in the order the client listed them (Server Network Data, MS-RDPBCGR 2.2.1.4.4), and the
// client's user id (Attach User Confirm, 2.2.1.7) comes after the last of them.
inline constexpr std::uint16_t server_channel_id = 1002;
inline constexpr std::uint16_t global_channel_id = 1003;  // the I/O channel
// The id of the static virtual channel at `index` in the client's Client Network Data.
constexpr std::uint16_t static_channel_id(std::size_t index) noexcept {
  return static_cast<std::uint16_t>(global_channel_id + 1 + index);
}
// The user id given to a client that asked for `static_channels` channels.
constexpr std::uint16_t user_channel_id(std::size_t static_channels) noexcept {
  return static_channel_id(static_channels);
}

// T.125 Reason: the spec lets a server use only provider_initiated and user_requested (2.2.2.3).
enum class disconnect_reason : std::uint8_t {
  domain_disconnected = 0,
  provider_initiated = 1,
  token_purged = 2,
  user_requested = 3,
  channel_purged = 4,
};
std::string_view to_string(disconnect_reason r) noexcept;  // "rn-user-requested", …

struct disconnect_provider_ultimatum {
  disconnect_reason reason = disconnect_reason::user_requested;
  friend bool operator==(const disconnect_provider_ultimatum&, const disconnect_provider_ultimatum&) = default;
};

// The CHOICE index of the MCS domain PDU at the start of `mcs` (first byte >> 2), or nullopt if empty.
std::optional<std::uint8_t> peek_choice(bytes_view mcs) noexcept;

// 2 bytes: 6-bit choice, then the 3-bit reason (ALIGNED PER enumerated): 0x20|(reason>>1), (reason&1)<<7.
byte_buffer encode(const disconnect_provider_ultimatum& dpu);          // MCS bytes only
decode_result<disconnect_provider_ultimatum> decode_disconnect_provider_ultimatum(bytes_view mcs);

// Send Data Request (client→server, choice 25) and Send Data Indication (server→client, choice 26) share a layout:
// initiator (user id − 1001, BE16), channelId (BE16), dataPriority+segmentation (0x70), PER length, userData.
struct send_data {
  bool indication = true;             // true: server→client (26); false: client→server request (25)
  std::uint16_t initiator = server_channel_id;  // absolute user id
  std::uint16_t channel_id = global_channel_id;
  bytes_view user_data;
};
decode_result<send_data> decode_send_data(bytes_view mcs);
// Appends the Send Data header for `user_data_size` bytes of user data (the caller appends the data).
boost::system::error_code write_send_data_header(byte_writer& out, bool indication, std::uint16_t initiator,
                                                 std::uint16_t channel_id, std::size_t user_data_size);


// ---- Domain PDUs of the connection sequence (MS-RDPBCGR 2.2.1.5-2.2.1.8, T.125 section 7) ------------------------
// All are ALIGNED PER: the first byte is choice << 2 plus option bits; user ids are PER integer16 minus 1001 and
// channel ids raw big-endian. Functions take/return MCS bytes (the X.224 data payload); x224::encode_data frames
// them. Decoders return errc::unexpected_mcs_pdu for another choice, errc::truncated when cut short and
// errc::trailing_bytes for bytes after the PDU.

// Erect Domain Request (client, choice 1): subHeight and subInterval, PER unconstrained INTEGERs (FreeRDP: 0, 0).
struct erect_domain_request {
  std::uint32_t sub_height = 0;
  std::uint32_t sub_interval = 0;
  friend bool operator==(const erect_domain_request&, const erect_domain_request&) = default;
};
byte_buffer encode(const erect_domain_request& pdu);
decode_result<erect_domain_request> decode_erect_domain_request(bytes_view mcs);

// Attach User Request (client, choice 10): no fields.
struct attach_user_request {
  friend bool operator==(const attach_user_request&, const attach_user_request&) = default;
};
byte_buffer encode(const attach_user_request& pdu);
decode_result<attach_user_request> decode_attach_user_request(bytes_view mcs);

// Attach User Confirm (server, choice 11): result (T.125 Result, 0 rt-successful) and the user id assigned, which
// becomes the client's user channel. The option bit 0x02 says the initiator is present; it always is here.
struct attach_user_confirm {
  std::uint8_t result = 0;
  std::uint16_t initiator = 1007;  // absolute user id (>= 1001)
  friend bool operator==(const attach_user_confirm&, const attach_user_confirm&) = default;
};
boost::system::result<byte_buffer> encode(const attach_user_confirm& pdu);  // value_out_of_range: id < 1001
decode_result<attach_user_confirm> decode_attach_user_confirm(bytes_view mcs);

// Channel Join Request (client, choice 14): the user id and the channel to join.
struct channel_join_request {
  std::uint16_t initiator = 1007;
  std::uint16_t channel_id = global_channel_id;
  friend bool operator==(const channel_join_request&, const channel_join_request&) = default;
};
boost::system::result<byte_buffer> encode(const channel_join_request& pdu);  // value_out_of_range: id < 1001
decode_result<channel_join_request> decode_channel_join_request(bytes_view mcs);

// Channel Join Confirm (server, choice 15): result, initiator, requested channel and (option bit 0x02) the joined
// channel id, which a successful join always carries.
struct channel_join_confirm {
  std::uint8_t result = 0;
  std::uint16_t initiator = 1007;
  std::uint16_t requested = global_channel_id;
  std::optional<std::uint16_t> channel_id = global_channel_id;
  friend bool operator==(const channel_join_confirm&, const channel_join_confirm&) = default;
};
boost::system::result<byte_buffer> encode(const channel_join_confirm& pdu);  // value_out_of_range: id < 1001
decode_result<channel_join_confirm> decode_channel_join_confirm(bytes_view mcs);

}  // namespace rdp::protocol::mcs

// ---- MCS Connect-Initial / Connect-Response (T.125 section 11.1-11.2, BER; MS-RDPBCGR 2.2.1.3, 2.2.1.4) ----------
namespace rdp::protocol::mcs {

// DomainParameters (T.125 section 7): a BER SEQUENCE of eight INTEGERs.
struct domain_parameters {
  std::uint32_t max_channel_ids = 0;
  std::uint32_t max_user_ids = 0;
  std::uint32_t max_token_ids = 0;
  std::uint32_t num_priorities = 0;
  std::uint32_t min_throughput = 0;
  std::uint32_t max_height = 0;
  std::uint32_t max_mcs_pdu_size = 0;
  std::uint32_t protocol_version = 0;
  friend bool operator==(const domain_parameters&, const domain_parameters&) = default;
};

// What mstsc, FreeRDP and nmap offer as target / minimum / maximum parameters (docs/wire-facts.md 2.2).
inline constexpr domain_parameters client_target_parameters{34, 2, 0, 1, 0, 1, 65535, 2};
inline constexpr domain_parameters client_minimum_parameters{1, 1, 1, 1, 0, 1, 1056, 2};
inline constexpr domain_parameters client_maximum_parameters{65535, 64535, 65535, 1, 0, 1, 65535, 2};

// Connect-Initial ([APPLICATION 101]), client to server, carrying the GCC Conference Create Request.
struct connect_initial {
  byte_buffer calling_domain_selector{0x01};
  byte_buffer called_domain_selector{0x01};
  bool upward_flag = true;
  domain_parameters target_parameters = client_target_parameters;
  domain_parameters minimum_parameters = client_minimum_parameters;
  domain_parameters maximum_parameters = client_maximum_parameters;
  gcc::conference_create_request user_data;
  friend bool operator==(const connect_initial&, const connect_initial&) = default;
};

// Connect-Response ([APPLICATION 102]), server to client, carrying the GCC Conference Create Response.
struct connect_response {
  std::uint32_t result = 0;  // T.125 Result: 0 rt-successful (FreeRDP's client does not look at it)
  std::uint32_t called_connect_id = 0;
  domain_parameters parameters{34, 3, 0, 1, 0, 1, 65528, 2};  // what Windows answers (xrdp: 22 channels)
  gcc::conference_create_response user_data;
  friend bool operator==(const connect_response&, const connect_response&) = default;
};

// Encoders return whole TPKT frames (TPKT + X.224 data + BER). The DomainParameters INTEGERs are written as the
// senders we copy write them: a Connect-Initial with the shortest unsigned octets, as mstsc and nmap do (65535 is
// `02 02 ff ff`); a Connect-Response in DER, as Windows and xrdp do (65528 is `02 03 00 ff f8`). The decoders
// read either as unsigned. errc::value_out_of_range when the frame would exceed the TPKT length.
boost::system::result<byte_buffer> encode(const connect_initial& ci);
boost::system::result<byte_buffer> encode(const connect_response& cr);

// Decoders take the start of a byte stream: errc::need_more while the TPKT frame is incomplete, consumed = frame
// length. errc::unexpected_tpdu for another X.224 TPDU, errc::unexpected_mcs_pdu for another MCS PDU (such as a
// Disconnect Provider Ultimatum), errc::bad_mcs / truncated / trailing_bytes for a malformed BER or GCC body.
decode_result<connect_initial> decode_connect_initial(bytes_view stream);
decode_result<connect_response> decode_connect_response(bytes_view stream);

}  // namespace rdp::protocol::mcs
