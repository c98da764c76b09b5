// The lean client's liveness (client::liveness_model, issue 25): a real client's, chosen per session.
// - A healthy idle session with no heartbeats and no silence_limit is held to the end of its hold under either model:
//   FreeRDP's keepalive probes are answered by the server's kernel, and mstsc sends none.
// - When the peer's kernel stops answering (a relay owned by this test attaches a drop-all socket filter,
//   SO_ATTACH_FILTER, to its client-facing socket: the client's segments then reach no TCP stack, as behind a firewall
//   that forgot the flow), the FreeRDP model's keepalive gives up and the socket fails with ETIMEDOUT — the runner's
//   closing word `timeout` — while the mstsc model, idle, notices nothing and is held until its own deadline.
// - Through `rdpsim run`, a file's `liveness:` reaches the lean client, and idle sessions are held to their `hold`.
// No root needed: a classic BPF socket filter is unprivileged, and it acts only on the test's own socket.
#include "rdp/client/session.hpp"
#include "client_thread.hpp"
#include "run_command.hpp"
#include "sim_thread.hpp"

#include "rdp/net/tls.hpp"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdlib.h>  // mkdtemp
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

using namespace rdp;
namespace asio = net::asio;
using namespace std::chrono_literals;

sim::server_config sim_config() {
  sim::server_config config;  // no heartbeat, no limits: nothing is sent while the session is idle
  config.identity = net::make_self_signed(net::key_kind::ecdsa, "rdpsim-liveness-test");
  return config;
}

// Keepalive timings short enough for a test, in whole seconds as the kernel takes them: a peer that stops answering
// is given up at the first probe timer 2 s after it was last heard (Linux tcp_keepalive_timer with a user timeout).
net::tcp_keepalive short_keepalive() {
  net::tcp_keepalive k;
  k.idle = 1000ms;
  k.interval = 1000ms;
  k.probes = 3;
  k.user_timeout = 2000ms;
  return k;
}

client::session_options options_for(std::uint16_t port, std::string user, client::liveness_model model,
                                    std::chrono::milliseconds hold) {
  client::session_options o;
  o.port = port;
  o.user = std::move(user);
  o.password = "secret";
  o.deadlines.step = 5000ms;
  o.deadlines.hold = hold;
  o.liveness = model;
  o.keepalive = short_keepalive();
  return o;
}

using rdp::test::client_thread;

// A one-connection TCP relay in front of rdpsim whose client-facing socket can be made deaf at the TCP level:
// silence() attaches a socket filter that drops every segment the client sends before TCP sees it, so nothing is
// acknowledged any more — what a kernel firewall's drop does, and what a userspace proxy cannot do (docs/proxy.md).
class deaf_relay {
 public:
  explicit deaf_relay(std::uint16_t upstream_port) : upstream_port_(upstream_port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof a;
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listener_, 1) != 0 || ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &length) != 0)
      throw std::runtime_error("deaf_relay: cannot listen");
    port_ = ntohs(a.sin_port);
    accepter_ = std::thread([this] { accept_and_relay(); });
  }
  ~deaf_relay() {
    ::shutdown(listener_, SHUT_RDWR);
    for (const int fd : {down_.load(), up_.load()})
      if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
    accepter_.join();
    for (auto& t : pumps_) t.join();
    for (const int fd : {listener_, down_.load(), up_.load()})
      if (fd >= 0) ::close(fd);
  }
  std::uint16_t port() const { return port_; }
  // From now on the client's segments reach no TCP stack: no ACK, no RST, nothing.
  bool silence() {
    static sock_filter drop_all[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
    sock_fprog program{1, drop_all};
    const int fd = down_.load();
    return fd >= 0 && ::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) == 0;
  }

 private:
  void accept_and_relay() {
    const int down = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (down < 0) return;
    const int up = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(upstream_port_);
    down_ = down;
    up_ = up;
    if (up < 0 || ::connect(up, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::shutdown(down, SHUT_RDWR);
      return;
    }
    pumps_.emplace_back(pump, down, up);
    pumps_.emplace_back(pump, up, down);
  }
  static void pump(int from, int to) {
    char buffer[16384];
    for (;;) {
      const auto n = ::read(from, buffer, sizeof buffer);
      if (n <= 0) break;
      for (ssize_t sent = 0; sent < n;) {
        const auto w = ::send(to, buffer + sent, static_cast<std::size_t>(n - sent), MSG_NOSIGNAL);
        if (w <= 0) return;
        sent += w;
      }
    }
    ::shutdown(to, SHUT_WR);
  }

  std::uint16_t upstream_port_;
  std::uint16_t port_ = 0;
  int listener_ = -1;
  std::atomic<int> down_{-1}, up_{-1};
  std::thread accepter_;
  std::vector<std::thread> pumps_;
};

bool ended_by_own_hold(const client::session_result& r) {
  return r.active() && !r.teardown.empty() && r.teardown.back().kind == protocol::teardown_kind::timeout &&
         r.error == boost::system::errc::timed_out;
}

