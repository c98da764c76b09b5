// The server connection state machine (protocol/server_sequence.hpp) driven as a script on made-up time: the client's
// side is built with protocol/'s encoders, sending what the product client (client/src/session.cpp) sends (MS-RDPBCGR 1.3.1.1), and
// every server write is decoded and checked. Then a fail matrix: an I/O error, a timeout and a truncated frame
// injected at every step, each of which must end in a close and done with the right result.
#include "script.hpp"

#include "rdp/protocol/activation.hpp"
#include "rdp/protocol/credssp.hpp"
#include "rdp/protocol/credssp_server.hpp"
#include "rdp/protocol/errinfo.hpp"
#include "rdp/protocol/gcc.hpp"
#include "rdp/protocol/mcs.hpp"
#include "rdp/protocol/ntlm.hpp"
#include "rdp/crypto/openssl_primitives.hpp"
#include "rdp/protocol/ntlm_auth.hpp"
#include "rdp/protocol/server_sequence.hpp"
#include "rdp/protocol/share.hpp"
#include "rdp/protocol/tpkt.hpp"
#include "rdp/protocol/x224.hpp"

#include <gtest/gtest.h>

#include <boost/asio/error.hpp>

#include <random>
#include <variant>

namespace rdp::test {
namespace {

namespace activation = protocol::activation;
namespace gcc = protocol::gcc;
namespace mcs = protocol::mcs;
namespace share = protocol::share;
namespace x224 = protocol::x224;
using protocol::byte_buffer;
using protocol::bytes_view;
using protocol::logon_decision;
using protocol::server_end;
using protocol::server_notice;
using protocol::server_phase;
using protocol::server_sequence;
using protocol::teardown;
using std::chrono::milliseconds;
using std::chrono::seconds;
using machine_script = script<server_sequence>;

constexpr std::uint32_t ssl = protocol::to_bits(protocol::security_protocol::ssl);
constexpr std::uint32_t hybrid = protocol::to_bits(protocol::security_protocol::hybrid);
constexpr std::uint32_t hybrid_ex = protocol::to_bits(protocol::security_protocol::hybrid_ex);
constexpr std::uint16_t user_id = 1004;  // the mini client asks for no channels: 1003 + 1

boost::system::error_code eof() { return boost::asio::error::eof; }

protocol::server_sequence_options tls_options() {
  protocol::server_sequence_options o;
  o.policy = protocol::server_security_policy{ssl, true};
  o.server_challenge = {1, 2, 3, 4, 5, 6, 7, 8};
  o.filetime = 0x01D9000000000000ULL;
  return o;
}

// ---- The client's side, as the mini client sends it -------------------------------------------------------------

byte_buffer concat(std::initializer_list<byte_buffer> parts) {
  byte_buffer out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

byte_buffer connection_request(std::optional<std::uint32_t> protocols) {
  x224::connection_request request;
  request.cookie = "user";
  if (protocols) request.negotiation = protocol::neg_request{0, *protocols};
  return *x224::encode(request);
}

byte_buffer connect_initial(std::uint32_t selected, bool heartbeat = false, std::uint16_t width = 1024) {
  gcc::client_core_data core;
  core.desktop_width = width;
  core.client_name = u"rdp-mini";
  core.post_beta2_color_depth = 0xCA01;
  core.client_product_id = 1;
  core.serial_number = 0;
  core.high_color_depth = 16;
  core.supported_color_depths = 0x000F;
  core.early_capability_flags = static_cast<std::uint16_t>(
      gcc::early_capability::support_errinfo_pdu | (heartbeat ? gcc::early_capability::support_heartbeat_pdu : 0));
  core.client_dig_product_id = u"";
  core.connection_type = 0;
  core.server_selected_protocol = selected;
  mcs::connect_initial initial;
  initial.user_data.client.core = core;
  initial.user_data.client.security = gcc::client_security_data{};
  initial.user_data.client.network = gcc::client_network_data{};
  return *mcs::encode(initial);
}

share::data_pdu_route client_route() {
  share::data_pdu_route route;
  route.from_server = false;
  route.initiator = user_id;
  route.pdu_source = user_id;
  return route;
}

byte_buffer erect_and_attach() {
  return concat({x224::encode_data(mcs::encode(mcs::erect_domain_request{})),
                 x224::encode_data(mcs::encode(mcs::attach_user_request{}))});
}
byte_buffer channel_join(std::uint16_t channel) {
  return x224::encode_data(*mcs::encode(mcs::channel_join_request{user_id, channel}));
}
byte_buffer client_info(std::optional<activation::arc_client_cookie> cookie = std::nullopt) {
  activation::client_info info;
  info.flags |= activation::info_flag::autologon;
  info.user = "alice";
  info.domain = "LAB";
  info.password = "secret";
  info.client_address = "127.0.0.1";
  info.auto_reconnect_cookie = cookie;
  return *activation::encode(info, client_route());
}
// Confirm Active with a general capability set (AUTORECONNECT_SUPPORTED or not), then Synchronize, Control
// Cooperate, Control Request Control and Font List back to back (2.2.1.13.2-2.2.1.18).
byte_buffer confirm_active(bool auto_reconnect = true, std::uint32_t share_id = 0x000103EA) {
  byte_buffer general;
  protocol::byte_writer w(general);
  for (std::uint16_t v : {std::uint16_t{1}, std::uint16_t{3}, std::uint16_t{0x0200}, std::uint16_t{0}, std::uint16_t{0}})
    w.u16le(v);
  w.u16le(static_cast<std::uint16_t>(activation::general_extra_flag::long_credentials_supported |
                                     (auto_reconnect ? activation::general_extra_flag::autoreconnect_supported : 0)));
  for (int i = 0; i < 3; ++i) w.u16le(0);
  w.u8(0);
  w.u8(0);
  activation::confirm_active confirm;
  confirm.share_id = share_id;
  confirm.capabilities.push_back({activation::capability_type::general, general});
  return *activation::encode(confirm, client_route());
}
byte_buffer finalization() {
  const auto route = client_route();
  return concat({activation::encode(activation::synchronize{1002}, route),
                 activation::encode(activation::control{activation::control_action::cooperate, 0, 0}, route),
                 activation::encode(activation::control{activation::control_action::request_control, 0, 0}, route),
                 activation::encode_font_list(route)});
}
byte_buffer client_dpu() {
  return x224::encode_data(mcs::encode(mcs::disconnect_provider_ultimatum{mcs::disconnect_reason::user_requested}));
}

// ---- Reading what the server wrote --------------------------------------------------------------------------------

bytes_view user_data_of(bytes_view frame) {
  auto data = x224::decode_data(frame);
  if (!data) return {};
  auto send_data = mcs::decode_send_data(data->value);
  if (!send_data) return {};
  return send_data->value.user_data;
}
std::optional<std::uint8_t> type2_of(bytes_view frame) {
  auto pdu = share::decode_share_pdu(user_data_of(frame));
  if (!pdu || !pdu->value.data) return std::nullopt;
  return pdu->value.data->type2;
}
std::optional<std::uint32_t> error_info_of(bytes_view frame) {
  auto info = share::decode_set_error_info(user_data_of(frame));
  if (!info) return std::nullopt;
  return info->value.error_info;
}
bool is_dpu(bytes_view frame, mcs::disconnect_reason reason = mcs::disconnect_reason::provider_initiated) {
  auto event = share::inspect_server_frame(frame);
  return event && event->kind == share::server_event_kind::disconnect_provider_ultimatum && event->reason == reason;
}

// ---- Driving the machine ----------------------------------------------------------------------------------------

// How the client's bytes are fed: whole, or cut.
using feeder = std::function<testing::AssertionResult(machine_script&, bytes_view)>;
feeder whole() {
  return [](machine_script& s, bytes_view b) { return s.feed(b); };
}
feeder pieces(std::size_t n) {
  return [n](machine_script& s, bytes_view b) { return s.feed(b, n); };
}
feeder random_splits(unsigned seed) {
  auto rng = std::make_shared<std::mt19937>(seed);
  return [rng](machine_script& s, bytes_view b) {
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < b.size(); ++i)
      if ((*rng)() % 5 == 0) cuts.push_back(i);
    return s.feed_split(b, cuts);
  };
}

// What the happy path gives the owner's side and what it saw.
struct logon_setup {
  logon_decision decision = logon_decision::accept(7);
  bool session_info = true;
  bool heartbeat = false;
  bool auto_reconnect = true;
  std::optional<std::array<std::uint8_t, 16>> cookie_bits = std::array<std::uint8_t, 16>{9, 9, 9};
};

// Runs the TLS path from accept to the session's logged_on notice, checking each server PDU. Stops (returning the
// failure) at the first thing that is not as expected.
testing::AssertionResult run_to_logged_on(machine_script& s, server_sequence& m, const feeder& feed,
                                          const logon_setup& setup = {}) {
  auto expect = [](bool ok, const char* what) {
    return ok ? testing::AssertionSuccess() : testing::AssertionFailure() << what;
  };
  s.start();
  if (auto r = s.expect(seq::action_kind::read); !r) return r;
  if (auto r = feed(s, connection_request(ssl)); !r) return r;
  if (auto r = s.expect_write([](bytes_view b) {
        auto cc = x224::decode_connection_confirm(b);
        auto* rsp = cc ? std::get_if<protocol::neg_response>(&cc->value.negotiation) : nullptr;
        return rsp && rsp->selected_protocol == ssl;
      });
      !r)
    return r;
  if (auto r = expect(m.notice() == server_notice::negotiated, "no negotiated notice"); !r) return r;
  if (auto r = s.notified(); !r) return r;
  if (auto r = expect(s.pending().deadline == s.now() + milliseconds(10000), "TLS deadline"); !r) return r;
  if (auto r = s.tls_done(); !r) return r;
  if (auto r = expect(m.notice() == server_notice::tls_completed, "no tls notice"); !r) return r;
  if (auto r = s.notified(); !r) return r;
  if (auto r = feed(s, connect_initial(ssl, setup.heartbeat)); !r) return r;
  if (auto r = s.expect_write([](bytes_view b) {
        auto cr = mcs::decode_connect_response(b);
        return cr && cr->value.user_data.server.core && cr->value.user_data.server.core->client_requested_protocols == ssl;
      });
      !r)
    return r;
  if (auto r = feed(s, erect_and_attach()); !r) return r;
  if (auto r = s.expect_write([](bytes_view b) {
        auto data = x224::decode_data(b);
        if (!data) return false;
        auto confirm = mcs::decode_attach_user_confirm(data->value);
        return confirm && confirm->value.initiator == user_id;
      });
      !r)
    return r;
  for (std::uint16_t channel : {user_id, mcs::global_channel_id}) {
    if (auto r = feed(s, channel_join(channel)); !r) return r;
    if (auto r = s.expect_write([channel](bytes_view b) {
          auto data = x224::decode_data(b);
          if (!data) return false;
          auto confirm = mcs::decode_channel_join_confirm(data->value);
          return confirm && confirm->value.channel_id == channel && confirm->value.result == 0;
        });
        !r)
      return r;
  }
  if (auto r = feed(s, client_info()); !r) return r;
  if (auto r = expect(m.notice() == server_notice::logon_decision_needed, "no logon decision notice"); !r) return r;
  if (auto r = expect(m.result().client_info && m.result().client_info->user == "alice", "no Client Info"); !r) return r;
  m.decide_logon(setup.decision);
  if (auto r = s.notified(); !r) return r;
  if (auto r = s.expect_write([](bytes_view b) { return bool(activation::decode_license_error_alert(user_data_of(b))); }); !r)
    return r;
  const auto session_id = setup.decision.session_id;
  if (auto r = s.expect_write([session_id](bytes_view b) {
        auto demand = activation::decode_demand_active(user_data_of(b));
        return demand && demand->value.session_id == session_id && demand->value.share_id == 0x000103EA;
      });
      !r)
    return r;
  if (auto r = feed(s, concat({confirm_active(setup.auto_reconnect), finalization()})); !r) return r;
  const auto server_final = s.take_writes();
  if (auto r = expect(server_final.size() == 5, "five finalization writes"); !r) return r;
  if (auto r = expect(type2_of(server_final[0]) == share::pdu_type2::synchronize &&
                          type2_of(server_final[3]) == share::pdu_type2::font_map &&
                          type2_of(server_final[4]) == share::pdu_type2::update,
                      "Synchronize … Font Map, bitmap update");
      !r)
    return r;
  if (auto r = expect(m.notice() == server_notice::activated, "no activated notice"); !r) return r;
  if (setup.session_info) m.set_session_info({setup.decision.session_id, "alice", "LAB", setup.cookie_bits});
  return s.notified();
}

// The Save Session Info writes, then logged_on, then the active read.
testing::AssertionResult finish_logon(machine_script& s, server_sequence& m, std::vector<byte_buffer>* writes = nullptr) {
  auto all = s.take_writes();
  if (writes) *writes = all;
  if (m.notice() != server_notice::logged_on) return testing::AssertionFailure() << "no logged_on notice";
  return s.notified();
}

TEST(ServerSequence, NegotiationSelectsTlsAndAsksForTheHandshake) {
  server_sequence m(tls_options());
  machine_script s(m);
  ASSERT_TRUE(s.start().kind == seq::action_kind::read);
  const auto deadline = s.pending().deadline;
  EXPECT_EQ(deadline, s.now() + milliseconds(10000));
  ASSERT_TRUE(s.feed(connection_request(ssl | hybrid), 1));
  EXPECT_EQ(m.result().reached, server_phase::requested);
  auto cc = x224::decode_connection_confirm(s.pending().bytes);
  ASSERT_TRUE(cc);
  ASSERT_TRUE(std::holds_alternative<protocol::neg_response>(cc->value.negotiation));
  EXPECT_EQ(std::get<protocol::neg_response>(cc->value.negotiation).selected_protocol, ssl);
  ASSERT_TRUE(s.expect_write());
  EXPECT_EQ(m.notice(), server_notice::negotiated);
  EXPECT_EQ(m.result().selected, protocol::security_protocol::ssl);
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.expect(seq::action_kind::start_tls));
}

TEST(ServerSequence, NegotiationFailureIsSentThenClosedGracefully) {
  auto options = tls_options();
  options.policy = protocol::server_security_policy{ssl, false};  // TLS only
  server_sequence m(options);
  machine_script s(m);
  s.start();
  ASSERT_TRUE(s.feed(connection_request(std::nullopt)));  // a legacy client: Standard RDP Security only
  ASSERT_TRUE(s.expect_write([](bytes_view b) {
    auto cc = x224::decode_connection_confirm(b);
    auto* failure = cc ? std::get_if<protocol::neg_failure>(&cc->value.negotiation) : nullptr;
    return failure && failure->failure_code == static_cast<std::uint32_t>(protocol::neg_failure_code::ssl_required_by_server);
  }));
  EXPECT_EQ(m.notice(), server_notice::ended);
  EXPECT_EQ(m.result().ended, server_end::refused);
  ASSERT_TRUE(s.notified());
  // Half-closed and drained, so the CC is not destroyed by a reset caused by unread data (docs/freerdp.md 2.4).
  EXPECT_EQ(s.pending().deadline, s.now() + milliseconds(2000));
  ASSERT_TRUE(s.expect_close(seq::close_style::graceful));
  ASSERT_TRUE(s.expect_done());
  ASSERT_TRUE(s.resume(seq::happened(seq::event_kind::closed, s.now())).kind == seq::action_kind::done);
}

TEST(ServerSequence, BadRequestEndsAbruptly) {
  for (int variant = 0; variant < 3; ++variant) {
    server_sequence m(tls_options());
    machine_script s(m);
    s.start();
    if (variant == 0) {
      ASSERT_TRUE(s.feed(byte_buffer{'G', 'E', 'T', ' ', '/', ' ', 'H'}));  // not TPKT
    }
    if (variant == 1) {
      ASSERT_TRUE(s.feed(x224::encode_data(byte_buffer{1, 2, 3})));  // TPKT, not a CR
    }
    if (variant == 2) {
      // A CR trickled in and never finished: the deadline stays where it was.
      const auto deadline = s.pending().deadline;
      const auto cr = connection_request(ssl);
      s.advance(milliseconds(9000));
      ASSERT_TRUE(s.feed(bytes_view(cr).first(cr.size() - 1), 1));
      EXPECT_EQ(s.pending().deadline, deadline);
      ASSERT_TRUE(s.time_out());
    }
    EXPECT_EQ(m.notice(), server_notice::ended);
    EXPECT_EQ(m.result().ended, server_end::bad_request) << variant;
    EXPECT_EQ(m.result().reached, server_phase::none);
    ASSERT_TRUE(s.notified());
    ASSERT_TRUE(s.expect_close(seq::close_style::abrupt));
    ASSERT_TRUE(s.expect_done());
  }
}

TEST(ServerSequence, TlsPathReachesActiveWithTheOwnersLogonDecision) {
  for (int way = 0; way < 4; ++way) {
    SCOPED_TRACE(way);
    const feeder feed = way == 0 ? whole() : way == 1 ? pieces(1) : random_splits(static_cast<unsigned>(way));
    server_sequence m(tls_options());
    machine_script s(m);
    ASSERT_TRUE(run_to_logged_on(s, m, feed));
    std::vector<byte_buffer> logon;
    ASSERT_TRUE(finish_logon(s, m, &logon));
    ASSERT_EQ(logon.size(), 2u);  // logon long, then the cookie (the client announced auto-reconnect)
    auto pdu = share::decode_share_pdu(user_data_of(logon[0]));
    ASSERT_TRUE(pdu);
    auto info = activation::decode_save_session_info(pdu->value.body);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->value.session_id, 7u);
    EXPECT_EQ(info->value.user, "alice");
    pdu = share::decode_share_pdu(user_data_of(logon[1]));
    ASSERT_TRUE(pdu);
    info = activation::decode_save_session_info(pdu->value.body);
    ASSERT_TRUE(info && info->value.cookie);
    EXPECT_EQ(info->value.cookie->logon_id, 7u);
    EXPECT_EQ(info->value.cookie->random_bits[0], 9);
    EXPECT_EQ(m.result().reached, server_phase::logged_on);
    EXPECT_TRUE(m.result().client.error_info);
    EXPECT_TRUE(m.result().client.auto_reconnect);
    EXPECT_EQ(m.result().client.user_id, user_id);
    // Active, no limits, no heartbeats: a wakeable read without end.
    ASSERT_TRUE(s.expect(seq::action_kind::read));
    EXPECT_TRUE(s.pending().wakeable);
    EXPECT_EQ(s.pending().deadline, seq::instant::max());
  }
}

