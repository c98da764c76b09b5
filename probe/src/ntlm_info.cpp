#include "rdp/probe/ntlm_info.hpp"

#include "rdp/net/connect.hpp"
#include "rdp/net/deadline.hpp"
#include "rdp/net/engine.hpp"
#include "rdp/net/errors.hpp"
#include "rdp/net/json.hpp"
#include "rdp/protocol/credssp.hpp"
#include "rdp/protocol/ntlm.hpp"
#include "rdp/protocol/ntlm_info_exchange.hpp"
#include "rdp/protocol/x224.hpp"

#include "negotiation.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>

namespace rdp::probe {
namespace {

namespace asio = net::asio;
namespace ntlm = protocol::ntlm;
using detail::describe;
using net::error_code;
using net::tcp;

// nmap's requestedProtocols for rdp-ntlm-info (docs/wire-facts.md 2.3): SSL|HYBRID|HYBRID_EX, what mstsc sends too.
constexpr std::uint32_t requested_protocols = protocol::to_bits(protocol::security_protocol::ssl) |
                                              protocol::to_bits(protocol::security_protocol::hybrid) |
                                              protocol::to_bits(protocol::security_protocol::hybrid_ex);

// ISO 8601 UTC ("2024-05-01T12:34:56Z") for a FILETIME, or nullopt outside years 1601..9999 (a garbage timestamp
// is not worth a date).
std::optional<std::string> iso8601(std::uint64_t filetime) {
  using namespace std::chrono;
  const auto ticks = ntlm::since_unix_epoch(filetime);
  const auto secs = floor<seconds>(ticks);
  const auto day = floor<std::chrono::days>(secs);
  const year_month_day date{sys_days{day}};
  const int y = static_cast<int>(date.year());
  if (y < 1601 || y > 9999) return std::nullopt;
  const hh_mm_ss<seconds> clock_time{secs - day};
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02dZ", y, static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(clock_time.hours().count()),
                static_cast<int>(clock_time.minutes().count()), static_cast<int>(clock_time.seconds().count()));
  return std::string(text);
}

void fill_from_challenge(ntlm_info_result& result, const ntlm::challenge_message& challenge,
                         std::chrono::system_clock::time_point arrived) {
  const auto f = ntlm::facts(challenge);
  result.netbios_computer = f.netbios_computer;
  result.netbios_domain = f.netbios_domain;
  result.dns_computer = f.dns_computer;
  result.dns_domain = f.dns_domain;
  result.dns_tree = f.dns_tree;
  if (f.os_version) result.product_version = ntlm::to_string(*f.os_version);
  if (f.timestamp) {
    result.server_time = iso8601(*f.timestamp);
    if (result.server_time) {
      // In double seconds: a hostile timestamp thousands of years away must not overflow anything.
      const double server = static_cast<double>(ntlm::since_unix_epoch(*f.timestamp).count()) / 1e7;
      const double ours = std::chrono::duration<double>(arrived.time_since_epoch()).count();
      result.clock_skew_seconds = server - ours;
    }
  }
}

}  // namespace

