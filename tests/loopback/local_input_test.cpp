// Hostile local input through the commands, as a user or another local user meets it (issue 24): file inputs that are
// devices or FIFOs, report paths with a symlink planted beside them, wire text in rdpsim's log, and a control
// server's error text in `rdpsim ctl`. Every command runs under `timeout`, so a regression that hangs fails (exit 124)
// instead of hanging the suite.
#include "rdp/client/session.hpp"
#include "rdp/sim/profile.hpp"

#include "run_command.hpp"
#include "sim_thread.hpp"
#include "unprivileged.hpp"
#include "wait_until.hpp"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace {

namespace fs = std::filesystem;
using namespace rdp;
using namespace std::chrono_literals;
using rdp::test::run_command;

using rdp::test::scratch_dir;

void put(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }
std::string content_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// `timeout` ends a command that hangs with exit 124; 20 s is far beyond what an immediate refusal takes.
std::string bounded(const std::string& binary, const std::string& args) { return "timeout 20 " + binary + " " + args; }

// ---- Item 3: file inputs are regular files read with a cap --------------------------------------------------------

TEST(LocalInput, AProfileThatIsADeviceOrAFifoIsRefusedAtOnce) {
  scratch_dir d;
  const auto fifo = d.path / "profile.yaml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& path : {std::string("/dev/zero"), fifo.string()}) {
    SCOPED_TRACE(path);
    const auto r = run_command(bounded(RDPSIM_BIN, "serve --profile " + path));
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_TRUE(has(r.output, path + ": cannot read the profile: not a regular file")) << r.output;
  }
}

TEST(LocalInput, ACertificateThatIsADeviceIsRefusedAtOnce) {
  const auto r = run_command(bounded(RDPSIM_BIN, "serve --cert /dev/zero --key /dev/zero"));
  EXPECT_EQ(r.status, 2) << r.output;  // the user's input at fault: a usage error, as a bad --profile
  EXPECT_TRUE(has(r.output, "cannot read certificate file '/dev/zero': not a regular file (a character device)"))
      << r.output;
}

// An inline profile naming a FIFO for its certificate hung `rdpsim run` while the file was checked.
TEST(LocalInput, AScenarioWhoseInlineProfileNamesAFifoIsRefused) {
  scratch_dir d;
  ASSERT_EQ(::mkfifo((d.path / "cert.pem").c_str(), 0600), 0);
  put(d.path / "t.yaml", R"(scenario: fifo-cert
server:
  profile: {protocols: [tls], tls: {certificate: cert.pem, key: cert.pem}}
clients:
  - {name: scan, kind: rdpprobe}
timeline:
  - {at: 0s, probe: scan}
expect:
  - {client: scan, verdict: rdp}
)");
  const auto r = run_command(bounded(RDPSIM_BIN, "run " + (d.path / "t.yaml").string()));
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_TRUE(has(r.output, "not a regular file (a FIFO)")) << r.output;
}

TEST(LocalInput, ATargetFileOrPasswordFileThatIsADeviceIsAUsageError) {
  auto r = run_command(bounded(RDPPROBE_BIN, "scan @/dev/zero"));
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_TRUE(has(r.output, "cannot read target file '/dev/zero': not a regular file (a character device)")) << r.output;
  r = run_command(bounded(RDPPROBE_BIN, "scan --login alice --password-file /dev/zero 127.0.0.1:1"));
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_TRUE(has(r.output, "--password-file: cannot read '/dev/zero': not a regular file (a character device)"))
      << r.output;
}

TEST(LocalInput, ATargetFileOverItsCapIsRefusedNamingTheCap) {
  scratch_dir d;
  {
    std::ofstream big(d.path / "targets.txt", std::ios::binary);
    const std::string line = "# " + std::string(1022, 'x') + "\n";
    for (int i = 0; i < 8 * 1024 + 1; ++i) big << line;  // 8 MiB + 1 KiB of comments
  }
  const auto r = run_command(bounded(RDPPROBE_BIN, "scan @" + (d.path / "targets.txt").string()));
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_TRUE(has(r.output, "larger than the 8388608-byte limit for a target file")) << r.output;
}

// ---- Item 1: reports are written without following what another user planted ---------------------------------------

