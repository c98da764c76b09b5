// `rdpprobe local`: the collector on a fake /proc tree, and the whole thing live against rdpsim, a scripted HTTP
// listener, an empty port and two processes sharing a port with SO_REUSEPORT. The /proc parsers and the findings
// logic, which are pure, are tested in tests/unit_probe.
#include "rdp/probe/local_listeners.hpp"

#include "proc_net_vectors.hpp"
#include "scripted_listener.hpp"
#include "sim_thread.hpp"
#include "finding_lines.hpp"

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
using probe::local_report;

using test::contains;
using test::joined;

using test::proc_net_tcp;
using test::proc_net_tcp6;

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

TEST(LocalListeners, TwoProcessesWithReuseportAreOneGroup) {
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
  // Neither accepts: the probe waits for an answer that never comes, and once both backlogs are full for a connect
  // that never completes.
  options.read_timeout = net::milliseconds(300);
  options.connect_timeout = net::milliseconds(300);
  probe::probe_local_listeners(r, options);
  // Two processes on one address: the group, naming both, rather than "multiple owners" as well.
  const std::string group = "2 sockets share 127.0.0.1:" + std::to_string(pair.port()) + " (SO_REUSEPORT group): ";
  EXPECT_TRUE(contains(r.findings, group)) << joined(r.findings);
  EXPECT_TRUE(contains(r.findings, "pid " + std::to_string(pair.child()))) << joined(r.findings);
  EXPECT_TRUE(contains(r.findings, "pid " + std::to_string(::getpid()))) << joined(r.findings);
  EXPECT_FALSE(contains(r.findings, "multiple owners")) << joined(r.findings);
  // The spread met nothing that speaks; every one of its 16 connections is counted, and none as RDP.
  ASSERT_EQ(r.probes.size(), 1u);
  ASSERT_TRUE(r.probes[0].spread);
  EXPECT_EQ(r.probes[0].spread->connections(), 16u);
  EXPECT_EQ(r.probes[0].spread->connections_of(protocol::listener_kind::rdp), 0u);
  std::ostringstream out;
  probe::print_human(out, r);
  EXPECT_NE(out.str().find("FINDING: " + group), std::string::npos) << out.str();
}

}  // namespace
