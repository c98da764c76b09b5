// What the fault proxy costs a connection that has no fault in force (issue 14: "pass-through with no fault active
// should cost close to nothing"), as ratios against the direct path in the same run: bulk throughput one way, and the
// round-trip time of small request/response exchanges (p50, p99). Three paths to one loopback sink:
//   direct   client → sink
//   splice   client → proxy → sink; the phase tracker is done, so the proxy moves bytes with splice(2)
//   copied   the same proxy recording the client's side (for pcaps), so every byte passes through its buffers
// The client sends a TPKT/X.224 Connection Request first (the sink confirms), so the tracker sees the start of an RDP
// stream, as in real use; then the bulk or the ping-pong bytes. Loopback only.
//   build/<preset>/bench/proxy_throughput [MiB=256] [round_trips=20000]
#include "rdp/net/asio.hpp"
#include "rdp/proxy/fault_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using steady = std::chrono::steady_clock;

// X.224 Connection Request with RDP_NEG_REQ for TLS (MS-RDPBCGR 2.2.1.1), and the Connection Confirm selecting it.
constexpr std::array<unsigned char, 19> connection_request{0x03, 0x00, 0x00, 0x13, 0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00,
                                                           0x00, 0x01, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00};
constexpr std::array<unsigned char, 19> connection_confirm{0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00, 0x12, 0x34,
                                                           0x00, 0x02, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00};

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

