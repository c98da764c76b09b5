#pragma once
// The half-close watch: once one side's FIN has been passed on, the other side has proxy_config::half_close_timeout
// without sending to end its own stream; then the proxy closes both (issue 24: peers that never answer a FIN held
// the proxy's descriptors).
#include "proxy_state.hpp"

namespace rdp::proxy::detail {

// Started once per connection, when the first FIN (from `ended`) is passed on; ends with the connection.
net::asio::awaitable<void> half_close_watch(state_ptr st, connection_ptr c, closer ended);

}  // namespace rdp::proxy::detail
