// run_login (probe/src/login.cpp: a headless FreeRDP 2.11 client) against real servers on loopback address
// 127.0.0.6, which no other interop test uses:
//  - LoginXrdp: a real xrdp 0.9.21. Its login screen is an active RDP session, so the client reaches the active
//    state without valid credentials (they are not checked at the protocol level; docs/freerdp.md 3).
//  - LoginFreerdpServer: a minimal server made with libfreerdp2's own peer API in a process of its own, because xrdp sends
//    neither Save Session Info nor an auto-reconnect cookie. It sends both, ends sessions the ways Windows does, and
//    records the ARC_CS_PRIVATE_PACKET the client presents, so the cookie round trip is checked end to end.
//  - LoginBounds: peers that never answer; run_login must still return on time.
#include "peers.hpp"
#include "rdp/probe/login.hpp"
#include "rdp/probe/login_check.hpp"
#include "rdp/probe/scanner.hpp"

#include "run_command.hpp"
#include "xrdp_server.hpp"

#include <freerdp/error.h>
#include <freerdp/freerdp.h>  // VERIFY_CERT_FLAG_*

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using rdp::probe::auto_reconnect_cookie;
using rdp::probe::login_options;
using rdp::probe::login_result;
using rdp::probe::login_security;
using rdp::probe::run_login;
using clock_type = std::chrono::steady_clock;

constexpr const char* test_address = "127.0.0.6";

// A socket bound to 127.0.0.6:<free port>; listening or not.
class loopback_socket {
 public:
  explicit loopback_socket(bool listening) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    ::inet_pton(AF_INET, test_address, &sa.sin_addr);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
      throw std::runtime_error("bind 127.0.0.6:0 failed");
    socklen_t len = sizeof sa;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    if (listening && ::listen(fd_, 8) != 0) throw std::runtime_error("listen failed");
  }
  ~loopback_socket() { close(); }
  loopback_socket(const loopback_socket&) = delete;
  loopback_socket& operator=(const loopback_socket&) = delete;
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// A port on 127.0.0.6 where nobody listens (bound once to get a free number, then closed).
std::uint16_t closed_port() {
  loopback_socket s(false);
  return s.port();
}

login_options options_for(std::uint16_t port, login_security security) {
  login_options o;
  o.host = test_address;
  o.port = port;
  o.user = "alice";
  o.password = "not-checked";
  o.security = security;
  o.connect_timeout = 10s;
  o.accept_any_certificate = true;  // the test servers' self-signed certificates
  return o;
}

// run_login traces FreeRDP's connection states through WLog unless the user took WLog over with WLOG_* variables
// (then furthest_state is only sampled and not asserted here).
bool wlog_taken_by_user() { return std::getenv("WLOG_LEVEL") || std::getenv("WLOG_FILTER") || std::getenv("WLOG_APPENDER"); }

void expect_furthest(const login_result& r, const std::string& state) {
  if (wlog_taken_by_user()) {
    EXPECT_FALSE(r.furthest_state_exact);
    return;
  }
  EXPECT_TRUE(r.furthest_state_exact);
  EXPECT_EQ(r.furthest_state, state);
}

std::string describe(const login_result& r) {
  std::string s = "setup_error='" + r.setup_error + "' connected=" + std::to_string(r.connected) +
                  " active=" + std::to_string(r.reached_active) + " furthest=" + r.furthest_state +
                  " last_error=" + r.last_error_name + " error_info=" + r.error_info_name +
                  " timed_out=" + std::to_string(r.timed_out) + " connect_ms=" + std::to_string(r.connect_time.count());
  for (const auto& e : r.freerdp_errors) s += "\n  freerdp: " + e;
  return s;
}

