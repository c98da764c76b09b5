// The relay's phase tracker (protocol/stream_phase.hpp): whole exchanges built from PDU builders, fed whole, a byte
// at a time and at random split points (docs/testing.md rule 1), and the inputs that are not RDP.
#include "rdp/protocol/stream_phase.hpp"

#include "rdp/protocol/x224.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace {

using namespace rdp::protocol;
using stream_phase::direction;
using stream_phase::milestone;

struct chunk {
  direction from;
  byte_buffer bytes;
};

byte_buffer cr(std::optional<std::uint32_t> requested) {
  x224::connection_request request;
  request.cookie = "proxytest";
  if (requested) request.negotiation = neg_request{0, *requested};
  return x224::encode(request).value();
}

byte_buffer cc(std::optional<std::uint32_t> selected) {
  x224::connection_confirm confirm;
  if (selected) confirm.negotiation = neg_response{0x01, *selected};
  return x224::encode(confirm);
}

// A TLS record (RFC 8446 5.1) of `type` with `length` body bytes; a handshake body starts with `message`.
byte_buffer record(std::uint8_t type, std::size_t length, std::uint8_t message = 0) {
  byte_buffer out{type, 0x03, 0x03, static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length)};
  for (std::size_t i = 0; i < length; ++i) out.push_back(i == 0 ? message : static_cast<std::uint8_t>(0xA5 ^ i));
  return out;
}

byte_buffer join(std::initializer_list<byte_buffer> parts) {
  byte_buffer out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// TLS 1.2 over RDP as FreeRDP and rdpsim exchange it: CR (TLS|CredSSP), CC (TLS), the handshake, then CredSSP
// TSRequests as application data.
std::vector<chunk> tls12_exchange() {
  return {
      {direction::from_client, cr(0x03)},
      {direction::from_server, cc(0x01)},
      {direction::from_client, record(22, 300, 1)},
      {direction::from_server, join({record(22, 90, 2), record(22, 1200, 11), record(22, 4, 14)})},
      {direction::from_client, join({record(22, 70, 16), record(20, 1), record(22, 40, 20)})},
      {direction::from_server, join({record(20, 1), record(22, 40, 20)})},
      {direction::from_client, record(23, 500)},
      {direction::from_server, record(23, 200)},
      {direction::from_client, record(23, 600)},
      {direction::from_server, record(23, 17000)},
  };
}

// TLS 1.3: after the ServerHello the server's handshake is encrypted in type-23 records; the client's Finished too.
std::vector<chunk> tls13_exchange() {
  return {
      {direction::from_client, cr(0x01)},
      {direction::from_server, cc(0x01)},
      {direction::from_client, record(22, 512, 1)},
      {direction::from_server, join({record(22, 122, 2), record(20, 1), record(23, 2000), record(23, 300)})},
      {direction::from_client, join({record(20, 1), record(23, 53)})},
      {direction::from_client, record(23, 400)},
  };
}

struct seen {
  milestone what;
  direction from;
  std::optional<std::uint32_t> protocols;
  friend bool operator==(const seen&, const seen&) = default;
};

std::ostream& operator<<(std::ostream& os, const seen& s) {
  os << stream_phase::to_string(s.what) << (s.from == direction::from_client ? " from client" : " from server");
  if (s.protocols) os << " protocols " << *s.protocols;
  return os;
}

// Feeds every chunk in order, each cut by `cut` (sizes of the pieces, cycled); returns what the tracker reported,
// and checks the memory bound after every piece.
template <class Cut>
std::vector<seen> run(const std::vector<chunk>& chunks, Cut cut, bool* done = nullptr) {
  stream_phase::tracker tracker;
  std::vector<stream_phase::phase_event> events;
  for (const auto& c : chunks) {
    std::size_t pos = 0;
    while (pos < c.bytes.size()) {
      const std::size_t n = std::min(cut(), c.bytes.size() - pos);
      tracker.feed(c.from, bytes_view(c.bytes).subspan(pos, n), events);
      EXPECT_LE(tracker.buffered(), stream_phase::max_x224_frame + 12);
      pos += n;
    }
  }
  if (done) *done = tracker.done();
  std::vector<seen> out;
  for (const auto& e : events) out.push_back(seen{e.what, e.from, e.protocols});
  return out;
}

std::vector<seen> run_whole(const std::vector<chunk>& chunks, bool* done = nullptr) {
  return run(chunks, [] { return std::size_t{1} << 30; }, done);
}

TEST(StreamPhase, FollowsTls12ToFirstApplicationData) {
  bool done = false;
  const auto events = run_whole(tls12_exchange(), &done);
  const std::vector<seen> expected{
      {milestone::x224_request, direction::from_client, 0x03u},
      {milestone::x224_confirm, direction::from_server, 0x01u},
      {milestone::tls_client_hello, direction::from_client, std::nullopt},
      {milestone::tls_server_hello, direction::from_server, std::nullopt},
      {milestone::tls_established, direction::from_server, std::nullopt},
      {milestone::first_app_data, direction::from_client, std::nullopt},
  };
  EXPECT_EQ(events, expected);
  EXPECT_TRUE(done);
}

TEST(StreamPhase, FollowsTls13WhereTheHandshakeIsEncrypted) {
  bool done = false;
  const auto events = run_whole(tls13_exchange(), &done);
  const std::vector<seen> expected{
      {milestone::x224_request, direction::from_client, 0x01u},
      {milestone::x224_confirm, direction::from_server, 0x01u},
      {milestone::tls_client_hello, direction::from_client, std::nullopt},
      {milestone::tls_server_hello, direction::from_server, std::nullopt},
      {milestone::tls_established, direction::from_client, std::nullopt},
      {milestone::first_app_data, direction::from_client, std::nullopt},
  };
  EXPECT_EQ(events, expected);
  EXPECT_TRUE(done);
}

TEST(StreamPhase, SameEventsByteAtATime) {
  for (const auto& exchange : {tls12_exchange(), tls13_exchange()}) {
    bool done = false;
    EXPECT_EQ(run(exchange, [] { return std::size_t{1}; }, &done), run_whole(exchange));
    EXPECT_TRUE(done);
  }
}

TEST(StreamPhase, SameEventsAtRandomSplits) {
  std::mt19937 random(14);
  std::uniform_int_distribution<std::size_t> size(1, 23);
  for (int round = 0; round < 200; ++round)
    for (const auto& exchange : {tls12_exchange(), tls13_exchange()})
      ASSERT_EQ(run(exchange, [&] { return size(random); }), run_whole(exchange)) << "round " << round;
}

TEST(StreamPhase, StandardRdpSecurityEndsAtTheFirstClearTextFrame) {
  bool done = false;
  const auto events = run_whole({{direction::from_client, cr(std::nullopt)},
                                 {direction::from_server, cc(std::nullopt)},
                                 {direction::from_client, x224::encode_data(byte_buffer(40, 0x7F))}},
                                &done);
  const std::vector<seen> expected{
      {milestone::x224_request, direction::from_client, std::nullopt},
      {milestone::x224_confirm, direction::from_server, std::nullopt},
      {milestone::first_app_data, direction::from_client, std::nullopt},
  };
  EXPECT_EQ(events, expected);
  EXPECT_TRUE(done);
}

TEST(StreamPhase, NotRdpWhenTheClientDoesNotStartWithTpkt) {
  const std::string http = "GET / HTTP/1.1\r\n\r\n";
  for (const auto& first : {byte_buffer(http.begin(), http.end()), record(22, 200, 1)}) {
    stream_phase::tracker tracker;
    std::vector<stream_phase::phase_event> events;
    tracker.feed(direction::from_client, first, events);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].what, milestone::not_rdp);
    EXPECT_FALSE(events[0].detail.empty());
    EXPECT_TRUE(tracker.done());
    EXPECT_EQ(tracker.buffered(), 0u);
    tracker.feed(direction::from_client, cr(0x01), events);  // ignored once done
    EXPECT_EQ(events.size(), 1u);
  }
}

