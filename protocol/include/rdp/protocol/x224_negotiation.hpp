#pragma once
// The probe's X.224 exchange as a sans-I/O machine (sequence.hpp): write a Connection Request, then read the answer
// until it is a whole Connection Confirm, something that cannot be one (not TPKT, a TPKT header announcing more than
// the cap, a whole frame that does not decode as a CC), the cap, the deadline or a stream error (MS-RDPBCGR 1.3.1.1
// steps 1-2). It decides nothing about what the answer means: its outcome keeps the raw bytes, and the pure
// classifiers (classify.hpp, the probe's verdicts) judge them. One operation in the manner of Boost.MySQL's sansio
// algorithms: it ends with done and no close, so the caller can chain the next one (TLS, CredSSP, …) on the same
// engine and socket.
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/sequence.hpp"
#include "rdp/protocol/x224.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace rdp::protocol {

struct x224_negotiation_options {
  std::optional<std::string> cookie;               // "Cookie: mstshash=…"
  std::optional<std::uint32_t> requested;          // RDP_NEG_REQ's requestedProtocols; nullopt: no RDP_NEG_REQ
  std::size_t cap = 64 * 1024;                     // at most this much of the answer is kept and waited for
  sequence::duration read_timeout{3000};           // sending the request; then, separately, the whole answer
};

enum class x224_negotiation_stop {
  send,    // encoding (a cookie too long for a TPKT) or sending the request failed or timed out
  answer,  // the answer: a Connection Confirm, malformed, over the cap, cut short, or none
};

struct x224_negotiation_outcome {
  x224_negotiation_stop stopped_at = x224_negotiation_stop::send;
  bool timed_out = false;                          // the step's deadline passed
  boost::system::error_code io_error;              // the stream's error (eof, reset), or the encoder's
  bool over_cap = false;                           // `cap` bytes came without a verdict
  byte_buffer received;                            // what the server sent, at most `cap`
  std::optional<x224::connection_confirm> confirm;
  std::size_t confirm_size = 0;                    // bytes of `received` the Connection Confirm took
  // Not a Connection Confirm: not TPKT (errc::bad_tpkt_version), a TPKT header announcing more than the cap
  // (frame_too_large), or a whole frame that does not decode as a CC.
  boost::system::error_code malformed;
  bool encoded = false;                            // the request was encoded (sent_at is meaningful)
  sequence::instant sent_at{};                     // the request's write began
  sequence::instant ended_at{};                    // the last event
};

class x224_negotiation {
 public:
  explicit x224_negotiation(x224_negotiation_options options) : options_(std::move(options)) {}
  // start: write the CR. written: read. received/timed_out/io_error: as above. Returns done once outcome() is final;
  // never throws for what the peer sends.
  sequence::action resume(const sequence::event& e);
  const x224_negotiation_outcome& outcome() const noexcept { return outcome_; }

 private:
  enum class state { start, send, answer, done };
  sequence::action stop(const sequence::event& e, boost::system::error_code ec, bool timed_out);
  bool judge();  // true once the received bytes decide the answer

  x224_negotiation_options options_;
  x224_negotiation_outcome outcome_;
  state state_ = state::start;
  byte_buffer request_;
  sequence::instant deadline_{};
};

}  // namespace rdp::protocol