// ---------------------------------------------------------------------------------------------------------------
class LoginXrdp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!rdp::test::xrdp_server::unavailable_reason().empty()) return;
    rdp::test::xrdp_options o;
    o.address = test_address;
    xrdp_ = std::make_unique<rdp::test::xrdp_server>(o);  // negotiate layer: TLS or Standard RDP Security
  }
  static void TearDownTestSuite() { xrdp_.reset(); }
  void SetUp() override {
    RDP_REQUIRE_PEER(rdp::test::xrdp_server::unavailable_reason());
    ASSERT_TRUE(xrdp_);
  }
  static std::uint16_t port() { return xrdp_->port(); }
  static std::string log() { return xrdp_->log_tail(); }

  static std::unique_ptr<rdp::test::xrdp_server> xrdp_;
};
std::unique_ptr<rdp::test::xrdp_server> LoginXrdp::xrdp_;

void expect_active(const login_result& r, const std::string& log) {
  EXPECT_TRUE(r.setup_error.empty()) << r.setup_error;
  EXPECT_TRUE(r.connected) << describe(r) << "\n" << log;
  EXPECT_TRUE(r.reached_active) << describe(r);
  EXPECT_EQ(r.furthest_state, "CONNECTION_STATE_ACTIVE") << describe(r);  // PostConnect: exact either way
  EXPECT_EQ(r.last_error, 0u) << describe(r);
  // The certificate banners are filtered out; a clean login leaves no FreeRDP error line.
  EXPECT_TRUE(r.freerdp_errors.empty()) << describe(r);
  EXPECT_EQ(r.error_info, 0u) << describe(r);
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(r.ended_by_server);
  EXPECT_FALSE(r.disconnect_ultimatum);
  // The test certificate says CN=rdp-interop-test, not 127.0.0.6: FreeRDP asks about it with the mismatch flag.
  ASSERT_TRUE(r.certificate_flags);
  EXPECT_NE(*r.certificate_flags & VERIFY_CERT_FLAG_MISMATCH, 0u) << *r.certificate_flags;
  // xrdp's login screen is not a logon: no Save Session Info.
  EXPECT_FALSE(r.session_id);
  EXPECT_FALSE(r.cookie);
}

TEST_F(LoginXrdp, AnySecurityReachesTheLoginScreen) {
  const auto r = run_login(options_for(port(), login_security::any));
  expect_active(r, log());
}

TEST_F(LoginXrdp, TlsReachesTheLoginScreen) {
  const auto r = run_login(options_for(port(), login_security::tls));
  expect_active(r, log());
}

TEST_F(LoginXrdp, ProbeLoginReachesTheLoginScreenAndFindsNoCookieToReconnectWith) {
  // rdpprobe scan --login --reconnect against xrdp: the wire probe and the logon are healthy, and xrdp issues no
  // auto-reconnect cookie, which is reported (no-cookie) rather than counted as a failed reconnection.
  rdp::probe::probe_options o;
  o.protocols = {rdp::protocol::security_protocol::rdp, rdp::protocol::security_protocol::ssl};
  o.combinations.clear();
  rdp::probe::login_check_options login;
  login.user = "nobody";
  login.password = "not-checked-by-xrdp-before-its-login-screen";
  login.security = login_security::tls;
  login.reconnect = true;
  login.session_info_wait = 1s;  // xrdp never sends Save Session Info: the wait runs out
  login.ignore_certificate = true;  // xrdp's self-signed test certificate
  o.login = login;
  const auto where = rdp::net::host_port{test_address, port()};
  const auto r = rdp::probe::probe_all({{where.text(), where}}, o, 1).at(0);
  EXPECT_EQ(r.result, rdp::probe::verdict::rdp) << r.evidence << "\n" << log();
  ASSERT_TRUE(r.login);
  EXPECT_TRUE(r.login->healthy) << r.login->evidence;
  EXPECT_TRUE(r.login->logon.reached_active) << describe(r.login->logon);
  EXPECT_FALSE(r.login->logon.ended_by_server) << describe(r.login->logon);
  EXPECT_FALSE(r.login->logon.cookie);
  EXPECT_EQ(r.login->reconnect, rdp::probe::reconnect_outcome::no_cookie);
  EXPECT_FALSE(r.login->reconnection);
}

