#include "rdp/probe/standard_security.hpp"

#include "rdp/net/engine.hpp"
#include "rdp/net/errors.hpp"
#include "rdp/net/json.hpp"
#include "rdp/protocol/client_sequence.hpp"
#include "rdp/protocol/errinfo.hpp"
#include "rdp/protocol/gcc.hpp"
#include "rdp/protocol/mcs.hpp"
#include "rdp/protocol/probe_steps.hpp"
#include "rdp/protocol/share.hpp"
#include "rdp/protocol/x224.hpp"

#include "negotiation.hpp"

#include <nlohmann/json.hpp>

#include <array>

namespace rdp::probe {
namespace {

using protocol::hex32;

namespace asio = net::asio;
namespace gcc = protocol::gcc;
using net::error_code;
using net::tcp;

// nmap's order for the one-method exchanges (rdp-enum-encryption.nse): 40-bit, 56-bit, 128-bit, FIPS.
constexpr std::array<std::uint32_t, 4> tested_methods = {gcc::encryption_method::bits40, gcc::encryption_method::bits56,
                                                         gcc::encryption_method::bits128, gcc::encryption_method::fips};

std::string level_name(std::uint32_t level) {
  auto name = gcc::encryption_level_name(level);
  return name.empty() ? "unknown (" + hex32(level) + ")" : std::string(name);
}

std::string method_name(std::uint32_t method) {
  auto name = gcc::encryption_method_name(method);
  return name.empty() ? "unknown (" + hex32(method) + ")" : std::string(name);
}

std::string version_name(std::uint32_t version) {
  auto name = gcc::rdp_version_name(version);
  return name.empty() ? "unknown (" + hex32(version) + ")" : std::string(name);
}

std::string describe(const error_code& ec) {
  if (ec == net::errc::timed_out) return "timed out";
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) return "the server closed the connection";
  if (ec == protocol::errc::frame_too_large)
    return "the server announced a frame above " + std::to_string(max_connect_response_bytes) + " bytes";
  if (ec == protocol::errc::bad_tpkt_version) return "the answer is not TPKT";
  return ec.message();
}

// "ERRINFO_SERVER_DENIED_CONNECTION (0x00000007: The server refused the connection)"; unknown codes as errinfo.hpp
// words them.
std::string describe_error_info(std::uint32_t code) {
  const auto* entry = protocol::find_error_info(code);
  if (!entry) return protocol::describe_error_info(code);
  std::string meaning(entry->meaning);
  if (!meaning.empty() && meaning.back() == '.') meaning.pop_back();
  return std::string(entry->name) + " (" + hex32(code) + ": " + meaning + ")";
}

session_outcome hang_up_of(const error_code& ec) {
  if (ec == net::errc::timed_out) return session_outcome::no_answer;
  if (ec == asio::error::connection_reset) return session_outcome::reset;
  // A TLS peer that closes without close_notify is a truncated stream; a write into a closed socket, a broken pipe.
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated || ec == asio::error::broken_pipe)
    return session_outcome::closed;
  return session_outcome::error;
}

// A disconnect in RDP terms (MCS Disconnect Provider Ultimatum, X.224 DR), named; empty for anything else.
std::string disconnect_in(const protocol::byte_buffer& frame) {
  auto event = protocol::share::inspect_server_frame(frame);
  if (!event) return {};
  using protocol::share::server_event_kind;
  if (event->kind == server_event_kind::disconnect_provider_ultimatum)
    return "MCS Disconnect Provider Ultimatum (" + std::string(protocol::mcs::to_string(event->reason)) + ")";
  if (event->kind == server_event_kind::x224_disconnect_request) return "X.224 Disconnect Request";
  return {};
}

