// One negotiation attempt of the probe: one TCP connection, one requestedProtocols value, the server's answer mapped
// to an attempt outcome, and the TLS handshake where the server selected a TLS-based protocol (attempt.hpp).
#include "attempt.hpp"

#include "rdp/net/connect.hpp"
#include "rdp/net/deadline.hpp"
#include "rdp/net/errors.hpp"
#include "rdp/net/engine.hpp"
#include "rdp/net/tls.hpp"
#include "rdp/probe/standard_security.hpp"
#include "rdp/protocol/probe_steps.hpp"
#include "rdp/protocol/share.hpp"
#include "rdp/protocol/x224.hpp"

#include "negotiation.hpp"

#include <chrono>

namespace rdp::probe::detail {
namespace {

namespace asio = net::asio;
using net::error_code;
using net::tcp;
using protocol::security_protocol;

attempt_outcome outcome_of_socket_error(const error_code& ec) {
  if (ec == net::errc::timed_out) return attempt_outcome::timeout;
  if (ec == asio::error::connection_refused) return attempt_outcome::refused;
  if (ec == asio::error::connection_reset) return attempt_outcome::reset;
  if (ec == asio::error::eof) return attempt_outcome::closed;
  return attempt_outcome::error;
}

protocol::stream_end stream_end_of(const error_code& ec) {
  // At the cap the peer was still sending: as open as one that went quiet.
  if (ec == net::errc::timed_out || ec == net::errc::frame_too_large) return protocol::stream_end::timed_out;
  if (ec == asio::error::connection_reset) return protocol::stream_end::reset;
  return protocol::stream_end::closed;
}

// An engine whose start_tls checks the server's name against `verify_name` (the probe's two TLS handshakes).
net::engine_options verifying_tls(asio::ssl::context* context, const std::string& verify_name) {
  net::engine_options o;
  o.tls_context = context;
  o.before_handshake = [verify_name](SSL* ssl) { net::prepare_verification(ssl, verify_name); };
  return o;
}

// The TLS facts of the engine's session once its handshake is done: OpenSSL's, the name check and the trust store.
net::tls_facts tls_facts_of(net::sequence_engine& engine, const std::string& verify_name, const probe_options& options) {
  auto facts = net::collect_tls_facts(engine.tls_handle());
  facts.verification = net::verify_peer(engine.tls_handle(), verify_name);
  facts.trust_store = options.ca_file.empty() ? "system" : options.ca_file;
  return facts;
}

}  // namespace

void set_request(protocol_attempt& a, std::uint32_t requested_bits) {
  a.requested_bits = requested_bits;
  a.combination = !protocol::security_protocol_from_bits(requested_bits).has_value();
  if (auto single = protocol::security_protocol_from_bits(requested_bits)) a.requested = *single;
}

asio::awaitable<attempt_state> attempt_protocol(std::vector<tcp::endpoint> endpoints, std::uint32_t requested_bits,
                                                std::shared_ptr<const probe_options> options,
                                                std::shared_ptr<asio::ssl::context> tls_context,
                                                std::shared_ptr<connection_pacer> pacer, std::string verify_name,
                                                std::shared_ptr<bool> session_checked) {
  attempt_state state;
  auto& a = state.attempt;
  set_request(a, requested_bits);
  if (options->before_attempt) options->before_attempt(verify_name, requested_bits);
  auto executor = co_await asio::this_coro::executor;
  tcp::socket socket(executor);
  if (pacer) co_await pacer->wait_turn();

  // X.224 Connection Request with one requestedProtocols value. PROTOCOL_RDP is sent as an explicit RDP_NEG_REQ
  // with 0, as nmap's "Native RDP" probe does, so the server answers with RDP_NEG_RSP/FAILURE rather than a
  // legacy CC.
  auto n = co_await detail::connect_and_negotiate(socket, std::move(endpoints), requested_bits, *options,
                                                  options->max_reply_bytes);
  if (n.connect_error) {
    a.outcome = outcome_of_socket_error(n.connect_error);
    a.detail = "TCP connect: " + n.connect_error.message();
    co_return state;
  }
  state.connected_to = n.connected_to;
  a.connect_ms = n.connect_ms;
  a.negotiation_ms = n.negotiation_ms;
  const auto& received = n.received;
  const auto& read_ec = n.io_error;
  const auto& confirm = n.confirm;

  if (!confirm) {
    // An RDP stack may refuse by hanging up in RDP terms instead of confirming (xrdp: a DPU for requests it
    // does not understand). That is still RDP, and the reason is worth reporting.
    if (auto event = protocol::share::inspect_server_frame(received); event) {
      using protocol::share::server_event_kind;
      if (event->kind == server_event_kind::disconnect_provider_ultimatum ||
          event->kind == server_event_kind::x224_disconnect_request) {
        a.outcome = attempt_outcome::disconnected;
        a.detail = event->kind == server_event_kind::x224_disconnect_request
                       ? "server sent an X.224 Disconnect Request instead of a Connection Confirm"
                       : "server sent MCS Disconnect Provider Ultimatum (" +
                             std::string(protocol::mcs::to_string(event->reason)) +
                             ") instead of a Connection Confirm";
        co_return state;
      }
    }
    // Whatever answered is not (or not yet) an X.224 Connection Confirm. Say what it is.
    protocol::listener_observation observation;
    observation.received = received;
    observation.end = read_ec ? stream_end_of(read_ec) : protocol::stream_end::timed_out;
    auto classified = protocol::classify_listener(observation);
    if (classified && classified->kind != protocol::listener_kind::rdp) {
      state.listener = *classified;
      switch (classified->kind) {
        case protocol::listener_kind::silent: a.outcome = attempt_outcome::timeout; break;
        case protocol::listener_kind::closed: a.outcome = attempt_outcome::closed; break;
        case protocol::listener_kind::reset: a.outcome = attempt_outcome::reset; break;
        default: a.outcome = attempt_outcome::not_rdp; break;
      }
      a.detail = std::string(protocol::to_string(classified->kind)) + ": " + classified->detail;
    } else {
      // Looked like RDP but the CC was malformed: an RDP-ish speaker we cannot understand.
      a.outcome = attempt_outcome::not_rdp;
      a.detail = "malformed X.224 Connection Confirm: " +
                 (n.malformed ? n.malformed.message() : "cut short (" + detail::describe(read_ec) + ")");
    }
    co_return state;
  }

  if (const auto* rsp = std::get_if<protocol::neg_response>(&confirm->negotiation)) {
    a.outcome = attempt_outcome::selected;
    a.selected = rsp->selected_protocol;
    a.response_flags = rsp->flags;
    // Supported: the server picked one of what was asked (PROTOCOL_RDP only when only it was asked).
    const auto chosen = rsp->selected_protocol;
    a.supported = requested_bits == 0 ? chosen == 0
                                      : (chosen & requested_bits) == chosen && chosen != 0 && (chosen & (chosen - 1)) == 0;
    a.detail = "selected " + protocol::describe_protocol_bits(chosen);
    if (!a.supported) a.detail += " (downgrade from " + protocol::describe_protocol_bits(requested_bits) + ")";
  } else if (const auto* failure = std::get_if<protocol::neg_failure>(&confirm->negotiation)) {
    a.outcome = attempt_outcome::failure;
    a.failure_code = failure->failure_code;
    a.detail = "RDP_NEG_FAILURE " + protocol::describe_neg_failure(failure->failure_code);
  } else {
    a.outcome = attempt_outcome::no_negotiation;
    a.selected = protocol::to_bits(security_protocol::rdp);
    a.supported = requested_bits == 0;
    a.detail = "Connection Confirm without negotiation data (Standard RDP Security only)";
  }

  const auto selected = a.selected ? protocol::security_protocol_from_bits(*a.selected) : std::nullopt;
  if (a.outcome == attempt_outcome::selected && selected && protocol::uses_tls(*selected)) {
    // Every protocol but Standard RDP Security starts with a TLS handshake on the same socket (2.2.1.2.1).
    a.tls_attempted = true;
    // The handshake is a machine on the engine (protocol/probe_steps.hpp); the TLS facts are OpenSSL's, read from the
    // engine's TLS session once it is up, and the session check goes on over the same engine.
    net::sequence_engine engine(socket, verifying_tls(tls_context.get(), verify_name));
    protocol::tls_upgrade upgrade(options->tls_timeout);
    co_await engine.run(upgrade);
    const auto& up = upgrade.outcome();
    a.tls_ms = std::chrono::duration<double, std::milli>(up.ended - up.began).count();
    if (!up.finished) {
      a.tls_error = up.timed_out ? std::string("TLS handshake timed out") : "TLS handshake: " + up.io_error.message();
    } else {
      state.tls = tls_facts_of(engine, verify_name, *options);
      // The session check, once per target, on this connection rather than a new one. Only where TLS itself was
      // selected: after CredSSP, RDSTLS or RDSAAD the client owes the server more before any MCS PDU.
      if (options->session_check && session_checked && !*session_checked && *selected == security_protocol::ssl) {
        *session_checked = true;
        state.session = co_await check_session_over_tls(engine, *a.selected, options->read_timeout);
      }
    }
  } else {
    // Tell a Standard RDP Security server we are leaving, as rdpscan does, rather than vanishing mid-sequence.
    net::sequence_engine engine(socket, net::engine_options{});
    protocol::x224_goodbye goodbye(net::milliseconds(500));
    co_await engine.run(goodbye);
  }
  error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  co_return state;
}

// docs/wire-facts.md 5.4: a listener that closes or resets on an X.224 request without a word may be a TLS-first server
// (OpenSSL drops a non-TLS hello silently). One more connection that starts with a ClientHello tells.
asio::awaitable<std::optional<net::tls_facts>> try_tls_first(std::vector<tcp::endpoint> endpoints,
                                                             std::shared_ptr<const probe_options> options,
                                                             std::shared_ptr<asio::ssl::context> tls_context,
                                                             std::string verify_name) {
  tcp::socket socket(co_await asio::this_coro::executor);
  auto [connect_ec, reached] = co_await net::connect_first(socket, std::move(endpoints), options->connect_timeout);
  if (connect_ec) co_return std::nullopt;
  net::sequence_engine engine(socket, verifying_tls(tls_context.get(), verify_name));
  protocol::tls_upgrade upgrade(options->tls_timeout);
  co_await engine.run(upgrade);
  if (!upgrade.outcome().finished) co_return std::nullopt;
  auto facts = tls_facts_of(engine, verify_name, *options);
  error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  co_return facts;
}

}  // namespace rdp::probe::detail
