// rdpsim's control interface: request handling (pure apart from the session_admin calls), the loopback line
// server, and the blocking client `rdpsim ctl` uses. Protocol: docs/control.md.
#include "rdp/sim/control.hpp"

#include "drain.hpp"

#include "rdp/net/connect.hpp"
#include "rdp/net/deadline.hpp"
#include "rdp/net/errors.hpp"
#include "rdp/net/spawn.hpp"

#include <openssl/rand.h>

#include <fcntl.h>
#include <stdlib.h>
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

std::string to_line(const json& j) { return to_response_line(j); }

json failure(std::string why) { return json{{"ok", false}, {"error", std::move(why)}}; }

}  // namespace

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

// ---- The token file ---------------------------------------------------------------------------------------------

namespace {

std::string file_kind(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a regular file";
}

// Writes all of `content` to `fd`; false with errno set otherwise.
bool write_all(int fd, std::string_view content) {
  std::size_t done = 0;
  while (done < content.size()) {
    const auto n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

void write_token_file(const std::string& path, std::string_view token) {
  auto fail = [&](const std::string& what) {
    throw std::runtime_error("rdpsim: cannot " + what + " control token file '" + path + "': " + std::strerror(errno));
  };
  auto refuse = [&](const std::string& why) {
    throw std::runtime_error("rdpsim: refusing control token file '" + path + "': " + why);
  };
  // lstat, never open: opening a FIFO for writing blocks until someone reads it, and a symlink would be followed.
  struct stat existing {};
  if (::lstat(path.c_str(), &existing) == 0) {
    if (!S_ISREG(existing.st_mode)) refuse("it is " + file_kind(existing.st_mode) + ", not a regular file");
    if (existing.st_uid != ::geteuid())
      refuse("it belongs to uid " + std::to_string(existing.st_uid) + ", not to this user (uid " +
             std::to_string(::geteuid()) + "); remove it or choose another path");
  } else if (errno != ENOENT) {
    fail("inspect");
  }
  // A fresh file, created exclusively with mode 0600 (mkostemp) in the same directory, then renamed over the path:
  // the secret is never in a file someone else could already hold open, and rename() replaces the directory entry
  // without opening whatever is there now (if the path was swapped for a FIFO since the lstat, it is replaced).
  std::string temp = path + ".XXXXXX";
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) fail("create a temporary file next to the");
  std::string content(token);
  content.push_back('\n');
  const bool written = ::fchmod(fd, 0600) == 0 && write_all(fd, content);
  const int write_errno = errno;
  if (::close(fd) != 0 || !written) {
    if (!written) errno = write_errno;
    const int saved = errno;
    ::unlink(temp.c_str());
    errno = saved;
    fail("write");
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temp.c_str());
    errno = saved;
    fail("create");
  }
}

bool remove_token_file(const std::string& path, std::string_view token) noexcept {
  // O_NONBLOCK and O_NOFOLLOW: whatever is at the path now, opening it neither blocks nor follows a link.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  std::array<char, 256> content{};
  ssize_t n = -1;
  const std::size_t expected = token.size() + 1;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() &&
      static_cast<std::size_t>(st.st_size) == expected && expected <= content.size())
    n = ::read(fd, content.data(), expected);
  ::close(fd);
  // Only the file this process wrote: another rdpsim that has since written its own token keeps its file.
  if (n < 0 || static_cast<std::size_t>(n) != expected || std::string_view(content.data(), token.size()) != token ||
      content[token.size()] != '\n')
    return false;
  return ::unlink(path.c_str()) == 0;
}

// ---- Server -----------------------------------------------------------------------------------------------------

struct control_server::state {
  control_config config;
  session_admin& admin;
  tcp::acceptor acceptor;
  std::set<std::shared_ptr<tcp::socket>> live;  // so stop() can end every connection
  bool stopped = false;
  bool token_file_written = false;
  
  state(asio::any_io_executor executor, session_admin& a, control_config c)
      : config(std::move(c)), admin(a), acceptor(std::move(executor)) {}
};