TEST_F(LoginXrdp, NlaOnlyFailsNegotiation) {
  // xrdp 0.9 has no CredSSP: it answers a HYBRID-only request by selecting Standard RDP Security, which the client
  // did not offer, so FreeRDP gives up in the negotiation.
  const auto r = run_login(options_for(port(), login_security::nla));
  EXPECT_FALSE(r.connected);
  EXPECT_FALSE(r.reached_active);
  EXPECT_EQ(r.last_error, 0x0002000Cu) << describe(r);
  EXPECT_EQ(r.last_error_name, "ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED");
  expect_furthest(r, "CONNECTION_STATE_NEGO");
  EXPECT_EQ(r.error_info, 0u);
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(r.certificate_flags);  // no TLS handshake took place
}

TEST_F(LoginXrdp, StandardSecurityIsDroppedAfterClientInfo) {
  // A known incompatibility (docs/freerdp.md 3): under Standard RDP Security xrdp rejects FreeRDP's encrypted Client
  // Info PDU ("MAC checksum error for non-FIPS PDU" in its log) and sends a Disconnect Provider Ultimatum with no
  // Set Error Info; FreeRDP has moved on to licensing by then and turns the ultimatum into LOGOFF_BY_USER.
  const auto r = run_login(options_for(port(), login_security::rdp));
  EXPECT_FALSE(r.connected);
  EXPECT_FALSE(r.reached_active);
  expect_furthest(r, "CONNECTION_STATE_LICENSING");
  EXPECT_EQ(r.last_error, 0x0001000Cu) << describe(r);
  EXPECT_EQ(r.error_info, 0xCu) << describe(r);
  EXPECT_TRUE(r.error_info_from_ultimatum);
  ASSERT_TRUE(r.disconnect_ultimatum);
  EXPECT_EQ(*r.disconnect_ultimatum, 3);
  EXPECT_FALSE(r.certificate_flags);
}

TEST_F(LoginXrdp, StaysActiveForOneSecond) {
  auto o = options_for(port(), login_security::tls);
  o.stay = 1000ms;
  const auto started = clock_type::now();
  const auto r = run_login(o);
  const auto took = clock_type::now() - started;
  expect_active(r, log());
  EXPECT_FALSE(r.ended_by_server);
  EXPECT_FALSE(r.timed_out) << "the stay must end by itself, not by the watchdog";
  EXPECT_GE(r.active_time, 1000ms);  // stayed for the whole stay: neither side left early
  EXPECT_GE(took, r.connect_time + r.active_time);
}

TEST_F(LoginXrdp, PresentsAReconnectCookieXrdpAccepts) {
  // The Client Info PDU then carries a 28-byte ARC_CS_PRIVATE_PACKET; xrdp parses the extended info and ignores it.
  auto o = options_for(port(), login_security::tls);
  o.reconnect_cookie = auto_reconnect_cookie{7, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};
  expect_active(run_login(o), log());
}

TEST_F(LoginXrdp, ConcurrentLoginsAreIndependent) {
  // Each run_login owns a FreeRDP instance; xrdp's listen backlog is 2, so two at once.
  auto a = std::async(std::launch::async, [] { return run_login(options_for(port(), login_security::tls)); });
  auto b = std::async(std::launch::async, [] { return run_login(options_for(port(), login_security::any)); });
  const auto ra = a.get();
  const auto rb = b.get();
  expect_active(ra, log());
  expect_active(rb, log());
}