// The Connect-Initial of one exchange: a plain client core block, nmap's cluster block, and the methods offered.
// serverSelectedProtocol echoes the negotiation (0: Standard RDP Security, 2.2.1.3.2); earlyCapabilityFlags announce
// Set Error Info support, so a server that refuses may say why (2.2.5.1). The version claimed is the newest FreeRDP
// knows, so a server that answers min(its own, the client's) — FreeRDP's server does — still shows its own.
protocol::mcs::connect_initial make_connect_initial(std::uint32_t methods, std::uint32_t selected_protocol = 0) {
  protocol::mcs::connect_initial ci;
  auto& core = ci.user_data.client.core.emplace();
  core.version = gcc::rdp_version::rdp10_12;
  core.client_name = u"rdpprobe";
  core.post_beta2_color_depth = 0xCA01;
  core.client_product_id = 1;
  core.serial_number = 0;
  core.high_color_depth = 24;
  core.supported_color_depths = 0x0007;  // 24, 16 and 15 bpp
  core.early_capability_flags = gcc::early_capability::support_errinfo_pdu;
  core.client_dig_product_id = u"";
  core.connection_type = 0;
  core.server_selected_protocol = selected_protocol;
  ci.user_data.client.cluster = gcc::client_cluster_data{0x09, 0};  // as nmap: redirection supported, version 3
  ci.user_data.client.security = gcc::client_security_data{methods, 0};
  return ci;
}

// What came back for one Connect-Initial.
struct connect_answer {
  bool sent = false;  // the Connect-Initial was encoded and its write begun
  session_result session;
  std::optional<gcc::server_data> server;  // with a Connect-Response
  std::string error;                       // Standard RDP Security's wording when it was not a Connect-Response
};

// The goodbye's write and the drain of the close after it: as long as rdpscan-style clients wait.
constexpr net::milliseconds goodbye_timeout{500};

// The client machine for one Connect-Initial exchange: `initial` sent as is (the probe's own, not the mini
// client's), one step deadline for its write and the whole answer (`timeout`), frames of at most
// max_connect_response_bytes, a stop at the Connect-Response and then an X.224 Disconnect Request — leaving
// politely, as rdpscan does, rather than vanishing mid-sequence.
protocol::client_sequence_options exchange_options(protocol::client_security security, protocol::client_start start,
                                                   protocol::mcs::connect_initial initial, net::milliseconds timeout) {
  protocol::client_sequence_options o;
  o.security = security;
  o.start = start;
  o.connect_initial = std::move(initial);
  o.stop_after = protocol::client_phase::mcs_connected;
  o.goodbye = true;
  o.deadlines.step = timeout;
  o.deadlines.close = goodbye_timeout;
  o.max_frame = max_connect_response_bytes;
  return o;
}

// The machine as the engine drives it, watched for what client_result does not keep and the report needs: whether
// the Connect-Initial's write was begun and completed (a failure before that is "an error sending it"), and when the
// exchange ended — the `now` of the event that brought the answer, the hang-up or the deadline.
class watched_exchange {
 public:
  explicit watched_exchange(protocol::client_sequence_options options) : machine_(std::move(options)) {}

  protocol::sequence::action resume(const protocol::sequence::event& e) {
    using protocol::sequence::action_kind;
    // The machine starts after the negotiation (or TLS): its first write is the Connect-Initial, and nothing but
    // the goodbye is written after the exchange ended.
    if (e.kind == protocol::sequence::event_kind::written && !ended_at_) initial_written_ = true;
    auto next = machine_.resume(e);
    if (next.kind == action_kind::write && !ended_at_) initial_sent_ = true;
    if (next.kind == action_kind::notify && !ended_at_ &&
        machine_.notice() == protocol::client_sequence::notice_kind::sequence_done)
      ended_at_ = e.now;
    return next;
  }

  const protocol::client_result& result() const noexcept { return machine_.result(); }
  bool initial_sent() const noexcept { return initial_sent_; }
  bool initial_written() const noexcept { return initial_written_; }
  std::optional<protocol::sequence::instant> ended_at() const noexcept { return ended_at_; }

 private:
  protocol::client_sequence machine_;
  bool initial_sent_ = false;
  bool initial_written_ = false;
  std::optional<protocol::sequence::instant> ended_at_;
};

