#include "negotiation.hpp"

#include "rdp/net/connect.hpp"
#include "rdp/net/engine.hpp"
#include "rdp/net/errors.hpp"
#include "rdp/protocol/x224_negotiation.hpp"

#include <chrono>

namespace rdp::probe::detail {

namespace asio = net::asio;
using net::tcp;

std::string describe(const net::error_code& ec) {
  return ec == net::errc::timed_out ? std::string("timed out") : ec.message();
}

std::string negotiation::failure() const {
  if (connect_error) return "TCP connect: " + describe(connect_error);
  if (confirm) return {};
  if (malformed) return "no X.224 Connection Confirm: " + malformed.message();
  if (received.empty()) return "no X.224 Connection Confirm: " + describe(io_error);
  return "no X.224 Connection Confirm: the answer was cut short (" + describe(io_error) + ")";
}

asio::awaitable<negotiation> connect_and_negotiate(tcp::socket& socket, std::vector<tcp::endpoint> endpoints,
                                                   std::optional<std::uint32_t> requested,
                                                   const probe_options& options, std::size_t cap) {
  negotiation n;
  const auto connect_start = net::clock::now();
  auto [connect_ec, endpoint] = co_await net::connect_first(socket, std::move(endpoints), options.connect_timeout);
  if (connect_ec) {
    n.connect_error = connect_ec;
    co_return n;
  }
  n.connected_to = endpoint;
  n.connect_ms = net::ms_since(connect_start);
  net::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);

  // The exchange is a machine on the engine (protocol/x224_negotiation.hpp); the engine only moves bytes.
  protocol::x224_negotiation_options exchange_options;
  exchange_options.cookie = options.cookie;
  exchange_options.requested = requested;
  exchange_options.cap = cap;
  exchange_options.read_timeout = options.read_timeout;
  protocol::x224_negotiation exchange(std::move(exchange_options));
  {
    net::sequence_engine engine(socket, net::engine_options{});
    co_await engine.run(exchange);
  }
  const auto& out = exchange.outcome();
  n.io_error = out.timed_out ? make_error_code(net::errc::timed_out)
               : out.over_cap ? make_error_code(net::errc::frame_too_large)
                              : out.io_error;
  n.received = out.received;
  n.confirm = out.confirm;
  n.confirm_size = out.confirm_size;
  n.malformed = out.malformed;
  // only a cookie too long for a TPKT fails to encode; the CLI refuses those
  if (out.encoded) n.negotiation_ms = std::chrono::duration<double, std::milli>(out.ended_at - out.sent_at).count();
  co_return n;
}

}  // namespace rdp::probe::detail
