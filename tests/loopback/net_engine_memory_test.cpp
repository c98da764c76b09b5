// net::basic_sequence_engine on an in-memory stream and a manual clock (memory_stream.hpp, manual_clock.hpp): the same
// engine the loopback tests run on sockets (net_engine_test.cpp), here with reads split byte by byte, errors injected
// at every operation, FIN, RST and close from the peer, deadlines that fire when the test moves the clock — never by
// sleeping — and TLS, then the product client's machine (protocol::client_sequence) on it. No socket is opened: the
// file lives in tests/loopback/ only because net_loopback_tests is the executable that tests rdp_net alone.
#include "rdp/net/engine.hpp"
#include "rdp/net/manual_clock.hpp"
#include "rdp/net/memory_stream.hpp"
#include "rdp/net/spawn.hpp"
#include "rdp/net/tls.hpp"
#include "rdp/protocol/client_sequence.hpp"
#include "rdp/protocol/errc.hpp"
#include "rdp/protocol/x224.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace rdp::net {
namespace {

namespace seq = protocol::sequence;
using namespace std::chrono_literals;
using memory_engine = basic_sequence_engine<memory_stream, manual_clock>;

std::vector<std::uint8_t> bytes_of(std::string_view text) { return {text.begin(), text.end()}; }
std::string text_of(std::span<const std::uint8_t> bytes) { return {bytes.begin(), bytes.end()}; }

struct heard_event {
  seq::event_kind kind = seq::event_kind::start;
  seq::instant now{};
  error_code error;
  std::vector<std::uint8_t> bytes;
};
heard_event record(const seq::event& e) { return {e.kind, e.now, e.error, {e.bytes.begin(), e.bytes.end()}}; }

// Writes `request` (none when empty), reads until `until` has arrived with one deadline for all of it (no read when
// empty), then closes as told. Every event it hears is kept.
struct exchange {
  bool tls = false;
  std::string request = "hello";
  std::string until = "world\n";
  seq::duration read_for = 10s;
  bool wakeable = false;
  seq::close_style style = seq::close_style::abrupt;
  seq::duration close_for = 2s;

  std::vector<heard_event> heard;
  std::string received;
  int step = 0;
  seq::instant read_deadline{};

  seq::action resume(const seq::event& e) {
    heard.push_back(record(e));
    switch (step) {
      case 0:
        if (tls) {
          step = 1;
          return seq::start_tls(e.now + 10s);
        }
        return write(e);
      case 1:
        if (e.kind != seq::event_kind::tls_done) return finish(e);
        return write(e);
      case 2:
        if (e.kind != seq::event_kind::written) return finish(e);
        return read(e);
      case 3:
        if (e.kind != seq::event_kind::received) return finish(e);
        received.append(e.bytes.begin(), e.bytes.end());
        if (received.find(until) == std::string::npos) return seq::read(read_deadline, wakeable);
        return finish(e);
      default: return seq::done();
    }
  }
  seq::action write(const seq::event& e) {
    step = 2;
    if (request.empty()) return read(e);
    return seq::write(protocol::bytes_view(reinterpret_cast<const std::uint8_t*>(request.data()), request.size()),
                      e.now + 10s);
  }
  seq::action read(const seq::event& e) {
    if (until.empty()) return finish(e);
    step = 3;
    read_deadline = e.now + read_for;
    return seq::read(read_deadline, wakeable);
  }
  seq::action finish(const seq::event& e) {
    step = 4;
    return seq::close(style, e.now + close_for);
  }

  std::size_t count(seq::event_kind kind) const {
    return static_cast<std::size_t>(std::count_if(heard.begin(), heard.end(), [&](const auto& h) { return h.kind == kind; }));
  }
  const heard_event* first(seq::event_kind kind) const {
    auto it = std::find_if(heard.begin(), heard.end(), [&](const auto& h) { return h.kind == kind; });
    return it == heard.end() ? nullptr : &*it;
  }
};

// Keeps every event a real machine hears on its way in.
template <class Machine>
struct recording {
  Machine& inner;
  std::vector<heard_event> heard;
  seq::action resume(const seq::event& e) {
    heard.push_back(record(e));
    return inner.resume(e);
  }
};

template <class Machine>
asio::awaitable<void> run_machine(memory_engine& engine, Machine& machine, bool& finished) {
  co_await engine.run(machine);
  finished = true;
}

struct EngineInMemory : ::testing::Test {
  asio::io_context io;
  std::pair<memory_stream, memory_stream> streams = memory_stream::connected_pair(io.get_executor());
  memory_stream& ours = streams.first;
  memory_stream& theirs = streams.second;
  bool finished = false;

