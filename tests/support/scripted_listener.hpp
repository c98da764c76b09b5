#pragma once
// Test helper: a loopback TCP listener on its own thread that plays a scripted behaviour to every connection —
// the non-RDP and hostile peers the probe must classify (an HTTP server, an SSH banner, silence, reset,
// a one-byte-a-second dribble, a huge TPKT length, endless data). Every behaviour is bounded in time.
#include "rdp/net/asio.hpp"
#include "rdp/net/tls.hpp"
#include "rdp/protocol/mcs.hpp"

#include <functional>
#include <memory>
#include <optional>
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
  // A TLS-only RDP server: a request with the PROTOCOL_SSL bit gets a CC selecting TLS, any other RDP_NEG_FAILURE
  // SSL_REQUIRED_BY_SERVER. After the TLS handshake (the listener's identity) it reads the MCS Connect-Initial and:
  tls_then_connect_response,  // answers with a real Connect-Response (RDP 10.7, earlyCapabilityFlags 0x0001,
                              // clientRequestedProtocols echoed), then holds until the client leaves
  tls_then_dpu,               // sends an MCS Disconnect Provider Ultimatum (rn-provider-initiated), then closes
  tls_then_error_info,        // sends Set Error Info 0x00000007 (ERRINFO_SERVER_DENIED_CONNECTION), then a DPU
                              // (rn-user-requested), then closes
  tls_then_reset,             // resets the connection (SO_LINGER 0)
};

// What the tls_then_* behaviours saw, shared with the listener's thread.
struct scripted_tls_log;

class scripted_listener {
 public:
  // `identity` serves the tls_then_* behaviours (it may hold a chain); empty: a self-signed RSA one for 127.0.0.1.
  explicit scripted_listener(listener_behaviour behaviour, net::tls_identity identity = {});
  ~scripted_listener();
  std::uint16_t port() const { return port_; }
  // tls_then_*: the Connect-Initials received inside TLS so far, the last one decoded.
  int connect_initials() const;
  std::optional<protocol::mcs::connect_initial> last_connect_initial() const;

 private:
  net::asio::io_context io_;
  net::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  listener_behaviour behaviour_;
  std::shared_ptr<scripted_tls_log> log_;
  std::thread thread_;
};

// A port on 127.0.0.1 with nothing listening (bound then closed), for "connection refused".
std::uint16_t closed_port();

}  // namespace rdp::test
