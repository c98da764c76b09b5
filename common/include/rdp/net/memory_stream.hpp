#pragma once
// Two connected in-memory byte streams, so that a driver (the engine, engine.hpp, and the machines it runs) is tested
// for splits, errors and endings without a socket: what one end writes, the other reads. A test cuts reads and writes
// into pieces (read_size, write_size), makes every operation from the n-th on fail (fail_after, Beast's fail_count),
// and ends the stream with a FIN (shutdown), an RST (close_with_reset) or a close, with TCP's meaning for each.
//
// Beast's test::stream is the model. We do not use it because its reads ignore per-operation cancellation: a read
// raced against a deadline with `||` (the engine, deadline.hpp) would then never end. These reads end with
// operation_aborted when cancelled, as a socket's do.
//
// Single-threaded: both ends are used from the thread that runs their executor. Completions are posted, never run
// inside the call that starts the operation, and a waiting read keeps its io_context running, as a socket's does.
#include "rdp/net/asio.hpp"
#include "rdp/net/tcp_info.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <utility>
#include <vector>

namespace rdp::net {

namespace detail {

// A read waiting for bytes, whatever its completion handler's type.
class memory_read {
 public:
  explicit memory_read(asio::mutable_buffer into) : into_(into) {}
  virtual ~memory_read() = default;
  asio::mutable_buffer into() const noexcept { return into_; }
  // Posts the completion and detaches from the handler's cancellation slot.
  virtual void complete(error_code ec, std::size_t n) = 0;
  // The same, from inside the slot's own cancellation handler, which must not be cleared while it runs.
  virtual void complete_cancelled() = 0;

 private:
  asio::mutable_buffer into_;
};

// One direction of the pair: what one end has yet to read.
struct memory_direction {
  std::deque<std::uint8_t> bytes;
  error_code end;  // asio::error::eof after the writer's FIN, connection_reset after its RST; reported after the bytes
  std::unique_ptr<memory_read> waiting;
};

struct memory_end {
  bool open = true;
  bool sending = true;  // false after shutdown(shutdown_send)
  std::size_t read_size = std::numeric_limits<std::size_t>::max();
  std::size_t write_size = std::numeric_limits<std::size_t>::max();
  std::size_t operations = 0;  // reads and writes started
  std::optional<std::size_t> fail_from;  // operations from this count on fail with fail_with
  error_code fail_with;
};

struct memory_link {
  asio::any_io_executor executor;
  std::array<memory_direction, 2> into;  // into[i]: what end i reads
  std::array<memory_end, 2> ends;

  // Completes end `side`'s waiting read if bytes or the end of the stream are there for it.
  void serve(std::size_t side) {
    auto& in = into[side];
    if (!in.waiting) return;
    if (!in.bytes.empty()) {
      const auto n = std::min({in.waiting->into().size(), in.bytes.size(), ends[side].read_size});
      std::copy_n(in.bytes.begin(), n, static_cast<std::uint8_t*>(in.waiting->into().data()));
      in.bytes.erase(in.bytes.begin(), in.bytes.begin() + static_cast<std::ptrdiff_t>(n));
      auto read = std::move(in.waiting);
      read->complete({}, n);
    } else if (in.end) {
      auto read = std::move(in.waiting);
      read->complete(in.end, 0);
    }
  }
  // Counts an operation of end `side`; true when it is one that must fail.
  bool fails(std::size_t side) {
    auto& end = ends[side];
    return end.fail_from && end.operations++ >= *end.fail_from;
  }
};

struct memory_read_canceller {
  std::weak_ptr<memory_link> link;
  std::size_t side = 0;
  // Any cancellation type: a read that has transferred nothing can always stop.
  void operator()(asio::cancellation_type) const {
    if (auto l = link.lock()) {
      if (auto read = std::move(l->into[side].waiting)) read->complete_cancelled();
    }
  }
};

template <class Handler>
class memory_read_of final : public memory_read {
 public:
  memory_read_of(Handler handler, asio::mutable_buffer into, const asio::any_io_executor& io)
      : memory_read(into),
        handler_(std::move(handler)),
        work_(asio::prefer(asio::get_associated_executor(handler_, io), asio::execution::outstanding_work.tracked)) {}

