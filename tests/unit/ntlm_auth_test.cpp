// NTLMv2 (MS-NLMP 3.3.2, 3.4) and the server side of CredSSP (MS-CSSP 3.1.5): the spec's own vectors (MS-NLMP 4.2.4;
// NTOWFv2 also agrees with winpr-hash 2.11: `winpr-hash -u User -p Password -d Domain -v 2` prints
// 0c868a403bfd7a93a3001ef22ef02e3f), the AUTHENTICATE codec, session security, TSCredentials, every way the
// acceptor ends, and a logon captured from the real FreeRDP 2.11 client (freerdp_nla_vectors.hpp). The crypto is OpenSSL's (rdp::crypto), the same the simulator runs.
#include "rdp/crypto/openssl_primitives.hpp"
#include "rdp/protocol/credssp.hpp"
#include "rdp/protocol/credssp_server.hpp"
#include "rdp/protocol/errinfo.hpp"
#include "rdp/protocol/ntlm.hpp"
#include "rdp/protocol/ntlm_auth.hpp"

#include "freerdp_nla_vectors.hpp"
#include "hex.hpp"

#include <gtest/gtest.h>

namespace {

using namespace rdp::protocol;
using rdp::test::hex;
using rdp::test::to_hex;
namespace nf = ntlm::negotiate_flags;

const crypto::primitives& c() { return rdp::crypto::openssl_primitives(); }

byte_buffer u16(std::string_view s) { return ntlm::utf8_to_utf16le(s); }

// MS-NLMP 4.2.4: user "User", domain "Domain", password "Password", server challenge 0123456789abcdef, client
// challenge aa×8, time 0, random session key 55×16, TargetInfo NbDomainName "Domain", NbComputerName "Server".
const std::array<std::uint8_t, 8> spec_server_challenge = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};

byte_buffer spec_temp() {
  auto pairs = ntlm::encode_av_pairs({ntlm::name_pair(ntlm::av_id::nb_domain_name, "Domain"),
                                      ntlm::name_pair(ntlm::av_id::nb_computer_name, "Server")});
  byte_buffer temp = hex("01 01 00 00 00 00 00 00  00 00 00 00 00 00 00 00  aa aa aa aa aa aa aa aa  00 00 00 00");
  temp.insert(temp.end(), pairs->begin(), pairs->end());
  temp.insert(temp.end(), 4, 0);
  return temp;
}

TEST(NtlmV2, NtOwfV2IsTheSpecsAndWinprsValue) {
  EXPECT_EQ(to_hex(ntlm::nt_owf_v2(c(), "Password", u16("User"), u16("Domain"))), to_hex(hex("0c868a403bfd7a93a3001ef22ef02e3f")));
  // The user is upper-cased, the domain is not.
  EXPECT_EQ(ntlm::nt_owf_v2(c(), "Password", u16("user"), u16("Domain")),
            ntlm::nt_owf_v2(c(), "Password", u16("USER"), u16("Domain")));
  EXPECT_NE(ntlm::nt_owf_v2(c(), "Password", u16("User"), u16("domain")),
            ntlm::nt_owf_v2(c(), "Password", u16("User"), u16("Domain")));
  EXPECT_EQ(ntlm::uppercase_utf16le(u16("aé-zÿ")), u16("AÉ-ZŸ"));
}

