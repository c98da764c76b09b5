#include "rdp/protocol/server_sequence.hpp"

#include "rdp/protocol/errinfo.hpp"
#include "rdp/protocol/gcc.hpp"
#include "rdp/protocol/share.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace rdp::protocol {

namespace seq = sequence;
using seq::action;
using seq::instant;

enum class server_sequence::step : std::uint8_t {
  initial,
  // Waiting for the client (read actions).
  read_request,
  read_connect_initial,
  read_negotiate,     // CredSSP: the TSRequest with the NTLM NEGOTIATE
  read_authenticate,  // CredSSP: the TSRequest after the CHALLENGE
  read_credentials,   // CredSSP: the TSRequest with the sealed TSCredentials
  hold,
  domain,
  finalization,
  active,
  // Waiting for the owner or the stream (write, start_tls, notify, close actions).
  writing,
  tls,
  notifying,
  closing,
  done,
  // Continuations, only ever in after_: where a write queue or a notify goes on.
  refused_written,
  negotiated_written,
  after_negotiated,
  after_tls,
  challenge_written,
  after_challenge,
  binding_written,
  authorization_written,
  nla_refusal_written,
  mcs_written,
  domain_written,
  after_decision,
  demand_written,
  finalized,
  after_activated,
  session_info_written,
  enter_active,
  heartbeat_written,
  after_ended,
  teardown_written,
};

namespace {

// A client that sends more frames than this before finishing a phase is broken (as in rdpsim and the mini client).
constexpr int max_frames_per_phase = 64;
// A TSRequest carrying a NEGOTIATE is ~60 bytes; 64 KiB is the same cap the probe puts on the answer.
constexpr std::size_t max_ts_request_bytes = 64 * 1024;

boost::system::error_code timed_out() { return make_error_code(boost::system::errc::timed_out); }

// How the server sends share PDUs: from its channel id (the MCS user id it speaks as, 1002) with pduSource the same,
// under FreeRDP's and Windows' share id — share::data_pdu_route's defaults.
share::data_pdu_route server_route() {
  share::data_pdu_route route;
  route.pdu_source = route.initiator;
  return route;
}
std::uint16_t server_channel_id() { return share::data_pdu_route{}.initiator; }
std::uint32_t server_share_id() { return share::data_pdu_route{}.share_id; }

std::uint16_t supported_depth(const gcc::client_core_data& core) {
  const auto depth = core.high_color_depth.value_or(16);
  return depth == 15 || depth == 16 || depth == 24 || depth == 32 ? depth : 16;
}

// A few rectangles of a test pattern in the client's color depth: the "first screen update" a client draws.
std::vector<activation::bitmap_rectangle> first_screen(const server_client_facts& client) {
  std::vector<activation::bitmap_rectangle> rects;
  const auto bytes_per_pixel = static_cast<std::uint16_t>((client.bits_per_pixel + 7) / 8);
  const std::uint16_t tile = 32;
  for (std::uint16_t i = 0; i < 4; ++i) {
    activation::bitmap_rectangle r;
    r.left = static_cast<std::uint16_t>(i * tile);
    r.top = 0;
    r.width = tile;
    r.height = tile;
    r.bits_per_pixel = client.bits_per_pixel;
    if (r.left + tile > client.width || tile > client.height) break;
    r.pixels.resize(std::size_t{tile} * tile * bytes_per_pixel);
    for (std::size_t p = 0; p < r.pixels.size(); ++p) r.pixels[p] = static_cast<std::uint8_t>((p * 7 + i * 61) & 0xFF);
    rects.push_back(std::move(r));
  }
  return rects;
}

bool is_client_disconnect(bytes_view frame) {
  // The teardown PDUs are the same bytes in both directions (2.2.2.3, X.224 DR).
  auto event = share::inspect_server_frame(frame);
  return event && (event->kind == share::server_event_kind::disconnect_provider_ultimatum ||
                   event->kind == share::server_event_kind::x224_disconnect_request);
}

}  // namespace

std::uint8_t heartbeat_period_field(sequence::duration every) noexcept {
  const auto whole = std::chrono::ceil<std::chrono::seconds>(every).count();
  return static_cast<std::uint8_t>(std::clamp<std::int64_t>(whole, 1, 255));
}

teardown idle_limit_teardown() noexcept {
  return {errinfo::idle_timeout, mcs::disconnect_reason::provider_initiated, seq::close_style::graceful};
}
teardown active_limit_teardown() noexcept {
  return {errinfo::logon_timeout, mcs::disconnect_reason::provider_initiated, seq::close_style::graceful};
}

server_sequence::server_sequence(server_sequence_options options)
    : options_(std::move(options)), step_(step::initial), after_(step::initial) {}

