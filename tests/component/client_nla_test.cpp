// The client connection sequence over NLA (client_security::nla) driven as a script on made-up time, against a
// scripted server whose CredSSP side is protocol/'s credssp_acceptor: X.224 asking for SSL|HYBRID (or HYBRID_EX), TLS
// with the server's public key in the tls_done event, the three TSRequest round trips (raw DER, framed by their own
// length), the Early User Authorization Result under HYBRID_EX, then the MCS Connect-Initial with the selected
// protocol. Refusals (NTSTATUS), a wrong server binding, an EUAR of ACCESS_DENIED, a timeout and an I/O error at each
// NLA step, and every TSRequest fed byte at a time and at random split points.
#include "rdp/crypto/openssl_primitives.hpp"
#include "rdp/protocol/client_sequence.hpp"
#include "rdp/protocol/credssp.hpp"
#include "rdp/protocol/credssp_server.hpp"
#include "rdp/protocol/errinfo.hpp"
#include "rdp/protocol/gcc.hpp"
#include "rdp/protocol/mcs.hpp"
#include "rdp/protocol/nego.hpp"
#include "rdp/protocol/x224.hpp"

#include "script.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace rdp::test {
namespace {

using namespace std::chrono_literals;
using protocol::byte_buffer;
using protocol::bytes_view;
using protocol::client_phase;
using protocol::client_sequence;
using protocol::client_sequence_options;
namespace credssp = protocol::credssp;
namespace gcc = protocol::gcc;
namespace mcs = protocol::mcs;
namespace x224 = protocol::x224;
namespace ntstatus = protocol::ntstatus;
using client_script = script<client_sequence>;

constexpr std::uint32_t ssl = 0x1, hybrid = 0x2, hybrid_ex = 0x8;

const boost::system::error_code eof = boost::system::errc::make_error_code(boost::system::errc::no_message);

const protocol::crypto::primitives& c() { return rdp::crypto::openssl_primitives(); }

// A made-up SubjectPublicKey (an RSAPublicKey's first bytes are enough: CredSSP only hashes or echoes it).
const byte_buffer server_key{0x30, 0x82, 0x01, 0x0a, 0x02, 0x82, 0x01, 0x01, 0x00, 0xc3, 0x11, 0x22, 0x33, 0x44};

byte_buffer connection_confirm(std::uint32_t selected) {
  x224::connection_confirm cc;
  cc.negotiation = protocol::neg_response{0, selected};
  return x224::encode(cc);
}

byte_buffer connect_response() {
  mcs::connect_response cr;
  cr.user_data.server.core = gcc::server_core_data{gcc::rdp_version::rdp10_7, 1, 0};
  cr.user_data.server.security = gcc::server_security_data{};
  cr.user_data.server.network = gcc::server_network_data{};
  return *mcs::encode(cr);
}

byte_buffer euar(std::uint32_t value) {
  return {static_cast<std::uint8_t>(value), static_cast<std::uint8_t>(value >> 8), static_cast<std::uint8_t>(value >> 16),
          static_cast<std::uint8_t>(value >> 24)};
}

std::optional<std::uint32_t> requested_protocols(bytes_view b) {
  auto cr = x224::decode_connection_request(b);
  if (!cr || !cr->value.negotiation) return std::nullopt;
  return cr->value.negotiation->requested_protocols;
}

std::optional<std::uint32_t> connect_initial_selected(bytes_view b) {
  auto ci = mcs::decode_connect_initial(b);
  if (!ci || !ci->value.user_data.client.core) return std::nullopt;
  return ci->value.user_data.client.core->server_selected_protocol;
}

// The server's CredSSP side: what it answers each TSRequest the client wrote.
struct nla_server {
  protocol::credssp_acceptor acceptor;
  explicit nla_server(protocol::credssp_acceptor_options o = options()) : acceptor(c(), std::move(o)) {}
  static protocol::credssp_acceptor_options options() {
    protocol::credssp_acceptor_options o;
    o.server_challenge = {1, 2, 3, 4, 5, 6, 7, 8};
    o.filetime = 0x01d9000000000000ULL;
    o.public_key = server_key;
    o.accounts = {{"alice", "LAB", "secret", protocol::account_state::enabled, true},
                  {"bob", "LAB", "secret", protocol::account_state::disabled, true}};
    return o;
  }
  // The reply to the client's TSRequest `wire` (which must be one whole TSRequest); empty: none.
  byte_buffer answer(bytes_view wire) {
    auto request = credssp::decode_ts_request(wire);
    EXPECT_TRUE(request.has_value());
    if (!request) return {};
    EXPECT_EQ(request->consumed, wire.size());
    auto step = acceptor.on_request(request->value);
    return step.reply ? credssp::encode(*step.reply) : byte_buffer{};
  }
};

client_sequence_options nla_options(bool with_hybrid_ex = false) {
  client_sequence_options o;
  o.security = protocol::client_security::nla;
  o.user = "alice";
  o.domain = "LAB";
  o.password = "secret";
  o.stop_after = client_phase::mcs_connected;
  o.nla.crypto = &c();
  o.nla.client_challenge = {9, 8, 7, 6, 5, 4, 3, 2};
  o.nla.exported_session_key.fill(0x5a);
  o.nla.nonce.fill(0x77);
  o.nla.filetime = 0x01d9222222222222ULL;
  o.nla.hybrid_ex = with_hybrid_ex;
  return o;
}

testing::AssertionResult tls_done_with_key(client_script& s, bytes_view key = server_key) {
  if (s.pending().kind != seq::action_kind::start_tls) return testing::AssertionFailure() << "no start_tls";
  s.resume(seq::event{seq::event_kind::tls_done, s.now(), key, {}});
  return testing::AssertionSuccess();
}

// Up to TLS: the CR asks for `requested`, the CC selects `selected`.
testing::AssertionResult to_tls(client_script& s, std::uint32_t requested, std::uint32_t selected) {
  s.start();
  if (auto r = s.expect_write([requested](bytes_view b) { return requested_protocols(b) == requested; }); !r)
    return r << " (the X.224 Connection Request)";
  if (auto r = s.feed(connection_confirm(selected)); !r) return r;
  return tls_done_with_key(s);
}

// The pending write, taken and answered with written.
byte_buffer take_write(client_script& s) {
  if (s.pending().kind != seq::action_kind::write) {
    ADD_FAILURE() << "expected a write, the machine asked for " << seq::to_string(s.pending().kind);
    return {};
  }
  byte_buffer out(s.pending().bytes.begin(), s.pending().bytes.end());
  s.resume(seq::happened(seq::event_kind::written, s.now()));
  return out;
}

using feeder = std::function<testing::AssertionResult(client_script&, bytes_view)>;
feeder whole() {
  return [](client_script& s, bytes_view b) { return s.feed(b); };
}

// The three CredSSP round trips against `server`: NEGOTIATE → CHALLENGE, AUTHENTICATE → binding, authInfo.
testing::AssertionResult credssp_exchange(client_script& s, nla_server& server, const feeder& feed = whole()) {
  for (int round = 0; round < 2; ++round) {
    const auto request = take_write(s);
    const auto reply = server.answer(request);
    if (reply.empty()) return testing::AssertionFailure() << "the server did not answer round " << round;
    if (auto r = feed(s, reply); !r) return r << " (round " << round << ")";
  }
  const auto credentials = take_write(s);  // authInfo: no answer on success
  if (!server.answer(credentials).empty()) return testing::AssertionFailure() << "the server answered the authInfo";
  return testing::AssertionSuccess();
}

TEST(ClientNla, HybridLogsOnThenSendsTheConnectInitialWithHybridSelected) {
  for (std::int64_t version : {6, 3}) {
    SCOPED_TRACE(version);
    auto o = nla_options();
    o.nla.credssp_version = version;
    client_sequence m(o);
    client_script s(m);
    ASSERT_TRUE(to_tls(s, ssl | hybrid, hybrid));
    EXPECT_EQ(m.result().reached, client_phase::tls);
    // The first TSRequest is the NEGOTIATE, with a step deadline of its own.
    ASSERT_TRUE(s.expect(seq::action_kind::write));
    EXPECT_EQ(s.pending().deadline, s.now() + 10s);
    auto first = credssp::decode_ts_request(s.pending().bytes);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->value.version, version);
    nla_server server;
    ASSERT_TRUE(credssp_exchange(s, server));
    EXPECT_EQ(server.acceptor.outcome(), protocol::credssp_outcome::authenticated) << server.acceptor.log();
    EXPECT_EQ(server.acceptor.client_version(), version);
    EXPECT_EQ(m.result().reached, client_phase::authenticated);
    ASSERT_TRUE(s.expect_write([](bytes_view b) { return connect_initial_selected(b) == hybrid; }));
    ASSERT_TRUE(s.feed(connect_response()));
    EXPECT_EQ(m.result().reached, client_phase::mcs_connected);
    EXPECT_TRUE(m.result().failure.empty()) << m.result().failure;
    EXPECT_FALSE(m.result().nla_status);
    EXPECT_FALSE(m.result().early_authorization);
    ASSERT_TRUE(s.notified());
    ASSERT_TRUE(s.expect_close(seq::close_style::graceful));
    ASSERT_TRUE(s.expect_done());
  }
}

