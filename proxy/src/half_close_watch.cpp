// The half-close watch (half_close_watch.hpp).
#include "half_close_watch.hpp"

#include "connection_end.hpp"

#include "rdp/net/quantity.hpp"

#include <algorithm>

namespace rdp::proxy::detail {

// Each turn waits until the quiet period would be over; data from the open side (last_activity) moves that on, the
// end of the connection cancels the timer. Bounded: the open side must keep sending to keep the flow, and a side
// that sends into a closed peer is reset by it.
net::asio::awaitable<void> half_close_watch(state_ptr st, connection_ptr c, closer ended) {
  const auto grace = st->config.half_close_timeout;
  const auto fin_at = net::clock::now();
  while (!c->finished && !st->stopped) {
    const auto due = std::max(fin_at, c->policy.last_activity()) + grace;
    if (net::clock::now() >= due) {
      const closer open = ended == closer::client ? closer::server : closer::client;
      const std::string why = "half-closed: the " + std::string(to_string(open)) + " did not end its side within " +
                              net::format_duration(grace) + " of the " + std::string(to_string(ended)) +
                              "'s FIN; the proxy closes both";
      ++st->counters.half_close_expiries;
      st->emit_closed(*c, closer::proxy, close_how::deadline, open, why);
      st->emit_closed(*c, closer::proxy, close_how::deadline, ended, why);
      finish(st, c);
      co_return;
    }
    c->half_close_timer.expires_at(due);
    co_await c->half_close_timer.async_wait(net::use_tuple);
  }
}

}  // namespace rdp::proxy::detail