action server_sequence::resume(const seq::event& e) {
  if (step_ == step::done) return seq::done();
  switch (e.kind) {
    case seq::event_kind::start:
      if (step_ != step::initial) break;
      return start(e.now);
    case seq::event_kind::received: return on_received(e);
    case seq::event_kind::written: return on_written(e);
    case seq::event_kind::tls_done:
      if (step_ != step::tls) break;
      result_.reached = server_phase::tls;
      return notify(server_notice::tls_completed, step::after_tls);
    case seq::event_kind::timed_out:
    case seq::event_kind::io_error: return on_failure(e);
    case seq::event_kind::woken:
      if (step_ != step::active) break;
      return active(e.now);
    case seq::event_kind::notified: return on_notified(e);
    case seq::event_kind::closed:
      if (step_ != step::closing) break;
      step_ = step::done;
      return seq::done();
  }
  // A driver that answers an action with an event that does not belong to it is a bug, not something a client did.
  throw std::logic_error(std::string("server_sequence: event ") + seq::to_string(e.kind) +
                         " does not answer the pending action");
}

action server_sequence::start(instant now) {
  step_ = step::read_request;
  return read_step(now);
}

action server_sequence::read_step(instant now) {
  if (!step_open_) {
    deadline_ = now + options_.handshake_timeout;
    step_open_ = true;
  }
  return seq::read(deadline_);
}

action server_sequence::notify(server_notice n, step then) {
  notice_ = n;
  step_ = step::notifying;
  after_ = then;
  return seq::notify();
}

action server_sequence::send(std::vector<byte_buffer> frames, step then, instant now) {
  writes_ = std::move(frames);
  write_at_ = 0;
  after_ = then;
  step_ = step::writing;
  return next_write(now);
}

action server_sequence::next_write(instant now) {
  if (write_at_ >= writes_.size()) {
    writes_.clear();
    return proceed(now);  // nothing (more) to write: go on
  }
  return seq::write(writes_[write_at_], now + options_.handshake_timeout);
}

action server_sequence::on_written(const seq::event& e) {
  if (step_ != step::writing) throw std::logic_error("server_sequence: written without a write");
  ++write_at_;
  return next_write(e.now);
}

action server_sequence::end(server_end why, boost::system::error_code ec, const teardown& how, instant) {
  result_.ended = why;
  result_.error = ec;
  ending_ = how;
  return notify(server_notice::ended, step::after_ended);
}

action server_sequence::fail(server_end why, boost::system::error_code ec, instant now) {
  return end(why, ec, teardown{std::nullopt, std::nullopt, seq::close_style::abrupt}, now);
}

action server_sequence::finish_end(instant now) {
  result_.teardown_sent = ending_;
  step_ = step::closing;
  const auto deadline = ending_.close == seq::close_style::graceful ? now + options_.drain_timeout : instant{};
  return seq::close(ending_.close, deadline);
}

// ---- Continuations ----------------------------------------------------------------------------------------------

action server_sequence::on_notified(const seq::event& e) {
  if (step_ != step::notifying) throw std::logic_error("server_sequence: notified without a notify");
  return proceed(e.now);
}

