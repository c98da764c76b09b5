#pragma once
// ALIGNED PER (ITU-T X.691) as RDP uses it in the T.124 GCC wrapper of the MCS Connect-Initial/Response user
// data (MS-RDPBCGR 2.2.1.3.1, 2.2.1.4.1). RDP never needs a general PER codec: every field is byte-aligned and
// the bit-packed preambles are fixed bytes, so these are the few constructs T.124 uses, read and written the
// way FreeRDP's per.c and Windows do. Readers report errc::truncated when the input ends inside a field (they
// only ever run on a complete frame) and errc::bad_mcs when a value breaks the encoding.
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/errc.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace rdp::protocol::per {

// Length determinant (X.691 10.9.3.6-7): one byte below 128, else two bytes `10xxxxxx xxxxxxxx` (15 bits, so
// at most 0x3FFF here). Both forms are accepted for any value: xrdp writes `80 28` for 40. The fragmented form
// (`11xxxxxx`, lengths of 16K and more) is errc::bad_mcs; RDP never uses it.
boost::system::error_code read_length(byte_reader& r, std::size_t& length);
// Shortest form (FreeRDP per_write_length); errc::value_out_of_range at 0x4000 and above.
boost::system::error_code write_length(byte_writer& w, std::size_t length);
// Always the two-byte form, as xrdp and Windows write the GCC user-data length of a Connect-Response.
boost::system::error_code write_length_long(byte_writer& w, std::size_t length);

// OBJECT IDENTIFIER with one-byte arcs, as T.124's key {0 0 20 124 0 1} (length 5, first byte = a*40+b).
using object_identifier = std::array<std::uint8_t, 6>;
boost::system::error_code read_object_identifier(byte_reader& r, object_identifier& oid);
void write_object_identifier(byte_writer& w, const object_identifier& oid);

// OCTET STRING with a lower size bound: the length determinant holds size - min.
boost::system::error_code read_octet_string(byte_reader& r, std::size_t min, bytes_view& value);
boost::system::error_code write_octet_string(byte_writer& w, bytes_view value, std::size_t min);

// NumericString (digits only) with a lower size bound; two digits per byte, high nibble first, an odd string
// padded with a zero nibble (T.124 ConferenceName::numeric, FreeRDP per_write_numeric_string).
boost::system::error_code read_numeric_string(byte_reader& r, std::size_t min, std::string& value);
boost::system::error_code write_numeric_string(byte_writer& w, std::string_view value, std::size_t min);

// INTEGER (min..65535) as a 16-bit offset from `min` (T.124 UserID: min 1001).
boost::system::error_code read_integer16(byte_reader& r, std::uint16_t min, std::uint16_t& value);
boost::system::error_code write_integer16(byte_writer& w, std::uint16_t value, std::uint16_t min);

// Unconstrained INTEGER: a length determinant, then 1 to 4 big-endian octets (FreeRDP per_write_integer).
boost::system::error_code read_integer(byte_reader& r, std::uint32_t& value);
void write_integer(byte_writer& w, std::uint32_t value);

// ENUMERATED with `count` values, one byte.
boost::system::error_code read_enumerated(byte_reader& r, std::uint8_t count, std::uint8_t& value);

}  // namespace rdp::protocol::per
