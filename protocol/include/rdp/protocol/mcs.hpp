#pragma once
// MCS domain PDUs (T.125, ALIGNED PER) that the probe and the simulator need so far: the Disconnect Provider
// Ultimatum (MS-RDPBCGR 2.2.2.3) and the Send Data Request/Indication framing that carries every RDP PDU after
// the connection is set up (MS-RDPBCGR 2.2.8.1.1.1 / 2.2.1.x). Functions take the X.224 data payload.
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/errc.hpp"

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
inline constexpr std::uint16_t global_channel_id = 1003;  // the I/O channel

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
  std::uint16_t initiator = 1002;     // absolute user id
  std::uint16_t channel_id = global_channel_id;
  bytes_view user_data;
};
decode_result<send_data> decode_send_data(bytes_view mcs);
// Appends the Send Data header for `user_data_size` bytes of user data (the caller appends the data).
boost::system::error_code write_send_data_header(byte_writer& out, bool indication, std::uint16_t initiator,
                                                 std::uint16_t channel_id, std::size_t user_data_size);

}  // namespace rdp::protocol::mcs
