#include "rdp/protocol/ntlm.hpp"

#include <algorithm>
#include <initializer_list>
#include <limits>

namespace rdp::protocol::ntlm {
namespace {

class ntlm_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "rdp.ntlm"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::bad_signature: return "not an NTLM message (no NTLMSSP signature)";
      case error::unexpected_message_type: return "unexpected NTLM message type";
      case error::bad_field: return "NTLM payload offset/length outside the message";
      case error::bad_av_pair: return "malformed NTLM AV_PAIR";
      case error::missing_eol: return "NTLM TargetInfo without MsvAvEOL";
    }
    return "unknown rdp.ntlm error " + std::to_string(ev);
  }
};

// Len/MaxLen/BufferOffset, the 8-byte payload descriptor every variable field has (MS-NLMP 2.2.1.1, 2.2.1.2).
struct payload_field {
  std::uint16_t length = 0;
  std::uint16_t max_length = 0;  // SHOULD equal length; ignored on receipt, as Windows does
  std::uint32_t offset = 0;
};

bool read_field(byte_reader& r, payload_field& f) noexcept {
  return r.u16le(f.length) && r.u16le(f.max_length) && r.u32le(f.offset);
}

void write_field(byte_writer& w, std::size_t length, std::size_t offset) {
  w.u16le(static_cast<std::uint16_t>(length));
  w.u16le(static_cast<std::uint16_t>(length));
  w.u32le(static_cast<std::uint32_t>(offset));
}

inline constexpr std::size_t version_size = 8;
inline constexpr std::size_t negotiate_fixed_size = 32;  // signature, type, flags, DomainName, Workstation
inline constexpr std::size_t challenge_fixed_size = 48;  // signature, type, TargetName, flags, challenge, reserved, TargetInfo
inline constexpr std::size_t authenticate_fixed_size = 64;  // signature, type, six payload fields, flags
inline constexpr std::size_t mic_size = 16;

// Signature and MessageType, common to every NTLM message (MS-NLMP 2.2.1). A wrong signature is reported even on a
// message too short to hold one, so garbage is never called "truncated".
boost::system::error_code check_header(bytes_view m, std::uint32_t expected_type) {
  const auto n = std::min(m.size(), signature.size());
  if (!std::equal(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(n), signature.begin()))
    return make_error_code(error::bad_signature);
  byte_reader r(m);
  std::uint32_t type = 0;
  if (!r.skip(signature.size()) || !r.u32le(type)) return make_error_code(errc::truncated);
  if (type != expected_type) return make_error_code(error::unexpected_message_type);
  return {};
}

// Reads VERSION (2.2.2.10) at the end of the fixed part when the flags announce it, and returns where the
// payload may begin. Version is only trusted when no payload starts inside its 8 bytes (see ntlm.hpp).
boost::system::result<std::size_t> read_version(bytes_view m, std::size_t fixed, std::uint32_t negotiated,
                                                std::initializer_list<payload_field> fields,
                                                std::optional<version>& out) {
  for (const auto& f : fields)
    if (f.length != 0 && f.offset < fixed) return make_error_code(error::bad_field);  // inside the fixed part
  if (!(negotiated & negotiate_flags::version)) return fixed;
  for (const auto& f : fields)
    if (f.length != 0 && f.offset < fixed + version_size) return fixed;  // payload where Version would be
  byte_reader r(m);
  version v;
  if (!r.skip(fixed) || !r.u8(v.major) || !r.u8(v.minor) || !r.u16le(v.build) || !r.skip(3) || !r.u8(v.revision))
    return make_error_code(errc::truncated);
  out = v;
  return fixed + version_size;
}

// The payload a field points at, which must lie after the header and inside the message. An empty field's offset
// is not looked at (2.2.1.1/2.2.1.2 only say what it SHOULD be).
boost::system::result<bytes_view> payload(bytes_view m, const payload_field& f, std::size_t header_end) {
  if (f.length == 0) return bytes_view{};
  const std::uint64_t end = std::uint64_t{f.offset} + f.length;
  if (f.offset < header_end || end > m.size()) return make_error_code(error::bad_field);
  return m.subspan(f.offset, f.length);
}

