// CredSSP TSRequest (MS-CSSP 2.2.1) and NTLM NEGOTIATE/CHALLENGE (MS-NLMP 2.2.1.1, 2.2.1.2) against exact wire
// bytes, plus one test per malformed input the probe must survive.
#include "rdp/protocol/credssp.hpp"
#include "rdp/protocol/ntlm.hpp"
#include "rdp/protocol/text.hpp"

#include "hex.hpp"
#include "split_feed.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace {

using namespace rdp::protocol;
using rdp::test::hex;
using rdp::test::to_hex;

// nmap rdp-ntlm-info's TSRequest (docs/wire-facts.md 2.3, from scripts/rdp-ntlm-info.nse): version 0x60, one negoToken
// holding a raw NTLM NEGOTIATE with flags 0xE20882B7 and Version 10.0.17763. 57 bytes.
const char* const nmap_ts_request =
    "30 37 a0 03 02 01 60 a1 30 30 2e 30 2c a0 2a 04 28 "
    "4e 54 4c 4d 53 53 50 00 01 00 00 00 b7 82 08 e2 "
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
    "0a 00 63 45 00 00 00 0f";
// The NEGOTIATE inside it (the negoToken's 40 bytes).
const char* const nmap_negotiate =
    "4e 54 4c 4d 53 53 50 00 01 00 00 00 b7 82 08 e2 "
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
    "0a 00 63 45 00 00 00 0f";

// A CHALLENGE from a Windows server: FreeRDP's winpr/libwinpr/sspi/test/TestNTLM.c, TEST_NTLM_CHALLENGE (FreeRDP
// commit 0b87b645e371). FreeRDP does not say where it came from; its Version 6.3 build 9600 (Windows 8.1 / Server
// 2012 R2), the Windows flag set and the AV_PAIR order (NbDomain, NbComputer, DnsDomain, DnsComputer, Timestamp)
// match a Windows server's, and the timestamp reads 2014-06-18 15:12:18 UTC. 158 bytes; TargetName empty with its
// offset at 0x38 where it would be, as Windows writes it.
const char* const windows_challenge =
    "4e 54 4c 4d 53 53 50 00 02 00 00 00 00 00 00 00 "
    "38 00 00 00 07 82 88 a2 a4 f1 ba a6 7c dc 1a 12 "
    "00 00 00 00 00 00 00 00 66 00 66 00 38 00 00 00 "
    "06 03 80 25 00 00 00 0f 02 00 0e 00 4e 00 45 00 "
    "57 00 59 00 45 00 41 00 52 00 01 00 0e 00 4e 00 "
    "45 00 57 00 59 00 45 00 41 00 52 00 04 00 1c 00 "
    "6c 00 61 00 62 00 2e 00 77 00 61 00 79 00 6b 00 "
    "2e 00 6c 00 6f 00 63 00 61 00 6c 00 03 00 0e 00 "
    "6e 00 65 00 77 00 79 00 65 00 61 00 72 00 07 00 "
    "08 00 33 57 bd b1 07 8b cf 01 00 00 00 00";

// MS-NLMP 4.2.4.3, the spec's example CHALLENGE (also Chromium's and sspi-rs's test input): TargetName "Server",
// NbDomainName "Domain", NbComputerName "Server", Version 6.0.6000.
const char* const spec_challenge =
    "4e 54 4c 4d 53 53 50 00 02 00 00 00 0c 00 0c 00 38 00 00 00 33 82 8a e2 01 23 45 67 89 ab cd ef "
    "00 00 00 00 00 00 00 00 24 00 24 00 44 00 00 00 06 00 70 17 00 00 00 0f 53 00 65 00 72 00 76 00 "
    "65 00 72 00 02 00 0c 00 44 00 6f 00 6d 00 61 00 69 00 6e 00 01 00 0c 00 53 00 65 00 72 00 76 00 "
    "65 00 72 00 00 00 00 00";

// ---- TSRequest ----

TEST(CredSspTsRequest, EncodesNmapsRequestByteForByte) {
  credssp::ts_request request;
  request.version = 0x60;  // nmap's value; MS-CSSP treats a version above its own as "the peer's highest"
  auto negotiate = ntlm::encode(ntlm::negotiate_message{});  // defaults are nmap's flags and Version
  ASSERT_TRUE(negotiate);
  EXPECT_EQ(*negotiate, hex(nmap_negotiate));
  request.nego_tokens.push_back(*negotiate);
  EXPECT_EQ(to_hex(credssp::encode(request)), to_hex(hex(nmap_ts_request)));
}

