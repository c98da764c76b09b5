// `rdpprobe local`: the /proc parsers on literal text, the collector on a fake /proc tree, the findings logic on
// hand-built reports, and the whole thing live against rdpsim, a scripted HTTP listener, an empty port and two
// processes sharing a port with SO_REUSEPORT.
#include "rdp/probe/local_listeners.hpp"

#include "scripted_listener.hpp"
#include "sim_thread.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <bit>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <set>
#include <signal.h>
#include <sstream>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace {

using namespace rdp;
using probe::local_listener;
using probe::local_report;
using probe::proc_net_socket;

bool contains(const std::vector<std::string>& lines, std::string_view needle) {
  return std::any_of(lines.begin(), lines.end(), [&](const auto& l) { return l.find(needle) != std::string::npos; });
}

std::string joined(const std::vector<std::string>& lines) {
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  return all;
}

// Captured on this project's Debian 12 x86-64 machine from Python listeners on 127.0.0.1:13391, 0.0.0.0:13392,
// [::]:13393, [::1]:13394 and [::ffff:127.0.0.1]:13395 (trailing padding spaces of the tcp lines trimmed).
constexpr std::string_view proc_net_tcp =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 0100007F:344F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 75369 1 "
    "0000000077c98a02 100 0 0 10 0\n"
    "   1: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1583 1 "
    "00000000ed958d78 100 0 0 10 0\n"
    "   3: 00000000:3450 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 75370 1 "
    "0000000063b5f85e 100 0 0 10 0\n";
constexpr std::string_view proc_net_tcp6 =
    "  sl  local_address                         remote_address                        st tx_queue rx_queue tr "
    "tm->when retrnsmt   uid  timeout inode\n"
    "   0: 0000000000000000FFFF00000100007F:3453 00000000000000000000000000000000:0000 0A 00000000:00000000 "
    "00:00000000 00000000     0        0 75373 1 00000000af2221a6 100 0 0 10 0\n"
    "   1: 00000000000000000000000001000000:3452 00000000000000000000000000000000:0000 0A 00000000:00000000 "
    "00:00000000 00000000     0        0 75372 1 00000000fd28bcb9 100 0 0 10 0\n"
    "   2: 00000000000000000000000000000000:3451 00000000000000000000000000000000:0000 0A 00000000:00000000 "
    "00:00000000 00000000     0        0 75371 1 00000000fc18ea9a 100 0 0 10 0\n";

// The literal /proc text above is little-endian; on a big-endian host the kernel prints other hex.
#define SKIP_UNLESS_LITTLE_ENDIAN()                                                                        \
  if constexpr (std::endian::native != std::endian::little) GTEST_SKIP() << "captured on a little-endian host"

TEST(LocalListenersParse, Ipv4LinesWithHeader) {
  SKIP_UNLESS_LITTLE_ENDIAN();
  const auto s = probe::parse_proc_net_tcp(proc_net_tcp, false);
  ASSERT_EQ(s.size(), 3u);  // the header is skipped
  EXPECT_EQ(s[0], (proc_net_socket{"127.0.0.1", false, 13391, probe::tcp_state_listen, 0, 75369}));
  EXPECT_EQ(s[1], (proc_net_socket{"0.0.0.0", false, 2024, probe::tcp_state_listen, 0, 1583}));
  EXPECT_EQ(s[2].port, 13392);
  EXPECT_EQ(s[2].uid, 1000u);
}

TEST(LocalListenersParse, Ipv6AndV4MappedLines) {
  SKIP_UNLESS_LITTLE_ENDIAN();
  const auto s = probe::parse_proc_net_tcp(proc_net_tcp6, true);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0], (proc_net_socket{"::ffff:127.0.0.1", true, 13395, probe::tcp_state_listen, 0, 75373}));
  EXPECT_EQ(s[1], (proc_net_socket{"::1", true, 13394, probe::tcp_state_listen, 0, 75372}));
  EXPECT_EQ(s[2], (proc_net_socket{"::", true, 13393, probe::tcp_state_listen, 0, 75371}));
}

