// probe_standard_security against scripted peers over real loopback sockets: a well-behaved Standard RDP Security
// server built from the protocol encoders, servers that misbehave after the Connect-Initial (the test's own tiny
// acceptor), and the non-RDP / hostile listeners of scripted_listener before it.
#include "rdp/net/spawn.hpp"
#include "rdp/net/deadline.hpp"
#include "rdp/probe/scanner.hpp"
#include "rdp/probe/standard_security.hpp"
#include "rdp/protocol/gcc.hpp"
#include "rdp/protocol/mcs.hpp"
#include "rdp/protocol/tpkt.hpp"
#include "rdp/protocol/x224.hpp"

#include "scripted_listener.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <mutex>
#include <optional>
#include <thread>

namespace {

using namespace rdp;
namespace asio = net::asio;
namespace gcc = protocol::gcc;
using net::tcp;
using namespace std::chrono_literals;

// What the acceptor does once it has read the Connect-Initial.
enum class after_initial {
  answer,            // a Connect-Response selecting 128-bit RC4 at level High, whatever was offered (as xrdp does)
  answer_echo,       // a Connect-Response selecting exactly the one method offered (a Windows-like server)
  no_security_block, // a Connect-Response without SC_SECURITY
  huge_frame,        // a TPKT header announcing 65535 bytes, a few of them, then silence
  garbage_frame,     // a whole TPKT frame of X.224 data that is not MCS
  dpu,               // MCS Disconnect Provider Ultimatum (xrdp without its RSA key)
  dribble,           // a valid Connect-Response, one byte every 200 ms
  silent,            // nothing
  close,             // FIN
};

struct recorded {
  std::vector<protocol::x224::connection_request> requests;
  std::vector<protocol::mcs::connect_initial> initials;
  int goodbyes = 0;  // X.224 Disconnect Requests received after the exchange
};

asio::awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(net::use_tuple);
}

// Reads one whole TPKT frame (2 s bound); empty on any error.
asio::awaitable<protocol::byte_buffer> read_one_frame(tcp::socket& s) {
  protocol::byte_buffer frame(4);
  auto [ec, n] = co_await net::with_deadline(asio::async_read(s, asio::buffer(frame), net::use_tuple), 2s);
  if (ec || frame[0] != 3) co_return protocol::byte_buffer{};
  const std::size_t length = (std::size_t{frame[2]} << 8) | frame[3];
  if (length < 4) co_return protocol::byte_buffer{};
  frame.resize(length);
  auto [ec2, n2] = co_await net::with_deadline(
      asio::async_read(s, asio::buffer(frame.data() + 4, length - 4), net::use_tuple), 2s);
  if (ec2) co_return protocol::byte_buffer{};
  co_return frame;
}

asio::awaitable<net::error_code> send(tcp::socket& s, const protocol::byte_buffer& bytes) {
  auto [ec, n] = co_await net::with_deadline(asio::async_write(s, asio::buffer(bytes), net::use_tuple), 2s);
  co_return ec;
}

// A Connect-Response like xrdp's at crypt_level=high (docs/wire-vectors.md 4.3), built from fields.
protocol::byte_buffer connect_response(std::uint32_t method, bool with_security = true) {
  protocol::mcs::connect_response cr;
  cr.parameters = {22, 3, 0, 1, 0, 1, 65528, 2};
  cr.user_data.server.core = gcc::server_core_data{0x0008000C, std::nullopt, std::nullopt};
  cr.user_data.server.network = gcc::server_network_data{1003, {}};
  if (with_security)
    cr.user_data.server.security = gcc::server_security_data{
        method, gcc::encryption_level::high, gcc::server_keys{protocol::byte_buffer(32, 0x5A), protocol::byte_buffer(64, 0x01)}};
  return protocol::mcs::encode(cr).value();
}