TEST(ServerSequence, NoCookieToAClientWithoutAutoReconnectAndNoSaveSessionInfoWithoutSessionInfo) {
  server_sequence m(tls_options());
  machine_script s(m);
  logon_setup setup;
  setup.auto_reconnect = false;
  ASSERT_TRUE(run_to_logged_on(s, m, whole(), setup));
  std::vector<byte_buffer> logon;
  ASSERT_TRUE(finish_logon(s, m, &logon));
  ASSERT_EQ(logon.size(), 1u);
  EXPECT_EQ(type2_of(logon[0]), share::pdu_type2::save_session_info);

  server_sequence m2(tls_options());
  machine_script s2(m2);
  setup.session_info = false;
  ASSERT_TRUE(run_to_logged_on(s2, m2, whole(), setup));
  ASSERT_TRUE(finish_logon(s2, m2, &logon));
  EXPECT_TRUE(logon.empty());
}

TEST(ServerSequence, DeniedLogonSendsErrorInfoAndDpuThenClosesGracefully) {
  server_sequence m(tls_options());
  machine_script s(m);
  logon_setup setup;
  setup.decision = logon_decision::deny(protocol::errinfo::server_insufficient_privileges);
  ASSERT_FALSE(run_to_logged_on(s, m, whole(), setup));  // stops where the license PDU would be
  EXPECT_EQ(m.notice(), server_notice::ended);
  EXPECT_EQ(m.result().ended, server_end::denied);
  EXPECT_EQ(m.result().reached, server_phase::client_info);
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.expect_write([](bytes_view b) { return error_info_of(b) == protocol::errinfo::server_insufficient_privileges; }));
  ASSERT_TRUE(s.expect_write([](bytes_view b) { return is_dpu(b); }));
  ASSERT_TRUE(s.expect_close(seq::close_style::graceful));
  ASSERT_TRUE(s.expect_done());
  ASSERT_TRUE(m.result().teardown_sent);
  EXPECT_EQ(m.result().teardown_sent->error_info, protocol::errinfo::server_insufficient_privileges);
}

