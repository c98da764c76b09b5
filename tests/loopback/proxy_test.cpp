// The fault proxy (proxy/fault_proxy.hpp) on loopback with real peers: plain sockets for the byte-level faults
// (what each side observes: data, silence, FIN or RST), and rdpsim with the product client for the phases.
#include "proxy_thread.hpp"
#include "rdp/proxy/fault_proxy.hpp"
#include "rdp/proxy/proxy_control.hpp"

#include "rdp/client/session.hpp"
#include "rdp/net/tls.hpp"
#include "run_command.hpp"
#include "sim_thread.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <future>
#include <mutex>
#include <thread>

namespace {

using namespace rdp;
namespace asio = net::asio;
using net::tcp;
using namespace std::chrono_literals;

using rdp::test::proxy_thread;
using rdp::test::observation;
using rdp::test::seen;
using rdp::test::wait_read;

// A client connected through the proxy and the upstream's accepted socket.
struct pair_through_proxy {
  asio::io_context io;
  tcp::acceptor upstream{io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)};
  tcp::socket client{io}, server{io};
};

proxy::proxy_config config_to(std::uint16_t upstream_port, proxy::fault_change faults = {}) {
  proxy::proxy_config c;
  c.upstream = {"127.0.0.1", upstream_port};
  c.initial = faults;
  c.record = true;
  return c;
}

void connect_pair(pair_through_proxy& p, std::uint16_t proxy_port) {
  p.client.connect(tcp::endpoint(asio::ip::address_v4::loopback(), proxy_port));
  p.upstream.accept(p.server);
}

void send(tcp::socket& s, std::string_view text) { asio::write(s, asio::buffer(text)); }

proxy::fault_change idle(std::chrono::milliseconds after, proxy::idle_expiry mode) {
  proxy::fault_change f;
  f.idle_timeout = std::optional<proxy::duration>(after);
  f.on_idle = mode;
  return f;
}

TEST(FaultProxy, PassesBytesBothWaysAndForwardsFin) {
  pair_through_proxy p;
  proxy_thread proxy(config_to(p.upstream.local_endpoint().port()));
  connect_pair(p, proxy.port());
  send(p.client, "hello");
  EXPECT_EQ(wait_read(p.server, 2s, 5).bytes, "hello");
  send(p.server, "world!");
  EXPECT_EQ(wait_read(p.client, 2s, 6).bytes, "world!");
  p.client.shutdown(tcp::socket::shutdown_send);
  EXPECT_EQ(wait_read(p.server, 2s).what, seen::fin);
  const auto closed = proxy.wait_event(proxy::event_kind::closed);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->who, proxy::closer::client);
  EXPECT_EQ(closed->how, proxy::close_how::fin);
  const auto c = proxy.counters();
  EXPECT_EQ(c.accepted, 1u);
  EXPECT_EQ(c.bytes_from_client, 5u);
  EXPECT_EQ(c.bytes_from_server, 6u);
  // The runner's mapping: rdpsim sees the proxy's upstream socket as its peer.
  const auto peer_port = p.server.remote_endpoint().port();
  EXPECT_EQ(proxy.call([&](proxy::fault_proxy& f) { return f.connection_by_upstream_port(peer_port); }),
            std::optional<proxy::connection_id>(1));
  // A non-RDP first byte is said once and the bytes still flow.
  EXPECT_TRUE(proxy.wait_event(proxy::event_kind::phase,
                               [](const proxy::proxy_event& e) { return e.detail.find("not-rdp") == 0; }));
}

TEST(FaultProxy, IdleDropIsSilenceBothWaysWithSocketsOpen) {
  pair_through_proxy p;
  proxy_thread proxy(config_to(p.upstream.local_endpoint().port(), idle(100ms, proxy::idle_expiry::drop)));
  connect_pair(p, proxy.port());
  send(p.client, "a");
  EXPECT_EQ(wait_read(p.server, 2s).bytes, "a");
  const auto expired = proxy.wait_event(proxy::event_kind::idle_expired);
  ASSERT_TRUE(expired);
  EXPECT_NE(expired->detail.find("userspace: the proxy's kernel still ACKs"), std::string::npos) << expired->detail;
  send(p.client, "lost");
  send(p.server, "lost too");
  EXPECT_EQ(wait_read(p.server, 300ms).what, seen::silence);
  EXPECT_EQ(wait_read(p.client, 300ms).what, seen::silence);
  const auto c = proxy.counters();
  EXPECT_EQ(c.idle_expiries, 1u);
  EXPECT_EQ(c.resets_to_client + c.resets_to_server, 0u);
  EXPECT_EQ(c.bytes_dropped, 12u);
}