asio::awaitable<void> play(std::shared_ptr<tcp::socket> s, after_initial behaviour, std::shared_ptr<recorded> log,
                           std::shared_ptr<std::mutex> mutex) {
  net::error_code ignored;
  auto cr_frame = co_await read_one_frame(*s);
  auto cr = protocol::x224::decode_connection_request(cr_frame);
  if (!cr) co_return;
  {
    std::lock_guard lock(*mutex);
    log->requests.push_back(cr->value);
  }
  co_await send(*s, protocol::x224::encode(protocol::x224::connection_confirm{}));  // legacy CC, no RDP_NEG_RSP
  auto ci_frame = co_await read_one_frame(*s);
  auto ci = protocol::mcs::decode_connect_initial(ci_frame);
  if (!ci) co_return;
  {
    std::lock_guard lock(*mutex);
    log->initials.push_back(ci->value);
  }
  // Named buffers, not braced lists, in co_await expressions: GCC 12 rejects initializer lists in coroutine frames.
  const protocol::byte_buffer huge_header{0x03, 0x00, 0xFF, 0xFF, 0x02, 0xF0, 0x80, 0x7F, 0x66};
  const protocol::byte_buffer not_mcs{'H', 'T', 'T', 'P', '/', '1', '.', '1'};
  const protocol::byte_buffer xrdp_dpu{0x03, 0x00, 0x00, 0x09, 0x02, 0xF0, 0x80, 0x21, 0x80};  // XRDP-DPU
  const auto offered = ci->value.user_data.client.security ? ci->value.user_data.client.security->encryption_methods : 0;
  switch (behaviour) {
    case after_initial::answer: co_await send(*s, connect_response(gcc::encryption_method::bits128)); break;
    case after_initial::answer_echo: co_await send(*s, connect_response(offered)); break;
    case after_initial::no_security_block: co_await send(*s, connect_response(0, false)); break;
    case after_initial::huge_frame:
      co_await send(*s, huge_header);
      co_await pause(5s);
      break;
    case after_initial::garbage_frame:
      co_await send(*s, protocol::x224::encode_data(not_mcs));
      break;
    case after_initial::dpu: co_await send(*s, xrdp_dpu); break;
    case after_initial::dribble:
      for (auto b : connect_response(gcc::encryption_method::bits128)) {
        const protocol::byte_buffer one(1, b);
        if (co_await send(*s, one)) break;  // the client gave up
        co_await pause(200ms);
      }
      break;
    case after_initial::silent: co_await pause(5s); break;
    case after_initial::close: s->close(ignored); co_return;
  }
  // Whatever the client sends next: the X.224 Disconnect Request it owes us, or nothing.
  auto next = co_await read_one_frame(*s);
  if (protocol::x224::decode_disconnect_request(next)) {
    std::lock_guard lock(*mutex);
    ++log->goodbyes;
  }
  s->close(ignored);
}

asio::awaitable<void> accept_loop(std::shared_ptr<tcp::acceptor> acceptor, after_initial behaviour,
                                  std::shared_ptr<recorded> log, std::shared_ptr<std::mutex> mutex) {
  for (;;) {
    auto s = std::make_shared<tcp::socket>(acceptor->get_executor());
    auto [ec] = co_await acceptor->async_accept(*s, net::use_tuple);
    if (ec) co_return;
    net::spawn(acceptor->get_executor(), play(s, behaviour, log, mutex), "scripted RDP server: connection");
  }
}

// A loopback server that plays one behaviour to every connection, on its own thread.
class scripted_rdp_server {
 public:
  explicit scripted_rdp_server(after_initial behaviour)
      : acceptor_(std::make_shared<tcp::acceptor>(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0))) {
    port_ = acceptor_->local_endpoint().port();
    net::spawn(io_.get_executor(), accept_loop(acceptor_, behaviour, log_, mutex_), "scripted RDP server: accept loop");
    thread_ = std::thread([this] { io_.run(); });
  }
  ~scripted_rdp_server() {
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  recorded log() const {
    std::lock_guard lock(*mutex_);
    return *log_;
  }
  // The server records a connection's Disconnect Request after the client has moved on: wait for it (<= 2 s).
  recorded log_after_goodbyes(int expected) const {
    const auto until = net::clock::now() + 2s;
    auto current = log();
    while (current.goodbyes < expected && net::clock::now() < until) {
      std::this_thread::sleep_for(10ms);
      current = log();
    }
    return current;
  }

 private:
  asio::io_context io_;
  std::shared_ptr<tcp::acceptor> acceptor_;
  std::shared_ptr<recorded> log_ = std::make_shared<recorded>();
  std::shared_ptr<std::mutex> mutex_ = std::make_shared<std::mutex>();
  std::uint16_t port_ = 0;
  std::thread thread_;
};

