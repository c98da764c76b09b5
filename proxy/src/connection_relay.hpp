#pragma once
// One accepted connection relayed: its upstream connection made, then per direction a pump that reads, lets the
// phase tracker look, asks the fault policy, and carries out its decision (write slice by slice, drop, reset), with
// the fault watch beside them.
#include "proxy_state.hpp"

namespace rdp::proxy::detail {

// Connects upstream (or resets the client when that fails) and starts the two pumps and the fault watch.
net::asio::awaitable<void> run_connection(state_ptr st, connection_ptr c);

}  // namespace rdp::proxy::detail
