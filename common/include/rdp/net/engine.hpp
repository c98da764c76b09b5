#pragma once
// The one engine that performs a connection state machine's actions (protocol/sequence.hpp) on a TCP socket, and on
// TLS over it once the machine asks for start_tls. The machine decides everything — what to write, when to read, every
// deadline, how to close; the engine only moves bytes and reports what happened, with the time it happened on the
// steady clock. One engine serves rdpsim's sessions, rdpprobe's exchanges and the product client, as Boost.MySQL's
// detail/engine_impl.hpp serves all of its sans-I/O algorithms.
//
// Usage: `sequence_engine engine(socket, options); co_await engine.run(machine, on_notify);` where `on_notify(machine)`
// runs for each notify action (without suspending) before the machine is resumed with notified.
//
// sequence_engine is basic_sequence_engine<tcp::socket, steady_clock>. A test runs the same engine on an in-memory
// stream and a clock it moves by hand — basic_sequence_engine<memory_stream, manual_clock> (memory_stream.hpp,
// manual_clock.hpp) — so a driver's timeouts, splits and errors are tested without sockets or sleeping. What differs
// between stream types is found by overload: read_tcp_info and close_with_reset (tcp_info.hpp, drain.hpp; a
// memory_stream's own), and the TLS that start_tls runs (started_tls below).
#include "rdp/net/buffered_tls.hpp"
#include "rdp/net/deadline.hpp"
#include "rdp/net/drain.hpp"
#include "rdp/net/lean_tls.hpp"
#include "rdp/net/tcp_info.hpp"
#include "rdp/net/tls.hpp"
#include "rdp/protocol/sequence.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <type_traits>
#include <variant>
#include <vector>

namespace rdp::net {

// Lets an owner end a machine's wakeable wait from elsewhere on the same executor (an admin request, a new policy).
// A wake that comes while the engine is not waiting (it is writing) is kept and seen at the next wakeable read, so
// none is lost.
class wake_signal {
 public:
  explicit wake_signal(asio::any_io_executor executor) : timer_(executor, clock::time_point::max()) {}
  void wake() {
    pending_ = true;
    timer_.cancel();
  }
  // True once per wake.
  bool take() noexcept {
    const bool was = pending_;
    pending_ = false;
    return was;
  }
  asio::steady_timer& timer() noexcept { return timer_; }

 private:
  asio::steady_timer timer_;
  bool pending_ = false;
};

struct engine_options {
  ssl::context* tls_context = nullptr;  // what start_tls uses; a start_tls without one is an io_error
  ssl::stream_base::handshake_type role = ssl::stream_base::client;
  // Runs on the new SSL object before the handshake: SNI and name checks for a client, SSL_MODE_RELEASE_BUFFERS…
  std::function<void(SSL*)> before_handshake;
  wake_signal* wake = nullptr;  // required for machines that ask for wakeable reads
  std::size_t drain_max_bytes = std::numeric_limits<std::size_t>::max();  // a graceful close reads at most this much
};

using tls_stream = ssl::stream<tcp::socket&>;

// The TLS a start_tls runs on `Stream`: lean_tls on a TCP socket (what production runs), Asio's TLS stream on anything
// else (buffered_tls.hpp).
template <class Stream>
struct started_tls {
  using type = buffered_tls<Stream>;
};
template <>
struct started_tls<tcp::socket> {
  using type = lean_tls;
};

template <class Stream, class Clock = clock>
class basic_sequence_engine {
  static_assert(std::is_same_v<typename Clock::time_point, protocol::sequence::instant>,
                "the machines' instants are steady_clock time points: the clock must use that type");

 public:
  basic_sequence_engine(Stream& socket, engine_options options) : socket_(socket), options_(std::move(options)) {}

  basic_sequence_engine(const basic_sequence_engine&) = delete;
  basic_sequence_engine& operator=(const basic_sequence_engine&) = delete;

  // The TLS session once a start_tls completed, else null. A driver reads OpenSSL's facts (version, cipher, chain,
  // verification) from it after the machine's tls_done; machines started later on the same engine go on over it.
  SSL* tls_handle() noexcept { return started_ ? started_->native_handle() : nullptr; }
  Stream& socket() noexcept { return socket_; }

  // Runs `machine` from its start event to done. Never throws for anything the peer does.
  template <class Machine, class OnNotify>
  asio::awaitable<void> run(Machine& machine, OnNotify on_notify) {
    using namespace protocol::sequence;
    auto act = machine.resume(happened(event_kind::start, Clock::now()));
    for (;;) {
      switch (act.kind) {
        case action_kind::done: co_return;
        case action_kind::notify:
          on_notify(machine);
          act = machine.resume(happened(event_kind::notified, Clock::now()));
          break;
        case action_kind::write: act = machine.resume(co_await write(act)); break;
        case action_kind::read: act = machine.resume(co_await read(act)); break;
        case action_kind::start_tls: act = machine.resume(co_await handshake(act)); break;
        case action_kind::close:
          co_await close(act);
          act = machine.resume(happened(event_kind::closed, Clock::now()));
          break;
      }
    }
  }
  template <class Machine>
  asio::awaitable<void> run(Machine& machine) {
    co_await run(machine, [](Machine&) {});
  }
  // The socket's TCP state as the machine asked to close, before the engine closed it; nullopt until then (or when
  // the socket was already closed, or the stream is not TCP).
  const std::optional<tcp_snapshot>& tcp_at_close() const noexcept { return tcp_at_close_; }