struct timed_result {
  probe::standard_security_result result;
  double seconds = 0;
};

timed_result enumerate(std::uint16_t port, net::milliseconds read_timeout = 1000ms) {
  auto options = std::make_shared<probe::probe_options>();
  options->connect_timeout = 1000ms;
  options->read_timeout = read_timeout;
  options->cookie = "stdsec";
  asio::io_context io;
  std::optional<probe::standard_security_result> out;
  const auto start = net::clock::now();
  asio::co_spawn(io,
                 probe::probe_standard_security({tcp::endpoint(asio::ip::make_address("127.0.0.1"), port)}, options),
                 [&](std::exception_ptr e, probe::standard_security_result r) {
                   if (e) std::rethrow_exception(e);
                   out = std::move(r);
                 });
  io.run();
  return {std::move(*out), net::ms_since(start) / 1000.0};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// --- a server that answers ------------------------------------------------------------------------------------

TEST(StandardSecurityProbe, ReadsLevelMethodVersionAndSendsWhatNmapSends) {
  scripted_rdp_server server(after_initial::answer);
  const auto [r, seconds] = enumerate(server.port());
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.encryption_level, gcc::encryption_level::high);
  EXPECT_EQ(r.encryption_level_name, "High");
  EXPECT_EQ(r.selected_method, gcc::encryption_method::bits128);
  EXPECT_EQ(r.rdp_version, 0x0008000Cu);
  EXPECT_EQ(r.rdp_version_name, "RDP 10.7");
  EXPECT_TRUE(r.server_certificate_present);
  EXPECT_TRUE(r.mcs_ms);
  ASSERT_EQ(r.methods.size(), 4u);
  for (const auto& m : r.methods) EXPECT_EQ(m.accepted, m.method == gcc::encryption_method::bits128) << m.name;
  EXPECT_EQ(r.methods[0].detail, "server chose 128-bit RC4 instead");

  const auto log = server.log_after_goodbyes(5);
  ASSERT_EQ(log.requests.size(), 5u);
  ASSERT_EQ(log.initials.size(), 5u);
  for (const auto& cr : log.requests) {
    EXPECT_FALSE(cr.negotiation) << "Standard RDP Security is asked for without RDP_NEG_REQ";
    EXPECT_EQ(cr.cookie, "stdsec");
  }
  const std::uint32_t offered[] = {0x1B, 0x01, 0x08, 0x02, 0x10};
  for (std::size_t i = 0; i < 5; ++i) {
    const auto& client = log.initials[i].user_data.client;
    ASSERT_TRUE(client.core && client.security);
    EXPECT_EQ(client.security->encryption_methods, offered[i]);
    EXPECT_EQ(client.core->server_selected_protocol, 0u);
    EXPECT_EQ(client.core->early_capability_flags.value_or(0) & gcc::early_capability::support_errinfo_pdu,
              gcc::early_capability::support_errinfo_pdu);
  }
  EXPECT_EQ(log.goodbyes, 5);  // every exchange ends with an X.224 Disconnect Request

  const auto j = probe::to_json(r);
  EXPECT_EQ(j["encryption_level"], 3);
  EXPECT_EQ(j["encryption_level_name"], "High");
  EXPECT_EQ(j["selected_method_name"], "128-bit RC4");
  EXPECT_EQ(j["rdp_version"], "0x0008000C");
  EXPECT_EQ(j["methods"].size(), 4u);
  EXPECT_TRUE(j["error"].is_null());
  EXPECT_TRUE(j["early_capability_flags"].is_null());
}

