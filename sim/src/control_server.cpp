// rdpsim's control server: the loopback listener, the connections' budgets and the drain after an error
// (control_server.hpp). Each request line is handed to the handler: handle_control_line (control_requests.cpp) for
// rdpsim, another one for the fault proxy.
#include "rdp/sim/control_server.hpp"

#include "rdp/net/deadline.hpp"
#include "rdp/net/drain.hpp"
#include "rdp/net/errors.hpp"
#include "rdp/net/send.hpp"
#include "rdp/net/spawn.hpp"
#include "rdp/sim/control_requests.hpp"
#include "rdp/sim/control_token.hpp"

#include <iostream>
#include <set>
#include <stdexcept>

namespace rdp::sim {

namespace asio = net::asio;
using json = nlohmann::json;
using net::error_code;
using net::tcp;

struct control_server::state {
  control_config config;
  control_handler handler;
  tcp::acceptor acceptor;
  std::set<std::shared_ptr<tcp::socket>> live;  // so stop() can end every connection
  bool stopped = false;
  bool token_file_written = false;

  state(asio::any_io_executor executor, control_handler h, control_config c)
      : config(std::move(c)), handler(std::move(h)), acceptor(std::move(executor)) {}
};

namespace {

json failure(std::string why) { return json{{"ok", false}, {"error", std::move(why)}}; }

using state_ptr = std::shared_ptr<control_server::state>;

constexpr std::size_t drain_limit = 1024 * 1024;
constexpr net::milliseconds drain_timeout{1000};
constexpr net::milliseconds accept_retry_pause{100};

// Whatever ends a connection's coroutine — its return, an exception, or the io_context destroying the frame — the
// socket is closed and the slot freed. Without this, one exception left a slot taken until rdpsim restarted.
struct connection_slot {
  state_ptr st;
  std::shared_ptr<tcp::socket> socket;
  connection_slot(state_ptr s, std::shared_ptr<tcp::socket> sock) : st(std::move(s)), socket(std::move(sock)) {}
  connection_slot(const connection_slot&) = delete;
  connection_slot& operator=(const connection_slot&) = delete;
  ~connection_slot() {
    error_code ignored;
    socket->close(ignored);
    st->live.erase(socket);
  }
};

asio::awaitable<void> serve_control(state_ptr st, std::shared_ptr<tcp::socket> socket) {
  const connection_slot slot(st, socket);
  const auto& config = st->config;
  std::string buffer;
  bool authenticated = false;
  std::size_t unauthenticated_bytes = 0;  // consumed before the first line with the right token (blank lines too)
  // One deadline at a time, never moved by a blank line: before authentication, auth_timeout from the accept for
  // everything; after it, read_timeout from the last response for the next request line.
  auto deadline = net::clock::now() + config.auth_timeout;
  bool answered_error = false;
  for (;;) {
    const auto left = deadline - net::clock::now();
    if (left <= net::clock::duration::zero()) break;
    // The most the buffer may hold: a whole line and its newline. Before authentication that is what is left of the
    // budget (newlines count), so unauthenticated_bytes never exceeds it.
    const std::size_t room = authenticated ? config.max_line + 1 : config.auth_max_bytes - unauthenticated_bytes;
    auto [ec, n] = room == 0 ? std::tuple<error_code, std::size_t>{asio::error::not_found, 0}
                             : co_await net::with_deadline(asio::async_read_until(*socket,
                                                                                  asio::dynamic_buffer(buffer, room),
                                                                                  '\n', net::use_tuple),
                                                           left);
    if (st->stopped) co_return;
    control_outcome outcome;
    if (ec == asio::error::not_found) {
      outcome.response =
          failure(authenticated ? "request line longer than " + std::to_string(config.max_line) + " bytes"
                                : "more than " + std::to_string(config.auth_max_bytes) +
                                      " bytes before a request with the token");
      outcome.close = true;
    } else if (ec) {
      break;  // closed, reset or silent past the deadline: nothing to answer
    } else {
      if (!authenticated) unauthenticated_bytes += n;
      std::string_view line(buffer.data(), n - 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t") == std::string_view::npos) {
        buffer.erase(0, n);
        continue;  // a blank line: ignored, and the deadline stays where it is
      }
      outcome = st->handler(config.token, line);
      buffer.erase(0, n);
      if (outcome.authenticated) authenticated = true;
    }
    const auto out = to_response_line(outcome.response);
    const auto write_ec = co_await net::send(*socket, out, config.read_timeout);
    if (write_ec || st->stopped) co_return;
    if (outcome.close) {
      answered_error = true;
      break;
    }
    if (authenticated) deadline = net::clock::now() + config.read_timeout;
  }
  // Half-closed and drained — 1 MiB and 1 s in all, not per read — so that the response is not destroyed by a reset
  // that unread input (the rest of an oversized line, pipelined requests) would cause, and a trickling client cannot
  // keep the slot.
  if (answered_error && !st->stopped) co_await net::half_close_and_drain(*socket, drain_timeout, drain_limit);
}

// One more connection than allowed: told why and closed at once. A non-blocking write of one short line into a
// fresh socket's empty send buffer completes or fails immediately, so no coroutine is held open for it.
void refuse_busy(const state_ptr& st, tcp::socket& socket) {
  error_code ignored;
  socket.non_blocking(true, ignored);
  const auto out = to_response_line(
      failure("too many control connections (at most " + std::to_string(st->config.max_connections) + ")"));
  socket.write_some(asio::buffer(out), ignored);
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

asio::awaitable<void> accept_control(state_ptr st) {
  for (;;) {
    auto socket = std::make_shared<tcp::socket>(st->acceptor.get_executor());
    auto [ec] = co_await st->acceptor.async_accept(*socket, net::use_tuple);
    if (st->stopped || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors and the like: wait a little instead of spinning on the error.
      asio::steady_timer pause(st->acceptor.get_executor(), accept_retry_pause);
      co_await pause.async_wait(net::use_tuple);
      if (st->stopped) co_return;
      continue;
    }
    if (st->config.after_accept) st->config.after_accept();
    if (st->live.size() >= st->config.max_connections) {
      refuse_busy(st, *socket);
      continue;
    }
    st->live.insert(socket);
    net::spawn(st->acceptor.get_executor(), serve_control(st, socket), "rdpsim: control connection");
  }
}

// The accept loop ends only when the server stops. If it ends otherwise (an exception: a bug), that is said on
// stderr and the loop starts again after a pause, so the control interface never goes deaf without a word
// (docs/control.md).
void start_accept_loop(const state_ptr& st) {
  net::spawn(st->acceptor.get_executor(), accept_control(st), "rdpsim: control accept loop",
             [weak = std::weak_ptr(st)](std::exception_ptr) {
               auto alive = weak.lock();
               if (!alive || alive->stopped) return;
               std::cerr << "rdpsim: the control interface stopped accepting connections unexpectedly; accepting "
                            "again in "
                         << accept_retry_pause.count() << " ms\n";
               auto timer = std::make_shared<asio::steady_timer>(alive->acceptor.get_executor(), accept_retry_pause);
               timer->async_wait([timer, weak](const error_code&) {
                 auto again = weak.lock();
                 if (again && !again->stopped) start_accept_loop(again);
               });
             });
}

asio::ip::address loopback_address(const net::host_port& listen) {
  if (listen.host == "localhost") return asio::ip::address_v4::loopback();
  error_code ec;
  const auto address = asio::ip::make_address(listen.host, ec);
  if (ec)
    throw std::invalid_argument("control address '" + listen.host +
                                "' is not an IP address (the control interface listens on loopback only: 127.0.0.1 "
                                "or ::1)");
  if (!address.is_loopback())
    throw std::invalid_argument("control address " + listen.text() +
                                " is not a loopback address: the control interface accepts only 127.0.0.0/8 or ::1, "
                                "because anyone who reaches it can end sessions");
  return address;
}

}  // namespace

control_server::control_server(asio::any_io_executor executor, session_admin& admin, control_config config)
    : control_server(
          std::move(executor),
          [&admin](std::string_view token, std::string_view line) { return handle_control_line(admin, token, line); },
          std::move(config)) {}

control_server::control_server(asio::any_io_executor executor, control_handler handler, control_config config)
    : state_(std::make_shared<state>(std::move(executor), std::move(handler), std::move(config))) {
  auto& st = *state_;
  const tcp::endpoint endpoint(loopback_address(st.config.listen), st.config.listen.port);
  if (st.config.max_connections == 0) throw std::invalid_argument("control: max_connections must be at least 1");
  if (st.config.auth_max_bytes == 0) throw std::invalid_argument("control: auth_max_bytes must be at least 1");
  if (st.config.token.empty()) st.config.token = make_control_token();
  error_code ec;
  st.acceptor.open(endpoint.protocol(), ec);
  if (!ec) st.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) st.acceptor.bind(endpoint, ec);
  if (!ec) st.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("rdpsim: cannot listen for control on " + st.config.listen.text() + ": " + ec.message());
  if (!st.config.token_file.empty()) {
    write_token_file(st.config.token_file, st.config.token);
    st.token_file_written = true;
  }
}

control_server::~control_server() { stop(); }

tcp::endpoint control_server::local_endpoint() const { return state_->acceptor.local_endpoint(); }

const std::string& control_server::token() const noexcept { return state_->config.token; }

void control_server::start() { start_accept_loop(state_); }

void control_server::stop() {
  auto& st = *state_;
  st.stopped = true;
  error_code ignored;
  st.acceptor.close(ignored);
  for (const auto& socket : st.live) socket->close(ignored);
  if (st.token_file_written) {
    st.token_file_written = false;
    remove_token_file(st.config.token_file, st.config.token);
  }
}

}  // namespace rdp::sim