TEST(CredSspTsRequest, DecodesNmapsRequest) {
  const auto wire = hex(nmap_ts_request);
  auto r = credssp::decode_ts_request(wire);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->consumed, 57u);
  EXPECT_EQ(r->value.version, 0x60);
  ASSERT_EQ(r->value.nego_tokens.size(), 1u);
  EXPECT_EQ(r->value.nego_tokens[0], hex(nmap_negotiate));
  EXPECT_FALSE(r->value.auth_info || r->value.pub_key_auth || r->value.error_code || r->value.client_nonce);
}

TEST(CredSspTsRequest, ErrorCodeIsWrittenAsWindowsDoes) {
  // STATUS_LOGON_FAILURE, 0xC000006D: Windows sends the signed 32-bit form, 02 04 c0 00 00 6d.
  credssp::ts_request request;
  request.error_code = 0xC000006D;
  const auto wire = credssp::encode(request);
  EXPECT_EQ(to_hex(wire), "30 0d a0 03 02 01 06 a4 06 02 04 c0 00 00 6d");
  auto back = credssp::decode_ts_request(wire);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->value, request);
  // A strict DER encoder's unsigned form (leading 00) means the same.
  auto positive = credssp::decode_ts_request(hex("30 0e a0 03 02 01 06 a4 07 02 05 00 c0 00 00 6d"));
  ASSERT_TRUE(positive) << positive.error().message();
  EXPECT_EQ(positive->value.error_code, 0xC000006Du);
}

TEST(CredSspTsRequest, EveryFieldRoundTrips) {
  credssp::ts_request request;
  request.version = 6;
  request.nego_tokens = {byte_buffer(300, 0xAB), byte_buffer{1, 2, 3}};  // a long-form length and a second token
  request.auth_info = byte_buffer{4, 5};
  request.pub_key_auth = byte_buffer(16, 0x11);
  request.error_code = 0;
  request.client_nonce = byte_buffer(32, 0x5A);
  const auto wire = credssp::encode(request);
  auto back = credssp::decode_ts_request(wire);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->consumed, wire.size());
  EXPECT_EQ(back->value, request);
  EXPECT_EQ(credssp::encode(back->value), wire);
}

TEST(CredSspTsRequest, EveryPrefixNeedsMore) {
  rdp::test::expect_need_more_on_every_prefix(hex(nmap_ts_request),
                                              [](bytes_view b) { return credssp::decode_ts_request(b); });
  credssp::ts_request big;
  big.nego_tokens = {byte_buffer(400, 0x42)};
  big.error_code = 0xC0000022;
  rdp::test::expect_need_more_on_every_prefix(credssp::encode(big),
                                              [](bytes_view b) { return credssp::decode_ts_request(b); });
}

TEST(CredSspTsRequest, LeavesBytesAfterTheSequence) {
  auto wire = hex(nmap_ts_request);
  wire.push_back(0x30);
  auto r = credssp::decode_ts_request(wire);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->consumed, 57u);
}

TEST(CredSspTsRequest, NotASequenceIsRefusedAtTheFirstByte) {
  EXPECT_EQ(credssp::decode_ts_request(hex("48")).error(), credssp::error::not_ts_request);  // "H" of HTTP/1.1
  EXPECT_EQ(credssp::decode_ts_request(hex("15 03 03 00 02 02 0a")).error(), credssp::error::not_ts_request);
  EXPECT_EQ(credssp::decode_ts_request(hex("00 00")).error(), credssp::error::not_ts_request);
}

TEST(CredSspTsRequest, MissingVersion) {
  EXPECT_EQ(credssp::decode_ts_request(hex("30 04 a1 02 30 00")).error(), credssp::error::bad_ts_request);
  EXPECT_EQ(credssp::decode_ts_request(hex("30 00")).error(), credssp::error::bad_ts_request);
}

