// Fuzzes the client connection sequence (protocol/client_sequence.hpp) with the input as the server's bytes. The
// first byte chooses how the stream is cut (low nibble + 1 bytes per read) and how the machine starts (bit 4: after
// TLS, as the probe's session check; bit 5: Standard RDP Security; bits 4 and 5 together: NLA — CredSSP after TLS with
// real crypto, the TLS key given with tls_done, HYBRID_EX asked for when bit 6 is set too; bit 6: stop after the MCS Connect-Response with a
// goodbye; bit 7: busy input, and every fourth wakeable read — the hold's — times out, every seventh is woken). The
// rest is fed to whatever read the machine asks for; at the end of the input the stream fails. (A seed that goes past
// the Connection Confirm cuts byte at a time: the machine refuses bytes that come with the confirm, before TLS.) The machine must end with close then done within a bounded number of steps, never write an empty
// buffer, never ask for a deadline before the event that led to it, and stay done.
#include "rdp/crypto/openssl_primitives.hpp"
#include "rdp/protocol/client_sequence.hpp"

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

  client_sequence_options options;
  options.x224_cookie = "fuzz";
  const bool nla = (mode & 0x30) == 0x30;
  static const byte_buffer tls_key = {0x30, 0x03, 0x02, 0x01, 0x01};
  if (nla) {
    options.security = client_security::nla;
    options.nla.crypto = &rdp::crypto::openssl_primitives();
    options.nla.hybrid_ex = (mode & 0x40) != 0;
  } else {
    if (mode & 0x10) options.start = client_start::after_tls;
    if (mode & 0x20) options.security = client_security::standard;
  }
  if (mode & 0x40) {
    options.stop_after = client_phase::mcs_connected;
    options.goodbye = true;
  }
  if (mode & 0x80) options.busy = seq::duration(250);
  client_sequence machine(options);

  auto now = seq::instant{} + std::chrono::hours(1);
  std::size_t at = 0, reads = 0;
  bool closed = false;
  auto action = machine.resume(seq::happened(seq::event_kind::start, now));
  // Every read takes at least one byte of input and every other action is answered at once, so a run ends within a
  // few steps per input byte; anything longer is a machine that loops.
  const std::size_t max_steps = 64 + 8 * size;
  for (std::size_t steps = 0;; ++steps) {
    if (steps > max_steps) std::abort();
    now += std::chrono::milliseconds(1);
    switch (action.kind) {
      case seq::action_kind::write:
        if (action.bytes.empty()) std::abort();
        action = machine.resume(seq::happened(seq::event_kind::written, now));
        break;
      case seq::action_kind::read:
        if (action.deadline < now - std::chrono::milliseconds(1)) std::abort();
        ++reads;
        if ((mode & 0x80) && action.wakeable && reads % 4 == 0) {
          now = std::max(now, action.deadline);
          action = machine.resume(seq::happened(seq::event_kind::timed_out, now));
        } else if ((mode & 0x80) && action.wakeable && reads % 7 == 0) {
          action = machine.resume(seq::happened(seq::event_kind::woken, now));
        } else if (at < stream.size()) {
          const auto n = std::min(piece, stream.size() - at);
          action = machine.resume(seq::received(now, stream.subspan(at, n)));
          at += n;
        } else {
          action = machine.resume(seq::failed(now, boost::system::errc::make_error_code(boost::system::errc::no_message)));
        }
        break;
      case seq::action_kind::start_tls: {
        auto done = seq::happened(seq::event_kind::tls_done, now);
        if (nla) done.bytes = tls_key;  // the peer certificate's SubjectPublicKey, as the engine gives it
        action = machine.resume(done);
        break;
      }
      case seq::action_kind::notify: action = machine.resume(seq::happened(seq::event_kind::notified, now)); break;
      case seq::action_kind::close:
        closed = true;
        action = machine.resume(seq::happened(seq::event_kind::closed, now));
        break;
      case seq::action_kind::done:
        if (!closed) std::abort();  // every ending goes through a close
        if (machine.resume(seq::happened(seq::event_kind::written, now)).kind != seq::action_kind::done) std::abort();
        if (!machine.result().failure.empty() && !machine.result().error) std::abort();
        return 0;
    }
  }
}