action server_sequence::proceed(instant now) {
  switch (after_) {
    case step::refused_written:
      return end(server_end::refused, {}, teardown{std::nullopt, std::nullopt, seq::close_style::graceful}, now);
    case step::negotiated_written:
      result_.reached = server_phase::negotiated;
      return notify(server_notice::negotiated, step::after_negotiated);
    case step::after_negotiated:
      if (result_.selected && uses_tls(*result_.selected) && options_.tls_available) {
        step_ = step::tls;
        return seq::start_tls(now + options_.handshake_timeout);
      }
      // Standard RDP Security: the client goes on with the MCS Connect-Initial in the clear.
      step_ = step::read_connect_initial;
      step_open_ = false;
      return read_frame(now);
    case step::after_tls:
      // What arrived before the handshake was not the decrypted stream: the framing starts again.
      frames_ = tpkt::frame_decoder(tpkt::framing_options{options_.max_frame, false});
      step_open_ = false;
      if (*result_.selected == security_protocol::hybrid || *result_.selected == security_protocol::hybrid_ex) {
        if (options_.crypto)
          acceptor_.emplace(*options_.crypto, credssp_acceptor_options{options_.ntlm, options_.server_challenge,
                                                                       options_.filetime, options_.public_key,
                                                                       options_.accounts});
        step_ = step::read_negotiate;
        return on_ts_request(now);
      }
      step_ = step::read_connect_initial;
      return read_frame(now);
    case step::challenge_written:
      result_.reached = server_phase::ntlm_challenged;
      return notify(server_notice::ntlm_challenge_sent, step::after_challenge);
    case step::after_challenge:
      step_ = step::read_authenticate;
      step_open_ = false;
      return on_ts_request(now);
    case step::binding_written:
      step_ = step::read_credentials;
      step_open_ = false;
      return on_ts_request(now);
    case step::authorization_written:
      if (result_.early_authorization != authz_success) {
        result_.credssp_log = "NLA logon of '" + result_.nla->user +
                              "' refused by the Early User Authorization Result: AUTHZ_ACCESS_DENIED (the account may "
                              "not log on through Remote Desktop Services)";
        return end(server_end::nla_refused, {}, teardown{std::nullopt, std::nullopt, seq::close_style::graceful}, now);
      }
      return after_credssp(now);
    case step::nla_refusal_written:
      return fail(server_end::nla_refused, {}, now);
    case step::mcs_written: {
      result_.reached = server_phase::mcs_connected;
      const bool held = !(result_.selected && uses_tls(*result_.selected) && options_.tls_available);
      if (held) {
        // Standard RDP Security is not implemented (no RDP encryption): the connection is held, what the client
        // sends discarded, until it closes or the hold is over — in all, not per read.
        step_ = step::hold;
        deadline_ = now + options_.hold_timeout;
        return seq::read(deadline_);
      }
      step_ = step::domain;
      frames_in_phase_ = 0;
      return read_frame(now);
    }
    case step::domain_written:
      step_ = step::domain;
      return read_frame(now);
    case step::after_decision: {
      if (!decision_) throw std::logic_error("server_sequence: notified without decide_logon()");
      if (decision_->denied)
        return end(server_end::denied, {},
                   teardown{*decision_->denied, mcs::disconnect_reason::provider_initiated, seq::close_style::graceful},
                   now);
      // Licensing as "valid client" (2.2.1.12), then Demand Active (2.2.1.13.1).
      const auto& client = result_.client;
      activation::server_capabilities caps;
      caps.desktop_width = client.width;
      caps.desktop_height = client.height;
      caps.bits_per_pixel = client.bits_per_pixel;
      caps.share_node_id = server_channel_id();
      activation::demand_active demand;
      demand.share_id = server_share_id();
      demand.capabilities = activation::make_server_capability_sets(caps);
      demand.session_id = decision_->session_id;
      auto demand_frame = activation::encode(demand, server_route());
      if (!demand_frame) return fail(server_end::sequence_failure, demand_frame.error(), now);
      std::vector<byte_buffer> frames;
      frames.push_back(activation::encode(activation::license_error_alert{}, server_route()));
      frames.push_back(std::move(*demand_frame));
      return send(std::move(frames), step::demand_written, now);
    }
    case step::demand_written:
      result_.reached = server_phase::capabilities;
      step_ = step::finalization;
      frames_in_phase_ = 0;
      confirmed_ = false;
      return read_frame(now);
    case step::finalized:
      result_.reached = server_phase::active;
      activated_at_ = last_input_ = now;
      return notify(server_notice::activated, step::after_activated);
    case step::after_activated: {
      // Logon completes with Save Session Info (2.2.10.1): the session id and user, then to a client that supports it
      // the auto-reconnect cookie (2.2.4.2), then Auto-Reconnect Status when the cookie it presented was stale.
      const auto route = server_route();
      std::vector<byte_buffer> frames;
      if (logon_) {
        if (auto frame = activation::encode_logon_long(logon_->session_id, logon_->domain, logon_->user, route))
          frames.push_back(std::move(*frame));
        if (logon_->cookie_bits && result_.client.auto_reconnect)
          frames.push_back(activation::encode_logon_extended(
              activation::arc_server_cookie{logon_->session_id, *logon_->cookie_bits}, std::nullopt, route));
      }
      if (decision_ && decision_->stale_cookie) frames.push_back(activation::encode_auto_reconnect_status(route));
      return send(std::move(frames), step::session_info_written, now);
    }
    case step::session_info_written:
      result_.reached = server_phase::logged_on;
      return notify(server_notice::logged_on, step::enter_active);
    case step::enter_active:
      // Fast-path input only once the connection is established (1.3.1.1, 2.2.8.1.2): any frame counts as input.
      frames_.set_options(tpkt::framing_options{options_.max_frame, true});
      release_idle_framing();
      next_heartbeat_ = now;  // the first one at once, as rdpsim does
      return active(now);
    case step::heartbeat_written: return active(now);
    case step::after_ended: {
      if (ending_.close != seq::close_style::graceful) return finish_end(now);
      std::vector<byte_buffer> frames;
      if (ending_.error_info && result_.client.error_info)
        frames.push_back(share::encode_set_error_info({*ending_.error_info}, server_route()));
      else
        ending_.error_info.reset();  // not sent: the client does not take Set Error Info
      if (ending_.dpu)
        frames.push_back(x224::encode_data(mcs::encode(mcs::disconnect_provider_ultimatum{*ending_.dpu})));
      return send(std::move(frames), step::teardown_written, now);
    }
    case step::teardown_written: return finish_end(now);
    default: break;
  }
  throw std::logic_error("server_sequence: no continuation");
}

