#include "rdp/protocol/classify.hpp"

#include "rdp/protocol/hex.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>

// Every rule below follows one pattern, which is what makes the classifier final (see classify.hpp):
//   1. route on bytes the rule has already seen (never on the input's total length);
//   2. compute the decision point `dp`: how many bytes the answer depends on, from bytes before it;
//   3. while the stream is open and fewer than `dp` bytes arrived, say need_more;
//   4. otherwise build the answer from window(data, dp) only.
// So the answer, once given, does not change when more bytes arrive or when the stream ends.

namespace rdp::protocol {

std::string_view to_string(stream_end e) noexcept {
  switch (e) {
    case stream_end::open: return "open";
    case stream_end::closed: return "closed";
    case stream_end::reset: return "reset";
    case stream_end::timed_out: return "timed-out";
  }
  return "unknown";
}

std::string_view to_string(listener_kind kind) noexcept {
  switch (kind) {
    case listener_kind::rdp: return "rdp";
    case listener_kind::tpkt_not_rdp: return "tpkt-not-rdp";
    case listener_kind::tls: return "tls";
    case listener_kind::http: return "http";
    case listener_kind::ssh: return "ssh";
    case listener_kind::smb: return "smb";
    case listener_kind::vnc: return "vnc";
    case listener_kind::banner: return "banner";
    case listener_kind::binary: return "binary";
    case listener_kind::silent: return "silent";
    case listener_kind::closed: return "closed";
    case listener_kind::reset: return "reset";
    case listener_kind::refused: return "refused";
    case listener_kind::error: return "error";
  }
  return "unknown";
}

bool identifies_listener(listener_kind kind) noexcept {
  switch (kind) {
    case listener_kind::rdp:
    case listener_kind::tpkt_not_rdp:
    case listener_kind::tls:
    case listener_kind::http:
    case listener_kind::ssh:
    case listener_kind::smb:
    case listener_kind::vnc:
    case listener_kind::banner:
    case listener_kind::binary: return true;
    case listener_kind::silent:
    case listener_kind::closed:
    case listener_kind::reset:
    case listener_kind::refused:
    case listener_kind::error: return false;
  }
  return false;
}

namespace {

using verdict = boost::system::result<classification>;

constexpr std::size_t npos = static_cast<std::size_t>(-1);
constexpr std::size_t http_header_cap = 4096;  // stop waiting for the blank line that ends HTTP headers
constexpr std::size_t html_cap = 4096;         // stop waiting for </html>
constexpr std::size_t line_cap = 256;          // banner lines; SSH allows 255 incl. CR LF (RFC 4253 4.2)
constexpr std::size_t hex_prefix = 16;         // binary evidence: hex of the first 16 bytes

// Per-field budgets, so that one long field cannot push the others out of the bounded detail.
constexpr std::size_t line_budget = 160;
constexpr std::size_t field_budget = 60;

verdict need_more() { return make_error_code(errc::need_more); }

struct input {
  bytes_view data;
  bool ended = false;
  bool spoke_first = false;
};

// Bytes [0, n) of the data, or all of it when shorter: the window a rule reads once it has decided.
bytes_view window(bytes_view d, std::size_t n) noexcept { return d.first(std::min(n, d.size())); }

bool printable(std::uint8_t c) noexcept { return c >= 0x20 && c <= 0x7E; }

char lower(std::uint8_t c) noexcept {
  return static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
}

std::uint16_t be16(bytes_view d, std::size_t at) noexcept {
  return static_cast<std::uint16_t>((d[at] << 8) | d[at + 1]);
}
std::uint16_t le16(bytes_view d, std::size_t at) noexcept {
  return static_cast<std::uint16_t>(d[at] | (d[at + 1] << 8));
}
std::uint32_t le32(bytes_view d, std::size_t at) noexcept {
  return static_cast<std::uint32_t>(d[at]) | (static_cast<std::uint32_t>(d[at + 1]) << 8) |
         (static_cast<std::uint32_t>(d[at + 2]) << 16) | (static_cast<std::uint32_t>(d[at + 3]) << 24);
}

std::size_t find_byte(bytes_view hay, std::uint8_t c, std::size_t from = 0) noexcept {
  for (std::size_t i = from; i < hay.size(); ++i)
    if (hay[i] == c) return i;
  return npos;
}

// First occurrence of an ASCII needle, case-insensitively (needle given in lower case).
std::size_t find_ci(bytes_view hay, std::string_view needle, std::size_t from = 0) noexcept {
  if (needle.empty() || hay.size() < needle.size()) return npos;
  for (std::size_t i = from; i + needle.size() <= hay.size(); ++i) {
    std::size_t k = 0;
    while (k < needle.size() && lower(hay[i + k]) == needle[k]) ++k;
    if (k == needle.size()) return i;
  }
  return npos;
}

bool starts_with_ci(bytes_view hay, std::string_view needle) noexcept {
  if (hay.size() < needle.size()) return false;
  for (std::size_t k = 0; k < needle.size(); ++k)
    if (lower(hay[k]) != needle[k]) return false;
  return true;
}

bytes_view trim_cr(bytes_view line) noexcept {
  while (!line.empty() && line.back() == '\r') line = line.first(line.size() - 1);
  return line;
}

bytes_view trim_spaces(bytes_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s = s.subspan(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s = s.first(s.size() - 1);
  return s;
}

// Printable ASCII passes; anything else becomes \xNN. Stops at `budget` characters, ending with "...". The cut
// falls between characters, so an escape is never left half written.
void append_sanitised(std::string& out, bytes_view text, std::size_t budget) {
  std::string piece;
  std::size_t room_for_ellipsis = 0;  // piece's size at the last character boundary that leaves room for "..."
  for (const std::uint8_t c : text) {
    const std::size_t width = printable(c) ? 1 : 4;
    if (piece.size() + width > budget) {
      piece.resize(room_for_ellipsis);
      piece += "...";
      break;
    }
    if (printable(c)) {
      piece += static_cast<char>(c);
    } else {
      piece += "\\x";
      append_hex(piece, c);
    }
    if (piece.size() + 3 <= budget) room_for_ellipsis = piece.size();
  }
  out += piece;
}

// Kinds whose listeners normally answer a request; if one spoke first, that is worth saying.
bool note_spoke_first(listener_kind k) noexcept {
  switch (k) {
    case listener_kind::rdp:
    case listener_kind::tpkt_not_rdp:
    case listener_kind::tls:
    case listener_kind::http:
    case listener_kind::smb:
    case listener_kind::binary: return true;
    default: return false;
  }
}

verdict finish(listener_kind kind, std::string detail, const input& in) {
  const std::string_view note = in.spoke_first && note_spoke_first(kind) ? "; sent before our request" : "";
  const std::size_t limit = max_classification_detail - note.size();
  if (detail.size() > limit) {
    detail.resize(limit - 3);
    detail += "...";
  }
  detail += note;
  return classification{kind, std::move(detail)};
}

// ---------------------------------------------------------------------------------------------- binary

verdict classify_binary(const input& in) {
  if (!in.ended && in.data.size() < hex_prefix) return need_more();
  std::string detail;
  if (in.data.size() >= hex_prefix) detail = "first 16 bytes: ";
  else detail = std::to_string(in.data.size()) + " bytes: ";
  detail += to_hex(window(in.data, hex_prefix), " ");
  return finish(listener_kind::binary, std::move(detail), in);
}

// ---------------------------------------------------------------------------------------------- text

// A line of readable text: up to the first LF (CR LF tolerated), or line_cap bytes, or the end of the stream.
// A control byte before the line ends makes it binary. Bytes >= 0x80 are allowed (UTF-8 banners) as long as
// they are at most a quarter of the line.
verdict classify_text(const input& in) {
  const auto scan = window(in.data, line_cap);
  std::size_t stop = npos;
  for (std::size_t i = 0; i < scan.size(); ++i) {
    const std::uint8_t c = scan[i];
    if (c == '\n') {
      stop = i;
      break;
    }
    if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7F) return classify_binary(in);
  }
  if (stop == npos) {
    if (!in.ended && scan.size() < line_cap) return need_more();
    stop = scan.size();
  }
  const auto line = trim_cr(scan.first(stop));
  const auto high =
      static_cast<std::size_t>(std::count_if(line.begin(), line.end(), [](std::uint8_t c) { return c >= 0x80; }));
  if (line.empty() || high * 4 > line.size()) return classify_binary(in);
  std::string detail = "text: ";
  append_sanitised(detail, line, line_budget);
  return finish(listener_kind::banner, std::move(detail), in);
}

// ---------------------------------------------------------------------------------------------- TPKT / X.224

std::string_view tpdu_name(std::uint8_t code) noexcept {
  // X.224 TPDU codes (high nibble; the low nibble is CDT or zero) — ITU-T X.224 13.x.
  switch (code & 0xF0) {
    case 0xE0: return "Connection Request";
    case 0xD0: return "Connection Confirm";
    case 0x80: return "Disconnect Request";
    case 0xC0: return "Disconnect Confirm";
    case 0xF0: return "Data";
    case 0x70: return "Error";
    case 0x50: return "Reject";
    default: return {};
  }
}

std::string_view protocol_name(std::uint32_t p) noexcept {
  // MS-RDPBCGR 2.2.1.2.1 selectedProtocol.
  switch (p) {
    case 0x00: return "PROTOCOL_RDP";
    case 0x01: return "PROTOCOL_SSL";
    case 0x02: return "PROTOCOL_HYBRID";
    case 0x04: return "PROTOCOL_RDSTLS";
    case 0x08: return "PROTOCOL_HYBRID_EX";
    case 0x10: return "PROTOCOL_RDSAAD";
    default: return {};
  }
}

std::string_view failure_name(std::uint32_t code) noexcept {
  // MS-RDPBCGR 2.2.1.2.2 failureCode.
  switch (code) {
    case 1: return "SSL_REQUIRED_BY_SERVER";
    case 2: return "SSL_NOT_ALLOWED_BY_SERVER";
    case 3: return "SSL_CERT_NOT_ON_SERVER";
    case 4: return "INCONSISTENT_FLAGS";
    case 5: return "HYBRID_REQUIRED_BY_SERVER";
    case 6: return "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER";
    default: return {};
  }
}

// TPKT (T.123 8) = 03 00 LEN16; X.224 LI at byte 4, TPDU code at byte 5. A CC (MS-RDPBCGR 2.2.1.2) is 11 bytes,
// or 19 with RDP_NEG_RSP / RDP_NEG_FAILURE at bytes 11..18; SRC-REF is bytes 8..9 (docs/wire-facts.md 5.3).
verdict classify_tpkt(const input& in) {
  const auto d = in.data;
  if (d.size() >= 2 && d[1] != 0x00) return classify_binary(in);
  if (d.size() < 6) {
    if (!in.ended) return need_more();
    if (d.size() < 4) return classify_binary(in);
    std::string detail = "TPKT header without an X.224 TPDU, " + std::to_string(d.size()) + " bytes: ";
    detail += to_hex(d, " ");
    return finish(listener_kind::tpkt_not_rdp, std::move(detail), in);
  }
  const std::size_t length = be16(d, 2);
  const std::uint8_t code = d[5];
  if ((code & 0xF0) != 0xD0) {
    std::string detail = "TPKT with X.224 ";
    const auto name = tpdu_name(code);
    detail += name.empty() ? std::string_view("TPDU") : name;
    detail += " (";
    detail += hex_number(code, 2);
    detail += "), not a Connection Confirm; TPKT length " + std::to_string(length);
    return finish(listener_kind::tpkt_not_rdp, std::move(detail), in);
  }
  constexpr std::size_t cc_min = 6, cc_with_neg = 19;
  const std::size_t dp = std::clamp(length, cc_min, cc_with_neg);
  if (!in.ended && d.size() < dp) return need_more();
  const auto w = window(d, dp);
  std::string detail = "X.224 Connection Confirm";
  if (w.size() < dp) {
    detail += "; cut short at " + std::to_string(w.size()) + " of " + std::to_string(length) + " bytes";
  } else if (length >= cc_with_neg) {
    const std::uint8_t type = w[11];
    if (type == 0x02) {  // RDP_NEG_RSP
      const std::uint32_t selected = le32(w, 15);
      detail += "; RDP_NEG_RSP selected ";
      const auto name = protocol_name(selected);
      if (!name.empty()) detail += std::string(name) + " (";
      detail += hex_number(selected, 8);
      if (!name.empty()) detail += ')';
      detail += ", flags ";
      detail += hex_number(w[12], 2);
    } else if (type == 0x03) {  // RDP_NEG_FAILURE: still an RDP listener, with a policy mismatch (5.4 item 4)
      const std::uint32_t failure = le32(w, 15);
      detail += "; RDP_NEG_FAILURE ";
      const auto name = failure_name(failure);
      detail += name.empty() ? std::string_view("failureCode") : name;
      detail += " (" + std::to_string(failure) + ")";
    } else {
      detail += "; negotiation type ";
      detail += hex_number(type, 2);
    }
  } else if (length >= 11) {
    detail += "; no negotiation response (Standard RDP Security only)";
  }
  if (w.size() >= 10) {
    detail += "; SRC-REF ";
    detail += hex_number(be16(w, 8), 4);
  }
  return finish(listener_kind::rdp, std::move(detail), in);
}

// ---------------------------------------------------------------------------------------------- TLS

std::string_view alert_description(std::uint8_t d) noexcept {
  // RFC 8446 6 / RFC 5246 7.2 AlertDescription.
  switch (d) {
    case 0: return "close_notify";
    case 10: return "unexpected_message";
    case 20: return "bad_record_mac";
    case 21: return "decryption_failed";
    case 22: return "record_overflow";
    case 30: return "decompression_failure";
    case 40: return "handshake_failure";
    case 41: return "no_certificate";
    case 42: return "bad_certificate";
    case 43: return "unsupported_certificate";
    case 44: return "certificate_revoked";
    case 45: return "certificate_expired";
    case 46: return "certificate_unknown";
    case 47: return "illegal_parameter";
    case 48: return "unknown_ca";
    case 49: return "access_denied";
    case 50: return "decode_error";
    case 51: return "decrypt_error";
    case 60: return "export_restriction";
    case 70: return "protocol_version";
    case 71: return "insufficient_security";
    case 80: return "internal_error";
    case 86: return "inappropriate_fallback";
    case 90: return "user_canceled";
    case 100: return "no_renegotiation";
    case 109: return "missing_extension";
    case 110: return "unsupported_extension";
    case 112: return "unrecognized_name";
    case 113: return "bad_certificate_status_response";
    case 115: return "unknown_psk_identity";
    case 116: return "certificate_required";
    case 120: return "no_application_protocol";
    default: return "unknown";
  }
}

std::string_view handshake_name(std::uint8_t t) noexcept {
  // RFC 8446 4 / RFC 5246 7.4 HandshakeType.
  switch (t) {
    case 0: return "HelloRequest";
    case 1: return "ClientHello";
    case 2: return "ServerHello";
    case 4: return "NewSessionTicket";
    case 5: return "EndOfEarlyData";
    case 8: return "EncryptedExtensions";
    case 11: return "Certificate";
    case 12: return "ServerKeyExchange";
    case 13: return "CertificateRequest";
    case 14: return "ServerHelloDone";
    case 15: return "CertificateVerify";
    case 16: return "ClientKeyExchange";
    case 20: return "Finished";
    default: return {};
  }
}

// TLS record header (RFC 8446 5.1): type, legacy_record_version 03 0x, length16. nmap's ssl matches are
// ^\x16\x03[\0-\x04]..\x02 and ^\x15\x03 (docs/wire-facts.md 5.4 item 3).
verdict classify_tls(const input& in) {
  const auto d = in.data;
  if ((d.size() >= 2 && d[1] != 0x03) || (d.size() >= 3 && d[2] > 0x04)) return classify_binary(in);
  if (d.size() < 3) return in.ended ? classify_binary(in) : need_more();
  const bool alert = d[0] == 0x15;
  const std::string version = "record version 3." + std::to_string(d[2]);
  if (d.size() < 5) {
    if (!in.ended) return need_more();
    return finish(listener_kind::tls,
                  std::string(alert ? "TLS alert" : "TLS handshake") + " record header cut short, " + version, in);
  }
  const std::size_t length = be16(d, 3);
  if (alert) {
    const std::size_t dp = length == 2 ? 7 : 5;
    if (!in.ended && d.size() < dp) return need_more();
    std::string detail;
    if (length != 2) {
      detail = "TLS alert record of " + std::to_string(length) + " bytes (encrypted)";
    } else if (d.size() < 7) {
      detail = "TLS alert record cut short";
    } else {
      detail = "TLS alert ";
      const std::uint8_t level = d[5];
      if (level == 1) detail += "warning ";
      else if (level == 2) detail += "fatal ";
      else detail += "level " + std::to_string(level) + ' ';
      detail += alert_description(d[6]);
      detail += " (" + std::to_string(d[6]) + ")";
    }
    detail += ", " + version;
    return finish(listener_kind::tls, std::move(detail), in);
  }
  const std::size_t dp = length == 0 ? 5 : 6;
  if (!in.ended && d.size() < dp) return need_more();
  std::string detail = "TLS handshake record";
  if (length == 0) {
    detail += " (empty)";
  } else if (d.size() >= 6) {
    const auto name = handshake_name(d[5]);
    detail += " (";
    if (name.empty()) detail += "type " + std::to_string(d[5]);
    else detail += name;
    detail += ')';
  }
  detail += ", " + version;
  return finish(listener_kind::tls, std::move(detail), in);
}

// ---------------------------------------------------------------------------------------------- SMB

// NetBIOS session message (RFC 1002 4.3.1): 00, 24-bit length, then an SMB1 (\xFFSMB, MS-CIFS 2.2.3.1) or SMB2
// (\xFESMB, MS-SMB2 2.2.1) header. SMB2: Command at header+12, Flags at header+16 (bit 0 = response);
// NEGOTIATE response body: StructureSize 65 at header+64, DialectRevision at header+68.
verdict classify_smb(const input& in) {
  const auto d = in.data;
  constexpr std::array<std::uint8_t, 3> smb = {'S', 'M', 'B'};
  if (d.size() > 4 && d[4] != 0xFE && d[4] != 0xFF) return classify_binary(in);
  for (std::size_t i = 5; i < std::min<std::size_t>(d.size(), 8); ++i)
    if (d[i] != smb[i - 5]) return classify_binary(in);
  if (d.size() < 8) return in.ended ? classify_binary(in) : need_more();
  if (d[4] == 0xFF) return finish(listener_kind::smb, "SMB1 (\\xFFSMB)", in);

  constexpr std::size_t header = 4, negotiate_end = header + 64 + 6;
  const std::size_t nb_length = (std::size_t{d[1]} << 16) | (std::size_t{d[2]} << 8) | d[3];
  const std::size_t dp = std::clamp(header + nb_length, std::size_t{8}, negotiate_end);
  if (!in.ended && d.size() < dp) return need_more();
  const auto w = window(d, dp);
  std::string detail = "SMB2 (\\xFESMB)";
  if (w.size() >= header + 20) {
    const std::uint16_t command = le16(w, header + 12);
    const bool response = (le32(w, header + 16) & 1) != 0;
    detail += "; ";
    if (command == 0) {
      detail += "NEGOTIATE";
    } else {
      detail += "command ";
      detail += hex_number(command, 4);
    }
    detail += response ? " response" : " request";
    if (command == 0 && response && w.size() >= negotiate_end && le16(w, header + 64) == 65) {
      detail += ", dialect ";
      detail += hex_number(le16(w, header + 68), 4);
    }
  }
  return finish(listener_kind::smb, std::move(detail), in);
}

// ---------------------------------------------------------------------------------------------- HTTP

// "HTTP/" status line: wait for the blank line ending the header block (CR LF CR LF, or LF LF as lenient
// parsers accept), at most http_header_cap bytes; report the status line and the first Server: header.
verdict classify_http(const input& in) {
  const auto d = in.data;
  const auto scan = window(d, http_header_cap);
  std::size_t end = npos;
  for (std::size_t i = 0; i + 1 < scan.size(); ++i) {
    if (scan[i] != '\n') continue;
    if (scan[i + 1] == '\n') {
      end = i + 2;
      break;
    }
    if (scan[i + 1] == '\r' && i + 2 < scan.size() && scan[i + 2] == '\n') {
      end = i + 3;
      break;
    }
  }
  const std::size_t dp = end != npos ? end : http_header_cap;
  if (!in.ended && d.size() < dp) return need_more();
  const auto head = window(d, dp);

  const std::size_t status_end = std::min(find_byte(head, '\n'), head.size());
  std::string detail;
  append_sanitised(detail, trim_cr(head.first(status_end)), line_budget - field_budget);
  for (std::size_t pos = status_end + 1; pos < head.size();) {
    const std::size_t nl = std::min(find_byte(head, '\n', pos), head.size());
    const auto line = head.subspan(pos, nl - pos);
    if (starts_with_ci(line, "server:")) {
      detail += "; Server: ";
      append_sanitised(detail, trim_spaces(line.subspan(7)), field_budget);
      break;
    }
    pos = nl + 1;
  }
  if (end == npos)
    detail += head.size() >= http_header_cap ? "; no end of headers in 4096 bytes" : "; header block cut short";
  return finish(listener_kind::http, std::move(detail), in);
}

// HTML without a status line (Python http.server answers a non-HTTP request line as HTTP/0.9, docs/wire-facts.md 5.2):
// wait for </html>, at most html_cap bytes; report the <title> and an "Error code: NNN" if present.
verdict classify_html(const input& in) {
  const auto d = in.data;
  const std::size_t close = find_ci(window(d, html_cap), "</html>");
  const std::size_t dp = close != npos ? close + 7 : html_cap;
  if (!in.ended && d.size() < dp) return need_more();
  const auto body = window(d, dp);
  std::string detail = "HTML body without status line";
  if (const std::size_t t = find_ci(body, "<title>"); t != npos) {
    const std::size_t start = t + 7;
    const std::size_t stop = std::min(find_byte(body, '<', start), body.size());
    if (const auto title = trim_spaces(body.subspan(start, stop - start)); !title.empty()) {
      detail += "; title: ";
      append_sanitised(detail, title, field_budget);
    }
  }
  if (const std::size_t e = find_ci(body, "error code:"); e != npos) {
    std::size_t p = e + 11;
    while (p < body.size() && body[p] == ' ') ++p;
    std::size_t q = p;
    while (q < body.size() && q - p < 5 && body[q] >= '0' && body[q] <= '9') ++q;
    if (q > p) {
      detail += "; Error code: ";
      append_sanitised(detail, body.subspan(p, q - p), field_budget);
    }
  }
  return finish(listener_kind::http, std::move(detail), in);
}

bool starts_markup(std::uint8_t c) noexcept {
  return c == '!' || c == '?' || c == '/' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// ---------------------------------------------------------------------------------------------- SSH, VNC

// "SSH-protoversion-softwareversion SP comments CR LF" (RFC 4253 4.2), at most 255 bytes.
verdict classify_ssh(const input& in) {
  const auto scan = window(in.data, line_cap);
  const std::size_t nl = find_byte(scan, '\n');
  const std::size_t dp = nl != npos ? nl + 1 : line_cap;
  if (!in.ended && in.data.size() < dp) return need_more();
  std::string detail;
  append_sanitised(detail, trim_cr(scan.first(std::min(nl, scan.size()))), line_budget);
  return finish(listener_kind::ssh, std::move(detail), in);
}

// ProtocolVersion "RFB xxx.yyy\n", 12 bytes (RFC 6143 7.1.1).
verdict classify_vnc(const input& in) {
  constexpr std::size_t version_length = 12;
  const auto scan = window(in.data, version_length);
  const std::size_t nl = find_byte(scan, '\n');
  const std::size_t dp = nl != npos ? nl + 1 : version_length;
  if (!in.ended && in.data.size() < dp) return need_more();
  std::string detail = "VNC RFB ";
  append_sanitised(detail, trim_cr(scan.first(std::min(nl, scan.size())).subspan(4)), field_budget);
  return finish(listener_kind::vnc, std::move(detail), in);
}

// ---------------------------------------------------------------------------------------------- dispatch

enum class match { none, partial, full };

match match_prefix(bytes_view d, std::string_view sig) noexcept {
  const std::size_t n = std::min(d.size(), sig.size());
  for (std::size_t i = 0; i < n; ++i)
    if (d[i] != static_cast<std::uint8_t>(sig[i])) return match::none;
  return n == sig.size() ? match::full : match::partial;
}

verdict classify_bytes(const input& in) {
  const auto d = in.data;
  switch (d[0]) {
    case 0x03: return classify_tpkt(in);
    case 0x15:
    case 0x16: return classify_tls(in);
    case 0x00: return classify_smb(in);
    default: break;
  }
  struct signature {
    std::string_view text;
    verdict (*rule)(const input&);
  };
  for (const auto& s : {signature{"HTTP/", classify_http}, signature{"SSH-", classify_ssh},
                        signature{"RFB ", classify_vnc}}) {
    switch (match_prefix(d, s.text)) {
      case match::full: return s.rule(in);
      case match::partial:
        if (!in.ended) return need_more();
        break;  // the stream ended inside the signature: it is just text
      case match::none: break;
    }
  }
  if (d[0] == '<') {
    if (d.size() < 2) {
      if (!in.ended) return need_more();
    } else if (starts_markup(d[1])) {
      return classify_html(in);
    }
  }
  if (printable(d[0])) return classify_text(in);
  return classify_binary(in);
}

}  // namespace

boost::system::result<classification> classify_listener(const listener_observation& obs) {
  const input in{obs.received, obs.end != stream_end::open, obs.spoke_first};
  if (!obs.received.empty()) return classify_bytes(in);
  switch (obs.end) {
    case stream_end::open: return need_more();
    case stream_end::closed:
      return classification{listener_kind::closed, "nothing received; the peer closed the connection (FIN)"};
    case stream_end::reset:
      return classification{listener_kind::reset, "nothing received; the peer reset the connection (RST)"};
    case stream_end::timed_out:
      return classification{listener_kind::silent, "nothing received before the deadline; connection still open"};
  }
  return need_more();
}

}  // namespace rdp::protocol
