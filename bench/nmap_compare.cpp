// Side by side in one run: nmap's RDP scripts and `rdpprobe scan` against the same servers, each as a process from
// start to exit, N times, interleaved; prints both medians and their ratio per peer. Peers, each on port 3389 of a
// loopback address of its own (nmap's RDP scripts only look at 3389 or a port it has named ms-wbt-server):
//   - rdpsim with sim/profiles/windows-server-2022.yaml (RDP, TLS, CredSSP with an NTLM identity), 127.0.0.8:
//     nmap runs rdp-enum-encryption and rdp-ntlm-info, which is what rdpprobe's one scan covers;
//   - xrdp 0.9 (when installed and runnable, as root: it wants its rsakeys.ini), 127.0.0.5: rdp-enum-encryption
//     (xrdp has no CredSSP, so there is no NTLM info to read).
// Usage: build/release/bench/nmap_compare [runs]
//
// What each does: nmap opens 5 connections for the security layers and 4 for the RC4/FIPS ciphers, sleeping 0.2 s
// before each security-layer probe (rdp-enum-encryption.nse), and one for NTLM info; rdpprobe opens 8 (6 protocols,
// 2 client combinations) with a TLS handshake on each that selects TLS, 5 for Standard RDP Security and one for NTLM.
#include "run_command.hpp"
#include "xrdp_server.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

double time_command_ms(const std::string& command) {
  const auto start = std::chrono::steady_clock::now();
  const auto r = rdp::test::run_command(command + " >/dev/null");
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (r.status < 0) std::fprintf(stderr, "command failed: %s\n", command.c_str());
  return ms;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void compare(const std::string& peer, const std::string& address, const std::string& scripts, int runs) {
  const std::string nmap = "nmap -Pn -n -p 3389 --script " + scripts + " " + address;
  const std::string rdpprobe = std::string(RDPPROBE_BIN) + " scan --json " + address + ":3389";
  time_command_ms(nmap);  // warm-up: page cache, the server's first connection
  time_command_ms(rdpprobe);
  std::vector<double> nmap_ms, rdpprobe_ms;
  for (int i = 0; i < runs; ++i) {  // interleaved, so drift in the machine's load hits both alike
    nmap_ms.push_back(time_command_ms(nmap));
    rdpprobe_ms.push_back(time_command_ms(rdpprobe));
  }
  const double n = median(nmap_ms), r = median(rdpprobe_ms);
  std::printf("peer: %s on %s:3389, %d runs each, wall time per process, median\n", peer.c_str(), address.c_str(), runs);
  std::printf("  %-58s %10.1f ms\n", ("nmap --script " + scripts).c_str(), n);
  std::printf("  %-58s %10.1f ms\n", "rdpprobe scan", r);
  std::printf("  ratio nmap / rdpprobe: %.1fx\n", n / r);
}

bool accepts_connections(const char* address, std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  ::inet_pton(AF_INET, address, &sa.sin_addr);
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return ok;
}

// rdpsim as a process of its own, stopped with SIGTERM at the end.
class rdpsim_process {
 public:
  explicit rdpsim_process(const std::string& listen) {
    pid_ = ::fork();
    if (pid_ == 0) {
      if (const int null = ::open("/dev/null", O_WRONLY); null >= 0) ::dup2(null, STDOUT_FILENO);
      const std::string profile = std::string(RDP_SOURCE_DIR) + "/sim/profiles/windows-server-2022.yaml";
      ::execl(RDPSIM_BIN, RDPSIM_BIN, "serve", "--profile", profile.c_str(), "--listen", listen.c_str(), "--no-control",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~rdpsim_process() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  bool started() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::clamp(std::atoi(argv[1]), 1, 1000) : 5;
  if (!rdp::test::have_program("nmap")) {
    std::fprintf(stderr, "nmap_compare: nmap is not installed\n");
    return 2;
  }
  {
    rdpsim_process sim("127.0.0.8:3389");
    if (!sim.started()) {
      std::fprintf(stderr, "nmap_compare: cannot start rdpsim\n");
      return 2;
    }
    // Bounded wait for the listener: at most 5 s.
    bool up = false;
    for (int i = 0; i < 100 && !up; ++i) {
      up = accepts_connections("127.0.0.8", 3389);
      if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!up) {
      std::fprintf(stderr, "nmap_compare: rdpsim did not start listening on 127.0.0.8:3389\n");
      return 2;
    }
    compare("rdpsim (windows-server-2022 profile)", "127.0.0.8", "rdp-enum-encryption,rdp-ntlm-info", runs);
  }
  if (auto why = rdp::test::xrdp_server::unavailable_reason(); !why.empty()) {
    std::printf("peer: xrdp skipped: %s\n", why.c_str());
    return 0;
  }
  rdp::test::xrdp_options options;
  options.address = "127.0.0.5";
  options.port = 3389;
  rdp::test::xrdp_server xrdp(options);
  compare("xrdp 0.9", "127.0.0.5", "rdp-enum-encryption", runs);
  return 0;
}