// AV_PAIR list (2.2.2.1): AvId(2) AvLen(2) Value, ended by MsvAvEOL with AvLen 0.
boost::system::error_code read_av_pairs(bytes_view info, std::vector<av_pair>& out) {
  byte_reader r(info);
  for (;;) {
    if (r.empty()) return make_error_code(error::missing_eol);
    std::uint16_t id = 0, length = 0;
    bytes_view value;
    if (!r.u16le(id) || !r.u16le(length)) return make_error_code(error::bad_av_pair);
    if (!r.bytes(length, value)) return make_error_code(error::bad_av_pair);
    if (id == static_cast<std::uint16_t>(av_id::eol)) {
      if (length != 0) return make_error_code(error::bad_av_pair);
      return {};  // anything after EOL is padding as far as we are concerned
    }
    out.push_back(av_pair{id, byte_buffer(value.begin(), value.end())});
  }
}

void write_version(byte_writer& w, const version& v) {
  w.u8(v.major);
  w.u8(v.minor);
  w.u16le(v.build);
  w.u8(0);
  w.u8(0);
  w.u8(0);
  w.u8(v.revision);
}

constexpr std::uint32_t max_u16 = std::numeric_limits<std::uint16_t>::max();

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

constexpr std::uint32_t replacement = 0xFFFD;

// OEM strings (a TargetName without NTLMSSP_NEGOTIATE_UNICODE) are in the server's code page, which the message
// does not name; reading them as Latin-1 keeps ASCII names right and every byte visible.
std::string latin1_to_utf8(bytes_view bytes) {
  std::string out;
  for (auto b : bytes) append_utf8(out, b);
  return out;
}

std::string name_of(const std::vector<av_pair>& pairs, av_id id) {
  const auto* p = find(pairs, id);
  return p ? utf16le_to_utf8(p->value) : std::string{};
}

}  // namespace

const boost::system::error_category& ntlm_category() noexcept {
  static const ntlm_category_impl instance;
  return instance;
}

std::string to_string(const version& v) {
  return std::to_string(v.major) + "." + std::to_string(v.minor) + "." + std::to_string(v.build);
}

boost::system::result<byte_buffer> encode(const negotiate_message& message) {
  if (message.domain_name.size() > max_u16 || message.workstation.size() > max_u16)
    return make_error_code(errc::value_out_of_range);
  const std::size_t header = negotiate_fixed_size + (message.os_version ? version_size : 0);
  byte_buffer out;
  byte_writer w(out);
  w.bytes(signature);
  w.u32le(message_type::negotiate);
  w.u32le(message.flags);
  // An absent payload gets offset 0 (2.2.1.1: DomainNameBufferOffset "SHOULD be set to zero"), as nmap sends it.
  const auto domain_at = message.domain_name.empty() ? 0 : header;
  const auto workstation_at = message.workstation.empty() ? 0 : header + message.domain_name.size();
  write_field(w, message.domain_name.size(), domain_at);
  write_field(w, message.workstation.size(), workstation_at);
  if (message.os_version) write_version(w, *message.os_version);
  w.bytes(message.domain_name);
  w.bytes(message.workstation);
  return out;
}

boost::system::result<byte_buffer> encode_av_pairs(const std::vector<av_pair>& pairs) {
  byte_buffer info;
  byte_writer w(info);
  for (const auto& p : pairs) {
    if (p.id == static_cast<std::uint16_t>(av_id::eol) || p.value.size() > max_u16)
      return make_error_code(errc::value_out_of_range);
    w.u16le(p.id);
    w.u16le(static_cast<std::uint16_t>(p.value.size()));
    w.bytes(p.value);
  }
  w.u32le(0);  // MsvAvEOL, AvLen 0
  return info;
}

