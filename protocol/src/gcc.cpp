#include "rdp/protocol/gcc.hpp"

#include "rdp/protocol/hex.hpp"
#include "rdp/protocol/per.hpp"

#include <algorithm>
#include <array>

namespace rdp::protocol::gcc {
namespace {

using boost::system::error_code;

// T.124 (02/98) object identifier {itu-t(0) recommendation(0) t(20) t124(124) version(0) 1}, the ConnectData key
// RDP uses in both directions (2.2.1.3.1, 2.2.1.4.1).
constexpr per::object_identifier t124_oid{0, 0, 20, 124, 0, 1};
// H.221 non-standard keys of the GCC user data set: client to server "Duca", server to client "McDn".
constexpr std::array<std::uint8_t, 4> h221_client_key{'D', 'u', 'c', 'a'};
constexpr std::array<std::uint8_t, 4> h221_server_key{'M', 'c', 'D', 'n'};
// T.124 ConferenceCreateResponse::result has 16 values in FreeRDP's table (MCS_Result_enum_length).
constexpr std::uint8_t create_result_count = 16;

// A fixed-size UTF-16LE field: the text up to the first NUL (or the whole field).
bool read_utf16(byte_reader& r, std::size_t units, std::u16string& out) {
  bytes_view raw;
  if (!r.bytes(units * 2, raw)) return false;
  out.clear();
  for (std::size_t i = 0; i < units; ++i) {
    const auto c = static_cast<char16_t>(raw[2 * i] | (raw[2 * i + 1] << 8));
    if (c == 0) break;
    out.push_back(c);
  }
  return true;
}

// Writes `text` NUL-padded to `units`; a text that fills the field has no terminator (the reader stops at the
// field's end). A NUL inside the text could not be read back, so it is refused like an overlong text.
error_code write_utf16(byte_writer& w, const std::u16string& text, std::size_t units) {
  if (text.size() > units || text.find(u'\0') != std::u16string::npos) return errc::value_out_of_range;
  for (char16_t c : text) w.u16le(static_cast<std::uint16_t>(c));
  for (std::size_t i = text.size(); i < units; ++i) w.u16le(0);
  return {};
}

error_code write_block(byte_writer& w, std::uint16_t type, bytes_view body) {
  if (body.size() > 0xFFFF - block_header_size) return errc::value_out_of_range;
  w.u16le(type);
  w.u16le(static_cast<std::uint16_t>(body.size() + block_header_size));
  w.bytes(body);
  return {};
}

// Walks TS_UD_HEADER-framed blocks (2.2.1.3.1): type LE16, length LE16 including the header.
template <class OnBlock>
error_code for_each_block(bytes_view blocks, OnBlock on_block) {
  byte_reader r(blocks);
  while (!r.empty()) {
    std::uint16_t type = 0, length = 0;
    if (!r.u16le(type) || !r.u16le(length)) return errc::truncated;
    if (length < block_header_size) return errc::bad_mcs;
    bytes_view body;
    if (!r.bytes(length - block_header_size, body)) return errc::truncated;
    if (auto ec = on_block(type, body)) return ec;
  }
  return {};
}

// Stores a decoded known block, refusing a second copy of it.
template <class T>
error_code store_once(std::optional<T>& slot, boost::system::result<T> value) {
  if (!value) return value.error();
  if (slot) return errc::bad_mcs;
  slot = std::move(*value);
  return {};
}

// ---- client blocks -------------------------------------------------------------------------------------------

error_code write_client_core(byte_writer& out, const client_core_data& c) {
  byte_buffer body;
  byte_writer w(body);
  w.u32le(c.version);
  w.u16le(c.desktop_width);
  w.u16le(c.desktop_height);
  w.u16le(c.color_depth);
  w.u16le(c.sas_sequence);
  w.u32le(c.keyboard_layout);
  w.u32le(c.client_build);
  if (auto ec = write_utf16(w, c.client_name, 16)) return ec;
  w.u32le(c.keyboard_type);
  w.u32le(c.keyboard_subtype);
  w.u32le(c.keyboard_function_keys);
  if (auto ec = write_utf16(w, c.ime_file_name, 32)) return ec;
  // 2.2.1.3.2: "If this field is present, all of the preceding fields MUST also be present."
  bool ended = false;
  error_code failed;
  auto tail = [&](const auto& field, auto put) {
    if (!field) {
      ended = true;
    } else if (ended) {
      failed = errc::value_out_of_range;
    } else if (auto ec = put(*field)) {
      failed = ec;
    }
  };
  auto u16 = [&](std::uint16_t v) { w.u16le(v); return error_code{}; };
  auto u32 = [&](std::uint32_t v) { w.u32le(v); return error_code{}; };
  tail(c.post_beta2_color_depth, u16);
  tail(c.client_product_id, u16);
  tail(c.serial_number, u32);
  tail(c.high_color_depth, u16);
  tail(c.supported_color_depths, u16);
  tail(c.early_capability_flags, u16);
  tail(c.client_dig_product_id, [&](const std::u16string& s) { return write_utf16(w, s, 32); });
  tail(c.connection_type, [&](std::uint8_t v) {
    w.u8(v);
    w.u8(0);  // pad1octet
    return error_code{};
  });
  tail(c.server_selected_protocol, u32);
  tail(c.desktop_physical_width, u32);
  tail(c.desktop_physical_height, u32);
  tail(c.desktop_orientation, u16);
  tail(c.desktop_scale_factor, u32);
  tail(c.device_scale_factor, u32);
  if (failed) return failed;
  return write_block(out, block_type::cs_core, body);
}

boost::system::result<client_core_data> read_client_core(bytes_view body) {
  byte_reader r(body);
  client_core_data c;
  if (!r.u32le(c.version) || !r.u16le(c.desktop_width) || !r.u16le(c.desktop_height) || !r.u16le(c.color_depth) ||
      !r.u16le(c.sas_sequence) || !r.u32le(c.keyboard_layout) || !r.u32le(c.client_build) ||
      !read_utf16(r, 16, c.client_name) || !r.u32le(c.keyboard_type) || !r.u32le(c.keyboard_subtype) ||
      !r.u32le(c.keyboard_function_keys) || !read_utf16(r, 32, c.ime_file_name))
    return make_error_code(errc::bad_mcs);
  // Optional fields: as many whole ones as the block holds, in order; a partial last field is ignored, as
  // FreeRDP's gcc_read_client_core_data does, and so is anything after the last field we know.
  bool more = true;
  auto u16 = [&](std::optional<std::uint16_t>& f) {
    std::uint16_t v = 0;
    if (more && (more = r.u16le(v))) f = v;
  };
  auto u32 = [&](std::optional<std::uint32_t>& f) {
    std::uint32_t v = 0;
    if (more && (more = r.u32le(v))) f = v;
  };
  u16(c.post_beta2_color_depth);
  u16(c.client_product_id);
  u32(c.serial_number);
  u16(c.high_color_depth);
  u16(c.supported_color_depths);
  u16(c.early_capability_flags);
  if (more) {
    std::u16string dig;
    if ((more = read_utf16(r, 32, dig))) c.client_dig_product_id = std::move(dig);
  }
  if (more) {
    std::uint8_t type = 0;
    if ((more = r.u8(type))) {
      c.connection_type = type;
      more = r.skip(1);  // pad1octet
    }
  }
  u32(c.server_selected_protocol);
  u32(c.desktop_physical_width);
  u32(c.desktop_physical_height);
  u16(c.desktop_orientation);
  u32(c.desktop_scale_factor);
  u32(c.device_scale_factor);
  return c;
}

error_code write_client_security(byte_writer& out, const client_security_data& s) {
  byte_buffer body;
  byte_writer w(body);
  w.u32le(s.encryption_methods);
  w.u32le(s.ext_encryption_methods);
  return write_block(out, block_type::cs_security, body);
}

boost::system::result<client_security_data> read_client_security(bytes_view body) {
  byte_reader r(body);
  client_security_data s;
  if (!r.u32le(s.encryption_methods) || !r.u32le(s.ext_encryption_methods)) return make_error_code(errc::bad_mcs);
  return s;
}

error_code write_client_network(byte_writer& out, const client_network_data& n) {
  byte_buffer body;
  byte_writer w(body);
  w.u32le(static_cast<std::uint32_t>(n.channels.size()));
  for (const auto& ch : n.channels) {
    // CHANNEL_DEF.name is 8 bytes; the reader stops at a NUL, so a name cannot hold one.
    if (ch.name.size() > 8 || ch.name.find('\0') != std::string::npos) return errc::value_out_of_range;
    w.text(ch.name);
    for (std::size_t i = ch.name.size(); i < 8; ++i) w.u8(0);
    w.u32le(ch.options);
  }
  return write_block(out, block_type::cs_net, body);
}

boost::system::result<client_network_data> read_client_network(bytes_view body) {
  byte_reader r(body);
  client_network_data n;
  std::uint32_t count = 0;
  if (!r.u32le(count)) return make_error_code(errc::bad_mcs);
  if (count > r.remaining() / 12) return make_error_code(errc::bad_mcs);  // checked before reserving anything
  n.channels.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    bytes_view name;
    channel_def ch;
    r.bytes(8, name);
    r.u32le(ch.options);
    const auto end = std::find(name.begin(), name.end(), std::uint8_t{0});
    ch.name.assign(name.begin(), end);
    n.channels.push_back(std::move(ch));
  }
  return n;
}

error_code write_client_cluster(byte_writer& out, const client_cluster_data& c) {
  byte_buffer body;
  byte_writer w(body);
  w.u32le(c.flags);
  w.u32le(c.redirected_session_id);
  return write_block(out, block_type::cs_cluster, body);
}

boost::system::result<client_cluster_data> read_client_cluster(bytes_view body) {
  byte_reader r(body);
  client_cluster_data c;
  if (!r.u32le(c.flags) || !r.u32le(c.redirected_session_id)) return make_error_code(errc::bad_mcs);
  return c;
}

// ---- server blocks -------------------------------------------------------------------------------------------

error_code write_server_core(byte_writer& out, const server_core_data& c) {
  if (c.early_capability_flags && !c.client_requested_protocols) return errc::value_out_of_range;
  byte_buffer body;
  byte_writer w(body);
  w.u32le(c.version);
  if (c.client_requested_protocols) w.u32le(*c.client_requested_protocols);
  if (c.early_capability_flags) w.u32le(*c.early_capability_flags);
  return write_block(out, block_type::sc_core, body);
}

boost::system::result<server_core_data> read_server_core(bytes_view body) {
  byte_reader r(body);
  server_core_data c;
  if (!r.u32le(c.version)) return make_error_code(errc::bad_mcs);
  std::uint32_t v = 0;
  if (r.u32le(v)) {
    c.client_requested_protocols = v;
    if (r.u32le(v)) c.early_capability_flags = v;
  }
  return c;
}

error_code write_server_security(byte_writer& out, const server_security_data& s) {
  byte_buffer body;
  byte_writer w(body);
  w.u32le(s.encryption_method);
  w.u32le(s.encryption_level);
  if (s.keys) {
    if (s.keys->server_random.size() > 0xFFFF || s.keys->server_certificate.size() > 0xFFFF)
      return errc::value_out_of_range;
    w.u32le(static_cast<std::uint32_t>(s.keys->server_random.size()));
    w.u32le(static_cast<std::uint32_t>(s.keys->server_certificate.size()));
    w.bytes(s.keys->server_random);
    w.bytes(s.keys->server_certificate);
  }
  return write_block(out, block_type::sc_security, body);
}

boost::system::result<server_security_data> read_server_security(bytes_view body) {
  byte_reader r(body);
  server_security_data s;
  if (!r.u32le(s.encryption_method) || !r.u32le(s.encryption_level)) return make_error_code(errc::bad_mcs);
  if (r.empty()) return s;
  std::uint32_t random_length = 0, certificate_length = 0;
  bytes_view random, certificate;
  // The lengths are checked against the block before anything is copied, so a lying length costs nothing.
  if (!r.u32le(random_length) || !r.u32le(certificate_length) || !r.bytes(random_length, random) ||
      !r.bytes(certificate_length, certificate))
    return make_error_code(errc::bad_mcs);
  s.keys = server_keys{byte_buffer(random.begin(), random.end()), byte_buffer(certificate.begin(), certificate.end())};
  return s;
}

error_code write_server_network(byte_writer& out, const server_network_data& n) {
  if (n.channel_ids.size() > 0xFFFF) return errc::value_out_of_range;
  byte_buffer body;
  byte_writer w(body);
  w.u16le(n.mcs_channel_id);
  w.u16le(static_cast<std::uint16_t>(n.channel_ids.size()));
  for (auto id : n.channel_ids) w.u16le(id);
  if (n.channel_ids.size() % 2) w.u16le(0);  // 2.2.1.4.4 Pad: keeps the block a multiple of 4 bytes
  return write_block(out, block_type::sc_net, body);
}

boost::system::result<server_network_data> read_server_network(bytes_view body) {
  byte_reader r(body);
  server_network_data n;
  std::uint16_t count = 0;
  if (!r.u16le(n.mcs_channel_id) || !r.u16le(count)) return make_error_code(errc::bad_mcs);
  if (count > r.remaining() / 2) return make_error_code(errc::bad_mcs);
  n.channel_ids.resize(count);
  for (auto& id : n.channel_ids) r.u16le(id);
  // The pad after an odd count is not checked: FreeRDP does not insist on it either.
  return n;
}

// The ConnectData header both directions share: key choice 0 (object) and the T.124 OID, then the connectPDU
// length, whose value the readers ignore (2.2.1.4: clients MUST ignore it; FreeRDP ignores it both ways).
error_code read_connect_data_header(byte_reader& r) {
  std::uint8_t key_choice = 0;
  if (!r.u8(key_choice)) return errc::truncated;
  if (key_choice != 0) return errc::bad_mcs;
  per::object_identifier oid{};
  if (auto ec = per::read_object_identifier(r, oid)) return ec;
  if (oid != t124_oid) return errc::bad_mcs;
  std::size_t ignored = 0;
  return per::read_length(r, ignored);
}

// The H.221 key and the user data length that end both headers; `blocks` is what follows, exactly that long.
error_code read_user_data(byte_reader& r, const std::array<std::uint8_t, 4>& key, bytes_view& blocks) {
  std::uint8_t sets = 0, choice = 0;
  // number of UserData sets (1) and "value present + h221NonStandard" (0xC0): FreeRDP reads both unchecked.
  if (!r.u8(sets) || !r.u8(choice)) return errc::truncated;
  bytes_view h221;
  if (auto ec = per::read_octet_string(r, 4, h221)) return ec;
  if (!std::equal(h221.begin(), h221.end(), key.begin(), key.end())) return errc::bad_mcs;
  std::size_t length = 0;
  if (auto ec = per::read_length(r, length)) return ec;
  if (r.remaining() < length) return errc::truncated;
  if (r.remaining() > length) return errc::trailing_bytes;
  r.bytes(length, blocks);
  return {};
}

}  // namespace

