// `rdpsim ctl`: Windows' session administration commands, spelled as on Windows where they exist (`query session`,
// `query user`, `logoff ID`, `reset session ID`), sent to a running rdpsim's control port. Tables are formatted
// here from the server's JSON (control.hpp), so `--json` shows exactly what the server said.
#include "ctl_command.hpp"
#include "../command_exit.hpp"

#include "rdp/net/endpoint.hpp"
#include "rdp/net/local_file.hpp"
#include "rdp/protocol/text.hpp"
#include "rdp/sim/control.hpp"

#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>

namespace rdp::sim {
namespace {

using json = nlohmann::json;

constexpr int exit_ok = 0;
constexpr int exit_refused = 1;
using apps::exit_usage;

constexpr const char* grammar = R"(Commands:
  query session                      sessions as Windows' `query session` shows them
  query user                         logged-on users as `query user` shows them
  logoff ID                          log session ID off
  reset session ID                   end session ID at once (`reset session`)
  disconnect ID                      disconnect session ID, it stays (`tsdiscon`)
  drop ID                            reset session ID's connection as a network drop would; it stays, Disc
  restart-service [--down SECONDS] [--sessions keep|end]
                                     restart the Remote Desktop service: every connection dropped, the
                                     listener closed for SECONDS (default 5); the sessions kept (Disc,
                                     resumable) or ended, as the profile's `restart` says unless given
  policy show                        the session policies
  policy single-session on|off       one session per user (a new logon takes over the old one)
  policy max-sessions N|none         at most N sessions
  policy idle-limit SECONDS|none     end sessions idle this long ("900", "15m")
  policy logon-timeout SECONDS|none  end connections that do not log on within this
  policy disconnected-limit SECONDS|off
                                     log off sessions disconnected (Disc) this long ("3600", "60m"); their
                                     auto-reconnect cookies are stale from then on

The token is read from --token-file (rdpsim serve --control-token-file) or the environment variable RDPSIM_TOKEN.
Exit status: 0 done, 1 refused by the server (its reason is printed), 2 usage or connection error.)";

struct ctl_options {
  std::string control = "127.0.0.1:" + std::to_string(default_control_port);
  std::string token_file;
  std::string down;      // --down, restart-service only
  std::string sessions;  // --sessions keep|end, restart-service only
  std::string timeout = "5s";
  bool json_output = false;
  std::vector<std::string> words;
};

// Thrown by the request builders for a usage error; caught in run_ctl only.
struct usage_error : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// `what` is "session ID" or "max-sessions": both are 32-bit unsigned on Windows.
std::uint32_t parse_u32(const std::string& text, const std::string& what) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() ||
      value > std::numeric_limits<std::uint32_t>::max())
    throw usage_error(what + " '" + text + "' is not a number from 0 to 4294967295");
  return static_cast<std::uint32_t>(value);
}

std::uint32_t parse_session_id(const std::string& text) { return parse_u32(text, "session ID"); }

// "90", "15m", "1h" (net::parse_duration's forms) in whole seconds; "0" only when `allow_zero`.
std::int64_t parse_seconds(const std::string& text, const std::string& what, bool allow_zero) {
  if (allow_zero && text == "0") return 0;
  std::string why;
  const auto d = net::parse_duration(text, &why);
  if (!d) throw usage_error(what + ": " + why);
  if (d->count() % 1000 != 0) throw usage_error(what + ": '" + text + "' is not a whole number of seconds");
  return d->count() / 1000;
}

// A limit in seconds, or null for "none", "never" or "off" (the words people use for Group Policy's "Never").
json limit_or_none(const std::string& text, const std::string& what) {
  if (text == "none" || text == "never" || text == "off") return json();
  return parse_seconds(text, what, false);
}