TEST(LocalInput, RdpprobeJunitNeverWritesThroughASymlinkAtTheOldTemporaryName) {
  scratch_dir d;
  put(d.path / "victim", "precious");
  fs::create_symlink(d.path / "victim", d.path / "r.xml.tmp");
  // Port 1 on loopback refuses: a quick, finished scan with a failing verdict.
  const auto r = run_command(bounded(RDPPROBE_BIN, "scan --junit " + (d.path / "r.xml").string() + " 127.0.0.1:1"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_EQ(content_of(d.path / "victim"), "precious");
  EXPECT_TRUE(has(content_of(d.path / "r.xml"), "<testsuite")) << content_of(d.path / "r.xml");
}

TEST(LocalInput, RdpsimRunReportsNeverWriteThroughASymlinkAtTheOldTemporaryName) {
  scratch_dir d;
  put(d.path / "victim", "precious");
  fs::create_symlink(d.path / "victim", d.path / "j.xml.tmp");
  fs::create_symlink(d.path / "victim", d.path / "r.json.tmp");
  // The pcap and its keys went straight to their names: a symlink planted there in a shared directory was followed.
  fs::create_directory(d.path / "pcaps");
  fs::create_symlink(d.path / "victim", d.path / "pcaps" / "report-paths.pcap");
  put(d.path / "t.yaml", R"(scenario: report-paths
server:
  profile: {protocols: [rdp]}
clients:
  - {name: scan, kind: rdpprobe}
timeline:
  - {at: 0s, probe: scan}
expect:
  - {client: scan, verdict: rdp}
)");
  const auto r = run_command(bounded(RDPSIM_BIN, "run " + (d.path / "t.yaml").string() + " --junit " +
                                                     (d.path / "j.xml").string() + " --json " +
                                                     (d.path / "r.json").string() + " --pcap " +
                                                     (d.path / "pcaps").string()));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(content_of(d.path / "victim"), "precious");
  EXPECT_FALSE(fs::is_symlink(d.path / "pcaps" / "report-paths.pcap"));
  EXPECT_EQ(content_of(d.path / "pcaps" / "report-paths.pcap").substr(0, 4), "\xd4\xc3\xb2\xa1");  // pcap magic, µs
  EXPECT_TRUE(has(content_of(d.path / "j.xml"), "<testsuite")) << content_of(d.path / "j.xml");
  EXPECT_TRUE(has(content_of(d.path / "r.json"), "\"report-paths\"")) << content_of(d.path / "r.json");
}

// ---- Item 2: wire text in rdpsim's log is escaped --------------------------------------------------------------------

TEST(LocalInput, AnUnknownNtlmUserIsLoggedEscaped) {
  const std::string text = R"(protocols: [tls, credssp]
users:
  - {user: alice, password: "Passw0rd!", domain: LAB}
)";
  test::sim_thread sim(sim::parse_profile(text, "inline-nla.yaml").server);
  auto context = client::make_client_context();
  client::session_options o;
  o.port = sim.port();
  o.user = "\x1b[31mmallory\x1b]0;owned\x07";
  o.domain = "\x1b[2JLAB";
  o.password = "x";
  o.security = client::session_security::nla;
  o.deadlines.step = 5000ms;
  testing::internal::CaptureStderr();
  const auto result = client::run_session_blocking(context, o);
  // The log line is written when the server ends the connection: wait for the refusal to be counted.
  rdp::test::wait_until([&] { return sim.call([&] { return sim.server().counters().nla_refusals; }) > 0; }, 2s);
  const auto log = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(result.nla_status) << result.failure;
  EXPECT_TRUE(has(log, "no account named '\\x1b[2JLAB\\\\\\x1b[31mmallory\\x1b]0;owned\\x07'")) << log;
  EXPECT_FALSE(has(log, "\x1b")) << "a raw escape sequence reached the log: " << log;
}

// ---- Item 9: `rdpsim ctl` prints a control server's error text escaped ----------------------------------------------

// A control server that answers any request with one error line holding escape sequences, as a hostile or buggy
// server (or one quoting what a client sent) would.
class lying_control_server {
 public:
  lying_control_server() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 4);
    socklen_t n = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &n);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      timeval t{10, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t);
      char buf[4096];
      std::string request;
      while (request.find('\n') == std::string::npos) {
        const auto got = ::recv(c, buf, sizeof buf, 0);
        if (got <= 0) break;
        request.append(buf, static_cast<std::size_t>(got));
      }
      const std::string answer = "{\"ok\":false,\"error\":\"no session \\u001b[31mX\\u001b]0;t\\u0007\"}\n";
      (void)!::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
      ::close(c);
    });
  }
  ~lying_control_server() {
    ::shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

TEST(LocalInput, RdpsimCtlPrintsTheServersErrorEscaped) {
  lying_control_server server;
  const auto r = run_command("RDPSIM_TOKEN=t " + bounded(RDPSIM_BIN, "ctl --control 127.0.0.1:" +
                                                                          std::to_string(server.port()) + " logoff 2"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_TRUE(has(r.output, "rdpsim ctl: no session \\x1b[31mX\\x1b]0;t\\x07")) << r.output;
  EXPECT_FALSE(has(r.output, "\x1b")) << r.output;
}

}  // namespace
