// net::sequence_engine on real loopback sockets: it performs exactly the actions a machine asks for — writes, reads
// with the machine's absolute deadline, wakeable reads, TLS, the three close styles — and reports each outcome as the
// right event. The machine here is a tiny scripted one, so these tests are about the engine alone.
#include "rdp/net/engine.hpp"
#include "rdp/net/listen.hpp"
#include "rdp/net/spawn.hpp"
#include "rdp/net/tls.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rdp::net {
namespace {

namespace seq = protocol::sequence;

// Writes `greeting`, reads until `until` has arrived (one deadline for all of it), then closes as told. Every event
// it hears is kept.
struct greeter {
  std::string greeting = "hello\n", until = "bye\n";
  seq::close_style style = seq::close_style::graceful;
  milliseconds read_for{2000};
  bool wakeable = false;
  bool tls = false;

  std::vector<seq::event_kind> heard;
  std::string received;
  int step = 0;
  seq::instant read_deadline{};

  seq::action resume(const seq::event& e) {
    heard.push_back(e.kind);
    switch (step) {
      case 0:
        step = tls ? 1 : 2;
        if (tls) return seq::start_tls(e.now + milliseconds(5000));
        [[fallthrough]];
      case 1:
        if (step == 1 && e.kind != seq::event_kind::tls_done) return finish(e);
        step = 2;
        return seq::write(protocol::bytes_view(reinterpret_cast<const std::uint8_t*>(greeting.data()), greeting.size()),
                          e.now + milliseconds(2000));
      case 2:
        if (e.kind != seq::event_kind::written) return finish(e);
        step = 3;
        read_deadline = e.now + read_for;
        return seq::read(read_deadline, wakeable);
      case 3:
        if (e.kind != seq::event_kind::received) return finish(e);
        received.append(e.bytes.begin(), e.bytes.end());
        if (received.find(until) == std::string::npos) return seq::read(read_deadline, wakeable);
        return finish(e);
      case 4: return seq::done();
    }
    return seq::done();
  }
  seq::action finish(const seq::event& e) {
    step = 4;
    return seq::close(style, e.now + milliseconds(2000));
  }
};

struct Engine : ::testing::Test {
  asio::io_context io;
  tcp::acceptor acceptor = open_listener(io.get_executor(), {asio::ip::make_address("127.0.0.1"), 0}, "engine_test");
  tcp::socket ours{io}, theirs{io};

  void SetUp() override {
    ours.connect(acceptor.local_endpoint());
    theirs = acceptor.accept();
  }
  // Runs the io_context until everything spawned is done, at most 10 s.
  void run() { io.run_for(std::chrono::seconds(10)); }
};

asio::awaitable<void> run_machine(sequence_engine& engine, greeter& g, bool& finished) {
  co_await engine.run(g);
  finished = true;
}

// What the peer reads until it sees the end of the stream, and how the stream ended.
asio::awaitable<void> read_all(tcp::socket& s, std::string& into, error_code& end) {
  std::array<char, 256> chunk{};
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(chunk), use_tuple);
    into.append(chunk.data(), n);
    if (ec) {
      end = ec;
      error_code ignored;
      s.close(ignored);  // hang up too, so a graceful close on the other side ends at once
      co_return;
    }
    if (into.find("hello\n") != std::string::npos && into.size() == 6) {
      // Answer in two pieces, so the machine's read has to go on with the same deadline.
      co_await asio::async_write(s, asio::buffer(std::string("by")), use_tuple);
      co_await asio::async_write(s, asio::buffer(std::string("e\n")), use_tuple);
    }
  }
}

TEST_F(Engine, WritesReadsInPiecesAndClosesGracefullyWithAFin) {
  greeter g;
  sequence_engine engine(ours, {});
  bool finished = false;
  std::string seen;
  error_code end;
  spawn(io.get_executor(), run_machine(engine, g, finished), "engine_test");
  spawn(io.get_executor(), read_all(theirs, seen, end), "engine_test");
  // The graceful close drains until the peer hangs up: close the peer's side once it has seen the FIN.
  run();
  EXPECT_TRUE(finished);
  EXPECT_EQ(seen, "hello\n");
  EXPECT_EQ(end, asio::error::eof) << end.message();  // a FIN, not a reset
  EXPECT_EQ(g.received, "bye\n");
  ASSERT_GE(g.heard.size(), 4u);
  EXPECT_EQ(g.heard.front(), seq::event_kind::start);
  EXPECT_EQ(g.heard[1], seq::event_kind::written);
  EXPECT_EQ(g.heard.back(), seq::event_kind::closed);
}

TEST_F(Engine, AResetCloseReachesThePeerAsARst) {
  greeter g;
  g.style = seq::close_style::reset;
  sequence_engine engine(ours, {});
  bool finished = false;
  std::string seen;
  error_code end;
  spawn(io.get_executor(), run_machine(engine, g, finished), "engine_test");
  spawn(io.get_executor(), read_all(theirs, seen, end), "engine_test");
  run();
  EXPECT_TRUE(finished);
  EXPECT_EQ(end, asio::error::connection_reset) << end.message();
}

