#include "rdp/protocol/ntlm_info_exchange.hpp"

#include <algorithm>

namespace rdp::protocol {

boost::system::result<ntlm::challenge_message> find_challenge(const credssp::ts_request& answer) {
  boost::system::error_code first_error = make_error_code(ntlm::error::bad_signature);
  for (const auto& token : answer.nego_tokens) {
    auto direct = ntlm::decode_challenge(token);
    if (direct) return direct;
    if (direct.error() != ntlm::error::bad_signature) {
      first_error = direct.error();
      continue;
    }
    if (auto at = ntlm::find_signature(token)) {
      auto inner = ntlm::decode_challenge(bytes_view(token).subspan(*at));
      if (inner) return inner;
      first_error = inner.error();
    }
  }
  return first_error;
}

sequence::action ntlm_info_exchange::stop(boost::system::error_code ec, bool timed_out) {
  outcome_.io_error = ec;
  outcome_.timed_out = timed_out;
  state_ = state::done;
  return sequence::done();
}

sequence::action ntlm_info_exchange::resume(const sequence::event& e) {
  using sequence::event_kind;
  if (state_ == state::done) return sequence::done();
  if (e.kind == event_kind::timed_out) return stop({}, true);
  if (e.kind == event_kind::io_error) return stop(e.error, false);
  switch (state_) {
    case state::start:
      state_ = state::tls;
      outcome_.stopped_at = ntlm_info_stop::tls;
      return sequence::start_tls(e.now + options_.tls_timeout);
    case state::tls: {
      if (e.kind != event_kind::tls_done) return stop({}, false);
      credssp::ts_request hello;
      hello.version = options_.credssp_version;
      auto negotiate = ntlm::encode(ntlm::negotiate_message{});  // nmap's flags, Version present (MS-NLMP 2.2.1.1)
      if (!negotiate) {
        outcome_.stopped_at = ntlm_info_stop::encode;
        return stop(negotiate.error(), false);
      }
      hello.nego_tokens.push_back(std::move(*negotiate));
      request_ = credssp::encode(hello);
      state_ = state::send;
      outcome_.stopped_at = ntlm_info_stop::send;
      outcome_.sent_at = e.now;
      return sequence::write(request_, e.now + options_.read_timeout);
    }
    case state::send:
      if (e.kind != event_kind::written) return stop({}, false);
      state_ = state::answer;
      outcome_.stopped_at = ntlm_info_stop::answer;
      deadline_ = e.now + options_.read_timeout;  // one deadline for the whole answer
      return sequence::read(deadline_);
    case state::answer: {
      if (e.kind != event_kind::received) return stop({}, false);
      auto& received = outcome_.received;
      const auto keep = std::min(e.bytes.size(), options_.max_answer_bytes - received.size());
      received.insert(received.end(), e.bytes.begin(), e.bytes.begin() + static_cast<std::ptrdiff_t>(keep));
      auto decoded = credssp::decode_ts_request(received);
      if (decoded) {
        outcome_.answer = std::move(decoded->value);
        outcome_.answered_at = e.now;
        return stop({}, false);
      }
      if (!is_need_more(decoded.error())) {
        outcome_.malformed = decoded.error();
        return stop({}, false);
      }
      if (received.size() >= options_.max_answer_bytes) {
        outcome_.over_cap = true;
        return stop({}, false);
      }
      return sequence::read(deadline_);
    }
    case state::done: break;
  }
  return sequence::done();
}

}  // namespace rdp::protocol