TEST(FaultProxy, IdleResetAnswersTheSenderOnlyAndLeavesTheOtherSideSilent) {
  pair_through_proxy p;
  proxy_thread proxy(config_to(p.upstream.local_endpoint().port(), idle(100ms, proxy::idle_expiry::reset_sender)));
  connect_pair(p, proxy.port());
  ASSERT_TRUE(proxy.wait_event(proxy::event_kind::idle_expired));
  send(p.client, "late");
  EXPECT_EQ(wait_read(p.client, 2s).what, seen::reset);
  EXPECT_EQ(wait_read(p.server, 300ms).what, seen::silence) << "the server learns only when it sends";
  EXPECT_EQ(proxy.counters().resets_to_client, 1u);
  EXPECT_EQ(proxy.counters().resets_to_server, 0u);
  send(p.server, "later");
  EXPECT_EQ(wait_read(p.server, 2s).what, seen::reset);
  EXPECT_EQ(proxy.counters().resets_to_server, 1u);
}

TEST(FaultProxy, IdleResetBothResetsBothAtExpiry) {
  pair_through_proxy p;
  proxy_thread proxy(config_to(p.upstream.local_endpoint().port(), idle(100ms, proxy::idle_expiry::reset_both)));
  connect_pair(p, proxy.port());
  EXPECT_EQ(wait_read(p.client, 2s).what, seen::reset);
  EXPECT_EQ(wait_read(p.server, 2s).what, seen::reset);
  const auto c = proxy.counters();
  EXPECT_EQ(c.resets_to_client, 1u);
  EXPECT_EQ(c.resets_to_server, 1u);
}