// Framing errors of protocol::tpkt: the stream is no longer framed. Any other protocol error is a whole frame that
// did not decode as what was awaited.
bool is_framing_error(const error_code& ec) {
  return ec == protocol::errc::bad_tpkt_version || ec == protocol::errc::bad_frame_length ||
         ec == protocol::errc::frame_too_large;
}

// The report's words for how the machine's exchange ended (`timeout`: its step deadline). A Set Error Info before
// the end is recorded and named first: Windows follows one with a DPU and a close (2.2.5.1).
connect_answer answer_of(const watched_exchange& exchange, net::milliseconds timeout) {
  connect_answer out;
  auto& s = out.session;
  const auto& r = exchange.result();
  out.sent = exchange.initial_sent();
  if (!out.sent) {
    s.outcome = session_outcome::error;
    s.detail = "cannot encode the Connect-Initial: " + r.error.message();
    out.error = s.detail;
    return out;
  }
  if (r.started_at && exchange.ended_at())
    s.mcs_ms = std::chrono::duration<double, std::milli>(*exchange.ended_at() - *r.started_at).count();

  std::string before;  // "Set Error Info …, then " once one came
  if (r.error_info) {
    s.error_info = r.error_info;
    if (const auto* entry = protocol::find_error_info(*r.error_info)) {
      s.error_info_name = entry->name;
      s.error_info_meaning = entry->meaning;
      s.error_info_session_fate = protocol::to_string(entry->fate);
    } else {
      s.error_info_meaning = protocol::describe_error_info(*r.error_info);
    }
    before = "Set Error Info " + describe_error_info(*r.error_info) + ", then ";
  }

  // The machine keeps the server data of any Connect-Response that decoded, rt-successful or not.
  if (r.server) {
    s.outcome = session_outcome::connect_response;
    out.server = r.server;
    std::string version = "no server core data";
    if (const auto& core = out.server->core) {
      s.rdp_version = core->version;
      s.rdp_version_name = version_name(core->version);
      s.client_requested_protocols = core->client_requested_protocols;
      s.early_capability_flags = core->early_capability_flags;
      version = s.rdp_version_name + ", " + hex32(core->version);
    }
    s.detail = before + "an MCS Connect-Response (" + version + ")";
    return out;
  }
  // A disconnect in RDP terms ends the exchange at once: it is the one the machine recorded.
  if (r.disconnect_reason || r.x224_disconnect) {
    std::string hung_up = "X.224 Disconnect Request";
    if (r.disconnect_reason) {
      s.outcome = session_outcome::disconnect_provider_ultimatum;
      s.disconnect_reason = static_cast<std::uint8_t>(*r.disconnect_reason);
      s.disconnect_reason_name = protocol::mcs::to_string(*r.disconnect_reason);
      hung_up = "MCS Disconnect Provider Ultimatum (" + s.disconnect_reason_name + ")";
    } else {
      s.outcome = session_outcome::x224_disconnect_request;
    }
    s.detail = before + hung_up;
    out.error = "server sent " + before + hung_up + " instead of a Connect-Response";
    return out;
  }

  // Our deadline (the machine's step deadline passed), or what the stream or the framing said.
  const auto ec = r.error == boost::system::errc::timed_out && !r.server_closed
                      ? net::make_error_code(net::errc::timed_out)
                      : r.error;
  if (!exchange.initial_written()) {
    s.outcome = ec == net::errc::timed_out ? session_outcome::error : hang_up_of(ec);
    s.detail = "an error sending it: " + describe(ec);
    out.error = "sending the Connect-Initial: " + describe(ec);
    return out;
  }
  if (ec.category() == protocol::protocol_category() && !is_framing_error(ec)) {
    s.outcome = session_outcome::error;
    s.detail = before + "a malformed Connect-Response: " + ec.message();
    out.error = "malformed Connect-Response: " + ec.message();
    return out;
  }
  s.outcome = hang_up_of(ec);
  const auto waited = std::to_string(timeout.count()) + " ms";
  if (s.outcome == session_outcome::no_answer) {
    if (s.error_info) s.outcome = session_outcome::set_error_info;
    s.detail = s.error_info ? before + "nothing more within " + waited : "no answer within " + waited;
  } else if (s.outcome == session_outcome::reset) {
    s.detail = before + "a TCP reset";
  } else if (s.outcome == session_outcome::closed) {
    s.detail = before + "a close (the server closed the connection)";
  } else {
    s.detail = before + "an unreadable answer: " + describe(ec);
  }
  out.error = "waiting for the Connect-Response: " + before + describe(ec);
  return out;
}