// The command words → a request (without its token).
json build_request(const ctl_options& o) {
  const auto& w = o.words;
  auto need = [&](std::size_t n, const char* form) {
    if (w.size() != n) throw usage_error(std::string("expected '") + form + "'");
  };
  if (w.empty()) throw usage_error("no command given");
  if (!o.down.empty() && w.front() != "restart-service") throw usage_error("--down goes with restart-service only");
  if (!o.sessions.empty() && w.front() != "restart-service")
    throw usage_error("--sessions goes with restart-service only");
  const auto& verb = w.front();
  if (verb == "query") {
    need(2, "query session' or 'query user");
    if (w[1] != "session" && w[1] != "user") throw usage_error("expected 'query session' or 'query user'");
    return json{{"command", "query-session"}};
  }
  if (verb == "logoff" || verb == "disconnect") {
    need(2, verb == "logoff" ? "logoff ID" : "disconnect ID");
    return json{{"command", verb}, {"id", parse_session_id(w[1])}};
  }
  if (verb == "drop") {
    need(2, "drop ID");
    return json{{"command", "drop-connection"}, {"id", parse_session_id(w[1])}};
  }
  if (verb == "reset") {
    if (w.size() != 3 || w[1] != "session") throw usage_error("expected 'reset session ID'");
    return json{{"command", "reset"}, {"id", parse_session_id(w[2])}};
  }
  if (verb == "restart-service") {
    need(1, "restart-service [--down SECONDS] [--sessions keep|end]");
    json request{{"command", "restart-service"}};
    if (!o.down.empty()) request["down_seconds"] = parse_seconds(o.down, "--down", true);
    if (!o.sessions.empty()) {
      if (!restart_sessions_from_word(o.sessions))
        throw usage_error("--sessions is keep or end, not '" + o.sessions + "'");
      request["sessions"] = o.sessions;
    }
    return request;
  }
  if (verb == "policy") {
    json request{{"command", "policy"}};
    if (w.size() == 1 || (w.size() == 2 && w[1] == "show")) return request;
    if (w.size() != 3) throw usage_error("expected 'policy show' or 'policy SETTING VALUE'");
    const auto& setting = w[1];
    const auto& value = w[2];
    json change;
    if (setting == "single-session") {
      if (value != "on" && value != "off") throw usage_error("single-session is 'on' or 'off', not '" + value + "'");
      change["single_session"] = value == "on";
    } else if (setting == "max-sessions") {
      change["max_sessions"] = value == "none" ? json() : json(parse_u32(value, "max-sessions"));
    } else if (setting == "idle-limit") {
      change["idle_limit_seconds"] = limit_or_none(value, "idle-limit");
    } else if (setting == "logon-timeout") {
      change["logon_timeout_seconds"] = limit_or_none(value, "logon-timeout");
    } else if (setting == "disconnected-limit") {
      change["disconnected_limit_seconds"] = limit_or_none(value, "disconnected-limit");
    } else {
      throw usage_error("unknown policy '" + setting +
                        "' (single-session, max-sessions, idle-limit, logon-timeout, disconnected-limit)");
    }
    request["policy"] = std::move(change);
    return request;
  }
  throw usage_error("unknown command '" + verb + "'");
}

std::string seconds_text(const json& j) {
  if (j.is_null()) return "none";
  return net::format_duration(std::chrono::seconds(j.get<std::int64_t>()));
}

void print_policy(const json& p) {
  std::cout << "single-session      " << (p.at("single_session").get<bool>() ? "on" : "off") << "\n"
            << "max-sessions        "
            << (p.at("max_sessions").is_null() ? std::string("none") : std::to_string(p.at("max_sessions").get<std::uint64_t>()))
            << "\n"
            << "idle-limit          " << seconds_text(p.at("idle_limit_seconds")) << "\n"
            << "logon-timeout       " << seconds_text(p.at("logon_timeout_seconds")) << "\n"
            << "disconnected-limit  " << seconds_text(p.at("disconnected_limit_seconds")) << "\n";
}

// The human form of a successful response.
void print_result(const ctl_options& o, const json& response) {
  const auto& w = o.words;
  const auto& verb = w.front();
  if (verb == "query") {
    const auto sessions = response.at("sessions").get<std::vector<session_info>>();
    std::cout << (w[1] == "session" ? format_query_session(sessions) : format_query_user(sessions));
  } else if (verb == "logoff" || verb == "disconnect" || verb == "drop") {
    std::cout << verb << " " << w[1] << ": ok\n";
  } else if (verb == "reset") {
    std::cout << "reset session " << w[2] << ": ok\n";
  } else if (verb == "restart-service") {
    std::cout << "restart-service: ok, listener down for "
              << net::format_duration(std::chrono::seconds(response.value("down_seconds", 0)));
    if (const auto it = response.find("sessions"); it != response.end() && it->is_string())
      std::cout << ", sessions " << (it->get<std::string>() == "keep" ? "kept (Disc)" : "ended");
    std::cout << "\n";
  } else {
    print_policy(response.at("policy"));
  }
}