TEST(FaultProxy, TrafficKeepsTheIdleTimeoutFromFiring) {
  pair_through_proxy p;
  // A timeout ten times the pause between packets, so a loaded machine's stall cannot fake a quiet second.
  proxy_thread proxy(config_to(p.upstream.local_endpoint().port(), idle(1s, proxy::idle_expiry::reset_both)));
  connect_pair(p, proxy.port());
  for (int i = 0; i < 25; ++i) {  // 25 × 100 ms, more than twice the timeout, never 1 s quiet
    send(p.client, "k");
    ASSERT_EQ(wait_read(p.server, 2s).bytes, "k");
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(proxy.counters().idle_expiries, 0u);
}

TEST(FaultProxy, IdleCountedFromAPhaseToldFromOutside) {
  pair_through_proxy p;
  auto once_active = idle(100ms, proxy::idle_expiry::reset_both);
  once_active.idle_from = proxy::phase::active;
  proxy_thread proxy(config_to(p.upstream.local_endpoint().port(), once_active));
  connect_pair(p, proxy.port());
  EXPECT_EQ(wait_read(p.client, 400ms).what, seen::silence) << "not active yet: no idle timeout";
  EXPECT_EQ(proxy.counters().idle_expiries, 0u);
  ASSERT_TRUE(proxy.call([](proxy::fault_proxy& f) { return f.tell_phase(1, proxy::phase::active); }));
  EXPECT_EQ(wait_read(p.client, 2s).what, seen::reset);
  EXPECT_EQ(wait_read(p.server, 2s).what, seen::reset);
  EXPECT_EQ(proxy.counters().idle_expiries, 1u);
  EXPECT_FALSE(proxy.call([](proxy::fault_proxy& f) { return f.tell_phase(1, proxy::phase::active); }))
      << "the connection is gone";
}

TEST(FaultProxy, JitterKeepsTheOrderOfChunks) {
  pair_through_proxy p;
  proxy::fault_change jittery;
  jittery.latency = 5ms;
  jittery.jitter = 30ms;
  proxy_thread proxy(config_to(p.upstream.local_endpoint().port(), jittery));
  connect_pair(p, proxy.port());
  std::string expected;
  for (int i = 0; i < 20; ++i) {
    const std::string chunk = std::to_string(i) + ",";
    expected += chunk;
    send(p.client, chunk);
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_EQ(wait_read(p.server, 5s, expected.size()).bytes, expected);
}

// The relay carries out the policy's altered chunk like any other (no code of its own for `corrupt`).
TEST(FaultProxy, CorruptInvertsTheMiddleByteOfTheNextServerChunkOnce) {
  pair_through_proxy p;
  proxy::fault_change spoil;
  spoil.corrupt = proxy::corrupt_target::from_server;
  proxy_thread proxy(config_to(p.upstream.local_endpoint().port(), spoil));
  connect_pair(p, proxy.port());
  send(p.client, "request");
  EXPECT_EQ(wait_read(p.server, 2s, 7).bytes, "request") << "the client's chunks pass untouched";
  send(p.server, "abcdefg");
  EXPECT_EQ(wait_read(p.client, 2s, 7).bytes, std::string("abc\x9b" "efg"));
  const auto note = proxy.wait_event(proxy::event_kind::fault_applied);
  ASSERT_TRUE(note);
  EXPECT_EQ(note->detail, "corrupt: byte 3 of a 7-byte chunk from the server inverted (0x64 to 0x9b)");
  send(p.server, "abcdefg");
  EXPECT_EQ(wait_read(p.client, 2s, 7).bytes, "abcdefg") << "once";
}

TEST(FaultProxy, ResetNowResetsBothSides) {
  pair_through_proxy p;
  proxy_thread proxy(config_to(p.upstream.local_endpoint().port()));
  connect_pair(p, proxy.port());
  send(p.client, "x");
  ASSERT_EQ(wait_read(p.server, 2s).bytes, "x");
  proxy::fault_change now;
  now.reset_now = true;
  EXPECT_TRUE(proxy.call([&](proxy::fault_proxy& f) { return f.apply(1, now); }));
  EXPECT_EQ(wait_read(p.client, 2s).what, seen::reset);
  EXPECT_EQ(wait_read(p.server, 2s).what, seen::reset);
  EXPECT_FALSE(proxy.call([&](proxy::fault_proxy& f) { return f.apply(99, now); })) << "no connection 99";
}

TEST(FaultProxy, BlackholeStopsForwardingAndKeepsSocketsUntilLifted) {
  pair_through_proxy p;
  proxy_thread proxy(config_to(p.upstream.local_endpoint().port()));
  connect_pair(p, proxy.port());
  proxy::fault_change hole;
  hole.blackhole = true;
  proxy.call([&](proxy::fault_proxy& f) {
    f.apply(hole);
    return 0;
  });
  send(p.client, "into the hole");
  EXPECT_EQ(wait_read(p.server, 300ms).what, seen::silence);
  EXPECT_EQ(wait_read(p.client, 50ms).what, seen::silence);
  hole.blackhole = false;
  proxy.call([&](proxy::fault_proxy& f) {
    f.apply(hole);
    return 0;
  });
  send(p.client, "back");
  EXPECT_EQ(wait_read(p.server, 2s, 4).bytes, "back");
}

TEST(FaultProxy, LatencyDelaysEachChunk) {
  pair_through_proxy p;
  proxy::fault_change slow;
  slow.latency = 150ms;
  proxy_thread proxy(config_to(p.upstream.local_endpoint().port(), slow));
  connect_pair(p, proxy.port());
  const auto start = std::chrono::steady_clock::now();
  send(p.client, "ping");
  ASSERT_EQ(wait_read(p.server, 3s, 4).bytes, "ping");
  send(p.server, "pong");
  ASSERT_EQ(wait_read(p.client, 3s, 4).bytes, "pong");
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms) << "150 ms each way";
}

TEST(FaultProxy, BandwidthLimitPacesTheBytes) {
  pair_through_proxy p;
  proxy::fault_change narrow;
  narrow.bandwidth = 20000;  // bytes per second
  narrow.slice = 1000;
  proxy_thread proxy(config_to(p.upstream.local_endpoint().port(), narrow));
  connect_pair(p, proxy.port());
  const auto start = std::chrono::steady_clock::now();
  send(p.client, std::string(10000, 'b'));
  ASSERT_EQ(wait_read(p.server, 5s, 10000).bytes.size(), 10000u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 400ms) << "10 kB at 20 kB/s";
}

TEST(FaultProxy, SlicesArriveAsSeparateSegments) {
  pair_through_proxy p;
  proxy::fault_change sliced;
  sliced.slice = 10;
  sliced.slice_delay = 30ms;
  proxy_thread proxy(config_to(p.upstream.local_endpoint().port(), sliced));
  connect_pair(p, proxy.port());
  send(p.client, std::string(50, 's'));
  // The first read gets what has arrived: with 30 ms between 10-byte slices, that is not all 50.
  const auto first = wait_read(p.server, 2s, 1);
  EXPECT_LT(first.bytes.size(), 50u);
  const auto rest = wait_read(p.server, 2s, 50 - first.bytes.size());
  EXPECT_EQ(first.bytes.size() + rest.bytes.size(), 50u);
}

TEST(FaultProxy, ListenerDownRefusesThenComesBack) {
  pair_through_proxy p;
  proxy_thread proxy(config_to(p.upstream.local_endpoint().port()));
  proxy::fault_change down;
  down.listener_down = 400ms;
  proxy.call([&](proxy::fault_proxy& f) {
    f.apply(down);
    return 0;
  });
  tcp::socket early(p.io);
  net::error_code ec;
  early.connect(tcp::endpoint(asio::ip::address_v4::loopback(), proxy.port()), ec);
  EXPECT_EQ(ec, asio::error::connection_refused) << ec.message();
  ASSERT_TRUE(proxy.wait_event(proxy::event_kind::listener_up, [](const proxy::proxy_event&) { return true; }, 3s));
  connect_pair(p, proxy.port());
  send(p.client, "up");
  EXPECT_EQ(wait_read(p.server, 2s, 2).bytes, "up");
}

TEST(FaultProxy, RefuseNewResetsAtAccept) {
  pair_through_proxy p;
  proxy::fault_change refuse;
  refuse.refuse_new = true;
  proxy_thread proxy(config_to(p.upstream.local_endpoint().port(), refuse));
  p.client.connect(tcp::endpoint(asio::ip::address_v4::loopback(), proxy.port()));
  EXPECT_EQ(wait_read(p.client, 2s).what, seen::reset);
  EXPECT_EQ(proxy.counters().refused, 1u);
  EXPECT_EQ(proxy.counters().accepted, 0u);
}

TEST(FaultProxy, UpstreamDownResetsTheClient) {
  std::uint16_t dead_port = 0;
  {
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    dead_port = a.local_endpoint().port();
  }
  proxy_thread proxy(config_to(dead_port));
  asio::io_context io;
  tcp::socket client(io);
  client.connect(tcp::endpoint(asio::ip::address_v4::loopback(), proxy.port()));
  EXPECT_EQ(wait_read(client, 3s).what, seen::reset);
  EXPECT_TRUE(proxy.wait_event(proxy::event_kind::upstream_failed));
  EXPECT_EQ(proxy.counters().upstream_failures, 1u);
}

TEST(FaultProxy, RecordsTheClientSideFlow) {
  pair_through_proxy p;
  proxy_thread proxy(config_to(p.upstream.local_endpoint().port()));
  connect_pair(p, proxy.port());
  send(p.client, "abc");
  ASSERT_EQ(wait_read(p.server, 2s, 3).bytes, "abc");
  send(p.server, "de");
  ASSERT_EQ(wait_read(p.client, 2s, 2).bytes, "de");
  p.client.shutdown(tcp::socket::shutdown_send);
  ASSERT_EQ(wait_read(p.server, 2s).what, seen::fin);
  p.server.shutdown(tcp::socket::shutdown_send);
  ASSERT_EQ(wait_read(p.client, 2s).what, seen::fin);
  std::vector<capture::tcp_flow> flows;
  for (int i = 0; i < 200 && flows.empty(); ++i) {
    auto more = proxy.call([](proxy::fault_proxy& f) { return f.take_flows(); });
    flows.insert(flows.end(), more.begin(), more.end());
    if (flows.empty()) std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(flows.size(), 1u);
  const auto& events = flows[0].events;
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].from, capture::direction::from_client);
  EXPECT_EQ(std::string(events[0].bytes.begin(), events[0].bytes.end()), "abc");
  EXPECT_EQ(events[1].from, capture::direction::from_server);
  EXPECT_EQ(std::string(events[1].bytes.begin(), events[1].bytes.end()), "de");
  EXPECT_EQ(events[2].kind, capture::flow_event_kind::fin);
  EXPECT_EQ(events[2].from, capture::direction::from_client);
  EXPECT_EQ(events[3].kind, capture::flow_event_kind::fin);
  EXPECT_EQ(events[3].from, capture::direction::from_server);
  EXPECT_EQ(flows[0].client.port, p.client.local_endpoint().port());
  EXPECT_EQ(flows[0].server.port, proxy.port());
}