TEST(ClientNla, HybridExReadsTheEarlyUserAuthorizationResultBeforeMcs) {
  client_sequence m(nla_options(true));
  client_script s(m);
  ASSERT_TRUE(to_tls(s, ssl | hybrid | hybrid_ex, hybrid_ex));
  nla_server server;
  ASSERT_TRUE(credssp_exchange(s, server));
  EXPECT_EQ(m.result().reached, client_phase::tls);  // not before the EUAR
  ASSERT_TRUE(s.expect(seq::action_kind::read));
  ASSERT_TRUE(s.feed(euar(protocol::authz_success), 1));  // byte at a time
  EXPECT_EQ(m.result().reached, client_phase::authenticated);
  EXPECT_EQ(m.result().early_authorization, protocol::authz_success);
  ASSERT_TRUE(s.expect_write([](bytes_view b) { return connect_initial_selected(b) == hybrid_ex; }));
  ASSERT_TRUE(s.feed(connect_response()));
  EXPECT_EQ(m.result().reached, client_phase::mcs_connected);
}

TEST(ClientNla, HybridExRequestedButHybridSelectedReadsNoEuar) {
  client_sequence m(nla_options(true));
  client_script s(m);
  ASSERT_TRUE(to_tls(s, ssl | hybrid | hybrid_ex, hybrid));
  nla_server server;
  ASSERT_TRUE(credssp_exchange(s, server));
  EXPECT_EQ(m.result().reached, client_phase::authenticated);
  ASSERT_TRUE(s.expect_write([](bytes_view b) { return connect_initial_selected(b) == hybrid; }));
}