TEST(ServerSequence, StaleCookieGetsAutoReconnectStatusAfterSaveSessionInfo) {
  server_sequence m(tls_options());
  machine_script s(m);
  logon_setup setup;
  setup.decision = logon_decision::accept(12, true);
  ASSERT_TRUE(run_to_logged_on(s, m, whole(), setup));
  std::vector<byte_buffer> logon;
  ASSERT_TRUE(finish_logon(s, m, &logon));
  ASSERT_EQ(logon.size(), 3u);
  EXPECT_EQ(type2_of(logon[2]), share::pdu_type2::arc_status);
}

struct teardown_case {
  const char* name;
  teardown how;
};

TEST(ServerSequence, EachOwnerTeardownEndsTheActiveSessionAsItSays) {
  using mcs::disconnect_reason;
  const std::vector<teardown_case> cases = {
      {"logoff", {protocol::errinfo::rpc_initiated_logoff, disconnect_reason::provider_initiated, seq::close_style::graceful}},
      {"disconnect", {protocol::errinfo::rpc_initiated_disconnect, disconnect_reason::provider_initiated, seq::close_style::graceful}},
      {"replaced", {protocol::errinfo::disconnected_by_other_connection, disconnect_reason::provider_initiated, seq::close_style::graceful}},
      {"reset", {std::nullopt, std::nullopt, seq::close_style::reset}},
      {"network drop", {std::nullopt, std::nullopt, seq::close_style::reset}},
      {"service stop", {std::nullopt, std::nullopt, seq::close_style::abrupt}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    server_sequence m(tls_options());
    machine_script s(m);
    ASSERT_TRUE(run_to_logged_on(s, m, whole()));
    ASSERT_TRUE(finish_logon(s, m));
    s.advance(seconds(30));
    m.request_end(c.how);
    ASSERT_TRUE(s.wake());
    EXPECT_EQ(m.notice(), server_notice::ended);
    EXPECT_EQ(m.result().ended, server_end::teardown);
    ASSERT_TRUE(s.notified());
    if (c.how.error_info) {
      const auto code = *c.how.error_info;
      ASSERT_TRUE(s.expect_write([code](bytes_view b) { return error_info_of(b) == code; }));
    }
    if (c.how.dpu) {
      ASSERT_TRUE(s.expect_write([](bytes_view b) { return is_dpu(b); }));
    }
    if (c.how.close == seq::close_style::graceful) {
      EXPECT_EQ(s.pending().deadline, s.now() + milliseconds(2000));
    }
    ASSERT_TRUE(s.expect_close(c.how.close));
    ASSERT_TRUE(s.expect_done());
    EXPECT_EQ(m.result().teardown_sent, c.how);
  }
}

TEST(ServerSequence, ErrorInfoOnlyToAClientThatSupportsIt) {
  // A client whose Connect-Initial does not announce RNS_UD_CS_SUPPORT_ERRINFO_PDU gets the DPU alone.
  server_sequence m(tls_options());
  machine_script s(m);
  s.start();
  ASSERT_TRUE(s.feed(connection_request(ssl)));
  ASSERT_TRUE(s.expect_write());
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.tls_done());
  ASSERT_TRUE(s.notified());
  auto initial = mcs::decode_connect_initial(connect_initial(ssl));
  ASSERT_TRUE(initial);
  initial->value.user_data.client.core->early_capability_flags = 0;
  ASSERT_TRUE(s.feed(*mcs::encode(initial->value)));
  ASSERT_TRUE(s.expect_write());
  ASSERT_TRUE(s.feed(erect_and_attach()));
  ASSERT_TRUE(s.expect_write());
  ASSERT_TRUE(s.feed(client_info()));
  m.decide_logon(logon_decision::deny(protocol::errinfo::server_denied_connection));
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.expect_write([](bytes_view b) { return is_dpu(b); }));
  ASSERT_TRUE(s.expect_close(seq::close_style::graceful));
  EXPECT_FALSE(m.result().teardown_sent->error_info);
}

