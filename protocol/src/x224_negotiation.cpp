#include "rdp/protocol/x224_negotiation.hpp"

#include "rdp/protocol/errc.hpp"
#include "rdp/protocol/tpkt.hpp"

#include <algorithm>

namespace rdp::protocol {

sequence::action x224_negotiation::stop(const sequence::event& e, boost::system::error_code ec, bool timed_out) {
  outcome_.io_error = ec;
  outcome_.timed_out = timed_out;
  outcome_.ended_at = e.now;
  state_ = state::done;
  return sequence::done();
}

bool x224_negotiation::judge() {
  const auto& bytes = outcome_.received;
  // A header that is not TPKT, or announces more than the cap, ends the wait at once: a hostile length costs nothing.
  if (auto header = tpkt::peek_frame(bytes, {options_.cap, false}); !header && !is_need_more(header.error())) {
    outcome_.malformed = header.error();
    return true;
  }
  auto decoded = x224::decode_connection_confirm(bytes);
  if (decoded) {
    outcome_.confirm = decoded->value;
    outcome_.confirm_size = decoded->consumed;
    return true;
  }
  if (is_need_more(decoded.error())) return false;
  outcome_.malformed = decoded.error();
  return true;
}

sequence::action x224_negotiation::resume(const sequence::event& e) {
  using sequence::event_kind;
  if (state_ == state::done) return sequence::done();
  if (e.kind == event_kind::timed_out) return stop(e, {}, true);
  if (e.kind == event_kind::io_error) return stop(e, e.error, false);
  switch (state_) {
    case state::start: {
      x224::connection_request cr;
      cr.cookie = options_.cookie;
      if (options_.requested) cr.negotiation = neg_request{0, *options_.requested};
      auto request = x224::encode(cr);
      if (!request) return stop(e, request.error(), false);  // only a cookie too long for a TPKT
      request_ = std::move(*request);
      outcome_.encoded = true;
      outcome_.sent_at = e.now;
      state_ = state::send;
      return sequence::write(request_, e.now + options_.read_timeout);
    }
    case state::send:
      if (e.kind != event_kind::written) return stop(e, {}, false);
      state_ = state::answer;
      outcome_.stopped_at = x224_negotiation_stop::answer;
      deadline_ = e.now + options_.read_timeout;  // one deadline for the whole answer
      return sequence::read(deadline_);
    case state::answer: {
      if (e.kind != event_kind::received) return stop(e, {}, false);
      auto& received = outcome_.received;
      const auto keep = std::min(e.bytes.size(), options_.cap - std::min(options_.cap, received.size()));
      received.insert(received.end(), e.bytes.begin(), e.bytes.begin() + static_cast<std::ptrdiff_t>(keep));
      if (judge()) return stop(e, {}, false);
      if (received.size() >= options_.cap) {
        outcome_.over_cap = true;
        return stop(e, {}, false);
      }
      return sequence::read(deadline_);
    }
    case state::done: break;
  }
  return sequence::done();
}

}  // namespace rdp::protocol
