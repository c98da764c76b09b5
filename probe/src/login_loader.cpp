// run_login's half inside rdp_probe: finds and loads the FreeRDP login module (probe/login_module/login.cpp) the first
// time a login is asked for, so that a process that never logs in never loads FreeRDP and its ~100 libraries.
#include "rdp/probe/login.hpp"

#include "rdp/probe/login_ntstatus.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace rdp::probe {

std::string_view to_string(login_security s) {
  switch (s) {
    case login_security::any: return "any";
    case login_security::tls: return "tls";
    case login_security::nla: return "nla";
    case login_security::rdp: return "rdp";
  }
  return "?";
}

std::string_view to_string(socket_end e) noexcept {
  switch (e) {
    case socket_end::not_seen: return "not-seen";
    case socket_end::open: return "open";
    case socket_end::fin: return "fin";
    case socket_end::reset: return "reset";
    case socket_end::refused: return "refused";
    case socket_end::timeout: return "timeout";
  }
  return "?";
}

namespace {

using module_entry = void (*)(const login_options*, login_result*);

struct loaded_module {
  module_entry run = nullptr;
  std::string error;  // why it could not be loaded: every place tried, with dlopen's reason
};

// Where the module may be: $RDP_LOGIN_MODULE (an explicit choice), next to the running program, then where this
// build put it (RDP_LOGIN_MODULE_PATH, the build tree's copy, which is where the README's commands run from).
std::vector<std::filesystem::path> candidates() {
  std::vector<std::filesystem::path> paths;
  if (const char* given = std::getenv("RDP_LOGIN_MODULE"); given && *given) {
    paths.emplace_back(given);
    return paths;
  }
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) paths.push_back(self.parent_path() / RDP_LOGIN_MODULE_NAME);
  paths.emplace_back(RDP_LOGIN_MODULE_PATH);
  return paths;
}

loaded_module load() {
  loaded_module m;
  for (const auto& path : candidates()) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      m.error += (m.error.empty() ? "" : "; ") + path.string() + ": not found";
      continue;
    }
    // RTLD_LOCAL: FreeRDP's symbols stay the module's. The handle is kept for the life of the process: FreeRDP
    // leaves threads and WLog state behind that must not outlive their code.
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* why = ::dlerror();
      m.error += (m.error.empty() ? "" : "; ") + path.string() + ": " + (why ? why : "dlopen failed");
      continue;
    }
    if (auto* entry = ::dlsym(handle, "rdp_login_module_run")) {
      m.run = reinterpret_cast<module_entry>(entry);
      m.error.clear();
      return m;
    }
    m.error += (m.error.empty() ? "" : "; ") + path.string() + ": no rdp_login_module_run in it";
    ::dlclose(handle);
  }
  return m;
}

const loaded_module& the_module() {
  static std::once_flag once;
  static loaded_module module;
  std::call_once(once, [] { module = load(); });
  return module;
}

}  // namespace

login_result run_login(const login_options& options) {
  const auto& module = the_module();
  login_result result;
  if (!module.run) {
    result.setup_error = "cannot load the FreeRDP login module (" + module.error + ")";
    return result;
  }
  module.run(&options, &result);
  // Here rather than in the module: a pure reading of what FreeRDP reported, unit-tested without FreeRDP.
  result.ntstatus = ntstatus_from_freerdp(result.last_error, result.freerdp_errors);
  return result;
}

}  // namespace rdp::probe
