// The client side of CredSSP (protocol/credssp_client.hpp) driven against the server side (credssp_acceptor), with
// OpenSSL's primitives (rdp::crypto): logons at versions 6 and 3 (and 2–5), the NTSTATUS of each refusal, a server
// whose binding is wrong, malformed answers; every TSRequest also goes through its DER encoding and the tri-state
// decoder, whole, byte at a time and at every split point, as it would travel inside TLS.
#include "rdp/crypto/openssl_primitives.hpp"
#include "rdp/protocol/credssp.hpp"
#include "rdp/protocol/credssp_client.hpp"
#include "rdp/protocol/credssp_server.hpp"
#include "rdp/protocol/errinfo.hpp"
#include "rdp/protocol/ntlm.hpp"

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
    spnego.nego_tokens.push_back(hex("a1 1b 30 19 a0 03 0a 01 01"));  // a SPNEGO NegTokenResp, not raw NTLM
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

}  // namespace
