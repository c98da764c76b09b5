#pragma once
// Scenario time and real time: the one clock of a run. Every duration of the file — the proxy's, the clients', the
// steps', and rdpsim's limits, heartbeat period and restart downtime alike — is scaled here, to the millisecond,
// so near-equal timers keep their order at every time scale (62 s heartbeats against a 61 s firewall: 3100 ms
// against 3050 ms at 0.05). What a person reads is scenario time, with the real time beside it where they differ.
#include "rdp/proxy/faults.hpp"
#include "rdp/scenarios/scenario.hpp"

#include <chrono>
#include <string>

namespace rdp::scenarios::running {

struct run_clock {
  double time_scale = 1.0;  // > 0: real time = scenario time × time_scale

  std::chrono::milliseconds scaled(duration d) const;
  // Every duration of the faults (proxy::fault_table's), scaled; rates and sizes are not.
  proxy::fault_change scaled(const proxy::fault_change& c) const;
  // "idle-timeout 4m (4800ms real)" at time scale 0.02, "4m" at 1.
  std::string span_text(duration d) const;
  // A fault change as the file wrote it, each duration with its real value beside.
  std::string describe_change(const proxy::fault_change& c) const;
  // The time scale as the timeline prints it.
  std::string scale_text() const;
  // Real time since the start as scenario time, to the millisecond: the value a window is judged on and printed as.
  std::chrono::milliseconds scenario_ms(std::chrono::microseconds real) const;
};

}  // namespace rdp::scenarios::running
