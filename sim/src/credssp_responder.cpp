#include "rdp/sim/credssp_responder.hpp"

#include "rdp/net/deadline.hpp"
#include "rdp/net/read_until.hpp"
#include "rdp/protocol/credssp.hpp"

#include <algorithm>
#include <random>

namespace rdp::sim {
namespace {

namespace asio = net::asio;
namespace ntlm = protocol::ntlm;

// A TSRequest carrying a NEGOTIATE is ~60 bytes; 64 KiB is the same cap the probe puts on the answer.
constexpr std::size_t max_request_bytes = 64 * 1024;

std::array<std::uint8_t, 8> random_challenge() {
  // Nothing is ever authenticated against it, so it only has to look like a nonce.
  std::random_device device;
  std::array<std::uint8_t, 8> out{};
  for (auto& b : out) b = static_cast<std::uint8_t>(device());
  return out;
}

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
  // TSRequest.errorCode exists from CredSSP version 3 (MS-CSSP 2.2.1); a client of an older version only sees the
  // close (protocol::make_nla_refusal says why).
  bool answered = false;
  if (client_version >= 3) {
    const auto wire = protocol::credssp::encode(protocol::make_nla_refusal(client_version));
    auto [write_ec, written] =
        co_await net::with_deadline(asio::async_write(tls, asio::buffer(wire), net::use_tuple), timeout);
    (void)written;
    answered = !write_ec;
  }
  co_return protocol::nla_refusal_sentence(*request, answered);
}

}  // namespace rdp::sim
