#include "rdp/client/session.hpp"

#include "rdp/crypto/openssl_primitives.hpp"
#include "rdp/net/connect.hpp"
#include "rdp/net/engine.hpp"
#include "rdp/net/tls.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <exception>
#include <utility>

namespace rdp::client {

namespace asio = net::asio;
namespace ssl = net::ssl;
using net::error_code;
using net::tcp;

void session_control::request_stop() {
  stop_requested_ = true;
  if (stop_) stop_();
}

void session_control::set_busy(std::optional<net::milliseconds> every) {
  busy_requested_ = every;
  if (busy_) busy_(every);
}

// Ties a session_control to the running machine for as long as the session runs, and unties it after, however the
// session ends: a request made later finds nothing to wake.
struct session_runner {
  std::shared_ptr<session_control> control;
  session_runner(std::shared_ptr<session_control> c, protocol::client_sequence& machine, net::wake_signal& wake)
      : control(std::move(c)) {
    if (!control) return;
    control->stop_ = [&machine, &wake] {
      machine.request_close();
      wake.wake();
    };
    control->busy_ = [&machine, &wake](std::optional<net::milliseconds> every) {
      machine.set_busy(every);
      wake.wake();
    };
    if (control->busy_requested_) machine.set_busy(*control->busy_requested_);
    if (control->stop_requested_) control->stop_();
  }
  session_runner(const session_runner&) = delete;
  session_runner& operator=(const session_runner&) = delete;
  ~session_runner() {
    if (!control) return;
    control->stop_ = nullptr;
    control->busy_ = nullptr;
  }
};

namespace {

// Now as a FILETIME (100 ns since 1601-01-01 UTC): the NTLMv2 timestamp when a CHALLENGE carries none.
std::uint64_t filetime_now() {
  using namespace std::chrono;
  constexpr std::uint64_t unix_epoch_as_filetime = 116444736000000000ULL;
  const auto since_1970 = duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count() / 100;
  return unix_epoch_as_filetime + static_cast<std::uint64_t>(since_1970 > 0 ? since_1970 : 0);
}

protocol::client_sequence_options machine_options(const session_options& o) {
  protocol::client_sequence_options m;
  m.security = protocol::client_security::tls;
  if (o.security == session_security::nla) {
    // The inputs protocol/ does not draw itself: OpenSSL's primitives and CSPRNG, fresh per session.
    m.security = protocol::client_security::nla;
    m.nla.crypto = &rdp::crypto::openssl_primitives();
    m.nla.client_challenge = rdp::crypto::random_array<8>();
    m.nla.exported_session_key = rdp::crypto::random_array<16>();
    m.nla.nonce = rdp::crypto::random_array<32>();
    m.nla.filetime = filetime_now();
    m.nla.hybrid_ex = o.hybrid_ex;
    m.nla.spnego = o.spnego;
    m.nla.target_spn = "TERMSRV/" + o.host;  // MsvAvTargetName as FreeRDP 2.11 sends it (its captured AUTHENTICATE)
  }
  m.start = protocol::client_start::x224;
  m.x224_cookie = o.user;  // "Cookie: mstshash=<user>", as mstsc sends it
  m.user = o.user;
  m.domain = o.domain;
  m.password = o.password;
  m.client_address = o.host;
  m.cookie = o.auto_reconnect_cookie;
  if (o.user_utf16le) m.user_utf16le = protocol::byte_buffer(o.user_utf16le->begin(), o.user_utf16le->end());
  m.announce_heartbeat = o.announce_heartbeat;
  m.announce_auto_reconnect = o.announce_auto_reconnect;
  m.hold = o.hold;
  m.busy = o.busy;
  m.silence_limit = o.silence_limit;
  m.trickle_after_mcs = o.trickle_after_mcs;
  m.deadlines.step = o.deadlines.step;
  m.deadlines.hold = o.deadlines.hold;
  return m;
}

void copy_result(const protocol::client_sequence& machine, session_result& out) {
  static_cast<protocol::client_result&>(out) = machine.result();
  if (out.started_at && out.active_at)
    out.handshake_ms = std::chrono::duration<double, std::milli>(*out.active_at - *out.started_at).count();
}

asio::awaitable<session_result> run(ssl::context& context, session_options options,
                                    std::function<void(const session_result&)> on_sequence_done) {
  session_result result;
  auto executor = co_await asio::this_coro::executor;
  error_code ec;
  const auto address = asio::ip::make_address(options.host, ec);
  if (ec) {
    result.error = ec;
    result.failure = "'" + options.host + "' is not an IP address";
    co_return result;
  }
  tcp::socket socket(executor);
  // Built before the co_await: GCC 12 cannot keep an initializer list's array in a coroutine frame.
  std::vector<tcp::endpoint> where;
  where.emplace_back(address, options.port);
  const auto connected = co_await net::connect_first(socket, std::move(where), options.deadlines.connect);
  const auto connect_ec = std::get<0>(connected);
  if (connect_ec) {
    result.error = connect_ec;
    result.failure = "connecting: " + connect_ec.message();
    if (on_sequence_done) on_sequence_done(result);
    co_return result;
  }
  socket.set_option(tcp::no_delay(true), ec);
  if (options.liveness == liveness_model::freerdp) {
    // As FreeRDP does, after the connect (tcp.c: freerdp_tcp_set_keep_alive_mode). A socket that refuses them would
    // make the session a different client from the one asked for: end it, saying so.
    if (const auto set = net::set_tcp_keepalive(socket, options.keepalive)) {
      result.error = set;
      result.failure = "setting TCP keepalive (liveness freerdp): " + set.message();
      socket.close(ec);
      if (on_sequence_done) on_sequence_done(result);
      co_return result;
    }
  }
  if (const auto local = socket.local_endpoint(ec); !ec) result.local_port = local.port();

  protocol::client_sequence machine(machine_options(options));
  net::wake_signal wake(executor);
  net::engine_options engine_options;
  engine_options.tls_context = &context;
  engine_options.role = ssl::stream_base::client;
  engine_options.wake = &wake;
  net::sequence_engine engine(socket, std::move(engine_options));
  const session_runner runner(options.control, machine, wake);
  co_await engine.run(machine, [&](protocol::client_sequence& m) {
    using notice = protocol::client_sequence::notice_kind;
    if (m.notice() == notice::sequence_done && on_sequence_done) {
      copy_result(m, result);
      on_sequence_done(result);
    } else if (m.notice() == notice::hold_frame && options.on_hold_frame) {
      copy_result(m, result);
      options.on_hold_frame(result);
    }
  });
  copy_result(machine, result);
  // Read as the machine decided to close, before the engine's own shutdown: after it, the state says what our close
  // did, not whether the server's FIN or RST had come first (the crossing close of a server that is not RDP).
  if (!result.server_closed && !result.closed_by_owner && engine.tcp_at_close()) {
    if (engine.tcp_at_close()->peer_sent_fin()) result.peer_at_close = session_result::peer_state::fin;
    if (engine.tcp_at_close()->peer_reset()) result.peer_at_close = session_result::peer_state::reset;
  }
  socket.close(ec);
  co_return result;
}

}  // namespace

protocol::activation::arc_client_cookie make_arc_client_cookie(const protocol::activation::arc_server_cookie& server) {
  const std::array<std::uint8_t, 32> client_random{};  // TLS: no client random, 32 zero bytes
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  HMAC(EVP_md5(), server.random_bits.data(), static_cast<int>(server.random_bits.size()), client_random.data(),
       client_random.size(), mac.data(), &length);
  protocol::activation::arc_client_cookie cookie;
  cookie.logon_id = server.logon_id;
  std::copy_n(mac.begin(), cookie.security_verifier.size(), cookie.security_verifier.begin());
  return cookie;
}

ssl::context make_client_context() { return net::make_client_context(); }

asio::awaitable<session_result> run_session(ssl::context& context, session_options options,
                                            std::function<void(const session_result&)> on_sequence_done) {
  try {
    co_return co_await run(context, std::move(options), std::move(on_sequence_done));
  } catch (const std::exception& e) {
    // Only an allocation failure or a bug gets here; the contract is to report, not to throw.
    session_result result;
    result.error = make_error_code(boost::system::errc::io_error);
    result.failure = std::string("internal error: ") + e.what();
    co_return result;
  }
}

session_result run_session_blocking(ssl::context& context, session_options options) {
  asio::io_context io(1);
  auto result = asio::co_spawn(io, run_session(context, std::move(options)), asio::use_future);
  io.run();
  return result.get();
}

}  // namespace rdp::client