TEST(CredSspTsRequest, FieldsOutOfOrderOrTwice) {
  // version, pubKeyAuth [3], then negoTokens [1]
  EXPECT_EQ(credssp::decode_ts_request(hex("30 0f a0 03 02 01 06 a3 02 04 00 a1 04 30 02 30 00")).error(),
            credssp::error::bad_ts_request);
  // errorCode twice
  EXPECT_EQ(credssp::decode_ts_request(hex("30 0f a0 03 02 01 06 a4 03 02 01 00 a4 03 02 01 00")).error(),
            credssp::error::bad_ts_request);
  // version twice
  EXPECT_EQ(credssp::decode_ts_request(hex("30 0a a0 03 02 01 06 a0 03 02 01 06")).error(),
            credssp::error::bad_ts_request);
}

TEST(CredSspTsRequest, WrongInnerTypes) {
  // negoToken as an INTEGER instead of an OCTET STRING
  EXPECT_EQ(credssp::decode_ts_request(hex("30 10 a0 03 02 01 06 a1 09 30 07 30 05 a0 03 02 01 05")).error(),
            credssp::error::bad_ts_request);
  // version as an OCTET STRING
  EXPECT_EQ(credssp::decode_ts_request(hex("30 05 a0 03 04 01 06")).error(), credssp::error::bad_ts_request);
  // a primitive [1] instead of a constructed one
  EXPECT_EQ(credssp::decode_ts_request(hex("30 07 a0 03 02 01 06 81 00")).error(), credssp::error::bad_ts_request);
  // a universal tag among the fields
  EXPECT_EQ(credssp::decode_ts_request(hex("30 07 a0 03 02 01 06 05 00")).error(), credssp::error::bad_ts_request);
  // an inner TLV claiming more than its field holds
  EXPECT_EQ(credssp::decode_ts_request(hex("30 07 a0 05 02 05 06 00 00")).error(), credssp::error::bad_ts_request);
  // an extra TLV after the version INTEGER inside [0]
  EXPECT_EQ(credssp::decode_ts_request(hex("30 07 a0 05 02 01 06 05 00")).error(), credssp::error::bad_ts_request);
}

TEST(CredSspTsRequest, ErrorCodeOutOfRange) {
  // 2^32 does not fit an NTSTATUS
  EXPECT_EQ(credssp::decode_ts_request(hex("30 0e a0 03 02 01 06 a4 07 02 05 01 00 00 00 00")).error(),
            credssp::error::bad_ts_request);
}

TEST(CredSspTsRequest, IndefiniteLengthIsMalformed) {
  EXPECT_EQ(credssp::decode_ts_request(hex("30 80 a0 03 02 01 06 00 00")).error(), credssp::error::bad_ts_request);
}

TEST(CredSspTsRequest, LaterFieldsAreSkipped) {
  // version 6 and a [6] this code does not know
  auto r = credssp::decode_ts_request(hex("30 09 a0 03 02 01 06 a6 02 05 00"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->value.version, 6);
}

// ---- NTLM NEGOTIATE ----

TEST(NtlmNegotiate, DecodesNmapsNegotiate) {
  auto m = ntlm::decode_negotiate(hex(nmap_negotiate));
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->flags, ntlm::negotiate_flags::nmap_negotiate);
  ASSERT_TRUE(m->os_version);
  EXPECT_EQ(ntlm::to_string(*m->os_version), "10.0.17763");
  EXPECT_EQ(m->os_version->revision, 0x0F);
  EXPECT_TRUE(m->domain_name.empty() && m->workstation.empty());
  EXPECT_EQ(*m, ntlm::negotiate_message{});
}

TEST(NtlmNegotiate, PayloadsRoundTrip) {
  ntlm::negotiate_message n;
  n.flags |= ntlm::negotiate_flags::oem_domain_supplied | ntlm::negotiate_flags::oem_workstation_supplied;
  n.domain_name = {'L', 'A', 'B'};
  n.workstation = {'W', 'S'};
  auto wire = ntlm::encode(n);
  ASSERT_TRUE(wire);
  EXPECT_EQ(wire->size(), 40u + 5u);
  auto back = ntlm::decode_negotiate(*wire);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, n);
}

TEST(NtlmNegotiate, WrongTypeAndShort) {
  EXPECT_EQ(ntlm::decode_negotiate(hex(windows_challenge)).error(), ntlm::error::unexpected_message_type);
  EXPECT_EQ(ntlm::decode_negotiate(bytes_view(hex(nmap_negotiate)).first(31)).error(), errc::truncated);
}

