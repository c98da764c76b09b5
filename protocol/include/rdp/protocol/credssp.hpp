#pragma once
// CredSSP TSRequest (MS-CSSP 2.2.1), the DER structure every CredSSP message travels in. TSRequests are sent raw
// inside TLS, without TPKT (MS-CSSP 3.1.5), so the outer SEQUENCE's DER length is the only framing: the decoder is
// tri-state — a prefix of the outer SEQUENCE is errc::need_more, a whole one decodes or is malformed.
// DER itself is ber.hpp's; this file only knows which fields go where.
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/errc.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace rdp::protocol {
// The Early User Authorization Result PDU's authorizationResult (MS-RDPBCGR 2.2.10.2): four bytes, little-endian, that
// a server which selected PROTOCOL_HYBRID_EX sends raw in the TLS stream right after CredSSP.
inline constexpr std::uint32_t authz_success = 0x00000000, authz_access_denied = 0x00000005;
}  // namespace rdp::protocol

namespace rdp::protocol::credssp {

// How a TSRequest can be wrong, in category "rdp.credssp". A prefix is protocol::errc::need_more, as everywhere.
enum class error {
  not_ts_request = 1,  // the first byte is not a DER SEQUENCE (0x30): the peer is not speaking CredSSP
  bad_ts_request,      // a SEQUENCE, but its fields are not a TSRequest (tags, order, values, DER structure)
};
const boost::system::error_category& credssp_category() noexcept;
inline boost::system::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), credssp_category()};
}

// The highest TSRequest.version MS-CSSP defines (2.2.1: "Valid values ... are 2, 3, 4, 5, and 6").
inline constexpr std::int64_t latest_version = 6;

// MS-CSSP 2.2.1:
//   TSRequest ::= SEQUENCE {
//     version [0] INTEGER, negoTokens [1] NegoData OPTIONAL, authInfo [2] OCTET STRING OPTIONAL,
//     pubKeyAuth [3] OCTET STRING OPTIONAL, errorCode [4] INTEGER OPTIONAL, clientNonce [5] OCTET STRING OPTIONAL }
//   NegoData ::= SEQUENCE OF SEQUENCE { negoToken [0] OCTET STRING }
// Every tag is EXPLICIT (context-specific, constructed).
struct ts_request {
  std::int64_t version = latest_version;
  std::vector<byte_buffer> nego_tokens;      // each NegoData.negoToken (SPNEGO or raw NTLM/Kerberos); empty = absent
  std::optional<byte_buffer> auth_info;      // TSCredentials, encrypted (never sent by a probe)
  std::optional<byte_buffer> pub_key_auth;
  std::optional<std::uint32_t> error_code;   // NTSTATUS of a failed SPNEGO exchange (version 3+)
  std::optional<byte_buffer> client_nonce;   // 32 random bytes (version 5+)
  friend bool operator==(const ts_request&, const ts_request&) = default;
};

// DER, fields in tag order, absent ones omitted. errorCode is written as the 32-bit two's complement INTEGER
// Windows sends (0xC000006D → 02 04 c0 00 00 6d, i.e. a negative number); the decoder accepts that and the
// positive 5-byte form alike.
byte_buffer encode(const ts_request& request);

// Decodes the TSRequest at the start of `stream`; consumed = the outer SEQUENCE's size, bytes after it are left
// alone. Unknown context tags above [5] are skipped (later versions of MS-CSSP added fields at the end, 5 in
// version 5); known fields must come in tag order, once each, and version is required.
decode_result<ts_request> decode_ts_request(bytes_view stream);

// TSCredentials (MS-CSSP 2.2.1.2) with TSPasswordCreds (2.2.1.2.1), the plaintext the client seals into authInfo:
//   TSCredentials ::= SEQUENCE { credType [0] INTEGER, credentials [1] OCTET STRING }
//   TSPasswordCreds ::= SEQUENCE { domainName [0] OCTET STRING, userName [1] OCTET STRING, password [2] OCTET STRING }
// The strings are UTF-16LE, as sent (FreeRDP and mstsc).
inline constexpr std::int64_t cred_type_password = 1, cred_type_smartcard = 2, cred_type_remote_guard = 6;
struct password_credentials {
  byte_buffer domain, user, password;
  friend bool operator==(const password_credentials&, const password_credentials&) = default;
};
struct ts_credentials {
  std::int64_t cred_type = cred_type_password;
  byte_buffer credentials;  // DER TSPasswordCreds for cred_type_password; other kinds kept raw
  friend bool operator==(const ts_credentials&, const ts_credentials&) = default;
};
byte_buffer encode(const ts_credentials& credentials);
byte_buffer encode(const password_credentials& credentials);
// Whole-buffer decoders (the plaintext is one sealed message): trailing bytes are error::bad_ts_request.
boost::system::result<ts_credentials> decode_ts_credentials(bytes_view plaintext);
boost::system::result<password_credentials> decode_password_credentials(bytes_view der);

}  // namespace rdp::protocol::credssp

template <>
struct boost::system::is_error_code_enum<rdp::protocol::credssp::error> : std::true_type {};
