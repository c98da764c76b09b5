#include "rdp/protocol/sequence.hpp"

namespace rdp::protocol::sequence {

const char* to_string(event_kind k) noexcept {
  switch (k) {
    case event_kind::start: return "start";
    case event_kind::written: return "written";
    case event_kind::received: return "received";
    case event_kind::tls_done: return "tls-done";
    case event_kind::timed_out: return "timed-out";
    case event_kind::io_error: return "io-error";
    case event_kind::woken: return "woken";
    case event_kind::notified: return "notified";
    case event_kind::closed: return "closed";
  }
  return "?";
}

const char* to_string(action_kind k) noexcept {
  switch (k) {
    case action_kind::write: return "write";
    case action_kind::read: return "read";
    case action_kind::start_tls: return "start-tls";
    case action_kind::notify: return "notify";
    case action_kind::close: return "close";
    case action_kind::done: return "done";
  }
  return "?";
}

const char* to_string(close_style s) noexcept {
  switch (s) {
    case close_style::graceful: return "graceful";
    case close_style::reset: return "reset";
    case close_style::abrupt: return "abrupt";
  }
  return "?";
}

}  // namespace rdp::protocol::sequence