// The spec's AUTHENTICATE pieces (4.2.4.2.2 NTProofStr, 4.2.4.1.2 SessionBaseKey, 4.2.4.2.3 encrypted key) built into
// a message: the server's check recovers the random session key with the right password only.
TEST(NtlmV2, ServerCheckAcceptsTheSpecsResponseAndRecoversItsSessionKey) {
  const auto temp = spec_temp();
  const auto proof = c().hmac_md5(ntlm::nt_owf_v2(c(), "Password", u16("User"), u16("Domain")),
                                  {spec_server_challenge, temp});
  EXPECT_EQ(to_hex(proof), to_hex(hex("68cd0ab851e51c96aabc927bebef6a1c")));
  ntlm::authenticate_message m;
  m.flags = 0xe28a8233;  // the spec's flags (4.2.4) with KEY_EXCH
  m.user = u16("User");
  m.domain = u16("Domain");
  m.workstation = u16("COMPUTER");
  m.lm_response.assign(24, 0);
  m.nt_response.assign(proof.begin(), proof.end());
  m.nt_response.insert(m.nt_response.end(), temp.begin(), temp.end());
  m.encrypted_session_key = hex("c5 da d2 54 4f c9 79 90 94 ce 1c e9 0b c9 d0 3e");
  m.os_version = ntlm::version{6, 0, 6000, 0x0F};
  const auto wire = ntlm::encode(m).value();

  const auto ok = ntlm::check_authenticate(c(), {}, {}, wire, spec_server_challenge, "Password");
  ASSERT_EQ(ok.failure, ntlm::check_failure::none);
  EXPECT_EQ(to_hex(ok.exported_session_key), to_hex(hex("55555555555555555555555555555555")));
  EXPECT_EQ(ntlm::check_authenticate(c(), {}, {}, wire, spec_server_challenge, "password").failure,
            ntlm::check_failure::wrong_response);
  auto other_challenge = spec_server_challenge;
  other_challenge[0] ^= 1;
  EXPECT_EQ(ntlm::check_authenticate(c(), {}, {}, wire, other_challenge, "Password").failure,
            ntlm::check_failure::wrong_response);
  // The session base key and RC4K of 4.2.4.
  const auto base = c().hmac_md5(ntlm::nt_owf_v2(c(), "Password", u16("User"), u16("Domain")), {proof});
  EXPECT_EQ(to_hex(base), to_hex(hex("8de40ccadbc14a82f15cb0ad0de95ca3")));
}

TEST(NtlmV2, AuthenticateRoundTripsThroughItsCodecAtExactOffsets) {
  ntlm::authenticate_message m;
  m.flags = 0xe2888235;
  m.domain = u16("LAB");
  m.user = u16("alice");
  m.workstation = u16("WS1");
  m.lm_response.assign(24, 0);
  m.nt_response.assign(60, 7);
  m.encrypted_session_key.assign(16, 9);
  m.os_version = ntlm::version{10, 0, 20348, 0x0F};
  m.mic = std::array<std::uint8_t, 16>{1, 2, 3};
  const auto wire = ntlm::encode(m).value();
  // Payload right after MIC (88): Domain first, as Windows and FreeRDP lay it out.
  EXPECT_EQ(to_hex(bytes_view(wire).subspan(28, 8)), to_hex(hex("0600060058000000")));  // DomainNameFields: 6 bytes at 88
  EXPECT_EQ(wire.size(), 88u + 6 + 10 + 6 + 24 + 60 + 16);
  EXPECT_EQ(ntlm::decode_authenticate(wire).value(), m);
  // Without Version there is no MIC, and the payload starts at 64.
  m.os_version.reset();
  m.mic.reset();
  m.flags &= ~nf::version;
  EXPECT_EQ(ntlm::decode_authenticate(ntlm::encode(m).value()).value(), m);
}

TEST(NtlmV2, MalformedAuthenticatesAreErrorsNotCrashes) {
  ntlm::authenticate_message m;
  m.flags = 0xe2888235;
  m.user = u16("alice");
  m.nt_response.assign(60, 7);
  m.os_version = ntlm::version{10, 0, 20348, 0x0F};
  m.mic = std::array<std::uint8_t, 16>{};
  const auto wire = ntlm::encode(m).value();
  for (std::size_t n = 0; n < wire.size(); ++n) {
    auto cut = ntlm::decode_authenticate(bytes_view(wire).first(n));
    EXPECT_FALSE(cut.has_value()) << n;
  }
  auto bad_offset = wire;
  bad_offset[24] = 0xF0;  // NtChallengeResponseBufferOffset past the end
  EXPECT_EQ(ntlm::decode_authenticate(bad_offset).error(), ntlm::error::bad_field);
  EXPECT_EQ(ntlm::decode_authenticate(hex("4e544c4d53535000 02000000")).error(), ntlm::error::unexpected_message_type);
  // The server's check calls a short or malformed NTLMv2 response what it is.
  EXPECT_EQ(ntlm::check_authenticate(c(), {}, {}, bytes_view(wire).first(20), {}, "x").failure,
            ntlm::check_failure::malformed);
  m.nt_response.assign(24, 1);  // NTLMv1
  EXPECT_EQ(ntlm::check_authenticate(c(), {}, {}, ntlm::encode(m).value(), {}, "x").failure,
            ntlm::check_failure::not_ntlmv2);
  m.nt_response.assign(50, 1);  // long enough for v2, but its AV_PAIRs run past the end
  EXPECT_EQ(ntlm::check_authenticate(c(), {}, {}, ntlm::encode(m).value(), {}, "x").failure,
            ntlm::check_failure::malformed);
}

