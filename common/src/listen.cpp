#include "rdp/net/listen.hpp"

#include "rdp/net/endpoint.hpp"

#include <sys/socket.h>

#include <stdexcept>

namespace rdp::net {

tcp::acceptor open_listener(asio::any_io_executor executor, const tcp::endpoint& where, const std::string& who,
                            listen_options options) {
  tcp::acceptor acceptor(executor);
  error_code ec;
  acceptor.open(where.protocol(), ec);
  if (!ec && options.reuse_address) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && options.reuse_port) {
    using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
    acceptor.set_option(reuse_port(true), ec);
  }
  if (!ec && where.address().is_v6() && options.v6_only) acceptor.set_option(asio::ip::v6_only(*options.v6_only), ec);
  if (!ec) acceptor.bind(where, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error(who + ": cannot listen on " + host_port{where.address().to_string(), where.port()}.text() +
                             ": " + ec.message());
  return acceptor;
}

}  // namespace rdp::net
