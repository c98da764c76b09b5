// The probe's one-step operations (protocol/probe_steps.hpp) as scripts on made-up time: tls_upgrade asks for TLS with
// its deadline and reports done, a timeout or the TLS error; x224_goodbye writes exactly an X.224 Disconnect Request
// and reports it sent, timed out or failed. Both stay done.
#include "rdp/protocol/probe_steps.hpp"
#include "rdp/protocol/x224.hpp"

#include "script.hpp"

#include <gtest/gtest.h>

namespace rdp::test {
namespace {

using namespace std::chrono_literals;
using protocol::byte_buffer;

const boost::system::error_code reset = boost::system::errc::make_error_code(boost::system::errc::connection_reset);

TEST(TlsUpgrade, AsksForTlsAndReportsItDone) {
  protocol::tls_upgrade m(700ms);
  script<protocol::tls_upgrade> s(m);
  s.start();
  ASSERT_TRUE(s.expect(seq::action_kind::start_tls));
  EXPECT_EQ(s.pending().deadline, s.now() + 700ms);
  s.advance(12ms);
  ASSERT_TRUE(s.tls_done());
  ASSERT_TRUE(s.expect_done());
  EXPECT_TRUE(m.outcome().finished);
  EXPECT_EQ(m.outcome().ended - m.outcome().began, 12ms);
  EXPECT_EQ(m.resume(seq::happened(seq::event_kind::tls_done, s.now())).kind, seq::action_kind::done);
}

TEST(TlsUpgrade, ReportsATimeoutAndAnError) {
  {
    protocol::tls_upgrade m(700ms);
    script<protocol::tls_upgrade> s(m);
    s.start();
    ASSERT_TRUE(s.time_out());
    ASSERT_TRUE(s.expect_done());
    EXPECT_FALSE(m.outcome().finished);
    EXPECT_TRUE(m.outcome().timed_out);
    EXPECT_EQ(m.outcome().ended - m.outcome().began, 700ms);
  }
  protocol::tls_upgrade m(700ms);
  script<protocol::tls_upgrade> s(m);
  s.start();
  ASSERT_TRUE(s.fail(reset));
  ASSERT_TRUE(s.expect_done());
  EXPECT_FALSE(m.outcome().finished);
  EXPECT_FALSE(m.outcome().timed_out);
  EXPECT_EQ(m.outcome().io_error, reset);
}

TEST(X224Goodbye, WritesExactlyADisconnectRequest) {
  protocol::x224_goodbye m(500ms);
  script<protocol::x224_goodbye> s(m);
  s.start();
  EXPECT_EQ(s.pending().deadline, s.now() + 500ms);
  const auto expected = protocol::x224::encode(protocol::x224::disconnect_request{});
  ASSERT_TRUE(s.expect_write([&](protocol::bytes_view b) { return byte_buffer(b.begin(), b.end()) == expected; }));
  ASSERT_TRUE(s.expect_done());
  EXPECT_TRUE(m.outcome().finished);
}

TEST(X224Goodbye, ReportsAFailedSend) {
  for (bool timeout : {false, true}) {
    protocol::x224_goodbye m(500ms);
    script<protocol::x224_goodbye> s(m);
    s.start();
    ASSERT_TRUE(timeout ? s.time_out() : s.fail(reset));
    ASSERT_TRUE(s.expect_done());
    EXPECT_FALSE(m.outcome().finished);
    EXPECT_EQ(m.outcome().timed_out, timeout);
  }
}

}  // namespace
}  // namespace rdp::test
