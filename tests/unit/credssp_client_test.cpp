// The client side of CredSSP (protocol/credssp_client.hpp) driven against the server side (credssp_acceptor), with
// OpenSSL's primitives (rdp::crypto): logons at versions 6 and 3 (and 2–5), the NTSTATUS of each refusal, a server
// whose binding is wrong, malformed answers; the same over SPNEGO (NTLM first, NTLM after Kerberos or NEGOEX, a
// stripped mechanism list, a missing mechListMIC either way, Kerberos only); every TSRequest also goes through its DER encoding and the tri-state
// decoder, whole, byte at a time and at every split point, as it would travel inside TLS.
#include "rdp/crypto/openssl_primitives.hpp"
#include "rdp/protocol/credssp.hpp"
#include "rdp/protocol/credssp_client.hpp"
#include "rdp/protocol/credssp_server.hpp"
#include "rdp/protocol/errinfo.hpp"
#include "rdp/protocol/ntlm.hpp"
#include "rdp/protocol/spnego.hpp"

#include "freerdp_nla_vectors.hpp"
#include "hex.hpp"
#include "split_feed.hpp"

#include <gtest/gtest.h>

namespace {

using namespace rdp::protocol;
using rdp::test::hex;

const crypto::primitives& c() { return rdp::crypto::openssl_primitives(); }

const byte_buffer server_key = hex("30 82 01 0a 02 82 01 01 00 c3 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff");

credssp_acceptor_options acceptor_options() {
  credssp_acceptor_options o;
  o.server_challenge = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
  o.filetime = 0x01d9000000000000ULL;
  o.public_key = server_key;
  o.accounts = {{"alice", "LAB", "Passw0rd!", account_state::enabled, true},
                {"bob", "LAB", "Passw0rd!", account_state::disabled, true},
                {"erin", "LAB", "Passw0rd!", account_state::enabled, false}};
  return o;
}

credssp_initiator_options initiator_options(std::string user = "alice", std::string password = "Passw0rd!",
                                            std::int64_t version = 6) {
  credssp_initiator_options o;
  o.identity = {std::move(user), "LAB", std::move(password), "WS1"};
  o.random.client_challenge = {1, 2, 3, 4, 5, 6, 7, 8};
  o.random.exported_session_key.fill(0x42);
  o.nonce.fill(0x3c);
  o.filetime = 0x01d9111111111111ULL;
  o.public_key = server_key;
  o.version = version;
  return o;
}

// A TSRequest as the other side reads it: encoded, then decoded from the stream (the only framing inside TLS).
credssp::ts_request travel(const credssp::ts_request& r) {
  const auto wire = credssp::encode(r);
  auto decoded = credssp::decode_ts_request(wire);
  EXPECT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->consumed, wire.size());
  return decoded->value;
}

struct run_result {
  credssp_outcome client = credssp_outcome::in_progress, server = credssp_outcome::in_progress;
  int round_trips = 0;
};

// Client and server in turn until neither has anything to send (bounded: CredSSP is three round trips).
run_result run(credssp_initiator& client, credssp_acceptor& server) {
  run_result out;
  std::optional<credssp::ts_request> to_server = client.start();
  for (int i = 0; i < 4 && to_server; ++i) {
    ++out.round_trips;
    auto answer = server.on_request(travel(*to_server));
    to_server.reset();
    if (!answer.reply) break;
    auto next = client.on_response(travel(*answer.reply));
    to_server = std::move(next.reply);
  }
  out.client = client.outcome();
  out.server = server.outcome();
  return out;
}

