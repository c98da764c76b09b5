#pragma once
// A clock that moves only when a test moves it, for the engine's deadlines (engine.hpp, deadline.hpp, drain.hpp are
// templated on the clock, steady_clock by default): a test advances it past a read's deadline and sees timed_out, with
// the exact instant, without sleeping — Boost.MySQL's mock clock, STYLE.md "Drivers get … a manual clock".
//
// Its time_point is steady_clock's, so the instants the machines see and ask for (protocol::sequence::instant) are its
// instants with no conversion. There is one manual clock per process: a test starts from now(), never from a fixed
// instant.
#include "rdp/net/asio.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>

namespace rdp::net {

struct manual_clock {
  using duration = std::chrono::steady_clock::duration;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::steady_clock::time_point;
  static constexpr bool is_steady = true;  // it never goes back

  static time_point now() noexcept { return time_point(duration(ticks_.load(std::memory_order_relaxed))); }
  // Timers on this clock that are due by the new now() fire at the io_context's next turn, within about a
  // millisecond of real time (the wait traits below).
  static void advance(duration by) noexcept { ticks_.fetch_add(by.count(), std::memory_order_relaxed); }

 private:
  // Far from the epoch, so that an unset instant{} is never now().
  static inline std::atomic<rep> ticks_{std::chrono::duration_cast<duration>(std::chrono::hours(24)).count()};
};

// How long Asio's reactor sleeps in real time, at most, before it looks at manual_clock::now() again.
inline constexpr manual_clock::duration manual_clock_recheck = std::chrono::milliseconds(1);

}  // namespace rdp::net

// Asio waits on the real clock for the duration these traits return, then compares the timer's expiry with
// Clock::now(): capping the real wait (the purpose wait_traits::to_wait_duration exists for) makes a timer on the
// manual clock notice an advance within manual_clock_recheck, and never fire before the manual clock reaches it.
namespace boost::asio {
template <>
struct wait_traits<rdp::net::manual_clock> {
  using clock = rdp::net::manual_clock;
  static clock::duration to_wait_duration(const clock::duration& d) { return std::min(d, rdp::net::manual_clock_recheck); }
  static clock::duration to_wait_duration(const clock::time_point& t) { return to_wait_duration(t - clock::now()); }
};
}  // namespace boost::asio