// Runs one Connect-Initial exchange on `engine` (a connection past the negotiation, or past TLS) and says what came
// back. The machine closes the connection when it is done.
asio::awaitable<connect_answer> send_connect_initial(net::sequence_engine& engine,
                                                     protocol::client_sequence_options options) {
  const auto timeout = net::milliseconds(options.deadlines.step);
  watched_exchange exchange(std::move(options));
  co_await engine.run(exchange);
  co_return answer_of(exchange, timeout);
}

struct exchange_result {
  std::optional<gcc::server_data> server;
  std::string error;
  std::optional<double> mcs_ms;
  std::optional<session_result> session;  // once the Connect-Initial was sent
};

// One TCP connection: CR, CC, Connect-Initial offering `methods`, Connect-Response, DR.
asio::awaitable<exchange_result> exchange(std::vector<tcp::endpoint> endpoints, std::uint32_t methods,
                                          std::shared_ptr<const probe_options> options) {
  exchange_result out;
  tcp::socket socket(co_await asio::this_coro::executor);
  // X.224 CR without RDP_NEG_REQ: the client asks for Standard RDP Security the only way a pre-negotiation client
  // can (2.2.1.1), as nmap's cipher pass and FreeRDP's /sec:rdp do. The negotiation is its own machine
  // (protocol::x224_negotiation, whose raw answer the probe classifies); client_sequence goes on after the CC.
  auto n = co_await detail::connect_and_negotiate(socket, endpoints, std::nullopt, *options, max_connect_response_bytes);
  if (n.connect_error) {
    out.error = "TCP connect: " + describe(n.connect_error);
    co_return out;
  }
  if (!n.confirm) {
    const auto framing = n.malformed == protocol::errc::bad_tpkt_version || n.malformed == protocol::errc::frame_too_large;
    if (!n.malformed || framing) {
      out.error = "waiting for the Connection Confirm: " + describe(n.malformed ? n.malformed : n.io_error);
    } else {
      auto hung_up = disconnect_in(n.received);
      out.error = hung_up.empty() ? "malformed Connection Confirm: " + n.malformed.message()
                                  : "server sent " + hung_up + " instead of a Connection Confirm";
    }
    co_return out;
  }
  const auto& confirm = n.confirm;
  if (const auto* failure = std::get_if<protocol::neg_failure>(&confirm->negotiation)) {
    out.error = "server refused Standard RDP Security: RDP_NEG_FAILURE " +
                protocol::describe_neg_failure(failure->failure_code);
  } else if (const auto* rsp = std::get_if<protocol::neg_response>(&confirm->negotiation);
             rsp && rsp->selected_protocol != protocol::to_bits(protocol::security_protocol::rdp)) {
    out.error = "server selected " + protocol::describe_protocol_bits(rsp->selected_protocol) +
                " although the request had no RDP_NEG_REQ";
  }
  if (!out.error.empty()) {
    // Tell the server we are leaving, as rdpscan does, rather than vanishing mid-sequence.
    {
      net::sequence_engine engine(socket, net::engine_options{});
      protocol::x224_goodbye goodbye(goodbye_timeout);
      co_await engine.run(goodbye);
    }
    error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    co_return out;
  }

  // Nothing may follow the CC before the Connect-Initial, so the machine starts with an empty stream.
  net::sequence_engine engine(socket, net::engine_options{});
  auto answer = co_await send_connect_initial(
      engine, exchange_options(protocol::client_security::standard, protocol::client_start::after_x224,
                               make_connect_initial(methods), options->read_timeout));
  if (!answer.sent) {
    out.error = std::move(answer.error);
    co_return out;
  }
  answer.session.over = "rdp";
  out.session = std::move(answer.session);
  if (answer.server) {
    out.mcs_ms = out.session->mcs_ms;
    out.server = std::move(answer.server);
  } else {
    out.error = std::move(answer.error);
  }
  co_return out;
}

}  // namespace