boost::system::result<byte_buffer> encode(const challenge_message& message) {
  byte_buffer info;
  // A message whose flags announce Version but that has none only decodes if a payload sits where Version would
  // be (see decode_challenge); give it at least an empty TargetInfo so encode → decode gives back the same value.
  const bool versionless = (message.flags & negotiate_flags::version) && !message.os_version;
  const bool with_info = !message.target_info.empty() || (message.flags & negotiate_flags::target_info) ||
                         (versionless && message.target_name.empty());
  if (with_info) {
    auto list = encode_av_pairs(message.target_info);  // an EOL inside the list would end it early: refused there
    if (!list) return list.error();
    info = std::move(*list);
  }
  if (message.target_name.size() > max_u16 || info.size() > max_u16) return make_error_code(errc::value_out_of_range);
  const std::size_t header = challenge_fixed_size + (message.os_version ? version_size : 0);
  byte_buffer out;
  byte_writer w(out);
  w.bytes(signature);
  w.u32le(message_type::challenge);
  write_field(w, message.target_name.size(), header);
  w.u32le(message.flags);
  w.bytes(message.server_challenge);
  w.u32le(0);  // Reserved (8 bytes), MUST be zero
  w.u32le(0);
  write_field(w, info.size(), header + message.target_name.size());
  if (message.os_version) write_version(w, *message.os_version);
  w.bytes(message.target_name);
  w.bytes(info);
  return out;
}

boost::system::result<std::vector<av_pair>> decode_av_pairs(bytes_view list) {
  std::vector<av_pair> out;
  if (auto ec = read_av_pairs(list, out)) return ec;
  return out;
}

boost::system::result<byte_buffer> encode(const authenticate_message& message) {
  const bytes_view payloads[] = {message.domain, message.user, message.workstation,
                                 message.lm_response, message.nt_response, message.encrypted_session_key};
  for (const auto p : payloads)
    if (p.size() > max_u16) return make_error_code(errc::value_out_of_range);
  if (message.mic && !message.os_version) return make_error_code(errc::value_out_of_range);  // MIC sits after Version
  const std::size_t header =
      authenticate_fixed_size + (message.os_version ? version_size : 0) + (message.mic ? mic_size : 0);
  // Payload order on the wire (Domain, User, Workstation, LM, NT, key); field order in the header differs.
  std::size_t at = header;
  std::size_t offsets[6]{};
  for (std::size_t i = 0; i < 6; ++i) {
    offsets[i] = at;
    at += payloads[i].size();
  }
  byte_buffer out;
  byte_writer w(out);
  w.bytes(signature);
  w.u32le(message_type::authenticate);
  write_field(w, message.lm_response.size(), offsets[3]);
  write_field(w, message.nt_response.size(), offsets[4]);
  write_field(w, message.domain.size(), offsets[0]);
  write_field(w, message.user.size(), offsets[1]);
  write_field(w, message.workstation.size(), offsets[2]);
  write_field(w, message.encrypted_session_key.size(), offsets[5]);
  w.u32le(message.flags);
  if (message.os_version) write_version(w, *message.os_version);
  if (message.mic) w.bytes(*message.mic);
  for (const auto p : payloads) w.bytes(p);
  return out;
}

boost::system::result<authenticate_message> decode_authenticate(bytes_view m) {
  if (auto ec = check_header(m, message_type::authenticate)) return ec;
  byte_reader r(m);
  authenticate_message out;
  payload_field lm, nt, domain, user, workstation, key;
  if (!r.skip(12) || !read_field(r, lm) || !read_field(r, nt) || !read_field(r, domain) || !read_field(r, user) ||
      !read_field(r, workstation) || !read_field(r, key) || !r.u32le(out.flags))
    return make_error_code(errc::truncated);
  const std::initializer_list<payload_field> fields{lm, nt, domain, user, workstation, key};
  auto header = read_version(m, authenticate_fixed_size, out.flags, fields, out.os_version);
  if (!header) return header.error();
  std::size_t payload_start = *header;
  if (out.os_version) {
    // The MIC follows Version when no payload starts inside it (Windows and FreeRDP put the payload at 88).
    bool room = m.size() >= *header + mic_size;
    for (const auto& f : fields)
      if (f.length != 0 && f.offset < *header + mic_size) room = false;
    if (room) {
      std::array<std::uint8_t, 16> mic{};
      std::copy_n(m.begin() + static_cast<std::ptrdiff_t>(*header), mic_size, mic.begin());
      out.mic = mic;
      payload_start = *header + mic_size;
    }
  }
  const std::pair<const payload_field*, byte_buffer*> targets[] = {
      {&lm, &out.lm_response}, {&nt, &out.nt_response}, {&domain, &out.domain},
      {&user, &out.user},      {&workstation, &out.workstation}, {&key, &out.encrypted_session_key}};
  for (const auto& [field, target] : targets) {
    auto bytes = payload(m, *field, payload_start);
    if (!bytes) return bytes.error();
    target->assign(bytes->begin(), bytes->end());
  }
  return out;
}

