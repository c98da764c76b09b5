#pragma once
// Test helper: runs a shell command, returns its exit status and combined output. For real peers driven by
// their command lines (nmap, xfreerdp, tshark) and for our own binaries.
#include <array>
#include <cstdio>
#include <string>
#include <sys/wait.h>

namespace rdp::test {

struct command_result {
  int status = -1;  // exit status, or -1 if it did not exit normally
  std::string output;
};

inline command_result run_command(const std::string& command) {
  command_result r;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) r.output.append(buf.data(), n);
  const int raw = ::pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

inline bool have_program(const std::string& name) { return run_command("command -v " + name).status == 0; }

}  // namespace rdp::test
