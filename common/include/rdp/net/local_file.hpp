#pragma once
// Files the user names — profiles, certificates and keys, scenario files, target lists, password files, and the
// reports the tools write — are local input and output, and as hostile as the wire: a name may be a FIFO (reading
// blocks forever), a device (/dev/zero never ends; replacing /dev/null as root breaks the machine), a file of
// gigabytes, or a symlink planted at the name a writer was going to use. These two functions are the only ways the
// tools read and write such files.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace rdp::net {

// The whole content of the regular file at `path` (symlinks to one are followed), or nullopt with `why` saying what
// was wrong in words meant to follow the path in a message: "no such file", "not a regular file (a FIFO)", "larger
// than the 1048576-byte limit for a profile", "Permission denied". It opens without blocking (a FIFO is refused at
// once, not waited on), checks the type on the open descriptor (no window between the check and the read), and never
// reads more than `max_bytes` + 1 bytes, so a file that grows while read or under-reports its size (/proc) is still
// bounded. `what` names the kind of file in the size message ("a profile", "a certificate").
std::optional<std::string> read_regular_file(const std::string& path, std::size_t max_bytes, std::string_view what,
                                             std::string& why);

// Writes `content` as the file at `path`, so that it is never seen half-written and nothing but `path` changes:
// - where `path` is a regular file or does not exist, the content goes to a new temporary file in the same directory,
//   created with O_EXCL under a random name (a symlink or file that someone planted there is never opened — another
//   name is drawn), flushed to disk, then renamed over `path`;
// - where `path` is something else that can be written — a character device such as /dev/null or /dev/stdout, a
//   FIFO with a reader — it is written in place, never replaced (a FIFO without a reader is an error, not a wait);
// - a directory, a socket, a FIFO nobody reads, or a directory that cannot take a new file is an error.
// Returns false with `why` naming the path and what went wrong; the temporary is removed on every failure.
bool write_report_file(const std::string& path, std::string_view content, std::string& why);

// The step both writers above and the control token file (mode 0600) share: a new regular file of `content` with
// `mode` (umask applies) replaces whatever directory entry `path` is, by a fresh O_EXCL temporary beside it, fsync and
// rename. The caller decides first whether replacing what is there is right. False with `why` naming the path.
bool replace_with_new_file(const std::string& path, std::string_view content, unsigned mode, std::string& why);

}  // namespace rdp::net
