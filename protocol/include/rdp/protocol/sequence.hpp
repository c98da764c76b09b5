#pragma once
// The vocabulary of the connection state machines (client_sequence.hpp, server_sequence.hpp): the events a driver
// feeds a machine and the actions the machine asks for next. Sans-I/O in the manner of Boost.MySQL's
// impl/internal/sansio (one `resume` that returns the next action) and Boost.Redis (the machine chooses its own
// deadlines): a machine holds no socket, no clock and no thread, so one protocol implementation serves the simulator,
// the probe, the product client and the tests, and a test can drive it as a script on made-up time.
//
// Time is a value: every event carries `now` on the driver's monotonic clock, and every deadline a machine asks for
// is an absolute instant on that clock. A read that goes on with the same deadline (a frame still incomplete) simply
// repeats the instant, so a peer trickling bytes cannot stretch it.
#include "rdp/protocol/bytes.hpp"

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>

namespace rdp::protocol::sequence {

using instant = std::chrono::steady_clock::time_point;
using duration = std::chrono::milliseconds;

enum class event_kind {
  start,      // the first resume: TCP is connected (client) or accepted (server)
  written,    // every byte of the last write action has been sent
  received,   // bytes arrived, any split of the stream; after start_tls they are the decrypted stream
  tls_done,   // the TLS handshake of the last start_tls action completed
  timed_out,  // the deadline of the pending action passed first
  io_error,   // the stream failed: `error` is eof, a reset, a TLS error, …
  woken,      // the owner changed an input of the machine (an admin request, a new policy) during a wakeable read
  notified,   // the owner has seen the last notify action and set what it asked for (see each machine)
  closed,     // the last close action is complete
};

struct event {
  event_kind kind = event_kind::start;
  instant now{};
  // received: the bytes. tls_done: the peer certificate's SubjectPublicKey (client role), else empty — what CredSSP
  // binds the credentials to (MS-CSSP 3.1.5).
  bytes_view bytes;
  boost::system::error_code error;  // io_error
};

enum class action_kind {
  write,      // send `bytes` (valid until the next resume) before `deadline`
  read,       // read more bytes (any amount) before `deadline`; answer with received, timed_out or io_error
  start_tls,  // run the TLS handshake on the stream, in the side's role, before `deadline`
  notify,     // something the owner acts on happened (see the machine's notice()); no I/O: resume with notified
  close,      // end the connection as `close` says; a graceful close drains until `deadline`; resume with closed
  done,       // finished: the machine's result holds the phase reached and the evidence seen
};

enum class close_style {
  graceful,  // half-close (FIN), read and discard what the peer still sends until it closes or the deadline, close
  reset,     // close with SO_LINGER 0: the peer gets a TCP RST
  abrupt,    // close at once, nothing drained (a process that died)
};

struct action {
  action_kind kind = action_kind::done;
  bytes_view bytes;       // write
  instant deadline{};     // write, read, start_tls, close (graceful)
  close_style close = close_style::graceful;
  bool wakeable = false;  // read: the owner may end the wait early with a woken event
};

inline action write(bytes_view bytes, instant deadline) {
  return {action_kind::write, bytes, deadline, close_style::graceful, false};
}
inline action read(instant deadline, bool wakeable = false) {
  return {action_kind::read, {}, deadline, close_style::graceful, wakeable};
}
inline action start_tls(instant deadline) { return {action_kind::start_tls, {}, deadline, close_style::graceful, false}; }
inline action notify() { return {action_kind::notify, {}, {}, close_style::graceful, false}; }
inline action close(close_style style, instant deadline) { return {action_kind::close, {}, deadline, style, false}; }
inline action done() { return {action_kind::done, {}, {}, close_style::graceful, false}; }

// Events as a driver makes them.
inline event happened(event_kind kind, instant now) { return {kind, now, {}, {}}; }
inline event received(instant now, bytes_view bytes) { return {event_kind::received, now, bytes, {}}; }
inline event failed(instant now, boost::system::error_code error) { return {event_kind::io_error, now, {}, error}; }

const char* to_string(event_kind k) noexcept;
const char* to_string(action_kind k) noexcept;
const char* to_string(close_style s) noexcept;

}  // namespace rdp::protocol::sequence
