#pragma once
// NTLMv2 authentication and session security (MS-NLMP 3.3.2, 3.4) over the messages of ntlm.hpp: what a client
// computes for its AUTHENTICATE, what a server checks in it, and the sealing both then use for CredSSP's pubKeyAuth
// and authInfo. Pure: the crypto primitives are the caller's (protocol/crypto.hpp), and so are the random inputs
// (client challenge, exported session key) — nothing here draws randomness or reads a clock.
//
// Only NTLMv2 with extended session security is spoken, which is what Windows (LmCompatibilityLevel 3 and up, the
// default since Vista), FreeRDP's winpr and mstsc use. An NTLMv1 response (24 bytes) is refused, as a Windows server
// at level 5 refuses it.
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/crypto.hpp"
#include "rdp/protocol/ntlm.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace rdp::protocol::ntlm {

// NTOWFv2 (3.3.2): HMAC_MD5(MD4(UNICODE(password)), UNICODE(Uppercase(user)) || UNICODE(domain)). `user` and `domain`
// are the UTF-16LE bytes as the AUTHENTICATE carries them; Uppercase covers ASCII and Latin-1 letters (Windows uses
// RtlUpcaseUnicodeString; names outside that range are compared as sent).
crypto::digest16 nt_owf_v2(const crypto::primitives& c, std::string_view password_utf8, bytes_view user_utf16,
                           bytes_view domain_utf16);
// UTF-16LE upper case of `utf16` for the letters Uppercase covers above.
byte_buffer uppercase_utf16le(bytes_view utf16);

// The pieces of an NTLMv2 response (2.2.2.8 NTLMv2_RESPONSE, 2.2.2.7 NTLMv2_CLIENT_CHALLENGE).
struct ntlmv2_response {
  crypto::digest16 nt_proof{};
  std::uint64_t timestamp = 0;
  std::array<std::uint8_t, 8> client_challenge{};
  std::vector<av_pair> av_pairs;  // the client's copy of TargetInfo plus its own pairs (MsvAvFlags, TargetName, …)
  bytes_view temp;                // the signed blob after NTProofStr (into the response it was decoded from)
};
// errc::truncated for a response shorter than NTLMv2's 48 bytes (an NTLMv1 response is 24); ntlm::error::bad_av_pair
// when its AV_PAIR list is malformed.
boost::system::result<ntlmv2_response> decode_ntlmv2_response(bytes_view nt_response);

// MsvAvFlags bit 0x2 (2.2.2.1): the AUTHENTICATE carries a MIC.
inline constexpr std::uint32_t av_flag_mic_present = 0x00000002;

// What the client side supplies for make_authenticate.
struct client_identity {
  std::string user, domain, password, workstation;  // UTF-8
};
struct client_randomness {
  std::array<std::uint8_t, 8> client_challenge{};
  crypto::digest16 exported_session_key{};  // the random session key sent under KEY_EXCH
};
struct authenticate_made {
  byte_buffer message;                      // the AUTHENTICATE, MIC filled in
  crypto::digest16 exported_session_key{};  // what both sides derive their session keys from
  std::uint32_t flags = 0;                  // as negotiated (the CHALLENGE's flags the client accepts)
};
// The AUTHENTICATE a Windows or winpr client sends for `challenge_wire` (3.1.5.1.2): NTLMv2 with the CHALLENGE's
// TargetInfo plus MsvAvFlags (MIC present) and, when `target_spn` is set, MsvAvTargetName; Z(24) as LM response
// (the CHALLENGE has a timestamp); the timestamp is the CHALLENGE's, or `filetime` when it has none; a MIC over
// NEGOTIATE || CHALLENGE || AUTHENTICATE. errc::value_out_of_range when the CHALLENGE lacks what NTLMv2 needs (no
// TargetInfo, no extended session security).
boost::system::result<authenticate_made> make_authenticate(const crypto::primitives& c, const client_identity& who,
                                                           bytes_view negotiate_wire, bytes_view challenge_wire,
                                                           const client_randomness& random, std::uint64_t filetime,
                                                           std::string_view target_spn = {});

