#include "rdp/protocol/classify.hpp"

#include "hex.hpp"

#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

namespace rdp::protocol {
// gtest printers, so a failed comparison shows names rather than bytes.
static void PrintTo(listener_kind k, std::ostream* os) { *os << to_string(k); }
static void PrintTo(const classification& c, std::ostream* os) { *os << to_string(c.kind) << " \"" << c.detail << '"'; }
}  // namespace rdp::protocol

namespace {

using namespace rdp::protocol;
using rdp::test::hex;
using bytes = std::vector<std::uint8_t>;

constexpr std::array<stream_end, 3> ended_states = {stream_end::closed, stream_end::reset, stream_end::timed_out};
constexpr std::array<stream_end, 4> all_states = {stream_end::open, stream_end::closed, stream_end::reset,
                                                  stream_end::timed_out};

bytes text(std::string_view s) { return bytes(s.begin(), s.end()); }

boost::system::result<classification> classify(const bytes& wire, stream_end end, bool spoke_first = false,
                                                std::size_t n = static_cast<std::size_t>(-1)) {
  const bytes_view view = bytes_view(wire).first(std::min(n, wire.size()));
  return classify_listener(listener_observation{view, spoke_first, end});
}

void expect_sane(const classification& c) {
  EXPECT_LE(c.detail.size(), max_classification_detail);
  EXPECT_FALSE(c.detail.empty());
  for (const char ch : c.detail) EXPECT_TRUE(ch >= 0x20 && ch <= 0x7E) << "non-printable in: " << c.detail;
}

// The classification of a complete reply, checked the way docs/testing.md rule 1 asks: fed byte at a time with the
// stream open, every prefix is need_more until the answer is final; from then on every prefix, with any end
// state, gives exactly the one-shot answer. With the stream ended, every prefix gets an answer.
// Returns the answer and stores the length at which it became final.
classification final_answer(const bytes& wire, std::size_t& decided_at, bool spoke_first = false) {
  const auto one_shot = classify(wire, stream_end::open, spoke_first);
  EXPECT_TRUE(one_shot) << "the whole reply should be enough to decide";
  if (!one_shot) return {listener_kind::binary, {}};
  expect_sane(*one_shot);
  std::optional<std::size_t> first;
  for (std::size_t n = 0; n <= wire.size(); ++n) {
    const auto r = classify(wire, stream_end::open, spoke_first, n);
    if (!r) {
      EXPECT_TRUE(is_need_more(r.error())) << n << ": " << r.error().message();
      EXPECT_FALSE(first) << "need_more at " << n << " after deciding at " << *first;
    } else {
      if (!first) first = n;
      EXPECT_EQ(*r, *one_shot) << "prefix " << n;
    }
    for (const auto end : ended_states) {
      const auto e = classify(wire, end, spoke_first, n);
      EXPECT_TRUE(e) << "ended stream must always classify (" << to_string(end) << ", " << n << ")";
      if (!e) continue;
      expect_sane(*e);
      if (first) {
        EXPECT_EQ(*e, *one_shot) << to_string(end) << " prefix " << n;
      }
    }
  }
  decided_at = first.value_or(0);
  return *one_shot;
}

classification final_answer(const bytes& wire, bool spoke_first = false) {
  std::size_t decided_at = 0;
  return final_answer(wire, decided_at, spoke_first);
}

// Decided only once the whole self-delimiting reply arrived.
classification final_at_end(const bytes& wire, bool spoke_first = false) {
  std::size_t decided_at = 0;
  auto c = final_answer(wire, decided_at, spoke_first);
  EXPECT_EQ(decided_at, wire.size());
  return c;
}

classification ended(const bytes& wire, stream_end end = stream_end::closed, bool spoke_first = false) {
  const auto r = classify(wire, end, spoke_first);
  EXPECT_TRUE(r);
  if (!r) return {listener_kind::binary, {}};
  expect_sane(*r);
  return *r;
}

// ------------------------------------------------------------------------------------------------ vectors

// xrdp 0.9.21.1 answering requestedProtocols 0x0B: flags 0x01, selected SSL (docs/wire-vectors.md XRDP-CC-SSL).
const char* const cc_xrdp = "03 00 00 13 0e d0 00 00 12 34 00 02 01 08 00 01 00 00 00";
// RDP_NEG_FAILURE HYBRID_REQUIRED_BY_SERVER (docs/wire-facts.md 1.5, a scripted fake).
const char* const cc_neg_failure = "03 00 00 13 0e d0 00 00 12 34 00 03 00 08 00 05 00 00 00";
// Legacy CC without negotiation data (nmap-service-probes l.13915).
const char* const cc_legacy = "03 00 00 0b 06 d0 00 00 12 34 00";
// Older xrdp: SRC-REF 0 (docs/wire-facts.md 5.3).
const char* const cc_old_xrdp = "03 00 00 0b 06 d0 00 00 00 00 00";
// GNOME Remote Desktop: SRC-REF 0, flags 0x03, selected HYBRID (docs/wire-facts.md 5.3).
const char* const cc_gnome = "03 00 00 13 0e d0 00 00 00 00 00 02 03 08 00 02 00 00 00";
// rdpscan's goodbye, an X.224 DR (rdpscan src/iso.c).
const char* const dr_rdpscan = "03 00 00 0b 06 80 00 00 00 00 00";
// Node http server answering the CR (docs/wire-facts.md 5.2).
const char* const node_400 = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";
// nmap's TerminalServer-probe match for HashiCorp Consul RPC: TLS 1.0 fatal unexpected_message (nmap l.15131).
const char* const tls_alert = "15 03 01 00 02 02 0a";

// Python 3.11 http.server's DEFAULT_ERROR_MESSAGE answering the CR as an HTTP/0.9 request (docs/wire-facts.md 5.2).
bytes python_html() {
  return text(
      "<!DOCTYPE HTML>\n"
      "<html lang=\"en\">\n"
      "    <head>\n"
      "        <meta charset=\"utf-8\">\n"
      "        <title>Error response</title>\n"
      "    </head>\n"
      "    <body>\n"
      "        <h1>Error response</h1>\n"
      "        <p>Error code: 400</p>\n"
      "        <p>Message: Bad HTTP/0.9 request type "
      "('\\x03\\x00\\x00+&amp;\xc3\xa0\\x00\\x00\\x00\\x00\\x00Cookie:').</p>\n"
      "        <p>Error code explanation: 400 - Bad request syntax or unsupported method.</p>\n"
      "    </body>\n"
      "</html>\n");
}

// SMB2 NEGOTIATE response (MS-SMB2 2.2.1.2 header + 2.2.4 body), first 80 bytes of the NetBIOS message.
bytes smb2_negotiate_response() {
  bytes b = hex("00 00 00 f8 fe 53 4d 42 40 00 00 00 00 00 00 00 00 00 01 00 01 00 00 00");
  b.resize(4 + 64, 0);                                             // rest of the 64-byte header
  const bytes body = hex("41 00 01 00 11 03 02 00 01 02 03 04");  // StructureSize 65, SecurityMode, Dialect 0x0311
  b.insert(b.end(), body.begin(), body.end());
  return b;
}

// ------------------------------------------------------------------------------------------------ each kind

TEST(Classify, XrdpConnectionConfirmIsRdp) {
  const auto c = final_at_end(hex(cc_xrdp));
  EXPECT_EQ(c.kind, listener_kind::rdp);
  EXPECT_EQ(c.detail,
            "X.224 Connection Confirm; RDP_NEG_RSP selected PROTOCOL_SSL (0x00000001), flags 0x01; SRC-REF 0x1234");
}

TEST(Classify, NegFailureIsStillRdp) {
  const auto c = final_at_end(hex(cc_neg_failure));
  EXPECT_EQ(c.kind, listener_kind::rdp);
  EXPECT_EQ(c.detail, "X.224 Connection Confirm; RDP_NEG_FAILURE HYBRID_REQUIRED_BY_SERVER (5); SRC-REF 0x1234");
}

TEST(Classify, LegacyConnectionConfirmIsRdp) {
  const auto c = final_at_end(hex(cc_legacy));
  EXPECT_EQ(c.kind, listener_kind::rdp);
  EXPECT_EQ(c.detail, "X.224 Connection Confirm; no negotiation response (Standard RDP Security only); SRC-REF 0x1234");
}

TEST(Classify, OldXrdpAndGnomeFingerprints) {
  EXPECT_EQ(final_at_end(hex(cc_old_xrdp)).detail,
            "X.224 Connection Confirm; no negotiation response (Standard RDP Security only); SRC-REF 0x0000");
  EXPECT_EQ(final_at_end(hex(cc_gnome)).detail,
            "X.224 Connection Confirm; RDP_NEG_RSP selected PROTOCOL_HYBRID (0x00000002), flags 0x03; SRC-REF 0x0000");
}

TEST(Classify, CcFollowedByMoreDataKeepsAnswer) {
  auto wire = hex(cc_xrdp);
  const bytes more = hex("16 03 03 00 05 02 00 00 01 00");  // whatever came next does not matter
  wire.insert(wire.end(), more.begin(), more.end());
  std::size_t at = 0;
  const auto c = final_answer(wire, at);
  EXPECT_EQ(at, 19u);
  EXPECT_EQ(c.kind, listener_kind::rdp);
}

TEST(Classify, X224DisconnectRequestIsTpktNotRdp) {
  std::size_t at = 0;
  const auto c = final_answer(hex(dr_rdpscan), at);
  EXPECT_EQ(at, 6u);
  EXPECT_EQ(c.kind, listener_kind::tpkt_not_rdp);
  EXPECT_EQ(c.detail, "TPKT with X.224 Disconnect Request (0x80), not a Connection Confirm; TPKT length 11");
}

TEST(Classify, X224DataAndErrorAreTpktNotRdp) {
  const auto dt = final_answer(hex("03 00 00 0c 02 f0 80 7f 65 82 01 00"));
  EXPECT_EQ(dt.kind, listener_kind::tpkt_not_rdp);
  EXPECT_EQ(dt.detail, "TPKT with X.224 Data (0xF0), not a Connection Confirm; TPKT length 12");
  const auto er = final_answer(hex("03 00 00 0d 08 70 00 00 01 c1 02 e0 00"));
  EXPECT_EQ(er.kind, listener_kind::tpkt_not_rdp);
  EXPECT_EQ(er.detail, "TPKT with X.224 Error (0x70), not a Connection Confirm; TPKT length 13");
  const auto odd = final_answer(hex("03 00 00 07 02 10 00"));
  EXPECT_EQ(odd.detail, "TPKT with X.224 TPDU (0x10), not a Connection Confirm; TPKT length 7");
}

TEST(Classify, NodeHttpReplyIsHttp) {
  const auto c = final_at_end(text(node_400));
  EXPECT_EQ(c.kind, listener_kind::http);
  EXPECT_EQ(c.detail, "HTTP/1.1 400 Bad Request");
}

TEST(Classify, HttpServerHeaderIsReportedAndBodyIgnored) {
  const auto head = text(
      "HTTP/1.1 400 Bad Request\r\nDate: Thu, 21 Aug 2026 10:00:00 GMT\r\nContent-Type: text/html\r\n"
      "Server: nginx/1.22.1\r\nContent-Length: 157\r\nConnection: close\r\n\r\n");
  auto wire = head;
  const auto body = text("<html>\r\n<head><title>400 Bad Request</title></head>\r\n</html>\r\n");
  wire.insert(wire.end(), body.begin(), body.end());
  std::size_t at = 0;
  const auto c = final_answer(wire, at);
  EXPECT_EQ(at, head.size());
  EXPECT_EQ(c.kind, listener_kind::http);
  EXPECT_EQ(c.detail, "HTTP/1.1 400 Bad Request; Server: nginx/1.22.1");
}

TEST(Classify, HttpServerHeaderNameIsCaseInsensitive) {
  const auto c = final_at_end(text("HTTP/1.0 200 OK\r\nsErVeR:\t SimpleHTTP/0.6 Python/3.11.7 \r\n\r\n"));
  EXPECT_EQ(c.detail, "HTTP/1.0 200 OK; Server: SimpleHTTP/0.6 Python/3.11.7");
}

TEST(Classify, PythonHtmlWithoutStatusLineIsHttp) {
  const auto wire = python_html();
  std::size_t at = 0;
  const auto c = final_answer(wire, at);
  EXPECT_EQ(at, wire.size() - 1);  // decided at "</html>", before the final LF
  EXPECT_EQ(c.kind, listener_kind::http);
  EXPECT_EQ(c.detail, "HTML body without status line; title: Error response; Error code: 400");
}

TEST(Classify, SshBannerSentFirstIsSsh) {
  const auto banner = text("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
  auto wire = banner;
  const auto after_cr = text("Invalid SSH identification string.\r\n");  // kex.c send_error after our CR
  wire.insert(wire.end(), after_cr.begin(), after_cr.end());
  std::size_t at = 0;
  const auto c = final_answer(wire, at, true);
  EXPECT_EQ(at, banner.size());
  EXPECT_EQ(c.kind, listener_kind::ssh);
  EXPECT_EQ(c.detail, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3");
}

TEST(Classify, TlsAlertIsTls) {
  const auto c = final_at_end(hex(tls_alert));
  EXPECT_EQ(c.kind, listener_kind::tls);
  EXPECT_EQ(c.detail, "TLS alert fatal unexpected_message (10), record version 3.1");
}

TEST(Classify, TlsServerHelloIsTls) {
  const auto wire = hex("16 03 03 00 7a 02 00 00 76 03 03 5a 1b 2c 3d 4e 5f 60 71 82 93 a4 b5 c6 d7 e8 f9");
  std::size_t at = 0;
  const auto c = final_answer(wire, at);
  EXPECT_EQ(at, 6u);
  EXPECT_EQ(c.kind, listener_kind::tls);
  EXPECT_EQ(c.detail, "TLS handshake record (ServerHello), record version 3.3");
}

TEST(Classify, TlsWarningAlertAndOtherDescriptions) {
  EXPECT_EQ(final_at_end(hex("15 03 03 00 02 01 00")).detail, "TLS alert warning close_notify (0), record version 3.3");
  EXPECT_EQ(final_at_end(hex("15 03 03 00 02 02 46")).detail,
            "TLS alert fatal protocol_version (70), record version 3.3");
  EXPECT_EQ(final_at_end(hex("15 03 00 00 02 02 28")).detail,
            "TLS alert fatal handshake_failure (40), record version 3.0");
}

TEST(Classify, Smb2NegotiateResponseIsSmb) {
  const auto wire = smb2_negotiate_response();
  std::size_t at = 0;
  const auto c = final_answer(wire, at);
  EXPECT_EQ(at, 74u);
  EXPECT_EQ(c.kind, listener_kind::smb);
  EXPECT_EQ(c.detail, "SMB2 (\\xFESMB); NEGOTIATE response, dialect 0x0311");
}

TEST(Classify, Smb1IsSmb) {
  std::size_t at = 0;
  const auto c = final_answer(hex("00 00 00 55 ff 53 4d 42 72 00 00 00 00 98 53 c8"), at);
  EXPECT_EQ(at, 8u);
  EXPECT_EQ(c.kind, listener_kind::smb);
  EXPECT_EQ(c.detail, "SMB1 (\\xFFSMB)");
}

TEST(Classify, VncBannerIsVnc) {
  const auto c = final_at_end(text("RFB 003.008\n"), true);
  EXPECT_EQ(c.kind, listener_kind::vnc);
  EXPECT_EQ(c.detail, "VNC RFB 003.008");
}

TEST(Classify, SmtpFtpPopBannersAreText) {
  const auto smtp = final_at_end(text("220 mail.example ESMTP Postfix (Debian/GNU)\r\n"), true);
  EXPECT_EQ(smtp.kind, listener_kind::banner);
  EXPECT_EQ(smtp.detail, "text: 220 mail.example ESMTP Postfix (Debian/GNU)");
  EXPECT_EQ(final_at_end(text("+OK Dovecot (Debian) ready.\r\n"), true).detail, "text: +OK Dovecot (Debian) ready.");
  const auto ftp = text("220 (vsFTPd 3.0.3)\r\n530 Please login with USER and PASS.\r\n");
  EXPECT_EQ(final_answer(ftp, true).detail, "text: 220 (vsFTPd 3.0.3)");
}

TEST(Classify, GarbageIsBinaryUnknown) {
  // An ELF header, 14 bytes then FIN.
  const auto elf = hex("7f 45 4c 46 02 01 01 00 00 00 00 00 00 00");
  const auto c = ended(elf);
  EXPECT_EQ(c.kind, listener_kind::binary);
  EXPECT_EQ(c.detail, "14 bytes: 7f 45 4c 46 02 01 01 00 00 00 00 00 00 00");
  EXPECT_FALSE(classify(elf, stream_end::open)) << "open and shorter than 16 bytes: wait for the full evidence";
  const auto longer = hex("81 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12");
  std::size_t at = 0;
  const auto l = final_answer(longer, at);
  EXPECT_EQ(at, 16u);
  EXPECT_EQ(l.detail, "first 16 bytes: 81 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10");
}

TEST(Classify, SpokeFirstIsNotedWhereUnexpected) {
  const auto c = final_at_end(hex(cc_xrdp), true);
  EXPECT_EQ(c.kind, listener_kind::rdp);
  EXPECT_TRUE(c.detail.ends_with("; sent before our request")) << c.detail;
  EXPECT_FALSE(final_at_end(text("RFB 003.008\n"), true).detail.ends_with("; sent before our request"));
}

// ------------------------------------------------------------------------------------------------ empty input

TEST(Classify, EmptyInputPerEndState) {
  const bytes none;
  const auto open = classify(none, stream_end::open);
  ASSERT_FALSE(open);
  EXPECT_TRUE(is_need_more(open.error()));
  EXPECT_EQ(ended(none, stream_end::closed).kind, listener_kind::closed);
  EXPECT_EQ(ended(none, stream_end::reset).kind, listener_kind::reset);
  EXPECT_EQ(ended(none, stream_end::timed_out).kind, listener_kind::silent);
}

TEST(Classify, ToStringNamesEveryKind) {
  EXPECT_EQ(to_string(listener_kind::rdp), "rdp");
  EXPECT_EQ(to_string(listener_kind::tpkt_not_rdp), "tpkt-not-rdp");
  EXPECT_EQ(to_string(listener_kind::tls), "tls");
  EXPECT_EQ(to_string(listener_kind::http), "http");
  EXPECT_EQ(to_string(listener_kind::ssh), "ssh");
  EXPECT_EQ(to_string(listener_kind::smb), "smb");
  EXPECT_EQ(to_string(listener_kind::vnc), "vnc");
  EXPECT_EQ(to_string(listener_kind::banner), "banner");
  EXPECT_EQ(to_string(listener_kind::binary), "binary");
  EXPECT_EQ(to_string(listener_kind::silent), "silent");
  EXPECT_EQ(to_string(listener_kind::closed), "closed");
  EXPECT_EQ(to_string(listener_kind::reset), "reset");
  EXPECT_EQ(to_string(listener_kind::refused), "refused");
  EXPECT_EQ(to_string(listener_kind::error), "error");
  EXPECT_EQ(to_string(stream_end::timed_out), "timed-out");
}

// One vocabulary for listener.kind and listener_spread (docs/verdicts.md): the kinds that spoke say which program
// owns a socket, the transport's outcomes do not.
TEST(Classify, OnlyAListenerThatSpokeIdentifiesIt) {
  for (const auto kind : {listener_kind::rdp, listener_kind::tpkt_not_rdp, listener_kind::tls, listener_kind::http,
                          listener_kind::ssh, listener_kind::smb, listener_kind::vnc, listener_kind::banner,
                          listener_kind::binary})
    EXPECT_TRUE(identifies_listener(kind)) << to_string(kind);
  for (const auto kind : {listener_kind::silent, listener_kind::closed, listener_kind::reset, listener_kind::refused,
                          listener_kind::error})
    EXPECT_FALSE(identifies_listener(kind)) << to_string(kind);
}

// ------------------------------------------------------------------------------------------------ long input

TEST(Classify, MebibyteOfTextIsBoundedAndDecidedEarly) {
  const bytes wire(1 << 20, 'A');
  for (const auto end : all_states) {
    const auto r = classify(wire, end);
    ASSERT_TRUE(r) << to_string(end);
    EXPECT_EQ(r->kind, listener_kind::banner);
    expect_sane(*r);
    EXPECT_TRUE(r->detail.ends_with("...")) << r->detail;
  }
  EXPECT_FALSE(classify(wire, stream_end::open, false, 255));
  EXPECT_TRUE(classify(wire, stream_end::open, false, 256));
}

TEST(Classify, MebibyteOfRandomBytesIsBounded) {
  std::mt19937 rng(3389);
  bytes wire(1 << 20);
  for (auto& b : wire) b = static_cast<std::uint8_t>(rng());
  wire[0] = 0x81;  // not a signature byte
  for (const auto end : all_states) {
    const auto r = classify(wire, end);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->kind, listener_kind::binary);
    expect_sane(*r);
  }
}

TEST(Classify, MebibyteHttpHeaderBlockStopsWaitingAt4096) {
  auto wire = text("HTTP/1.1 200 OK\r\nServer: big\r\nX-Filler: ");
  wire.resize(1 << 20, 'x');
  EXPECT_FALSE(classify(wire, stream_end::open, false, 4095));
  for (const auto end : all_states) {
    const auto r = classify(wire, end);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->kind, listener_kind::http);
    EXPECT_EQ(r->detail, "HTTP/1.1 200 OK; Server: big; no end of headers in 4096 bytes");
  }
}

TEST(Classify, MebibyteSshLineIsBounded) {
  auto wire = text("SSH-2.0-");
  wire.resize(1 << 20, 'z');
  const auto r = classify(wire, stream_end::open);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, listener_kind::ssh);
  expect_sane(*r);
}

