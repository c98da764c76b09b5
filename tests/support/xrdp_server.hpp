#pragma once
// Interop-test fixture: runs a real xrdp (0.9.x) on 127.0.0.1:<free port> for the lifetime of one object.
// Plain C++20 + POSIX (fork/exec); no test framework, no Asio. Linux only (reads /proc to confirm the listener).
//
// What xrdp 0.9.21 needs to run this way (verified on Debian 12, xrdp 0.9.21.1, as root, no systemd; see
// docs/wire-vectors.md and the notes in xrdp_server.cpp):
//  - /etc/xrdp/rsakeys.ini must exist: xrdp's start-up sanity check refuses to run without it, and Standard RDP
//    Security reads its RSA key from there. The path is compiled in (XRDP_CFG_PATH); `xrdp-keygen xrdp auto`
//    creates it (the Debian package does so on install). It is mode 0600, owner xrdp: only root (or user xrdp)
//    can read it, so Standard RDP Security needs the tests to run as root.
//  - /var/run/xrdp/xrdp.pid: with --nodaemon xrdp does not write it, but it still refuses to start if the file
//    exists ("It looks like xrdp is already running"), e.g. while a system xrdp daemon is up. The path is
//    compiled in; no option avoids the check. One workaround is a private mount namespace that hides the file:
//    `unshare -m sh -c 'mount -t tmpfs tmpfs /var/run/xrdp && ctest ...'`. Apart from that check, any number of
//    --nodaemon instances can run at once.
//  - No xrdp-sesman is needed: xrdp only talks to sesman after a user logs in on its login screen.

#include <cstdint>
#include <string>

namespace rdp::test {

struct xrdp_options {
  std::string security_layer = "negotiate";  // rdp | tls | negotiate (also accepted: hybrid)
  std::string crypt_level = "high";          // low | medium | high | fips | none
  // Where to listen. nmap's RDP scripts only run on port 3389 (their portrule), so tests that run nmap use
  // 3389 on a loopback address of their own, such as 127.0.0.3. Port 0: a free ephemeral port.
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;
};

// One running xrdp. Not copyable or movable; the process and its temp dir belong to this object.
// Any number may run at once (each has its own port, temp dir and process group). If the object is created on
// the main thread, xrdp also gets PR_SET_PDEATHSIG=SIGKILL, so a crashed test leaves no xrdp behind.
// Set RDP_KEEP_XRDP_DIR=1 in the environment to keep the temp dir (ini, log, cert) for debugging.
class xrdp_server {
 public:
  // Writes a fresh temp dir (xrdp.ini = copy of /etc/xrdp/xrdp.ini with port=tcp://127.0.0.1:<port>,
  // security_layer, crypt_level, certificate/key_file = a self-signed RSA-2048 certificate made there with the
  // openssl CLI, CN=rdp-interop-test, LogFile in the temp dir, syslog off), starts `xrdp --nodaemon --config ...`
  // in its own process group, and waits (<= 10 s) until that xrdp process owns a listening socket on the port.
  // Throws std::invalid_argument for an unknown option value, std::runtime_error (with the tail of xrdp's log and
  // output) if xrdp is missing, a prerequisite above is not met, or it does not come up.
  explicit xrdp_server(xrdp_options options = {});
  // Stops xrdp and removes the temp dir; never throws. The per-connection children that xrdp forked get SIGKILL
  // first, so that xrdp reaps them. Then xrdp itself gets SIGTERM, a wait of <= 3 s, SIGKILL, and is reaped.
  // The whole stop takes < 100 ms in practice.
  ~xrdp_server();

  xrdp_server(const xrdp_server&) = delete;
  xrdp_server& operator=(const xrdp_server&) = delete;

  std::uint16_t port() const { return port_; }
  const std::string& address() const { return options_.address; }
  const std::string& cert_pem_path() const { return cert_path_; }  // the certificate it serves (PEM)
  const std::string& key_pem_path() const { return key_path_; }
  const std::string& temp_dir() const { return dir_; }
  int pid() const { return pid_; }
  // Last lines of xrdp's log file and of its stdout/stderr (start-up errors such as a missing rsakeys.ini are
  // printed there before logging starts).
  std::string log_tail() const;

  // The xrdp binary is present (PATH, /usr/sbin, /usr/local/sbin).
  static bool available();
  // Empty when an instance can be started; otherwise why not (binary, stock ini, rsakeys.ini or openssl missing,
  // a stale/system pid file). Use it to skip interop tests with a clear message.
  static std::string unavailable_reason();

 private:
  void start_once(const std::string& xrdp_path);
  void stop() noexcept;

  xrdp_options options_;
  std::string dir_;
  std::string cert_path_;
  std::string key_path_;
  std::string ini_path_;
  std::string log_path_;
  std::string out_path_;
  std::uint16_t port_ = 0;
  int pid_ = -1;
};

}  // namespace rdp::test