TEST(StandardSecurityProbe, AServerThatHonoursTheOfferAcceptsEveryMethod) {
  scripted_rdp_server server(after_initial::answer_echo);
  const auto [r, seconds] = enumerate(server.port());
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_EQ(r.methods.size(), 4u);
  for (const auto& m : r.methods) {
    EXPECT_TRUE(m.accepted) << m.name << ": " << m.detail;
    EXPECT_EQ(m.detail, "accepted");
  }
}

// --- servers that misbehave after the Connect-Initial --------------------------------------------------------------

TEST(StandardSecurityProbe, ResponseWithoutSecurityData) {
  scripted_rdp_server server(after_initial::no_security_block);
  const auto [r, seconds] = enumerate(server.port());
  EXPECT_TRUE(contains(r.error, "no server security data")) << r.error;
  EXPECT_EQ(r.rdp_version, 0x0008000Cu);  // what could be read is kept
  EXPECT_FALSE(r.encryption_level);
  EXPECT_TRUE(r.methods.empty());
}

TEST(StandardSecurityProbe, HugeFrameIsRefusedAtItsHeader) {
  scripted_rdp_server server(after_initial::huge_frame);
  const auto [r, seconds] = enumerate(server.port(), 3000ms);
  EXPECT_TRUE(contains(r.error, "Connect-Response")) << r.error;
  // Refused when the header arrived: waiting for 64 KiB from a server that sends no more would end in "timed out".
  EXPECT_TRUE(contains(r.error, "above 16384 bytes")) << r.error;
}

TEST(StandardSecurityProbe, GarbageInsteadOfConnectResponse) {
  scripted_rdp_server server(after_initial::garbage_frame);
  const auto [r, seconds] = enumerate(server.port());
  EXPECT_TRUE(contains(r.error, "malformed Connect-Response")) << r.error;
  EXPECT_TRUE(r.methods.empty());
}

TEST(StandardSecurityProbe, DisconnectProviderUltimatumInsteadOfConnectResponse) {
  scripted_rdp_server server(after_initial::dpu);
  const auto [r, seconds] = enumerate(server.port());
  EXPECT_EQ(r.error, "server sent MCS Disconnect Provider Ultimatum (rn-user-requested) instead of a Connect-Response");
  // The same exchange is the session check in the clear.
  ASSERT_TRUE(r.session);
  EXPECT_EQ(r.session->over, "rdp");
  EXPECT_EQ(r.session->outcome, probe::session_outcome::disconnect_provider_ultimatum);
  EXPECT_EQ(r.session->disconnect_reason_name, "rn-user-requested");
}

TEST(StandardSecurityProbe, ServerThatAcceptsRdpThenHangsUpIsSessionError) {
  // A legacy Standard RDP Security server (CC without negotiation data) that answers the Connect-Initial with a DPU:
  // what xrdp does when it cannot read its RSA key (docs/wire-vectors.md 4.4).
  scripted_rdp_server server(after_initial::dpu);
  probe::probe_options options;
  options.read_timeout = 1000ms;
  const auto r = probe::probe_all({{"legacy", {"127.0.0.1", server.port()}}}, options, 1).at(0);
  EXPECT_EQ(r.result, probe::verdict::session_error) << r.evidence;
  EXPECT_EQ(r.evidence, "under Standard RDP Security, the MCS Connect-Initial got MCS Disconnect Provider Ultimatum "
                        "(rn-user-requested)");
  ASSERT_TRUE(r.session);
  EXPECT_EQ(r.session->over, "rdp");
  EXPECT_EQ(probe::to_json(r).at("session").at("outcome"), "disconnect-provider-ultimatum");
}

TEST(StandardSecurityProbe, CloseAfterConnectInitialIsASessionTeardown) {
  scripted_rdp_server server(after_initial::close);
  const auto [r, seconds] = enumerate(server.port());
  ASSERT_TRUE(r.session);
  EXPECT_EQ(r.session->outcome, probe::session_outcome::closed) << r.session->detail;
  EXPECT_TRUE(probe::tears_down(r.session->outcome));
}