TEST(FaultProxy, PassThroughSplicesWhenNothingNeedsTheBytes) {
  pair_through_proxy p;
  auto config = config_to(p.upstream.local_endpoint().port());
  config.record = false;  // recording needs the bytes in hand
  proxy_thread proxy(config);
  connect_pair(p, proxy.port());
  std::string up(1 << 20, '\0'), down(300000, '\0');
  for (std::size_t i = 0; i < up.size(); ++i) up[i] = static_cast<char>('a' + i % 23);
  for (std::size_t i = 0; i < down.size(); ++i) down[i] = static_cast<char>('A' + i % 19);
  std::thread writer([&] { asio::write(p.client, asio::buffer(up)); });
  EXPECT_EQ(wait_read(p.server, 10s, up.size()).bytes, up);
  writer.join();
  asio::write(p.server, asio::buffer(down));
  EXPECT_EQ(wait_read(p.client, 10s, down.size()).bytes, down);
  auto c = proxy.counters();
  EXPECT_EQ(c.bytes_from_client, up.size());
  EXPECT_EQ(c.bytes_from_server, down.size());
  EXPECT_GT(c.bytes_spliced, up.size() / 2) << "the bulk moved by splice(2), after the first read";
  // A fault that needs the bytes takes over from the splice at once.
  proxy::fault_change hole;
  hole.blackhole = true;
  proxy.call([&](proxy::fault_proxy& f) {
    f.apply(hole);
    return 0;
  });
  send(p.client, "swallowed");
  EXPECT_EQ(wait_read(p.server, 300ms).what, seen::silence);
  // And the end of a spliced stream is passed on as a FIN.
  hole.blackhole = false;
  proxy.call([&](proxy::fault_proxy& f) {
    f.apply(hole);
    return 0;
  });
  p.server.shutdown(tcp::socket::shutdown_send);
  EXPECT_EQ(wait_read(p.client, 2s).what, seen::fin);
}

