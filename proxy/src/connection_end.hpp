#pragma once
// Ending a relayed connection's sides: a reset to one side or both (what a firewall's RST looks like), and the end of
// the whole connection (both sockets closed, its flow kept, its place in the limits given back).
#include "proxy_state.hpp"

#include <string>

namespace rdp::proxy::detail {

// The proxy resets one side (SO_LINGER 0), once: counted, recorded toward the client, said in a `closed` event.
void reset_side(const state_ptr& st, connection& c, closer side, std::string why);
void reset_both(const state_ptr& st, connection& c, const std::string& why);

// Ends the connection, once: its timers cancelled, the sides still open closed gracefully (FIN), its flow kept if
// the proxy records, and it leaves `live` and the per-source count.
void finish(const state_ptr& st, const connection_ptr& c);

// One of the connection's two pumps has ended; the second to end finishes the connection.
void pump_done(const state_ptr& st, const connection_ptr& c);

}  // namespace rdp::proxy::detail
