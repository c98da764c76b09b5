// See xrdp_server.hpp. Facts about xrdp 0.9.21.1 used here (read in neutrinolabs/xrdp tag v0.9.21.1 and checked
// on Debian 12):
//  - xrdp/xrdp.c main(): sanity check needs XRDP_CFG_PATH "/rsakeys.ini" (= /etc/xrdp/rsakeys.ini) to exist;
//    it refuses to start when XRDP_PID_PATH "/xrdp.pid" (= /var/run/xrdp/xrdp.pid) exists, even with --nodaemon;
//    only daemon mode writes that file. --config <ini> is honoured for [Globals] and [Logging].
//  - common/log.c: LogFile may be absolute; a relative name goes to /var/log.
//  - xrdp/xrdp_listen.c: port=tcp://<ipv4>:<port> binds that address only; listen backlog is 2.
//  - fork=true (stock) forks one child per connection; those children stay in our process group, which is why
//    the fixture signals the group.
#include "xrdp_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace rdp::test {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* stock_ini = "/etc/xrdp/xrdp.ini";
constexpr const char* rsakeys_ini = "/etc/xrdp/rsakeys.ini";
constexpr const char* pid_file = "/var/run/xrdp/xrdp.pid";
constexpr auto start_timeout = 10s;    // xrdp usually listens within ~50 ms
constexpr auto openssl_timeout = 20s;  // RSA-2048 key generation usually takes < 1 s
constexpr auto term_timeout = 3s;
constexpr auto kill_timeout = 2s;
constexpr auto poll_step = 20ms;
constexpr int max_port_attempts = 3;  // another process may take our ephemeral port before xrdp binds it

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::optional<std::string> find_executable(const std::string& name) {
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  if (const char* env = std::getenv("PATH"); env != nullptr && *env != '\0') path = std::string(env) + ":" + path;
  std::istringstream dirs(path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return std::nullopt;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The last `max_lines` lines of a file, at most the last 16 KiB.
std::string tail_of(const std::string& path, std::size_t max_lines) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "(no " + path + ")\n";
  const std::streamoff size = in.tellg();
  const std::streamoff from = std::max<std::streamoff>(0, size - 16384);
  in.seekg(from);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (std::size_t n = 0; n < max_lines && pos != std::string::npos && pos > 0; ++n) {
    pos = text.rfind('\n', pos - 1);
  }
  if (pos != std::string::npos && pos > 0) text = text.substr(pos + 1);
  if (!text.empty() && text.back() != '\n') text += '\n';
  return text;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("xrdp_server: cannot write " + path);
}

// Rewrites `key=value` lines of an xrdp-style ini: keys and section names are case-insensitive (xrdp uses
// g_strcasecmp); commented lines (# or ;) are left alone; keys missing from a section are appended to it;
// missing sections are appended at the end.
using ini_overrides = std::map<std::string, std::vector<std::pair<std::string, std::string>>>;  // lower-case section

std::string rewrite_ini(const std::string& stock, const ini_overrides& overrides) {
  std::map<std::string, std::vector<bool>> done;
  for (const auto& [section, kv] : overrides) done[section].assign(kv.size(), false);
  std::string out;
  std::string section;
  auto flush_missing = [&](const std::string& sec) {
    auto it = overrides.find(sec);
    if (it == overrides.end()) return;
    auto& flags = done[sec];
    for (std::size_t i = 0; i < it->second.size(); ++i) {
      if (!flags[i]) out += it->second[i].first + "=" + it->second[i].second + "\n";
      flags[i] = true;
    }
  };
  std::istringstream in(stock);
  for (std::string line; std::getline(in, line);) {
    const std::string t = trim(line);
    if (!t.empty() && t.front() == '[' && t.find(']') != std::string::npos) {
      flush_missing(section);
      section = lower(trim(t.substr(1, t.find(']') - 1)));
      out += line + "\n";
      continue;
    }
    const auto eq = t.find('=');
    auto it = overrides.find(section);
    if (it != overrides.end() && !t.empty() && t.front() != '#' && t.front() != ';' && eq != std::string::npos) {
      const std::string key = lower(trim(t.substr(0, eq)));
      bool replaced = false;
      for (std::size_t i = 0; i < it->second.size(); ++i) {
        if (lower(it->second[i].first) == key) {
          if (!done[section][i]) out += it->second[i].first + "=" + it->second[i].second + "\n";
          done[section][i] = true;  // a duplicate key line is dropped so ours is the only one
          replaced = true;
          break;
        }
      }
      if (replaced) continue;
    }
    out += line + "\n";
  }
  flush_missing(section);
  for (const auto& [sec, kv] : overrides) {
    const auto& flags = done[sec];
    if (std::find(flags.begin(), flags.end(), false) == flags.end()) continue;
    out += "\n[" + sec + "]\n";
    for (std::size_t i = 0; i < kv.size(); ++i)
      if (!flags[i]) out += kv[i].first + "=" + kv[i].second + "\n";
  }
  return out;
}

// Asks the kernel for a free ephemeral port on 127.0.0.1 (bind to 0, read it back, close).
std::uint16_t pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("xrdp_server: socket(): ") + std::strerror(errno));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = 0;
  socklen_t len = sizeof sa;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    const int e = errno;
    ::close(fd);
    throw std::runtime_error(std::string("xrdp_server: cannot pick a free port: ") + std::strerror(e));
  }
  ::close(fd);
  return ntohs(sa.sin_port);
}