// ---- Failures -----------------------------------------------------------------------------------------------------

action server_sequence::on_failure(const seq::event& e) {
  const bool timeout = e.kind == seq::event_kind::timed_out;
  const auto ec = timeout ? timed_out() : e.error;
  const auto now = e.now;
  if (step_ == step::notifying || step_ == step::initial)
    throw std::logic_error("server_sequence: a failure event without an I/O action");
  if (step_ == step::closing) {  // the close itself failed: nothing more to do
    step_ = step::done;
    return seq::done();
  }
  if (result_.ended != server_end::none) {
    // The teardown's own writes failed: close at once, without the drain. What went out before is kept in the record
    // (Set Error Info first, then the DPU).
    const std::size_t sent = step_ == step::writing ? write_at_ : 0;
    const std::size_t error_info_frames = ending_.error_info ? 1 : 0;
    if (sent < error_info_frames) ending_.error_info.reset();
    if (sent < error_info_frames + 1) ending_.dpu.reset();
    ending_.close = seq::close_style::abrupt;
    return finish_end(now);
  }
  switch (step_) {
    case step::read_request: return fail(server_end::bad_request, ec, now);
    case step::hold: return fail(timeout ? server_end::hold_over : server_end::client_left, timeout ? boost::system::error_code{} : ec, now);
    case step::active:
      if (timeout) return active(now);  // one of the active session's timers: re-evaluate
      return fail(server_end::client_left, ec, now);
    case step::writing:
      if (after_ == step::nla_refusal_written) {
        result_.credssp_log += " (the answer could not be written: the client had gone)";
        return fail(server_end::nla_refused, ec, now);
      }
      break;
    default: break;
  }
  return fail(timeout ? server_end::timed_out : server_end::client_left, ec, now);
}

// ---- Reading ------------------------------------------------------------------------------------------------------

action server_sequence::on_received(const seq::event& e) {
  const auto now = e.now;
  switch (step_) {
    case step::read_request: {
      frames_.feed(e.bytes);
      auto frame = frames_.next();
      if (!frame) {
        if (is_need_more(frame.error())) return read_step(now);
        return fail(server_end::bad_request, frame.error(), now);
      }
      auto request = x224::decode_connection_request(frame->bytes);
      if (!request) return fail(server_end::bad_request, request.error(), now);
      step_open_ = false;
      frames_.set_options(tpkt::framing_options{options_.max_frame, false});
      result_.request = std::move(request->value);
      result_.reached = server_phase::requested;
      const auto decision = decide_negotiation(result_.request->negotiation, options_.policy);
      if (decision.disconnect)  // xrdp's answer to protocol bits it does not know: a DPU and no confirm at all
        return end(server_end::refused, {},
                   teardown{std::nullopt, mcs::disconnect_reason::user_requested, seq::close_style::graceful}, now);
      x224::connection_confirm confirm;
      if (decision.response) confirm.negotiation = *decision.response;
      if (decision.failure) confirm.negotiation = *decision.failure;
      std::vector<byte_buffer> frames;
      frames.push_back(x224::encode(confirm));
      if (decision.failure) return send(std::move(frames), step::refused_written, now);
      result_.selected = decision.response ? security_protocol_from_bits(decision.response->selected_protocol)
                                           : std::optional(security_protocol::rdp);
      return send(std::move(frames), step::negotiated_written, now);
    }
    case step::read_connect_initial:
    case step::domain:
    case step::finalization: frames_.feed(e.bytes); return read_frame(now);
    case step::read_negotiate:
    case step::read_authenticate:
    case step::read_credentials:
      if (ts_buffer_.size() + e.bytes.size() > max_ts_request_bytes)
        return fail(server_end::sequence_failure, make_error_code(errc::frame_too_large), now);
      ts_buffer_.insert(ts_buffer_.end(), e.bytes.begin(), e.bytes.end());
      return on_ts_request(now);
    case step::hold: return seq::read(deadline_);  // discarded
    case step::active: return on_active_bytes(e);
    default: break;
  }
  throw std::logic_error("server_sequence: received without a read");
}

