// run_login (probe/src/login.cpp: a headless FreeRDP 2.11 client) against real servers on loopback address
// 127.0.0.6, which no other interop test uses:
//  - LoginXrdp: a real xrdp 0.9.21. Its login screen is an active RDP session, so the client reaches the active
//    state without valid credentials (they are not checked at the protocol level; FREERDP.md §3).
//  - LoginFreerdpServer: a minimal server made with libfreerdp2's own peer API in this process, because xrdp sends
//    neither Save Session Info nor an auto-reconnect cookie. It sends both, ends sessions the ways Windows does, and
//    records the ARC_CS_PRIVATE_PACKET the client presents, so the cookie round trip is checked end to end.
//  - LoginBounds: peers that never answer; run_login must still return on time.
#include "rdp/probe/login.hpp"
#include "rdp/probe/login_check.hpp"
#include "rdp/probe/scanner.hpp"

#include "run_command.hpp"
#include "xrdp_server.hpp"

#include <freerdp/error.h>
#include <freerdp/freerdp.h>
#include <freerdp/listener.h>
#include <freerdp/peer.h>
#include <freerdp/session.h>
#include <freerdp/settings.h>
#include <winpr/synch.h>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
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
    if (auto why = rdp::test::xrdp_server::unavailable_reason(); !why.empty()) GTEST_SKIP() << "xrdp unavailable: " << why;
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
  EXPECT_LT(r.connect_time, 10s);
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
  // A known incompatibility (FREERDP.md §3): under Standard RDP Security xrdp rejects FreeRDP's encrypted Client
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
  EXPECT_GE(r.active_time, 1000ms);
  EXPECT_LT(r.active_time, 1500ms);
  EXPECT_LT(took, r.connect_time + 2500ms);
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
  EXPECT_FALSE(r.timed_out);
  EXPECT_LT(r.connect_time, 2s);
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
  EXPECT_GE(took, 1500ms);
  EXPECT_LT(took, 3000ms);
}