TEST(ServerSequence, TheClientsDpuEndsTheSessionWithoutTeardownPdus) {
  for (const auto& bye : {client_dpu(), x224::encode(x224::disconnect_request{})}) {
    server_sequence m(tls_options());
    machine_script s(m);
    ASSERT_TRUE(run_to_logged_on(s, m, whole()));
    ASSERT_TRUE(finish_logon(s, m));
    ASSERT_TRUE(s.feed(bye));
    EXPECT_EQ(m.notice(), server_notice::ended);
    EXPECT_EQ(m.result().ended, server_end::client_left);
    ASSERT_TRUE(s.notified());
    ASSERT_TRUE(s.expect_close(seq::close_style::abrupt));
    ASSERT_TRUE(s.expect_done());
  }
}

TEST(ServerSequence, HeartbeatsToAClientThatAnnouncesThem) {
  auto options = tls_options();
  options.heartbeat = seconds(5);
  server_sequence m(options);
  machine_script s(m);
  logon_setup setup;
  setup.heartbeat = true;
  ASSERT_TRUE(run_to_logged_on(s, m, whole(), setup));
  ASSERT_TRUE(finish_logon(s, m));
  for (int beat = 0; beat < 3; ++beat) {
    ASSERT_TRUE(s.expect_write([](bytes_view b) {
      auto h = activation::decode_heartbeat(user_data_of(b));
      return h && h->value == activation::heartbeat{5, 2, 4};
    }));
    ASSERT_TRUE(s.expect(seq::action_kind::read));
    EXPECT_EQ(s.pending().deadline, s.now() + seconds(5));
    ASSERT_TRUE(s.time_out());
  }

  // A client that does not announce them gets none, whatever the server's setting.
  server_sequence quiet(options);
  machine_script q(quiet);
  ASSERT_TRUE(run_to_logged_on(q, quiet, whole()));
  ASSERT_TRUE(finish_logon(q, quiet));
  ASSERT_TRUE(q.expect(seq::action_kind::read));
  EXPECT_EQ(q.pending().deadline, seq::instant::max());
}

