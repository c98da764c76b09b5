#pragma once
// The control interface's secret (docs/control.md): a fresh token, and the file that hands it to `rdpsim ctl` —
// written without ever opening what an attacker could have put at the path, removed only while it is still ours.
#include <string>
#include <string_view>

namespace rdp::sim {

// 32 bytes from OpenSSL's RAND_bytes as 64 lowercase hex digits. Throws std::runtime_error if the CSPRNG fails.
std::string make_control_token();
// Writes `token` and a newline to `path`: a temporary file created exclusively with mode 0600 in the same directory,
// renamed over `path`. Refuses (std::runtime_error naming the path and why) when something that is not a regular
// file is at `path` (a FIFO, a directory, a symlink: it is never opened, so a FIFO cannot block), or a file that
// belongs to another user. Throws std::runtime_error naming the path when it cannot write.
void write_token_file(const std::string& path, std::string_view token);
// Removes `path` if it is still the regular file, ours, that holds exactly `token` and a newline (another rdpsim
// that wrote its own token there since keeps it). Never blocks on what is at `path`. True when removed.
bool remove_token_file(const std::string& path, std::string_view token) noexcept;

}  // namespace rdp::sim