// ---- NTLM CHALLENGE ----

TEST(NtlmChallenge, DecodesAWindowsChallenge) {
  const auto wire = hex(windows_challenge);
  auto m = ntlm::decode_challenge(wire);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->flags, 0xA2888207u);
  EXPECT_EQ(to_hex(byte_buffer(m->server_challenge.begin(), m->server_challenge.end())), "a4 f1 ba a6 7c dc 1a 12");
  EXPECT_TRUE(m->target_name.empty());
  const auto f = ntlm::facts(*m);
  EXPECT_EQ(f.netbios_domain, "NEWYEAR");
  EXPECT_EQ(f.netbios_computer, "NEWYEAR");
  EXPECT_EQ(f.dns_domain, "lab.wayk.local");
  EXPECT_EQ(f.dns_computer, "newyear");
  EXPECT_EQ(f.dns_tree, "");  // this server sent no MsvAvDnsTreeName
  EXPECT_FALSE(f.av_flags);
  ASSERT_TRUE(f.timestamp);
  EXPECT_EQ(*f.timestamp, 0x01CF8B07B1BD5733u);
  // 2014-06-18 15:12:18.0041523 UTC
  EXPECT_EQ(ntlm::since_unix_epoch(*f.timestamp).count(), 14031043380041523);
  ASSERT_TRUE(f.os_version);
  EXPECT_EQ(ntlm::to_string(*f.os_version), "6.3.9600");
  // Re-encoding gives back the exact bytes: same layout rules as Windows.
  auto again = ntlm::encode(*m);
  ASSERT_TRUE(again);
  EXPECT_EQ(to_hex(*again), to_hex(wire));
}

TEST(NtlmChallenge, DecodesTheSpecExample) {
  const auto wire = hex(spec_challenge);
  auto m = ntlm::decode_challenge(wire);
  ASSERT_TRUE(m) << m.error().message();
  const auto f = ntlm::facts(*m);
  EXPECT_EQ(f.target_name, "Server");
  EXPECT_EQ(f.netbios_domain, "Domain");
  EXPECT_EQ(f.netbios_computer, "Server");
  EXPECT_EQ(ntlm::to_string(*f.os_version), "6.0.6000");
  auto again = ntlm::encode(*m);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, wire);
}

ntlm::challenge_message sample_challenge() {
  using ntlm::av_id;
  namespace nf = ntlm::negotiate_flags;
  ntlm::challenge_message c;
  c.flags = nf::unicode | nf::request_target | nf::ntlm | nf::target_type_domain | nf::extended_session_security |
            nf::target_info | nf::version;
  c.server_challenge = {1, 2, 3, 4, 5, 6, 7, 8};
  c.target_name = ntlm::utf8_to_utf16le("LAB");
  c.target_info = {ntlm::name_pair(av_id::nb_domain_name, "LAB"),
                   ntlm::name_pair(av_id::nb_computer_name, "RDPSIM"),
                   ntlm::name_pair(av_id::dns_domain_name, "lab.example"),
                   ntlm::name_pair(av_id::dns_computer_name, "rdpsim.lab.example"),
                   ntlm::name_pair(av_id::dns_tree_name, "lab.example"),
                   ntlm::av_pair{static_cast<std::uint16_t>(av_id::flags), {2, 0, 0, 0}},
                   ntlm::timestamp_pair(0x01DA000000000000),
                   ntlm::av_pair{0x1234, {9, 9}}};  // an id from the future survives
  c.os_version = ntlm::version{10, 0, 20348, 0x0F};
  return c;
}