TEST(LocalListenersParse, Ipv6WordsAreHostOrder) {
  SKIP_UNLESS_LITTLE_ENDIAN();
  // 2001:db8::1 is the bytes 20 01 0d b8 0..0 00 00 00 01; each 4-byte group printed as a little-endian word.
  // An established connection (st 01) with a uid and a large inode.
  const auto s = probe::parse_proc_net_tcp(
      "   4: B80D0120000000000000000001000000:0D3D B80D0120000000000000000002000000:C350 01 00000000:00000000 "
      "00:00000000 00000000   108        0 4294967296123 1 0000000000000000 20 4 1 10 -1\n",
      true);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].address, "2001:db8::1");
  EXPECT_EQ(s[0].port, 3389);
  EXPECT_EQ(s[0].state, 0x01);
  EXPECT_EQ(s[0].uid, 108u);
  EXPECT_EQ(s[0].inode, 4294967296123u);
}

TEST(LocalListenersParse, MalformedLinesAreSkipped) {
  SKIP_UNLESS_LITTLE_ENDIAN();
  const std::string good =
      "   0: 0100007F:0D3D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 42 1 0 100 0 0 10 0";
  const std::vector<std::string> bad = {
      "",
      "garbage",
      "   0: 0100007F:0D3D 00000000:0000 0A",                                           // truncated
      "   0 0100007F:0D3D 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 42",  // no "sl:"
      "   0: 0100007F0D3D 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 42",  // no colon
      "   0: 100007F:0D3D 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 42",  // 7 hex digits
      "   0: 0100007G:0D3D 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 42",  // not hex
      "   0: 0100007F:D3D 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 42",   // short port
      "   0: 0100007F:0D3D 00000000:0000 A 00000000:00000000 00:00000000 00000000 0 0 42",   // short state
      "   0: 0100007F:0D3D 00000000:0000 0A 00000000:00000000 00:00000000 00000000 -1 0 42",  // signed uid
      "   0: 0100007F:0D3D 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 99999999999999999999999",
      "   0: 0100007F:+D3D 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 42",
      "   0: 00000000000000000000000001000000:0D3D 0:0 0A 0:0 0:0 0 0 0 42",  // a v6 address in the v4 file
      std::string("   0: 0100007F:0D3D\0 00000000:0000 0A", 37),
  };
  for (const auto& line : bad) {
    EXPECT_TRUE(probe::parse_proc_net_tcp(line, false).empty()) << line;
    // Between good lines, and without the final newline, a bad line costs only itself.
    const auto s = probe::parse_proc_net_tcp(good + "\n" + line + "\n" + good, false);
    EXPECT_EQ(s.size(), 2u) << line;
  }
  EXPECT_TRUE(probe::parse_proc_net_tcp(good, true).empty());  // a v4 address in the v6 file
  EXPECT_EQ(probe::parse_proc_net_tcp(good + "\r", false).size(), 1u);  // trailing junk after the fields
}

TEST(LocalListenersParse, SocketInodeFromLink) {
  EXPECT_EQ(probe::socket_inode_from_link("socket:[12345]"), 12345u);
  EXPECT_EQ(probe::socket_inode_from_link("socket:[0]"), 0u);
  for (std::string_view bad : {"socket:[]", "socket:[12a]", "socket:[-1]", "socket:12345", "socket:[12345",
                               "pipe:[12345]", "anon_inode:[eventfd]", "/dev/null", "", "socket:[99999999999999999999]"})
    EXPECT_FALSE(probe::socket_inode_from_link(bad)) << bad;
}