TEST(ClientNla, AccessDeniedInTheEuarEndsTheConnectionWithItsValue) {
  client_sequence m(nla_options(true));
  client_script s(m);
  ASSERT_TRUE(to_tls(s, ssl | hybrid | hybrid_ex, hybrid_ex));
  nla_server server;
  ASSERT_TRUE(credssp_exchange(s, server));
  ASSERT_TRUE(s.feed(euar(protocol::authz_access_denied)));
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.expect_close(seq::close_style::graceful));
  const auto& r = m.result();
  EXPECT_EQ(r.reached, client_phase::tls);
  EXPECT_EQ(r.early_authorization, protocol::authz_access_denied);
  EXPECT_EQ(r.error, boost::system::errc::permission_denied);
  EXPECT_NE(r.failure.find("AUTHZ_ACCESS_DENIED"), std::string::npos) << r.failure;
}

TEST(ClientNla, RefusedLogonsReportTheNtStatus) {
  struct refusal {
    std::string user, password;
    std::uint32_t status;
    const char* name;
  };
  for (const auto& k : {refusal{"alice", "wrong", ntstatus::logon_failure, "STATUS_LOGON_FAILURE"},
                        refusal{"bob", "secret", ntstatus::account_disabled, "STATUS_ACCOUNT_DISABLED"}}) {
    SCOPED_TRACE(k.name);
    auto o = nla_options();
    o.user = k.user;
    o.password = k.password;
    client_sequence m(o);
    client_script s(m);
    ASSERT_TRUE(to_tls(s, ssl | hybrid, hybrid));
    nla_server server;
    const auto challenge = server.answer(take_write(s));
    ASSERT_TRUE(s.feed(challenge));
    const auto refusal_wire = server.answer(take_write(s));
    ASSERT_FALSE(refusal_wire.empty());
    ASSERT_TRUE(s.feed(refusal_wire, 3));
    ASSERT_TRUE(s.notified());
    ASSERT_TRUE(s.expect_close(seq::close_style::graceful));
    ASSERT_TRUE(s.expect_done());
    const auto& r = m.result();
    EXPECT_EQ(r.nla_status, k.status);
    EXPECT_EQ(r.reached, client_phase::tls);
    EXPECT_EQ(r.error, boost::system::errc::permission_denied);
    EXPECT_NE(r.failure.find(k.name), std::string::npos) << r.failure;
  }
}

