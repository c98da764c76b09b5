// libFuzzer target for classify_listener. Drives the classifier over the input with every stream_end value and
// both spoke_first values, and checks the invariants classify.hpp promises:
//  - an ended stream always classifies; an open one answers a classification or errc::need_more, nothing else;
//  - empty input maps to need_more / closed / reset / silence; non-empty input never does;
//  - detail is non-empty, printable ASCII, at most max_classification_detail characters;
//  - finality: once an open prefix is classified, every longer prefix and every end state give the same answer.
#include "rdp/protocol/classify.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace {

using namespace rdp::protocol;

constexpr std::array<stream_end, 4> all_states = {stream_end::open, stream_end::closed, stream_end::reset,
                                                  stream_end::timed_out};

void check(bool ok) {
  if (!ok) std::abort();
}

boost::system::result<classification> run(bytes_view data, bool spoke_first, stream_end end) {
  return classify_listener(listener_observation{data, spoke_first, end});
}

void check_sane(const classification& c, bool empty_input) {
  check(!c.detail.empty());
  check(c.detail.size() <= max_classification_detail);
  for (const char ch : c.detail) check(ch >= 0x20 && ch <= 0x7E);
  check(!to_string(c.kind).empty());
  const bool nothing_kind =
      c.kind == listener_kind::silent || c.kind == listener_kind::closed || c.kind == listener_kind::reset;
  check(nothing_kind == empty_input);
}

void check_all_states(bytes_view data, bool spoke_first) {
  for (const auto end : all_states) {
    const auto r = run(data, spoke_first, end);
    if (!r) {
      check(end == stream_end::open);
      check(is_need_more(r.error()));
      continue;
    }
    check_sane(*r, data.empty());
    if (data.empty()) {
      check(end != stream_end::open);
      check((end == stream_end::closed) == (r->kind == listener_kind::closed));
      check((end == stream_end::reset) == (r->kind == listener_kind::reset));
      check((end == stream_end::timed_out) == (r->kind == listener_kind::silent));
    }
  }
}

// The first open prefix that classifies must agree with the whole input under every end state, and so must every
// longer prefix. Inputs are scanned prefix by prefix up to a bound; beyond it, at a few cut points.
void check_finality(bytes_view data, bool spoke_first) {
  constexpr std::size_t exhaustive = 512;
  const std::size_t limit = std::min(data.size(), exhaustive);
  std::size_t decided_at = data.size() + 1;
  for (std::size_t n = 0; n <= limit; ++n) {
    if (run(data.first(n), spoke_first, stream_end::open)) {
      decided_at = n;
      break;
    }
  }
  if (decided_at > data.size()) {
    // Not decided within the scanned prefixes; larger inputs: every rule decides by 4096 bytes.
    if (data.size() >= 4096) check(static_cast<bool>(run(data, spoke_first, stream_end::open)));
    return;
  }
  const auto first = run(data.first(decided_at), spoke_first, stream_end::open);
  for (const auto end : all_states) {
    const auto whole = run(data, spoke_first, end);
    check(whole && *whole == *first);
  }
  const std::array<std::size_t, 3> cuts = {decided_at + 1, (decided_at + data.size()) / 2, data.size() - 1};
  for (const std::size_t cut : cuts) {
    if (cut < decided_at || cut > data.size()) continue;
    for (const auto end : all_states) {
      const auto r = run(data.first(cut), spoke_first, end);
      check(r && *r == *first);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bytes_view input(data, size);
  for (const bool spoke_first : {false, true}) {
    check_all_states(input, spoke_first);
    check_finality(input, spoke_first);
  }
  return 0;
}