// fork/exec with only async-signal-safe calls in the child (the test process may have threads). The child gets:
// - its own process group, so that the group can be signalled;
// - default signal dispositions and an empty mask, so that a parent which ignores SIGPIPE or blocks SIGTERM does
//   not pass that on;
// - stdin = /dev/null, stdout+stderr = out_path, and every other fd closed.
// PR_SET_PDEATHSIG = SIGKILL is set only when the fork happens on the main thread. That prevents an orphaned
// xrdp after a crashed or timed-out test. The signal fires when the *thread* that forked exits, not the process:
// set from a std::async or pool thread, it would kill xrdp as soon as that thread ended (seen in testing).
pid_t spawn(const std::string& path, const std::vector<std::string>& args, const std::string& out_path) {
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  const int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (out_fd < 0) throw std::runtime_error("xrdp_server: cannot open " + out_path + ": " + std::strerror(errno));
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    ::close(out_fd);
    throw std::runtime_error(std::string("xrdp_server: cannot open /dev/null: ") + std::strerror(errno));
  }
  sigset_t empty;
  sigemptyset(&empty);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  const pid_t parent = ::getpid();
  const bool on_main_thread = ::gettid() == parent;
  const char* exe = path.c_str();

  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    if (on_main_thread) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    }
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
    }
    ::sigprocmask(SIG_SETMASK, &empty, nullptr);
    ::dup2(null_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(out_fd, 2);
    ::close_range(3, ~0U, 0);
    ::execv(exe, argv.data());
    static const char msg[] = "xrdp_server: execv failed\n";
    [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(out_fd);
  ::close(null_fd);
  if (pid < 0) throw std::runtime_error(std::string("xrdp_server: fork(): ") + std::strerror(fork_errno));
  ::setpgid(pid, pid);  // also from the parent, so the group exists before we might signal it
  return pid;
}

// Non-blocking: has `pid` exited? Reaps it when `reap`, else leaves it a zombie so its pid (= our process group
// id) cannot be reused while we still signal the group.
std::optional<int> exited(pid_t pid, bool reap) {
  siginfo_t info{};
  int flags = WEXITED | WNOHANG;
  if (!reap) flags |= WNOWAIT;
  for (int i = 0; i < 100; ++i) {
    info.si_pid = 0;
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, flags) == 0) break;
    if (errno != EINTR) return -1;  // ECHILD: already reaped
  }
  if (info.si_pid != pid) return std::nullopt;
  return info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
}

