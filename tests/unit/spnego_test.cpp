// SPNEGO's codec (protocol/spnego.hpp): the NegTokenInit Samba 4.17's gensec client sends inside CredSSP, decoded
// and re-encoded byte for byte; NegTokenResps of each state; the DER MechTypeList a mechListMIC signs; mechanism
// names; and malformed input — every truncation, trailing bytes, another mechanism's InitialContextToken, fields out
// of order, an unknown negState — refused with an error, never a crash.
#include "rdp/protocol/ntlm.hpp"
#include "rdp/protocol/spnego.hpp"

#include "hex.hpp"

#include <gtest/gtest.h>

namespace {

using namespace rdp::protocol;
using rdp::test::hex;

// Samba 4.17.12's gensec SPNEGO client (python3-samba, Kerberos off, FEATURE_SEAL), its first token: mechTypes
// [NTLM] and the NTLM NEGOTIATE as the optimistic mechToken, no reqFlags. Captured on this machine with
// gensec.Security.start_client(...).start_mech_by_name("spnego") then update(b"").
constexpr const char* samba_neg_token_init =
    "60 48 06 06 2b 06 01 05 05 02 a0 3e 30 3c a0 0e 30 0c 06 0a 2b 06 01 04 01 82 37 02 02 0a a2 2a 04 28 4e 54 4c 4d"
    "53 53 50 00 01 00 00 00 35 82 08 62 00 00 00 00 28 00 00 00 00 00 00 00 28 00 00 00 06 01 00 00 00 00 00 0f";

spnego::oid oid_of(bytes_view b) { return spnego::oid(b.begin(), b.end()); }

TEST(Spnego, DecodesSambasNegTokenInitAndEncodesItBackByteForByte) {
  const auto wire = hex(samba_neg_token_init);
  auto decoded = spnego::decode(wire);
  ASSERT_TRUE(decoded) << decoded.error().message();
  const auto* init = std::get_if<spnego::neg_token_init>(&*decoded);
  ASSERT_NE(init, nullptr);
  ASSERT_EQ(init->mech_types.size(), 1u);
  EXPECT_TRUE(spnego::is_ntlm(init->mech_types[0]));
  ASSERT_TRUE(init->mech_token);
  EXPECT_TRUE(ntlm::decode_negotiate(*init->mech_token));
  EXPECT_FALSE(init->mech_list_mic);
  EXPECT_EQ(spnego::encode(*init), wire);
}

TEST(Spnego, NegTokenRespRoundTripsInEachState) {
  for (auto state : {spnego::neg_state::accept_completed, spnego::neg_state::accept_incomplete,
                     spnego::neg_state::reject, spnego::neg_state::request_mic}) {
    SCOPED_TRACE(spnego::to_string(state));
    spnego::neg_token_resp resp;
    resp.state = state;
    resp.supported_mech = oid_of(spnego::ntlm_oid);
    resp.response_token = hex("4e 54 4c 4d 53 53 50 00 02 00 00 00");
    resp.mech_list_mic = hex("01 00 00 00 11 22 33 44 55 66 77 88 00 00 00 00");
    const auto wire = spnego::encode(resp);
    EXPECT_EQ(wire[0], 0xa1);
    auto decoded = spnego::decode(wire);
    ASSERT_TRUE(decoded) << decoded.error().message();
    EXPECT_EQ(std::get<spnego::neg_token_resp>(*decoded), resp);
  }
  // Every field is optional (RFC 4178 4.2.2): an empty NegTokenResp is a SEQUENCE with nothing in it.
  EXPECT_EQ(spnego::encode(spnego::neg_token_resp{}), hex("a1 02 30 00"));
  EXPECT_EQ(std::get<spnego::neg_token_resp>(spnego::decode(hex("a1 02 30 00")).value()), spnego::neg_token_resp{});
}

TEST(Spnego, TheMechTypeListIsTheDerSequenceOfOids) {
  // What a mechListMIC is computed over for [NTLM] (RFC 4178 5): the SEQUENCE exactly as it sits in Samba's token.
  EXPECT_EQ(spnego::encode_mech_type_list({oid_of(spnego::ntlm_oid)}),
            hex("30 0c 06 0a 2b 06 01 04 01 82 37 02 02 0a"));
  const auto windows_like = spnego::encode_mech_type_list(
      {oid_of(spnego::ms_kerberos_oid), oid_of(spnego::kerberos_oid), oid_of(spnego::ntlm_oid)});
  EXPECT_EQ(windows_like, hex("30 22 06 09 2a 86 48 82 f7 12 01 02 02 06 09 2a 86 48 86 f7 12 01 02 02"
                              "06 0a 2b 06 01 04 01 82 37 02 02 0a"));
}

TEST(Spnego, NamesMechanismsAndSpellsOthersDotted) {
  EXPECT_EQ(spnego::mech_name(spnego::ntlm_oid), "NTLM");
  EXPECT_EQ(spnego::mech_name(spnego::kerberos_oid), "Kerberos");
  EXPECT_EQ(spnego::mech_name(spnego::ms_kerberos_oid), "MS Kerberos");
  EXPECT_EQ(spnego::mech_name(spnego::negoex_oid), "NEGOEX");
  EXPECT_EQ(spnego::mech_name(spnego::spnego_oid), "1.3.6.1.5.5.2");
  EXPECT_EQ(spnego::mech_name(hex("2a 03 04")), "1.2.3.4");
  EXPECT_EQ(spnego::mech_name(hex("88 37 03")), "2.999.3");  // a first octet above 80 is arc 2
  EXPECT_EQ(spnego::mech_name(hex("2a 83")), "?");           // ends inside an arc
  EXPECT_EQ(spnego::mech_name({}), "?");
}

TEST(Spnego, ReadsTheNegHintsOfANegTokenInit2AndItsMechListMic) {
  // MS-SPNG 2.2.1: [3] negHints SEQUENCE { [0] hintName GeneralString }, then [4] mechListMIC.
  const auto wire = hex("60 2e 06 06 2b 06 01 05 05 02 a0 24 30 22 a0 0e 30 0c 06 0a 2b 06 01 04 01 82 37 02 02 0a"
                        "a3 08 30 06 a0 04 1b 02 68 69 a4 06 04 04 de ad be ef");
  auto decoded = spnego::decode(wire);
  ASSERT_TRUE(decoded) << decoded.error().message();
  const auto& init = std::get<spnego::neg_token_init>(*decoded);
  EXPECT_EQ(init.mech_list_mic, hex("de ad be ef"));
  EXPECT_FALSE(init.mech_token);
}

TEST(Spnego, EveryTruncationIsAnErrorNeverACrash) {
  const auto wire = hex(samba_neg_token_init);
  for (std::size_t n = 0; n < wire.size(); ++n) {
    SCOPED_TRACE(n);
    EXPECT_FALSE(spnego::decode(bytes_view(wire).first(n)));
  }
  spnego::neg_token_resp resp;
  resp.state = spnego::neg_state::accept_incomplete;
  resp.response_token = hex("01 02 03");
  const auto resp_wire = spnego::encode(resp);
  for (std::size_t n = 0; n < resp_wire.size(); ++n) EXPECT_FALSE(spnego::decode(bytes_view(resp_wire).first(n)));
}

TEST(Spnego, RefusesWhatIsNotAWholeWellFormedToken) {
  auto trailing = hex(samba_neg_token_init);
  trailing.push_back(0);
  EXPECT_EQ(spnego::decode(trailing).error(), spnego::error::bad_token);
  // Raw NTLM, and a Kerberos InitialContextToken (RFC 4121's OID): not SPNEGO.
  EXPECT_EQ(spnego::decode(hex("4e 54 4c 4d 53 53 50 00 01 00 00 00")).error(), spnego::error::not_spnego);
  EXPECT_EQ(spnego::decode(hex("60 0d 06 09 2a 86 48 86 f7 12 01 02 02 01 00")).error(), spnego::error::not_spnego);
  // mechTypes is required and must not be empty.
  EXPECT_EQ(spnego::decode(hex("60 0c 06 06 2b 06 01 05 05 02 a0 02 30 00")).error(), spnego::error::bad_token);
  EXPECT_EQ(spnego::decode(hex("60 10 06 06 2b 06 01 05 05 02 a0 06 30 04 a0 02 30 00")).error(),
            spnego::error::bad_token);
  // Fields out of order ([2] before [0]) and a repeated field.
  EXPECT_EQ(spnego::decode(hex("a1 0c 30 0a a2 03 04 01 00 a0 03 0a 01 01")).error(), spnego::error::bad_token);
  EXPECT_EQ(spnego::decode(hex("a1 0c 30 0a a0 03 0a 01 01 a0 03 0a 01 01")).error(), spnego::error::bad_token);
  // negState 4 is not defined; a field tag above 3 in a NegTokenResp neither.
  EXPECT_EQ(spnego::decode(hex("a1 07 30 05 a0 03 0a 01 04")).error(), spnego::error::bad_token);
  EXPECT_EQ(spnego::decode(hex("a1 07 30 05 a4 03 04 01 00")).error(), spnego::error::bad_token);
  // A responseToken that is not an OCTET STRING.
  EXPECT_EQ(spnego::decode(hex("a1 07 30 05 a2 03 02 01 00")).error(), spnego::error::bad_token);
  EXPECT_TRUE(spnego::looks_like_spnego(hex("a1 00")));
  EXPECT_FALSE(spnego::looks_like_spnego(hex("4e 54")));
  EXPECT_FALSE(spnego::looks_like_spnego({}));
}

}  // namespace
