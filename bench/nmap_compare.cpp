// Side by side in one run: nmap's rdp-enum-encryption and `rdpprobe scan` against the same real xrdp, each as a
// process from start to exit, N times; prints both medians and their ratio. Run as root (xrdp wants its
// rsakeys.ini): build/release/bench/nmap_compare [runs]
//
// What each does: nmap opens 5 connections for the security layers and 4 for the RC4/FIPS ciphers, sleeping
// 0.2 s before each security-layer probe (rdp-enum-encryption.nse); rdpprobe opens 8 (6 protocols, 2 client
// combinations) and completes a TLS handshake on each that selects TLS.
#include "run_command.hpp"
#include "xrdp_server.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

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

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  if (!rdp::test::have_program("nmap")) {
    std::fprintf(stderr, "nmap_compare: nmap is not installed\n");
    return 2;
  }
  if (auto why = rdp::test::xrdp_server::unavailable_reason(); !why.empty()) {
    std::fprintf(stderr, "nmap_compare: xrdp unavailable: %s\n", why.c_str());
    return 2;
  }
  rdp::test::xrdp_options options;
  options.address = "127.0.0.5";
  options.port = 3389;
  rdp::test::xrdp_server xrdp(options);
  const std::string nmap = "nmap -Pn -n -p 3389 --script rdp-enum-encryption 127.0.0.5";
  const std::string rdpprobe = std::string(RDPPROBE_BIN) + " scan --json 127.0.0.5:3389";
  time_command_ms(nmap);  // warm-up: page cache, xrdp's first fork
  time_command_ms(rdpprobe);
  std::vector<double> nmap_ms, rdpprobe_ms;
  for (int i = 0; i < runs; ++i) {  // interleaved, so drift in the machine's load hits both alike
    nmap_ms.push_back(time_command_ms(nmap));
    rdpprobe_ms.push_back(time_command_ms(rdpprobe));
  }
  const double n = median(nmap_ms), r = median(rdpprobe_ms);
  std::printf("peer: xrdp 0.9 on 127.0.0.5:3389, %d runs each, wall time per process, median\n", runs);
  std::printf("%-40s %10.1f ms\n", "nmap --script rdp-enum-encryption", n);
  std::printf("%-40s %10.1f ms\n", "rdpprobe scan", r);
  std::printf("ratio nmap / rdpprobe: %.1fx\n", n / r);
  return 0;
}