  template <class Machine>
  void start(memory_engine& engine, Machine& machine) {
    spawn(io.get_executor(), run_machine(engine, machine, finished), "engine_memory_test");
  }
  // Runs handlers until `done()` holds. The real-time bound only keeps a broken test from hanging: no expectation
  // depends on it, and nothing here waits for time to pass.
  template <class Done>
  bool run_until(Done done) {
    if (io.stopped()) io.restart();
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > give_up) return false;
      if (io.run_one_for(10ms) == 0 && io.stopped()) return done();
    }
    return true;
  }
  // Runs what is ready until nothing is: no handler for 5 ms of real time, while a manual timer is looked at every
  // millisecond. Used before checking that something has NOT happened yet.
  void run_ready() {
    if (io.stopped()) io.restart();
    while (io.run_one_for(5ms) > 0) {
    }
  }
  // Everything the engine has written so far, until `size` bytes have come.
  std::string written_by_ours(std::size_t size) {
    std::string seen;
    run_until([&] {
      seen += text_of(theirs.take_received());
      return seen.size() >= size;
    });
    return seen;
  }
};

// (a) A stream cut into 1-byte reads reaches the machine as that many received events, and it reassembles them.
TEST_F(EngineInMemory, AReadSplitIntoSingleBytesIsReassembledByTheMachine) {
  exchange machine;
  memory_engine engine(ours, {});
  ours.read_size(1);
  start(engine, machine);
  EXPECT_EQ(written_by_ours(5), "hello");
  theirs.send(bytes_of("wor"));
  theirs.send(bytes_of("ld\n"));
  ASSERT_TRUE(run_until([&] { return finished; }));
  EXPECT_EQ(machine.received, "world\n");
  ASSERT_EQ(machine.count(seq::event_kind::received), 6u);
  for (const auto& h : machine.heard) {
    if (h.kind == seq::event_kind::received) {
      EXPECT_EQ(h.bytes.size(), 1u);
    }
  }
  EXPECT_EQ(machine.heard.back().kind, seq::event_kind::closed);
  EXPECT_FALSE(ours.is_open());
  EXPECT_EQ(engine.tcp_at_close(), std::nullopt);  // not TCP: no kernel state
}

// (b) The read's deadline fires when, and only when, the manual clock reaches it — at that exact instant.
TEST_F(EngineInMemory, AReadDeadlineFiresWhenTheManualClockPassesIt) {
  exchange machine;
  machine.read_for = 10s;
  memory_engine engine(ours, {});
  start(engine, machine);
  ASSERT_TRUE(run_until([&] { return machine.count(seq::event_kind::written) == 1; }));
  const auto deadline = machine.read_deadline;
  ASSERT_EQ(deadline, machine.heard.at(1).now + 10s);
  run_ready();
  manual_clock::advance(deadline - manual_clock::now() - 1ns);
  run_ready();
  EXPECT_EQ(machine.count(seq::event_kind::timed_out), 0u) << "fired before its deadline";
  EXPECT_FALSE(finished);
  manual_clock::advance(1ns);
  ASSERT_TRUE(run_until([&] { return finished; }));
  const auto* timed_out = machine.first(seq::event_kind::timed_out);
  ASSERT_NE(timed_out, nullptr);
  EXPECT_EQ(timed_out->now, deadline);
  EXPECT_EQ(machine.heard.back().kind, seq::event_kind::closed);
}

