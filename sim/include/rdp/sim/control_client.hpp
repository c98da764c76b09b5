#pragma once
// The client side of rdpsim's control interface, what `rdpsim ctl` sends its request with (docs/control.md).
#include "rdp/net/asio.hpp"
#include "rdp/net/endpoint.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace rdp::sim {

struct control_call_result {
  net::error_code ec;         // set when no response arrived (refused, timed out, closed, not JSON)
  std::string error;          // a sentence for ec: "cannot reach rdpsim control at 127.0.0.1:13390: connection refused"
  nlohmann::json response;    // the server's answer when !ec (its "ok" says whether the action was done)
};
// Connects, sends `request` as one line, reads one response line. Blocking (its own io_context); `timeout` bounds
// the connect, the write and the read each. Only to loopback: `where.host` must be a loopback address (127.0.0.0/8,
// ::1) or "localhost" (then only its loopback addresses are tried); anything else is refused with
// errc::invalid_argument and a sentence saying so, before any lookup or connect.
control_call_result call_control(const net::host_port& where, const nlohmann::json& request,
                                 net::milliseconds timeout = net::milliseconds(5000));

}  // namespace rdp::sim
