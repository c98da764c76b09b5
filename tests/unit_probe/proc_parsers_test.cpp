// The pure parsers of `rdpprobe local` (proc_parsers.hpp) on literal /proc text: what the kernel prints, and every
// way a line can be malformed.
#include "rdp/probe/proc_parsers.hpp"

#include "proc_net_vectors.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace rdp;
using probe::proc_net_socket;
using test::proc_net_tcp;
using test::proc_net_tcp6;

TEST(LocalListenersParse, Ipv4LinesWithHeader) {
  SKIP_UNLESS_LITTLE_ENDIAN();
  const auto s = probe::parse_proc_net_tcp(proc_net_tcp, false);
  ASSERT_EQ(s.size(), 3u);  // the header is skipped
  EXPECT_EQ(s[0], (proc_net_socket{"127.0.0.1", false, 13391, probe::tcp_state_listen, 0, 75369}));
  EXPECT_EQ(s[1], (proc_net_socket{"0.0.0.0", false, 2024, probe::tcp_state_listen, 0, 1583}));
  EXPECT_EQ(s[2].port, 13392);
  EXPECT_EQ(s[2].uid, 1000u);
}

TEST(LocalListenersParse, Ipv6AndV4MappedLines) {
  SKIP_UNLESS_LITTLE_ENDIAN();
  const auto s = probe::parse_proc_net_tcp(proc_net_tcp6, true);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0], (proc_net_socket{"::ffff:127.0.0.1", true, 13395, probe::tcp_state_listen, 0, 75373}));
  EXPECT_EQ(s[1], (proc_net_socket{"::1", true, 13394, probe::tcp_state_listen, 0, 75372}));
  EXPECT_EQ(s[2], (proc_net_socket{"::", true, 13393, probe::tcp_state_listen, 0, 75371}));
}

TEST(LocalListenersParse, Ipv6WordsAreHostOrder) {
  SKIP_UNLESS_LITTLE_ENDIAN();
  // 2001:db8::1 is the bytes 20 01 0d b8 0..0 00 00 00 01; each 4-byte group printed as a little-endian word.
  // An established connection (st 01) with a uid and a large inode.
  const auto s = probe::parse_proc_net_tcp(
      "   4: B80D0120000000000000000001000000:0D3D B80D0120000000000000000002000000:C350 01 00000000:00000000 "
      "00:00000000 00000000   108        0 4294967296123 1 0000000000000000 20 4 1 10 -1\n",
      true);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].address, "2001:db8::1");
  EXPECT_EQ(s[0].port, 3389);
  EXPECT_EQ(s[0].state, 0x01);
  EXPECT_EQ(s[0].uid, 108u);
  EXPECT_EQ(s[0].inode, 4294967296123u);
}

TEST(LocalListenersParse, MalformedLinesAreSkipped) {
  SKIP_UNLESS_LITTLE_ENDIAN();
  const std::string good =
      "   0: 0100007F:0D3D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 42 1 0 100 0 0 10 0";
  const std::vector<std::string> bad = {
      "",
      "garbage",
      "   0: 0100007F:0D3D 00000000:0000 0A",                                           // truncated
      "   0 0100007F:0D3D 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 42",  // no "sl:"
      "   0: 0100007F0D3D 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 42",  // no colon
      "   0: 100007F:0D3D 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 42",  // 7 hex digits
      "   0: 0100007G:0D3D 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 42",  // not hex
      "   0: 0100007F:D3D 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 42",   // short port
      "   0: 0100007F:0D3D 00000000:0000 A 00000000:00000000 00:00000000 00000000 0 0 42",   // short state
      "   0: 0100007F:0D3D 00000000:0000 0A 00000000:00000000 00:00000000 00000000 -1 0 42",  // signed uid
      "   0: 0100007F:0D3D 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 99999999999999999999999",
      "   0: 0100007F:+D3D 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 42",
      "   0: 00000000000000000000000001000000:0D3D 0:0 0A 0:0 0:0 0 0 0 42",  // a v6 address in the v4 file
      std::string("   0: 0100007F:0D3D\0 00000000:0000 0A", 37),
  };
  for (const auto& line : bad) {
    EXPECT_TRUE(probe::parse_proc_net_tcp(line, false).empty()) << line;
    // Between good lines, and without the final newline, a bad line costs only itself.
    const auto s = probe::parse_proc_net_tcp(good + "\n" + line + "\n" + good, false);
    EXPECT_EQ(s.size(), 2u) << line;
  }
  EXPECT_TRUE(probe::parse_proc_net_tcp(good, true).empty());  // a v4 address in the v6 file
  EXPECT_EQ(probe::parse_proc_net_tcp(good + "\r", false).size(), 1u);  // trailing junk after the fields
}

TEST(LocalListenersParse, SocketInodeFromLink) {
  EXPECT_EQ(probe::socket_inode_from_link("socket:[12345]"), 12345u);
  EXPECT_EQ(probe::socket_inode_from_link("socket:[0]"), 0u);
  for (std::string_view bad : {"socket:[]", "socket:[12a]", "socket:[-1]", "socket:12345", "socket:[12345",
                               "pipe:[12345]", "anon_inode:[eventfd]", "/dev/null", "", "socket:[99999999999999999999]"})
    EXPECT_FALSE(probe::socket_inode_from_link(bad)) << bad;
}

}  // namespace
