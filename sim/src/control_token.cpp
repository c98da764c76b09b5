// The control token and its file (control_token.hpp, docs/control.md).
#include "rdp/sim/control_token.hpp"

#include "rdp/net/local_file.hpp"
#include "rdp/protocol/hex.hpp"

#include <openssl/rand.h>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace rdp::sim {

std::string make_control_token() {
  std::array<unsigned char, 32> bytes{};
  // RAND_bytes rather than std::random_device: the standard allows random_device to be a deterministic engine,
  // OpenSSL's CSPRNG is documented to be cryptographically strong (and fails loudly when it cannot be).
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw std::runtime_error("rdpsim: cannot generate a control token: OpenSSL's RAND_bytes failed");
  return protocol::to_hex(std::span<const std::uint8_t>(bytes));
}

namespace {

std::string file_kind(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a regular file";
}

}  // namespace

void write_token_file(const std::string& path, std::string_view token) {
  auto fail = [&](const std::string& what) {
    throw std::runtime_error("rdpsim: cannot " + what + " control token file '" + path + "': " + std::strerror(errno));
  };
  auto refuse = [&](const std::string& why) {
    throw std::runtime_error("rdpsim: refusing control token file '" + path + "': " + why);
  };
  // lstat, never open: opening a FIFO for writing blocks until someone reads it, and a symlink would be followed.
  struct stat existing {};
  if (::lstat(path.c_str(), &existing) == 0) {
    if (!S_ISREG(existing.st_mode)) refuse("it is " + file_kind(existing.st_mode) + ", not a regular file");
    if (existing.st_uid != ::geteuid())
      refuse("it belongs to uid " + std::to_string(existing.st_uid) + ", not to this user (uid " +
             std::to_string(::geteuid()) + "); remove it or choose another path");
  } else if (errno != ENOENT) {
    fail("inspect");
  }
  // A fresh file, created exclusively with mode 0600 in the same directory, then renamed over the path
  // (net::replace_with_new_file): the secret is never in a file someone else could already hold open, and rename()
  // replaces the directory entry without opening whatever is there now (if the path was swapped for a FIFO since the
  // lstat, it is replaced).
  std::string why;
  if (!net::replace_with_new_file(path, std::string(token) + "\n", 0600, why))
    throw std::runtime_error("rdpsim: cannot write control token file: " + why);
}

bool remove_token_file(const std::string& path, std::string_view token) noexcept {
  // O_NONBLOCK and O_NOFOLLOW: whatever is at the path now, opening it neither blocks nor follows a link.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  std::array<char, 256> content{};
  ssize_t n = -1;
  const std::size_t expected = token.size() + 1;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() &&
      static_cast<std::size_t>(st.st_size) == expected && expected <= content.size())
    n = ::read(fd, content.data(), expected);
  ::close(fd);
  // Only the file this process wrote: another rdpsim that has since written its own token keeps its file.
  if (n < 0 || static_cast<std::size_t>(n) != expected || std::string_view(content.data(), token.size()) != token ||
      content[token.size()] != '\n')
    return false;
  return ::unlink(path.c_str()) == 0;
}

}  // namespace rdp::sim
