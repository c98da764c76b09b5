// The client connection sequence (protocol/client_sequence.hpp) driven as a script on made-up time: the server's
// side is built with protocol/'s encoders, the client's writes are decoded and checked. Then every step of the full
// sequence is re-run with an I/O error, a timeout and a truncated frame injected there (a fail matrix), and the whole
// script is fed byte at a time and at random split points.
#include "rdp/protocol/activation.hpp"
#include "rdp/protocol/client_sequence.hpp"
#include "rdp/protocol/gcc.hpp"
#include "rdp/protocol/mcs.hpp"
#include "rdp/protocol/share.hpp"
#include "rdp/protocol/x224.hpp"

#include "script.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace rdp::test {
namespace {

using namespace std::chrono_literals;
using protocol::byte_buffer;
using protocol::bytes_view;
using protocol::client_phase;
using protocol::client_sequence;
using protocol::client_sequence_options;
using protocol::teardown_kind;
namespace activation = protocol::activation;
namespace gcc = protocol::gcc;
namespace mcs = protocol::mcs;
namespace share = protocol::share;
namespace x224 = protocol::x224;
using notice = client_sequence::notice_kind;
using client_script = script<client_sequence>;

constexpr std::uint16_t user_id = 1007;
constexpr std::uint32_t share_id = 0x000103EA;
constexpr std::uint32_t session_id = 42;

const boost::system::error_code eof = boost::system::errc::make_error_code(boost::system::errc::no_message);
const boost::system::error_code reset = boost::system::errc::make_error_code(boost::system::errc::connection_reset);

byte_buffer cat(std::initializer_list<byte_buffer> parts) {
  byte_buffer out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// ---- The server's side, from protocol/'s encoders ------------------------------------------------------------------
share::data_pdu_route server_route() { return {}; }  // Send Data Indication from 1002 on the I/O channel

byte_buffer connection_confirm(std::variant<std::monostate, protocol::neg_response, protocol::neg_failure> neg =
                                   protocol::neg_response{0, protocol::to_bits(protocol::security_protocol::ssl)}) {
  x224::connection_confirm cc;
  cc.negotiation = neg;
  return x224::encode(cc);
}

gcc::server_data tls_server_data() {
  gcc::server_data data;
  data.core = gcc::server_core_data{gcc::rdp_version::rdp10_7, 1, 0};
  data.security = gcc::server_security_data{};
  data.network = gcc::server_network_data{};
  return data;
}

byte_buffer connect_response(gcc::server_data data = tls_server_data(), std::uint32_t result = 0) {
  mcs::connect_response cr;
  cr.result = result;
  cr.user_data.server = std::move(data);
  return *mcs::encode(cr);
}

byte_buffer attach_user_confirm(std::uint8_t result = 0) {
  return x224::encode_data(*mcs::encode(mcs::attach_user_confirm{result, user_id}));
}

byte_buffer channel_join_confirm(std::uint16_t channel) {
  return x224::encode_data(*mcs::encode(mcs::channel_join_confirm{0, user_id, channel, channel}));
}

byte_buffer license() { return activation::encode(activation::license_error_alert{}, server_route()); }

byte_buffer demand_active() {
  activation::demand_active demand;
  demand.share_id = share_id;
  demand.capabilities = activation::make_server_capability_sets({});
  demand.session_id = session_id;
  auto route = server_route();
  route.pdu_source = 1002;
  return *activation::encode(demand, route);
}

// Synchronize, Control cooperate, Control granted, Font Map (2.2.1.19-2.2.1.22).
byte_buffer server_finalization() {
  const auto route = server_route();
  return cat({activation::encode(activation::synchronize{user_id}, route),
              activation::encode(activation::control{activation::control_action::cooperate, 0, 0}, route),
              activation::encode(activation::control{activation::control_action::granted_control, user_id, 1002}, route),
              activation::encode_font_map(route)});
}

byte_buffer set_error_info(std::uint32_t code) { return share::encode_set_error_info({code}); }
byte_buffer dpu(mcs::disconnect_reason reason = mcs::disconnect_reason::provider_initiated) {
  return x224::encode_data(mcs::encode(mcs::disconnect_provider_ultimatum{reason}));
}

// ---- Decoding what the client wrote --------------------------------------------------------------------------------
std::optional<share::share_pdu> client_share_pdu(bytes_view frame) {
  auto data = x224::decode_data(frame);
  if (!data) return std::nullopt;
  auto send = mcs::decode_send_data(data->value);
  if (!send || send->value.indication || send->value.initiator != user_id) return std::nullopt;
  auto pdu = share::decode_share_pdu(send->value.user_data);
  if (!pdu) return std::nullopt;
  return pdu->value;
}

bool is_connection_request_for_tls(bytes_view b) {
  auto cr = x224::decode_connection_request(b);
  return cr && cr->value.negotiation &&
         cr->value.negotiation->requested_protocols == protocol::to_bits(protocol::security_protocol::ssl);
}

bool is_connect_initial(bytes_view b, std::uint32_t selected) {
  auto ci = mcs::decode_connect_initial(b);
  return ci && ci->value.user_data.client.core && ci->value.user_data.client.core->server_selected_protocol == selected;
}

// Two MCS PDUs in one write: Erect Domain then Attach User.
bool is_erect_and_attach(bytes_view b) {
  auto first = x224::decode_data(b);
  if (!first || !mcs::decode_erect_domain_request(first->value)) return false;
  auto second = x224::decode_data(b.subspan(first->consumed));
  return second && mcs::decode_attach_user_request(second->value) && first->consumed + second->consumed == b.size();
}

std::function<bool(bytes_view)> is_join(std::uint16_t channel) {
  return [channel](bytes_view b) {
    auto data = x224::decode_data(b);
    if (!data) return false;
    auto join = mcs::decode_channel_join_request(data->value);
    return join && join->value.initiator == user_id && join->value.channel_id == channel;
  };
}

std::optional<activation::client_info> client_info_of(bytes_view b) {
  auto data = x224::decode_data(b);
  if (!data) return std::nullopt;
  auto send = mcs::decode_send_data(data->value);
  if (!send) return std::nullopt;
  auto info = activation::decode_client_info(send->value.user_data);
  if (!info) return std::nullopt;
  return info->value;
}

// Confirm Active, Synchronize, Control cooperate, Control request, Font List: five frames in one write.
bool is_finalization(bytes_view b) {
  std::vector<share::share_pdu> pdus;
  while (!b.empty()) {
    auto frame = protocol::tpkt::peek_frame(b);
    if (!frame || frame->length > b.size()) return false;
    auto pdu = client_share_pdu(b.first(frame->length));
    if (!pdu) return false;
    pdus.push_back(*pdu);
    b = b.subspan(frame->length);
  }
  return pdus.size() == 5 && pdus[0].control.type == share::pdu_type::confirm_active && pdus[1].data &&
         pdus[1].data->type2 == share::pdu_type2::synchronize && pdus[4].data &&
         pdus[4].data->type2 == share::pdu_type2::font_list && pdus[4].data->share_id == share_id;
}

// ---- The full sequence as moves: what the server reads (a write of the client) or sends ---------------------------
struct move {
  enum kind_t { client_writes, server_sends, tls } kind;
  std::string name;                       // what a failure at this move must name
  client_phase reached;                   // the phase before this move
  std::function<bool(bytes_view)> check;  // client_writes
  byte_buffer bytes;                      // server_sends
};

std::vector<move> full_sequence() {
  const auto ssl = protocol::to_bits(protocol::security_protocol::ssl);
  return {
      {move::client_writes, "the X.224 Connection Request", client_phase::connected, is_connection_request_for_tls, {}},
      {move::server_sends, "the X.224 Connection Confirm", client_phase::connected, {}, connection_confirm()},
      {move::tls, "the TLS handshake", client_phase::negotiated, {}, {}},
      {move::client_writes, "the MCS Connect-Initial", client_phase::tls,
       [ssl](bytes_view b) { return is_connect_initial(b, ssl); }, {}},
      {move::server_sends, "the MCS Connect-Response", client_phase::tls, {}, connect_response()},
      {move::client_writes, "Erect Domain and Attach User", client_phase::mcs_connected, is_erect_and_attach, {}},
      {move::server_sends, "the Attach User Confirm", client_phase::mcs_connected, {}, attach_user_confirm()},
      {move::client_writes, "the Channel Join Request for the user channel", client_phase::attached, is_join(user_id),
       {}},
      {move::server_sends, "the Channel Join Confirm for the user channel", client_phase::attached, {},
       channel_join_confirm(user_id)},
      {move::client_writes, "the Channel Join Request for the I/O channel", client_phase::attached,
       is_join(mcs::global_channel_id), {}},
      {move::server_sends, "the Channel Join Confirm for the I/O channel", client_phase::attached, {},
       channel_join_confirm(mcs::global_channel_id)},
      {move::client_writes, "the Client Info PDU", client_phase::joined,
       [](bytes_view b) { return client_info_of(b).has_value(); }, {}},
      {move::server_sends, "the license PDU", client_phase::joined, {}, license()},
      {move::server_sends, "the Demand Active PDU", client_phase::licensed, {}, demand_active()},
      {move::client_writes, "Confirm Active and the finalization PDUs", client_phase::licensed, is_finalization, {}},
      {move::server_sends, "the Font Map PDU", client_phase::capabilities, {}, server_finalization()},
  };
}

// How a test feeds each server message: in one piece, byte at a time, or cut at random points.
using feeder = std::function<testing::AssertionResult(client_script&, bytes_view)>;
feeder whole() {
  return [](client_script& s, bytes_view b) { return s.feed(b); };
}

// Plays `moves` to the end; the client must be at sequence_done afterwards (checked by the caller).
testing::AssertionResult play(client_script& s, const std::vector<move>& moves, std::size_t count,
                              const feeder& feed = whole()) {
  for (std::size_t i = 0; i < count; ++i) {
    const auto& m = moves[i];
    testing::AssertionResult r = testing::AssertionSuccess();
    if (m.kind == move::client_writes) r = s.expect_write(m.check);
    else if (m.kind == move::server_sends) r = feed(s, m.bytes);
    else r = s.tls_done();
    if (!r) return r << " (at " << m.name << ")";
  }
  return testing::AssertionSuccess();
}

client_sequence_options tls_options() {
  client_sequence_options o;
  o.user = "alice";
  o.password = "secret";
  o.x224_cookie = "alice";
  return o;
}

// Runs the full sequence to active and answers the sequence_done notify; the machine is then holding.
testing::AssertionResult to_active(client_script& s, client_sequence& c, const feeder& feed = whole()) {
  s.start();
  if (auto r = play(s, full_sequence(), full_sequence().size(), feed); !r) return r;
  if (c.notice() != notice::sequence_done) return testing::AssertionFailure() << "no sequence_done notice";
  if (!c.result().active()) return testing::AssertionFailure() << "not active: " << c.result().failure;
  return s.notified();
}

// ---- The full sequence -----------------------------------------------------------------------------------------------
TEST(ClientSequence, FullSequenceReachesActiveAndRecordsWhatTheServerSaid) {
  client_sequence c(tls_options());
  client_script s(c);
  const auto t0 = s.now();
  ASSERT_EQ(s.start().kind, seq::action_kind::write);
  EXPECT_EQ(c.result().reached, client_phase::connected);
  EXPECT_EQ(s.pending().deadline, t0 + 10s);  // the step deadline, as an instant
  ASSERT_TRUE(s.expect_write([](bytes_view b) {
    auto cr = x224::decode_connection_request(b);
    return cr && cr->value.cookie == std::optional<std::string>("alice") && is_connection_request_for_tls(b);
  }));
  s.advance(5ms);
  ASSERT_TRUE(s.feed(connection_confirm()));
  EXPECT_EQ(c.result().reached, client_phase::negotiated);
  s.advance(20ms);
  ASSERT_TRUE(s.tls_done());
  const auto tls_at = s.now();
  auto moves = full_sequence();
  moves.erase(moves.begin(), moves.begin() + 3);
  // The Client Info carries the credentials (2.2.1.11).
  moves[8].check = [](bytes_view b) {
    auto info = client_info_of(b);
    return info && info->user == "alice" && info->password == "secret" &&
           (info->flags & activation::info_flag::autologon) && !info->auto_reconnect_cookie;
  };
  ASSERT_TRUE(play(s, moves, moves.size()));
  ASSERT_TRUE(s.expect(seq::action_kind::notify));
  EXPECT_EQ(c.notice(), notice::sequence_done);
  const auto& r = c.result();
  EXPECT_EQ(r.reached, client_phase::active);
  EXPECT_TRUE(r.failure.empty()) << r.failure;
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.user_id, user_id);
  EXPECT_EQ(r.session_id, session_id);
  ASSERT_TRUE(r.server);
  EXPECT_EQ(*r.server, tls_server_data());
  EXPECT_EQ(r.rdp_version, gcc::rdp_version::rdp10_7);
  EXPECT_EQ(r.started_at, t0);
  EXPECT_EQ(r.tls_at, tls_at);
  EXPECT_EQ(r.active_at, s.now());
  EXPECT_TRUE(r.teardown.empty());
  // Holding: a wakeable read until the hold deadline.
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.expect(seq::action_kind::read));
  EXPECT_TRUE(s.pending().wakeable);
  EXPECT_EQ(s.pending().deadline, s.now() + 60s);
}

