// The fault proxy's control commands (proxy_control.hpp).
#include "rdp/proxy/proxy_control.hpp"

namespace rdp::proxy {
namespace {

using json = nlohmann::json;

json failure(std::string why) { return net::control_failure(std::move(why)); }

// A member of "set" as the text its row's grammar reads (faults.hpp): a `…_ms` key's number is milliseconds, a rate's
// or a size's number is bytes, null is `none` for a limit, a boolean is true or false; text is taken as it is. False
// for a JSON type the row does not take.
bool fault_text(const fault_row& row, const json& v, std::string& text) {
  switch (row.value) {
    case fault_value::time:
    case fault_value::limit:
      if (v.is_null() && row.value == fault_value::limit) text = "none";
      else if (v.is_number_unsigned()) text = std::to_string(v.get<std::uint64_t>()) + "ms";
      else return false;
      return true;
    case fault_value::rate:
    case fault_value::size:
      if (v.is_number_unsigned()) text = std::to_string(v.get<std::uint64_t>());
      else if (v.is_string()) text = v.get<std::string>();
      else return false;
      return true;
    case fault_value::phase_word:
    case fault_value::word:
      if (!v.is_string()) return false;
      text = v.get<std::string>();
      return true;
    case fault_value::on_off:
    case fault_value::act:
      if (!v.is_boolean()) return false;
      text = v.get<bool>() ? "true" : "false";
      return true;
  }
  return false;
}

// What a member of "set" must be, for "'latency_ms': expected …".
std::string json_value(const fault_row& row) {
  switch (row.value) {
    case fault_value::time:
      return row.zero_allowed ? "a whole number of milliseconds from 0 to 86400000"
                              : "a whole number of milliseconds from 1 to 86400000";
    case fault_value::limit: return "a whole number of milliseconds from 1 to 86400000, or null for none";
    case fault_value::rate:
      return "a whole number of bytes per second (0: none), or a rate such as \"10Mbit/s\"";
    case fault_value::size: return "a whole number of bytes (0: none), or a size such as \"64KiB\"";
    case fault_value::phase_word:
    case fault_value::word: return describe_value(row);
    case fault_value::on_off:
    case fault_value::act: return "true or false";
  }
  return "?";
}

// The `phase` command's phase.
bool read_phase(const json& v, std::optional<phase>& out, std::string* why) {
  if (v.is_string())
    if (auto p = phase_from_word(v.get_ref<const std::string&>())) {
      out = *p;
      return true;
    }
  if (why)
    *why = "'phase' must be a phase: connected, x224-request, x224-confirm, tls-client-hello, tls-established, "
           "first-app-data, logged-on, active, session-info-sent";
  return false;
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
    if (it == request.end() || !read_phase(*it, p, &why)) return failure(why.empty() ? "missing 'phase'" : why);
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
    const auto* row = fault_by_control_key(key);
    if (!row) {
      if (why) {
        *why = "unknown fault '" + key + "' (";
        for (const auto& r : fault_table) *why += std::string(r.control_key) + (&r == &fault_table.back() ? ")" : ", ");
      }
      return false;
    }
    std::string text, read_why;
    if (!fault_text(*row, v, text) || !read_fault(*row, text, fault_origin::change, f, &read_why)) {
      if (why) *why = "'" + key + "': " + (read_why.empty() ? "expected " + json_value(*row) : read_why);
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
