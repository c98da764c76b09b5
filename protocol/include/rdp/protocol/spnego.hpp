#pragma once
// SPNEGO (RFC 4178, with Microsoft's use of it in MS-SPNG), the negotiation mstsc and Windows' Negotiate package
// wrap their NTLM tokens in inside CredSSP's negoTokens: the initiator's first token is a GSS-API InitialContextToken
// ([APPLICATION 0], RFC 2743 3.1) holding the SPNEGO OID and a NegTokenInit; every later token either side sends is a
// bare NegTokenResp ([1]). Pure codec: which mechanism to pick and when a mechListMIC is due is the caller's
// (credssp_acceptor, credssp_initiator; docs/nla.md "SPNEGO").
#include "rdp/protocol/bytes.hpp"

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace rdp::protocol::spnego {

enum class error {
  not_spnego = 1,  // neither an InitialContextToken with the SPNEGO OID nor a NegTokenResp
  bad_token,       // a SPNEGO token whose DER is malformed or whose fields are not what RFC 4178 4.2 defines
};
const boost::system::error_category& spnego_category() noexcept;
inline boost::system::error_code make_error_code(error e) noexcept { return {static_cast<int>(e), spnego_category()}; }

// Mechanism OIDs, as the content octets of their DER OBJECT IDENTIFIER.
using oid = byte_buffer;
inline constexpr std::array<std::uint8_t, 6> spnego_oid{0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};  // 1.3.6.1.5.5.2
// 1.3.6.1.4.1.311.2.2.10, NTLMSSP (MS-NLMP 1.9)
inline constexpr std::array<std::uint8_t, 10> ntlm_oid{0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};
// 1.2.840.113554.1.2.2, Kerberos 5 (RFC 4121)
inline constexpr std::array<std::uint8_t, 9> kerberos_oid{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
// 1.2.840.48018.1.2.2, the Kerberos OID Windows 2000 wrote with a truncated arc and Windows still offers first
inline constexpr std::array<std::uint8_t, 9> ms_kerberos_oid{0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02};
// 1.3.6.1.4.1.311.2.2.30, NEGOEX (MS-NEGOEX), which Windows 10 and later offer first when it is enabled
inline constexpr std::array<std::uint8_t, 10> negoex_oid{0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x1e};

bool is_ntlm(bytes_view mech) noexcept;
// "NTLM", "Kerberos", "MS Kerberos", "NEGOEX", or the dotted form ("1.2.3.4") of any other; "?" when malformed.
std::string mech_name(bytes_view mech);

// RFC 4178 4.2.2.
enum class neg_state : std::uint8_t { accept_completed = 0, accept_incomplete = 1, reject = 2, request_mic = 3 };
const char* to_string(neg_state s) noexcept;  // "accept-completed", "accept-incomplete", "reject", "request-mic"

// NegTokenInit (RFC 4178 4.2.1). reqFlags is read and dropped (RFC 4178: SHOULD be ignored). negHints, which only
// a server's NegTokenInit2 carries (MS-SPNG 2.2.1), is read and dropped too.
struct neg_token_init {
  std::vector<oid> mech_types;             // the initiator's mechanisms, most preferred first
  std::optional<byte_buffer> mech_token;   // the optimistic token of mech_types.front()
  std::optional<byte_buffer> mech_list_mic;
  friend bool operator==(const neg_token_init&, const neg_token_init&) = default;
};

// NegTokenResp (RFC 4178 4.2.2).
struct neg_token_resp {
  std::optional<neg_state> state;
  std::optional<oid> supported_mech;       // only in the acceptor's first answer
  std::optional<byte_buffer> response_token;
  std::optional<byte_buffer> mech_list_mic;
  friend bool operator==(const neg_token_resp&, const neg_token_resp&) = default;
};

using token = std::variant<neg_token_init, neg_token_resp>;

// Whether `t` starts like a SPNEGO token (0x60: an InitialContextToken; 0xa1: a NegTokenResp) rather than a raw
// mechanism token such as "NTLMSSP\0". Only a first look: decode() decides.
bool looks_like_spnego(bytes_view t) noexcept;

// One whole token: an InitialContextToken with the SPNEGO OID around a NegTokenInit, or a NegTokenResp. Bytes after
// it are refused (error::bad_token), as is an InitialContextToken for another mechanism (error::not_spnego).
boost::system::result<token> decode(bytes_view input);

byte_buffer encode(const neg_token_init& init);  // wrapped in the InitialContextToken
byte_buffer encode(const neg_token_resp& resp);

// The DER MechTypeList (SEQUENCE OF MechType), which a mechListMIC is computed over (RFC 4178 5; MS-SPNG 3.1.5.1).
// Both sides re-encode the list from its OIDs, so a list sent in non-minimal BER still gives the same bytes.
byte_buffer encode_mech_type_list(const std::vector<oid>& mechs);

}  // namespace rdp::protocol::spnego

template <>
struct boost::system::is_error_code_enum<rdp::protocol::spnego::error> : std::true_type {};