TEST(NtlmChallenge, BuiltFromFieldsRoundTrips) {
  const auto c = sample_challenge();
  auto wire = ntlm::encode(c);
  ASSERT_TRUE(wire);
  // Fixed part 48 + Version 8, TargetName right after, TargetInfo after it.
  EXPECT_EQ(to_hex(byte_buffer(wire->begin() + 12, wire->begin() + 20)), "06 00 06 00 38 00 00 00");
  EXPECT_EQ((*wire)[44], 0x38 + 6);
  auto back = ntlm::decode_challenge(*wire);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, c);
  const auto f = ntlm::facts(*back);
  EXPECT_EQ(f.target_name, "LAB");
  EXPECT_EQ(f.netbios_computer, "RDPSIM");
  EXPECT_EQ(f.netbios_domain, "LAB");
  EXPECT_EQ(f.dns_computer, "rdpsim.lab.example");
  EXPECT_EQ(f.dns_domain, "lab.example");
  EXPECT_EQ(f.dns_tree, "lab.example");
  EXPECT_EQ(f.av_flags, 2u);
  EXPECT_EQ(f.timestamp, 0x01DA000000000000u);
  EXPECT_EQ(ntlm::to_string(*f.os_version), "10.0.20348");
}

TEST(NtlmChallenge, EveryPrefixFailsWithoutCrashing) {
  // Not tri-state (the TSRequest frames it), but a cut message must never decode.
  for (const auto& wire : {hex(windows_challenge), *ntlm::encode(sample_challenge())}) {
    for (std::size_t n = 0; n < wire.size(); ++n) {
      auto r = ntlm::decode_challenge(bytes_view(wire).first(n));
      EXPECT_FALSE(r) << "decoded from a prefix of " << n;
    }
  }
}

// Little-endian patch helpers for the malformed cases.
void put16(byte_buffer& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v);
  b[at + 1] = static_cast<std::uint8_t>(v >> 8);
}
void put32(byte_buffer& b, std::size_t at, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

TEST(NtlmChallenge, OffsetBeyondMessage) {
  auto wire = hex(windows_challenge);
  put32(wire, 44, static_cast<std::uint32_t>(wire.size()));  // TargetInfo starts at the end
  EXPECT_EQ(ntlm::decode_challenge(wire).error(), ntlm::error::bad_field);
  wire = hex(windows_challenge);
  put32(wire, 44, 0xFFFFFFF0);  // offset + length would wrap a 32-bit sum
  EXPECT_EQ(ntlm::decode_challenge(wire).error(), ntlm::error::bad_field);
  wire = hex(windows_challenge);
  put16(wire, 40, 0x67);  // TargetInfoLen one past the end
  EXPECT_EQ(ntlm::decode_challenge(wire).error(), ntlm::error::bad_field);
  wire = hex(spec_challenge);
  put16(wire, 12, 0xFFFF);  // TargetNameLen
  EXPECT_EQ(ntlm::decode_challenge(wire).error(), ntlm::error::bad_field);
}

TEST(NtlmChallenge, OffsetIntoTheFixedPart) {
  auto wire = hex(spec_challenge);
  put32(wire, 16, 8);  // TargetName pointing at the message type
  EXPECT_EQ(ntlm::decode_challenge(wire).error(), ntlm::error::bad_field);
}

TEST(NtlmChallenge, AvPairOverrunning) {
  auto wire = hex(windows_challenge);
  put16(wire, 0x38 + 2, 0x0100);  // first AvLen 256 inside a 102-byte TargetInfo
  EXPECT_EQ(ntlm::decode_challenge(wire).error(), ntlm::error::bad_av_pair);
  // TargetInfo ending 2 bytes into an AV_PAIR header
  ntlm::challenge_message c;
  auto built = *ntlm::encode(c);  // 48 bytes, no TargetInfo
  const std::size_t at = built.size();
  built.insert(built.end(), {0x01, 0x00});
  put16(built, 40, 2);
  put16(built, 42, 2);
  put32(built, 44, static_cast<std::uint32_t>(at));
  EXPECT_EQ(ntlm::decode_challenge(built).error(), ntlm::error::bad_av_pair);
}

TEST(NtlmChallenge, MissingEol) {
  auto wire = hex(windows_challenge);
  wire.resize(wire.size() - 4);  // drop MsvAvEOL
  put16(wire, 40, 0x62);
  put16(wire, 42, 0x62);
  EXPECT_EQ(ntlm::decode_challenge(wire).error(), ntlm::error::missing_eol);
}

TEST(NtlmChallenge, EolWithALength) {
  auto wire = hex(windows_challenge);
  put16(wire, wire.size() - 2, 1);  // MsvAvEOL AvLen 1, past the end of TargetInfo
  EXPECT_EQ(ntlm::decode_challenge(wire).error(), ntlm::error::bad_av_pair);
}

TEST(NtlmChallenge, OddUtf16LengthStillDecodes) {
  auto c = sample_challenge();
  c.target_info[1].value = {'R', 0, 'D', 0, 'P'};  // 5 bytes: the last code unit is cut in half
  auto back = ntlm::decode_challenge(*ntlm::encode(c));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(ntlm::facts(*back).netbios_computer, "RD\xEF\xBF\xBD");  // "RD" + U+FFFD
}

TEST(NtlmChallenge, TruncatedVersion) {
  auto wire = *ntlm::encode(ntlm::challenge_message{});  // 48 bytes, no payload
  put32(wire, 20, ntlm::negotiate_flags::version);        // the flags say Version follows…
  wire.insert(wire.end(), {10, 0, 0x7C});                 // …but only 3 of its 8 bytes do
  EXPECT_EQ(ntlm::decode_challenge(wire).error(), errc::truncated);
  // The same for a NEGOTIATE: nmap's, cut inside Version.
  EXPECT_EQ(ntlm::decode_negotiate(bytes_view(hex(nmap_negotiate)).first(36)).error(), errc::truncated);
  // An encoder asked for VERSION without a Version puts an (empty) TargetInfo where it would be, so the result
  // still decodes to what was encoded.
  ntlm::challenge_message versionless;
  versionless.flags = ntlm::negotiate_flags::version;
  auto back = ntlm::decode_challenge(*ntlm::encode(versionless));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, versionless);
}

