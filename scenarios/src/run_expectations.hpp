#pragma once
// Judging a scenario's expectations (`expect:`) against what the run observed: one check line per expectation,
// what was expected and what was seen. Pure: no sockets, no clock — the observations are taken at the end of the
// run (runner.cpp's wind-down) and handed over whole.
#include "attempts.hpp"
#include "run_clock.hpp"

#include "rdp/proxy/fault_proxy.hpp"
#include "rdp/scenarios/runner.hpp"
#include "rdp/sim/counters.hpp"
#include "rdp/sim/sessions.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rdp::scenarios::running {

// What a run leaves to be judged: every client's attempts, and the server's and the proxy's state at the end.
struct run_observations {
  const std::map<std::string, client_state>& clients;
  const std::optional<sim::server_counters>& server_counters;  // none when the server never ran
  const std::vector<sim::session_info>& sessions_at_end;
  const std::optional<proxy::proxy_counters>& proxy_counters;   // none without a proxy on the path
};

// One check per expectation of `s`, in the file's order. Windows and tolerances are judged in scenario time.
std::vector<check_result> judge_expectations(const scenario& s, const run_observations& seen, const run_clock& clock);

}  // namespace rdp::scenarios::running
