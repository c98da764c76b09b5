#pragma once
// rdpsim profiles: a YAML file (sim/profiles/*.yaml, or embedded in a scenario) that says what the simulated server
// is — where it listens, which protocols it accepts and how it refuses the others, its certificate, the NTLM identity
// it shows to CredSSP probes, its users, its session policy, heartbeats, its answer to a stale auto-reconnect cookie
// and its control interface. docs/profiles.md documents every key.
#include "rdp/sim/control.hpp"
#include "rdp/sim/server.hpp"

#include <optional>
#include <stdexcept>
#include <string>

namespace rdp::sim {

struct profile {
  server_config server;
  std::optional<control_config> control;  // absent: no control interface
  std::string name;                       // "name:" or the file name
};

// A profile that cannot be used. what() names the source, the line and column, and the key: "lab.yaml:7:3: sessions.
// max_sessions: expected a whole number ≥ 1, not 'many'".
class profile_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What parse_profile does with the `tls` keys: load or generate the certificate, or only check the keys (no file
// read, no key generated; the identity stays empty) — for checking a profile, and for the fuzz target.
enum class certificate_handling { load_or_generate, check_only };

// Parses profile text; `source` names it in errors. Certificates are loaded (paths relative to `base_dir`) or
// generated. Unknown keys are errors: a typo must not silently become a default. Whatever the text holds, the only
// exception is profile_error (tests/fuzz/profile_fuzz.cpp holds it to that).
profile parse_profile(const std::string& text, const std::string& source, const std::string& base_dir = ".",
                      certificate_handling certificates = certificate_handling::load_or_generate);
profile load_profile(const std::string& path);

}  // namespace rdp::sim
