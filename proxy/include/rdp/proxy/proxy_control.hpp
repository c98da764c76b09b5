#pragma once
// The fault proxy's control commands (docs/proxy.md): one JSON request line to its response, like rdpsim's control
// interface (docs/control.md) and served by the same loopback server (rdp/sim/control_server.hpp, given this as its
// handler by `rdpsim proxy`). Requests: {"token":…,"command":"faults","connection":N|null,"set":{…}},
// {"token":…,"command":"connections"}, {"token":…,"command":"counters"}, {"token":…,"command":"phase","connection":N,
// "phase":"active"}. The counters answer is {"ok":true,"counters":{…},"listener":{"listening":bool,"failures":N,
// "last_error":"…"|null}}.
#include "rdp/net/control_line.hpp"
#include "rdp/proxy/fault_proxy.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace rdp::proxy {

// net::handle_control_request with the proxy's commands. Never throws. Call on the proxy's executor.
net::control_outcome handle_proxy_control_line(fault_proxy& proxy, std::string_view token, std::string_view line) noexcept;

// A fault change from its JSON ("set" above): one member per row of fault_table (faults.hpp), named by its control
// key — {"idle_timeout_ms":N|null,"on_idle":"reset","latency_ms":N,"bandwidth":N|RATE,"slice":N|SIZE,
// "reset_now":true,"blackhole":bool,"corrupt":"from-server",…}. A `…_ms` member is a number of milliseconds, a rate or
// a size a number of bytes or text in the tools' grammar ("10Mbit/s", net::read_rate), a phase or a word text, an
// on/off a boolean. Every member is optional; false with `why` naming the member and what is wrong for anything else.
bool fault_change_from_json(const nlohmann::json& j, fault_change& out, std::string* why);

}  // namespace rdp::proxy
