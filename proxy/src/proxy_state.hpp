#pragma once
// The fault proxy's shared internals (private to proxy/src): the proxy's state (fault_proxy::state) and one relayed
// connection's. Every file of the relay works on these; everything runs on the proxy's one executor, so neither needs
// a lock.
#include "rdp/proxy/fault_policy.hpp"
#include "rdp/proxy/fault_proxy.hpp"

#include "rdp/net/asio.hpp"
#include "rdp/protocol/stream_phase.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace rdp::proxy {

namespace detail {

// One client connection and its upstream connection, from accept to finish (connection_end.hpp).
struct connection {
  connection_id id;
  net::tcp::socket client, server;
  fault_policy policy;  // every fault decision of this flow
  protocol::stream_phase::tracker tracker;
  net::asio::ip::address source;  // the client's address: what the per-source limit counts
  // fault_timer waits for the policy's next_timer; a phase or a fault change cancels it, so the watch asks again.
  net::asio::steady_timer fault_timer, half_close_timer;
  // One per way, for the policy's waits between writes; a fault change cancels them, so a pump asks again.
  std::array<net::asio::steady_timer, 2> pace_timers;
  bool finished = false;
  bool client_closed = false, server_closed = false;  // by the proxy
  bool fin_to_client = false;                         // the proxy shut the client socket's sending side
  bool half_closed = false;                           // one side's FIN was passed on: the other must follow
  int pumps = 0;  // still running; when both have ended, so has the connection
  std::uint64_t from_client = 0, from_server = 0;
  std::uint16_t upstream_port = 0;
  std::string client_text;
  capture::tcp_flow flow;
  std::size_t recorded = 0;
  bool recording = false;

  connection(connection_id i, net::tcp::socket c, const net::asio::any_io_executor& ex, const fault_change& faults,
             std::uint64_t seed)
      : id(i),
        client(std::move(c)),
        server(ex),
        policy(faults, net::clock::now(), seed),
        fault_timer(ex),
        half_close_timer(ex),
        pace_timers{{net::asio::steady_timer(ex), net::asio::steady_timer(ex)}} {}
};
using connection_ptr = std::shared_ptr<connection>;

// "127.0.0.1:50123": how events and connection_info name an endpoint.
inline std::string endpoint_text(const net::tcp::endpoint& ep) {
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace detail

struct fault_proxy::state {
  net::asio::any_io_executor executor;
  proxy_config config;
  net::tcp::acceptor acceptor;
  net::tcp::endpoint bound;
  fault_change faults;
  std::map<connection_id, detail::connection_ptr> live;
  std::map<net::asio::ip::address, std::size_t> per_source;  // live connections by client address
  std::set<std::shared_ptr<net::tcp::socket>> answering;  // refused connections being answered (stop() closes them)
  std::vector<capture::tcp_flow> flows;
  proxy_counters counters;
  connection_id next_id = 1;
  bool started = false, stopped = false, listening = false;
  net::asio::steady_timer listener_timer;
  std::mt19937_64 random{std::random_device{}()};  // each connection's jitter seed

  state(net::asio::any_io_executor ex, proxy_config c)
      : executor(ex), config(std::move(c)), acceptor(ex), listener_timer(ex) {}

  // Stamps the event and hands it to config.on_event (proxy_events.cpp); nothing after stop().
  void emit(proxy_event e);
  // An event of one connection, with its byte counts so far.
  void emit(const detail::connection& c, event_kind kind, std::string detail = {});
  void emit_closed(const detail::connection& c, closer who, close_how how, std::optional<closer> toward,
                   std::string detail);
};

namespace detail {
using state_ptr = std::shared_ptr<fault_proxy::state>;
}  // namespace detail

}  // namespace rdp::proxy