int connect_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  check(fd >= 0, "socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  check(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0, "connect");
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void send_all(int fd, const unsigned char* p, std::size_t n) {
  while (n) {
    const auto k = ::send(fd, p, n, MSG_NOSIGNAL);
    check(k > 0, "send");
    p += k;
    n -= static_cast<std::size_t>(k);
  }
}

void recv_all(int fd, unsigned char* p, std::size_t n) {
  while (n) {
    const auto k = ::recv(fd, p, n, 0);
    check(k > 0, "recv");
    p += k;
    n -= static_cast<std::size_t>(k);
  }
}

// The sink: confirms the Connection Request, then either discards `bulk` bytes and answers one byte, or echoes
// fixed-size messages until the peer closes.
class sink {
 public:
  sink() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    check(::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0, "bind");
    check(::listen(listener_, 16) == 0, "listen");
    socklen_t len = sizeof a;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~sink() { ::close(listener_); }
  std::uint16_t port() const { return port_; }

  // Serves one connection on a thread of its own.
  std::thread serve(std::size_t bulk, std::size_t message) {
    return std::thread([this, bulk, message] {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::array<unsigned char, 19> cr{};
      try {
        recv_all(fd, cr.data(), cr.size());
        send_all(fd, connection_confirm.data(), connection_confirm.size());
        std::vector<unsigned char> buf(std::max<std::size_t>(message, 1 << 16));
        if (bulk) {
          for (std::size_t left = bulk; left;) {
            const auto k = ::recv(fd, buf.data(), std::min(left, buf.size()), 0);
            if (k <= 0) break;
            left -= static_cast<std::size_t>(k);
          }
          send_all(fd, buf.data(), 1);
        } else {
          for (;;) {
            std::size_t got = 0;
            while (got < message) {
              const auto k = ::recv(fd, buf.data() + got, message - got, 0);
              if (k <= 0) {
                ::close(fd);
                return;
              }
              got += static_cast<std::size_t>(k);
            }
            send_all(fd, buf.data(), message);
          }
        }
      } catch (const std::exception&) {
      }
      ::close(fd);
    });
  }

 private:
  int listener_ = -1;
  std::uint16_t port_ = 0;
};

int open_rdp_stream(std::uint16_t port) {
  const int fd = connect_to(port);
  send_all(fd, connection_request.data(), connection_request.size());
  std::array<unsigned char, 19> cc{};
  recv_all(fd, cc.data(), cc.size());
  return fd;
}

double bulk_mib_per_s(sink& s, std::uint16_t port, std::size_t bytes) {
  auto server = s.serve(bytes, 0);
  const int fd = open_rdp_stream(port);
  std::vector<unsigned char> chunk(1 << 16, 0x17);
  const auto start = steady::now();
  for (std::size_t left = bytes; left;) {
    const auto n = std::min(left, chunk.size());
    send_all(fd, chunk.data(), n);
    left -= n;
  }
  unsigned char done = 0;
  recv_all(fd, &done, 1);
  const double seconds = std::chrono::duration<double>(steady::now() - start).count();
  ::close(fd);
  server.join();
  return static_cast<double>(bytes) / (1024.0 * 1024.0) / seconds;
}

struct latency {
  double p50_us = 0, p99_us = 0;
};

latency round_trips(sink& s, std::uint16_t port, int count) {
  constexpr std::size_t message = 64;  // a small input PDU and its answer
  auto server = s.serve(0, message);
  const int fd = open_rdp_stream(port);
  std::array<unsigned char, message> buf{};
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    const auto start = steady::now();
    send_all(fd, buf.data(), buf.size());
    recv_all(fd, buf.data(), buf.size());
    us.push_back(std::chrono::duration<double, std::micro>(steady::now() - start).count());
  }
  ::close(fd);
  server.join();
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[us.size() * 99 / 100]};
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 256;
  const int trips = argc > 2 ? std::atoi(argv[2]) : 20000;
  if (mib == 0 || mib > 65536 || trips <= 0 || trips > 10000000) {
    std::fprintf(stderr, "usage: proxy_throughput [MiB 1..65536] [round_trips 1..10000000]\n");
    return 2;
  }
  try {
    sink s;
    rdp::net::asio::io_context io(1);
    auto make_proxy = [&](bool record) {
      rdp::proxy::proxy_config c;
      c.upstream = rdp::net::host_port{"127.0.0.1", s.port()};
      c.record = record;
      c.max_record_bytes = (mib + 1) << 20;
      return std::make_unique<rdp::proxy::fault_proxy>(io.get_executor(), c);
    };
    auto spliced = make_proxy(false);
    auto copied = make_proxy(true);
    spliced->start();
    copied->start();
    auto guard = rdp::net::asio::make_work_guard(io);
    std::thread proxy_thread([&] { io.run(); });
    struct path {
      const char* name;
      std::uint16_t port;
    };
    const path paths[] = {{"direct", s.port()},
                          {"splice", spliced->local_endpoint().port()},
                          {"copied", copied->local_endpoint().port()}};
    std::printf("proxy_throughput: %zu MiB one way, %d round trips of 64 bytes, loopback; ratios against direct\n", mib,
                trips);
    std::printf("%-8s %12s %8s %10s %10s %8s\n", "path", "MiB/s", "ratio", "rtt p50", "rtt p99", "p50 x");
    double direct_rate = 0, direct_p50 = 0;
    for (const auto& p : paths) {
      const double rate = bulk_mib_per_s(s, p.port, mib << 20);
      const auto rtt = round_trips(s, p.port, trips);
      if (direct_rate == 0) {
        direct_rate = rate;
        direct_p50 = rtt.p50_us;
      }
      std::printf("%-8s %12.1f %8.2f %8.1fus %8.1fus %8.2f\n", p.name, rate, rate / direct_rate, rtt.p50_us, rtt.p99_us,
                  rtt.p50_us / direct_p50);
    }
    std::uint64_t moved_by_splice = 0;
    rdp::net::asio::post(io, [&] {
      moved_by_splice = spliced->counters().bytes_spliced;
      spliced->stop();
      copied->stop();
      (void)copied->take_flows();
      guard.reset();
    });
    proxy_thread.join();
    std::printf("bytes the splice proxy moved with splice(2): %llu\n", static_cast<unsigned long long>(moved_by_splice));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "proxy_throughput: %s\n", e.what());
    return 1;
  }
  return 0;
}