TEST(ServerSequence, IdleLimitCountsFromTheLastInputFastPathToo) {
  auto options = tls_options();
  options.idle_limit = seconds(60);
  server_sequence m(options);
  machine_script s(m);
  ASSERT_TRUE(run_to_logged_on(s, m, whole()));
  const auto activated = s.now();
  EXPECT_EQ(m.activated_at(), activated);
  ASSERT_TRUE(finish_logon(s, m));
  EXPECT_EQ(s.pending().deadline, activated + seconds(60));
  s.advance(seconds(30));
  // A fast-path input PDU (2.2.8.1.2: fpInputHeader action 0, length 3 … here a 4-byte PDU with one event byte pair).
  ASSERT_TRUE(s.feed(byte_buffer{0x04, 0x04, 0x00, 0x00}));
  EXPECT_EQ(m.last_input(), activated + seconds(30));
  EXPECT_EQ(s.pending().deadline, activated + seconds(90));
  s.advance(seconds(10));
  ASSERT_TRUE(s.feed(client_info()));  // any slow-path frame counts as well
  EXPECT_EQ(s.pending().deadline, activated + seconds(100));
  ASSERT_TRUE(s.time_out());
  EXPECT_EQ(m.result().ended, server_end::idle_limit);
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.expect_write([](bytes_view b) { return error_info_of(b) == protocol::errinfo::idle_timeout; }));
  ASSERT_TRUE(s.expect_write([](bytes_view b) { return is_dpu(b); }));
  ASSERT_TRUE(s.expect_close(seq::close_style::graceful));
  ASSERT_TRUE(s.expect_done());
}

TEST(ServerSequence, ActiveLimitIsNotMovedByInput) {
  auto options = tls_options();
  options.active_limit = seconds(100);
  server_sequence m(options);
  machine_script s(m);
  ASSERT_TRUE(run_to_logged_on(s, m, whole()));
  const auto activated = s.now();
  ASSERT_TRUE(finish_logon(s, m));
  s.advance(seconds(50));
  ASSERT_TRUE(s.feed(byte_buffer{0x04, 0x04, 0x00, 0x00}));
  EXPECT_EQ(s.pending().deadline, activated + seconds(100));
  ASSERT_TRUE(s.time_out());
  EXPECT_EQ(m.result().ended, server_end::active_limit);
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.expect_write([](bytes_view b) { return error_info_of(b) == protocol::errinfo::logon_timeout; }));
  ASSERT_TRUE(s.expect_write([](bytes_view b) { return is_dpu(b); }));
  ASSERT_TRUE(s.expect_close(seq::close_style::graceful));
}

TEST(ServerSequence, SetLimitsTakesEffectWhenWoken) {
  server_sequence m(tls_options());
  machine_script s(m);
  ASSERT_TRUE(run_to_logged_on(s, m, whole()));
  const auto activated = s.now();
  ASSERT_TRUE(finish_logon(s, m));
  EXPECT_EQ(s.pending().deadline, seq::instant::max());
  m.set_limits(seconds(120), std::nullopt);
  ASSERT_TRUE(s.wake());
  EXPECT_EQ(s.pending().deadline, activated + seconds(120));
  // A new, shorter limit that the session is already past ends it at once.
  s.advance(seconds(61));
  m.set_limits(seconds(60), std::nullopt);
  ASSERT_TRUE(s.wake());
  EXPECT_EQ(m.result().ended, server_end::idle_limit);
}

TEST(ServerSequence, ATeardownRequestedBeforeActivationTakesEffectOnceActive) {
  server_sequence m(tls_options());
  machine_script s(m);
  ASSERT_TRUE(run_to_logged_on(s, m, whole()));
  m.request_end({std::nullopt, std::nullopt, seq::close_style::reset});
  ASSERT_TRUE(finish_logon(s, m));
  EXPECT_EQ(m.result().ended, server_end::teardown);
}

// CredSSP (MS-CSSP 3.1.5): NEGOTIATE → CHALLENGE → AUTHENTICATE → errorCode STATUS_NOT_SUPPORTED.
byte_buffer ts_request_with(byte_buffer token, std::int64_t version = 6) {
  protocol::credssp::ts_request r;
  r.version = version;
  r.nego_tokens.push_back(std::move(token));
  return protocol::credssp::encode(r);
}
byte_buffer authenticate_token() {
  byte_buffer token{'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 3, 0, 0, 0};
  token.resize(88, 0);
  return token;
}

protocol::server_sequence_options options_with_hybrid() {
  auto options = tls_options();
  options.policy = protocol::server_security_policy{ssl | hybrid, true};
  return options;
}

void run_to_challenge(machine_script& s, server_sequence& m, std::int64_t version, const feeder& feed) {
  s.start();
  ASSERT_TRUE(feed(s, connection_request(ssl | hybrid)));
  ASSERT_TRUE(s.expect_write());
  EXPECT_EQ(m.result().selected, protocol::security_protocol::hybrid);
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.tls_done());
  ASSERT_TRUE(s.notified());
  protocol::ntlm::negotiate_message negotiate;
  ASSERT_TRUE(feed(s, ts_request_with(*protocol::ntlm::encode(negotiate), version)));
  const auto options = tls_options();
  ASSERT_TRUE(s.expect_write([&](bytes_view b) {
    auto answer = protocol::credssp::decode_ts_request(b);
    if (!answer || answer->value.version != protocol::responder_credssp_version || answer->value.nego_tokens.empty())
      return false;
    auto challenge = protocol::ntlm::decode_challenge(answer->value.nego_tokens.front());
    // Exactly what make_challenge gives for the options' identity, nonce and timestamp: no clock, no randomness.
    return challenge && *challenge == protocol::make_challenge(options.ntlm, negotiate.flags, options.filetime,
                                                               options.server_challenge);
  }));
  EXPECT_EQ(m.notice(), server_notice::ntlm_challenge_sent);
  ASSERT_TRUE(s.notified());
}

// Without crypto primitives (options.crypto null) the machine still answers the NEGOTIATE, as probes read it, and
// refuses the AUTHENTICATE at once with STATUS_NOT_SUPPORTED rather than leaving the client to time out; a client
// below version 3 has no errorCode and only sees the close.
TEST(ServerSequence, WithoutCryptoTheAuthenticateIsRefusedWithNotSupported) {
  for (int way = 0; way < 3; ++way) {
    auto options = tls_options();
    options.policy = protocol::server_security_policy{ssl | hybrid, true};
    server_sequence m(options);
    machine_script s(m);
    const feeder feed = way == 0 ? whole() : way == 1 ? pieces(1) : random_splits(3);
    run_to_challenge(s, m, 6, feed);
    ASSERT_TRUE(feed(s, ts_request_with(authenticate_token())));
    ASSERT_TRUE(s.expect_write([](bytes_view b) {
      auto answer = protocol::credssp::decode_ts_request(b);
      return answer && answer->value.error_code == protocol::ntstatus::not_supported && answer->value.version == 6;
    }));
    EXPECT_EQ(m.result().ended, server_end::nla_refused);
    EXPECT_EQ(m.result().nla_status, protocol::ntstatus::not_supported);
    EXPECT_EQ(m.result().credssp_log, "NLA logon refused: this server has no NTLM crypto configured");
    ASSERT_TRUE(s.notified());
    ASSERT_TRUE(s.expect_close(seq::close_style::abrupt));
    ASSERT_TRUE(s.expect_done());
    EXPECT_EQ(m.result().reached, server_phase::ntlm_challenged);
  }
  {
    server_sequence m(options_with_hybrid());
    machine_script s(m);
    run_to_challenge(s, m, 2, whole());
    ASSERT_TRUE(s.feed(ts_request_with(authenticate_token(), 2)));
    EXPECT_EQ(m.result().ended, server_end::nla_refused);
    ASSERT_TRUE(s.notified());
    ASSERT_TRUE(s.expect_close(seq::close_style::abrupt));
  }
}

