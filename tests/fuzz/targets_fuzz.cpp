// Fuzzes what users type as targets and durations (common/src/endpoint.cpp): parse_host_port, expand_targets,
// expand_target_file (the text of an @FILE) and parse_duration. No input reaches the file system: an input starting
// with '@' is never handed to expand_targets (it would open that path); its file-parsing half is fuzzed directly on
// the bytes instead. Checks: nothing crashes, no more targets than the limit, and every target is a host_port that
// parses back to itself.
#include "rdp/net/endpoint.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace rdp::net;

namespace {

constexpr std::size_t limit = 4096;  // small enough for a fuzzer to afford every range it can reach

void check_targets(const boost::system::result<std::vector<expanded_target>>& targets, const std::string& why) {
  if (!targets) {
    if (why.empty()) std::abort();  // every error says why
    return;
  }
  if (targets->empty() || targets->size() > limit) std::abort();
  for (const auto& t : *targets) {
    auto again = parse_host_port(t.where.text());
    if (!again || again->host != t.where.host || again->port != t.where.port) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string why;
  for (auto zero : {port_zero::reject, port_zero::allow}) {
    if (auto hp = parse_host_port(text, default_rdp_port, &why, zero)) {
      if (hp->host.empty() || (zero == port_zero::reject && hp->port == 0)) std::abort();
    }
  }
  // As command-line arguments: the input split at NUL bytes (argv cannot hold one), none of them an @FILE.
  std::vector<std::string> inputs;
  for (std::size_t start = 0; start <= text.size();) {
    const auto end = std::min(text.find('\0', start), text.size());
    inputs.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  bool any_file = false;
  for (const auto& i : inputs) any_file = any_file || i.starts_with('@');
  if (!any_file) {
    why.clear();
    check_targets(expand_targets(inputs, default_rdp_port, limit, &why), why);
  }
  why.clear();
  check_targets(expand_target_file(text, "fuzz", default_rdp_port, limit, &why), why);
  why.clear();
  if (auto d = parse_duration(text, &why)) {
    if (d->count() < 1 || d->count() > 86400000) std::abort();
  } else if (why.empty()) {
    std::abort();
  }
  return 0;
}
