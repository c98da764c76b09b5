#include "rdp/protocol/activation.hpp"

#include "rdp/protocol/ntlm.hpp"  // the UTF-16LE <-> UTF-8 conversions

#include <algorithm>

namespace rdp::protocol::activation {
namespace {

using boost::system::error_code;

constexpr std::size_t max_mcs_user_data = 0x3FFF;  // two-byte PER length (mcs::write_send_data_header)
constexpr std::size_t arc_packet_size = 28;
constexpr std::uint32_t arc_version_1 = 1;
constexpr std::size_t time_zone_size = 172;      // TS_TIME_ZONE_INFORMATION
constexpr std::size_t info_string_max = 512;     // cbDomain/cbUserName/… upper bound for RDP 5.0+ clients
constexpr std::size_t extended_string_max = 512; // cbClientAddress / cbClientDir in bytes, terminator included

error_code truncated() { return make_error_code(errc::truncated); }
error_code malformed() { return make_error_code(errc::bad_share_header); }
error_code out_of_range() { return make_error_code(errc::value_out_of_range); }

// ---- Client Info strings ---------------------------------------------------------------------------------------------

// A string of `size` bytes followed by its mandatory NUL terminator (one code unit).
bool read_terminated(byte_reader& r, std::size_t size, bool unicode, std::string& out) {
  bytes_view raw;
  if (!r.bytes(size, raw) || !r.skip(unicode ? 2 : 1)) return false;
  out = unicode ? ntlm::utf16le_to_utf8(raw) : std::string(raw.begin(), raw.end());
  return true;
}

// The extended info strings (clientAddress, clientDir) count their terminator in their size and are always Unicode.
bool read_counted(byte_reader& r, std::string& out) {
  std::uint16_t size = 0;
  bytes_view raw;
  if (!r.u16le(size) || size > extended_string_max || !r.bytes(size, raw)) return false;
  auto text = ntlm::utf16le_to_utf8(raw);
  while (!text.empty() && text.back() == '\0') text.pop_back();
  out = std::move(text);
  return true;
}

// False when the text, with its terminator, is longer than the decoder accepts.
bool write_counted(byte_writer& w, std::string_view text) {
  auto wide = ntlm::utf8_to_utf16le(text);
  wide.push_back(0);
  wide.push_back(0);
  if (wide.size() > extended_string_max) return false;
  w.u16le(static_cast<std::uint16_t>(wide.size()));
  w.bytes(wide);
  return true;
}

// ---- Capability sets --------------------------------------------------------------------------------------------------

capability_set make_set(std::uint16_t type, const byte_buffer& body) { return {type, body}; }

boost::system::result<std::vector<capability_set>> read_capability_sets(byte_reader& r, std::uint16_t count) {
  std::vector<capability_set> sets;
  sets.reserve(std::min<std::size_t>(count, 64));
  for (std::uint16_t i = 0; i < count; ++i) {
    std::uint16_t type = 0, length = 0;
    if (!r.u16le(type) || !r.u16le(length)) return truncated();
    if (length < 4) return malformed();
    bytes_view body;
    if (!r.bytes(length - 4u, body)) return truncated();
    sets.push_back({type, byte_buffer(body.begin(), body.end())});
  }
  return sets;
}

void write_capability_sets(byte_writer& w, std::span<const capability_set> sets) {
  for (const auto& set : sets) {
    w.u16le(set.type);
    w.u16le(static_cast<std::uint16_t>(set.body.size() + 4));
    w.bytes(set.body);
  }
}

std::size_t combined_length(std::span<const capability_set> sets) {
  std::size_t total = 4;  // numberCapabilities, pad2Octets
  for (const auto& set : sets) total += 4 + set.body.size();
  return total;
}

// The part Demand Active and Confirm Active share after shareId (and Confirm Active's originatorId).
error_code read_active_common(byte_reader& r, std::string& source, std::vector<capability_set>& sets) {
  std::uint16_t source_length = 0, combined = 0, count = 0, pad = 0;
  bytes_view source_bytes;
  if (!r.u16le(source_length) || !r.u16le(combined) || !r.bytes(source_length, source_bytes))
    return truncated();
  source.assign(source_bytes.begin(), std::find(source_bytes.begin(), source_bytes.end(), std::uint8_t{0}));
  bytes_view combined_bytes;
  if (!r.bytes(combined, combined_bytes)) return truncated();
  byte_reader caps(combined_bytes);
  if (!caps.u16le(count) || !caps.u16le(pad)) return truncated();
  auto read = read_capability_sets(caps, count);
  if (!read) return read.error();
  // FreeRDP refuses sets that overrun lengthCombinedCapabilities; so do we (truncated above). Slack is allowed.
  sets = std::move(*read);
  return {};
}

error_code write_active_common(byte_writer& w, std::string_view source, std::span<const capability_set> sets) {
  if (sets.size() > 0xFF || source.size() > 0xFF) return out_of_range();
  const std::size_t combined = combined_length(sets);
  if (combined > max_mcs_user_data) return out_of_range();
  w.u16le(static_cast<std::uint16_t>(source.size() + 1));
  w.u16le(static_cast<std::uint16_t>(combined));
  w.text(source);
  w.u8(0);
  w.u16le(static_cast<std::uint16_t>(sets.size()));
  w.u16le(0);
  write_capability_sets(w, sets);
  return {};
}

}  // namespace

decode_result<security_header> decode_security_header(bytes_view user_data) {
  byte_reader r(user_data);
  security_header h;
  if (!r.u16le(h.flags) || !r.u16le(h.flags_hi)) return truncated();
  return decoded<security_header>{h, 4};
}

// ---- Client Info -----------------------------------------------------------------------------------------------------

decode_result<client_info> decode_client_info(bytes_view user_data) {
  auto header = decode_security_header(user_data);
  if (!header) return header.error();
  if (!(header->value.flags & security_flag::info_pkt)) return make_error_code(errc::unexpected_share_pdu);
  // An encrypted Client Info is Standard RDP Security, which this layer does not decrypt.
  if (header->value.flags & security_flag::encrypt) return malformed();
  byte_reader r(user_data.subspan(4));
  client_info info;
  std::uint16_t sizes[5] = {};
  if (!r.u32le(info.code_page) || !r.u32le(info.flags)) return truncated();
  for (auto& size : sizes)
    if (!r.u16le(size)) return truncated();
  const bool unicode = (info.flags & info_flag::unicode) != 0;
  std::string* fields[5] = {&info.domain, &info.user, &info.password, &info.alternate_shell, &info.working_dir};
  for (std::size_t i = 0; i < 5; ++i) {
    if (sizes[i] > info_string_max || (unicode && sizes[i] % 2 != 0)) return malformed();
    if (!read_terminated(r, sizes[i], unicode, *fields[i])) return truncated();
  }
  info.has_extended = !r.empty();
  if (!info.has_extended) return decoded<client_info>{info, user_data.size()};
  if (!r.u16le(info.client_address_family)) return truncated();
  if (!read_counted(r, info.client_address) || !read_counted(r, info.client_dir)) return truncated();
  // Everything after clientDir is optional in practice (2.2.1.11.1.1.1: older clients stop early); read what is there.
  if (r.remaining() >= time_zone_size + 8) {
    r.skip(time_zone_size);
    r.u32le(info.client_session_id);
    r.u32le(info.performance_flags);
    std::uint16_t cookie_size = 0;
    if (r.u16le(cookie_size) && cookie_size != 0) {
      if (cookie_size != arc_packet_size) return malformed();
      std::uint32_t length = 0, version = 0;
      arc_client_cookie cookie;
      bytes_view verifier;
      if (!r.u32le(length) || !r.u32le(version) || !r.u32le(cookie.logon_id) || !r.bytes(16, verifier))
        return truncated();
      if (length != arc_packet_size) return malformed();
      std::copy(verifier.begin(), verifier.end(), cookie.security_verifier.begin());
      info.auto_reconnect_cookie = cookie;
    }
  }
  return decoded<client_info>{info, user_data.size()};
}

boost::system::result<byte_buffer> encode(const client_info& info, const share::data_pdu_route& route) {
  byte_buffer body;
  byte_writer w(body);
  w.u16le(security_flag::info_pkt);
  w.u16le(0);
  w.u32le(info.code_page);
  w.u32le(info.flags | info_flag::unicode);
  const std::string* fields[5] = {&info.domain, &info.user, &info.password, &info.alternate_shell,
                                  &info.working_dir};
  std::vector<byte_buffer> wide;
  for (const auto* field : fields) {
    wide.push_back(ntlm::utf8_to_utf16le(*field));
    if (wide.back().size() > info_string_max) return out_of_range();
    w.u16le(static_cast<std::uint16_t>(wide.back().size()));
  }
  for (const auto& text : wide) {
    w.bytes(text);
    w.u16le(0);
  }
  if (info.has_extended) {
    w.u16le(info.client_address_family);
    if (!write_counted(w, info.client_address) || !write_counted(w, info.client_dir)) return out_of_range();
    body.insert(body.end(), time_zone_size, 0);
    w.u32le(info.client_session_id);
    w.u32le(info.performance_flags);
    if (info.auto_reconnect_cookie) {
      w.u16le(arc_packet_size);
      w.u32le(arc_packet_size);
      w.u32le(arc_version_1);
      w.u32le(info.auto_reconnect_cookie->logon_id);
      w.bytes(info.auto_reconnect_cookie->security_verifier);
    } else {
      w.u16le(0);
    }
    // reserved1, reserved2, cbDynamicDSTTimeZoneKeyName 0 (no key name) and dynamicDaylightTimeDisabled 0. Optional
    // for the spec, but Wireshark 4.0 reads them as required and calls a Client Info without them malformed
    // (docs/pcap.md); mstsc sends them.
    for (int i = 0; i < 4; ++i) w.u16le(0);
  }
  if (body.size() > max_mcs_user_data) return out_of_range();
  return share::encode_send_data(body, route);
}

// ---- Licensing -------------------------------------------------------------------------------------------------------

byte_buffer encode(const license_error_alert& alert, const share::data_pdu_route& route) {
  byte_buffer body;
  byte_writer w(body);
  w.u16le(security_flag::license_pkt);
  w.u16le(0);
  w.u8(alert.msg_type);
  w.u8(alert.flags);
  w.u16le(16);  // wMsgSize: preamble, dwErrorCode, dwStateTransition, empty bbErrorInfo
  w.u32le(alert.error_code);
  w.u32le(alert.state_transition);
  w.u16le(0x0004);  // BB_ERROR_BLOB
  w.u16le(0);
  return share::encode_send_data(body, route);
}

decode_result<license_error_alert> decode_license_error_alert(bytes_view user_data) {
  auto header = decode_security_header(user_data);
  if (!header) return header.error();
  if (!(header->value.flags & security_flag::license_pkt)) return make_error_code(errc::unexpected_share_pdu);
  byte_reader r(user_data.subspan(4));
  license_error_alert alert;
  std::uint16_t size = 0, blob_type = 0, blob_length = 0;
  if (!r.u8(alert.msg_type) || !r.u8(alert.flags) || !r.u16le(size)) return truncated();
  if (alert.msg_type != 0xFF) return make_error_code(errc::unexpected_share_pdu);
  if (!r.u32le(alert.error_code) || !r.u32le(alert.state_transition) || !r.u16le(blob_type) ||
      !r.u16le(blob_length) || !r.skip(blob_length))
    return truncated();
  return decoded<license_error_alert>{alert, 4 + r.position()};
}

// ---- Capabilities ----------------------------------------------------------------------------------------------------

capability_summary summarize(std::span<const capability_set> sets) {
  capability_summary s;
  for (const auto& set : sets) {
    byte_reader r(set.body);
    std::uint16_t a = 0, b = 0;
    switch (set.type) {
      case capability_type::general:
        if (r.u16le(a) && r.u16le(b)) {
          s.os_major = a;
          s.os_minor = b;
        }
        // protocolVersion, pad2octetsA, generalCompressionTypes, then extraFlags
        if (r.skip(6) && r.u16le(a)) s.general_extra_flags = a;
        break;
      case capability_type::bitmap:
        if (r.u16le(a)) s.bits_per_pixel = a;
        if (r.skip(6) && r.u16le(a) && r.u16le(b)) {
          s.desktop_width = a;
          s.desktop_height = b;
        }
        break;
      case capability_type::input:
        if (r.u16le(a)) s.input_flags = a;
        break;
      case capability_type::multifragment_update: {
        std::uint32_t size = 0;
        if (r.u32le(size)) s.multifragment_max_request = size;
        break;
      }
      default: break;
    }
  }
  return s;
}

std::vector<capability_set> make_server_capability_sets(const server_capabilities& caps) {
  std::vector<capability_set> sets;
  byte_buffer body;
  byte_writer w(body);
  // General (2.2.7.1.1): Windows NT, protocol 0x0200, no compression, extraFlags, refresh/suppress output supported.
  w.u16le(1);
  w.u16le(3);
  w.u16le(0x0200);
  w.u16le(0);
  w.u16le(0);
  w.u16le(static_cast<std::uint16_t>(general_extra_flag::long_credentials_supported |
                                     general_extra_flag::no_bitmap_compression_hdr |
                                     (caps.auto_reconnect ? general_extra_flag::autoreconnect_supported : 0)));
  w.u16le(0);
  w.u16le(0);
  w.u16le(0);
  w.u8(1);
  w.u8(1);
  sets.push_back(make_set(capability_type::general, body));
  body.clear();
  // Bitmap (2.2.7.1.2): the desktop the session has; the client sizes its framebuffer from it.
  w.u16le(caps.bits_per_pixel);
  w.u16le(1);
  w.u16le(1);
  w.u16le(1);
  w.u16le(caps.desktop_width);
  w.u16le(caps.desktop_height);
  w.u16le(0);
  w.u16le(1);  // desktopResizeFlag
  w.u16le(1);  // bitmapCompressionFlag (MUST be TRUE)
  w.u8(0);
  w.u8(0);
  w.u16le(1);  // multipleRectangleSupport
  w.u16le(0);
  sets.push_back(make_set(capability_type::bitmap, body));
  body.clear();
  // Order (2.2.7.1.3): no drawing orders supported: the simulator draws with bitmaps only.
  body.insert(body.end(), 16, 0);  // terminalDescriptor
  w.u32le(0);
  w.u16le(1);
  w.u16le(20);
  w.u16le(0);
  w.u16le(1);  // maximumOrderLevel
  w.u16le(0);
  w.u16le(0x0002 | 0x0008);  // NEGOTIATEORDERSUPPORT | ZEROBOUNDSDELTASSUPPORT
  body.insert(body.end(), 32, 0);  // orderSupport: none
  w.u16le(0);
  w.u16le(0);
  w.u32le(0);
  w.u32le(0);  // desktopSaveSize
  w.u16le(0);
  w.u16le(0);
  w.u16le(0);  // textANSICodePage
  w.u16le(0);
  sets.push_back(make_set(capability_type::order, body));
  body.clear();
  // Pointer (2.2.7.1.5): color pointers, 25-entry caches.
  w.u16le(1);
  w.u16le(25);
  w.u16le(25);
  sets.push_back(make_set(capability_type::pointer, body));
  body.clear();
  // Input (2.2.7.1.6): scancodes, extended mouse, Unicode; no fast-path input (the simulator reads slow path only).
  w.u16le(0x0001 | 0x0004 | 0x0010);
  w.u16le(0);
  w.u32le(0);
  w.u32le(0);
  w.u32le(0);
  w.u32le(0);
  body.insert(body.end(), 64, 0);
  sets.push_back(make_set(capability_type::input, body));
  body.clear();
  // Virtual Channel (2.2.7.1.10): no compression, 1600-byte chunks.
  w.u32le(0);
  w.u32le(1600);
  sets.push_back(make_set(capability_type::virtual_channel, body));
  body.clear();
  // Share (2.2.7.2.3): the server's channel id.
  w.u16le(caps.share_node_id);
  w.u16le(0);
  sets.push_back(make_set(capability_type::share, body));
  body.clear();
  // Font (2.2.7.2.5): FONTSUPPORT_FONTLIST.
  w.u16le(0x0001);
  w.u16le(0);
  sets.push_back(make_set(capability_type::font, body));
  body.clear();
  // Multifragment Update (2.2.7.2.6).
  w.u32le(caps.multifragment_max_request);
  sets.push_back(make_set(capability_type::multifragment_update, body));
  return sets;
}

boost::system::result<byte_buffer> encode(const demand_active& pdu, const share::data_pdu_route& route) {
  byte_buffer body;
  byte_writer w(body);
  w.u32le(pdu.share_id);
  if (auto ec = write_active_common(w, pdu.source_descriptor, pdu.capabilities)) return ec;
  w.u32le(pdu.session_id);
  if (body.size() + share::control_header_size > max_mcs_user_data) return out_of_range();
  return share::encode_control_pdu(share::pdu_type::demand_active, body, route);
}

boost::system::result<byte_buffer> encode(const confirm_active& pdu, const share::data_pdu_route& route) {
  byte_buffer body;
  byte_writer w(body);
  w.u32le(pdu.share_id);
  w.u16le(pdu.originator_id);
  if (auto ec = write_active_common(w, pdu.source_descriptor, pdu.capabilities)) return ec;
  if (body.size() + share::control_header_size > max_mcs_user_data) return out_of_range();
  return share::encode_control_pdu(share::pdu_type::confirm_active, body, route);
}

decode_result<demand_active> decode_demand_active(bytes_view user_data) {
  auto pdu = share::decode_share_pdu(user_data);
  if (!pdu) return pdu.error();
  if (pdu->value.control.type != share::pdu_type::demand_active) return make_error_code(errc::unexpected_share_pdu);
  byte_reader r(pdu->value.body);
  demand_active out;
  if (!r.u32le(out.share_id)) return truncated();
  if (auto ec = read_active_common(r, out.source_descriptor, out.capabilities)) return ec;
  r.u32le(out.session_id);  // absent in pre-RDP 5 servers
  return decoded<demand_active>{std::move(out), pdu->consumed};
}

decode_result<confirm_active> decode_confirm_active(bytes_view user_data) {
  auto pdu = share::decode_share_pdu(user_data);
  if (!pdu) return pdu.error();
  if (pdu->value.control.type != share::pdu_type::confirm_active) return make_error_code(errc::unexpected_share_pdu);
  byte_reader r(pdu->value.body);
  confirm_active out;
  if (!r.u32le(out.share_id) || !r.u16le(out.originator_id)) return truncated();
  if (auto ec = read_active_common(r, out.source_descriptor, out.capabilities)) return ec;
  return decoded<confirm_active>{std::move(out), pdu->consumed};
}

// ---- Finalization ----------------------------------------------------------------------------------------------------

byte_buffer encode(const synchronize& pdu, const share::data_pdu_route& route) {
  byte_buffer body;
  byte_writer w(body);
  w.u16le(1);  // SYNCMSGTYPE_SYNC
  w.u16le(pdu.target_user);
  return share::encode_data_pdu(share::pdu_type2::synchronize, body, route);
}

byte_buffer encode(const control& pdu, const share::data_pdu_route& route) {
  byte_buffer body;
  byte_writer w(body);
  w.u16le(pdu.action);
  w.u16le(pdu.grant_id);
  w.u32le(pdu.control_id);
  return share::encode_data_pdu(share::pdu_type2::control, body, route);
}

byte_buffer encode_font_list(const share::data_pdu_route& route) {
  byte_buffer body;
  byte_writer w(body);
  w.u16le(0);
  w.u16le(0);
  w.u16le(0x0003);  // FONTLIST_FIRST | FONTLIST_LAST
  w.u16le(0x0032);  // entrySize 50
  return share::encode_data_pdu(share::pdu_type2::font_list, body, route);
}

byte_buffer encode_input_synchronize(std::uint32_t toggle_flags, const share::data_pdu_route& route) {
  byte_buffer body;
  byte_writer w(body);
  w.u16le(1);       // numEvents
  w.u16le(0);       // pad2Octets
  w.u32le(0);       // eventTime: ignored by the server (2.2.8.1.1.3.1.1)
  w.u16le(0x0000);  // messageType: INPUT_EVENT_SYNC
  w.u16le(0);       // TS_SYNC_EVENT pad2Octets
  w.u32le(toggle_flags);
  return share::encode_data_pdu(share::pdu_type2::input, body, route);
}

byte_buffer encode_font_map(const share::data_pdu_route& route) {
  byte_buffer body;
  byte_writer w(body);
  w.u16le(0);
  w.u16le(0);
  w.u16le(0x0003);  // FONTMAP_FIRST | FONTMAP_LAST
  w.u16le(0x0004);  // entrySize 4
  return share::encode_data_pdu(share::pdu_type2::font_map, body, route);
}

decode_result<synchronize> decode_synchronize(bytes_view body) {
  byte_reader r(body);
  std::uint16_t type = 0;
  synchronize pdu;
  if (!r.u16le(type) || !r.u16le(pdu.target_user)) return truncated();
  if (type != 1) return malformed();
  return decoded<synchronize>{pdu, 4};
}

decode_result<control> decode_control(bytes_view body) {
  byte_reader r(body);
  control pdu;
  if (!r.u16le(pdu.action) || !r.u16le(pdu.grant_id) || !r.u32le(pdu.control_id)) return truncated();
  if (pdu.action < control_action::request_control || pdu.action > control_action::cooperate) return malformed();
  return decoded<control>{pdu, 8};
}

// ---- Active session --------------------------------------------------------------------------------------------------

boost::system::result<byte_buffer> encode_bitmap_update(std::span<const bitmap_rectangle> rectangles,
                                                        const share::data_pdu_route& route) {
  if (rectangles.empty() || rectangles.size() > 0xFFFF) return out_of_range();
  byte_buffer body;
  byte_writer w(body);
  w.u16le(0x0001);  // UPDATETYPE_BITMAP
  w.u16le(static_cast<std::uint16_t>(rectangles.size()));
  for (const auto& rect : rectangles) {
    const std::size_t expected = std::size_t{rect.width} * rect.height * ((rect.bits_per_pixel + 7u) / 8u);
    if (rect.width == 0 || rect.height == 0 || rect.pixels.size() != expected || expected > 0xFFFF)
      return out_of_range();
    w.u16le(rect.left);
    w.u16le(rect.top);
    w.u16le(static_cast<std::uint16_t>(rect.left + rect.width - 1));  // destRight/destBottom are inclusive
    w.u16le(static_cast<std::uint16_t>(rect.top + rect.height - 1));
    w.u16le(rect.width);
    w.u16le(rect.height);
    w.u16le(rect.bits_per_pixel);
    w.u16le(0);  // flags: uncompressed
    w.u16le(static_cast<std::uint16_t>(rect.pixels.size()));
    w.bytes(rect.pixels);
  }
  if (body.size() + share::control_header_size + share::data_header_size > max_mcs_user_data) return out_of_range();
  return share::encode_data_pdu(share::pdu_type2::update, body, route);
}

boost::system::result<byte_buffer> encode_logon_long(std::uint32_t session_id, std::string_view domain,
                                                     std::string_view user, const share::data_pdu_route& route) {
  auto wide_domain = ntlm::utf8_to_utf16le(domain);
  auto wide_user = ntlm::utf8_to_utf16le(user);
  wide_domain.insert(wide_domain.end(), {0, 0});
  wide_user.insert(wide_user.end(), {0, 0});
  // 2.2.10.1.1.2: cbDomain at most 52 bytes, cbUserName at most 512, both with the terminator.
  if (wide_domain.size() > 52 || wide_user.size() > 512) return out_of_range();
  byte_buffer body;
  byte_writer w(body);
  w.u32le(info_type::logon_long);
  w.u16le(0x0001);  // SAVE_SESSION_PDU_VERSION_ONE
  w.u32le(576);     // Size of the fixed part
  w.u32le(session_id);
  w.u32le(static_cast<std::uint32_t>(wide_domain.size()));
  w.u32le(static_cast<std::uint32_t>(wide_user.size()));
  body.insert(body.end(), 558, 0);
  w.bytes(wide_domain);
  w.bytes(wide_user);
  return share::encode_data_pdu(share::pdu_type2::save_session_info, body, route);
}

byte_buffer encode_logon_extended(const std::optional<arc_server_cookie>& cookie,
                                  const std::optional<logon_errors>& errors, const share::data_pdu_route& route) {
  byte_buffer fields;
  byte_writer f(fields);
  std::uint32_t present = 0;
  if (cookie) {
    present |= 0x00000001;  // LOGON_EX_AUTORECONNECTCOOKIE
    f.u32le(arc_packet_size);
    f.u32le(arc_packet_size);
    f.u32le(arc_version_1);
    f.u32le(cookie->logon_id);
    f.bytes(cookie->random_bits);
  }
  if (errors) {
    present |= 0x00000002;  // LOGON_EX_LOGONERRORS
    f.u32le(8);
    f.u32le(errors->error_notification_type);
    f.u32le(errors->error_notification_data);
  }
  byte_buffer body;
  byte_writer w(body);
  w.u32le(info_type::logon_extended_info);
  w.u16le(static_cast<std::uint16_t>(2 + 4 + fields.size()));  // Length: without the pad
  w.u32le(present);
  w.bytes(fields);
  body.insert(body.end(), 570, 0);
  return share::encode_data_pdu(share::pdu_type2::save_session_info, body, route);
}

decode_result<save_session_info> decode_save_session_info(bytes_view body) {
  byte_reader r(body);
  save_session_info info;
  if (!r.u32le(info.type)) return truncated();
  switch (info.type) {
    case info_type::logon_long: {
      std::uint16_t version = 0;
      std::uint32_t size = 0, session = 0, domain_size = 0, user_size = 0;
      if (!r.u16le(version) || !r.u32le(size) || !r.u32le(session) || !r.u32le(domain_size) ||
          !r.u32le(user_size) || !r.skip(558))
        return truncated();
      if (domain_size > 52 || user_size > 512) return malformed();
      bytes_view domain, user;
      if (!r.bytes(domain_size, domain) || !r.bytes(user_size, user)) return truncated();
      info.session_id = session;
      info.domain = ntlm::utf16le_to_utf8(domain);
      info.user = ntlm::utf16le_to_utf8(user);
      while (!info.domain.empty() && info.domain.back() == '\0') info.domain.pop_back();
      while (!info.user.empty() && info.user.back() == '\0') info.user.pop_back();
      break;
    }
    case info_type::logon: {
      // TS_LOGON_INFO: cbDomain, Domain[52], cbUserName, UserName[512], SessionId.
      std::uint32_t domain_size = 0, user_size = 0, session = 0;
      bytes_view domain, user;
      if (!r.u32le(domain_size) || !r.bytes(52, domain) || !r.u32le(user_size) || !r.bytes(512, user) ||
          !r.u32le(session))
        return truncated();
      if (domain_size > 52 || user_size > 512) return malformed();
      info.session_id = session;
      info.domain = ntlm::utf16le_to_utf8(domain.first(domain_size));
      info.user = ntlm::utf16le_to_utf8(user.first(user_size));
      while (!info.domain.empty() && info.domain.back() == '\0') info.domain.pop_back();
      while (!info.user.empty() && info.user.back() == '\0') info.user.pop_back();
      break;
    }
    case info_type::logon_extended_info: {
      std::uint16_t length = 0;
      std::uint32_t present = 0;
      if (!r.u16le(length) || !r.u32le(present)) return truncated();
      if (present & 0x00000001) {
        std::uint32_t field = 0, cb = 0, version = 0;
        arc_server_cookie cookie;
        bytes_view bits;
        if (!r.u32le(field) || !r.u32le(cb) || !r.u32le(version) || !r.u32le(cookie.logon_id) || !r.bytes(16, bits))
          return truncated();
        if (field != arc_packet_size || cb != arc_packet_size) return malformed();
        std::copy(bits.begin(), bits.end(), cookie.random_bits.begin());
        info.cookie = cookie;
      }
      if (present & 0x00000002) {
        std::uint32_t field = 0;
        logon_errors errors;
        if (!r.u32le(field) || !r.u32le(errors.error_notification_type) || !r.u32le(errors.error_notification_data))
          return truncated();
        if (field != 8) return malformed();
        info.errors = errors;
      }
      break;
    }
    case info_type::logon_plain_notify: break;
    default: return malformed();
  }
  return decoded<save_session_info>{std::move(info), body.size()};
}

byte_buffer encode_auto_reconnect_status(const share::data_pdu_route& route) {
  byte_buffer body;
  byte_writer(body).u32le(0);  // arcStatus: the only value defined
  return share::encode_data_pdu(share::pdu_type2::arc_status, body, route);
}

byte_buffer encode(const heartbeat& pdu, const share::data_pdu_route& route) {
  byte_buffer body;
  byte_writer w(body);
  w.u16le(security_flag::heartbeat);
  w.u16le(0);
  w.u8(0);  // reserved
  w.u8(pdu.period);
  w.u8(pdu.count1);
  w.u8(pdu.count2);
  return share::encode_send_data(body, route);
}

decode_result<heartbeat> decode_heartbeat(bytes_view user_data) {
  auto header = decode_security_header(user_data);
  if (!header) return header.error();
  if (!(header->value.flags & security_flag::heartbeat)) return make_error_code(errc::unexpected_share_pdu);
  byte_reader r(user_data.subspan(4));
  heartbeat pdu;
  std::uint8_t reserved = 0;
  if (!r.u8(reserved) || !r.u8(pdu.period) || !r.u8(pdu.count1) || !r.u8(pdu.count2)) return truncated();
  return decoded<heartbeat>{pdu, 8};
}

}  // namespace rdp::protocol::activation