decode_result<client_data> decode_client_data(bytes_view blocks) {
  client_data out;
  auto ec = for_each_block(blocks, [&](std::uint16_t type, bytes_view body) -> error_code {
    switch (type) {
      case block_type::cs_core: return store_once(out.core, read_client_core(body));
      case block_type::cs_security: return store_once(out.security, read_client_security(body));
      case block_type::cs_net: return store_once(out.network, read_client_network(body));
      case block_type::cs_cluster: return store_once(out.cluster, read_client_cluster(body));
      default: out.other.push_back(raw_block{type, byte_buffer(body.begin(), body.end())}); return {};
    }
  });
  if (ec) return ec;
  return decoded<client_data>{std::move(out), blocks.size()};
}

decode_result<server_data> decode_server_data(bytes_view blocks) {
  server_data out;
  auto ec = for_each_block(blocks, [&](std::uint16_t type, bytes_view body) -> error_code {
    switch (type) {
      case block_type::sc_core: return store_once(out.core, read_server_core(body));
      case block_type::sc_security: return store_once(out.security, read_server_security(body));
      case block_type::sc_net: return store_once(out.network, read_server_network(body));
      default: out.other.push_back(raw_block{type, byte_buffer(body.begin(), body.end())}); return {};
    }
  });
  if (ec) return ec;
  return decoded<server_data>{std::move(out), blocks.size()};
}

