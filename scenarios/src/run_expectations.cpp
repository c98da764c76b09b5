// Judging the expectations of a scenario (run_expectations.hpp): the client's closing word, errorInfo, DPU reason,
// reconnection and end window; the server's counters and sessions; the proxy's counters.
#include "run_expectations.hpp"

#include "rdp/net/quantity.hpp"

#include <cstdio>
#include <variant>

namespace rdp::scenarios::running {
namespace {

using std::chrono::milliseconds;

std::string window_end(duration d) { return d.count() == 0 ? "0s" : net::format_duration(d); }
// "95s..100s", "..40s", "25s..": a window as the file wrote it (or widened).
std::string window_text(const std::optional<duration>& from, const std::optional<duration>& to) {
  return (from ? window_end(*from) : std::string()) + ".." + (to ? window_end(*to) : std::string());
}
// The window widened by the tolerance at each end: what the check passes, and what the line prints. Both in
// scenario time, whatever the time scale (a tolerance of real time would widen a window by 1/scale of it: 400 ms
// became 8 s at 0.05).
time_window widened(const time_window& w, duration tolerance) {
  time_window out;
  if (w.from) out.from = *w.from > tolerance ? *w.from - tolerance : duration(0);
  if (w.to) out.to = *w.to + tolerance;
  return out;
}
bool in_window(const time_window& w, milliseconds at) {
  return (!w.from || at >= *w.from) && (!w.to || at <= *w.to);
}
std::string seconds_ms(milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%03llds", static_cast<long long>(ms.count() / 1000),
                static_cast<long long>(ms.count() % 1000));
  return buf;
}

// One expectation's line: what was expected ("closed reset") and what was seen ("closed fin"), item by item.
struct check_line {
  check_result r;
  std::string saw;
  bool ok = true;
  check_line(std::string subject, source_position where) {
    r.what = std::move(subject);
    r.where = std::move(where);
  }
  void expect(const std::string& name, const std::string& want, const std::string& got, const char* sep = " ") {
    r.what += " " + name + sep + want;
    see(name + sep + got);
    if (want != got) ok = false;
  }
  void see(const std::string& text) { saw += (saw.empty() ? "" : ", ") + text; }
  check_result done() {
    r.passed = ok;
    r.why = saw;
    return std::move(r);
  }
};

// The judge of one run: each check() appends the line of one expectation.
struct judge {
  const scenario& s;
  const run_observations& seen;
  const run_clock& clock;
  std::vector<check_result> checks;

  void check(const client_expectation& e) {
    // Every client of the file has its state (the runner makes them all); an empty one keeps this total.
    static const client_state no_client{};
    const auto found = seen.clients.find(e.client);
    const auto& c = found != seen.clients.end() ? found->second : no_client;
    check_line line(e.client + (e.attempt ? " (attempt " + std::to_string(*e.attempt) + ")" : ""), e.where);
    if (c.attempts.empty() || (e.attempt && static_cast<std::size_t>(*e.attempt) > c.attempts.size())) {
      line.ok = false;
      line.see("no such attempt: " + e.client + " made " + std::to_string(c.attempts.size()));
      checks.push_back(line.done());
      return;
    }
    const auto& a = e.attempt ? c.attempts[static_cast<std::size_t>(*e.attempt - 1)] : c.attempts.back();
    if (e.active) line.expect("active", *e.active ? "yes" : "no", was_active(a) ? "yes" : "no");
    if (e.error_info) {
      std::optional<std::uint32_t> got;
      if (a.lean) got = a.lean->error_info;
      if (a.freerdp && a.freerdp->error_info && !a.freerdp->error_info_from_ultimatum) got = a.freerdp->error_info;
      line.expect("errorInfo", error_info_text(*e.error_info), got ? error_info_text(*got) : "none");
    }
    if (e.dpu_reason) {
      std::optional<std::uint32_t> got;
      if (a.lean && a.lean->disconnect_reason) got = static_cast<std::uint32_t>(*a.lean->disconnect_reason);
      if (a.freerdp && a.freerdp->disconnect_ultimatum) got = static_cast<std::uint32_t>(*a.freerdp->disconnect_ultimatum);
      line.expect("dpu", std::to_string(*e.dpu_reason), got ? std::to_string(*got) : "none");
    }
    if (e.closed) line.expect("closed", std::string(to_string(*e.closed)), std::string(to_string(closed_of(a))));
    if (e.reconnect)
      line.expect("reconnect", std::string(to_string(*e.reconnect)), std::string(to_string(reconnect_of(a))));
    if (e.verdict) line.expect("verdict", *e.verdict, a.scan ? std::string(probe::to_string(a.scan->result)) : "none");
    if (e.within) {
      // "within 95s..100s (±1s)": the window and the tolerance it is judged with, both scenario time; a failure
      // prints the widened window the end fell outside of, and the end to the millisecond it was compared at.
      const auto tolerance = e.tolerance.value_or(s.tolerance);
      const auto judged = widened(*e.within, tolerance);
      line.r.what += " within " + window_text(e.within->from, e.within->to) + " (±" + window_end(tolerance) + ")";
      if (!a.ended_at) {
        line.ok = false;
        line.see("still open at the end");
      } else {
        const auto at = clock.scenario_ms(*a.ended_at);
        const bool inside = in_window(judged, at);
        if (!inside) line.ok = false;
        line.see("ended at " + seconds_ms(at) +
                 (inside ? std::string() : ", outside " + window_text(judged.from, judged.to)));
      }
    }
    checks.push_back(line.done());
  }

  void check(const server_expectation& e) {
    check_line line("server", e.where);
    const auto values = seen.server_counters ? sim::named_counters(*seen.server_counters)
                                         : std::vector<std::pair<std::string_view, std::uint64_t>>{};
    for (const auto& [name, want] : e.counters) {
      std::string got = "?";
      for (const auto& [n, v] : values)
        if (n == name) got = std::to_string(v);
      line.expect(name, std::to_string(want), got, "=");
    }
    if (e.sessions) {
      std::size_t got = 0;
      for (const auto& session : seen.sessions_at_end)
        if (session.state != sim::session_state::listen) ++got;
      line.expect("sessions", std::to_string(*e.sessions), std::to_string(got), "=");
    }
    checks.push_back(line.done());
  }

  void check(const proxy_expectation& e) {
    check_line line("proxy", e.where);
    if (!seen.proxy_counters) {
      line.ok = false;
      line.see("no proxy on this path");
      checks.push_back(line.done());
      return;
    }
    const auto& c = *seen.proxy_counters;
    auto expect = [&](const char* name, const std::optional<std::uint64_t>& want, std::uint64_t got) {
      if (want) line.expect(name, std::to_string(*want), std::to_string(got), "=");
    };
    expect("idle_expiries", e.idle_expiries, c.idle_expiries);
    expect("resets_sent", e.resets_sent, c.resets_to_client + c.resets_to_server);
    expect("connections", e.connections, c.accepted);
    checks.push_back(line.done());
  }
};

}  // namespace

std::vector<check_result> judge_expectations(const scenario& s, const run_observations& seen, const run_clock& clock) {
  judge j{s, seen, clock, {}};
  for (const auto& e : s.expect) std::visit([&j](const auto& x) { j.check(x); }, e);
  return std::move(j.checks);
}

}  // namespace rdp::scenarios::running
