#include "rdp/protocol/credssp.hpp"

#include "rdp/protocol/ber.hpp"

#include <limits>
#include <string>

namespace rdp::protocol::credssp {
namespace {

class credssp_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "rdp.credssp"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::not_ts_request: return "not a CredSSP TSRequest (no DER SEQUENCE)";
      case error::bad_ts_request: return "malformed CredSSP TSRequest";
    }
    return "unknown rdp.credssp error " + std::to_string(ev);
  }
};

boost::system::error_code bad() { return make_error_code(error::bad_ts_request); }

// The single TLV inside an EXPLICIT field's content, which must have tag `t` and nothing after it.
boost::system::result<bytes_view> only_child(bytes_view explicit_content, const ber::tag& t) {
  ber::reader r(explicit_content);
  auto v = r.expect(t);
  if (!v || !r.empty()) return bad();
  return *v;
}

boost::system::result<std::int64_t> only_integer(bytes_view explicit_content) {
  ber::reader r(explicit_content);
  auto v = r.integer();
  if (!v || !r.empty()) return bad();
  return *v;
}

// NegoData ::= SEQUENCE OF SEQUENCE { negoToken [0] OCTET STRING } (MS-CSSP 2.2.1.1).
boost::system::error_code read_nego_data(bytes_view explicit_content, std::vector<byte_buffer>& tokens) {
  auto sequence_of = only_child(explicit_content, ber::sequence_tag);
  if (!sequence_of) return sequence_of.error();
  ber::reader items(*sequence_of);
  while (!items.empty()) {
    auto item = items.expect(ber::sequence_tag);
    if (!item) return bad();
    ber::reader fields(*item);
    auto token_field = fields.expect(ber::context(0));
    if (!token_field || !fields.empty()) return bad();
    auto token = only_child(*token_field, ber::octet_string_tag);
    if (!token) return token.error();
    tokens.emplace_back(token->begin(), token->end());
  }
  return {};
}

}  // namespace

const boost::system::error_category& credssp_category() noexcept {
  static const credssp_category_impl instance;
  return instance;
}

byte_buffer encode(const ts_request& request) {
  byte_buffer content;
  byte_writer w(content);
  ber::write_explicit(w, 0, [&](byte_writer& f) { ber::write_integer(f, request.version); });
  if (!request.nego_tokens.empty()) {
    ber::write_explicit(w, 1, [&](byte_writer& f) {
      byte_buffer items;
      byte_writer iw(items);
      for (const auto& token : request.nego_tokens) {
        byte_buffer nego_data;
        byte_writer nw(nego_data);
        ber::write_explicit(nw, 0, [&](byte_writer& t) { ber::write_octet_string(t, token); });
        ber::write_tlv(iw, ber::sequence_tag, nego_data);
      }
      ber::write_tlv(f, ber::sequence_tag, items);
    });
  }
  if (request.auth_info)
    ber::write_explicit(w, 2, [&](byte_writer& f) { ber::write_octet_string(f, *request.auth_info); });
  if (request.pub_key_auth)
    ber::write_explicit(w, 3, [&](byte_writer& f) { ber::write_octet_string(f, *request.pub_key_auth); });
  if (request.error_code) {
    // NTSTATUS values are 32-bit; Windows writes them as a signed 32-bit INTEGER (errors have the top bit set,
    // so they come out negative in 4 bytes). Do the same so a simulator's error looks like a real one.
    ber::write_explicit(w, 4, [&](byte_writer& f) {
      ber::write_integer(f, static_cast<std::int32_t>(*request.error_code));
    });
  }
  if (request.client_nonce)
    ber::write_explicit(w, 5, [&](byte_writer& f) { ber::write_octet_string(f, *request.client_nonce); });
  byte_buffer out;
  byte_writer ow(out);
  ber::write_tlv(ow, ber::sequence_tag, content);
  return out;
}