namespace {

using state_ptr = std::shared_ptr<control_server::state>;

constexpr std::size_t drain_limit = 1024 * 1024;
constexpr net::milliseconds drain_timeout{1000};
constexpr net::milliseconds accept_retry_pause{100};

// Whatever ends a connection's coroutine — its return, an exception, or the io_context destroying the frame — the
// socket is closed and the slot freed. Without this, one exception left a slot taken until rdpsim restarted.
struct connection_slot {
  state_ptr st;
  std::shared_ptr<tcp::socket> socket;
  connection_slot(state_ptr s, std::shared_ptr<tcp::socket> sock) : st(std::move(s)), socket(std::move(sock)) {}
  connection_slot(const connection_slot&) = delete;
  connection_slot& operator=(const connection_slot&) = delete;
  ~connection_slot() {
    error_code ignored;
    socket->close(ignored);
    st->live.erase(socket);
  }
};

asio::awaitable<void> serve_control(state_ptr st, std::shared_ptr<tcp::socket> socket) {
  const connection_slot slot(st, socket);
  const auto& config = st->config;
  std::string buffer;
  bool authenticated = false;
  std::size_t unauthenticated_bytes = 0;  // consumed before the first line with the right token (blank lines too)
  // One deadline at a time, never moved by a blank line: before authentication, auth_timeout from the accept for
  // everything; after it, read_timeout from the last response for the next request line.
  auto deadline = net::clock::now() + config.auth_timeout;
  bool answered_error = false;
  for (;;) {
    const auto left = deadline - net::clock::now();
    if (left <= net::clock::duration::zero()) break;
    // The most the buffer may hold: a whole line and its newline. Before authentication that is what is left of the
    // budget (newlines count), so unauthenticated_bytes never exceeds it.
    const std::size_t room = authenticated ? config.max_line + 1 : config.auth_max_bytes - unauthenticated_bytes;
    auto [ec, n] = room == 0 ? std::tuple<error_code, std::size_t>{asio::error::not_found, 0}
                             : co_await net::with_deadline(asio::async_read_until(*socket,
                                                                                  asio::dynamic_buffer(buffer, room),
                                                                                  '\n', net::use_tuple),
                                                           left);
    if (st->stopped) co_return;
    control_outcome outcome;
    if (ec == asio::error::not_found) {
      outcome.response =
          failure(authenticated ? "request line longer than " + std::to_string(config.max_line) + " bytes"
                                : "more than " + std::to_string(config.auth_max_bytes) +
                                      " bytes before a request with the token");
      outcome.close = true;
    } else if (ec) {
      break;  // closed, reset or silent past the deadline: nothing to answer
    } else {
      if (!authenticated) unauthenticated_bytes += n;
      std::string_view line(buffer.data(), n - 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t") == std::string_view::npos) {
        buffer.erase(0, n);
        continue;  // a blank line: ignored, and the deadline stays where it is
      }
      outcome = handle_control_line(st->admin, config.token, line);
      buffer.erase(0, n);
      if (outcome.authenticated) authenticated = true;
    }
    const auto out = to_line(outcome.response);
    auto [write_ec, written] =
        co_await net::with_deadline(asio::async_write(*socket, asio::buffer(out), net::use_tuple), config.read_timeout);
    (void)written;
    if (write_ec || st->stopped) co_return;
    if (outcome.close) {
      answered_error = true;
      break;
    }
    if (authenticated) deadline = net::clock::now() + config.read_timeout;
  }
  // Half-closed and drained — 1 MiB and 1 s in all, not per read — so that the response is not destroyed by a reset
  // that unread input (the rest of an oversized line, pipelined requests) would cause, and a trickling client cannot
  // keep the slot.
  if (answered_error && !st->stopped) co_await half_close_and_drain(*socket, drain_timeout, drain_limit);
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
      asio::steady_timer pause(st->acceptor.get_executor(), accept_retry_pause);
      co_await pause.async_wait(net::use_tuple);
      if (st->stopped) co_return;
      continue;
    }
    if (st->config.after_accept) st->config.after_accept();
    if (st->live.size() >= st->config.max_connections) {
      refuse_busy(st, *socket);
      continue;
    }
    st->live.insert(socket);
    net::spawn(st->acceptor.get_executor(), serve_control(st, socket), "rdpsim: control connection");
  }
}