TEST_F(LoginXrdp, GivenConfigDirIsUsedAndKept) {
  const auto dir = std::filesystem::temp_directory_path() / ("rdpprobe-login-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto o = options_for(port(), login_security::tls);
  o.config_dir = dir;
  expect_active(run_login(o), log());
  // FreeRDP's certificate store lives there (tls_new creates certs/ and server/ even when accepting per session).
  EXPECT_TRUE(std::filesystem::is_directory(dir / "server"));
  std::filesystem::remove_all(dir);
}

// ---------------------------------------------------------------------------------------------------------------
TEST(LoginBounds, ClosedPortIsATransportFailure) {
  const auto r = run_login(options_for(closed_port(), login_security::any));
  EXPECT_FALSE(r.connected);
  EXPECT_FALSE(r.reached_active);
  EXPECT_EQ(r.last_error, 0x0002000Du) << describe(r);
  EXPECT_EQ(r.last_error_name, "ERRCONNECT_CONNECT_TRANSPORT_FAILED");
  expect_furthest(r, "CONNECTION_STATE_NEGO");
  EXPECT_FALSE(r.timed_out);  // refused at once: the watchdog never had to act
}

TEST(LoginBounds, SilentListenerIsAbortedAtTheConnectTimeout) {
  // The kernel completes the TCP handshake and acknowledges the X.224 request, but nobody ever answers: FreeRDP
  // would wait forever in its blocking negotiation read. The watchdog cancels it.
  loopback_socket silent(true);
  auto o = options_for(silent.port(), login_security::any);
  o.connect_timeout = 1500ms;
  const auto started = clock_type::now();
  const auto r = run_login(o);
  const auto took = clock_type::now() - started;
  EXPECT_FALSE(r.connected);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.last_error, 0x0002000Bu) << describe(r);  // ERRCONNECT_CONNECT_CANCELLED
  expect_furthest(r, "CONNECTION_STATE_NEGO");
  EXPECT_GE(took, 1500ms);  // not before the deadline; that run_login returned at all is the watchdog's work
}

// ---------------------------------------------------------------------------------------------------------------
// A minimal RDP server made with libfreerdp2's peer API (docs/freerdp.md), TLS only, one connection at a time. What it
// does once a session is active is scripted; what the client sent is recorded.
struct server_script {
  bool send_session_info = false;  // Logon Info v1 (session id) + Logon Info Extended (auto-reconnect cookie)
  // The session ID and cookie freerdp_test_server sends: its fixed values, stated here for the assertions.
  std::uint32_t session_id = 0x2A;
  auto_reconnect_cookie cookie{0x2A, {0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7,
                                      0xA8, 0xA9, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF}};
  enum class ending { none, error_info_then_close, close_only } end = ending::none;
  UINT32 end_error_info = ERRINFO_IDLE_TIMEOUT;
  std::chrono::milliseconds end_after{300};
};

struct client_seen {  // per connection, at PostConnect (after the Client Info PDU)
  std::uint32_t cookie_len = 0, cookie_version = 0, cookie_logon_id = 0;
  std::array<std::uint8_t, 16> verifier{};
  std::uint32_t selected_protocol = 0;
};

