#pragma once
// Two one-step operations the probe chains after its X.224 exchange (x224_negotiation.hpp), as sans-I/O machines on
// the one engine (sequence.hpp), in the manner of Boost.MySQL's small sansio algorithms:
//  - tls_upgrade: the TLS handshake on the same socket (MS-RDPBCGR 5.4.5.1), or on a fresh one for a TLS-first
//    listener. The TLS facts (version, cipher, chain, verification) are the driver's to read from its TLS session
//    once this ends with the handshake done: they are OpenSSL's, not the protocol's.
//  - x224_goodbye: an X.224 Disconnect Request (MS-RDPBCGR 2.2.2.1 via X.224 DR), what rdpscan sends to a Standard
//    RDP Security server before it goes, rather than vanishing mid-sequence.
// Neither closes: the caller ends the socket (or chains the session check on the same TLS).
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/sequence.hpp"

namespace rdp::protocol {

struct step_outcome {
  bool finished = false;                // the handshake completed / the DR was sent
  bool timed_out = false;
  boost::system::error_code io_error;   // the stream's or TLS's error
  sequence::instant began{};            // the action was asked for
  sequence::instant ended{};            // the last event
};

class tls_upgrade {
 public:
  explicit tls_upgrade(sequence::duration timeout) : timeout_(timeout) {}
  // start: start_tls; tls_done, timed_out, io_error: done.
  sequence::action resume(const sequence::event& e);
  const step_outcome& outcome() const noexcept { return outcome_; }

 private:
  sequence::duration timeout_;
  step_outcome outcome_;
  bool started_ = false, done_ = false;
};

class x224_goodbye {
 public:
  explicit x224_goodbye(sequence::duration timeout);
  // start: write the DR; written, timed_out, io_error: done.
  sequence::action resume(const sequence::event& e);
  const step_outcome& outcome() const noexcept { return outcome_; }

 private:
  sequence::duration timeout_;
  byte_buffer request_;
  step_outcome outcome_;
  bool started_ = false, done_ = false;
};

}  // namespace rdp::protocol