// Members of process group `pgid` other than `except`, zombies included (from /proc/<pid>/stat).
std::vector<pid_t> group_members(pid_t pgid, pid_t except) {
  std::vector<pid_t> out;
  std::error_code ec;
  fs::directory_iterator it("/proc", ec);
  if (ec) return out;
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isdigit(c); }))
      continue;
    const std::string stat = read_file(entry.path().string() + "/stat");
    const auto rp = stat.rfind(')');  // comm may contain spaces and parentheses
    if (rp == std::string::npos) continue;
    std::istringstream f(stat.substr(rp + 1));
    std::string state;
    long ppid = 0, pgrp = 0;
    if (!(f >> state >> ppid >> pgrp)) continue;
    const auto pid = static_cast<pid_t>(std::stol(name));
    if (pgrp == pgid && pid != except) out.push_back(pid);
  }
  return out;
}

// Stops a process group whose leader is our child, bounded, and reaps the leader. xrdp (fork=true) runs each
// connection in a forked child of the same group and reaps those children in its SIGCHLD handler. Signalling the
// whole group at once lets the leader exit first, and its children are then left for init to reap.
// So the children go first, while the leader is still there to reap them, and then the leader goes (SIGTERM,
// `grace`, SIGKILL).
void terminate_group(pid_t leader, std::chrono::milliseconds grace) {
  auto wait_children_gone = [leader](std::chrono::milliseconds limit) {
    for (auto deadline = clock_type::now() + limit; clock_type::now() < deadline;) {
      if (group_members(leader, leader).empty()) return true;
      std::this_thread::sleep_for(poll_step);
    }
    return group_members(leader, leader).empty();
  };
  if (!exited(leader, false)) {
    // SIGKILL at once: an xrdp 0.9.21 connection child only sets an event on SIGTERM and, while it waits for
    // its client, did not exit within 3 s (tried); it holds no state worth a clean exit.
    if (auto kids = group_members(leader, leader); !kids.empty()) {
      for (pid_t k : kids) ::kill(k, SIGKILL);
      wait_children_gone(kill_timeout);
    }
    ::kill(leader, SIGTERM);
    for (auto deadline = clock_type::now() + grace; clock_type::now() < deadline;) {
      if (exited(leader, false)) break;
      std::this_thread::sleep_for(poll_step);
    }
  }
  // Stragglers: a leader that ignored SIGTERM, children left behind by a leader that died. The leader is not
  // reaped yet, so its pid (= the group id) cannot have been reused.
  ::kill(-leader, SIGKILL);
  for (auto deadline = clock_type::now() + kill_timeout; clock_type::now() < deadline;) {
    if (exited(leader, true)) return;
    std::this_thread::sleep_for(poll_step);
  }
}

// Runs a short helper program to completion (bounded); returns its exit status or throws on timeout.
int run_bounded(const std::string& path, const std::vector<std::string>& args, const std::string& out_path,
                std::chrono::milliseconds timeout) {
  const pid_t pid = spawn(path, args, out_path);
  for (auto deadline = clock_type::now() + timeout; clock_type::now() < deadline;) {
    if (auto st = exited(pid, true)) return *st;
    std::this_thread::sleep_for(poll_step);
  }
  terminate_group(pid, 0ms);
  throw std::runtime_error("xrdp_server: " + args.front() + " did not finish within " +
                           std::to_string(timeout.count()) + " ms");
}

enum class listen_state { yes, no, unknown };