decode_result<ts_request> decode_ts_request(bytes_view stream) {
  if (stream.empty()) return make_error_code(errc::need_more);
  // Refuse at the first byte: a peer that answers with anything but a SEQUENCE (an HTTP error page, a TLS
  // alert's plaintext, garbage) is not going to become a TSRequest with more bytes.
  if (stream[0] != 0x30) return make_error_code(error::not_ts_request);
  auto outer = ber::read_tlv(stream);
  if (!outer) return is_need_more(outer.error()) ? outer.error() : bad();

  ts_request out;
  ber::reader fields(outer->value.value);
  auto version_field = fields.expect(ber::context(0));
  if (!version_field) return bad();
  auto version = only_integer(*version_field);
  if (!version) return version.error();
  out.version = *version;

  std::uint32_t last = 0;
  while (!fields.empty()) {
    auto field = fields.next();
    if (!field) return bad();
    const auto& t = field->tag;
    if (t.cls != ber::tag_class::context || !t.constructed || t.number <= last) return bad();
    last = t.number;
    switch (t.number) {
      case 1:
        if (auto ec = read_nego_data(field->value, out.nego_tokens)) return ec;
        break;
      case 2:
      case 3:
      case 5: {
        auto bytes = only_child(field->value, ber::octet_string_tag);
        if (!bytes) return bytes.error();
        auto& into = t.number == 2 ? out.auth_info : t.number == 3 ? out.pub_key_auth : out.client_nonce;
        into.emplace(bytes->begin(), bytes->end());
        break;
      }
      case 4: {
        auto code = only_integer(field->value);
        if (!code) return code.error();
        // Either the signed 32-bit form Windows writes or the unsigned one a strict DER encoder would.
        if (*code < std::numeric_limits<std::int32_t>::min() || *code > std::numeric_limits<std::uint32_t>::max())
          return bad();
        out.error_code = static_cast<std::uint32_t>(*code);
        break;
      }
      default:
        break;  // a field from a later MS-CSSP version: skip it
    }
  }
  return decoded<ts_request>{std::move(out), outer->consumed};
}

byte_buffer encode(const ts_credentials& credentials) {
  byte_buffer content;
  byte_writer w(content);
  ber::write_explicit(w, 0, [&](byte_writer& f) { ber::write_integer(f, credentials.cred_type); });
  ber::write_explicit(w, 1, [&](byte_writer& f) { ber::write_octet_string(f, credentials.credentials); });
  byte_buffer out;
  byte_writer ow(out);
  ber::write_tlv(ow, ber::sequence_tag, content);
  return out;
}

byte_buffer encode(const password_credentials& credentials) {
  byte_buffer content;
  byte_writer w(content);
  ber::write_explicit(w, 0, [&](byte_writer& f) { ber::write_octet_string(f, credentials.domain); });
  ber::write_explicit(w, 1, [&](byte_writer& f) { ber::write_octet_string(f, credentials.user); });
  ber::write_explicit(w, 2, [&](byte_writer& f) { ber::write_octet_string(f, credentials.password); });
  byte_buffer out;
  byte_writer ow(out);
  ber::write_tlv(ow, ber::sequence_tag, content);
  return out;
}

namespace {

// The content of the one SEQUENCE that must make up all of `der`.
boost::system::result<bytes_view> whole_sequence(bytes_view der) {
  auto outer = ber::read_tlv(der);
  if (!outer || outer->consumed != der.size() || !(outer->value.tag == ber::sequence_tag)) return bad();
  return outer->value.value;
}

boost::system::result<bytes_view> explicit_octets(ber::reader& fields, std::uint32_t n) {
  auto field = fields.expect(ber::context(n));
  if (!field) return bad();
  return only_child(*field, ber::octet_string_tag);
}

}  // namespace

boost::system::result<ts_credentials> decode_ts_credentials(bytes_view plaintext) {
  auto content = whole_sequence(plaintext);
  if (!content) return content.error();
  ber::reader fields(*content);
  auto type_field = fields.expect(ber::context(0));
  if (!type_field) return bad();
  auto type = only_integer(*type_field);
  if (!type) return type.error();
  auto credentials = explicit_octets(fields, 1);
  if (!credentials || !fields.empty()) return bad();
  return ts_credentials{*type, byte_buffer(credentials->begin(), credentials->end())};
}

boost::system::result<password_credentials> decode_password_credentials(bytes_view der) {
  auto content = whole_sequence(der);
  if (!content) return content.error();
  ber::reader fields(*content);
  password_credentials out;
  auto domain = explicit_octets(fields, 0);
  if (!domain) return domain.error();
  auto user = explicit_octets(fields, 1);
  if (!user) return user.error();
  auto password = explicit_octets(fields, 2);
  if (!password || !fields.empty()) return bad();
  out.domain.assign(domain->begin(), domain->end());
  out.user.assign(user->begin(), user->end());
  out.password.assign(password->begin(), password->end());
  return out;
}

}  // namespace rdp::protocol::credssp
