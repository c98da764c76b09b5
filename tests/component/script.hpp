#pragma once
// Drives a connection state machine (anything with `action resume(const event&)`, protocol/sequence.hpp) as a
// script, the way Boost.MySQL's tests drive their sans-I/O algorithms: the test answers each action the machine asks
// for — takes what it writes, feeds it bytes (in one piece or split), says the TLS handshake is done, fires its
// deadline, injects an I/O error — on made-up time that only moves when the test says so.
//
// Every expect_* returns a testing::AssertionResult naming what the machine asked for instead, so a test reads
// `ASSERT_TRUE(s.expect_write(...))`. The script never loops without bound: a machine that keeps writing is cut off
// after max_writes.
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/sequence.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace rdp::test {

namespace seq = protocol::sequence;

template <class Machine>
class script {
 public:
  // Starts at an arbitrary instant far from zero, so a machine that confuses a duration with an instant shows.
  explicit script(Machine& machine, seq::instant start = seq::instant{} + std::chrono::hours(1000))
      : machine_(machine), now_(start) {}

  // The first resume (TCP connected / accepted).
  const seq::action& start() { return resume(seq::happened(seq::event_kind::start, now_)); }

  const seq::action& pending() const { return pending_; }
  seq::instant now() const { return now_; }
  void advance(std::chrono::milliseconds by) { now_ += by; }
  // Moves time to the pending action's deadline (for a read, write, start_tls or close that has one).
  void advance_to_deadline() { now_ = std::max(now_, pending_.deadline); }

  // Everything the machine writes until it asks for something else; answered with `written` each time.
  std::vector<protocol::byte_buffer> take_writes(std::size_t max_writes = 256) {
    std::vector<protocol::byte_buffer> out;
    while (pending_.kind == seq::action_kind::write && out.size() < max_writes) {
      out.emplace_back(pending_.bytes.begin(), pending_.bytes.end());
      resume(seq::happened(seq::event_kind::written, now_));
    }
    return out;
  }
  // take_writes() concatenated: the byte stream the peer would see.
  protocol::byte_buffer take_stream(std::size_t max_writes = 256) {
    protocol::byte_buffer all;
    for (auto& w : take_writes(max_writes)) all.insert(all.end(), w.begin(), w.end());
    return all;
  }

  // The pending action is a write and `check` accepts its bytes; the write is then answered with `written`.
  testing::AssertionResult expect_write(const std::function<bool(protocol::bytes_view)>& check = {}) {
    if (pending_.kind != seq::action_kind::write) return wrong("write");
    protocol::byte_buffer bytes(pending_.bytes.begin(), pending_.bytes.end());
    if (check && !check(bytes)) return testing::AssertionFailure() << "the write's bytes were not as expected (" << bytes.size() << " bytes)";
    last_write_ = std::move(bytes);
    resume(seq::happened(seq::event_kind::written, now_));
    return testing::AssertionSuccess();
  }
  const protocol::byte_buffer& last_write() const { return last_write_; }

  testing::AssertionResult expect(seq::action_kind kind) {
    if (pending_.kind != kind) return wrong(seq::to_string(kind));
    return testing::AssertionSuccess();
  }

  // Feeds `bytes` to a pending read, in pieces of at most `piece` bytes (0: in one piece). Between pieces the
  // machine must ask to read again; when it asks for something else before all is fed, that is a failure.
  testing::AssertionResult feed(protocol::bytes_view bytes, std::size_t piece = 0) {
    if (bytes.empty()) return testing::AssertionSuccess();
    std::size_t at = 0;
    while (at < bytes.size()) {
      if (pending_.kind != seq::action_kind::read)
        return wrong("read") << " with " << (bytes.size() - at) << " of " << bytes.size() << " bytes still to feed";
      const auto n = piece == 0 ? bytes.size() - at : std::min(piece, bytes.size() - at);
      resume(seq::received(now_, bytes.subspan(at, n)));
      at += n;
    }
    return testing::AssertionSuccess();
  }
  // Feeds `bytes` split at the given offsets (ascending, each below bytes.size()).
  testing::AssertionResult feed_split(protocol::bytes_view bytes, const std::vector<std::size_t>& cuts) {
    std::size_t from = 0;
    for (auto cut : cuts) {
      if (cut <= from || cut >= bytes.size()) continue;
      if (auto r = feed(bytes.subspan(from, cut - from)); !r) return r;
      from = cut;
    }
    return feed(bytes.subspan(from));
  }

  testing::AssertionResult tls_done() {
    if (pending_.kind != seq::action_kind::start_tls) return wrong("start_tls");
    resume(seq::happened(seq::event_kind::tls_done, now_));
    return testing::AssertionSuccess();
  }
  // The pending action's deadline passes: time moves to it and the machine hears timed_out.
  testing::AssertionResult time_out() {
    if (pending_.kind == seq::action_kind::done || pending_.kind == seq::action_kind::notify)
      return wrong("an action with a deadline");
    advance_to_deadline();
    resume(seq::happened(seq::event_kind::timed_out, now_));
    return testing::AssertionSuccess();
  }
  // The pending read, write or handshake fails with `ec`.
  testing::AssertionResult fail(boost::system::error_code ec) {
    if (pending_.kind == seq::action_kind::done || pending_.kind == seq::action_kind::notify)
      return wrong("an I/O action");
    resume(seq::failed(now_, ec));
    return testing::AssertionSuccess();
  }
  testing::AssertionResult notified() {
    if (pending_.kind != seq::action_kind::notify) return wrong("notify");
    resume(seq::happened(seq::event_kind::notified, now_));
    return testing::AssertionSuccess();
  }
  // The owner changed an input: only a wakeable read may be woken.
  testing::AssertionResult wake() {
    if (pending_.kind != seq::action_kind::read || !pending_.wakeable) return wrong("a wakeable read");
    resume(seq::happened(seq::event_kind::woken, now_));
    return testing::AssertionSuccess();
  }
  // The pending action is a close of `style`; it is answered with closed.
  testing::AssertionResult expect_close(seq::close_style style) {
    if (pending_.kind != seq::action_kind::close) return wrong("close");
    if (pending_.close != style)
      return testing::AssertionFailure() << "close style " << seq::to_string(pending_.close) << ", expected "
                                         << seq::to_string(style);
    resume(seq::happened(seq::event_kind::closed, now_));
    return testing::AssertionSuccess();
  }
  testing::AssertionResult expect_done() {
    if (pending_.kind != seq::action_kind::done) return wrong("done");
    return testing::AssertionSuccess();
  }

  const seq::action& resume(const seq::event& e) {
    pending_ = machine_.resume(e);
    return pending_;
  }

 private:
  testing::AssertionResult wrong(const std::string& expected) const {
    return testing::AssertionFailure() << "the machine asked for " << seq::to_string(pending_.kind) << ", expected "
                                       << expected;
  }

  Machine& machine_;
  seq::instant now_;
  seq::action pending_{};
  protocol::byte_buffer last_write_;
};

}  // namespace rdp::test
