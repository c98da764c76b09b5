#include "rdp/sim/profile.hpp"
#include "rdp/sim/profile_yaml.hpp"

#include "rdp/net/endpoint.hpp"
#include "rdp/net/local_file.hpp"
#include "rdp/net/tls.hpp"
#include "rdp/yaml/document.hpp"
#include "rdp/yaml/reader.hpp"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <limits>
#include <sstream>

namespace rdp::sim {
namespace {

using yaml::found;

// yaml::reader (errors "source:line:col: path: message", escaped), with what a profile adds: file paths relative to
// the profile, limits that null switches off, and text where an empty value is a value (a password, a domain).
class reader : public yaml::reader {
 public:
  // `prefix` is where the profile sits in a larger document ("server.profile" in a scenario file): every key path
  // in an error starts with it.
  reader(std::string source, std::string base_dir, std::string prefix = {})
      : yaml::reader(std::move(source), std::move(prefix)), base_dir_(std::move(base_dir)) {}

  std::string text(const YAML::Node& node, const std::string& path) const {
    return yaml::reader::text(node, path, "a text value", yaml::empty_value::allow);
  }

  // A limit that may be switched off with null / "none".
  template <class T>
  std::optional<T> optional_whole(const YAML::Node& node, const std::string& path, std::uint64_t min,
                                  std::uint64_t max) const {
    if (is_off(node)) return std::nullopt;
    return static_cast<T>(whole(node, path, min, max));
  }

  std::string path_of(const YAML::Node& node, const std::string& key) const {
    const auto value = text(node, key);
    std::filesystem::path p(value);
    return p.is_absolute() ? value : (std::filesystem::path(base_dir_) / p).string();
  }

