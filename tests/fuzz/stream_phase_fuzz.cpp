// Fuzzes the relay's phase tracker: the input is one stream of chunks (a byte: direction in the top bit, length in
// the rest, then that many bytes). The events must be the same however each chunk is cut, the memory bound must
// hold after every piece, and once done nothing more is reported.
#include "rdp/protocol/stream_phase.hpp"

#include <cstdint>
#include <cstdlib>
#include <vector>

using namespace rdp::protocol;

namespace {

struct summary {
  std::vector<std::pair<int, int>> events;  // (milestone, direction)
  bool done = false;
  bool operator==(const summary&) const = default;
};

summary run(bytes_view input, std::size_t step) {
  stream_phase::tracker tracker;
  std::vector<stream_phase::phase_event> events;
  std::size_t pos = 0;
  while (pos < input.size()) {
    const auto from = input[pos] & 0x80 ? stream_phase::direction::from_server : stream_phase::direction::from_client;
    const std::size_t length = std::min<std::size_t>(input[pos] & 0x7F, input.size() - pos - 1);
    ++pos;
    const auto chunk = input.subspan(pos, length);
    pos += length;
    for (std::size_t at = 0; at < chunk.size(); at += step) {
      const std::size_t before = events.size();
      const bool was_done = tracker.done();
      tracker.feed(from, chunk.subspan(at, std::min(step, chunk.size() - at)), events);
      if (was_done && events.size() != before) std::abort();
      if (tracker.buffered() > stream_phase::max_x224_frame + 12) std::abort();
    }
  }
  summary out;
  for (const auto& e : events) out.events.emplace_back(static_cast<int>(e.what), static_cast<int>(e.from));
  out.done = tracker.done();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bytes_view input(data + 1, size - 1);
  const std::size_t step = static_cast<std::size_t>(data[0] % 9) + 1;
  if (run(input, 1u << 20) != run(input, step)) std::abort();
  if (run(input, 1) != run(input, step)) std::abort();
  return 0;
}
