#pragma once
// Test helper: a loopback TCP listener on its own thread that plays a scripted behaviour to every connection —
// the non-RDP and hostile peers the probe must classify (an HTTP server, an SSH banner, silence, reset,
// a one-byte-a-second dribble, a huge TPKT length, endless data). Every behaviour is bounded in time.
#include "rdp/net/asio.hpp"

#include <functional>
#include <string>
#include <thread>

namespace rdp::test {

enum class listener_behaviour {
  http_400,         // reads the request, answers "HTTP/1.1 400 Bad Request" with a Server header, closes
  ssh_banner,       // sends "SSH-2.0-..." on accept, then an error line after the request, closes
  silent,           // accepts and never answers (closes after 30 s)
  reset_on_data,    // resets (SO_LINGER 0) as soon as the request arrives
  close_on_data,    // closes (FIN) as soon as the request arrives, no reply
  dribble,          // answers a TPKT header announcing 0x13 bytes, then one byte a second
  huge_tpkt,        // announces a 65535-byte TPKT frame and sends nothing more
  endless,          // sends 0x03-prefixed garbage as fast as it can (up to 64 MiB or 30 s)
};

class scripted_listener {
 public:
  explicit scripted_listener(listener_behaviour behaviour);
  ~scripted_listener();
  std::uint16_t port() const { return port_; }

 private:
  net::asio::io_context io_;
  net::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  listener_behaviour behaviour_;
  std::thread thread_;
};

// A port on 127.0.0.1 with nothing listening (bound then closed), for "connection refused".
std::uint16_t closed_port();

}  // namespace rdp::test