std::string trim(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

std::string read_token(const ctl_options& o) {
  if (!o.token_file.empty()) {
    // A token is 64 hex digits; 4 KiB bounds what a wrong path (a device, a big file) can make us read.
    std::string why;
    const auto text = net::read_regular_file(o.token_file, 4096, "a token file", why);
    if (!text) throw usage_error("cannot read token file '" + o.token_file + "': " + why);
    auto token = trim(text->substr(0, text->find('\n')));
    if (token.empty()) throw usage_error("token file '" + o.token_file + "' is empty");
    return token;
  }
  if (const char* env = std::getenv("RDPSIM_TOKEN"); env && *env) return trim(env);
  throw usage_error("no control token: pass --token-file FILE (what rdpsim serve --control-token-file wrote) or "
                    "set RDPSIM_TOKEN");
}

int run_ctl(const ctl_options& o) {
  json request;
  net::host_port where;
  net::milliseconds timeout{};
  try {
    request = build_request(o);
    std::string why;
    auto parsed = net::parse_host_port(o.control, default_control_port, &why);
    if (!parsed) throw usage_error("--control: " + why);
    where = *parsed;
    auto t = net::parse_duration(o.timeout, &why);
    if (!t) throw usage_error("--timeout: " + why);
    timeout = *t;
    request["token"] = read_token(o);
  } catch (const usage_error& e) {
    std::cerr << "rdpsim ctl: " << protocol::escape_for_terminal(e.what()) << "\n(run 'rdpsim ctl --help')\n";
    return exit_usage;
  }
  const auto result = call_control(where, request, timeout);
  if (result.ec) {
    std::cerr << "rdpsim ctl: " << protocol::escape_for_terminal(result.error) << "\n";
    return exit_usage;
  }
  const auto& response = result.response;
  try {
    if (o.json_output) std::cout << response.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
    if (!response.at("ok").get<bool>()) {
      const auto error = response.value("error", std::string("refused without a reason"));
      if (error == "bad token") {
        std::cerr << "rdpsim ctl: rdpsim control at " << where.text()
                  << " refused the token (bad token): check --token-file or RDPSIM_TOKEN\n";
        return exit_usage;
      }
      // The server's words, which may quote what a client sent it: escaped like every other text from a socket.
      std::cerr << "rdpsim ctl: " << protocol::escape_for_terminal(error) << "\n";
      return exit_refused;
    }
    if (!o.json_output) print_result(o, response);
  } catch (const json::exception& e) {
    std::cerr << "rdpsim ctl: unexpected response from rdpsim control at " << where.text() << ": " << protocol::escape_for_terminal(e.what())
              << "\n";
    return exit_usage;
  }
  return exit_ok;
}

}  // namespace

void add_ctl_command(CLI::App& app) {
  auto options = std::make_shared<ctl_options>();
  auto* ctl = app.add_subcommand("ctl", "Administer a running rdpsim: query session/user, logoff, reset session, "
                                        "disconnect, restart-service, policy");
  ctl->add_option("--control", options->control, "HOST:PORT of rdpsim's control interface")->capture_default_str();
  ctl->add_option("--token-file", options->token_file, "file holding the control token (else env RDPSIM_TOKEN)");
  ctl->add_flag("--json", options->json_output, "print the server's JSON response");
  ctl->add_option("--down", options->down, "restart-service: seconds the listener stays closed (default 5)");
  ctl->add_option("--sessions", options->sessions,
                  "restart-service: keep the sessions (Disc) or end them (default: the profile's restart.sessions)");
  ctl->add_option("--timeout", options->timeout, "connect and read deadline")->capture_default_str();
  ctl->add_option("command", options->words, "the command and its arguments (see below)");
  ctl->footer(grammar);
  // ctl finishes here, as every subcommand does, so that main.cpp needs no dispatch of its own.
  ctl->callback([options] {
    apps::end_process(run_ctl(*options));
  });
}

}  // namespace rdp::sim