// The accept loop ends only when the server stops. If it ends otherwise (an exception: a bug), that is said on
// stderr and the loop starts again after a pause, so the control interface never goes deaf without a word
// (docs/control.md).
void start_accept_loop(const state_ptr& st) {
  net::spawn(st->acceptor.get_executor(), accept_control(st), "rdpsim: control accept loop",
             [weak = std::weak_ptr(st)](std::exception_ptr) {
               auto alive = weak.lock();
               if (!alive || alive->stopped) return;
               std::cerr << "rdpsim: the control interface stopped accepting connections unexpectedly; accepting "
                            "again in "
                         << accept_retry_pause.count() << " ms\n";
               auto timer = std::make_shared<asio::steady_timer>(alive->acceptor.get_executor(), accept_retry_pause);
               timer->async_wait([timer, weak](const error_code&) {
                 auto again = weak.lock();
                 if (again && !again->stopped) start_accept_loop(again);
               });
             });
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
  if (st.config.auth_max_bytes == 0) throw std::invalid_argument("control: auth_max_bytes must be at least 1");
  if (st.config.token.empty()) st.config.token = make_control_token();
  error_code ec;
  st.acceptor.open(endpoint.protocol(), ec);
  if (!ec) st.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) st.acceptor.bind(endpoint, ec);
  if (!ec) st.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("rdpsim: cannot listen for control on " + st.config.listen.text() + ": " + ec.message());
  if (!st.config.token_file.empty()) {
    write_token_file(st.config.token_file, st.config.token);
    st.token_file_written = true;
  }
}

control_server::~control_server() { stop(); }

tcp::endpoint control_server::local_endpoint() const { return state_->acceptor.local_endpoint(); }

const std::string& control_server::token() const noexcept { return state_->config.token; }

void control_server::start() { start_accept_loop(state_); }

void control_server::stop() {
  auto& st = *state_;
  st.stopped = true;
  error_code ignored;
  st.acceptor.close(ignored);
  for (const auto& socket : st.live) socket->close(ignored);
  if (st.token_file_written) {
    st.token_file_written = false;
    remove_token_file(st.config.token_file, st.config.token);
  }
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
  std::vector<tcp::endpoint> endpoints;
  error_code literal_ec;
  const auto literal = asio::ip::make_address(where.host, literal_ec);
  if (!literal_ec) {
    endpoints.emplace_back(literal, where.port);
  } else {
    tcp::resolver resolver(executor);
    auto [resolve_ec, resolved] = co_await net::with_deadline(
        resolver.async_resolve(where.host, std::to_string(where.port), net::use_tuple), timeout);
    if (resolve_ec) {
      fail(resolve_ec, "cannot reach ");
      co_return;
    }
    // Only "localhost" gets here (call_control refused every other name): its loopback addresses, nothing else.
    for (const auto& entry : resolved)
      if (entry.endpoint().address().is_loopback()) endpoints.push_back(entry.endpoint());
    if (endpoints.empty()) {
      result->ec = make_error_code(boost::system::errc::invalid_argument);
      result->error = "'localhost' does not resolve to a loopback address here: give 127.0.0.1 or ::1";
      co_return;
    }
  }
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
  // The control interface only ever listens on loopback (the server refuses anything else): a request, token
  // included, must never go anywhere else — not to a typo, not to a name that DNS could answer with any address.
  error_code literal_ec;
  const auto literal = asio::ip::make_address(where.host, literal_ec);
  if (where.host != "localhost" && (literal_ec || !literal.is_loopback())) {
    result.ec = make_error_code(boost::system::errc::invalid_argument);
    result.error = "--control " + where.text() +
                   " is not a loopback address: rdpsim's control interface is only on 127.0.0.0/8 or ::1 (or "
                   "localhost), so rdpsim ctl talks to nothing else and sends its token nowhere else";
    return result;
  }
  asio::io_context io(1);
  // net::spawn logs an exception (a bug) and always reports; the caller gets it as an error, never a silent result.
  net::spawn(io.get_executor(), call_control_coro(where, to_line(request), timeout, &result),
             "rdpsim ctl: the request to " + where.text(), [&](std::exception_ptr e) {
               if (!e) return;
               result.ec = make_error_code(boost::system::errc::io_error);
               result.error = "rdpsim control at " + where.text() + ": internal error: " + net::describe_exception(e);
             });
  io.run();
  return result;
}

}  // namespace rdp::sim
