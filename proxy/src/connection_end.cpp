// Ending a relayed connection's sides (connection_end.hpp).
#include "connection_end.hpp"

#include "flow_recording.hpp"

#include "rdp/net/drain.hpp"

namespace rdp::proxy::detail {

void reset_side(const state_ptr& st, connection& c, closer side, std::string why) {
  const bool client = side == closer::client;
  if (client ? c.client_closed : c.server_closed) return;
  (client ? c.client_closed : c.server_closed) = true;
  net::close_with_reset(client ? c.client : c.server);
  if (client) {
    ++st->counters.resets_to_client;
    record(c, st, capture::direction::from_server, capture::flow_event_kind::reset);
  } else {
    ++st->counters.resets_to_server;
  }
  st->emit_closed(c, closer::proxy, close_how::rst, side, std::move(why));
}

void reset_both(const state_ptr& st, connection& c, const std::string& why) {
  reset_side(st, c, closer::client, why);
  reset_side(st, c, closer::server, why);
}

void finish(const state_ptr& st, const connection_ptr& c) {
  if (c->finished) return;
  c->finished = true;
  net::error_code ignored;
  c->fault_timer.cancel();
  c->half_close_timer.cancel();
  for (auto& t : c->pace_timers) t.cancel();
  if (!c->client_closed) {
    c->client_closed = true;
    if (!c->fin_to_client) record(*c, st, capture::direction::from_server, capture::flow_event_kind::fin);
    c->client.shutdown(net::tcp::socket::shutdown_both, ignored);
    c->client.close(ignored);
  }
  if (!c->server_closed) {
    c->server_closed = true;
    c->server.shutdown(net::tcp::socket::shutdown_both, ignored);
    c->server.close(ignored);
  }
  if (st->config.record) st->flows.push_back(std::move(c->flow));
  st->live.erase(c->id);
  st->counters.open = st->live.size();
  if (auto it = st->per_source.find(c->source); it != st->per_source.end() && --it->second == 0) st->per_source.erase(it);
}

void pump_done(const state_ptr& st, const connection_ptr& c) {
  if (--c->pumps == 0) finish(st, c);
}

}  // namespace rdp::proxy::detail