action server_sequence::read_frame(instant now) {
  for (;;) {
    auto frame = frames_.next();
    if (!frame) {
      if (is_need_more(frame.error())) return read_step(now);
      return fail(server_end::sequence_failure, frame.error(), now);
    }
    step_open_ = false;  // the next frame gets a deadline of its own, as rdpsim's frame_reader::next does
    if (++frames_in_phase_ > max_frames_per_phase)
      return fail(server_end::sequence_failure, make_error_code(errc::unexpected_share_pdu), now);
    if (auto next = on_frame(frame->bytes, now)) return *next;
  }
}

std::optional<action> server_sequence::on_frame(bytes_view frame, instant now) {
  switch (step_) {
    case step::read_connect_initial: return on_connect_initial(frame, now);
    case step::domain: return on_domain_frame(frame, now);
    case step::finalization: return on_finalization_frame(frame, now);
    default: break;
  }
  throw std::logic_error("server_sequence: a frame outside a framed phase");
}

// The MCS Connect-Initial → Connect-Response exchange (2.2.1.3/2.2.1.4). The server data says: RDP 5+ core (echoing
// the protocol selected in negotiation), the Server Security Data — over TLS/CredSSP level and method NONE, as Windows
// sends; under Standard RDP Security what the options' level and methods answer to the client's offer
// (answer_standard_security, 5.3.2), and no Connect-Response at all when they have no method in common (the
// connection is closed, as Windows does) — and one channel id per channel the client asked for (1004, 1005, … as
// FreeRDP's server numbers them; the client's user id comes after the last one).
std::optional<action> server_sequence::on_connect_initial(bytes_view frame, instant now) {
  auto initial = mcs::decode_connect_initial(frame);
  if (!initial) return fail(server_end::sequence_failure, initial.error(), now);
  const bool over_tls = result_.selected && uses_tls(*result_.selected) && options_.tls_available;
  const auto selected_bits = over_tls ? to_bits(*result_.selected) : to_bits(security_protocol::rdp);
  mcs::connect_response response;
  auto& server = response.user_data.server;
  server.core = gcc::server_core_data{gcc::rdp_version::rdp5_plus, selected_bits, std::nullopt};
  if (over_tls) {
    server.security = gcc::server_security_data{};
  } else {
    auto answer = answer_standard_security(options_.standard_security, initial->value.user_data.client.security);
    if (!answer)
      return end(server_end::no_common_method, {}, teardown{std::nullopt, std::nullopt, seq::close_style::graceful},
                 now);
    server.security = std::move(*answer);
  }
  gcc::server_network_data network;
  const auto& requested = initial->value.user_data.client.network;
  const std::size_t channels = requested ? requested->channels.size() : 0;
  for (std::size_t i = 0; i < channels; ++i)
    network.channel_ids.push_back(static_cast<std::uint16_t>(mcs::global_channel_id + 1 + i));
  server.network = network;
  auto wire = mcs::encode(response);
  if (!wire) return fail(server_end::sequence_failure, wire.error(), now);

  // The client facts that change what is sent later.
  auto& client = result_.client;
  const auto core = initial->value.user_data.client.core.value_or(gcc::client_core_data{});
  const auto early = core.early_capability_flags.value_or(0);
  client.error_info = (early & gcc::early_capability::support_errinfo_pdu) != 0;
  client.heartbeat = (early & gcc::early_capability::support_heartbeat_pdu) != 0;
  client.user_id = static_cast<std::uint16_t>(mcs::global_channel_id + 1 + channels);
  const auto max_width = std::max<std::uint16_t>(options_.max_desktop_width, 200);
  const auto max_height = std::max<std::uint16_t>(options_.max_desktop_height, 200);
  client.width = std::clamp<std::uint16_t>(core.desktop_width, 200, max_width);
  client.height = std::clamp<std::uint16_t>(core.desktop_height, 200, max_height);
  client.bits_per_pixel = supported_depth(core);

  std::vector<byte_buffer> frames;
  frames.push_back(std::move(*wire));
  return send(std::move(frames), step::mcs_written, now);
}

