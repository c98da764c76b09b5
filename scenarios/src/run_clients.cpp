// The clients of a run: the lean client (on the io_context), FreeRDP (its logon blocks, so it runs on a thread of
// its own and posts its result back) and rdpprobe; their attempts, cookies and what each said at its end.
#include "runner_state.hpp"

#include "rdp/net/spawn.hpp"
#include "rdp/probe/scanner.hpp"
#include "rdp/protocol/errinfo.hpp"

#include <algorithm>
#include <cmath>

namespace rdp::scenarios::running {

attempt& scenario_run::new_attempt(client_state& c, bool reconnect) {
  attempt a;
  a.number = static_cast<int>(c.attempts.size()) + 1;
  a.reconnect = reconnect;
  a.started = now();
  c.attempts.push_back(std::move(a));
  ++attempts_running_;
  return c.attempts.back();
}

void scenario_run::attempt_ended(const std::string& name, std::size_t index) {
  auto& a = clients_[name].attempts[index];
  a.finished = true;
  // The lean client's own instant of deciding, not after its goodbye and drain (deadlines.close, real time).
  a.ended_at = a.lean && a.lean->ended_at
                   ? std::min(now(), std::chrono::duration_cast<microseconds>(*a.lean->ended_at - started_))
                   : now();
  if (a.lean || a.freerdp) {
    // One line per logon with its closing word and the local port that names its TCP stream in the pcap:
    // tests/scripts/scenario_test.sh reads both ("attempt N closed: WORD, local port P").
    const auto port = a.lean ? a.lean->local_port : a.freerdp->local_port;
    std::string text = "attempt " + std::to_string(a.number) + " closed: " + std::string(to_string(closed_of(a))) +
                       ", local port " + std::to_string(port);
    if (a.freerdp && !a.freerdp->socket_evidence.empty()) text += " (" + a.freerdp->socket_evidence + ")";
    note("client:" + name, text, true);
  }
  --attempts_running_;
  fire(name + ".ended");
  wake_settle();
}

milliseconds scenario_run::hold_of(const client_spec& spec) const {
  const auto left = std::chrono::duration_cast<milliseconds>(end_by_ - steady::now());
  return spec.hold ? std::min(clock_.scaled(*spec.hold), left) : left;
}

asio::awaitable<void> scenario_run::do_logon(const logon_step& step, const std::string& label) {
  auto& c = clients_[step.client];
  const auto& spec = *c.spec;
  if (spec.kind == client_kind::lean) {
    auto& a = new_attempt(c, step.reconnect);
    const auto index = c.attempts.size() - 1;
    client::session_options o;
    o.host = "127.0.0.1";
    o.port = entry_port();
    o.user = spec.user;
    o.domain = spec.domain;
    o.password = spec.password;
    o.security = spec.security == "nla" ? client::session_security::nla : client::session_security::tls;
    o.hybrid_ex = spec.hybrid_ex;
    o.spnego = spec.spnego;
    o.announce_heartbeat = spec.announce_heartbeat;
    o.announce_auto_reconnect = spec.announce_auto_reconnect;
    if (spec.busy) o.busy = clock_.scaled(*spec.busy);
    if (spec.silence_limit) o.silence_limit = clock_.scaled(*spec.silence_limit);
    if (spec.liveness == client_liveness::freerdp) {
      // FreeRDP 2.11's keepalive (net::tcp_keepalive's defaults), scaled like every other duration. The user
      // timeout keeps the millisecond; the kernel takes the keepalive idle and interval in whole seconds, rounded
      // up (net::keepalive_seconds), so below time scale 1 the probes come later than scaled: docs/scenarios.md.
      const net::tcp_keepalive freerdp{};
      o.liveness = client::liveness_model::freerdp;
      o.keepalive.idle = clock_.scaled(freerdp.idle);
      o.keepalive.interval = clock_.scaled(freerdp.interval);
      o.keepalive.probes = freerdp.probes;
      o.keepalive.user_timeout = std::max(clock_.scaled(freerdp.user_timeout), milliseconds(1));  // 0 would mean "off"
    }
    o.deadlines.hold = hold_of(spec);
    a.control = std::make_shared<client::session_control>();
    o.control = a.control;
    if (step.reconnect) {
      if (!c.lean_cookie) {
        fail_run(label + ": reconnect " + step.client + ": it was never issued an auto-reconnect cookie");
        --attempts_running_;
        a.finished = true;
        co_return;
      }
      o.auto_reconnect_cookie = client::make_arc_client_cookie(*c.lean_cookie);
      a.previous_session = c.cookie_session;
    }
    note("client:" + step.client, std::string(step.reconnect ? "reconnects with its cookie" : "logs on") + " as " +
                                      spec.user + " (lean client" +
                                      (spec.security == "nla"
                                           ? std::string(spec.spnego ? ", NLA over SPNEGO" : ", NLA") +
                                                 (spec.hybrid_ex ? " with HYBRID_EX" : "")
                                           : std::string()) +
                                      (spec.liveness == client_liveness::freerdp ? ", FreeRDP's TCP keepalive" : "") +
                                      ") to 127.0.0.1:" + std::to_string(o.port));
    o.on_hold_frame = [this, name = step.client, index](const client::session_result& r) {
      on_lean_hold_frame(name, index, r);
    };
    net::spawn(io_.get_executor(), run_lean(step.client, index, std::move(o)), "rdpsim run: client " + step.client);
  } else if (spec.kind == client_kind::freerdp) {
    auto& a = new_attempt(c, step.reconnect);
    const auto index = c.attempts.size() - 1;
    probe::login_options o;
    o.host = "127.0.0.1";
    o.port = entry_port();
    o.user = spec.user;
    o.domain = spec.domain;
    o.password = spec.password;
    o.security = spec.security == "nla"   ? probe::login_security::nla
                 : spec.security == "any" ? probe::login_security::any
                 : spec.security == "rdp" ? probe::login_security::rdp
                                          : probe::login_security::tls;
    o.accept_any_certificate = true;  // the scenario's own rdpsim, with the certificate it has just made
    o.stay = hold_of(spec);
    o.connect_timeout = std::min<milliseconds>(milliseconds(10000), hold_of(spec));
    o.cancel = a.cancel;
    if (step.reconnect) {
      if (!c.freerdp_cookie) {
        fail_run(label + ": reconnect " + step.client + ": it was never issued an auto-reconnect cookie");
        --attempts_running_;
        a.finished = true;
        co_return;
      }
      o.reconnect_cookie = c.freerdp_cookie;
      a.previous_session = c.cookie_session;
    }
    note("client:" + step.client, std::string(step.reconnect ? "reconnects with its cookie" : "logs on") + " as " +
                                      spec.user + " (FreeRDP library, security " + spec.security + ")");
    threads_.emplace_back([this, o, name = step.client, index] {
      auto result = probe::run_login(o);
      asio::post(io_, [this, name, index, result = std::move(result)]() mutable {
        on_freerdp_done(name, index, std::move(result));
      });
    });
  } else {
    fail_run(label + ": " + step.client + " is an rdpprobe client: use probe, not logon");
  }
  co_return;
}

asio::awaitable<void> scenario_run::run_lean(std::string name, std::size_t index, client::session_options o) {
  // Made before the co_await: GCC 12 destroys a temporary lambda inside a co_await expression twice.
  std::function<void(const client::session_result&)> on_done = [this, name, index](const client::session_result& r) {
    if (r.active()) {
      clients_[name].attempts[index].active_at = now();
      note("client:" + name, "active (handshake " + std::to_string(std::llround(r.handshake_ms)) + " ms)");
      fire(name + ".active");
    } else {
      note("client:" + name, "did not reach the active state: " + (r.failure.empty() ? r.error.message() : r.failure));
    }
  };
  auto result = co_await client::run_session(context_, std::move(o), std::move(on_done));
  auto& a = clients_[name].attempts[index];
  describe_lean_end(name, result);
  a.lean = std::move(result);
  attempt_ended(name, index);
}

void scenario_run::on_lean_hold_frame(const std::string& name, std::size_t index, const client::session_result& r) {
  auto& c = clients_[name];
  auto& a = c.attempts[index];
  if (r.cookie && (!c.lean_cookie || !(c.lean_cookie->random_bits == r.cookie->random_bits))) {
    c.lean_cookie = r.cookie;
    c.cookie_session = r.logon_session_id ? r.logon_session_id : a.server_session;
    note("client:" + name, "Save Session Info: session " +
                               (r.logon_session_id ? std::to_string(*r.logon_session_id) : std::string("?")) +
                               ", auto-reconnect cookie issued");
    fire(name + ".cookie");
  }
}

void scenario_run::describe_lean_end(const std::string& name, const client::session_result& r) {
  std::string text;
  for (const auto& t : r.teardown) {
    if (!text.empty()) text += ", then ";
    switch (t.kind) {
      case protocol::teardown_kind::set_error_info: text += "Set Error Info " + error_info_text(t.code); break;
      case protocol::teardown_kind::disconnect_provider_ultimatum:
        text += "Disconnect Provider Ultimatum " + dpu_reason_text(t.code);
        break;
      case protocol::teardown_kind::auto_reconnect_status: text += "Auto-Reconnect Status (cookie refused)"; break;
      // Two endings that both read "timeout" otherwise: TCP giving up on a dead path (keepalive or retransmissions
      // unanswered: the closing word `timeout`) and the client's own deadline running out (the word `client`).
      case protocol::teardown_kind::closed:
        text += r.error == boost::system::errc::timed_out
                    ? "TCP gave up (ETIMEDOUT: keepalive probes or retransmissions unanswered)"
                    : std::string(protocol::to_string(t.kind));
        break;
      case protocol::teardown_kind::timeout:
        text += r.active() ? "its hold ran out (the client's own deadline)"
                           : "no answer within the step deadline (silence before the session was active)";
        break;
      default: text += protocol::to_string(t.kind);
    }
  }
  if (r.closed_by_owner) text += (text.empty() ? "" : ", ") + std::string("the client left");
  if (text.empty()) text = r.failure.empty() ? r.error.message() : r.failure;
  if (r.ended_at)
    note_at(std::min(now(), std::chrono::duration_cast<microseconds>(*r.ended_at - started_)), "client:" + name,
            "ended: " + text);
  else
    note("client:" + name, "ended: " + text);
}

void scenario_run::on_freerdp_done(const std::string& name, std::size_t index, probe::login_result r) {
  auto& c = clients_[name];
  auto& a = c.attempts[index];
  if (r.cookie) {
    c.freerdp_cookie = r.cookie;
    c.cookie_session = r.session_id ? r.session_id : a.server_session;
    fire(name + ".cookie");
  }
  std::string text = r.reached_active ? "was active " + std::to_string(r.active_time.count()) + " ms" : "not active";
  if (r.error_info) text += "; errorInfo " + error_info_text(r.error_info) + (r.error_info_from_ultimatum ? " (made up by FreeRDP from the DPU)" : "");
  if (r.disconnect_ultimatum)
    text += "; Disconnect Provider Ultimatum " + dpu_reason_text(static_cast<std::uint32_t>(*r.disconnect_ultimatum));
  // FreeRDP's last error is often the errorInfo's own name: said once.
  if (!r.last_error_name.empty() && text.find(r.last_error_name) == std::string::npos) text += "; " + r.last_error_name;
  if (r.timed_out) text += "; timed out";
  note("client:" + name, "FreeRDP returned: " + text);
  a.freerdp = std::move(r);
  attempt_ended(name, index);
}

asio::awaitable<void> scenario_run::do_probe(const probe_step& step, const std::string& label) {
  auto& c = clients_[step.client];
  if (c.spec->kind != client_kind::rdpprobe) {
    fail_run(label + ": " + step.client + " is not an rdpprobe client");
    co_return;
  }
  new_attempt(c, false);
  const auto index = c.attempts.size() - 1;
  auto options = std::make_shared<probe::probe_options>();
  options->ntlm_info = true;
  if (shares_port()) {
    // The kernel spreads connections between the members by their 4-tuple: with 32 connections whatever the first
    // answer, a pair goes unmet with probability 2^-31, so the verdict the scenario expects is the port's.
    options->conflict_probes = 32;
    options->min_connections = 32;
  }
  options->target_timeout = std::min<milliseconds>(milliseconds(20000), std::chrono::duration_cast<milliseconds>(
                                                                             end_by_ - steady::now()));
  auto tls = std::make_shared<asio::ssl::context>(net::make_client_context());
  const std::string target = "127.0.0.1:" + std::to_string(entry_port());
  note("client:" + step.client, "rdpprobe scan " + target);
  const net::host_port where("127.0.0.1", entry_port());  // not braced inside the co_await: GCC 12
  auto report = co_await probe::probe_target(target, where, options, tls);
  note("client:" + step.client, "verdict " + std::string(probe::to_string(report.result)) +
                                    (report.evidence.empty() ? "" : ": " + report.evidence));
  c.attempts[index].scan = std::move(report);
  attempt_ended(step.client, index);
  (void)label;
}

}  // namespace rdp::scenarios::running
