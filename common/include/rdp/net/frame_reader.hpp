#pragma once
// Whole RDP frames (TPKT or fast-path) from a byte stream, with a deadline per frame. It keeps what it has read
// past the current frame: a client sends several PDUs back to back (Synchronize, Control, Control, Font List), and a
// reader that dropped its buffer after each frame would lose them.
#include "rdp/net/asio.hpp"
#include "rdp/net/errors.hpp"
#include "rdp/protocol/tpkt.hpp"

#include <array>
#include <optional>

namespace rdp::net {

template <class Stream>
class frame_reader {
 public:
  frame_reader(Stream& stream, protocol::tpkt::framing_options options) : stream_(stream), frames_(options) {}

  void set_options(const protocol::tpkt::framing_options& options) { frames_.set_options(options); }

  // The next whole frame. Errors: errc::timed_out, the stream's own (eof, reset, operation_aborted) and the framing
  // errors of protocol::tpkt (sticky: the stream is no longer framed).
  asio::awaitable<boost::system::result<protocol::byte_buffer>> next(clock::duration timeout) {
    const auto deadline = clock::now() + timeout;
    for (;;) {
      if (auto frame = take()) co_return std::move(*frame);
      if (failed_) co_return failed_;
      const auto left = deadline - clock::now();
      if (left <= clock::duration::zero()) co_return make_error_code(errc::timed_out);
      using namespace asio::experimental::awaitable_operators;
      asio::steady_timer timer(co_await asio::this_coro::executor, left);
      auto result = co_await (stream_.async_read_some(asio::buffer(chunk_), use_tuple) || timer.async_wait(use_tuple));
      if (result.index() == 1) co_return make_error_code(errc::timed_out);
      auto [ec, n] = std::get<0>(result);
      if (ec) co_return ec;
      frames_.feed(protocol::bytes_view(chunk_.data(), n));
    }
  }

  // Like next(), but also returns (with an empty optional) when `wake` expires or is cancelled, so one coroutine can
  // both read its peer and act on timers and requests from elsewhere.
  asio::awaitable<boost::system::result<std::optional<protocol::byte_buffer>>> next_or_wake(asio::steady_timer& wake) {
    for (;;) {
      if (auto frame = take()) co_return std::optional<protocol::byte_buffer>(std::move(*frame));
      if (failed_) co_return failed_;
      using namespace asio::experimental::awaitable_operators;
      auto result = co_await (stream_.async_read_some(asio::buffer(chunk_), use_tuple) || wake.async_wait(use_tuple));
      if (result.index() == 1) co_return std::optional<protocol::byte_buffer>();
      auto [ec, n] = std::get<0>(result);
      if (ec) co_return ec;
      frames_.feed(protocol::bytes_view(chunk_.data(), n));
    }
  }

 private:
  std::optional<protocol::byte_buffer> take() {
    auto frame = frames_.next();
    if (frame) return protocol::byte_buffer(frame->bytes.begin(), frame->bytes.end());
    if (!protocol::is_need_more(frame.error())) failed_ = frame.error();
    return std::nullopt;
  }

  Stream& stream_;
  protocol::tpkt::frame_decoder frames_;
  std::array<std::uint8_t, 4096> chunk_{};
  boost::system::error_code failed_;
};

}  // namespace rdp::net