// ---------------------------------------------------------------------------------------------------------------
// A minimal RDP server made with libfreerdp2's peer API (FREERDP.md §2), TLS only, one connection at a time, on its
// own thread. What it does once a session is active is scripted; what the client sent is recorded.
struct server_script {
  bool send_session_info = false;  // Logon Info v1 (session id) + Logon Info Extended (auto-reconnect cookie)
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

class freerdp_server {
 public:
  explicit freerdp_server(server_script script) : script_(script) {
    dir_ = std::filesystem::temp_directory_path() / ("rdpprobe-login-srv-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    const auto made = rdp::test::run_command("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -keyout " +
                                             (dir_ / "key.pem").string() + " -out " + (dir_ / "cert.pem").string());
    if (made.status != 0) throw std::runtime_error("openssl req failed: " + made.output);
    port_ = closed_port();
    listener_ = freerdp_listener_new();
    listener_->info = this;
    listener_->PeerAccepted = [](freerdp_listener* l, freerdp_peer* p) -> BOOL {
      static_cast<freerdp_server*>(l->info)->pending_ = p;
      return TRUE;
    };
    if (!listener_->Open(listener_, test_address, port_)) throw std::runtime_error("freerdp listener Open failed");
    thread_ = std::thread([this] { run(); });
  }
  ~freerdp_server() {
    stop_ = true;
    thread_.join();
    listener_->Close(listener_);
    freerdp_listener_free(listener_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  freerdp_server(const freerdp_server&) = delete;
  freerdp_server& operator=(const freerdp_server&) = delete;

  std::uint16_t port() const { return port_; }
  std::vector<client_seen> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  struct peer_context {
    rdpContext base;
    freerdp_server* server;
    bool activated;
  };
  static peer_context& ctx(freerdp_peer* p) { return *reinterpret_cast<peer_context*>(p->context); }

  void run() {
    while (!stop_) {
      std::array<HANDLE, 32> h{};
      const DWORD n = listener_->GetEventHandles(listener_, h.data(), static_cast<DWORD>(h.size()));
      if (n == 0) break;
      WaitForMultipleObjects(n, h.data(), FALSE, 50);
      listener_->CheckFileDescriptor(listener_);
      if (freerdp_peer* p = pending_) {
        pending_ = nullptr;
        serve(p);
      }
    }
  }

  void serve(freerdp_peer* p) {
    p->ContextSize = sizeof(peer_context);
    if (!freerdp_peer_context_new(p)) {
      freerdp_peer_free(p);
      return;
    }
    ctx(p).server = this;
    ctx(p).activated = false;
    rdpSettings* s = p->settings;
    freerdp_settings_set_string(s, FreeRDP_CertificateFile, (dir_ / "cert.pem").c_str());
    freerdp_settings_set_string(s, FreeRDP_PrivateKeyFile, (dir_ / "key.pem").c_str());
    freerdp_settings_set_string(s, FreeRDP_RdpKeyFile, (dir_ / "key.pem").c_str());
    freerdp_settings_set_bool(s, FreeRDP_TlsSecurity, TRUE);
    freerdp_settings_set_bool(s, FreeRDP_NlaSecurity, FALSE);
    freerdp_settings_set_bool(s, FreeRDP_RdpSecurity, FALSE);
    p->PostConnect = [](freerdp_peer* peer) -> BOOL {
      // By now the server has parsed the Client Info PDU (core/info.c: rdp_read_client_auto_reconnect_cookie).
      const ARC_CS_PRIVATE_PACKET* arc = peer->settings->ClientAutoReconnectCookie;
      client_seen c;
      c.cookie_len = arc->cbLen;
      c.cookie_version = arc->version;
      c.cookie_logon_id = arc->logonId;
      std::memcpy(c.verifier.data(), arc->securityVerifier, 16);
      c.selected_protocol = freerdp_settings_get_uint32(peer->settings, FreeRDP_SelectedProtocol);
      std::lock_guard lock(ctx(peer).server->mutex_);
      ctx(peer).server->seen_.push_back(c);
      return TRUE;
    };
    p->Activate = [](freerdp_peer* peer) -> BOOL {
      ctx(peer).activated = true;
      return TRUE;
    };
    if (p->Initialize(p)) pump(p);
    p->Disconnect(p);
    freerdp_peer_context_free(p);
    freerdp_peer_free(p);
  }

  // Services one peer until the client goes, the script ends the session, or 15 s pass.
  void pump(freerdp_peer* p) {
    const auto give_up = clock_type::now() + 15s;
    std::optional<clock_type::time_point> active_since;
    bool info_sent = false;
    std::optional<clock_type::time_point> closing_since;
    while (!stop_ && clock_type::now() < give_up) {
      std::array<HANDLE, 32> h{};
      const DWORD n = p->GetEventHandles(p, h.data(), static_cast<DWORD>(h.size()));
      if (n == 0) return;
      WaitForMultipleObjects(n, h.data(), FALSE, 20);
      if (!p->CheckFileDescriptor(p)) return;  // the client hung up
      if (closing_since) {
        // Keep reading until the client closes, so the error PDU is not lost to a reset (FREERDP.md §2.4).
        if (clock_type::now() - *closing_since > 2s) return;
        continue;
      }
      if (!ctx(p).activated) continue;
      if (!active_since) active_since = clock_type::now();
      if (script_.send_session_info && !info_sent) {
        info_sent = true;
        std::string user = "alice", domain = "LAB";
        logon_info v1{};
        v1.sessionId = script_.session_id;
        v1.username = user.data();
        v1.domain = domain.data();
        p->update->SaveSessionInfo(p->context, INFO_TYPE_LOGON, &v1);
        logon_info_ex ex{};
        ex.haveCookie = TRUE;
        ex.LogonId = script_.cookie.logon_id;
        std::memcpy(ex.ArcRandomBits, script_.cookie.random_bits.data(), 16);
        p->update->SaveSessionInfo(p->context, INFO_TYPE_LOGON_EXTENDED_INF, &ex);
      }
      if (script_.end != server_script::ending::none && clock_type::now() - *active_since >= script_.end_after) {
        if (script_.end == server_script::ending::error_info_then_close)
          freerdp_set_error_info(p->context->rdp, script_.end_error_info);
        p->Close(p);  // Deactivate All, Set Error Info (if any), Disconnect Provider Ultimatum (rn-user-requested)
        closing_since = clock_type::now();
      }
    }
  }

  server_script script_;
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  freerdp_listener* listener_ = nullptr;
  freerdp_peer* pending_ = nullptr;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<client_seen> seen_;
  std::thread thread_;
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

  const auto seen = server.seen();
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
  EXPECT_LT(r.active_time, 3s);
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
