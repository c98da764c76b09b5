// Fuzzes the server side of CredSSP (protocol/credssp_server.hpp, credssp_acceptor) — what rdpsim does with a
// client's TSRequests after TLS. Random bytes alone never get past NTLMv2's proofs, so the first input byte picks
// how far a real client (make_authenticate, session_security) takes the exchange before the fuzzer's bytes go in:
//   0: every TSRequest is the fuzzer's (length-prefixed pieces);
//   1: a real NEGOTIATE, then the fuzzer's bytes as the AUTHENTICATE token (with a real pubKeyAuth and nonce);
//   2: a real NEGOTIATE and AUTHENTICATE, then the fuzzer's bytes sealed as the TSCredentials plaintext;
//   3: as 2, but the fuzzer's bytes are authInfo as sent (unsealed garbage);
//   4: SPNEGO (credssp_initiator with [NTLM]): a real NegTokenInit, then the fuzzer's bytes as the SPNEGO token that
//      carries the AUTHENTICATE (with the real pubKeyAuth);
//   5: SPNEGO with [Kerberos, NTLM]: after the server's request-mic, the fuzzer's bytes as the next SPNEGO token;
//   6: SPNEGO through the AUTHENTICATE sent alone (Samba's order), then the fuzzer's bytes as the TSRequest that
//      should carry pubKeyAuth;
//   7: a real SPNEGO exchange up to the server's binding, then the fuzzer's bytes as authInfo as sent.
// The acceptor must never throw, must answer each request with at most one TSRequest, must never authenticate with
// bytes that are not the account's credentials, and once ended must stay ended.
#include "rdp/crypto/openssl_primitives.hpp"
#include "rdp/protocol/credssp.hpp"
#include "rdp/protocol/credssp_client.hpp"
#include "rdp/protocol/credssp_server.hpp"
#include "rdp/protocol/ntlm.hpp"
#include "rdp/protocol/ntlm_auth.hpp"

#include <cstdint>
#include <cstdlib>

using namespace rdp::protocol;

