// The per-connection relay (connection_relay.hpp), which carries out the fault policy's decisions (fault_policy.hpp):
// it decides nothing about faults. Given the events — a chunk read, a phase, a side's end — the policy decides, and
// the relay writes slice by slice when it says, drops, resets, arms the waits it asks for, and records.
//
// Forwarding is one buffer per direction: read, look (only until the phase tracker is done), ask the policy, write.
// Once there is nothing to look at, nothing the policy needs to see and no recording, a direction moves its bytes
// with splice(2) instead (splice_relay.hpp).
#include "connection_relay.hpp"

#include "connection_end.hpp"
#include "fault_watch.hpp"
#include "flow_recording.hpp"
#include "half_close_watch.hpp"
#include "splice_relay.hpp"

#include "rdp/net/connect.hpp"
#include "rdp/net/errors.hpp"
#include "rdp/net/send.hpp"
#include "rdp/net/spawn.hpp"

#include <vector>

namespace rdp::proxy::detail {

namespace {

namespace asio = net::asio;
namespace sp = protocol::stream_phase;
using net::clock;
using net::error_code;
using net::tcp;

std::size_t index(way w) { return static_cast<std::size_t>(w); }

closer side_of_source(way w) { return w == way::to_server ? closer::client : closer::server; }
closer side_of_sink(way w) { return w == way::to_server ? closer::server : closer::client; }

close_how how_of(const error_code& ec) {
  if (ec == asio::error::eof) return close_how::fin;
  if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe) return close_how::rst;
  if (ec == net::errc::timed_out) return close_how::deadline;
  return close_how::error;
}

// Writes `data` toward the sink slice by slice, each when the policy says it may go (latency and jitter, slice
// delays, the bandwidth; one pump per way, so chunks keep their order). A fault change cancels the wait and the
// policy is asked again, so every wait follows the faults as they are when it ends. Each turn writes a slice or waits
// for a due time or a change: bounded by the chunk's slices and the changes made meanwhile.
asio::awaitable<error_code> forward(state_ptr st, connection_ptr c, way w, protocol::bytes_view data) {
  auto& sink = w == way::to_server ? c->server : c->client;
  auto& timer = c->pace_timers[index(w)];
  for (;;) {
    const auto step = c->policy.next_write(w, clock::now());
    if (step.what == write_step::act::done) co_return error_code{};
    if (step.what == write_step::act::wait) {
      timer.expires_at(step.until);
      co_await timer.async_wait(net::use_tuple);
      if (c->finished) co_return asio::error::operation_aborted;
      continue;
    }
    const auto piece = data.subspan(step.offset, step.size);
    // Recorded as it is handed to the socket: after the write completes, the peer may already have answered.
    if (w == way::to_client) record(*c, st, capture::direction::from_server, capture::flow_event_kind::data, piece);
    if (auto ec = co_await net::send(sink, piece, st->config.write_timeout)) co_return ec;
    c->policy.written(w, clock::now());
    if (w == way::to_client) {
      c->from_server += piece.size();
      st->counters.bytes_from_server += piece.size();
    } else {
      c->from_client += piece.size();
      st->counters.bytes_from_client += piece.size();
    }
  }
}

// The source side ended its stream (FIN or RST) or failed.
void source_ended(const state_ptr& st, const connection_ptr& c, way w, const error_code& ec) {
  const closer source = side_of_source(w), sink = side_of_sink(w);
  const auto how = how_of(ec);
  const bool from_client = source == closer::client;
  if (from_client)
    record(*c, st, capture::direction::from_client,
           how == close_how::fin ? capture::flow_event_kind::fin : capture::flow_event_kind::reset);
  st->emit_closed(*c, source, how, std::nullopt, how == close_how::error ? ec.message() : std::string{});
  if (from_client)
    c->client_closed = c->client_closed || how != close_how::fin;
  else
    c->server_closed = c->server_closed || how != close_how::fin;
  const auto d = c->policy.on_end(w, how == close_how::fin);
  if (d.what == end_decision::act::reset_sender) reset_side(st, *c, source, d.why);
  if (d.what != end_decision::act::pass_on) return;
  if (how == close_how::fin) {
    error_code ignored;
    auto& other = sink == closer::client ? c->client : c->server;
    other.shutdown(tcp::socket::shutdown_send, ignored);
    if (sink == closer::client) {
      c->fin_to_client = true;
      record(*c, st, capture::direction::from_server, capture::flow_event_kind::fin);
    }
    if (!c->half_closed) {
      c->half_closed = true;
      net::spawn(st->executor, half_close_watch(st, c, source),
                 "rdpsim proxy: half-close watch " + std::to_string(c->id));
    }
  } else {
    reset_side(st, *c, sink, std::string("relaying the ") + (from_client ? "client's" : "server's") + " reset");
  }
}

// One direction of the connection, from its source socket to its sink; the second pump to end finishes the
// connection.
asio::awaitable<void> pump(state_ptr st, connection_ptr c, way w) {
  auto& source = w == way::to_server ? c->client : c->server;
  std::vector<std::uint8_t> buffer(st->config.buffer_size);
  std::vector<sp::phase_event> events;
  // Ends when the source ends or the connection does; each turn reads once (or splices until that must stop).
  for (;;) {
    if (may_splice(*c, w)) {
      const auto end = co_await splice_pump(st, c, w);
      if (c->finished || st->stopped) break;
      if (end.ec) {
        const bool closed_by_us = end.source ? (w == way::to_server ? c->client_closed : c->server_closed)
                                             : (w == way::to_server ? c->server_closed : c->client_closed);
        if (closed_by_us) break;
        if (end.source) {
          source_ended(st, c, w, end.ec);
        } else {
          st->emit_closed(*c, side_of_sink(w), how_of(end.ec), std::nullopt, "while writing: " + end.ec.message());
          (w == way::to_server ? c->server_closed : c->client_closed) = true;
          reset_side(st, *c, side_of_source(w), "the other side failed");
        }
        break;
      }
    }
    auto [ec, n] = co_await source.async_read_some(asio::buffer(buffer), net::use_tuple);
    const bool closed_by_us = w == way::to_server ? c->client_closed : c->server_closed;
    if (c->finished || st->stopped || (ec && closed_by_us)) break;
    if (ec) {
      source_ended(st, c, w, ec);
      break;
    }
    const protocol::bytes_view data(buffer.data(), n);
    if (w == way::to_server) record(*c, st, capture::direction::from_client, capture::flow_event_kind::data, data);
    const auto arrived = clock::now();
    if (!c->policy.forgotten() && !c->tracker.done()) {  // a forgotten flow is not looked at
      events.clear();
      c->tracker.feed(w == way::to_server ? sp::direction::from_client : sp::direction::from_server, data, events);
      on_stream_events(st, c, events);
      if (c->finished) break;
    }
    const auto decision = c->policy.on_chunk(w, data, arrived);
    if (decision.what == chunk_decision::act::reset_sender) {
      reset_side(st, *c, side_of_source(w), decision.why);
      break;
    }
    if (decision.what == chunk_decision::act::drop) {
      st->counters.bytes_dropped += n;
      continue;
    }
    if (!decision.note.empty()) st->emit(*c, event_kind::fault_applied, decision.note);
    const auto write_ec = co_await forward(st, c, w, decision.bytes);
    if (c->finished || st->stopped) break;
    if (write_ec) {
      const bool sink_closed_by_us = w == way::to_server ? c->server_closed : c->client_closed;
      if (sink_closed_by_us) break;
      const auto how = how_of(write_ec);
      st->emit_closed(*c, side_of_sink(w), how, std::nullopt, "while writing: " + write_ec.message());
      (w == way::to_server ? c->server_closed : c->client_closed) = true;
      reset_side(st, *c, side_of_source(w), "the other side failed");
      break;
    }
  }
  pump_done(st, c);
}

}  // namespace

