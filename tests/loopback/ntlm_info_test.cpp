// probe_ntlm_info against rdpsim's CHALLENGE and against hostile CredSSP peers, over real loopback sockets. The
// acceptor is the test's own (X.224 CR → CC → TLS → script); its `answer` is built from the pure pieces rdpsim's
// server state machine sends (protocol::make_challenge, responder_credssp_version), and AgainstRdpsimItself runs
// the probe against the real server.
#include "rdp/net/spawn.hpp"
#include "rdp/net/deadline.hpp"
#include "rdp/net/read_until.hpp"
#include "rdp/net/tls.hpp"
#include "rdp/probe/ntlm_info.hpp"
#include "rdp/protocol/credssp.hpp"
#include "rdp/protocol/ntlm.hpp"
#include "rdp/protocol/x224.hpp"
#include "rdp/sim/credssp_responder.hpp"
#include "rdp/sim/server.hpp"

#include "sim_thread.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>

namespace {

using namespace rdp;
namespace asio = net::asio;
using net::tcp;

enum class script {
  answer,              // rdpsim's answer to a NEGOTIATE (answer_negotiate)
  select_tls,          // the CC selects TLS only
  refuse,              // the CC is RDP_NEG_FAILURE HYBRID_REQUIRED_BY_SERVER... for a request that had HYBRID
  garbage,             // after TLS: an HTTP error line instead of a TSRequest
  huge_then_silent,    // after TLS: a SEQUENCE announcing 2 GiB, a few bytes of it, then nothing
  endless,             // after TLS: a SEQUENCE announcing 2 GiB, then bytes for as long as the client reads
  silent,              // after TLS: nothing at all
  error_code,          // after TLS: a TSRequest with errorCode STATUS_LOGON_FAILURE and no token
  spnego_wrapped,      // after TLS: the CHALLENGE behind a SPNEGO-looking prefix in the negoToken
};

struct server_outcome {
  bool responder_answered = false;
  bool tls_done = false;
};

const net::tls_identity& identity() {
  static const auto id = net::make_self_signed(net::key_kind::ecdsa, "rdpsim-test");
  return id;
}

template <class Stream>
asio::awaitable<void> drain_until_closed(Stream& stream, net::milliseconds limit) {
  std::array<std::uint8_t, 4096> chunk{};
  const auto deadline = net::clock::now() + limit;
  for (;;) {
    const auto left = deadline - net::clock::now();
    if (left <= net::clock::duration::zero()) co_return;
    auto [ec, n] = co_await net::with_deadline(stream.async_read_some(asio::buffer(chunk), net::use_tuple), left);
    if (ec) co_return;
  }
}

// A DER SEQUENCE header announcing 0x7FFFFFFF bytes.
protocol::byte_buffer announce_2gib() { return {0x30, 0x84, 0x7F, 0xFF, 0xFF, 0xFF}; }

template <class Stream>
asio::awaitable<bool> send(Stream& stream, protocol::byte_buffer bytes) {
  auto [ec, n] = co_await net::with_deadline(asio::async_write(stream, asio::buffer(bytes), net::use_tuple),
                                             net::milliseconds(3000));
  (void)n;
  co_return !ec;
}

protocol::byte_buffer challenge_answer(const sim::ntlm_identity& who, std::size_t wrapper_bytes) {
  const auto challenge = sim::make_challenge(who, protocol::ntlm::negotiate_flags::nmap_negotiate,
                                             protocol::ntlm::to_filetime(std::chrono::system_clock::now()), {});
  protocol::credssp::ts_request answer;
  auto token = protocol::byte_buffer(wrapper_bytes, 0xA1);  // stands in for a SPNEGO negTokenResp header
  const auto message = *protocol::ntlm::encode(challenge);
  token.insert(token.end(), message.begin(), message.end());
  answer.nego_tokens.push_back(token);
  return protocol::credssp::encode(answer);
}

// What rdpsim's server machine answers a TSRequest carrying an NTLM NEGOTIATE with: a TSRequest carrying the
// CHALLENGE for `who` (MS-CSSP 3.1.5 step 1). True once it is sent.
template <class Stream>
asio::awaitable<bool> answer_negotiate(Stream& stream, sim::ntlm_identity who) {
  protocol::byte_buffer received;
  std::optional<protocol::credssp::ts_request> request;
  const auto ec = co_await net::read_until(stream, received, 64 * 1024, net::milliseconds(3000),
                                           [&](const protocol::byte_buffer& b) {
                                             auto decoded = protocol::credssp::decode_ts_request(b);
                                             if (decoded) request = std::move(decoded->value);
                                             return decoded || !protocol::is_need_more(decoded.error());
                                           });
  if (ec || !request || request->nego_tokens.empty()) co_return false;
  const auto negotiate = protocol::ntlm::decode_negotiate(request->nego_tokens.front());
  if (!negotiate) co_return false;
  const auto challenge = sim::make_challenge(who, negotiate->flags,
                                             protocol::ntlm::to_filetime(std::chrono::system_clock::now()), {});
  protocol::credssp::ts_request answer;
  answer.version = sim::responder_credssp_version;
  answer.nego_tokens.push_back(*protocol::ntlm::encode(challenge));
  co_return co_await send(stream, protocol::credssp::encode(answer));
}

// One connection: read the CR, answer with a CC for `selected` (or a failure), TLS, then the script.
asio::awaitable<void> serve_one(std::shared_ptr<tcp::acceptor> acceptor, script what, sim::ntlm_identity who,
                                std::shared_ptr<server_outcome> outcome) {
  tcp::socket socket(acceptor->get_executor());
  auto [accept_ec] = co_await acceptor->async_accept(socket, net::use_tuple);
  if (accept_ec) co_return;

  protocol::byte_buffer received;
  std::array<std::uint8_t, 1024> chunk{};
  for (;;) {
    auto cr = protocol::x224::decode_connection_request(received);
    if (cr) {
      EXPECT_EQ(cr->value.negotiation->requested_protocols, 0x0Bu);  // SSL|HYBRID|HYBRID_EX, as nmap asks
      break;
    }
    if (!protocol::is_need_more(cr.error())) co_return;
    auto [ec, n] = co_await net::with_deadline(socket.async_read_some(asio::buffer(chunk), net::use_tuple),
                                               net::milliseconds(3000));
    if (ec) co_return;
    received.insert(received.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
  }
  protocol::x224::connection_confirm cc;
  if (what == script::refuse) cc.negotiation = protocol::neg_failure{5};
  else cc.negotiation = protocol::neg_response{0x1F, what == script::select_tls ? 0x01u : 0x02u};
  if (!co_await send(socket, protocol::x224::encode(cc))) co_return;
  if (what == script::select_tls || what == script::refuse) {
    co_await drain_until_closed(socket, net::milliseconds(5000));
    co_return;
  }

  auto context = net::make_server_context(identity());
  asio::ssl::stream<tcp::socket&> tls(socket, context);
  auto tls_ec = co_await net::with_deadline(tls.async_handshake(asio::ssl::stream_base::server, net::use_tuple),
                                            net::milliseconds(5000));
  if (tls_ec) co_return;
  outcome->tls_done = true;

  switch (what) {
    case script::answer:
      outcome->responder_answered = co_await answer_negotiate(tls, who);
      break;
    case script::garbage: {
      const std::string http = "HTTP/1.1 400 Bad Request\r\n\r\n";
      co_await send(tls, protocol::byte_buffer(http.begin(), http.end()));
      break;
    }
    case script::huge_then_silent: {
      // (Built outside the co_await: GCC 12 rejects a braced list inside one, "array used as initializer".)
      auto announce = announce_2gib();
      announce.insert(announce.end(), {0xA0, 0x03, 0x02});
      co_await send(tls, std::move(announce));
      break;
    }
    case script::endless: {
      if (!co_await send(tls, announce_2gib())) break;
      // Until the client hangs up (a write error) or 8 MiB, whichever first.
      for (int i = 0; i < 512; ++i)
        if (!co_await send(tls, protocol::byte_buffer(16384, 0x04))) break;
      break;
    }
    case script::error_code: {
      protocol::credssp::ts_request answer;
      answer.error_code = 0xC000006D;
      co_await send(tls, protocol::credssp::encode(answer));
      break;
    }
    case script::spnego_wrapped:
      co_await send(tls, challenge_answer(who, 17));
      break;
    default:
      break;
  }
  co_await drain_until_closed(tls, net::milliseconds(5000));
}

struct run_result {
  probe::ntlm_info_result info;
  server_outcome server;
  double elapsed_ms = 0;
};

run_result run(script what, sim::ntlm_identity who = {}, net::milliseconds read_timeout = net::milliseconds(3000)) {
  asio::io_context io;
  auto acceptor = std::make_shared<tcp::acceptor>(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto outcome = std::make_shared<server_outcome>();
  net::spawn(io.get_executor(), serve_one(acceptor, what, who, outcome), "scripted CredSSP server");

  auto options = std::make_shared<probe::probe_options>();
  options->read_timeout = read_timeout;
  options->tls_timeout = net::milliseconds(5000);
  auto client_context = std::make_shared<asio::ssl::context>(net::make_client_context());
  run_result out;
  const auto start = net::clock::now();
  asio::co_spawn(io,
                 probe::probe_ntlm_info({acceptor->local_endpoint()}, options, client_context),
                 [&](std::exception_ptr e, probe::ntlm_info_result r) {
                   if (e) std::rethrow_exception(e);
                   out.elapsed_ms = net::ms_since(start);
                   out.info = std::move(r);
                 });
  io.run();
  out.server = *outcome;
  return out;
}

TEST(NtlmInfo, ReportsTheSimulatorsIdentity) {
  sim::ntlm_identity who;
  who.netbios_computer = "WIN-SIM01";
  who.netbios_domain = "CONTOSO";
  who.dns_computer = "win-sim01.contoso.example";
  who.dns_domain = "contoso.example";
  who.dns_tree = "example";
  const auto r = run(script::answer, who);
  EXPECT_TRUE(r.server.responder_answered);
  const auto& info = r.info;
  EXPECT_TRUE(info.attempted);
  EXPECT_EQ(info.error, "");
  EXPECT_EQ(info.netbios_computer, who.netbios_computer);
  EXPECT_EQ(info.netbios_domain, who.netbios_domain);
  EXPECT_EQ(info.dns_computer, who.dns_computer);
  EXPECT_EQ(info.dns_domain, who.dns_domain);
  EXPECT_EQ(info.dns_tree, who.dns_tree);
  EXPECT_EQ(info.product_version, "10.0.20348");
  EXPECT_EQ(info.credssp_version, sim::responder_credssp_version);
  EXPECT_FALSE(info.error_code);
  ASSERT_TRUE(info.server_time);
  EXPECT_EQ(info.server_time->size(), 20u) << *info.server_time;  // 2024-05-01T12:34:56Z
  EXPECT_EQ(info.server_time->back(), 'Z');
  ASSERT_TRUE(info.clock_skew_seconds);
  EXPECT_LT(std::abs(*info.clock_skew_seconds), 2.0);  // same clock, a loopback round trip apart
  ASSERT_TRUE(info.credssp_ms);
  EXPECT_GE(*info.credssp_ms, 0.0);

  const auto j = probe::to_json(info);
  EXPECT_EQ(j.at("netbios_computer"), "WIN-SIM01");
  EXPECT_EQ(j.at("product_version"), "10.0.20348");
  EXPECT_EQ(j.at("credssp_version"), 6);
  EXPECT_TRUE(j.at("error").is_null());
  EXPECT_TRUE(j.at("error_code").is_null());
  EXPECT_TRUE(j.at("clock_skew_seconds").is_number());
  EXPECT_TRUE(j.at("timings_ms").at("credssp").is_number());
}

TEST(NtlmInfo, DefaultIdentityAndNonAsciiNames) {
  sim::ntlm_identity who;
  who.netbios_computer = "MÜNCHEN";
  who.dns_tree = "";  // a server that sends an empty tree name
  const auto r = run(script::answer, who);
  EXPECT_EQ(r.info.error, "");
  EXPECT_EQ(r.info.netbios_computer, "MÜNCHEN");
  EXPECT_EQ(r.info.netbios_domain, "LAB");
  EXPECT_EQ(r.info.dns_computer, "rdpsim.lab.example");
  EXPECT_EQ(r.info.dns_domain, "lab.example");
  EXPECT_EQ(r.info.dns_tree, "");
  EXPECT_TRUE(probe::to_json(r.info).at("dns_tree").is_null());
}

TEST(NtlmInfo, TlsOnlyServerIsExplained) {
  const auto r = run(script::select_tls);
  EXPECT_TRUE(r.info.attempted);
  EXPECT_FALSE(r.server.tls_done);
  EXPECT_NE(r.info.error.find("selected tls"), std::string::npos) << r.info.error;
  EXPECT_NE(r.info.error.find("not CredSSP"), std::string::npos) << r.info.error;
  EXPECT_TRUE(r.info.netbios_computer.empty());
  EXPECT_FALSE(r.info.credssp_version);
}

TEST(NtlmInfo, NegotiationFailureIsExplained) {
  const auto r = run(script::refuse);
  EXPECT_NE(r.info.error.find("HYBRID_REQUIRED_BY_SERVER"), std::string::npos) << r.info.error;
}

TEST(NtlmInfo, GarbageAfterTlsEndsAtOnce) {
  const auto r = run(script::garbage);
  EXPECT_TRUE(r.server.tls_done);
  // Decided at the first bytes: waiting for more would have ended in "timed out" instead.
  EXPECT_NE(r.info.error.find("not a CredSSP TSRequest"), std::string::npos) << r.info.error;
  EXPECT_FALSE(r.info.credssp_version);
}

TEST(NtlmInfo, HugeAnnouncedAnswerEndsAtTheDeadline) {
  const auto timeout = net::milliseconds(800);
  const auto r = run(script::huge_then_silent, {}, timeout);
  EXPECT_TRUE(r.server.tls_done);
  EXPECT_NE(r.info.error.find("cut short"), std::string::npos) << r.info.error;
  EXPECT_NE(r.info.error.find("timed out"), std::string::npos) << r.info.error;
  EXPECT_GE(r.elapsed_ms, 800.0);  // not before the deadline; that it ended at all is the "timed out" above
}

TEST(NtlmInfo, EndlessAnswerStopsAtTheCap) {
  const auto r = run(script::endless, {}, net::milliseconds(5000));
  EXPECT_NE(r.info.error.find("64 KiB"), std::string::npos) << r.info.error;
}

TEST(NtlmInfo, SilentAfterTlsEndsAtTheDeadline) {
  const auto r = run(script::silent, {}, net::milliseconds(600));
  EXPECT_NE(r.info.error.find("no CredSSP answer: timed out"), std::string::npos) << r.info.error;
}

TEST(NtlmInfo, ErrorCodeIsReported) {
  const auto r = run(script::error_code);
  ASSERT_TRUE(r.info.error_code);
  EXPECT_EQ(*r.info.error_code, 0xC000006Du);
  EXPECT_EQ(r.info.credssp_version, 6);
  EXPECT_NE(r.info.error.find("0xC000006D"), std::string::npos) << r.info.error;
  EXPECT_EQ(probe::to_json(r.info).at("error_code"), "0xC000006D");
}

TEST(NtlmInfo, ChallengeInsideAWrapperIsFound) {
  const auto r = run(script::spnego_wrapped);
  EXPECT_EQ(r.info.error, "");
  EXPECT_EQ(r.info.netbios_computer, "RDPSIM");
  EXPECT_EQ(r.info.product_version, "10.0.20348");
}

probe::ntlm_info_result probe_port(std::uint16_t port) {
  asio::io_context io;
  auto options = std::make_shared<const probe::probe_options>();
  auto context = std::make_shared<asio::ssl::context>(net::make_client_context());
  probe::ntlm_info_result result;
  asio::co_spawn(io,
                 probe::probe_ntlm_info({tcp::endpoint(asio::ip::make_address("127.0.0.1"), port)}, options, context),
                 [&](std::exception_ptr e, probe::ntlm_info_result r) {
                   if (e) std::rethrow_exception(e);
                   result = std::move(r);
                 });
  io.run();
  return result;
}

TEST(NtlmInfo, AgainstRdpsimItself) {
  // rdpsim's server answers the NEGOTIATE after TLS when it selected CredSSP or CredSSP-EX.
  for (const char* policy : {"credssp", "credssp-ex", "tls,credssp"}) {
    sim::server_config config;
    config.policy = sim::parse_policy(policy);
    config.identity = identity();
    config.ntlm.netbios_computer = "SIMHOST";
    config.ntlm.build = 17763;
    test::sim_thread server(config);
    const auto r = probe_port(server.port());
    EXPECT_EQ(r.error, "") << policy;
    EXPECT_EQ(r.netbios_computer, "SIMHOST") << policy;
    EXPECT_EQ(r.dns_computer, "rdpsim.lab.example") << policy;
    EXPECT_EQ(r.product_version, "10.0.17763") << policy;
    EXPECT_EQ(r.credssp_version, 6) << policy;
  }
  // A TLS-only rdpsim: the probe says what was selected.
  sim::server_config tls_only;
  tls_only.policy = sim::parse_policy("tls");
  tls_only.identity = identity();
  test::sim_thread server(tls_only);
  const auto r = probe_port(server.port());
  EXPECT_NE(r.error.find("selected tls, not CredSSP"), std::string::npos) << r.error;
}

TEST(NtlmInfo, NothingListening) {
  asio::io_context io;
  tcp::endpoint closed;
  {
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    closed = a.local_endpoint();
  }
  auto options = std::make_shared<const probe::probe_options>();
  auto context = std::make_shared<asio::ssl::context>(net::make_client_context());
  probe::ntlm_info_result result;
  asio::co_spawn(io, probe::probe_ntlm_info({closed}, options, context),
                 [&](std::exception_ptr e, probe::ntlm_info_result r) {
                   if (e) std::rethrow_exception(e);
                   result = std::move(r);
                 });
  io.run();
  EXPECT_TRUE(result.attempted);
  EXPECT_NE(result.error.find("TCP connect"), std::string::npos) << result.error;
}

TEST(NtlmResponder, AnswersNmapsNegotiateWithWindowsFlags) {
  namespace nf = protocol::ntlm::negotiate_flags;
  const auto c = sim::make_challenge({}, nf::nmap_negotiate, 0, {});
  // nmap's 0xE20882B7 with LM_KEY and OEM dropped and TARGET_TYPE_DOMAIN, TARGET_INFO added: 0xE2898235, the flag
  // set of a domain member's CHALLENGE (a workgroup server says TARGET_TYPE_SERVER instead: 0xE28A8235).
  EXPECT_EQ(c.flags, 0xE2898235u);
  const auto f = protocol::ntlm::facts(c);
  EXPECT_EQ(f.target_name, "LAB");
  EXPECT_EQ(f.netbios_computer, "RDPSIM");
  // An OEM-only client gets an OEM TargetName.
  const auto oem = sim::make_challenge({}, nf::oem | nf::request_target, 0, {});
  EXPECT_TRUE(oem.flags & nf::oem);
  EXPECT_FALSE(oem.flags & nf::unicode);
  EXPECT_EQ(protocol::ntlm::facts(oem).target_name, "LAB");
  // Absurdly long names are cut so the CHALLENGE still encodes.
  sim::ntlm_identity big;
  big.dns_computer = std::string(100000, 'x');
  big.dns_domain = std::string(100000, 'y');
  EXPECT_TRUE(protocol::ntlm::encode(sim::make_challenge(big, nf::nmap_negotiate, 0, {})));
}

}  // namespace