// A client and a server from the same CHALLENGE: make_authenticate's message passes check_authenticate with its MIC,
// and any change to the messages the MIC covers is caught.
struct exchange {
  byte_buffer negotiate, challenge;
  ntlm::authenticate_made made;
};
exchange client_exchange(const std::string& password, std::uint32_t negotiate_flags = 0xe20882b7) {
  exchange e;
  ntlm::negotiate_message n;
  n.flags = negotiate_flags;
  e.negotiate = ntlm::encode(n).value();
  e.challenge = ntlm::encode(make_challenge(ntlm_identity{}, n.flags, 0x01d9000000000000ULL, spec_server_challenge)).value();
  ntlm::client_randomness random;
  random.client_challenge = {1, 2, 3, 4, 5, 6, 7, 8};
  random.exported_session_key.fill(0x42);
  e.made = ntlm::make_authenticate(c(), {"alice", "LAB", password, "WS1"}, e.negotiate, e.challenge, random, 0,
                                   "TERMSRV/rdpsim").value();
  return e;
}

TEST(NtlmV2, ClientAuthenticatePassesTheServerCheckWithItsMic) {
  const auto e = client_exchange("Passw0rd!");
  const auto decoded = ntlm::decode_authenticate(e.made.message).value();
  ASSERT_TRUE(decoded.mic.has_value());
  const auto response = ntlm::decode_ntlmv2_response(decoded.nt_response).value();
  ASSERT_NE(ntlm::find(response.av_pairs, ntlm::av_id::flags), nullptr);
  EXPECT_EQ(ntlm::utf16le_to_utf8(ntlm::find(response.av_pairs, ntlm::av_id::target_name)->value), "TERMSRV/rdpsim");
  EXPECT_EQ(response.timestamp, 0x01d9000000000000ULL);  // the CHALLENGE's, not the fallback

  const auto ok = ntlm::check_authenticate(c(), e.negotiate, e.challenge, e.made.message, spec_server_challenge, "Passw0rd!");
  ASSERT_EQ(ok.failure, ntlm::check_failure::none);
  EXPECT_EQ(ok.exported_session_key, e.made.exported_session_key);
  auto altered_negotiate = e.negotiate;
  altered_negotiate[12] ^= 0x01;  // a flag bit flipped on the way
  EXPECT_EQ(ntlm::check_authenticate(c(), altered_negotiate, e.challenge, e.made.message, spec_server_challenge,
                                     "Passw0rd!").failure,
            ntlm::check_failure::bad_mic);
  EXPECT_EQ(ntlm::check_authenticate(c(), e.negotiate, e.challenge, e.made.message, spec_server_challenge, "wrong").failure,
            ntlm::check_failure::wrong_response);
}

TEST(NtlmV2, SessionSecuritySealsBothWaysAndCatchesTamperingAndReplays) {
  const auto e = client_exchange("Passw0rd!");
  ntlm::session_security client(c(), e.made.exported_session_key, e.made.flags, ntlm::session_security::side::client);
  ntlm::session_security server(c(), e.made.exported_session_key, e.made.flags, ntlm::session_security::side::server);
  const auto hello = hex("00 01 02 03 04 05 06 07 08 09");
  const auto sealed = client.seal(hello);
  ASSERT_EQ(sealed.size(), 16 + hello.size());
  EXPECT_EQ(to_hex(bytes_view(sealed).first(4)), to_hex(hex("01000000")));
  EXPECT_NE(byte_buffer(sealed.begin() + 16, sealed.end()), hello);  // encrypted
  EXPECT_EQ(server.unseal(sealed), hello);
  const auto reply = server.seal(hello);
  EXPECT_NE(reply, sealed);  // the other direction has its own keys
  EXPECT_EQ(client.unseal(reply), hello);
  // Second messages use sequence number 1.
  const auto second = client.seal(hello);
  EXPECT_EQ(to_hex(bytes_view(second).subspan(12, 4)), to_hex(hex("01000000")));
  auto tampered = second;
  tampered.back() ^= 0x80;
  EXPECT_FALSE(server.unseal(tampered).has_value());
  EXPECT_FALSE(server.unseal(bytes_view(sealed).first(15)).has_value());
  // A message replayed into a fresh context at the wrong sequence number fails.
  ntlm::session_security fresh(c(), e.made.exported_session_key, e.made.flags, ntlm::session_security::side::server);
  EXPECT_FALSE(fresh.unseal(second).has_value());
}

