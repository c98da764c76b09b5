#pragma once
// Test helper: a TCP relay on 127.0.0.1:<free port> in front of 127.0.0.1:<upstream>, on a thread of its own, that
// records each client connection as the client's side of it saw it (rdp::capture::tcp_flow): the bytes it read from
// the client, the bytes it wrote to the client, each with when, and how each side closed (FIN or RST). What the fault
// proxy records, without faults, for tests of the pcap writer against real RDP traffic.
#include "rdp/capture/flow.hpp"
#include "rdp/net/asio.hpp"
#include "rdp/net/listen.hpp"
#include "rdp/net/send.hpp"
#include "rdp/net/spawn.hpp"

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace rdp::test {

class recording_relay {
 public:
  explicit recording_relay(std::uint16_t upstream_port) : upstream_port_(upstream_port), work_(io_.get_executor()) {
    acceptor_ = std::make_unique<net::tcp::acceptor>(net::open_listener(
        io_.get_executor(), {net::asio::ip::make_address("127.0.0.1"), 0}, "recording relay"));
    port_ = acceptor_->local_endpoint().port();
    net::spawn(io_.get_executor(), accept_loop(this), "recording relay: accept");
    thread_ = std::thread([this] { io_.run(); });
  }
  ~recording_relay() {
    // Every socket closed ends every pending operation, so the thread's run() returns.
    net::asio::post(io_, [this] {
      net::error_code ignored;
      acceptor_->close(ignored);
      std::lock_guard lock(mutex_);
      for (auto& c : connections_) {
        c->client.close(ignored);
        c->server.close(ignored);
      }
      work_.reset();
    });
    thread_.join();
  }
  std::uint16_t port() const { return port_; }

  // The flows of the first `count` connections once both directions of each have ended (FIN or RST each way, or a
  // reset either way), waiting at most `limit`; fewer when the limit passed first.
  std::vector<capture::tcp_flow> finished_flows(std::size_t count, std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, limit, [&] { return finished_ >= count; });
    std::vector<capture::tcp_flow> out;
    for (const auto& c : connections_)
      if (c->done) out.push_back(c->flow);
    return out;
  }

 private:
  struct connection {
    net::tcp::socket client, server;
    capture::tcp_flow flow;
    int open_directions = 2;
    bool done = false;
    connection(net::tcp::socket c, net::asio::any_io_executor ex) : client(std::move(c)), server(ex) {}
  };

  // The relay stops on the destructor's close(); 64 connections are more than any test makes.
  static net::asio::awaitable<void> accept_loop(recording_relay* self) {
    for (int accepted = 0; accepted < 64; ++accepted) {
      auto [ec, socket] = co_await self->acceptor_->async_accept(net::use_tuple);
      if (ec) co_return;
      auto c = std::make_shared<connection>(std::move(socket), self->io_.get_executor());
      {
        std::lock_guard lock(self->mutex_);
        self->connections_.push_back(c);
      }
      net::spawn(self->io_.get_executor(), relay_connection(self, c), "recording relay: connection");
    }
  }

  static net::asio::awaitable<void> relay_connection(recording_relay* self, std::shared_ptr<connection> c) {
    const auto client_end = c->client.remote_endpoint();
    c->flow.client.port = client_end.port();
    c->flow.server.port = self->upstream_port_;
    c->flow.opened = std::chrono::system_clock::now();
    auto [ec] = co_await c->server.async_connect({net::asio::ip::make_address("127.0.0.1"), self->upstream_port_},
                                                  net::use_tuple);
    if (ec) {
      // The client saw its connection accepted, then reset.
      self->record(*c, capture::direction::from_server, capture::flow_event_kind::reset, {});
      c->client.set_option(net::asio::socket_base::linger(true, 0));
      c->client.close();
      self->finish(*c, 2);
      co_return;
    }
    net::spawn(self->io_.get_executor(), pump(self, c, capture::direction::from_client), "recording relay: pump");
    net::spawn(self->io_.get_executor(), pump(self, c, capture::direction::from_server), "recording relay: pump");
  }

  // Copies one direction until its end; the end is recorded as the client's socket saw it.
  static net::asio::awaitable<void> pump(recording_relay* self, std::shared_ptr<connection> c,
                                         capture::direction from) {
    auto& in = from == capture::direction::from_client ? c->client : c->server;
    auto& out = from == capture::direction::from_client ? c->server : c->client;
    std::array<std::uint8_t, 16384> buffer{};
    // Bounded: a test's connection moves far less than 64 MiB in 16 KiB reads.
    for (int reads = 0; reads < 4096; ++reads) {
      auto [ec, n] = co_await in.async_read_some(net::asio::buffer(buffer), net::use_tuple);
      if (n > 0) {
        self->record(*c, from, capture::flow_event_kind::data, {buffer.data(), n});
        if (co_await net::send(out, std::span<const std::uint8_t>(buffer.data(), n), std::chrono::seconds(10))) {
          ec = net::asio::error::connection_reset;
        }
      }
      if (ec == net::asio::error::eof) {
        self->record(*c, from, capture::flow_event_kind::fin, {});
        net::error_code ignored;
        out.shutdown(net::tcp::socket::shutdown_send, ignored);
        self->finish(*c, 1);
        co_return;
      }
      if (ec) {
        // A reset (or an error): passed on as a reset, and both directions end.
        self->record(*c, from, capture::flow_event_kind::reset, {});
        net::error_code ignored;
        out.set_option(net::asio::socket_base::linger(true, 0), ignored);
        out.close(ignored);
        in.close(ignored);
        self->finish(*c, 2);
        co_return;
      }
    }
  }

  void record(connection& c, capture::direction from, capture::flow_event_kind kind,
              std::span<const std::uint8_t> bytes) {
    std::lock_guard lock(mutex_);
    if (c.done) return;
    capture::flow_event e;
    e.at = std::chrono::system_clock::now();
    e.from = from;
    e.kind = kind;
    e.bytes.assign(bytes.begin(), bytes.end());
    c.flow.events.push_back(std::move(e));
  }
  void finish(connection& c, int directions) {
    std::lock_guard lock(mutex_);
    if (c.done) return;
    c.open_directions -= directions;
    if (c.open_directions <= 0) {
      c.done = true;
      ++finished_;
      changed_.notify_all();
    }
  }

  std::uint16_t upstream_port_;
  net::asio::io_context io_;
  net::asio::executor_work_guard<net::asio::io_context::executor_type> work_;
  std::unique_ptr<net::tcp::acceptor> acceptor_;
  std::uint16_t port_ = 0;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::shared_ptr<connection>> connections_;
  std::size_t finished_ = 0;
  std::thread thread_;
};

}  // namespace rdp::test