TEST(FaultProxy, EventsAreJsonLines) {
  proxy::proxy_event e;
  e.connection = 7;
  e.at_us = 1234;
  e.kind = proxy::event_kind::closed;
  e.who = proxy::closer::proxy;
  e.how = proxy::close_how::rst;
  e.toward = proxy::closer::client;
  e.detail = "reset now";
  EXPECT_EQ(proxy::to_json_line(e),
            "{\"at_us\":1234,\"bytes_from_client\":0,\"bytes_from_server\":0,\"connection\":7,\"detail\":\"reset "
            "now\",\"event\":\"closed\",\"how\":\"rst\",\"phase\":null,\"toward\":\"client\",\"who\":\"proxy\"}\n");
}

// ---- The control commands and the command line ------------------------------------------------------------------

TEST(FaultProxyControl, AppliesFaultsListsConnectionsAndRefusesWhatIsWrong) {
  pair_through_proxy p;
  proxy_thread proxy(config_to(p.upstream.local_endpoint().port()));
  connect_pair(p, proxy.port());
  const std::string token(64, 'f');
  auto ask = [&](const std::string& line) {
    return proxy.call([&](proxy::fault_proxy& f) { return proxy::handle_proxy_control_line(f, token, line); });
  };
  const auto bad_token = ask(R"({"token":"nope","command":"counters"})");
  EXPECT_FALSE(bad_token.authenticated);
  EXPECT_TRUE(bad_token.close);
  EXPECT_EQ(bad_token.response["error"], "bad token");
  const auto malformed = ask("{not json");
  EXPECT_TRUE(malformed.close);
  EXPECT_FALSE(malformed.response["ok"].get<bool>());

  const std::string t = R"("token":")" + token + R"(")";
  for (int i = 0; i < 100 && proxy.counters().open == 0; ++i) std::this_thread::sleep_for(10ms);
  const auto list = ask("{" + t + R"(,"command":"connections"})");
  ASSERT_TRUE(list.response["ok"].get<bool>()) << list.response.dump();
  ASSERT_EQ(list.response["connections"].size(), 1u);
  EXPECT_EQ(list.response["connections"][0]["upstream_port"].get<std::uint16_t>(), p.server.remote_endpoint().port());

  const auto unknown = ask("{" + t + R"(,"command":"faults","set":{"latency_ms":"fast"}})");
  EXPECT_FALSE(unknown.response["ok"].get<bool>());
  EXPECT_NE(unknown.response["error"].get<std::string>().find("latency_ms"), std::string::npos);
  EXPECT_FALSE(unknown.close) << "a refused command keeps an authenticated connection";
  const auto none = ask("{" + t + R"(,"command":"faults","connection":42,"set":{"reset_now":true}})");
  EXPECT_EQ(none.response["error"], "no live connection 42");

  const auto reset = ask("{" + t + R"(,"command":"faults","connection":1,"set":{"reset_now":true}})");
  EXPECT_TRUE(reset.response["ok"].get<bool>()) << reset.response.dump();
  EXPECT_EQ(wait_read(p.client, 2s).what, seen::reset);
  EXPECT_EQ(wait_read(p.server, 2s).what, seen::reset);
}

