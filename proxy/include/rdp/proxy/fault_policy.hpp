#pragma once
// What the fault proxy does to one flow, as a pure policy (docs/proxy.md, "Faults"): events in — a chunk read from one
// side, a timer's due time reached, a phase reached, a fault change, a side's end — and decisions out: forward (the
// bytes to write, slice by slice, each when it may go), drop, reset the sender or both sides. No sockets, no clock:
// every call is given `now`, and the policy says when it next wants to be asked (next_write's wait, next_timer).
// The relay (proxy/src/connection_relay.cpp, fault_watch.cpp) reads, writes, arms timers and records; it decides
// nothing about faults.
//
// Faults apply to what is queued too: a chunk waiting on latency, a slice delay or the bandwidth is worked out again
// under the faults in force each time next_write is asked, so the relay re-asks whenever apply() changed them.
#include "rdp/proxy/faults.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace rdp::proxy {

using time_point = std::chrono::steady_clock::time_point;

// The direction a chunk travels: read from the client (to the server) or from the server (to the client).
enum class way { to_server = 0, to_client = 1 };

// What to do with a chunk just read.
struct chunk_decision {
  enum class act {
    forward,       // write `bytes`, asking next_write for each slice
    drop,          // read and thrown away (blackhole, a forgotten flow that drops): silence
    reset_sender,  // a forgotten flow answers the side that sent it with a reset (`why`)
  } what = act::drop;
  std::span<const std::uint8_t> bytes;  // forward: the chunk, or the policy's altered copy (valid until the next chunk
                                        // of this way)
  std::string why;                      // reset_sender: for the event
  std::string note;                     // a fault fired on this chunk (corrupt): for a fault-applied event
};

// The next thing to do for the chunk being forwarded one way.
struct write_step {
  enum class act {
    wait,   // until `until` (latency and jitter, a slice delay, the bandwidth), then ask again
    write,  // bytes[offset, offset + size) now, then call written()
    done,   // the whole chunk is written
  } what = act::done;
  time_point until{};
  std::size_t offset = 0, size = 0;
};

// What a timer's due time brings (next_timer / on_timer).
struct timer_decision {
  enum class act {
    none,        // nothing is due (yet)
    forget,      // the idle timeout ran out: the flow is forgotten, and `mode` says what it gets from now on
    reset_both,  // a reset at a phase is due: reset both sides (`why`)
  } what = act::none;
  idle_expiry mode = idle_expiry::drop;  // forget: drop and reset_sender act later; reset_both resets both now too
  duration after{};                      // forget: the idle timeout that ran out
  std::string why;                       // reset_both
};

// What to do when one side ends its stream (FIN) or resets it.
struct end_decision {
  enum class act {
    pass_on,       // a FIN to the other side, or a reset for a reset
    swallow,       // nothing goes on (blackhole, a forgotten flow that drops)
    reset_sender,  // a forgotten flow answers a FIN like any segment: a reset to its sender (`why`)
  } what = act::pass_on;
  std::string why;
};

class fault_policy {
 public:
  // The flow's faults from the start (the proxy's at accept), the time of accept, and the seed of its jitter draws.
  fault_policy(const fault_change& faults, time_point now, std::uint64_t seed);

  // A phase reached at `now`: false if it had been reached already (nothing else happens then). Starts the idle
  // count if it is `idle_from`, and a reset if it is `reset_at`. `connected` also starts the flow's activity clock.
  bool on_phase(phase reached, time_point now);

  // A fault change at `now` (merged into the flow's faults). True: reset both sides now (reset_now). Afterwards the
  // relay asks next_write and next_timer again: a wait in progress may be shorter, longer, or over.
  bool apply(const fault_change& change, time_point now);

  // A chunk read from one side at `now`.
  chunk_decision on_chunk(way w, std::span<const std::uint8_t> bytes, time_point now);
  // For the chunk on_chunk forwarded: wait, write a slice, or done. A `write` is committed: write it, then written().
  write_step next_write(way w, time_point now);
  void written(way w, time_point now);
  // Bytes moved without the policy looking (splice: only when needs_bytes says it may): the flow is not idle.
  void on_spliced(time_point now);

  // One side ended its stream (`fin`) or reset it.
  end_decision on_end(way w, bool fin) const;

  // When a timer is next due (the idle timeout, a reset at a phase); nullopt: none. on_timer at or after it.
  std::optional<time_point> next_timer() const;
  timer_decision on_timer(time_point now);

  // Whether chunks read `w` must come through on_chunk (a timing fault, a drop, a corruption armed), or may be moved
  // without looking.
  bool needs_bytes(way w) const;

  const fault_change& faults() const noexcept { return faults_; }
  const std::vector<phase>& reached() const noexcept { return reached_; }
  bool has_reached(phase p) const;
  bool forgotten() const noexcept { return forgotten_; }
  time_point last_activity() const noexcept { return last_activity_; }

 private:
  struct transfer {
    std::size_t size = 0, sent = 0;
    time_point arrived{}, last_write{};
    double jitter_share = 0.0;  // the chunk's draw: a share of whatever jitter is in force while it waits
    bool latency_over = false;
  };

  std::optional<time_point> idle_due() const;
  bool corrupt_armed(way w) const;

  fault_change faults_;
  std::vector<phase> reached_;
  time_point last_activity_, idle_from_at_;
  std::optional<time_point> reset_due_;
  std::optional<phase> reset_phase_;  // the phase reset_due_ counts from (for the event)
  duration reset_delay_{};
  bool forgotten_ = false;
  std::array<bool, 2> corrupt_spent_{};  // per way: the armed corruption has been done
  std::array<transfer, 2> transfers_{};
  std::array<time_point, 2> pace_free_{};  // token bucket: when the bandwidth allows the next byte, per way
  std::array<std::vector<std::uint8_t>, 2> altered_;
  std::mt19937_64 random_;
};

// Whether a new connection is let in: the listener's faults first (refuse_new), then the limits.
enum class admission { accept, refuse_new, overall_limit, source_limit };
admission admit(const fault_change& proxy_faults, std::size_t open, std::size_t open_from_source,
                std::size_t max_open, std::size_t max_from_source) noexcept;

}  // namespace rdp::proxy
