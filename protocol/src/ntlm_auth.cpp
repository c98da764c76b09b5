#include "rdp/protocol/ntlm_auth.hpp"

#include <algorithm>

namespace rdp::protocol::ntlm {
namespace {

namespace nf = negotiate_flags;
using crypto::digest16;

bytes_view view(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// 3.4.5.2/3.4.5.3: the four key-derivation constants, each with its terminating NUL.
constexpr std::string_view client_signing_magic{"session key to client-to-server signing key magic constant", 59};
constexpr std::string_view server_signing_magic{"session key to server-to-client signing key magic constant", 59};
constexpr std::string_view client_sealing_magic{"session key to client-to-server sealing key magic constant", 59};
constexpr std::string_view server_sealing_magic{"session key to server-to-client sealing key magic constant", 59};

std::array<std::uint8_t, 4> le32(std::uint32_t v) noexcept {
  return {static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v >> 16),
          static_cast<std::uint8_t>(v >> 24)};
}

// OEM names (no NTLMSSP_NEGOTIATE_UNICODE) widened to UTF-16LE as Latin-1, for NTOWFv2.
byte_buffer as_utf16le(bytes_view name, std::uint32_t flags) {
  if (flags & nf::unicode) return byte_buffer(name.begin(), name.end());
  byte_buffer out;
  for (auto b : name) {
    out.push_back(b);
    out.push_back(0);
  }
  return out;
}

// Constant-time comparison: a check's timing must not say how many bytes of a proof were right.
bool same(bytes_view a, bytes_view b) noexcept {
  if (a.size() != b.size()) return false;
  std::uint8_t diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff = static_cast<std::uint8_t>(diff | (a[i] ^ b[i]));
  return diff == 0;
}

std::optional<std::uint32_t> av_flags(const std::vector<av_pair>& pairs) {
  const auto* p = find(pairs, av_id::flags);
  if (!p || p->value.size() != 4) return std::nullopt;
  return static_cast<std::uint32_t>(p->value[0]) | (static_cast<std::uint32_t>(p->value[1]) << 8) |
         (static_cast<std::uint32_t>(p->value[2]) << 16) | (static_cast<std::uint32_t>(p->value[3]) << 24);
}

// SEALKEY (3.4.5.3): the exported key cut to the negotiated strength, then MD5 with the direction's constant.
digest16 sealing_key(const crypto::primitives& c, const digest16& key, std::uint32_t flags, std::string_view magic) {
  const std::size_t length = (flags & nf::negotiate_128) ? 16 : (flags & nf::negotiate_56) ? 7 : 5;
  return c.md5({bytes_view(key.data(), length), view(magic)});
}

constexpr std::size_t signature_size = 16;

}  // namespace

byte_buffer uppercase_utf16le(bytes_view utf16) {
  byte_buffer out(utf16.begin(), utf16.end());
  for (std::size_t i = 0; i + 1 < out.size(); i += 2) {
    std::uint16_t unit = static_cast<std::uint16_t>(out[i] | (out[i + 1] << 8));
    if ((unit >= u'a' && unit <= u'z') || (unit >= 0xE0 && unit <= 0xFE && unit != 0xF7)) unit = static_cast<std::uint16_t>(unit - 0x20);
    else if (unit == 0xFF) unit = 0x178;
    out[i] = static_cast<std::uint8_t>(unit);
    out[i + 1] = static_cast<std::uint8_t>(unit >> 8);
  }
  return out;
}

crypto::digest16 nt_owf_v2(const crypto::primitives& c, std::string_view password_utf8, bytes_view user_utf16,
                           bytes_view domain_utf16) {
  const auto password = utf8_to_utf16le(password_utf8);
  const auto nt_hash = c.md4(password);
  const auto user = uppercase_utf16le(user_utf16);
  return c.hmac_md5(nt_hash, {user, domain_utf16});
}

boost::system::result<ntlmv2_response> decode_ntlmv2_response(bytes_view nt) {
  // NTProofStr(16) RespType(1) HiRespType(1) Reserved(6) TimeStamp(8) ChallengeFromClient(8) Reserved(4) AvPairs
  constexpr std::size_t pairs_at = 16 + 28;
  if (nt.size() < pairs_at + 4) return make_error_code(errc::truncated);
  ntlmv2_response out;
  std::copy_n(nt.begin(), 16, out.nt_proof.begin());
  out.temp = nt.subspan(16);
  byte_reader r(nt.subspan(16 + 8));
  std::uint32_t low = 0, high = 0;
  r.u32le(low);
  r.u32le(high);
  out.timestamp = (std::uint64_t{high} << 32) | low;
  std::copy_n(nt.begin() + 32, 8, out.client_challenge.begin());
  auto pairs = decode_av_pairs(nt.subspan(pairs_at));
  if (!pairs) return pairs.error();
  out.av_pairs = std::move(*pairs);
  return out;
}

const char* to_string(check_failure f) noexcept {
  switch (f) {
    case check_failure::none: return "none";
    case check_failure::malformed: return "malformed";
    case check_failure::not_ntlmv2: return "not-ntlmv2";
    case check_failure::wrong_response: return "wrong-response";
    case check_failure::bad_mic: return "bad-mic";
    case check_failure::no_session_key: return "no-session-key";
  }
  return "?";
}

boost::system::result<authenticate_made> make_authenticate(const crypto::primitives& c, const client_identity& who,
                                                           bytes_view negotiate_wire, bytes_view challenge_wire,
                                                           const client_randomness& random, std::uint64_t filetime,
                                                           std::string_view target_spn) {
  auto challenge = decode_challenge(challenge_wire);
  if (!challenge) return challenge.error();
  if (!(challenge->flags & nf::extended_session_security) || challenge->target_info.empty())
    return make_error_code(errc::value_out_of_range);
  authenticate_made made;
  made.flags = challenge->flags;
  const bool with_mic = (made.flags & nf::version) != 0;

  // The client's AV_PAIRs: the server's TargetInfo, MsvAvFlags (replacing any the server sent) and the SPN.
  std::vector<av_pair> pairs;
  std::uint64_t timestamp = filetime;
  for (const auto& p : challenge->target_info) {
    if (p.id == static_cast<std::uint16_t>(av_id::flags) || p.id == static_cast<std::uint16_t>(av_id::target_name))
      continue;
    if (p.id == static_cast<std::uint16_t>(av_id::timestamp) && p.value.size() == 8) {
      timestamp = 0;
      for (std::size_t i = 0; i < 8; ++i) timestamp |= std::uint64_t{p.value[i]} << (8 * i);
    }
    pairs.push_back(p);
  }
  if (with_mic) {
    const auto flags = le32(av_flag_mic_present);
    pairs.push_back(av_pair{static_cast<std::uint16_t>(av_id::flags), byte_buffer(flags.begin(), flags.end())});
  }
  if (!target_spn.empty()) pairs.push_back(name_pair(av_id::target_name, target_spn));
  auto list = encode_av_pairs(pairs);
  if (!list) return list.error();

  // temp (3.3.2): RespType 1, HiRespType 1, Z(6), Time, ClientChallenge, Z(4), AV_PAIRs, Z(4).
  byte_buffer temp;
  byte_writer t(temp);
  t.u8(1);
  t.u8(1);
  t.bytes(std::array<std::uint8_t, 6>{});
  t.u32le(static_cast<std::uint32_t>(timestamp));
  t.u32le(static_cast<std::uint32_t>(timestamp >> 32));
  t.bytes(random.client_challenge);
  t.u32le(0);
  t.bytes(*list);
  t.u32le(0);

  authenticate_message m;
  m.flags = made.flags;
  m.user = utf8_to_utf16le(who.user);
  m.domain = utf8_to_utf16le(who.domain);
  m.workstation = utf8_to_utf16le(who.workstation);
  const auto response_key = nt_owf_v2(c, who.password, m.user, m.domain);
  const auto nt_proof = c.hmac_md5(response_key, {challenge->server_challenge, temp});
  m.nt_response.assign(nt_proof.begin(), nt_proof.end());
  m.nt_response.insert(m.nt_response.end(), temp.begin(), temp.end());
  m.lm_response.assign(24, 0);  // Z(24): the CHALLENGE carries MsvAvTimestamp (3.1.5.1.2)
  const auto key_exchange_key = c.hmac_md5(response_key, {nt_proof});  // SessionBaseKey (NTLMv2)
  if (made.flags & nf::key_exch) {
    made.exported_session_key = random.exported_session_key;
    m.encrypted_session_key = c.rc4(key_exchange_key)->apply(random.exported_session_key);
  } else {
    made.exported_session_key = key_exchange_key;
  }
  if (with_mic) {
    m.os_version = version{10, 0, 20348, 0x0F};
    m.mic = std::array<std::uint8_t, 16>{};
  }
  auto wire = encode(m);
  if (!wire) return wire.error();
  if (with_mic) {
    const auto mic = c.hmac_md5(made.exported_session_key, {negotiate_wire, challenge_wire, *wire});
    std::copy(mic.begin(), mic.end(), wire->begin() + static_cast<std::ptrdiff_t>(authenticate_mic_offset));
  }
  made.message = std::move(*wire);
  return made;
}

authenticate_checked check_authenticate(const crypto::primitives& c, bytes_view negotiate_wire,
                                        bytes_view challenge_wire, bytes_view authenticate_wire,
                                        const std::array<std::uint8_t, 8>& server_challenge,
                                        std::string_view password_utf8) {
  authenticate_checked out;
  auto decoded = decode_authenticate(authenticate_wire);
  if (!decoded) {
    out.failure = check_failure::malformed;
    return out;
  }
  out.message = std::move(*decoded);
  out.flags = out.message.flags;
  const auto& m = out.message;
  // Anonymous (empty NT response) and NTLMv1 (24 bytes) are not NTLMv2; nor is a session without extended session
  // security, whose keys 3.4.5 derives differently.
  if (m.nt_response.size() <= 24 || !(m.flags & nf::extended_session_security)) {
    out.failure = check_failure::not_ntlmv2;
    return out;
  }
  auto response = decode_ntlmv2_response(m.nt_response);
  if (!response) {
    out.failure = check_failure::malformed;
    return out;
  }
  const auto response_key = nt_owf_v2(c, password_utf8, as_utf16le(m.user, m.flags), as_utf16le(m.domain, m.flags));
  const auto expected = c.hmac_md5(response_key, {server_challenge, response->temp});
  if (!same(expected, response->nt_proof)) {
    out.failure = check_failure::wrong_response;
    return out;
  }
  const auto key_exchange_key = c.hmac_md5(response_key, {response->nt_proof});
  if (m.flags & nf::key_exch) {
    if (m.encrypted_session_key.size() != 16) {
      out.failure = check_failure::no_session_key;
      return out;
    }
    const auto key = c.rc4(key_exchange_key)->apply(m.encrypted_session_key);
    std::copy(key.begin(), key.end(), out.exported_session_key.begin());
  } else {
    out.exported_session_key = key_exchange_key;
  }
  const auto flags = av_flags(response->av_pairs);
  if (flags && (*flags & av_flag_mic_present)) {
    if (!m.mic) {
      out.failure = check_failure::bad_mic;
      return out;
    }
    byte_buffer zeroed(authenticate_wire.begin(), authenticate_wire.end());
    std::fill_n(zeroed.begin() + static_cast<std::ptrdiff_t>(authenticate_mic_offset), 16, std::uint8_t{0});
    const auto mic = c.hmac_md5(out.exported_session_key, {negotiate_wire, challenge_wire, zeroed});
    if (!same(mic, *m.mic)) {
      out.failure = check_failure::bad_mic;
      return out;
    }
    out.mic_present = true;
  }
  return out;
}

session_security::session_security(const crypto::primitives& c, const crypto::digest16& key, std::uint32_t flags,
                                   side self)
    : crypto_(&c), key_exchange_((flags & nf::key_exch) != 0) {
  const auto client_sign = c.md5({key, view(client_signing_magic)});
  const auto server_sign = c.md5({key, view(server_signing_magic)});
  const auto client_seal = sealing_key(c, key, flags, client_sealing_magic);
  const auto server_seal = sealing_key(c, key, flags, server_sealing_magic);
  const bool client = self == side::client;
  send_signing_key_ = client ? client_sign : server_sign;
  receive_signing_key_ = client ? server_sign : client_sign;
  send_sealing_key_ = client ? client_seal : server_seal;
  receive_sealing_key_ = client ? server_seal : client_seal;
  send_seal_ = c.rc4(send_sealing_key_);
  receive_seal_ = c.rc4(receive_sealing_key_);
}

// The signature of 3.4.4.2: Version 1, the first 8 bytes of HMAC_MD5(SigningKey, SeqNum || message) — through the
// RC4 stream under KEY_EXCH — and SeqNum.
std::array<std::uint8_t, 16> session_security::signature(bytes_view message, crypto::rc4_stream& seal,
                                                         const crypto::digest16& key, std::uint32_t seq) const {
  std::array<std::uint8_t, 16> out{};
  const auto seq_bytes = le32(seq);
  const auto mac = crypto_->hmac_md5(key, {seq_bytes, message});
  out[0] = 1;
  std::copy_n(mac.begin(), 8, out.begin() + 4);
  if (key_exchange_) seal.apply(bytes_view(out.data() + 4, 8), out.data() + 4);
  std::copy(seq_bytes.begin(), seq_bytes.end(), out.begin() + 12);
  return out;
}

std::array<std::uint8_t, 16> session_security::sign(bytes_view message) {
  return signature(message, *send_seal_, send_signing_key_, send_seq_++);
}

bool session_security::verify(bytes_view message, bytes_view signature_bytes) {
  const auto expected = signature(message, *receive_seal_, receive_signing_key_, receive_seq_++);
  return same(expected, signature_bytes);
}

void session_security::restart_send_cipher() { send_seal_ = crypto_->rc4(send_sealing_key_); }
void session_security::restart_receive_cipher() { receive_seal_ = crypto_->rc4(receive_sealing_key_); }

// 3.4.4.2 SEAL with extended session security: the message is encrypted first, then the checksum with the same
// stream; the signature is Version 1, Checksum, SeqNum.
byte_buffer session_security::seal(bytes_view message) {
  byte_buffer out(signature_size + message.size());
  send_seal_->apply(message, out.data() + signature_size);
  const auto sig = signature(message, *send_seal_, send_signing_key_, send_seq_++);
  std::copy(sig.begin(), sig.end(), out.begin());
  return out;
}

std::optional<byte_buffer> session_security::unseal(bytes_view input) {
  if (input.size() < signature_size) return std::nullopt;
  auto message = receive_seal_->apply(input.subspan(signature_size));
  if (!verify(message, input.first(signature_size))) return std::nullopt;
  return message;
}

}  // namespace rdp::protocol::ntlm
