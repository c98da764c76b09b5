#pragma once
// TCP-level liveness on a connected socket, set the way FreeRDP 2.11 sets it (libfreerdp/core/tcp.c,
// freerdp_tcp_set_keep_alive_mode: SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPCNT, TCP_KEEPINTVL, then TCP_USER_TIMEOUT,
// after the connect). What the kernel then does with them (Linux net/ipv4/tcp_timer.c, tcp_keepalive_timer): after
// `idle` without a segment from the peer it sends a probe every `interval`; with a user timeout set, the connection
// is aborted (ETIMEDOUT, and an RST is sent) at the first probe timer at which `user_timeout` has passed since the
// peer was last heard and a probe is unanswered; without one, after `probes` unanswered probes. The same user
// timeout also ends a write whose data stays unacknowledged that long. docs/freerdp.md has the sources.
#include "rdp/net/asio.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

namespace rdp::net {

struct tcp_keepalive {
  milliseconds idle{5000};          // TCP_KEEPIDLE
  milliseconds interval{2000};      // TCP_KEEPINTVL
  int probes = 3;                   // TCP_KEEPCNT
  milliseconds user_timeout{9000};  // TCP_USER_TIMEOUT; 0: the kernel's retransmission limits (tcp_retries2)
};

// The kernel counts TCP_KEEPIDLE and TCP_KEEPINTVL in whole seconds (1 at least), so a scaled duration cannot keep
// its precision there: it is rounded up, never down, so a probe never comes earlier than the model says (an early
// probe would refresh a firewall's idle timer the model would let run out). TCP_USER_TIMEOUT counts milliseconds and
// keeps the duration as given.
inline int keepalive_seconds(milliseconds d) {
  const auto s = std::chrono::ceil<std::chrono::seconds>(d).count();
  return static_cast<int>(std::clamp<long long>(s, 1, 32767));  // the kernel's MAX_TCP_KEEPIDLE / KEEPINTVL
}

// Sets all five options; the first that fails is returned and the rest are not tried.
inline error_code set_tcp_keepalive(tcp::socket& socket, const tcp_keepalive& k) {
  const int fd = socket.native_handle();
  const auto set = [fd](int level, int name, int value) -> error_code {
    if (::setsockopt(fd, level, name, &value, sizeof value) == 0) return {};
    return error_code(errno, boost::system::system_category());
  };
  const auto user_timeout = static_cast<int>(std::clamp<long long>(k.user_timeout.count(), 0, 0x7fffffff));
  error_code ec;
  if ((ec = set(SOL_SOCKET, SO_KEEPALIVE, 1))) return ec;
  if ((ec = set(IPPROTO_TCP, TCP_KEEPIDLE, keepalive_seconds(k.idle)))) return ec;
  if ((ec = set(IPPROTO_TCP, TCP_KEEPCNT, std::clamp(k.probes, 1, 127)))) return ec;
  if ((ec = set(IPPROTO_TCP, TCP_KEEPINTVL, keepalive_seconds(k.interval)))) return ec;
  return set(IPPROTO_TCP, TCP_USER_TIMEOUT, user_timeout);
}

}  // namespace rdp::net