asio::awaitable<void> run_connection(state_ptr st, connection_ptr c) {
  const auto& upstream = st->config.upstream;
  auto [rec, endpoints] = co_await net::resolve(upstream.host, upstream.port, st->config.connect_timeout);
  error_code ec = rec;
  if (!ec && !c->finished) {
    auto [cec, reached] = co_await net::connect_first(c->server, std::move(endpoints), st->config.connect_timeout);
    (void)reached;
    ec = cec;
  }
  if (c->finished || st->stopped) co_return;
  if (ec) {
    ++st->counters.upstream_failures;
    st->emit(*c, event_kind::upstream_failed, upstream.text() + ": " + ec.message());
    c->server_closed = true;
    reset_side(st, *c, closer::client, "no upstream connection");
    finish(st, c);
    co_return;
  }
  error_code ignored;
  // Slices must be real segments: no Nagle on either socket.
  c->client.set_option(tcp::no_delay(true), ignored);
  c->server.set_option(tcp::no_delay(true), ignored);
  c->upstream_port = c->server.local_endpoint(ignored).port();
  st->emit(*c, event_kind::upstream_connected,
           upstream.text() + " from " + endpoint_text(c->server.local_endpoint(ignored)));
  reach(st, c, phase::connected);
  c->pumps = 2;
  net::spawn(st->executor, pump(st, c, way::to_server), "rdpsim proxy: connection " + std::to_string(c->id));
  net::spawn(st->executor, pump(st, c, way::to_client), "rdpsim proxy: connection " + std::to_string(c->id));
  net::spawn(st->executor, fault_watch(st, c), "rdpsim proxy: fault watch " + std::to_string(c->id));
}

}  // namespace rdp::proxy::detail