TEST(CredSspInitiator, NegotiateIsRawNtlmInATsRequestOfVersionSix) {
  credssp_initiator client(c(), initiator_options());
  const auto first = client.start();
  EXPECT_EQ(first.version, 6);
  ASSERT_EQ(first.nego_tokens.size(), 1u);
  EXPECT_TRUE(is_ntlm_message(first.nego_tokens[0], ntlm::message_type::negotiate));
  EXPECT_FALSE(first.pub_key_auth || first.auth_info || first.client_nonce || first.error_code);
  const auto negotiate = ntlm::decode_negotiate(first.nego_tokens[0]).value();
  EXPECT_EQ(negotiate.flags, initiator_negotiate_flags);
  EXPECT_TRUE(negotiate.flags & ntlm::negotiate_flags::seal);  // CredSSP seals pubKeyAuth and authInfo
  // The flags of the real FreeRDP 2.11.7's NEGOTIATE (tests/unit/freerdp_nla_vectors.hpp).
  const auto captured = credssp::decode_ts_request(hex(rdp::test::freerdp_nla::client_requests[0])).value().value;
  EXPECT_EQ(ntlm::decode_negotiate(captured.nego_tokens.at(0)).value().flags, initiator_negotiate_flags);
  EXPECT_EQ(captured.version, first.version);
}

TEST(CredSspInitiator, LogsOnAtEveryVersionWithTheMatchingBinding) {
  for (std::int64_t version : {6, 5, 4, 3, 2}) {
    SCOPED_TRACE(version);
    credssp_initiator client(c(), initiator_options("alice", "Passw0rd!", version));
    credssp_acceptor server(c(), acceptor_options());
    const auto r = run(client, server);
    EXPECT_EQ(r.client, credssp_outcome::authenticated) << client.log();
    EXPECT_EQ(r.server, credssp_outcome::authenticated) << server.log();
    EXPECT_EQ(r.round_trips, 3);
    EXPECT_EQ(client.failure(), credssp_client_failure::none);
    EXPECT_FALSE(client.nla_status());
    EXPECT_EQ(client.server_version(), 6);
    EXPECT_EQ(client.binding_version(), version);
    EXPECT_EQ(server.client_version(), version);
    ASSERT_TRUE(server.logon());
    EXPECT_EQ(server.logon()->user, "alice");
    EXPECT_EQ(server.logon()->workstation, "WS1");
    EXPECT_NE(client.log().find(binds_with_nonce(version) ? "nonce hash" : "key echo"), std::string::npos);
  }
}

TEST(CredSspInitiator, TheAuthenticateCarriesTheNonceFromVersionFiveOnly) {
  for (std::int64_t version : {6, 4}) {
    credssp_initiator client(c(), initiator_options("alice", "Passw0rd!", version));
    credssp_acceptor server(c(), acceptor_options());
    auto challenge = server.on_request(travel(client.start()));
    ASSERT_TRUE(challenge.reply);
    const auto authenticate = client.on_response(travel(*challenge.reply));
    ASSERT_TRUE(authenticate.reply);
    EXPECT_EQ(authenticate.outcome, credssp_outcome::in_progress);
    EXPECT_EQ(authenticate.reply->version, version);
    EXPECT_EQ(authenticate.reply->client_nonce.has_value(), version >= 5);
    ASSERT_TRUE(authenticate.reply->pub_key_auth);
    EXPECT_EQ(authenticate.reply->pub_key_auth->size(), 16 + (version >= 5 ? 32 : server_key.size()));
    ASSERT_EQ(authenticate.reply->nego_tokens.size(), 1u);
    const auto message = ntlm::decode_authenticate(authenticate.reply->nego_tokens[0]).value();
    EXPECT_EQ(ntlm::utf16le_to_utf8(message.user), "alice");
    EXPECT_TRUE(message.mic.has_value());
  }
}

struct refusal {
  const char* name;
  std::string user, password;
  std::int64_t version;
  std::uint32_t status;
};

