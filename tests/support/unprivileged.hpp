#pragma once
// Test helpers for file-permission cases, which root is not bound by: a scratch directory, and a body run in a forked
// child that has become `nobody` first when the test runs as root (as CI does), so the same test bites in CI and on a
// developer's laptop.
#include <grp.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>
#include <system_error>

namespace rdp::test {

// A fresh directory under the system's temporary directory, removed with what it holds (permissions restored first).
struct scratch_dir {
  std::filesystem::path path;
  explicit scratch_dir(const std::string& prefix = "rdp-test") {
    std::string name = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    path = ::mkdtemp(name.data());
    // Searchable by others, so a child that became nobody reaches what the test put inside.
    std::filesystem::permissions(path, std::filesystem::perms::group_exec | std::filesystem::perms::others_exec,
                                 std::filesystem::perm_options::add);
  }
  ~scratch_dir() {
    std::error_code ignored;
    for (auto it = std::filesystem::recursive_directory_iterator(path, ignored);
         !ignored && it != std::filesystem::recursive_directory_iterator(); it.increment(ignored))
      if (it->is_directory(ignored)) std::filesystem::permissions(it->path(), std::filesystem::perms::owner_all,
                                                                 std::filesystem::perm_options::add, ignored);
    std::filesystem::remove_all(path, ignored);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
};

struct unprivileged_run {
  bool ran = false;   // false: the child could not give up root (`text` says why)
  std::string text;   // what the body returned
};

// Runs `body` in a forked child; as root, the child first drops to uid and gid 65534 with no supplementary groups.
// Only the text the body returns comes back (through a pipe): the child never returns into the test.
inline unprivileged_run run_unprivileged(const std::function<std::string()>& body) {
  int out[2];
  if (::pipe(out) != 0) return {false, "pipe failed"};
  const pid_t child = ::fork();
  if (child < 0) return {false, "fork failed"};
  if (child == 0) {
    ::close(out[0]);
    constexpr uid_t nobody = 65534;
    std::string text = "\x01";  // first byte: 1 ran, 0 could not give up root
    if (::geteuid() == 0 && (::setgroups(0, nullptr) != 0 || ::setresgid(nobody, nobody, nobody) != 0 ||
                             ::setresuid(nobody, nobody, nobody) != 0))
      text = std::string("\x00", 1) + "cannot give up root (setresuid to 65534 refused)";
    else
      text += body();
    (void)!::write(out[1], text.data(), text.size());
    ::_exit(0);
  }
  ::close(out[1]);
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = ::read(out[0], buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<std::size_t>(n));
  ::close(out[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (text.empty() || !WIFEXITED(status)) return {false, "the child ended without an answer"};
  return {text[0] == '\x01', text.substr(1)};
}

}  // namespace rdp::test
