#include "rdp/protocol/client_sequence.hpp"

#include "rdp/protocol/errinfo.hpp"
#include "rdp/protocol/nego.hpp"

#include <algorithm>
#include <utility>
#include <variant>

namespace rdp::protocol {

namespace {

using boost::system::error_code;
namespace seq = sequence;

// A server that sends more frames than this before the one a step awaits is broken (the mini client's bound).
constexpr int max_frames_per_step = 64;

error_code timed_out() { return boost::system::errc::make_error_code(boost::system::errc::timed_out); }
error_code refused() { return boost::system::errc::make_error_code(boost::system::errc::permission_denied); }

constexpr std::uint32_t ssl_bits = to_bits(security_protocol::ssl), hybrid_bits = to_bits(security_protocol::hybrid),
                        hybrid_ex_bits = to_bits(security_protocol::hybrid_ex);

// The first byte of a DER SEQUENCE (a TSRequest, MS-CSSP 2.2.1); a TPKT header starts with 0x03 (T.123).
constexpr std::uint8_t der_sequence = 0x30;

// TS_UD_CS_CORE as the mini client fills it in, up to serverSelectedProtocol; earlyCapabilityFlags says the client
// takes Set Error Info PDUs (2.2.1.3.2), without which a server ends sessions without saying why.
gcc::client_core_data client_core(bool announce_heartbeat, std::uint32_t selected_protocol, std::u16string name) {
  gcc::client_core_data core;
  core.client_name = std::move(name);
  core.post_beta2_color_depth = 0xCA01;
  core.client_product_id = 1;
  core.serial_number = 0;
  core.high_color_depth = 16;
  core.supported_color_depths = 0x000F;  // RNS_UD_24BPP_SUPPORT | 16BPP | 15BPP | 32BPP
  core.early_capability_flags = static_cast<std::uint16_t>(
      gcc::early_capability::support_errinfo_pdu |
      (announce_heartbeat ? gcc::early_capability::support_heartbeat_pdu : 0));
  core.client_dig_product_id = u"";
  core.connection_type = 0;
  core.server_selected_protocol = selected_protocol;
  return core;
}

// Confirm Active's capability sets: a general set of our own (2.2.7.1.1) — AUTORECONNECT_SUPPORTED when asked, and
// no fast-path flags, so the server keeps to the slow path — and the server's bitmap set echoed (2.2.7.1.2: the
// desktop size and depth the server chose).
std::vector<activation::capability_set> client_capabilities(const activation::demand_active& demand,
                                                             bool announce_auto_reconnect) {
  std::vector<activation::capability_set> sets;
  byte_buffer general;
  byte_writer w(general);
  w.u16le(1);       // osMajorType: OSMAJORTYPE_WINDOWS
  w.u16le(3);       // osMinorType: OSMINORTYPE_WINDOWS_NT
  w.u16le(0x0200);  // protocolVersion: TS_CAPS_PROTOCOLVERSION
  w.u16le(0);       // pad2octetsA
  w.u16le(0);       // generalCompressionTypes
  w.u16le(static_cast<std::uint16_t>(
      activation::general_extra_flag::long_credentials_supported |
      (announce_auto_reconnect ? activation::general_extra_flag::autoreconnect_supported : 0) |
      activation::general_extra_flag::no_bitmap_compression_hdr));
  w.u16le(0);  // updateCapabilityFlag
  w.u16le(0);  // remoteUnshareFlag
  w.u16le(0);  // generalCompressionLevel
  w.u8(0);     // refreshRectSupport
  w.u8(0);     // suppressOutputSupport
  sets.push_back(activation::capability_set{activation::capability_type::general, std::move(general)});
  for (const auto& set : demand.capabilities)
    if (set.type == activation::capability_type::bitmap) sets.push_back(set);
  return sets;
}

// The MCS PDU (X.224 data payload) of a frame, and the user data of a Send Data Indication.
boost::system::result<bytes_view> mcs_of(bytes_view frame) {
  auto data = x224::decode_data(frame);
  if (!data) return data.error();
  return data->value;
}
boost::system::result<bytes_view> user_data_of(bytes_view frame) {
  auto data = mcs_of(frame);
  if (!data) return data.error();
  auto send_data = mcs::decode_send_data(*data);
  if (!send_data) return send_data.error();
  return send_data->value.user_data;
}

byte_buffer mcs_frame(byte_buffer mcs_pdu) { return x224::encode_data(mcs_pdu); }

}  // namespace

const char* to_string(client_phase p) noexcept {
  switch (p) {
    case client_phase::none: return "none";
    case client_phase::connected: return "connected";
    case client_phase::negotiated: return "negotiated";
    case client_phase::tls: return "tls";
    case client_phase::authenticated: return "authenticated";
    case client_phase::mcs_connected: return "mcs-connected";
    case client_phase::attached: return "attached";
    case client_phase::joined: return "joined";
    case client_phase::licensed: return "licensed";
    case client_phase::capabilities: return "capabilities";
    case client_phase::active: return "active";
  }
  return "?";
}

const char* to_string(teardown_kind k) noexcept {
  switch (k) {
    case teardown_kind::set_error_info: return "set-error-info";
    case teardown_kind::disconnect_provider_ultimatum: return "disconnect-provider-ultimatum";
    case teardown_kind::x224_disconnect: return "x224-disconnect";
    case teardown_kind::auto_reconnect_status: return "auto-reconnect-status";
    case teardown_kind::reset: return "reset";
    case teardown_kind::closed: return "closed";
    case teardown_kind::timeout: return "timeout";
    case teardown_kind::silence: return "silence";
  }
  return "?";
}

x224::connection_request make_connection_request(const client_sequence_options& options) {
  x224::connection_request request;
  request.cookie = options.x224_cookie;
  if (options.security == client_security::tls)
    request.negotiation =
        neg_request{0, options.requested_protocols.value_or(to_bits(security_protocol::ssl))};
  else if (options.security == client_security::nla)
    // FreeRDP asks for SSL|HYBRID; mstsc adds HYBRID_EX (2.2.1.1.1).
    request.negotiation = neg_request{
        0, options.requested_protocols.value_or(ssl_bits | hybrid_bits | (options.nla.hybrid_ex ? hybrid_ex_bits : 0))};
  else if (options.requested_protocols)
    request.negotiation = neg_request{0, *options.requested_protocols};
  return request;
}

mcs::connect_initial make_client_connect_initial(std::uint32_t selected_protocol, bool announce_heartbeat,
                                                 std::u16string client_name) {
  // The GCC client data (2.2.1.3): core, security (no methods: TLS, or Standard RDP Security asking for none), and
  // network with no channels.
  mcs::connect_initial initial;
  initial.user_data.client.core = client_core(announce_heartbeat, selected_protocol, std::move(client_name));
  initial.user_data.client.security = gcc::client_security_data{};
  initial.user_data.client.network = gcc::client_network_data{};
  return initial;
}

client_sequence::client_sequence(client_sequence_options options)
    : options_(std::move(options)), decoder_(tpkt::framing_options{options_.max_frame, false}) {
  route_.from_server = false;  // MCS Send Data Request
  route_.channel_id = mcs::global_channel_id;
  if (options_.busy && options_.busy->count() <= 0) options_.busy = sequence::duration(1);  // never a busy loop
  if (options_.trickle_after_mcs && options_.trickle_after_mcs->count() < 0)
    options_.trickle_after_mcs = sequence::duration(0);
}

seq::action client_sequence::resume(const seq::event& e) {
  now_ = e.now;
  switch (waiting_) {
    case waiting::done: return seq::done();
    case waiting::close:
      step_ = step::done;
      waiting_ = waiting::done;
      return seq::done();
    case waiting::start:
      if (e.kind != seq::event_kind::start) return fail(make_error_code(errc::value_out_of_range),
                                                        "the driver's first event was not start");
      return begin();
    case waiting::notify:
      // Anything answers a notify: it asks for no I/O.
      switch (after_notify_) {
        case after_notify::go_on: return pump();
        case after_notify::hold_or_close:
          if (options_.hold) return enter_hold();
          return close(seq::close_style::graceful, now_ + options_.deadlines.close);
        case after_notify::stop: return stop();
        case after_notify::fail_close: return close(fail_style_, now_ + options_.deadlines.close);
      }
      return pump();
    case waiting::write:
      if (e.kind == seq::event_kind::written) return after_written();
      if (e.kind == seq::event_kind::io_error) return on_io_error(e.error);
      if (e.kind == seq::event_kind::timed_out) return on_timeout();
      return pending_;  // nothing else can end a write
    case waiting::tls:
      if (e.kind == seq::event_kind::tls_done) return after_tls(e.bytes);
      if (e.kind == seq::event_kind::io_error) return on_io_error(e.error);
      if (e.kind == seq::event_kind::timed_out) return on_timeout();
      return pending_;
    case waiting::read:
      switch (e.kind) {
        case seq::event_kind::received:
          if (raw_input_) raw_.insert(raw_.end(), e.bytes.begin(), e.bytes.end());
          else decoder_.feed(e.bytes);
          return pump();
        case seq::event_kind::timed_out: return on_timeout();
        case seq::event_kind::io_error: return on_io_error(e.error);
        case seq::event_kind::woken:
          if (close_requested_ && (step_ == step::hold || step_ == step::trickle)) return leave_on_request();
          return read_action();  // the same deadline: a wake-up does not stretch it
        default: return pending_;
      }
  }
  return seq::done();
}

seq::action client_sequence::begin() {
  result_.started_at = now_;
  if (options_.start == client_start::after_tls) {
    result_.tls_at = now_;
    server_public_key_ = options_.nla.public_key;
    raw_input_ = options_.security == client_security::nla;
    result_.reached = client_phase::connected;
    return reach(client_phase::tls);
  }
  if (options_.start == client_start::after_x224) {
    result_.reached = client_phase::connected;
    return reach(client_phase::negotiated);
  }
  return reach(client_phase::connected);
}

seq::action client_sequence::start_step(step s) {
  step_ = s;
  deadline_ = now_ + options_.deadlines.step;
  frames_in_step_ = 0;
  switch (s) {
    case step::x224: return send_connection_request();
    case step::tls:
      waiting_ = waiting::tls;
      pending_ = seq::start_tls(deadline_);
      return pending_;
    case step::credssp_negotiate: return start_credssp();
    case step::connect_response: return send_connect_initial();
    case step::attach: return send_attach_user();
    case step::join_user:
    case step::join_io: return send_channel_join();
    case step::license: return send_client_info();
    case step::demand_active:
    case step::early_authorization: return pump();
    case step::finalization: return send_finalization();
    case step::trickle: return send_trickle_byte();
    case step::credssp_authenticate:
    case step::credssp_credentials:  // written by on_ts_request
    case step::font_map:
    case step::hold:
    case step::goodbye:
    case step::closing:
    case step::done: break;
  }
  return pump();
}

// Negotiation (MS-RDPBCGR 1.3.1.1 steps 1-2).

seq::action client_sequence::send_connection_request() {
  auto frame = x224::encode(make_connection_request(options_));
  if (!frame) return fail(frame.error(), "encoding the X.224 Connection Request");
  return send(std::move(*frame), deadline_);
}

// NLA: CredSSP over the TLS channel (MS-CSSP 3.1.5), bound to the server's public key.

seq::action client_sequence::start_credssp() {
  if (!options_.nla.crypto)
    return fail(make_error_code(errc::value_out_of_range), "starting CredSSP: no crypto primitives were given");
  if (server_public_key_.empty())
    return fail(make_error_code(errc::value_out_of_range),
                "starting CredSSP: the server's TLS public key is unknown (nothing to bind the credentials to)");
  credssp_initiator_options o;
  o.identity = {options_.user, options_.domain, options_.password, options_.nla.workstation};
  o.random.client_challenge = options_.nla.client_challenge;
  o.random.exported_session_key = options_.nla.exported_session_key;
  o.nonce = options_.nla.nonce;
  o.filetime = options_.nla.filetime;
  o.public_key = server_public_key_;
  o.version = options_.nla.credssp_version;
  o.target_spn = options_.nla.target_spn;
  if (options_.nla.spnego) o.spnego_mechs = {spnego::oid(spnego::ntlm_oid.begin(), spnego::ntlm_oid.end())};
  credssp_.emplace(*options_.nla.crypto, std::move(o));
  return send(credssp::encode(credssp_->start()), deadline_);
}

// MCS: Connect-Initial, Erect Domain and Attach User, the channel joins (2.2.1.3-2.2.1.9).

seq::action client_sequence::send_connect_initial() {
  const std::uint32_t selected = selected_protocol();
  auto frame = mcs::encode(options_.connect_initial ? *options_.connect_initial
                                                    : make_client_connect_initial(selected, options_.announce_heartbeat));
  if (!frame) return fail(frame.error(), "encoding the MCS Connect-Initial");
  return send(std::move(*frame), deadline_);
}

seq::action client_sequence::send_attach_user() {
  // Erect Domain and Attach User, back to back as FreeRDP sends them (2.2.1.5, 2.2.1.6).
  byte_buffer both = mcs_frame(mcs::encode(mcs::erect_domain_request{}));
  const byte_buffer attach = mcs_frame(mcs::encode(mcs::attach_user_request{}));
  both.insert(both.end(), attach.begin(), attach.end());
  return send(std::move(both), deadline_);
}

seq::action client_sequence::send_channel_join() {
  // Channel Join for the user channel, then the I/O channel, one confirm each (2.2.1.8, 2.2.1.9).
  auto join = mcs::encode(mcs::channel_join_request{result_.user_id, joining_channel()});
  if (!join) return fail(join.error(), std::string("encoding ") + request());
  return send(mcs_frame(std::move(*join)), deadline_);
}

std::uint16_t client_sequence::joining_channel() const noexcept {
  return step_ == step::join_user ? result_.user_id : mcs::global_channel_id;
}

seq::action client_sequence::send_trickle_byte() {
  // One byte of an Erect Domain Request (valid, and harmless to repeat) per write.
  const byte_buffer erect = mcs_frame(mcs::encode(mcs::erect_domain_request{}));
  const auto byte = erect[trickle_at_++ % erect.size()];
  return send(byte_buffer{byte}, now_ + options_.deadlines.step);
}

// Activation: Client Info and licensing, the capability exchange and finalization (2.2.1.11-2.2.1.22).

seq::action client_sequence::send_client_info() {
  // Client Info with the credentials (2.2.1.11), then the server's licensing answer: "valid client" (2.2.1.12).
  activation::client_info info;
  info.flags |= activation::info_flag::autologon;
  info.user = options_.user;
  info.domain = options_.domain;
  info.password = options_.password;
  info.client_address = options_.client_address;
  info.auto_reconnect_cookie = options_.cookie;
  const auto& raw_user = options_.user_utf16le;
  if (raw_user) {
    if (raw_user->size() % 2) return fail(make_error_code(errc::value_out_of_range), "placing the raw user name");
    info.user = std::string(raw_user->size() / 2, '\x01');  // a placeholder of the same length
  }
  auto frame = activation::encode(info, route_);
  if (!frame) return fail(frame.error(), "encoding the Client Info PDU");
  if (raw_user) {
    // The placeholder's UTF-16LE (01 00 01 00 …, with its 00 00 terminator) is the only such run in the PDU:
    // the raw bytes go in its place.
    byte_buffer placeholder;
    for (std::size_t i = 0; i < raw_user->size() / 2; ++i) placeholder.insert(placeholder.end(), {0x01, 0x00});
    placeholder.insert(placeholder.end(), {0x00, 0x00});
    const auto at = std::search(frame->begin(), frame->end(), placeholder.begin(), placeholder.end());
    if (at == frame->end()) return fail(make_error_code(errc::value_out_of_range), "placing the raw user name");
    std::copy(raw_user->begin(), raw_user->end(), at);
  }
  return send(std::move(*frame), deadline_);
}

seq::action client_sequence::send_finalization() {
  // Confirm Active (2.2.1.13.2), then Synchronize, Control Cooperate, Control Request Control and Font List
  // (2.2.1.14-2.2.1.18) in one write, as a client may send them back to back.
  activation::confirm_active confirm;
  confirm.share_id = route_.share_id;
  confirm.originator_id = server_channel_;
  confirm.capabilities = client_capabilities(demand_, options_.announce_auto_reconnect);
  auto frame = activation::encode(confirm, route_);
  if (!frame) return fail(frame.error(), "encoding the Confirm Active PDU");
  const activation::control cooperate{activation::control_action::cooperate, 0, 0};
  const activation::control request_control{activation::control_action::request_control, 0, 0};
  for (const auto& pdu : {activation::encode(activation::synchronize{server_channel_}, route_),
                          activation::encode(cooperate, route_), activation::encode(request_control, route_),
                          activation::encode_font_list(route_)})
    frame->insert(frame->end(), pdu.begin(), pdu.end());
  demand_ = {};
  return send(std::move(*frame), deadline_);
}

std::uint32_t client_sequence::selected_protocol() const noexcept {
  if (result_.confirm)
    if (const auto* rsp = std::get_if<neg_response>(&result_.confirm->negotiation)) return rsp->selected_protocol;
  switch (options_.security) {
    case client_security::tls: return ssl_bits;
    case client_security::nla: return options_.nla.hybrid_ex ? hybrid_ex_bits : hybrid_bits;
    case client_security::standard: break;
  }
  return 0;
}

seq::action client_sequence::send(byte_buffer bytes, seq::instant deadline) {
  out_ = std::move(bytes);
  waiting_ = waiting::write;
  pending_ = seq::write(out_, deadline);
  return pending_;
}

seq::action client_sequence::read_action() {
  auto deadline = deadline_;
  bool wakeable = false;
  if (step_ == step::hold) {
    deadline = options_.busy ? std::min(hold_until_, next_input_) : hold_until_;
    if (options_.silence_limit) deadline = std::min(deadline, silent_until_);
    wakeable = true;
  } else if (step_ == step::trickle) {
    deadline = std::min(hold_until_, trickle_next_);
    wakeable = true;
  }
  waiting_ = waiting::read;
  // A frame that came after the hold's or the next input's instant: that instant has passed, so act on it now rather
  // than ask for a read whose deadline is already behind us (on_timeout reads again only with a later deadline).
  if (wakeable && deadline <= now_) return on_timeout();
  pending_ = seq::read(deadline, wakeable);
  return pending_;
}

seq::action client_sequence::close(seq::close_style style, seq::instant deadline) {
  if (!result_.ended_at) result_.ended_at = now_;
  step_ = step::closing;
  waiting_ = waiting::close;
  pending_ = seq::close(style, deadline);
  return pending_;
}

seq::action client_sequence::after_written() {
  switch (step_) {
    case step::finalization:
      // Confirm Active and the finalization PDUs sent; the server's finalization is awaited within the same step.
      step_ = step::font_map;
      frames_in_step_ = 0;
      return reach(client_phase::capabilities);
    case step::trickle:
      trickle_next_ = now_ + *options_.trickle_after_mcs;
      return read_action();
    case step::hold: ++result_.inputs_sent; return pump();
    case step::credssp_credentials:
      // The credentials are delegated; no TSRequest answers them on success (MS-CSSP 3.1.5). Under HYBRID_EX the
      // server says next whether this user may log on remotely (2.2.10.2).
      if (selected_protocol() == hybrid_ex_bits) return start_step(step::early_authorization);
      return reach(client_phase::authenticated);
    case step::goodbye: return close(seq::close_style::graceful, now_ + options_.deadlines.close);
    default: return pump();
  }
}

seq::action client_sequence::after_tls(bytes_view public_key) {
  result_.tls_at = now_;
  // The decrypted stream starts afresh: nothing of the plain one belongs to it.
  decoder_ = tpkt::frame_decoder(tpkt::framing_options{options_.max_frame, false});
  server_public_key_.assign(public_key.begin(), public_key.end());
  raw_input_ = options_.security == client_security::nla;
  return reach(client_phase::tls);
}

seq::action client_sequence::reach(client_phase p) {
  result_.reached = p;
  if (p == client_phase::active) {
    result_.active_at = now_;
    // Fast-path output is possible once the connection is established (1.3.1.1); we announce none, but accept it.
    decoder_.set_options(tpkt::framing_options{options_.max_frame, true});
    return sequence_over(after_notify::hold_or_close);
  }
  if (p >= options_.stop_after) return sequence_over(after_notify::stop);
  switch (p) {
    case client_phase::none:
    case client_phase::connected: return start_step(step::x224);
    case client_phase::negotiated:
      if (options_.security != client_security::standard) return start_step(step::tls);
      return start_step(step::connect_response);
    case client_phase::tls:
      if (options_.security == client_security::nla) return start_step(step::credssp_negotiate);
      return start_step(step::connect_response);
    case client_phase::authenticated: return start_step(step::connect_response);
    case client_phase::mcs_connected:
      if (options_.trickle_after_mcs) {
        hold_until_ = now_ + options_.deadlines.hold;
        return start_step(step::trickle);
      }
      if (options_.security == client_security::standard)
        return fail(make_error_code(errc::value_out_of_range),
                    "after the MCS Connect-Response: Standard RDP Security goes on with the Security Exchange "
                    "(2.2.1.10), which this client does not speak");
      return start_step(step::attach);
    case client_phase::attached: return start_step(step::join_user);
    case client_phase::joined: return start_step(step::license);
    case client_phase::licensed: return start_step(step::demand_active);
    case client_phase::capabilities: return pump();  // step::font_map, set by after_written
    case client_phase::active: break;
  }
  return pump();
}

seq::action client_sequence::sequence_over(after_notify then) {
  sequence_over_ = true;
  notice_ = notice_kind::sequence_done;
  after_notify_ = then;
  waiting_ = waiting::notify;
  pending_ = seq::notify();
  return pending_;
}

seq::action client_sequence::stop() {
  if (!result_.ended_at) result_.ended_at = now_;
  if (options_.goodbye && result_.reached >= client_phase::negotiated) {
    step_ = step::goodbye;
    return send(x224::encode(x224::disconnect_request{}), now_ + options_.deadlines.close);
  }
  return close(seq::close_style::graceful, now_ + options_.deadlines.close);
}

seq::action client_sequence::fail(error_code ec, std::string what) {
  result_.error = ec;
  result_.failure = std::move(what);
  if (!result_.ended_at) result_.ended_at = now_;
  if (!sequence_over_) return sequence_over(after_notify::fail_close);
  return close(fail_style_, now_ + options_.deadlines.close);
}

seq::action client_sequence::enter_hold() {
  step_ = step::hold;
  hold_until_ = now_ + options_.deadlines.hold;
  if (options_.busy) next_input_ = now_ + *options_.busy;
  if (options_.silence_limit) silent_until_ = now_ + *options_.silence_limit;
  return pump();
}

void client_sequence::set_busy(std::optional<seq::duration> every) noexcept {
  options_.busy = every;
  if (every) next_input_ = now_ + *every;
}

seq::action client_sequence::leave_on_request() {
  result_.closed_by_owner = true;
  if (!result_.ended_at) result_.ended_at = now_;
  if (step_ == step::hold) {
    // What FreeRDP's client sends when it disconnects: an MCS Disconnect Provider Ultimatum, rn-user-requested.
    step_ = step::goodbye;
    return send(mcs_frame(mcs::encode(mcs::disconnect_provider_ultimatum{mcs::disconnect_reason::user_requested})),
                now_ + options_.deadlines.close);
  }
  return close(seq::close_style::graceful, now_ + options_.deadlines.close);
}

void client_sequence::record(teardown_kind kind, std::uint32_t code) { result_.teardown.push_back({now_, kind, code}); }

seq::action client_sequence::pump() {
  if (raw_input_) return pump_raw();
  for (;;) {
    auto frame = decoder_.next();
    if (!frame) {
      if (!is_need_more(frame.error())) {
        fail_style_ = seq::close_style::graceful;
        const std::string where = step_ == step::hold      ? "holding the session"
                                  : step_ == step::trickle ? "trickling"
                                                           : std::string("waiting for ") + awaited();
        return fail(frame.error(), where + ": the server's bytes are not a frame: " + frame.error().message());
      }
      if (close_requested_ && (step_ == step::hold || step_ == step::trickle)) return leave_on_request();
      return read_action();
    }
    if (auto next = on_frame(*frame)) return *next;
  }
}

// NLA's stream between TLS and MCS: whole TSRequests (DER, framed by their own length: decode_ts_request is
// tri-state), then under HYBRID_EX the 4-byte Early User Authorization Result, then TPKT.
seq::action client_sequence::pump_raw() {
  const auto too_large = [this] {
    return fail(make_error_code(errc::frame_too_large),
                context() + std::to_string(raw_.size()) + " bytes without a whole TSRequest");
  };
  // The TSRequest at the front of raw_: its step's answer, a read for the rest of it, or a failure.
  const auto ts_request = [&]() -> seq::action {
    auto decoded = credssp::decode_ts_request(raw_);
    if (!decoded) {
      if (!is_need_more(decoded.error()))
        return fail(decoded.error(), context() + "the server's bytes are not a TSRequest: " + decoded.error().message());
      if (raw_.size() > options_.max_frame) return too_large();
      return read_action();
    }
    raw_.erase(raw_.begin(), raw_.begin() + static_cast<std::ptrdiff_t>(decoded->consumed));
    if (step_ == step::credssp_negotiate || step_ == step::credssp_authenticate) return on_ts_request(decoded->value);
    return on_late_ts_request(decoded->value);
  };
  switch (step_) {
    case step::credssp_negotiate:
    case step::credssp_authenticate:
      if (raw_.empty()) return read_action();
      return ts_request();
    case step::early_authorization: {
      if (raw_.empty()) return read_action();
      // A TSRequest here is the server refusing the delegated credentials (MS-CSSP 3.1.5); an EUAR value starts
      // with 0x00 or 0x05.
      if (raw_[0] == der_sequence) return ts_request();
      if (raw_.size() < 4) return read_action();
      byte_reader reader(raw_);
      std::uint32_t value = 0;
      (void)reader.u32le(value);
      result_.early_authorization = value;
      raw_.erase(raw_.begin(), raw_.begin() + 4);
      if (value != authz_success)
        return fail(refused(), std::string("the server refused the logon after CredSSP: Early User Authorization "
                                           "Result ") +
                                   (value == authz_access_denied ? "AUTHZ_ACCESS_DENIED (the user may not log on "
                                                                   "remotely)"
                                                                 : "of unknown value " + hex32(value)) +
                                   " (MS-RDPBCGR 2.2.10.2)");
      raw_input_ = false;
      decoder_.feed(raw_);  // anything after it is TPKT; the server sends nothing before our Connect-Initial
      raw_.clear();
      return reach(client_phase::authenticated);
    }
    case step::connect_response:
      // Plain HYBRID: the first byte tells a TSRequest (the server refusing the delegated credentials) from TPKT.
      if (raw_.empty()) return read_action();
      if (raw_[0] == der_sequence) return ts_request();
      raw_input_ = false;
      decoder_.feed(raw_);
      raw_.clear();
      return pump();
    default:
      // Not a step with raw input (a stop before CredSSP, a close): hand the bytes to the TPKT decoder.
      raw_input_ = false;
      decoder_.feed(raw_);
      raw_.clear();
      return pump();
  }
}

seq::action client_sequence::on_ts_request(const credssp::ts_request& request) {
  const auto answer = credssp_->on_response(request);
  if (credssp_->outcome() == credssp_outcome::failed) {
    result_.nla_status = credssp_->nla_status();
    switch (credssp_->failure()) {
      case credssp_client_failure::refused:
        return fail(refused(), "the server refused the NLA logon: " + describe_ntstatus(*result_.nla_status));
      case credssp_client_failure::server_binding:
        fail_style_ = seq::close_style::abrupt;  // say nothing more to a server that may be a man in the middle
        return fail(boost::system::errc::make_error_code(boost::system::errc::protocol_error),
                    context() + credssp_->log());
      case credssp_client_failure::malformed:
      case credssp_client_failure::none: break;
    }
    return fail(make_error_code(credssp::error::bad_ts_request), context() + credssp_->log());
  }
  if (!answer.reply)
    return fail(make_error_code(credssp::error::bad_ts_request), context() + "the exchange stopped without an answer");
  const auto next = step_ == step::credssp_negotiate ? step::credssp_authenticate : step::credssp_credentials;
  step_ = next;
  deadline_ = now_ + options_.deadlines.step;
  return send(credssp::encode(*answer.reply), deadline_);
}

seq::action client_sequence::on_late_ts_request(const credssp::ts_request& request) {
  if (request.error_code) {
    result_.nla_status = request.error_code;
    return fail(refused(), "the server refused the delegated credentials: " + describe_ntstatus(*request.error_code));
  }
  return fail(make_error_code(credssp::error::bad_ts_request),
              context() + "the server sent a TSRequest after the CredSSP exchange had ended");
}

// Set Error Info announces the end (2.2.5.1); the Disconnect Provider Ultimatum (2.2.2.3) or an X.224 Disconnect
// Request is the end. Recorded wherever they come; returns the kind.
share::server_event_kind client_sequence::note_teardown(bytes_view frame) {
  auto event = share::inspect_server_frame(frame);
  if (!event) return share::server_event_kind::other;
  switch (event->kind) {
    case share::server_event_kind::set_error_info:
      result_.error_info = event->error_info;
      record(teardown_kind::set_error_info, event->error_info);
      break;
    case share::server_event_kind::disconnect_provider_ultimatum:
      result_.disconnect_reason = event->reason;
      record(teardown_kind::disconnect_provider_ultimatum, static_cast<std::uint32_t>(event->reason));
      break;
    case share::server_event_kind::x224_disconnect_request: {
      result_.x224_disconnect = true;
      auto dr = x224::decode_disconnect_request(frame);
      record(teardown_kind::x224_disconnect, dr ? dr->value.reason : 0);
      break;
    }
    case share::server_event_kind::deactivate_all:
    case share::server_event_kind::other: break;
  }
  return event->kind;
}

std::optional<seq::action> client_sequence::on_frame(const tpkt::frame_decoder::frame& f) {
  if (step_ == step::hold) {
    if (options_.silence_limit) silent_until_ = now_ + *options_.silence_limit;
    if (f.kind == tpkt::frame_kind::slow_path) note_hold_frame(f.bytes);
    notice_ = notice_kind::hold_frame;
    after_notify_ = after_notify::go_on;
    waiting_ = waiting::notify;
    pending_ = seq::notify();
    return pending_;
  }
  if (step_ == step::trickle) {
    // The trickle only writes; what the server says meanwhile is evidence, and its close ends the trickle.
    (void)note_teardown(f.bytes);
    return std::nullopt;
  }
  if (++frames_in_step_ > max_frames_per_step)
    return fail(make_error_code(errc::unexpected_share_pdu), std::string("too many frames before ") + awaited());
  return on_sequence_frame(f.bytes);
}

void client_sequence::note_hold_frame(bytes_view frame) {
  const auto kind = note_teardown(frame);
  if (kind == share::server_event_kind::disconnect_provider_ultimatum ||
      kind == share::server_event_kind::x224_disconnect_request) {
    // The server closes next; wait for that at most one step, as a client that has been told to go would.
    hold_until_ = std::min(hold_until_, now_ + options_.deadlines.step);
    return;
  }
  auto user_data = user_data_of(frame);
  if (!user_data) return;
  // A Server Heartbeat PDU: user data that starts with a SEC_HEARTBEAT security header (2.2.16.1).
  if (auto beat = activation::decode_heartbeat(*user_data)) {
    result_.heartbeats.push_back(beat->value);
    return;
  }
  auto pdu = share::decode_share_pdu(*user_data);
  if (!pdu || !pdu->value.data) return;
  if (pdu->value.data->type2 == share::pdu_type2::arc_status) {
    result_.auto_reconnect_status = true;
    record(teardown_kind::auto_reconnect_status, 0);
  } else if (pdu->value.data->type2 == share::pdu_type2::save_session_info) {
    auto info = activation::decode_save_session_info(pdu->value.body);
    if (!info) return;
    if (info->value.session_id) result_.logon_session_id = info->value.session_id;
    if (info->value.cookie) result_.cookie = info->value.cookie;
  }
}

std::optional<seq::action> client_sequence::on_sequence_frame(bytes_view frame) {
  switch (note_teardown(frame)) {
    case share::server_event_kind::set_error_info: return std::nullopt;  // recorded; the answer may still come
    case share::server_event_kind::disconnect_provider_ultimatum:
      return fail(make_error_code(errc::unexpected_mcs_pdu),
                  std::string("the server ended the session (MCS Disconnect Provider Ultimatum, ") +
                      std::string(mcs::to_string(*result_.disconnect_reason)) + ") instead of sending " + awaited());
    case share::server_event_kind::x224_disconnect_request:
      return fail(make_error_code(errc::unexpected_tpdu),
                  std::string("the server ended the session (X.224 Disconnect Request) instead of sending ") +
                      awaited());
    case share::server_event_kind::deactivate_all:
    case share::server_event_kind::other: break;
  }
  switch (step_) {
    case step::x224: return on_connection_confirm(frame);
    case step::connect_response: return on_connect_response(frame);
    case step::attach: return on_attach_user_confirm(frame);
    case step::join_user:
    case step::join_io: return on_channel_join_confirm(frame);
    case step::license: return on_license(frame);
    case step::demand_active: return on_demand_active(frame);
    case step::font_map: return on_server_finalization(frame);
    default: return std::nullopt;
  }
}

seq::action client_sequence::fail_decoding(const error_code& ec) {
  return fail(ec, std::string("decoding ") + awaited() + ": " + ec.message());
}

seq::action client_sequence::on_connection_confirm(bytes_view frame) {
  auto confirm = x224::decode_connection_confirm(frame);
  if (!confirm) return fail_decoding(confirm.error());
  result_.confirm = confirm->value;
  const auto& negotiation = confirm->value.negotiation;
  const auto* failure = std::get_if<neg_failure>(&negotiation);
  const auto* response = std::get_if<neg_response>(&negotiation);
  if (options_.security == client_security::tls) {
    if (failure)
      return fail(make_error_code(errc::bad_negotiation),
                  "the server refused TLS: RDP_NEG_FAILURE " + describe_neg_failure(failure->failure_code));
    if (!response)
      return fail(make_error_code(errc::bad_negotiation),
                  "the X.224 Connection Confirm has no negotiation response: the server did not select TLS");
    if (response->selected_protocol != to_bits(security_protocol::ssl))
      return fail(make_error_code(errc::bad_negotiation),
                  "the server did not select TLS: it selected " + describe_protocol_bits(response->selected_protocol));
    // The server sends nothing after the confirm until our ClientHello; bytes here would belong to no layer.
    if (decoder_.buffered() > 0)
      return fail(make_error_code(errc::trailing_bytes),
                  "the server sent " + std::to_string(decoder_.buffered()) +
                      " bytes after the X.224 Connection Confirm, before TLS");
  } else if (options_.security == client_security::nla) {
    if (failure)
      return fail(make_error_code(errc::bad_negotiation),
                  "the server refused NLA: RDP_NEG_FAILURE " + describe_neg_failure(failure->failure_code));
    if (!response)
      return fail(make_error_code(errc::bad_negotiation),
                  "the X.224 Connection Confirm has no negotiation response: the server did not select NLA");
    const auto requested = make_connection_request(options_).negotiation->requested_protocols;
    const auto chosen = response->selected_protocol;
    if ((chosen != hybrid_bits && chosen != hybrid_ex_bits) || !(chosen & requested))
      return fail(make_error_code(errc::bad_negotiation),
                  "the server did not select NLA (PROTOCOL_HYBRID" +
                      std::string(requested & hybrid_ex_bits ? " or HYBRID_EX" : "") +
                      "): it selected " + describe_protocol_bits(chosen));
    if (decoder_.buffered() > 0)
      return fail(make_error_code(errc::trailing_bytes),
                  "the server sent " + std::to_string(decoder_.buffered()) +
                      " bytes after the X.224 Connection Confirm, before TLS");
  } else {
    if (failure)
      return fail(make_error_code(errc::bad_negotiation),
                  "the server refused Standard RDP Security: RDP_NEG_FAILURE " +
                      describe_neg_failure(failure->failure_code));
    if (response && response->selected_protocol != to_bits(security_protocol::rdp))
      return fail(make_error_code(errc::bad_negotiation),
                  "the server selected " + describe_protocol_bits(response->selected_protocol) +
                      " instead of Standard RDP Security");
  }
  return reach(client_phase::negotiated);
}

seq::action client_sequence::on_connect_response(bytes_view frame) {
  auto response = mcs::decode_connect_response(frame);
  if (!response) return fail_decoding(response.error());
  result_.server = response->value.user_data.server;
  if (result_.server->core) result_.rdp_version = result_.server->core->version;
  if (response->value.result != 0)
    return fail(make_error_code(errc::bad_mcs), "the MCS Connect-Response is not rt-successful (result " +
                                                    std::to_string(response->value.result) + ")");
  return reach(client_phase::mcs_connected);
}

seq::action client_sequence::on_attach_user_confirm(bytes_view frame) {
  auto payload = mcs_of(frame);
  if (!payload) return fail_decoding(payload.error());
  auto confirm = mcs::decode_attach_user_confirm(*payload);
  if (!confirm) return fail_decoding(confirm.error());
  if (confirm->value.result != 0)
    return fail(make_error_code(errc::bad_mcs), "the Attach User Confirm is not rt-successful (result " +
                                                    std::to_string(confirm->value.result) + ")");
  result_.user_id = confirm->value.initiator;
  route_.initiator = result_.user_id;
  route_.pdu_source = result_.user_id;
  return reach(client_phase::attached);
}

seq::action client_sequence::on_channel_join_confirm(bytes_view frame) {
  auto payload = mcs_of(frame);
  if (!payload) return fail_decoding(payload.error());
  auto confirm = mcs::decode_channel_join_confirm(*payload);
  if (!confirm) return fail_decoding(confirm.error());
  const auto channel = joining_channel();
  if (confirm->value.result != 0 || confirm->value.channel_id != channel)
    return fail(make_error_code(errc::bad_mcs), "the server refused to join channel " + std::to_string(channel));
  if (step_ == step::join_user) return start_step(step::join_io);
  return reach(client_phase::joined);
}

seq::action client_sequence::on_license(bytes_view frame) {
  auto user_data = user_data_of(frame);
  if (!user_data) return fail_decoding(user_data.error());
  auto alert = activation::decode_license_error_alert(*user_data);
  if (!alert) return fail_decoding(alert.error());
  if (alert->value.error_code != activation::license_error_alert{}.error_code)
    return fail(make_error_code(errc::unexpected_share_pdu), "licensing did not end with STATUS_VALID_CLIENT");
  return reach(client_phase::licensed);
}

seq::action client_sequence::on_demand_active(bytes_view frame) {
  auto user_data = user_data_of(frame);
  if (!user_data) return fail_decoding(user_data.error());
  auto decoded = activation::decode_demand_active(*user_data);
  if (!decoded) return fail_decoding(decoded.error());
  auto header = share::decode_share_pdu(*user_data);
  if (!header) return fail_decoding(header.error());
  server_channel_ = header->value.control.source;
  demand_ = std::move(decoded->value);
  result_.session_id = demand_.session_id;
  route_.share_id = demand_.share_id;
  return start_step(step::finalization);
}

std::optional<seq::action> client_sequence::on_server_finalization(bytes_view frame) {
  // The server's Synchronize, Control (cooperate, granted) and Font Map (2.2.1.19-2.2.1.22): the Font Map ends
  // the sequence; anything before it is not checked.
  auto user_data = user_data_of(frame);
  if (!user_data) return std::nullopt;
  auto pdu = share::decode_share_pdu(*user_data);
  if (pdu && pdu->value.data && pdu->value.data->type2 == share::pdu_type2::font_map)
    return reach(client_phase::active);
  return std::nullopt;
}

seq::action client_sequence::on_timeout() {
  if (step_ == step::hold && waiting_ == waiting::read) {
    if (now_ >= hold_until_) {
      record(teardown_kind::timeout, 0);
      result_.error = timed_out();
      return close(seq::close_style::graceful, now_ + options_.deadlines.close);
    }
    if (options_.silence_limit && now_ >= silent_until_) {
      // The client gives up on a connection that stopped talking; it does not know whether anyone hears its close.
      record(teardown_kind::silence, 0);
      result_.error = timed_out();
      result_.failure = "holding the session: nothing from the server for " +
                        std::to_string(options_.silence_limit->count()) + " ms";
      return close(seq::close_style::graceful, now_ + options_.deadlines.close);
    }
    if (options_.busy && now_ >= next_input_) {
      // At a rate, without bursts: a late input does not make the next ones come sooner.
      next_input_ += *options_.busy;
      if (next_input_ <= now_) next_input_ = now_ + *options_.busy;
      return send(activation::encode_input_synchronize(0, route_), now_ + options_.deadlines.step);
    }
    return read_action();
  }
  if (step_ == step::trickle && waiting_ == waiting::read) {
    if (now_ >= hold_until_) {
      record(teardown_kind::timeout, 0);
      return fail(timed_out(), "trickling: the server kept the connection open");
    }
    if (now_ >= trickle_next_) return start_step(step::trickle);
    return read_action();
  }
  record(teardown_kind::timeout, 0);
  if (step_ == step::goodbye) return close(seq::close_style::abrupt, now_);
  if (step_ == step::hold) {  // a busy input the server would not take
    result_.error = timed_out();
    return close(seq::close_style::abrupt, now_);
  }
  fail_style_ = seq::close_style::graceful;
  return fail(timed_out(), context() + "timed out");
}

seq::action client_sequence::on_io_error(const error_code& ec) {
  result_.server_closed = true;
  record(ec == boost::system::errc::connection_reset ? teardown_kind::reset : teardown_kind::closed, 0);
  fail_style_ = seq::close_style::abrupt;  // the stream is gone: nothing to drain
  if (step_ == step::hold || step_ == step::goodbye) {
    if (step_ == step::hold) result_.error = ec;  // a goodbye the server did not wait for is no failure
    return close(seq::close_style::abrupt, now_);
  }
  return fail(ec, context() + ec.message());
}

std::string client_sequence::context() const {
  std::string out;
  if (step_ == step::trickle) return "trickling: ";
  if (waiting_ == waiting::tls) return "the TLS handshake: ";
  if (waiting_ == waiting::write) return std::string("sending ") + request() + ": ";
  out = std::string("waiting for ") + awaited() + ": ";
  if (raw_input_ && !raw_.empty())
    out += "the stream ended inside a TSRequest (" + std::to_string(raw_.size()) + " bytes of it read): ";
  else if (decoder_.buffered() > 0)
    out += "the stream ended inside a frame (" + std::to_string(decoder_.buffered()) + " bytes of it read): ";
  return out;
}

const char* client_sequence::awaited() const noexcept {
  switch (step_) {
    case step::x224: return "the X.224 Connection Confirm";
    case step::tls: return "the TLS handshake";
    case step::credssp_negotiate: return "the CredSSP CHALLENGE (TSRequest)";
    case step::credssp_authenticate: return "the server's CredSSP public-key binding (TSRequest pubKeyAuth)";
    case step::credssp_credentials: return "nothing";
    case step::early_authorization: return "the Early User Authorization Result PDU";
    case step::connect_response: return "the MCS Connect-Response";
    case step::attach: return "the Attach User Confirm";
    case step::join_user: return "the Channel Join Confirm for the user channel";
    case step::join_io: return "the Channel Join Confirm for the I/O channel";
    case step::license: return "the license PDU";
    case step::demand_active: return "the Demand Active PDU";
    case step::finalization:
    case step::font_map: return "the Font Map PDU";
    case step::trickle: return "the end of the trickle";
    case step::hold: return "the end of the session";
    case step::goodbye:
    case step::closing:
    case step::done: break;
  }
  return "nothing";
}

const char* client_sequence::request() const noexcept {
  switch (step_) {
    case step::x224: return "the X.224 Connection Request";
    case step::tls: return "the TLS handshake";
    case step::credssp_negotiate: return "the CredSSP NEGOTIATE (TSRequest)";
    case step::credssp_authenticate: return "the CredSSP AUTHENTICATE (TSRequest)";
    case step::credssp_credentials: return "the CredSSP credentials (TSRequest authInfo)";
    case step::early_authorization: return "nothing";
    case step::connect_response: return "the MCS Connect-Initial";
    case step::attach: return "Erect Domain and Attach User";
    case step::join_user: return "the Channel Join Request for the user channel";
    case step::join_io: return "the Channel Join Request for the I/O channel";
    case step::license: return "the Client Info PDU";
    case step::demand_active: return "nothing";
    case step::finalization:
    case step::font_map: return "Confirm Active and the finalization PDUs";
    case step::trickle: return "a trickled byte";
    case step::hold: return "an input PDU";
    case step::goodbye: return "the goodbye";
    case step::closing:
    case step::done: break;
  }
  return "nothing";
}

}  // namespace rdp::protocol
