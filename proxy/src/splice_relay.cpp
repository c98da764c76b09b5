// Splicing one direction (splice_relay.hpp).
#include "splice_relay.hpp"

#include "rdp/net/deadline.hpp"
#include "rdp/net/errors.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace rdp::proxy::detail {

namespace {

using net::clock;
using net::tcp;

struct pipe_fds {
  int read = -1, write = -1;
  pipe_fds() {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0) {
      read = fds[0];
      write = fds[1];
    }
  }
  ~pipe_fds() {
    if (read >= 0) ::close(read);
    if (write >= 0) ::close(write);
  }
  pipe_fds(const pipe_fds&) = delete;
  pipe_fds& operator=(const pipe_fds&) = delete;
};

constexpr std::size_t splice_chunk = 64 * 1024;

}  // namespace

bool may_splice(const connection& c, way w) { return c.tracker.done() && !c.recording && !c.policy.needs_bytes(w); }

net::asio::awaitable<splice_end> splice_pump(state_ptr st, connection_ptr c, way w) {
  namespace asio = net::asio;
  auto& source = w == way::to_server ? c->client : c->server;
  auto& sink = w == way::to_server ? c->server : c->client;
  const pipe_fds pipe;
  if (pipe.read < 0) co_return splice_end{};  // no pipe (out of descriptors): the buffered loop does the work
  net::error_code ignored;
  source.non_blocking(true, ignored);
  sink.non_blocking(true, ignored);
  // Each turn waits for the source once and moves what it has; ends when a fault or the connection's end needs the
  // bytes in hand again. The pipe is empty at the top of every turn.
  while (may_splice(*c, w) && !c->finished) {
    auto [wec] = co_await source.async_wait(tcp::socket::wait_read, net::use_tuple);
    if (c->finished || st->stopped) co_return splice_end{true, asio::error::operation_aborted};
    if (wec) co_return splice_end{true, wec};
    if (!may_splice(*c, w)) break;
    const auto in = ::splice(source.native_handle(), nullptr, pipe.write, nullptr, splice_chunk,
                             SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (in == 0) co_return splice_end{true, asio::error::eof};
    if (in < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      co_return splice_end{true, net::error_code(errno, boost::system::system_category())};
    }
    c->policy.on_spliced(clock::now());
    auto left = static_cast<std::size_t>(in);
    const auto deadline = clock::now() + st->config.write_timeout;
    while (left > 0) {
      const auto out = ::splice(pipe.read, nullptr, sink.native_handle(), nullptr, left, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (out > 0) {
        left -= static_cast<std::size_t>(out);
        continue;
      }
      if (out < 0 && errno != EAGAIN && errno != EINTR)
        co_return splice_end{false, net::error_code(errno, boost::system::system_category())};
      const auto wait = deadline - clock::now();
      if (wait <= clock::duration::zero()) co_return splice_end{false, net::errc::timed_out};
      auto ec = co_await net::with_deadline(sink.async_wait(tcp::socket::wait_write, net::use_tuple), wait);
      if (c->finished || st->stopped) co_return splice_end{false, asio::error::operation_aborted};
      if (ec) co_return splice_end{false, ec};
    }
    const auto n = static_cast<std::uint64_t>(in);
    (w == way::to_server ? c->from_client : c->from_server) += n;
    (w == way::to_server ? st->counters.bytes_from_client : st->counters.bytes_from_server) += n;
    st->counters.bytes_spliced += n;
  }
  co_return splice_end{};
}

}  // namespace rdp::proxy::detail
