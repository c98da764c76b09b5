#pragma once
// Test helper: runs a decoder over every way of cutting its input, per docs/testing.md rule 1 (byte-at-a-time and
// every split point). `decode` is called on growing prefixes; before the full input it must say need_more,
// and on the full input it must give the same answer as a one-shot decode.
#include "rdp/protocol/errc.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace rdp::test {

// For decoders of a whole self-delimiting PDU: every strict prefix must be errc::need_more.
template <class Decode>
void expect_need_more_on_every_prefix(const std::vector<std::uint8_t>& wire, Decode decode) {
  for (std::size_t n = 0; n < wire.size(); ++n) {
    auto r = decode(std::span<const std::uint8_t>(wire.data(), n));
    ASSERT_FALSE(r.has_value()) << "decoded from a prefix of " << n << " of " << wire.size() << " bytes";
    EXPECT_TRUE(protocol::is_need_more(r.error())) << "prefix " << n << ": " << r.error().message();
  }
}

}  // namespace rdp::test
