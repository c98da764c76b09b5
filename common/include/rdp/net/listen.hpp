#pragma once
// The one way the tools open a listening socket.
#include "rdp/net/asio.hpp"

#include <optional>
#include <string>

namespace rdp::net {

struct listen_options {
  bool reuse_address = true;  // SO_REUSEADDR: a restarted listener binds again at once despite TIME_WAIT
  bool reuse_port = false;    // SO_REUSEPORT: join a group of listeners on the same address and port
  // For an IPv6 address: whether it takes IPv4 too (IPV6_V6ONLY false). Unset: the system default
  // (net.ipv6.bindv6only, 0 on Debian: "::" takes both families).
  std::optional<bool> v6_only;
};

// An acceptor bound and listening on `where` (port 0: any free port; read it back with local_endpoint()). Throws
// std::runtime_error "<who>: cannot listen on <address>: <reason>".
tcp::acceptor open_listener(asio::any_io_executor executor, const tcp::endpoint& where, const std::string& who,
                            listen_options options = {});

}  // namespace rdp::net
