#pragma once
// The one way the tools start a coroutine. A bare co_spawn(..., detached) loses an exception without a word and
// leaves whoever waits for the coroutine waiting forever; spawn() logs it and always reports completion.
#include "rdp/net/asio.hpp"

#include <exception>
#include <functional>
#include <iostream>
#include <string>

namespace rdp::net {

// The text of an exception for a log line: what() for std::exception, else "unknown exception".
inline std::string describe_exception(const std::exception_ptr& e) {
  if (!e) return {};
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown exception";
  }
}

// Runs `op` on `executor`. If it ends by an exception, "<what> ended by an internal error: <message>" goes to
// stderr (`what` names the program and the task, e.g. "rdpsim: connection 12"). Then `on_done` runs, if given,
// exactly once, with the exception or null: so a waiter can always count the task as finished and tell how.
// Nothing is rethrown: a failed task ends itself, never the io_context's thread.
inline void spawn(asio::any_io_executor executor, asio::awaitable<void> op, std::string what,
                  std::function<void(std::exception_ptr)> on_done = {}) {
  asio::co_spawn(std::move(executor), std::move(op),
                 [what = std::move(what), on_done = std::move(on_done)](std::exception_ptr e) {
                   if (e) std::cerr << what << " ended by an internal error: " << describe_exception(e) << "\n";
                   if (on_done) on_done(e);
                 });
}

}  // namespace rdp::net