// MS-NLMP 4.2.4.4: GSS_WrapEx of "Plaintext" (UTF-16LE) with the 4.2.4 keys, sequence 0.
TEST(NtlmV2, SealIsTheSpecsGssWrapEx) {
  crypto::digest16 key{};
  key.fill(0x55);
  ntlm::session_security client(c(), key, 0xe28a8233, ntlm::session_security::side::client);
  const auto sealed = client.seal(u16("Plaintext"));
  EXPECT_EQ(to_hex(bytes_view(sealed).subspan(16)), to_hex(hex("54e50165bf1936dc996020c1811b0f06fb5f")));
  EXPECT_EQ(to_hex(bytes_view(sealed).first(16)), to_hex(hex("010000007fb38ec5c55d497600000000")));
}

TEST(CredSsp, TsCredentialsRoundTripAndRefuseTrailingBytes) {
  credssp::password_credentials p{u16("LAB"), u16("alice"), u16("Passw0rd!")};
  const auto inner = credssp::encode(p);
  EXPECT_EQ(credssp::decode_password_credentials(inner).value(), p);
  credssp::ts_credentials t{credssp::cred_type_password, inner};
  auto wire = credssp::encode(t);
  EXPECT_EQ(wire[0], 0x30);
  EXPECT_EQ(credssp::decode_ts_credentials(wire).value(), t);
  wire.push_back(0);
  EXPECT_FALSE(credssp::decode_ts_credentials(wire).has_value());
  EXPECT_FALSE(credssp::decode_password_credentials(bytes_view(inner).first(inner.size() - 1)).has_value());
  EXPECT_FALSE(credssp::decode_ts_credentials(hex("30 03 a0 01 01")).has_value());
}

// --- the acceptor ---

const byte_buffer server_key = hex("30 82 01 0a 02 82 01 01 00 c3 11 22 33 44 55 66 77 88 99");

credssp_acceptor_options acceptor_options() {
  credssp_acceptor_options o;
  o.server_challenge = spec_server_challenge;
  o.filetime = 0x01d9000000000000ULL;
  o.public_key = server_key;
  o.accounts = {{"alice", "LAB", "Passw0rd!", account_state::enabled, true},
                {"bob", "LAB", "Passw0rd!", account_state::disabled, true},
                {"carol", "LAB", "Passw0rd!", account_state::locked_out, true},
                {"dave", "LAB", "Passw0rd!", account_state::password_must_change, true},
                {"erin", "LAB", "Passw0rd!", account_state::enabled, false}};
  return o;
}

// A client of CredSSP version `version` (what FreeRDP's nla.c does, step by step), driving the acceptor.
struct test_client {
  std::int64_t version = 6;
  std::string user = "alice", password = "Passw0rd!";
  std::string delegated_user = "alice", delegated_password = "Passw0rd!";
  byte_buffer key = server_key;
  byte_buffer negotiate_wire;
  std::optional<ntlm::session_security> security;
  byte_buffer nonce = byte_buffer(32, 0x3c);

