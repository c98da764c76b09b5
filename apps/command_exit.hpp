#pragma once
// How every subcommand of rdpprobe and rdpsim ends: one set of exit statuses (0 nothing found or done, 1 a finding or
// a failure, 2 a usage error: docs/verdicts.md) and one way of ending the process from a CLI11 callback.
#include <cstdlib>
#include <exception>
#include <iostream>
#include <stdexcept>
#include <string_view>

namespace rdp::apps {

inline constexpr int exit_ok = 0;
inline constexpr int exit_finding = 1;
inline constexpr int exit_usage = 2;

// Ends the process with `status` once what the command printed is out: a subcommand runs in its CLI11 callback, and
// its status is the process's.
[[noreturn]] inline void end_process(int status) {
  std::cout.flush();
  std::exit(status);
}

// Runs a command's body and turns what it throws into its exit status: std::invalid_argument and `UsageError` (a
// flag or a file the user gave that cannot be used) are usage errors, printed after `program: `; any other exception
// is a failure, printed as it is.
template <class UsageError, class Body>
int exit_status_of(std::string_view program, Body&& body) {
  try {
    return body();
  } catch (const std::invalid_argument& e) {
    std::cerr << program << ": " << e.what() << "\n";
    return exit_usage;
  } catch (const UsageError& e) {
    std::cerr << program << ": " << e.what() << "\n";
    return exit_usage;
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return exit_finding;
  }
}

}  // namespace rdp::apps
