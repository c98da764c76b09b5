#pragma once
// The proxy's listener: the accept loop with admission (refuse_new, the connection limits), and the listener_down
// fault — the listener closed for a while, so the kernel refuses new connections, then opened again on the same
// address and port, retried for as long as the proxy runs if another process took the port meanwhile.
#include "proxy_state.hpp"

namespace rdp::proxy::detail {

// Marks the listener open and starts the accept loop on st->acceptor.
void start_listening(const state_ptr& st);

// Closes the listener now and reopens it after `how_long` (a new call re-arms the same timer).
void take_listener_down(const state_ptr& st, duration how_long);

}  // namespace rdp::proxy::detail