asio::awaitable<ntlm_info_result> probe_ntlm_info(std::vector<tcp::endpoint> endpoints,
                                                  std::shared_ptr<const probe_options> options,
                                                  std::shared_ptr<asio::ssl::context> tls_context) {
  ntlm_info_result result;
  result.attempted = true;
  tcp::socket socket(co_await asio::this_coro::executor);
  auto n = co_await detail::connect_and_negotiate(socket, std::move(endpoints), requested_protocols, *options,
                                                  options->max_reply_bytes);
  if (!n.confirm) {
    result.error = n.failure();
    co_return result;
  }
  const auto& confirm = n.confirm;
  if (const auto* failure = std::get_if<protocol::neg_failure>(&confirm->negotiation)) {
    result.error = "server refused CredSSP: RDP_NEG_FAILURE " + protocol::describe_neg_failure(failure->failure_code);
    co_return result;
  }
  const auto* response = std::get_if<protocol::neg_response>(&confirm->negotiation);
  if (!response) {
    result.error = "server selected Standard RDP Security (Connection Confirm without negotiation data), not CredSSP";
    co_return result;
  }
  const auto selected = response->selected_protocol;
  if (selected != protocol::to_bits(protocol::security_protocol::hybrid) &&
      selected != protocol::to_bits(protocol::security_protocol::hybrid_ex)) {
    result.error = "server selected " + protocol::describe_protocol_bits(selected) + ", not CredSSP (requested " +
                   protocol::describe_protocol_bits(requested_protocols) + ")";
    co_return result;
  }

  // CredSSP runs inside TLS on the same socket (MS-RDPBCGR 5.4.5, MS-CSSP 3.1.5 step 1), as one machine on the engine
  // (protocol/ntlm_info_exchange.hpp). The certificate is not judged here: probe_target reports it and its trust;
  // this exchange only wants the channel.
  protocol::ntlm_info_options exchange_options;
  exchange_options.tls_timeout = options->tls_timeout;
  exchange_options.read_timeout = options->read_timeout;
  protocol::ntlm_info_exchange exchange(exchange_options);
  net::engine_options engine_options;
  engine_options.tls_context = tls_context.get();
  {
    net::sequence_engine engine(socket, std::move(engine_options));
    co_await engine.run(exchange);
  }
  const auto arrived = std::chrono::system_clock::now();
  const auto& out = exchange.outcome();
  const auto why = out.timed_out ? make_error_code(net::errc::timed_out) : out.io_error;
  if (out.stopped_at == protocol::ntlm_info_stop::tls) {
    result.error = "TLS handshake: " + describe(why);
    co_return result;
  }
  if (out.stopped_at == protocol::ntlm_info_stop::encode) {
    result.error = "cannot encode the NTLM NEGOTIATE: " + why.message();
    co_return result;
  }
  if (out.stopped_at == protocol::ntlm_info_stop::send) {
    result.error = "sending the CredSSP TSRequest: " + describe(why);
    co_return result;
  }
  const auto& answer = out.answer;
  if (!answer) {
    if (out.malformed) result.error = "CredSSP answer: " + out.malformed.message();
    else if (out.over_cap) result.error = "CredSSP answer: no complete TSRequest in the first 64 KiB";
    else if (out.received.empty()) result.error = "no CredSSP answer: " + describe(why);
    else result.error = "CredSSP answer cut short: " + describe(why);
    co_return result;
  }
  result.credssp_ms = std::chrono::duration<double, std::milli>(out.answered_at - out.sent_at).count();
  result.credssp_version = answer->version;
  if (answer->error_code) {
    result.error_code = *answer->error_code;
    result.error = "server answered with NTSTATUS " + protocol::hex32(*answer->error_code);
  }
  auto challenge = protocol::find_challenge(*answer);
  if (!challenge) {
    if (result.error.empty())
      result.error = answer->nego_tokens.empty() ? "CredSSP answer carries no negoToken"
                                                 : "no NTLM CHALLENGE in the CredSSP answer: " + challenge.error().message();
    co_return result;
  }
  fill_from_challenge(result, *challenge, arrived);
  // We stop after the CHALLENGE, as nmap does: no AUTHENTICATE, and no TLS close_notify either — waiting for the
  // server's would cost up to a deadline per target and tell us nothing. The socket closes with this frame.
  error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  co_return result;
}

nlohmann::json to_json(const ntlm_info_result& r) {
  using nlohmann::json;
  using net::rounded_or_null;
  using net::text_or_null;
  using net::value_or_null;
  return json{{"attempted", r.attempted},
              {"netbios_computer", text_or_null(r.netbios_computer)},
              {"netbios_domain", text_or_null(r.netbios_domain)},
              {"dns_computer", text_or_null(r.dns_computer)},
              {"dns_domain", text_or_null(r.dns_domain)},
              {"dns_tree", text_or_null(r.dns_tree)},
              {"product_version", value_or_null(r.product_version)},
              {"server_time", value_or_null(r.server_time)},
              {"clock_skew_seconds", rounded_or_null(r.clock_skew_seconds)},
              {"credssp_version", value_or_null(r.credssp_version)},
              {"error_code", net::hex32_or_null(r.error_code)},
              {"error", text_or_null(r.error)},
              {"timings_ms", {{"credssp", rounded_or_null(r.credssp_ms)}}}};
}

}  // namespace rdp::probe
