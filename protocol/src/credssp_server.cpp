#include "rdp/protocol/credssp_server.hpp"

#include "rdp/protocol/errinfo.hpp"

#include <algorithm>
#include <string_view>

namespace rdp::protocol {
namespace {

namespace nf = ntlm::negotiate_flags;

// The longest name whose UTF-16LE form fits AvLen (16 bits) — and TargetInfo's own 16-bit length with five names
// in it, so each gets a fifth.
constexpr std::size_t max_name_bytes = 0xFFFF / 5 - 4 - 16;

// Flags a server answers with that it takes from the client's NEGOTIATE (MS-NLMP 3.2.5.1.1): the ones both sides
// must agree on. LM_KEY and OEM are dropped as Windows does when EXTENDED_SESSIONSECURITY and UNICODE are offered.
constexpr std::uint32_t echoed_flags = nf::unicode | nf::request_target | nf::sign | nf::seal | nf::ntlm |
                                       nf::always_sign | nf::extended_session_security | nf::negotiate_128 |
                                       nf::key_exch | nf::negotiate_56;

ntlm::av_pair name(ntlm::av_id id, const std::string& text) {
  auto pair = ntlm::name_pair(id, text);
  if (pair.value.size() > max_name_bytes) pair.value.resize(max_name_bytes & ~std::size_t{1});
  return pair;
}

}  // namespace

ntlm::challenge_message make_challenge(const ntlm_identity& identity, std::uint32_t client_flags,
                                       std::uint64_t filetime, const std::array<std::uint8_t, 8>& server_challenge) {
  ntlm::challenge_message c;
  c.flags = (client_flags & echoed_flags) | nf::request_target | nf::target_type_domain | nf::target_info | nf::version;
  // Exactly one character set (2.2.2.5): UNICODE when the client offers it, else OEM.
  if (!(c.flags & nf::unicode)) c.flags |= nf::oem;
  c.server_challenge = server_challenge;
  // TargetName is the domain for TARGET_TYPE_DOMAIN (2.2.1.2), in the negotiated character set.
  if (c.flags & nf::unicode) c.target_name = name(ntlm::av_id::nb_domain_name, identity.netbios_domain).value;
  else c.target_name.assign(identity.netbios_domain.begin(), identity.netbios_domain.end());
  if (c.target_name.size() > max_name_bytes) c.target_name.resize(max_name_bytes);
  c.target_info = {name(ntlm::av_id::nb_domain_name, identity.netbios_domain),
                   name(ntlm::av_id::nb_computer_name, identity.netbios_computer),
                   name(ntlm::av_id::dns_domain_name, identity.dns_domain),
                   name(ntlm::av_id::dns_computer_name, identity.dns_computer),
                   name(ntlm::av_id::dns_tree_name, identity.dns_tree),
                   ntlm::timestamp_pair(filetime)};
  c.os_version = ntlm::version{identity.major, identity.minor, identity.build, 0x0F};
  return c;
}

bool is_ntlm_message(bytes_view token, std::uint32_t type) noexcept {
  static constexpr std::string_view signature{"NTLMSSP\0", 8};
  if (token.size() < 12 || !std::equal(signature.begin(), signature.end(), token.begin())) return false;
  byte_reader reader(token.subspan(8));
  std::uint32_t found = 0;
  return reader.u32le(found) && found == type;
}

credssp::ts_request make_nla_refusal(std::int64_t client_version) {
  credssp::ts_request answer;
  answer.version = std::min<std::int64_t>(client_version, responder_credssp_version);
  answer.error_code = ntstatus::not_supported;
  return answer;
}

std::string nla_refusal_sentence(const credssp::ts_request& authenticate, bool answered) {
  std::string what = "the client's TSRequest carried no NTLM message";
  if (!authenticate.nego_tokens.empty()) {
    what = is_ntlm_message(authenticate.nego_tokens.front(), ntlm::message_type::authenticate)
               ? "the client's NTLM AUTHENTICATE was not checked"
               : "the client answered the CHALLENGE with something that is not an NTLM AUTHENTICATE";
  }
  return "CredSSP (NLA) logon is not simulated: " + what + "; " +
         (answered ? "answered with TSRequest.errorCode STATUS_NOT_SUPPORTED (0xC00000BB) and closed"
                   : "the connection was closed") +
         ". A client reaches rdpsim's sessions over TLS (xfreerdp /sec:tls) or Standard RDP Security.";
}

}  // namespace rdp::protocol