// How a server's check of an AUTHENTICATE ends.
enum class check_failure {
  none,
  malformed,        // not an AUTHENTICATE, or its NTLMv2 response is malformed
  not_ntlmv2,       // an NTLMv1 or anonymous response: refused as at LmCompatibilityLevel 5
  wrong_response,   // NTProofStr does not match the password: a wrong password (or user/domain typed differently)
  bad_mic,          // the MIC does not match: the messages were altered
  no_session_key,   // KEY_EXCH negotiated without an EncryptedRandomSessionKey of 16 bytes
};
const char* to_string(check_failure f) noexcept;

struct authenticate_checked {
  check_failure failure = check_failure::none;
  authenticate_message message;             // decoded (valid unless failure is malformed)
  crypto::digest16 exported_session_key{};  // when failure is none
  std::uint32_t flags = 0;
  bool mic_present = false;  // MsvAvFlags said so, and the MIC matched (SPNEGO then wants a mechListMIC: MS-SPNG 3.3.5.1)
};
// The server's check (3.2.5.1.2): NTProofStr against NTOWFv2(password, user, domain as sent), the session key
// (KeyExchangeKey = SessionBaseKey; RC4K of EncryptedRandomSessionKey under KEY_EXCH), and the MIC when MsvAvFlags
// says there is one. The caller found `password` for the user the message names (decode_authenticate first).
authenticate_checked check_authenticate(const crypto::primitives& c, bytes_view negotiate_wire,
                                        bytes_view challenge_wire, bytes_view authenticate_wire,
                                        const std::array<std::uint8_t, 8>& server_challenge,
                                        std::string_view password_utf8);

// Connection-oriented session security after an NTLMv2 logon with extended session security (3.4.3, 3.4.4.2):
// one RC4 stream and sequence number per direction, for the life of the context. A message is sealed as CredSSP
// carries it (MS-CSSP 3.1.5, as Windows and FreeRDP write it): the 16-byte NTLMSSP_MESSAGE_SIGNATURE, then the
// sealed bytes.
class session_security {
 public:
  enum class side { client, server };
  session_security(const crypto::primitives& c, const crypto::digest16& exported_session_key, std::uint32_t flags,
                   side self);
  byte_buffer seal(bytes_view message);
  // The message, or nullopt when the input is shorter than a signature or its checksum or sequence number is wrong
  // (the stream then advanced: a context that failed once is not used again).
  std::optional<byte_buffer> unseal(bytes_view signature_and_sealed);
  // GSS_GetMIC / GSS_VerifyMIC (3.4.4.2 without the sealing): the 16-byte signature of `message`, on the same
  // sequence numbers and RC4 streams as seal and unseal. SPNEGO's mechListMIC is one.
  std::array<std::uint8_t, 16> sign(bytes_view message);
  bool verify(bytes_view message, bytes_view signature);
  // MS-SPNG 3.3.5.1: after the mechListMIC, the RC4 stream of that direction starts again from its sealing key, so
  // the MIC and the first sealed message use the same key state. Sequence numbers go on.
  void restart_send_cipher();
  void restart_receive_cipher();

 private:
  std::array<std::uint8_t, 16> signature(bytes_view message, crypto::rc4_stream& seal, const crypto::digest16& key,
                                         std::uint32_t seq) const;
  const crypto::primitives* crypto_;
  crypto::digest16 send_signing_key_{}, receive_signing_key_{};
  crypto::digest16 send_sealing_key_{}, receive_sealing_key_{};
  std::unique_ptr<crypto::rc4_stream> send_seal_, receive_seal_;
  std::uint32_t send_seq_ = 0, receive_seq_ = 0;
  bool key_exchange_ = true;
};

}  // namespace rdp::protocol::ntlm
