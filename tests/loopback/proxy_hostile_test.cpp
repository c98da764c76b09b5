// The fault proxy (proxy/fault_proxy.hpp) against hostile or unlucky use (issue 24, items 4, 5 and 12): idle clients
// that fill its slots and never answer a FIN, a fault lifted while data waits on it, and another process that takes
// the proxy's port while its listener is down. Plain sockets on loopback; every wait is bounded.
#include "proxy_thread.hpp"
#include "wait_until.hpp"
#include "rdp/protocol/x224.hpp"
#include "rdp/proxy/fault_proxy.hpp"
#include "rdp/proxy/proxy_control.hpp"
#include "run_command.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

namespace {

using namespace rdp;
namespace asio = net::asio;
using net::tcp;
using namespace std::chrono_literals;
using test::proxy_thread;
using test::seen;
using test::wait_read;

proxy::proxy_config config_to(std::uint16_t upstream_port) {
  proxy::proxy_config c;
  c.upstream = {"127.0.0.1", upstream_port};
  return c;
}

// A client socket bound to `source` (any address of 127/8 is loopback on Linux), connected to the proxy.
std::unique_ptr<tcp::socket> client_from(asio::io_context& io, const char* source, std::uint16_t port) {
  auto s = std::make_unique<tcp::socket>(io);
  s->open(tcp::v4());
  s->bind(tcp::endpoint(asio::ip::make_address(source), 0));
  s->connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
  return s;
}

// The upstream's side of the next relayed connection, if the proxy makes one within `limit`.
std::unique_ptr<tcp::socket> accept_within(tcp::acceptor& upstream, std::chrono::milliseconds limit) {
  pollfd p{upstream.native_handle(), POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return nullptr;
  auto s = std::make_unique<tcp::socket>(upstream.get_executor());
  upstream.accept(*s);
  return s;
}

void send(tcp::socket& s, std::string_view text) { asio::write(s, asio::buffer(text)); }

void send_bytes(tcp::socket& s, const protocol::byte_buffer& bytes) { asio::write(s, asio::buffer(bytes)); }

// An X.224 Connection Request as rdpprobe sends it (TLS and CredSSP requested).
protocol::byte_buffer connection_request(std::uint16_t src_ref) {
  protocol::x224::connection_request cr;
  cr.cookie = "probe";
  cr.negotiation = protocol::neg_request{0, protocol::to_bits(protocol::security_protocol::ssl) |
                                                protocol::to_bits(protocol::security_protocol::hybrid)};
  cr.src_ref = src_ref;
  return protocol::x224::encode(cr).value();
}

// Waits, bounded, until `pred(counters)` holds; the last counters seen either way.
template <class Pred>
proxy::proxy_counters wait_counters(proxy_thread& proxy, Pred pred, std::chrono::milliseconds limit = 5s) {
  auto c = proxy.counters();
  rdp::test::wait_until([&] { return pred(c = proxy.counters()); }, limit);
  return c;
}

std::size_t open_descriptors() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// What a busy refusal looks like to an RDP client: an X.224 Disconnect Request answering its request, then FIN.
void expect_busy_answer(tcp::socket& client, std::uint16_t src_ref) {
  send_bytes(client, connection_request(src_ref));
  const auto answer = wait_read(client, 3s, 11);
  ASSERT_EQ(answer.what, seen::data) << "a refused RDP client is answered, not reset and not left in silence";
  const protocol::byte_buffer bytes(answer.bytes.begin(), answer.bytes.end());
  const auto dr = protocol::x224::decode_disconnect_request(bytes);
  ASSERT_TRUE(dr.has_value()) << "not an X.224 Disconnect Request: " << answer.bytes.size() << " bytes";
  EXPECT_EQ(dr->value.reason, 1) << "ITU-T X.224 13.5.3: congestion at TSAP";
  EXPECT_EQ(dr->value.dst_ref, src_ref) << "the DR names the request it answers";
  EXPECT_EQ(wait_read(client, 3s).what, seen::fin);
}

// ---- Item 4: slots per source, a busy answer, half-closed flows -------------------------------------------------

TEST(ProxyHostile, PerSourceLimitAnswersBusyWhileAnotherSourceGetsThrough) {
  asio::io_context io;
  tcp::acceptor upstream(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  auto config = config_to(upstream.local_endpoint().port());
  config.max_connections_per_source = 2;
  config.max_connections = 8;
  config.refusal_timeout = 300ms;
  proxy_thread proxy(config);

  std::vector<std::unique_ptr<tcp::socket>> idle, relayed;
  for (int i = 0; i < 2; ++i) {
    idle.push_back(client_from(io, "127.0.0.1", proxy.port()));
    relayed.push_back(accept_within(upstream, 3s));
    ASSERT_TRUE(relayed.back()) << "connection " << i << " within the limit is relayed";
  }
  auto over = client_from(io, "127.0.0.1", proxy.port());
  expect_busy_answer(*over, 0x4321);
  EXPECT_FALSE(accept_within(upstream, 100ms)) << "a refused client is not relayed";

  // A client that says nothing (or nothing RDP) is closed with a FIN after refusal_timeout: still not a reset.
  auto silent = client_from(io, "127.0.0.1", proxy.port());
  EXPECT_EQ(wait_read(*silent, 3s).what, seen::fin);

  const auto refused = proxy.wait_event(proxy::event_kind::refused, [](const proxy::proxy_event& e) {
    return e.detail.find("per-source limit 2 reached for 127.0.0.1") != std::string::npos;
  });
  ASSERT_TRUE(refused) << "the event says which limit and for whom";

  // Another source still has its slots.
  auto other = client_from(io, "127.0.0.2", proxy.port());
  auto other_relayed = accept_within(upstream, 3s);
  ASSERT_TRUE(other_relayed) << "127.0.0.2 is not held back by 127.0.0.1's slots";
  send(*other, "hello");
  EXPECT_EQ(wait_read(*other_relayed, 3s, 5).bytes, "hello");

  const auto c = proxy.counters();
  EXPECT_EQ(c.accepted, 3u);
  EXPECT_EQ(c.refused, 2u);
  EXPECT_EQ(c.refused_source_limit, 2u);
  EXPECT_EQ(c.refused_overall_limit, 0u);
  EXPECT_EQ(c.resets_to_client, 0u) << "a busy refusal is not a reset (that is refuse_new)";
}

TEST(ProxyHostile, OverallLimitAnswersBusyAndSaysSo) {
  asio::io_context io;
  tcp::acceptor upstream(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  auto config = config_to(upstream.local_endpoint().port());
  config.max_connections = 2;
  config.refusal_timeout = 300ms;
  proxy_thread proxy(config);
  auto a = client_from(io, "127.0.0.1", proxy.port());
  auto b = client_from(io, "127.0.0.2", proxy.port());
  ASSERT_TRUE(wait_counters(proxy, [](const proxy::proxy_counters& c) { return c.open == 2; }).open == 2);
  auto c = client_from(io, "127.0.0.3", proxy.port());
  expect_busy_answer(*c, 7);
  EXPECT_TRUE(proxy.wait_event(proxy::event_kind::refused, [](const proxy::proxy_event& e) {
    return e.detail.find("overall limit 2 reached") != std::string::npos;
  }));
  EXPECT_EQ(proxy.counters().refused_overall_limit, 1u);
}

TEST(ProxyHostile, AFlowTheServerClosedIsClosedAfterTheGraceAndItsDescriptorsGo) {
  asio::io_context io;
  tcp::acceptor upstream(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  auto config = config_to(upstream.local_endpoint().port());
  config.half_close_timeout = 300ms;
  proxy_thread proxy(config);
  auto client = client_from(io, "127.0.0.1", proxy.port());
  auto server = accept_within(upstream, 3s);
  ASSERT_TRUE(server);
  ASSERT_EQ(wait_counters(proxy, [](const proxy::proxy_counters& c) { return c.open == 1; }).open, 1u);
  // Counted with the flow up: the test's two sockets and the proxy's two.
  const auto with_flow = open_descriptors();

  // The server closes its side (as rdpsim did); the idle client never follows.
  server.reset();
  EXPECT_EQ(wait_read(*client, 3s).what, seen::fin) << "the server's FIN is passed on";
  const auto after = wait_counters(proxy, [](const proxy::proxy_counters& c) { return c.open == 0; });
  EXPECT_EQ(after.open, 0u) << "a half-closed flow does not outlive the grace";
  EXPECT_EQ(after.half_close_expiries, 1u);
  const auto closed = proxy.wait_event(proxy::event_kind::closed, [](const proxy::proxy_event& e) {
    return e.who == proxy::closer::proxy && e.how == proxy::close_how::deadline && e.toward == proxy::closer::client;
  });
  ASSERT_TRUE(closed) << "the proxy says it closed the flow, and why";
  EXPECT_NE(closed->detail.find("half-closed"), std::string::npos) << closed->detail;
  // The proxy's two sockets are gone, and the test's server socket; the test's client socket remains.
  std::size_t now = open_descriptors();
  rdp::test::wait_until([&] { return (now = open_descriptors()) + 3 == with_flow; }, 3s);
  EXPECT_EQ(now + 3, with_flow);
}

TEST(ProxyHostile, AHalfClosedFlowStaysWhileTheOpenSideStillSends) {
  asio::io_context io;
  tcp::acceptor upstream(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  auto config = config_to(upstream.local_endpoint().port());
  config.half_close_timeout = 500ms;
  proxy_thread proxy(config);
  auto client = client_from(io, "127.0.0.1", proxy.port());
  auto server = accept_within(upstream, 3s);
  ASSERT_TRUE(server);
  client->shutdown(tcp::socket::shutdown_send);  // the client has said all it will say, and still reads
  ASSERT_EQ(wait_read(*server, 3s).what, seen::fin);
  // Five sends 100 ms apart (more than the grace in all, never a quiet grace): the answer keeps flowing.
  std::string got;
  for (int i = 0; i < 5; ++i) {
    send(*server, "x");
    got += wait_read(*client, 3s, 1).bytes;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(got, "xxxxx");
  EXPECT_EQ(proxy.counters().half_close_expiries, 0u);
  server->shutdown(tcp::socket::shutdown_send);
  EXPECT_EQ(wait_read(*client, 3s).what, seen::fin);
  EXPECT_EQ(wait_counters(proxy, [](const proxy::proxy_counters& c) { return c.open == 0; }).open, 0u);
}

TEST(ProxyHostile, CliLimitsAndGracesMustBePositive) {
  for (const std::string flags : {"--max-connections-per-source 0", "--max-connections 0", "--half-close-timeout 0s",
                                  "--refusal-timeout 0ms", "--max-connections-per-source many"}) {
    const auto r = test::run_command(std::string(RDPSIM_BIN) + " proxy --upstream 127.0.0.1:1 --no-control " + flags +
                                     " 2>&1");
    EXPECT_EQ(r.status, 2) << flags << ": " << r.output;
    EXPECT_NE(r.output.find(flags.substr(0, flags.find(' '))), std::string::npos) << flags << ": " << r.output;
  }
}

// ---- Item 5: a change of fault applies to what is queued --------------------------------------------------------

void apply_all(proxy_thread& proxy, const proxy::fault_change& change) {
  proxy.call([&](proxy::fault_proxy& f) {
    f.apply(change);
    return 0;
  });
}

proxy::fault_change bandwidth(std::uint64_t bytes_per_second) {
  proxy::fault_change f;
  f.bandwidth = bytes_per_second;
  return f;
}

TEST(ProxyHostile, LiftingTheBandwidthFreesWhatWaitsOnTheOldRate) {
  asio::io_context io;
  tcp::acceptor upstream(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  auto config = config_to(upstream.local_endpoint().port());
  config.initial = bandwidth(1);
  proxy_thread proxy(config);
  auto client = client_from(io, "127.0.0.1", proxy.port());
  auto server = accept_within(upstream, 3s);
  ASSERT_TRUE(server);

  // 1 B/s: 100 bytes go at once and book the next 100 s; what follows waits on them.
  send(*client, std::string(100, 'a'));
  ASSERT_EQ(wait_read(*server, 3s, 100).bytes.size(), 100u);
  send(*client, "queued");
  ASSERT_EQ(wait_read(*server, 300ms).what, seen::silence) << "the rate holds it";
  apply_all(proxy, bandwidth(0));
  EXPECT_EQ(wait_read(*server, 3s, 6).bytes, "queued") << "lifting the rate frees it";

  // 1 B/s again, then straight to 1 MB/s: the new rate starts afresh, not after the old one's booking.
  apply_all(proxy, bandwidth(1));
  send(*client, std::string(100, 'b'));
  ASSERT_EQ(wait_read(*server, 3s, 100).bytes.size(), 100u);
  send(*client, "again");
  ASSERT_EQ(wait_read(*server, 300ms).what, seen::silence);
  apply_all(proxy, bandwidth(1'000'000));
  EXPECT_EQ(wait_read(*server, 3s, 5).bytes, "again");
  send(*client, "later");
  EXPECT_EQ(wait_read(*server, 3s, 5).bytes, "later");
}

TEST(ProxyHostile, LiftingADayOfLatencyFreesWhatWaitsOnIt) {
  asio::io_context io;
  tcp::acceptor upstream(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  auto config = config_to(upstream.local_endpoint().port());
  config.initial.latency = std::chrono::milliseconds(86'400'000);
  proxy_thread proxy(config);
  auto client = client_from(io, "127.0.0.1", proxy.port());
  auto server = accept_within(upstream, 3s);
  ASSERT_TRUE(server);
  send(*client, "late");
  ASSERT_EQ(wait_read(*server, 300ms).what, seen::silence) << "a day of latency holds it";
  // Shortened first: the chunk is due 50 ms after it arrived, long past, so it goes at once.
  proxy::fault_change shorter;
  shorter.latency = 50ms;
  apply_all(proxy, shorter);
  EXPECT_EQ(wait_read(*server, 3s, 4).bytes, "late");
  // And a day again, lifted to none, for the other direction.
  proxy::fault_change day;
  day.latency = std::chrono::milliseconds(86'400'000);
  apply_all(proxy, day);
  send(*server, "back");
  ASSERT_EQ(wait_read(*client, 300ms).what, seen::silence);
  proxy::fault_change none;
  none.latency = 0ms;
  apply_all(proxy, none);
  EXPECT_EQ(wait_read(*client, 3s, 4).bytes, "back");
}

// ---- Item 12: the listener comes back even if its port was taken meanwhile --------------------------------------

TEST(ProxyHostile, ListenerRetriesWhileItsPortIsTakenAndSaysSo) {
  asio::io_context io;
  tcp::acceptor upstream(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  proxy_thread proxy(config_to(upstream.local_endpoint().port()));
  const tcp::endpoint where(asio::ip::address_v4::loopback(), proxy.port());
  proxy::fault_change down;
  down.listener_down = 300ms;
  apply_all(proxy, down);
  // Another process takes the port while the proxy's listener is closed.
  auto squatter = std::make_unique<tcp::acceptor>(io, where);

  const auto failed = proxy.wait_event(proxy::event_kind::listener_failed, [](const proxy::proxy_event&) { return true; }, 5s);
  ASSERT_TRUE(failed) << "the failure is said as a failure";
  EXPECT_NE(failed->detail.find("cannot listen"), std::string::npos) << failed->detail;
  for (const auto& e : proxy.events())
    EXPECT_NE(e.kind, proxy::event_kind::listener_up) << "listener-up only when it listens: " << e.detail;
  auto c = proxy.counters();
  EXPECT_FALSE(c.listening);
  EXPECT_GE(c.listener_failures, 1u);
  EXPECT_NE(c.listener_error.find("cannot listen"), std::string::npos) << c.listener_error;

  // The control interface tells the same.
  const std::string token(64, 't');
  const auto answer = proxy.call([&](proxy::fault_proxy& f) {
    return proxy::handle_proxy_control_line(f, token, R"({"token":")" + token + R"(","command":"counters"})");
  });
  ASSERT_TRUE(answer.response["ok"].get<bool>()) << answer.response.dump();
  EXPECT_FALSE(answer.response["listener"]["listening"].get<bool>()) << answer.response.dump();
  EXPECT_TRUE(answer.response["listener"]["last_error"].is_string()) << answer.response.dump();

  // Still trying: a second failure comes after the first, while the port stays taken.
  EXPECT_TRUE(proxy.wait_event(proxy::event_kind::listener_failed,
                               [&](const proxy::proxy_event& e) { return e.at_us > failed->at_us; }, 5s));

  squatter.reset();  // the port is free again
  ASSERT_TRUE(proxy.wait_event(proxy::event_kind::listener_up, [](const proxy::proxy_event&) { return true; }, 10s))
      << "the proxy listens again once it can";
  EXPECT_TRUE(proxy.counters().listening);
  tcp::socket client(io);
  client.connect(where);
  auto server = accept_within(upstream, 3s);
  ASSERT_TRUE(server);
  send(client, "up");
  EXPECT_EQ(wait_read(*server, 3s, 2).bytes, "up");
}

}  // namespace
