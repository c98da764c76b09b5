// The blocking client `rdpsim ctl` calls the control interface with (control_client.hpp).
#include "rdp/sim/control_client.hpp"

#include "rdp/net/connect.hpp"
#include "rdp/net/deadline.hpp"
#include "rdp/net/errors.hpp"
#include "rdp/net/send.hpp"
#include "rdp/net/spawn.hpp"
#include "rdp/sim/control_requests.hpp"

#include <string_view>
#include <vector>

namespace rdp::sim {

namespace asio = net::asio;
using json = nlohmann::json;
using net::error_code;
using net::tcp;

namespace {

constexpr std::size_t max_response = 16 * 1024 * 1024;

// "Connection refused" → "connection refused": the message goes after a colon in a sentence.
std::string lower_first(std::string text) {
  if (!text.empty() && text.front() >= 'A' && text.front() <= 'Z') text.front() = static_cast<char>(text.front() - 'A' + 'a');
  return text;
}

std::string describe(const error_code& ec, net::milliseconds timeout) {
  if (ec == net::errc::timed_out) {
    return "no answer within " + net::format_duration(timeout);
  }
  return lower_first(ec.message());
}

asio::awaitable<void> call_control_coro(net::host_port where, std::string line, net::milliseconds timeout,
                                        control_call_result* result) {
  const auto executor = co_await asio::this_coro::executor;
  const auto place = "rdpsim control at " + where.text();
  auto fail = [&](error_code ec, const std::string& prefix) {
    result->ec = ec;
    result->error = prefix + place + ": " + describe(ec, timeout);
  };
  auto [resolve_ec, resolved] = co_await net::resolve(where.host, where.port, timeout);
  if (resolve_ec) {
    fail(resolve_ec, "cannot reach ");
    co_return;
  }
  // A name is only ever "localhost" (call_control refused every other one): its loopback addresses, nothing else.
  std::vector<tcp::endpoint> endpoints;
  for (const auto& endpoint : resolved)
    if (endpoint.address().is_loopback()) endpoints.push_back(endpoint);
  if (endpoints.empty()) {
    result->ec = make_error_code(boost::system::errc::invalid_argument);
    result->error = "'localhost' does not resolve to a loopback address here: give 127.0.0.1 or ::1";
    co_return;
  }
  tcp::socket socket(executor);
  auto [connect_ec, reached] = co_await net::connect_first(socket, std::move(endpoints), timeout);
  (void)reached;
  if (connect_ec) {
    fail(connect_ec, "cannot reach ");
    co_return;
  }
  if (const auto write_ec = co_await net::send(socket, line, timeout)) {
    fail(write_ec, "cannot send to ");
    co_return;
  }
  std::string buffer;
  auto [read_ec, n] = co_await net::with_deadline(
      asio::async_read_until(socket, asio::dynamic_buffer(buffer, max_response), '\n', net::use_tuple), timeout);
  if (read_ec) {
    if (read_ec == asio::error::eof || read_ec == asio::error::connection_reset) {
      result->ec = make_error_code(net::errc::peer_closed);
      result->error = place + " closed the connection without answering";
    } else {
      fail(read_ec, "no response from ");
    }
    co_return;
  }
  auto response = json::parse(std::string_view(buffer.data(), n), nullptr, false);
  if (response.is_discarded() || !response.is_object() || !response.contains("ok")) {
    result->ec = make_error_code(boost::system::errc::bad_message);
    result->error = place + " answered with something that is not a control response (is it rdpsim's control port?)";
    co_return;
  }
  result->response = std::move(response);
}

}  // namespace

control_call_result call_control(const net::host_port& where, const json& request, net::milliseconds timeout) {
  control_call_result result;
  // The control interface only ever listens on loopback (the server refuses anything else): a request, token
  // included, must never go anywhere else — not to a typo, not to a name that DNS could answer with any address.
  error_code literal_ec;
  const auto literal = asio::ip::make_address(where.host, literal_ec);
  if (where.host != "localhost" && (literal_ec || !literal.is_loopback())) {
    result.ec = make_error_code(boost::system::errc::invalid_argument);
    result.error = "--control " + where.text() +
                   " is not a loopback address: rdpsim's control interface is only on 127.0.0.0/8 or ::1 (or "
                   "localhost), so rdpsim ctl talks to nothing else and sends its token nowhere else";
    return result;
  }
  asio::io_context io(1);
  // net::spawn logs an exception (a bug) and always reports; the caller gets it as an error, never a silent result.
  net::spawn(io.get_executor(), call_control_coro(where, to_response_line(request), timeout, &result),
             "rdpsim ctl: the request to " + where.text(), [&](std::exception_ptr e) {
               if (!e) return;
               result.ec = make_error_code(boost::system::errc::io_error);
               result.error = "rdpsim control at " + where.text() + ": internal error: " + net::describe_exception(e);
             });
  io.run();
  return result;
}

}  // namespace rdp::sim