  void complete(error_code ec, std::size_t n) override {
    auto slot = asio::get_associated_cancellation_slot(handler_);
    if (slot.is_connected()) slot.clear();
    post(ec, n);
  }
  void complete_cancelled() override { post(asio::error::operation_aborted, 0); }
  void cancel_through(std::weak_ptr<memory_link> link, std::size_t side) {
    auto slot = asio::get_associated_cancellation_slot(handler_);
    if (slot.is_connected()) slot.template emplace<memory_read_canceller>(memory_read_canceller{std::move(link), side});
  }

 private:
  void post(error_code ec, std::size_t n) {
    asio::post(work_, [handler = std::move(handler_), ec, n]() mutable { std::move(handler)(ec, n); });
  }
  Handler handler_;
  std::decay_t<decltype(asio::prefer(std::declval<asio::associated_executor_t<Handler, asio::any_io_executor>>(),
                                     asio::execution::outstanding_work.tracked))>
      work_;
};

}  // namespace detail

class memory_stream {
 public:
  using executor_type = asio::any_io_executor;
  using lowest_layer_type = memory_stream;  // what asio::ssl::stream asks of the stream it wraps

  // Two connected ends on `executor`.
  static std::pair<memory_stream, memory_stream> connected_pair(executor_type executor) {
    auto link = std::make_shared<detail::memory_link>();
    link->executor = std::move(executor);
    return {memory_stream(link, 0), memory_stream(link, 1)};
  }

  memory_stream(memory_stream&&) noexcept = default;
  memory_stream& operator=(memory_stream&&) = delete;
  ~memory_stream() {
    error_code ignored;
    if (link_) close(ignored);
  }

  executor_type get_executor() const noexcept { return link_->executor; }
  memory_stream& lowest_layer() noexcept { return *this; }
  bool is_open() const noexcept { return me().open; }