TEST(StreamPhase, NotRdpForATpktFrameThatIsNotAConnectionRequest) {
  stream_phase::tracker tracker;
  std::vector<stream_phase::phase_event> events;
  tracker.feed(direction::from_client, x224::encode_data(byte_buffer(10, 1)), events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].what, milestone::not_rdp);
}

TEST(StreamPhase, AnOversizedFrameIsNotBuffered) {
  stream_phase::tracker tracker;
  std::vector<stream_phase::phase_event> events;
  tracker.feed(direction::from_client, byte_buffer{0x03, 0x00, 0xFF, 0xFF}, events);  // 65535 bytes announced
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].what, milestone::not_rdp);
  EXPECT_EQ(tracker.buffered(), 0u);
}

TEST(StreamPhase, GarbageWhereTlsRecordsShouldBeIsLost) {
  bool done = false;
  const auto events = run_whole({{direction::from_client, cr(0x01)},
                                 {direction::from_server, cc(0x01)},
                                 {direction::from_client, byte_buffer{0x16, 0x7F, 0x7F, 0x00, 0x10}}},
                                &done);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].what, milestone::lost);
  EXPECT_TRUE(done);
}

TEST(StreamPhase, AServerThatDoesNotConfirmIsLost) {
  stream_phase::tracker tracker;
  std::vector<stream_phase::phase_event> events;
  tracker.feed(direction::from_client, cr(0x01), events);
  tracker.feed(direction::from_server, byte_buffer{'S', 'S', 'H', '-'}, events);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].what, milestone::lost);
  EXPECT_EQ(events[1].from, direction::from_server);
}

TEST(StreamPhase, RandomBytesNeverOverrunTheBound) {
  std::mt19937 random(2024);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<std::size_t> size(1, 64);
  for (int round = 0; round < 500; ++round) {
    stream_phase::tracker tracker;
    std::vector<stream_phase::phase_event> events;
    // A valid start so the random part reaches the TLS walker too, half of the time.
    if (round % 2 == 0) {
      tracker.feed(direction::from_client, cr(0x01), events);
      tracker.feed(direction::from_server, cc(0x01), events);
    }
    for (int piece = 0; piece < 40 && !tracker.done(); ++piece) {
      byte_buffer bytes(size(random));
      for (auto& b : bytes) b = static_cast<std::uint8_t>(byte(random));
      if (piece == 0 && round % 4 == 0) bytes[0] = 0x16;
      tracker.feed(piece % 2 ? direction::from_server : direction::from_client, bytes, events);
      ASSERT_LE(tracker.buffered(), stream_phase::max_x224_frame + 12);
    }
    ASSERT_LE(events.size(), 8u);
  }
}

}  // namespace
