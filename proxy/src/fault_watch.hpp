#pragma once
// What a connection's fault policy decides away from its chunks, carried out: a phase reached (seen on the wire or
// told from outside), a fault change applied, and the policy's due times (the idle timeout, a reset at a phase)
// watched for the connection's life.
#include "proxy_state.hpp"

#include <string>
#include <vector>

namespace rdp::proxy::detail {

// A phase reached: told to the policy and, if new, said in a `phase` event; the fault watch asks again.
void reach(const state_ptr& st, const connection_ptr& c, phase p, std::string detail = {});

// A fault change for this connection: merged into its policy, said, and carried out (reset now), or the waits ask
// the policy again.
void apply_to(const state_ptr& st, const connection_ptr& c, const fault_change& change);

// The phase tracker's milestones for one chunk, as phases reached (or said, for a stream that is not RDP or lost).
void on_stream_events(const state_ptr& st, const connection_ptr& c,
                      const std::vector<protocol::stream_phase::phase_event>& events);

// Waits for the policy's next due time and carries out what it brings, until the connection ends.
net::asio::awaitable<void> fault_watch(state_ptr st, connection_ptr c);

}  // namespace rdp::proxy::detail
