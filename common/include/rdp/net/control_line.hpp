#pragma once
// One request line of a loopback control interface — rdpsim's (docs/control.md) and the fault proxy's
// (docs/proxy.md) — without I/O: the line is parsed as one JSON object, its "token" compared in constant time, and only
// then is the command run. Whatever goes wrong becomes an {"ok":false,"error":…} response; a line that cannot be read,
// a wrong token or a failure also ends the connection. nlohmann only, so fuzz targets compile it alone.
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace rdp::net {

struct control_outcome {
  nlohmann::json response;
  bool close = false;          // the connection must end after the response (bad token, malformed JSON, a failure)
  bool authenticated = false;  // the line carried the right token (whatever the command then did)
};

// {"ok":false,"error":why}
nlohmann::json control_failure(std::string why);
// What a client sent where something else was expected, for error messages: a number as written ("-1", "1.5"), else
// its JSON type ("string", "object", …).
std::string json_value_text(const nlohmann::json& value);

// Never throws: what `command` (given the parsed, authenticated request) throws is answered as an internal error.
control_outcome handle_control_request(std::string_view token, std::string_view line,
                                       const std::function<nlohmann::json(const nlohmann::json& request)>& command) noexcept;

}  // namespace rdp::net