TEST(StandardSecurityProbe, SilenceIsNoAnswerNotATeardown) {
  scripted_rdp_server server(after_initial::silent);
  const auto [r, seconds] = enumerate(server.port(), 300ms);
  ASSERT_TRUE(r.session);
  EXPECT_EQ(r.session->outcome, probe::session_outcome::no_answer);
  EXPECT_EQ(r.session->detail, "no answer within 300 ms");
  EXPECT_FALSE(probe::tears_down(r.session->outcome));
}

TEST(StandardSecurityProbe, DribbledResponseHitsOneDeadline) {
  scripted_rdp_server server(after_initial::dribble);
  const auto [r, seconds] = enumerate(server.port(), 800ms);
  // One deadline for the whole answer: with a deadline per read, a byte every few ms would never time out.
  EXPECT_EQ(r.error, "waiting for the Connect-Response: timed out");
}

TEST(StandardSecurityProbe, SilenceAfterConnectInitial) {
  scripted_rdp_server server(after_initial::silent);
  const auto [r, seconds] = enumerate(server.port(), 500ms);
  EXPECT_EQ(r.error, "waiting for the Connect-Response: timed out");
}

TEST(StandardSecurityProbe, CloseAfterConnectInitial) {
  scripted_rdp_server server(after_initial::close);
  const auto [r, seconds] = enumerate(server.port());
  EXPECT_TRUE(contains(r.error, "waiting for the Connect-Response")) << r.error;
  EXPECT_FALSE(r.encryption_level);
}

// --- listeners that are not RDP at all (scripted_listener) ----------------------------------------------------------

TEST(StandardSecurityProbe, RefusedConnection) {
  const auto [r, seconds] = enumerate(test::closed_port());
  EXPECT_TRUE(r.attempted);
  EXPECT_TRUE(contains(r.error, "TCP connect")) << r.error;
}

TEST(StandardSecurityProbe, HttpServer) {
  test::scripted_listener http(test::listener_behaviour::http_400);
  const auto [r, seconds] = enumerate(http.port());
  EXPECT_EQ(r.error, "waiting for the Connection Confirm: the answer is not TPKT");
}

TEST(StandardSecurityProbe, HugeTpktInsteadOfConnectionConfirm) {
  test::scripted_listener huge(test::listener_behaviour::huge_tpkt);
  const auto [r, seconds] = enumerate(huge.port(), 3000ms);
  EXPECT_TRUE(contains(r.error, "above 16384 bytes")) << r.error;
}

TEST(StandardSecurityProbe, EndlessDataIsCutOffAtTheCap) {
  test::scripted_listener endless(test::listener_behaviour::endless);
  const auto [r, seconds] = enumerate(endless.port(), 3000ms);
  // 03 5A 5A 5A…: a TPKT header announcing 0x5A5A bytes, above the cap.
  EXPECT_TRUE(contains(r.error, "above 16384 bytes")) << r.error;
}

TEST(StandardSecurityProbe, SilentListener) {
  test::scripted_listener silent(test::listener_behaviour::silent);
  const auto [r, seconds] = enumerate(silent.port(), 500ms);
  EXPECT_EQ(r.error, "waiting for the Connection Confirm: timed out");
}

TEST(StandardSecurityProbe, DribbledConnectionConfirm) {
  test::scripted_listener dribble(test::listener_behaviour::dribble);
  const auto [r, seconds] = enumerate(dribble.port(), 1500ms);
  EXPECT_EQ(r.error, "waiting for the Connection Confirm: timed out");
}

TEST(StandardSecurityProbe, ResetOnRequest) {
  test::scripted_listener reset(test::listener_behaviour::reset_on_data);
  const auto [r, seconds] = enumerate(reset.port());
  EXPECT_TRUE(contains(r.error, "waiting for the Connection Confirm")) << r.error;
  EXPECT_FALSE(r.encryption_level);
}

}  // namespace
