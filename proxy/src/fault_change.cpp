// Merging and describing fault changes (fault_proxy.hpp): plain functions over faults.hpp's vocabulary.
#include "rdp/net/endpoint.hpp"
#include "rdp/proxy/fault_proxy.hpp"

#include <string>

namespace rdp::proxy {

void merge(fault_change& into, const fault_change& change) {
  if (change.idle_timeout) into.idle_timeout = change.idle_timeout;
  if (change.on_idle) into.on_idle = change.on_idle;
  if (change.idle_from) into.idle_from = change.idle_from;
  if (change.latency) into.latency = change.latency;
  if (change.jitter) into.jitter = change.jitter;
  if (change.bandwidth) into.bandwidth = change.bandwidth;
  if (change.slice) into.slice = change.slice;
  if (change.slice_delay) into.slice_delay = change.slice_delay;
  if (change.reset_at_phase) into.reset_at_phase = change.reset_at_phase;
  if (change.reset_after) into.reset_after = change.reset_after;
  if (change.blackhole) into.blackhole = change.blackhole;
  if (change.listener_down) into.listener_down = change.listener_down;
  if (change.refuse_new) into.refuse_new = change.refuse_new;
  // reset_now is an act, not a state: it is done once by whoever applies the change, never inherited.
}

namespace {
std::string duration_text(duration d) { return d.count() == 0 ? "0ms" : net::format_duration(d); }
void add(std::string& out, const std::string& part) {
  if (!out.empty()) out += ", ";
  out += part;
}
}  // namespace

std::string describe(const fault_change& change) {
  std::string out;
  if (change.idle_timeout) {
    if (*change.idle_timeout)
      add(out, "idle-timeout " + duration_text(**change.idle_timeout));
    else
      add(out, "no idle-timeout");
  }
  if (change.on_idle) add(out, "on-idle " + std::string(to_string(*change.on_idle)));
  if (change.idle_from) add(out, "idle-from " + std::string(to_string(*change.idle_from)));
  if (change.latency) add(out, "latency " + duration_text(*change.latency));
  if (change.jitter) add(out, "jitter " + duration_text(*change.jitter));
  if (change.bandwidth) add(out, "bandwidth " + std::to_string(*change.bandwidth) + " B/s");
  if (change.slice) add(out, "slice " + std::to_string(*change.slice) + " B");
  if (change.slice_delay) add(out, "slice-delay " + duration_text(*change.slice_delay));
  if (change.reset_now) add(out, "reset now");
  if (change.reset_at_phase) add(out, "reset at " + std::string(to_string(*change.reset_at_phase)));
  if (change.reset_after) add(out, "reset after " + duration_text(*change.reset_after));
  if (change.blackhole) add(out, *change.blackhole ? "blackhole" : "no blackhole");
  if (change.listener_down) add(out, "listener down " + duration_text(*change.listener_down));
  if (change.refuse_new) add(out, *change.refuse_new ? "refuse new" : "accept new");
  return out.empty() ? "none" : out;
}

}  // namespace rdp::proxy
