// Fuzzes the probe's NTLM-info exchange (protocol/ntlm_info_exchange.hpp) with the input as the server's bytes after
// TLS. The first byte chooses how the stream is cut (low nibble + 1 bytes per read) and where it fails (bit 4: the TLS
// handshake times out; bit 5: the send fails); the rest is fed to the reads, and at its end the stream fails. The
// machine must end with done within a bounded number of steps, never write an empty buffer, never move the answer's
// deadline, keep at most the cap, and stay done. A decoded answer goes through find_challenge and ntlm::facts.
#include "rdp/protocol/ntlm_info_exchange.hpp"

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
  ntlm_info_options options;
  options.max_answer_bytes = 2048;
  ntlm_info_exchange machine(options);

  auto now = seq::instant{} + std::chrono::hours(1);
  std::size_t at = 0;
  std::optional<seq::instant> answer_deadline;
  auto action = machine.resume(seq::happened(seq::event_kind::start, now));
  const std::size_t max_steps = 16 + 2 * size;
  for (std::size_t steps = 0; action.kind != seq::action_kind::done; ++steps) {
    if (steps > max_steps) std::abort();
    now += std::chrono::milliseconds(1);
    switch (action.kind) {
      case seq::action_kind::start_tls:
        action = (mode & 0x10) ? machine.resume(seq::happened(seq::event_kind::timed_out, now))
                               : machine.resume(seq::happened(seq::event_kind::tls_done, now));
        break;
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
      default: std::abort();  // no notify or close in this machine
    }
  }
  const auto& out = machine.outcome();
  if (out.received.size() > options.max_answer_bytes) std::abort();
  if (machine.resume(seq::happened(seq::event_kind::written, now)).kind != seq::action_kind::done) std::abort();
  if (out.answer) {
    if (auto challenge = find_challenge(*out.answer)) (void)ntlm::facts(*challenge);
  }
  return 0;
}
