// The scenario parser's keys for the lean client's NLA (scenarios/src/parse_clients.cpp): `security: nla` and
// `hybrid_ex` on a lean client, and the errors for what a lean client cannot do.
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

TEST(ScenarioParseLeanNla, ALeanClientTakesSecurityNlaAndHybridEx) {
  const auto plain = parse("{name: alice}");
  EXPECT_EQ(plain.clients[0].security, "tls");
  EXPECT_FALSE(plain.clients[0].hybrid_ex);
  const auto nla = parse("{name: alice, kind: lean, security: nla}");
  EXPECT_EQ(nla.clients[0].security, "nla");
  EXPECT_FALSE(nla.clients[0].hybrid_ex);
  const auto ex = parse("{name: alice, security: nla, hybrid_ex: true}");
  EXPECT_TRUE(ex.clients[0].hybrid_ex);
  EXPECT_FALSE(ex.clients[0].spnego);
  EXPECT_TRUE(parse("{name: alice, security: nla, spnego: true}").clients[0].spnego);
}

TEST(ScenarioParseLeanNla, WhatALeanClientCannotDoIsRefusedWithItsPlace) {
  EXPECT_EQ(error_of("{name: alice, security: rdp}"),
            "t.yaml:3:29: clients[1].security: expected one of tls, nla for a lean client, found 'rdp'");
  EXPECT_NE(error_of("{name: alice, security: any}").find("for a lean client"), std::string::npos);
  EXPECT_EQ(error_of("{name: alice, hybrid_ex: true}"),
            "t.yaml:3:30: clients[1].hybrid_ex: goes with security: nla; alice uses tls");
  EXPECT_NE(error_of("{name: alice, kind: freerdp, hybrid_ex: true}").find("is for lean clients"), std::string::npos);
  EXPECT_EQ(error_of("{name: alice, spnego: true}"),
            "t.yaml:3:27: clients[1].spnego: goes with security: nla; alice uses tls");
  EXPECT_NE(error_of("{name: alice, kind: freerdp, spnego: true}").find("is for lean clients"), std::string::npos);
  EXPECT_NE(error_of("{name: alice, kind: rdpprobe, security: nla}").find("is for lean and freerdp clients"),
            std::string::npos);
  // FreeRDP keeps its four words.
  EXPECT_EQ(parse("{name: alice, kind: freerdp, security: any}").clients[0].security, "any");
}

}  // namespace
