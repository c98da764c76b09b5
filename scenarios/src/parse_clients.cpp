// `clients:` of a scenario file: each client's name, kind and options, and the lookup by name that steps and
// expectations use (with the kinds that may be named there).
#include "scenario_parser.hpp"

namespace rdp::scenarios::parsing {

void parser::read_clients(const YAML::Node& node, std::vector<client_spec>& out) {
  r_.list(node, "clients", "clients ({name, kind, ...})");
  out.reserve(node.size());  // client_facts keeps pointers into it
  for (std::size_t i = 0; i < node.size(); ++i) {
    const auto c = node[i];
    const auto path = item("clients", i);
    r_.keys(c, path,
            {"name", "kind", "user", "password", "domain", "heartbeat", "auto_reconnect", "busy", "silence_limit",
             "hold", "security", "hybrid_ex", "spnego", "liveness"});
    client_spec spec;
    spec.where = r_.position(c);
    required(c, "name", path, "the client's name (steps and expectations refer to it)");
    spec.name = r_.text(c["name"], join(path, "name"), "a name");
    if (spec.name == "server" || spec.name == "proxy" || spec.name == "step" ||
        !std::all_of(spec.name.begin(), spec.name.end(), [](char ch) {
          return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
                 ch == '_';
        }) ||
        spec.name.size() > 64)
      r_.fail(c["name"], join(path, "name"),
              "a client's name is up to 64 letters, digits, '-' and '_', and not server, proxy or step (events "
              "are written NAME.active), found " + found(c["name"]));
    if (clients_.count(spec.name)) r_.fail(c["name"], join(path, "name"), "another client is already named " + spec.name);
    if (c["kind"]) spec.kind = r_.word(c["kind"], join(path, "kind"), client_kind_words);
    const auto kind = std::string(word_of(client_kind_words, spec.kind));
    // Keys that belong to other kinds of client: say whose they are rather than "unknown".
    const auto only_for = [&](const char* key, bool allowed, const std::string& whose) {
      if (c[key] && !allowed)
        r_.fail(c[key], join(path, key), std::string("is for ") + whose + " clients; " + spec.name + " is " + kind);
    };
    const bool logs_on = spec.kind != client_kind::rdpprobe;
    only_for("user", logs_on, "lean and freerdp");
    only_for("password", logs_on, "lean and freerdp");
    only_for("domain", logs_on, "lean and freerdp");
    only_for("hold", logs_on, "lean and freerdp");
    only_for("heartbeat", spec.kind == client_kind::lean, "lean");
    only_for("auto_reconnect", spec.kind == client_kind::lean, "lean");
    only_for("busy", spec.kind == client_kind::lean, "lean");
    only_for("silence_limit", spec.kind == client_kind::lean, "lean");
    only_for("liveness", spec.kind == client_kind::lean, "lean");
    only_for("security", logs_on, "lean and freerdp");
    only_for("hybrid_ex", spec.kind == client_kind::lean, "lean");
    only_for("spnego", spec.kind == client_kind::lean, "lean");
    if (c["user"]) spec.user = r_.text(c["user"], join(path, "user"), "a user name");
    if (c["password"]) {
      if (!c["password"].IsScalar())
        r_.fail(c["password"], join(path, "password"), "expected a text value, found " + found(c["password"]));
      spec.password = c["password"].Scalar();
    }
    if (c["domain"]) {
      if (!c["domain"].IsScalar() || c["domain"].IsNull())
        r_.fail(c["domain"], join(path, "domain"), "expected a text value, found " + found(c["domain"]));
      spec.domain = c["domain"].Scalar();
    }
    if (c["heartbeat"]) spec.announce_heartbeat = r_.flag(c["heartbeat"], join(path, "heartbeat"));
    if (c["auto_reconnect"]) spec.announce_auto_reconnect = r_.flag(c["auto_reconnect"], join(path, "auto_reconnect"));
    if (c["busy"]) spec.busy = r_.time_or_off(c["busy"], join(path, "busy"));
    if (c["silence_limit"]) spec.silence_limit = r_.time_or_off(c["silence_limit"], join(path, "silence_limit"));
    if (c["liveness"]) spec.liveness = r_.word(c["liveness"], join(path, "liveness"), liveness_words);
    if (c["hold"]) spec.hold = r_.time_or_off(c["hold"], join(path, "hold"));
    if (c["security"]) {
      const auto& n = c["security"];
      const bool lean = spec.kind == client_kind::lean;
      const auto in = [&](const auto& words) {
        return n.IsScalar() && std::find(words.begin(), words.end(), n.Scalar()) != words.end();
      };
      if (lean ? !in(lean_security_words) : !in(security_words))
        r_.fail(n, join(path, "security"),
                "expected one of " + (lean ? list_words(lean_security_words) : list_words(security_words)) +
                    (lean ? " for a lean client" : "") + ", found " + found(n));
      spec.security = n.Scalar();
    }
    if (c["hybrid_ex"]) {
      spec.hybrid_ex = r_.flag(c["hybrid_ex"], join(path, "hybrid_ex"));
      if (spec.hybrid_ex && spec.security != "nla")
        r_.fail(c["hybrid_ex"], join(path, "hybrid_ex"), "goes with security: nla; " + spec.name + " uses " +
                                                             spec.security);
    }
    if (c["spnego"]) {
      spec.spnego = r_.flag(c["spnego"], join(path, "spnego"));
      if (spec.spnego && spec.security != "nla")
        r_.fail(c["spnego"], join(path, "spnego"), "goes with security: nla; " + spec.name + " uses " + spec.security);
    }
    out.push_back(std::move(spec));
    clients_[out.back().name].spec = &out.back();
  }
}

// The client a step or expectation names; `kinds` are the kinds that may be named there.
client_facts& parser::client_named(const YAML::Node& node, const std::string& path,
                                   std::initializer_list<client_kind> kinds, const std::string& why_kinds) {
  const auto name = r_.text(node, path, "a client's name");
  const auto found_client = clients_.find(name);
  if (found_client == clients_.end()) {
    std::string known;
    for (const auto& [n, facts] : clients_) known += (known.empty() ? "" : ", ") + n;
    r_.fail(node, path, "no client is named '" + name + "' (clients: " + known + ")");
  }
  const auto kind = found_client->second.spec->kind;
  if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end())
    r_.fail(node, path, name + " is a " + std::string(word_of(client_kind_words, kind)) + " client; " + why_kinds);
  return found_client->second;
}

}  // namespace rdp::scenarios::parsing
