#include "rdp/protocol/credssp_client.hpp"

#include "rdp/protocol/errinfo.hpp"

#include <algorithm>
#include <utility>

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
  r.nego_tokens.push_back(negotiate_wire_);
  return r;
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
  if (response.nego_tokens.empty())
    return fail(credssp_client_failure::malformed, "the server's answer to the NEGOTIATE carried no token");
  const auto& token = response.nego_tokens.front();
  if (!is_ntlm_message(token, ntlm::message_type::challenge))
    return fail(credssp_client_failure::malformed,
                "the server's token is not a raw NTLM CHALLENGE (SPNEGO and Kerberos are not spoken)");
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
  r.nego_tokens.push_back(std::move(made->message));
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
  log_ = "CredSSP " + std::to_string(version) + ": the server's binding matched" +
         (binds_with_nonce(version) ? " (nonce hash)" : " (key echo)") + "; the password credentials were delegated";
  return {std::move(r), outcome_};
}

}  // namespace rdp::protocol