// Held idle, heartbeats off, no silence_limit: under neither model is a healthy session declared dead. The hold
// (4 s) is twice the FreeRDP model's give-up time (2 s), so unanswered probes would have ended it first.
TEST(LeanClientLiveness, HealthyIdleSessionWithoutHeartbeatsIsHeldUnderEachModel) {
  test::sim_thread sim(sim_config());
  client_thread freerdp(options_for(sim.port(), "idle-freerdp", client::liveness_model::freerdp, 4000ms));
  client_thread mstsc(options_for(sim.port(), "idle-mstsc", client::liveness_model::mstsc, 4000ms));
  for (auto* session : {&freerdp, &mstsc}) {
    SCOPED_TRACE(session == &freerdp ? "freerdp" : "mstsc");
    const auto r = session->final(20s);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->active()) << r->failure;
    EXPECT_TRUE(ended_by_own_hold(*r)) << "it must end by its own hold deadline, not by a dead peer: "
                                       << r->error.message() << " / " << r->failure;
    EXPECT_FALSE(r->server_closed);
    EXPECT_TRUE(r->heartbeats.empty());
  }
}

// The peer's kernel stops answering mid-session. FreeRDP's keepalive notices: the socket fails with ETIMEDOUT
// (teardown `closed` with error timed_out: the runner's closing word `timeout`), long before the hold. mstsc's
// liveness, idle, notices nothing: the session is held until its own deadline.
TEST(LeanClientLiveness, FreerdpModelEndsWithTcpTimeoutWhenThePeerStopsAnsweringAndMstscDoesNot) {
  test::sim_thread sim(sim_config());
  deaf_relay freerdp_path(sim.port());
  deaf_relay mstsc_path(sim.port());
  client_thread freerdp(options_for(freerdp_path.port(), "alice", client::liveness_model::freerdp, 15000ms));
  client_thread mstsc(options_for(mstsc_path.port(), "bob", client::liveness_model::mstsc, 5000ms));
  const auto freerdp_active = freerdp.sequence(15s);
  const auto mstsc_active = mstsc.sequence(15s);
  ASSERT_TRUE(freerdp_active && mstsc_active);
  ASSERT_TRUE(freerdp_active->active()) << freerdp_active->failure;
  ASSERT_TRUE(mstsc_active->active()) << mstsc_active->failure;
  ASSERT_TRUE(freerdp_path.silence()) << "SO_ATTACH_FILTER: " << std::strerror(errno);
  ASSERT_TRUE(mstsc_path.silence()) << "SO_ATTACH_FILTER: " << std::strerror(errno);

  const auto f = freerdp.final(30s);
  ASSERT_TRUE(f);
  ASSERT_FALSE(f->teardown.empty());
  EXPECT_EQ(f->teardown.back().kind, protocol::teardown_kind::closed)
      << "the stream failed (the kernel gave up), not our hold deadline: " << protocol::to_string(f->teardown.back().kind);
  EXPECT_EQ(f->error, boost::system::errc::timed_out) << f->error.message();
  EXPECT_TRUE(f->active());

  const auto m = mstsc.final(30s);
  ASSERT_TRUE(m);
  EXPECT_TRUE(ended_by_own_hold(*m)) << "an idle mstsc-like client sends nothing and notices nothing: "
                                     << m->error.message() << " / " << m->failure;
}

// The same through `rdpsim run` (scenarios/src/run_clients.cpp do_logon): a file's `liveness: freerdp` sets FreeRDP's
// keepalive, scaled (at 0.2: idle and interval rounded up to 1 s, user timeout 1800 ms), and `liveness: mstsc` none;
// both idle sessions, with no heartbeats and no silence_limit, are held until their `hold` ends them (`closed:
// client`), not declared dead.
TEST(LeanClientLiveness, RunnerHoldsAnIdleSessionUnderEitherLivenessToItsHold) {
  std::string dir_template = (std::filesystem::temp_directory_path() / "rdp-liveness-XXXXXX").string();
  const std::filesystem::path dir = ::mkdtemp(dir_template.data());
  const auto file = dir / "idle-liveness.yaml";
  std::ofstream(file) << R"(scenario: idle-liveness
summary: Healthy idle sessions without heartbeats, with FreeRDP's keepalive and with none, are held to their end.
timeout: 1m
server: {profile: {}}
clients:
  - {name: alice, kind: lean, user: alice, password: secret, liveness: freerdp, hold: 30s}
  - {name: bob, kind: lean, user: bob, password: secret, liveness: mstsc, hold: 30s}
timeline:
  - {at: 0s, logon: alice}
  - {at: 0s, logon: bob}
expect:
  - {client: alice, attempt: 1, active: true, closed: client}
  - {client: bob, attempt: 1, active: true, closed: client}
)";
  const auto run = test::run_command(std::string(RDPSIM_BIN) + " run " + file.string() + " --time-scale 0.2");
  std::filesystem::remove_all(dir);
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("FreeRDP's TCP keepalive"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("PASS idle-liveness"), std::string::npos) << run.output;
}

}  // namespace
