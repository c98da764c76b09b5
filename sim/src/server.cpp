#include "rdp/sim/server.hpp"

#include "rdp/net/deadline.hpp"
#include "rdp/net/errors.hpp"
#include "rdp/protocol/x224.hpp"

#include <iostream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace rdp::sim {

namespace asio = net::asio;
using net::error_code;
using net::tcp;

struct server::state {
  server_config config;
  tcp::acceptor acceptor;
  std::optional<asio::ssl::context> tls_context;
  server_counters counters;
  std::set<std::shared_ptr<tcp::socket>> live;  // so stop() can end every connection
  bool stopped = false;

  state(asio::any_io_executor executor, server_config c) : config(std::move(c)), acceptor(executor) {}
};

namespace {

// Reads until the X.224 Connection Request is complete; nullopt if the peer sent something else or went away.
asio::awaitable<std::optional<protocol::x224::connection_request>> read_connection_request(
    std::shared_ptr<tcp::socket> socket, net::milliseconds timeout) {
  protocol::byte_buffer received;
  std::array<std::uint8_t, 1024> chunk{};
  const auto deadline = net::clock::now() + timeout;
  for (;;) {
    auto decoded = protocol::x224::decode_connection_request(received);
    if (decoded) co_return decoded->value;
    if (!protocol::is_need_more(decoded.error())) co_return std::nullopt;
    const auto left = deadline - net::clock::now();
    if (left <= net::clock::duration::zero()) co_return std::nullopt;
    auto [ec, n] = co_await net::with_deadline(socket->async_read_some(asio::buffer(chunk), net::use_tuple), left);
    if (ec) co_return std::nullopt;
    received.insert(received.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
  }
}

// Keeps a connection open, discarding what the client sends, until it closes or stays quiet for `idle`.
template <class Stream>
asio::awaitable<void> hold(Stream& stream, net::milliseconds idle) {
  std::array<std::uint8_t, 4096> chunk{};
  for (;;) {
    auto [ec, n] = co_await net::with_deadline(stream.async_read_some(asio::buffer(chunk), net::use_tuple), idle);
    if (ec) co_return;
  }
}

// After a refusal: half-close and read until the client hangs up (bounded), so the CC is not destroyed by a
// reset caused by unread data (the same reason FREERDP.md 2.4 gives for draining after Set Error Info).
asio::awaitable<void> close_gracefully(std::shared_ptr<tcp::socket> socket) {
  error_code ignored;
  socket->shutdown(tcp::socket::shutdown_send, ignored);
  co_await hold(*socket, net::milliseconds(2000));
}

asio::awaitable<void> serve_connection(std::shared_ptr<server::state> st, std::shared_ptr<tcp::socket> socket) {
  const auto& config = st->config;
  auto request = co_await read_connection_request(socket, config.handshake_timeout);
  if (!request) {
    ++st->counters.bad_requests;
    co_return;
  }
  const auto decision = protocol::decide_negotiation(request->negotiation, config.policy);
  protocol::x224::connection_confirm confirm;
  if (decision.response) confirm.negotiation = *decision.response;
  if (decision.failure) confirm.negotiation = *decision.failure;
  const auto wire = protocol::x224::encode(confirm);
  auto [write_ec, written] = co_await net::with_deadline(asio::async_write(*socket, asio::buffer(wire), net::use_tuple),
                                                         config.handshake_timeout);
  (void)written;
  if (write_ec) co_return;
  if (decision.failure) {
    ++st->counters.refused;
    co_await close_gracefully(socket);
    co_return;
  }
  ++st->counters.negotiated;
  const auto selected = decision.response ? protocol::security_protocol_from_bits(decision.response->selected_protocol)
                                          : std::optional(protocol::security_protocol::rdp);
  if (selected && protocol::uses_tls(*selected) && st->tls_context) {
    asio::ssl::stream<tcp::socket&> tls(*socket, *st->tls_context);
    auto ec = co_await net::with_deadline(tls.async_handshake(asio::ssl::stream_base::server, net::use_tuple),
                                          config.handshake_timeout);
    if (ec) co_return;
    ++st->counters.tls_completed;
    co_await hold(tls, config.hold_timeout);
    co_return;
  }
  co_await hold(*socket, config.hold_timeout);
}

asio::awaitable<void> run_connection(std::shared_ptr<server::state> st, std::shared_ptr<tcp::socket> socket) {
  st->live.insert(socket);
  try {
    co_await serve_connection(st, socket);
  } catch (const std::exception& e) {
    // A failing connection ends itself, never the server (STYLE.md 5).
    std::cerr << "rdpsim: connection ended by an internal error: " << e.what() << "\n";
  }
  error_code ignored;
  socket->close(ignored);
  st->live.erase(socket);
}

asio::awaitable<void> accept_loop(std::shared_ptr<server::state> st) {
  for (;;) {
    auto socket = std::make_shared<tcp::socket>(st->acceptor.get_executor());
    auto [ec] = co_await st->acceptor.async_accept(*socket, net::use_tuple);
    if (st->stopped || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // EMFILE and friends: wait a little rather than spinning on the error.
      asio::steady_timer pause(st->acceptor.get_executor(), net::milliseconds(50));
      co_await pause.async_wait(net::use_tuple);
      continue;
    }
    ++st->counters.accepted;
    error_code ignored;
    socket->set_option(tcp::no_delay(true), ignored);
    asio::co_spawn(st->acceptor.get_executor(), run_connection(st, socket), asio::detached);
  }
}

}  // namespace

server::server(asio::any_io_executor executor, server_config config)
    : state_(std::make_shared<state>(executor, std::move(config))) {
  auto& st = *state_;
  const bool needs_tls = st.config.policy.supported != 0;
  if (needs_tls) {
    if (st.config.identity.certificate_pem.empty())
      throw std::runtime_error("rdpsim: TLS-based protocols are enabled but no certificate was given or generated");
    st.tls_context.emplace(net::make_server_context(st.config.identity));
  }
  error_code ec;
  const auto address = asio::ip::make_address(st.config.listen.host, ec);
  if (ec) throw std::runtime_error("rdpsim: listen address '" + st.config.listen.host + "' is not an IP address");
  const tcp::endpoint endpoint(address, st.config.listen.port);
  st.acceptor.open(endpoint.protocol(), ec);
  if (!ec) st.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) st.acceptor.bind(endpoint, ec);
  if (!ec) st.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("rdpsim: cannot listen on " + st.config.listen.text() + ": " + ec.message());
}