// A /proc tree of our own making: the collector reads nothing but files and symlinks.
class LocalListenersFakeProc : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("rdpprobe-fakeproc-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ / "net");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void write(const std::filesystem::path& relative, std::string_view text) {
    std::filesystem::create_directories((root_ / relative).parent_path());
    std::ofstream(root_ / relative, std::ios::binary) << text;
  }
  void process(int pid, std::string_view comm, std::string_view cmdline, std::vector<std::string> links) {
    const auto dir = std::filesystem::path(std::to_string(pid));
    write(dir / "comm", std::string(comm) + "\n");
    write(dir / "cmdline", cmdline);
    std::filesystem::create_directories(root_ / dir / "fd");
    for (std::size_t i = 0; i < links.size(); ++i)
      std::filesystem::create_symlink(links[i], root_ / dir / "fd" / std::to_string(i + 3));
  }
  std::filesystem::path root_;
};

TEST_F(LocalListenersFakeProc, MapsInodesToProcesses) {
  SKIP_UNLESS_LITTLE_ENDIAN();
  write("net/tcp", proc_net_tcp);
  write("net/tcp6", proc_net_tcp6);
  process(100, "xrdp", std::string("/usr/sbin/xrdp\0--nodaemon\0", 26), {"socket:[75371]", "pipe:[9]", "/dev/null"});
  process(200, "python3", std::string("python3\0-m\0http.server\0", 23), {"socket:[75373]", "socket:[1]"});
  process(300, "bash", "bash", {"socket:[75369]"});  // another port's socket
  std::filesystem::create_directories(root_ / "self");  // not a pid
  std::filesystem::create_directories(root_ / "400");   // a process that ended: no fd directory

  auto r = probe::find_listeners(13393, root_);
  ASSERT_EQ(r.listeners.size(), 1u);
  EXPECT_EQ(r.listeners[0].local_address(), "[::]:13393");
  EXPECT_EQ(r.listeners[0].user, "root");
  ASSERT_EQ(r.listeners[0].owners.size(), 1u);
  EXPECT_EQ(r.listeners[0].owners[0].pid, 100);
  EXPECT_EQ(r.listeners[0].owners[0].comm, "xrdp");
  EXPECT_EQ(r.listeners[0].owners[0].cmdline, "/usr/sbin/xrdp --nodaemon");
  EXPECT_EQ(r.uninspected, 0u);

  r = probe::find_listeners(13395, root_);
  ASSERT_EQ(r.listeners.size(), 1u);
  EXPECT_EQ(r.listeners[0].local_address(), "[::ffff:127.0.0.1]:13395");
  ASSERT_EQ(r.listeners[0].owners.size(), 1u);
  EXPECT_EQ(r.listeners[0].owners[0].cmdline, "python3 -m http.server");

  // Not listening anywhere on this port: no fd scan needed, and nothing found.
  EXPECT_TRUE(probe::find_listeners(3389, root_).listeners.empty());
}

TEST_F(LocalListenersFakeProc, MissingTcp6IsFineMissingTcpThrows) {
  SKIP_UNLESS_LITTLE_ENDIAN();
  EXPECT_THROW(probe::find_listeners(13391, root_), std::runtime_error);
  write("net/tcp", proc_net_tcp);
  const auto r = probe::find_listeners(13391, root_);
  ASSERT_EQ(r.listeners.size(), 1u);
  EXPECT_TRUE(r.listeners[0].owners.empty());
}

// --- the findings logic, on hand-built reports ---

local_listener socket_on(std::string address, bool ipv6, std::vector<int> pids, std::uint32_t uid = 0) {
  local_listener l;
  l.socket = {std::move(address), ipv6, 3389, probe::tcp_state_listen, uid, 0};
  l.user = uid == 0 ? "root" : std::to_string(uid);
  for (const int pid : pids) l.owners.push_back({pid, "prog" + std::to_string(pid), ""});
  l.probed = ipv6 ? "[::1]:3389" : "127.0.0.1:3389";
  l.result = probe::verdict::rdp;
  l.evidence = "RDP server; supports rdp, tls";
  return l;
}

