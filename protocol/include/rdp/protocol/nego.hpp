#pragma once
// RDP security protocol negotiation structures carried in X.224 CR/CC (MS-RDPBCGR 2.2.1.1.1, 2.2.1.2.1,
// 2.2.1.2.2). Values are little-endian on the wire.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rdp::protocol {

// requestedProtocols / selectedProtocol values. PROTOCOL_RDP is 0: "no bit", i.e. Standard RDP Security.
enum class security_protocol : std::uint32_t {
  rdp = 0x00000000,
  ssl = 0x00000001,        // TLS
  hybrid = 0x00000002,     // CredSSP (NLA); clients also set ssl
  rdstls = 0x00000004,
  hybrid_ex = 0x00000008,  // CredSSP + Early User Authorization Result PDU
  rdsaad = 0x00000010,     // RDS AAD Auth
};

inline constexpr std::uint32_t to_bits(security_protocol p) noexcept { return static_cast<std::uint32_t>(p); }

// Every protocol the probe enumerates, in the order it reports them.
inline constexpr std::array<security_protocol, 6> all_security_protocols = {
    security_protocol::rdp,    security_protocol::ssl,       security_protocol::hybrid,
    security_protocol::rdstls, security_protocol::hybrid_ex, security_protocol::rdsaad};

// The names the tools print and accept: "rdp", "tls", "credssp", "rdstls", "credssp-ex", "rdsaad".
std::string_view to_string(security_protocol p) noexcept;
// Accepts the printed names and the spec's ("ssl", "hybrid", "hybrid_ex"/"hybrid-ex", "nla"), any case.
std::optional<security_protocol> parse_security_protocol(std::string_view name) noexcept;
// A comma-separated list of names as parse_security_protocol accepts them ("rdp,tls,credssp"), in the order given,
// duplicates kept. nullopt for an empty list or a name it does not know, with `why` saying which:
// "unknown protocol 'telnet' (expected rdp, tls, credssp, credssp-ex, rdstls, rdsaad)" or "no protocol given".
// rdpsim's profiles and rdpprobe's --protocols both read their lists with it.
std::optional<std::vector<security_protocol>> parse_security_protocol_list(std::string_view list, std::string* why);
// The list back as text: to_string of each, joined with commas ("rdp,tls"); parse_security_protocol_list reads it.
std::string format_security_protocol_list(std::span<const security_protocol> protocols);
// A known protocol value, or nullopt for an unknown bit pattern (e.g. a server selecting 0x20).
std::optional<security_protocol> security_protocol_from_bits(std::uint32_t bits) noexcept;
// "tls|credssp" style rendering of a requestedProtocols bit set; "rdp" for 0; unknown bits as hex.
std::string describe_protocol_bits(std::uint32_t bits);
// True when the protocol runs its security layer over TLS (everything but Standard RDP Security).
inline constexpr bool uses_tls(security_protocol p) noexcept { return p != security_protocol::rdp; }

// RDP_NEG_REQ flags (2.2.1.1.1).
namespace neg_request_flags {
inline constexpr std::uint8_t restricted_admin_mode_required = 0x01;
inline constexpr std::uint8_t redirected_authentication_mode_required = 0x02;
inline constexpr std::uint8_t correlation_info_present = 0x08;
inline constexpr std::uint8_t all = 0x0B;
}  // namespace neg_request_flags

// RDP_NEG_RSP flags (2.2.1.2.1).
namespace neg_response_flags {
inline constexpr std::uint8_t extended_client_data_supported = 0x01;
inline constexpr std::uint8_t dynvc_gfx_protocol_supported = 0x02;
inline constexpr std::uint8_t reserved = 0x04;
inline constexpr std::uint8_t restricted_admin_mode_supported = 0x08;
inline constexpr std::uint8_t redirected_authentication_mode_supported = 0x10;
}  // namespace neg_response_flags
// Names of the set flags, e.g. {"EXTENDED_CLIENT_DATA_SUPPORTED", "DYNVC_GFX_PROTOCOL_SUPPORTED"}; unknown bits as hex.
std::vector<std::string> describe_neg_response_flags(std::uint8_t flags);

