// The fault proxy's control commands (proxy_control.hpp).
#include "rdp/proxy/proxy_control.hpp"

#include "rdp/net/quantity.hpp"

#include <limits>

namespace rdp::proxy {
namespace {

using json = nlohmann::json;

json failure(std::string why) { return net::control_failure(std::move(why)); }

bool read_ms(const json& v, const char* name, duration& out, std::string* why) {
  if (!v.is_number_unsigned() || v.get<std::uint64_t>() > 86'400'000u) {
    if (why) *why = std::string("'") + name + "' must be a whole number of milliseconds from 0 to 86400000";
    return false;
  }
  out = duration{v.get<std::int64_t>()};
  return true;
}

bool read_phase(const json& v, const char* name, std::optional<phase>& out, std::string* why) {
  if (v.is_string())
    if (auto p = phase_from_word(v.get_ref<const std::string&>())) {
      out = *p;
      return true;
    }
  if (why)
    *why = std::string("'") + name +
           "' must be a phase: connected, x224-request, x224-confirm, tls-client-hello, tls-established, "
           "first-app-data, logged-on, active, session-info-sent";
  return false;
}

bool read_bool(const json& v, const char* name, bool& out, std::string* why) {
  if (!v.is_boolean()) {
    if (why) *why = std::string("'") + name + "' must be true or false";
    return false;
  }
  out = v.get<bool>();
  return true;
}

json connection_json(const connection_info& c) {
  json reached = json::array();
  for (auto p : c.reached) reached.push_back(std::string(to_string(p)));
  return json{{"id", c.id},
              {"client", c.client},
              {"upstream_port", c.upstream_port},
              {"phases", std::move(reached)},
              {"forgotten", c.forgotten},
              {"bytes_from_client", c.bytes_from_client},
              {"bytes_from_server", c.bytes_from_server}};
}

json counters_json(const proxy_counters& c) {
  return json{{"accepted", c.accepted},
              {"refused", c.refused},
              {"refused_source_limit", c.refused_source_limit},
              {"refused_overall_limit", c.refused_overall_limit},
              {"upstream_failures", c.upstream_failures},
              {"idle_expiries", c.idle_expiries},
              {"half_close_expiries", c.half_close_expiries},
              {"resets_to_client", c.resets_to_client},
              {"resets_to_server", c.resets_to_server},
              {"bytes_from_client", c.bytes_from_client},
              {"bytes_from_server", c.bytes_from_server},
              {"bytes_dropped", c.bytes_dropped},
              {"bytes_spliced", c.bytes_spliced},
              {"open", c.open}};
}

// Whether the proxy listens now, and the last failure to listen again (kept after a recovery, so that a failure
// between two looks is not lost); null when there was none.
json listener_json(const proxy_counters& c) {
  return json{{"listening", c.listening},
              {"failures", c.listener_failures},
              {"last_error", c.listener_error.empty() ? json(nullptr) : json(c.listener_error)}};
}

std::optional<connection_id> read_connection(const json& request, std::string* why) {
  const auto it = request.find("connection");
  if (it == request.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_unsigned() || it->get<std::uint64_t>() == 0) {
    *why = "'connection' must be a connection id (1, 2, …) or null for all";
    return connection_id{0};
  }
  return it->get<connection_id>();
}

json run_command(fault_proxy& proxy, const json& request) {
  for (const auto& [key, value] : request.items())
    if (key != "token" && key != "command" && key != "connection" && key != "set" && key != "phase")
      return failure("unknown member '" + key + "' (a request has token, command, connection, set, phase)");
  const auto cmd_it = request.find("command");
  if (cmd_it == request.end() || !cmd_it->is_string())
    return failure("missing string member 'command' (faults, connections, counters, phase)");
  const auto& cmd = cmd_it->get_ref<const std::string&>();
  std::string why;
  if (cmd == "connections") {
    json list = json::array();
    for (const auto& c : proxy.connections()) list.push_back(connection_json(c));
    return json{{"ok", true}, {"connections", std::move(list)}};
  }
  if (cmd == "counters") {
    const auto counters = proxy.counters();
    return json{{"ok", true}, {"counters", counters_json(counters)}, {"listener", listener_json(counters)}};
  }
  const auto id = read_connection(request, &why);
  if (!why.empty()) return failure(why);
  if (cmd == "faults") {
    const auto set = request.find("set");
    if (set == request.end()) return failure("'faults' needs a member 'set' with the faults to change");
    fault_change change;
    if (!fault_change_from_json(*set, change, &why)) return failure("set: " + why);
    if (id) {
      if (!proxy.apply(*id, change)) return failure("no live connection " + std::to_string(*id));
    } else {
      proxy.apply(change);
    }
    return json{{"ok", true}, {"applied", describe(change)}};
  }
  if (cmd == "phase") {
    if (!id) return failure("'phase' needs a 'connection'");
    std::optional<phase> p;
    const auto it = request.find("phase");
    if (it == request.end() || !read_phase(*it, "phase", p, &why)) return failure(why.empty() ? "missing 'phase'" : why);
    if (!proxy.tell_phase(*id, *p)) return failure("no live connection " + std::to_string(*id));
    return json{{"ok", true}};
  }
  return failure("unknown command '" + cmd + "' (faults, connections, counters, phase)");
}

}  // namespace

bool fault_change_from_json(const json& j, fault_change& out, std::string* why) {
  if (!j.is_object()) {
    if (why) *why = "the faults are a JSON object";
    return false;
  }
  fault_change f;
  for (const auto& [key, v] : j.items()) {
    duration d{};
    bool b = false;
    if (key == "idle_timeout_ms") {
      if (v.is_null()) {
        f.idle_timeout = std::optional<duration>{};
      } else {
        if (!read_ms(v, "idle_timeout_ms", d, why)) return false;
        f.idle_timeout = std::optional<duration>{d};
      }
    } else if (key == "on_idle") {
      const auto e = v.is_string() ? idle_expiry_from_word(v.get_ref<const std::string&>()) : std::nullopt;
      if (!e) {
        if (why) *why = "'on_idle' must be drop, reset or reset-both";
        return false;
      }
      f.on_idle = *e;
    } else if (key == "idle_from") {
      if (!read_phase(v, "idle_from", f.idle_from, why)) return false;
    } else if (key == "reset_at") {
      if (!read_phase(v, "reset_at", f.reset_at_phase, why)) return false;
    } else if (key == "latency_ms" || key == "jitter_ms" || key == "slice_delay_ms" || key == "reset_after_ms" ||
               key == "listener_down_ms") {
      if (!read_ms(v, key.c_str(), d, why)) return false;
      (key == "latency_ms"       ? f.latency
       : key == "jitter_ms"      ? f.jitter
       : key == "slice_delay_ms" ? f.slice_delay
       : key == "reset_after_ms" ? f.reset_after
                                 : f.listener_down) = d;
    } else if (key == "bandwidth" && v.is_string()) {
      // A rate as the scenario files and the --bandwidth flag write it: "10Mbit/s", "64KiB/s" (quantity.hpp).
      std::string rate_why;
      const auto rate = net::read_rate(v.get_ref<const std::string&>(), net::zero_value::allow, &rate_why);
      if (!rate) {
        if (why) *why = "'bandwidth': " + rate_why;
        return false;
      }
      f.bandwidth = *rate;
    } else if (key == "bandwidth" || key == "slice") {
      if (!v.is_number_unsigned()) {
        if (why)
          *why = "'" + key + "' must be a whole number (0: none)" +
                 (key == "bandwidth" ? " of bytes per second, or a rate such as \"10Mbit/s\"" : "");
        return false;
      }
      if (key == "bandwidth")
        f.bandwidth = v.get<std::uint64_t>();
      else
        f.slice = static_cast<std::size_t>(std::min<std::uint64_t>(v.get<std::uint64_t>(), 1u << 20));
    } else if (key == "reset_now" || key == "blackhole" || key == "refuse_new") {
      if (!read_bool(v, key.c_str(), b, why)) return false;
      if (key == "reset_now") f.reset_now = b;
      else if (key == "blackhole") f.blackhole = b;
      else f.refuse_new = b;
    } else {
      if (why)
        *why = "unknown fault '" + key +
               "' (idle_timeout_ms, on_idle, idle_from, latency_ms, jitter_ms, bandwidth, slice, slice_delay_ms, "
               "reset_now, reset_at, reset_after_ms, blackhole, listener_down_ms, refuse_new)";
      return false;
    }
  }
  out = f;
  return true;
}

net::control_outcome handle_proxy_control_line(fault_proxy& proxy, std::string_view token, std::string_view line) noexcept {
  return net::handle_control_request(token, line, [&proxy](const json& request) { return run_command(proxy, request); });
}

}  // namespace rdp::proxy
