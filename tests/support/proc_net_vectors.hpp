#pragma once
// /proc/net/tcp{,6} text captured from a real kernel, shared by the parser tests (tests/unit_probe) and the collector
// tests on a fake /proc tree (tests/loopback/local_listeners_test.cpp).
#include <bit>
#include <string_view>

namespace rdp::test {

// Captured on this project's Debian 12 x86-64 machine from Python listeners on 127.0.0.1:13391, 0.0.0.0:13392,
// [::]:13393, [::1]:13394 and [::ffff:127.0.0.1]:13395 (trailing padding spaces of the tcp lines trimmed).
constexpr std::string_view proc_net_tcp =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 0100007F:344F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 75369 1 "
    "0000000077c98a02 100 0 0 10 0\n"
    "   1: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1583 1 "
    "00000000ed958d78 100 0 0 10 0\n"
    "   3: 00000000:3450 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 75370 1 "
    "0000000063b5f85e 100 0 0 10 0\n";
constexpr std::string_view proc_net_tcp6 =
    "  sl  local_address                         remote_address                        st tx_queue rx_queue tr "
    "tm->when retrnsmt   uid  timeout inode\n"
    "   0: 0000000000000000FFFF00000100007F:3453 00000000000000000000000000000000:0000 0A 00000000:00000000 "
    "00:00000000 00000000     0        0 75373 1 00000000af2221a6 100 0 0 10 0\n"
    "   1: 00000000000000000000000001000000:3452 00000000000000000000000000000000:0000 0A 00000000:00000000 "
    "00:00000000 00000000     0        0 75372 1 00000000fd28bcb9 100 0 0 10 0\n"
    "   2: 00000000000000000000000000000000:3451 00000000000000000000000000000000:0000 0A 00000000:00000000 "
    "00:00000000 00000000     0        0 75371 1 00000000fc18ea9a 100 0 0 10 0\n";

}  // namespace rdp::test

// The literal /proc text above is little-endian; on a big-endian host the kernel prints other hex.
#define SKIP_UNLESS_LITTLE_ENDIAN()                                                                        \
  if constexpr (std::endian::native != std::endian::little) GTEST_SKIP() << "captured on a little-endian host"