boost::system::result<negotiate_message> decode_negotiate(bytes_view m) {
  if (auto ec = check_header(m, message_type::negotiate)) return ec;
  byte_reader r(m);
  negotiate_message out;
  out.os_version.reset();
  payload_field domain, workstation;
  if (!r.skip(12) || !r.u32le(out.flags) || !read_field(r, domain) || !read_field(r, workstation))
    return make_error_code(errc::truncated);
  auto header = read_version(m, negotiate_fixed_size, out.flags, {domain, workstation}, out.os_version);
  if (!header) return header.error();
  auto domain_bytes = payload(m, domain, *header);
  if (!domain_bytes) return domain_bytes.error();
  auto workstation_bytes = payload(m, workstation, *header);
  if (!workstation_bytes) return workstation_bytes.error();
  out.domain_name.assign(domain_bytes->begin(), domain_bytes->end());
  out.workstation.assign(workstation_bytes->begin(), workstation_bytes->end());
  return out;
}

boost::system::result<challenge_message> decode_challenge(bytes_view m) {
  if (auto ec = check_header(m, message_type::challenge)) return ec;
  byte_reader r(m);
  challenge_message out;
  payload_field target_name, target_info;
  bytes_view challenge;
  if (!r.skip(12) || !read_field(r, target_name) || !r.u32le(out.flags) || !r.bytes(8, challenge) || !r.skip(8) ||
      !read_field(r, target_info))
    return make_error_code(errc::truncated);
  std::copy(challenge.begin(), challenge.end(), out.server_challenge.begin());
  auto header = read_version(m, challenge_fixed_size, out.flags, {target_name, target_info}, out.os_version);
  if (!header) return header.error();
  auto name = payload(m, target_name, *header);
  if (!name) return name.error();
  auto info = payload(m, target_info, *header);
  if (!info) return info.error();
  out.target_name.assign(name->begin(), name->end());
  if (!info->empty())
    if (auto ec = read_av_pairs(*info, out.target_info)) return ec;
  return out;
}

std::optional<std::size_t> find_signature(bytes_view bytes) noexcept {
  const auto it = std::search(bytes.begin(), bytes.end(), signature.begin(), signature.end());
  if (it == bytes.end()) return std::nullopt;
  return static_cast<std::size_t>(it - bytes.begin());
}

const av_pair* find(const std::vector<av_pair>& pairs, av_id id) noexcept {
  for (const auto& p : pairs)
    if (p.id == static_cast<std::uint16_t>(id)) return &p;
  return nullptr;
}

challenge_facts facts(const challenge_message& message) {
  challenge_facts f;
  f.target_name = (message.flags & negotiate_flags::unicode) ? utf16le_to_utf8(message.target_name)
                                                             : latin1_to_utf8(message.target_name);
  f.netbios_computer = name_of(message.target_info, av_id::nb_computer_name);
  f.netbios_domain = name_of(message.target_info, av_id::nb_domain_name);
  f.dns_computer = name_of(message.target_info, av_id::dns_computer_name);
  f.dns_domain = name_of(message.target_info, av_id::dns_domain_name);
  f.dns_tree = name_of(message.target_info, av_id::dns_tree_name);
  if (const auto* p = find(message.target_info, av_id::flags); p && p->value.size() == 4) {
    byte_reader r(p->value);
    std::uint32_t v = 0;
    r.u32le(v);
    f.av_flags = v;
  }
  if (const auto* p = find(message.target_info, av_id::timestamp); p && p->value.size() == 8) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) v |= std::uint64_t{p->value[i]} << (8 * i);
    f.timestamp = v;
  }
  f.os_version = message.os_version;
  return f;
}

av_pair name_pair(av_id id, std::string_view utf8) {
  return av_pair{static_cast<std::uint16_t>(id), utf8_to_utf16le(utf8)};
}