// Domain PDUs until the Client Info arrives: Erect Domain, Attach User, one Channel Join per channel
// (2.2.1.5-2.2.1.8), then the Client Info (2.2.1.11), which asks the owner for its logon decision.
std::optional<action> server_sequence::on_domain_frame(bytes_view frame, instant now) {
  auto data = x224::decode_data(frame);
  if (!data) {
    if (is_client_disconnect(frame)) return fail(server_end::client_left, {}, now);
    return fail(server_end::sequence_failure, data.error(), now);
  }
  const auto choice = mcs::peek_choice(data->value);
  if (!choice) return fail(server_end::sequence_failure, make_error_code(errc::truncated), now);
  const auto user_id = result_.client.user_id;
  switch (*choice) {
    case mcs::choice::erect_domain_request:
      if (auto erect = mcs::decode_erect_domain_request(data->value); !erect)
        return fail(server_end::sequence_failure, erect.error(), now);
      return std::nullopt;
    case mcs::choice::attach_user_request: {
      if (auto attach = mcs::decode_attach_user_request(data->value); !attach)
        return fail(server_end::sequence_failure, attach.error(), now);
      auto confirm = mcs::encode(mcs::attach_user_confirm{0, user_id});
      if (!confirm) return fail(server_end::sequence_failure, confirm.error(), now);
      std::vector<byte_buffer> frames;
      frames.push_back(x224::encode_data(*confirm));
      return send(std::move(frames), step::domain_written, now);
    }
    case mcs::choice::channel_join_request: {
      auto join = mcs::decode_channel_join_request(data->value);
      if (!join) return fail(server_end::sequence_failure, join.error(), now);
      auto confirm =
          mcs::encode(mcs::channel_join_confirm{0, user_id, join->value.channel_id, join->value.channel_id});
      if (!confirm) return fail(server_end::sequence_failure, confirm.error(), now);
      std::vector<byte_buffer> frames;
      frames.push_back(x224::encode_data(*confirm));
      return send(std::move(frames), step::domain_written, now);
    }
    case mcs::choice::send_data_request: {
      auto send_data = mcs::decode_send_data(data->value);
      if (!send_data) return fail(server_end::sequence_failure, send_data.error(), now);
      auto info = activation::decode_client_info(send_data->value.user_data);
      if (!info) return fail(server_end::sequence_failure, info.error(), now);
      result_.client_info = std::move(info->value);
      result_.reached = server_phase::client_info;
      decision_.reset();
      return notify(server_notice::logon_decision_needed, step::after_decision);
    }
    case mcs::choice::disconnect_provider_ultimatum: return fail(server_end::client_left, {}, now);
    default: break;
  }
  return fail(server_end::sequence_failure, make_error_code(errc::unexpected_mcs_pdu), now);
}

// Confirm Active, then the client's finalization PDUs up to its Font List (2.2.1.13.2-2.2.1.18); then the server's
// Synchronize, Control Cooperate, Control Granted, Font Map (2.2.1.19-2.2.1.22) and a first screen update.
std::optional<action> server_sequence::on_finalization_frame(bytes_view frame, instant now) {
  if (is_client_disconnect(frame)) return fail(server_end::client_left, {}, now);
  auto data = x224::decode_data(frame);
  if (!data) return fail(server_end::sequence_failure, data.error(), now);
  auto send_data = mcs::decode_send_data(data->value);
  if (!send_data) return fail(server_end::sequence_failure, send_data.error(), now);
  const auto user_data = send_data->value.user_data;
  auto pdu = share::decode_share_pdu(user_data);
  if (!pdu) return std::nullopt;  // e.g. a flow-control PDU: nothing to answer
  if (pdu->value.control.type == share::pdu_type::confirm_active) {
    auto confirm = activation::decode_confirm_active(user_data);
    if (!confirm) return fail(server_end::sequence_failure, confirm.error(), now);
    if (confirm->value.share_id != server_share_id())
      return fail(server_end::sequence_failure, make_error_code(errc::unexpected_share_pdu), now);
    const auto summary = activation::summarize(confirm->value.capabilities);
    result_.client.auto_reconnect =
        summary.general_extra_flags &&
        (*summary.general_extra_flags & activation::general_extra_flag::autoreconnect_supported);
    confirmed_ = true;
    return std::nullopt;
  }
  if (!pdu->value.data || pdu->value.data->type2 != share::pdu_type2::font_list) return std::nullopt;
  if (!confirmed_) return fail(server_end::sequence_failure, make_error_code(errc::unexpected_share_pdu), now);

  const auto route = server_route();
  const auto user_id = result_.client.user_id;
  const activation::control cooperate{activation::control_action::cooperate, 0, 0};
  const activation::control granted{activation::control_action::granted_control, user_id, server_channel_id()};
  std::vector<byte_buffer> frames;
  frames.push_back(activation::encode(activation::synchronize{user_id}, route));
  frames.push_back(activation::encode(cooperate, route));
  frames.push_back(activation::encode(granted, route));
  frames.push_back(activation::encode_font_map(route));
  if (const auto screen = first_screen(result_.client); !screen.empty()) {
    auto update = activation::encode_bitmap_update(screen, route);
    if (!update) return fail(server_end::sequence_failure, update.error(), now);
    frames.push_back(std::move(*update));
  }
  return send(std::move(frames), step::finalized, now);
}