std::string_view rdp_version_name(std::uint32_t version) noexcept {
  switch (version) {
    case 0x00080001: return "RDP 4.0";
    case 0x00080004: return "RDP 5.0-8.1";
    case 0x00080005: return "RDP 10.0";
    case 0x00080006: return "RDP 10.1";
    case 0x00080007: return "RDP 10.2";
    case 0x00080008: return "RDP 10.3";
    case 0x00080009: return "RDP 10.4";
    case 0x0008000A: return "RDP 10.5";
    case 0x0008000B: return "RDP 10.6";
    case 0x0008000C: return "RDP 10.7";
    case 0x0008000D: return "RDP 10.8";
    case 0x0008000E: return "RDP 10.9";
    case 0x0008000F: return "RDP 10.10";
    case 0x00080010: return "RDP 10.11";
    case 0x00080011: return "RDP 10.12";
    default: return {};
  }
}

std::string_view encryption_method_name(std::uint32_t method) noexcept {
  switch (method) {
    case encryption_method::none: return "None";
    case encryption_method::bits40: return "40-bit RC4";
    case encryption_method::bits128: return "128-bit RC4";
    case encryption_method::bits56: return "56-bit RC4";
    case encryption_method::fips: return "FIPS 140-1";
    default: return {};
  }
}