// ------------------------------------------------------------------------------------------------ sanitising

TEST(Classify, NonPrintableBannerBytesAreEscaped) {
  const auto c = final_at_end(text("SSH-2.0-evil\x01\x1b[2J\xff\r\n"), true);
  EXPECT_EQ(c.kind, listener_kind::ssh);
  EXPECT_EQ(c.detail, "SSH-2.0-evil\\x01\\x1b[2J\\xff");
}

TEST(Classify, NonPrintableServerHeaderIsEscaped) {
  const auto c = final_at_end(text("HTTP/1.1 200 OK\r\nServer: a\x7f\x80z\r\n\r\n"));
  EXPECT_EQ(c.detail, "HTTP/1.1 200 OK; Server: a\\x7f\\x80z");
}

TEST(Classify, Utf8TextBannerIsTextWithEscapes) {
  const auto c = final_at_end(text("220 Caf\xc3\xa9 ready\r\n"));
  EXPECT_EQ(c.kind, listener_kind::banner);
  EXPECT_EQ(c.detail, "text: 220 Caf\\xc3\\xa9 ready");
}

TEST(Classify, LongEscapedLineIsCutWithoutHalfEscapes) {
  bytes wire = text("SSH-2.0-");
  wire.resize(200, 0xff);
  wire.push_back('\n');
  const auto c = final_at_end(wire);
  expect_sane(c);
  EXPECT_TRUE(c.detail.ends_with("\\xff...")) << c.detail;
}

