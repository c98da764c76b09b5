#include "rdp/net/control_line.hpp"

#include <exception>

namespace rdp::net {
namespace {

using json = nlohmann::json;

// nlohmann's messages start with "[json.exception.parse_error.101] "; the rest names line, column and the problem.
std::string parse_error_text(const char* what) {
  std::string_view text(what);
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find("] ");
    if (close != std::string_view::npos) text.remove_prefix(close + 2);
  }
  return std::string(text);
}

// Compares in time that depends on the length only (what CRYPTO_memcmp does; written out so that this file needs no
// OpenSSL). The volatile accumulator keeps the compiler from ending the loop at the first difference.
bool same_bytes(std::string_view a, std::string_view b) noexcept {
  volatile unsigned char differ = 0;
  for (std::size_t i = 0; i < a.size(); ++i) differ = static_cast<unsigned char>(differ | (a[i] ^ b[i]));
  return differ == 0;
}

bool token_matches(const json& request, std::string_view expected) {
  const auto it = request.find("token");
  if (it == request.end() || !it->is_string()) return false;
  const auto& given = it->get_ref<const std::string&>();
  // The length of a token is no secret (always 64 hex digits); its contents are compared in constant time.
  return given.size() == expected.size() && !expected.empty() && same_bytes(given, expected);
}

}  // namespace

json control_failure(std::string why) { return json{{"ok", false}, {"error", std::move(why)}}; }

std::string json_value_text(const json& value) {
  if (value.is_number()) return value.dump();
  return value.type_name();
}

control_outcome handle_control_request(std::string_view token, std::string_view line,
                                       const std::function<json(const json& request)>& command) noexcept {
  control_outcome outcome;
  try {
    json request;
    try {
      request = json::parse(line);
    } catch (const json::exception& e) {
      // parse_error, but also out_of_range for a number nlohmann cannot hold ("1e999"): any exception while
      // parsing is a request that cannot be read.
      return {control_failure("malformed JSON: " + parse_error_text(e.what())), true, false};
    }
    if (!request.is_object())
      return {control_failure("a request is one JSON object per line, not " + json_value_text(request)), true, false};
    if (!token_matches(request, token)) return {control_failure("bad token"), true, false};
    outcome.authenticated = true;
    outcome.response = command(request);
    return outcome;
  } catch (const std::exception& e) {
    // A bug in a command must not take the tool down with it, nor leave the connection in a state nobody checked:
    // it is answered and closed.
    outcome.response = control_failure(std::string("internal error: ") + e.what());
  } catch (...) {
    outcome.response = control_failure("internal error");
  }
  outcome.close = true;
  return outcome;
}

}  // namespace rdp::net
