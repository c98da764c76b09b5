// tests/support/peers.hpp: a missing peer is a skip, except under CI=true, where it is a failure.
#include "peers.hpp"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

namespace {

// Sets CI for one scope and puts back what was there.
class ci_variable {
 public:
  explicit ci_variable(const char* value) {
    if (const char* old = std::getenv("CI")) old_ = old;
    if (value) ::setenv("CI", value, 1);
    else ::unsetenv("CI");
  }
  ~ci_variable() {
    if (old_) ::setenv("CI", old_->c_str(), 1);
    else ::unsetenv("CI");
  }

 private:
  std::optional<std::string> old_;
};

void require_missing_peer() { RDP_REQUIRE_PEER("frobnicator is not installed"); }

TEST(MissingPeer, IsAFailureUnderCi) {
  ci_variable ci("true");
  EXPECT_TRUE(rdp::test::missing_peer_fails());
  EXPECT_FATAL_FAILURE(require_missing_peer(), "missing peer under CI=true: frobnicator is not installed");
}

// Outside CI the macro is GTEST_SKIP, which ctest reports as skipped (ctest_reports_skips checks the property).
TEST(MissingPeer, IsNotAFailureOutsideCi) {
  for (const char* value : {static_cast<const char*>(nullptr), "", "false", "0"}) {
    ci_variable ci(value);
    EXPECT_FALSE(rdp::test::missing_peer_fails()) << (value ? value : "(unset)");
  }
  ci_variable ci("1");
  EXPECT_TRUE(rdp::test::missing_peer_fails());
}

TEST(MissingPeer, APresentPeerNeitherSkipsNorFails) {
  ci_variable ci("true");
  RDP_REQUIRE_PEER(std::string());
  EXPECT_FALSE(::testing::Test::IsSkipped());
  EXPECT_EQ(rdp::test::missing_program("sh"), "");
  EXPECT_NE(rdp::test::missing_program("no-such-program-rdp-test"), "");
}

}  // namespace
