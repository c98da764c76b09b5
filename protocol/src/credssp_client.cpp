#include "rdp/protocol/credssp_client.hpp"

#include "rdp/protocol/errinfo.hpp"

#include <algorithm>
#include <utility>
#include <variant>

namespace rdp::protocol {

const char* to_string(credssp_client_failure f) noexcept {
  switch (f) {
    case credssp_client_failure::none: return "none";
    case credssp_client_failure::refused: return "refused";
    case credssp_client_failure::server_binding: return "server-binding";
    case credssp_client_failure::malformed: return "malformed";
  }
  return "?";
}

credssp_initiator::credssp_initiator(const crypto::primitives& c, credssp_initiator_options options)
    : crypto_(&c), options_(std::move(options)) {}

std::int64_t credssp_initiator::binding_version() const noexcept {
  return server_version_ > 0 ? std::min(options_.version, server_version_) : options_.version;
}

credssp::ts_request credssp_initiator::request() const {
  credssp::ts_request r;
  r.version = options_.version;
  return r;
}

credssp::ts_request credssp_initiator::start() {
  ntlm::negotiate_message n;
  n.flags = options_.negotiate_flags;
  // Without OEM_DOMAIN/WORKSTATION_SUPPLIED the NEGOTIATE carries no names (MS-NLMP 2.2.1.1), as winpr's does.
  // A NEGOTIATE without names always encodes; an empty token would be refused by the server, not crash here.
  if (auto wire = ntlm::encode(n)) negotiate_wire_ = std::move(*wire);
  stage_ = stage::challenge;
  auto r = request();
  if (!spnego()) {
    r.nego_tokens.push_back(negotiate_wire_);
    return r;
  }
  spnego::neg_token_init init;
  init.mech_types = options_.spnego_mechs;
  if (spnego::is_ntlm(init.mech_types.front())) init.mech_token = negotiate_wire_;
  else init.mech_token = options_.optimistic_token;
  r.nego_tokens.push_back(spnego::encode(init));
  return r;
}

std::optional<byte_buffer> credssp_initiator::server_token(const credssp::ts_request& response,
                                                           spnego::neg_token_resp& resp) {
  if (response.nego_tokens.empty()) {
    fail(credssp_client_failure::malformed, "the server's answer carried no token");
    return std::nullopt;
  }
  const auto& token = response.nego_tokens.front();
  if (!spnego()) return token;
  auto decoded = spnego::decode(token);
  auto* r = decoded ? std::get_if<spnego::neg_token_resp>(&*decoded) : nullptr;
  if (!r) {
    fail(credssp_client_failure::malformed, "the server's token is not a SPNEGO NegTokenResp");
    return std::nullopt;
  }
  if (r->state == spnego::neg_state::reject) {
    fail(credssp_client_failure::malformed, "the server rejected the SPNEGO negotiation");
    return std::nullopt;
  }
  if (r->supported_mech && !spnego::is_ntlm(*r->supported_mech)) {
    fail(credssp_client_failure::malformed,
         "the server chose " + spnego::mech_name(*r->supported_mech) + ", which this client does not speak");
    return std::nullopt;
  }
  resp = std::move(*r);
  return resp.response_token.value_or(byte_buffer{});
}

credssp_step credssp_initiator::on_response(const credssp::ts_request& response) {
  if (outcome_ != credssp_outcome::in_progress || stage_ == stage::start || stage_ == stage::done)
    return {std::nullopt, outcome_};
  if (server_version_ == 0) server_version_ = response.version;
  // MS-CSSP 3.1.5 (version 3 and later): a server that fails the SPNEGO/NTLM exchange says why in errorCode, then
  // closes. Windows sends STATUS_LOGON_FAILURE for a wrong password and the account's own status otherwise.
  if (response.error_code) {
    nla_status_ = *response.error_code;
    return fail(credssp_client_failure::refused,
                "the server refused the logon with TSRequest.errorCode " + describe_ntstatus(*response.error_code));
  }
  if (stage_ == stage::challenge) return on_challenge(response);
  return on_binding(response);
}

credssp_step credssp_initiator::fail(credssp_client_failure f, std::string why) {
  outcome_ = credssp_outcome::failed;
  failure_ = f;
  stage_ = stage::done;
  log_ = "CredSSP: " + std::move(why);
  return {std::nullopt, outcome_};
}

credssp_step credssp_initiator::on_challenge(const credssp::ts_request& response) {
  spnego::neg_token_resp resp;
  const auto token_or = server_token(response, resp);
  if (!token_or) return {std::nullopt, outcome_};
  const auto& token = *token_or;
  if (spnego() && token.empty() && resp.supported_mech) {
    // The server chose NTLM but not from our optimistic token (RFC 4178 5): its NEGOTIATE goes now.
    // Whether it said request-mic or not, the mechListMIC goes with the AUTHENTICATE, which carries an NTLM MIC.
    spnego::neg_token_resp next;
    next.response_token = negotiate_wire_;
    auto r = request();
    r.nego_tokens.push_back(spnego::encode(next));
    return {std::move(r), outcome_};
  }
  if (!is_ntlm_message(token, ntlm::message_type::challenge))
    return fail(credssp_client_failure::malformed,
                std::string("the server's token is not an NTLM CHALLENGE") +
                    (spnego() ? "" : " (a raw one was expected: this client was not asked to speak SPNEGO)"));
  auto made = ntlm::make_authenticate(*crypto_, options_.identity, negotiate_wire_, token, options_.random,
                                      options_.filetime, options_.target_spn);
  if (!made)
    return fail(credssp_client_failure::malformed,
                "the server's CHALLENGE cannot be answered with NTLMv2: " + made.error().message());
  security_.emplace(*crypto_, made->exported_session_key, made->flags, ntlm::session_security::side::client);
  // The binding follows the lower of the two versions; the nonce exists from version 5 (MS-CSSP 2.2.1, 3.1.5).
  const auto version = binding_version();
  const bytes_view nonce = binds_with_nonce(version) ? bytes_view(options_.nonce) : bytes_view();
  auto r = request();
  if (!spnego()) {
    r.nego_tokens.push_back(std::move(made->message));
  } else {
    // The AUTHENTICATE carries an NTLM MIC, so a mechListMIC is due (MS-SPNG 3.3.5.1); it comes before pubKeyAuth
    // on the same stream, which then starts again.
    spnego::neg_token_resp next;
    next.response_token = std::move(made->message);
    const auto mic = security_->sign(spnego::encode_mech_type_list(options_.spnego_mechs));
    next.mech_list_mic = byte_buffer(mic.begin(), mic.end());
    security_->restart_send_cipher();
    r.nego_tokens.push_back(spnego::encode(next));
  }
  if (binds_with_nonce(version)) r.client_nonce = byte_buffer(options_.nonce.begin(), options_.nonce.end());
  r.pub_key_auth = security_->seal(client_key_binding(*crypto_, version, nonce, options_.public_key));
  stage_ = stage::binding;
  return {std::move(r), outcome_};
}

credssp_step credssp_initiator::on_binding(const credssp::ts_request& response) {
  if (!response.pub_key_auth)
    return fail(credssp_client_failure::malformed, "the server's answer to the AUTHENTICATE carried no pubKeyAuth");
  const auto version = binding_version();
  const bytes_view nonce = binds_with_nonce(version) ? bytes_view(options_.nonce) : bytes_view();
  if (spnego()) {
    spnego::neg_token_resp resp;
    if (!server_token(response, resp)) return {std::nullopt, outcome_};
    if (resp.state != spnego::neg_state::accept_completed)
      return fail(credssp_client_failure::malformed, "the server's last SPNEGO token is not accept-completed");
    if (!resp.mech_list_mic)
      return fail(credssp_client_failure::malformed, "the server sent no mechListMIC back (MS-SPNG 3.3.5.1)");
    if (!security_->verify(spnego::encode_mech_type_list(options_.spnego_mechs), *resp.mech_list_mic))
      return fail(credssp_client_failure::server_binding,
                  "the server's mechListMIC does not sign our mechanism list: credentials not sent");
    security_->restart_receive_cipher();
  }
  // MS-CSSP 3.1.5: the client checks that the server proved it holds the session key *and* saw the same TLS key;
  // a TLS-intercepting middlebox can do neither without the password, so a mismatch ends the exchange before the
  // credentials are sent.
  const auto binding = security_->unseal(*response.pub_key_auth);
  if (!binding)
    return fail(credssp_client_failure::server_binding,
                "the server's pubKeyAuth did not unseal (its NTLM signature is wrong): credentials not sent");
  if (*binding != server_key_binding(*crypto_, version, nonce, options_.public_key))
    return fail(credssp_client_failure::server_binding,
                "the server's pubKeyAuth does not bind this TLS public key (a man in the middle?): credentials "
                "not sent");
  credssp::password_credentials password{ntlm::utf8_to_utf16le(options_.identity.domain),
                                         ntlm::utf8_to_utf16le(options_.identity.user),
                                         ntlm::utf8_to_utf16le(options_.identity.password)};
  const credssp::ts_credentials credentials{credssp::cred_type_password, credssp::encode(password)};
  auto r = request();
  r.auth_info = security_->seal(credssp::encode(credentials));
  outcome_ = credssp_outcome::authenticated;
  stage_ = stage::done;
  log_ = "CredSSP " + std::to_string(version) + (spnego() ? " over SPNEGO" : "") + ": the server's binding matched" +
         (binds_with_nonce(version) ? " (nonce hash)" : " (key echo)") + "; the password credentials were delegated";
  return {std::move(r), outcome_};
}

}  // namespace rdp::protocol
