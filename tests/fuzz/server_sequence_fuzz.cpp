// Fuzzes the server connection state machine (protocol/server_sequence.hpp) with random client bytes. The first
// input byte says how the rest is cut into reads (its low 4 bits: pieces of 1-16 bytes) and how the owner answers
// (bit 4: the logon decision says the cookie was stale; bit 5: it denies the logon; bit 6: an admin logoff once the
// session is logged on). Once the input is used up the pending deadline passes, then the stream fails. The machine
// must never throw, must finish within a bounded number of steps, and must say why it ended.
#include "rdp/crypto/openssl_primitives.hpp"
#include "rdp/protocol/errinfo.hpp"
#include "rdp/protocol/server_sequence.hpp"

#include <boost/system/errc.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>

using namespace rdp::protocol;
namespace seq = rdp::protocol::sequence;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t control = data[0];
  const bytes_view stream(data + 1, size - 1);
  const std::size_t piece = static_cast<std::size_t>(control & 0x0F) + 1;

  server_sequence_options options;
  options.policy = server_security_policy{to_bits(security_protocol::ssl) | to_bits(security_protocol::hybrid) |
                                              to_bits(security_protocol::hybrid_ex),
                                          true};
  // The CredSSP logon runs with real primitives, so that TSRequests past the CHALLENGE reach the acceptor
  // (credssp_acceptor_fuzz goes deeper into it with a real client).
  options.crypto = &rdp::crypto::openssl_primitives();
  options.public_key = {0x30, 0x03, 0x02, 0x01, 0x01};
  options.accounts = {{"alice", "LAB", "Passw0rd!", account_state::enabled, true}};
  options.heartbeat = std::chrono::seconds(5);
  options.idle_limit = std::chrono::seconds(60);
  server_sequence machine(options);

  auto now = seq::instant{} + std::chrono::hours(1000);
  std::size_t at = 0;
  int quiet_events = 0;  // events after the input ran out: a deadline, then the stream's failure
  bool logoff_asked = false;
  auto next = machine.resume(seq::happened(seq::event_kind::start, now));
  // Every step either consumes input or is one of a bounded number of answers around it.
  const std::size_t max_steps = 64 * (stream.size() / piece + 1) + 256;
  for (std::size_t steps = 0; steps < max_steps; ++steps) {
    now += std::chrono::milliseconds(1);
    switch (next.kind) {
      case seq::action_kind::read:
        if (next.wakeable && logoff_asked) {
          next = machine.resume(seq::happened(seq::event_kind::woken, now));
        } else if (at < stream.size()) {
          const auto n = std::min(piece, stream.size() - at);
          next = machine.resume(seq::received(now, stream.subspan(at, n)));
          at += n;
        } else if (quiet_events++ == 0 && next.deadline != seq::instant::max()) {
          now = std::max(now, next.deadline);
          next = machine.resume(seq::happened(seq::event_kind::timed_out, now));
        } else {
          next = machine.resume(seq::failed(now, make_error_code(boost::system::errc::connection_reset)));
        }
        break;
      case seq::action_kind::write:
        if (next.bytes.empty()) std::abort();  // nothing to send is not a write
        next = machine.resume(seq::happened(seq::event_kind::written, now));
        break;
      case seq::action_kind::start_tls: next = machine.resume(seq::happened(seq::event_kind::tls_done, now)); break;
      case seq::action_kind::notify:
        switch (machine.notice()) {
          case server_notice::logon_decision_needed:
            machine.decide_logon((control & 0x20) ? logon_decision::deny(errinfo::server_denied_connection)
                                                  : logon_decision::accept(1, (control & 0x10) != 0));
            break;
          case server_notice::activated:
            machine.set_session_info({1, "user", "domain", std::array<std::uint8_t, 16>{}});
            break;
          case server_notice::logged_on:
            if (control & 0x40) {
              machine.request_end({errinfo::rpc_initiated_logoff, mcs::disconnect_reason::provider_initiated,
                                   seq::close_style::graceful});
              logoff_asked = true;
            }
            break;
          case server_notice::ended:
            if (machine.result().ended == server_end::none) std::abort();
            break;
          default: break;
        }
        next = machine.resume(seq::happened(seq::event_kind::notified, now));
        break;
      case seq::action_kind::close: next = machine.resume(seq::happened(seq::event_kind::closed, now)); break;
      case seq::action_kind::done:
        if (machine.result().ended == server_end::none) std::abort();
        return 0;
    }
  }
  std::abort();  // the machine did not finish
}