  credssp::ts_request negotiate() {
    ntlm::negotiate_message n;
    n.flags = 0xe20882b7;  // FreeRDP 2.11.7's NEGOTIATE flags (freerdp_nla_vectors.hpp)
    negotiate_wire = ntlm::encode(n).value();
    credssp::ts_request r;
    r.version = version;
    r.nego_tokens.push_back(negotiate_wire);
    return r;
  }
  credssp::ts_request authenticate(const credssp::ts_request& challenge) {
    ntlm::client_randomness random;
    random.exported_session_key.fill(0x11);
    auto made = ntlm::make_authenticate(c(), {user, "LAB", password, "WS1"}, negotiate_wire,
                                        challenge.nego_tokens.at(0), random, 0).value();
    security.emplace(c(), made.exported_session_key, made.flags, ntlm::session_security::side::client);
    credssp::ts_request r;
    r.version = version;
    r.nego_tokens.push_back(made.message);
    if (binds_with_nonce(version)) r.client_nonce = nonce;
    r.pub_key_auth = security->seal(client_key_binding(c(), version, nonce, key));
    return r;
  }
  credssp::ts_request credentials() {
    credssp::password_credentials p{u16("LAB"), u16(delegated_user), u16(delegated_password)};
    credssp::ts_request r;
    r.version = version;
    r.auth_info = security->seal(credssp::encode(credssp::ts_credentials{credssp::cred_type_password, credssp::encode(p)}));
    return r;
  }
};

TEST(CredSspAcceptor, VersionSixAndThreeClientsLogOnWithTheirBindings) {
  for (std::int64_t version : {6, 5, 4, 3, 2}) {
    SCOPED_TRACE(version);
    credssp_acceptor server(c(), acceptor_options());
    test_client client;
    client.version = version;
    auto challenge = server.on_request(client.negotiate());
    ASSERT_TRUE(challenge.reply.has_value());
    EXPECT_TRUE(server.challenge_sent());
    EXPECT_EQ(challenge.reply->version, 6);
    auto bound = server.on_request(client.authenticate(*challenge.reply));
    ASSERT_TRUE(bound.reply.has_value()) << server.log();
    ASSERT_TRUE(bound.reply->pub_key_auth.has_value());
    const auto answer = client.security->unseal(*bound.reply->pub_key_auth);
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(*answer, server_key_binding(c(), version, client.nonce, server_key));
    if (version < 5) {
      EXPECT_EQ((*answer)[0], server_key[0] + 1);  // the echo, first byte plus one
    }
    auto done = server.on_request(client.credentials());
    EXPECT_FALSE(done.reply.has_value());
    EXPECT_EQ(done.outcome, credssp_outcome::authenticated) << server.log();
    ASSERT_TRUE(server.logon().has_value());
    EXPECT_EQ(server.logon()->user, "alice");
    EXPECT_EQ(server.logon()->domain, "LAB");
    EXPECT_EQ(server.logon()->workstation, "WS1");
    EXPECT_NE(server.log().find("accepted"), std::string::npos);
  }
}

struct failure_case {
  const char* name;
  std::int64_t version;
  std::string user, password;
  std::uint32_t status;
};

TEST(CredSspAcceptor, RefusalsCarryWindowsNtStatusFromVersionThreeOn) {
  const failure_case cases[] = {
      {"wrong password", 6, "alice", "nope", ntstatus::logon_failure},
      {"unknown user", 6, "mallory", "Passw0rd!", ntstatus::logon_failure},
      {"disabled", 6, "bob", "Passw0rd!", ntstatus::account_disabled},
      {"disabled, wrong password", 6, "bob", "nope", ntstatus::logon_failure},
      {"locked out, whatever the password", 6, "carol", "nope", ntstatus::account_locked_out},
      {"must change", 3, "dave", "Passw0rd!", ntstatus::password_must_change},
      {"v2 has no errorCode", 2, "alice", "nope", ntstatus::logon_failure},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.name);
    credssp_acceptor server(c(), acceptor_options());
    test_client client;
    client.version = k.version;
    client.user = k.user;
    client.password = k.password;
    auto challenge = server.on_request(client.negotiate());
    auto refused = server.on_request(client.authenticate(*challenge.reply));
    EXPECT_EQ(refused.outcome, credssp_outcome::failed);
    EXPECT_EQ(server.failure_status(), k.status);
    if (k.version >= 3) {
      ASSERT_TRUE(refused.reply.has_value());
      EXPECT_EQ(refused.reply->error_code, k.status);
      EXPECT_EQ(refused.reply->version, std::min<std::int64_t>(k.version, 6));
      EXPECT_FALSE(refused.reply->pub_key_auth.has_value());
    } else {
      EXPECT_FALSE(refused.reply.has_value());
    }
    EXPECT_FALSE(server.logon().has_value());
    EXPECT_NE(server.log().find("refused"), std::string::npos) << server.log();
    // Nothing more is answered once it failed.
    EXPECT_FALSE(server.on_request(client.credentials()).reply.has_value());
  }
}

