#pragma once
// What the kernel knows of a TCP connection (Linux TCP_INFO, include/uapi/linux/tcp.h), read without touching the
// stream: the only way a client can tell whether the peer's FIN or RST had already come when it decides to close
// (CLOSE_WAIT / CLOSE), and, for an idle measurement, whether its last segment is still unacknowledged and being
// retransmitted (a dropping firewall) or was acknowledged and never answered (a userspace middlebox).
#include "rdp/net/asio.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>

namespace rdp::net {

struct tcp_snapshot {
  std::uint8_t state = 0;           // TCP_ESTABLISHED, TCP_CLOSE_WAIT, TCP_CLOSE… (netinet/tcp.h)
  std::uint32_t unacked = 0;        // segments sent and not yet acknowledged
  std::uint8_t retransmits = 0;     // retransmissions of the oldest unacknowledged segment so far
  std::chrono::milliseconds since_last_ack{0};        // tcpi_last_ack_recv
  std::chrono::milliseconds since_last_data_received{0};  // tcpi_last_data_recv
  std::chrono::microseconds rtt{0};                   // the kernel's smoothed round-trip estimate

  // The peer's FIN had come (and was not yet answered by ours): CLOSE_WAIT.
  bool peer_sent_fin() const noexcept { return state == TCP_CLOSE_WAIT; }
  // The connection is gone under us: an RST came (or TCP gave up).
  bool peer_reset() const noexcept { return state == TCP_CLOSE; }
};

// nullopt when the socket is closed or not TCP.
inline std::optional<tcp_snapshot> read_tcp_info(int fd) {
  if (fd < 0) return std::nullopt;
  ::tcp_info info{};
  socklen_t length = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return std::nullopt;
  tcp_snapshot s;
  s.state = info.tcpi_state;
  s.unacked = info.tcpi_unacked;
  s.retransmits = info.tcpi_retransmits;
  s.since_last_ack = std::chrono::milliseconds(info.tcpi_last_ack_recv);
  s.since_last_data_received = std::chrono::milliseconds(info.tcpi_last_data_recv);
  s.rtt = std::chrono::microseconds(info.tcpi_rtt);
  return s;
}
inline std::optional<tcp_snapshot> read_tcp_info(tcp::socket& socket) {
  return socket.is_open() ? read_tcp_info(socket.native_handle()) : std::nullopt;
}

}  // namespace rdp::net
