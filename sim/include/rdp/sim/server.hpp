#pragma once
// rdpsim's RDP listener: answers X.224 negotiation as its policy says, performs the TLS upgrade for TLS-based
// protocols, then holds the connection. One io_context, one coroutine per connection, a deadline on every step.
#include "rdp/net/asio.hpp"
#include "rdp/net/endpoint.hpp"
#include "rdp/net/tls.hpp"
#include "rdp/protocol/nego.hpp"
#include "rdp/sim/credssp_responder.hpp"

#include <cstdint>
#include <memory>

namespace rdp::sim {

struct server_config {
  net::host_port listen{"127.0.0.1", 13389};  // port 0 picks a free one
  protocol::server_security_policy policy{protocol::to_bits(protocol::security_protocol::ssl), true};
  net::tls_identity identity;                   // required when policy offers any TLS-based protocol
  ntlm_identity ntlm;                           // who the server says it is in its NTLM CHALLENGE (CredSSP)
  net::milliseconds handshake_timeout{10000};   // X.224 request and TLS handshake, each
  net::milliseconds hold_timeout{30000};        // a negotiated connection with no traffic is closed after this
};

struct server_counters {
  std::uint64_t accepted = 0;
  std::uint64_t negotiated = 0;      // answered with RDP_NEG_RSP or a legacy CC
  std::uint64_t refused = 0;         // answered with RDP_NEG_FAILURE
  std::uint64_t tls_completed = 0;
  std::uint64_t ntlm_challenges = 0;  // CredSSP NEGOTIATEs answered with a CHALLENGE
  std::uint64_t bad_requests = 0;    // not an X.224 Connection Request, or too slow
};

class server {
 public:
  // Binds the listener. Throws std::runtime_error naming the address when it cannot (a start-up error).
  server(net::asio::any_io_executor executor, server_config config);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  net::tcp::endpoint local_endpoint() const;
  void start();  // begins accepting; call on (or before running) the executor
  void stop();   // closes the listener and every connection; call from the executor's thread
  const server_counters& counters() const noexcept;

  struct state;  // shared with the connection coroutines, which may outlive a stop()

 private:
  std::shared_ptr<state> state_;
};

// "rdp,tls,credssp" → a policy; throws std::invalid_argument naming the unknown protocol.
protocol::server_security_policy parse_policy(const std::string& protocols);

}  // namespace rdp::sim
