#pragma once
// GCC Conference Create Request / Response (ITU-T T.124, PER) and the RDP user data blocks they carry: the
// client's settings (MS-RDPBCGR 2.2.1.3.2-2.2.1.3.5) inside the MCS Connect-Initial and the server's answer
// (2.2.1.4.2-2.2.1.4.4) inside the MCS Connect-Response. These functions take and produce the content of the MCS
// userData OCTET STRING; mcs.hpp wraps them in BER, X.224 and TPKT.
//
// Blocks this file does not interpret (CS_MONITOR, SC_MCS_MSGCHANNEL, …) are kept as raw blocks, in their order,
// so a decoded PDU can be re-encoded. Known blocks are encoded in the order FreeRDP and mstsc use (client: core,
// cluster, security, network; server: core, network, security), then the raw ones.
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/errc.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rdp::protocol::gcc {

// TS_UD_HEADER.type values (2.2.1.3.1, 2.2.1.4.1; FreeRDP settings_types.h).
namespace block_type {
inline constexpr std::uint16_t cs_core = 0xC001;
inline constexpr std::uint16_t cs_security = 0xC002;
inline constexpr std::uint16_t cs_net = 0xC003;
inline constexpr std::uint16_t cs_cluster = 0xC004;
inline constexpr std::uint16_t cs_monitor = 0xC005;
inline constexpr std::uint16_t cs_mcs_msgchannel = 0xC006;
inline constexpr std::uint16_t cs_monitor_ex = 0xC008;
inline constexpr std::uint16_t cs_multitransport = 0xC00A;
inline constexpr std::uint16_t sc_core = 0x0C01;
inline constexpr std::uint16_t sc_security = 0x0C02;
inline constexpr std::uint16_t sc_net = 0x0C03;
inline constexpr std::uint16_t sc_mcs_msgchannel = 0x0C04;
inline constexpr std::uint16_t sc_multitransport = 0x0C08;
}  // namespace block_type
inline constexpr std::size_t block_header_size = 4;

// TS_UD_CS_CORE.version / TS_UD_SC_CORE.version (2.2.1.3.2, 2.2.1.4.2; FreeRDP settings_types.h RDP_VERSION_*).
namespace rdp_version {
inline constexpr std::uint32_t rdp4 = 0x00080001;
inline constexpr std::uint32_t rdp5_plus = 0x00080004;  // RDP 5.0 through 8.1
inline constexpr std::uint32_t rdp10_0 = 0x00080005;
inline constexpr std::uint32_t rdp10_7 = 0x0008000C;
inline constexpr std::uint32_t rdp10_12 = 0x00080011;
}  // namespace rdp_version
// "RDP 4.0", "RDP 5.0-8.1", "RDP 10.0" … "RDP 10.12"; empty for a value not in the table.
std::string_view rdp_version_name(std::uint32_t version) noexcept;

// encryptionMethod(s) bits (2.2.1.3.3, 2.2.1.4.3).
namespace encryption_method {
inline constexpr std::uint32_t none = 0x00000000;
inline constexpr std::uint32_t bits40 = 0x00000001;
inline constexpr std::uint32_t bits128 = 0x00000002;
inline constexpr std::uint32_t bits56 = 0x00000008;
inline constexpr std::uint32_t fips = 0x00000010;
inline constexpr std::uint32_t all = bits40 | bits128 | bits56 | fips;
}  // namespace encryption_method
// One method: "None", "40-bit RC4", "128-bit RC4", "56-bit RC4", "FIPS 140-1"; empty for anything else.
std::string_view encryption_method_name(std::uint32_t method) noexcept;
// A bit set: the names joined with '|', "None" for 0, unknown bits as hex.
std::string describe_encryption_methods(std::uint32_t methods);

// TS_UD_SC_SEC1.encryptionLevel (2.2.1.4.3).
namespace encryption_level {
inline constexpr std::uint32_t none = 0;
inline constexpr std::uint32_t low = 1;
inline constexpr std::uint32_t client_compatible = 2;
inline constexpr std::uint32_t high = 3;
inline constexpr std::uint32_t fips = 4;
}  // namespace encryption_level
// "None", "Low", "Client Compatible", "High", "FIPS"; empty for anything else.
std::string_view encryption_level_name(std::uint32_t level) noexcept;

// TS_UD_CS_CORE.earlyCapabilityFlags (2.2.1.3.2).
namespace early_capability {
inline constexpr std::uint16_t support_errinfo_pdu = 0x0001;  // the server may send Set Error Info (2.2.5.1)
inline constexpr std::uint16_t want_32bpp_session = 0x0002;
inline constexpr std::uint16_t support_statusinfo_pdu = 0x0004;
inline constexpr std::uint16_t strong_asymmetric_keys = 0x0008;
inline constexpr std::uint16_t valid_connection_type = 0x0020;
inline constexpr std::uint16_t support_monitor_layout_pdu = 0x0040;
inline constexpr std::uint16_t support_netchar_autodetect = 0x0080;
inline constexpr std::uint16_t support_dynvc_gfx_protocol = 0x0100;
inline constexpr std::uint16_t support_dynamic_time_zone = 0x0200;
inline constexpr std::uint16_t support_heartbeat_pdu = 0x0400;
inline constexpr std::uint16_t support_skip_channeljoin = 0x0800;
}  // namespace early_capability

// A data block kept as it came: type and the bytes after the 4-byte header.
struct raw_block {
  std::uint16_t type = 0;
  byte_buffer data;
  friend bool operator==(const raw_block&, const raw_block&) = default;
};

// TS_UD_CS_CORE (2.2.1.3.2). The fields after imeFileName are optional, but each one needs all before it: the
// encoder writes them in order up to the first absent one and refuses a gap (errc::value_out_of_range); the
// decoder reads as many whole fields as the block holds and ignores a partial one (as FreeRDP does).
// The text fields are UTF-16 code units, read up to the first NUL.
struct client_core_data {
  std::uint32_t version = rdp_version::rdp5_plus;
  std::uint16_t desktop_width = 1024;
  std::uint16_t desktop_height = 768;
  std::uint16_t color_depth = 0xCA01;   // RNS_UD_COLOR_8BPP: ignored when highColorDepth is present
  std::uint16_t sas_sequence = 0xAA03;  // RNS_UD_SAS_DEL
  std::uint32_t keyboard_layout = 0x0409;
  std::uint32_t client_build = 2600;
  std::u16string client_name;           // at most 16 units (32 bytes)
  std::uint32_t keyboard_type = 4;
  std::uint32_t keyboard_subtype = 0;
  std::uint32_t keyboard_function_keys = 12;
  std::u16string ime_file_name;         // at most 32 units (64 bytes)
  std::optional<std::uint16_t> post_beta2_color_depth;
  std::optional<std::uint16_t> client_product_id;
  std::optional<std::uint32_t> serial_number;
  std::optional<std::uint16_t> high_color_depth;
  std::optional<std::uint16_t> supported_color_depths;
  std::optional<std::uint16_t> early_capability_flags;
  std::optional<std::u16string> client_dig_product_id;  // at most 32 units (64 bytes)
  std::optional<std::uint8_t> connection_type;           // written with pad1octet
  std::optional<std::uint32_t> server_selected_protocol;
  std::optional<std::uint32_t> desktop_physical_width;
  std::optional<std::uint32_t> desktop_physical_height;
  std::optional<std::uint16_t> desktop_orientation;
  std::optional<std::uint32_t> desktop_scale_factor;
  std::optional<std::uint32_t> device_scale_factor;
  friend bool operator==(const client_core_data&, const client_core_data&) = default;
};

// TS_UD_CS_SEC (2.2.1.3.3).
struct client_security_data {
  std::uint32_t encryption_methods = 0;
  std::uint32_t ext_encryption_methods = 0;  // French-locale clients only
  friend bool operator==(const client_security_data&, const client_security_data&) = default;
};

// CHANNEL_DEF (2.2.1.3.4.1): an ANSI name of up to 8 bytes (7 and a NUL in practice) and CHANNEL_OPTION_* bits.
struct channel_def {
  std::string name;
  std::uint32_t options = 0;
  friend bool operator==(const channel_def&, const channel_def&) = default;
};

// TS_UD_CS_NET (2.2.1.3.4).
struct client_network_data {
  std::vector<channel_def> channels;
  friend bool operator==(const client_network_data&, const client_network_data&) = default;
};

// TS_UD_CS_CLUSTER (2.2.1.3.5).
struct client_cluster_data {
  std::uint32_t flags = 0;  // REDIRECTION_SUPPORTED 0x01 | ServerSessionRedirectionVersionMask 0x3C
  std::uint32_t redirected_session_id = 0;
  friend bool operator==(const client_cluster_data&, const client_cluster_data&) = default;
};

struct client_data {
  std::optional<client_core_data> core;
  std::optional<client_security_data> security;
  std::optional<client_network_data> network;
  std::optional<client_cluster_data> cluster;
  std::vector<raw_block> other;
  friend bool operator==(const client_data&, const client_data&) = default;
};

// TS_UD_SC_CORE (2.2.1.4.2): clientRequestedProtocols and earlyCapabilityFlags are optional (xrdp sends neither
// to a client that sent no RDP_NEG_REQ); the second needs the first.
struct server_core_data {
  std::uint32_t version = rdp_version::rdp5_plus;
  std::optional<std::uint32_t> client_requested_protocols;
  std::optional<std::uint32_t> early_capability_flags;
  friend bool operator==(const server_core_data&, const server_core_data&) = default;
};

// serverRandom and serverCertificate of TS_UD_SC_SEC1. The certificate (a proprietary certificate, 2.2.1.4.3.1,
// or an X.509 chain) is kept as bytes.
struct server_keys {
  byte_buffer server_random;  // 32 bytes per the spec; whatever serverRandomLen says is kept
  byte_buffer server_certificate;
  friend bool operator==(const server_keys&, const server_keys&) = default;
};

// TS_UD_SC_SEC1 (2.2.1.4.3). The spec has the random and certificate absent exactly when method and level are
// both 0; the decoder goes by the block length instead, so a server that gets this wrong is still read.
struct server_security_data {
  std::uint32_t encryption_method = encryption_method::none;
  std::uint32_t encryption_level = encryption_level::none;
  std::optional<server_keys> keys;
  friend bool operator==(const server_security_data&, const server_security_data&) = default;
};

// TS_UD_SC_NET (2.2.1.4.4).
struct server_network_data {
  std::uint16_t mcs_channel_id = 1003;  // the I/O channel
  std::vector<std::uint16_t> channel_ids;
  friend bool operator==(const server_network_data&, const server_network_data&) = default;
};

struct server_data {
  std::optional<server_core_data> core;
  std::optional<server_security_data> security;
  std::optional<server_network_data> network;
  std::vector<raw_block> other;
  friend bool operator==(const server_data&, const server_data&) = default;
};

// T.124 ConnectData{key = object {0 0 20 124 0 1}, ConnectGCCPDU conferenceCreateRequest} with one
// h221NonStandard user data set keyed "Duca" (2.2.1.3.1, FreeRDP gcc_write_conference_create_request).
struct conference_create_request {
  std::string conference_name = "1";  // ConferenceName::numeric
  client_data client;
  friend bool operator==(const conference_create_request&, const conference_create_request&) = default;
};

// ConnectGCCPDU conferenceCreateResponse, user data keyed "McDn" (2.2.1.4.1, FreeRDP
// gcc_write_conference_create_response). The connectPDU length is written as 0x2A, as Windows, xrdp and FreeRDP
// do (the spec has clients ignore it), and the user data length always in the two-byte form, as xrdp does.
struct conference_create_response {
  std::uint16_t node_id = 0x79F3;  // UserID; PER offset from 1001
  std::uint32_t tag = 1;
  std::uint8_t result = 0;         // rt-successful
  server_data server;
  friend bool operator==(const conference_create_response&, const conference_create_response&) = default;
};

// The data blocks alone. Decoders: errc::truncated when a block overruns its input, errc::bad_mcs for a block
// length under 4, a known block too short for its fixed part, or the same known block twice.
boost::system::result<byte_buffer> encode(const client_data& data);
boost::system::result<byte_buffer> encode(const server_data& data);
decode_result<client_data> decode_client_data(bytes_view blocks);
decode_result<server_data> decode_server_data(bytes_view blocks);

// The whole MCS userData content. Decoders check the T.124 object key and the H.221 key and need the user data
// to end exactly where its PER length says (errc::trailing_bytes / errc::truncated).
boost::system::result<byte_buffer> encode(const conference_create_request& request);
boost::system::result<byte_buffer> encode(const conference_create_response& response);
decode_result<conference_create_request> decode_conference_create_request(bytes_view user_data);
decode_result<conference_create_response> decode_conference_create_response(bytes_view user_data);

}  // namespace rdp::protocol::gcc