TEST(ServerSequence, AProbeThatLeavesAfterTheChallengeLeavesNoLog) {
  // nmap's rdp-ntlm-info and rdpprobe close once they have the CHALLENGE: nothing to refuse, nothing to log.
  server_sequence m(options_with_hybrid());
  machine_script s(m);
  run_to_challenge(s, m, 6, whole());
  ASSERT_TRUE(s.fail(eof()));
  EXPECT_EQ(m.result().ended, server_end::client_left);
  EXPECT_TRUE(m.result().credssp_log.empty());
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.expect_close(seq::close_style::abrupt));
}

// ---- The CredSSP logon, with OpenSSL's primitives and a client built from protocol/ntlm_auth.hpp ---------------

const byte_buffer nla_public_key = {0x30, 0x0d, 0x02, 0x06, 0x00, 0xc3, 0x11, 0x22, 0x33, 0x44, 0x02, 0x03, 0x01, 0x00, 0x01};

protocol::server_sequence_options nla_options(std::uint32_t offered) {
  auto o = tls_options();
  o.policy = protocol::server_security_policy{offered, true};
  o.crypto = &rdp::crypto::openssl_primitives();
  o.public_key = nla_public_key;
  o.accounts = {{"alice", "LAB", "Passw0rd!", protocol::account_state::enabled, true},
                {"erin", "LAB", "Passw0rd!", protocol::account_state::enabled, false}};
  return o;
}

// The client's side of CredSSP as FreeRDP's nla.c takes it, one TSRequest at a time.
struct nla_client {
  std::string user = "alice", password = "Passw0rd!";
  byte_buffer negotiate = *protocol::ntlm::encode(protocol::ntlm::negotiate_message{});
  std::optional<protocol::ntlm::session_security> security;
  byte_buffer nonce = byte_buffer(32, 0x3c);

  byte_buffer authenticate(bytes_view challenge_token) {
    const auto& c = rdp::crypto::openssl_primitives();
    protocol::ntlm::client_randomness random;
    random.exported_session_key.fill(0x11);
    auto made = *protocol::ntlm::make_authenticate(c, {user, "LAB", password, "WS1"}, negotiate, challenge_token,
                                                   random, 0);
    security.emplace(c, made.exported_session_key, made.flags, protocol::ntlm::session_security::side::client);
    protocol::credssp::ts_request r;
    r.nego_tokens.push_back(made.message);
    r.client_nonce = nonce;
    r.pub_key_auth = security->seal(protocol::client_key_binding(c, r.version, nonce, nla_public_key));
    return protocol::credssp::encode(r);
  }
  byte_buffer credentials() {
    protocol::credssp::password_credentials p{protocol::ntlm::utf8_to_utf16le("LAB"),
                                              protocol::ntlm::utf8_to_utf16le(user),
                                              protocol::ntlm::utf8_to_utf16le(password)};
    protocol::credssp::ts_request r;
    r.auth_info = security->seal(protocol::credssp::encode(
        protocol::credssp::ts_credentials{protocol::credssp::cred_type_password, protocol::credssp::encode(p)}));
    return protocol::credssp::encode(r);
  }
};

// X.224 selecting `selected`, TLS, then the NEGOTIATE: the CHALLENGE token the machine answered with.
testing::AssertionResult run_to_nla_challenge(machine_script& s, const nla_client& client, std::uint32_t requested,
                                              byte_buffer& challenge) {
  s.start();
  if (auto r = s.feed(connection_request(requested)); !r) return r;
  if (auto r = s.expect_write(); !r) return r;
  if (auto r = s.notified(); !r) return r;
  if (auto r = s.tls_done(); !r) return r;
  if (auto r = s.notified(); !r) return r;
  protocol::credssp::ts_request first;
  first.nego_tokens.push_back(client.negotiate);
  if (auto r = s.feed(protocol::credssp::encode(first)); !r) return r;
  if (auto r = s.expect_write([&](bytes_view b) {
        auto answer = protocol::credssp::decode_ts_request(b);
        if (!answer || answer->value.nego_tokens.empty()) return false;
        challenge = answer->value.nego_tokens.front();
        return true;
      });
      !r)
    return r;
  return s.notified();
}

TEST(ServerSequence, CredSspLogonBindsTheKeyAndGoesOnWithTheConnectInitialSentInTheSameRecord) {
  for (int way = 0; way < 3; ++way) {
    server_sequence m(nla_options(ssl | hybrid));
    machine_script s(m);
    const feeder feed = way == 0 ? whole() : way == 1 ? pieces(7) : random_splits(11);
    nla_client client;
    byte_buffer challenge;
    ASSERT_TRUE(run_to_nla_challenge(s, client, ssl | hybrid, challenge));
    ASSERT_TRUE(feed(s, client.authenticate(challenge)));
    ASSERT_TRUE(s.expect_write([&](bytes_view b) {
      auto answer = protocol::credssp::decode_ts_request(b);
      if (!answer || !answer->value.pub_key_auth) return false;
      auto bound = client.security->unseal(*answer->value.pub_key_auth);
      return bound && *bound == protocol::server_key_binding(rdp::crypto::openssl_primitives(), 6, client.nonce,
                                                             nla_public_key);
    }));
    // FreeRDP sends its Connect-Initial right behind the TSCredentials: both in one feed.
    ASSERT_TRUE(feed(s, concat({client.credentials(), connect_initial(hybrid)})));
    ASSERT_TRUE(s.expect_write([](bytes_view b) { return bool(mcs::decode_connect_response(b)); }));
    EXPECT_EQ(m.result().reached, server_phase::mcs_connected);
    ASSERT_TRUE(m.result().nla.has_value());
    EXPECT_EQ(m.result().nla->user, "alice");
    EXPECT_EQ(m.result().nla->account, 0u);
    EXPECT_FALSE(m.result().early_authorization.has_value());  // HYBRID: no Early User Authorization Result
  }
}

TEST(ServerSequence, CredSspWrongPasswordGetsLogonFailureAndTheClose) {
  server_sequence m(nla_options(ssl | hybrid));
  machine_script s(m);
  nla_client client;
  client.password = "wrong";
  byte_buffer challenge;
  ASSERT_TRUE(run_to_nla_challenge(s, client, ssl | hybrid, challenge));
  ASSERT_TRUE(s.feed(client.authenticate(challenge)));
  ASSERT_TRUE(s.expect_write([](bytes_view b) {
    auto answer = protocol::credssp::decode_ts_request(b);
    return answer && answer->value.error_code == protocol::ntstatus::logon_failure;
  }));
  EXPECT_EQ(m.result().ended, server_end::nla_refused);
  EXPECT_EQ(m.result().nla_status, protocol::ntstatus::logon_failure);
  EXPECT_NE(m.result().credssp_log.find("does not match its password"), std::string::npos) << m.result().credssp_log;
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.expect_close(seq::close_style::abrupt));
  EXPECT_FALSE(m.result().nla.has_value());
}

