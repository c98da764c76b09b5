#pragma once
// The runner's private class (runner.hpp): one scenario_run per scenario, on one io_context. Its members are
// defined by job, one file each (named at each group below); what is pure lives beside it as free functions:
// run_clock.hpp (scenario time), attempts.hpp (the closing words), run_expectations.hpp (the judging).
#include "attempts.hpp"
#include "run_clock.hpp"

#include "rdp/capture/pcap.hpp"
#include "rdp/client/session.hpp"
#include "rdp/net/asio.hpp"
#include "rdp/net/tls.hpp"
#include "rdp/probe/login.hpp"
#include "rdp/proxy/fault_proxy.hpp"
#include "rdp/scenarios/runner.hpp"
#include "rdp/sim/server.hpp"

#include <list>
#include <map>
#include <memory>
#include <set>
#include <thread>

namespace rdp::scenarios::running {

namespace asio = net::asio;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

class scenario_run {
 public:
  scenario_run(asio::io_context& io, const scenario& s, const run_options& o, scenario_result& out);

  asio::awaitable<void> run();
  // Cancellation from outside (Ctrl-C): ends the run's waits at once.
  void interrupt();
  void join_threads();

 private:
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

  // ---- the timeline, its events and the waits on them (run_timeline.cpp)
  microseconds now() const;
  void note(std::string lane, std::string text, bool detail = false);
  void note_at(microseconds at, std::string lane, std::string text);
  void fail_run(std::string why);
  milliseconds scaled_limit(duration d, const std::string& what);
  void fire(const std::string& name);
  asio::awaitable<bool> wait_event(std::string name);
  asio::awaitable<void> sleep_until(steady::time_point when);
  void wake_settle();

  // ---- the run's course (runner.cpp)
  asio::awaitable<void> settle();
  std::string step_name(std::size_t index) const;
  void step_never_ran(std::size_t index);
  asio::awaitable<void> wind_down();
  void check_expectations();

  // ---- the pcap and the TLS key log (run_recording.cpp)
  void record_tls_keys();
  void write_pcap(std::vector<capture::tcp_flow> flows);

  // ---- the server and the proxy, and what they report (run_server_proxy.cpp)
  void start_server();
  void start_proxy();
  bool shares_port() const;
  std::uint16_t entry_port() const;
  static std::optional<std::uint16_t> port_of(const std::string& address);
  std::optional<proxy::connection_id> proxy_connection_of(const attempt& a) const;
  attempt* attempt_of(const sim::session_event& e, std::string* client_name);
  void on_server_event(const sim::session_event& e);
  const faults_in_file& in_file_for(proxy::connection_id id) const;
  std::string restate(std::string text, const std::string& lead, duration in_file) const;
  std::string scenario_detail(const proxy::proxy_event& e) const;
  void on_proxy_event(const proxy::proxy_event& e);

  // ---- the timeline's steps (run_steps.cpp)
  asio::awaitable<void> run_step(std::size_t index);
  asio::awaitable<void> do_leave(const leave_step& step, const std::string& label);
  asio::awaitable<void> do_busy(const busy_step& step, const std::string& label);
  std::optional<std::uint32_t> session_of(const std::string& client, const std::string& label);
  asio::awaitable<void> do_admin(const admin_step& step, const std::string& label);
  asio::awaitable<void> do_policy(const policy_step& step, const std::string& label);
  asio::awaitable<void> do_fault(const fault_step& step, const std::string& label);

  // ---- the clients: lean, FreeRDP and rdpprobe (run_clients.cpp)
  attempt& new_attempt(client_state& c, bool reconnect);
  void attempt_ended(const std::string& name, std::size_t index);
  milliseconds hold_of(const client_spec& spec) const;
  asio::awaitable<void> do_logon(const logon_step& step, const std::string& label);
  asio::awaitable<void> run_lean(std::string name, std::size_t index, client::session_options o);
  void on_lean_hold_frame(const std::string& name, std::size_t index, const client::session_result& r);
  void describe_lean_end(const std::string& name, const client::session_result& r);
  void on_freerdp_done(const std::string& name, std::size_t index, probe::login_result r);
  asio::awaitable<void> do_probe(const probe_step& step, const std::string& label);

  // ---- another program on the server's port (run_occupants.cpp)
  asio::awaitable<void> do_occupy(const occupy_port_step& step, const std::string& label);
  asio::awaitable<void> do_share(const share_port_step& step, const std::string& label);
  bool start_occupant(occupant_kind by, bool reuse_port, const std::string& label);
  asio::awaitable<void> occupant(std::shared_ptr<asio::ip::tcp::acceptor> acceptor, occupant_kind by);

  asio::io_context& io_;
  const scenario& s_;
  const run_options& o_;
  run_clock clock_;  // o_.time_scale's
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

}  // namespace rdp::scenarios::running
