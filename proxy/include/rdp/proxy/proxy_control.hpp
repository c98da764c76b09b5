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

// A fault change from its JSON ("set" above): {"idle_timeout_ms":N|null,"on_idle":"drop"|"reset"|"reset-both",
// "idle_from":PHASE,"latency_ms":N,"jitter_ms":N,"bandwidth":N|RATE,"slice":N,"slice_delay_ms":N,"reset_now":true,
// "reset_at":PHASE,"reset_after_ms":N,"blackhole":bool,"listener_down_ms":N,"refuse_new":bool}. A bandwidth is
// bytes per second, or a rate as text ("10Mbit/s", net::read_rate). Every member is optional; false with `why`
// naming the member and what is wrong for anything else.
bool fault_change_from_json(const nlohmann::json& j, fault_change& out, std::string* why);

}  // namespace rdp::proxy