std::string describe_encryption_methods(std::uint32_t methods) {
  if (methods == 0) return "None";
  std::string out;
  for (std::uint32_t bit = 1; bit != 0; bit <<= 1) {
    if (!(methods & bit)) continue;
    if (!out.empty()) out += '|';
    if (auto name = encryption_method_name(bit); !name.empty()) {
      out += name;
    } else {
      out += hex_number(bit, 2);
    }
  }
  return out;
}

std::string_view encryption_level_name(std::uint32_t level) noexcept {
  switch (level) {
    case encryption_level::none: return "None";
    case encryption_level::low: return "Low";
    case encryption_level::client_compatible: return "Client Compatible";
    case encryption_level::high: return "High";
    case encryption_level::fips: return "FIPS";
    default: return {};
  }
}

boost::system::result<byte_buffer> encode(const client_data& data) {
  byte_buffer out;
  byte_writer w(out);
  if (data.core)
    if (auto ec = write_client_core(w, *data.core)) return ec;
  if (data.cluster)
    if (auto ec = write_client_cluster(w, *data.cluster)) return ec;
  if (data.security)
    if (auto ec = write_client_security(w, *data.security)) return ec;
  if (data.network)
    if (auto ec = write_client_network(w, *data.network)) return ec;
  for (const auto& b : data.other)
    if (auto ec = write_block(w, b.type, b.data)) return ec;
  return out;
}