// CredSSP (MS-CSSP 3.1.5): TSRequests are DER in the TLS stream without TPKT, so the outer SEQUENCE is the frame.
// Each one goes to the acceptor, whose answer is sent; its end decides where the connection goes.
action server_sequence::on_ts_request(instant now) {
  auto decoded = credssp::decode_ts_request(ts_buffer_);
  if (!decoded) {
    if (is_need_more(decoded.error())) return read_step(now);
    // After the CHALLENGE a probe that sends anything but a TSRequest gets nothing to log, as one that closes.
    return fail(server_end::sequence_failure, decoded.error(), now);
  }
  ts_buffer_.erase(ts_buffer_.begin(), ts_buffer_.begin() + static_cast<std::ptrdiff_t>(decoded->consumed));
  step_open_ = false;
  const auto& request = decoded->value;
  if (!acceptor_) {
    // No crypto configured: the CHALLENGE a probe reads, then a refusal of the logon rather than a timeout.
    if (step_ == step::read_negotiate) {
      if (request.nego_tokens.empty())
        return fail(server_end::sequence_failure, make_error_code(errc::unexpected_share_pdu), now);
      auto negotiate = ntlm::decode_negotiate(request.nego_tokens.front());
      if (!negotiate) return fail(server_end::sequence_failure, negotiate.error(), now);
      auto token = ntlm::encode(make_challenge(options_.ntlm, negotiate->flags, options_.filetime,
                                               options_.server_challenge));
      if (!token) return fail(server_end::sequence_failure, token.error(), now);
      credssp::ts_request answer;
      answer.version = responder_credssp_version;
      answer.nego_tokens.push_back(std::move(*token));
      std::vector<byte_buffer> frames;
      frames.push_back(credssp::encode(answer));
      return send(std::move(frames), step::challenge_written, now);
    }
    result_.nla_status = ntstatus::not_supported;
    result_.credssp_log = "NLA logon refused: this server has no NTLM crypto configured";
    if (request.version < 3) return fail(server_end::nla_refused, {}, now);  // no errorCode before version 3
    credssp::ts_request refusal;
    refusal.version = std::min<std::int64_t>(request.version, responder_credssp_version);
    refusal.error_code = ntstatus::not_supported;
    std::vector<byte_buffer> frames;
    frames.push_back(credssp::encode(refusal));
    return send(std::move(frames), step::nla_refusal_written, now);
  }

  auto answered = acceptor_->on_request(request);
  std::vector<byte_buffer> frames;
  if (answered.reply) frames.push_back(credssp::encode(*answered.reply));
  switch (answered.outcome) {
    case credssp_outcome::in_progress:
      if (frames.empty()) break;  // the acceptor always answers while in progress
      return send(std::move(frames), step_ == step::read_negotiate ? step::challenge_written : step::binding_written,
                  now);
    case credssp_outcome::failed:
      result_.nla_status = acceptor_->failure_status();
      result_.credssp_log = acceptor_->log();
      acceptor_.reset();
      ts_buffer_.clear();
      ts_buffer_.shrink_to_fit();
      if (!frames.empty()) return send(std::move(frames), step::nla_refusal_written, now);
      return fail(server_end::nla_refused, {}, now);
    case credssp_outcome::authenticated: {
      result_.nla = acceptor_->logon();
      result_.reached = server_phase::authenticated;
      acceptor_.reset();
      if (*result_.selected == security_protocol::hybrid_ex) {
        // 2.2.10.2: four bytes, raw in the TLS stream, before the client's MCS Connect-Initial.
        result_.early_authorization =
            result_.nla->remote_logon ? authz_success : authz_access_denied;
        byte_buffer pdu;
        byte_writer w(pdu);
        w.u32le(*result_.early_authorization);
        frames.push_back(std::move(pdu));
        return send(std::move(frames), step::authorization_written, now);
      }
      return after_credssp(now);
    }
  }
  return fail(server_end::sequence_failure, make_error_code(errc::unexpected_share_pdu), now);
}

// The TPKT stream resumes after CredSSP. A client may send its Connect-Initial in the same TLS record as its last
// TSRequest (FreeRDP does, over HYBRID): what followed the TSRequest is the start of that stream.
action server_sequence::after_credssp(instant now) {
  step_ = step::read_connect_initial;
  step_open_ = false;
  if (!ts_buffer_.empty()) {
    frames_.feed(ts_buffer_);
    ts_buffer_.clear();
  }
  ts_buffer_.shrink_to_fit();
  return read_frame(now);
}

// ---- The active session ---------------------------------------------------------------------------------------------

