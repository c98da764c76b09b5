#include "rdp/protocol/x224.hpp"

#include "hex.hpp"
#include "split_feed.hpp"

#include <gtest/gtest.h>

namespace {

using namespace rdp::protocol;
using rdp::test::hex;

// docs/wire-facts.md 1.5: CR with cookie mstshash=probe and requestedProtocols 0x0B (SSL|HYBRID|HYBRID_EX), 43 bytes.
const char* const cr_probe_0b =
    "03 00 00 2b 26 e0 00 00 00 00 00 "
    "43 6f 6f 6b 69 65 3a 20 6d 73 74 73 68 61 73 68 3d 70 72 6f 62 65 0d 0a "
    "01 00 08 00 0b 00 00 00";
// nmap-service-probes "TerminalServerCookie" (nmap db4aefddfa34, l.13906).
const char* const cr_nmap =
    "03 00 00 2a 25 e0 00 00 00 00 00 "
    "43 6f 6f 6b 69 65 3a 20 6d 73 74 73 68 61 73 68 3d 6e 6d 61 70 0d 0a "
    "01 00 08 00 03 00 00 00";
// xrdp 0.9.21.1 on loopback answering 0x0B: flags 0x01, selected SSL (docs/wire-vectors.md XRDP-CC-SSL).
const char* const cc_xrdp_ssl = "03 00 00 13 0e d0 00 00 12 34 00 02 01 08 00 01 00 00 00";
// Windows style: SRC-REF 0x1234, flags 0x1F, HYBRID.
const char* const cc_windows_hybrid = "03 00 00 13 0e d0 00 00 12 34 00 02 1f 08 00 02 00 00 00";
const char* const cc_failure_hybrid_required = "03 00 00 13 0e d0 00 00 12 34 00 03 00 08 00 05 00 00 00";
// Legacy server without negotiation data (nmap-service-probes l.13915); xrdp answers the same to a CR without RDP_NEG_REQ.
const char* const cc_legacy = "03 00 00 0b 06 d0 00 00 12 34 00";
// rdpscan's goodbye (src/iso.c).
const char* const dr_rdpscan = "03 00 00 0b 06 80 00 00 00 00 00";

TEST(X224ConnectionRequest, DecodesProbeVector) {
  const auto wire = hex(cr_probe_0b);
  auto r = x224::decode_connection_request(wire);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->consumed, wire.size());
  EXPECT_EQ(r->value.cookie, "probe");
  EXPECT_FALSE(r->value.routing_token);
  ASSERT_TRUE(r->value.negotiation);
  EXPECT_EQ(r->value.negotiation->requested_protocols, 0x0Bu);
  EXPECT_EQ(r->value.negotiation->flags, 0);
}

TEST(X224ConnectionRequest, RoundTripsExactBytes) {
  for (const char* vector : {cr_probe_0b, cr_nmap}) {
    const auto wire = hex(vector);
    auto r = x224::decode_connection_request(wire);
    ASSERT_TRUE(r);
    auto again = x224::encode(r->value);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, wire) << vector;
  }
}

TEST(X224ConnectionRequest, EncodesFromFields) {
  x224::connection_request cr;
  cr.cookie = "probe";
  cr.negotiation = neg_request{0, 0x0B};
  auto wire = x224::encode(cr);
  ASSERT_TRUE(wire);
  EXPECT_EQ(*wire, hex(cr_probe_0b));
}

TEST(X224ConnectionRequest, EveryPrefixNeedsMore) {
  rdp::test::expect_need_more_on_every_prefix(hex(cr_probe_0b),
                                              [](bytes_view b) { return x224::decode_connection_request(b); });
}

TEST(X224ConnectionRequest, StopsAtFrameEndLeavingTheRest) {
  auto wire = hex(cr_probe_0b);
  const auto extra = hex("03 00 00 04");
  wire.insert(wire.end(), extra.begin(), extra.end());
  auto r = x224::decode_connection_request(wire);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->consumed, 43u);
}

