// rdpsim against hostile clients (issue 12), in process, with lean clients (the product client, client/include/rdp/client/session.hpp) and raw
// sockets: a session whose auto-reconnect cookie was never issued cannot be taken over with a guessed cookie; the
// pre-logon deadline is one deadline for the whole connection, whatever a client trickles; the connection and
// session-table limits hold and are counted; an accept loop that fails says so and accepts again; and the user
// names a client sends are valid UTF-8 in `query session --json` and escaped in its table.
#include "control_in_sim.hpp"
#include "rdp/client/session.hpp"
#include "run_command.hpp"
#include "sim_thread.hpp"

#include "rdp/net/tls.hpp"
#include "rdp/protocol/gcc.hpp"
#include "rdp/protocol/mcs.hpp"
#include "rdp/protocol/text.hpp"
#include "rdp/protocol/x224.hpp"
#include "rdp/sim/control.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

namespace {

using namespace rdp;
namespace asio = net::asio;
using namespace std::chrono_literals;
using json = nlohmann::json;
using net::tcp;

constexpr std::uint32_t errinfo_rpc_initiated_logoff = 0x00000002;
constexpr std::uint32_t errinfo_disconnected_by_other_connection = 0x00000005;
constexpr std::uint32_t errinfo_server_denied_connection = 0x00000007;

sim::server_config sim_config() {
  sim::server_config config;
  config.identity = net::make_self_signed(net::key_kind::ecdsa, "rdpsim-hostile-test");
  return config;
}

client::session_options options_for(std::uint16_t port, std::string user) {
  client::session_options o;
  o.port = port;
  o.user = std::move(user);
  o.deadlines.step = 5000ms;
  o.deadlines.hold = 20000ms;
  return o;
}

// One mini session on its own thread. `when` is a predicate on what the client recorded while holding; the test waits
// for it (bounded) instead of for time to pass.
class client_thread {
 public:
  using predicate = std::function<bool(const client::session_result&)>;
  explicit client_thread(client::session_options options, predicate when = {})
      : context_(client::make_client_context()) {
    sequence_done_ = sequence_.get_future();
    held_done_ = held_.get_future();
    if (when) {
      options.on_hold_frame = [this, when](const client::session_result& r) {
        if (!held_set_ && when(r)) {
          held_set_ = true;
          held_.set_value(r);
        }
      };
    }
    auto on_done = [this](const client::session_result& r) { sequence_.set_value(r); };
    final_ = asio::co_spawn(io_, client::run_session(context_, std::move(options), on_done), asio::use_future);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~client_thread() {
    io_.stop();
    thread_.join();
  }
  std::optional<client::session_result> sequence(std::chrono::milliseconds limit = 10s) {
    if (sequence_done_.wait_for(limit) != std::future_status::ready) return std::nullopt;
    return sequence_done_.get();
  }
  // What the client had recorded when the predicate first held, or nullopt if it did not within `limit`.
  std::optional<client::session_result> held(std::chrono::milliseconds limit = 10s) {
    if (held_done_.wait_for(limit) != std::future_status::ready) return std::nullopt;
    return held_done_.get();
  }
  std::optional<client::session_result> final(std::chrono::milliseconds limit = 20s) {
    if (final_.wait_for(limit) != std::future_status::ready) return std::nullopt;
    return final_.get();
  }

 private:
  net::ssl::context context_;
  asio::io_context io_{1};
  std::promise<client::session_result> sequence_, held_;
  std::future<client::session_result> sequence_done_, held_done_;
  bool held_set_ = false;
  std::future<client::session_result> final_;
  std::thread thread_;
};

// A session to its active state and then closed by the client: the server keeps it, Disc.
client::session_result run_and_leave(std::uint16_t port, std::string user) {
  auto options = options_for(port, std::move(user));
  options.hold = false;
  auto context = client::make_client_context();
  return client::run_session_blocking(context, std::move(options));
}

bool got_logon(const client::session_result& r) { return r.logon_session_id.has_value(); }

// ---- Item 2: a cookie that was never issued resumes nothing ------------------------------------------------------

// The attack of issue 12 item 2: the owner's client never announced auto-reconnect, so no cookie was ever sent; the
// attacker presents logon_id = the owner's session with SecurityVerifier = HMAC-MD5(16 zero bytes, 32 zero bytes),
// what the verifier is when ArcRandomBits were left at zero.
void expect_no_takeover(sim::stale_cookie_answer answer) {
  auto config = sim_config();
  config.stale_cookie = answer;
  test::sim_thread sim(std::move(config));

  auto owner_options = options_for(sim.port(), "alice");
  owner_options.announce_auto_reconnect = false;
  client_thread owner(owner_options, got_logon);
  const auto owner_logon = owner.held();
  ASSERT_TRUE(owner_logon) << "the owner never got its Save Session Info";
  EXPECT_FALSE(owner_logon->cookie) << "a client that did not announce auto-reconnect got a cookie";
  const auto owner_id = *owner_logon->logon_session_id;

  auto attacker_options = options_for(sim.port(), "mallory");
  attacker_options.auto_reconnect_cookie = client::make_arc_client_cookie({owner_id, {}});  // zero ArcRandomBits
  client_thread attacker(attacker_options, [](const client::session_result& r) {
    return r.auto_reconnect_status && r.logon_session_id;
  });
  const auto attacker_sequence = attacker.sequence();
  ASSERT_TRUE(attacker_sequence);
  if (answer == sim::stale_cookie_answer::fresh_logon) {
    ASSERT_TRUE(attacker_sequence->active()) << attacker_sequence->failure;
    const auto attacker_logon = attacker.held();
    ASSERT_TRUE(attacker_logon) << "no Auto-Reconnect Status PDU and logon: the cookie was not refused";
    EXPECT_NE(*attacker_logon->logon_session_id, owner_id) << "the attacker was logged into the owner's session";
    EXPECT_NE(attacker_sequence->session_id, owner_id);
    sim.call([&] { return sim.server().admin().logoff(*attacker_logon->logon_session_id); });
  } else {
    EXPECT_FALSE(attacker_sequence->active()) << "refuse: the connection is denied";
    EXPECT_EQ(attacker_sequence->error_info, errinfo_server_denied_connection);
  }
  ASSERT_TRUE(attacker.final());

  // The owner still holds its session: connected, and ended only by the administrator's logoff now.
  const auto row = sim.find_session(owner_id);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->user, "alice");
  EXPECT_FALSE(row->name.empty()) << "the owner's session lost its connection";
  const auto c = sim.counters();
  EXPECT_EQ(c.reconnected, 0u);
  EXPECT_EQ(c.stale_cookies, 1u);
  ASSERT_TRUE(sim.call([&] { return sim.server().admin().logoff(owner_id); }).ok);
  const auto owner_end = owner.final();
  ASSERT_TRUE(owner_end);
  EXPECT_EQ(owner_end->error_info, errinfo_rpc_initiated_logoff)
      << "0x5 would be ERRINFO_DISCONNECTED_BY_OTHERCONNECTION: evicted by the attacker";
  EXPECT_NE(owner_end->error_info, errinfo_disconnected_by_other_connection);
}

TEST(CookieTakeover, NeverIssuedCookieGetsAFreshLogonAndTheOwnerStays) {
  expect_no_takeover(sim::stale_cookie_answer::fresh_logon);
}

TEST(CookieTakeover, NeverIssuedCookieIsRefusedAndTheOwnerStays) { expect_no_takeover(sim::stale_cookie_answer::refuse); }

// The other side of the fix: a cookie the server did issue still resumes its session after a network drop.
TEST(CookieTakeover, AnIssuedCookieStillResumesItsSession) {
  test::sim_thread sim(sim_config());
  client_thread first(options_for(sim.port(), "alice"), [](const client::session_result& r) {
    return r.cookie.has_value();
  });
  const auto first_logon = first.held();
  ASSERT_TRUE(first_logon && first_logon->cookie) << "no cookie issued";
  const auto id = first_logon->cookie->logon_id;
  ASSERT_TRUE(sim.call([&] { return sim.server().admin().drop_connection(id); }).ok);
  ASSERT_TRUE(first.final());

  auto again = options_for(sim.port(), "alice");
  again.auto_reconnect_cookie = client::make_arc_client_cookie(*first_logon->cookie);
  client_thread second(again, got_logon);
  const auto second_logon = second.held();
  ASSERT_TRUE(second_logon);
  EXPECT_EQ(*second_logon->logon_session_id, id);
  EXPECT_FALSE(second_logon->auto_reconnect_status);
  EXPECT_EQ(sim.counters().reconnected, 1u);
  sim.call([&] { return sim.server().admin().logoff(id); });
}

// ---- Item 5: one pre-logon deadline, and the limits -----------------------------------------------------------

protocol::byte_buffer connection_request(std::uint32_t protocols);

// A loopback TCP client for the tests that speak raw TCP. Every read waits at most 10 s (poll, then recv).
class raw_socket {
 public:
  explicit raw_socket(std::uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  bool send(const protocol::byte_buffer& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const auto n = ::send(fd(), bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }
  // One TPKT frame, or nullopt (closed, reset, nothing within 10 s).
  std::optional<protocol::byte_buffer> frame() {
    protocol::byte_buffer header(4);
    if (!read_exactly(header.data(), 4)) return std::nullopt;
    const std::size_t length = (std::size_t{header[2]} << 8) | header[3];
    if (length < 4) return std::nullopt;
    protocol::byte_buffer frame = header;
    frame.resize(length);
    if (!read_exactly(frame.data() + 4, length - 4)) return std::nullopt;
    return frame;
  }
  // True when the server closed its side (end of stream or reset) within 10 s, rather than data coming.
  bool closed_by_server() {
    std::uint8_t c = 0;
    const auto n = read_some(&c, 1);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }
  // Sends one byte every `pause` until a send fails (the server closed and reset the connection) — at most
  // `max_sends`. Returns the number of bytes that went out, or nullopt if the server never closed. The pause is a
  // poll() that ends early when the socket reports an error: the test waits for the close, not for a time.
  std::optional<int> trickle_until_closed(std::chrono::milliseconds pause, int max_sends) {
    for (int i = 0; i < max_sends; ++i) {
      const char byte = 0;
      if (::send(fd(), &byte, 1, MSG_NOSIGNAL) != 1) return i;
      pollfd p{fd(), 0, 0};
      ::poll(&p, 1, static_cast<int>(pause.count()));
    }
    return std::nullopt;
  }

 private:
  int fd() { return socket_.native_handle(); }
  // recv after waiting (10 s at most) for the socket to be readable; -1 with errno = ETIMEDOUT when it was not.
  ssize_t read_some(std::uint8_t* data, std::size_t size) {
    pollfd p{fd(), POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1) {
      errno = ETIMEDOUT;
      return -1;
    }
    return ::recv(fd(), data, size, 0);
  }
  bool read_exactly(std::uint8_t* data, std::size_t size) {
    std::size_t done = 0;
    while (done < size) {
      const auto n = read_some(data + done, size - done);
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }

  asio::io_context io_;
  tcp::socket socket_;
};

// Waits (bounded: `attempts` tries, 10 ms apart) until a new connection is served again: its X.224 Connection Request
// is answered. The server must first see a close, or restart its accept loop.
bool served_again(std::uint16_t port, int attempts = 300) {
  for (int i = 0; i < attempts; ++i) {
    raw_socket next(port);
    if (next.send(connection_request(1)) && next.frame()) return true;
    pollfd none{-1, 0, 0};
    ::poll(&none, 1, 10);
  }
  return false;
}

protocol::byte_buffer connection_request(std::uint32_t protocols) {
  protocol::x224::connection_request request;
  request.negotiation = protocol::neg_request{0, protocols};
  return *protocol::x224::encode(request);
}

// The lean client's Connect-Initial for Standard RDP Security (serverSelectedProtocol 0).
protocol::byte_buffer connect_initial() { return *protocol::mcs::encode(protocol::make_client_connect_initial(0, false, u"rdp-hostile")); }

// hold() bounded only each read: a probe's connection (here Standard RDP Security after the MCS exchange, which the
// simulator holds) trickling a byte every 50 ms was held forever. Now the pre-logon deadline closes it.
TEST(PrelogonDeadline, ATricklingHeldConnectionIsClosed) {
  auto config = sim_config();
  config.policy.supports_standard_rdp = true;
  config.prelogon_timeout = 500ms;
  config.hold_timeout = 60000ms;  // far past the test's bound: only the pre-logon deadline can end the hold
  test::sim_thread sim(std::move(config));
  raw_socket c(sim.port());
  ASSERT_TRUE(c.send(connection_request(0)));
  ASSERT_TRUE(c.frame()) << "no Connection Confirm";
  ASSERT_TRUE(c.send(connect_initial()));
  ASSERT_TRUE(c.frame()) << "no MCS Connect-Response";
  const auto sent = c.trickle_until_closed(50ms, 400);  // 20 s of trickling at most
  ASSERT_TRUE(sent) << "the server held a trickling connection for all of the test's 400 bytes";
  EXPECT_EQ(sim.counters().prelogon_timeouts, 1u);
}

// read_until_client_info allowed 64 frames × the handshake timeout each: Erect Domain Requests trickled a byte at a
// time kept a connection in the sequence for minutes. Now the pre-logon deadline closes it.
TEST(PrelogonDeadline, ATricklingConnectionSequenceIsClosed) {
  auto config = sim_config();
  config.prelogon_timeout = 500ms;
  test::sim_thread sim(std::move(config));
  auto options = options_for(sim.port(), "alice");
  options.trickle_after_mcs = 50ms;
  client_thread client(options);
  const auto result = client.final(30s);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->reached, protocol::client_phase::mcs_connected);
  EXPECT_TRUE(result->server_closed) << result->failure;
  EXPECT_EQ(sim.counters().prelogon_timeouts, 1u);
}

// The deadline ends with logon: an active session is not closed by it.
TEST(PrelogonDeadline, AnActiveSessionOutlivesIt) {
  auto config = sim_config();
  config.prelogon_timeout = 300ms;
  test::sim_thread sim(std::move(config));
  client_thread client(options_for(sim.port(), "alice"), got_logon);
  const auto logon = client.held();
  ASSERT_TRUE(logon);
  const auto id = *logon->logon_session_id;
  // Past the deadline by the server's own clock: the session's idle time counts from its activation (the client
  // sends nothing), so once it is over twice the deadline the watchdog has had its moment. Polled, bounded.
  std::optional<sim::session_info> row;
  for (int i = 0; i < 500; ++i) {
    row = sim.find_session(id);
    if (!row || row->idle >= 600ms) break;
    pollfd none{-1, 0, 0};
    ::poll(&none, 1, 10);
  }
  ASSERT_TRUE(row);
  EXPECT_FALSE(row->name.empty()) << "an active session was closed by the pre-logon deadline";
  EXPECT_EQ(sim.counters().prelogon_timeouts, 0u);
  ASSERT_TRUE(sim.call([&] { return sim.server().admin().logoff(id); }).ok);
  const auto end = client.final();
  ASSERT_TRUE(end);
  EXPECT_EQ(end->error_info, errinfo_rpc_initiated_logoff);
}

TEST(Limits, ConnectionsBeyondMaxConnectionsAreClosedAtAccept) {
  auto config = sim_config();
  config.max_connections = 3;
  test::sim_thread sim(std::move(config));
  std::vector<std::unique_ptr<raw_socket>> held;
  for (int i = 0; i < 3; ++i) {  // a Connection Confirm proves the server is serving (and counting) each one
    held.push_back(std::make_unique<raw_socket>(sim.port()));
    ASSERT_TRUE(held.back()->send(connection_request(1)));
    ASSERT_TRUE(held.back()->frame());
  }
  raw_socket over(sim.port());
  EXPECT_TRUE(over.closed_by_server());
  EXPECT_EQ(sim.counters().connections_over_limit, 1u);
  held.pop_back();  // one slot free again once the server sees the close
  EXPECT_TRUE(served_again(sim.port())) << "a freed slot was never reused";
}

// With `users` empty every new user name was a new session, without bound.
TEST(Limits, TheSessionTableIsBoundedEvenWithoutAPolicyLimit) {
  auto config = sim_config();
  config.max_session_table = 2;
  ASSERT_FALSE(config.sessions.max_sessions);
  test::sim_thread sim(std::move(config));
  ASSERT_TRUE(run_and_leave(sim.port(), "u1").active());
  ASSERT_TRUE(run_and_leave(sim.port(), "u2").active());
  const auto third = run_and_leave(sim.port(), "u3");
  EXPECT_FALSE(third.active());
  EXPECT_EQ(third.error_info, errinfo_server_denied_connection) << third.failure;
  EXPECT_EQ(sim.counters().session_table_full, 1u);
  // A user with a session still gets back into it (single_session): the limit is on new sessions.
  EXPECT_TRUE(run_and_leave(sim.port(), "u1").active());
  EXPECT_EQ(sim.call([&] { return sim.server().admin().query_sessions(); }).size(), 3u) << "2 sessions + listener";
}

// ---- Item 4: an accept loop that fails says so and accepts again ------------------------------------------------

TEST(AcceptLoop, AnExceptionInTheRdpAcceptLoopIsLoggedAndAcceptingResumes) {
  auto config = sim_config();
  auto thrown = std::make_shared<std::atomic<bool>>(false);
  config.after_accept = [thrown] {
    if (!thrown->exchange(true)) throw std::runtime_error("injected accept failure");
  };
  testing::internal::CaptureStderr();
  test::sim_thread sim(std::move(config));
  {
    raw_socket first(sim.port());
    EXPECT_TRUE(first.closed_by_server()) << "the connection whose accept failed is closed";
  }
  const bool served = served_again(sim.port());
  const auto log = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(served) << "the RDP listener never accepted again";
  EXPECT_EQ(sim.counters().accept_loop_restarts, 1u);
  EXPECT_NE(log.find("rdpsim: accept loop ended by an internal error: injected accept failure"), std::string::npos)
      << log;
  EXPECT_NE(log.find("stopped accepting connections unexpectedly"), std::string::npos) << log;
}

// ---- Item 3: user names from the wire in `query session` -------------------------------------------------------

const std::string test_token(64, 'h');

// rdpsim's control interface in front of `sim`, with the test's token.
class control_in_sim : public test::control_in_sim {
 public:
  explicit control_in_sim(test::sim_thread& sim) : test::control_in_sim(sim, test_token, RDPSIM_BIN) {}
};

TEST(WireText, ClientInfoUserNamesAreValidUtf8InJsonAndEscapedInTheTable) {
  test::sim_thread sim(sim_config());
  control_in_sim control(sim);
  const std::string hostile = "a\x1b]0;pwn\x07";  // an OSC sequence that retitles a terminal
  ASSERT_TRUE(run_and_leave(sim.port(), hostile).active());
  auto lone_surrogate = options_for(sim.port(), "");
  lone_surrogate.hold = false;
  lone_surrogate.user_utf16le = std::vector<std::uint8_t>{'b', 0, 0x00, 0xD8, 'c', 0};  // "b", U+D800 alone, "c"
  {
    auto context = client::make_client_context();
    ASSERT_TRUE(client::run_session_blocking(context, lone_surrogate).active());
  }

  const auto as_json = control.ctl("--json query session");
  ASSERT_EQ(as_json.status, 0) << as_json.output;
  EXPECT_TRUE(protocol::is_valid_utf8(as_json.output));
  const auto j = json::parse(as_json.output);
  std::vector<std::string> users, hexes;
  for (const auto& s : j.at("sessions")) {
    if (s.at("state") == "listen") continue;
    users.push_back(s.at("user").get<std::string>());
    hexes.push_back(s.value("user_hex", std::string()));
  }
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0], hostile) << "valid UTF-8 is kept as it is; JSON escapes the controls";
  EXPECT_EQ(hexes[0], protocol::to_hex(hostile)) << "not clean text: its bytes as hex beside it";
  // The lone surrogate is kept by the decoder (as its three-byte WTF-8 form ED A0 80, nothing lost), shown in JSON as
  // U+FFFD (one per byte of the ill-formed sequence) with the bytes beside it.
  EXPECT_EQ(users[1], "b\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "c");
  EXPECT_EQ(hexes[1], "62eda08063") << "not text: its bytes as hex beside it";

  const auto table = control.ctl("query session");
  ASSERT_EQ(table.status, 0) << table.output;
  EXPECT_EQ(table.output.find('\x1b'), std::string::npos) << "the terminal would obey the escape sequence";
  EXPECT_EQ(table.output.find('\x07'), std::string::npos);
  EXPECT_NE(table.output.find("a\\x1b]0;pwn\\x07"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("b\\xed\\xa0\\x80c"), std::string::npos) << table.output;
  const auto users_table = control.ctl("query user");
  ASSERT_EQ(users_table.status, 0) << users_table.output;
  EXPECT_EQ(users_table.output.find('\x1b'), std::string::npos) << users_table.output;
}

}  // namespace