TEST(ClientSequence, ConfirmActiveAnnouncesAutoReconnectOnlyWhenAsked) {
  for (bool announce : {true, false}) {
    auto o = tls_options();
    o.announce_auto_reconnect = announce;
    client_sequence c(o);
    client_script s(c);
    s.start();
    auto moves = full_sequence();
    ASSERT_TRUE(play(s, moves, 14));
    ASSERT_TRUE(s.expect(seq::action_kind::write));
    const byte_buffer finalization(s.pending().bytes.begin(), s.pending().bytes.end());
    auto data = x224::decode_data(finalization);
    ASSERT_TRUE(data);
    auto send = mcs::decode_send_data(data->value);
    ASSERT_TRUE(send);
    auto confirm = activation::decode_confirm_active(send->value.user_data);
    ASSERT_TRUE(confirm);
    EXPECT_EQ(confirm->value.share_id, share_id);
    const auto summary = activation::summarize(confirm->value.capabilities);
    ASSERT_TRUE(summary.general_extra_flags);
    EXPECT_EQ((*summary.general_extra_flags & activation::general_extra_flag::autoreconnect_supported) != 0, announce);
    EXPECT_EQ(summary.desktop_width, 1024);  // the server's bitmap set echoed
  }
}

TEST(ClientSequence, ClientInfoCarriesTheCookieAndARawUserName) {
  auto o = tls_options();
  activation::arc_client_cookie cookie;
  cookie.logon_id = 9;
  cookie.security_verifier.fill(0xAB);
  o.cookie = cookie;
  o.user_utf16le = byte_buffer{0x00, 0xD8, 0x41, 0x00};  // a lone high surrogate, then 'A'
  client_sequence c(o);
  client_script s(c);
  s.start();
  ASSERT_TRUE(play(s, full_sequence(), 11));
  ASSERT_TRUE(s.expect(seq::action_kind::write));
  const byte_buffer frame(s.pending().bytes.begin(), s.pending().bytes.end());
  auto info = client_info_of(frame);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->auto_reconnect_cookie, cookie);
  const byte_buffer raw{0x00, 0xD8, 0x41, 0x00, 0x00, 0x00};
  EXPECT_NE(std::search(frame.begin(), frame.end(), raw.begin(), raw.end()), frame.end());
}

