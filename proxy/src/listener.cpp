// The proxy's listener (listener.hpp).
#include "listener.hpp"

#include "busy_refusal.hpp"
#include "connection_relay.hpp"
#include "flow_recording.hpp"

#include "rdp/net/listen.hpp"
#include "rdp/net/quantity.hpp"
#include "rdp/net/spawn.hpp"

#include <algorithm>
#include <chrono>
#include <exception>

namespace rdp::proxy::detail {

namespace {

namespace asio = net::asio;
using net::error_code;
using net::tcp;

// Reopening a listener whose port another process has taken: first again after this, then twice as long each time
// up to the cap, for as long as the proxy runs (issue 24: giving up after 5 s left it deaf for good).
constexpr net::milliseconds listener_retry_first{200};
constexpr net::milliseconds listener_retry_max{5000};

// Accepts until the listener closes, and admits or refuses each connection (admit, fault_policy.hpp).
asio::awaitable<void> accept_loop(state_ptr st) {
  // Ends when the listener closes (stop, or listener_down: reopening starts a new loop).
  while (st->listening && !st->stopped) {
    tcp::socket socket(st->executor);
    auto [ec] = co_await st->acceptor.async_accept(socket, net::use_tuple);
    if (st->stopped || !st->listening || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      asio::steady_timer pause(st->executor, std::chrono::milliseconds(100));  // out of descriptors: no spin
      co_await pause.async_wait(net::use_tuple);
      continue;
    }
    error_code ignored;
    const auto remote = socket.remote_endpoint(ignored);
    const auto from_source = st->per_source.find(remote.address());
    switch (admit(st->faults, st->live.size(), from_source == st->per_source.end() ? 0 : from_source->second,
                  st->config.max_connections, st->config.max_connections_per_source)) {
      case admission::refuse_new: refuse(st, std::move(socket), "refuse-new"); continue;
      case admission::overall_limit:
        ++st->counters.refused_overall_limit;
        refuse_busy(st, std::move(socket), "overall limit " + std::to_string(st->config.max_connections) + " reached");
        continue;
      case admission::source_limit:
        ++st->counters.refused_source_limit;
        refuse_busy(st, std::move(socket),
                    "per-source limit " + std::to_string(st->config.max_connections_per_source) + " reached for " +
                        remote.address().to_string());
        continue;
      case admission::accept: break;
    }
    ++st->counters.accepted;
    auto c = std::make_shared<connection>(st->next_id++, std::move(socket), st->executor, st->faults, st->random());
    c->source = remote.address();
    ++st->per_source[c->source];
    c->client_text = endpoint_text(remote);
    begin_recording(*c, st->config.record, remote, c->client.local_endpoint(ignored));
    st->live.emplace(c->id, c);
    st->counters.open = st->live.size();
    st->emit(*c, event_kind::accepted, c->client_text);
    net::spawn(st->executor, run_connection(st, c), "rdpsim proxy: connection " + std::to_string(c->id));
  }
}

// Opens the listener again on the same address and port. A failure (another process took the port meanwhile) is
// said as such — a `listener-failed` event with the error, and in the counters — and tried again after `pause`,
// doubling up to listener_retry_max, for as long as the proxy runs; each attempt is one bind and listen. A new
// listener_down cancels the retry (it re-arms the same timer).
void reopen_listener(const state_ptr& st, net::milliseconds pause) {
  if (st->stopped) return;
  try {
    st->acceptor = net::open_listener(st->executor, st->bound, "rdpsim proxy");
  } catch (const std::exception& e) {
    ++st->counters.listener_failures;
    st->counters.listener_error = e.what();
    proxy_event ev;
    ev.kind = event_kind::listener_failed;
    ev.detail = std::string(e.what()) + "; trying again in " + net::format_duration(pause);
    st->emit(std::move(ev));
    st->listener_timer.expires_after(pause);
    st->listener_timer.async_wait([st, next = std::min(pause * 2, listener_retry_max)](const error_code& ec) {
      if (!ec) reopen_listener(st, next);
    });
    return;
  }
  proxy_event ev;
  ev.kind = event_kind::listener_up;
  ev.detail = endpoint_text(st->bound);
  st->emit(std::move(ev));
  start_listening(st);
}

}  // namespace

void start_listening(const state_ptr& st) {
  st->listening = true;
  st->counters.listening = true;
  net::spawn(st->executor, accept_loop(st), "rdpsim proxy: accept loop");
}

void take_listener_down(const state_ptr& st, duration how_long) {
  error_code ignored;
  st->listening = false;
  st->counters.listening = false;
  st->acceptor.close(ignored);
  proxy_event ev;
  ev.kind = event_kind::listener_down;
  ev.detail = "for " + net::format_duration(how_long) + ": new connections are refused by the kernel";
  st->emit(std::move(ev));
  st->listener_timer.expires_after(how_long);
  st->listener_timer.async_wait([st](const error_code& ec) {
    if (!ec && st->started) reopen_listener(st, listener_retry_first);
  });
}

}  // namespace rdp::proxy::detail
