// The fault proxy (fault_proxy.hpp): an accept loop, and per connection two pumps (client to server, server to
// client) and a fault watch. Everything runs on one executor, so the connection's state needs no lock.
//
// The relay decides nothing about faults: each connection's fault_policy (fault_policy.hpp) does, given the events
// (a chunk read, a phase, a fault change, a side's end, a due time reached), and the relay carries out its decisions —
// writes slice by slice when it says, drops, resets, arms the timers it asks for — and records.
//
// Forwarding is one buffer per direction: read, look (only until the phase tracker is done), ask the policy, write.
// Once there is nothing to look at, nothing the policy needs to see and no recording, a direction moves its bytes
// with splice(2) through a pipe instead, socket to socket without a copy through user space.
#include "rdp/proxy/fault_proxy.hpp"

#include "rdp/proxy/fault_policy.hpp"

#include "rdp/net/connect.hpp"
#include "rdp/net/deadline.hpp"
#include "rdp/net/drain.hpp"
#include "rdp/net/errors.hpp"
#include "rdp/net/listen.hpp"
#include "rdp/net/read_until.hpp"
#include "rdp/net/send.hpp"
#include "rdp/net/spawn.hpp"
#include "rdp/protocol/nego.hpp"
#include "rdp/protocol/stream_phase.hpp"
#include "rdp/protocol/x224.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>
#include <csignal>
#include <mutex>
#include <signal.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <stdexcept>