TEST(CredSspInitiator, RefusalsReportTheServersNtStatus) {
  const refusal cases[] = {
      {"wrong password", "alice", "nope", 6, ntstatus::logon_failure},
      {"wrong password, v3", "alice", "nope", 3, ntstatus::logon_failure},
      {"unknown user", "mallory", "Passw0rd!", 6, ntstatus::logon_failure},
      {"disabled account", "bob", "Passw0rd!", 6, ntstatus::account_disabled},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.name);
    credssp_initiator client(c(), initiator_options(k.user, k.password, k.version));
    credssp_acceptor server(c(), acceptor_options());
    const auto r = run(client, server);
    EXPECT_EQ(r.client, credssp_outcome::failed);
    EXPECT_EQ(client.failure(), credssp_client_failure::refused);
    EXPECT_EQ(client.nla_status(), k.status);
    EXPECT_NE(client.log().find(describe_ntstatus(k.status)), std::string::npos) << client.log();
    EXPECT_EQ(r.round_trips, 2);  // the credentials were never sent
  }
  EXPECT_EQ(ntstatus::logon_failure, 0xC000006Du);
  EXPECT_EQ(ntstatus::account_disabled, 0xC0000072u);
}

TEST(CredSspInitiator, AnAccountWithoutRemoteLogonStillAuthenticates) {
  // The remote-logon right is told after CredSSP, by the Early User Authorization Result (HYBRID_EX).
  credssp_initiator client(c(), initiator_options("erin"));
  credssp_acceptor server(c(), acceptor_options());
  EXPECT_EQ(run(client, server).client, credssp_outcome::authenticated);
  ASSERT_TRUE(server.logon());
  EXPECT_FALSE(server.logon()->remote_logon);
}

TEST(CredSspInitiator, AServerWhoseBindingIsWrongIsRefusedBeforeTheCredentials) {
  // 1. The server's pubKeyAuth altered on the way: it does not unseal.
  {
    credssp_initiator client(c(), initiator_options());
    credssp_acceptor server(c(), acceptor_options());
    auto challenge = server.on_request(travel(client.start()));
    auto authenticate = client.on_response(travel(*challenge.reply));
    auto bound = server.on_request(travel(*authenticate.reply));
    ASSERT_TRUE(bound.reply && bound.reply->pub_key_auth);
    bound.reply->pub_key_auth->back() ^= 0x01;
    const auto step = client.on_response(travel(*bound.reply));
    EXPECT_FALSE(step.reply);
    EXPECT_EQ(step.outcome, credssp_outcome::failed);
    EXPECT_EQ(client.failure(), credssp_client_failure::server_binding);
    EXPECT_FALSE(client.nla_status());
  }
  // 2. A server that holds the session key (it checked the password) but binds another TLS key: a man in the middle
  //    terminating TLS itself. Its binding is sealed correctly, and still refused.
  {
    credssp_initiator client(c(), initiator_options());
    auto options = acceptor_options();
    credssp_acceptor server(c(), options);
    auto challenge = server.on_request(travel(client.start()));
    auto authenticate = client.on_response(travel(*challenge.reply));
    ASSERT_TRUE(authenticate.reply);
    // The server's side of the session security, as the acceptor derives it, sealing its first message (sequence 0).
    const auto message = ntlm::decode_authenticate(authenticate.reply->nego_tokens.at(0)).value();
    crypto::digest16 key{};
    key.fill(0x42);  // the exported session key the client drew
    ntlm::session_security mitm(c(), key, message.flags, ntlm::session_security::side::server);
    const auto other_key = hex("30 0a 02 03 01 00 01 02 03 01 00 01");
    credssp::ts_request forged;
    forged.pub_key_auth = mitm.seal(server_key_binding(c(), 6, byte_buffer(32, 0x3c), other_key));
    const auto step = client.on_response(travel(forged));
    EXPECT_FALSE(step.reply);
    EXPECT_EQ(client.failure(), credssp_client_failure::server_binding);
    EXPECT_NE(client.log().find("man in the middle"), std::string::npos) << client.log();
    // The same forger sealing the right key's binding is accepted: the check is the binding, not the sealing.
    credssp_initiator again(c(), initiator_options());
    credssp_acceptor server2(c(), options);
    auto challenge2 = server2.on_request(travel(again.start()));
    auto authenticate2 = again.on_response(travel(*challenge2.reply));
    ntlm::session_security honest(c(), key, message.flags, ntlm::session_security::side::server);
    credssp::ts_request right;
    right.pub_key_auth = honest.seal(server_key_binding(c(), 6, byte_buffer(32, 0x3c), server_key));
    EXPECT_EQ(again.on_response(travel(right)).outcome, credssp_outcome::authenticated) << again.log();
  }
  // 3. A client given another key than the server's (what it would see through a re-signing middlebox): the acceptor
  //    stops without an answer (MS-CSSP 3.1.5), and the client never delegates.
  {
    auto options = initiator_options();
    options.public_key = hex("30 0a 02 03 01 00 01 02 03 01 00 01");
    credssp_initiator client(c(), options);
    credssp_acceptor server(c(), acceptor_options());
    const auto r = run(client, server);
    EXPECT_EQ(r.server, credssp_outcome::failed);
    EXPECT_EQ(r.client, credssp_outcome::in_progress);  // waiting: its driver's deadline ends it
  }
}