TEST(ClientSequence, HeartbeatIsAnnouncedInTheDefaultConnectInitial) {
  auto o = tls_options();
  o.announce_heartbeat = true;
  client_sequence c(o);
  client_script s(c);
  s.start();
  ASSERT_TRUE(play(s, full_sequence(), 3));
  ASSERT_TRUE(s.expect_write([](bytes_view b) {
    auto ci = mcs::decode_connect_initial(b);
    return ci && ci->value == protocol::make_client_connect_initial(1, true);
  }));
}

// ---- The hold and each teardown --------------------------------------------------------------------------------------
// Feeds one frame while holding and answers the hold_frame notify.
testing::AssertionResult hold_frame(client_script& s, client_sequence& c, bytes_view frame) {
  if (auto r = s.feed(frame); !r) return r;
  if (c.notice() != notice::hold_frame) return testing::AssertionFailure() << "no hold_frame notice";
  return s.notified();
}

TEST(ClientSequence, SetErrorInfoThenDpuThenCloseAreRecordedWithTheirInstants) {
  client_sequence c(tls_options());
  client_script s(c);
  ASSERT_TRUE(to_active(s, c));
  s.advance(1s);
  const auto t1 = s.now();
  ASSERT_TRUE(hold_frame(s, c, set_error_info(0x0000000C)));  // ERRINFO_LOGOFF_BY_USER
  s.advance(1ms);
  const auto t2 = s.now();
  ASSERT_TRUE(hold_frame(s, c, dpu()));
  // Told to go: the server's close is awaited one step at most, not the rest of the hold.
  ASSERT_TRUE(s.expect(seq::action_kind::read));
  EXPECT_EQ(s.pending().deadline, t2 + 10s);
  s.advance(2ms);
  const auto t3 = s.now();
  ASSERT_TRUE(s.fail(eof));
  ASSERT_TRUE(s.expect_close(seq::close_style::abrupt));
  ASSERT_TRUE(s.expect_done());
  const auto& r = c.result();
  EXPECT_EQ(r.reached, client_phase::active);
  EXPECT_EQ(r.error_info, 0x0000000Cu);
  EXPECT_EQ(r.disconnect_reason, mcs::disconnect_reason::provider_initiated);
  EXPECT_TRUE(r.server_closed);
  EXPECT_EQ(r.error, eof);
  EXPECT_TRUE(r.failure.empty());
  const std::vector<protocol::teardown_record> expected{
      {t1, teardown_kind::set_error_info, 0x0000000C},
      {t2, teardown_kind::disconnect_provider_ultimatum, 1},
      {t3, teardown_kind::closed, 0}};
  EXPECT_EQ(r.teardown, expected);
}

TEST(ClientSequence, X224DisconnectThenResetInTheHold) {
  client_sequence c(tls_options());
  client_script s(c);
  ASSERT_TRUE(to_active(s, c));
  ASSERT_TRUE(hold_frame(s, c, x224::encode(x224::disconnect_request{0, 0, 2})));
  ASSERT_TRUE(s.fail(reset));
  ASSERT_TRUE(s.expect_close(seq::close_style::abrupt));
  ASSERT_TRUE(s.expect_done());
  const auto& r = c.result();
  EXPECT_TRUE(r.x224_disconnect);
  ASSERT_EQ(r.teardown.size(), 2u);
  EXPECT_EQ(r.teardown[0].kind, teardown_kind::x224_disconnect);
  EXPECT_EQ(r.teardown[0].code, 2u);
  EXPECT_EQ(r.teardown[1].kind, teardown_kind::reset);
}

