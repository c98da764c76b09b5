// What the fault proxy does to one flow (fault_policy.hpp): the faults' decisions, with time given, never read.
#include "rdp/proxy/fault_policy.hpp"

#include "rdp/net/quantity.hpp"

#include <algorithm>
#include <cstdio>

namespace rdp::proxy {
namespace {

std::size_t index(way w) { return static_cast<std::size_t>(w); }

std::string side_of(way w) { return w == way::to_server ? "client" : "server"; }

std::string hex_byte(std::uint8_t b) {
  char text[5];
  std::snprintf(text, sizeof text, "0x%02x", b);
  return text;
}

}  // namespace

fault_policy::fault_policy(const fault_change& faults, time_point now, std::uint64_t seed)
    : faults_(faults), last_activity_(now), idle_from_at_(now), random_(seed) {
  faults_.reset_now = false;  // an act of the change that made these faults, done (or not) there
}

bool fault_policy::has_reached(phase p) const { return std::find(reached_.begin(), reached_.end(), p) != reached_.end(); }

bool fault_policy::on_phase(phase reached, time_point now) {
  if (has_reached(reached)) return false;
  reached_.push_back(reached);
  if (reached == phase::connected) last_activity_ = now;  // the flow begins: idle time counts from here
  if (faults_.idle_from == reached) idle_from_at_ = now;
  if (faults_.reset_at_phase == reached) {
    reset_delay_ = faults_.reset_after.value_or(duration{0});
    reset_due_ = now + reset_delay_;
    reset_phase_ = reached;
  }
  return true;
}

bool fault_policy::apply(const fault_change& change, time_point now) {
  merge(faults_, change);
  if (change.reset_now) return true;
  // A phase reset named after its phase was reached is counted from now; so is an idle count from a phase passed.
  if (change.reset_at_phase && has_reached(*change.reset_at_phase)) {
    reset_delay_ = faults_.reset_after.value_or(duration{0});
    reset_due_ = now + reset_delay_;
    reset_phase_ = *change.reset_at_phase;
  }
  if (change.idle_from && has_reached(*change.idle_from)) idle_from_at_ = now;
  // The token bucket starts afresh at a new rate (issue 24: after 1 B/s was lifted, a chunk still waited the 5,000 s
  // the old rate had scheduled).
  if (change.bandwidth) pace_free_ = {};
  if (change.corrupt) corrupt_spent_ = {};  // each naming arms it again
  return false;
}

bool fault_policy::corrupt_armed(way w) const {
  const auto target = faults_.corrupt.value_or(corrupt_target::none);
  const bool covers = target == corrupt_target::both ||
                      (target == corrupt_target::from_client && w == way::to_server) ||
                      (target == corrupt_target::from_server && w == way::to_client);
  return covers && !corrupt_spent_[index(w)];
}

chunk_decision fault_policy::on_chunk(way w, std::span<const std::uint8_t> bytes, time_point now) {
  chunk_decision d;
  if (forgotten_) {
    if (faults_.on_idle == idle_expiry::reset_sender) {
      d.what = chunk_decision::act::reset_sender;
      d.why = "idle expiry: the flow is forgotten (segment answered with a reset)";
    } else {
      d.what = chunk_decision::act::drop;
    }
    return d;
  }
  last_activity_ = now;
  if (faults_.blackhole.value_or(false)) {
    d.what = chunk_decision::act::drop;
    return d;
  }
  d.what = chunk_decision::act::forward;
  d.bytes = bytes;
  if (corrupt_armed(w) && !bytes.empty()) {
    // The middle byte, inverted: inside a TLS record's encrypted payload, so the peer's integrity check fails
    // (bad_record_mac) rather than its record framing.
    auto& copy = altered_[index(w)];
    copy.assign(bytes.begin(), bytes.end());
    const std::size_t at = copy.size() / 2;
    copy[at] = static_cast<std::uint8_t>(copy[at] ^ 0xFF);
    corrupt_spent_[index(w)] = true;
    d.bytes = copy;
    d.note = "corrupt: byte " + std::to_string(at) + " of a " + std::to_string(copy.size()) + "-byte chunk from the " +
             side_of(w) + " inverted (" + hex_byte(bytes[at]) + " to " + hex_byte(copy[at]) + ")";
  }
  auto& t = transfers_[index(w)];
  t = transfer{};
  t.size = d.bytes.size();
  t.arrived = now;
  if (faults_.jitter.value_or(duration{0}).count() > 0)
    t.jitter_share = static_cast<double>(random_() >> 11) * 0x1.0p-53;  // uniform in [0, 1), 53 bits
  return d;
}

write_step fault_policy::next_write(way w, time_point now) {
  auto& t = transfers_[index(w)];
  write_step step;
  const auto wait = [&](time_point until) {
    step.what = write_step::act::wait;
    step.until = until;
    return step;
  };
  if (!t.latency_over) {
    const auto jitter = std::chrono::duration<double, std::milli>(faults_.jitter.value_or(duration{0})) * t.jitter_share;
    const auto due = t.arrived + faults_.latency.value_or(duration{0}) +
                     std::chrono::duration_cast<time_point::duration>(jitter);
    if (due > now) return wait(due);
    t.latency_over = true;
    t.last_write = now;
  }
  if (t.sent >= t.size) return step;  // done
  const auto slice = faults_.slice.value_or(0);
  if (t.sent > 0 && slice > 0) {
    const auto due = t.last_write + faults_.slice_delay.value_or(duration{0});
    if (due > now) return wait(due);
  }
  const auto bandwidth = faults_.bandwidth.value_or(0);
  auto& free_at = pace_free_[index(w)];
  if (bandwidth > 0 && free_at > now) return wait(free_at);
  const std::size_t piece = slice > 0 ? static_cast<std::size_t>(std::min<std::uint64_t>(slice, t.size - t.sent))
                                      : t.size - t.sent;
  if (bandwidth > 0)
    free_at = std::max(free_at, now) + std::chrono::duration_cast<time_point::duration>(std::chrono::duration<double>(
                                           static_cast<double>(piece) / static_cast<double>(bandwidth)));
  step.what = write_step::act::write;
  step.offset = t.sent;
  step.size = piece;
  t.sent += piece;
  return step;
}

void fault_policy::written(way w, time_point now) { transfers_[index(w)].last_write = now; }

void fault_policy::on_spliced(time_point now) { last_activity_ = now; }

end_decision fault_policy::on_end(way w, bool fin) const {
  (void)w;
  end_decision d;
  if (forgotten_) {
    // A firewall that forgot the flow answers a FIN like any segment (reset-sender) or drops it.
    if (faults_.on_idle == idle_expiry::reset_sender && fin) {
      d.what = end_decision::act::reset_sender;
      d.why = "idle expiry: the flow is forgotten (FIN answered with a reset)";
    } else {
      d.what = end_decision::act::swallow;
    }
    return d;
  }
  if (faults_.blackhole.value_or(false)) d.what = end_decision::act::swallow;  // nothing is forwarded, a FIN neither
  return d;
}

std::optional<time_point> fault_policy::idle_due() const {
  const auto& timeout = faults_.idle_timeout;
  if (!timeout || !*timeout || **timeout <= duration{0} || forgotten_) return std::nullopt;
  if (!has_reached(faults_.idle_from.value_or(phase::connected))) return std::nullopt;
  return std::max(last_activity_, idle_from_at_) + **timeout;
}

std::optional<time_point> fault_policy::next_timer() const {
  const auto idle = idle_due();
  if (idle && reset_due_) return std::min(*idle, *reset_due_);
  return idle ? idle : reset_due_;
}

timer_decision fault_policy::on_timer(time_point now) {
  timer_decision d;
  const auto idle = idle_due();
  const bool idle_now = idle && *idle <= now;
  const bool reset_now = reset_due_ && *reset_due_ <= now;
  // Both due: the earlier first (a tie goes to the reset, which ends the flow either way).
  if (reset_now && (!idle_now || *reset_due_ <= *idle)) {
    reset_due_.reset();
    d.what = timer_decision::act::reset_both;
    d.why = "reset " + (reset_delay_.count() ? net::format_duration(reset_delay_) : std::string("0ms")) + " after " +
            std::string(to_string(reset_phase_.value_or(phase::connected)));
    return d;
  }
  if (idle_now) {
    forgotten_ = true;
    d.what = timer_decision::act::forget;
    d.mode = faults_.on_idle.value_or(idle_expiry::drop);
    d.after = **faults_.idle_timeout;
  }
  return d;
}

bool fault_policy::needs_bytes(way w) const {
  const auto& f = faults_;
  return forgotten_ || f.blackhole.value_or(false) || f.latency.value_or(duration{0}).count() != 0 ||
         f.jitter.value_or(duration{0}).count() != 0 || f.bandwidth.value_or(0) != 0 || f.slice.value_or(0) != 0 ||
         corrupt_armed(w);
}

admission admit(const fault_change& proxy_faults, std::size_t open, std::size_t open_from_source,
                std::size_t max_open, std::size_t max_from_source) noexcept {
  if (proxy_faults.refuse_new.value_or(false)) return admission::refuse_new;
  if (open >= max_open) return admission::overall_limit;
  if (open_from_source >= max_from_source) return admission::source_limit;
  return admission::accept;
}

}  // namespace rdp::proxy