TEST(X224ConnectionRequest, NoCookieNoNegotiation) {
  x224::connection_request cr;
  auto wire = x224::encode(cr);
  ASSERT_TRUE(wire);
  EXPECT_EQ(*wire, hex("03 00 00 0b 06 e0 00 00 00 00 00"));
  auto r = x224::decode_connection_request(*wire);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->value, cr);
}

TEST(X224ConnectionRequest, RoutingTokenAndEveryFlag) {
  x224::connection_request cr;
  cr.routing_token = "Cookie: msts=3640205228.15629.0000";
  cr.negotiation = neg_request{neg_request_flags::restricted_admin_mode_required |
                                   neg_request_flags::redirected_authentication_mode_required,
                               0x1F};
  auto wire = x224::encode(cr);
  ASSERT_TRUE(wire);
  auto r = x224::decode_connection_request(*wire);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->value, cr);
  EXPECT_FALSE(r->value.cookie);
}

TEST(X224ConnectionRequest, CorrelationInfoRoundTrip) {
  x224::connection_request cr;
  cr.cookie = "alice";
  cr.negotiation = neg_request{0, 0x03};
  correlation_info info;
  for (std::uint8_t i = 0; i < 16; ++i) info.correlation_id[i] = static_cast<std::uint8_t>(0x10 + i);
  cr.correlation = info;
  auto wire = x224::encode(cr);
  ASSERT_TRUE(wire);
  // fixed part 11 + "Cookie: mstshash=alice\r\n" 24 + RDP_NEG_REQ 8 + RDP_NEG_CORRELATION_INFO 36
  EXPECT_EQ(wire->size(), 11u + 24u + 8u + 36u);
  EXPECT_EQ((*wire)[11 + 24 + 1], neg_request_flags::correlation_info_present);
  auto r = x224::decode_connection_request(*wire);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->value, cr);
}

TEST(X224ConnectionRequest, CookieWithNewlineCannotBeEncoded) {
  x224::connection_request cr;
  cr.cookie = "evil\r\nCookie";
  EXPECT_EQ(x224::encode(cr).error(), make_error_code(errc::value_out_of_range));
}

TEST(X224ConnectionRequest, OversizedCookieCannotBeEncoded) {
  x224::connection_request cr;
  cr.cookie = std::string(300, 'a');
  EXPECT_EQ(x224::encode(cr).error(), make_error_code(errc::value_out_of_range));
}

TEST(X224ConnectionRequest, CookieWithoutCrLf) {
  auto r = x224::decode_connection_request(hex("03 00 00 0e 09 e0 00 00 00 00 00 41 42 43"));
  EXPECT_EQ(r.error(), make_error_code(errc::bad_cookie));
}

TEST(X224ConnectionRequest, WrongLengthIndicator) {
  auto wire = hex(cr_probe_0b);
  wire[4] = 0x25;
  EXPECT_EQ(x224::decode_connection_request(wire).error(), make_error_code(errc::bad_x224_length));
}

TEST(X224ConnectionRequest, ConfirmIsNotARequest) {
  EXPECT_EQ(x224::decode_connection_request(hex(cc_xrdp_ssl)).error(), make_error_code(errc::unexpected_tpdu));
}

TEST(X224ConnectionRequest, NegotiationWithBadLength) {
  auto r = x224::decode_connection_request(hex("03 00 00 13 0e e0 00 00 00 00 00 01 00 09 00 03 00 00 00"));
  EXPECT_EQ(r.error(), make_error_code(errc::bad_negotiation));
}

TEST(X224ConnectionRequest, NegotiationTruncated) {
  auto r = x224::decode_connection_request(hex("03 00 00 11 0c e0 00 00 00 00 00 01 00 08 00 03 00"));
  EXPECT_EQ(r.error(), make_error_code(errc::truncated));
}

TEST(X224ConnectionRequest, TrailingGarbage) {
  auto r = x224::decode_connection_request(hex("03 00 00 14 0f e0 00 00 00 00 00 01 00 08 00 03 00 00 00 ff"));
  EXPECT_EQ(r.error(), make_error_code(errc::trailing_bytes));
}

