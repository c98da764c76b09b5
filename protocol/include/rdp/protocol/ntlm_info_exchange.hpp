#pragma once
// The probe's NTLM-info exchange as a sans-I/O machine (sequence.hpp): after an X.224 exchange that selected CredSSP,
// the TLS handshake, one CredSSP TSRequest carrying an NTLM NEGOTIATE (MS-CSSP 3.1.5 step 1, MS-NLMP 2.2.1.1), and
// the server's TSRequest read until it decodes, is malformed, passes the cap or the deadline — what nmap's
// rdp-ntlm-info does. It stops there: no AUTHENTICATE, no close (the caller ends the socket; waiting for a TLS
// close_notify would cost a deadline per target and tell nothing). One operation, in the manner of Boost.MySQL's
// sansio algorithms: the caller chains it after its X.224 exchange on the same engine.
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/credssp.hpp"
#include "rdp/protocol/ntlm.hpp"
#include "rdp/protocol/sequence.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>

namespace rdp::protocol {

struct ntlm_info_options {
  sequence::duration tls_timeout{5000};   // the TLS handshake
  sequence::duration read_timeout{5000};  // sending the TSRequest; then, separately, the whole answer
  // TSRequest.version stated: 6, the highest MS-CSSP 2.2.1 defines (nmap sends 0x60, which works only because a server
  // treats a higher version as its own). Versions 5 and 6 only change the pubKeyAuth step, which is never reached.
  std::int64_t credssp_version = credssp::latest_version;
  std::size_t max_answer_bytes = 64 * 1024;  // a CHALLENGE is a few hundred bytes; past this nothing is worth waiting for
};

// Where the exchange ended.
enum class ntlm_info_stop {
  tls,      // the TLS handshake failed or timed out
  encode,   // the NEGOTIATE could not be encoded (a bug; never the peer)
  send,     // sending the TSRequest failed or timed out
  answer,   // the answer: decoded (`answer`), malformed, over the cap, cut short, or none
};

struct ntlm_info_outcome {
  ntlm_info_stop stopped_at = ntlm_info_stop::tls;
  bool timed_out = false;                   // the step's deadline passed
  boost::system::error_code io_error;       // the stream's error (eof, reset, TLS), or the encoder's (encode)
  bool over_cap = false;                    // max_answer_bytes came without a whole TSRequest
  boost::system::error_code malformed;      // the answer does not decode as a TSRequest
  std::optional<credssp::ts_request> answer;
  byte_buffer received;                     // the answer's bytes, at most max_answer_bytes
  sequence::instant sent_at{};              // the TSRequest's write began (after TLS)
  sequence::instant answered_at{};          // the answer decoded
};

// The CHALLENGE among a TSRequest's negoTokens: raw (as Windows answers a raw NEGOTIATE), or found by its signature
// inside a wrapper such as SPNEGO, the way nmap looks for it. bad_signature when no token holds one.
boost::system::result<ntlm::challenge_message> find_challenge(const credssp::ts_request& answer);

class ntlm_info_exchange {
 public:
  explicit ntlm_info_exchange(ntlm_info_options options) : options_(options) {}
  // start: start_tls. tls_done: write the TSRequest. written: read. received/timed_out/io_error: per step. Returns
  // done once outcome() is final; never throws for what the peer sends.
  sequence::action resume(const sequence::event& e);
  const ntlm_info_outcome& outcome() const noexcept { return outcome_; }

 private:
  enum class state { start, tls, send, answer, done };
  sequence::action stop(boost::system::error_code ec, bool timed_out);

  ntlm_info_options options_;
  ntlm_info_outcome outcome_;
  state state_ = state::start;
  byte_buffer request_;
  sequence::instant deadline_{};
};

}  // namespace rdp::protocol