 private:
  using event = protocol::sequence::event;
  using event_kind = protocol::sequence::event_kind;
  using action = protocol::sequence::action;
  using duration = typename Clock::duration;
  using timer = asio::basic_waitable_timer<Clock>;

  static event failure(const error_code& ec) {
    if (ec == errc::timed_out) return protocol::sequence::happened(event_kind::timed_out, Clock::now());
    return protocol::sequence::failed(Clock::now(), ec);
  }

  asio::awaitable<event> write(const action& act) {
    const auto left = act.deadline - Clock::now();
    if (left <= duration::zero()) co_return protocol::sequence::happened(event_kind::timed_out, Clock::now());
    const auto buffer = asio::buffer(act.bytes.data(), act.bytes.size());
    error_code ec;
    if (started_) {
      ec = co_await with_deadline<Clock>(started_->write(act.bytes), left);
    } else {
      auto [write_ec, n] = co_await with_deadline<Clock>(asio::async_write(socket_, buffer, use_tuple), left);
      (void)n;
      ec = write_ec;
    }
    if (ec) co_return failure(ec);
    co_return protocol::sequence::happened(event_kind::written, Clock::now());
  }

  // One read of whatever stream carries the bytes now: the TLS started here, or the socket.
  asio::awaitable<std::tuple<error_code, std::size_t>> read_chunk() {
    if (started_) co_return co_await started_->read_some(chunk_);
    co_return co_await socket_.async_read_some(asio::buffer(chunk_), use_tuple);
  }

  asio::awaitable<event> read(const action& act) {
    auto* wake = act.wakeable ? options_.wake : nullptr;
    if (wake && wake->take()) co_return protocol::sequence::happened(event_kind::woken, Clock::now());
    if (act.deadline <= Clock::now()) co_return protocol::sequence::happened(event_kind::timed_out, Clock::now());
    timer deadline(socket_.get_executor(), act.deadline);
    std::size_t got = 0;
    error_code ec;
    using namespace asio::experimental::awaitable_operators;
    if (wake) {
      auto result = co_await (read_chunk() || deadline.async_wait(use_tuple) || wake->timer().async_wait(use_tuple));
      if (result.index() == 1) co_return protocol::sequence::happened(event_kind::timed_out, Clock::now());
      if (result.index() == 2) {
        wake->timer().expires_at(clock::time_point::max());
        wake->take();
        co_return protocol::sequence::happened(event_kind::woken, Clock::now());
      }
      std::tie(ec, got) = std::get<0>(result);
    } else {
      auto result = co_await (read_chunk() || deadline.async_wait(use_tuple));
      if (result.index() == 1) co_return protocol::sequence::happened(event_kind::timed_out, Clock::now());
      std::tie(ec, got) = std::get<0>(result);
    }
    // Bytes that came with an error (a TLS close after the last record) are delivered first; the error shows at the
    // next read.
    if (got > 0) co_return protocol::sequence::received(Clock::now(), protocol::bytes_view(chunk_.data(), got));
    if (ec) co_return failure(ec);
    co_return protocol::sequence::failed(Clock::now(), make_error_code(asio::error::eof));
  }

  asio::awaitable<event> handshake(const action& act) {
    if (!options_.tls_context) co_return protocol::sequence::failed(Clock::now(), make_error_code(asio::error::no_protocol_option));
    if (started_) co_return protocol::sequence::failed(Clock::now(), make_error_code(asio::error::already_started));
    started_.emplace(socket_, *options_.tls_context);
    if (options_.before_handshake) options_.before_handshake(started_->native_handle());
    const auto left = act.deadline - Clock::now();
    if (left <= duration::zero()) co_return protocol::sequence::happened(event_kind::timed_out, Clock::now());
    const auto ec = co_await with_deadline<Clock>(started_->handshake(options_.role), left);
    if (ec) co_return failure(ec);
    auto done = protocol::sequence::happened(event_kind::tls_done, Clock::now());
    // A client's machine may bind credentials to the server's key (CredSSP, MS-CSSP 3.1.5): it gets the certificate's
    // SubjectPublicKey with the event (sequence.hpp). The server's machine knows its own key.
    if (options_.role == ssl::stream_base::client) {
      peer_public_key_.clear();
      if (X509* peer = SSL_get0_peer_certificate(started_->native_handle())) peer_public_key_ = subject_public_key(peer);
      done.bytes = protocol::bytes_view(peer_public_key_.data(), peer_public_key_.size());
    }
    co_return done;
  }

  asio::awaitable<void> close(const action& act) {
    using protocol::sequence::close_style;
    // Before our own shutdown or drain changes it: had the peer's FIN or RST already come?
    tcp_at_close_ = read_tcp_info(socket_);
    error_code ignored;
    switch (act.close) {
      case close_style::reset: close_with_reset(socket_); co_return;
      case close_style::abrupt: socket_.close(ignored); co_return;
      case close_style::graceful: {
        const auto left = act.deadline - Clock::now();
        if (left > duration::zero()) co_await half_close_and_drain<Clock>(socket_, left, options_.drain_max_bytes);
        socket_.close(ignored);
        co_return;
      }
    }
  }

  Stream& socket_;
  std::optional<tcp_snapshot> tcp_at_close_;
  engine_options options_;
  std::optional<typename started_tls<Stream>::type> started_;  // the TLS this engine started (start_tls)
  std::array<std::uint8_t, 4096> chunk_{};
  std::vector<std::uint8_t> peer_public_key_;  // what the last tls_done event's bytes point into
};

// The engine production runs: a TCP socket, the steady clock.
using sequence_engine = basic_sequence_engine<tcp::socket>;

}  // namespace rdp::net