boost::system::result<byte_buffer> encode(const server_data& data) {
  byte_buffer out;
  byte_writer w(out);
  if (data.core)
    if (auto ec = write_server_core(w, *data.core)) return ec;
  if (data.network)
    if (auto ec = write_server_network(w, *data.network)) return ec;
  if (data.security)
    if (auto ec = write_server_security(w, *data.security)) return ec;
  for (const auto& b : data.other)
    if (auto ec = write_block(w, b.type, b.data)) return ec;
  return out;
}

boost::system::result<byte_buffer> encode(const conference_create_request& request) {
  auto blocks = encode(request.client);
  if (!blocks) return blocks.error();
  // ConnectGCCPDU first, so the connectPDU length in front of it is exact.
  byte_buffer pdu;
  byte_writer p(pdu);
  p.u8(0x00);  // ConnectGCCPDU CHOICE conferenceCreateRequest
  p.u8(0x08);  // ConferenceCreateRequest preamble: only the optional userData present
  if (auto ec = per::write_numeric_string(p, request.conference_name, 1)) return ec;
  p.u8(0x00);  // the remaining preamble bits: no password, not locked/listed/conductible, terminationMethod 0
  p.u8(0x01);  // one UserData set
  p.u8(0xC0);  // UserData::value present, key CHOICE h221NonStandard
  if (auto ec = per::write_octet_string(p, h221_client_key, 4)) return ec;
  if (auto ec = per::write_length(p, blocks->size())) return ec;
  p.bytes(*blocks);

  byte_buffer out;
  byte_writer w(out);
  w.u8(0x00);  // Key CHOICE object
  per::write_object_identifier(w, t124_oid);
  if (auto ec = per::write_length(w, pdu.size())) return ec;
  w.bytes(pdu);
  return out;
}

