#pragma once
// Recording one connection's client-facing socket as a capture::tcp_flow (proxy_config::record, take_flows): what the
// client sent and what the proxy handed to it, as it happened, up to max_record_bytes.
#include "proxy_state.hpp"

namespace rdp::proxy::detail {

// Starts the flow's record (if the proxy records): the client's and the listener's endpoints, the time of accept.
void begin_recording(connection& c, bool record, const net::tcp::endpoint& client, const net::tcp::endpoint& local);

// Adds one event to the flow if it is being recorded; past max_record_bytes recording stops, said in an event.
void record(connection& c, const state_ptr& st, capture::direction from, capture::flow_event_kind kind,
            protocol::bytes_view bytes = {});

}  // namespace rdp::proxy::detail