server::~server() = default;

tcp::endpoint server::local_endpoint() const { return state_->acceptor.local_endpoint(); }

void server::start() { asio::co_spawn(state_->acceptor.get_executor(), accept_loop(state_), asio::detached); }

void server::stop() {
  state_->stopped = true;
  error_code ignored;
  state_->acceptor.close(ignored);
  for (const auto& socket : state_->live) socket->close(ignored);
}

const server_counters& server::counters() const noexcept { return state_->counters; }

protocol::server_security_policy parse_policy(const std::string& protocols) {
  protocol::server_security_policy policy;
  policy.supported = 0;
  policy.supports_standard_rdp = false;
  std::stringstream list(protocols);
  std::string name;
  while (std::getline(list, name, ',')) {
    auto p = protocol::parse_security_protocol(name);
    if (!p)
      throw std::invalid_argument("unknown protocol '" + name + "' (expected rdp, tls, credssp, credssp-ex, rdstls, rdsaad)");
    if (*p == protocol::security_protocol::rdp) policy.supports_standard_rdp = true;
    else policy.supported |= protocol::to_bits(*p);
  }
  if (policy.supported == 0 && !policy.supports_standard_rdp) throw std::invalid_argument("no protocol given");
  return policy;
}

}  // namespace rdp::sim
