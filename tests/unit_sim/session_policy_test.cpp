// validate(session_policy): the one rule the profile, the control interface and session_admin::set_policy apply.
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

}  // namespace
