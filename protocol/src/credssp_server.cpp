#include "rdp/protocol/credssp_server.hpp"

#include "rdp/protocol/errinfo.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <variant>

namespace rdp::protocol {
namespace {

namespace nf = ntlm::negotiate_flags;

// The longest name whose UTF-16LE form fits AvLen (16 bits) — and TargetInfo's own 16-bit length with five names
// in it, so each gets a fifth.
constexpr std::size_t max_name_bytes = 0xFFFF / 5 - 4 - 16;

// Flags a server answers with that it takes from the client's NEGOTIATE (MS-NLMP 3.2.5.1.1): the ones both sides
// must agree on. LM_KEY and OEM are dropped as Windows does when EXTENDED_SESSIONSECURITY and UNICODE are offered.
constexpr std::uint32_t echoed_flags = nf::unicode | nf::request_target | nf::sign | nf::seal | nf::ntlm |
                                       nf::always_sign | nf::extended_session_security | nf::negotiate_128 |
                                       nf::key_exch | nf::negotiate_56;

ntlm::av_pair name(ntlm::av_id id, const std::string& text) {
  auto pair = ntlm::name_pair(id, text);
  if (pair.value.size() > max_name_bytes) pair.value.resize(max_name_bytes & ~std::size_t{1});
  return pair;
}

}  // namespace

ntlm::challenge_message make_challenge(const ntlm_identity& identity, std::uint32_t client_flags,
                                       std::uint64_t filetime, const std::array<std::uint8_t, 8>& server_challenge) {
  ntlm::challenge_message c;
  c.flags = (client_flags & echoed_flags) | nf::request_target | nf::target_type_domain | nf::target_info | nf::version;
  // Exactly one character set (2.2.2.5): UNICODE when the client offers it, else OEM.
  if (!(c.flags & nf::unicode)) c.flags |= nf::oem;
  c.server_challenge = server_challenge;
  // TargetName is the domain for TARGET_TYPE_DOMAIN (2.2.1.2), in the negotiated character set.
  if (c.flags & nf::unicode) c.target_name = name(ntlm::av_id::nb_domain_name, identity.netbios_domain).value;
  else c.target_name.assign(identity.netbios_domain.begin(), identity.netbios_domain.end());
  if (c.target_name.size() > max_name_bytes) c.target_name.resize(max_name_bytes);
  c.target_info = {name(ntlm::av_id::nb_domain_name, identity.netbios_domain),
                   name(ntlm::av_id::nb_computer_name, identity.netbios_computer),
                   name(ntlm::av_id::dns_domain_name, identity.dns_domain),
                   name(ntlm::av_id::dns_computer_name, identity.dns_computer),
                   name(ntlm::av_id::dns_tree_name, identity.dns_tree),
                   ntlm::timestamp_pair(filetime)};
  c.os_version = ntlm::version{identity.major, identity.minor, identity.build, 0x0F};
  return c;
}

bool is_ntlm_message(bytes_view token, std::uint32_t type) noexcept {
  static constexpr std::string_view signature{"NTLMSSP\0", 8};
  if (token.size() < 12 || !std::equal(signature.begin(), signature.end(), token.begin())) return false;
  byte_reader reader(token.subspan(8));
  std::uint32_t found = 0;
  return reader.u32le(found) && found == type;
}

const char* to_string(account_state s) noexcept {
  switch (s) {
    case account_state::enabled: return "enabled";
    case account_state::disabled: return "disabled";
    case account_state::expired: return "expired";
    case account_state::locked_out: return "locked-out";
    case account_state::password_expired: return "password-expired";
    case account_state::password_must_change: return "password-must-change";
  }
  return "?";
}

std::uint32_t logon_status(account_state s) noexcept {
  switch (s) {
    case account_state::enabled: return ntstatus::success;
    case account_state::disabled: return ntstatus::account_disabled;
    case account_state::expired: return ntstatus::account_expired;
    case account_state::locked_out: return ntstatus::account_locked_out;
    case account_state::password_expired: return ntstatus::password_expired;
    case account_state::password_must_change: return ntstatus::password_must_change;
  }
  return ntstatus::logon_failure;
}

namespace {

// MS-CSSP 3.1.5, with their terminating NULs.
constexpr std::string_view client_to_server_magic{"CredSSP Client-To-Server Binding Hash", 38};
constexpr std::string_view server_to_client_magic{"CredSSP Server-To-Client Binding Hash", 38};

bytes_view view(std::string_view s) noexcept { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

bool same_ascii_case_insensitive(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string status_name(std::uint32_t status) {
  const auto* entry = find_ntstatus(status);
  return (entry ? std::string(entry->name) + " " : std::string()) + "(" + hex32(status) + ")";
}

std::string text_of(const byte_buffer& name, std::uint32_t flags) {
  if (flags & ntlm::negotiate_flags::unicode) return ntlm::utf16le_to_utf8(name);
  return std::string(name.begin(), name.end());
}

}  // namespace

byte_buffer client_key_binding(const crypto::primitives& c, std::int64_t version, bytes_view nonce,
                               bytes_view public_key) {
  if (!binds_with_nonce(version)) return byte_buffer(public_key.begin(), public_key.end());
  const auto hash = c.sha256({view(client_to_server_magic), nonce, public_key});
  return byte_buffer(hash.begin(), hash.end());
}

byte_buffer server_key_binding(const crypto::primitives& c, std::int64_t version, bytes_view nonce,
                               bytes_view public_key) {
  if (!binds_with_nonce(version)) {
    byte_buffer echo(public_key.begin(), public_key.end());
    if (!echo.empty()) echo[0] = static_cast<std::uint8_t>(echo[0] + 1);
    return echo;
  }
  const auto hash = c.sha256({view(server_to_client_magic), nonce, public_key});
  return byte_buffer(hash.begin(), hash.end());
}

credssp_acceptor::credssp_acceptor(const crypto::primitives& c, credssp_acceptor_options options)
    : crypto_(&c), options_(std::move(options)) {}

credssp::ts_request credssp_acceptor::answer() const {
  credssp::ts_request r;
  r.version = responder_credssp_version;
  return r;
}

credssp_step credssp_acceptor::on_request(const credssp::ts_request& request) {
  if (outcome_ != credssp_outcome::in_progress) return {std::nullopt, outcome_};
  if (stage_ == stage::negotiate) client_version_ = request.version;
  // A client that gives up says so with its own errorCode (FreeRDP does on a public key it does not trust).
  if (request.error_code)
    return stop("the client ended the exchange with TSRequest.errorCode " + status_name(*request.error_code));
  switch (stage_) {
    case stage::negotiate: return on_negotiate(request);
    case stage::spnego_negotiate: {
      std::string why;
      const auto resp = next_resp(request, why);
      if (!resp) return refuse(ntstatus::not_supported, why);
      if (!resp->response_token || !is_ntlm_message(*resp->response_token, ntlm::message_type::negotiate))
        return refuse(ntstatus::not_supported, "SPNEGO selected NTLM, but the client's next token is not an NTLM NEGOTIATE");
      return answer_negotiate(*resp->response_token);
    }
    case stage::authenticate: return on_authenticate(request);
    case stage::binding: return on_binding(request);
    case stage::credentials: return on_credentials(request);
    case stage::done: break;
  }
  return {std::nullopt, outcome_};
}

credssp_step credssp_acceptor::refuse(std::uint32_t status, std::string why) {
  outcome_ = credssp_outcome::failed;
  stage_ = stage::done;
  failure_status_ = status;
  credssp_step step{std::nullopt, outcome_};
  // errorCode exists from version 3 (MS-CSSP 2.2.1); a version-2 client is only closed on.
  if (client_version_ >= 3) {
    credssp::ts_request r;
    r.version = std::min<std::int64_t>(client_version_, responder_credssp_version);
    r.error_code = status;
    step.reply = std::move(r);
  }
  log_ = "NLA logon refused: " + why + "; " +
         (step.reply ? "answered with TSRequest.errorCode " + status_name(status)
                     : "closed without an answer (a CredSSP " + std::to_string(client_version_) +
                           " client has no errorCode), status " + status_name(status));
  return step;
}

credssp_step credssp_acceptor::stop(std::string why) {
  outcome_ = credssp_outcome::failed;
  stage_ = stage::done;
  if (failure_status_ == 0) failure_status_ = ntstatus::logon_failure;
  log_ = "NLA exchange ended: " + why + "; closed without an answer";
  return {std::nullopt, outcome_};
}

credssp_step credssp_acceptor::on_negotiate(const credssp::ts_request& request) {
  if (request.nego_tokens.empty()) return refuse(ntstatus::not_supported, "the first TSRequest carried no token");
  const auto& token = request.nego_tokens.front();
  if (spnego::looks_like_spnego(token)) return on_spnego_init(token);
  if (!is_ntlm_message(token, ntlm::message_type::negotiate))
    return refuse(ntstatus::not_supported,
                  "the first token is neither a raw NTLM NEGOTIATE nor SPNEGO (Kerberos alone is not simulated)");
  return answer_negotiate(token);
}

namespace {
std::string mech_list_text(const std::vector<spnego::oid>& mechs) {
  std::string text;
  for (const auto& m : mechs) text += (text.empty() ? "" : ", ") + spnego::mech_name(m);
  return text;
}
}  // namespace

credssp_step credssp_acceptor::on_spnego_init(bytes_view token) {
  auto decoded = spnego::decode(token);
  if (!decoded) return refuse(ntstatus::not_supported, "the SPNEGO token is malformed: " + decoded.error().message());
  const auto* init = std::get_if<spnego::neg_token_init>(&*decoded);
  if (!init) return refuse(ntstatus::not_supported, "the first SPNEGO token is a NegTokenResp, not a NegTokenInit");
  spnego_ = true;
  mech_types_ = init->mech_types;
  const auto ntlm = std::find_if(mech_types_.begin(), mech_types_.end(), [](const auto& m) { return spnego::is_ntlm(m); });
  if (ntlm == mech_types_.end())
    return refuse(ntstatus::not_supported,
                  "the client's SPNEGO offers " + mech_list_text(mech_types_) + " but not NTLM (only NTLM is simulated)");
  if (ntlm == mech_types_.begin() && init->mech_token &&
      is_ntlm_message(*init->mech_token, ntlm::message_type::negotiate))
    return answer_negotiate(*init->mech_token);
  // RFC 4178 5: the acceptor picks a mechanism other than the initiator's first, drops the optimistic token (it was
  // for that first one) and asks for a mechListMIC, so that a list stripped of the stronger mechanisms is detected.
  mic_required_ = ntlm != mech_types_.begin();
  mech_sent_ = true;
  stage_ = stage::spnego_negotiate;
  spnego::neg_token_resp resp;
  resp.state = mic_required_ ? spnego::neg_state::request_mic : spnego::neg_state::accept_incomplete;
  resp.supported_mech = spnego::oid(spnego::ntlm_oid.begin(), spnego::ntlm_oid.end());
  auto r = answer();
  r.nego_tokens.push_back(spnego::encode(resp));
  return {std::move(r), outcome_};
}

credssp_step credssp_acceptor::answer_negotiate(bytes_view token) {
  auto negotiate = ntlm::decode_negotiate(token);
  if (!negotiate) return refuse(ntstatus::not_supported, "the NTLM NEGOTIATE is malformed: " + negotiate.error().message());
  auto challenge = ntlm::encode(make_challenge(options_.identity, negotiate->flags, options_.filetime,
                                               options_.server_challenge));
  if (!challenge) return refuse(ntstatus::not_supported, "the CHALLENGE could not be built");
  negotiate_wire_.assign(token.begin(), token.end());
  challenge_wire_ = *challenge;
  challenge_sent_ = true;
  stage_ = stage::authenticate;
  auto r = answer();
  if (!spnego_) {
    r.nego_tokens.push_back(challenge_wire_);
  } else {
    spnego::neg_token_resp resp;
    resp.state = spnego::neg_state::accept_incomplete;
    // supportedMech only in the acceptor's first answer (RFC 4178 4.2.2).
    if (!mech_sent_) resp.supported_mech = spnego::oid(spnego::ntlm_oid.begin(), spnego::ntlm_oid.end());
    mech_sent_ = true;
    resp.response_token = challenge_wire_;
    r.nego_tokens.push_back(spnego::encode(resp));
  }
  return {std::move(r), outcome_};
}

std::optional<spnego::neg_token_resp> credssp_acceptor::next_resp(const credssp::ts_request& request,
                                                                  std::string& why) const {
  if (request.nego_tokens.empty()) {
    why = "the client's SPNEGO exchange went on without a token";
    return std::nullopt;
  }
  auto decoded = spnego::decode(request.nego_tokens.front());
  if (!decoded) {
    why = "the client's SPNEGO token is malformed: " + decoded.error().message();
    return std::nullopt;
  }
  auto* resp = std::get_if<spnego::neg_token_resp>(&*decoded);
  if (!resp) {
    why = "the client sent a second NegTokenInit instead of a NegTokenResp";
    return std::nullopt;
  }
  if (resp->state == spnego::neg_state::reject) {
    why = "the client rejected the SPNEGO negotiation";
    return std::nullopt;
  }
  return std::move(*resp);
}

credssp_step credssp_acceptor::on_authenticate(const credssp::ts_request& request) {
  std::optional<spnego::neg_token_resp> resp;
  if (spnego_) {
    std::string why;
    resp = next_resp(request, why);
    if (!resp) return refuse(ntstatus::logon_failure, why);
  }
  const byte_buffer no_token;
  const byte_buffer& token = resp ? (resp->response_token ? *resp->response_token : no_token)
                                  : (request.nego_tokens.empty() ? no_token : request.nego_tokens.front());
  if (!is_ntlm_message(token, ntlm::message_type::authenticate))
    return refuse(ntstatus::logon_failure, "the client answered the CHALLENGE with something that is not an NTLM AUTHENTICATE");
  auto decoded = ntlm::decode_authenticate(token);
  if (!decoded) return refuse(ntstatus::logon_failure, "the NTLM AUTHENTICATE is malformed: " + decoded.error().message());
  const auto user = text_of(decoded->user, decoded->flags);
  const auto domain = text_of(decoded->domain, decoded->flags);
  const auto who = (domain.empty() ? std::string() : domain + "\\") + user;
  if (user.empty()) return refuse(ntstatus::logon_failure, "an anonymous logon (no user name)");
  const auto account = std::find_if(options_.accounts.begin(), options_.accounts.end(),
                                    [&](const nla_account& a) { return same_ascii_case_insensitive(a.user, user); });
  if (account == options_.accounts.end()) return refuse(ntstatus::logon_failure, "no account named '" + who + "'");
  // Windows answers a locked-out account so whatever the password (the lockout is checked first).
  if (account->state == account_state::locked_out)
    return refuse(ntstatus::account_locked_out, "the account '" + who + "' is locked out");
  const auto checked = ntlm::check_authenticate(*crypto_, negotiate_wire_, challenge_wire_, token,
                                                options_.server_challenge, account->password);
  switch (checked.failure) {
    case ntlm::check_failure::none: break;
    case ntlm::check_failure::wrong_response:
      return refuse(ntstatus::logon_failure, "the NTLMv2 response for '" + who + "' does not match its password");
    case ntlm::check_failure::bad_mic:
      return refuse(ntstatus::logon_failure, "the AUTHENTICATE's MIC for '" + who + "' does not match the messages");
    default:
      return refuse(ntstatus::logon_failure, std::string("the AUTHENTICATE was not accepted (") +
                                                 ntlm::to_string(checked.failure) + ")");
  }
  if (const auto status = logon_status(account->state); status != ntstatus::success)
    return refuse(status, "the password of '" + who + "' is right, but the account is " + to_string(account->state));

  security_.emplace(*crypto_, checked.exported_session_key, checked.flags, ntlm::session_security::side::server);
  if (resp) {
    // The client's mechListMIC comes before its pubKeyAuth on the same stream (MS-SPNG 3.3.5.1).
    if (resp->mech_list_mic) {
      if (!security_->verify(spnego::encode_mech_type_list(mech_types_), *resp->mech_list_mic))
        return refuse(ntstatus::logon_failure, "the SPNEGO mechListMIC of '" + who +
                                                   "' does not sign the mechanism list offered (" +
                                                   mech_list_text(mech_types_) + "): was the negotiation altered?");
      security_->restart_receive_cipher();
    } else if (mic_required_ || checked.mic_present) {
      return refuse(ntstatus::logon_failure,
                    std::string("no SPNEGO mechListMIC came with the AUTHENTICATE of '") + who + "', and " +
                        (mic_required_ ? "NTLM was not the client's first mechanism (RFC 4178 5)"
                                       : "its NTLM MIC makes one due (MS-SPNG 3.3.5.1)"));
    }
    send_mic_ = resp->mech_list_mic.has_value() || mic_required_ || checked.mic_present;
  }
  pending_logon_ = nla_logon{user, domain, text_of(checked.message.workstation, checked.flags),
                             static_cast<std::size_t>(account - options_.accounts.begin()), account->remote_logon};
  stage_ = stage::binding;
  if (!spnego_) {
    if (!request.pub_key_auth) return stop("the AUTHENTICATE came without pubKeyAuth");
    return on_binding(request);
  }
  // SPNEGO is complete on this side: its last token is accept-completed, with the server's mechListMIC when one is
  // due (signed before the server's pubKeyAuth, on a stream that then starts again).
  spnego::neg_token_resp done;
  done.state = spnego::neg_state::accept_completed;
  if (send_mic_) {
    const auto mic = security_->sign(spnego::encode_mech_type_list(mech_types_));
    done.mech_list_mic = byte_buffer(mic.begin(), mic.end());
    security_->restart_send_cipher();
  }
  completion_token_ = spnego::encode(done);
  if (request.pub_key_auth) return on_binding(request);
  // MS-CSSP 3.1.5: pubKeyAuth MAY come with the client's last SPNEGO token, or after the exchange completes. Samba's
  // client can only seal once it has checked the server's mechListMIC, so it sends pubKeyAuth in a TSRequest of its
  // own: the completion goes first, without a binding.
  auto r = answer();
  r.nego_tokens.push_back(std::move(*completion_token_));
  completion_token_.reset();
  return {std::move(r), outcome_};
}

credssp_step credssp_acceptor::on_binding(const credssp::ts_request& request) {
  if (!request.pub_key_auth) return stop("the client's TSRequest after the SPNEGO exchange carried no pubKeyAuth");
  const bool hashed = binds_with_nonce(client_version_);
  const byte_buffer nonce = request.client_nonce.value_or(byte_buffer{});
  if (hashed && nonce.size() != 32)
    return stop("a CredSSP " + std::to_string(client_version_) + " client sent no 32-byte clientNonce");
  const auto binding = security_->unseal(*request.pub_key_auth);
  if (!binding) return stop("pubKeyAuth did not unseal (its NTLM signature is wrong)");
  if (*binding != client_key_binding(*crypto_, client_version_, nonce, options_.public_key))
    return stop("pubKeyAuth does not bind this server's TLS public key (a TLS-intercepting middlebox between the "
                "client and the server?)");
  logon_ = std::move(pending_logon_);
  stage_ = stage::credentials;
  auto r = answer();
  if (completion_token_) {
    r.nego_tokens.push_back(std::move(*completion_token_));
    completion_token_.reset();
  }
  r.pub_key_auth = security_->seal(server_key_binding(*crypto_, client_version_, nonce, options_.public_key));
  return {std::move(r), outcome_};
}

credssp_step credssp_acceptor::on_credentials(const credssp::ts_request& request) {
  if (!request.auth_info) return stop("the client's third TSRequest carried no authInfo");
  const auto plaintext = security_->unseal(*request.auth_info);
  if (!plaintext) return stop("authInfo did not unseal (its NTLM signature is wrong)");
  auto credentials = credssp::decode_ts_credentials(*plaintext);
  if (!credentials) return refuse(ntstatus::logon_failure, "the TSCredentials are malformed");
  if (credentials->cred_type != credssp::cred_type_password)
    return refuse(ntstatus::not_supported, "TSCredentials of credType " + std::to_string(credentials->cred_type) +
                                               " (only password credentials are simulated)");
  auto password = credssp::decode_password_credentials(credentials->credentials);
  if (!password) return refuse(ntstatus::logon_failure, "the TSPasswordCreds are malformed");
  const auto& account = options_.accounts[logon_->account];
  const auto user = ntlm::utf16le_to_utf8(password->user);
  // The delegated credentials are the ones the session logs on with: they must be the account's.
  if (!same_ascii_case_insensitive(user, account.user) || ntlm::utf16le_to_utf8(password->password) != account.password)
    return refuse(ntstatus::logon_failure, "the delegated TSCredentials of '" + user +
                                               "' are not those of the authenticated account '" + account.user + "'");
  outcome_ = credssp_outcome::authenticated;
  stage_ = stage::done;
  log_ = "NLA logon of '" + (logon_->domain.empty() ? std::string() : logon_->domain + "\\") + logon_->user +
         "' accepted (CredSSP " + std::to_string(client_version_) +
         (spnego_ ? std::string(", SPNEGO/NTLMv2") + (send_mic_ ? " with mechListMIC" : "") : std::string(", NTLMv2")) +
         (binds_with_nonce(client_version_) ? ", public key bound by nonce hash" : ", public key echoed") + ")";
  return {std::nullopt, outcome_};
}

}  // namespace rdp::protocol