local_report evaluated(std::vector<local_listener> listeners) {
  local_report r;
  r.port = 3389;
  r.probed = true;
  r.listeners = std::move(listeners);
  probe::evaluate_local_report(r);
  return r;
}

TEST(LocalListenersFindings, OneProgramOnV4AndV6IsOneOwner) {
  const auto r = evaluated({socket_on("0.0.0.0", false, {10}), socket_on("::", true, {10})});
  EXPECT_TRUE(r.findings.empty()) << joined(r.findings);
}

TEST(LocalListenersFindings, SocketSharedAcrossForkIsOneOwner) {
  // A pre-forking server (or systemd socket activation): several pids, one socket, one accept queue.
  const auto r = evaluated({socket_on("0.0.0.0", false, {10, 11, 12}), socket_on("::", true, {10, 12})});
  EXPECT_TRUE(r.findings.empty()) << joined(r.findings);
}

TEST(LocalListenersFindings, V4AndV6SplitBetweenTwoPrograms) {
  const auto r = evaluated({socket_on("0.0.0.0", false, {10}), socket_on("::", true, {20})});
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_NE(r.findings[0].find("multiple owners"), std::string::npos);
  EXPECT_NE(r.findings[0].find("depends on the address"), std::string::npos);
  EXPECT_NE(r.findings[0].find("prog10 (pid 10) on 0.0.0.0:3389"), std::string::npos) << r.findings[0];
  EXPECT_NE(r.findings[0].find("prog20 (pid 20) on [::]:3389"), std::string::npos) << r.findings[0];
}

TEST(LocalListenersFindings, SameAddressTwiceIsReuseport) {
  const auto r = evaluated({socket_on("0.0.0.0", false, {10}), socket_on("0.0.0.0", false, {20})});
  EXPECT_TRUE(contains(r.findings, "SO_REUSEPORT")) << joined(r.findings);
}

TEST(LocalListenersFindings, UnknownOwnersOfDifferentUsersAreMultiple) {
  const auto r = evaluated({socket_on("0.0.0.0", false, {}, 0), socket_on("::", true, {}, 1000)});
  EXPECT_TRUE(contains(r.findings, "multiple owners")) << joined(r.findings);
  EXPECT_TRUE(contains(r.findings, "owner unknown")) << joined(r.findings);
}

TEST(LocalListenersFindings, UnknownOwnerIsAFindingNotAConflict) {
  const auto r = evaluated({socket_on("0.0.0.0", false, {}, 0)});
  ASSERT_EQ(r.findings.size(), 1u) << joined(r.findings);
  EXPECT_NE(r.findings[0].find("owner unknown"), std::string::npos);
  EXPECT_NE(r.findings[0].find("run as root"), std::string::npos);
}

TEST(LocalListenersFindings, RdpStackRefusingOurProtocolsIsStillRdp) {
  auto l = socket_on("0.0.0.0", false, {10});
  l.result = probe::verdict::negotiation_failed;  // e.g. CredSSP only; we ask for rdp and tls
  EXPECT_TRUE(evaluated({l}).findings.empty());
}

TEST(LocalListenersFindings, NotRdpIsNamedOncePerProbedAddress) {
  auto a = socket_on("0.0.0.0", false, {10});
  a.result = probe::verdict::not_rdp;
  a.listener = protocol::classification{protocol::listener_kind::ssh, "SSH-2.0-OpenSSH_9.2p1"};
  auto b = a;
  b.socket.address = "127.0.0.1";  // both probed at 127.0.0.1
  const auto r = evaluated({a, b});
  ASSERT_EQ(r.findings.size(), 1u) << joined(r.findings);
  EXPECT_NE(r.findings[0].find("owner is not an RDP server: prog10 (pid 10) on 0.0.0.0:3389 answers ssh: SSH-2.0"),
            std::string::npos)
      << r.findings[0];
}

