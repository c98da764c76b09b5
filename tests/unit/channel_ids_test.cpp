// The channel numbering and share id the simulator's server side uses (mcs.hpp, share.hpp), which FreeRDP's and
// Windows' servers use too: clients log them, and captures taken against rdpsim must look like theirs.
#include "rdp/protocol/activation.hpp"
#include "rdp/protocol/mcs.hpp"
#include "rdp/protocol/share.hpp"

#include <gtest/gtest.h>

namespace {

namespace mcs = rdp::protocol::mcs;
namespace share = rdp::protocol::share;

TEST(ChannelIds, ServerIoStaticChannelsThenTheUser) {
  EXPECT_EQ(mcs::server_channel_id, 1002);  // 0x03EA
  EXPECT_EQ(mcs::global_channel_id, 1003);
  EXPECT_EQ(mcs::static_channel_id(0), 1004);  // Server Network Data, MS-RDPBCGR 2.2.1.4.4
  EXPECT_EQ(mcs::static_channel_id(2), 1006);
  EXPECT_EQ(mcs::user_channel_id(0), 1004);  // no static channel: the user id follows the I/O channel
  EXPECT_EQ(mcs::user_channel_id(3), 1007);  // rdpdr, rdpsnd, cliprdr: FreeRDP's usual 1007
}

TEST(ChannelIds, ShareIdAndRouteDefaultsAreTheServers) {
  EXPECT_EQ(share::server_share_id, 0x000103EAu);
  const share::data_pdu_route route;
  EXPECT_EQ(route.share_id, share::server_share_id);
  EXPECT_EQ(route.initiator, mcs::server_channel_id);
  EXPECT_EQ(route.channel_id, mcs::global_channel_id);
  EXPECT_EQ(rdp::protocol::activation::demand_active{}.share_id, share::server_share_id);
  EXPECT_EQ(rdp::protocol::activation::confirm_active{}.originator_id, mcs::server_channel_id);
}

}  // namespace
