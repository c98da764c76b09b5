// Fuzzes the TPKT/fast-path framer: the input is split at points taken from its own first byte, and the frames
// must come out the same however the stream is cut, never larger than the cap, never past the input.
#include "rdp/protocol/tpkt.hpp"

#include <cstdint>
#include <cstdlib>
#include <vector>

using namespace rdp::protocol;

namespace {
std::vector<std::vector<std::uint8_t>> frames_of(bytes_view stream, std::size_t step, bool fast_path) {
  tpkt::framing_options options;
  options.max_frame = 8192;
  options.allow_fast_path = fast_path;
  tpkt::frame_decoder d(options);
  std::vector<std::vector<std::uint8_t>> out;
  for (std::size_t pos = 0; pos < stream.size(); pos += step) {
    d.feed(stream.subspan(pos, std::min(step, stream.size() - pos)));
    for (;;) {
      auto f = d.next();
      if (!f) break;
      if (f->bytes.size() > options.max_frame) std::abort();
      out.emplace_back(f->bytes.begin(), f->bytes.end());
    }
  }
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bytes_view stream(data + 1, size - 1);
  const std::size_t step = static_cast<std::size_t>(data[0] % 7) + 1;
  for (bool fast_path : {false, true}) {
    if (frames_of(stream, stream.size() ? stream.size() : 1, fast_path) != frames_of(stream, step, fast_path))
      std::abort();
  }
  return 0;
}