// ------------------------------------------------------------------------------------------------ malformed, one each

TEST(ClassifyMalformed, TpktSecondByteNotZeroIsBinary) {
  EXPECT_EQ(final_answer(hex("03 01 00 13 0e d0 00 00 12 34 00 02 01 08 00 01 00 00 00")).kind,
            listener_kind::binary);
}

TEST(ClassifyMalformed, TpktHeaderOnlyThenCloseIsTpktNotRdp) {
  const auto c = ended(hex("03 00 00 13"));
  EXPECT_EQ(c.kind, listener_kind::tpkt_not_rdp);
  EXPECT_EQ(c.detail, "TPKT header without an X.224 TPDU, 4 bytes: 03 00 00 13");
}

TEST(ClassifyMalformed, TwoBytesOfTpktThenCloseIsBinary) {
  EXPECT_EQ(ended(hex("03 00")).kind, listener_kind::binary);
}

TEST(ClassifyMalformed, ConnectionConfirmCutShort) {
  const auto c = ended(hex("03 00 00 13 0e d0 00 00 12 34 00 02 01 08 00"), stream_end::reset);
  EXPECT_EQ(c.kind, listener_kind::rdp);
  EXPECT_EQ(c.detail, "X.224 Connection Confirm; cut short at 15 of 19 bytes; SRC-REF 0x1234");
}