// The server runs in a process of its own (tests/support/freerdp_test_server.cpp): FreeRDP's client library in this
// process and its server in the same process shared process-wide state, and one fresh-clone run died with SIGSEGV.
// This starts it, reads its port, collects what it reports of each client, and ends it by closing its stdin.
class freerdp_server {
 public:
  explicit freerdp_server(const server_script& script) {
    std::vector<std::string> args{FREERDP_TEST_SERVER_BIN, test_address};
    if (script.send_session_info) args.emplace_back("--session-info");
    args.emplace_back("--end");
    args.emplace_back(script.end == server_script::ending::none                    ? "none"
                      : script.end == server_script::ending::error_info_then_close ? "error-info-then-close"
                                                                                   : "close-only");
    args.emplace_back("--error-info");
    args.emplace_back(std::to_string(script.end_error_info));
    args.emplace_back("--end-after-ms");
    args.emplace_back(std::to_string(script.end_after.count()));
    int to_child[2], from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], STDOUT_FILENO);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int spawned = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(to_child[0]);
    ::close(from_child[1]);
    stdin_ = to_child[1];
    stdout_ = from_child[0];
    if (spawned != 0) {
      pid_ = -1;
      throw std::runtime_error(std::string("cannot start ") + FREERDP_TEST_SERVER_BIN + ": " + std::strerror(spawned));
    }
    reader_ = std::thread([this] { read_reports(); });
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, 20s, [this] { return port_ != 0 || ended_; }) || port_ == 0)
      throw std::runtime_error("freerdp_test_server did not report a port");
  }
  ~freerdp_server() {
    ::close(stdin_);  // end of file: the server stops
    // Waits for its exit as an event (a pidfd becomes readable when the process ends), at most 5 s, then kills it.
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd >= 0) {
      pollfd exited{pidfd, POLLIN, 0};
      if (::poll(&exited, 1, 5000) != 1) ::kill(pid_, SIGKILL);
      ::close(pidfd);
    } else {
      ::kill(pid_, SIGKILL);
    }
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reader_.join();
    ::close(stdout_);
  }
  freerdp_server(const freerdp_server&) = delete;
  freerdp_server& operator=(const freerdp_server&) = delete;

  std::uint16_t port() const { return port_; }
  // What the server reported of each client so far, waiting (at most 5 s) until there are `at_least`.
  std::vector<client_seen> seen(std::size_t at_least) const {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, 5s, [&] { return seen_.size() >= at_least || ended_; });
    return seen_;
  }

 private:
  void read_reports() {
    std::string pending;
    std::array<char, 512> chunk{};
    for (;;) {
      const auto n = ::read(stdout_, chunk.data(), chunk.size());
      if (n <= 0) break;
      pending.append(chunk.data(), static_cast<std::size_t>(n));
      for (auto eol = pending.find('\n'); eol != std::string::npos; eol = pending.find('\n')) {
        parse(pending.substr(0, eol));
        pending.erase(0, eol + 1);
      }
    }
    std::lock_guard lock(mutex_);
    ended_ = true;
    changed_.notify_all();
  }

  void parse(const std::string& line) {
    std::istringstream in(line);
    std::string kind;
    in >> kind;
    std::lock_guard lock(mutex_);
    if (kind == "port") {
      unsigned port = 0;
      in >> port;
      port_ = static_cast<std::uint16_t>(port);
    } else if (kind == "seen") {
      client_seen c;
      std::string verifier;
      in >> c.cookie_len >> c.cookie_version >> c.cookie_logon_id >> verifier >> c.selected_protocol;
      for (std::size_t i = 0; i < c.verifier.size() && 2 * i + 1 < verifier.size(); ++i)
        c.verifier[i] = static_cast<std::uint8_t>(std::stoul(verifier.substr(2 * i, 2), nullptr, 16));
      seen_.push_back(c);
    }
    changed_.notify_all();
  }

  pid_t pid_ = -1;
  int stdin_ = -1, stdout_ = -1;
  std::thread reader_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::uint16_t port_ = 0;
  bool ended_ = false;
  std::vector<client_seen> seen_;
};

login_options options_for(const freerdp_server& server) {
  auto o = options_for(server.port(), login_security::any);
  o.connect_timeout = 5s;
  return o;
}

// MS-RDPBCGR 5.5: SecurityVerifier = HMAC-MD5(key = ArcRandomBits, data = ClientRandom); under TLS there is no Security
// Exchange, and FreeRDP uses 32 zero bytes as the client random (core/info.c: rdp_compute_client_auto_reconnect_cookie).
std::array<std::uint8_t, 16> expected_verifier(const auto_reconnect_cookie& cookie) {
  const std::array<std::uint8_t, 32> client_random{};
  std::array<std::uint8_t, 16> out{};
  unsigned len = 0;
  HMAC(EVP_md5(), cookie.random_bits.data(), 16, client_random.data(), client_random.size(), out.data(), &len);
  EXPECT_EQ(len, 16u);
  return out;
}