TEST(X224ConnectionRequest, BadCorrelationType) {
  x224::connection_request cr;
  cr.negotiation = neg_request{0, 1};
  cr.correlation = correlation_info{};
  auto wire = *x224::encode(cr);
  wire[19] = 0x07;
  EXPECT_EQ(x224::decode_connection_request(wire).error(), make_error_code(errc::bad_correlation_info));
}

TEST(X224ConnectionRequest, TpktTooShortForFixedPart) {
  EXPECT_EQ(x224::decode_connection_request(hex("03 00 00 06 01 e0")).error(), make_error_code(errc::bad_x224_length));
  EXPECT_EQ(x224::decode_connection_request(hex("03 00 00 04")).error(), make_error_code(errc::truncated));
}

TEST(X224ConnectionConfirm, DecodesXrdpResponse) {
  auto r = x224::decode_connection_confirm(hex(cc_xrdp_ssl));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->value.src_ref, 0x1234);
  const auto* rsp = std::get_if<neg_response>(&r->value.negotiation);
  ASSERT_NE(rsp, nullptr);
  EXPECT_EQ(rsp->selected_protocol, to_bits(security_protocol::ssl));
  EXPECT_EQ(rsp->flags, neg_response_flags::extended_client_data_supported);
}

TEST(X224ConnectionConfirm, DecodesFailure) {
  auto r = x224::decode_connection_confirm(hex(cc_failure_hybrid_required));
  ASSERT_TRUE(r);
  const auto* f = std::get_if<neg_failure>(&r->value.negotiation);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->failure_code, 5u);
  EXPECT_EQ(describe_neg_failure(f->failure_code), "HYBRID_REQUIRED_BY_SERVER");
}

TEST(X224ConnectionConfirm, LegacyWithoutNegotiation) {
  auto r = x224::decode_connection_confirm(hex(cc_legacy));
  ASSERT_TRUE(r);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(r->value.negotiation));
}

TEST(X224ConnectionConfirm, RoundTripsEveryVector) {
  for (const char* vector : {cc_xrdp_ssl, cc_windows_hybrid, cc_failure_hybrid_required, cc_legacy}) {
    const auto wire = hex(vector);
    auto r = x224::decode_connection_confirm(wire);
    ASSERT_TRUE(r) << vector;
    EXPECT_EQ(x224::encode(r->value), wire) << vector;
    rdp::test::expect_need_more_on_every_prefix(wire,
                                                [](bytes_view b) { return x224::decode_connection_confirm(b); });
  }
}

TEST(X224ConnectionConfirm, EveryFailureCodeRoundTrips) {
  for (std::uint32_t code = 1; code <= 6; ++code) {
    x224::connection_confirm cc;
    cc.negotiation = neg_failure{code};
    auto r = x224::decode_connection_confirm(x224::encode(cc));
    ASSERT_TRUE(r);
    EXPECT_EQ(std::get<neg_failure>(r->value.negotiation).failure_code, code);
    EXPECT_FALSE(describe_neg_failure(code).starts_with("UNKNOWN"));
  }
  EXPECT_EQ(describe_neg_failure(7), "UNKNOWN_FAILURE_0x00000007");
}

TEST(X224ConnectionConfirm, UnknownNegotiationType) {
  auto r = x224::decode_connection_confirm(hex("03 00 00 13 0e d0 00 00 12 34 00 04 00 08 00 01 00 00 00"));
  EXPECT_EQ(r.error(), make_error_code(errc::bad_negotiation));
}

TEST(X224ConnectionConfirm, ShortNegotiationData) {
  auto r = x224::decode_connection_confirm(hex("03 00 00 0f 0a d0 00 00 12 34 00 02 01 08 00"));
  EXPECT_EQ(r.error(), make_error_code(errc::truncated));
}

TEST(X224ConnectionConfirm, HttpIsNotTpkt) {
  const std::string http = "HTTP/1.1 400 Bad Request\r\n\r\n";
  auto r = x224::decode_connection_confirm(bytes_view(reinterpret_cast<const std::uint8_t*>(http.data()), http.size()));
  EXPECT_EQ(r.error(), make_error_code(errc::bad_tpkt_version));
}