TEST(ServerSequence, HybridExSendsTheEarlyUserAuthorizationResult) {
  for (const bool allowed : {true, false}) {
    SCOPED_TRACE(allowed);
    server_sequence m(nla_options(ssl | hybrid | hybrid_ex));
    machine_script s(m);
    nla_client client;
    if (!allowed) client.user = "erin";
    byte_buffer challenge;
    ASSERT_TRUE(run_to_nla_challenge(s, client, ssl | hybrid | hybrid_ex, challenge));
    EXPECT_EQ(m.result().selected, protocol::security_protocol::hybrid_ex);
    ASSERT_TRUE(s.feed(client.authenticate(challenge)));
    ASSERT_TRUE(s.expect_write());
    ASSERT_TRUE(s.feed(client.credentials()));
    ASSERT_TRUE(s.expect_write([&](bytes_view b) {
      return b.size() == 4 && b[0] == (allowed ? 0 : 5) && b[1] == 0 && b[2] == 0 && b[3] == 0;
    }));
    EXPECT_EQ(m.result().early_authorization, allowed ? protocol::authz_success : protocol::authz_access_denied);
    if (allowed) {
      ASSERT_TRUE(s.feed(connect_initial(hybrid_ex)));
      ASSERT_TRUE(s.expect_write([](bytes_view b) { return bool(mcs::decode_connect_response(b)); }));
    } else {
      ASSERT_TRUE(s.notified());
      EXPECT_EQ(m.result().ended, server_end::nla_refused);
      EXPECT_NE(m.result().credssp_log.find("AUTHZ_ACCESS_DENIED"), std::string::npos);
      ASSERT_TRUE(s.expect_close(seq::close_style::graceful));
    }
  }
}

TEST(ServerSequence, StandardRdpSecurityIsAnsweredInTheClearThenHeld) {
  server_sequence m(tls_options());
  machine_script s(m);
  s.start();
  ASSERT_TRUE(s.feed(connection_request(std::nullopt)));
  ASSERT_TRUE(s.expect_write([](bytes_view b) {
    auto cc = x224::decode_connection_confirm(b);
    return cc && std::holds_alternative<std::monostate>(cc->value.negotiation);  // a legacy CC
  }));
  EXPECT_EQ(m.result().selected, protocol::security_protocol::rdp);
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.feed(connect_initial(0), 7));
  ASSERT_TRUE(s.expect_write([](bytes_view b) {
    auto cr = mcs::decode_connect_response(b);
    return cr && cr->value.user_data.server.core->client_requested_protocols == 0;
  }));
  EXPECT_EQ(m.result().reached, server_phase::mcs_connected);
  const auto hold_until = s.now() + milliseconds(30000);
  EXPECT_EQ(s.pending().deadline, hold_until);
  s.advance(seconds(20));
  ASSERT_TRUE(s.feed(erect_and_attach()));  // discarded: nothing is answered
  EXPECT_EQ(s.pending().deadline, hold_until);
  ASSERT_TRUE(s.time_out());
  EXPECT_EQ(m.result().ended, server_end::hold_over);
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.expect_close(seq::close_style::abrupt));
  ASSERT_TRUE(s.expect_done());
}

TEST(ServerSequence, TlsUnavailableServesATlsSelectionAsStandardSecurity) {
  auto options = tls_options();
  options.tls_available = false;
  server_sequence m(options);
  machine_script s(m);
  s.start();
  ASSERT_TRUE(s.feed(connection_request(ssl)));
  ASSERT_TRUE(s.expect_write());
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.expect(seq::action_kind::read));  // no start_tls
}

TEST(ServerSequence, ConfirmActiveWithAnotherShareIdIsASequenceFailure) {
  // Straight from the Connect-Response to the Client Info (the domain PDUs are not required), then a wrong share id.
  server_sequence m2(tls_options());
  machine_script s2(m2);
  s2.start();
  ASSERT_TRUE(s2.feed(connection_request(ssl)));
  ASSERT_TRUE(s2.expect_write());
  ASSERT_TRUE(s2.notified());
  ASSERT_TRUE(s2.tls_done());
  ASSERT_TRUE(s2.notified());
  ASSERT_TRUE(s2.feed(connect_initial(ssl)));
  ASSERT_TRUE(s2.expect_write());
  ASSERT_TRUE(s2.feed(client_info()));
  m2.decide_logon(logon_decision::accept(1));
  ASSERT_TRUE(s2.notified());
  ASSERT_EQ(s2.take_writes().size(), 2u);
  ASSERT_TRUE(s2.feed(confirm_active(true, 0x1234)));
  EXPECT_EQ(m2.result().ended, server_end::sequence_failure);
  EXPECT_EQ(m2.result().reached, server_phase::capabilities);
}

TEST(ServerSequence, EachFrameGetsItsOwnDeadlineButAPartOfOneDoesNot) {
  server_sequence m(tls_options());
  machine_script s(m);
  s.start();
  ASSERT_TRUE(s.feed(connection_request(ssl)));
  ASSERT_TRUE(s.expect_write());
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.tls_done());
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.feed(connect_initial(ssl)));
  ASSERT_TRUE(s.expect_write());
  const auto first = s.pending().deadline;
  EXPECT_EQ(first, s.now() + milliseconds(10000));
  // A whole Erect Domain nine seconds in: the next frame has ten seconds from then (rdpsim reads frame by frame).
  s.advance(milliseconds(9000));
  ASSERT_TRUE(s.feed(x224::encode_data(mcs::encode(mcs::erect_domain_request{}))));
  const auto second = s.pending().deadline;
  EXPECT_EQ(second, s.now() + milliseconds(10000));
  // Half a Channel Join, byte by byte over seconds: the deadline does not move.
  const auto join = channel_join(user_id);
  for (std::size_t i = 0; i < join.size() / 2; ++i) {
    s.advance(milliseconds(1000));
    ASSERT_TRUE(s.feed(bytes_view(join).subspan(i, 1)));
    EXPECT_EQ(s.pending().deadline, second);
  }
  ASSERT_TRUE(s.time_out());
  EXPECT_EQ(m.result().ended, server_end::timed_out);
  EXPECT_EQ(m.result().error, boost::system::errc::timed_out);
}

