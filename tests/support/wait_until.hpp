#pragma once
// The one bounded wait for a state that has no event a test could wait on (a counter, a descriptor count, an event
// list filled on another thread): `done` is asked every `every` until it holds or `limit` has passed.
#include <chrono>
#include <thread>

namespace rdp::test {

// Whether `done()` held within `limit` (it is asked once more at the end, so a last-moment change is not missed).
template <class Done>
bool wait_until(Done done, std::chrono::milliseconds limit,
                std::chrono::milliseconds every = std::chrono::milliseconds(10)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(every);
  }
  return done();
}

}  // namespace rdp::test
