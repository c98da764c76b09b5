// Phases, fault changes and the policy's due times, carried out on one connection (fault_watch.hpp).
#include "fault_watch.hpp"

#include "connection_end.hpp"

#include "rdp/net/quantity.hpp"
#include "rdp/protocol/nego.hpp"

namespace rdp::proxy::detail {

namespace {

namespace sp = protocol::stream_phase;
using net::clock;

// "userspace" honesty (issue 14): the proxy's kernel has ACKed whatever it read, so the sender sees no loss.
constexpr std::string_view drop_note =
    "drop (userspace: the proxy's kernel still ACKs; no retransmissions as with a real firewall)";

// The policy's due times may have moved (a phase, a fault change): its watch and the pumps' waits ask again.
void ask_again(connection& c) {
  c.fault_timer.cancel();
  for (auto& t : c.pace_timers) t.cancel();
}

// The policy forgot the flow after the idle timeout: said, counted, and for reset-both done.
void forgotten(const state_ptr& st, const connection_ptr& c, const timer_decision& d) {
  ++st->counters.idle_expiries;
  const std::string head = "flow forgotten after " + net::format_duration(d.after) + " idle: ";
  switch (d.mode) {
    case idle_expiry::drop:
      st->emit(*c, event_kind::idle_expired, head + "everything later is dropped both ways; " + std::string(drop_note));
      break;
    case idle_expiry::reset_sender:
      st->emit(*c, event_kind::idle_expired,
               head + "the next segment from either side is answered with a reset to its sender; the other side "
                      "hears nothing");
      break;
    case idle_expiry::reset_both:
      st->emit(*c, event_kind::idle_expired, head + "both sides are reset now (reset-both)");
      reset_both(st, *c, "idle expiry (reset-both)");
      break;
  }
}

}  // namespace

void reach(const state_ptr& st, const connection_ptr& c, phase p, std::string detail) {
  if (!c->policy.on_phase(p, clock::now())) return;
  proxy_event e;
  e.connection = c->id;
  e.kind = event_kind::phase;
  e.reached = p;
  e.bytes_from_client = c->from_client;
  e.bytes_from_server = c->from_server;
  e.detail = std::move(detail);
  st->emit(std::move(e));
  c->fault_timer.cancel();
}

void apply_to(const state_ptr& st, const connection_ptr& c, const fault_change& change) {
  if (c->finished) return;
  const bool reset_now = c->policy.apply(change, clock::now());
  st->emit(*c, event_kind::fault_applied, describe(change));
  if (reset_now) {
    reset_both(st, *c, "reset now");
    return;
  }
  ask_again(*c);
}

void on_stream_events(const state_ptr& st, const connection_ptr& c, const std::vector<sp::phase_event>& events) {
  for (const auto& e : events) {
    std::string detail;
    if (e.protocols)
      detail = std::string(e.what == sp::milestone::x224_request ? "requested " : "selected ") +
               protocol::describe_protocol_bits(*e.protocols);
    switch (e.what) {
      case sp::milestone::x224_request: reach(st, c, phase::x224_request, detail); break;
      case sp::milestone::x224_confirm: reach(st, c, phase::x224_confirm, detail); break;
      case sp::milestone::tls_client_hello: reach(st, c, phase::tls_client_hello); break;
      case sp::milestone::tls_server_hello: break;  // no fault is tied to it; tls_established follows
      case sp::milestone::tls_established: reach(st, c, phase::tls_established); break;
      case sp::milestone::first_app_data: reach(st, c, phase::first_app_data); break;
      case sp::milestone::not_rdp:
      case sp::milestone::lost:
        st->emit(*c, event_kind::phase,
                 std::string(sp::to_string(e.what)) + ": " + std::string(e.detail) + "; forwarding without looking");
        break;
    }
  }
}

// Each turn waits on the timer (which phases and fault changes cancel, to ask again) or acts on a due time, and every
// act consumes its due time: bounded by the connection's life.
net::asio::awaitable<void> fault_watch(state_ptr st, connection_ptr c) {
  while (!c->finished && !st->stopped) {
    const auto due = c->policy.next_timer();
    if (due && clock::now() >= *due) {
      const auto d = c->policy.on_timer(clock::now());
      if (d.what == timer_decision::act::forget) forgotten(st, c, d);
      if (d.what == timer_decision::act::reset_both) reset_both(st, *c, d.why);
      continue;
    }
    c->fault_timer.expires_at(due.value_or(clock::time_point::max()));
    co_await c->fault_timer.async_wait(net::use_tuple);
  }
}

}  // namespace rdp::proxy::detail