TEST(CredSspInitiator, MalformedAnswersAreFailuresNotThrows) {
  {
    credssp_initiator client(c(), initiator_options());
    client.start();
    credssp::ts_request empty;
    EXPECT_EQ(client.on_response(empty).outcome, credssp_outcome::failed);
    EXPECT_EQ(client.failure(), credssp_client_failure::malformed);
  }
  {
    credssp_initiator client(c(), initiator_options());
    client.start();
    credssp::ts_request spnego;
    // A SPNEGO NegTokenResp to a client that sent raw NTLM: not what it asked for.
    spnego.nego_tokens.push_back(hex("a1 1b 30 19 a0 03 0a 01 01"));
    EXPECT_EQ(client.on_response(spnego).outcome, credssp_outcome::failed);
    EXPECT_NE(client.log().find("SPNEGO"), std::string::npos);
  }
  {
    // A CHALLENGE without TargetInfo: NTLMv2 cannot answer it.
    credssp_initiator client(c(), initiator_options());
    const auto first = client.start();
    auto challenge = make_challenge(ntlm_identity{}, ntlm::decode_negotiate(first.nego_tokens[0])->flags, 0, {});
    challenge.target_info.clear();
    challenge.flags &= ~ntlm::negotiate_flags::target_info;
    credssp::ts_request r;
    r.nego_tokens.push_back(ntlm::encode(challenge).value());
    EXPECT_EQ(client.on_response(r).outcome, credssp_outcome::failed);
    EXPECT_EQ(client.failure(), credssp_client_failure::malformed);
  }
  {
    // A truncated CHALLENGE.
    credssp_initiator client(c(), initiator_options());
    client.start();
    credssp::ts_request r;
    r.nego_tokens.push_back(hex("4e544c4d53535000 02000000 0000"));
    EXPECT_EQ(client.on_response(r).outcome, credssp_outcome::failed);
  }
  {
    // No pubKeyAuth in the answer to the AUTHENTICATE; afterwards nothing more is answered.
    credssp_initiator client(c(), initiator_options());
    credssp_acceptor server(c(), acceptor_options());
    auto challenge = server.on_request(travel(client.start()));
    ASSERT_TRUE(client.on_response(travel(*challenge.reply)).reply);
    credssp::ts_request bare;
    EXPECT_EQ(client.on_response(bare).outcome, credssp_outcome::failed);
    EXPECT_EQ(client.failure(), credssp_client_failure::malformed);
    EXPECT_FALSE(client.on_response(*challenge.reply).reply);
  }
  {
    // Before start(), an answer is ignored.
    credssp_initiator client(c(), initiator_options());
    credssp::ts_request r;
    r.error_code = ntstatus::logon_failure;
    EXPECT_EQ(client.on_response(r).outcome, credssp_outcome::in_progress);
  }
  EXPECT_STREQ(to_string(credssp_client_failure::server_binding), "server-binding");
}