// RDP_NEG_FAILURE failureCode (2.2.1.2.2).
enum class neg_failure_code : std::uint32_t {
  ssl_required_by_server = 0x1,
  ssl_not_allowed_by_server = 0x2,
  ssl_cert_not_on_server = 0x3,
  inconsistent_flags = 0x4,
  hybrid_required_by_server = 0x5,
  ssl_with_user_auth_required_by_server = 0x6,
};
// "SSL_REQUIRED_BY_SERVER" …; "UNKNOWN_FAILURE_0x…" for values outside the table.
std::string describe_neg_failure(std::uint32_t code);

namespace neg_type {
inline constexpr std::uint8_t request = 0x01;
inline constexpr std::uint8_t response = 0x02;
inline constexpr std::uint8_t failure = 0x03;
inline constexpr std::uint8_t correlation_info = 0x06;
}  // namespace neg_type
inline constexpr std::uint16_t neg_structure_length = 8;
inline constexpr std::uint16_t correlation_info_length = 36;

struct neg_request {
  std::uint8_t flags = 0;
  std::uint32_t requested_protocols = 0;
  friend bool operator==(const neg_request&, const neg_request&) = default;
};

struct correlation_info {
  std::array<std::uint8_t, 16> correlation_id{};
  friend bool operator==(const correlation_info&, const correlation_info&) = default;
};

struct neg_response {
  std::uint8_t flags = 0;
  std::uint32_t selected_protocol = 0;
  friend bool operator==(const neg_response&, const neg_response&) = default;
};

struct neg_failure {
  std::uint32_t failure_code = 0;
  friend bool operator==(const neg_failure&, const neg_failure&) = default;
};

// What a server answers to a client's negotiation request: the server side of MS-RDPBCGR 3.3.5.3.1/3.3.5.3.2.
struct server_security_policy {
  std::uint32_t supported = 0;        // bits of the protocols the server accepts; bit-less PROTOCOL_RDP below
  bool supports_standard_rdp = true;  // PROTOCOL_RDP (Standard RDP Security)
  std::uint8_t response_flags = neg_response_flags::extended_client_data_supported;
  // xrdp 0.9's answer to a requestedProtocols with a bit above this (libxrdp/xrdp_iso.c: "Unknown requested protocol
  // flag"): no Connection Confirm at all, an MCS Disconnect Provider Ultimatum (rn-user-requested) and the close
  // (docs/wire-vectors.md, XRDP-DPU). nullopt: every bit is weighed, as Windows does.
  std::optional<std::uint32_t> disconnect_above = std::nullopt;
};
// Selection order when the client offers several: the strongest first, the order in which FreeRDP 3 clients
// attempt them (RDSAAD, RDSTLS, CredSSP-EX, CredSSP, TLS) and then Standard RDP Security.
inline constexpr std::array<security_protocol, 5> server_preference = {
    security_protocol::rdsaad, security_protocol::rdstls, security_protocol::hybrid_ex, security_protocol::hybrid,
    security_protocol::ssl};

struct negotiation_decision {
  // A response (selected protocol), a failure, or neither: a client that sent no RDP_NEG_REQ gets a CC without
  // negotiation data when Standard RDP Security is allowed (what legacy servers and xrdp do).
  std::optional<neg_response> response;
  std::optional<neg_failure> failure;
  bool disconnect = false;  // neither: the policy's disconnect_above answers with a DPU instead of a confirm
};
// `request` is the client's RDP_NEG_REQ, or nullopt when it sent none (which means PROTOCOL_RDP only).
// The rules, from 2.2.1.2.2 and observed servers:
//  - pick the first of server_preference that both sides have;
//  - else Standard RDP Security if the server allows it: it is implied in every request, as xrdp treats it
//    (an HYBRID-only request to xrdp selects RDP) — except that a server offering *only* Standard RDP Security
//    answers a request for enhanced security with SSL_NOT_ALLOWED_BY_SERVER, as Windows with SecurityLayer=0 does;
//  - else HYBRID_REQUIRED_BY_SERVER when the server needs CredSSP and TLS alone would not do, otherwise
//    SSL_REQUIRED_BY_SERVER.
negotiation_decision decide_negotiation(const std::optional<neg_request>& request,
                                        const server_security_policy& policy) noexcept;

}  // namespace rdp::protocol