TEST(ServerSequence, TooManyFramesInAPhaseIsASequenceFailure) {
  server_sequence m(tls_options());
  machine_script s(m);
  s.start();
  ASSERT_TRUE(s.feed(connection_request(ssl)));
  ASSERT_TRUE(s.expect_write());
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.tls_done());
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.feed(connect_initial(ssl)));
  ASSERT_TRUE(s.expect_write());
  const auto erect = x224::encode_data(mcs::encode(mcs::erect_domain_request{}));
  for (int i = 0; i < 64; ++i) ASSERT_TRUE(s.feed(erect)) << i;
  ASSERT_TRUE(s.expect(seq::action_kind::read));
  ASSERT_TRUE(s.feed(erect));
  EXPECT_EQ(m.result().ended, server_end::sequence_failure);
}

// ---- The fail matrix ----------------------------------------------------------------------------------------------

enum class fault_kind { io_error, timeout, truncated };

// The happy path as a list of client steps; at step `at` the fault is injected instead. Returns the number of steps
// the path has (when at is out of range the path runs to its end: logged on, then an admin logoff).
struct matrix_run {
  int steps = 0;
  bool injected = false;
  server_end expected = server_end::none;
};

byte_buffer truncated(bytes_view frame) {
  // A whole TPKT frame whose PDU is cut short: the framing is fine, what is inside it is not.
  const auto payload = frame.subspan(protocol::tpkt::header_size);
  return protocol::tpkt::wrap(payload.first(payload.size() / 2));
}

matrix_run run_with_fault(int at, fault_kind kind) {
  matrix_run run;
  server_sequence m(tls_options());
  machine_script s(m);
  s.start();
  const auto& result = m.result();
  // Answers the pending action normally, or with the fault when this is step `at`.
  auto step = [&](auto&& normally, std::optional<bytes_view> frame, server_end on_io, server_end on_timeout,
                  server_end on_truncated) -> bool {
    if (run.steps++ != at) {
      normally();
      return true;
    }
    run.injected = true;
    switch (kind) {
      case fault_kind::io_error:
        EXPECT_TRUE(s.fail(eof()));
        run.expected = on_io;
        break;
      case fault_kind::timeout:
        if (frame && frame->size() > 1) {
          // Half the bytes first: the read goes on with the same deadline, then the deadline passes.
          const auto deadline = s.pending().deadline;
          s.advance(milliseconds(1));
          EXPECT_TRUE(s.feed(frame->first(frame->size() / 2)));
          EXPECT_EQ(s.pending().deadline, deadline);
        }
        EXPECT_TRUE(s.time_out());
        run.expected = on_timeout;
        break;
      case fault_kind::truncated:
        if (!frame) {  // nothing read at this step: nothing to truncate
          run.injected = false;
          normally();
          return true;
        }
        EXPECT_TRUE(s.feed(truncated(*frame)));
        run.expected = on_truncated;
        break;
    }
    return false;
  };
  auto read_step = [&](const byte_buffer& bytes, server_end truncated_end = server_end::sequence_failure) {
    return step([&] { EXPECT_TRUE(s.feed(bytes)); }, bytes_view(bytes), server_end::client_left, server_end::timed_out,
                truncated_end);
  };
  auto write_step = [&] {
    return step([&] { EXPECT_TRUE(s.expect_write()); }, std::nullopt, server_end::client_left, server_end::timed_out,
                server_end::none);
  };
  auto notified = [&] { EXPECT_TRUE(s.notified()); };

  const auto cr = connection_request(ssl);
  const bool completed = [&] {
    if (!step([&] { EXPECT_TRUE(s.feed(cr)); }, bytes_view(cr), server_end::bad_request, server_end::bad_request,
              server_end::bad_request))
      return false;
    if (!write_step()) return false;
    notified();
    if (!step([&] { EXPECT_TRUE(s.tls_done()); }, std::nullopt, server_end::client_left, server_end::timed_out,
              server_end::none))
      return false;
    notified();
    if (!read_step(connect_initial(ssl))) return false;
    if (!write_step()) return false;
    if (!read_step(x224::encode_data(mcs::encode(mcs::erect_domain_request{})))) return false;
    if (!read_step(x224::encode_data(mcs::encode(mcs::attach_user_request{})))) return false;
    if (!write_step()) return false;
    for (std::uint16_t channel : {user_id, mcs::global_channel_id}) {
      if (!read_step(channel_join(channel))) return false;
      if (!write_step()) return false;
    }
    if (!read_step(client_info())) return false;
    m.decide_logon(logon_decision::accept(3));
    notified();
    if (!write_step() || !write_step()) return false;  // license, Demand Active
    if (!read_step(confirm_active())) return false;
    for (const auto& pdu : {activation::encode(activation::synchronize{1002}, client_route()),
                            activation::encode_font_list(client_route())})
      if (!read_step(pdu)) return false;
    for (int i = 0; i < 5; ++i)
      if (!write_step()) return false;
    m.set_session_info({3, "alice", "LAB", std::array<std::uint8_t, 16>{}});
    notified();
    if (!write_step() || !write_step()) return false;  // Save Session Info: logon long, cookie
    notified();
    // Active: the owner logs the session off. A fault in the teardown's writes closes at once; `ended` stays.
    m.request_end({protocol::errinfo::rpc_initiated_logoff, mcs::disconnect_reason::provider_initiated,
                   seq::close_style::graceful});
    EXPECT_TRUE(s.wake());
    notified();
    if (!step([&] { EXPECT_TRUE(s.expect_write()); }, std::nullopt, server_end::teardown, server_end::teardown,
              server_end::none))
      return false;
    if (!step([&] { EXPECT_TRUE(s.expect_write()); }, std::nullopt, server_end::teardown, server_end::teardown,
              server_end::none))
      return false;
    return true;
  }();

  if (!completed) {
    // The fault ends the sequence: the ended notice, then a close (abrupt: nothing is drained after a failure).
    if (result.ended != server_end::teardown) {
      EXPECT_EQ(m.notice(), server_notice::ended);
      EXPECT_TRUE(s.notified());
    }
    EXPECT_EQ(result.ended, run.expected) << "fault at step " << at << ": " << protocol::to_string(result.ended);
    EXPECT_TRUE(s.expect_close(seq::close_style::abrupt)) << "fault at step " << at;
  } else {
    EXPECT_EQ(result.ended, server_end::teardown);
    EXPECT_TRUE(s.expect_close(seq::close_style::graceful));
  }
  EXPECT_TRUE(s.expect_done()) << "fault at step " << at;
  return run;
}

TEST(ServerSequenceFailMatrix, EveryStepWithAnIoErrorATimeoutAndATruncatedFrame) {
  for (auto kind : {fault_kind::io_error, fault_kind::timeout, fault_kind::truncated}) {
    int at = 0;
    for (;; ++at) {
      SCOPED_TRACE(testing::Message() << "kind " << static_cast<int>(kind) << " at step " << at);
      const auto run = run_with_fault(at, kind);
      if (at >= run.steps) break;  // the fault came after the last step: the path ran to its end
      if (testing::Test::HasFailure()) return;
    }
    EXPECT_GT(at, 20);  // the path really has that many steps
  }
}

}  // namespace
}  // namespace rdp::test