namespace rdp::proxy {

namespace asio = net::asio;
using net::clock;
using net::error_code;
using net::tcp;
namespace sp = protocol::stream_phase;

// ---- Words ------------------------------------------------------------------------------------------------------

std::string_view to_string(event_kind k) noexcept {
  switch (k) {
    case event_kind::accepted: return "accepted";
    case event_kind::upstream_connected: return "upstream-connected";
    case event_kind::upstream_failed: return "upstream-failed";
    case event_kind::refused: return "refused";
    case event_kind::phase: return "phase";
    case event_kind::fault_applied: return "fault-applied";
    case event_kind::idle_expired: return "idle-expired";
    case event_kind::closed: return "closed";
    case event_kind::listener_down: return "listener-down";
    case event_kind::listener_up: return "listener-up";
    case event_kind::listener_failed: return "listener-failed";
  }
  return "?";
}

std::string_view to_string(closer c) noexcept {
  switch (c) {
    case closer::client: return "client";
    case closer::server: return "server";
    case closer::proxy: return "proxy";
  }
  return "?";
}

std::string_view to_string(close_how h) noexcept {
  switch (h) {
    case close_how::fin: return "fin";
    case close_how::rst: return "rst";
    case close_how::deadline: return "deadline";
    case close_how::error: return "error";
  }
  return "?";
}

std::string to_json_line(const proxy_event& e) {
  using json = nlohmann::json;
  auto word_or_null = [](const auto& v) { return v ? json(std::string(to_string(*v))) : json(nullptr); };
  json j{{"connection", e.connection ? json(e.connection) : json(nullptr)},
         {"at_us", e.at_us},
         {"event", std::string(to_string(e.kind))},
         {"phase", word_or_null(e.reached)},
         {"who", word_or_null(e.who)},
         {"how", word_or_null(e.how)},
         {"toward", word_or_null(e.toward)},
         {"bytes_from_client", e.bytes_from_client},
         {"bytes_from_server", e.bytes_from_server},
         {"detail", e.detail.empty() ? json(nullptr) : json(e.detail)}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

// ---- State ------------------------------------------------------------------------------------------------------

namespace {

std::size_t index(way w) { return static_cast<std::size_t>(w); }

// "userspace" honesty (issue 14): the proxy's kernel has ACKed whatever it read, so the sender sees no loss.
constexpr std::string_view drop_note =
    "drop (userspace: the proxy's kernel still ACKs; no retransmissions as with a real firewall)";
// Reopening a listener whose port another process has taken: first again after this, then twice as long each time
// up to the cap, for as long as the proxy runs (issue 24: giving up after 5 s left it deaf for good).
constexpr net::milliseconds listener_retry_first{200};
constexpr net::milliseconds listener_retry_max{5000};
// Connections refused for a limit that are being answered at once (each holds a descriptor for at most twice
// refusal_timeout); past this a refused connection is closed at once, so a flood of refusals is bounded too.
constexpr std::size_t max_answering_refusals = 64;
// ITU-T X.224 13.5.3 d), DR TPDU reason 1, "congestion at TSAP": one of the four reasons class 0 (RDP's, MS-RDPBCGR
// 2.2.1.1) may give, and the one that means "busy, not gone".
constexpr std::uint8_t dr_reason_congestion = 1;

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

capture::ipv4_endpoint to_capture(const tcp::endpoint& ep) {
  capture::ipv4_endpoint out;
  if (ep.address().is_v4()) out.address = ep.address().to_v4().to_bytes();
  out.port = ep.port();
  return out;
}

std::string endpoint_text(const tcp::endpoint& ep) {
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace

struct connection {
  connection_id id;
  tcp::socket client, server;
  fault_policy policy;  // every fault decision of this flow
  sp::tracker tracker;
  asio::ip::address source;  // the client's address: what the per-source limit counts
  // fault_timer waits for the policy's next_timer; a phase or a fault change cancels it, so the watch asks again.
  asio::steady_timer fault_timer, half_close_timer;
  // One per way, for the policy's waits between writes; a fault change cancels them, so a pump asks again.
  std::array<asio::steady_timer, 2> pace_timers;
  bool finished = false;
  bool client_closed = false, server_closed = false;  // by the proxy
  bool fin_to_client = false;                         // the proxy shut the client socket's sending side
  bool half_closed = false;                           // one side's FIN was passed on: the other must follow
  int pumps = 0;  // still running; when both have ended, so has the connection
  std::uint64_t from_client = 0, from_server = 0;
  std::uint16_t upstream_port = 0;
  std::string client_text;
  capture::tcp_flow flow;
  std::size_t recorded = 0;
  bool recording = false;

  connection(connection_id i, tcp::socket c, const asio::any_io_executor& ex, const fault_change& faults,
             std::uint64_t seed)
      : id(i),
        client(std::move(c)),
        server(ex),
        policy(faults, clock::now(), seed),
        fault_timer(ex),
        half_close_timer(ex),
        pace_timers{{asio::steady_timer(ex), asio::steady_timer(ex)}} {}
};
using connection_ptr = std::shared_ptr<connection>;

struct fault_proxy::state {
  asio::any_io_executor executor;
  proxy_config config;
  tcp::acceptor acceptor;
  tcp::endpoint bound;
  fault_change faults;
  std::map<connection_id, connection_ptr> live;
  std::map<asio::ip::address, std::size_t> per_source;  // live connections by client address
  std::set<std::shared_ptr<tcp::socket>> answering;      // refused connections being answered (stop() closes them)
  std::vector<capture::tcp_flow> flows;
  proxy_counters counters;
  connection_id next_id = 1;
  bool started = false, stopped = false, listening = false;
  asio::steady_timer listener_timer;
  std::mt19937_64 random{std::random_device{}()};  // each connection's jitter seed

  state(asio::any_io_executor ex, proxy_config c)
      : executor(ex), config(std::move(c)), acceptor(ex), listener_timer(ex) {}

  void emit(proxy_event e) {
    if (stopped || !config.on_event) return;
    e.at_us = now_us();
    config.on_event(e);
  }
  void emit(const connection& c, event_kind kind, std::string detail = {}) {
    proxy_event e;
    e.connection = c.id;
    e.kind = kind;
    e.bytes_from_client = c.from_client;
    e.bytes_from_server = c.from_server;
    e.detail = std::move(detail);
    emit(std::move(e));
  }
  void emit_closed(const connection& c, closer who, close_how how, std::optional<closer> toward, std::string detail) {
    proxy_event e;
    e.connection = c.id;
    e.kind = event_kind::closed;
    e.who = who;
    e.how = how;
    e.toward = toward;
    e.bytes_from_client = c.from_client;
    e.bytes_from_server = c.from_server;
    e.detail = std::move(detail);
    emit(std::move(e));
  }
};

namespace {

using state_ptr = std::shared_ptr<fault_proxy::state>;

// ---- Recording the client-facing socket --------------------------------------------------------------------------

void record(connection& c, const state_ptr& st, capture::direction from, capture::flow_event_kind kind,
            protocol::bytes_view bytes = {}) {
  if (!c.recording) return;
  if (c.recorded + bytes.size() > st->config.max_record_bytes) {
    c.recording = false;
    st->emit(c, event_kind::fault_applied,
             "recording stopped: more than " + std::to_string(st->config.max_record_bytes) + " bytes");
    return;
  }
  c.recorded += bytes.size();
  capture::flow_event e;
  e.at = std::chrono::system_clock::now();
  e.from = from;
  e.kind = kind;
  e.bytes.assign(bytes.begin(), bytes.end());
  c.flow.events.push_back(std::move(e));
}

// ---- Ending sides -----------------------------------------------------------------------------------------------

// The proxy resets one side (SO_LINGER 0): what a firewall's RST looks like to that side.
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
  error_code ignored;
  c->fault_timer.cancel();
  c->half_close_timer.cancel();
  for (auto& t : c->pace_timers) t.cancel();
  if (!c->client_closed) {
    c->client_closed = true;
    if (!c->fin_to_client) record(*c, st, capture::direction::from_server, capture::flow_event_kind::fin);
    c->client.shutdown(tcp::socket::shutdown_both, ignored);
    c->client.close(ignored);
  }
  if (!c->server_closed) {
    c->server_closed = true;
    c->server.shutdown(tcp::socket::shutdown_both, ignored);
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

// ---- Phases and faults ------------------------------------------------------------------------------------------

// The policy's due times may have moved (a phase, a fault change): its watch and the pumps' waits ask again.
void ask_again(connection& c) {
  c.fault_timer.cancel();
  for (auto& t : c.pace_timers) t.cancel();
}

void reach(const state_ptr& st, const connection_ptr& c, phase p, std::string detail = {}) {
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

// Waits for the policy's next due time (the idle timeout, a reset at a phase) and carries out what it brings. Each
// turn waits on the timer (which phases and fault changes cancel, to ask again) or acts on a due time, and every act
// consumes its due time: bounded by the connection's life.
asio::awaitable<void> fault_watch(state_ptr st, connection_ptr c) {
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

// ---- Forwarding -------------------------------------------------------------------------------------------------

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

// After `ended` sent its FIN (passed on to the other side), the other side has half_close_timeout without sending to
// end its own stream; then the proxy closes both. Each turn waits until the quiet period would be over; data from
// the open side (last_activity) moves that on, the end of the connection cancels the timer. Bounded: the open side
// must keep sending to keep the flow, and a side that sends into a closed peer is reset by it.
asio::awaitable<void> half_close_watch(state_ptr st, connection_ptr c, closer ended) {
  const auto grace = st->config.half_close_timeout;
  const auto fin_at = clock::now();
  while (!c->finished && !st->stopped) {
    const auto due = std::max(fin_at, c->policy.last_activity()) + grace;
    if (clock::now() >= due) {
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

// Whether a direction may move its bytes without looking at them: nothing left to follow, nothing to record, and
// nothing the policy needs to see (a timing fault, a drop, a corruption armed). Checked again before every chunk.
bool may_splice(const connection& c, way w) { return c.tracker.done() && !c.recording && !c.policy.needs_bytes(w); }

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

struct splice_end {
  bool source = false;  // the source ended (ec: eof for a FIN) rather than the sink failing
  error_code ec;        // empty: no longer eligible, the buffered loop goes on
};

constexpr std::size_t splice_chunk = 64 * 1024;

asio::awaitable<splice_end> splice_pump(state_ptr st, connection_ptr c, way w) {
  auto& source = w == way::to_server ? c->client : c->server;
  auto& sink = w == way::to_server ? c->server : c->client;
  const pipe_fds pipe;
  if (pipe.read < 0) co_return splice_end{};  // no pipe (out of descriptors): the buffered loop does the work
  error_code ignored;
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
      co_return splice_end{true, error_code(errno, boost::system::system_category())};
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
        co_return splice_end{false, error_code(errno, boost::system::system_category())};
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

// ---- Connections ------------------------------------------------------------------------------------------------

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

// refuse_new: the connection is accepted and reset at once (an RST after the handshake), unlike a limit (refuse_busy).
void refuse(const state_ptr& st, tcp::socket socket, const std::string& why) {
  ++st->counters.refused;
  ++st->counters.resets_to_client;
  error_code ignored;
  proxy_event e;
  e.kind = event_kind::refused;
  e.detail = endpoint_text(socket.remote_endpoint(ignored)) + ": " + why;
  net::close_with_reset(socket);
  st->emit(std::move(e));
}

// What a client refused for a connection limit meets (docs/proxy.md, "Limits"): the connection is accepted; if its
// first bytes are an X.224 Connection Request it is answered with an X.224 Disconnect Request, reason "congestion at
// TSAP" — busy, where a dead server refuses the SYN — then a FIN. Anything else (other bytes, nothing within
// refusal_timeout) gets the FIN alone. The socket is held at most twice refusal_timeout.
asio::awaitable<void> answer_busy(state_ptr st, std::shared_ptr<tcp::socket> held) {
  auto& socket = *held;
  const auto wait = st->config.refusal_timeout;
  protocol::byte_buffer received;
  // An X.224 Connection Request with its routing token or cookie fits in a few hundred bytes (MS-RDPBCGR 2.2.1.1).
  constexpr std::size_t request_cap = 2048;
  const auto read_ec = co_await net::read_until(socket, received, request_cap, wait, [](const protocol::byte_buffer& b) {
    const auto r = protocol::x224::decode_connection_request(b);
    return r.has_value() || !protocol::is_need_more(r.error());
  });
  if (!read_ec && !st->stopped) {
    if (const auto request = protocol::x224::decode_connection_request(received)) {
      // ITU-T X.224 13.5: a DR answering a CR carries the CR's SRC-REF as its DST-REF and SRC-REF zero.
      protocol::x224::disconnect_request dr;
      dr.dst_ref = request->value.src_ref;
      dr.reason = dr_reason_congestion;
      (void)co_await net::send(socket, protocol::x224::encode(dr), wait);
    }
  }
  if (!st->stopped) co_await net::half_close_and_drain(socket, wait, request_cap);
  error_code ignored;
  socket.close(ignored);
  st->answering.erase(held);
}

// A connection refused because a limit is reached: counted, said in an event with the limit and for whom, answered
// as busy (answer_busy) — or, when that many refusals are already being answered, closed at once (a FIN with no
// bytes; an RST if the client's bytes had already arrived).
void refuse_busy(const state_ptr& st, tcp::socket socket, const std::string& why) {
  ++st->counters.refused;
  error_code ignored;
  proxy_event e;
  e.kind = event_kind::refused;
  e.detail = endpoint_text(socket.remote_endpoint(ignored)) + ": " + why;
  if (st->answering.size() >= max_answering_refusals) {
    e.detail += "; closed at once (" + std::to_string(max_answering_refusals) + " refusals are being answered)";
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    st->emit(std::move(e));
    return;
  }
  e.detail += "; an X.224 Connection Request is answered with a Disconnect Request (congestion), then FIN";
  st->emit(std::move(e));
  // Counted as answering from now, not from when the coroutine first runs, so a burst cannot overshoot the cap.
  auto held = *st->answering.insert(std::make_shared<tcp::socket>(std::move(socket))).first;
  net::spawn(st->executor, answer_busy(st, std::move(held)), "rdpsim proxy: refusal");
}

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
    c->recording = st->config.record;
    c->flow.client = to_capture(remote);
    c->flow.server = to_capture(c->client.local_endpoint(ignored));
    c->flow.opened = std::chrono::system_clock::now();
    st->live.emplace(c->id, c);
    st->counters.open = st->live.size();
    st->emit(*c, event_kind::accepted, c->client_text);
    net::spawn(st->executor, run_connection(st, c), "rdpsim proxy: connection " + std::to_string(c->id));
  }
}

void start_listening(const state_ptr& st) {
  st->listening = true;
  st->counters.listening = true;
  net::spawn(st->executor, accept_loop(st), "rdpsim proxy: accept loop");
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

}  // namespace

// ---- fault_proxy ------------------------------------------------------------------------------------------------

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
