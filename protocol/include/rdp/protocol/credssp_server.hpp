#pragma once
// The server's side of CredSSP (MS-CSSP 3.1.5) with NTLM (MS-NLMP 3.2.5): who the server says it is, the CHALLENGE it
// answers a NEGOTIATE with, and `credssp_acceptor`, the pure exchange that checks the client's NTLMv2 AUTHENTICATE
// against an account, the public-key binding (the v2–v4 echo, the v5/v6 SHA-256 client-nonce hash) and the sealed
// TSCredentials, and answers a failure with the NTSTATUS Windows sends in TSRequest.errorCode. The clock, the
// randomness (timestamp, server challenge) and the crypto primitives are the caller's inputs.
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/credssp.hpp"
#include "rdp/protocol/crypto.hpp"
#include "rdp/protocol/ntlm.hpp"
#include "rdp/protocol/ntlm_auth.hpp"
#include "rdp/protocol/spnego.hpp"

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rdp::protocol {

// Who the simulated server says it is in its CHALLENGE's TargetInfo and Version (MS-NLMP 2.2.2.1, 2.2.2.10).
// The default build 20348 is Windows Server 2022.
struct ntlm_identity {
  std::string netbios_computer = "RDPSIM", netbios_domain = "LAB", dns_computer = "rdpsim.lab.example",
              dns_domain = "lab.example", dns_tree = "lab.example";
  std::uint8_t major = 10, minor = 0;
  std::uint16_t build = 20348;
};

// An account as a CredSSP logon meets it: who, the password NTOWFv2 is computed from, and the states in which Windows
// refuses a correct password with an NTSTATUS of its own.
enum class account_state { enabled, disabled, expired, locked_out, password_expired, password_must_change };
const char* to_string(account_state s) noexcept;  // "enabled", "disabled", "expired", "locked-out", ...
// The NTSTATUS a logon of an account in state `s` gets with the right password (STATUS_SUCCESS for enabled):
// STATUS_ACCOUNT_DISABLED, STATUS_ACCOUNT_EXPIRED, STATUS_ACCOUNT_LOCKED_OUT, STATUS_PASSWORD_EXPIRED,
// STATUS_PASSWORD_MUST_CHANGE — the ones FreeRDP's nla.c maps to ERRCONNECT_* codes.
std::uint32_t logon_status(account_state s) noexcept;

struct nla_account {
  std::string user, domain, password;  // UTF-8; the user is matched without regard to ASCII case, as Windows does
  account_state state = account_state::enabled;
  bool remote_logon = true;  // "Allow log on through Remote Desktop Services"; false: AUTHZ_ACCESS_DENIED
};

// The accounts CredSSP logons are checked against: one immutable list that every connection's acceptor shares, so a
// server with thousands of users does not copy them per connection. Made implicitly from a vector or a braced list.
class account_list {
 public:
  account_list() : accounts_(std::make_shared<const std::vector<nla_account>>()) {}
  account_list(std::vector<nla_account> accounts)  // NOLINT(google-explicit-constructor): a list is a list
      : accounts_(std::make_shared<const std::vector<nla_account>>(std::move(accounts))) {}
  account_list(std::initializer_list<nla_account> accounts) : account_list(std::vector<nla_account>(accounts)) {}
  std::vector<nla_account>::const_iterator begin() const noexcept { return accounts_->begin(); }
  std::vector<nla_account>::const_iterator end() const noexcept { return accounts_->end(); }
  std::size_t size() const noexcept { return accounts_->size(); }
  bool empty() const noexcept { return accounts_->empty(); }
  const nla_account& operator[](std::size_t i) const { return (*accounts_)[i]; }

 private:
  std::shared_ptr<const std::vector<nla_account>> accounts_;
};

// The public-key binding of MS-CSSP 3.1.5, over the server's SubjectPublicKey (the BIT STRING content of the TLS
// certificate's SubjectPublicKeyInfo, what OpenSSL's i2d_PublicKey gives): what the client seals into pubKeyAuth
// and what the server seals back. Version 5 and later hash with the client's nonce; 2–4 echo the key, the server's
// answer with its first byte plus one.
byte_buffer client_key_binding(const crypto::primitives& c, std::int64_t version, bytes_view nonce,
                               bytes_view public_key);
byte_buffer server_key_binding(const crypto::primitives& c, std::int64_t version, bytes_view nonce,
                               bytes_view public_key);
// Whether version `v` binds with the nonce hash (MS-CSSP 3.1.5: 5 and later).
constexpr bool binds_with_nonce(std::int64_t v) noexcept { return v >= 5; }

// The TSRequest.version the responder states: the highest MS-CSSP defines, as a current Windows server does.
inline constexpr std::int64_t responder_credssp_version = 6;

// The CHALLENGE a Windows domain member would send to a NEGOTIATE with `client_flags` (pure; for tests too):
// flags are the client's that this side supports plus TARGET_TYPE_DOMAIN, TARGET_INFO and VERSION; TargetName is
// the NetBIOS domain; TargetInfo is NbDomainName, NbComputerName, DnsDomainName, DnsComputerName, DnsTreeName,
// Timestamp — Windows' order. A name too long for an AV_PAIR is cut to fit.
ntlm::challenge_message make_challenge(const ntlm_identity& identity, std::uint32_t client_flags,
                                       std::uint64_t filetime, const std::array<std::uint8_t, 8>& server_challenge);

// The NTLM message header (MS-NLMP 2.2.1): "NTLMSSP\0", then MessageType (ntlm::message_type) as a 32-bit
// little-endian value.
bool is_ntlm_message(bytes_view token, std::uint32_t type) noexcept;

struct credssp_acceptor_options {
  ntlm_identity identity;
  std::array<std::uint8_t, 8> server_challenge{};
  std::uint64_t filetime = 0;   // MsvAvTimestamp
  byte_buffer public_key;       // the TLS certificate's SubjectPublicKey
  account_list accounts;
};

// Who logged on, once the exchange is complete.
struct nla_logon {
  std::string user, domain, workstation;  // UTF-8, as the client sent them in its AUTHENTICATE
  std::size_t account = 0;                // index into the options' accounts
  bool remote_logon = true;               // the account's right to log on remotely (AUTHZ for HYBRID_EX)
};

enum class credssp_outcome { in_progress, authenticated, failed };

// One step: the TSRequest to send (if any), then what the exchange became.
struct credssp_step {
  std::optional<credssp::ts_request> reply;
  credssp_outcome outcome = credssp_outcome::in_progress;
};

// The server side of the three TSRequest round trips (MS-CSSP 3.1.5):
//   1. NEGOTIATE → CHALLENGE;
//   2. AUTHENTICATE + pubKeyAuth (+ clientNonce) → the NTLMv2 check and the account's state, then the sealed
//      server binding (over SPNEGO pubKeyAuth may also come in a TSRequest of its own, after the server's
//      accept-completed, as Samba sends it: MS-CSSP 3.1.5);
//   3. authInfo → the sealed TSCredentials, whose user and password must be the account's.
// A failure is answered as Windows answers it: TSRequest.errorCode with the NTSTATUS (version 3 and later; version
// 2 has no errorCode, so nothing is sent), then the connection is closed by the caller. A public key that does not
// match gets no answer at all (MS-CSSP 3.1.5: the server stops), so a middlebox re-signing TLS is never told why.
// Tokens are raw NTLM, as FreeRDP and impacket send them, or NTLM inside SPNEGO, as mstsc and Samba send them
// (RFC 4178, MS-SPNG; docs/nla.md "SPNEGO"): NTLM is selected from the client's list wherever it stands. When it is
// not the client's first choice its optimistic token is dropped and the answer asks for a mechListMIC (request-mic);
// a mechListMIC is also due when the AUTHENTICATE carries an NTLM MIC (MS-SPNG 3.3.5.1). The server's own mechListMIC
// goes with its pubKeyAuth, and each direction's RC4 stream starts again after its mechListMIC. A client that offers
// no NTLM (Kerberos only) is refused with STATUS_NOT_SUPPORTED.
class credssp_acceptor {
 public:
  credssp_acceptor(const crypto::primitives& c, credssp_acceptor_options options);
  credssp_step on_request(const credssp::ts_request& request);

  credssp_outcome outcome() const noexcept { return outcome_; }
  std::int64_t client_version() const noexcept { return client_version_; }
  const std::optional<nla_logon>& logon() const noexcept { return logon_; }
  // The NTSTATUS of a failure (also when no errorCode could be sent), STATUS_SUCCESS otherwise.
  std::uint32_t failure_status() const noexcept { return failure_status_; }
  // One sentence for the server's log: what was accepted or why it was refused.
  const std::string& log() const noexcept { return log_; }
  bool challenge_sent() const noexcept { return challenge_sent_; }
  // Whether the client wrapped its tokens in SPNEGO, and whether mechListMICs were exchanged.
  bool spnego() const noexcept { return spnego_; }
  bool mech_list_mic_exchanged() const noexcept { return send_mic_; }

 private:
  // spnego_negotiate: SPNEGO chose NTLM, which was not the client's optimistic token; its NEGOTIATE comes next.
  // binding: authenticated by NTLM (and SPNEGO complete); the client's pubKeyAuth is due.
  enum class stage : std::uint8_t { negotiate, spnego_negotiate, authenticate, binding, credentials, done };
  credssp_step on_negotiate(const credssp::ts_request& request);
  credssp_step on_spnego_init(bytes_view token);
  credssp_step answer_negotiate(bytes_view negotiate_token);
  // A later SPNEGO token, which must be a NegTokenResp; nullopt (and `why`) otherwise.
  std::optional<spnego::neg_token_resp> next_resp(const credssp::ts_request& request, std::string& why) const;
  credssp_step on_authenticate(const credssp::ts_request& request);
  credssp_step on_binding(const credssp::ts_request& request);
  credssp_step on_credentials(const credssp::ts_request& request);
  credssp_step refuse(std::uint32_t status, std::string why);
  credssp_step stop(std::string why);  // no answer: the caller closes
  credssp::ts_request answer() const;

  const crypto::primitives* crypto_;
  credssp_acceptor_options options_;
  stage stage_ = stage::negotiate;
  credssp_outcome outcome_ = credssp_outcome::in_progress;
  std::int64_t client_version_ = 0;
  byte_buffer negotiate_wire_, challenge_wire_;
  std::optional<ntlm::session_security> security_;
  bool challenge_sent_ = false;
  bool spnego_ = false, mech_sent_ = false, mic_required_ = false, send_mic_ = false;
  std::vector<spnego::oid> mech_types_;  // the client's MechTypeList, which the mechListMICs sign
  std::optional<nla_logon> pending_logon_, logon_;  // logon_ once the binding is checked
  std::optional<byte_buffer> completion_token_;     // SPNEGO's accept-completed, until it is sent
  std::uint32_t failure_status_ = 0;
  std::string log_;
};


}  // namespace rdp::protocol
