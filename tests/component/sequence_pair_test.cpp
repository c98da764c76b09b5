// The two connection state machines against each other, in memory, on made-up time: protocol::client_sequence (the
// product client's and the probe's side) and protocol::server_sequence (rdpsim's side) reach the active state, and then
// every way docs/session-drops.md says a session ends arrives at the client as that table says — the errorInfo, the
// Disconnect Provider Ultimatum, a FIN or a reset — and the server's result says why it ended.
//
// The link between them is two byte queues. A write lands in the peer's queue; a read takes all that is queued; a
// graceful or abrupt close is a FIN after the queued bytes, a reset discards them and is a reset. TLS is a no-op here
// (both machines only ask for it; what runs over it is the same bytes). Time moves only when neither machine can go on:
// to the earliest deadline, which then fires. Every run is bounded in steps.
#include "rdp/protocol/client_sequence.hpp"
#include "rdp/protocol/errinfo.hpp"
#include "rdp/protocol/server_sequence.hpp"

#include <gtest/gtest.h>

#include <boost/system/errc.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace rdp::protocol {
namespace {

namespace seq = sequence;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::uint32_t ssl_bit = to_bits(security_protocol::ssl);
constexpr std::uint32_t session_id = 7;
const std::array<std::uint8_t, 16> arc_bits{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

// One direction of the link.
struct pipe {
  byte_buffer queued;
  enum class end { open, fin, reset } state = end::open;
};

// One side: its machine's pending action, and the bytes it may read.
template <class Machine>
struct side {
  Machine machine;
  seq::action pending{};
  pipe* in = nullptr;   // what the peer wrote
  pipe* out = nullptr;  // what this side writes
  bool started = false;
  std::optional<seq::close_style> closed_with;
  byte_buffer reading;  // what the last received event pointed into (it must outlive the resume)

  explicit side(Machine m) : machine(std::move(m)) {}
};

struct pair_run {
  side<client_sequence> client;
  side<server_sequence> server;
  pipe to_server, to_client;
  seq::instant now = seq::instant{} + std::chrono::hours(100);
  int steps = 0;
  bool client_sequence_done = false;
  // The server's owner: what the simulator's session table would decide, replaceable per test.
  std::function<void(server_sequence&)> on_server_notice;
  std::vector<server_notice> server_notices;

  pair_run(client_sequence_options c, server_sequence_options s) : client(client_sequence(std::move(c))), server(server_sequence(std::move(s))) {
    client.in = &to_client;
    client.out = &to_server;
    server.in = &to_server;
    server.out = &to_client;
    on_server_notice = [](server_sequence& m) {
      if (m.notice() == server_notice::logon_decision_needed) m.decide_logon(logon_decision::accept(session_id));
      if (m.notice() == server_notice::activated) {
        logon_info info;
        info.session_id = session_id;
        info.user = m.result().client_info ? m.result().client_info->user : "";
        info.cookie_bits = arc_bits;
        m.set_session_info(info);
      }
    };
  }

  // Moves one side by one action if it can without time passing; true if it moved.
  template <class Machine>
  bool step(side<Machine>& s) {
    auto& a = s.pending;
    if (!s.started) {
      s.started = true;
      a = s.machine.resume(seq::happened(seq::event_kind::start, now));
      return true;
    }
    switch (a.kind) {
      case seq::action_kind::done: return false;
      case seq::action_kind::write:
        if (s.out->state == pipe::end::open) s.out->queued.insert(s.out->queued.end(), a.bytes.begin(), a.bytes.end());
        a = s.machine.resume(seq::happened(seq::event_kind::written, now));
        return true;
      case seq::action_kind::start_tls: a = s.machine.resume(seq::happened(seq::event_kind::tls_done, now)); return true;
      case seq::action_kind::notify:
        notice(s.machine);
        a = s.machine.resume(seq::happened(seq::event_kind::notified, now));
        return true;
      case seq::action_kind::close:
        s.closed_with = a.close;
        if (a.close == seq::close_style::reset) {
          s.out->queued.clear();
          s.out->state = pipe::end::reset;
        } else if (s.out->state == pipe::end::open) {
          s.out->state = pipe::end::fin;
        }
        // Whatever the peer still sends is not read any more.
        s.in->queued.clear();
        a = s.machine.resume(seq::happened(seq::event_kind::closed, now));
        return true;
      case seq::action_kind::read:
        if (!s.in->queued.empty()) {
          s.reading = std::move(s.in->queued);
          s.in->queued.clear();
          a = s.machine.resume(seq::received(now, s.reading));
          return true;
        }
        if (s.in->state == pipe::end::fin) {
          a = s.machine.resume(seq::failed(now, boost::system::errc::make_error_code(boost::system::errc::broken_pipe)));
          return true;
        }
        if (s.in->state == pipe::end::reset) {
          a = s.machine.resume(
              seq::failed(now, boost::system::errc::make_error_code(boost::system::errc::connection_reset)));
          return true;
        }
        return false;
    }
    return false;
  }

  void notice(client_sequence& m) {
    if (m.notice() == client_sequence::notice_kind::sequence_done) client_sequence_done = true;
  }
  void notice(server_sequence& m) {
    server_notices.push_back(m.notice());
    on_server_notice(m);
  }

  // Runs until `until` holds or both machines are done; time jumps to the earliest pending deadline when neither can
  // move. False if the step bound was hit.
  bool run(const std::function<bool()>& until = {}, int max_steps = 20000) {
    while (steps++ < max_steps) {
      if (until && until()) return true;
      if (step(client) || step(server)) continue;
      const bool client_waits = client.pending.kind == seq::action_kind::read;
      const bool server_waits = server.pending.kind == seq::action_kind::read;
      if (!client_waits && !server_waits) return true;  // both done
      // Nobody can move: the earliest deadline fires.
      const bool client_first = client_waits && (!server_waits || client.pending.deadline <= server.pending.deadline);
      if (client_first) {
        now = std::max(now, client.pending.deadline);
        client.pending = client.machine.resume(seq::happened(seq::event_kind::timed_out, now));
      } else {
        now = std::max(now, server.pending.deadline);
        server.pending = server.machine.resume(seq::happened(seq::event_kind::timed_out, now));
      }
    }
    return false;
  }

  bool both_done() const {
    return client.pending.kind == seq::action_kind::done && server.pending.kind == seq::action_kind::done;
  }
  // Runs to the point where the client holds an Active session (Save Session Info with its cookie received) and the
  // server, its session logged on, waits for the client's input.
  bool to_active() {
    return run([this] {
      return client.machine.result().active() && client.machine.result().cookie.has_value() &&
             server.machine.result().reached == server_phase::logged_on &&
             server.pending.kind == seq::action_kind::read;
    });
  }
  // The owner ends the session: the server's active read is wakeable, so the request is delivered at once.
  void end_session(const teardown& how) {
    server.machine.request_end(how);
    ASSERT_EQ(server.pending.kind, seq::action_kind::read);
    ASSERT_TRUE(server.pending.wakeable);
    server.pending = server.machine.resume(seq::happened(seq::event_kind::woken, now));
  }
};

client_sequence_options client_options() {
  client_sequence_options o;
  o.user = "alice";
  o.password = "secret";
  o.x224_cookie = "alice";
  o.deadlines.hold = seconds(3600);
  return o;
}

server_sequence_options server_options() {
  server_sequence_options o;
  o.policy = server_security_policy{ssl_bit, true};
  return o;
}

bool has_teardown(const client_result& r, teardown_kind kind) {
  return std::any_of(r.teardown.begin(), r.teardown.end(), [&](const teardown_record& t) { return t.kind == kind; });
}

TEST(SequencePair, ClientAndServerReachTheActiveSessionAndTheCookie) {
  pair_run p(client_options(), server_options());
  ASSERT_TRUE(p.to_active());
  const auto& c = p.client.machine.result();
  EXPECT_EQ(c.reached, client_phase::active);
  EXPECT_TRUE(p.client_sequence_done);
  ASSERT_TRUE(c.session_id);
  EXPECT_EQ(*c.session_id, session_id);  // Demand Active carries the owner's decision
  ASSERT_TRUE(c.logon_session_id);
  EXPECT_EQ(*c.logon_session_id, session_id);
  ASSERT_TRUE(c.cookie);
  EXPECT_EQ(c.cookie->logon_id, session_id);
  EXPECT_EQ(c.cookie->random_bits, arc_bits);
  EXPECT_FALSE(c.auto_reconnect_status);
  const auto& s = p.server.machine.result();
  EXPECT_EQ(s.reached, server_phase::logged_on);
  ASSERT_TRUE(s.client_info);
  EXPECT_EQ(s.client_info->user, "alice");
  EXPECT_EQ(s.client_info->password, "secret");
  EXPECT_TRUE(s.client.error_info);       // the client announced Set Error Info support
  EXPECT_TRUE(s.client.auto_reconnect);   // and auto-reconnect
  const std::vector<server_notice> expected{server_notice::negotiated, server_notice::tls_completed,
                                            server_notice::logon_decision_needed, server_notice::activated,
                                            server_notice::logged_on};
  EXPECT_EQ(p.server_notices, expected);
}

// Every row of docs/session-drops.md in which a connected client is told something, with the teardown the simulator's
// session table gives it (sim/src/session_table.cpp teardown_for), and what the client must see.
struct drop_case {
  const char* name;
  teardown how;
  std::optional<std::uint32_t> error_info;  // what the client records
  bool dpu;
  bool reset;
};

class OwnerTeardown : public ::testing::TestWithParam<drop_case> {};

TEST_P(OwnerTeardown, ArrivesAtTheClientAsTheTableSays) {
  const auto& d = GetParam();
  pair_run p(client_options(), server_options());
  ASSERT_TRUE(p.to_active());
  p.end_session(d.how);
  ASSERT_TRUE(p.run());
  ASSERT_TRUE(p.both_done());
  const auto& c = p.client.machine.result();
  EXPECT_EQ(c.error_info, d.error_info);
  EXPECT_EQ(c.disconnect_reason.has_value(), d.dpu);
  if (d.dpu) {
    EXPECT_EQ(*c.disconnect_reason, mcs::disconnect_reason::provider_initiated);
  }
  EXPECT_EQ(has_teardown(c, teardown_kind::reset), d.reset);
  EXPECT_TRUE(c.server_closed) << "the server ended it, not the client's deadline";
  const auto& s = p.server.machine.result();
  EXPECT_EQ(s.ended, server_end::teardown);
  ASSERT_TRUE(s.teardown_sent);
  EXPECT_EQ(*s.teardown_sent, d.how);
  EXPECT_EQ(p.server.closed_with, d.how.close);
}

teardown graceful(std::uint32_t code) {
  return teardown{code, mcs::disconnect_reason::provider_initiated, seq::close_style::graceful};
}

INSTANTIATE_TEST_SUITE_P(
    SessionDrops, OwnerTeardown,
    ::testing::Values(
        drop_case{"logoff", graceful(errinfo::rpc_initiated_logoff), errinfo::rpc_initiated_logoff, true, false},
        drop_case{"disconnect", graceful(errinfo::rpc_initiated_disconnect), errinfo::rpc_initiated_disconnect, true,
                  false},
        drop_case{"replaced", graceful(errinfo::disconnected_by_other_connection),
                  errinfo::disconnected_by_other_connection, true, false},
        drop_case{"reset", teardown{std::nullopt, std::nullopt, seq::close_style::reset}, std::nullopt, false, true},
        drop_case{"network_drop", teardown{std::nullopt, std::nullopt, seq::close_style::reset}, std::nullopt, false,
                  true},
        drop_case{"service_stop", teardown{std::nullopt, std::nullopt, seq::close_style::abrupt}, std::nullopt, false,
                  false}),
    [](const ::testing::TestParamInfo<drop_case>& param) { return std::string(param.param.name); });

TEST(SequencePair, TheIdleLimitEndsAnIdleSessionWithIdleTimeout) {
  auto server = server_options();
  server.idle_limit = seconds(60);
  pair_run p(client_options(), server);
  ASSERT_TRUE(p.to_active());
  const auto active_at = p.now;
  ASSERT_TRUE(p.run());
  ASSERT_TRUE(p.both_done());
  const auto& c = p.client.machine.result();
  EXPECT_EQ(c.error_info, errinfo::idle_timeout);
  EXPECT_TRUE(c.disconnect_reason);
  EXPECT_EQ(p.server.machine.result().ended, server_end::idle_limit);
  // Time moved to the limit, not to the client's hour-long hold.
  EXPECT_GE(p.now - active_at, seconds(60) - seconds(1));
  EXPECT_LT(p.now - active_at, seconds(120));
}

TEST(SequencePair, ABusyClientIsNotIdleButTheActiveLimitStillEndsIt) {
  auto client = client_options();
  client.busy = seconds(10);
  auto server = server_options();
  server.idle_limit = seconds(60);
  server.active_limit = seconds(300);
  pair_run p(client, server);
  ASSERT_TRUE(p.to_active());
  const auto active_at = p.now;
  ASSERT_TRUE(p.run());
  ASSERT_TRUE(p.both_done());
  const auto& c = p.client.machine.result();
  EXPECT_EQ(c.error_info, errinfo::logon_timeout) << "input every 10 s keeps the idle limit away";
  EXPECT_EQ(p.server.machine.result().ended, server_end::active_limit);
  EXPECT_GE(c.inputs_sent, 25u);  // about 300 s of input every 10 s
  EXPECT_GE(p.now - active_at, seconds(299));
}

struct denial_case {
  const char* name;
  std::uint32_t error_info;
};

class LogonDenied : public ::testing::TestWithParam<denial_case> {};

// Wrong credentials, max_sessions reached, a stale cookie refused: after the Client Info, before licensing.
TEST_P(LogonDenied, BeforeLicensingWithItsErrorInfo) {
  pair_run p(client_options(), server_options());
  const auto code = GetParam().error_info;
  p.on_server_notice = [code](server_sequence& m) {
    if (m.notice() == server_notice::logon_decision_needed) m.decide_logon(logon_decision::deny(code));
  };
  ASSERT_TRUE(p.run());
  ASSERT_TRUE(p.both_done());
  const auto& c = p.client.machine.result();
  EXPECT_EQ(c.reached, client_phase::joined) << "the Client Info was sent, licensing never came";
  EXPECT_EQ(c.error_info, code);
  EXPECT_TRUE(c.disconnect_reason);
  EXPECT_FALSE(c.failure.empty());
  EXPECT_EQ(p.server.machine.result().ended, server_end::denied);
  EXPECT_EQ(p.server.closed_with, seq::close_style::graceful);
}

INSTANTIATE_TEST_SUITE_P(SessionDrops, LogonDenied,
                         ::testing::Values(denial_case{"wrong_credentials", errinfo::server_insufficient_privileges},
                                           denial_case{"max_sessions", errinfo::server_denied_connection},
                                           denial_case{"stale_cookie_refused", errinfo::server_denied_connection}),
                         [](const ::testing::TestParamInfo<denial_case>& param) { return std::string(param.param.name); });

TEST(SequencePair, AStaleCookieWithFreshLogonGetsAutoReconnectStatusAndANewSession) {
  auto client = client_options();
  activation::arc_client_cookie cookie;
  cookie.logon_id = 3;  // a session that no longer exists
  client.cookie = cookie;
  pair_run p(client, server_options());
  std::optional<std::uint32_t> presented;
  p.on_server_notice = [&presented](server_sequence& m) {
    if (m.notice() == server_notice::logon_decision_needed) {
      const auto& info = m.result().client_info;
      if (info && info->auto_reconnect_cookie) presented = info->auto_reconnect_cookie->logon_id;
      m.decide_logon(logon_decision::accept(session_id, /*stale_cookie=*/true));
    }
    if (m.notice() == server_notice::activated) {
      logon_info logon;
      logon.session_id = session_id;
      logon.cookie_bits = arc_bits;
      m.set_session_info(logon);
    }
  };
  ASSERT_TRUE(p.run([&p] { return p.client.machine.result().auto_reconnect_status; }));
  EXPECT_EQ(presented, 3u) << "the cookie travelled in the Client Info";
  const auto& c = p.client.machine.result();
  EXPECT_TRUE(c.active());
  EXPECT_EQ(c.logon_session_id, session_id);
  EXPECT_TRUE(has_teardown(c, teardown_kind::auto_reconnect_status));
}

TEST(SequencePair, AClientThatLeavesEndsTheServersSideAsClientLeft) {
  pair_run p(client_options(), server_options());
  ASSERT_TRUE(p.to_active());
  p.client.machine.request_close();
  ASSERT_EQ(p.client.pending.kind, seq::action_kind::read);
  p.client.pending = p.client.machine.resume(seq::happened(seq::event_kind::woken, p.now));
  ASSERT_TRUE(p.run());
  ASSERT_TRUE(p.both_done());
  EXPECT_TRUE(p.client.machine.result().closed_by_owner);
  EXPECT_EQ(p.server.machine.result().ended, server_end::client_left);
  EXPECT_FALSE(p.server.machine.result().teardown_sent.has_value() && p.server.machine.result().teardown_sent->error_info)
      << "nothing is said to a client that left";
}

TEST(SequencePair, HeartbeatsReachAClientThatAnnouncedThem) {
  auto client = client_options();
  client.announce_heartbeat = true;
  client.deadlines.hold = seconds(95);
  auto server = server_options();
  server.heartbeat = seconds(30);
  pair_run p(client, server);
  ASSERT_TRUE(p.to_active());
  ASSERT_TRUE(p.run([&p] { return p.client.pending.kind == seq::action_kind::done; }));
  // Active for 95 s with a heartbeat every 30 s: at activation, then at 30, 60 and 90 s.
  EXPECT_GE(p.client.machine.result().heartbeats.size(), 3u);
  EXPECT_LE(p.client.machine.result().heartbeats.size(), 4u);
}

}  // namespace
}  // namespace rdp::protocol