TEST(ClientSequence, HeartbeatsSaveSessionInfoAndAutoReconnectStatusWhileHolding) {
  client_sequence c(tls_options());
  client_script s(c);
  ASSERT_TRUE(to_active(s, c));
  ASSERT_TRUE(hold_frame(s, c, activation::encode(activation::heartbeat{30, 2, 4}, server_route())));
  ASSERT_TRUE(hold_frame(s, c, activation::encode(activation::heartbeat{30, 2, 4}, server_route())));
  ASSERT_TRUE(hold_frame(s, c, *activation::encode_logon_long(5, "LAB", "alice", server_route())));
  activation::arc_server_cookie cookie;
  cookie.logon_id = 5;
  cookie.random_bits.fill(0x5A);
  ASSERT_TRUE(hold_frame(s, c, activation::encode_logon_extended(cookie, std::nullopt, server_route())));
  EXPECT_FALSE(c.result().auto_reconnect_status);
  ASSERT_TRUE(hold_frame(s, c, activation::encode_auto_reconnect_status(server_route())));
  const auto& r = c.result();
  EXPECT_EQ(r.heartbeats, (std::vector<activation::heartbeat>{{30, 2, 4}, {30, 2, 4}}));
  EXPECT_EQ(r.logon_session_id, 5u);
  EXPECT_EQ(r.cookie, cookie);
  EXPECT_TRUE(r.auto_reconnect_status);
  ASSERT_EQ(r.teardown.size(), 1u);
  EXPECT_EQ(r.teardown[0].kind, teardown_kind::auto_reconnect_status);
  // A fast-path frame is taken once active (2.2.9.1.2): another hold frame, not a framing error.
  ASSERT_TRUE(hold_frame(s, c, byte_buffer{0x00, 0x04, 0x00, 0x00}));
  // The hold ends at its deadline, gracefully.
  ASSERT_TRUE(s.time_out());
  ASSERT_TRUE(s.expect_close(seq::close_style::graceful));
  ASSERT_TRUE(s.expect_done());
  EXPECT_EQ(c.result().error, boost::system::errc::timed_out);
  EXPECT_EQ(c.result().teardown.back().kind, teardown_kind::timeout);
}

TEST(ClientSequence, SaveSessionInfoRightAfterFontMapIsSeenInTheHold) {
  client_sequence c(tls_options());
  client_script s(c);
  s.start();
  auto moves = full_sequence();
  moves.back().bytes = cat({server_finalization(), *activation::encode_logon_long(77, "", "alice", server_route())});
  ASSERT_TRUE(play(s, moves, moves.size()));
  ASSERT_EQ(c.notice(), notice::sequence_done);
  ASSERT_TRUE(s.notified());
  ASSERT_EQ(c.notice(), notice::hold_frame);
  EXPECT_EQ(c.result().logon_session_id, 77u);
}

TEST(ClientSequence, WithoutHoldTheActiveSessionIsClosedAtOnce) {
  auto o = tls_options();
  o.hold = false;
  client_sequence c(o);
  client_script s(c);
  ASSERT_TRUE(to_active(s, c));
  ASSERT_TRUE(s.expect_close(seq::close_style::graceful));
  ASSERT_TRUE(s.expect_done());
  EXPECT_FALSE(c.result().error);
}

TEST(ClientSequence, RequestCloseWakesTheHoldAndSendsADpu) {
  client_sequence c(tls_options());
  client_script s(c);
  ASSERT_TRUE(to_active(s, c));
  c.request_close();
  ASSERT_TRUE(s.wake());
  ASSERT_TRUE(s.expect_write([](bytes_view b) {
    auto data = x224::decode_data(b);
    if (!data) return false;
    auto d = mcs::decode_disconnect_provider_ultimatum(data->value);
    return d && d->value.reason == mcs::disconnect_reason::user_requested;
  }));
  ASSERT_TRUE(s.expect_close(seq::close_style::graceful));
  ASSERT_TRUE(s.expect_done());
  EXPECT_TRUE(c.result().closed_by_owner);
  EXPECT_FALSE(c.result().error);
}

// The end is the instant the machine decided, not the end of its goodbye or drain: the drain is real time
// (deadlines.close), and a scenario replayed at a time scale reads ended_at as the end of the story.
TEST(ClientSequence, EndedAtIsTheDecisionNotTheDrain) {
  auto o = tls_options();
  o.silence_limit = 4s;
  client_sequence c(o);
  client_script s(c);
  ASSERT_TRUE(to_active(s, c));
  EXPECT_FALSE(c.result().ended_at);
  s.advance(1s);
  ASSERT_TRUE(hold_frame(s, c, activation::encode(activation::heartbeat{30, 2, 4}, server_route())));
  const auto heard = s.now();
  ASSERT_TRUE(s.expect(seq::action_kind::read));
  EXPECT_EQ(s.pending().deadline, heard + 4s);
  ASSERT_TRUE(s.time_out());
  const auto decided = s.now();
  EXPECT_EQ(decided, heard + 4s);
  EXPECT_EQ(s.pending().deadline, decided + o.deadlines.close);  // the drain's deadline, after the decision
  ASSERT_TRUE(s.expect_close(seq::close_style::graceful));
  EXPECT_EQ(c.result().ended_at, decided);
  EXPECT_EQ(c.result().teardown.back().kind, teardown_kind::silence);

  // Asked to leave: the instant of the request, though the DPU's write and the drain come after it.
  client_sequence leaving(tls_options());
  client_script l(leaving);
  ASSERT_TRUE(to_active(l, leaving));
  l.advance(2s);
  const auto asked = l.now();
  leaving.request_close();
  ASSERT_TRUE(l.wake());
  l.advance(300ms);
  ASSERT_TRUE(l.expect_write([](bytes_view) { return true; }));
  ASSERT_TRUE(l.expect_close(seq::close_style::graceful));
  EXPECT_EQ(leaving.result().ended_at, asked);

  // The stream failing under the hold: that instant.
  client_sequence dropped(tls_options());
  client_script d(dropped);
  ASSERT_TRUE(to_active(d, dropped));
  d.advance(5s);
  const auto failed = d.now();
  ASSERT_TRUE(d.fail(reset));
  EXPECT_EQ(dropped.result().ended_at, failed);
}

