#include "negotiation.hpp"

#include "rdp/net/connect.hpp"
#include "rdp/net/read_until.hpp"
#include "rdp/net/send.hpp"
#include "rdp/protocol/tpkt.hpp"

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

  protocol::x224::connection_request cr;
  cr.cookie = options.cookie;
  if (requested) cr.negotiation = protocol::neg_request{0, *requested};
  auto request = protocol::x224::encode(cr);
  const auto negotiation_start = net::clock::now();
  if (!request) {
    n.io_error = request.error();  // only a cookie too long for a TPKT could do this; the CLI refuses those
    co_return n;
  }
  if (const auto write_ec = co_await net::send(socket, *request, options.read_timeout)) {
    n.io_error = write_ec;
    n.negotiation_ms = net::ms_since(negotiation_start);
    co_return n;
  }
  n.io_error = co_await net::read_until(socket, n.received, cap, options.read_timeout,
                                        [&n, cap](const protocol::byte_buffer& bytes) {
                                          // A header that is not TPKT, or announces more than the cap, ends the
                                          // wait at once: a hostile length costs nothing.
                                          if (auto header = protocol::tpkt::peek_frame(bytes, {cap, false});
                                              !header && !protocol::is_need_more(header.error())) {
                                            n.malformed = header.error();
                                            return true;
                                          }
                                          auto decoded = protocol::x224::decode_connection_confirm(bytes);
                                          if (decoded) {
                                            n.confirm = decoded->value;
                                            n.confirm_size = decoded->consumed;
                                            return true;
                                          }
                                          if (protocol::is_need_more(decoded.error())) return false;
                                          n.malformed = decoded.error();
                                          return true;
                                        });
  n.negotiation_ms = net::ms_since(negotiation_start);
  co_return n;
}

}  // namespace rdp::probe::detail
