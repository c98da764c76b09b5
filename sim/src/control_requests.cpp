// The control interface's request handling, without I/O: one request line to its response (docs/control.md). The
// server (control.cpp) only moves lines; tests/fuzz/control_fuzz.cpp feeds this file directly.
#include "rdp/sim/control_requests.hpp"

#include "rdp/net/control_line.hpp"
#include "rdp/net/json.hpp"

#include <cstdint>
#include <exception>
#include <limits>
#include <set>
#include <stdexcept>

namespace rdp::sim {

using json = nlohmann::json;

namespace {

constexpr std::chrono::seconds default_restart_down{5};
constexpr std::uint64_t max_down_seconds = 24 * 60 * 60;
constexpr std::string_view command_list = "query-session, logoff, reset, disconnect, restart-service, policy";

json failure(std::string why) { return net::control_failure(std::move(why)); }
std::string value_text(const json& j) { return net::json_value_text(j); }

json from_admin(const admin_result& r) {
  if (r.ok) return json{{"ok", true}};
  return failure(r.error.empty() ? "refused" : r.error);
}

// A whole number from `lowest` to `highest`; nullopt with `why` naming `name` otherwise.
std::optional<std::uint64_t> whole_number(const json& j, std::string_view name, std::uint64_t lowest,
                                          std::uint64_t highest, std::string* why) {
  std::optional<std::uint64_t> value;
  if (j.is_number_unsigned()) value = j.get<std::uint64_t>();
  else if (j.is_number_integer() && j.get<std::int64_t>() >= 0) value = static_cast<std::uint64_t>(j.get<std::int64_t>());
  if (value && *value >= lowest && *value <= highest) return value;
  // Built in a fresh string and moved: `"'" + std::string(name)`, and assigning a literal to *why, are GCC 12's -O3
  // -Wstringop-overflow false positives (basic_string::_M_replace inlined with an unknown size; GCC bug 105651).
  std::string text(1, '\'');
  text += name;
  text += "' must be a whole number from ";
  text += std::to_string(lowest);
  text += " to ";
  text += std::to_string(highest);
  text += ", not ";
  text += value_text(j);
  *why = std::move(text);
  return std::nullopt;
}


json run_command(session_admin& admin, const json& request) {
  static const std::set<std::string, std::less<>> known{"token", "command", "id", "down_seconds", "sessions", "policy"};
  for (const auto& [key, value] : request.items())
    if (!known.contains(key))
      return failure("unknown member '" + key + "' (a request has token, command, id, down_seconds, sessions, policy)");
  const auto command_it = request.find("command");
  if (command_it == request.end()) return failure("missing member 'command' (one of " + std::string(command_list) + ")");
  if (!command_it->is_string()) return failure("'command' must be a string, not " + value_text(*command_it));
  const auto& command = command_it->get_ref<const std::string&>();
  std::string why;

  if (command == "query-session") {
    json sessions = json::array();
    for (const auto& s : admin.query_sessions()) sessions.push_back(s);
    return json{{"ok", true}, {"sessions", std::move(sessions)}};
  }
  if (command == "logoff" || command == "reset" || command == "disconnect" || command == "drop-connection") {
    const auto id_it = request.find("id");
    if (id_it == request.end()) return failure("'" + command + "' needs member 'id' (a session id)");
    const auto id = whole_number(*id_it, "id", 0, std::numeric_limits<std::uint32_t>::max(), &why);
    if (!id) return failure(why);
    const auto session = static_cast<std::uint32_t>(*id);
    if (command == "logoff") return from_admin(admin.logoff(session));
    if (command == "reset") return from_admin(admin.reset(session));
    if (command == "drop-connection") return from_admin(admin.drop_connection(session));
    return from_admin(admin.disconnect(session));
  }
  if (command == "restart-service") {
    auto down = default_restart_down;
    if (const auto it = request.find("down_seconds"); it != request.end()) {
      const auto seconds = whole_number(*it, "down_seconds", 0, max_down_seconds, &why);
      if (!seconds) return failure(why);
      down = std::chrono::seconds(static_cast<std::chrono::seconds::rep>(*seconds));
    }
    // "sessions": "keep" or "end" whatever the profile says (restart_sessions); absent: the profile's `restart`.
    std::optional<restart_sessions> sessions;
    if (const auto it = request.find("sessions"); it != request.end()) {
      if (it->is_string()) sessions = restart_sessions_from_word(it->get_ref<const std::string&>());
      // A wrong word is quoted (as JSON, so escaped), anything else named by its type.
      if (!sessions)
        return failure("'sessions' must be \"keep\" or \"end\", not " + (it->is_string() ? it->dump() : value_text(*it)));
    }
    const auto result = sessions ? admin.restart_service(down, *sessions) : admin.restart_service(down);
    auto response = from_admin(result);
    if (result.ok) {
      response["down_seconds"] = down.count();
      if (sessions) response["sessions"] = std::string(to_string(*sessions));
    }
    return response;
  }
  if (command == "policy") {
    auto policy = admin.policy();
    if (const auto it = request.find("policy"); it != request.end()) {
      if (!apply_policy_json(*it, policy, &why)) return failure(why);
      const auto result = admin.set_policy(policy);
      if (!result.ok) return from_admin(result);
      policy = admin.policy();
    }
    return json{{"ok", true}, {"policy", policy}};
  }
  return failure("unknown command '" + command + "' (one of " + std::string(command_list) + ")");
}

}  // namespace

// ---- Policy as JSON ---------------------------------------------------------------------------------------------

void to_json(json& j, const session_policy& p) {
  // Whole seconds, the control interface's grammar. A limit set in-process at a time scale (the scenario runner, which
  // does not start this interface) can be a fraction of a second: it is shown as one (3.05), never rounded
  // (docs/control.md).
  auto seconds_or_null = [](const std::optional<std::chrono::milliseconds>& d) {
    if (!d) return json();
    if (d->count() % 1000 == 0) return json(d->count() / 1000);
    return json(static_cast<double>(d->count()) / 1000.0);
  };
  j = json{{"single_session", p.single_session},
           {"max_sessions", net::value_or_null(p.max_sessions)},
           {"idle_limit_seconds", seconds_or_null(p.idle_limit)},
           {"logon_timeout_seconds", seconds_or_null(p.logon_timeout)},
           {"disconnected_limit_seconds", seconds_or_null(p.disconnected_limit)}};
}

bool apply_policy_json(const json& j, session_policy& p, std::string* why) {
  std::string ignored;
  if (!why) why = &ignored;
  if (!j.is_object()) {
    *why = "'policy' must be an object, not " + value_text(j);
    return false;
  }
  session_policy out = p;
  for (const auto& [key, value] : j.items()) {
    if (key == "single_session") {
      if (!value.is_boolean()) {
        *why = "'single_session' must be true or false, not " + value_text(value);
        return false;
      }
      out.single_session = value.get<bool>();
    } else if (key == "max_sessions") {
      if (value.is_null()) {
        out.max_sessions.reset();
        continue;
      }
      const auto n = whole_number(value, "max_sessions", 1, max_max_sessions, why);  // validate's bounds
      if (!n) return false;
      out.max_sessions = static_cast<std::uint32_t>(*n);
    } else if (key == "idle_limit_seconds" || key == "logon_timeout_seconds" || key == "disconnected_limit_seconds") {
      auto& field = key == "idle_limit_seconds"      ? out.idle_limit
                    : key == "logon_timeout_seconds" ? out.logon_timeout
                                                     : out.disconnected_limit;
      if (value.is_null()) {
        field.reset();
        continue;
      }
      // validate's bounds (sessions.hpp): 0 would mean "never" in Group Policy; here "never" is null.
      const auto longest = static_cast<std::uint64_t>(
          (key == "disconnected_limit_seconds" ? max_disconnected_limit : max_time_limit).count());
      const auto n = whole_number(value, key, 1, longest, why);
      if (!n) return false;
      field = std::chrono::seconds(static_cast<std::chrono::seconds::rep>(*n));
    } else {
      *why = "unknown policy member '" + key +
             "' (single_session, max_sessions, idle_limit_seconds, logon_timeout_seconds, disconnected_limit_seconds)";
      return false;
    }
  }
  if (auto problem = validate(out); !problem.empty()) {
    *why = std::move(problem);
    return false;
  }
  p = out;
  return true;
}

// ---- Request handling -------------------------------------------------------------------------------------------

control_outcome handle_control_line(session_admin& admin, std::string_view token, std::string_view line) noexcept {
  return net::handle_control_request(token, line, [&admin](const json& request) { return run_command(admin, request); });
}

std::string to_response_line(const json& response) {
  // Dumps with the replace handler never throw: a request can carry bytes that are not UTF-8, and an error message
  // may quote them.
  return response.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace rdp::sim
