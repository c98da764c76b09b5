#include "rdp/net/local_file.hpp"

#include "rdp/protocol/hex.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <utility>

namespace rdp::net {
namespace {

std::string errno_text(int error) { return std::strerror(error); }

// What a file that is not a regular file is, for "not a regular file (a FIFO)".
const char* kind_of(mode_t mode) noexcept {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// Closes on every path out.
struct file_descriptor {
  int fd = -1;
  ~file_descriptor() {
    if (fd >= 0) ::close(fd);
  }
  int release() noexcept { return std::exchange(fd, -1); }
};

bool write_all(int fd, std::string_view content, int& error) {
  while (!content.empty()) {
    const auto n = ::write(fd, content.data(), content.size());
    if (n < 0) {
      if (errno == EINTR) continue;  // Ctrl-C sets a flag in the tools; the report is still written whole
      error = errno;
      return false;
    }
    content.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string random_suffix() {
  unsigned char bytes[8]{};
  std::size_t got = 0;
  while (got < sizeof bytes) {
    const auto n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // the O_EXCL open still guarantees a fresh file; the name is only less unpredictable
    }
    got += static_cast<std::size_t>(n);
  }
  return protocol::to_hex(std::span<const std::uint8_t>(bytes, sizeof bytes));
}

// In place, for a character device or a FIFO: what `cmd > /dev/null` or `> fifo` would do, minus the wait for a
// FIFO's reader.
bool write_in_place(const std::string& path, std::string_view content, std::string& why) {
  file_descriptor file{::open(path.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK)};
  if (file.fd < 0) {
    why = "cannot write '" + path + "': " + (errno == ENXIO ? "a FIFO that nobody reads" : errno_text(errno));
    return false;
  }
  struct stat st {};
  if (::fstat(file.fd, &st) != 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
    why = "cannot write '" + path + "': it changed while being opened";
    return false;
  }
  // Blocking writes from here: a FIFO's reader is there and takes the report at its own pace.
  const int flags = ::fcntl(file.fd, F_GETFL);
  if (flags >= 0) ::fcntl(file.fd, F_SETFL, flags & ~O_NONBLOCK);
  int error = 0;
  if (!write_all(file.fd, content, error)) {
    why = "writing '" + path + "' failed: " + errno_text(error);
    return false;
  }
  return true;
}

}  // namespace

bool replace_with_new_file(const std::string& path, std::string_view content, unsigned mode, std::string& why) {
  const std::filesystem::path target(path);
  const auto name = target.filename().string();
  if (name.empty() || name == "." || name == "..") {
    why = "cannot write '" + path + "': it names a directory, not a file";
    return false;
  }
  const auto directory = target.parent_path();
  std::string temporary;
  file_descriptor file;
  // O_EXCL | O_NOFOLLOW: the name is created here and now, by us; a planted file or symlink makes us draw another.
  for (int attempt = 0; attempt < 16 && file.fd < 0; ++attempt) {
    temporary = (directory / ("." + name + "." + random_suffix() + ".tmp")).string();
    file.fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, static_cast<mode_t>(mode));
    if (file.fd < 0 && errno != EEXIST) {
      why = "cannot create a file in '" + (directory.empty() ? std::string(".") : directory.string()) +
            "' to write '" + path + "': " + errno_text(errno);
      return false;
    }
  }
  if (file.fd < 0) {
    why = "cannot write '" + path + "': 16 temporary names in its directory were taken";
    return false;
  }
  int error = 0;
  bool ok = write_all(file.fd, content, error);
  // On disk before the rename: a crash leaves the old report or the new one, never an empty file under the name.
  if (ok && ::fsync(file.fd) != 0) error = errno, ok = false;
  if (ok && ::close(file.release()) != 0) error = errno, ok = false;
  if (ok && ::rename(temporary.c_str(), path.c_str()) != 0) {
    why = "cannot rename '" + temporary + "' to '" + path + "': " + errno_text(errno);
    ::unlink(temporary.c_str());
    return false;
  }
  if (!ok) {
    why = "writing '" + path + "' failed: " + errno_text(error);
    ::unlink(temporary.c_str());
    return false;
  }
  return true;
}

std::optional<std::string> read_regular_file(const std::string& path, std::size_t max_bytes, std::string_view what,
                                             std::string& why) {
  const auto limit = [&] {
    return "larger than the " + std::to_string(max_bytes) + "-byte limit for " + std::string(what);
  };
  // The type is checked before opening (opening some devices has effects of its own) and again on the descriptor.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    why = errno == ENOENT ? "no such file" : errno_text(errno);
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    why = std::string("not a regular file (") + kind_of(st.st_mode) + ")";
    return std::nullopt;
  }
  file_descriptor file{::open(path.c_str(), O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK)};
  if (file.fd < 0) {
    why = errno_text(errno);
    return std::nullopt;
  }
  if (::fstat(file.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    why = std::string("not a regular file (") + kind_of(st.st_mode) + ")";
    return std::nullopt;
  }
  if (static_cast<std::uintmax_t>(st.st_size) > max_bytes) {
    why = limit();
    return std::nullopt;
  }
  std::string content;
  content.resize(std::min<std::size_t>(static_cast<std::size_t>(st.st_size), max_bytes) + 1);
  std::size_t got = 0;
  for (;;) {
    if (got == content.size()) {
      if (got > max_bytes) {
        why = limit();
        return std::nullopt;
      }
      content.resize(std::min(max_bytes + 1, std::max<std::size_t>(content.size() * 2, 4096)));
    }
    const auto n = ::read(file.fd, content.data() + got, content.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      why = errno_text(errno);
      return std::nullopt;
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  content.resize(got);
  return content;
}

bool write_report_file(const std::string& path, std::string_view content, std::string& why) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      why = "cannot write '" + path + "': " + errno_text(errno);
      return false;
    }
    return replace_with_new_file(path, content, 0666, why);
  }
  // A report replacing one keeps its mode (a `chmod 600 report.json` holds), within the umask.
  if (S_ISREG(st.st_mode)) return replace_with_new_file(path, content, st.st_mode & 0777, why);
  if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) return write_in_place(path, content, why);
  // A block device is refused outright: a report written over a disk is never what was meant.
  why = "cannot write '" + path + "': it is " + kind_of(st.st_mode) + ", not a file a report can go to";
  return false;
}

}  // namespace rdp::net