// Does process `pid` own a socket listening on 127.0.0.1:`port` (or 0.0.0.0:`port`)? Checked in /proc rather
// than by connecting, so that no connection shows up in xrdp's log and a foreign listener that grabbed the port
// first is not mistaken for our xrdp.
listen_state owns_listener(pid_t pid, const std::string& address, std::uint16_t port) {
  std::ifstream tcp("/proc/net/tcp");
  if (!tcp) return listen_state::unknown;
  char want[16];
  std::snprintf(want, sizeof want, ":%04X", static_cast<unsigned>(port));
  // /proc/net/tcp prints the address as the in-memory 32-bit value in hex (127.0.0.1 → 0100007F on x86).
  in_addr parsed{};
  ::inet_pton(AF_INET, address.c_str(), &parsed);
  char address_hex[16];
  std::snprintf(address_hex, sizeof address_hex, "%08X", static_cast<unsigned>(parsed.s_addr));
  std::vector<std::string> inodes;
  std::string line;
  std::getline(tcp, line);  // header
  while (std::getline(tcp, line)) {
    std::istringstream f(line);
    std::string sl, local, remote, st, queues, timer, retr, uid, timeout, inode;
    if (!(f >> sl >> local >> remote >> st >> queues >> timer >> retr >> uid >> timeout >> inode)) continue;
    if (st != "0A") continue;  // TCP_LISTEN
    if (local != std::string(address_hex) + want && local != std::string("00000000") + want) continue;
    inodes.push_back("socket:[" + inode + "]");
  }
  if (inodes.empty()) return listen_state::no;
  std::error_code ec;
  fs::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec);
  if (ec) return listen_state::unknown;
  for (const auto& entry : it) {
    std::error_code ec2;
    const auto target = fs::read_symlink(entry.path(), ec2);
    if (!ec2 && std::find(inodes.begin(), inodes.end(), target.string()) != inodes.end()) return listen_state::yes;
  }
  return listen_state::no;
}

bool tcp_connects(const std::string& address, std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  ::inet_pton(AF_INET, address.c_str(), &sa.sin_addr);
  sa.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;  // loopback: immediate answer
  ::close(fd);
  return ok;
}

bool keep_dir() { return std::getenv("RDP_KEEP_XRDP_DIR") != nullptr; }

void check_option(const std::string& what, const std::string& value, std::initializer_list<const char*> allowed) {
  const std::string v = lower(value);
  for (const char* a : allowed)
    if (v == a) return;
  std::string list;
  for (const char* a : allowed) list += std::string(list.empty() ? "" : "|") + a;
  throw std::invalid_argument("xrdp_server: " + what + "=\"" + value + "\" is not one of " + list);
}

}  // namespace

bool xrdp_server::available() { return find_executable("xrdp").has_value(); }

std::string xrdp_server::unavailable_reason() {
  if (!find_executable("xrdp")) return "xrdp is not installed (apt-get install -y xrdp)";
  if (!find_executable("openssl")) return "the openssl CLI is not installed (needed for the test certificate)";
  if (::access(stock_ini, R_OK) != 0) return std::string(stock_ini) + " is missing or not readable";
  if (::access(rsakeys_ini, F_OK) != 0)
    return std::string(rsakeys_ini) +
           " is missing; xrdp refuses to start without it (create it: xrdp-keygen xrdp auto)";
  if (::access(pid_file, F_OK) == 0)
    return std::string(pid_file) +
           " exists (a system xrdp is running, or a stale file): xrdp refuses to start even with --nodaemon";
  return {};
}

