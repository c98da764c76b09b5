#include "scripted_listener.hpp"

#include "rdp/net/spawn.hpp"
#include "rdp/net/deadline.hpp"
#include "rdp/net/send.hpp"
#include "rdp/protocol/errinfo.hpp"
#include "rdp/protocol/share.hpp"
#include "rdp/protocol/x224.hpp"

#include <mutex>

namespace rdp::test {

struct scripted_tls_log {
  std::optional<net::asio::ssl::context> context;
  std::mutex mutex;
  int connect_initials = 0;
  std::optional<protocol::mcs::connect_initial> last;
};

namespace {

namespace asio = net::asio;
using net::tcp;

asio::awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(net::use_tuple);
}

// Every scripted write is a few bytes to a client on loopback, so a deadline only ends a script whose client stopped
// reading. A script ignores a failed write: what it plays next fails too, and the client under test reports it.
constexpr auto send_timeout = std::chrono::seconds(5);

asio::awaitable<void> read_request(tcp::socket& s) {
  std::array<char, 512> buf{};
  co_await net::with_deadline(s.async_read_some(asio::buffer(buf), net::use_tuple), std::chrono::seconds(5));
}

// One whole TPKT frame (2 s bound); empty on any error.
template <class Stream>
asio::awaitable<protocol::byte_buffer> read_frame(Stream& s) {
  protocol::byte_buffer frame(4);
  auto [ec, n] = co_await net::with_deadline(asio::async_read(s, asio::buffer(frame), net::use_tuple),
                                             std::chrono::seconds(2));
  if (ec || frame[0] != 3) co_return protocol::byte_buffer{};
  const std::size_t length = (std::size_t{frame[2]} << 8) | frame[3];
  if (length < 4) co_return protocol::byte_buffer{};
  frame.resize(length);
  auto [ec2, n2] = co_await net::with_deadline(
      asio::async_read(s, asio::buffer(frame.data() + 4, length - 4), net::use_tuple), std::chrono::seconds(2));
  if (ec2) co_return protocol::byte_buffer{};
  co_return frame;
}

// Reads until the client hangs up (at most 5 s), so what was sent is not destroyed by a reset over unread data.
template <class Stream>
asio::awaitable<void> drain(Stream& s) {
  std::array<char, 1024> buf{};
  const auto until = net::clock::now() + std::chrono::seconds(5);
  while (net::clock::now() < until) {
    auto [ec, n] = co_await net::with_deadline(s.async_read_some(asio::buffer(buf), net::use_tuple),
                                               std::chrono::seconds(5));
    if (ec) break;
  }
}

protocol::byte_buffer dpu_frame(protocol::mcs::disconnect_reason reason) {
  return protocol::x224::encode_data(protocol::mcs::encode(protocol::mcs::disconnect_provider_ultimatum{reason}));
}

asio::awaitable<void> play_tls(std::shared_ptr<tcp::socket> s, listener_behaviour b,
                               std::shared_ptr<scripted_tls_log> log) {
  net::error_code ignored;
  auto cr_frame = co_await read_frame(*s);
  auto cr = protocol::x224::decode_connection_request(cr_frame);
  if (!cr) co_return;
  const auto ssl = protocol::to_bits(protocol::security_protocol::ssl);
  const auto requested = cr->value.negotiation ? cr->value.negotiation->requested_protocols : 0u;
  protocol::x224::connection_confirm cc;
  const auto ssl_required = static_cast<std::uint32_t>(protocol::neg_failure_code::ssl_required_by_server);
  if (requested & ssl) {
    cc.negotiation = protocol::neg_response{0x01, ssl};
  } else {
    cc.negotiation = protocol::neg_failure{ssl_required};
  }
  co_await net::send(*s, protocol::x224::encode(cc), send_timeout);
  if (!(requested & ssl)) {
    co_await drain(*s);
    co_return;
  }
  asio::ssl::stream<tcp::socket&> tls(*s, *log->context);
  auto ec = co_await net::with_deadline(tls.async_handshake(asio::ssl::stream_base::server, net::use_tuple),
                                        std::chrono::seconds(5));
  if (ec) co_return;
  auto ci_frame = co_await read_frame(tls);
  auto ci = protocol::mcs::decode_connect_initial(ci_frame);
  if (!ci) co_return;  // the client left without one (only one connection per target carries the check)
  {
    std::lock_guard lock(log->mutex);
    ++log->connect_initials;
    log->last = ci->value;
  }
  switch (b) {
    case listener_behaviour::tls_then_connect_response: {
      protocol::mcs::connect_response response;
      auto& server = response.user_data.server;
      server.core = protocol::gcc::server_core_data{protocol::gcc::rdp_version::rdp10_7, requested,
                                                    protocol::gcc::early_capability::support_errinfo_pdu};
      server.security = protocol::gcc::server_security_data{};
      server.network = protocol::gcc::server_network_data{};
      co_await net::send(tls, protocol::mcs::encode(response).value(), send_timeout);
      co_await drain(tls);
      break;
    }
    case listener_behaviour::tls_then_dpu:
      co_await net::send(tls, dpu_frame(protocol::mcs::disconnect_reason::provider_initiated), send_timeout);
      co_await drain(tls);
      break;
    case listener_behaviour::tls_then_error_info: {
      const auto error_info = protocol::share::encode_set_error_info(
          protocol::share::set_error_info{protocol::errinfo::server_denied_connection});
      co_await net::send(tls, error_info, send_timeout);
      co_await net::send(tls, dpu_frame(protocol::mcs::disconnect_reason::user_requested), send_timeout);
      co_await drain(tls);
      break;
    }
    case listener_behaviour::tls_then_reset:
      s->set_option(asio::socket_base::linger(true, 0), ignored);
      break;
    default: break;
  }
  s->close(ignored);
}

asio::awaitable<void> play(std::shared_ptr<tcp::socket> s, listener_behaviour b) {
  net::error_code ignored;
  switch (b) {
    case listener_behaviour::http_400:
      co_await read_request(*s);
      co_await net::send(*s, "HTTP/1.1 400 Bad Request\r\nServer: scripted-http/1.0\r\nConnection: close\r\n\r\n",
                         send_timeout);
      break;
    case listener_behaviour::ssh_banner:
      co_await net::send(*s, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", send_timeout);
      co_await read_request(*s);
      co_await net::send(*s, "Invalid SSH identification string.\r\n", send_timeout);
      break;
    case listener_behaviour::silent:
      co_await read_request(*s);
      co_await pause(std::chrono::seconds(30));
      break;
    case listener_behaviour::reset_on_data:
      co_await read_request(*s);
      s->set_option(asio::socket_base::linger(true, 0), ignored);
      break;
    case listener_behaviour::close_on_data:
      co_await read_request(*s);
      break;
    case listener_behaviour::dribble: {
      co_await read_request(*s);
      const std::string cc("\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x01\x08\x00\x01\x00\x00\x00", 19);
      for (char c : cc) {
        co_await net::send(*s, std::string_view(&c, 1), send_timeout);
        co_await pause(std::chrono::seconds(1));
      }
      break;
    }
    case listener_behaviour::huge_tpkt:
      co_await read_request(*s);
      co_await net::send(*s, std::string_view("\x03\x00\xff\xff\x02\xf0\x80", 7), send_timeout);
      co_await pause(std::chrono::seconds(30));
      break;
    case listener_behaviour::endless: {
      co_await read_request(*s);
      std::string block(65536, '\x5a');
      block[0] = '\x03';
      const auto until = net::clock::now() + std::chrono::seconds(30);
      for (int i = 0; i < 1024 && net::clock::now() < until; ++i) {
        // Bounded by what is left of the 30 s: a client that stops reading must not hold the script past it.
        if (co_await net::send(*s, block, until - net::clock::now())) break;
      }
      break;
    }
    default: break;
  }
  s->close(ignored);
}

bool plays_tls(listener_behaviour b) {
  return b == listener_behaviour::tls_then_connect_response || b == listener_behaviour::tls_then_dpu ||
         b == listener_behaviour::tls_then_error_info || b == listener_behaviour::tls_then_reset;
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, listener_behaviour b,
                                  std::shared_ptr<scripted_tls_log> log) {
  for (;;) {
    auto s = std::make_shared<tcp::socket>(acceptor.get_executor());
    auto [ec] = co_await acceptor.async_accept(*s, net::use_tuple);
    if (ec) co_return;
    if (plays_tls(b)) {
      net::error_code ignored;
      s->set_option(tcp::no_delay(true), ignored);  // as RDP servers do: a Set Error Info and its DPU leave at once
      net::spawn(acceptor.get_executor(), play_tls(s, b, log), "scripted listener: TLS connection");
    } else {
      net::spawn(acceptor.get_executor(), play(s, b), "scripted listener: connection");
    }
  }
}

}  // namespace

scripted_listener::scripted_listener(listener_behaviour behaviour, net::tls_identity identity)
    : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
      behaviour_(behaviour),
      log_(std::make_shared<scripted_tls_log>()) {
  port_ = acceptor_.local_endpoint().port();
  if (plays_tls(behaviour_)) {
    if (identity.certificate_pem.empty()) identity = net::make_self_signed(net::key_kind::rsa, "127.0.0.1");
    log_->context.emplace(net::make_server_context(identity));
  }
  net::spawn(io_.get_executor(), accept_loop(acceptor_, behaviour_, log_), "scripted listener: accept loop");
  thread_ = std::thread([this] { io_.run(); });
}

scripted_listener::~scripted_listener() {
  io_.stop();
  thread_.join();
}

int scripted_listener::connect_initials() const {
  std::lock_guard lock(log_->mutex);
  return log_->connect_initials;
}

std::optional<protocol::mcs::connect_initial> scripted_listener::last_connect_initial() const {
  std::lock_guard lock(log_->mutex);
  return log_->last;
}

std::uint16_t closed_port() {
  asio::io_context io;
  tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

}  // namespace rdp::test
