#include "rdp/protocol/spnego.hpp"

#include "rdp/protocol/ber.hpp"

#include <algorithm>

namespace rdp::protocol::spnego {
namespace {

class spnego_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "rdp.spnego"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::not_spnego: return "not a SPNEGO token (no InitialContextToken with the SPNEGO OID, no NegTokenResp)";
      case error::bad_token: return "malformed SPNEGO token";
    }
    return "unknown rdp.spnego error " + std::to_string(ev);
  }
};

constexpr ber::tag oid_tag{ber::tag_class::universal, false, 6};
constexpr ber::tag bit_string_tag{ber::tag_class::universal, false, 3};
// RFC 4178 4.2: NegotiationToken ::= CHOICE { negTokenInit [0], negTokenResp [1] }.
constexpr ber::tag neg_token_init_tag = ber::context(0);
constexpr ber::tag neg_token_resp_tag = ber::context(1);

boost::system::error_code bad() { return make_error_code(error::bad_token); }

bool same(bytes_view a, bytes_view b) noexcept { return std::equal(a.begin(), a.end(), b.begin(), b.end()); }

// The one TLV an EXPLICIT field holds, which must have tag `t` and nothing after it.
boost::system::result<bytes_view> only_child(bytes_view explicit_content, const ber::tag& t) {
  ber::reader r(explicit_content);
  auto v = r.expect(t);
  if (!v || !r.empty()) return bad();
  return *v;
}

// The content of the one TLV that must make up all of `input`.
boost::system::result<ber::tlv> whole(bytes_view input) {
  auto t = ber::read_tlv(input);
  if (!t || t->consumed != input.size()) return bad();
  return t->value;
}

boost::system::result<std::vector<oid>> read_mech_types(bytes_view explicit_content) {
  auto list = only_child(explicit_content, ber::sequence_tag);
  if (!list) return list.error();
  std::vector<oid> mechs;
  ber::reader items(*list);
  // A bound on what is kept: no real initiator offers more than a handful of mechanisms.
  constexpr std::size_t max_mechs = 32;
  while (!items.empty()) {
    auto mech = items.expect(oid_tag);
    if (!mech || mech->empty() || mechs.size() == max_mechs) return bad();
    mechs.emplace_back(mech->begin(), mech->end());
  }
  return mechs;
}

boost::system::result<byte_buffer> read_octets(bytes_view explicit_content) {
  auto v = only_child(explicit_content, ber::octet_string_tag);
  if (!v) return v.error();
  return byte_buffer(v->begin(), v->end());
}

// Reads the context-tagged fields of a SEQUENCE in increasing tag order, as DER writes them; an unknown or repeated
// tag, or one out of order, is malformed.
template <class OnField>
boost::system::error_code read_fields(bytes_view sequence_content, std::uint32_t max_tag, OnField on_field) {
  ber::reader fields(sequence_content);
  std::int64_t last = -1;
  while (!fields.empty()) {
    auto field = fields.next();
    if (!field || field->tag.cls != ber::tag_class::context || !field->tag.constructed ||
        field->tag.number > max_tag || static_cast<std::int64_t>(field->tag.number) <= last)
      return bad();
    last = field->tag.number;
    if (auto ec = on_field(field->tag.number, field->value)) return ec;
  }
  return {};
}

boost::system::result<neg_token_init> decode_init(bytes_view content) {
  auto sequence = only_child(content, ber::sequence_tag);
  if (!sequence) return sequence.error();
  neg_token_init init;
  bool mech_types_seen = false;
  auto ec = read_fields(*sequence, 4, [&](std::uint32_t n, bytes_view value) -> boost::system::error_code {
    switch (n) {
      case 0: {
        auto mechs = read_mech_types(value);
        if (!mechs) return mechs.error();
        init.mech_types = std::move(*mechs);
        mech_types_seen = true;
        return {};
      }
      case 1:  // reqFlags ContextFlags (BIT STRING): ignored (RFC 4178 4.2.1)
        return only_child(value, bit_string_tag) ? boost::system::error_code{} : bad();
      case 2: {
        auto t = read_octets(value);
        if (!t) return t.error();
        init.mech_token = std::move(*t);
        return {};
      }
      case 3: {
        // mechListMIC in RFC 4178's NegTokenInit; negHints (a SEQUENCE) in MS-SPNG's NegTokenInit2.
        ber::reader r(value);
        if (r.next_if(ber::sequence_tag) && r.empty()) return {};
        auto mic = read_octets(value);
        if (!mic) return mic.error();
        init.mech_list_mic = std::move(*mic);
        return {};
      }
      default: {  // 4: NegTokenInit2's mechListMIC
        auto mic = read_octets(value);
        if (!mic) return mic.error();
        init.mech_list_mic = std::move(*mic);
        return {};
      }
    }
  });
  if (ec) return ec;
  if (!mech_types_seen || init.mech_types.empty()) return bad();  // mechTypes is not OPTIONAL
  return init;
}

boost::system::result<neg_token_resp> decode_resp(bytes_view content) {
  auto sequence = only_child(content, ber::sequence_tag);
  if (!sequence) return sequence.error();
  neg_token_resp resp;
  auto ec = read_fields(*sequence, 3, [&](std::uint32_t n, bytes_view value) -> boost::system::error_code {
    switch (n) {
      case 0: {
        ber::reader r(value);
        auto state = r.enumerated();
        if (!state || !r.empty() || *state > 3) return bad();
        resp.state = static_cast<neg_state>(*state);
        return {};
      }
      case 1: {
        auto mech = only_child(value, oid_tag);
        if (!mech || mech->empty()) return bad();
        resp.supported_mech = oid(mech->begin(), mech->end());
        return {};
      }
      case 2: {
        auto t = read_octets(value);
        if (!t) return t.error();
        resp.response_token = std::move(*t);
        return {};
      }
      default: {
        auto mic = read_octets(value);
        if (!mic) return mic.error();
        resp.mech_list_mic = std::move(*mic);
        return {};
      }
    }
  });
  if (ec) return ec;
  return resp;
}