namespace {

const crypto::primitives& c() { return rdp::crypto::openssl_primitives(); }

const byte_buffer server_key = {0x30, 0x0d, 0x02, 0x06, 0x00, 0xc3, 0x11, 0x22, 0x33, 0x44, 0x02, 0x03, 0x01, 0x00, 0x01};

credssp_acceptor make_acceptor() {
  credssp_acceptor_options o;
  o.server_challenge = {1, 2, 3, 4, 5, 6, 7, 8};
  o.filetime = 0x01d9000000000000ULL;
  o.public_key = server_key;
  o.accounts = {{"alice", "LAB", "Passw0rd!", account_state::enabled, true}};
  return credssp_acceptor(c(), std::move(o));
}

void check(const credssp_step& step, const credssp_acceptor& a) {
  if (step.outcome != a.outcome()) std::abort();
  if (a.outcome() == credssp_outcome::authenticated && !a.logon()) std::abort();
  if (step.reply) (void)encode(*step.reply);
}

// Only alice's own password credentials may authenticate.
void check_credentials(const credssp_acceptor& acceptor, bytes_view plaintext) {
  if (acceptor.outcome() != credssp_outcome::authenticated) return;
  const auto credentials = credssp::decode_ts_credentials(plaintext);
  if (!credentials) std::abort();
  const auto password = credssp::decode_password_credentials(credentials->credentials);
  if (!password || ntlm::utf16le_to_utf8(password->password) != "Passw0rd!") std::abort();
}

int fuzz_spnego(int mode, bytes_view rest) {
  auto acceptor = make_acceptor();
  credssp_initiator_options o;
  o.identity = {"alice", "LAB", "Passw0rd!", "WS"};
  o.random.client_challenge = {9, 9, 9, 9, 9, 9, 9, 9};
  o.random.exported_session_key.fill(0x21);
  o.nonce.fill(0x5a);
  o.public_key = server_key;
  if (mode == 5) o.spnego_mechs.emplace_back(spnego::kerberos_oid.begin(), spnego::kerberos_oid.end());
  o.spnego_mechs.emplace_back(spnego::ntlm_oid.begin(), spnego::ntlm_oid.end());
  credssp_initiator client(c(), o);
  auto step = acceptor.on_request(client.start());
  check(step, acceptor);
  if (!step.reply) std::abort();  // the real client must get an answer
  auto next = client.on_response(*step.reply).reply;
  if (!next) std::abort();
  if (mode == 5) {  // `next` is the NEGOTIATE after request-mic: the fuzzer's token instead
    next->nego_tokens.assign(1, byte_buffer(rest.begin(), rest.end()));
    check(acceptor.on_request(*next), acceptor);
    if (acceptor.outcome() == credssp_outcome::authenticated) std::abort();  // one token cannot finish CredSSP
    return 0;
  }
  if (mode == 4) {
    next->nego_tokens.assign(1, byte_buffer(rest.begin(), rest.end()));
    const auto bound = acceptor.on_request(*next);
    check(bound, acceptor);
    // A binding answered means the fuzzer's token held an AUTHENTICATE for alice that passed the check.
    if (bound.reply && bound.reply->pub_key_auth && (!acceptor.logon() || acceptor.logon()->user != "alice"))
      std::abort();
    return 0;
  }
  if (mode == 6) {
    auto token_only = *next;
    token_only.pub_key_auth.reset();
    token_only.client_nonce.reset();
    const auto completion = acceptor.on_request(token_only);
    check(completion, acceptor);
    if (!completion.reply || completion.reply->pub_key_auth) std::abort();  // the completion, without a binding
    auto decoded = credssp::decode_ts_request(rest);
    if (!decoded) return 0;
    check(acceptor.on_request(decoded->value), acceptor);
    if (acceptor.outcome() == credssp_outcome::authenticated) std::abort();  // no credentials were sent
    return 0;
  }
  const auto bound = acceptor.on_request(*next);
  check(bound, acceptor);
  if (!bound.reply) std::abort();
  if (!client.on_response(*bound.reply).reply || client.outcome() != credssp_outcome::authenticated) std::abort();
  credssp::ts_request third;
  third.auth_info = byte_buffer(rest.begin(), rest.end());
  check(acceptor.on_request(third), acceptor);
  check_credentials(acceptor, rest);
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int mode = data[0] & 7;
  bytes_view rest(data + 1, size - 1);
  if (mode >= 4) return fuzz_spnego(mode, rest);
  auto acceptor = make_acceptor();

  if (mode == 0) {
    // Pieces: a length byte, then that many bytes, decoded as one TSRequest each.
    for (int requests = 0; !rest.empty() && requests < 8; ++requests) {
      const std::size_t n = std::min<std::size_t>(rest[0], rest.size() - 1);
      const auto piece = rest.subspan(1, n);
      rest = rest.subspan(1 + n);
      auto decoded = credssp::decode_ts_request(piece);
      if (!decoded) continue;
      const bool ended = acceptor.outcome() != credssp_outcome::in_progress;
      const auto step = acceptor.on_request(decoded->value);
      if (ended && step.reply) std::abort();  // nothing is answered after the end
      check(step, acceptor);
    }
    return 0;
  }

  ntlm::negotiate_message n;
  n.flags = 0xe2088297;
  const auto negotiate_wire = ntlm::encode(n).value();
  credssp::ts_request first;
  first.nego_tokens.push_back(negotiate_wire);
  const auto challenge = acceptor.on_request(first);
  check(challenge, acceptor);
  if (!challenge.reply || challenge.reply->nego_tokens.empty()) std::abort();

  ntlm::client_randomness random;
  random.client_challenge = {9, 9, 9, 9, 9, 9, 9, 9};
  random.exported_session_key.fill(0x21);
  auto made = ntlm::make_authenticate(c(), {"alice", "LAB", "Passw0rd!", "WS"}, negotiate_wire,
                                      challenge.reply->nego_tokens.front(), random, 0);
  if (!made) std::abort();
  ntlm::session_security client(c(), made->exported_session_key, made->flags, ntlm::session_security::side::client);
  const byte_buffer nonce(32, 0x5a);
  credssp::ts_request second;
  second.client_nonce = nonce;
  second.pub_key_auth = client.seal(client_key_binding(c(), second.version, nonce, server_key));
  if (mode == 1) {
    second.nego_tokens.emplace_back(rest.begin(), rest.end());
    const auto step = acceptor.on_request(second);
    check(step, acceptor);
    // The fuzzer cannot forge an NTLMv2 proof for alice's password without computing it: if it got through, the
    // bytes must be an AUTHENTICATE for alice that passes the check (a real one, e.g. from the corpus).
    if (step.reply && step.reply->pub_key_auth) {
      if (!acceptor.logon() || acceptor.logon()->user != "alice") std::abort();
    }
    return 0;
  }
  second.nego_tokens.push_back(made->message);
  const auto bound = acceptor.on_request(second);
  check(bound, acceptor);
  if (!bound.reply || !bound.reply->pub_key_auth) std::abort();  // the real client must get this far

  credssp::ts_request third;
  third.auth_info = mode == 2 ? client.seal(rest) : byte_buffer(rest.begin(), rest.end());
  const auto done = acceptor.on_request(third);
  check(done, acceptor);
  check_credentials(acceptor, rest);
  return 0;
}