xrdp_server::xrdp_server(xrdp_options options) : options_(std::move(options)) {
  check_option("security_layer", options_.security_layer, {"rdp", "tls", "negotiate", "hybrid"});
  check_option("crypt_level", options_.crypt_level, {"low", "medium", "high", "fips", "none"});
  if (const std::string why = unavailable_reason(); !why.empty()) throw std::runtime_error("xrdp_server: " + why);
  const std::string xrdp_path = *find_executable("xrdp");
  const std::string openssl_path = *find_executable("openssl");

  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp != nullptr && *tmp == '/' ? tmp : "/tmp") + "/rdp-xrdp-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr)
    throw std::runtime_error("xrdp_server: mkdtemp(" + templ + "): " + std::strerror(errno));
  dir_ = templ;
  cert_path_ = dir_ + "/cert.pem";
  key_path_ = dir_ + "/key.pem";
  ini_path_ = dir_ + "/xrdp.ini";
  log_path_ = dir_ + "/xrdp.log";
  out_path_ = dir_ + "/xrdp.out";

  try {
    const std::string openssl_out = dir_ + "/openssl.out";
    const int st = run_bounded(openssl_path,
                               {openssl_path, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "30",
                                "-subj", "/CN=rdp-interop-test", "-keyout", key_path_, "-out", cert_path_, "-batch"},
                               openssl_out, openssl_timeout);
    if (st != 0 || ::access(cert_path_.c_str(), R_OK) != 0 || ::access(key_path_.c_str(), R_OK) != 0)
      throw std::runtime_error("xrdp_server: openssl req failed (status " + std::to_string(st) + "):\n" +
                               tail_of(openssl_out, 20));

    std::string last_error;
    for (int attempt = 1; attempt <= max_port_attempts; ++attempt) {
      try {
        start_once(xrdp_path);
        return;
      } catch (const std::runtime_error& e) {
        last_error = e.what();
        // Only a lost race for the port is worth another try.
        const std::string log = read_file(log_path_) + read_file(out_path_);
        if (log.find("trans_listen_address failed") == std::string::npos &&
            log.find("ddress already in use") == std::string::npos)
          throw;
        std::error_code ec;
        fs::rename(log_path_, log_path_ + "." + std::to_string(attempt), ec);
        fs::rename(out_path_, out_path_ + "." + std::to_string(attempt), ec);
      }
    }
    throw std::runtime_error(last_error);
  } catch (...) {
    std::error_code ec;
    if (!keep_dir()) fs::remove_all(dir_, ec);
    throw;
  }
}

void xrdp_server::start_once(const std::string& xrdp_path) {
  port_ = options_.port ? options_.port : pick_free_port();
  const ini_overrides overrides{
      {"globals",
       {{"port", "tcp://" + options_.address + ":" + std::to_string(port_)},
        {"security_layer", lower(options_.security_layer)},
        {"crypt_level", lower(options_.crypt_level)},
        {"certificate", cert_path_},
        {"key_file", key_path_}}},
      {"logging", {{"LogFile", log_path_}, {"EnableSyslog", "false"}, {"EnableConsole", "false"}}},
  };
  write_file(ini_path_, rewrite_ini(read_file(stock_ini), overrides));

  pid_ = spawn(xrdp_path, {xrdp_path, "--nodaemon", "--config", ini_path_}, out_path_);
  const auto deadline = clock_type::now() + start_timeout;
  constexpr auto max_polls = start_timeout / poll_step + 1;
  std::string failure = "xrdp did not listen on " + options_.address + ":" + std::to_string(port_) + " within " +
                        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(start_timeout).count()) +
                        " ms";
  for (std::int64_t polls = 0; polls < static_cast<std::int64_t>(max_polls) && clock_type::now() < deadline; ++polls) {
    if (auto st = exited(pid_, true)) {
      pid_ = -1;
      failure = "xrdp exited during start-up with status " + std::to_string(*st);
      break;
    }
    const listen_state s = owns_listener(pid_, options_.address, port_);
    if (s == listen_state::yes || (s == listen_state::unknown && tcp_connects(options_.address, port_))) return;
    std::this_thread::sleep_for(poll_step);
  }
  stop();
  throw std::runtime_error("xrdp_server: " + failure + " (temp dir " + dir_ +
                           (keep_dir() ? ", kept" : ", removed; set RDP_KEEP_XRDP_DIR=1 to keep it") + ")\n" +
                           log_tail());
}

void xrdp_server::stop() noexcept {
  if (pid_ <= 0) return;
  try {
    terminate_group(pid_, term_timeout);
  } catch (...) {  // only bad_alloc is possible here; still leave nothing running
    ::kill(-pid_, SIGKILL);
    exited(pid_, true);
  }
  pid_ = -1;
}

xrdp_server::~xrdp_server() {
  stop();
  if (!dir_.empty() && !keep_dir()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::string xrdp_server::log_tail() const {
  return "--- " + log_path_ + " (tail) ---\n" + tail_of(log_path_, 40) + "--- xrdp stdout/stderr (tail) ---\n" +
         tail_of(out_path_, 20);
}

}  // namespace rdp::test
