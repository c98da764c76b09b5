// rdpsim's control interface: request handling (pure apart from the session_admin calls), the loopback line
// server, and the blocking client `rdpsim ctl` uses. Protocol: docs/control.md.
#include "rdp/sim/control.hpp"

#include "rdp/net/connect.hpp"
#include "rdp/net/deadline.hpp"
#include "rdp/net/errors.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <limits>
#include <set>
#include <stdexcept>

namespace rdp::sim {

namespace asio = net::asio;
using json = nlohmann::json;
using net::error_code;
using net::tcp;

namespace {

constexpr std::chrono::seconds default_restart_down{5};
constexpr std::uint64_t max_down_seconds = 24 * 60 * 60;
constexpr std::string_view command_list = "query-session, logoff, reset, disconnect, restart-service, policy";

// Dumps never throw: a request can carry bytes that are not UTF-8, and an error message may quote them.
std::string to_line(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; }

json failure(std::string why) { return json{{"ok", false}, {"error", std::move(why)}}; }

json from_admin(const admin_result& r) {
  if (r.ok) return json{{"ok", true}};
  return failure(r.error.empty() ? "refused" : r.error);
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; the rest names line, column and the problem.
std::string parse_error_text(const char* what) {
  std::string_view text(what);
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find("] ");
    if (close != std::string_view::npos) text.remove_prefix(close + 2);
  }
  return std::string(text);
}

// What a client sent where something else was expected: a number as written ("-1", "1.5"), else its JSON type.
std::string value_text(const json& j) {
  if (j.is_number()) return j.dump();
  return j.type_name();
}

// A whole number from `lowest` to `highest`; nullopt with `why` naming `name` otherwise.
std::optional<std::uint64_t> whole_number(const json& j, std::string_view name, std::uint64_t lowest,
                                          std::uint64_t highest, std::string* why) {
  std::optional<std::uint64_t> value;
  if (j.is_number_unsigned()) value = j.get<std::uint64_t>();
  else if (j.is_number_integer() && j.get<std::int64_t>() >= 0) value = static_cast<std::uint64_t>(j.get<std::int64_t>());
  if (value && *value >= lowest && *value <= highest) return value;
  *why = "'" + std::string(name) + "' must be a whole number from " + std::to_string(lowest) + " to " +
         std::to_string(highest) + ", not " + value_text(j);
  return std::nullopt;
}

bool token_matches(const json& request, std::string_view expected) {
  const auto it = request.find("token");
  if (it == request.end() || !it->is_string()) return false;
  const auto& given = it->get_ref<const std::string&>();
  // The length of a token is no secret (always 64 hex digits); its contents are compared in constant time.
  return given.size() == expected.size() && !expected.empty() &&
         CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

json run_command(session_admin& admin, const json& request) {
  static const std::set<std::string, std::less<>> known{"token", "command", "id", "down_seconds", "policy"};
  for (const auto& [key, value] : request.items())
    if (!known.contains(key))
      return failure("unknown member '" + key + "' (a request has token, command, id, down_seconds, policy)");
  const auto command_it = request.find("command");
  if (command_it == request.end()) return failure("missing member 'command' (one of " + std::string(command_list) + ")");
  if (!command_it->is_string()) return failure("'command' must be a string, not " + value_text(*command_it));
  const auto& command = command_it->get_ref<const std::string&>();
  std::string why;

  if (command == "query-session") {
    json sessions = json::array();
    for (const auto& s : admin.query_sessions()) sessions.push_back(s);
    return json{{"ok", true}, {"sessions", std::move(sessions)}};
  }
  if (command == "logoff" || command == "reset" || command == "disconnect" || command == "drop-connection") {
    const auto id_it = request.find("id");
    if (id_it == request.end()) return failure("'" + command + "' needs member 'id' (a session id)");
    const auto id = whole_number(*id_it, "id", 0, std::numeric_limits<std::uint32_t>::max(), &why);
    if (!id) return failure(why);
    const auto session = static_cast<std::uint32_t>(*id);
    if (command == "logoff") return from_admin(admin.logoff(session));
    if (command == "reset") return from_admin(admin.reset(session));
    if (command == "drop-connection") return from_admin(admin.drop_connection(session));
    return from_admin(admin.disconnect(session));
  }
  if (command == "restart-service") {
    auto down = default_restart_down;
    if (const auto it = request.find("down_seconds"); it != request.end()) {
      const auto seconds = whole_number(*it, "down_seconds", 0, max_down_seconds, &why);
      if (!seconds) return failure(why);
      down = std::chrono::seconds(static_cast<std::chrono::seconds::rep>(*seconds));
    }
    auto response = from_admin(admin.restart_service(down));
    if (response.at("ok").get<bool>()) response["down_seconds"] = down.count();
    return response;
  }
  if (command == "policy") {
    auto policy = admin.policy();
    if (const auto it = request.find("policy"); it != request.end()) {
      if (!apply_policy_json(*it, policy, &why)) return failure(why);
      const auto result = admin.set_policy(policy);
      if (!result.ok) return from_admin(result);
      policy = admin.policy();
    }
    return json{{"ok", true}, {"policy", policy}};
  }
  return failure("unknown command '" + command + "' (one of " + std::string(command_list) + ")");
}

}  // namespace

// ---- Policy as JSON ---------------------------------------------------------------------------------------------

void to_json(json& j, const session_policy& p) {
  auto seconds_or_null = [](const std::optional<std::chrono::seconds>& s) { return s ? json(s->count()) : json(); };
  j = json{{"single_session", p.single_session},
           {"max_sessions", p.max_sessions ? json(*p.max_sessions) : json()},
           {"idle_limit_seconds", seconds_or_null(p.idle_limit)},
           {"logon_timeout_seconds", seconds_or_null(p.logon_timeout)},
           {"disconnected_limit_seconds", seconds_or_null(p.disconnected_limit)}};
}

bool apply_policy_json(const json& j, session_policy& p, std::string* why) {
  std::string ignored;
  if (!why) why = &ignored;
  if (!j.is_object()) {
    *why = "'policy' must be an object, not " + value_text(j);
    return false;
  }
  session_policy out = p;
  for (const auto& [key, value] : j.items()) {
    if (key == "single_session") {
      if (!value.is_boolean()) {
        *why = "'single_session' must be true or false, not " + value_text(value);
        return false;
      }
      out.single_session = value.get<bool>();
    } else if (key == "max_sessions") {
      if (value.is_null()) {
        out.max_sessions.reset();
        continue;
      }
      // 0 is allowed: a host that takes no session at all is a configuration worth simulating.
      const auto n = whole_number(value, "max_sessions", 0, std::numeric_limits<std::uint32_t>::max(), why);
      if (!n) return false;
      out.max_sessions = static_cast<std::uint32_t>(*n);
    } else if (key == "idle_limit_seconds" || key == "logon_timeout_seconds" || key == "disconnected_limit_seconds") {
      auto& field = key == "idle_limit_seconds"      ? out.idle_limit
                    : key == "logon_timeout_seconds" ? out.logon_timeout
                                                     : out.disconnected_limit;
      if (value.is_null()) {
        field.reset();
        continue;
      }
      // 0 would mean "never" in Group Policy; here "never" is null, so 0 is refused rather than guessed at.
      const auto longest = key == "disconnected_limit_seconds"
                               ? static_cast<std::uint64_t>(max_disconnected_limit.count())
                               : max_down_seconds * 365;
      const auto n = whole_number(value, key, 1, longest, why);
      if (!n) return false;
      field = std::chrono::seconds(static_cast<std::chrono::seconds::rep>(*n));
    } else {
      *why = "unknown policy member '" + key +
             "' (single_session, max_sessions, idle_limit_seconds, logon_timeout_seconds, disconnected_limit_seconds)";
      return false;
    }
  }
  p = out;
  return true;
}

// ---- Request handling -------------------------------------------------------------------------------------------

control_outcome handle_control_line(session_admin& admin, std::string_view token, std::string_view line) {
  json request;
  try {
    request = json::parse(line);
  } catch (const json::parse_error& e) {
    return {failure("malformed JSON: " + parse_error_text(e.what())), true};
  }
  if (!request.is_object())
    return {failure("a request is one JSON object per line, not " + value_text(request)), true};
  if (!token_matches(request, token)) return {failure("bad token"), true};
  try {
    return {run_command(admin, request), false};
  } catch (const std::exception& e) {
    // A bug in an admin implementation must not take the simulator down with it.
    return {failure(std::string("internal error: ") + e.what()), false};
  }
}

std::string make_control_token() {
  std::array<unsigned char, 32> bytes{};
  // RAND_bytes rather than std::random_device: the standard allows random_device to be a deterministic engine,
  // OpenSSL's CSPRNG is documented to be cryptographically strong (and fails loudly when it cannot be).
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw std::runtime_error("rdpsim: cannot generate a control token: OpenSSL's RAND_bytes failed");
  static constexpr char hex[] = "0123456789abcdef";
  std::string token;
  token.reserve(bytes.size() * 2);
  for (const auto b : bytes) {
    token.push_back(hex[b >> 4]);
    token.push_back(hex[b & 0x0f]);
  }
  return token;
}

void write_token_file(const std::string& path, std::string_view token) {
  auto fail = [&](const char* what) {
    throw std::runtime_error("rdpsim: cannot " + std::string(what) + " control token file '" + path +
                             "': " + std::strerror(errno));
  };
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) fail("create");
  // An existing file keeps its mode through O_TRUNC: tighten it before the secret is in it.
  if (::fchmod(fd, 0600) != 0) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
    fail("set the mode of");
  }
  std::string content(token);
  content.push_back('\n');
  std::size_t done = 0;
  while (done < content.size()) {
    const auto n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int saved = errno;
      ::close(fd);
      errno = saved;
      fail("write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) fail("write");
}

// ---- Server -----------------------------------------------------------------------------------------------------

struct control_server::state {
  control_config config;
  session_admin& admin;
  tcp::acceptor acceptor;
  std::set<std::shared_ptr<tcp::socket>> live;  // so stop() can end every connection
  bool stopped = false;

  state(asio::any_io_executor executor, session_admin& a, control_config c)
      : config(std::move(c)), admin(a), acceptor(std::move(executor)) {}
};

namespace {

using state_ptr = std::shared_ptr<control_server::state>;

constexpr std::size_t drain_limit = 1024 * 1024;
constexpr net::milliseconds drain_timeout{1000};

void log_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    std::cerr << "rdpsim: control connection ended by an internal error: " << x.what() << "\n";
  }
}

asio::awaitable<void> serve_control(state_ptr st, std::shared_ptr<tcp::socket> socket) {
  const auto& config = st->config;
  std::string buffer;
  for (;;) {
    auto [ec, n] = co_await net::with_deadline(
        asio::async_read_until(*socket, asio::dynamic_buffer(buffer, config.max_line + 1), '\n', net::use_tuple),
        config.read_timeout);
    if (st->stopped) break;
    control_outcome outcome;
    if (ec == asio::error::not_found) {
      outcome = {failure("request line longer than " + std::to_string(config.max_line) + " bytes"), true};
    } else if (ec) {
      break;  // closed, reset or silent past the deadline: nothing to answer
    } else {
      std::string_view line(buffer.data(), n - 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t") == std::string_view::npos) {
        buffer.erase(0, n);
        continue;  // blank lines are keep-alives
      }
      outcome = handle_control_line(st->admin, config.token, line);
      buffer.erase(0, n);
    }
    const auto out = to_line(outcome.response);
    auto [write_ec, written] =
        co_await net::with_deadline(asio::async_write(*socket, asio::buffer(out), net::use_tuple), config.read_timeout);
    (void)written;
    if (write_ec || outcome.close) break;
  }
  error_code ignored;
  if (!st->stopped) {
    // Half-close and read what the client still sends (bounded), so the response is not destroyed by a reset that
    // unread input (the rest of an oversized line, pipelined requests) would cause.
    socket->shutdown(tcp::socket::shutdown_send, ignored);
    std::array<char, 4096> sink{};
    std::size_t drained = 0;
    while (!st->stopped && drained < drain_limit) {
      auto [drain_ec, got] =
          co_await net::with_deadline(socket->async_read_some(asio::buffer(sink), net::use_tuple), drain_timeout);
      if (drain_ec) break;
      drained += got;
    }
  }
  socket->close(ignored);
  st->live.erase(socket);
}

// One more connection than allowed: told why and closed at once. A non-blocking write of one short line into a
// fresh socket's empty send buffer completes or fails immediately, so no coroutine is held open for it.
void refuse_busy(const state_ptr& st, tcp::socket& socket) {
  error_code ignored;
  socket.non_blocking(true, ignored);
  const auto out =
      to_line(failure("too many control connections (at most " + std::to_string(st->config.max_connections) + ")"));
  socket.write_some(asio::buffer(out), ignored);
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

asio::awaitable<void> accept_control(state_ptr st) {
  for (;;) {
    auto socket = std::make_shared<tcp::socket>(st->acceptor.get_executor());
    auto [ec] = co_await st->acceptor.async_accept(*socket, net::use_tuple);
    if (st->stopped || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors and the like: wait a little instead of spinning on the error.
      asio::steady_timer pause(st->acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(net::use_tuple);
      if (st->stopped) co_return;
      continue;
    }
    if (st->live.size() >= st->config.max_connections) {
      refuse_busy(st, *socket);
      continue;
    }
    st->live.insert(socket);
    asio::co_spawn(st->acceptor.get_executor(), serve_control(st, socket), log_exception);
  }
}

asio::ip::address loopback_address(const net::host_port& listen) {
  if (listen.host == "localhost") return asio::ip::address_v4::loopback();
  error_code ec;
  const auto address = asio::ip::make_address(listen.host, ec);
  if (ec)
    throw std::invalid_argument("control address '" + listen.host +
                                "' is not an IP address (the control interface listens on loopback only: 127.0.0.1 "
                                "or ::1)");
  if (!address.is_loopback())
    throw std::invalid_argument("control address " + listen.text() +
                                " is not a loopback address: the control interface accepts only 127.0.0.0/8 or ::1, "
                                "because anyone who reaches it can end sessions");
  return address;
}

}  // namespace

control_server::control_server(asio::any_io_executor executor, session_admin& admin, control_config config)
    : state_(std::make_shared<state>(std::move(executor), admin, std::move(config))) {
  auto& st = *state_;
  const tcp::endpoint endpoint(loopback_address(st.config.listen), st.config.listen.port);
  if (st.config.max_connections == 0) throw std::invalid_argument("control: max_connections must be at least 1");
  if (st.config.token.empty()) st.config.token = make_control_token();
  error_code ec;
  st.acceptor.open(endpoint.protocol(), ec);
  if (!ec) st.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) st.acceptor.bind(endpoint, ec);
  if (!ec) st.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("rdpsim: cannot listen for control on " + st.config.listen.text() + ": " + ec.message());
  if (!st.config.token_file.empty()) write_token_file(st.config.token_file, st.config.token);
}

control_server::~control_server() { stop(); }

tcp::endpoint control_server::local_endpoint() const { return state_->acceptor.local_endpoint(); }

const std::string& control_server::token() const noexcept { return state_->config.token; }

void control_server::start() { asio::co_spawn(state_->acceptor.get_executor(), accept_control(state_), log_exception); }

void control_server::stop() {
  state_->stopped = true;
  error_code ignored;
  state_->acceptor.close(ignored);
  for (const auto& socket : state_->live) socket->close(ignored);
}

// ---- Client -----------------------------------------------------------------------------------------------------

namespace {

constexpr std::size_t max_response = 16 * 1024 * 1024;

// "Connection refused" → "connection refused": the message goes after a colon in a sentence.
std::string lower_first(std::string text) {
  if (!text.empty() && text.front() >= 'A' && text.front() <= 'Z') text.front() = static_cast<char>(text.front() - 'A' + 'a');
  return text;
}

std::string describe(const error_code& ec, net::milliseconds timeout) {
  if (ec == net::errc::timed_out) {
    const auto ms = timeout.count();
    return "no answer within " + (ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms");
  }
  return lower_first(ec.message());
}

asio::awaitable<void> call_control_coro(net::host_port where, std::string line, net::milliseconds timeout,
                                        control_call_result* result) {
  const auto executor = co_await asio::this_coro::executor;
  const auto place = "rdpsim control at " + where.text();
  auto fail = [&](error_code ec, const std::string& prefix) {
    result->ec = ec;
    result->error = prefix + place + ": " + describe(ec, timeout);
  };
  tcp::resolver resolver(executor);
  auto [resolve_ec, resolved] =
      co_await net::with_deadline(resolver.async_resolve(where.host, std::to_string(where.port), net::use_tuple), timeout);
  if (resolve_ec) {
    fail(resolve_ec, "cannot reach ");
    co_return;
  }
  std::vector<tcp::endpoint> endpoints;
  for (const auto& entry : resolved) endpoints.push_back(entry.endpoint());
  tcp::socket socket(executor);
  auto [connect_ec, reached] = co_await net::connect_first(socket, std::move(endpoints), timeout);
  (void)reached;
  if (connect_ec) {
    fail(connect_ec, "cannot reach ");
    co_return;
  }
  auto [write_ec, written] =
      co_await net::with_deadline(asio::async_write(socket, asio::buffer(line), net::use_tuple), timeout);
  (void)written;
  if (write_ec) {
    fail(write_ec, "cannot send to ");
    co_return;
  }
  std::string buffer;
  auto [read_ec, n] = co_await net::with_deadline(
      asio::async_read_until(socket, asio::dynamic_buffer(buffer, max_response), '\n', net::use_tuple), timeout);
  if (read_ec) {
    if (read_ec == asio::error::eof || read_ec == asio::error::connection_reset) {
      result->ec = make_error_code(net::errc::peer_closed);
      result->error = place + " closed the connection without answering";
    } else {
      fail(read_ec, "no response from ");
    }
    co_return;
  }
  auto response = json::parse(std::string_view(buffer.data(), n), nullptr, false);
  if (response.is_discarded() || !response.is_object() || !response.contains("ok")) {
    result->ec = make_error_code(boost::system::errc::bad_message);
    result->error = place + " answered with something that is not a control response (is it rdpsim's control port?)";
    co_return;
  }
  result->response = std::move(response);
}

}  // namespace

control_call_result call_control(const net::host_port& where, const json& request, net::milliseconds timeout) {
  control_call_result result;
  asio::io_context io(1);
  asio::co_spawn(io, call_control_coro(where, to_line(request), timeout, &result), [&](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      result.ec = make_error_code(boost::system::errc::io_error);
      result.error = "rdpsim control at " + where.text() + ": " + x.what();
    }
  });
  io.run();
  return result;
}

}  // namespace rdp::sim