action server_sequence::active(instant now) {
  step_ = step::active;
  if (requested_end_) {
    const auto how = *requested_end_;
    requested_end_.reset();
    return end(server_end::teardown, {}, how, now);
  }
  if (options_.idle_limit && now - last_input_ >= *options_.idle_limit)
    return end(server_end::idle_limit, {}, idle_limit_teardown(), now);
  if (options_.active_limit && now - activated_at_ >= *options_.active_limit)
    return end(server_end::active_limit, {}, active_limit_teardown(), now);
  const bool heartbeats = options_.heartbeat && result_.client.heartbeat;
  if (heartbeats && now >= next_heartbeat_) {
    // Server Heartbeat (2.2.16.1): warn after 2 missed, reconnect after 4. Two clocks on purpose: the next one is due
    // after the precise period (a scaled 3100 ms stays 3100 ms, so it keeps its order against a proxy's 3050 ms idle
    // timeout), while the PDU's period field can only say whole seconds (heartbeat_period_field).
    const auto period = heartbeat_period_field(*options_.heartbeat);
    next_heartbeat_ = now + *options_.heartbeat;
    std::vector<byte_buffer> frames;
    frames.push_back(activation::encode(activation::heartbeat{period, 2, 4}, server_route()));
    return send(std::move(frames), step::heartbeat_written, now);
  }
  auto wake_at = instant::max();
  if (options_.idle_limit) wake_at = std::min(wake_at, last_input_ + *options_.idle_limit);
  if (options_.active_limit) wake_at = std::min(wake_at, activated_at_ + *options_.active_limit);
  if (heartbeats) wake_at = std::min(wake_at, next_heartbeat_);
  return seq::read(wake_at, true);
}

action server_sequence::on_active_bytes(const seq::event& e) {
  frames_.feed(e.bytes);
  bool input = false;
  for (;;) {
    auto frame = frames_.next();
    if (!frame) {
      if (is_need_more(frame.error())) break;
      return fail(server_end::sequence_failure, frame.error(), e.now);
    }
    input = true;  // any frame is activity, fast-path input and refreshes alike
    if (frame->kind == tpkt::frame_kind::slow_path && is_client_disconnect(frame->bytes)) {
      last_input_ = e.now;
      return fail(server_end::client_left, {}, e.now);  // the client disconnected: its session stays, disconnected
    }
  }
  if (input) last_input_ = e.now;
  release_idle_framing();
  return active(e.now);
}

// Thousands of sessions sit idle at once: one whose frames have all been read keeps no framing buffer (the decoder
// would otherwise keep the capacity of the largest burst it ever saw). Only then: a partial frame's bytes stay.
void server_sequence::release_idle_framing() {
  if (frames_.buffered() == 0) frames_ = tpkt::frame_decoder(tpkt::framing_options{options_.max_frame, true});
}

// ---- Names ----------------------------------------------------------------------------------------------------------

const char* to_string(server_phase p) noexcept {
  switch (p) {
    case server_phase::none: return "none";
    case server_phase::requested: return "requested";
    case server_phase::negotiated: return "negotiated";
    case server_phase::tls: return "tls";
    case server_phase::ntlm_challenged: return "ntlm-challenged";
    case server_phase::authenticated: return "authenticated";
    case server_phase::mcs_connected: return "mcs-connected";
    case server_phase::client_info: return "client-info";
    case server_phase::capabilities: return "capabilities";
    case server_phase::active: return "active";
    case server_phase::logged_on: return "logged-on";
  }
  return "?";
}

const char* to_string(server_end e) noexcept {
  switch (e) {
    case server_end::none: return "none";
    case server_end::bad_request: return "bad-request";
    case server_end::refused: return "refused";
    case server_end::client_left: return "client-left";
    case server_end::sequence_failure: return "sequence-failure";
    case server_end::timed_out: return "timed-out";
    case server_end::nla_refused: return "nla-refused";
    case server_end::hold_over: return "hold-over";
    case server_end::no_common_method: return "no-common-method";
    case server_end::denied: return "denied";
    case server_end::idle_limit: return "idle-limit";
    case server_end::active_limit: return "active-limit";
    case server_end::teardown: return "teardown";
  }
  return "?";
}

const char* to_string(server_notice n) noexcept {
  switch (n) {
    case server_notice::none: return "none";
    case server_notice::negotiated: return "negotiated";
    case server_notice::tls_completed: return "tls-completed";
    case server_notice::ntlm_challenge_sent: return "ntlm-challenge-sent";
    case server_notice::logon_decision_needed: return "logon-decision-needed";
    case server_notice::activated: return "activated";
    case server_notice::logged_on: return "logged-on";
    case server_notice::ended: return "ended";
  }
  return "?";
}

}  // namespace rdp::protocol
