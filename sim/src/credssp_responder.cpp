#include "rdp/sim/credssp_responder.hpp"

#include "rdp/net/deadline.hpp"
#include "rdp/net/read_until.hpp"
#include "rdp/protocol/credssp.hpp"
#include "rdp/protocol/errinfo.hpp"

#include <algorithm>
#include <random>

namespace rdp::sim {
namespace {

namespace asio = net::asio;
namespace ntlm = protocol::ntlm;
namespace nf = protocol::ntlm::negotiate_flags;

// A TSRequest carrying a NEGOTIATE is ~60 bytes; 64 KiB is the same cap the probe puts on the answer.
constexpr std::size_t max_request_bytes = 64 * 1024;
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

std::array<std::uint8_t, 8> random_challenge() {
  // Nothing is ever authenticated against it, so it only has to look like a nonce.
  std::random_device device;
  std::array<std::uint8_t, 8> out{};
  for (auto& b : out) b = static_cast<std::uint8_t>(device());
  return out;
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

namespace {

// One TSRequest from the client: one deadline for the whole message (a client dribbling a byte at a time cannot
// stretch it) and at most max_request_bytes kept. nullopt for a timeout, a close, or bytes that are not a TSRequest.
asio::awaitable<std::optional<protocol::credssp::ts_request>> read_ts_request(
    asio::ssl::stream<net::tcp::socket&>& tls, net::milliseconds timeout) {
  protocol::byte_buffer received;
  std::optional<protocol::credssp::ts_request> request;
  const auto ec = co_await net::read_until(tls, received, max_request_bytes, timeout, [&](const protocol::byte_buffer& b) {
    auto decoded = protocol::credssp::decode_ts_request(b);
    if (decoded) request = std::move(decoded->value);
    return decoded || !protocol::is_need_more(decoded.error());
  });
  if (ec) co_return std::nullopt;
  co_return request;
}

// The NTLM message header (MS-NLMP 2.2.1): "NTLMSSP\0", then MessageType as a 32-bit little-endian value.
bool is_ntlm_message(const protocol::byte_buffer& token, std::uint32_t type) {
  static constexpr std::string_view signature{"NTLMSSP\0", 8};
  if (token.size() < 12 || !std::equal(signature.begin(), signature.end(), token.begin())) return false;
  protocol::byte_reader reader(protocol::bytes_view(token).subspan(8));
  std::uint32_t found = 0;
  return reader.u32le(found) && found == type;
}

}  // namespace

asio::awaitable<std::optional<std::int64_t>> answer_ntlm_negotiate(asio::ssl::stream<net::tcp::socket&>& tls,
                                                                   ntlm_identity identity, net::milliseconds timeout) {
  const auto request = co_await read_ts_request(tls, timeout);
  // A raw NTLM NEGOTIATE, as nmap and rdpprobe send it (MS-CSSP 2.2.1.1 allows NTLM without SPNEGO). A SPNEGO
  // NegTokenInit would need a SPNEGO answer, which this responder does not speak: refuse it rather than lie.
  if (!request || request->nego_tokens.empty()) co_return std::nullopt;
  auto negotiate = ntlm::decode_negotiate(request->nego_tokens.front());
  if (!negotiate) co_return std::nullopt;

  const auto challenge =
      make_challenge(identity, negotiate->flags, ntlm::to_filetime(std::chrono::system_clock::now()), random_challenge());
  auto token = ntlm::encode(challenge);
  if (!token) co_return std::nullopt;  // cannot happen: make_challenge keeps every name within its length field
  protocol::credssp::ts_request answer;
  answer.version = responder_credssp_version;
  answer.nego_tokens.push_back(std::move(*token));
  const auto wire = protocol::credssp::encode(answer);
  auto [write_ec, written] =
      co_await net::with_deadline(asio::async_write(tls, asio::buffer(wire), net::use_tuple), timeout);
  (void)written;
  if (write_ec) co_return std::nullopt;
  co_return request->version;
}

asio::awaitable<std::string> refuse_ntlm_authenticate(asio::ssl::stream<net::tcp::socket&>& tls,
                                                      std::int64_t client_version, net::milliseconds timeout) {
  const auto request = co_await read_ts_request(tls, timeout);
  // A probe (nmap rdp-ntlm-info, rdpprobe) closes once it has the CHALLENGE: nothing to refuse, nothing to log.
  if (!request) co_return std::string();
  std::string what = "the client's TSRequest carried no NTLM message";
  if (!request->nego_tokens.empty()) {
    const auto& token = request->nego_tokens.front();
    what = is_ntlm_message(token, ntlm::message_type::authenticate) ? "the client's NTLM AUTHENTICATE was not checked"
                                            : "the client answered the CHALLENGE with something that is not an NTLM "
                                              "AUTHENTICATE";
  }
  // TSRequest.errorCode exists from CredSSP version 3 (MS-CSSP 2.2.1); a client of an older version only sees the
  // close. FreeRDP 2.11 (libfreerdp/core/nla.c) ends its connect at once on an errorCode it does not map to a
  // logon failure, reporting "SPNEGO failed with NTSTATUS".
  std::string answered = "the connection was closed";
  if (client_version >= 3) {
    protocol::credssp::ts_request answer;
    answer.version = std::min<std::int64_t>(client_version, responder_credssp_version);
    answer.error_code = protocol::ntstatus::not_supported;
    const auto wire = protocol::credssp::encode(answer);
    auto [write_ec, written] =
        co_await net::with_deadline(asio::async_write(tls, asio::buffer(wire), net::use_tuple), timeout);
    (void)written;
    if (!write_ec) answered = "answered with TSRequest.errorCode STATUS_NOT_SUPPORTED (0xC00000BB) and closed";
  }
  co_return "CredSSP (NLA) logon is not simulated: " + what + "; " + answered +
             ". A client reaches rdpsim's sessions over TLS (xfreerdp /sec:tls) or Standard RDP Security.";
}

}  // namespace rdp::sim
