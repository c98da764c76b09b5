#pragma once
// Moving one direction's bytes with splice(2) through a pipe, socket to socket without a copy through user space —
// for as long as nobody needs to see them: the phase tracker is done, nothing is recorded, and the policy has no
// fault armed that works on bytes.
#include "proxy_state.hpp"

namespace rdp::proxy::detail {

// Whether a direction may move its bytes without looking at them. Checked again before every chunk.
bool may_splice(const connection& c, way w);

// How splicing stopped.
struct splice_end {
  bool source = false;  // the source ended (ec: eof for a FIN) rather than the sink failing
  net::error_code ec;   // empty: no longer eligible, the buffered loop goes on
};

// Splices `w` until it may no longer (then an empty ec: the pump reads and looks again) or a side ends or fails.
net::asio::awaitable<splice_end> splice_pump(state_ptr st, connection_ptr c, way w);

}  // namespace rdp::proxy::detail