 private:
  std::string base_dir_;
};

net::host_port listen_address(const reader& r, const YAML::Node& node, const std::string& path,
                              std::uint16_t default_port) {
  std::string why;
  auto where = net::parse_host_port(r.text(node, path), default_port, &why, net::port_zero::allow);
  if (!where) r.fail(node, path, why);
  return *where;
}

void read_tls(const reader& r, const YAML::Node& tls, server_config& config, const std::string& name,
              certificate_handling certificates) {
  r.keys(tls, "tls", {"certificate", "key", "generate", "common_name"});
  const bool has_cert = static_cast<bool>(tls["certificate"]), has_key = static_cast<bool>(tls["key"]);
  if (has_cert != has_key) r.fail(tls, "tls", "certificate and key go together");
  const bool check_only = certificates == certificate_handling::check_only;
  if (has_cert) {
    if (tls["generate"]) r.fail(tls["generate"], "tls.generate", "either a certificate and key, or generate");
    const auto certificate = r.path_of(tls["certificate"], "tls.certificate");
    const auto key = r.path_of(tls["key"], "tls.key");
    if (check_only) return;
    try {
      config.identity = net::load_identity(certificate, key);
    } catch (const std::exception& e) {
      r.fail(tls["certificate"], "tls.certificate", e.what());
    }
    return;
  }
  std::string kind = "rsa", common_name = name.empty() ? "rdpsim" : name;
  if (tls["generate"]) kind = r.text(tls["generate"], "tls.generate");
  if (tls["common_name"]) common_name = r.text(tls["common_name"], "tls.common_name");
  if (kind != "rsa" && kind != "ecdsa")
    r.fail(tls["generate"], "tls.generate", "expected rsa or ecdsa, found " + found(tls["generate"]));
  if (check_only) return;
  try {
    config.identity = net::make_self_signed(kind == "rsa" ? net::key_kind::rsa : net::key_kind::ecdsa, common_name);
  } catch (const std::exception& e) {  // OpenSSL refusing the name (too long for a CN, …)
    r.fail(tls["common_name"] ? tls["common_name"] : tls, "tls.common_name", e.what());
  }
}

void read_ntlm(const reader& r, const YAML::Node& ntlm, ntlm_identity& id) {
  r.keys(ntlm, "ntlm", {"netbios_computer", "netbios_domain", "dns_computer", "dns_domain", "dns_tree", "version"});
  if (ntlm["netbios_computer"]) id.netbios_computer = r.text(ntlm["netbios_computer"], "ntlm.netbios_computer");
  if (ntlm["netbios_domain"]) id.netbios_domain = r.text(ntlm["netbios_domain"], "ntlm.netbios_domain");
  if (ntlm["dns_computer"]) id.dns_computer = r.text(ntlm["dns_computer"], "ntlm.dns_computer");
  if (ntlm["dns_domain"]) id.dns_domain = r.text(ntlm["dns_domain"], "ntlm.dns_domain");
  if (ntlm["dns_tree"]) id.dns_tree = r.text(ntlm["dns_tree"], "ntlm.dns_tree");
  if (ntlm["version"]) {
    // "10.0.20348": major.minor.build, as the probe reports it.
    const auto text = r.text(ntlm["version"], "ntlm.version");
    unsigned major = 0, minor = 0, build = 0;
    char dot1 = 0, dot2 = 0;
    std::istringstream in(text);
    if (!(in >> major >> dot1 >> minor >> dot2 >> build) || dot1 != '.' || dot2 != '.' || !in.eof() || major > 255 ||
        minor > 255 || build > 65535)
      r.fail(ntlm["version"], "ntlm.version", "expected major.minor.build such as 10.0.20348, found " + found(ntlm["version"]));
    id.major = static_cast<std::uint8_t>(major);
    id.minor = static_cast<std::uint8_t>(minor);
    id.build = static_cast<std::uint16_t>(build);
  }
}

void read_users(const reader& r, const YAML::Node& users, std::vector<user_account>& out) {
  r.list(users, "users", "{user, password, domain}", yaml::empty_value::allow);
  for (std::size_t i = 0; i < users.size(); ++i) {
    const auto path = yaml::item("users", i);
    const auto& u = users[i];
    r.keys(u, path, {"user", "password", "domain", "state", "remote_logon"});
    if (!u["user"] || !u["password"]) r.fail(u, path, "user and password are required");
    user_account account;
    account.user = r.text(u["user"], path + ".user");
    account.password = r.text(u["password"], path + ".password");
    if (u["domain"]) account.domain = r.text(u["domain"], path + ".domain");
    if (u["state"]) {
      const auto word = r.text(u["state"], path + ".state");
      bool known = false;
      for (auto s : {protocol::account_state::enabled, protocol::account_state::disabled, protocol::account_state::expired,
                     protocol::account_state::locked_out, protocol::account_state::password_expired,
                     protocol::account_state::password_must_change}) {
        if (word == protocol::to_string(s)) {
          account.state = s;
          known = true;
        }
      }
      if (!known)
        r.fail(u["state"], path + ".state",
               "expected enabled, disabled, expired, locked-out, password-expired or password-must-change, found " +
                   found(u["state"]));
    }
    if (u["remote_logon"]) account.remote_logon = r.flag(u["remote_logon"], path + ".remote_logon");
    if (account.user.empty()) r.fail(u["user"], path + ".user", "must not be empty");
    out.push_back(std::move(account));
  }
}

void read_sessions(const reader& r, const YAML::Node& sessions, session_policy& policy) {
  r.keys(sessions, "sessions",
         {"single_session", "max_sessions", "idle_limit_seconds", "logon_timeout_seconds", "disconnected_limit_seconds"});
  // The bounds are validate's (sessions.hpp), so a profile, the control interface and set_policy agree.
  constexpr auto longest = static_cast<std::uint64_t>(max_time_limit.count());
  if (sessions["single_session"]) policy.single_session = r.flag(sessions["single_session"], "sessions.single_session");
  if (sessions["max_sessions"])
    policy.max_sessions = r.optional_whole<std::uint32_t>(sessions["max_sessions"], "sessions.max_sessions", 1, max_max_sessions);
  if (sessions["idle_limit_seconds"]) {
    auto v = r.optional_whole<std::int64_t>(sessions["idle_limit_seconds"], "sessions.idle_limit_seconds", 1, longest);
    policy.idle_limit = v ? std::optional(std::chrono::seconds(*v)) : std::nullopt;
  }
  if (sessions["logon_timeout_seconds"]) {
    auto v = r.optional_whole<std::int64_t>(sessions["logon_timeout_seconds"], "sessions.logon_timeout_seconds", 1,
                                            longest);
    policy.logon_timeout = v ? std::optional(std::chrono::seconds(*v)) : std::nullopt;
  }
  if (sessions["disconnected_limit_seconds"]) {
    auto v = r.optional_whole<std::int64_t>(sessions["disconnected_limit_seconds"], "sessions.disconnected_limit_seconds",
                                            1, static_cast<std::uint64_t>(max_disconnected_limit.count()));
    policy.disconnected_limit = v ? std::optional(std::chrono::seconds(*v)) : std::nullopt;
  }
  if (auto problem = validate(policy); !problem.empty()) r.fail(sessions, "sessions", problem);
}

// standard_security: {encryption_level: client-compatible, methods: [40, 56, 128, fips], ignore_client_methods: false}
// (MS-RDPBCGR 5.3.1 levels, 2.2.1.3.3 methods). A level that admits none of the methods could answer nobody: refused.
void read_standard_security(const reader& r, const YAML::Node& node, protocol::standard_security_settings& out) {
  namespace gcc = protocol::gcc;
  r.keys(node, "standard_security", {"encryption_level", "methods", "ignore_client_methods"});
  if (const auto& l = node["encryption_level"]) {
    const auto level = r.text(l, "standard_security.encryption_level");
    if (level == "none") out.encryption_level = gcc::encryption_level::none;
    else if (level == "low") out.encryption_level = gcc::encryption_level::low;
    else if (level == "client-compatible") out.encryption_level = gcc::encryption_level::client_compatible;
    else if (level == "high") out.encryption_level = gcc::encryption_level::high;
    else if (level == "fips") out.encryption_level = gcc::encryption_level::fips;
    else
      r.fail(l, "standard_security.encryption_level",
             "expected none, low, client-compatible, high or fips, found " + found(l));
  }
  if (const auto& m = node["methods"]) {
    r.list(m, "standard_security.methods", "40, 56, 128 and fips", yaml::empty_value::allow);
    out.methods = 0;
    for (const auto& item : m) {
      const auto name = r.text(item, "standard_security.methods");
      if (name == "40") out.methods |= gcc::encryption_method::bits40;
      else if (name == "56") out.methods |= gcc::encryption_method::bits56;
      else if (name == "128") out.methods |= gcc::encryption_method::bits128;
      else if (name == "fips") out.methods |= gcc::encryption_method::fips;
      else r.fail(item, "standard_security.methods", "expected 40, 56, 128 or fips, found " + found(item));
    }
  }
  if (node["ignore_client_methods"])
    out.ignore_client_methods = r.flag(node["ignore_client_methods"], "standard_security.ignore_client_methods");
  if (out.encryption_level != gcc::encryption_level::none &&
      protocol::admitted_methods(out.encryption_level, out.methods) == 0)
    r.fail(node, "standard_security",
           "encryption_level " + std::string(gcc::encryption_level_name(out.encryption_level)) +
               " admits none of the methods listed (high needs 128 or fips, fips needs fips)");
}

// The keys of a profile's mapping, read into a profile: every error is a yaml::error at its node.
profile read_profile(const reader& r, const YAML::Node& root, certificate_handling certificates) {
  profile p;
  r.keys(root, "", {"name", "listen", "protocols", "tls", "ntlm", "users", "sessions", "heartbeat_seconds",
                    "tcp_keepalive", "stale_cookie", "stale_cookie_error", "timeouts", "limits", "control",
                    "standard_security", "disconnect_above_protocols", "reuse_port", "restart"});
  auto& config = p.server;
  p.name = root["name"] ? r.text(root["name"], "name") : std::filesystem::path(r.source()).stem().string();
  if (root["listen"]) config.listen = listen_address(r, root["listen"], "listen", 13389);
  if (root["reuse_port"]) config.reuse_port = r.flag(root["reuse_port"], "reuse_port");
  if (root["protocols"]) {
    const auto& node = root["protocols"];
    std::string list;
    if (node.IsSequence()) {
      for (const auto& item : node) {
        if (!list.empty()) list += ',';
        list += r.text(item, "protocols");
      }
    } else {
      list = r.text(node, "protocols");
    }
    try {
      config.policy = parse_policy(list);
    } catch (const std::invalid_argument& e) {
      r.fail(node, "protocols", e.what());
    }
  }
  if (root["disconnect_above_protocols"])
    config.policy.disconnect_above = static_cast<std::uint32_t>(
        r.whole(root["disconnect_above_protocols"], "disconnect_above_protocols", 0, 0xFFFFFFFF));
  if (root["ntlm"]) read_ntlm(r, root["ntlm"], config.ntlm);
  if (root["standard_security"]) {
    if (!config.policy.supports_standard_rdp)
      r.fail(root["standard_security"], "standard_security", "Standard RDP Security is not offered (protocols: rdp)");
    read_standard_security(r, root["standard_security"], config.standard_security);
  }
  if (root["users"]) read_users(r, root["users"], config.users);
  if (root["sessions"]) read_sessions(r, root["sessions"], config.sessions);
  if (root["heartbeat_seconds"]) {
    auto v = r.optional_whole<std::int64_t>(root["heartbeat_seconds"], "heartbeat_seconds", 1, 255);
    config.heartbeat = v ? std::optional(std::chrono::seconds(*v)) : std::nullopt;
  }
  if (root["tcp_keepalive"]) config.tcp_keepalive = r.flag(root["tcp_keepalive"], "tcp_keepalive");
  if (root["stale_cookie"]) {
    const auto answer = r.text(root["stale_cookie"], "stale_cookie");
    if (answer == "fresh-logon") config.stale_cookie = stale_cookie_answer::fresh_logon;
    else if (answer == "refuse") config.stale_cookie = stale_cookie_answer::refuse;
    else
      r.fail(root["stale_cookie"], "stale_cookie", "expected fresh-logon or refuse, found " + found(root["stale_cookie"]));
  }
  if (const auto restart = root["restart"]) {
    r.keys(restart, "restart", {"sessions"});
    if (const auto sessions = restart["sessions"]) {
      const auto word = r.text(sessions, "restart.sessions");
      if (const auto how = restart_sessions_from_word(word)) config.restart = *how;
      else r.fail(sessions, "restart.sessions", "expected keep or end, found " + found(sessions));
    }
  }
  if (root["stale_cookie_error"])
    config.stale_cookie_error =
        static_cast<std::uint32_t>(r.whole(root["stale_cookie_error"], "stale_cookie_error", 1, 0xFFFFFFFF));
  if (const auto& t = root["timeouts"]) {
    r.keys(t, "timeouts", {"handshake_ms", "hold_ms", "drain_ms", "prelogon_ms"});
    if (t["prelogon_ms"])
      config.prelogon_timeout = net::milliseconds(r.whole(t["prelogon_ms"], "timeouts.prelogon_ms", 1, 600000));
    if (t["handshake_ms"]) config.handshake_timeout = net::milliseconds(r.whole(t["handshake_ms"], "timeouts.handshake_ms", 1, 600000));
    if (t["hold_ms"]) config.hold_timeout = net::milliseconds(r.whole(t["hold_ms"], "timeouts.hold_ms", 1, 86400000));
    if (t["drain_ms"]) config.drain_timeout = net::milliseconds(r.whole(t["drain_ms"], "timeouts.drain_ms", 0, 60000));
  }
  if (const auto& l = root["limits"]) {
    r.keys(l, "limits", {"max_connections", "max_session_table"});
    if (l["max_connections"])
      config.max_connections = static_cast<std::size_t>(r.whole(l["max_connections"], "limits.max_connections", 1, 1000000));
    if (l["max_session_table"])
      config.max_session_table =
          static_cast<std::size_t>(r.whole(l["max_session_table"], "limits.max_session_table", 1, 1000000));
  }
  if (const auto& c = root["control"]) {
    r.keys(c, "control", {"listen", "token_file"});
    control_config control;
    if (c["listen"]) control.listen = listen_address(r, c["listen"], "control.listen", default_control_port);
    if (c["token_file"]) control.token_file = r.path_of(c["token_file"], "control.token_file");
    p.control = control;
  }
  // Last: a TLS identity is only needed (and only generated) when a TLS-based protocol is offered.
  if (config.policy.supported != 0)
    read_tls(r, root["tls"] ? root["tls"] : YAML::Node(YAML::NodeType::Map), config, p.name, certificates);
  else if (root["tls"]) r.fail(root["tls"], "tls", "no TLS-based protocol is offered (protocols)");
  return p;
}

}  // namespace

profile parse_profile(const std::string& text, const std::string& source, const std::string& base_dir,
                      certificate_handling certificates) {
  YAML::Node root;
  try {
    root = yaml::load_single_document(text, source, "the profile");
  } catch (const yaml::error& e) {
    throw profile_error(e.what());
  }
  return parse_profile_node(root, source, base_dir, certificates);
}

profile parse_profile_node(const YAML::Node& root, const std::string& source, const std::string& base_dir,
                           certificate_handling certificates, const std::string& path_prefix) {
  reader r(source, base_dir, path_prefix);
  try {
    return yaml::with_positions(source, [&] { return read_profile(r, root, certificates); });
  } catch (const yaml::error& e) {
    throw profile_error(e.what());
  }
}

profile load_profile(const std::string& path) {
  // A profile is a page of YAML: yaml::max_document_bytes, the cap of scenario files too.
  std::string why;
  const auto text = net::read_regular_file(path, yaml::max_document_bytes, "a profile", why);
  if (!text)
    throw profile_error(yaml::located_message(path, YAML::Mark::null_mark(), "", "cannot read the profile: " + why));
  const auto base = std::filesystem::path(path).parent_path();
  return parse_profile(*text, path, base.empty() ? "." : base.string());
}

// Declared in server.hpp; defined here, with the rest of what turns configuration text into settings, so that the
// profile parser and its fuzzer need nothing of the server's I/O.
protocol::server_security_policy parse_policy(const std::string& protocols) {
  protocol::server_security_policy policy;
  policy.supported = 0;
  policy.supports_standard_rdp = false;
  std::string why;
  const auto list = protocol::parse_security_protocol_list(protocols, &why);
  if (!list) throw std::invalid_argument(why);
  for (const auto p : *list) {
    if (p == protocol::security_protocol::rdp) policy.supports_standard_rdp = true;
    else policy.supported |= protocol::to_bits(p);
  }
  return policy;
}

}  // namespace rdp::sim