TEST_F(Engine, AReadPastItsDeadlineIsTimedOut) {
  greeter g;
  g.read_for = milliseconds(100);
  g.until = "never";
  sequence_engine engine(ours, {});
  bool finished = false;
  spawn(io.get_executor(), run_machine(engine, g, finished), "engine_test");
  // The peer's answer never holds what the machine waits for.
  std::string seen;
  error_code end;
  spawn(io.get_executor(), read_all(theirs, seen, end), "engine_test");
  run();
  EXPECT_TRUE(finished);
  ASSERT_GE(g.heard.size(), 3u);
  EXPECT_EQ(g.heard[g.heard.size() - 2], seq::event_kind::timed_out);
}

TEST_F(Engine, AWakeEndsAWakeableReadAndOneSentBeforeTheReadIsNotLost) {
  for (const bool before : {false, true}) {
    SCOPED_TRACE(before ? "woken before the read began" : "woken during the read");
    greeter g;
    g.wakeable = true;
    g.until = "never";
    g.read_for = milliseconds(60000);
    wake_signal wake(io.get_executor());
    engine_options options;
    options.wake = &wake;
    tcp::socket a(io), b(io);
    a.connect(acceptor.local_endpoint());
    b = acceptor.accept();
    sequence_engine engine(a, options);
    bool finished = false;
    if (before) wake.wake();
    spawn(io.get_executor(), run_machine(engine, g, finished), "engine_test");
    asio::steady_timer later(io, milliseconds(50));
    if (!before) later.async_wait([&](const error_code&) { wake.wake(); });
    // The peer hangs up once the machine closes, so the graceful close ends at once.
    std::string seen;
    error_code end;
    spawn(io.get_executor(), read_all(b, seen, end), "engine_test");
    io.restart();
    run();
    EXPECT_TRUE(finished);
    ASSERT_GE(g.heard.size(), 3u);
    EXPECT_EQ(g.heard[g.heard.size() - 2], seq::event_kind::woken);
  }
}

asio::awaitable<void> serve_tls(tcp::socket& s, ssl::context& context, std::string& seen) {
  ssl::stream<tcp::socket&> tls(s, context);
  auto [ec] = co_await tls.async_handshake(ssl::stream_base::server, use_tuple);
  if (ec) co_return;
  std::array<char, 64> chunk{};
  auto [rec, n] = co_await tls.async_read_some(asio::buffer(chunk), use_tuple);
  seen.assign(chunk.data(), n);
  co_await asio::async_write(tls, asio::buffer(std::string("bye\n")), use_tuple);
  co_await tls.async_read_some(asio::buffer(chunk), use_tuple);  // until the machine closes
  error_code ignored;
  s.close(ignored);
}

TEST_F(Engine, StartTlsRunsTheHandshakeAndLaterBytesGoThroughTls) {
  auto server_context = make_server_context(make_self_signed(key_kind::ecdsa, "127.0.0.1"));
  auto client_context = make_client_context();
  greeter g;
  g.tls = true;
  engine_options options;
  options.tls_context = &client_context;
  bool prepared = false;
  options.before_handshake = [&](SSL* ssl) { prepared = ssl != nullptr; };
  sequence_engine engine(ours, options);
  bool finished = false;
  std::string seen;
  spawn(io.get_executor(), run_machine(engine, g, finished), "engine_test");
  spawn(io.get_executor(), serve_tls(theirs, server_context, seen), "engine_test");
  run();
  EXPECT_TRUE(finished);
  EXPECT_TRUE(prepared);
  EXPECT_NE(engine.tls_handle(), nullptr);
  EXPECT_EQ(seen, "hello\n");  // decrypted by the server: the write went through TLS
  EXPECT_EQ(g.received, "bye\n");
  ASSERT_GE(g.heard.size(), 2u);
  EXPECT_EQ(g.heard[1], seq::event_kind::tls_done);
}

}  // namespace
}  // namespace rdp::net

namespace rdp::net {
namespace {

asio::awaitable<void> handshake_then_reset(tcp::socket& s, ssl::context& context) {
  ssl::stream<tcp::socket&> tls(s, context);
  auto [ec] = co_await tls.async_handshake(ssl::stream_base::server, use_tuple);
  if (!ec) close_with_reset(s);
}

// OpenSSL writes to the socket itself under lean TLS; a peer that has gone must end the write with an error (EPIPE or
// a reset), never with SIGPIPE, which would end the whole process.
TEST_F(Engine, AWriteThroughTlsToAPeerThatHasGoneIsAnErrorNotASignal) {
  auto server_context = make_server_context(make_self_signed(key_kind::ecdsa, "127.0.0.1"));
  auto client_context = make_client_context();
  greeter g;
  g.tls = true;
  g.greeting.assign(8 * 1024 * 1024, 'x');  // more than the socket buffers hold: the write must meet the reset
  engine_options options;
  options.tls_context = &client_context;
  sequence_engine engine(ours, options);
  bool finished = false;
  spawn(io.get_executor(), run_machine(engine, g, finished), "engine_test");
  spawn(io.get_executor(), handshake_then_reset(theirs, server_context), "engine_test");
  run();
  EXPECT_TRUE(finished);
  ASSERT_GE(g.heard.size(), 3u);
  EXPECT_EQ(g.heard[1], seq::event_kind::tls_done);
  EXPECT_EQ(g.heard[2], seq::event_kind::io_error) << "the write failed rather than completing";
}

}  // namespace
}  // namespace rdp::net
