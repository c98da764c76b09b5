// Fuzzes the control interface's request handling (sim/src/control_requests.cpp) with no transport: every input
// is split into request lines fed to handle_control_line in front of a fake session_admin, as one connection would
// send them; the first byte chooses whether a line is sent with the right token put in front of it, so the commands
// and the policy JSON are reached and not only the token check. The rest of the input also goes to
// apply_policy_json directly. Nothing may throw, every response must be a JSON object with a boolean "ok" that
// dumps to one line, a failed policy update must leave the policy as it was, and a line without the token must never
// reach the admin.
#include "rdp/sim/control_requests.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using json = nlohmann::json;
using rdp::sim::admin_result;
using rdp::sim::session_info;
using rdp::sim::session_policy;
using rdp::sim::session_state;

const std::string token(64, 'a');

class fake_admin final : public rdp::sim::session_admin {
 public:
  int calls = 0;
  session_policy current;

  std::vector<session_info> query_sessions() const override {
    session_info s;
    s.id = 2;
    s.name = "rdp-tcp#0";
    s.user = "al\x1b]0;x\aice\xff";  // wire text that is not clean: the JSON must still dump
    s.state = session_state::active;
    session_info listener;
    listener.id = 65536;
    listener.state = session_state::listen;
    return {s, listener};
  }
  admin_result logoff(std::uint32_t id) override { return act(id); }
  admin_result reset(std::uint32_t id) override { return act(id); }
  admin_result disconnect(std::uint32_t id) override { return act(id); }
  admin_result restart_service(std::chrono::milliseconds) override { return act(2); }
  session_policy policy() const override { return current; }
  admin_result set_policy(const session_policy& p) override {
    ++calls;
    if (auto problem = validate(p); !problem.empty()) return admin_result::failure(std::move(problem));  // rdpsim's rule
    current = p;
    return {};
  }

 private:
  admin_result act(std::uint32_t id) {
    ++calls;
    if (id == 2) return {};
    return admin_result::failure("no session " + std::to_string(id));
  }
};

bool same(const session_policy& a, const session_policy& b) {
  return a.single_session == b.single_session && a.max_sessions == b.max_sessions && a.idle_limit == b.idle_limit &&
         a.logon_timeout == b.logon_timeout && a.disconnected_limit == b.disconnected_limit;
}

void check_response(const rdp::sim::control_outcome& outcome) {
  const auto& r = outcome.response;
  if (!r.is_object()) std::abort();
  const auto ok = r.find("ok");
  if (ok == r.end() || !ok->is_boolean()) std::abort();
  const auto line = rdp::sim::to_response_line(r);
  if (line.empty() || line.back() != '\n' || line.find('\n') != line.size() - 1) std::abort();
  if (!ok->get<bool>() && !r.contains("error")) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  fake_admin admin;

  std::size_t start = 0, line_number = 0;
  while (start <= input.size()) {
    auto end = input.find('\n', start);
    if (end == std::string_view::npos) end = input.size();
    std::string line(input.substr(start, end - start));
    // Bit i of the mode byte (for the first 8 lines): wrap the line as {"token":…, <line>} so that it authenticates.
    const bool with_token = line_number < 8 && (mode >> line_number) & 1;
    if (with_token) line = "{\"token\":\"" + token + "\"," + line;
    const int calls_before = admin.calls;
    const auto outcome = rdp::sim::handle_control_line(admin, token, line);
    check_response(outcome);
    if (!outcome.authenticated && admin.calls != calls_before) std::abort();  // the admin was reached without a token
    if (!outcome.authenticated && !outcome.close) std::abort();              // an unauthenticated line stays open
    if (outcome.close) break;  // the server ends the connection here
    start = end + 1;
    ++line_number;
  }

  // The policy parser on its own, with whatever JSON the input is.
  const auto j = json::parse(input, nullptr, false);
  if (!j.is_discarded()) {
    session_policy policy;
    policy.max_sessions = 3;
    const auto before = policy;
    std::string why;
    if (!rdp::sim::apply_policy_json(j, policy, &why)) {
      if (!same(policy, before) || why.empty()) std::abort();
    } else {
      json shown = policy;  // what `policy show` would send
      (void)rdp::sim::to_response_line(shown);
    }
  }
  return 0;
}