TEST(ClassifyMalformed, ConnectionConfirmWithHugeTpktLength) {
  std::size_t at = 0;
  const auto c = final_answer(hex("03 00 ff ff 0e d0 00 00 12 34 00 02 01 08 00 01 00 00 00 00 00"), at);
  EXPECT_EQ(at, 19u);
  EXPECT_EQ(c.kind, listener_kind::rdp);
}

TEST(ClassifyMalformed, ConnectionConfirmWithTinyTpktLength) {
  std::size_t at = 0;
  const auto c = final_answer(hex("03 00 00 02 0e d0 00 00"), at);
  EXPECT_EQ(at, 6u);
  EXPECT_EQ(c.kind, listener_kind::rdp);
  EXPECT_EQ(c.detail, "X.224 Connection Confirm");
}

TEST(ClassifyMalformed, ConnectionConfirmWithUnknownNegotiationType) {
  EXPECT_EQ(final_at_end(hex("03 00 00 13 0e d0 00 00 12 34 00 07 00 08 00 01 00 00 00")).detail,
            "X.224 Connection Confirm; negotiation type 0x07; SRC-REF 0x1234");
}

TEST(ClassifyMalformed, NegFailureWithUnknownCode) {
  EXPECT_EQ(final_at_end(hex("03 00 00 13 0e d0 00 00 12 34 00 03 00 08 00 63 00 00 00")).detail,
            "X.224 Connection Confirm; RDP_NEG_FAILURE failureCode (99); SRC-REF 0x1234");
}

