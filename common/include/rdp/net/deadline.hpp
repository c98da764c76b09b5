#pragma once
// Per-operation deadlines for coroutines: `co_await with_deadline(op, 2s)` races the operation against a timer
// with Asio's awaitable operators; the loser is cancelled through its cancellation slot, so a socket operation
// never outlives its deadline and a timed-out operation reports errc::timed_out. The timer runs on `Clock`: the steady
// clock, or a test's manual_clock (manual_clock.hpp).
#include "rdp/net/asio.hpp"
#include "rdp/net/errors.hpp"

#include <tuple>
#include <variant>

namespace rdp::net {

// For operations completing with (error_code, T) through use_tuple.
template <class Clock = clock, class T>
asio::awaitable<std::tuple<error_code, T>> with_deadline(asio::awaitable<std::tuple<error_code, T>> op,
                                                         typename Clock::duration timeout) {
  using namespace asio::experimental::awaitable_operators;
  asio::basic_waitable_timer<Clock> timer(co_await asio::this_coro::executor, timeout);
  auto result = co_await (std::move(op) || timer.async_wait(use_tuple));
  if (result.index() == 0) co_return std::get<0>(std::move(result));
  co_return std::tuple<error_code, T>{make_error_code(errc::timed_out), T{}};
}

// For operations completing with (error_code) only.
template <class Clock = clock>
asio::awaitable<error_code> with_deadline(asio::awaitable<std::tuple<error_code>> op, typename Clock::duration timeout) {
  using namespace asio::experimental::awaitable_operators;
  asio::basic_waitable_timer<Clock> timer(co_await asio::this_coro::executor, timeout);
  auto result = co_await (std::move(op) || timer.async_wait(use_tuple));
  if (result.index() == 0) co_return std::get<0>(std::get<0>(result));
  co_return make_error_code(errc::timed_out);
}

}  // namespace rdp::net
