#pragma once
// Refusing a connection the listener has accepted: at once with a reset (the refuse_new fault), or as busy for a
// connection limit (docs/proxy.md, "Limits") — an X.224 Connection Request is answered with an X.224 Disconnect
// Request, "congestion at TSAP", where a dead server refuses the SYN.
#include "proxy_state.hpp"

#include <string>

namespace rdp::proxy::detail {

// refuse_new: the connection is reset at once (an RST after the handshake); counted and said in a `refused` event.
void refuse(const state_ptr& st, net::tcp::socket socket, const std::string& why);

// A limit is reached: counted, said (with `why`, the limit and for whom), and answered as busy — or closed at once
// when max_answering_refusals are already being answered, so a flood of refusals is bounded too.
void refuse_busy(const state_ptr& st, net::tcp::socket socket, const std::string& why);

}  // namespace rdp::proxy::detail
