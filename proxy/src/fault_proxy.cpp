// The fault proxy's public class (fault_proxy.hpp): checks the config, binds the listener, and hands everything else
// to the files that do each job — the listener (listener.hpp: accept loop, admission, down and up again), refusals
// (busy_refusal.hpp), the per-connection relay (connection_relay.hpp, which carries out the fault policy's decisions),
// phases and fault changes (fault_watch.hpp), the end of a connection (connection_end.hpp), recording
// (flow_recording.hpp) and events (proxy_events.cpp). Their shared state is proxy_state.hpp; everything runs on one
// executor, so it needs no lock.
#include "rdp/proxy/fault_proxy.hpp"

#include "connection_end.hpp"
#include "fault_watch.hpp"
#include "listener.hpp"
#include "proxy_state.hpp"

#include "rdp/net/listen.hpp"

#include <csignal>
#include <mutex>
#include <signal.h>

#include <stdexcept>
#include <utility>

namespace rdp::proxy {

namespace asio = net::asio;
using net::error_code;
using net::tcp;
using detail::finish;
using detail::reach;
using detail::apply_to;
using detail::start_listening;
using detail::take_listener_down;

namespace {

// splice(2) into a socket whose peer has gone raises SIGPIPE, and unlike send() it has no MSG_NOSIGNAL: with SIGPIPE at
// its default, one client resetting mid-transfer would end the whole proxy (`rdpsim proxy` died so under rdpprobe's
// scan). So the first proxy ignores SIGPIPE, if nobody chose a handler for it; the write then fails with EPIPE, which
// ends that connection only.
void ignore_sigpipe_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) ::signal(SIGPIPE, SIG_IGN);
  });
}

}  // namespace

fault_proxy::fault_proxy(asio::any_io_executor executor, proxy_config config)
    : state_(std::make_shared<state>(std::move(executor), std::move(config))) {
  ignore_sigpipe_once();
  auto& st = *state_;
  if (st.config.buffer_size == 0) throw std::invalid_argument("proxy: buffer_size must be at least 1");
  if (st.config.max_connections == 0) throw std::invalid_argument("proxy: max_connections must be at least 1");
  if (st.config.max_connections_per_source == 0)
    throw std::invalid_argument("proxy: max_connections_per_source must be at least 1");
  if (st.config.half_close_timeout.count() <= 0)
    throw std::invalid_argument("proxy: half_close_timeout must be positive");
  if (st.config.refusal_timeout.count() <= 0) throw std::invalid_argument("proxy: refusal_timeout must be positive");
  if (st.config.upstream.host.empty()) throw std::invalid_argument("proxy: no upstream given");
  error_code ec;
  const auto address = asio::ip::make_address(st.config.listen.host == "localhost" ? "127.0.0.1" : st.config.listen.host, ec);
  if (ec)
    throw std::invalid_argument("proxy: listen address '" + st.config.listen.host + "' is not an IP address");
  st.acceptor = net::open_listener(st.executor, tcp::endpoint(address, st.config.listen.port), "rdpsim proxy");
  st.bound = st.acceptor.local_endpoint();
  merge(st.faults, st.config.initial);
}

fault_proxy::~fault_proxy() { stop(); }

tcp::endpoint fault_proxy::local_endpoint() const { return state_->bound; }

void fault_proxy::start() {
  auto& st = state_;
  if (st->started || st->stopped) return;
  st->started = true;
  if (st->config.initial.listener_down && st->config.initial.listener_down->count() > 0) {
    take_listener_down(st, *st->config.initial.listener_down);
    return;
  }
  start_listening(st);
}

void fault_proxy::stop() {
  auto st = state_;
  if (st->stopped) return;
  error_code ignored;
  st->listening = false;
  st->counters.listening = false;
  st->acceptor.close(ignored);
  st->listener_timer.cancel();
  for (const auto& socket : st->answering) socket->close(ignored);  // their coroutines end at once, erasing themselves
  // finish() erases from `live`: walk a copy.
  const auto live = st->live;
  for (const auto& [id, c] : live) finish(st, c);
  st->stopped = true;
}

void fault_proxy::apply(const fault_change& change) {
  auto st = state_;
  if (st->stopped) return;
  merge(st->faults, change);
  proxy_event e;
  e.kind = event_kind::fault_applied;
  e.detail = "all connections: " + describe(change);
  st->emit(std::move(e));
  if (change.listener_down && change.listener_down->count() > 0 && st->started) take_listener_down(st, *change.listener_down);
  fault_change per_connection = change;
  per_connection.listener_down.reset();
  per_connection.refuse_new.reset();
  const auto live = st->live;
  for (const auto& [id, c] : live) apply_to(st, c, per_connection);
}

bool fault_proxy::apply(connection_id id, const fault_change& change) {
  auto it = state_->live.find(id);
  if (it == state_->live.end() || state_->stopped) return false;
  fault_change per_connection = change;
  per_connection.listener_down.reset();  // the listener is everyone's: apply(change) takes it down
  per_connection.refuse_new.reset();
  apply_to(state_, it->second, per_connection);
  return true;
}

bool fault_proxy::tell_phase(connection_id id, phase reached) {
  auto it = state_->live.find(id);
  if (it == state_->live.end() || state_->stopped) return false;
  reach(state_, it->second, reached, "told from outside");
  return true;
}

std::optional<connection_id> fault_proxy::connection_by_upstream_port(std::uint16_t port) const {
  for (const auto& [id, c] : state_->live)
    if (c->upstream_port == port && port != 0) return id;
  return std::nullopt;
}

proxy_counters fault_proxy::counters() const { return state_->counters; }

std::vector<connection_info> fault_proxy::connections() const {
  std::vector<connection_info> out;
  for (const auto& [id, c] : state_->live) {
    connection_info info;
    info.id = id;
    info.client = c->client_text;
    info.upstream_port = c->upstream_port;
    info.reached = c->policy.reached();
    info.forgotten = c->policy.forgotten();
    info.bytes_from_client = c->from_client;
    info.bytes_from_server = c->from_server;
    out.push_back(std::move(info));
  }
  return out;
}

const fault_change& fault_proxy::faults() const noexcept { return state_->faults; }

std::vector<capture::tcp_flow> fault_proxy::take_flows() { return std::exchange(state_->flows, {}); }

}  // namespace rdp::proxy
