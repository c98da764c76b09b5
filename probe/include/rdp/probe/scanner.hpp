#pragma once
// The probe itself: for one target, one TCP connection and X.224 negotiation per requested security protocol,
// then the TLS handshake where the server selected a TLS-based protocol. Every socket operation has a deadline.
#include "rdp/net/asio.hpp"
#include "rdp/net/endpoint.hpp"
#include "rdp/probe/report.hpp"
#include "rdp/protocol/nego.hpp"

#include <memory>
#include <string>
#include <vector>

namespace rdp::probe {

struct probe_options {
  std::vector<protocol::security_protocol> protocols{protocol::all_security_protocols.begin(),
                                                     protocol::all_security_protocols.end()};
  net::milliseconds connect_timeout{3000};
  net::milliseconds read_timeout{3000};  // waiting for the X.224 Connection Confirm
  net::milliseconds tls_timeout{5000};
  std::string cookie = "rdpprobe";       // Cookie: mstshash=<cookie> (servers log it; FreeRDP sends the user name)
  std::size_t max_reply_bytes = 16384;   // what we keep of a non-RDP answer
};

// Probes one target. Never throws for anything the network or the server does; the report says what happened.
net::asio::awaitable<target_report> probe_target(std::string target_text, net::host_port target,
                                                 std::shared_ptr<const probe_options> options);

// Probes many targets at once (at most `concurrency` in flight) on the calling thread's io_context and returns the
// reports in the order given. Target strings that do not parse are reported by the caller before this.
std::vector<target_report> probe_all(const std::vector<std::pair<std::string, net::host_port>>& targets,
                                     const probe_options& options, std::size_t concurrency);

}  // namespace rdp::probe