TEST(ClientSequence, AWakeWithoutARequestKeepsTheSameDeadline) {
  client_sequence c(tls_options());
  client_script s(c);
  ASSERT_TRUE(to_active(s, c));
  const auto deadline = s.pending().deadline;
  s.advance(3s);
  ASSERT_TRUE(s.wake());
  ASSERT_TRUE(s.expect(seq::action_kind::read));
  EXPECT_EQ(s.pending().deadline, deadline);
}

// ---- Busy: input at a rate on made-up time ---------------------------------------------------------------------------
TEST(ClientSequence, BusySendsASynchronizeInputEventAtTheRate) {
  auto o = tls_options();
  o.busy = 1000ms;
  o.deadlines.hold = 10s;
  client_sequence c(o);
  client_script s(c);
  ASSERT_TRUE(to_active(s, c));
  const auto active = s.now();
  const auto is_sync_input = [](bytes_view b) {
    auto pdu = client_share_pdu(b);
    // TS_INPUT_PDU_DATA: numEvents 1, pad; TS_INPUT_EVENT: eventTime, messageType INPUT_EVENT_SYNC; pad, toggleFlags.
    const byte_buffer body{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    return pdu && pdu->data && pdu->data->type2 == share::pdu_type2::input && pdu->data->share_id == share_id &&
           byte_buffer(pdu->body.begin(), pdu->body.end()) == body;
  };
  for (int i = 1; i <= 9; ++i) {
    ASSERT_TRUE(s.expect(seq::action_kind::read));
    ASSERT_EQ(s.pending().deadline, active + std::chrono::seconds(i)) << i;
    ASSERT_TRUE(s.time_out());
    ASSERT_TRUE(s.expect_write(is_sync_input)) << i;
  }
  // A frame from the server between inputs does not move the input schedule.
  s.advance(300ms);
  ASSERT_TRUE(hold_frame(s, c, activation::encode(activation::heartbeat{30, 2, 4}, server_route())));
  EXPECT_EQ(s.pending().deadline, active + 10s);  // the hold's end comes before the tenth input
  ASSERT_TRUE(s.time_out());
  ASSERT_TRUE(s.expect_close(seq::close_style::graceful));
  EXPECT_EQ(c.result().inputs_sent, 9u);
}

TEST(ClientSequence, ALateBusyTimerDoesNotBurst) {
  auto o = tls_options();
  o.busy = 1000ms;
  client_sequence c(o);
  client_script s(c);
  ASSERT_TRUE(to_active(s, c));
  s.advance(5500ms);  // the driver was late
  ASSERT_TRUE(s.resume(seq::happened(seq::event_kind::timed_out, s.now())).kind == seq::action_kind::write);
  ASSERT_TRUE(s.expect_write());
  EXPECT_EQ(s.pending().deadline, s.now() + 1s);
}

// ---- Stopping early, the probe's session check, Standard RDP Security ----------------------------------------------
TEST(ClientSequence, StopAfterMcsConnectedSaysGoodbyeWithAnX224DisconnectRequest) {
  auto o = tls_options();
  o.stop_after = client_phase::mcs_connected;
  o.goodbye = true;
  client_sequence c(o);
  client_script s(c);
  s.start();
  ASSERT_TRUE(play(s, full_sequence(), 5));
  ASSERT_EQ(c.notice(), notice::sequence_done);
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.expect_write([](bytes_view b) { return x224::decode_disconnect_request(b).has_value(); }));
  ASSERT_TRUE(s.expect_close(seq::close_style::graceful));
  ASSERT_TRUE(s.expect_done());
  EXPECT_EQ(c.result().reached, client_phase::mcs_connected);
  EXPECT_FALSE(c.result().error);
  EXPECT_TRUE(c.result().failure.empty());
  EXPECT_TRUE(c.result().server);
}

// The probe's Connect-Initial (probe/src/standard_security.cpp): cluster block, methods offered, RDP 10.12.
mcs::connect_initial probe_connect_initial(std::uint32_t methods, std::uint32_t selected_protocol) {
  auto ci = protocol::make_client_connect_initial(selected_protocol, false, u"rdpprobe");
  ci.user_data.client.core->version = gcc::rdp_version::rdp10_12;
  ci.user_data.client.cluster = gcc::client_cluster_data{0x09, 0};
  ci.user_data.client.security = gcc::client_security_data{methods, 0};
  ci.user_data.client.network.reset();
  return ci;
}

client_sequence_options session_check_options() {
  client_sequence_options o;
  o.start = protocol::client_start::after_tls;
  o.connect_initial = probe_connect_initial(0, 1);
  o.stop_after = client_phase::mcs_connected;
  o.goodbye = true;
  return o;
}

TEST(ClientSequence, SessionCheckAfterTlsSendsTheGivenConnectInitial) {
  const auto o = session_check_options();
  client_sequence c(o);
  client_script s(c);
  ASSERT_EQ(s.start().kind, seq::action_kind::write);
  EXPECT_EQ(c.result().reached, client_phase::tls);
  ASSERT_TRUE(s.expect_write([&](bytes_view b) {
    auto ci = mcs::decode_connect_initial(b);
    return ci && ci->value == *o.connect_initial;
  }));
  ASSERT_TRUE(s.feed(connect_response()));
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.expect_write([](bytes_view b) { return x224::decode_disconnect_request(b).has_value(); }));
  ASSERT_TRUE(s.expect_close(seq::close_style::graceful));
  EXPECT_EQ(c.result().rdp_version, gcc::rdp_version::rdp10_7);
}

TEST(ClientSequence, SessionCheckRecordsSetErrorInfoThenDpuInsteadOfAConnectResponse) {
  client_sequence c(session_check_options());
  client_script s(c);
  s.start();
  ASSERT_TRUE(s.expect_write());
  s.advance(3ms);
  ASSERT_TRUE(s.feed(set_error_info(0x00000007)));  // ERRINFO_SERVER_DENIED_CONNECTION: reading goes on
  ASSERT_TRUE(s.expect(seq::action_kind::read));
  ASSERT_TRUE(s.feed(dpu(mcs::disconnect_reason::provider_initiated)));
  ASSERT_TRUE(s.notified());
  // Torn down: no goodbye, a graceful close.
  ASSERT_TRUE(s.expect_close(seq::close_style::graceful));
  ASSERT_TRUE(s.expect_done());
  const auto& r = c.result();
  EXPECT_EQ(r.reached, client_phase::tls);
  EXPECT_EQ(r.error_info, 7u);
  EXPECT_EQ(r.disconnect_reason, mcs::disconnect_reason::provider_initiated);
  EXPECT_NE(r.failure.find("instead of sending the MCS Connect-Response"), std::string::npos) << r.failure;
  EXPECT_EQ(r.error, protocol::errc::unexpected_mcs_pdu);
  ASSERT_EQ(r.teardown.size(), 2u);
  EXPECT_EQ(r.teardown[0].kind, teardown_kind::set_error_info);
  EXPECT_EQ(r.teardown[1].kind, teardown_kind::disconnect_provider_ultimatum);
}