TEST(FaultProxyControl, FaultChangeFromJsonReadsEveryMember) {
  proxy::fault_change f;
  std::string why;
  ASSERT_TRUE(proxy::fault_change_from_json(
      nlohmann::json::parse(R"({"idle_timeout_ms":30000,"on_idle":"reset-both","idle_from":"active","latency_ms":5,
        "jitter_ms":2,"bandwidth":1000,"slice":10,"slice_delay_ms":3,"reset_at":"tls-established",
        "reset_after_ms":200,"blackhole":false,"listener_down_ms":100,"refuse_new":true,"reset_now":true})"),
      f, &why))
      << why;
  EXPECT_EQ(proxy::describe(f),
            "idle-timeout 30s, on-idle reset-both, idle-from active, latency 5ms, jitter 2ms, bandwidth 1000 B/s, "
            "slice 10 B, slice-delay 3ms, reset now, reset at tls-established, reset after 200ms, no blackhole, "
            "listener down 100ms, refuse new");
  ASSERT_TRUE(proxy::fault_change_from_json(nlohmann::json::parse(R"({"idle_timeout_ms":null})"), f, &why));
  EXPECT_EQ(proxy::describe(f), "no idle-timeout");
  EXPECT_FALSE(proxy::fault_change_from_json(nlohmann::json::parse(R"({"reset_at":"lunch"})"), f, &why));
  EXPECT_NE(why.find("reset_at"), std::string::npos);
  EXPECT_FALSE(proxy::fault_change_from_json(nlohmann::json::parse(R"({"latency_ms":-1})"), f, &why));
  EXPECT_FALSE(proxy::fault_change_from_json(nlohmann::json::parse("[]"), f, &why));
  // A bandwidth as text is a rate of the tools' one grammar (net::read_rate), as in a scenario file.
  ASSERT_TRUE(proxy::fault_change_from_json(nlohmann::json::parse(R"({"bandwidth":"10Mbit/s"})"), f, &why)) << why;
  EXPECT_EQ(f.bandwidth, std::optional<std::uint64_t>(1250000));
  EXPECT_FALSE(proxy::fault_change_from_json(nlohmann::json::parse(R"({"bandwidth":"10Mbit"})"), f, &why));
  EXPECT_EQ(why, "'bandwidth': '10Mbit' is not a rate: a size with a unit says how much, not how fast: write "
                 "'10Mbit/s'");
  EXPECT_FALSE(proxy::fault_change_from_json(nlohmann::json::parse(R"({"bandwidth":-5})"), f, &why));
}

