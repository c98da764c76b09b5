// The timeline of a run and its events: notes in time order, named events (`on:` of the steps: "server.active",
// "alice.ended", "step.2.done") and the waits for them or for a time, all bounded by the scenario's timeout.
#include "runner_state.hpp"

#include "rdp/net/quantity.hpp"
#include "rdp/protocol/text.hpp"

#include <algorithm>

namespace rdp::scenarios::running {

microseconds scenario_run::now() const { return std::chrono::duration_cast<microseconds>(steady::now() - started_); }

void scenario_run::note(std::string lane, std::string text, bool detail) {
  out_.timeline.push_back({now(), std::move(lane), protocol::to_valid_utf8(text), detail});
}

// A line for something that happened earlier than now (a client's decision, reported after its drain): it goes in
// its place, so the timeline stays in time order.
void scenario_run::note_at(microseconds at, std::string lane, std::string text) {
  const auto place = std::upper_bound(out_.timeline.begin(), out_.timeline.end(), at,
                                      [](microseconds t, const timeline_entry& e) { return t < e.at; });
  out_.timeline.insert(place, {at, std::move(lane), protocol::to_valid_utf8(text), false});
}

void scenario_run::fail_run(std::string why) {
  note("runner", "ERROR " + why);
  if (out_.error.empty()) out_.error = std::move(why);
}

// rdpsim's limits, heartbeat and downtime: scaled like every other duration. A limit cannot be 0 (that would be no
// limit at all, or a downtime of none), so one that scales below 1 ms lasts 1 ms and the timeline says so.
milliseconds scenario_run::scaled_limit(duration d, const std::string& what) {
  const auto out = clock_.scaled(d);
  if (out >= milliseconds(1) || d <= duration(0)) return out;
  note("runner", what + ": " + net::format_duration(d) + " scaled by " + clock_.scale_text() +
                     " is under 1 ms; rdpsim's timers count milliseconds, so 1 ms");
  return milliseconds(1);
}

void scenario_run::fire(const std::string& name) {
  if (happened_.emplace(name, now()).second) {
    for (auto& w : waiters_) w->cancel();
  }
}

// Waits until `name` has happened or `until`; returns whether it did.
asio::awaitable<bool> scenario_run::wait_event(std::string name) {
  auto timer = std::make_shared<asio::steady_timer>(io_);
  waiters_.insert(timer);
  while (!happened_.count(name) && steady::now() < end_by_) {
    timer->expires_at(end_by_);
    co_await timer->async_wait(net::use_tuple);
  }
  waiters_.erase(timer);
  co_return happened_.count(name) > 0;
}

asio::awaitable<void> scenario_run::sleep_until(steady::time_point when) {
  auto timer = std::make_shared<asio::steady_timer>(io_);
  waiters_.insert(timer);
  while (steady::now() < when && steady::now() < end_by_) {
    timer->expires_at(std::min(when, end_by_));
    co_await timer->async_wait(net::use_tuple);
  }
  waiters_.erase(timer);
}

void scenario_run::wake_settle() {
  if (settle_timer_) settle_timer_->cancel();
}

}  // namespace rdp::scenarios::running