TEST(ClientSequence, StandardSecurityReadsTheServerSecurityData) {
  client_sequence_options o;
  o.security = protocol::client_security::standard;
  o.connect_initial = probe_connect_initial(gcc::encryption_method::all, 0);
  o.stop_after = client_phase::mcs_connected;
  o.goodbye = true;
  client_sequence c(o);
  client_script s(c);
  s.start();
  // No RDP_NEG_REQ: how a pre-negotiation client asks for Standard RDP Security (2.2.1.1).
  ASSERT_TRUE(s.expect_write([](bytes_view b) {
    auto cr = x224::decode_connection_request(b);
    return cr && !cr->value.negotiation && !cr->value.cookie;
  }));
  ASSERT_TRUE(s.feed(connection_confirm(std::monostate{})));  // a legacy confirm: no negotiation data
  ASSERT_EQ(c.result().reached, client_phase::negotiated);
  ASSERT_TRUE(s.expect_write([&](bytes_view b) {
    auto ci = mcs::decode_connect_initial(b);
    return ci && ci->value == *o.connect_initial;
  }));
  auto data = tls_server_data();
  data.core->client_requested_protocols.reset();
  data.core->early_capability_flags.reset();
  data.security = gcc::server_security_data{gcc::encryption_method::bits128, gcc::encryption_level::client_compatible,
                                            gcc::server_keys{byte_buffer(32, 0x11), byte_buffer{1, 2, 3, 4}}};
  ASSERT_TRUE(s.feed(connect_response(data)));
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.expect_write([](bytes_view b) { return x224::decode_disconnect_request(b).has_value(); }));
  ASSERT_TRUE(s.expect_close(seq::close_style::graceful));
  ASSERT_TRUE(c.result().server);
  EXPECT_EQ(c.result().server->security, data.security);
  EXPECT_TRUE(c.result().failure.empty());
}

// The probe's Standard RDP Security exchange (probe/src/standard_security.cpp): the probe sends the CR and reads
// the CC itself (it classifies listeners that are not RDP), then hands the connection to the machine, which begins
// with the Connect-Initial under one step deadline for its write and the whole answer.
client_sequence_options standard_after_x224_options() {
  client_sequence_options o;
  o.security = protocol::client_security::standard;
  o.start = protocol::client_start::after_x224;
  o.connect_initial = probe_connect_initial(gcc::encryption_method::bits40, 0);
  o.stop_after = client_phase::mcs_connected;
  o.goodbye = true;
  o.deadlines.step = 300ms;
  return o;
}

TEST(ClientSequence, StandardSecurityAfterTheCallersX224BeginsWithTheConnectInitial) {
  const auto o = standard_after_x224_options();
  client_sequence c(o);
  client_script s(c);
  const auto begun = s.now();
  ASSERT_EQ(s.start().kind, seq::action_kind::write);  // no Connection Request: the caller sent it
  EXPECT_EQ(s.pending().deadline, begun + 300ms);
  EXPECT_EQ(c.result().reached, client_phase::negotiated);
  ASSERT_TRUE(s.expect_write([&](bytes_view b) {
    auto ci = mcs::decode_connect_initial(b);
    return ci && ci->value == *o.connect_initial;
  }));
  // The read goes on under the same deadline, past a Set Error Info.
  ASSERT_TRUE(s.expect(seq::action_kind::read));
  EXPECT_EQ(s.pending().deadline, begun + 300ms);
  s.advance(5ms);
  ASSERT_TRUE(s.feed(set_error_info(0x00000007)));
  ASSERT_TRUE(s.expect(seq::action_kind::read));
  EXPECT_EQ(s.pending().deadline, begun + 300ms);
  auto data = tls_server_data();
  data.security = gcc::server_security_data{gcc::encryption_method::bits40, gcc::encryption_level::low,
                                            gcc::server_keys{byte_buffer(32, 0x22), byte_buffer{5, 6, 7}}};
  ASSERT_TRUE(s.feed(connect_response(data)));
  ASSERT_EQ(c.notice(), notice::sequence_done);
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.expect_write([](bytes_view b) { return x224::decode_disconnect_request(b).has_value(); }));
  ASSERT_TRUE(s.expect_close(seq::close_style::graceful));
  ASSERT_TRUE(s.expect_done());
  const auto& r = c.result();
  EXPECT_EQ(r.reached, client_phase::mcs_connected);
  EXPECT_FALSE(r.confirm);  // the caller read it
  EXPECT_EQ(r.error_info, 7u);
  ASSERT_TRUE(r.server);
  EXPECT_EQ(r.server->security, data.security);
  EXPECT_FALSE(r.error);
}

TEST(ClientSequence, StandardSecurityAfterTheCallersX224TimesOutOnceForTheWholeAnswer) {
  client_sequence c(standard_after_x224_options());
  client_script s(c);
  s.start();
  ASSERT_TRUE(s.expect_write());
  // Half a Connect-Response, then nothing: the deadline set before the write passes.
  const auto response = connect_response();
  s.advance(200ms);
  ASSERT_TRUE(s.feed(bytes_view(response).first(response.size() / 2)));
  ASSERT_TRUE(s.time_out());
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.expect_close(seq::close_style::graceful));  // no goodbye after a failure
  const auto& r = c.result();
  EXPECT_EQ(r.reached, client_phase::negotiated);
  EXPECT_EQ(r.error, boost::system::errc::timed_out);
  EXPECT_NE(r.failure.find("waiting for the MCS Connect-Response"), std::string::npos) << r.failure;
  ASSERT_EQ(r.teardown.size(), 1u);
  EXPECT_EQ(r.teardown[0].kind, teardown_kind::timeout);
  EXPECT_EQ(r.teardown[0].at - *r.started_at, 300ms);
}

