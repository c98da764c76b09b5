// The lean client (client/session.hpp) over NLA on real sockets. First against a scripted server in this file: a
// blocking TLS listener on its own thread whose CredSSP side is protocol/'s credssp_acceptor, bound to the
// SubjectPublicKey of its own certificate (net::subject_public_key) — so the client's binding passes only if the
// engine handed the machine the key of the certificate TLS really presented. Then against rdpsim (NLA profiles).
#include "rdp/client/session.hpp"
#include "rdp/crypto/openssl_primitives.hpp"
#include "rdp/net/tls.hpp"
#include "rdp/protocol/credssp.hpp"
#include "rdp/protocol/credssp_server.hpp"
#include "rdp/protocol/errinfo.hpp"
#include "rdp/protocol/mcs.hpp"
#include "rdp/protocol/x224.hpp"
#include "rdp/scenarios/runner.hpp"
#include "rdp/scenarios/scenario.hpp"
#include "rdp/sim/profile.hpp"

#include "sim_thread.hpp"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

namespace {

using namespace rdp;
namespace asio = net::asio;
namespace ssl = net::ssl;
using net::tcp;
using namespace std::chrono_literals;
namespace credssp = protocol::credssp;

// What the scripted server saw, read by the test after its thread ended.
struct server_log {
  std::uint32_t requested = 0;  // the CR's requestedProtocols
  protocol::credssp_outcome outcome = protocol::credssp_outcome::in_progress;
  std::string acceptor_log;
  std::optional<std::uint32_t> connect_initial_selected;  // serverSelectedProtocol of the Connect-Initial
};

// One connection: X.224 (select `selected`), TLS, CredSSP by credssp_acceptor, the EUAR under HYBRID_EX, then the
// Connect-Initial read and the connection closed (the test stops at mcs-level evidence; the rest of the sequence is
// the TLS client's, tested elsewhere). Every read is bounded by SO_RCVTIMEO.
class scripted_nla_server {
 public:
  scripted_nla_server(std::uint32_t selected, std::vector<protocol::nla_account> accounts)
      : identity_(net::make_self_signed(net::key_kind::rsa, "lean-nla-test")),
        context_(net::make_server_context(identity_)),
        acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        selected_(selected),
        accounts_(std::move(accounts)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~scripted_nla_server() {
    error_code ignored;
    acceptor_.close(ignored);
    if (thread_.joinable()) thread_.join();
  }
  std::uint16_t port() const { return port_; }
  const server_log& log() {
    if (thread_.joinable()) thread_.join();
    return log_;
  }

 private:
  using error_code = boost::system::error_code;

  template <class Stream>
  static std::optional<protocol::byte_buffer> read_ts_request(Stream& s, protocol::byte_buffer& buffer) {
    for (int i = 0; i < 1000; ++i) {
      auto decoded = credssp::decode_ts_request(buffer);
      if (decoded) {
        protocol::byte_buffer one(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(decoded->consumed));
        buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(decoded->consumed));
        return one;
      }
      if (!protocol::is_need_more(decoded.error())) return std::nullopt;
      std::array<std::uint8_t, 4096> chunk{};
      error_code ec;
      const auto n = s.read_some(asio::buffer(chunk), ec);
      if (ec) return std::nullopt;
      buffer.insert(buffer.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
    }
    return std::nullopt;
  }

  void serve() {
    error_code ec;
    tcp::socket socket(io_);
    acceptor_.accept(socket, ec);
    if (ec) return;
    const timeval timeout{5, 0};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    // X.224: the CR fits one read on loopback (it is one small write).
    std::array<std::uint8_t, 512> cr{};
    const auto n = socket.read_some(asio::buffer(cr), ec);
    if (ec) return;
    auto request = protocol::x224::decode_connection_request(protocol::bytes_view(cr.data(), n));
    if (!request || !request->value.negotiation) return;
    log_.requested = request->value.negotiation->requested_protocols;
    protocol::x224::connection_confirm cc;
    cc.negotiation = protocol::neg_response{0, selected_};
    asio::write(socket, asio::buffer(protocol::x224::encode(cc)), ec);
    if (ec) return;
    ssl::stream<tcp::socket&> tls(socket, context_);
    tls.handshake(ssl::stream_base::server, ec);
    if (ec) return;

    protocol::credssp_acceptor_options o;
    o.server_challenge = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
    o.filetime = 0x01d9000000000000ULL;
    o.public_key = net::subject_public_key(identity_);
    o.accounts = accounts_;
    protocol::credssp_acceptor acceptor(rdp::crypto::openssl_primitives(), std::move(o));
    protocol::byte_buffer buffer;
    for (int round = 0; round < 3 && acceptor.outcome() == protocol::credssp_outcome::in_progress; ++round) {
      auto wire = read_ts_request(tls, buffer);
      if (!wire) break;
      auto step = acceptor.on_request(credssp::decode_ts_request(*wire)->value);
      if (step.reply) asio::write(tls, asio::buffer(credssp::encode(*step.reply)), ec);
    }
    log_.outcome = acceptor.outcome();
    log_.acceptor_log = acceptor.log();
    if (acceptor.outcome() != protocol::credssp_outcome::authenticated) return;
    if (selected_ == protocol::to_bits(protocol::security_protocol::hybrid_ex)) {
      // MS-RDPBCGR 2.2.10.2: authorizationResult, little-endian.
      const std::uint8_t result = acceptor.logon()->remote_logon ? 0x00 : 0x05;
      const std::array<std::uint8_t, 4> euar{result, 0, 0, 0};
      asio::write(tls, asio::buffer(euar), ec);
      if (result != 0) return;
    }
    // The Connect-Initial: TPKT-framed, read until its length is in.
    for (int i = 0; i < 100; ++i) {
      if (buffer.size() >= 4) {
        const std::size_t length = (std::size_t{buffer[2]} << 8) | buffer[3];
        if (buffer.size() >= length) {
          auto initial = protocol::mcs::decode_connect_initial(buffer);
          if (initial && initial->value.user_data.client.core)
            log_.connect_initial_selected = initial->value.user_data.client.core->server_selected_protocol;
          break;
        }
      }
      std::array<std::uint8_t, 4096> chunk{};
      const auto got = tls.read_some(asio::buffer(chunk), ec);
      if (ec) break;
      buffer.insert(buffer.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(got));
    }
  }

  net::tls_identity identity_;
  ssl::context context_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::uint32_t selected_;
  std::vector<protocol::nla_account> accounts_;
  server_log log_;
  std::thread thread_;
};

std::vector<protocol::nla_account> accounts() {
  return {{"alice", "LAB", "Passw0rd!", protocol::account_state::enabled, true},
          {"bob", "LAB", "Passw0rd!", protocol::account_state::disabled, true},
          {"erin", "LAB", "Passw0rd!", protocol::account_state::enabled, false}};
}

client::session_options nla_options(std::uint16_t port, std::string user, std::string password, bool hybrid_ex) {
  client::session_options o;
  o.port = port;
  o.user = std::move(user);
  o.domain = "LAB";
  o.password = std::move(password);
  o.security = client::session_security::nla;
  o.hybrid_ex = hybrid_ex;
  o.deadlines.step = 5000ms;
  o.deadlines.hold = 1000ms;
  return o;
}

constexpr std::uint32_t hybrid = 0x2, hybrid_ex = 0x8;

TEST(LeanClientNlaScripted, BindsTheKeyOfTheCertificateTlsPresentedAndSendsTheSelectedProtocol) {
  for (const bool ex : {false, true}) {
    SCOPED_TRACE(ex ? "hybrid-ex" : "hybrid");
    scripted_nla_server server(ex ? hybrid_ex : hybrid, accounts());
    auto context = client::make_client_context();
    const auto r = client::run_session_blocking(context, nla_options(server.port(), "alice", "Passw0rd!", ex));
    const auto& log = server.log();
    EXPECT_EQ(log.requested, ex ? 0xBu : 0x3u);
    EXPECT_EQ(log.outcome, protocol::credssp_outcome::authenticated) << log.acceptor_log;
    EXPECT_EQ(log.connect_initial_selected, ex ? hybrid_ex : hybrid);
    EXPECT_GE(r.reached, protocol::client_phase::authenticated) << r.failure;
    EXPECT_FALSE(r.nla_status);
    if (ex) {
      EXPECT_EQ(r.early_authorization, 0u);
    } else {
      EXPECT_FALSE(r.early_authorization);
    }
  }
}

TEST(LeanClientNlaScripted, RefusalsAndAccessDeniedAreReported) {
  {
    scripted_nla_server server(hybrid, accounts());
    auto context = client::make_client_context();
    const auto r = client::run_session_blocking(context, nla_options(server.port(), "alice", "wrong", false));
    EXPECT_EQ(r.nla_status, protocol::ntstatus::logon_failure);
    EXPECT_EQ(r.reached, protocol::client_phase::tls);
    EXPECT_NE(r.failure.find("STATUS_LOGON_FAILURE"), std::string::npos) << r.failure;
    EXPECT_EQ(server.log().outcome, protocol::credssp_outcome::failed);
  }
  {
    scripted_nla_server server(hybrid, accounts());
    auto context = client::make_client_context();
    const auto r = client::run_session_blocking(context, nla_options(server.port(), "bob", "Passw0rd!", false));
    EXPECT_EQ(r.nla_status, protocol::ntstatus::account_disabled) << r.failure;
  }
  {
    scripted_nla_server server(hybrid_ex, accounts());
    auto context = client::make_client_context();
    const auto r = client::run_session_blocking(context, nla_options(server.port(), "erin", "Passw0rd!", true));
    EXPECT_EQ(r.early_authorization, 5u) << r.failure;
    EXPECT_FALSE(r.nla_status);
    EXPECT_EQ(r.reached, protocol::client_phase::tls);
  }
}

// ---- Against rdpsim: NLA profiles written inline (docs/profiles.md: users with state and remote_logon) ----------

sim::server_config nla_profile(const std::string& protocols) {
  const std::string text = "protocols: [" + protocols + R"(]
users:
  - {user: alice, password: "Passw0rd!", domain: LAB}
  - {user: bob, password: "Passw0rd!", domain: LAB, state: disabled}
  - {user: erin, password: "Passw0rd!", domain: LAB, remote_logon: false}
)";
  return sim::parse_profile(text, "inline-nla.yaml").server;
}

// Sessions with a user logged on (the Listen row and connections still logging on have none).
std::size_t logged_on(test::sim_thread& sim) {
  return sim.call([&] {
    std::size_t n = 0;
    for (const auto& row : sim.server().admin().query_sessions()) if (!row.user.empty()) ++n;
    return n;
  });
}

TEST(LeanClientNla, LogsOnToRdpsimOverNlaAndReachesActive) {
  for (const bool ex : {false, true}) {
    SCOPED_TRACE(ex ? "tls, credssp, credssp-ex" : "tls, credssp");
    test::sim_thread sim(nla_profile(ex ? "tls, credssp, credssp-ex" : "tls, credssp"));
    auto context = client::make_client_context();
    auto o = nla_options(sim.port(), "alice", "Passw0rd!", ex);
    o.hold = false;  // active, then close: the session stays, disconnected
    const auto r = client::run_session_blocking(context, o);
    EXPECT_TRUE(r.active()) << r.failure;
    EXPECT_FALSE(r.nla_status);
    ASSERT_TRUE(r.confirm);
    const auto* selected = std::get_if<protocol::neg_response>(&r.confirm->negotiation);
    ASSERT_NE(selected, nullptr);
    EXPECT_EQ(selected->selected_protocol, ex ? hybrid_ex : hybrid);
    if (ex) {
      EXPECT_EQ(r.early_authorization, 0u);
    } else {
      EXPECT_FALSE(r.early_authorization);
    }
    EXPECT_GT(r.handshake_ms, 0.0);
  }
}

// mstsc's way: the NTLM tokens inside SPNEGO, mechListMICs both ways, and a session at the end.
TEST(LeanClientNla, LogsOnOverSpnegoAndReachesActive) {
  test::sim_thread sim(nla_profile("tls, credssp, credssp-ex"));
  auto context = client::make_client_context();
  auto o = nla_options(sim.port(), "alice", "Passw0rd!", true);
  o.spnego = true;
  o.hold = false;
  const auto r = client::run_session_blocking(context, o);
  EXPECT_TRUE(r.active()) << r.failure;
  EXPECT_EQ(r.early_authorization, 0u);
  EXPECT_EQ(sim.call([&] { return sim.server().counters().nla_logons; }), 1u);
  EXPECT_EQ(logged_on(sim), 1u);
  auto wrong = nla_options(sim.port(), "alice", "wrong", true);
  wrong.spnego = true;
  const auto refused = client::run_session_blocking(context, wrong);
  EXPECT_EQ(refused.nla_status, protocol::ntstatus::logon_failure) << refused.failure;
}

TEST(LeanClientNla, AWrongPasswordIsRefusedWithLogonFailureAndNoSession) {
  test::sim_thread sim(nla_profile("tls, credssp"));
  auto context = client::make_client_context();
  const auto r = client::run_session_blocking(context, nla_options(sim.port(), "alice", "wrong", false));
  EXPECT_EQ(r.nla_status, protocol::ntstatus::logon_failure) << r.failure;
  EXPECT_EQ(r.reached, protocol::client_phase::tls);
  EXPECT_FALSE(r.session_id);
  EXPECT_NE(r.failure.find("STATUS_LOGON_FAILURE (0xC000006D)"), std::string::npos) << r.failure;
  // No session came of it.
  EXPECT_EQ(logged_on(sim), 0u);
}

TEST(LeanClientNla, AUserWithoutTheRemoteLogonRightGetsAccessDeniedOverHybridEx) {
  test::sim_thread sim(nla_profile("tls, credssp, credssp-ex"));
  auto context = client::make_client_context();
  const auto r = client::run_session_blocking(context, nla_options(sim.port(), "erin", "Passw0rd!", true));
  EXPECT_EQ(r.early_authorization, protocol::authz_access_denied) << r.failure;
  EXPECT_FALSE(r.nla_status);
  EXPECT_FALSE(r.active());
  EXPECT_EQ(logged_on(sim), 0u);
  // A disabled account: its own NTSTATUS.
  const auto disabled = client::run_session_blocking(context, nla_options(sim.port(), "bob", "Passw0rd!", true));
  EXPECT_EQ(disabled.nla_status, protocol::ntstatus::account_disabled) << disabled.failure;
}

// The scenario runner's lean client with `security: nla` (scenarios/src/run_clients.cpp): the admin-logoff story over NLA,
// replayed at 0.05, against a profile that offers nothing but CredSSP (a TLS logon could not pass).
TEST(LeanClientNla, TheScenarioRunnersLeanClientLogsOnOverNla) {
  const std::string text = R"(scenario: admin-logoff-nla
summary: The administrator logs off a session that logged on with NLA.
cause: admin-logoff
timeout: 1m
server:
  profile:
    name: inline-nla
    protocols: [credssp, credssp-ex]
    users:
      - {user: alice, password: "Passw0rd!", domain: LAB}
path: direct
clients:
  - {name: alice, kind: lean, user: alice, password: "Passw0rd!", domain: LAB, security: nla, hybrid_ex: true}
timeline:
  - {at: 0s, logon: alice}
  - {on: alice.cookie, after: 10s, admin: logoff, session: alice}
expect:
  - {client: alice, active: true, error_info: ERRINFO_RPC_INITIATED_LOGOFF, closed: fin, within: 10s..20s}
)";
  const auto parsed = scenarios::parse_scenario(text, "inline.yaml");
  ASSERT_EQ(parsed.clients.at(0).security, "nla");
  scenarios::run_options options;
  options.time_scale = 0.05;
  const auto result = scenarios::run_scenario(parsed, options);
  std::string timeline;
  for (const auto& e : result.timeline) timeline += e.lane + ": " + e.text + "\n";
  EXPECT_TRUE(result.passed) << result.error << "\n" << timeline;
  for (const auto& check : result.checks) EXPECT_TRUE(check.passed) << check.what << ": " << check.why;
  EXPECT_NE(timeline.find("(lean client, NLA with HYBRID_EX)"), std::string::npos) << timeline;
}

}  // namespace