// Each TSRequest of a whole exchange, both ways, framed by the tri-state decoder: every strict prefix is need_more
// (a TSRequest split across TLS records is waited for), the whole decodes to what was sent.
TEST(CredSspInitiator, EveryTsRequestOfTheExchangeFramesAtEverySplitPoint) {
  credssp_initiator client(c(), initiator_options());
  credssp_acceptor server(c(), acceptor_options());
  std::vector<credssp::ts_request> sent;
  std::optional<credssp::ts_request> to_server = client.start();
  for (int i = 0; i < 4 && to_server; ++i) {
    sent.push_back(*to_server);
    auto answer = server.on_request(*to_server);
    to_server.reset();
    if (!answer.reply) break;
    sent.push_back(*answer.reply);
    to_server = client.on_response(*answer.reply).reply;
  }
  ASSERT_EQ(sent.size(), 5u);  // NEGOTIATE, CHALLENGE, AUTHENTICATE, binding, authInfo
  for (const auto& r : sent) {
    const auto wire = credssp::encode(r);
    rdp::test::expect_need_more_on_every_prefix(wire, [](bytes_view b) { return credssp::decode_ts_request(b); });
    EXPECT_EQ(credssp::decode_ts_request(wire)->value, r);
  }
}

spnego::oid oid_of(bytes_view b) { return spnego::oid(b.begin(), b.end()); }
byte_buffer copy_of(bytes_view b) { return byte_buffer(b.begin(), b.end()); }

credssp_initiator_options spnego_options(std::vector<spnego::oid> mechs, std::string password = "Passw0rd!") {
  auto o = initiator_options("alice", std::move(password));
  o.spnego_mechs = std::move(mechs);
  return o;
}

// The SPNEGO token of a TSRequest, decoded.
template <class Token>
Token spnego_of(const credssp::ts_request& r) {
  EXPECT_EQ(r.nego_tokens.size(), 1u);
  auto decoded = spnego::decode(r.nego_tokens.at(0));
  EXPECT_TRUE(decoded) << (decoded ? "" : decoded.error().message());
  return std::get<Token>(decoded.value());
}

TEST(CredSspSpnego, NtlmFirstLogsOnInThreeRoundTripsWithMechListMicsBothWays) {
  for (std::int64_t version : {6, 5, 3, 2}) {
    SCOPED_TRACE(version);
    auto o = spnego_options({oid_of(spnego::ntlm_oid)});
    o.version = version;
    credssp_initiator client(c(), o);
    credssp_acceptor server(c(), acceptor_options());
    const auto result = run(client, server);
    EXPECT_EQ(result.client, credssp_outcome::authenticated) << client.log();
    EXPECT_EQ(result.server, credssp_outcome::authenticated) << server.log();
    EXPECT_EQ(result.round_trips, 3);
    EXPECT_TRUE(server.spnego());
    EXPECT_TRUE(server.mech_list_mic_exchanged());
    EXPECT_NE(server.log().find("SPNEGO/NTLMv2 with mechListMIC"), std::string::npos) << server.log();
    EXPECT_NE(client.log().find("over SPNEGO"), std::string::npos) << client.log();
  }
}