TEST(NtlmChallenge, PayloadWhereVersionWouldBe) {
  // Flag set but TargetName at offset 48: nmap's rule — do not read Version out of the payload.
  ntlm::challenge_message c;
  c.flags = ntlm::negotiate_flags::version | ntlm::negotiate_flags::unicode;
  c.target_name = ntlm::utf8_to_utf16le("WORKGROUP");
  auto wire = ntlm::encode(c);
  ASSERT_TRUE(wire);
  auto back = ntlm::decode_challenge(*wire);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_FALSE(back->os_version);
  EXPECT_EQ(ntlm::facts(*back).target_name, "WORKGROUP");
}

TEST(NtlmChallenge, WrongSignature) {
  auto wire = hex(windows_challenge);
  wire[0] = 'n';
  EXPECT_EQ(ntlm::decode_challenge(wire).error(), ntlm::error::bad_signature);
  EXPECT_EQ(ntlm::decode_challenge(hex("48 54 54 50")).error(), ntlm::error::bad_signature);  // "HTTP", short
  EXPECT_EQ(ntlm::decode_challenge(hex("4e 54 4c 4d")).error(), errc::truncated);  // a right but short start
}

TEST(NtlmChallenge, WrongMessageType) {
  EXPECT_EQ(ntlm::decode_challenge(hex(nmap_negotiate)).error(), ntlm::error::unexpected_message_type);
  auto wire = hex(windows_challenge);
  wire[8] = 3;  // AUTHENTICATE
  EXPECT_EQ(ntlm::decode_challenge(wire).error(), ntlm::error::unexpected_message_type);
}

TEST(NtlmChallenge, ShorterThanTheFixedPart) {
  EXPECT_EQ(ntlm::decode_challenge(bytes_view(hex(windows_challenge)).first(47)).error(), errc::truncated);
}

TEST(NtlmChallenge, FindsTheSignatureInsideAWrapper) {
  auto wrapped = hex("a1 81 a0 30 81 9d a0 03 0a 01 01 a2 81 95 04 81 92");  // a SPNEGO-looking prefix
  const auto inner = hex(windows_challenge);
  wrapped.insert(wrapped.end(), inner.begin(), inner.end());
  auto at = ntlm::find_signature(wrapped);
  ASSERT_TRUE(at);
  EXPECT_EQ(*at, 17u);
  EXPECT_TRUE(ntlm::decode_challenge(bytes_view(wrapped).subspan(*at)));
  EXPECT_FALSE(ntlm::find_signature(hex("4e 54 4c 4d 53 53 50")));
}

TEST(NtlmChallenge, EncoderRefusesWhatTheFormatCannotHold) {
  ntlm::challenge_message c;
  c.target_info = {ntlm::av_pair{1, byte_buffer(70000, 0)}};
  EXPECT_EQ(ntlm::encode(c).error(), errc::value_out_of_range);
  c.target_info = {ntlm::av_pair{0, {}}};  // an EOL in the middle
  EXPECT_EQ(ntlm::encode(c).error(), errc::value_out_of_range);
}