// (c) A fail matrix in Beast's manner: the stream fails at its 1st operation, then its 2nd, … — each write piece
// (write_size 2: "hello" is three writes) and each 1-byte read — and the machine hears the error at that step, with
// the stream's exact error; past the last operation the exchange succeeds.
TEST_F(EngineInMemory, AnErrorAtEveryOperationReachesTheMachineAsThatError) {
  constexpr std::size_t writes = 3, reads = 6;
  for (std::size_t failing = 0; failing <= writes + reads; ++failing) {
    SCOPED_TRACE("failing operation " + std::to_string(failing));
    auto [mine, peer] = memory_stream::connected_pair(io.get_executor());
    mine.write_size(2);
    mine.read_size(1);
    mine.fail_after(failing, asio::error::connection_reset);
    peer.send(bytes_of("world\n"));
    exchange machine;
    memory_engine engine(mine, {});
    finished = false;
    spawn(io.get_executor(), run_machine(engine, machine, finished), "engine_memory_test");
    ASSERT_TRUE(run_until([&] { return finished; }));
    EXPECT_EQ(text_of(peer.take_received()), std::string("hello").substr(0, std::min<std::size_t>(failing, writes) * 2));
    if (failing == writes + reads) {
      EXPECT_EQ(machine.received, "world\n");
      EXPECT_EQ(machine.count(seq::event_kind::io_error), 0u);
      continue;
    }
    // start, then written once every write passed, then one received per read that passed.
    const std::size_t at = failing < writes ? 1 : 2 + (failing - writes);
    ASSERT_GT(machine.heard.size(), at);
    EXPECT_EQ(machine.heard[at].kind, seq::event_kind::io_error);
    EXPECT_EQ(machine.heard[at].error, asio::error::connection_reset) << machine.heard[at].error.message();
    EXPECT_EQ(machine.count(seq::event_kind::written), failing < writes ? 0u : 1u);
  }
}

// (d) The peer's FIN reaches the machine as eof, its RST as connection_reset — each after the bytes sent before it.
TEST_F(EngineInMemory, ThePeerEndingTheStreamReachesTheMachineAfterItsBytes) {
  for (const bool reset : {false, true}) {
    SCOPED_TRACE(reset ? "RST" : "FIN");
    auto [mine, peer] = memory_stream::connected_pair(io.get_executor());
    exchange machine;
    memory_engine engine(mine, {});
    finished = false;
    spawn(io.get_executor(), run_machine(engine, machine, finished), "engine_memory_test");
    ASSERT_TRUE(run_until([&] { return machine.count(seq::event_kind::written) == 1; }));
    peer.send(bytes_of("wor"));
    if (reset) {
      close_with_reset(peer);
    } else {
      error_code ignored;
      peer.shutdown(asio::socket_base::shutdown_send, ignored);
    }
    ASSERT_TRUE(run_until([&] { return finished; }));
    EXPECT_EQ(machine.received, "wor");
    const auto* failure = machine.first(seq::event_kind::io_error);
    ASSERT_NE(failure, nullptr);
    EXPECT_EQ(failure->error, reset ? error_code(asio::error::connection_reset) : error_code(asio::error::eof))
        << failure->error.message();
  }
}

// (e) A wake ends a wakeable read at once (the clock has not moved), and one that came before the read is not lost.
TEST_F(EngineInMemory, AWakeEndsAWakeableReadAndOneSentBeforeTheReadIsNotLost) {
  for (const bool before : {false, true}) {
    SCOPED_TRACE(before ? "woken before the read began" : "woken during the read");
    auto [mine, peer] = memory_stream::connected_pair(io.get_executor());
    wake_signal wake(io.get_executor());
    engine_options options;
    options.wake = &wake;
    exchange machine;
    machine.wakeable = true;
    memory_engine engine(mine, options);
    finished = false;
    if (before) wake.wake();
    spawn(io.get_executor(), run_machine(engine, machine, finished), "engine_memory_test");
    ASSERT_TRUE(run_until([&] { return machine.count(seq::event_kind::written) == 1 || finished; }));
    if (!before) {
      run_ready();
      EXPECT_EQ(machine.count(seq::event_kind::woken), 0u);
      wake.wake();
    }
    ASSERT_TRUE(run_until([&] { return finished; }));
    const auto* woken = machine.first(seq::event_kind::woken);
    ASSERT_NE(woken, nullptr);
    EXPECT_EQ(woken->now, machine.heard.at(1).now);  // no time passed: it was the wake, not a deadline
    EXPECT_EQ(machine.count(seq::event_kind::timed_out), 0u);
  }
}

// (f) A graceful close sends a FIN, drains what the peer still sends, and ends when the peer hangs up.
TEST_F(EngineInMemory, AGracefulCloseSendsAFinDrainsAndEndsWhenThePeerHangsUp) {
  exchange machine;
  machine.request.clear();
  machine.until.clear();
  machine.style = seq::close_style::graceful;
  memory_engine engine(ours, {});
  start(engine, machine);
  ASSERT_TRUE(run_until([&] { return theirs.incoming_end() == asio::error::eof; }));
  run_ready();
  EXPECT_FALSE(finished) << "a graceful close waits for the peer";
  EXPECT_TRUE(ours.is_open());
  theirs.send(bytes_of("late bytes"));  // read and thrown away by the drain
  error_code ignored;
  theirs.close(ignored);
  ASSERT_TRUE(run_until([&] { return finished; }));
  EXPECT_FALSE(ours.is_open());
  EXPECT_EQ(machine.heard.back().kind, seq::event_kind::closed);
  EXPECT_EQ(machine.heard.back().now, machine.heard.front().now);  // ended by the peer, not by the deadline
  EXPECT_EQ(machine.received, "");
}

