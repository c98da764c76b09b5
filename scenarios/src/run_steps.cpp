// The timeline's steps: each waits for its time or its event, then does its action — here those on a session or
// the path (leave, busy, admin, policy, fault); logon and probe are in run_clients.cpp, occupy_port and share_port in
// run_occupants.cpp.
#include "runner_state.hpp"

#include "rdp/net/quantity.hpp"

#include <variant>

namespace rdp::scenarios::running {

namespace {

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace

asio::awaitable<void> scenario_run::run_step(std::size_t index) {
  const auto& st = s_.steps[index];
  const std::string label = "step " + std::to_string(index + 1) + " (" + to_string(st.where) + ")";
  if (st.when.at) {
    co_await sleep_until(started_ + clock_.scaled(*st.when.at));
  } else {
    if (!co_await wait_event(st.when.on)) {
      step_never_ran(index);
      co_return;
    }
    if (step_phases_[index] == step_phase::waiting_event) step_phases_[index] = step_phase::waiting_time;
    co_await sleep_until(steady::now() + clock_.scaled(st.when.after));
  }
  if (steady::now() >= end_by_ || step_phases_[index] == step_phase::never_ran) {
    step_never_ran(index);
    co_return;
  }
  step_phases_[index] = step_phase::acting;
  if (!st.label.empty()) note("runner", st.label);
  co_await std::visit(
      overloaded{[&](const logon_step& a) { return do_logon(a, label); },
                 [&](const leave_step& a) { return do_leave(a, label); },
                 [&](const busy_step& a) { return do_busy(a, label); },
                 [&](const admin_step& a) { return do_admin(a, label); },
                 [&](const policy_step& a) { return do_policy(a, label); },
                 [&](const fault_step& a) { return do_fault(a, label); },
                 [&](const probe_step& a) { return do_probe(a, label); },
                 [&](const occupy_port_step& a) { return do_occupy(a, label); },
                 [&](const share_port_step& a) { return do_share(a, label); }},
      st.action);
  step_phases_[index] = step_phase::done;
  fire("step." + std::to_string(index + 1) + ".done");
}

asio::awaitable<void> scenario_run::do_leave(const leave_step& step, const std::string& label) {
  auto& c = clients_[step.client];
  if (c.attempts.empty() || c.attempts.back().finished) {
    note("runner", label + ": " + step.client + " has no session to leave");
    co_return;
  }
  auto& a = c.attempts.back();
  note("client:" + step.client, "leaves (Disconnect Provider Ultimatum, rn-user-requested)");
  if (a.control) a.control->request_stop();
  a.cancel->store(true);  // FreeRDP: ends its stay
  co_return;
}

asio::awaitable<void> scenario_run::do_busy(const busy_step& step, const std::string& label) {
  auto& c = clients_[step.client];
  if (c.attempts.empty() || !c.attempts.back().control) {
    fail_run(label + ": busy " + step.client + ": only a running lean client can be made busy");
    co_return;
  }
  std::optional<milliseconds> every;
  if (step.every) every = clock_.scaled(*step.every);
  note("client:" + step.client, every ? "the user works: input every " + net::format_duration(*step.every) : "the user stops: idle");
  c.attempts.back().control->set_busy(every);
  co_return;
}

std::optional<std::uint32_t> scenario_run::session_of(const std::string& client, const std::string& label) {
  auto& c = clients_[client];
  for (auto it = c.attempts.rbegin(); it != c.attempts.rend(); ++it)
    if (it->server_session) return it->server_session;
  fail_run(label + ": " + client + " has no session on the server");
  return std::nullopt;
}

asio::awaitable<void> scenario_run::do_admin(const admin_step& step, const std::string& label) {
  if (!server_running_) {
    fail_run(label + ": the service is not running");
    co_return;
  }
  auto& admin = server_->admin();
  sim::admin_result r;
  std::string what;
  if (step.kind == admin_kind::restart_service) {
    const auto down = clock_.scaled(step.down);  // `down: 0s` is a restart with no downtime
    what = "restart the service (listener down " + clock_.span_text(step.down);
    if (step.sessions) what += *step.sessions == sim::restart_sessions::keep ? ", sessions kept" : ", sessions ended";
    what += ")";
    r = step.sessions ? admin.restart_service(down, *step.sessions) : admin.restart_service(down);
    // Recording must not change the outcome: the pass-through relay that records the pcap would accept while
    // the service is down and then reset (its upstream connect refused), where the client meets a refusal without
    // it. Its listener goes down for the same time (docs/proxy.md, "The recording relay").
    if (r.ok && proxy_ && !s_.path.through_proxy && down.count() > 0) {
      proxy::fault_change mirror, mirror_in_file;
      mirror.listener_down = std::chrono::duration_cast<proxy::duration>(down);
      mirror_in_file.listener_down = step.down;
      applying_ = &mirror_in_file;
      proxy_->apply(mirror);
      applying_ = nullptr;
      note("proxy", "the recording relay's listener is down while the service's is (connections are refused, as "
                    "without the relay)");
    }
  } else {
    const auto id = session_of(step.session_of, label);
    if (!id) co_return;
    switch (step.kind) {
      case admin_kind::logoff: what = "logoff " + std::to_string(*id); r = admin.logoff(*id); break;
      case admin_kind::reset: what = "reset session " + std::to_string(*id); r = admin.reset(*id); break;
      case admin_kind::disconnect: what = "tsdiscon " + std::to_string(*id); r = admin.disconnect(*id); break;
      case admin_kind::drop_connection:
        what = "drop the connection of session " + std::to_string(*id);
        r = admin.drop_connection(*id);
        break;
      case admin_kind::restart_service: break;
    }
  }
  note("server", "admin: " + what + (r.ok ? "" : " — failed: " + r.error));
  if (!r.ok) fail_run(label + ": " + what + ": " + r.error);
  co_return;
}

asio::awaitable<void> scenario_run::do_policy(const policy_step& step, const std::string& label) {
  if (!server_running_) {
    fail_run(label + ": the service is not running");
    co_return;
  }
  auto policy = server_->admin().policy();
  std::string text;
  auto seconds_of = [&](const std::optional<duration>& d, const char* what) -> std::optional<milliseconds> {
    if (!d) return std::nullopt;
    return scaled_limit(*d, what);
  };
  if (step.single_session) policy.single_session = *step.single_session;
  if (step.max_sessions) policy.max_sessions = *step.max_sessions;
  if (step.idle_limit) policy.idle_limit = seconds_of(*step.idle_limit, "idle_limit");
  if (step.active_limit) policy.logon_timeout = seconds_of(*step.active_limit, "active_limit");
  if (step.disconnected_limit) policy.disconnected_limit = seconds_of(*step.disconnected_limit, "disconnected_limit");
  const auto r = server_->admin().set_policy(policy);
  // What the step set, in scenario time (rdpsim runs the real values beside).
  std::string set;
  auto add = [&](const std::string& part) { set += (set.empty() ? "" : ", ") + part; };
  auto limit = [&](const std::optional<std::optional<duration>>& d, const char* name) {
    if (d) add(std::string(name) + " " + (*d ? clock_.span_text(**d) : std::string("none")));
  };
  if (step.single_session) add(std::string("single_session ") + (*step.single_session ? "true" : "false"));
  if (step.max_sessions)
    add("max_sessions " + (*step.max_sessions ? std::to_string(**step.max_sessions) : std::string("unlimited")));
  limit(step.idle_limit, "idle_limit");
  limit(step.active_limit, "active_limit");
  limit(step.disconnected_limit, "disconnected_limit");
  note("server", "admin: policy " + (set.empty() ? std::string("unchanged") : set) +
                     (r.ok ? "" : " — failed: " + r.error));
  if (!r.ok) fail_run(label + ": policy: " + r.error);
  co_return;
}

asio::awaitable<void> scenario_run::do_fault(const fault_step& step, const std::string& label) {
  if (!proxy_ || !s_.path.through_proxy) {
    fail_run(label + ": a fault needs the path through the proxy");
    co_return;
  }
  const auto change = clock_.scaled(step.fault.change);
  if (step.client.empty()) {
    note("proxy", "fault for every connection: " + clock_.describe_change(step.fault.change));
    in_file_.take(step.fault.change);
    for (auto& [id, f] : in_file_by_connection_) f.take(step.fault.change);  // it reaches the live ones too
    applying_ = &step.fault.change;
    proxy_->apply(change);
    applying_ = nullptr;
    co_return;
  }
  auto& c = clients_[step.client];
  std::optional<proxy::connection_id> id;
  if (!c.attempts.empty()) id = proxy_connection_of(c.attempts.back());
  if (id) {
    in_file_by_connection_.try_emplace(*id, in_file_for(*id));
    in_file_by_connection_[*id].take(step.fault.change);
  }
  applying_ = &step.fault.change;
  const bool applied = id && proxy_->apply(*id, change);
  applying_ = nullptr;
  if (!applied) {
    fail_run(label + ": " + step.client + " has no connection through the proxy");
    co_return;
  }
  note("proxy", "fault for " + step.client + "'s connection #" + std::to_string(*id) + ": " +
                    clock_.describe_change(step.fault.change));
  co_return;
}

}  // namespace rdp::scenarios::running
