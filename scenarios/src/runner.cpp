// The scenario runner (runner.hpp): rdpsim, the fault proxy and the clients of one scenario on one io_context, the
// steps as coroutines waiting for their time or their event, the timeline of what each side saw, and the checks.
// This file holds the run's course — set up, the steps spawned, settled at the end or the timeout, wound down,
// judged — and run_scenario; scenario_run's other jobs each have a file of their own (runner_state.hpp names them).
#include "rdp/scenarios/runner.hpp"

#include "run_expectations.hpp"
#include "runner_state.hpp"

#include "rdp/net/quantity.hpp"
#include "rdp/net/spawn.hpp"

#include <algorithm>
#include <iterator>

namespace rdp::scenarios {
namespace running {

scenario_run::scenario_run(asio::io_context& io, const scenario& s, const run_options& o, scenario_result& out)
    : io_(io), s_(s), o_(o), clock_{o.time_scale}, out_(out), context_(client::make_client_context()) {
  for (const auto& c : s_.clients) clients_[c.name].spec = &c;
  // With a pcap, the lean clients' TLS secrets go beside it (NAME.keys, NSS key log format): T.125 and RDP are
  // inside TLS, and Wireshark shows them only with the keys (docs/pcap.md).
  if (o_.pcap_dir) record_tls_keys();
}

asio::awaitable<void> scenario_run::run() {
  started_ = steady::now();
  end_by_ = started_ + clock_.scaled(s_.timeout);
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
void scenario_run::interrupt() {
  out_.interrupted = true;
  end_by_ = steady::now();
  wake_settle();
  for (auto& w : waiters_) w->cancel();
}

// The run is over when every step has run and every attempt has ended, or at the timeout.
asio::awaitable<void> scenario_run::settle() {
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
std::string scenario_run::step_name(std::size_t index) const {
  const auto& st = s_.steps[index];
  return "step " + std::to_string(index + 1) + (st.label.empty() ? "" : " \"" + st.label + "\"") + " (" +
         to_string(st.where) + ")";
}

// A step that was still waiting for its time or its event when the scenario's timeout came: the run fails (the
// error names the first such step), and each gets a failing check line with its position and what it waited for.
// Once per step, whoever notices first (settle() at the timeout, or the step's own wait ending).
void scenario_run::step_never_ran(std::size_t index) {
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
asio::awaitable<void> scenario_run::wind_down() {
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

void scenario_run::check_expectations() {
  auto checks = judge_expectations(s_, {clients_, server_counters_, sessions_at_end_, counters_at_end_}, clock_);
  out_.checks.insert(out_.checks.end(), std::make_move_iterator(checks.begin()), std::make_move_iterator(checks.end()));
  out_.passed = out_.error.empty() && !out_.interrupted &&
                std::all_of(out_.checks.begin(), out_.checks.end(), [](const check_result& c) { return c.passed; });
}

void scenario_run::join_threads() {
  for (auto& c : clients_)
    for (auto& a : c.second.attempts) a.cancel->store(true);
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

}  // namespace running

using running::scenario_run;
using running::steady;
using std::chrono::milliseconds;
namespace asio = net::asio;

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
