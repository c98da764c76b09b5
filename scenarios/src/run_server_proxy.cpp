// The server and the proxy of a run: rdpsim started from the profile (its durations scaled), the fault proxy or the
// recording relay in front of it, and their events in the timeline — each server connection tied to the attempt it
// belongs to, each proxy detail restated in scenario time.
#include "runner_state.hpp"

#include "rdp/net/quantity.hpp"
#include "rdp/protocol/text.hpp"

#include <algorithm>

namespace rdp::scenarios::running {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

void scenario_run::start_server() {
  auto config = s_.server.profile.server;
  config.listen = net::host_port{"127.0.0.1", 0};
  // A share_port step joins the server's port later: the server must be in an SO_REUSEPORT group from the start.
  if (shares_port()) config.reuse_port = true;
  auto& p = config.sessions;
  if (p.idle_limit) p.idle_limit = scaled_limit(*p.idle_limit, "sessions.idle_limit");
  if (p.logon_timeout) p.logon_timeout = scaled_limit(*p.logon_timeout, "sessions.logon_timeout");
  if (p.disconnected_limit) p.disconnected_limit = scaled_limit(*p.disconnected_limit, "sessions.disconnected_limit");
  if (config.heartbeat) config.heartbeat = scaled_limit(*config.heartbeat, "heartbeat");
  if (config.policy.supported != 0 && config.identity.certificate_pem.empty())
    config.identity = net::make_self_signed(net::key_kind::rsa, "rdpsim-scenario");
  config.on_session_event = [this](const sim::session_event& e) { on_server_event(e); };
  server_config_ = config;
  server_ = std::make_unique<sim::server>(io_.get_executor(), config);
  server_->start();
  server_running_ = true;
  server_port_ = server_->local_endpoint().port();
  note("server", "rdpsim (" + s_.server.profile_source + ") listening on 127.0.0.1:" + std::to_string(server_port_) +
                     (s_.server.profile.control ? "; the profile's control interface is not started (the runner "
                                                  "acts on the session table itself)"
                                                : ""));
}

void scenario_run::start_proxy() {
  proxy::proxy_config config;
  config.listen = net::host_port{"127.0.0.1", 0};
  config.upstream = net::host_port{"127.0.0.1", server_port_};
  if (s_.path.through_proxy) {
    config.initial = clock_.scaled(s_.path.proxy.change);
    in_file_.take(s_.path.proxy.change);
  }
  config.record = o_.pcap_dir.has_value();
  config.on_event = [this](const proxy::proxy_event& e) { on_proxy_event(e); };
  proxy_ = std::make_unique<proxy::fault_proxy>(io_.get_executor(), config);
  proxy_->start();
  note("proxy", std::string(s_.path.through_proxy ? "fault proxy" : "pass-through proxy (recording for the pcap)") +
                    " on 127.0.0.1:" + std::to_string(proxy_->local_endpoint().port()) + " → 127.0.0.1:" +
                    std::to_string(server_port_) +
                    (s_.path.through_proxy ? ", faults: " + clock_.describe_change(s_.path.proxy.change) : ""));
}

bool scenario_run::shares_port() const {
  return std::any_of(s_.steps.begin(), s_.steps.end(),
                     [](const step& st) { return std::holds_alternative<share_port_step>(st.action); });
}

std::uint16_t scenario_run::entry_port() const { return proxy_ ? proxy_->local_endpoint().port() : server_port_; }

std::optional<std::uint16_t> scenario_run::port_of(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  try {
    const auto v = std::stoul(address.substr(colon + 1));
    if (v > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(v);
  } catch (...) {
    return std::nullopt;
  }
}

std::optional<proxy::connection_id> scenario_run::proxy_connection_of(const attempt& a) const {
  if (!proxy_ || a.server_peer.empty()) return std::nullopt;
  const auto port = port_of(a.server_peer);
  if (!port) return std::nullopt;
  return proxy_->connection_by_upstream_port(*port);
}

// The attempt a server connection belongs to: the one already tied to it, else the earliest running attempt of a
// client with that user name that has no server connection yet.
attempt* scenario_run::attempt_of(const sim::session_event& e, std::string* client_name) {
  for (auto& [name, c] : clients_)
    for (auto& a : c.attempts)
      if (a.server_connection == e.connection) {
        *client_name = name;
        return &a;
      }
  if (e.what != sim::session_event::kind::logon_accepted && e.what != sim::session_event::kind::logon_denied)
    return nullptr;
  attempt* best = nullptr;
  for (auto& [name, c] : clients_) {
    if (c.spec->kind == client_kind::rdpprobe || lower(c.spec->user) != lower(e.user)) continue;
    for (auto& a : c.attempts)
      if (!a.finished && !a.server_connection && (!best || a.started < best->started)) {
        best = &a;
        *client_name = name;
      }
  }
  if (best) {
    best->server_connection = e.connection;
    best->server_peer = e.client_address;
  }
  return best;
}

void scenario_run::on_server_event(const sim::session_event& e) {
  std::string client_name;
  attempt* a = attempt_of(e, &client_name);
  std::string text = "rdp-tcp#" + std::to_string(e.connection) + " " + std::string(sim::to_string(e.what));
  if (!e.user.empty()) text += ", user " + protocol::escape_for_terminal(e.user);
  if (e.session_id) text += ", session " + std::to_string(*e.session_id);
  if (e.what == sim::session_event::kind::logon_denied) text += ", refused with " + error_info_text(e.error_info);
  if (!e.detail.empty()) text += " (" + e.detail + ")";
  if (a) text += "  [" + client_name + " #" + std::to_string(a->number) + "]";
  note("server", text, a == nullptr && e.what == sim::session_event::kind::ended);
  std::optional<proxy::phase> told;
  switch (e.what) {
    case sim::session_event::kind::logon_accepted:
      fire("server.logged_on");
      told = proxy::phase::logged_on;
      if (a) {
        a->server_session = e.session_id;
        a->stale_cookie = e.stale_cookie;
      }
      break;
    case sim::session_event::kind::logon_denied: break;
    case sim::session_event::kind::active:
      fire("server.active");
      told = proxy::phase::active;
      if (a && !a->active_at && clients_[client_name].spec->kind == client_kind::freerdp) {
        // FreeRDP's logon tells nothing until it returns: its active state is taken from the server's.
        a->active_at = now();
        fire(client_name + ".active");
      }
      break;
    case sim::session_event::kind::session_info_sent:
      fire("server.session_info_sent");
      told = proxy::phase::session_info_sent;
      break;
    case sim::session_event::kind::ended: fire("server.ended"); break;
  }
  if (told && a && proxy_) {
    if (const auto id = proxy_connection_of(*a)) proxy_->tell_phase(*id, *told);
  }
}

const scenario_run::faults_in_file& scenario_run::in_file_for(proxy::connection_id id) const {
  const auto it = in_file_by_connection_.find(id);
  return it == in_file_by_connection_.end() ? in_file_ : it->second;
}

// `text` with "<lead><the scaled value>" said in scenario time, real beside: "after 4800ms idle" becomes
// "after 4m (4800ms real) idle". Only the exact scaled value is replaced, so nothing is restated wrongly.
std::string scenario_run::restate(std::string text, const std::string& lead, duration in_file) const {
  const auto real = clock_.scaled(in_file);
  const auto was = lead + (real.count() == 0 ? std::string("0ms") : net::format_duration(real));
  const auto at = text.find(was);
  if (at == std::string::npos || o_.time_scale == 1.0) return text;
  return text.replace(at, was.size(), lead + clock_.span_text(in_file));
}

// The proxy's event details quote real durations; a person reads the scenario's.
std::string scenario_run::scenario_detail(const proxy::proxy_event& e) const {
  std::string detail = e.detail;
  const auto& f = in_file_for(e.connection);
  if (e.kind == proxy::event_kind::idle_expired && f.idle_timeout && *f.idle_timeout)
    detail = restate(std::move(detail), "flow forgotten after ", **f.idle_timeout);
  if ((e.kind == proxy::event_kind::closed || e.kind == proxy::event_kind::fault_applied) && f.reset_after)
    detail = restate(std::move(detail), "reset ", *f.reset_after);
  if (applying_) {
    // A change the runner is applying: its own note says it as the file does.
    if (e.kind == proxy::event_kind::fault_applied)
      detail = (e.connection ? "" : "all connections: ") + clock_.describe_change(*applying_);
    if (e.kind == proxy::event_kind::listener_down && applying_->listener_down)
      detail = restate(std::move(detail), "for ", *applying_->listener_down);
  }
  return detail;
}

void scenario_run::on_proxy_event(const proxy::proxy_event& e) {
  std::string text = e.connection ? "#" + std::to_string(e.connection) + " " : std::string();
  text += std::string(proxy::to_string(e.kind));
  if (e.reached) text += " " + std::string(proxy::to_string(*e.reached));
  if (e.who) text += " by " + std::string(proxy::to_string(*e.who));
  if (e.toward) text += " toward " + std::string(proxy::to_string(*e.toward));
  if (e.how) text += " (" + std::string(proxy::to_string(*e.how)) + ")";
  if (!e.detail.empty()) text += ": " + scenario_detail(e);
  // A fault the runner applies is in its own note just before or after: the proxy's echo is detail.
  const bool routine = e.kind == proxy::event_kind::accepted || e.kind == proxy::event_kind::upstream_connected ||
                       e.kind == proxy::event_kind::phase ||
                       (e.kind == proxy::event_kind::fault_applied && applying_ != nullptr) ||
                       (e.kind == proxy::event_kind::closed && e.how == proxy::close_how::fin && e.who != proxy::closer::proxy);
  note("proxy", text, routine);
  if (e.kind == proxy::event_kind::phase && e.reached) fire("proxy." + std::string(proxy::to_string(*e.reached)));
  if (e.kind == proxy::event_kind::idle_expired) fire("proxy.idle_expired");
}

}  // namespace rdp::scenarios::running