TEST(ClientNla, AServerBindingThatDoesNotMatchIsRefusedWithoutTheCredentials) {
  client_sequence m(nla_options());
  client_script s(m);
  ASSERT_TRUE(to_tls(s, ssl | hybrid, hybrid));
  nla_server server;
  ASSERT_TRUE(s.feed(server.answer(take_write(s))));
  auto bound = credssp::decode_ts_request(server.answer(take_write(s)))->value;
  ASSERT_TRUE(bound.pub_key_auth);
  bound.pub_key_auth->back() ^= 0x40;  // altered on the way
  ASSERT_TRUE(s.feed(credssp::encode(bound)));
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.expect_close(seq::close_style::abrupt));  // no authInfo was written
  const auto& r = m.result();
  EXPECT_EQ(r.error, boost::system::errc::protocol_error);
  EXPECT_FALSE(r.nla_status);
  EXPECT_NE(r.failure.find("credentials not sent"), std::string::npos) << r.failure;
}

TEST(ClientNla, AClientSeeingAnotherKeyIsNotAnsweredAndTimesOut) {
  // What a TLS-intercepting middlebox causes: the server does not answer a binding of another key (MS-CSSP 3.1.5).
  client_sequence m(nla_options());
  client_script s(m);
  s.start();
  ASSERT_TRUE(s.expect_write());
  ASSERT_TRUE(s.feed(connection_confirm(hybrid)));
  const byte_buffer other{0x30, 0x0a, 0x02, 0x03, 0x01, 0x00, 0x01};
  ASSERT_TRUE(tls_done_with_key(s, other));
  nla_server server;
  ASSERT_TRUE(s.feed(server.answer(take_write(s))));
  EXPECT_TRUE(server.answer(take_write(s)).empty());
  ASSERT_TRUE(s.time_out());
  ASSERT_TRUE(s.notified());
  EXPECT_NE(m.result().failure.find("waiting for the server's CredSSP public-key binding"), std::string::npos)
      << m.result().failure;
  EXPECT_EQ(m.result().error, boost::system::errc::timed_out);
}

TEST(ClientNla, AServerSelectingPlainTlsIsAFailureNotAFallback) {
  client_sequence m(nla_options());
  client_script s(m);
  s.start();
  ASSERT_TRUE(s.expect_write());
  ASSERT_TRUE(s.feed(connection_confirm(ssl)));
  ASSERT_TRUE(s.notified());
  EXPECT_EQ(m.result().error, protocol::errc::bad_negotiation);
  EXPECT_NE(m.result().failure.find("did not select NLA"), std::string::npos) << m.result().failure;
  // HYBRID_EX that was not asked for is refused too.
  client_sequence m2(nla_options(false));
  client_script s2(m2);
  s2.start();
  ASSERT_TRUE(s2.expect_write());
  ASSERT_TRUE(s2.feed(connection_confirm(hybrid_ex)));
  EXPECT_EQ(m2.result().error, protocol::errc::bad_negotiation);
}

