// rdpprobe with a reader that went away (issue 12, item 8): `rdpprobe scan … --junit r.xml | head -1`. The output
// stops at the broken pipe, the run goes on, and the JUnit file is written whole — also when Ctrl-C comes after.
// rdpprobe is started with its stdout a pipe whose read end is already closed, so every write fails with EPIPE
// (deterministically, unlike a real `head` that may or may not have exited yet), and with SIGPIPE at its default
// action whatever this test process does with it.
#include "scripted_listener.hpp"
#include "sim_thread.hpp"

#include "rdp/protocol/text.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sstream>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

using namespace rdp;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// rdpprobe with `args`, stdout a pipe nobody reads (read end closed), stderr to `stderr_path`. Returns the pid.
pid_t spawn_with_broken_stdout(const std::vector<std::string>& args, const std::string& stderr_path) {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  ::close(fds[0]);
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_adddup2(&files, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&files, fds[1]);
  posix_spawn_file_actions_addopen(&files, STDERR_FILENO, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGINT, SIGTERM}) sigaddset(&defaults, s);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  std::vector<std::string> all{RDPPROBE_BIN};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, RDPPROBE_BIN, &files, &attributes, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attributes);
  ::close(fds[1]);
  return pid;
}

sim::server_config tls_sim() {
  sim::server_config c;
  c.policy = sim::parse_policy("rdp,tls");
  c.identity = net::make_self_signed(net::key_kind::rsa, "pipe-test");
  return c;
}

TEST(BrokenPipe, OutputStopsAndTheJunitFileIsStillWritten) {
  test::sim_thread sim(tls_sim());
  const std::string junit = testing::TempDir() + "/rdpprobe-broken-pipe.xml";
  const std::string errors = testing::TempDir() + "/rdpprobe-broken-pipe.err";
  std::remove(junit.c_str());
  // Two targets: the table's header is written first and fails; both targets must still reach the file.
  const pid_t pid = spawn_with_broken_stdout({"scan", "--protocols", "rdp,tls", "--junit", junit,
                                              "127.0.0.1:" + std::to_string(sim.port()),
                                              "127.0.0.1:" + std::to_string(test::closed_port())},
                                             errors);
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(slurp(errors).find("Broken pipe"), std::string::npos) << slurp(errors);
  const auto xml = slurp(junit);
  EXPECT_EQ(count(xml, "<testcase "), 2u) << xml;
  EXPECT_NE(xml.find("</testsuite>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure type=\"refused\""), std::string::npos) << xml;
}

// A listener on 127.0.0.1 that the kernel accepts for (backlog) and nobody answers. Returns its fd and "127.0.0.1:P".
std::pair<int, std::string> silent_listener() {
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener, 4) != 0)
    return {-1, {}};
  socklen_t length = sizeof address;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  return {listener, "127.0.0.1:" + std::to_string(ntohs(address.sin_port))};
}

TEST(BrokenPipe, WithNothingElseToWriteNoFurtherTargetIsStarted) {
  // `rdpprobe scan RANGE | head -1`: once the output is gone and no --junit is asked, the rest of the range would be
  // probed for nobody. The first target (refused) is reported, the write fails, the silent second is never tried.
  auto [listener, silent] = silent_listener();
  ASSERT_GE(listener, 0);
  const std::string errors = testing::TempDir() + "/rdpprobe-broken-pipe-stop.err";
  const pid_t pid = spawn_with_broken_stdout({"scan", "--json", "--concurrency", "1", "--read-timeout", "60s",
                                              "127.0.0.1:" + std::to_string(test::closed_port()), silent},
                                             errors);
  ASSERT_GT(pid, 0);
  int status = 0;
  bool connected = false;
  for (;;) {  // until rdpprobe ends, or connects to the silent listener (what the old rdpprobe did, for 60 s)
    pollfd p{listener, POLLIN, 0};
    if (::poll(&p, 1, 100) == 1) {
      connected = true;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    if (::waitpid(pid, &status, WNOHANG) == pid) break;
  }
  ::close(listener);
  EXPECT_FALSE(connected) << "the second target was probed although nobody reads the output";
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(slurp(errors).find("Broken pipe"), std::string::npos) << slurp(errors);
}

TEST(BrokenPipe, CtrlCAfterTheOutputBrokeStillWritesTheJunitFile) {
  test::sim_thread sim(tls_sim());
  // A listener that accepts (the kernel does, from the backlog) and never answers; accepting it here tells the test
  // when rdpprobe has reached it, i.e. has finished the first target and written (tried to write) its report.
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  socklen_t length = sizeof address;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  const std::string silent = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));

  const std::string junit = testing::TempDir() + "/rdpprobe-broken-pipe-interrupted.xml";
  const std::string errors = testing::TempDir() + "/rdpprobe-broken-pipe-interrupted.err";
  std::remove(junit.c_str());
  const pid_t pid = spawn_with_broken_stdout({"scan", "--json", "--concurrency", "1", "--protocols", "rdp,tls",
                                              "--read-timeout", "60s", "--junit", junit,
                                              "127.0.0.1:" + std::to_string(sim.port()), silent},
                                             errors);
  ASSERT_GT(pid, 0);
  // Wait for its connection to the silent listener, or for it to end (the old rdpprobe died of SIGPIPE at the
  // first report, before it got there).
  int status = 0;
  bool ended = false;
  for (;;) {
    pollfd p{listener, POLLIN, 0};
    if (::poll(&p, 1, 100) == 1) break;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      ended = true;
      break;
    }
  }
  if (!ended) {
    const int connection = ::accept(listener, nullptr, nullptr);
    ::kill(pid, SIGINT);
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    if (connection >= 0) ::close(connection);
  }
  ::close(listener);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 130) << slurp(errors);
  const auto xml = slurp(junit);
  EXPECT_EQ(count(xml, "<testcase "), 2u) << xml;
  EXPECT_EQ(count(xml, "<skipped message=\"not finished"), 1u) << xml;
  EXPECT_NE(xml.find("</testsuite>"), std::string::npos) << xml;
}

}  // namespace