TEST(FaultProxyCli, BadFlagsAreNamedWithExitTwo) {
  for (const std::string flags : {"--upstream 127.0.0.1:1 --latency 5q", "--upstream 127.0.0.1:1 --reset-after 1s",
                                  "--upstream 127.0.0.1:1 --on-idle sometimes --idle-timeout 1s",
                                  "--upstream 127.0.0.1:1 --reset-at lunch", "--upstream nowhere:99999",
                                  "--upstream 127.0.0.1:1 --control 10.0.0.1:5"}) {
    const auto r = test::run_command(std::string(RDPSIM_BIN) + " proxy " + flags + " 2>&1");
    EXPECT_EQ(r.status, 2) << flags << ": " << r.output;
    EXPECT_NE(r.output.find("rdpsim"), std::string::npos) << flags << ": " << r.output;
  }
}

// ---- With rdpsim and the product client -------------------------------------------------------------------------

sim::server_config sim_config() {
  sim::server_config config;
  config.identity = net::make_self_signed(net::key_kind::ecdsa, "rdpsim-proxy-test");
  return config;
}

client::session_options through(std::uint16_t port) {
  client::session_options o;
  o.port = port;
  o.deadlines.step = 5000ms;
  o.deadlines.hold = 5000ms;
  return o;
}

TEST(FaultProxyRdp, FollowsThePhasesOfARealSession) {
  test::sim_thread sim(sim_config());
  proxy_thread proxy(config_to(sim.port()));
  auto context = client::make_client_context();
  auto options = through(proxy.port());
  options.hold = false;
  const auto result = client::run_session_blocking(context, options);
  ASSERT_TRUE(result.active()) << result.failure;
  for (auto p : {proxy::phase::connected, proxy::phase::x224_request, proxy::phase::x224_confirm,
                 proxy::phase::tls_client_hello, proxy::phase::tls_established, proxy::phase::first_app_data})
    EXPECT_TRUE(proxy.wait_event(proxy::event_kind::phase,
                                 [p](const proxy::proxy_event& e) { return e.reached == p; }))
        << proxy::to_string(p);
}

TEST(FaultProxyRdp, ResetAfterTlsEstablishedEndsTheSessionWithAReset) {
  test::sim_thread sim(sim_config());
  proxy::fault_change at_phase;
  at_phase.reset_at_phase = proxy::phase::tls_established;
  at_phase.reset_after = 200ms;
  proxy_thread proxy(config_to(sim.port(), at_phase));
  auto context = client::make_client_context();
  const auto result = client::run_session_blocking(context, through(proxy.port()));
  EXPECT_TRUE(result.server_closed) << result.error.message();
  EXPECT_EQ(result.error, asio::error::connection_reset) << result.error.message();
  EXPECT_FALSE(result.error_info) << "a reset, not a server's goodbye";
  const auto c = proxy.counters();
  EXPECT_EQ(c.resets_to_client, 1u);
  EXPECT_EQ(c.resets_to_server, 1u);
}

TEST(FaultProxyRdp, AResetToldAtActiveFiresThen) {
  test::sim_thread sim(sim_config());
  proxy::fault_change at_active;
  at_active.reset_at_phase = proxy::phase::active;
  proxy_thread proxy(config_to(sim.port(), at_active));
  auto context = client::make_client_context();
  auto options = through(proxy.port());
  std::thread runner([&] {
    client::run_session_blocking(context, options);
  });
  // The runner's part: the session is active (here: the proxy's connection has seen first application data and the
  // client its Font Map; tell it as rdpsim's event would).
  ASSERT_TRUE(proxy.wait_event(proxy::event_kind::phase, [](const proxy::proxy_event& e) {
    return e.reached == proxy::phase::first_app_data;
  }));
  EXPECT_EQ(proxy.counters().resets_to_client, 0u) << "nothing fires before it is told";
  EXPECT_TRUE(proxy.call([](proxy::fault_proxy& f) { return f.tell_phase(1, proxy::phase::active); }));
  runner.join();
  EXPECT_EQ(proxy.counters().resets_to_client, 1u);
}

}  // namespace
