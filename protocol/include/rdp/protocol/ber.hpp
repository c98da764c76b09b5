#pragma once
// ASN.1 BER/DER as RDP uses it (ITU-T X.690): the MCS Connect-Initial/Response PDUs (T.125, BER) and the CredSSP
// TSRequest (MS-CSSP 2.2.1, DER). A TLV reader that never reads past its input, and a writer that builds
// a value's content first and wraps it, so lengths are always right.
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/errc.hpp"

#include <cstdint>
#include <optional>

namespace rdp::protocol::ber {

enum class tag_class : std::uint8_t { universal = 0, application = 1, context = 2, private_ = 3 };

struct tag {
  tag_class cls = tag_class::universal;
  bool constructed = false;
  std::uint32_t number = 0;
  friend bool operator==(const tag&, const tag&) = default;
};

namespace universal {
inline constexpr std::uint32_t boolean = 1, integer = 2, octet_string = 4, enumerated = 10, sequence = 16;
}

inline constexpr tag sequence_tag{tag_class::universal, true, universal::sequence};
inline constexpr tag integer_tag{tag_class::universal, false, universal::integer};
inline constexpr tag octet_string_tag{tag_class::universal, false, universal::octet_string};
inline constexpr tag boolean_tag{tag_class::universal, false, universal::boolean};
inline constexpr tag enumerated_tag{tag_class::universal, false, universal::enumerated};
// [n] EXPLICIT context tag (constructed), as CredSSP uses for every TSRequest field.
constexpr tag context(std::uint32_t n) { return tag{tag_class::context, true, n}; }
constexpr tag application(std::uint32_t n, bool constructed = true) { return tag{tag_class::application, constructed, n}; }

struct tlv {
  ber::tag tag;
  bytes_view value;     // the content octets
  std::size_t size = 0; // the whole TLV: identifier + length + content
};

// Reads one TLV at the start of `input`. errc::need_more when the input is a prefix of one; errc::bad_mcs is
// not used here: malformed BER is errc::value_out_of_range (indefinite lengths, lengths over 2^31, tags over
// 2^28) — callers translate it to their layer's error.
decode_result<tlv> read_tlv(bytes_view input);

// Convenience readers over a byte_reader-like cursor: each checks the tag and returns the content.
class reader {
 public:
  explicit reader(bytes_view data) : data_(data) {}
  bool empty() const noexcept { return pos_ >= data_.size(); }
  bytes_view rest() const noexcept { return data_.subspan(pos_); }
  // The next TLV (any tag); advances.
  boost::system::result<tlv> next();
  // The next TLV if its tag is `t`; advances only then. nullopt when the next tag differs or input is empty.
  std::optional<tlv> next_if(const tag& t);
  // Typed readers: the next TLV must have the expected tag.
  boost::system::result<std::int64_t> integer();  // up to 8 content bytes, two's complement
  boost::system::result<bytes_view> octet_string();
  boost::system::result<bool> boolean();
  boost::system::result<std::uint32_t> enumerated();
  boost::system::result<bytes_view> expect(const tag& t);  // content of a TLV that must have tag t

 private:
  bytes_view data_;
  std::size_t pos_ = 0;
};

// Writers append one whole TLV.
void write_tag(byte_writer& out, const tag& t);
void write_length(byte_writer& out, std::size_t length);  // DER: shortest form
void write_tlv(byte_writer& out, const tag& t, bytes_view content);
void write_integer(byte_writer& out, std::int64_t value);  // DER: minimal two's complement
void write_octet_string(byte_writer& out, bytes_view value);
void write_boolean(byte_writer& out, bool value);
void write_enumerated(byte_writer& out, std::uint32_t value);
// [n] EXPLICIT around whatever `fill(byte_writer&)` writes (CredSSP's and SPNEGO's fields).
template <class Fill>
void write_explicit(byte_writer& out, std::uint32_t n, Fill fill) {
  byte_buffer content;
  byte_writer w(content);
  fill(w);
  write_tlv(out, context(n), content);
}

}  // namespace rdp::protocol::ber