TEST(ClassifyMalformed, NegResponseWithUnknownProtocol) {
  EXPECT_EQ(final_at_end(hex("03 00 00 13 0e d0 00 00 12 34 00 02 00 08 00 03 00 00 00")).detail,
            "X.224 Connection Confirm; RDP_NEG_RSP selected 0x00000003, flags 0x00; SRC-REF 0x1234");
}

TEST(ClassifyMalformed, TlsRecordVersionOutOfRangeIsBinary) {
  EXPECT_EQ(final_answer(hex("16 03 07 00 05 02 00 00 01 00 00 00 00 00 00 00")).kind, listener_kind::binary);
}

TEST(ClassifyMalformed, TlsTypeWithoutMajorThreeIsBinary) {
  EXPECT_EQ(ended(hex("15 02 01 00 02 02 0a")).kind, listener_kind::binary);
}

TEST(ClassifyMalformed, TlsAlertHeaderCutShort) {
  const auto c = ended(hex("15 03 01 00"));
  EXPECT_EQ(c.kind, listener_kind::tls);
  EXPECT_EQ(c.detail, "TLS alert record header cut short, record version 3.1");
}

TEST(ClassifyMalformed, TlsAlertBodyCutShort) {
  const auto c = ended(hex("15 03 01 00 02 02"));
  EXPECT_EQ(c.detail, "TLS alert record cut short, record version 3.1");
}