TEST(CredSspSpnego, EachTokenIsTheSpnegoOneRfc4178Prescribes) {
  credssp_initiator client(c(), spnego_options({oid_of(spnego::ntlm_oid)}));
  credssp_acceptor server(c(), acceptor_options());
  const auto first = client.start();
  const auto init = spnego_of<spnego::neg_token_init>(first);
  ASSERT_TRUE(init.mech_token);
  EXPECT_TRUE(is_ntlm_message(*init.mech_token, ntlm::message_type::negotiate));

  const auto challenge = server.on_request(travel(first));
  ASSERT_TRUE(challenge.reply);
  const auto resp1 = spnego_of<spnego::neg_token_resp>(*challenge.reply);
  EXPECT_EQ(resp1.state, spnego::neg_state::accept_incomplete);
  EXPECT_EQ(resp1.supported_mech, oid_of(spnego::ntlm_oid));  // only in the first answer
  ASSERT_TRUE(resp1.response_token);
  EXPECT_TRUE(is_ntlm_message(*resp1.response_token, ntlm::message_type::challenge));

  const auto authenticate = client.on_response(travel(*challenge.reply));
  ASSERT_TRUE(authenticate.reply);
  const auto resp2 = spnego_of<spnego::neg_token_resp>(*authenticate.reply);
  ASSERT_TRUE(resp2.response_token);
  EXPECT_TRUE(is_ntlm_message(*resp2.response_token, ntlm::message_type::authenticate));
  ASSERT_TRUE(resp2.mech_list_mic);
  EXPECT_EQ(resp2.mech_list_mic->size(), 16u);  // an NTLM signature: version 1, checksum, sequence number 0
  EXPECT_EQ(copy_of(bytes_view(*resp2.mech_list_mic).first(4)), hex("01 00 00 00"));
  EXPECT_EQ(copy_of(bytes_view(*resp2.mech_list_mic).last(4)), hex("00 00 00 00"));
  ASSERT_TRUE(authenticate.reply->pub_key_auth);
  // pubKeyAuth follows the mechListMIC on the same sequence: number 1, with the RC4 stream started again.
  EXPECT_EQ(copy_of(bytes_view(*authenticate.reply->pub_key_auth).subspan(12, 4)), hex("01 00 00 00"));

  const auto binding = server.on_request(travel(*authenticate.reply));
  ASSERT_TRUE(binding.reply);
  const auto resp3 = spnego_of<spnego::neg_token_resp>(*binding.reply);
  EXPECT_EQ(resp3.state, spnego::neg_state::accept_completed);
  EXPECT_FALSE(resp3.supported_mech);
  EXPECT_FALSE(resp3.response_token);
  ASSERT_TRUE(resp3.mech_list_mic);
  EXPECT_EQ(client.on_response(travel(*binding.reply)).outcome, credssp_outcome::authenticated) << client.log();
}

TEST(CredSspSpnego, NtlmAfterKerberosOrNegoexDropsTheOptimisticTokenAndRequestsAMic) {
  const std::vector<std::vector<spnego::oid>> lists{
      {oid_of(spnego::ms_kerberos_oid), oid_of(spnego::kerberos_oid), oid_of(spnego::ntlm_oid)},  // mstsc in a domain
      {oid_of(spnego::negoex_oid), oid_of(spnego::ntlm_oid)}};                                   // Windows 10+, workgroup
  for (const auto& mechs : lists) {
    SCOPED_TRACE(spnego::mech_name(mechs.front()));
    auto o = spnego_options(mechs);
    o.optimistic_token = hex("6e 82 01 00 30 82 00 fc");  // stands for an AP-REQ: the server cannot use it
    credssp_initiator client(c(), o);
    credssp_acceptor server(c(), acceptor_options());
    const auto first = client.start();
    const auto answer = server.on_request(travel(first));
    ASSERT_TRUE(answer.reply);
    const auto resp = spnego_of<spnego::neg_token_resp>(*answer.reply);
    EXPECT_EQ(resp.state, spnego::neg_state::request_mic);
    EXPECT_EQ(resp.supported_mech, oid_of(spnego::ntlm_oid));
    EXPECT_FALSE(resp.response_token);
    EXPECT_FALSE(server.challenge_sent());

    credssp_initiator again(c(), o);
    credssp_acceptor fresh(c(), acceptor_options());
    const auto result = run(again, fresh);
    EXPECT_EQ(result.client, credssp_outcome::authenticated) << again.log();
    EXPECT_EQ(result.server, credssp_outcome::authenticated) << fresh.log();
    EXPECT_EQ(result.round_trips, 4);  // one more: the NEGOTIATE goes in a NegTokenResp
  }
}