TEST(X224ConnectionConfirm, DataTpduIsNotAConfirm) {
  EXPECT_EQ(x224::decode_connection_confirm(hex("03 00 00 09 02 f0 80 21 80")).error(),
            make_error_code(errc::bad_x224_length));
}

TEST(X224DisconnectRequest, RoundTrip) {
  const auto wire = hex(dr_rdpscan);
  auto r = x224::decode_disconnect_request(wire);
  ASSERT_TRUE(r);
  EXPECT_EQ(x224::encode(r->value), wire);
  rdp::test::expect_need_more_on_every_prefix(wire, [](bytes_view b) { return x224::decode_disconnect_request(b); });
}

TEST(X224Data, HeaderAndPayload) {
  const auto wire = hex("03 00 00 09 02 f0 80 21 80");
  auto r = x224::decode_data(wire);
  ASSERT_TRUE(r);
  EXPECT_EQ(std::vector<std::uint8_t>(r->value.begin(), r->value.end()), hex("21 80"));
  EXPECT_EQ(x224::encode_data(hex("21 80")), wire);
  EXPECT_EQ(x224::decode_data(hex("03 00 00 09 03 f0 80 21 80")).error(), make_error_code(errc::bad_x224_length));
  EXPECT_EQ(x224::decode_data(hex(cc_legacy)).error(), make_error_code(errc::unexpected_tpdu));
  EXPECT_EQ(x224::decode_data(hex("03 00 00 06 02 f0")).error(), make_error_code(errc::truncated));
}

TEST(Nego, ProtocolNamesParseBack) {
  for (auto p : all_security_protocols) EXPECT_EQ(parse_security_protocol(to_string(p)), p);
  EXPECT_EQ(parse_security_protocol("HYBRID"), security_protocol::hybrid);
  EXPECT_EQ(parse_security_protocol("ssl"), security_protocol::ssl);
  EXPECT_EQ(parse_security_protocol("hybrid_ex"), security_protocol::hybrid_ex);
  EXPECT_FALSE(parse_security_protocol("kerberos"));
  EXPECT_EQ(security_protocol_from_bits(0x10), security_protocol::rdsaad);
  EXPECT_FALSE(security_protocol_from_bits(0x20));
  EXPECT_FALSE(security_protocol_from_bits(0x03));
}

TEST(Nego, ProtocolListsParseInOrderAndFormatBack) {
  std::string why;
  const auto list = parse_security_protocol_list("rdp,TLS,nla,credssp-ex,rdp", &why);
  ASSERT_TRUE(list) << why;
  EXPECT_EQ(*list, (std::vector{security_protocol::rdp, security_protocol::ssl, security_protocol::hybrid,
                                security_protocol::hybrid_ex, security_protocol::rdp}));
  EXPECT_EQ(format_security_protocol_list(*list), "rdp,tls,credssp,credssp-ex,rdp");
  EXPECT_EQ(parse_security_protocol_list(format_security_protocol_list(all_security_protocols), nullptr),
            std::vector(all_security_protocols.begin(), all_security_protocols.end()));
  EXPECT_EQ(parse_security_protocol_list("tls,", nullptr), std::vector{security_protocol::ssl});  // as getline splits
}

TEST(Nego, ProtocolListErrorsSayWhich) {
  std::string why;
  EXPECT_FALSE(parse_security_protocol_list("rdp,telnet", &why));
  EXPECT_EQ(why, "unknown protocol 'telnet' (expected rdp, tls, credssp, credssp-ex, rdstls, rdsaad)");
  EXPECT_FALSE(parse_security_protocol_list("rdp,,tls", &why));
  EXPECT_EQ(why, "unknown protocol '' (expected rdp, tls, credssp, credssp-ex, rdstls, rdsaad)");
  EXPECT_FALSE(parse_security_protocol_list(" tls", &why)) << "names are not trimmed";
  EXPECT_FALSE(parse_security_protocol_list("", &why));
  EXPECT_EQ(why, "no protocol given");
}