// (f) A peer that never hangs up: the drain ends at the close's deadline on the manual clock, and the peer, whose
// bytes were all read, sees a FIN rather than a reset.
TEST_F(EngineInMemory, AGracefulCloseEndsAtItsDeadlineWhenThePeerNeverHangsUp) {
  exchange machine;
  machine.request.clear();
  machine.until.clear();
  machine.style = seq::close_style::graceful;
  machine.close_for = 2s;
  memory_engine engine(ours, {});
  start(engine, machine);
  ASSERT_TRUE(run_until([&] { return theirs.incoming_end() == asio::error::eof; }));
  theirs.send(bytes_of("still talking"));
  run_ready();
  EXPECT_FALSE(finished);
  manual_clock::advance(2s);
  ASSERT_TRUE(run_until([&] { return finished; }));
  EXPECT_EQ(machine.heard.back().kind, seq::event_kind::closed);
  EXPECT_EQ(machine.heard.back().now, machine.heard.front().now + 2s);
  EXPECT_EQ(theirs.incoming_end(), asio::error::eof);
}

// A reset close reaches the peer as an RST; an abrupt close with the peer's bytes unread does too, as a kernel's does.
TEST_F(EngineInMemory, AResetCloseAndAnAbruptCloseOverUnreadBytesReachThePeerAsAnRst) {
  for (const auto style : {seq::close_style::reset, seq::close_style::abrupt}) {
    SCOPED_TRACE(seq::to_string(style));
    auto [mine, peer] = memory_stream::connected_pair(io.get_executor());
    exchange machine;
    machine.request.clear();
    machine.until.clear();
    machine.style = style;
    if (style == seq::close_style::abrupt) peer.send(bytes_of("unread"));
    memory_engine engine(mine, {});
    finished = false;
    spawn(io.get_executor(), run_machine(engine, machine, finished), "engine_memory_test");
    ASSERT_TRUE(run_until([&] { return finished; }));
    EXPECT_EQ(peer.incoming_end(), asio::error::connection_reset) << peer.incoming_end().message();
  }
}

asio::awaitable<void> answer_over_tls(memory_stream& stream, ssl::context& context, std::string& seen) {
  ssl::stream<memory_stream&> tls(stream, context);
  auto [ec] = co_await tls.async_handshake(ssl::stream_base::server, use_tuple);
  if (ec) {
    seen = "handshake failed: " + ec.message();
    co_return;
  }
  std::array<char, 64> chunk{};
  auto [read_ec, n] = co_await tls.async_read_some(asio::buffer(chunk), use_tuple);
  seen.assign(chunk.data(), n);
  const std::string answer = "world\n";
  co_await asio::async_write(tls, asio::buffer(answer), use_tuple);
}

// start_tls over the memory stream (Asio's TLS stream, buffered_tls.hpp — lean_tls needs a socket): the handshake,
// the server key handed to the machine with tls_done, and the bytes after it encrypted both ways.
TEST_F(EngineInMemory, StartTlsRunsTheHandshakeAndLaterBytesGoThroughTls) {
  const auto identity = make_self_signed(key_kind::ecdsa, "localhost");
  auto server_context = make_server_context(identity);
  auto client_context = make_client_context();
  exchange machine;
  machine.tls = true;
  engine_options options;
  options.tls_context = &client_context;
  memory_engine engine(ours, options);
  std::string seen;
  spawn(io.get_executor(), answer_over_tls(theirs, server_context, seen), "engine_memory_test");
  start(engine, machine);
  ASSERT_TRUE(run_until([&] { return finished; }));
  EXPECT_NE(engine.tls_handle(), nullptr);
  ASSERT_EQ(machine.heard.at(1).kind, seq::event_kind::tls_done);
  EXPECT_EQ(machine.heard.at(1).bytes, subject_public_key(identity));
  EXPECT_EQ(seen, "hello");  // decrypted by the server
  EXPECT_EQ(machine.received, "world\n");
}

