// The product's lean RDP client (client/include/rdp/client/session.hpp) against an in-process rdpsim: it reaches the active
// session, sees an admin logoff as Set Error Info ERRINFO_RPC_INITIATED_LOGOFF then the Disconnect Provider
// Ultimatum, and sees a refused logon the same way. The load test builds on it.
#include "rdp/client/session.hpp"
#include "client_thread.hpp"
#include "sim_thread.hpp"

#include "rdp/net/errors.hpp"
#include "rdp/net/tls.hpp"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <future>
#include <thread>

namespace {

using namespace rdp;
namespace asio = net::asio;
using namespace std::chrono_literals;

sim::server_config sim_config() {
  sim::server_config config;
  config.identity = net::make_self_signed(net::key_kind::ecdsa, "rdpsim-mini-client-test");
  return config;
}

client::session_options options_for(std::uint16_t port, std::string user, std::string password) {
  client::session_options o;
  o.port = port;
  o.user = std::move(user);
  o.password = std::move(password);
  o.deadlines.step = 5000ms;
  o.deadlines.hold = 10000ms;
  return o;
}

using rdp::test::client_thread;

TEST(MiniClient, ReachesActiveAndSeesAdminLogoffAsErrorInfoAndUltimatum) {
  test::sim_thread sim(sim_config());
  client_thread client(options_for(sim.port(), "alice", "secret"));

  const auto sequence = client.sequence(10s);
  ASSERT_TRUE(sequence) << "the connection sequence did not end within 10 s";
  ASSERT_TRUE(sequence->active()) << "stopped after " << protocol::to_string(sequence->reached) << ": "
                                  << sequence->failure;
  ASSERT_TRUE(sequence->session_id);
  EXPECT_EQ(sequence->user_id, 1004) << "1003 + 1 + no static channels, as rdpsim numbers user ids";
  EXPECT_GT(sequence->handshake_ms, 0.0);

  // The table says Active once the client holds its cookie (Save Session Info follows the Font Map).
  const auto id = *sequence->session_id;
  std::optional<sim::session_info> row;
  for (int i = 0; i < 200; ++i) {
    row = sim.find_session(id);
    if (row && row->state == sim::session_state::active) break;
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(row) << "no session " << id << " in the table";
  EXPECT_EQ(row->state, sim::session_state::active);
  EXPECT_EQ(row->user, "alice");

  const auto logoff = sim.call([&] { return sim.server().admin().logoff(id); });
  ASSERT_TRUE(logoff.ok) << logoff.error;

  const auto result = client.final(10s);
  ASSERT_TRUE(result) << "the client did not see the session end within 10 s";
  ASSERT_TRUE(result->error_info) << "no Set Error Info; ended with " << result->error.message();
  EXPECT_EQ(*result->error_info, 0x00000002u) << "ERRINFO_RPC_INITIATED_LOGOFF";
  ASSERT_TRUE(result->disconnect_reason) << "no Disconnect Provider Ultimatum";
  EXPECT_EQ(*result->disconnect_reason, protocol::mcs::disconnect_reason::provider_initiated);
  EXPECT_TRUE(result->server_closed) << result->error.message();
  EXPECT_FALSE(sim.find_session(id)) << "a logged-off session is deleted";
}

TEST(MiniClient, WrongPasswordIsRefusedWithErrorInfoBeforeLicensing) {
  auto config = sim_config();
  config.users = {sim::user_account{"alice", "", "secret"}};
  test::sim_thread sim(std::move(config));
  client_thread client(options_for(sim.port(), "alice", "wrong"));

  const auto sequence = client.sequence(10s);
  ASSERT_TRUE(sequence);
  EXPECT_FALSE(sequence->active());
  EXPECT_EQ(sequence->reached, protocol::client_phase::joined) << "the Client Info is where credentials are checked";
  ASSERT_TRUE(sequence->error_info) << sequence->failure;
  EXPECT_EQ(*sequence->error_info, 0x00000009u) << "ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES";
  ASSERT_TRUE(sequence->disconnect_reason);
  EXPECT_EQ(*sequence->disconnect_reason, protocol::mcs::disconnect_reason::provider_initiated);
}

TEST(MiniClient, WithoutHoldClosesWhenActiveAndTheSessionStaysDisconnected) {
  test::sim_thread sim(sim_config());
  auto options = options_for(sim.port(), "bob", "pw");
  options.hold = false;
  client_thread client(options);
  const auto result = client.final(10s);
  ASSERT_TRUE(result);
  ASSERT_TRUE(result->active()) << result->failure;
  ASSERT_TRUE(result->session_id);
  std::optional<sim::session_info> row;
  for (int i = 0; i < 200; ++i) {
    row = sim.find_session(*result->session_id);
    if (row && row->state == sim::session_state::disconnected) break;
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(row);
  EXPECT_EQ(row->state, sim::session_state::disconnected);
}

}  // namespace

namespace {

// Heartbeats (MS-RDPBCGR 2.2.16.1) go only to a client that announced RNS_UD_CS_SUPPORT_HEARTBEAT_PDU, every
// `heartbeat` seconds; without the setting (the default) an idle session is silent.
TEST(MiniClient, HeartbeatsOnlyWhenConfiguredAndAnnounced) {
  auto config = sim_config();
  config.heartbeat = std::chrono::seconds(1);
  config.sessions.idle_limit = std::chrono::seconds(3);  // ends the hold: the heartbeats do not count as client input
  test::sim_thread sim(config);
  auto announcing = options_for(sim.port(), "alice", "secret");
  announcing.announce_heartbeat = true;
  client_thread with(announcing);
  auto silent_options = options_for(sim.port(), "bob", "secret");
  client_thread without(silent_options);
  const auto a = with.final(15s);
  const auto b = without.final(15s);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->error_info, 0x00000003u) << "ended by the idle limit";
  EXPECT_GE(a->heartbeats.size(), 2u);
  EXPECT_LE(a->heartbeats.size(), 5u);
  for (const auto& beat : a->heartbeats) EXPECT_EQ(beat.period, 1);
  EXPECT_TRUE(b->heartbeats.empty()) << "a client that did not announce support gets none";
  EXPECT_EQ(b->error_info, 0x00000003u);

  // Default configuration: no heartbeat at all, even to a client that announces support.
  test::sim_thread quiet(sim_config());
  auto quiet_options = options_for(quiet.port(), "carol", "secret");
  quiet_options.announce_heartbeat = true;
  quiet_options.deadlines.hold = 2500ms;
  client_thread idle(quiet_options);
  const auto c = idle.final(10s);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->heartbeats.empty());
  EXPECT_EQ(c->error, boost::system::errc::make_error_code(boost::system::errc::timed_out))
      << "the hold ran out: nothing was sent";
}

}  // namespace