TEST(Nego, DescribesBitsAndFlags) {
  EXPECT_EQ(describe_protocol_bits(0), "rdp");
  EXPECT_EQ(describe_protocol_bits(0x0B), "tls|credssp|credssp-ex");
  EXPECT_EQ(describe_protocol_bits(0x41), "tls|0x00000040");
  auto flags = describe_neg_response_flags(0x1F);
  ASSERT_EQ(flags.size(), 5u);
  EXPECT_EQ(flags.front(), "EXTENDED_CLIENT_DATA_SUPPORTED");
  EXPECT_EQ(describe_neg_response_flags(0x21).back(), "0x20");
  EXPECT_TRUE(describe_neg_response_flags(0).empty());
}

}  // namespace

namespace {

using namespace rdp::protocol;

server_security_policy policy_of(std::uint32_t supported, bool standard_rdp) {
  server_security_policy p;
  p.supported = supported;
  p.supports_standard_rdp = standard_rdp;
  return p;
}

std::string answer(std::optional<std::uint32_t> requested, const server_security_policy& policy) {
  std::optional<neg_request> req;
  if (requested) req = neg_request{0, *requested};
  auto d = decide_negotiation(req, policy);
  if (d.disconnect) return "disconnect";
  if (d.response) return "select " + describe_protocol_bits(d.response->selected_protocol);
  if (d.failure) return describe_neg_failure(d.failure->failure_code);
  return "legacy";
}

TEST(ServerNegotiation, RdpAndTlsServerLikeXrdp) {
  const auto p = policy_of(0x01, true);
  EXPECT_EQ(answer(std::nullopt, p), "legacy");
  EXPECT_EQ(answer(0x00, p), "select rdp");
  EXPECT_EQ(answer(0x01, p), "select tls");
  EXPECT_EQ(answer(0x03, p), "select tls");
  EXPECT_EQ(answer(0x0B, p), "select tls");
  // Not offered: falls back to Standard RDP Security, which the probe must report as "not supported".
  EXPECT_EQ(answer(0x02, p), "select rdp");
  EXPECT_EQ(answer(0x04, p), "select rdp");
  EXPECT_EQ(answer(0x08, p), "select rdp");
  EXPECT_EQ(answer(0x10, p), "select rdp");
}

// xrdp 0.9.21 rejects requestedProtocols above 0x0B with a DPU and no confirm (docs/wire-vectors.md, XRDP-DPU).
TEST(ServerNegotiation, XrdpsDisconnectAboveItsKnownProtocolBits) {
  auto p = policy_of(0x01, true);
  p.disconnect_above = 0x0B;
  EXPECT_EQ(answer(0x0B, p), "select tls");
  EXPECT_EQ(answer(0x10, p), "disconnect");
  EXPECT_EQ(answer(0x1B, p), "disconnect");
  EXPECT_EQ(answer(std::nullopt, p), "legacy");
}

TEST(ServerNegotiation, PrefersStrongestCommonProtocol) {
  const auto p = policy_of(0x1F, true);
  EXPECT_EQ(answer(0x1F, p), "select rdsaad");
  EXPECT_EQ(answer(0x0F, p), "select rdstls");
  EXPECT_EQ(answer(0x0B, p), "select credssp-ex");
  EXPECT_EQ(answer(0x03, p), "select credssp");
}

TEST(ServerNegotiation, FailureCodes) {
  EXPECT_EQ(answer(0x01, policy_of(0, true)), "SSL_NOT_ALLOWED_BY_SERVER");
  EXPECT_EQ(answer(0x00, policy_of(0, true)), "select rdp");
  EXPECT_EQ(answer(std::nullopt, policy_of(0x01, false)), "SSL_REQUIRED_BY_SERVER");
  EXPECT_EQ(answer(0x00, policy_of(0x03, false)), "SSL_REQUIRED_BY_SERVER");
  EXPECT_EQ(answer(0x02, policy_of(0x01, false)), "SSL_REQUIRED_BY_SERVER");
  EXPECT_EQ(answer(0x01, policy_of(0x02, false)), "HYBRID_REQUIRED_BY_SERVER");
  EXPECT_EQ(answer(0x00, policy_of(0x0A, false)), "HYBRID_REQUIRED_BY_SERVER");
}

}  // namespace