TEST(ClassifyMalformed, TlsEncryptedAlert) {
  std::size_t at = 0;
  const auto c = final_answer(hex("15 03 03 00 1a 00 00 00 00 00 00 00 01 9f 21 aa"), at);
  EXPECT_EQ(at, 5u);
  EXPECT_EQ(c.detail, "TLS alert record of 26 bytes (encrypted), record version 3.3");
}

TEST(ClassifyMalformed, TlsUnknownAlertLevelAndDescription) {
  EXPECT_EQ(final_at_end(hex("15 03 01 00 02 07 c8")).detail, "TLS alert level 7 unknown (200), record version 3.1");
}

TEST(ClassifyMalformed, TlsEmptyAndUnknownHandshake) {
  EXPECT_EQ(final_answer(hex("16 03 01 00 00")).detail, "TLS handshake record (empty), record version 3.1");
  EXPECT_EQ(final_answer(hex("16 03 01 00 04 63 00 00 00")).detail,
            "TLS handshake record (type 99), record version 3.1");
}

TEST(ClassifyMalformed, HttpHeaderBlockCutShort) {
  const auto c = ended(text("HTTP/1.1 503 Service Unavailable\r\nServer: x"), stream_end::reset);
  EXPECT_EQ(c.kind, listener_kind::http);
  EXPECT_EQ(c.detail, "HTTP/1.1 503 Service Unavailable; Server: x; header block cut short");
}