// Samba's order (tests/interop/samba_spnego_test.cpp): gensec seals only once SPNEGO is complete, so the AUTHENTICATE
// comes alone, the server answers with accept-completed and its mechListMIC, and pubKeyAuth follows in a TSRequest of
// its own (MS-CSSP 3.1.5 allows both).
TEST(CredSspSpnego, PubKeyAuthMayFollowInItsOwnTsRequestAfterTheServersCompletion) {
  credssp_initiator client(c(), spnego_options({oid_of(spnego::ntlm_oid)}));
  credssp_acceptor server(c(), acceptor_options());
  const auto challenge = server.on_request(travel(client.start()));
  const auto authenticate = client.on_response(travel(*challenge.reply)).reply.value();
  auto token_only = authenticate;
  token_only.pub_key_auth.reset();
  token_only.client_nonce.reset();
  auto binding_only = authenticate;
  binding_only.nego_tokens.clear();

  const auto completion = server.on_request(travel(token_only));
  ASSERT_TRUE(completion.reply) << server.log();
  EXPECT_EQ(completion.outcome, credssp_outcome::in_progress);
  EXPECT_FALSE(completion.reply->pub_key_auth);
  EXPECT_EQ(spnego_of<spnego::neg_token_resp>(*completion.reply).state, spnego::neg_state::accept_completed);
  EXPECT_FALSE(server.logon());  // not until the binding is checked

  const auto binding = server.on_request(travel(binding_only));
  ASSERT_TRUE(binding.reply) << server.log();
  EXPECT_TRUE(binding.reply->nego_tokens.empty());  // the completion was already sent
  ASSERT_TRUE(binding.reply->pub_key_auth);
  auto merged = *binding.reply;
  merged.nego_tokens = completion.reply->nego_tokens;
  const auto credentials = client.on_response(travel(merged));
  EXPECT_EQ(credentials.outcome, credssp_outcome::authenticated) << client.log();
  ASSERT_TRUE(credentials.reply);
  EXPECT_EQ(server.on_request(travel(*credentials.reply)).outcome, credssp_outcome::authenticated) << server.log();
  EXPECT_EQ(server.logon()->user, "alice");
}

TEST(CredSspSpnego, AWrongPasswordGetsLogonFailure) {
  credssp_initiator client(c(), spnego_options({oid_of(spnego::ntlm_oid)}, "wrong"));
  credssp_acceptor server(c(), acceptor_options());
  const auto result = run(client, server);
  EXPECT_EQ(result.server, credssp_outcome::failed);
  EXPECT_EQ(server.failure_status(), ntstatus::logon_failure);
  EXPECT_EQ(client.failure(), credssp_client_failure::refused);
  EXPECT_EQ(client.nla_status(), ntstatus::logon_failure);
}

// A middlebox that strips Kerberos from the client's list, so that NTLM looks like its first choice: the client's
// mechListMIC signs the list it sent, the server's copy differs, and the logon is refused.
TEST(CredSspSpnego, AStrippedMechanismListFailsTheMechListMic) {
  credssp_initiator client(c(), spnego_options({oid_of(spnego::kerberos_oid), oid_of(spnego::ntlm_oid)}));
  credssp_acceptor server(c(), acceptor_options());
  auto first = client.start();
  auto init = spnego_of<spnego::neg_token_init>(first);
  // Take the real NEGOTIATE the client will send after request-mic, and forge a NegTokenInit with NTLM alone.
  credssp_initiator probe(c(), spnego_options({oid_of(spnego::ntlm_oid)}));
  auto forged = spnego_of<spnego::neg_token_init>(probe.start());
  init.mech_types = forged.mech_types;
  init.mech_token = forged.mech_token;
  first.nego_tokens[0] = spnego::encode(init);
  auto challenge = server.on_request(travel(first));
  ASSERT_TRUE(challenge.reply);
  // The client answers the CHALLENGE it never asked for with its own list in the MIC.
  auto authenticate = client.on_response(travel(*challenge.reply));
  ASSERT_TRUE(authenticate.reply) << client.log();
  const auto refused = server.on_request(travel(*authenticate.reply));
  EXPECT_EQ(refused.outcome, credssp_outcome::failed);
  ASSERT_TRUE(refused.reply);
  EXPECT_EQ(refused.reply->error_code, ntstatus::logon_failure);
  EXPECT_NE(server.log().find("mechListMIC"), std::string::npos) << server.log();
  EXPECT_NE(server.log().find("altered"), std::string::npos) << server.log();
}