namespace {

using namespace rdp::protocol;
using rdp::test::hex;

// Captured from real peers on loopback, 2026-11-24 (docs/wire-vectors.md sections 1 and 3).
struct captured_request {
  const char* id;
  const char* wire;
  std::optional<std::uint32_t> requested;  // nullopt: no RDP_NEG_REQ
};

TEST(X224RealPeers, FreeRdp2ClientRequests) {
  const captured_request vectors[] = {
      {"FRDP2-CR-DEFAULT", "03 00 00 2b 26 e0 00 00 00 00 00 43 6f 6f 6b 69 65 3a 20 6d 73 74 73 68 61 73 68 3d 61 6c 69 63 65 0d 0a 01 00 08 00 03 00 00 00", 0x03},
      {"FRDP2-CR-TLS", "03 00 00 2b 26 e0 00 00 00 00 00 43 6f 6f 6b 69 65 3a 20 6d 73 74 73 68 61 73 68 3d 61 6c 69 63 65 0d 0a 01 00 08 00 01 00 00 00", 0x01},
      {"FRDP2-CR-EXT", "03 00 00 2b 26 e0 00 00 00 00 00 43 6f 6f 6b 69 65 3a 20 6d 73 74 73 68 61 73 68 3d 61 6c 69 63 65 0d 0a 01 00 08 00 0b 00 00 00", 0x0B},
      {"FRDP2-CR-RDP", "03 00 00 23 1e e0 00 00 00 00 00 43 6f 6f 6b 69 65 3a 20 6d 73 74 73 68 61 73 68 3d 61 6c 69 63 65 0d 0a", std::nullopt},
  };
  for (const auto& v : vectors) {
    const auto wire = hex(v.wire);
    auto r = x224::decode_connection_request(wire);
    ASSERT_TRUE(r) << v.id << ": " << r.error().message();
    EXPECT_EQ(r->value.cookie, "alice") << v.id;  // FreeRDP sends the user name as the mstshash cookie
    EXPECT_EQ(r->value.negotiation.has_value(), v.requested.has_value()) << v.id;
    if (v.requested) {
      EXPECT_EQ(r->value.negotiation->requested_protocols, *v.requested) << v.id;
    }
    EXPECT_EQ(*x224::encode(r->value), wire) << v.id;
    // What rdpsim (offering rdp,tls) answers each of them.
    server_security_policy policy;
    policy.supported = 0x01;
    auto d = decide_negotiation(r->value.negotiation, policy);
    if (v.requested) {
      ASSERT_TRUE(d.response) << v.id;
      EXPECT_EQ(d.response->selected_protocol, *v.requested ? 1u : 0u) << v.id;
    } else {
      EXPECT_FALSE(d.response || d.failure) << v.id;  // legacy CC, as xrdp answers it
    }
  }
}

TEST(X224RealPeers, XrdpReplies) {
  // XRDP-CC-FAIL-SSLREQ: security_layer=tls answering a request without the SSL bit.
  auto fail = x224::decode_connection_confirm(hex("03 00 00 13 0e d0 00 00 12 34 00 03 00 08 00 01 00 00 00"));
  ASSERT_TRUE(fail);
  EXPECT_EQ(std::get<neg_failure>(fail->value.negotiation).failure_code, 1u);
  // XRDP-CC-RDP: selected PROTOCOL_RDP with EXTENDED_CLIENT_DATA_SUPPORTED.
  auto rdp = x224::decode_connection_confirm(hex("03 00 00 13 0e d0 00 00 12 34 00 02 01 08 00 00 00 00 00"));
  ASSERT_TRUE(rdp);
  EXPECT_EQ(std::get<neg_response>(rdp->value.negotiation), (neg_response{0x01, 0}));
  // XRDP-DPU: xrdp's answer to requestedProtocols 0x10 — not a CC at all.
  const auto dpu = hex("03 00 00 09 02 f0 80 21 80");
  EXPECT_FALSE(x224::decode_connection_confirm(dpu));
}

}  // namespace