av_pair timestamp_pair(std::uint64_t filetime) {
  av_pair p{static_cast<std::uint16_t>(av_id::timestamp), {}};
  for (int i = 0; i < 8; ++i) p.value.push_back(static_cast<std::uint8_t>(filetime >> (8 * i)));
  return p;
}

std::uint64_t to_filetime(std::chrono::system_clock::time_point t) noexcept {
  const auto ticks = std::chrono::duration_cast<filetime_ticks>(t.time_since_epoch()).count();
  const auto before_1970 = static_cast<std::int64_t>(filetime_unix_epoch);
  if (ticks < -before_1970) return 0;  // before 1601: FILETIME cannot say it
  return static_cast<std::uint64_t>(ticks + before_1970);
}

filetime_ticks since_unix_epoch(std::uint64_t filetime) noexcept {
  if (filetime >= filetime_unix_epoch) {
    const auto after = filetime - filetime_unix_epoch;
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    return filetime_ticks(static_cast<std::int64_t>(std::min(after, max)));
  }
  return filetime_ticks(-static_cast<std::int64_t>(filetime_unix_epoch - filetime));
}

std::string utf16le_to_utf8(bytes_view utf16le) {
  std::string out;
  out.reserve(utf16le.size());
  const std::size_t units = utf16le.size() / 2;
  auto unit = [&](std::size_t i) {
    return static_cast<std::uint32_t>(utf16le[2 * i] | (utf16le[2 * i + 1] << 8));
  };
  for (std::size_t i = 0; i < units; ++i) {
    const auto u = unit(i);
    if (u >= 0xD800 && u <= 0xDBFF) {  // high surrogate: needs a low one next
      if (i + 1 < units) {
        const auto low = unit(i + 1);
        if (low >= 0xDC00 && low <= 0xDFFF) {
          append_utf8(out, 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00));
          ++i;
          continue;
        }
      }
      append_utf8(out, u);  // kept in its three-byte form (WTF-8), not replaced: see the header
    } else if (u >= 0xDC00 && u <= 0xDFFF) {  // a low surrogate alone
      append_utf8(out, u);
    } else {
      append_utf8(out, u);
    }
  }
  if (utf16le.size() % 2) append_utf8(out, replacement);  // half a code unit at the end
  return out;
}

byte_buffer utf8_to_utf16le(std::string_view utf8) {
  byte_buffer out;
  out.reserve(utf8.size() * 2);
  auto put = [&](std::uint32_t u) {
    out.push_back(static_cast<std::uint8_t>(u));
    out.push_back(static_cast<std::uint8_t>(u >> 8));
  };
  auto byte_at = [&](std::size_t i) { return static_cast<std::uint8_t>(utf8[i]); };
  std::size_t i = 0;
  while (i < utf8.size()) {
    const auto b0 = byte_at(i);
    std::uint32_t cp = 0;
    std::size_t need = 0;
    std::uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte (Unicode 15, table 3-7)
    if (b0 < 0x80) {
      cp = b0;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
      need = 1;
      cp = b0 & 0x1Fu;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      need = 2;
      cp = b0 & 0x0Fu;
      if (b0 == 0xE0) lo = 0xA0;  // overlong
      // 0xED 0xA0..0xBF (a surrogate) is taken too: utf16le_to_utf8 writes an unpaired one that way, and this
      // must give the same code unit back.
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      need = 3;
      cp = b0 & 0x07u;
      if (b0 == 0xF0) lo = 0x90;  // overlong
      if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      put(replacement);
      ++i;
      continue;
    }
    std::size_t j = 1;
    for (; j <= need; ++j) {
      if (i + j >= utf8.size()) break;
      const auto b = byte_at(i + j);
      const auto min = j == 1 ? lo : std::uint8_t{0x80};
      const auto max = j == 1 ? hi : std::uint8_t{0xBF};
      if (b < min || b > max) break;
      cp = (cp << 6) | (b & 0x3Fu);
    }
    if (j <= need) {  // an incomplete or invalid sequence: one U+FFFD for what was read of it
      put(replacement);
      i += j;
      continue;
    }
    i += need + 1;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put(0xD800 + (cp >> 10));
      put(0xDC00 + (cp & 0x3FF));
    } else {
      put(cp);
    }
  }
  return out;
}

}  // namespace rdp::protocol::ntlm