TEST(CredSspSpnego, AMissingMechListMicIsRefusedByEitherSide) {
  {
    // The AUTHENTICATE carries an NTLM MIC, so the server wants a mechListMIC (MS-SPNG 3.3.5.1).
    credssp_initiator client(c(), spnego_options({oid_of(spnego::ntlm_oid)}));
    credssp_acceptor server(c(), acceptor_options());
    auto challenge = server.on_request(travel(client.start()));
    auto authenticate = client.on_response(travel(*challenge.reply)).reply.value();
    auto resp = spnego_of<spnego::neg_token_resp>(authenticate);
    resp.mech_list_mic.reset();
    authenticate.nego_tokens[0] = spnego::encode(resp);
    const auto refused = server.on_request(travel(authenticate));
    EXPECT_EQ(refused.outcome, credssp_outcome::failed);
    EXPECT_EQ(server.failure_status(), ntstatus::logon_failure);
    EXPECT_NE(server.log().find("no SPNEGO mechListMIC"), std::string::npos) << server.log();
  }
  {
    // The server's accept-completed without its mechListMIC: the client sends no credentials.
    credssp_initiator client(c(), spnego_options({oid_of(spnego::ntlm_oid)}));
    credssp_acceptor server(c(), acceptor_options());
    auto challenge = server.on_request(travel(client.start()));
    auto authenticate = client.on_response(travel(*challenge.reply)).reply.value();
    auto binding = server.on_request(travel(authenticate)).reply.value();
    auto resp = spnego_of<spnego::neg_token_resp>(binding);
    resp.mech_list_mic.reset();
    binding.nego_tokens[0] = spnego::encode(resp);
    const auto step = client.on_response(travel(binding));
    EXPECT_EQ(step.outcome, credssp_outcome::failed);
    EXPECT_FALSE(step.reply);
    EXPECT_NE(client.log().find("mechListMIC"), std::string::npos) << client.log();
  }
}

TEST(CredSspSpnego, KerberosOnlyOrAMalformedTokenIsNotSupported) {
  {
    auto o = spnego_options({oid_of(spnego::ms_kerberos_oid), oid_of(spnego::kerberos_oid)});
    o.optimistic_token = hex("6e 00");
    credssp_initiator client(c(), o);
    credssp_acceptor server(c(), acceptor_options());
    const auto refused = server.on_request(travel(client.start()));
    ASSERT_TRUE(refused.reply);
    EXPECT_EQ(refused.reply->error_code, ntstatus::not_supported);
    EXPECT_NE(server.log().find("MS Kerberos, Kerberos but not NTLM"), std::string::npos) << server.log();
  }
  {
    // A NegTokenResp where the NegTokenInit belongs, then garbage after a good NegTokenInit.
    credssp_acceptor server(c(), acceptor_options());
    credssp::ts_request r;
    r.version = 6;
    r.nego_tokens.push_back(hex("a1 02 30 00"));
    EXPECT_EQ(server.on_request(r).reply.value().error_code, ntstatus::not_supported);
  }
}

}  // namespace