TEST(CredSspAcceptor, AnotherPublicKeyOrForeignCredentialsEndTheExchange) {
  {
    credssp_acceptor server(c(), acceptor_options());
    test_client client;
    client.key = hex("30 0a 02 03 01 00 01 02 03 01 00 01");  // what a TLS-intercepting middlebox's key would be
    auto challenge = server.on_request(client.negotiate());
    auto refused = server.on_request(client.authenticate(*challenge.reply));
    EXPECT_EQ(refused.outcome, credssp_outcome::failed);
    EXPECT_FALSE(refused.reply.has_value());
    EXPECT_NE(server.log().find("middlebox"), std::string::npos) << server.log();
  }
  {
    credssp_acceptor server(c(), acceptor_options());
    test_client client;
    client.delegated_password = "other";
    auto challenge = server.on_request(client.negotiate());
    ASSERT_TRUE(server.on_request(client.authenticate(*challenge.reply)).reply.has_value());
    auto refused = server.on_request(client.credentials());
    EXPECT_EQ(refused.outcome, credssp_outcome::failed);
    ASSERT_TRUE(refused.reply.has_value());
    EXPECT_EQ(refused.reply->error_code, ntstatus::logon_failure);
  }
  {
    // A SPNEGO NegTokenInit cut short: STATUS_NOT_SUPPORTED, said so in the log (whole ones: CredSspSpnego.*).
    credssp_acceptor server(c(), acceptor_options());
    credssp::ts_request r;
    r.version = 6;
    r.nego_tokens.push_back(hex("60 28 06 06 2b 06 01 05 05 02 a0 1e"));
    auto refused = server.on_request(r);
    ASSERT_TRUE(refused.reply.has_value());
    EXPECT_EQ(refused.reply->error_code, ntstatus::not_supported);
    EXPECT_NE(server.log().find("SPNEGO"), std::string::npos);
  }
  {
    // A v6 client without its nonce.
    credssp_acceptor server(c(), acceptor_options());
    test_client client;
    auto challenge = server.on_request(client.negotiate());
    auto request = client.authenticate(*challenge.reply);
    request.client_nonce.reset();
    EXPECT_EQ(server.on_request(request).outcome, credssp_outcome::failed);
    EXPECT_NE(server.log().find("clientNonce"), std::string::npos);
  }
}

TEST(CredSspAcceptor, AnAccountWithoutTheRemoteLogonRightAuthenticatesAndSaysSo) {
  credssp_acceptor server(c(), acceptor_options());
  test_client client;
  client.user = client.delegated_user = "erin";
  auto challenge = server.on_request(client.negotiate());
  server.on_request(client.authenticate(*challenge.reply));
  EXPECT_EQ(server.on_request(client.credentials()).outcome, credssp_outcome::authenticated);
  ASSERT_TRUE(server.logon().has_value());
  EXPECT_FALSE(server.logon()->remote_logon);
}

}  // namespace

// --- FreeRDP 2.11's own client (freerdp_nla_vectors.hpp) ---