boost::system::result<byte_buffer> encode(const conference_create_response& response) {
  auto blocks = encode(response.server);
  if (!blocks) return blocks.error();
  byte_buffer out;
  byte_writer w(out);
  w.u8(0x00);  // Key CHOICE object
  per::write_object_identifier(w, t124_oid);
  w.u8(0x2A);  // connectPDU length: the constant every server writes; the client ignores it (2.2.1.4)
  w.u8(0x14);  // ConnectGCCPDU CHOICE conferenceCreateResponse, userData present
  if (auto ec = per::write_integer16(w, response.node_id, 1001)) return ec;
  per::write_integer(w, response.tag);
  w.u8(response.result);
  w.u8(0x01);  // one UserData set
  w.u8(0xC0);  // UserData::value present, key CHOICE h221NonStandard
  if (auto ec = per::write_octet_string(w, h221_server_key, 4)) return ec;
  if (auto ec = per::write_length_long(w, blocks->size())) return ec;
  w.bytes(*blocks);
  return out;
}

decode_result<conference_create_request> decode_conference_create_request(bytes_view user_data) {
  byte_reader r(user_data);
  conference_create_request out;
  if (auto ec = read_connect_data_header(r)) return ec;
  std::uint8_t choice = 0, selection = 0;
  if (!r.u8(choice) || !r.u8(selection)) return make_error_code(errc::truncated);
  if (auto ec = per::read_numeric_string(r, 1, out.conference_name)) return ec;
  if (!r.skip(1)) return make_error_code(errc::truncated);  // FreeRDP's "padding": the remaining preamble bits
  bytes_view blocks;
  if (auto ec = read_user_data(r, h221_client_key, blocks)) return ec;
  auto client = decode_client_data(blocks);
  if (!client) return client.error();
  out.client = std::move(client->value);
  return decoded<conference_create_request>{std::move(out), user_data.size()};
}

decode_result<conference_create_response> decode_conference_create_response(bytes_view user_data) {
  byte_reader r(user_data);
  conference_create_response out;
  if (auto ec = read_connect_data_header(r)) return ec;
  std::uint8_t choice = 0;
  if (!r.u8(choice)) return make_error_code(errc::truncated);
  if (auto ec = per::read_integer16(r, 1001, out.node_id)) return ec;
  if (auto ec = per::read_integer(r, out.tag)) return ec;
  if (auto ec = per::read_enumerated(r, create_result_count, out.result)) return ec;
  bytes_view blocks;
  if (auto ec = read_user_data(r, h221_server_key, blocks)) return ec;
  auto server = decode_server_data(blocks);
  if (!server) return server.error();
  out.server = std::move(server->value);
  return decoded<conference_create_response>{std::move(out), user_data.size()};
}

}  // namespace rdp::protocol::gcc