TEST(LoginFreerdpServer, CapturesSessionIdAndCookieThenPresentsTheCookie) {
  server_script script;
  script.send_session_info = true;
  freerdp_server server(script);

  auto o = options_for(server);
  o.stay = 600ms;  // long enough for the Save Session Info PDUs sent right after activation
  const auto first = run_login(o);
  ASSERT_TRUE(first.reached_active) << describe(first);
  EXPECT_FALSE(first.ended_by_server) << describe(first);
  ASSERT_TRUE(first.session_id);
  EXPECT_EQ(*first.session_id, 0x2Au);
  ASSERT_TRUE(first.cookie);
  EXPECT_EQ(*first.cookie, script.cookie);
  EXPECT_FALSE(first.logon_error);

  auto again = options_for(server);
  again.reconnect_cookie = first.cookie;
  const auto second = run_login(again);
  EXPECT_TRUE(second.reached_active) << describe(second);

  const auto seen = server.seen(2);
  ASSERT_EQ(seen.size(), 2u);
  // A fresh logon carries no cookie (cbAutoReconnectCookie 0).
  EXPECT_EQ(seen[0].cookie_len, 0u);
  EXPECT_EQ(seen[0].selected_protocol, 1u);  // PROTOCOL_SSL
  // The reconnect carries ARC_CS_PRIVATE_PACKET: cbLen 28, Version 1, the LogonId, and the verifier.
  EXPECT_EQ(seen[1].cookie_len, 28u);
  EXPECT_EQ(seen[1].cookie_version, 1u);
  EXPECT_EQ(seen[1].cookie_logon_id, 0x2Au);
  EXPECT_EQ(seen[1].verifier, expected_verifier(script.cookie));
}

TEST(LoginFreerdpServer, ServerEndsTheSessionWithSetErrorInfo) {
  server_script script;
  script.end = server_script::ending::error_info_then_close;
  script.end_error_info = ERRINFO_IDLE_TIMEOUT;
  script.end_after = 600ms;
  freerdp_server server(script);
  auto o = options_for(server);
  o.stay = 5s;
  const auto r = run_login(o);
  EXPECT_TRUE(r.reached_active) << describe(r);
  EXPECT_TRUE(r.ended_by_server) << describe(r);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.error_info, 0x3u) << describe(r);
  EXPECT_EQ(r.error_info_name, "ERRINFO_IDLE_TIMEOUT");
  EXPECT_FALSE(r.error_info_from_ultimatum);
  EXPECT_EQ(r.last_error, 0x00010003u) << describe(r);
  ASSERT_TRUE(r.disconnect_ultimatum);
  EXPECT_EQ(*r.disconnect_ultimatum, 3);  // rn-user-requested
  // The server counts from its Activate; the client becomes active up to ~100 ms + a round trip later (FreeRDP's
  // rdp_client_connect polls for activation in 100 ms steps).
  EXPECT_GE(r.active_time, 400ms);
}

TEST(LoginFreerdpServer, UltimatumWithoutErrorInfoIsTold) {
  server_script script;
  script.end = server_script::ending::close_only;
  freerdp_server server(script);
  auto o = options_for(server);
  o.stay = 5s;
  const auto r = run_login(o);
  EXPECT_TRUE(r.reached_active) << describe(r);
  EXPECT_TRUE(r.ended_by_server) << describe(r);
  // FreeRDP maps an ultimatum with reason rn-user-requested to ERRINFO_LOGOFF_BY_USER; run_login says so.
  EXPECT_EQ(r.error_info, 0xCu) << describe(r);
  EXPECT_TRUE(r.error_info_from_ultimatum);
  ASSERT_TRUE(r.disconnect_ultimatum);
  EXPECT_EQ(*r.disconnect_ultimatum, 3);
}

}  // namespace
