#pragma once
// The client's side of CredSSP (MS-CSSP 3.1.5) with NTLM (MS-NLMP 3.1.5): `credssp_initiator`, the mirror of
// credssp_server.hpp's `credssp_acceptor`. Three TSRequests out, two back:
//   1. NEGOTIATE (raw NTLM, not SPNEGO-wrapped, in a TSRequest of version 6, as FreeRDP 2.11's nla.c sends it)
//      → the server's CHALLENGE;
//   2. AUTHENTICATE (NTLMv2 + MIC, ntlm_auth.hpp) with pubKeyAuth — the client's binding of the server's TLS public
//      key, sealed — and clientNonce (version 5 and later) → the server's sealed binding, checked here;
//   3. authInfo: the sealed TSCredentials with the password (2.2.1.2.1). No answer comes on success.
// With `spnego_mechs` the NTLM tokens travel inside SPNEGO instead (spnego.hpp), as mstsc's do: a NegTokenInit with
// that mechanism list, NegTokenResps after it, and mechListMICs both ways (MS-SPNG 3.3.5.1).
// Pure: the crypto primitives, the random inputs (client challenge, exported session key, nonce), the FILETIME used
// when the CHALLENGE has no timestamp and the server's public key are the caller's. It never throws for what the
// server sends: a refusal (TSRequest.errorCode), a binding that does not match and malformed input each end the
// exchange with their own failure.
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/credssp.hpp"
#include "rdp/protocol/credssp_server.hpp"
#include "rdp/protocol/crypto.hpp"
#include "rdp/protocol/ntlm_auth.hpp"
#include "rdp/protocol/spnego.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rdp::protocol {

// The NEGOTIATE flags of winpr's NTLM client (ntlm_write_NegotiateMessage) under FreeRDP 2.11's nla.c, which asks
// for confidentiality (CredSSP seals): 56|KEY_EXCH|128|VERSION|EXTENDED_SESSIONSECURITY|ALWAYS_SIGN|NTLM|LM_KEY|SEAL|
// SIGN|REQUEST_TARGET|OEM|UNICODE — the same value as nmap's (ntlm.hpp, negotiate_flags::nmap_negotiate).
inline constexpr std::uint32_t initiator_negotiate_flags = 0xE20882B7;

struct credssp_initiator_options {
  ntlm::client_identity identity;   // user, domain, password, workstation (UTF-8)
  ntlm::client_randomness random;   // client challenge and exported session key
  std::array<std::uint8_t, 32> nonce{};  // clientNonce (MS-CSSP 2.2.1, version 5 and later)
  std::uint64_t filetime = 0;       // the NTLMv2 timestamp when the CHALLENGE carries none (MS-NLMP 3.1.5.1.2)
  byte_buffer public_key;           // the server's TLS SubjectPublicKey (net::subject_public_key)
  std::int64_t version = credssp::latest_version;  // the TSRequest.version this client states
  std::uint32_t negotiate_flags = initiator_negotiate_flags;
  std::string target_spn;           // MsvAvTargetName ("TERMSRV/host"); empty: none, as FreeRDP without /server-name
  // Empty: raw NTLM tokens (FreeRDP). Otherwise SPNEGO with these mechanisms in this order, NTLM among them (the
  // only one spoken): when NTLM is first its NEGOTIATE is the optimistic token; when it is not, `optimistic_token`
  // (if any) stands for the first mechanism's, as a Kerberos AP-REQ would, and the server must drop it.
  std::vector<spnego::oid> spnego_mechs;
  std::optional<byte_buffer> optimistic_token;
};

// How the exchange failed, from the client's side.
enum class credssp_client_failure {
  none,
  refused,         // the server answered with TSRequest.errorCode: nla_status() is its NTSTATUS
  server_binding,  // the server's pubKeyAuth did not unseal or does not bind this TLS key: a man in the middle
  malformed,       // the server's TSRequest is not what this step expects (no CHALLENGE, an NTLM message that does not
                   // decode, a CHALLENGE NTLMv2 cannot answer, no pubKeyAuth)
};
const char* to_string(credssp_client_failure f) noexcept;  // "none", "refused", "server-binding", "malformed"

class credssp_initiator {
 public:
  credssp_initiator(const crypto::primitives& c, credssp_initiator_options options);

  // The first TSRequest (the NEGOTIATE). Call once, before on_response.
  credssp::ts_request start();
  // The server's next TSRequest: the reply to send (if any) and what the exchange became. After the CHALLENGE the
  // reply is the AUTHENTICATE; after the server's binding it is the authInfo, and the outcome is authenticated (the
  // client has delegated its credentials; the server's acceptance shows in what follows — MCS, or the Early User
  // Authorization Result under HYBRID_EX). Once failed or authenticated, nothing more is answered.
  credssp_step on_response(const credssp::ts_request& response);

  credssp_outcome outcome() const noexcept { return outcome_; }
  credssp_client_failure failure() const noexcept { return failure_; }
  // The server's TSRequest.errorCode, when it sent one.
  const std::optional<std::uint32_t>& nla_status() const noexcept { return nla_status_; }
  // The version the server stated in its first answer (0 before it).
  std::int64_t server_version() const noexcept { return server_version_; }
  // The version both bindings follow: the lower of the two stated (MS-CSSP 3.1.5: a v6 client meeting a v3 server
  // echoes the key, as FreeRDP's nla.c does from peerVersion).
  std::int64_t binding_version() const noexcept;
  // One sentence: what went wrong, or what was done.
  const std::string& log() const noexcept { return log_; }

 private:
  enum class stage : std::uint8_t { start, challenge, binding, done };
  bool spnego() const noexcept { return !options_.spnego_mechs.empty(); }
  // The mechanism token of the server's answer: the raw token, or a NegTokenResp's responseToken (nullopt and a
  // failure when the SPNEGO token says no or is malformed). `resp` gets the NegTokenResp.
  std::optional<byte_buffer> server_token(const credssp::ts_request& response, spnego::neg_token_resp& resp);
  credssp_step on_challenge(const credssp::ts_request& response);
  credssp_step on_binding(const credssp::ts_request& response);
  credssp_step fail(credssp_client_failure f, std::string why);
  credssp::ts_request request() const;

  const crypto::primitives* crypto_;
  credssp_initiator_options options_;
  stage stage_ = stage::start;
  credssp_outcome outcome_ = credssp_outcome::in_progress;
  credssp_client_failure failure_ = credssp_client_failure::none;
  std::optional<std::uint32_t> nla_status_;
  std::int64_t server_version_ = 0;
  byte_buffer negotiate_wire_;
  std::optional<ntlm::session_security> security_;
  std::string log_;
};

}  // namespace rdp::protocol