TEST(LocalListenersFindings, NothingListening) {
  const auto r = evaluated({});
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0], "nothing listens on port 3389");
}

// --- live, on this machine's /proc and loopback ---

std::string own_comm() {
  std::ifstream in("/proc/self/comm");
  std::string comm;
  std::getline(in, comm);
  return comm;
}

sim::server_config sim_config() {
  sim::server_config c;
  c.policy = sim::parse_policy("rdp,tls");
  c.identity = net::make_self_signed(net::key_kind::rsa, "rdpsim-local-test");
  return c;
}

TEST(LocalListeners, RdpsimInThisProcessIsOneRdpOwner) {
  test::sim_thread sim(sim_config());
  auto r = probe::find_listeners(sim.port());
  ASSERT_EQ(r.listeners.size(), 1u);
  const auto& l = r.listeners[0];
  EXPECT_EQ(l.local_address(), "127.0.0.1:" + std::to_string(sim.port()));
  EXPECT_EQ(l.socket.uid, ::getuid());
  ASSERT_EQ(l.owners.size(), 1u);
  EXPECT_EQ(l.owners[0].pid, ::getpid());
  EXPECT_EQ(l.owners[0].comm, own_comm());
  EXPECT_NE(l.owners[0].cmdline.find("loopback_tests"), std::string::npos) << l.owners[0].cmdline;

  probe::probe_local_listeners(r);
  ASSERT_TRUE(r.listeners[0].result);
  EXPECT_EQ(*r.listeners[0].result, probe::verdict::rdp) << r.listeners[0].evidence;
  EXPECT_TRUE(r.findings.empty()) << joined(r.findings);

  std::ostringstream human, json;
  EXPECT_EQ(probe::run_local(sim.port(), false, human), 0) << human.str();
  EXPECT_NE(human.str().find("Local Address"), std::string::npos);
  EXPECT_NE(human.str().find(std::to_string(::getpid())), std::string::npos) << human.str();
  EXPECT_NE(human.str().find("OK"), std::string::npos) << human.str();
  EXPECT_EQ(probe::run_local(sim.port(), true, json), 0);
  const auto j = nlohmann::json::parse(json.str());
  EXPECT_EQ(j.at("healthy"), true);
  EXPECT_EQ(j.at("listeners").at(0).at("verdict"), "rdp");
  EXPECT_EQ(j.at("listeners").at(0).at("owners").at(0).at("pid"), ::getpid());
}

TEST(LocalListeners, HttpListenerIsNotAnRdpServer) {
  test::scripted_listener http(test::listener_behaviour::http_400);
  std::ostringstream out;
  EXPECT_EQ(probe::run_local(http.port(), false, out), 1);
  auto r = probe::find_listeners(http.port());
  probe::probe_local_listeners(r);
  ASSERT_EQ(r.listeners.size(), 1u);
  EXPECT_EQ(r.listeners[0].result, probe::verdict::not_rdp);
  ASSERT_EQ(r.findings.size(), 1u) << joined(r.findings);
  EXPECT_NE(r.findings[0].find("owner is not an RDP server"), std::string::npos) << r.findings[0];
  EXPECT_NE(r.findings[0].find("http"), std::string::npos) << r.findings[0];
  EXPECT_NE(r.findings[0].find("pid " + std::to_string(::getpid())), std::string::npos) << r.findings[0];
  EXPECT_NE(out.str().find("FINDING: owner is not an RDP server"), std::string::npos) << out.str();
}

TEST(LocalListeners, NothingListeningIsAFinding) {
  const auto port = test::closed_port();
  std::ostringstream out;
  EXPECT_EQ(probe::run_local(port, false, out), 1);
  EXPECT_NE(out.str().find("nothing listens on port " + std::to_string(port)), std::string::npos) << out.str();
  std::ostringstream json;
  EXPECT_EQ(probe::run_local(port, true, json), 1);
  const auto j = nlohmann::json::parse(json.str());
  EXPECT_TRUE(j.at("listeners").empty());
  EXPECT_EQ(j.at("healthy"), false);
}