  // ---- What a socket does, as the engine and asio::ssl::stream use it ----------------------------------------------
  // Some bytes (at most read_size), or: eof once the other end's FIN or close has come and every byte before it was
  // read, connection_reset after its RST (after the bytes it had sent), operation_aborted when cancelled or closed
  // here, bad_descriptor on a closed end.
  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
        [](auto handler, memory_stream* self, asio::mutable_buffer into) { self->start_read(std::move(handler), into); },
        token, this, first_buffer(buffers));
  }
  // At most write_size bytes, placed at once where the other end reads them; broken_pipe once this end has shut down
  // sending or the other end has closed (simpler than TCP, where the first write after the peer's close may pass).
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
        [](auto handler, memory_stream* self, const ConstBuffers& data) {
          auto [ec, n] = self->write(data);
          auto executor = asio::get_associated_executor(handler, self->get_executor());
          asio::post(executor, [handler = std::move(handler), ec = ec, n = n]() mutable { std::move(handler)(ec, n); });
        },
        token, this, buffers);
  }
  // shutdown_send is a FIN: the other end reads eof after the bytes sent before it.
  void shutdown(asio::socket_base::shutdown_type what, error_code& ec) {
    ec = {};
    if (!me().open) {
      ec = asio::error::bad_descriptor;
      return;
    }
    if (what == asio::socket_base::shutdown_receive || !me().sending) return;
    me().sending = false;
    end_peer_stream(asio::error::eof);
  }
  // Cancels a waiting read here. The other end reads eof (a FIN) — or connection_reset if bytes sent to this end were
  // still unread, since a kernel then answers with an RST (RFC 2525 2.17), which is why a graceful close drains.
  void close(error_code& ec) {
    ec = {};
    if (!me().open) return;
    me().open = false;
    if (auto read = std::move(link_->into[side_].waiting)) read->complete(asio::error::operation_aborted, 0);
    auto& unread = link_->into[side_].bytes;
    end_peer_stream(unread.empty() ? error_code(asio::error::eof) : error_code(asio::error::connection_reset));
    unread.clear();
  }
  // The close of a socket with SO_LINGER 0 (drain.hpp's close_with_reset for TCP): the other end reads
  // connection_reset after the bytes already sent.
  friend void close_with_reset(memory_stream& stream) {
    stream.end_peer_stream(asio::error::connection_reset);
    error_code ignored;
    stream.close(ignored);
  }
  // Not TCP: there is no kernel state to read (the engine's tcp_at_close() stays nullopt).
  friend std::optional<tcp_snapshot> read_tcp_info(memory_stream&) { return std::nullopt; }

  // ---- Faults ---------------------------------------------------------------------------------------------------
  // Each read here returns at most `n` bytes (n >= 1): the stream arrives split.
  void read_size(std::size_t n) { me().read_size = std::max<std::size_t>(n, 1); }
  // Each write_some here takes at most `n` bytes (n >= 1).
  void write_size(std::size_t n) { me().write_size = std::max<std::size_t>(n, 1); }
  // The next `operations` reads and writes here go as usual; every one after them fails with `ec`.
  void fail_after(std::size_t operations, error_code ec) {
    me().fail_from = me().operations + operations;
    me().fail_with = ec;
  }

  // ---- The test's side, without asynchronous calls ----------------------------------------------------------------
  // `bytes` reach the other end at once, whole. Sending on an end that cannot is a bug in the test: logic_error.
  void send(std::span<const std::uint8_t> bytes) {
    if (!me().open || !me().sending || !peer().open) throw std::logic_error("memory_stream::send on an ended stream");
    auto& out = link_->into[1 - side_].bytes;
    out.insert(out.end(), bytes.begin(), bytes.end());
    link_->serve(1 - side_);
  }
  // The bytes that arrived here and were not read, taken.
  std::vector<std::uint8_t> take_received() {
    auto& in = link_->into[side_].bytes;
    std::vector<std::uint8_t> taken(in.begin(), in.end());
    in.clear();
    return taken;
  }
  // How the other end ended what it sends here: eof (a FIN or a close), connection_reset (an RST), or nothing yet.
  error_code incoming_end() const noexcept { return link_->into[side_].end; }

 private:
  memory_stream(std::shared_ptr<detail::memory_link> link, std::size_t side) : link_(std::move(link)), side_(side) {}

  detail::memory_end& me() const noexcept { return link_->ends[side_]; }
  detail::memory_end& peer() const noexcept { return link_->ends[1 - side_]; }

  // The first buffer that can take bytes, as a socket's read_some fills; an empty one when none can.
  template <class MutableBuffers>
  static asio::mutable_buffer first_buffer(const MutableBuffers& buffers) {
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it) {
      asio::mutable_buffer b(*it);
      if (b.size() > 0) return b;
    }
    return {};
  }

  template <class Handler>
  void start_read(Handler handler, asio::mutable_buffer into) {
    auto read = std::make_unique<detail::memory_read_of<Handler>>(std::move(handler), into, link_->executor);
    if (!me().open) return read->complete(asio::error::bad_descriptor, 0);
    if (link_->fails(side_)) return read->complete(me().fail_with, 0);
    if (into.size() == 0) return read->complete({}, 0);
    auto& in = link_->into[side_];
    if (in.waiting) throw std::logic_error("memory_stream: a second read while one is waiting");
    read->cancel_through(link_, side_);
    in.waiting = std::move(read);
    link_->serve(side_);
  }

  template <class ConstBuffers>
  std::pair<error_code, std::size_t> write(const ConstBuffers& buffers) {
    if (!me().open) return {asio::error::bad_descriptor, 0};
    if (link_->fails(side_)) return {me().fail_with, 0};
    std::size_t left = std::min(asio::buffer_size(buffers), me().write_size);
    if (left == 0) return {{}, 0};
    if (!me().sending || !peer().open) return {asio::error::broken_pipe, 0};
    auto& out = link_->into[1 - side_].bytes;
    const std::size_t n = left;
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers) && left > 0; ++it) {
      asio::const_buffer b(*it);
      const auto take = std::min(left, b.size());
      const auto* data = static_cast<const std::uint8_t*>(b.data());
      out.insert(out.end(), data, data + take);
      left -= take;
    }
    link_->serve(1 - side_);
    return {{}, n};
  }

  // The other end will read `how` after the bytes already sent; a reset overrides an earlier FIN.
  void end_peer_stream(error_code how) {
    auto& end = link_->into[1 - side_].end;
    if (!end || how == asio::error::connection_reset) end = how;
    me().sending = false;
    link_->serve(1 - side_);
  }

  std::shared_ptr<detail::memory_link> link_;
  std::size_t side_ = 0;
};

}  // namespace rdp::net
