// Fuzzes the probe's X.224 exchange (protocol/x224_negotiation.hpp) with the input as the server's answer. The first
// byte chooses how the stream is cut (low nibble + 1 bytes per read), whether RDP_NEG_REQ is sent (bit 4) and whether
// the send fails (bit 5); at the end of the input the stream fails. The machine must end with done within a bounded
// number of steps, keep at most the cap, never move the answer's deadline, and stay done.
#include "rdp/protocol/x224_negotiation.hpp"

#include <chrono>
#include <cstdint>
#include <cstdlib>

using namespace rdp::protocol;
namespace seq = rdp::protocol::sequence;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const bytes_view stream(data + 1, size - 1);
  const std::size_t piece = static_cast<std::size_t>(mode & 0x0F) + 1;
  x224_negotiation_options options;
  options.cookie = "fuzz";
  if (!(mode & 0x10)) options.requested = 0x0B;
  options.cap = 1024;
  x224_negotiation machine(options);

  auto now = seq::instant{} + std::chrono::hours(1);
  std::size_t at = 0;
  std::optional<seq::instant> answer_deadline;
  auto action = machine.resume(seq::happened(seq::event_kind::start, now));
  const std::size_t max_steps = 16 + 2 * size;
  for (std::size_t steps = 0; action.kind != seq::action_kind::done; ++steps) {
    if (steps > max_steps) std::abort();
    now += std::chrono::milliseconds(1);
    switch (action.kind) {
      case seq::action_kind::write:
        if (action.bytes.empty()) std::abort();
        action = (mode & 0x20) ? machine.resume(seq::failed(now, boost::system::errc::make_error_code(
                                                                     boost::system::errc::connection_reset)))
                               : machine.resume(seq::happened(seq::event_kind::written, now));
        break;
      case seq::action_kind::read:
        if (answer_deadline && *answer_deadline != action.deadline) std::abort();
        answer_deadline = action.deadline;
        if (at < stream.size()) {
          const auto n = std::min(piece, stream.size() - at);
          action = machine.resume(seq::received(now, stream.subspan(at, n)));
          at += n;
        } else {
          action = machine.resume(seq::failed(now, boost::system::errc::make_error_code(boost::system::errc::no_message)));
        }
        break;
      default: std::abort();  // no TLS, notify or close in this machine
    }
  }
  const auto& out = machine.outcome();
  if (out.received.size() > options.cap) std::abort();
  if (out.confirm && out.confirm_size > out.received.size()) std::abort();
  if (machine.resume(seq::happened(seq::event_kind::written, now)).kind != seq::action_kind::done) std::abort();
  return 0;
}