// ---- The product client's machine on the memory stream -----------------------------------------------------------

protocol::client_sequence_options client_options() {
  protocol::client_sequence_options options;
  options.security = protocol::client_security::tls;
  options.deadlines.step = 10s;
  options.deadlines.close = 500ms;
  return options;
}

// (g) protocol::client_sequence sends its X.224 Connection Request, reads a refusal (RDP_NEG_FAILURE,
// MS-RDPBCGR 2.2.1.2.2) that arrives one byte per read, and closes gracefully.
TEST_F(EngineInMemory, TheClientSequenceReadsARefusalArrivingByteByByte) {
  const auto options = client_options();
  protocol::client_sequence client(options);
  recording<protocol::client_sequence> machine{client, {}};
  memory_engine engine(ours, {});
  ours.read_size(1);
  start(engine, machine);
  const auto request = protocol::x224::encode(protocol::make_connection_request(options));
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(written_by_ours(request->size()), text_of(*request));

  protocol::x224::connection_confirm refusal;
  refusal.negotiation = protocol::neg_failure{static_cast<std::uint32_t>(protocol::neg_failure_code::ssl_not_allowed_by_server)};
  const auto confirm = protocol::x224::encode(refusal);
  theirs.send(confirm);
  ASSERT_TRUE(run_until([&] { return theirs.incoming_end() == asio::error::eof; }));  // its FIN: a graceful close
  error_code ignored;
  theirs.close(ignored);
  ASSERT_TRUE(run_until([&] { return finished; }));

  const auto received = std::count_if(machine.heard.begin(), machine.heard.end(),
                                      [](const auto& h) { return h.kind == seq::event_kind::received; });
  EXPECT_EQ(static_cast<std::size_t>(received), confirm.size());
  const auto& result = client.result();
  EXPECT_EQ(result.reached, protocol::client_phase::connected);
  ASSERT_TRUE(result.confirm.has_value());
  EXPECT_EQ(result.confirm->negotiation, refusal.negotiation);
  EXPECT_EQ(result.error, protocol::errc::bad_negotiation) << result.error.message();
  EXPECT_NE(result.failure.find("SSL_NOT_ALLOWED_BY_SERVER"), std::string::npos) << result.failure;
  EXPECT_EQ(machine.heard.back().kind, seq::event_kind::closed);
}

// (g) The client's step deadline on the manual clock: no Connection Confirm comes, the clock is moved past the step,
// and the client records the timeout at that exact instant, then ends its graceful close at the close deadline.
TEST_F(EngineInMemory, TheClientSequenceTimesOutWaitingForTheConfirmAtTheExactInstant) {
  const auto options = client_options();
  protocol::client_sequence client(options);
  recording<protocol::client_sequence> machine{client, {}};
  memory_engine engine(ours, {});
  start(engine, machine);
  const auto request = protocol::x224::encode(protocol::make_connection_request(options));
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(written_by_ours(request->size()), text_of(*request));
  run_ready();
  const auto started = machine.heard.front().now;
  manual_clock::advance(started + 10s - 1ns - manual_clock::now());
  run_ready();
  EXPECT_FALSE(client.result().ended_at.has_value()) << "timed out before the step's deadline";
  manual_clock::advance(1ns);
  ASSERT_TRUE(run_until([&] { return theirs.incoming_end() == asio::error::eof; }));
  run_ready();
  EXPECT_FALSE(finished) << "the graceful close drains until its deadline";
  manual_clock::advance(500ms);
  ASSERT_TRUE(run_until([&] { return finished; }));

  const auto& result = client.result();
  EXPECT_EQ(result.reached, protocol::client_phase::connected);
  EXPECT_EQ(result.error, boost::system::errc::timed_out) << result.error.message();
  ASSERT_TRUE(result.ended_at.has_value());
  EXPECT_EQ(*result.ended_at, started + 10s);
  ASSERT_EQ(result.teardown.size(), 1u);
  EXPECT_EQ(result.teardown[0].kind, protocol::teardown_kind::timeout);
  EXPECT_EQ(result.teardown[0].at, started + 10s);
  EXPECT_EQ(machine.heard.back().kind, seq::event_kind::closed);
  EXPECT_EQ(machine.heard.back().now, started + 10s + 500ms);
}

}  // namespace
}  // namespace rdp::net
