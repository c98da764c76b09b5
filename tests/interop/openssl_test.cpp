// A real TLS-first listener, OpenSSL's s_server, on a free loopback port. OpenSSL 3.0 closes a non-TLS hello
// without an alert (docs/wire-facts.md 5.2); rdpprobe must not stop at "closed" but say it is a TLS server.
#include "peers.hpp"
#include "rdp/net/tls.hpp"
#include "rdp/probe/scanner.hpp"

#include "run_command.hpp"
#include "scripted_listener.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>

extern char** environ;

namespace {

using namespace rdp;

class openssl_server {
 public:
  explicit openssl_server(const net::tls_identity& id) {
    cert_ = testing::TempDir() + "/s_server-cert.pem";
    key_ = testing::TempDir() + "/s_server-key.pem";
    std::ofstream(cert_) << id.certificate_pem;
    std::ofstream(key_) << id.private_key_pem;
    port_ = test::closed_port();
    const std::string accept = "127.0.0.1:" + std::to_string(port_);
    const char* argv[] = {"openssl", "s_server", "-quiet", "-accept", accept.c_str(), "-cert", cert_.c_str(),
                          "-key", key_.c_str(), "-naccept", "20", nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    if (posix_spawnp(&pid_, "openssl", &actions, nullptr, const_cast<char**>(argv), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    // Bounded wait until it listens: at most 100 polls of 50 ms.
    for (int i = 0; i < 100 && pid_ > 0; ++i) {
      if (test::run_command("bash -c 'exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port_) + "' 2>/dev/null").status == 0)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~openssl_server() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool started() const { return pid_ > 0; }
  std::uint16_t port() const { return port_; }

 private:
  std::string cert_, key_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

TEST(OpensslSServer, TlsFirstListenerIsNamedAsTls) {
  RDP_REQUIRE_PEER(test::missing_program("openssl"));
  const auto id = net::make_self_signed(net::key_kind::ecdsa, "tls-only.example");
  openssl_server server(id);
  ASSERT_TRUE(server.started());
  const auto r = probe::probe_all({{"s_server", {"127.0.0.1", server.port()}}}, probe::probe_options{}, 1).at(0);
  EXPECT_EQ(r.result, probe::verdict::not_rdp) << r.evidence;
  ASSERT_TRUE(r.listener);
  EXPECT_EQ(r.listener->kind, protocol::listener_kind::tls) << r.listener->detail;
  ASSERT_TRUE(r.tls && r.tls->certificate);
  EXPECT_EQ(r.tls->certificate->sha256, net::certificate_sha256(id.certificate_pem));
}

}  // namespace