TEST(ClientSequence, TlsAfterTheCallersX224BeginsWithTheHandshake) {
  auto o = tls_options();
  o.start = protocol::client_start::after_x224;
  client_sequence c(o);
  client_script s(c);
  ASSERT_EQ(s.start().kind, seq::action_kind::start_tls);
  ASSERT_TRUE(s.tls_done());
  EXPECT_EQ(c.result().reached, client_phase::tls);
  const auto ssl = protocol::to_bits(protocol::security_protocol::ssl);
  ASSERT_TRUE(s.expect_write([ssl](bytes_view b) { return is_connect_initial(b, ssl); }));
}

TEST(ClientSequence, StandardSecurityWithAnExplicitRequestAndItsRefusals) {
  client_sequence_options o;
  o.security = protocol::client_security::standard;
  o.requested_protocols = 0;
  o.stop_after = client_phase::mcs_connected;
  {
    client_sequence c(o);
    client_script s(c);
    s.start();
    ASSERT_TRUE(s.expect_write([](bytes_view b) {
      auto cr = x224::decode_connection_request(b);
      return cr && cr->value.negotiation == protocol::neg_request{0, 0};
    }));
    ASSERT_TRUE(s.feed(connection_confirm(protocol::neg_response{0, 1})));
    ASSERT_TRUE(s.notified());
    ASSERT_TRUE(s.expect_close(seq::close_style::graceful));
    EXPECT_EQ(c.result().reached, client_phase::connected);
    EXPECT_NE(c.result().failure.find("selected tls instead of Standard RDP Security"), std::string::npos)
        << c.result().failure;
  }
  {
    client_sequence c(o);
    client_script s(c);
    s.start();
    ASSERT_TRUE(s.expect_write());
    ASSERT_TRUE(s.feed(connection_confirm(protocol::neg_failure{1})));
    ASSERT_TRUE(s.notified());
    EXPECT_NE(c.result().failure.find("SSL_REQUIRED_BY_SERVER"), std::string::npos) << c.result().failure;
  }
  {
    // Going past the Connect-Response would need the Security Exchange (2.2.1.10): refused, not attempted.
    auto beyond = o;
    beyond.stop_after = client_phase::active;
    client_sequence c(beyond);
    client_script s(c);
    s.start();
    ASSERT_TRUE(s.expect_write());
    ASSERT_TRUE(s.feed(connection_confirm(std::monostate{})));
    ASSERT_TRUE(s.expect_write());
    ASSERT_TRUE(s.feed(connect_response()));
    ASSERT_TRUE(s.notified());
    EXPECT_EQ(c.result().reached, client_phase::mcs_connected);
    EXPECT_NE(c.result().failure.find("Security Exchange"), std::string::npos) << c.result().failure;
  }
}

TEST(ClientSequence, TlsRefusedOrNotSelected) {
  for (auto cc : {connection_confirm(protocol::neg_failure{5}), connection_confirm(protocol::neg_response{0, 2}),
                  connection_confirm(std::monostate{})}) {
    client_sequence c(tls_options());
    client_script s(c);
    s.start();
    ASSERT_TRUE(s.expect_write());
    ASSERT_TRUE(s.feed(cc));
    ASSERT_TRUE(s.notified());
    ASSERT_TRUE(s.expect_close(seq::close_style::graceful));
    ASSERT_TRUE(s.expect_done());
    EXPECT_EQ(c.result().reached, client_phase::connected);
    EXPECT_EQ(c.result().error, protocol::errc::bad_negotiation);
    EXPECT_NE(c.result().failure.find("TLS"), std::string::npos) << c.result().failure;
  }
}

TEST(ClientSequence, BytesAfterTheConnectionConfirmBeforeTlsAreRefused) {
  client_sequence c(tls_options());
  client_script s(c);
  s.start();
  ASSERT_TRUE(s.expect_write());
  ASSERT_TRUE(s.feed(cat({connection_confirm(), byte_buffer{0x16, 0x03, 0x01}})));
  ASSERT_TRUE(s.notified());
  EXPECT_EQ(c.result().error, protocol::errc::trailing_bytes);
}

// ---- Trickle -----------------------------------------------------------------------------------------------------------
TEST(ClientSequence, TrickleAfterMcsSendsErectDomainOneBytePerWriteUntilTheServerCloses) {
  auto o = tls_options();
  o.trickle_after_mcs = 100ms;
  client_sequence c(o);
  client_script s(c);
  s.start();
  ASSERT_TRUE(play(s, full_sequence(), 5));
  const byte_buffer erect = x224::encode_data(mcs::encode(mcs::erect_domain_request{}));
  byte_buffer sent;
  for (std::size_t i = 0; i < erect.size() * 2; ++i) {
    ASSERT_TRUE(s.expect(seq::action_kind::write)) << i;
    ASSERT_EQ(s.pending().bytes.size(), 1u);
    sent.push_back(s.pending().bytes[0]);
    ASSERT_TRUE(s.expect_write());
    ASSERT_TRUE(s.expect(seq::action_kind::read));
    ASSERT_EQ(s.pending().deadline, s.now() + 100ms);
    ASSERT_TRUE(s.time_out());
  }
  EXPECT_EQ(sent, cat({erect, erect}));
  ASSERT_TRUE(s.fail(reset));
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.expect_close(seq::close_style::abrupt));
  EXPECT_TRUE(c.result().server_closed);
  EXPECT_EQ(c.result().reached, client_phase::mcs_connected);
  EXPECT_NE(c.result().failure.find("trickling"), std::string::npos);
}

// ---- Framing and deadlines ---------------------------------------------------------------------------------------------
TEST(ClientSequence, ATricklingServerCannotStretchTheStepDeadline) {
  client_sequence c(tls_options());
  client_script s(c);
  s.start();
  ASSERT_TRUE(s.expect_write());
  const auto deadline = s.pending().deadline;
  const auto cc = connection_confirm();
  for (std::size_t i = 0; i + 1 < cc.size(); ++i) {
    s.advance(1s);
    ASSERT_TRUE(s.feed(bytes_view(cc).subspan(i, 1)));
    ASSERT_EQ(s.pending().deadline, deadline) << i;
  }
  ASSERT_TRUE(s.time_out());
  ASSERT_TRUE(s.notified());
  EXPECT_NE(c.result().failure.find("inside a frame"), std::string::npos) << c.result().failure;
}

