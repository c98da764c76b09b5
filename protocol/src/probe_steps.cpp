#include "rdp/protocol/probe_steps.hpp"

#include "rdp/protocol/x224.hpp"

namespace rdp::protocol {
namespace {

// The end of a one-step operation: what the event says about the step.
sequence::action finish(step_outcome& out, bool& done, const sequence::event& e, sequence::event_kind success) {
  out.finished = e.kind == success;
  out.timed_out = e.kind == sequence::event_kind::timed_out;
  if (e.kind == sequence::event_kind::io_error) out.io_error = e.error;
  out.ended = e.now;
  done = true;
  return sequence::done();
}

}  // namespace

sequence::action tls_upgrade::resume(const sequence::event& e) {
  if (done_) return sequence::done();
  if (!started_) {
    started_ = true;
    outcome_.began = e.now;
    return sequence::start_tls(e.now + timeout_);
  }
  return finish(outcome_, done_, e, sequence::event_kind::tls_done);
}

x224_goodbye::x224_goodbye(sequence::duration timeout)
    : timeout_(timeout), request_(x224::encode(x224::disconnect_request{})) {}

sequence::action x224_goodbye::resume(const sequence::event& e) {
  if (done_) return sequence::done();
  if (!started_) {
    started_ = true;
    outcome_.began = e.now;
    return sequence::write(request_, e.now + timeout_);
  }
  return finish(outcome_, done_, e, sequence::event_kind::written);
}

}  // namespace rdp::protocol