namespace {

// A port held by something that is not RDP and speaks first: an SSH-like banner, then its FIN, before the client's
// X.224 request is even read. When the client fails on the bytes, the FIN is already in its socket (CLOSE_WAIT):
// how the session ended is the server's FIN (peer_at_close), read before the client's own close changes the state.
TEST(MiniClient, APeerThatClosedBeforeTheClientFailedOnItsBytesIsSeenAsItsFin) {
  asio::io_context io;
  net::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = acceptor.local_endpoint().port();
  std::thread server([&] {
    net::tcp::socket peer(io);
    net::error_code ec;
    acceptor.accept(peer, ec);
    if (ec) return;
    const std::string banner = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n";
    // Corked, the banner waits in the socket and the FIN joins its segment: the client cannot read the bytes
    // without the FIN having come (otherwise which came first to the client's read is a race).
    const int cork = 1;
    ::setsockopt(peer.native_handle(), IPPROTO_TCP, TCP_CORK, &cork, sizeof cork);
    asio::write(peer, asio::buffer(banner), ec);
    peer.shutdown(net::tcp::socket::shutdown_send, ec);
    // Kept open (not closed) until the client is done: a close with the client's CR unread would send an RST.
    std::array<char, 512> sink{};
    while (!ec) peer.read_some(asio::buffer(sink), ec);
  });
  auto o = options_for(port, "alice", "secret");
  o.deadlines.step = 2000ms;
  auto context = client::make_client_context();
  const auto r = client::run_session_blocking(context, std::move(o));
  server.join();
  EXPECT_FALSE(r.active());
  EXPECT_FALSE(r.server_closed) << "the client failed on the bytes, before it read the FIN: " << r.failure;
  EXPECT_EQ(r.peer_at_close, client::session_result::peer_state::fin) << r.failure;
}

}  // namespace