TEST(ClientSequence, SixtyFourFramesBeforeTheAnswerAreTheLimit) {
  for (int before : {63, 64}) {
    client_sequence c(tls_options());
    client_script s(c);
    s.start();
    ASSERT_TRUE(play(s, full_sequence(), 4));
    byte_buffer noise;
    for (int i = 0; i < before; ++i) noise = cat({noise, set_error_info(0)});
    ASSERT_TRUE(s.feed(cat({noise, connect_response()})));
    if (before == 63) {
      ASSERT_TRUE(s.expect(seq::action_kind::write));
      EXPECT_EQ(c.result().reached, client_phase::mcs_connected);
    } else {
      ASSERT_TRUE(s.notified());
      EXPECT_NE(c.result().failure.find("too many frames before the MCS Connect-Response"), std::string::npos);
    }
  }
}

TEST(ClientSequence, AFrameAboveTheCapOrNotTpktFails) {
  for (auto bad : {byte_buffer{0x03, 0x00, 0xFF, 0xFF}, byte_buffer{0x16, 0x03, 0x01, 0x00}}) {
    auto o = tls_options();
    o.max_frame = 4096;
    client_sequence c(o);
    client_script s(c);
    s.start();
    ASSERT_TRUE(s.expect_write());
    ASSERT_TRUE(s.feed(bad));
    ASSERT_TRUE(s.notified());
    ASSERT_TRUE(s.expect_close(seq::close_style::graceful));
    ASSERT_TRUE(s.expect_done());
    EXPECT_NE(c.result().failure.find("waiting for the X.224 Connection Confirm"), std::string::npos);
  }
}

TEST(ClientSequence, ByteAtATimeAndAtRandomSplitPoints) {
  {
    client_sequence c(tls_options());
    client_script s(c);
    ASSERT_TRUE(to_active(s, c, [](client_script& sc, bytes_view b) { return sc.feed(b, 1); }));
  }
  std::mt19937 random(20261201);
  for (int round = 0; round < 50; ++round) {
    client_sequence c(tls_options());
    client_script s(c);
    ASSERT_TRUE(to_active(s, c, [&](client_script& sc, bytes_view b) {
      std::vector<std::size_t> cuts;
      for (std::size_t i = 1; i < b.size(); ++i)
        if (random() % 7 == 0) cuts.push_back(i);
      return sc.feed_split(b, cuts);
    })) << "round " << round;
  }
  // The whole server side in one piece too: frames that arrive ahead of their step wait in the framer.
  client_sequence c(tls_options());
  client_script s(c);
  s.start();
  auto moves = full_sequence();
  ASSERT_TRUE(play(s, moves, 3));
  ASSERT_TRUE(s.expect_write());
  ASSERT_TRUE(s.feed(cat({connect_response(), attach_user_confirm()})));
  ASSERT_TRUE(s.expect_write(is_erect_and_attach));
  ASSERT_TRUE(s.expect_write(is_join(user_id)));  // the confirm was already there
  EXPECT_EQ(c.result().reached, client_phase::attached);
}

// ---- The fail matrix ----------------------------------------------------------------------------------------------------
enum class fault { io_error, timeout, truncated };
const char* to_string(fault f) {
  return f == fault::io_error ? "io_error" : f == fault::timeout ? "timeout" : "truncated";
}

TEST(ClientSequence, FailMatrix) {
  const auto moves = full_sequence();
  for (std::size_t at = 0; at < moves.size(); ++at) {
    for (auto f : {fault::io_error, fault::timeout, fault::truncated}) {
      const auto& m = moves[at];
      if (f == fault::truncated && m.kind != move::server_sends) continue;
      SCOPED_TRACE(m.name + " / " + to_string(f));
      client_sequence c(tls_options());
      client_script s(c);
      s.start();
      ASSERT_TRUE(play(s, moves, at));
      switch (f) {
        case fault::io_error: ASSERT_TRUE(s.fail(reset)); break;
        case fault::timeout: ASSERT_TRUE(s.time_out()); break;
        case fault::truncated:
          ASSERT_TRUE(s.feed(bytes_view(m.bytes).first(m.bytes.size() - 1)));
          ASSERT_TRUE(s.fail(eof));
          break;
      }
      ASSERT_EQ(c.notice(), notice::sequence_done);
      ASSERT_TRUE(s.notified());
      ASSERT_TRUE(s.expect_close(f == fault::timeout ? seq::close_style::graceful : seq::close_style::abrupt));
      ASSERT_TRUE(s.expect_done());
      // done stays done.
      EXPECT_EQ(s.resume(seq::happened(seq::event_kind::written, s.now())).kind, seq::action_kind::done);
      const auto& r = c.result();
      EXPECT_EQ(r.reached, m.reached);
      EXPECT_NE(r.failure.find(m.name), std::string::npos) << r.failure;
      if (f == fault::timeout) {
        EXPECT_EQ(r.error, boost::system::errc::timed_out);
        EXPECT_EQ(r.teardown.back().kind, teardown_kind::timeout);
      } else {
        EXPECT_TRUE(r.server_closed);
        EXPECT_EQ(r.teardown.back().kind, f == fault::io_error ? teardown_kind::reset : teardown_kind::closed);
      }
      if (f == fault::truncated) {
        EXPECT_NE(r.failure.find("inside a frame"), std::string::npos) << r.failure;
      }
    }
  }
}

// Every server message replaced by a DPU: the failure names the step, and the phase is the one before it.
TEST(ClientSequence, ADpuInsteadOfEachAnswer) {
  const auto moves = full_sequence();
  for (std::size_t at = 0; at < moves.size(); ++at) {
    if (moves[at].kind != move::server_sends) continue;
    SCOPED_TRACE(moves[at].name);
    client_sequence c(tls_options());
    client_script s(c);
    s.start();
    ASSERT_TRUE(play(s, moves, at));
    ASSERT_TRUE(s.feed(dpu()));
    ASSERT_TRUE(s.notified());
    ASSERT_TRUE(s.expect_close(seq::close_style::graceful));
    EXPECT_EQ(c.result().reached, moves[at].reached);
    EXPECT_NE(c.result().failure.find("instead of sending " + moves[at].name), std::string::npos)
        << c.result().failure;
  }
}

}  // namespace
}  // namespace rdp::test