namespace {

namespace vectors = rdp::test::freerdp_nla;

credssp::ts_request vector_request(int i) {
  return credssp::decode_ts_request(hex(vectors::client_requests[i])).value().value;
}

// What FreeRDP sent, piece by piece: raw NTLM, version 6, MIC, MsvAvFlags, the nonce hash and the TSCredentials.
TEST(FreeRdpNla, TheClientsMessagesAreWhatThisCodeExpects) {
  const auto negotiate = vector_request(0);
  EXPECT_EQ(negotiate.version, 6);
  ASSERT_EQ(negotiate.nego_tokens.size(), 1u);
  EXPECT_TRUE(is_ntlm_message(negotiate.nego_tokens[0], ntlm::message_type::negotiate));
  const auto challenge_reply = credssp::decode_ts_request(hex(vectors::server_replies[0])).value().value;
  const auto challenge = ntlm::decode_challenge(challenge_reply.nego_tokens.at(0)).value();

  const auto second = vector_request(1);
  ASSERT_TRUE(second.client_nonce.has_value());
  EXPECT_EQ(second.client_nonce->size(), 32u);
  ASSERT_TRUE(second.pub_key_auth.has_value());
  const auto authenticate = ntlm::decode_authenticate(second.nego_tokens.at(0)).value();
  EXPECT_EQ(ntlm::utf16le_to_utf8(authenticate.user), "alice");
  EXPECT_EQ(ntlm::utf16le_to_utf8(authenticate.domain), "LAB");
  EXPECT_TRUE(authenticate.mic.has_value());
  EXPECT_EQ(authenticate.lm_response, byte_buffer(24, 0));  // Z(24): the CHALLENGE had a timestamp

  const auto checked = ntlm::check_authenticate(c(), negotiate.nego_tokens[0], challenge_reply.nego_tokens[0],
                                                second.nego_tokens[0], challenge.server_challenge, "Passw0rd!");
  ASSERT_EQ(checked.failure, ntlm::check_failure::none);
  EXPECT_EQ(ntlm::check_authenticate(c(), negotiate.nego_tokens[0], challenge_reply.nego_tokens[0],
                                     second.nego_tokens[0], challenge.server_challenge, "Passw0rd?").failure,
            ntlm::check_failure::wrong_response);

  ntlm::session_security server(c(), checked.exported_session_key, checked.flags, ntlm::session_security::side::server);
  const auto binding = server.unseal(*second.pub_key_auth);
  ASSERT_TRUE(binding.has_value());
  EXPECT_EQ(*binding, client_key_binding(c(), 6, *second.client_nonce, hex(vectors::server_public_key)));
  (void)server.seal(server_key_binding(c(), 6, *second.client_nonce, hex(vectors::server_public_key)));
  const auto plaintext = server.unseal(*vector_request(2).auth_info);
  ASSERT_TRUE(plaintext.has_value());
  const auto credentials = credssp::decode_ts_credentials(*plaintext).value();
  EXPECT_EQ(credentials.cred_type, credssp::cred_type_password);
  const auto password = credssp::decode_password_credentials(credentials.credentials).value();
  EXPECT_EQ(ntlm::utf16le_to_utf8(password.user), "alice");
  EXPECT_EQ(ntlm::utf16le_to_utf8(password.domain), "LAB");
  EXPECT_EQ(ntlm::utf16le_to_utf8(password.password), "Passw0rd!");
}

// The acceptor given the options rdpsim had for that connection answers FreeRDP's three requests with the same bytes
// rdpsim sent, and logs alice on; with another password it refuses FreeRDP's AUTHENTICATE.
TEST(FreeRdpNla, TheAcceptorReplaysTheExchangeByteForByte) {
  const auto challenge_reply = credssp::decode_ts_request(hex(vectors::server_replies[0])).value().value;
  const auto challenge = ntlm::decode_challenge(challenge_reply.nego_tokens.at(0)).value();
  const auto facts = ntlm::facts(challenge);
  for (const char* password : {"Passw0rd!", "other"}) {
    credssp_acceptor_options o;
    o.server_challenge = challenge.server_challenge;
    o.filetime = facts.timestamp.value();
    o.public_key = hex(vectors::server_public_key);
    o.accounts = {{"alice", "LAB", password, account_state::enabled, true}};
    credssp_acceptor acceptor(c(), o);
    const auto first = acceptor.on_request(vector_request(0));
    ASSERT_TRUE(first.reply.has_value());
    EXPECT_EQ(to_hex(credssp::encode(*first.reply)), to_hex(hex(vectors::server_replies[0])));
    const auto second = acceptor.on_request(vector_request(1));
    if (std::string(password) == "other") {
      EXPECT_EQ(acceptor.failure_status(), ntstatus::logon_failure);
      ASSERT_TRUE(second.reply.has_value());
      EXPECT_EQ(second.reply->error_code, ntstatus::logon_failure);
      continue;
    }
    ASSERT_TRUE(second.reply.has_value()) << acceptor.log();
    EXPECT_EQ(to_hex(credssp::encode(*second.reply)), to_hex(hex(vectors::server_replies[1])));
    EXPECT_EQ(acceptor.on_request(vector_request(2)).outcome, credssp_outcome::authenticated) << acceptor.log();
    EXPECT_EQ(acceptor.logon()->user, "alice");
    EXPECT_EQ(acceptor.logon()->workstation.empty(), false);
  }
}

}  // namespace
