// validate(session_policy): the one rule the profile, the control interface and session_admin::set_policy apply.
#include "rdp/protocol/server_sequence.hpp"
#include "rdp/sim/sessions.hpp"

#include <gtest/gtest.h>

namespace {

using rdp::sim::session_policy;
using std::chrono::seconds;

TEST(SessionPolicy, DefaultsAndTheBoundsThemselvesAreValid) {
  EXPECT_EQ(rdp::sim::validate(session_policy{}), "");
  session_policy p;
  p.max_sessions = 1;
  p.idle_limit = seconds(1);
  p.logon_timeout = rdp::sim::max_time_limit;
  p.disconnected_limit = rdp::sim::max_disconnected_limit;
  EXPECT_EQ(rdp::sim::validate(p), "");
  p.max_sessions = rdp::sim::max_max_sessions;
  EXPECT_EQ(rdp::sim::validate(p), "");
}

TEST(SessionPolicy, NoSessionAtAllIsRefused) {
  session_policy p;
  p.max_sessions = 0;
  EXPECT_EQ(rdp::sim::validate(p), "max_sessions must be a whole number from 1 to 1000000, not 0");
  p.max_sessions = 1000001;
  EXPECT_EQ(rdp::sim::validate(p), "max_sessions must be a whole number from 1 to 1000000, not 1000001");
}

TEST(SessionPolicy, TimeLimitsAreAtLeastASecondAndAtMostTheirBound) {
  session_policy p;
  p.idle_limit = seconds(0);  // "never" is nullopt, not 0
  EXPECT_EQ(rdp::sim::validate(p), "idle_limit_seconds must be a whole number from 1 to 31536000, not 0");
  p = {};
  p.logon_timeout = seconds(31536001);
  EXPECT_EQ(rdp::sim::validate(p), "logon_timeout_seconds must be a whole number from 1 to 31536000, not 31536001");
  p = {};
  p.disconnected_limit = seconds(86401);
  EXPECT_EQ(rdp::sim::validate(p), "disconnected_limit_seconds must be a whole number from 1 to 86400, not 86401");
  p.disconnected_limit = seconds(-60);
  EXPECT_EQ(rdp::sim::validate(p), "disconnected_limit_seconds must be a whole number from 1 to 86400, not -60");
}

// A time scale makes limits shorter than a second (62 s at 0.05 is 3100 ms, 5 s at 0.02 is 100 ms): kept as they are,
// never rounded to whole seconds, down to 1 ms.
TEST(SessionPolicy, ScaledLimitsKeepTheirMilliseconds) {
  using std::chrono::milliseconds;
  session_policy p;
  p.idle_limit = milliseconds(3050);
  p.logon_timeout = milliseconds(1);
  p.disconnected_limit = milliseconds(100);
  EXPECT_EQ(rdp::sim::validate(p), "");
  EXPECT_EQ(p.idle_limit, milliseconds(3050));
  p.disconnected_limit = milliseconds(-500);
  EXPECT_EQ(rdp::sim::validate(p), "disconnected_limit_seconds must last at least 1 ms, not -500 ms");
  p.disconnected_limit = milliseconds(86400500);
  EXPECT_EQ(rdp::sim::validate(p), "disconnected_limit_seconds must last at most 86400 seconds, not 86400500 ms");
}

// The Server Heartbeat PDU's period field is whole seconds (MS-RDPBCGR 2.2.16.1) while the server's timer keeps the
// precise period: the field is rounded up, 1 to 255.
TEST(HeartbeatPeriod, TheWireFieldIsWholeSecondsRoundedUp) {
  using std::chrono::milliseconds;
  EXPECT_EQ(rdp::protocol::heartbeat_period_field(milliseconds(30000)), 30);
  EXPECT_EQ(rdp::protocol::heartbeat_period_field(milliseconds(3100)), 4);
  EXPECT_EQ(rdp::protocol::heartbeat_period_field(milliseconds(3000)), 3);
  EXPECT_EQ(rdp::protocol::heartbeat_period_field(milliseconds(40)), 1);
  EXPECT_EQ(rdp::protocol::heartbeat_period_field(milliseconds(0)), 1);
  EXPECT_EQ(rdp::protocol::heartbeat_period_field(milliseconds(1000000)), 255);
}

}  // namespace