TEST(ClientNla, ARefusalOfTheDelegatedCredentialsIsReadInsteadOfTheConnectResponse) {
  // The acceptor refuses delegated credentials that are not the authenticated account's: a TSRequest with errorCode
  // after authInfo, where a plain-HYBRID client expects the MCS Connect-Response.
  client_sequence m(nla_options());
  client_script s(m);
  ASSERT_TRUE(to_tls(s, ssl | hybrid, hybrid));
  nla_server server;
  for (int round = 0; round < 2; ++round) ASSERT_TRUE(s.feed(server.answer(take_write(s))));
  (void)take_write(s);  // authInfo
  ASSERT_TRUE(s.expect_write([](bytes_view b) { return connect_initial_selected(b) == hybrid; }));
  credssp::ts_request refusal;
  refusal.error_code = ntstatus::logon_failure;
  ASSERT_TRUE(s.feed(credssp::encode(refusal), 1));
  ASSERT_TRUE(s.notified());
  EXPECT_EQ(m.result().nla_status, ntstatus::logon_failure);
  EXPECT_EQ(m.result().reached, client_phase::authenticated);
  EXPECT_NE(m.result().failure.find("delegated credentials"), std::string::npos) << m.result().failure;
}

TEST(ClientNla, EveryTsRequestByteAtATimeAndAtRandomSplits) {
  std::mt19937 rng(15);
  const std::vector<feeder> feeders = {
      [](client_script& s, bytes_view b) { return s.feed(b, 1); },
      [&rng](client_script& s, bytes_view b) {
        std::vector<std::size_t> cuts;
        std::uniform_int_distribution<std::size_t> at(1, b.size() - 1);
        for (int i = 0; i < 4; ++i) cuts.push_back(at(rng));
        std::sort(cuts.begin(), cuts.end());
        return s.feed_split(b, cuts);
      }};
  for (std::size_t f = 0; f < feeders.size(); ++f) {
    SCOPED_TRACE(f);
    client_sequence m(nla_options());
    client_script s(m);
    ASSERT_TRUE(to_tls(s, ssl | hybrid, hybrid));
    const auto deadline = s.pending().deadline;
    nla_server server;
    ASSERT_TRUE(credssp_exchange(s, server, feeders[f]));
    EXPECT_LE(deadline, s.now() + 10s);
    EXPECT_EQ(m.result().reached, client_phase::authenticated) << m.result().failure;
    // The Connect-Response may come in the same read as nothing else: fed split too.
    ASSERT_TRUE(s.expect_write());
    ASSERT_TRUE(feeders[f](s, connect_response()));
    EXPECT_EQ(m.result().reached, client_phase::mcs_connected) << m.result().failure;
  }
}

// A fail matrix over the NLA steps: at each read of the exchange a timeout, an I/O error, or the stream ending
// inside a TSRequest; each ends with a sentence naming the step, and a close.
TEST(ClientNla, TimeoutIoErrorAndTruncationAtEachNlaStep) {
  const char* steps[] = {"the CredSSP CHALLENGE", "the server's CredSSP public-key binding",
                         "the Early User Authorization Result PDU"};
  for (int at = 0; at < 3; ++at) {
    for (int fault = 0; fault < 3; ++fault) {
      SCOPED_TRACE(std::to_string(at) + "/" + std::to_string(fault));
      client_sequence m(nla_options(true));
      client_script s(m);
      ASSERT_TRUE(to_tls(s, ssl | hybrid | hybrid_ex, hybrid_ex));
      nla_server server;
      byte_buffer reply;
      for (int round = 0; round <= at && round < 2; ++round) {
        reply = server.answer(take_write(s));
        if (round < at) {
          ASSERT_TRUE(s.feed(reply));
        }
      }
      if (at == 2) {
        (void)take_write(s);  // authInfo
        reply = euar(0);
      }
      ASSERT_TRUE(s.expect(seq::action_kind::read));
      const auto deadline = s.pending().deadline;
      if (fault == 0) {
        ASSERT_TRUE(s.time_out());
        EXPECT_EQ(s.now(), deadline);
        EXPECT_EQ(m.result().error, boost::system::errc::timed_out);
      } else if (fault == 1) {
        ASSERT_TRUE(s.fail(eof));
        EXPECT_TRUE(m.result().server_closed);
      } else {
        ASSERT_TRUE(s.feed(bytes_view(reply).first(reply.size() - 1)));
        ASSERT_TRUE(s.expect(seq::action_kind::read));
        EXPECT_EQ(s.pending().deadline, deadline);  // a trickle does not stretch the step
        ASSERT_TRUE(s.fail(eof));
        EXPECT_NE(m.result().failure.find("bytes of it read"), std::string::npos) << m.result().failure;
      }
      EXPECT_NE(m.result().failure.find(std::string("waiting for ") + steps[at]), std::string::npos)
          << m.result().failure;
      EXPECT_EQ(m.result().reached, client_phase::tls);
      ASSERT_TRUE(s.notified());
      ASSERT_TRUE(s.expect(seq::action_kind::close));
    }
  }
}