// ---- text and time ----

TEST(NtlmText, Utf16ToUtf8) {
  EXPECT_EQ(ntlm::utf16le_to_utf8(hex("41 00 e9 00 ac 20")), "A\xC3\xA9\xE2\x82\xAC");  // A é €
  EXPECT_EQ(ntlm::utf16le_to_utf8(hex("3d d8 00 de")), "\xF0\x9F\x98\x80");          // U+1F600, a pair
  // An unpaired surrogate is kept (WTF-8), so a report can show what the peer really sent.
  EXPECT_EQ(ntlm::utf16le_to_utf8(hex("3d d8 41 00")), "\xED\xA0\xBD" "A");          // high surrogate, no low
  EXPECT_EQ(ntlm::utf16le_to_utf8(hex("3d d8")), "\xED\xA0\xBD");                    // high surrogate at the end
  EXPECT_EQ(ntlm::utf16le_to_utf8(hex("00 de 41 00")), "\xED\xB8\x80" "A");          // low surrogate alone
  EXPECT_FALSE(is_valid_utf8(ntlm::utf16le_to_utf8(hex("3d d8"))));
  EXPECT_EQ(ntlm::utf16le_to_utf8(hex("41")), "\xEF\xBF\xBD");                       // half a code unit
  EXPECT_EQ(ntlm::utf16le_to_utf8({}), "");
}

TEST(NtlmText, Utf8ToUtf16) {
  EXPECT_EQ(to_hex(ntlm::utf8_to_utf16le("A\xC3\xA9\xE2\x82\xAC")), "41 00 e9 00 ac 20");
  EXPECT_EQ(to_hex(ntlm::utf8_to_utf16le("\xF0\x9F\x98\x80")), "3d d8 00 de");
  EXPECT_EQ(to_hex(ntlm::utf8_to_utf16le("\xFF")), "fd ff");
  EXPECT_EQ(to_hex(ntlm::utf8_to_utf16le("\xC0\xAF")), "fd ff fd ff");      // overlong '/'
  EXPECT_EQ(to_hex(ntlm::utf8_to_utf16le("\xE2\x82")), "fd ff");            // cut short
  EXPECT_EQ(to_hex(ntlm::utf8_to_utf16le("\xED\xA0\x80")), "00 d8");  // a surrogate in three-byte form: its unit
  // Unpaired surrogates survive the round trip both ways (the wire's UTF-16 is given back as it came).
  for (const char* wire : {"3d d8 41 00", "00 de", "41 00 00 dc 3d d8"})
    EXPECT_EQ(to_hex(ntlm::utf8_to_utf16le(ntlm::utf16le_to_utf8(hex(wire)))), wire);
  EXPECT_EQ(to_hex(ntlm::utf8_to_utf16le("\xF4\x90\x80\x80")), "fd ff fd ff fd ff fd ff");  // above U+10FFFF
  for (const char* s : {"rdpsim.lab.example", "Ünïcödé", "\xF0\x9F\x98\x80x", ""})
    EXPECT_EQ(ntlm::utf16le_to_utf8(ntlm::utf8_to_utf16le(s)), s);
}

TEST(NtlmTime, FiletimeAndUnixTime) {
  EXPECT_EQ(ntlm::to_filetime(std::chrono::system_clock::time_point{}), ntlm::filetime_unix_epoch);
  EXPECT_EQ(ntlm::since_unix_epoch(ntlm::filetime_unix_epoch).count(), 0);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(ntlm::since_unix_epoch(0)).count(), -11644473600);
  EXPECT_EQ(ntlm::since_unix_epoch(std::numeric_limits<std::uint64_t>::max()).count(),
            std::numeric_limits<std::int64_t>::max());
  const auto now = std::chrono::system_clock::now();
  const auto back = ntlm::since_unix_epoch(ntlm::to_filetime(now));
  EXPECT_LT(std::chrono::abs(back - std::chrono::duration_cast<ntlm::filetime_ticks>(now.time_since_epoch())),
            std::chrono::microseconds(1));
}

}  // namespace
