#include "rdp/protocol/ber.hpp"

namespace rdp::protocol::ber {

decode_result<tlv> read_tlv(bytes_view input) {
  byte_reader r(input);
  std::uint8_t first = 0;
  if (!r.u8(first)) return make_error_code(errc::need_more);
  tlv out;
  out.tag.cls = static_cast<tag_class>(first >> 6);
  out.tag.constructed = (first & 0x20) != 0;
  out.tag.number = first & 0x1Fu;
  if (out.tag.number == 0x1F) {  // high tag number form (X.690 8.1.2.4): base-128, MSB = more
    out.tag.number = 0;
    for (int i = 0;; ++i) {
      std::uint8_t b = 0;
      if (!r.u8(b)) return make_error_code(errc::need_more);
      if (i == 4) return make_error_code(errc::value_out_of_range);
      out.tag.number = (out.tag.number << 7) | (b & 0x7Fu);
      if (!(b & 0x80)) break;
    }
  }
  std::uint8_t len = 0;
  if (!r.u8(len)) return make_error_code(errc::need_more);
  std::size_t length = len;
  if (len & 0x80) {
    const std::size_t n = len & 0x7Fu;
    if (n == 0 || n > 4) return make_error_code(errc::value_out_of_range);  // indefinite, or absurdly long
    length = 0;
    for (std::size_t i = 0; i < n; ++i) {
      std::uint8_t b = 0;
      if (!r.u8(b)) return make_error_code(errc::need_more);
      length = (length << 8) | b;
    }
    if (length > 0x7FFFFFFF) return make_error_code(errc::value_out_of_range);
  }
  if (!r.bytes(length, out.value)) return make_error_code(errc::need_more);
  out.size = r.position();
  return decoded<tlv>{out, out.size};
}

boost::system::result<tlv> reader::next() {
  auto t = read_tlv(rest());
  if (!t) return is_need_more(t.error()) ? make_error_code(errc::truncated) : t.error();
  pos_ += t->consumed;
  return t->value;
}

std::optional<tlv> reader::next_if(const tag& expected) {
  auto t = read_tlv(rest());
  if (!t || !(t->value.tag == expected)) return std::nullopt;
  pos_ += t->consumed;
  return t->value;
}

boost::system::result<bytes_view> reader::expect(const tag& t) {
  auto v = next();
  if (!v) return v.error();
  if (!(v->tag == t)) return make_error_code(errc::value_out_of_range);
  return v->value;
}

boost::system::result<std::int64_t> reader::integer() {
  auto v = expect(integer_tag);
  if (!v) return v.error();
  if (v->empty() || v->size() > 8) return make_error_code(errc::value_out_of_range);
  std::uint64_t value = ((*v)[0] & 0x80) ? ~std::uint64_t{0} : 0;  // sign-extend
  for (auto b : *v) value = (value << 8) | b;
  return static_cast<std::int64_t>(value);
}

boost::system::result<bytes_view> reader::octet_string() { return expect(octet_string_tag); }

boost::system::result<bool> reader::boolean() {
  // result<bool> cannot be made implicitly from an error_code (both convert to bool): say which is meant.
  using out = boost::system::result<bool>;
  auto v = expect(boolean_tag);
  if (!v) return out(boost::system::in_place_error, v.error());
  if (v->size() != 1) return out(boost::system::in_place_error, make_error_code(errc::value_out_of_range));
  return out(boost::system::in_place_value, (*v)[0] != 0);
}

boost::system::result<std::uint32_t> reader::enumerated() {
  auto v = expect(enumerated_tag);
  if (!v) return v.error();
  if (v->empty() || v->size() > 4) return make_error_code(errc::value_out_of_range);
  std::uint32_t value = 0;
  for (auto b : *v) value = (value << 8) | b;
  return value;
}

void write_tag(byte_writer& out, const tag& t) {
  const auto head = static_cast<std::uint8_t>((static_cast<unsigned>(t.cls) << 6) | (t.constructed ? 0x20u : 0u));
  if (t.number < 0x1F) {
    out.u8(static_cast<std::uint8_t>(head | t.number));
    return;
  }
  out.u8(static_cast<std::uint8_t>(head | 0x1F));
  std::uint8_t groups[5];
  int n = 0;
  std::uint32_t v = t.number;
  do {
    groups[n++] = static_cast<std::uint8_t>(v & 0x7F);
    v >>= 7;
  } while (v);
  while (n--) out.u8(static_cast<std::uint8_t>(groups[n] | (n ? 0x80 : 0)));
}

void write_length(byte_writer& out, std::size_t length) {
  if (length < 0x80) {
    out.u8(static_cast<std::uint8_t>(length));
    return;
  }
  int bytes = 0;
  for (std::size_t v = length; v; v >>= 8) ++bytes;
  out.u8(static_cast<std::uint8_t>(0x80 | bytes));
  for (int i = bytes - 1; i >= 0; --i) out.u8(static_cast<std::uint8_t>(length >> (8 * i)));
}

void write_tlv(byte_writer& out, const tag& t, bytes_view content) {
  write_tag(out, t);
  write_length(out, content.size());
  out.bytes(content);
}

void write_integer(byte_writer& out, std::int64_t value) {
  std::uint8_t bytes[8];
  for (int i = 0; i < 8; ++i) bytes[7 - i] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(value) >> (8 * i));
  int start = 0;
  // Drop leading bytes that only repeat the sign (X.690 8.3.2).
  while (start < 7 && ((bytes[start] == 0x00 && !(bytes[start + 1] & 0x80)) ||
                       (bytes[start] == 0xFF && (bytes[start + 1] & 0x80))))
    ++start;
  write_tlv(out, integer_tag, bytes_view(bytes + start, static_cast<std::size_t>(8 - start)));
}

void write_octet_string(byte_writer& out, bytes_view value) { write_tlv(out, octet_string_tag, value); }

void write_boolean(byte_writer& out, bool value) {
  const std::uint8_t b = value ? 0xFF : 0x00;
  write_tlv(out, boolean_tag, bytes_view(&b, 1));
}

void write_enumerated(byte_writer& out, std::uint32_t value) {
  byte_buffer content;
  byte_writer w(content);
  bool started = false;
  for (int i = 3; i >= 0; --i) {
    const auto b = static_cast<std::uint8_t>(value >> (8 * i));
    if (!started && b == 0 && i > 0) continue;
    if (!started && (b & 0x80)) w.u8(0);
    started = true;
    w.u8(b);
  }
  write_tlv(out, enumerated_tag, content);
}

}  // namespace rdp::protocol::ber