TEST(ClientNla, MissingInputsAndGarbageAreFailures) {
  {
    auto o = nla_options();
    o.nla.crypto = nullptr;
    client_sequence m(o);
    client_script s(m);
    ASSERT_TRUE(to_tls(s, ssl | hybrid, hybrid));
    ASSERT_TRUE(s.notified());
    EXPECT_NE(m.result().failure.find("no crypto primitives"), std::string::npos) << m.result().failure;
  }
  {
    client_sequence m(nla_options());
    client_script s(m);
    s.start();
    ASSERT_TRUE(s.expect_write());
    ASSERT_TRUE(s.feed(connection_confirm(hybrid)));
    ASSERT_TRUE(tls_done_with_key(s, {}));
    ASSERT_TRUE(s.notified());
    EXPECT_NE(m.result().failure.find("public key is unknown"), std::string::npos) << m.result().failure;
  }
  {
    // TPKT where a TSRequest belongs (a server that skipped CredSSP).
    client_sequence m(nla_options());
    client_script s(m);
    ASSERT_TRUE(to_tls(s, ssl | hybrid, hybrid));
    (void)take_write(s);
    ASSERT_TRUE(s.feed(connect_response()));
    ASSERT_TRUE(s.notified());
    EXPECT_EQ(m.result().error, credssp::error::not_ts_request);
    EXPECT_NE(m.result().failure.find("not a TSRequest"), std::string::npos) << m.result().failure;
  }
}

TEST(ClientNla, ATsRequestAboveTheFrameCapFails) {
  auto o = nla_options();
  o.max_frame = 100;
  client_sequence m(o);
  client_script s(m);
  ASSERT_TRUE(to_tls(s, ssl | hybrid, hybrid));
  (void)take_write(s);
  byte_buffer big{0x30, 0x82, 0x01, 0x00};  // a SEQUENCE of 256 bytes, more than the cap
  big.resize(4 + 120, 0xa0);
  ASSERT_TRUE(s.feed(big));
  ASSERT_TRUE(s.notified());
  EXPECT_EQ(m.result().error, protocol::errc::frame_too_large) << m.result().failure;
}

TEST(ClientNla, StopAfterAuthenticatedAndThePhaseName) {
  auto o = nla_options();
  o.stop_after = client_phase::authenticated;
  o.goodbye = true;
  client_sequence m(o);
  client_script s(m);
  ASSERT_TRUE(to_tls(s, ssl | hybrid, hybrid));
  nla_server server;
  ASSERT_TRUE(credssp_exchange(s, server));
  EXPECT_EQ(m.result().reached, client_phase::authenticated);
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.expect_write([](bytes_view b) { return x224::decode_disconnect_request(b).has_value(); }));
  EXPECT_STREQ(protocol::to_string(client_phase::authenticated), "authenticated");
  EXPECT_LT(client_phase::tls, client_phase::authenticated);
  EXPECT_LT(client_phase::authenticated, client_phase::mcs_connected);
  // The default requests: SSL|HYBRID, and SSL|HYBRID|HYBRID_EX as mstsc.
  EXPECT_EQ(protocol::make_connection_request(nla_options()).negotiation->requested_protocols, 0x3u);
  EXPECT_EQ(protocol::make_connection_request(nla_options(true)).negotiation->requested_protocols, 0xBu);
}

}  // namespace
}  // namespace rdp::test
