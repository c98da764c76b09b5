// freerdp_test_server: a minimal RDP server made with libfreerdp2's peer API (docs/freerdp.md), TLS only, one
// connection at a time, in a process of its own. The login tests drive FreeRDP's client library in the test process;
// with the server in the same process the two shared FreeRDP's and WinPR's process-wide state, and one fresh-clone
// run died with SIGSEGV. What the server does once a session is active is scripted by the arguments; what each client
// presented is written to stdout.
//
//   freerdp_test_server ADDRESS [--session-info] [--end none|error-info-then-close|close-only]
//                       [--error-info CODE] [--end-after-ms N]
//
// Protocol on stdout, one line each: "port N" once listening; "seen CBLEN VERSION LOGONID VERIFIERHEX SELECTED" at
// each client's PostConnect (after its Client Info PDU). The server ends when stdin reaches end of file (the test
// closed its pipe or died) or after 120 s, whichever comes first.
#include <freerdp/error.h>
#include <freerdp/freerdp.h>
#include <freerdp/listener.h>
#include <freerdp/peer.h>
#include <freerdp/session.h>
#include <freerdp/settings.h>
#include <winpr/synch.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

struct server_script {
  std::string address;
  bool send_session_info = false;  // Logon Info v1 (session id) + Logon Info Extended (auto-reconnect cookie)
  std::uint32_t session_id = 0x2A;
  std::uint32_t cookie_logon_id = 0x2A;
  std::array<std::uint8_t, 16> cookie_bits{0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7,
                                           0xA8, 0xA9, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF};
  enum class ending { none, error_info_then_close, close_only } end = ending::none;
  UINT32 end_error_info = ERRINFO_IDLE_TIMEOUT;
  std::chrono::milliseconds end_after{300};
};

std::atomic<bool> stop{false};

// A free port on `address`: bound once to get a number, then closed (FreeRDP's listener binds by number).
std::uint16_t free_port(const std::string& address) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  if (fd < 0 || ::inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1 ||
      ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    throw std::runtime_error("cannot bind " + address + ":0");
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return ntohs(sa.sin_port);
}

class freerdp_server {
 public:
  explicit freerdp_server(server_script script) : script_(std::move(script)) {
    dir_ = std::filesystem::temp_directory_path() / ("rdpprobe-login-srv-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    const std::string command = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -keyout " +
                                (dir_ / "key.pem").string() + " -out " + (dir_ / "cert.pem").string() +
                                " >/dev/null 2>&1";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("openssl req failed");
    port_ = free_port(script_.address);
    listener_ = freerdp_listener_new();
    listener_->info = this;
    listener_->PeerAccepted = [](freerdp_listener* l, freerdp_peer* p) -> BOOL {
      static_cast<freerdp_server*>(l->info)->pending_ = p;
      return TRUE;
    };
    if (!listener_->Open(listener_, script_.address.c_str(), port_))
      throw std::runtime_error("freerdp listener Open failed");
  }
  ~freerdp_server() {
    listener_->Close(listener_);
    freerdp_listener_free(listener_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  freerdp_server(const freerdp_server&) = delete;
  freerdp_server& operator=(const freerdp_server&) = delete;

  std::uint16_t port() const { return port_; }

  void run() {
    const auto give_up = clock_type::now() + 120s;
    while (!stop && clock_type::now() < give_up) {
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

 private:
  struct peer_context {
    rdpContext base;
    freerdp_server* server;
    bool activated;
  };
  static peer_context& ctx(freerdp_peer* p) { return *reinterpret_cast<peer_context*>(p->context); }

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
      std::string verifier;
      for (int i = 0; i < 16; ++i) {
        char byte[3];
        std::snprintf(byte, sizeof byte, "%02x", static_cast<unsigned>(arc->securityVerifier[i]));
        verifier += byte;
      }
      std::printf("seen %u %u %u %s %u\n", static_cast<unsigned>(arc->cbLen), static_cast<unsigned>(arc->version),
                  static_cast<unsigned>(arc->logonId), verifier.c_str(),
                  static_cast<unsigned>(freerdp_settings_get_uint32(peer->settings, FreeRDP_SelectedProtocol)));
      std::fflush(stdout);
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
    while (!stop && clock_type::now() < give_up) {
      std::array<HANDLE, 32> h{};
      const DWORD n = p->GetEventHandles(p, h.data(), static_cast<DWORD>(h.size()));
      if (n == 0) return;
      WaitForMultipleObjects(n, h.data(), FALSE, 20);
      if (!p->CheckFileDescriptor(p)) return;  // the client hung up
      if (closing_since) {
        // Keep reading until the client closes, so the error PDU is not lost to a reset caused by unread data
        // (docs/freerdp.md: sending Set Error Info without losing it).
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
        ex.LogonId = script_.cookie_logon_id;
        std::memcpy(ex.ArcRandomBits, script_.cookie_bits.data(), 16);
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
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "freerdp_test_server: %s\nusage: freerdp_test_server ADDRESS [--session-info] [--end "
               "none|error-info-then-close|close-only] [--error-info CODE] [--end-after-ms N]\n",
               why.c_str());
  std::exit(2);
}

server_script parse(int argc, char** argv) {
  if (argc < 2) usage("no address");
  server_script s;
  s.address = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--session-info") s.send_session_info = true;
    else if (arg == "--end") {
      const auto v = value();
      if (v == "none") s.end = server_script::ending::none;
      else if (v == "error-info-then-close") s.end = server_script::ending::error_info_then_close;
      else if (v == "close-only") s.end = server_script::ending::close_only;
      else usage("unknown --end " + v);
    } else if (arg == "--error-info") s.end_error_info = static_cast<UINT32>(std::stoul(value(), nullptr, 0));
    else if (arg == "--end-after-ms") s.end_after = std::chrono::milliseconds(std::stol(value()));
    else usage("unknown argument " + arg);
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const auto script = parse(argc, argv);
  try {
    freerdp_server server(script);
    std::printf("port %u\n", static_cast<unsigned>(server.port()));
    std::fflush(stdout);
    // End of file on stdin: the test is done with us (or gone). Polled, so this thread never blocks the exit.
    std::thread watcher([] {
      while (!stop) {
        pollfd in{STDIN_FILENO, POLLIN, 0};
        if (::poll(&in, 1, 50) > 0) {
          char buf[64];
          if (::read(STDIN_FILENO, buf, sizeof buf) <= 0) stop = true;
        }
      }
    });
    server.run();
    stop = true;
    watcher.join();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "freerdp_test_server: %s\n", e.what());
    return 1;
  }
  return 0;
}