asio::awaitable<standard_security_result> probe_standard_security(std::vector<tcp::endpoint> endpoints,
                                                                  std::shared_ptr<const probe_options> options) {
  standard_security_result result;
  result.attempted = true;
  auto first = co_await exchange(endpoints, gcc::encryption_method::all, options);
  result.session = std::move(first.session);
  if (!first.server) {
    result.error = first.error;
    co_return result;
  }
  result.mcs_ms = first.mcs_ms;
  if (const auto& core = first.server->core) {
    result.rdp_version = core->version;
    result.rdp_version_name = version_name(core->version);
    result.early_capability_flags = core->early_capability_flags;
  }
  const auto& security = first.server->security;
  if (!security) {
    // 2.2.1.4: SC_SECURITY is required; without it there is nothing to enumerate.
    result.error = "the Connect-Response has no server security data (TS_UD_SC_SEC1)";
    co_return result;
  }
  result.encryption_level = security->encryption_level;
  result.encryption_level_name = level_name(security->encryption_level);
  result.selected_method = security->encryption_method;
  result.server_certificate_present = security->keys && !security->keys->server_certificate.empty();

  for (auto method : tested_methods) {
    encryption_method_result m;
    m.method = method;
    m.name = method_name(method);
    auto e = co_await exchange(endpoints, method, options);
    if (!e.server) {
      m.detail = e.error;
    } else if (!e.server->security) {
      m.detail = "the Connect-Response has no server security data (TS_UD_SC_SEC1)";
    } else {
      const auto chosen = e.server->security->encryption_method;
      m.accepted = chosen == method;
      m.detail = m.accepted ? "accepted" : "server chose " + method_name(chosen) + " instead";
    }
    result.methods.push_back(std::move(m));
  }
  co_return result;
}

asio::awaitable<session_result> check_session_over_tls(net::sequence_engine& engine, std::uint32_t selected_protocol,
                                                       net::milliseconds timeout) {
  // With TLS the server ignores the client's methods and answers level and method 0 (2.2.1.4.3): none are offered.
  // The engine ran the TLS handshake (protocol::tls_upgrade) for the probe, which read the TLS facts from it: the
  // machine starts after TLS, on the same engine.
  auto answer = co_await send_connect_initial(
      engine, exchange_options(protocol::client_security::tls, protocol::client_start::after_tls,
                               make_connect_initial(gcc::encryption_method::none, selected_protocol), timeout));
  auto result = std::move(answer.session);
  result.over = "tls";
  co_return result;
}

nlohmann::json to_json(const standard_security_result& r) {
  using nlohmann::json;
  json methods = json::array();
  for (const auto& m : r.methods)
    methods.push_back(json{{"method", m.method}, {"name", m.name}, {"accepted", m.accepted}, {"detail", m.detail}});
  return json{
      {"attempted", r.attempted},
      {"encryption_level", net::value_or_null(r.encryption_level)},
      {"encryption_level_name", net::text_or_null(r.encryption_level_name)},
      {"selected_method", net::value_or_null(r.selected_method)},
      {"selected_method_name", net::map_or_null(r.selected_method, method_name)},
      {"methods", methods},
      {"rdp_version", net::hex32_or_null(r.rdp_version)},
      {"rdp_version_name", net::text_or_null(r.rdp_version_name)},
      {"early_capability_flags", net::hex32_or_null(r.early_capability_flags)},
      {"server_certificate_present", r.server_certificate_present},
      {"error", net::text_or_null(r.error)},
      {"timings_ms", {{"mcs", net::rounded_or_null(r.mcs_ms)}}},
  };
}

}  // namespace rdp::probe
