#pragma once
// `rdpsim serve` (or `rdpsim proxy`) as a child process, for tests and benchmarks that use it from outside as a user
// would (RSS and file descriptors from /proc, the control port): started on free loopback ports, its ports read from
// its first stdout lines, stopped with SIGTERM (SIGKILL after 10 s) and reaped.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace rdp::test {

class rdpsim_process {
 public:
  rdpsim_process() = default;
  rdpsim_process(const rdpsim_process&) = delete;
  rdpsim_process& operator=(const rdpsim_process&) = delete;
  ~rdpsim_process() { stop(); }

  // Runs `binary serve <serve_args>`; waits (at most `wait`: generating an RSA key takes a moment) for "rdpsim:
  // listening on 127.0.0.1:PORT," and, when `with_control`, "rdpsim: control on 127.0.0.1:PORT, token in". A non-zero
  // `child_open_files` is the child's soft RLIMIT_NOFILE (to see rdpsim raise it itself). False with `why` on failure.
  bool start(const std::string& binary, const std::vector<std::string>& serve_args, bool with_control, std::string* why,
             rlim_t child_open_files = 0, std::chrono::seconds wait = std::chrono::seconds(30)) {
    std::vector<std::string> args = {"serve"};
    args.insert(args.end(), serve_args.begin(), serve_args.end());
    return start_command(binary, args, with_control, why, child_open_files, wait);
  }

  // Runs `binary <args>` (the subcommand first): "rdpsim serve" prints "rdpsim: listening on 127.0.0.1:PORT,", and
  // "rdpsim proxy" "rdpsim proxy: listening on 127.0.0.1:PORT, …, control on 127.0.0.1:PORT".
  bool start_command(const std::string& binary, const std::vector<std::string>& command_args, bool with_control,
                     std::string* why, rlim_t child_open_files = 0, std::chrono::seconds wait = std::chrono::seconds(30)) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return fail(why, "pipe2 failed");
    std::vector<std::string> args = {binary};
    args.insert(args.end(), command_args.begin(), command_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    rlimit child_limit{};
    ::getrlimit(RLIMIT_NOFILE, &child_limit);
    if (child_open_files) child_limit.rlim_cur = std::min(child_open_files, child_limit.rlim_max);
    pid_ = ::fork();
    if (pid_ == 0) {
      // Only async-signal-safe calls between fork and exec.
      ::setrlimit(RLIMIT_NOFILE, &child_limit);
      ::dup2(pipe_fds[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC on the copy
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(pipe_fds[1]);
    out_ = pipe_fds[0];
    if (pid_ < 0) return fail(why, "fork failed");
    const std::regex listening(R"(rdpsim(?: proxy)?: listening on 127\.0\.0\.1:(\d+),)");
    const std::regex control(R"(control on 127\.0\.0\.1:(\d+),? \(?token in )");
    std::string text;
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (!(rdp_port_ && (control_port_ || !with_control)) && std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[512];
      const auto n = ::read(out_, buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<std::size_t>(n));
      std::smatch m;
      if (std::regex_search(text, m, listening)) rdp_port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
      if (std::regex_search(text, m, control)) control_port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
    }
    printed_ = text;
    if (rdp_port_ && (control_port_ || !with_control)) return true;
    return fail(why, "rdpsim did not print its ports within " + std::to_string(wait.count()) + " s; it printed: " + text);
  }

  // What the process printed until its ports were known (its listening line, the faults it took).
  const std::string& printed() const { return printed_; }

  // SIGTERM and reap; the exit status (or -1 when it had to be killed or did not exit normally).
  int stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    pid_t reaped = 0;
    while ((reaped = ::waitpid(pid_, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (reaped == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      status = -1;
    }
    pid_ = -1;
    if (out_ >= 0) ::close(out_);
    out_ = -1;
    return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  pid_t pid() const { return pid_; }
  std::uint16_t rdp_port() const { return rdp_port_; }
  std::uint16_t control_port() const { return control_port_; }

 private:
  static bool fail(std::string* why, std::string what) {
    if (why) *why = std::move(what);
    return false;
  }

  pid_t pid_ = -1;
  int out_ = -1;  // kept open (rdpsim prints nothing more) so that a late write cannot SIGPIPE it
  std::string printed_;
  std::uint16_t rdp_port_ = 0, control_port_ = 0;
};

}  // namespace rdp::test