// Binds a listening socket on 127.0.0.1:port with SO_REUSEPORT; -1 on failure. Only async-signal-safe calls, so the
// forked child may use it too.
int reuseport_listener(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      ::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 4) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A second process on the same port: the child closes the socket it inherited, binds its own with SO_REUSEPORT,
// says so through a pipe, and stays until the parent closes the other pipe (or 30 s pass, should the parent die).
class reuseport_pair {
 public:
  reuseport_pair() {
    parent_fd_ = reuseport_listener(0);
    if (parent_fd_ < 0) return;
    sockaddr_in sa{};
    socklen_t len = sizeof sa;
    ::getsockname(parent_fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    int ready[2], done[2];
    if (::pipe(ready) != 0) return;
    if (::pipe(done) != 0) {
      ::close(ready[0]);
      ::close(ready[1]);
      return;
    }
    child_ = ::fork();
    if (child_ == 0) {
      ::close(parent_fd_);
      ::close(ready[0]);
      ::close(done[1]);
      const int fd = reuseport_listener(port_);
      const char status = fd >= 0 ? '1' : '0';
      (void)!::write(ready[1], &status, 1);
      pollfd p{done[0], POLLIN, 0};
      ::poll(&p, 1, 30000);
      ::_exit(0);
    }
    ::close(ready[1]);
    ::close(done[0]);
    done_ = done[1];
    if (child_ > 0) {
      pollfd p{ready[0], POLLIN, 0};
      char status = '0';
      ok_ = ::poll(&p, 1, 5000) == 1 && ::read(ready[0], &status, 1) == 1 && status == '1';
    }
    ::close(ready[0]);
  }
  ~reuseport_pair() {
    if (done_ >= 0) ::close(done_);  // the child's poll wakes up with EOF and it exits
    if (child_ > 0) {
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (::waitpid(child_, nullptr, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > give_up) {
          ::kill(child_, SIGKILL);
          ::waitpid(child_, nullptr, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    if (parent_fd_ >= 0) ::close(parent_fd_);
  }
  bool ok() const { return ok_; }
  std::uint16_t port() const { return port_; }
  pid_t child() const { return child_; }

 private:
  int parent_fd_ = -1, done_ = -1;
  pid_t child_ = -1;
  std::uint16_t port_ = 0;
  bool ok_ = false;
};

TEST(LocalListeners, TwoProcessesWithReuseportAreMultipleOwners) {
  reuseport_pair pair;
  ASSERT_TRUE(pair.ok()) << "could not set up two SO_REUSEPORT listeners";
  auto r = probe::find_listeners(pair.port());
  ASSERT_EQ(r.listeners.size(), 2u);
  std::set<int> pids;
  for (const auto& l : r.listeners) {
    EXPECT_EQ(l.socket.address, "127.0.0.1");
    ASSERT_EQ(l.owners.size(), 1u);  // the child closed its inherited copy: one owner per socket
    pids.insert(l.owners[0].pid);
  }
  EXPECT_EQ(pids, (std::set<int>{::getpid(), pair.child()}));

  auto options = probe::local_probe_options();
  options.read_timeout = net::milliseconds(300);  // neither accepts: the probe waits for an answer that never comes
  probe::probe_local_listeners(r, options);
  EXPECT_TRUE(contains(r.findings, "multiple owners")) << joined(r.findings);
  EXPECT_TRUE(contains(r.findings, "SO_REUSEPORT")) << joined(r.findings);
  EXPECT_TRUE(contains(r.findings, "pid " + std::to_string(pair.child()))) << joined(r.findings);
  std::ostringstream out;
  probe::print_human(out, r);
  EXPECT_NE(out.str().find("FINDING: multiple owners"), std::string::npos) << out.str();
}

}  // namespace