TEST(ClassifyMalformed, HttpWithBareLineFeeds) {
  EXPECT_EQ(final_at_end(text("HTTP/1.0 400 Bad\nServer: tiny\n\n")).detail, "HTTP/1.0 400 Bad; Server: tiny");
}

TEST(ClassifyMalformed, SmbSignatureMismatchIsBinary) {
  EXPECT_EQ(final_answer(hex("00 00 00 10 fe 53 4d 58 00 00 00 00 00 00 00 00")).kind, listener_kind::binary);
}

TEST(ClassifyMalformed, SmbCutShortIsBinary) {
  EXPECT_EQ(ended(hex("00 00 00 10 fe 53")).kind, listener_kind::binary);
}

TEST(ClassifyMalformed, Smb2ShortNetbiosLength) {
  std::size_t at = 0;
  const auto c = final_answer(hex("00 00 00 04 fe 53 4d 42 40 00"), at);
  EXPECT_EQ(at, 8u);
  EXPECT_EQ(c.detail, "SMB2 (\\xFESMB)");
}

TEST(ClassifyMalformed, SignaturePrefixThenCloseIsText) {
  EXPECT_EQ(ended(text("SSH")).detail, "text: SSH");
  EXPECT_EQ(ended(text("HTTP")).detail, "text: HTTP");
  EXPECT_EQ(ended(text("RFB")).detail, "text: RFB");
}

