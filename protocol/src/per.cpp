#include "rdp/protocol/per.hpp"

namespace rdp::protocol::per {

using boost::system::error_code;

error_code read_length(byte_reader& r, std::size_t& length) {
  std::uint8_t first = 0;
  if (!r.u8(first)) return errc::truncated;
  if (!(first & 0x80)) {
    length = first;
    return {};
  }
  if (first & 0x40) return errc::bad_mcs;  // fragmentation (X.691 10.9.3.8): never used by RDP
  std::uint8_t second = 0;
  if (!r.u8(second)) return errc::truncated;
  length = (std::size_t{first & 0x3Fu} << 8) | second;
  return {};
}

error_code write_length(byte_writer& w, std::size_t length) {
  if (length >= 0x4000) return errc::value_out_of_range;
  if (length < 0x80) {
    w.u8(static_cast<std::uint8_t>(length));
  } else {
    w.u16be(static_cast<std::uint16_t>(0x8000 | length));
  }
  return {};
}

error_code write_length_long(byte_writer& w, std::size_t length) {
  if (length >= 0x4000) return errc::value_out_of_range;
  w.u16be(static_cast<std::uint16_t>(0x8000 | length));
  return {};
}

error_code read_object_identifier(byte_reader& r, object_identifier& oid) {
  std::size_t length = 0;
  if (auto ec = read_length(r, length)) return ec;
  if (length != 5) return errc::bad_mcs;  // only the one-byte-arc OIDs T.124 uses
  std::uint8_t first = 0;
  if (!r.u8(first)) return errc::truncated;
  oid[0] = static_cast<std::uint8_t>(first / 40);
  oid[1] = static_cast<std::uint8_t>(first % 40);
  for (std::size_t i = 2; i < oid.size(); ++i) {
    if (!r.u8(oid[i])) return errc::truncated;
    if (oid[i] & 0x80) return errc::bad_mcs;  // a multi-byte arc: not an OID RDP uses
  }
  return {};
}

void write_object_identifier(byte_writer& w, const object_identifier& oid) {
  w.u8(5);
  w.u8(static_cast<std::uint8_t>(oid[0] * 40 + oid[1]));
  for (std::size_t i = 2; i < oid.size(); ++i) w.u8(oid[i]);
}

error_code read_octet_string(byte_reader& r, std::size_t min, bytes_view& value) {
  std::size_t length = 0;
  if (auto ec = read_length(r, length)) return ec;
  if (!r.bytes(length + min, value)) return errc::truncated;
  return {};
}

error_code write_octet_string(byte_writer& w, bytes_view value, std::size_t min) {
  if (value.size() < min) return errc::value_out_of_range;
  if (auto ec = write_length(w, value.size() - min)) return ec;
  w.bytes(value);
  return {};
}

error_code read_numeric_string(byte_reader& r, std::size_t min, std::string& value) {
  std::size_t length = 0;
  if (auto ec = read_length(r, length)) return ec;
  length += min;
  bytes_view packed;
  if (!r.bytes((length + 1) / 2, packed)) return errc::truncated;
  value.clear();
  for (std::size_t i = 0; i < length; ++i) {
    const auto byte = packed[i / 2];
    const int digit = (i % 2 == 0) ? (byte >> 4) : (byte & 0x0F);
    if (digit > 9) return errc::bad_mcs;
    value.push_back(static_cast<char>('0' + digit));
  }
  return {};
}

error_code write_numeric_string(byte_writer& w, std::string_view value, std::size_t min) {
  if (value.size() < min) return errc::value_out_of_range;
  for (char c : value)
    if (c < '0' || c > '9') return errc::value_out_of_range;
  if (auto ec = write_length(w, value.size() - min)) return ec;
  for (std::size_t i = 0; i < value.size(); i += 2) {
    const int high = value[i] - '0';
    const int low = i + 1 < value.size() ? value[i + 1] - '0' : 0;
    w.u8(static_cast<std::uint8_t>((high << 4) | low));
  }
  return {};
}

error_code read_integer16(byte_reader& r, std::uint16_t min, std::uint16_t& value) {
  std::uint16_t offset = 0;
  if (!r.u16be(offset)) return errc::truncated;
  if (std::uint32_t{offset} + min > 0xFFFF) return errc::bad_mcs;
  value = static_cast<std::uint16_t>(offset + min);
  return {};
}

error_code write_integer16(byte_writer& w, std::uint16_t value, std::uint16_t min) {
  if (value < min) return errc::value_out_of_range;
  w.u16be(static_cast<std::uint16_t>(value - min));
  return {};
}

error_code read_integer(byte_reader& r, std::uint32_t& value) {
  std::size_t length = 0;
  if (auto ec = read_length(r, length)) return ec;
  if (length == 0 || length > 4) return errc::bad_mcs;
  value = 0;
  for (std::size_t i = 0; i < length; ++i) {
    std::uint8_t b = 0;
    if (!r.u8(b)) return errc::truncated;
    value = (value << 8) | b;
  }
  return {};
}

void write_integer(byte_writer& w, std::uint32_t value) {
  // 1, 2 or 4 octets, as FreeRDP's per_write_integer: readers take whatever length is announced.
  const std::size_t length = value <= 0xFF ? 1 : value <= 0xFFFF ? 2 : 4;
  w.u8(static_cast<std::uint8_t>(length));
  for (std::size_t i = length; i-- > 0;) w.u8(static_cast<std::uint8_t>(value >> (8 * i)));
}

error_code read_enumerated(byte_reader& r, std::uint8_t count, std::uint8_t& value) {
  if (!r.u8(value)) return errc::truncated;
  if (value >= count) return errc::bad_mcs;
  return {};
}

}  // namespace rdp::protocol::per
