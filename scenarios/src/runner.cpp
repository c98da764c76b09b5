// The scenario runner (runner.hpp): rdpsim, the fault proxy and the clients of one scenario on one io_context, the
// steps as coroutines waiting for their time or their event, the timeline of what each side saw, and the checks.
// FreeRDP's logon blocks, so a freerdp client runs on a thread of its own and posts its result back.
#include "rdp/scenarios/runner.hpp"

#include "rdp/capture/pcap.hpp"
#include "rdp/client/session.hpp"
#include "rdp/net/endpoint.hpp"
#include "rdp/net/listen.hpp"
#include "rdp/net/local_file.hpp"
#include "rdp/net/send.hpp"
#include "rdp/net/spawn.hpp"
#include "rdp/net/tls.hpp"
#include "rdp/probe/login.hpp"
#include "rdp/probe/scanner.hpp"
#include "rdp/protocol/errinfo.hpp"
#include "rdp/protocol/hex.hpp"
#include "rdp/protocol/mcs.hpp"
#include "rdp/protocol/text.hpp"
#include "rdp/proxy/fault_proxy.hpp"
#include "rdp/sim/server.hpp"

#include <algorithm>
#include <cmath>
#include <list>
#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace rdp::scenarios {
namespace {

namespace asio = net::asio;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

// Where a client context keeps its key log (not the app data: Asio's ssl::context keeps its verify callback there).
int keylog_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

// One logon (or scan) of a client, and everything the runner learns about it.
struct attempt {
  int number = 1;
  bool reconnect = false;
  microseconds started{0};
  std::optional<microseconds> active_at, ended_at;
  bool finished = false;
  bool open_at_end = false;  // still running when the scenario ended
  std::optional<client::session_result> lean;
  std::optional<probe::login_result> freerdp;
  std::optional<probe::target_report> scan;
  std::shared_ptr<client::session_control> control;
  std::shared_ptr<std::atomic<bool>> cancel = std::make_shared<std::atomic<bool>>(false);
  // From rdpsim's session events, attributed by user name: the server's view of this attempt.
  std::optional<std::uint64_t> server_connection;
  std::string server_peer;  // "127.0.0.1:PORT" as rdpsim saw it (the proxy's upstream socket, through the proxy)
  std::optional<std::uint32_t> server_session;
  bool stale_cookie = false;
  std::optional<std::uint32_t> previous_session;  // reconnect: the session of the attempt whose cookie it presented
};

struct client_state {
  const client_spec* spec = nullptr;
  std::vector<attempt> attempts;  // std::vector: attempts are only appended on the io thread; indexes stay valid
  std::optional<protocol::activation::arc_server_cookie> lean_cookie;
  std::optional<probe::auto_reconnect_cookie> freerdp_cookie;
  std::optional<std::uint32_t> cookie_session;  // the session whose cookie that is
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string error_info_text(std::uint32_t code) {
  const auto* entry = protocol::find_error_info(code);
  return protocol::hex32(code) + (entry ? " " + std::string(entry->name) : std::string());
}

// A DPU's T.125 reason by name, its number beside: "rn-provider-initiated (1)" (mcs.hpp; MS-RDPBCGR 2.2.2.3).
std::string dpu_reason_text(std::uint32_t code) {
  if (code > static_cast<std::uint32_t>(protocol::mcs::disconnect_reason::channel_purged))
    return "reason " + std::to_string(code) + " (not a T.125 reason)";
  return std::string(protocol::mcs::to_string(static_cast<protocol::mcs::disconnect_reason>(code))) + " (" +
         std::to_string(code) + ")";
}

class scenario_run {
 public:
  scenario_run(asio::io_context& io, const scenario& s, const run_options& o, scenario_result& out)
      : io_(io), s_(s), o_(o), out_(out), context_(client::make_client_context()) {
    for (const auto& c : s_.clients) clients_[c.name].spec = &c;
    // With a pcap, the lean clients' TLS secrets go beside it (NAME.keys, NSS key log format): T.125 and RDP are
    // inside TLS, and Wireshark shows them only with the keys (docs/pcap.md).
    if (o_.pcap_dir) {
      SSL_CTX_set_ex_data(context_.native_handle(), keylog_index(), &tls_keys_);
      SSL_CTX_set_keylog_callback(context_.native_handle(), [](const SSL* ssl, const char* line) {
        auto* keys = static_cast<std::string*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), keylog_index()));
        if (keys && keys->size() < (1u << 20)) keys->append(line).append("\n");
      });
    }
  }

  asio::awaitable<void> run() {
    started_ = steady::now();
    end_by_ = started_ + scaled(s_.timeout);
    try {
      start_server();
      if (s_.path.through_proxy || o_.pcap_dir) start_proxy();
    } catch (const std::exception& e) {
      fail_run(std::string("setting up: ") + e.what());
      co_return;
    }
    step_phases_.clear();
    for (const auto& st : s_.steps)
      step_phases_.push_back(st.when.at ? step_phase::waiting_time : step_phase::waiting_event);
    for (std::size_t i = 0; i < s_.steps.size(); ++i) {
      ++running_;
      net::spawn(io_.get_executor(), run_step(i), "rdpsim run: step " + std::to_string(i + 1),
                 [this](std::exception_ptr e) {
                   if (e) fail_run("a step ended by an internal error: " + net::describe_exception(e));
                   --running_;
                   wake_settle();
                 });
    }
    co_await settle();
    co_await wind_down();
    check_expectations();
  }

  // Cancellation from outside (Ctrl-C): ends the run's waits at once.
  void interrupt() {
    out_.interrupted = true;
    end_by_ = steady::now();
    wake_settle();
    for (auto& w : waiters_) w->cancel();
  }

 private:
  // ---- time -------------------------------------------------------------------------------------------------------
  // The one clock: every duration of the file — the proxy's, the clients', the steps', and rdpsim's limits, heartbeat
  // period and restart downtime alike — is scaled here, to the millisecond, so near-equal timers keep their order at
  // every time scale (62 s heartbeats against a 61 s firewall: 3100 ms against 3050 ms at 0.05).
  milliseconds scaled(duration d) const {
    return milliseconds(static_cast<long long>(std::llround(static_cast<double>(d.count()) * o_.time_scale)));
  }
  // rdpsim's limits, heartbeat and downtime: scaled like every other duration. A limit cannot be 0 (that would be no
  // limit at all, or a downtime of none), so one that scales below 1 ms lasts 1 ms and the timeline says so.
  milliseconds scaled_limit(duration d, const std::string& what) {
    const auto out = scaled(d);
    if (out >= milliseconds(1) || d <= duration(0)) return out;
    note("runner", what + ": " + net::format_duration(d) + " scaled by " + format_scale() +
                       " is under 1 ms; rdpsim's timers count milliseconds, so 1 ms");
    return milliseconds(1);
  }
  // What a person reads is scenario time, the file's own value, with the real time beside it where the two differ:
  // "idle-timeout 4m (4800ms real)" at time scale 0.02, "4m" at 1.
  std::string span_text(duration d) const {
    const auto scenario = d.count() == 0 ? std::string("0s") : net::format_duration(d);
    const auto real = scaled(d);
    if (o_.time_scale == 1.0 || real == d) return scenario;
    return scenario + " (" + (real.count() == 0 ? std::string("0ms") : net::format_duration(real)) + " real)";
  }
  // A fault change as the file wrote it, each duration with its real value beside: proxy::describe of the unscaled
  // change, and of the scaled one for the real values (the same parts in the same order; a part's value is its last
  // word).
  std::string describe_change(const proxy::fault_change& c) const {
    const auto scenario = proxy::describe(c);
    if (o_.time_scale == 1.0) return scenario;
    auto parts = [](const std::string& text) {
      std::vector<std::string> out;
      for (std::size_t from = 0;;) {
        const auto comma = text.find(", ", from);
        out.push_back(text.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
        if (comma == std::string::npos) return out;
        from = comma + 2;
      }
    };
    const auto in_file = parts(scenario);
    const auto real = parts(proxy::describe(scaled(c)));
    if (in_file.size() != real.size()) return scenario + " (real: " + proxy::describe(scaled(c)) + ")";
    std::string out;
    for (std::size_t i = 0; i < in_file.size(); ++i) {
      out += (i ? ", " : "") + in_file[i];
      if (in_file[i] != real[i]) out += " (" + real[i].substr(real[i].rfind(' ') + 1) + " real)";
    }
    return out;
  }
  std::string format_scale() const {
    std::ostringstream out;
    out << o_.time_scale;
    return out.str();
  }
  microseconds now() const { return std::chrono::duration_cast<microseconds>(steady::now() - started_); }

  void note(std::string lane, std::string text, bool detail = false) {
    out_.timeline.push_back({now(), std::move(lane), protocol::to_valid_utf8(text), detail});
  }
  // A line for something that happened earlier than now (a client's decision, reported after its drain): it goes in
  // its place, so the timeline stays in time order.
  void note_at(microseconds at, std::string lane, std::string text) {
    const auto place = std::upper_bound(out_.timeline.begin(), out_.timeline.end(), at,
                                        [](microseconds t, const timeline_entry& e) { return t < e.at; });
    out_.timeline.insert(place, {at, std::move(lane), protocol::to_valid_utf8(text), false});
  }
  void fail_run(std::string why) {
    note("runner", "ERROR " + why);
    if (out_.error.empty()) out_.error = std::move(why);
  }

  // ---- events -----------------------------------------------------------------------------------------------------
  void fire(const std::string& name) {
    if (happened_.emplace(name, now()).second) {
      for (auto& w : waiters_) w->cancel();
    }
  }
  // Waits until `name` has happened or `until`; returns whether it did.
  asio::awaitable<bool> wait_event(std::string name) {
    auto timer = std::make_shared<asio::steady_timer>(io_);
    waiters_.insert(timer);
    while (!happened_.count(name) && steady::now() < end_by_) {
      timer->expires_at(end_by_);
      co_await timer->async_wait(net::use_tuple);
    }
    waiters_.erase(timer);
    co_return happened_.count(name) > 0;
  }
  asio::awaitable<void> sleep_until(steady::time_point when) {
    auto timer = std::make_shared<asio::steady_timer>(io_);
    waiters_.insert(timer);
    while (steady::now() < when && steady::now() < end_by_) {
      timer->expires_at(std::min(when, end_by_));
      co_await timer->async_wait(net::use_tuple);
    }
    waiters_.erase(timer);
  }
  void wake_settle() {
    if (settle_timer_) settle_timer_->cancel();
  }

  // The run is over when every step has run and every attempt has ended, or at the timeout.
  asio::awaitable<void> settle() {
    settle_timer_ = std::make_shared<asio::steady_timer>(io_);
    while (steady::now() < end_by_ && (running_ > 0 || attempts_running_ > 0)) {
      settle_timer_->expires_at(end_by_);
      co_await settle_timer_->async_wait(net::use_tuple);
    }
    if (running_ > 0 || attempts_running_ > 0)
      note("runner", out_.interrupted ? "interrupted" : "scenario timeout (" + net::format_duration(s_.timeout) +
                                                            " scenario time): stopping what still runs");
    // A step still waiting at the timeout never ran: it fails the scenario here, before the wind-down and before
    // the expectations are judged (an expectation that happens to hold must not hide it).
    if (!out_.interrupted)
      for (std::size_t i = 0; i < s_.steps.size(); ++i) step_never_ran(i);
  }

  // "step 3 \"the user comes back\" (file:14:5)": how the runner's messages name a step.
  std::string step_name(std::size_t index) const {
    const auto& st = s_.steps[index];
    return "step " + std::to_string(index + 1) + (st.label.empty() ? "" : " \"" + st.label + "\"") + " (" +
           to_string(st.where) + ")";
  }

  // A step that was still waiting for its time or its event when the scenario's timeout came: the run fails (the
  // error names the first such step), and each gets a failing check line with its position and what it waited for.
  // Once per step, whoever notices first (settle() at the timeout, or the step's own wait ending).
  void step_never_ran(std::size_t index) {
    auto& phase = step_phases_[index];
    if (out_.interrupted || phase == step_phase::acting || phase == step_phase::done || phase == step_phase::never_ran)
      return;
    const auto& st = s_.steps[index];
    check_result c;
    c.where = st.where;
    c.passed = false;
    const auto timeout = net::format_duration(s_.timeout);
    if (phase == step_phase::waiting_event) {
      c.what = "step " + std::to_string(index + 1) + " runs on " + st.when.on;
      c.why = st.when.on + " never happened by the scenario's timeout (" + timeout + "): the step never ran";
      fail_run(step_name(index) + " waited for " + st.when.on + ", which never happened by the scenario's timeout (" +
               timeout + ")");
    } else {
      c.what = "step " + std::to_string(index + 1) + " runs " +
               (st.when.at ? "at " + net::format_duration(*st.when.at)
                           : "on " + st.when.on + " after " + net::format_duration(st.when.after));
      c.why = "the scenario's timeout (" + timeout + ") came first: the step never ran";
      fail_run(step_name(index) + " did not run: the scenario's timeout (" + timeout + ") came first");
    }
    if (!st.label.empty()) c.what += " (" + st.label + ")";
    phase = step_phase::never_ran;
    out_.checks.push_back(std::move(c));
  }

  // Ends what still runs: clients asked to leave (a lean client sends its DPU), FreeRDP cancelled, then the proxy and
  // the server stopped. Bounded: at most 5 s of real time, a deadline of its own (the scenario's, end_by_, stays where
  // it was, so a step still waiting for an event cannot run, nor keep waiting, through the wind-down).
  asio::awaitable<void> wind_down() {
    for (auto& [name, c] : clients_)
      for (auto& a : c.attempts)
        if (!a.finished) {
          a.open_at_end = true;
          if (a.control) a.control->request_stop();
          a.cancel->store(true);
        }
    const auto wind_down_by = steady::now() + std::chrono::seconds(5);
    while (attempts_running_ > 0 && steady::now() < wind_down_by) {
      settle_timer_->expires_at(wind_down_by);
      co_await settle_timer_->async_wait(net::use_tuple);
    }
    for (auto& occupant : occupants_) {
      net::error_code ignored;
      occupant->close(ignored);
    }
    if (proxy_) {
      counters_at_end_ = proxy_->counters();
      proxy_->stop();
      auto flows = proxy_->take_flows();
      if (o_.pcap_dir && !flows.empty()) write_pcap(std::move(flows));
    }
    if (server_) {
      server_counters_ = server_->counters();
      sessions_at_end_ = server_->admin().query_sessions();
      if (server_running_) server_->stop();
    } else if (server_counters_) {
      // stopped by occupy_port: its counters were taken then
    }
  }

  void write_pcap(std::vector<capture::tcp_flow> flows) {
    try {
      std::filesystem::create_directories(*o_.pcap_dir);
      const auto path = *o_.pcap_dir / (s_.name + ".pcap");
      // Through net::write_report_file, as the reports: a symlink planted at NAME.pcap in a shared directory is
      // replaced, never written through.
      std::string why;
      if (!net::write_report_file(path.string(), capture::pcap_file_bytes(flows), why)) throw std::runtime_error(why);
      out_.pcap = path;
      if (!tls_keys_.empty()) {
        auto keys_path = path;
        keys_path.replace_extension(".keys");
        if (!net::write_report_file(keys_path.string(), tls_keys_, why)) throw std::runtime_error(why);
      }
      note("runner", "pcap of the client side: " + path.string() + " (" + std::to_string(flows.size()) +
                         " connection(s); ports and segmentation reconstructed, bytes and times as the client saw "
                         "them)" +
                         (tls_keys_.empty() ? std::string()
                                            : "; TLS keys beside it: tshark -r " + path.string() +
                                                  " -d tcp.port==3389,tls -o tls.keylog_file:" +
                                                  std::filesystem::path(path).replace_extension(".keys").string()));
    } catch (const std::exception& e) {
      fail_run(std::string("writing the pcap: ") + e.what());
    }
  }

  // ---- the server and the proxy -----------------------------------------------------------------------------------
  void start_server() {
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

  // Every duration of the faults (proxy::fault_table's), scaled; rates and sizes are not.
  proxy::fault_change scaled(const proxy::fault_change& c) const {
    auto out = c;
    proxy::for_each_duration(out, [this](const proxy::fault_row&, proxy::duration& d) { d = scaled(d); });
    return out;
  }

  void start_proxy() {
    proxy::proxy_config config;
    config.listen = net::host_port{"127.0.0.1", 0};
    config.upstream = net::host_port{"127.0.0.1", server_port_};
    if (s_.path.through_proxy) {
      config.initial = scaled(s_.path.proxy.change);
      in_file_.take(s_.path.proxy.change);
    }
    config.record = o_.pcap_dir.has_value();
    config.on_event = [this](const proxy::proxy_event& e) { on_proxy_event(e); };
    proxy_ = std::make_unique<proxy::fault_proxy>(io_.get_executor(), config);
    proxy_->start();
    note("proxy", std::string(s_.path.through_proxy ? "fault proxy" : "pass-through proxy (recording for the pcap)") +
                      " on 127.0.0.1:" + std::to_string(proxy_->local_endpoint().port()) + " → 127.0.0.1:" +
                      std::to_string(server_port_) +
                      (s_.path.through_proxy ? ", faults: " + describe_change(s_.path.proxy.change) : ""));
  }

  bool shares_port() const {
    return std::any_of(s_.steps.begin(), s_.steps.end(),
                       [](const step& st) { return std::holds_alternative<share_port_step>(st.action); });
  }
  std::uint16_t entry_port() const { return proxy_ ? proxy_->local_endpoint().port() : server_port_; }

  static std::optional<std::uint16_t> port_of(const std::string& address) {
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

  std::optional<proxy::connection_id> proxy_connection_of(const attempt& a) const {
    if (!proxy_ || a.server_peer.empty()) return std::nullopt;
    const auto port = port_of(a.server_peer);
    if (!port) return std::nullopt;
    return proxy_->connection_by_upstream_port(*port);
  }

  // The attempt a server connection belongs to: the one already tied to it, else the earliest running attempt of a
  // client with that user name that has no server connection yet.
  attempt* attempt_of(const sim::session_event& e, std::string* client_name) {
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

  void on_server_event(const sim::session_event& e) {
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

  // The durations of the file's faults that the proxy's own event texts quote (scaled, as the proxy runs them): for
  // every connection, and as a per-client fault changed them for one.
  struct faults_in_file {
    std::optional<std::optional<duration>> idle_timeout;
    std::optional<duration> reset_after;
    void take(const proxy::fault_change& c) {
      if (c.idle_timeout) idle_timeout = c.idle_timeout;
      if (c.reset_after) reset_after = c.reset_after;
    }
  };
  const faults_in_file& in_file_for(proxy::connection_id id) const {
    const auto it = in_file_by_connection_.find(id);
    return it == in_file_by_connection_.end() ? in_file_ : it->second;
  }
  // `text` with "<lead><the scaled value>" said in scenario time, real beside: "after 4800ms idle" becomes
  // "after 4m (4800ms real) idle". Only the exact scaled value is replaced, so nothing is restated wrongly.
  std::string restate(std::string text, const std::string& lead, duration in_file) const {
    const auto real = scaled(in_file);
    const auto was = lead + (real.count() == 0 ? std::string("0ms") : net::format_duration(real));
    const auto at = text.find(was);
    if (at == std::string::npos || o_.time_scale == 1.0) return text;
    return text.replace(at, was.size(), lead + span_text(in_file));
  }
  // The proxy's event details quote real durations; a person reads the scenario's.
  std::string scenario_detail(const proxy::proxy_event& e) const {
    std::string detail = e.detail;
    const auto& f = in_file_for(e.connection);
    if (e.kind == proxy::event_kind::idle_expired && f.idle_timeout && *f.idle_timeout)
      detail = restate(std::move(detail), "flow forgotten after ", **f.idle_timeout);
    if ((e.kind == proxy::event_kind::closed || e.kind == proxy::event_kind::fault_applied) && f.reset_after)
      detail = restate(std::move(detail), "reset ", *f.reset_after);
    if (applying_) {
      // A change the runner is applying: its own note says it as the file does.
      if (e.kind == proxy::event_kind::fault_applied)
        detail = (e.connection ? "" : "all connections: ") + describe_change(*applying_);
      if (e.kind == proxy::event_kind::listener_down && applying_->listener_down)
        detail = restate(std::move(detail), "for ", *applying_->listener_down);
    }
    return detail;
  }

  void on_proxy_event(const proxy::proxy_event& e) {
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

  // ---- steps ------------------------------------------------------------------------------------------------------
  asio::awaitable<void> run_step(std::size_t index) {
    const auto& st = s_.steps[index];
    const std::string label = "step " + std::to_string(index + 1) + " (" + to_string(st.where) + ")";
    if (st.when.at) {
      co_await sleep_until(started_ + scaled(*st.when.at));
    } else {
      if (!co_await wait_event(st.when.on)) {
        step_never_ran(index);
        co_return;
      }
      if (step_phases_[index] == step_phase::waiting_event) step_phases_[index] = step_phase::waiting_time;
      co_await sleep_until(steady::now() + scaled(st.when.after));
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

  attempt& new_attempt(client_state& c, bool reconnect) {
    attempt a;
    a.number = static_cast<int>(c.attempts.size()) + 1;
    a.reconnect = reconnect;
    a.started = now();
    c.attempts.push_back(std::move(a));
    ++attempts_running_;
    return c.attempts.back();
  }

  void attempt_ended(const std::string& name, std::size_t index) {
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

  milliseconds hold_of(const client_spec& spec) const {
    const auto left = std::chrono::duration_cast<milliseconds>(end_by_ - steady::now());
    return spec.hold ? std::min(scaled(*spec.hold), left) : left;
  }

  asio::awaitable<void> do_logon(const logon_step& step, const std::string& label) {
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
      if (spec.busy) o.busy = scaled(*spec.busy);
      if (spec.silence_limit) o.silence_limit = scaled(*spec.silence_limit);
      if (spec.liveness == client_liveness::freerdp) {
        // FreeRDP 2.11's keepalive (net::tcp_keepalive's defaults), scaled like every other duration. The user
        // timeout keeps the millisecond; the kernel takes the keepalive idle and interval in whole seconds, rounded
        // up (net::keepalive_seconds), so below time scale 1 the probes come later than scaled: docs/scenarios.md.
        const net::tcp_keepalive freerdp{};
        o.liveness = client::liveness_model::freerdp;
        o.keepalive.idle = scaled(freerdp.idle);
        o.keepalive.interval = scaled(freerdp.interval);
        o.keepalive.probes = freerdp.probes;
        o.keepalive.user_timeout = std::max(scaled(freerdp.user_timeout), milliseconds(1));  // 0 would mean "off"
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

  asio::awaitable<void> run_lean(std::string name, std::size_t index, client::session_options o) {
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

  void on_lean_hold_frame(const std::string& name, std::size_t index, const client::session_result& r) {
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

  void describe_lean_end(const std::string& name, const client::session_result& r) {
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

  void on_freerdp_done(const std::string& name, std::size_t index, probe::login_result r) {
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

  asio::awaitable<void> do_leave(const leave_step& step, const std::string& label) {
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

  asio::awaitable<void> do_busy(const busy_step& step, const std::string& label) {
    auto& c = clients_[step.client];
    if (c.attempts.empty() || !c.attempts.back().control) {
      fail_run(label + ": busy " + step.client + ": only a running lean client can be made busy");
      co_return;
    }
    std::optional<milliseconds> every;
    if (step.every) every = scaled(*step.every);
    note("client:" + step.client, every ? "the user works: input every " + net::format_duration(*step.every) : "the user stops: idle");
    c.attempts.back().control->set_busy(every);
    co_return;
  }

  std::optional<std::uint32_t> session_of(const std::string& client, const std::string& label) {
    auto& c = clients_[client];
    for (auto it = c.attempts.rbegin(); it != c.attempts.rend(); ++it)
      if (it->server_session) return it->server_session;
    fail_run(label + ": " + client + " has no session on the server");
    return std::nullopt;
  }

  asio::awaitable<void> do_admin(const admin_step& step, const std::string& label) {
    if (!server_running_) {
      fail_run(label + ": the service is not running");
      co_return;
    }
    auto& admin = server_->admin();
    sim::admin_result r;
    std::string what;
    if (step.kind == admin_kind::restart_service) {
      const auto down = scaled(step.down);  // `down: 0s` is a restart with no downtime
      what = "restart the service (listener down " + span_text(step.down);
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

  asio::awaitable<void> do_policy(const policy_step& step, const std::string& label) {
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
      if (d) add(std::string(name) + " " + (*d ? span_text(**d) : std::string("none")));
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

  asio::awaitable<void> do_fault(const fault_step& step, const std::string& label) {
    if (!proxy_ || !s_.path.through_proxy) {
      fail_run(label + ": a fault needs the path through the proxy");
      co_return;
    }
    const auto change = scaled(step.fault.change);
    if (step.client.empty()) {
      note("proxy", "fault for every connection: " + describe_change(step.fault.change));
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
                      describe_change(step.fault.change));
    co_return;
  }

  asio::awaitable<void> do_probe(const probe_step& step, const std::string& label) {
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

  asio::awaitable<void> do_occupy(const occupy_port_step& step, const std::string& label) {
    if (server_running_) {
      server_counters_ = server_->counters();
      server_->stop();
      server_running_ = false;
      note("server", "the Remote Desktop service stops (every connection dropped, the listener closed)");
    }
    if (start_occupant(step.by, false, label))
      note("runner", "another program (" + std::string(to_string(step.by)) + ") now listens on 127.0.0.1:" +
                         std::to_string(server_port_));
    co_return;
  }

  // The server keeps its listener; the other program joins the port's SO_REUSEPORT group (the server was started with
  // reuse_port for this step: both members must set it).
  asio::awaitable<void> do_share(const share_port_step& step, const std::string& label) {
    if (start_occupant(step.by, true, label))
      note("runner", "another program (" + std::string(to_string(step.by)) + ") now shares 127.0.0.1:" +
                         std::to_string(server_port_) + " with " + (server_running_ ? "rdpsim" : "the port's owner") +
                         " (SO_REUSEPORT: the kernel picks one of them per connection)");
    co_return;
  }

  // Another program listening on the server's port, answering as `by`: alone (occupy_port) or in the server's
  // SO_REUSEPORT group (share_port). False, and the run failed, when the port cannot be had.
  bool start_occupant(occupant_kind by, bool reuse_port, const std::string& label) {
    net::listen_options lo;
    lo.reuse_address = true;
    lo.reuse_port = reuse_port;
    std::shared_ptr<asio::ip::tcp::acceptor> acceptor;
    try {
      acceptor = std::make_shared<asio::ip::tcp::acceptor>(net::open_listener(
          io_.get_executor(), asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_port_),
          "the program occupying the port", lo));
    } catch (const std::exception& e) {
      fail_run(label + (reuse_port ? ": sharing the port: " : ": occupying the port: ") + e.what());
      return false;
    }
    occupants_.push_back(acceptor);
    net::spawn(io_.get_executor(), occupant(acceptor, by), "rdpsim run: the " + std::string(to_string(by)) + " occupant");
    return true;
  }

  // What the other program answers: an HTTP server's 400 to the X.224 bytes, an SSH banner, a one-line banner, or
  // nothing at all. Each connection is closed after its answer (silent: when the run ends).
  asio::awaitable<void> occupant(std::shared_ptr<asio::ip::tcp::acceptor> acceptor, occupant_kind by) {
    for (int accepted = 0; accepted < 256; ++accepted) {
      auto [ec, socket] = co_await acceptor->async_accept(net::use_tuple);
      if (ec) co_return;
      auto peer = std::make_shared<asio::ip::tcp::socket>(std::move(socket));
      std::string answer;
      switch (by) {
        case occupant_kind::http:
          answer = "HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
          break;
        case occupant_kind::ssh: answer = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"; break;
        case occupant_kind::banner: answer = "220 service ready\r\n"; break;
        case occupant_kind::silent: break;
      }
      if (by == occupant_kind::silent) {
        silent_peers_.push_back(peer);
        continue;
      }
      if (by == occupant_kind::http) {
        std::array<char, 512> request{};
        (void)co_await net::with_deadline(peer->async_read_some(asio::buffer(request), net::use_tuple),
                                          milliseconds(2000));
      }
      (void)co_await net::send(*peer, std::string_view(answer), milliseconds(2000));
      net::error_code ignored;
      peer->shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
      peer->close(ignored);
    }
  }

  // ---- checks -----------------------------------------------------------------------------------------------------
  // The closing word of an attempt, from what its socket saw (docs/scenarios.md, "Closing words"); the word of
  // every attempt goes into the timeline beside its local port, and tests/scripts/scenario_test.sh compares it with
  // the pcap of the same run.
  static close_kind closed_of(const attempt& a) {
    if (a.open_at_end) return close_kind::none;
    if (a.lean) {
      const auto& r = *a.lean;
      if (r.closed_by_owner) return close_kind::client;
      for (auto it = r.teardown.rbegin(); it != r.teardown.rend(); ++it) {
        switch (it->kind) {
          case protocol::teardown_kind::reset: return close_kind::reset;
          // The stream failed otherwise: a 0-byte read or a TLS close is the server's FIN; ETIMEDOUT is TCP giving
          // up on unanswered retransmissions or keepalive probes, with nothing from the server.
          case protocol::teardown_kind::closed:
            return r.error == boost::system::errc::timed_out ? close_kind::timeout : close_kind::fin;
          case protocol::teardown_kind::silence: return close_kind::silence;
          case protocol::teardown_kind::timeout: return r.active() ? close_kind::client : close_kind::silence;
          // The server said it ends the connection (a DPU or an X.224 DR): whoever then closed first, it was the
          // server's end — the client's own close after a refused logon is only its answer.
          case protocol::teardown_kind::disconnect_provider_ultimatum:
          case protocol::teardown_kind::x224_disconnect: return close_kind::fin;
          default: break;
        }
      }
      // No teardown: the TCP connect itself failed (client/src/session.cpp).
      if (r.error == boost::system::errc::connection_refused) return close_kind::refused;
      if (r.error == boost::system::errc::timed_out && r.local_port == 0) return close_kind::timeout;
      if (r.error == boost::system::errc::connection_reset) return close_kind::reset;
      if (r.server_closed) return close_kind::fin;
      // The client closed after a frame it could not use; the server may have closed first, unread.
      if (r.peer_at_close == client::session_result::peer_state::fin) return close_kind::fin;
      if (r.peer_at_close == client::session_result::peer_state::reset) return close_kind::reset;
      return close_kind::client;
    }
    if (a.freerdp) {
      const auto& r = *a.freerdp;
      if (a.cancel->load() && !r.ended_by_server) return close_kind::client;
      const bool said_why = r.error_info != 0 || r.disconnect_ultimatum.has_value();
      // What run_login read from the socket (or, once FreeRDP had closed it, from the errno FreeRDP logged).
      switch (r.socket_ended) {
        case probe::socket_end::fin: return close_kind::fin;
        case probe::socket_end::reset: return close_kind::reset;
        case probe::socket_end::refused: return close_kind::refused;
        case probe::socket_end::timeout: return close_kind::timeout;
        // The server ended the session with a PDU and had not closed a second later: its end all the same, as for
        // the lean client above.
        case probe::socket_end::open: return said_why ? close_kind::fin : close_kind::client;
        case probe::socket_end::not_seen: break;
      }
      // run_login's own deadline passed in the connection sequence: nothing came.
      if (r.timed_out) return close_kind::silence;
      if (r.ended_by_server || !r.reached_active) return said_why ? close_kind::fin : close_kind::reset;
      return close_kind::client;
    }
    return close_kind::none;
  }

  // What became of a reconnection's cookie, from what the client can observe: the session id of its Save Session
  // Info compared with the one before, and whether the cookie was refused (the lean client's Auto-Reconnect Status
  // PDU, MS-RDPBCGR 2.2.4.1; FreeRDP reports none, so rdpsim's own view of the cookie stands in for it). A refused
  // cookie whose logon lands in the same session (the single-session policy reattaching the user's session) lost
  // nothing of the desktop: same-session, not new-session.
  reconnect_outcome reconnect_of(const attempt& a) const {
    if (!was_active(a)) return reconnect_outcome::refused;
    const auto now_session = session_seen(a);
    const bool same = now_session && a.previous_session && *now_session == *a.previous_session;
    const bool cookie_refused = a.lean ? a.lean->auto_reconnect_status : a.stale_cookie;
    if (!same) return reconnect_outcome::new_session;
    return cookie_refused ? reconnect_outcome::same_session : reconnect_outcome::honoured;
  }

  std::optional<std::uint32_t> session_seen(const attempt& a) const {
    if (a.lean && a.lean->logon_session_id) return a.lean->logon_session_id;
    if (a.freerdp && a.freerdp->session_id) return a.freerdp->session_id;
    return a.server_session;
  }
  static bool was_active(const attempt& a) {
    if (a.lean) return a.lean->active();
    if (a.freerdp) return a.freerdp->reached_active;
    return a.active_at.has_value();
  }

  // Real time since the start as scenario time, to the millisecond: the value a window is judged on and printed as.
  milliseconds scenario_ms(microseconds real) const {
    return milliseconds(std::llround(static_cast<double>(real.count()) / 1000.0 / o_.time_scale));
  }
  static std::string window_end(duration d) { return d.count() == 0 ? "0s" : net::format_duration(d); }
  // "95s..100s", "..40s", "25s..": a window as the file wrote it (or widened).
  static std::string window_text(const std::optional<duration>& from, const std::optional<duration>& to) {
    return (from ? window_end(*from) : std::string()) + ".." + (to ? window_end(*to) : std::string());
  }
  // The window widened by the tolerance at each end: what the check passes, and what the line prints. Both in
  // scenario time, whatever the time scale (a tolerance of real time would widen a window by 1/scale of it: 400 ms
  // became 8 s at 0.05).
  static time_window widened(const time_window& w, duration tolerance) {
    time_window out;
    if (w.from) out.from = *w.from > tolerance ? *w.from - tolerance : duration(0);
    if (w.to) out.to = *w.to + tolerance;
    return out;
  }
  static bool in_window(const time_window& w, milliseconds at) {
    return (!w.from || at >= *w.from) && (!w.to || at <= *w.to);
  }
  static std::string seconds_ms(milliseconds ms) {
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

  void check(const client_expectation& e) {
    auto& c = clients_[e.client];
    check_line line(e.client + (e.attempt ? " (attempt " + std::to_string(*e.attempt) + ")" : ""), e.where);
    if (c.attempts.empty() || (e.attempt && static_cast<std::size_t>(*e.attempt) > c.attempts.size())) {
      line.ok = false;
      line.see("no such attempt: " + e.client + " made " + std::to_string(c.attempts.size()));
      out_.checks.push_back(line.done());
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
      const auto tolerance = e.tolerance.value_or(s_.tolerance);
      const auto judged = widened(*e.within, tolerance);
      line.r.what += " within " + window_text(e.within->from, e.within->to) + " (±" + window_end(tolerance) + ")";
      if (!a.ended_at) {
        line.ok = false;
        line.see("still open at the end");
      } else {
        const auto at = scenario_ms(*a.ended_at);
        const bool inside = in_window(judged, at);
        if (!inside) line.ok = false;
        line.see("ended at " + seconds_ms(at) +
                 (inside ? std::string() : ", outside " + window_text(judged.from, judged.to)));
      }
    }
    out_.checks.push_back(line.done());
  }

  void check(const server_expectation& e) {
    check_line line("server", e.where);
    const auto values = server_counters_ ? sim::named_counters(*server_counters_)
                                         : std::vector<std::pair<std::string_view, std::uint64_t>>{};
    for (const auto& [name, want] : e.counters) {
      std::string got = "?";
      for (const auto& [n, v] : values)
        if (n == name) got = std::to_string(v);
      line.expect(name, std::to_string(want), got, "=");
    }
    if (e.sessions) {
      std::size_t got = 0;
      for (const auto& s : sessions_at_end_)
        if (s.state != sim::session_state::listen) ++got;
      line.expect("sessions", std::to_string(*e.sessions), std::to_string(got), "=");
    }
    out_.checks.push_back(line.done());
  }

  void check(const proxy_expectation& e) {
    check_line line("proxy", e.where);
    if (!counters_at_end_) {
      line.ok = false;
      line.see("no proxy on this path");
      out_.checks.push_back(line.done());
      return;
    }
    const auto& c = *counters_at_end_;
    auto expect = [&](const char* name, const std::optional<std::uint64_t>& want, std::uint64_t got) {
      if (want) line.expect(name, std::to_string(*want), std::to_string(got), "=");
    };
    expect("idle_expiries", e.idle_expiries, c.idle_expiries);
    expect("resets_sent", e.resets_sent, c.resets_to_client + c.resets_to_server);
    expect("connections", e.connections, c.accepted);
    out_.checks.push_back(line.done());
  }

  void check_expectations() {
    for (const auto& e : s_.expect) std::visit([this](const auto& x) { check(x); }, e);
    out_.passed = out_.error.empty() && !out_.interrupted &&
                  std::all_of(out_.checks.begin(), out_.checks.end(), [](const check_result& c) { return c.passed; });
  }

 public:
  void join_threads() {
    for (auto& c : clients_)
      for (auto& a : c.second.attempts) a.cancel->store(true);
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

 private:
  asio::io_context& io_;
  const scenario& s_;
  const run_options& o_;
  scenario_result& out_;
  net::ssl::context context_;
  std::string tls_keys_;  // NSS key log lines of the lean clients' TLS sessions (with a pcap)
  // end_by_: the scenario's timeout (real time). It never moves, except to now on an interrupt: the wind-down keeps
  // a deadline of its own.
  steady::time_point started_, end_by_;
  // Where each step is, so that the timeout can name every step that never ran (step_never_ran).
  enum class step_phase { waiting_time, waiting_event, acting, done, never_ran };
  std::vector<step_phase> step_phases_;
  std::map<std::string, client_state> clients_;
  std::map<std::string, microseconds> happened_;
  std::set<std::shared_ptr<asio::steady_timer>> waiters_;
  std::shared_ptr<asio::steady_timer> settle_timer_;
  int running_ = 0;
  int attempts_running_ = 0;
  std::unique_ptr<sim::server> server_;
  sim::server_config server_config_;
  bool server_running_ = false;
  std::uint16_t server_port_ = 0;
  std::optional<sim::server_counters> server_counters_;
  std::vector<sim::session_info> sessions_at_end_;
  std::unique_ptr<proxy::fault_proxy> proxy_;
  faults_in_file in_file_;                                            // the file's faults for every connection
  std::map<proxy::connection_id, faults_in_file> in_file_by_connection_;  // and as a per-client fault changed them
  const proxy::fault_change* applying_ = nullptr;  // the file's (unscaled) change while the runner applies it
  std::optional<proxy::proxy_counters> counters_at_end_;
  std::vector<std::shared_ptr<asio::ip::tcp::acceptor>> occupants_;
  std::vector<std::shared_ptr<asio::ip::tcp::socket>> silent_peers_;
  std::list<std::thread> threads_;
};

}  // namespace

scenario_result run_scenario(const scenario& s, const run_options& options) {
  scenario_result out;
  out.name = s.name;
  out.file = s.where.file;
  out.summary = s.summary;
  out.cause = s.cause;
  out.time_scale = options.time_scale;
  const auto started = steady::now();
  try {
    asio::io_context io(1);
    scenario_run run(io, s, options, out);
    bool done = false;
    net::spawn(io.get_executor(), run.run(), "rdpsim run: scenario " + s.name, [&](std::exception_ptr e) {
      if (e) out.error = "internal error: " + net::describe_exception(e);
      done = true;
    });
    bool interrupted = false;
    while (!done && !io.stopped()) {
      io.run_for(std::chrono::milliseconds(50));
      if (!interrupted && options.cancel && options.cancel->load()) {
        interrupted = true;
        run.interrupt();
      }
    }
    run.join_threads();
    io.restart();
    io.poll();  // the FreeRDP threads' last posts
  } catch (const std::exception& e) {
    out.error = std::string("internal error: ") + e.what();
    out.passed = false;
  }
  out.elapsed = std::chrono::duration_cast<milliseconds>(steady::now() - started);
  if (!out.error.empty()) out.passed = false;
  return out;
}

}  // namespace rdp::scenarios