TEST(ClassifyMalformed, LoneAngleBracketIsText) {
  EXPECT_EQ(ended(text("<")).detail, "text: <");
  EXPECT_EQ(final_at_end(text("< 3 ok\n")).kind, listener_kind::banner);
}

TEST(ClassifyMalformed, HtmlWithoutClosingTagWaitsThenDecides) {
  const auto wire = text("<html><title>x</title>");
  EXPECT_FALSE(classify(wire, stream_end::open));
  EXPECT_EQ(ended(wire, stream_end::timed_out).detail, "HTML body without status line; title: x");
}

TEST(ClassifyMalformed, VncShortVersion) {
  EXPECT_EQ(final_at_end(text("RFB 3.8\n")).detail, "VNC RFB 3.8");
  EXPECT_EQ(ended(text("RFB 003")).detail, "VNC RFB 003");
}

TEST(ClassifyMalformed, TextWithControlByteIsBinary) {
  const auto c = final_answer(text(std::string("hello\x00world, and more bytes", 27)));
  EXPECT_EQ(c.kind, listener_kind::binary);
  EXPECT_EQ(c.detail, "first 16 bytes: 68 65 6c 6c 6f 00 77 6f 72 6c 64 2c 20 61 6e 64");
}

TEST(ClassifyMalformed, TextMostlyHighBytesIsBinary) {
  EXPECT_EQ(final_answer(text("A\xc8\xc9\xca\xcb\xcc\xcd\xce\xcf\xd0\xd1\xd2\xd3\xd4\xd5\xd6\n")).kind,
            listener_kind::binary);
}

TEST(ClassifyMalformed, EmptyTextLineIsBinary) {
  EXPECT_EQ(ended(text("\r\n")).kind, listener_kind::binary);
}

TEST(ClassifyMalformed, ClassifiesEveryEndOfEveryShortInput) {
  // Exhaustive over all 1- and 2-byte inputs: ended streams always classify; open ones never contradict.
  for (unsigned a = 0; a < 256; ++a) {
    for (unsigned b = 0; b <= 256; ++b) {
      bytes wire{static_cast<std::uint8_t>(a)};
      if (b < 256) wire.push_back(static_cast<std::uint8_t>(b));
      for (const auto end : ended_states) {
        const auto r = classify(wire, end);
        ASSERT_TRUE(r);
        ASSERT_LE(r->detail.size(), max_classification_detail);
      }
    }
  }
}

}  // namespace
