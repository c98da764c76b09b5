// The scenario parser's `liveness` key (issue 25): a lean client's TCP liveness is a real client's, `mstsc` (the
// default: no keepalive, what the lean client always did) or `freerdp` (FreeRDP 2.11's keepalive); any other word, or
// the key on another kind of client, is refused with its place. `silence_limit` stays a separate option.
#include "rdp/scenarios/scenario.hpp"

#include "scenario_text.hpp"

#include <gtest/gtest.h>

namespace {

using namespace rdp::scenarios;

scenario parse(const std::string& client) {
  return rdp::test::parse_scenario_text(rdp::test::scenario_with_client(client));
}
std::string error_of(const std::string& client) {
  return rdp::test::scenario_error_of(rdp::test::scenario_with_client(client));
}

TEST(ScenarioParseLiveness, ALeanClientIsMstscUnlessTheFileSaysFreerdp) {
  EXPECT_EQ(parse("{name: alice}").clients[0].liveness, client_liveness::mstsc);
  EXPECT_EQ(parse("{name: alice, liveness: mstsc}").clients[0].liveness, client_liveness::mstsc);
  const auto freerdp = parse("{name: alice, liveness: freerdp, silence_limit: 30s}");
  EXPECT_EQ(freerdp.clients[0].liveness, client_liveness::freerdp);
  ASSERT_TRUE(freerdp.clients[0].silence_limit);  // both: the TCP keepalive and the application's own deadline
  EXPECT_EQ(*freerdp.clients[0].silence_limit, std::chrono::seconds(30));
}

TEST(ScenarioParseLiveness, AnotherWordOrAnotherKindOfClientIsRefusedWithItsPlace) {
  EXPECT_EQ(error_of("{name: alice, liveness: windows}"),
            "t.yaml:3:29: clients[1].liveness: expected one of mstsc, freerdp, found 'windows'");
  EXPECT_NE(error_of("{name: alice, liveness: true}").find("expected one of mstsc, freerdp"), std::string::npos);
  EXPECT_NE(error_of("{name: alice, kind: freerdp, liveness: freerdp}").find("is for lean clients"),
            std::string::npos);
}

}  // namespace