byte_buffer tlv_of(const ber::tag& t, bytes_view content) {
  byte_buffer out;
  byte_writer w(out);
  ber::write_tlv(w, t, content);
  return out;
}

void write_octets_field(byte_writer& out, std::uint32_t n, const std::optional<byte_buffer>& value) {
  if (value) ber::write_explicit(out, n, [&](byte_writer& w) { ber::write_octet_string(w, *value); });
}

void write_sequence_of_oids(byte_writer& out, const std::vector<oid>& mechs) {
  byte_buffer list;
  byte_writer w(list);
  for (const auto& m : mechs) ber::write_tlv(w, oid_tag, m);
  ber::write_tlv(out, ber::sequence_tag, list);
}

}  // namespace

const boost::system::error_category& spnego_category() noexcept {
  static const spnego_category_impl category;
  return category;
}

bool is_ntlm(bytes_view mech) noexcept { return same(mech, ntlm_oid); }

std::string mech_name(bytes_view mech) {
  if (same(mech, ntlm_oid)) return "NTLM";
  if (same(mech, kerberos_oid)) return "Kerberos";
  if (same(mech, ms_kerberos_oid)) return "MS Kerberos";
  if (same(mech, negoex_oid)) return "NEGOEX";
  // X.690 8.19: the first octet holds the first two arcs, then base-128 arcs with the high bit as continuation.
  if (mech.empty() || (mech.back() & 0x80) != 0) return "?";
  std::string dotted;
  std::uint64_t arc = 0;
  bool first = true;
  for (const auto b : mech) {
    if (arc > (std::uint64_t{1} << 56)) return "?";
    arc = (arc << 7) | (b & 0x7f);
    if (b & 0x80) continue;
    if (first) {
      const auto top = arc < 40 ? 0 : arc < 80 ? 1 : 2;
      dotted = std::to_string(top) + "." + std::to_string(arc - 40 * static_cast<std::uint64_t>(top));
      first = false;
    } else {
      dotted += "." + std::to_string(arc);
    }
    arc = 0;
  }
  return dotted;
}

const char* to_string(neg_state s) noexcept {
  switch (s) {
    case neg_state::accept_completed: return "accept-completed";
    case neg_state::accept_incomplete: return "accept-incomplete";
    case neg_state::reject: return "reject";
    case neg_state::request_mic: return "request-mic";
  }
  return "?";
}

bool looks_like_spnego(bytes_view t) noexcept { return !t.empty() && (t[0] == 0x60 || t[0] == 0xa1); }

boost::system::result<token> decode(bytes_view input) {
  if (!looks_like_spnego(input)) return make_error_code(error::not_spnego);
  auto outer = whole(input);
  if (!outer) return outer.error();
  if (outer->tag == neg_token_resp_tag) {
    auto resp = decode_resp(outer->value);
    if (!resp) return resp.error();
    return token{std::move(*resp)};
  }
  // RFC 2743 3.1: InitialContextToken ::= [APPLICATION 0] IMPLICIT SEQUENCE { thisMech MechType, innerContextToken }.
  if (!(outer->tag == ber::application(0))) return make_error_code(error::not_spnego);
  ber::reader r(outer->value);
  auto mech = r.expect(oid_tag);
  if (!mech) return bad();
  if (!same(*mech, spnego_oid)) return make_error_code(error::not_spnego);
  auto inner = r.next();
  if (!inner || !r.empty() || !(inner->tag == neg_token_init_tag)) return bad();
  auto init = decode_init(inner->value);
  if (!init) return init.error();
  return token{std::move(*init)};
}

byte_buffer encode_mech_type_list(const std::vector<oid>& mechs) {
  byte_buffer out;
  byte_writer w(out);
  write_sequence_of_oids(w, mechs);
  return out;
}

byte_buffer encode(const neg_token_init& init) {
  byte_buffer fields;
  byte_writer f(fields);
  ber::write_explicit(f, 0, [&](byte_writer& w) { write_sequence_of_oids(w, init.mech_types); });
  write_octets_field(f, 2, init.mech_token);
  write_octets_field(f, 3, init.mech_list_mic);
  byte_buffer body = tlv_of(oid_tag, spnego_oid);
  const auto inner = tlv_of(neg_token_init_tag, tlv_of(ber::sequence_tag, fields));
  body.insert(body.end(), inner.begin(), inner.end());
  return tlv_of(ber::application(0), body);
}

byte_buffer encode(const neg_token_resp& resp) {
  byte_buffer fields;
  byte_writer f(fields);
  if (resp.state)
    ber::write_explicit(f, 0, [&](byte_writer& w) { ber::write_enumerated(w, static_cast<std::uint32_t>(*resp.state)); });
  if (resp.supported_mech)
    ber::write_explicit(f, 1, [&](byte_writer& w) { ber::write_tlv(w, oid_tag, *resp.supported_mech); });
  write_octets_field(f, 2, resp.response_token);
  write_octets_field(f, 3, resp.mech_list_mic);
  return tlv_of(neg_token_resp_tag, tlv_of(ber::sequence_tag, fields));
}

}  // namespace rdp::protocol::spnego
