#include "rdp/protocol/nego.hpp"

#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/hex.hpp"

#include <algorithm>
#include <cctype>

namespace rdp::protocol {
namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

constexpr std::uint32_t to_bits_failure(neg_failure_code c) noexcept { return static_cast<std::uint32_t>(c); }

}  // namespace

std::string_view to_string(security_protocol p) noexcept {
  switch (p) {
    case security_protocol::rdp: return "rdp";
    case security_protocol::ssl: return "tls";
    case security_protocol::hybrid: return "credssp";
    case security_protocol::rdstls: return "rdstls";
    case security_protocol::hybrid_ex: return "credssp-ex";
    case security_protocol::rdsaad: return "rdsaad";
  }
  return "unknown";
}

std::optional<security_protocol> parse_security_protocol(std::string_view name) noexcept {
  struct alias {
    std::string_view name;
    security_protocol protocol;
  };
  static constexpr alias aliases[] = {
      {"rdp", security_protocol::rdp},          {"tls", security_protocol::ssl},
      {"ssl", security_protocol::ssl},          {"credssp", security_protocol::hybrid},
      {"hybrid", security_protocol::hybrid},    {"nla", security_protocol::hybrid},
      {"rdstls", security_protocol::rdstls},    {"credssp-ex", security_protocol::hybrid_ex},
      {"hybrid-ex", security_protocol::hybrid_ex}, {"hybrid_ex", security_protocol::hybrid_ex},
      {"rdsaad", security_protocol::rdsaad},
  };
  for (const auto& a : aliases)
    if (iequals(a.name, name)) return a.protocol;
  return std::nullopt;
}

std::optional<std::vector<security_protocol>> parse_security_protocol_list(std::string_view list, std::string* why) {
  std::string ignored;
  if (!why) why = &ignored;
  std::vector<security_protocol> out;
  // Split on commas as std::getline would: "a,,b" has an empty (unknown) name, a trailing comma adds none.
  std::size_t start = 0;
  while (start < list.size()) {
    const auto comma = std::min(list.find(',', start), list.size());
    const auto name = list.substr(start, comma - start);
    const auto p = parse_security_protocol(name);
    if (!p) {
      *why = "unknown protocol '" + std::string(name) + "' (expected rdp, tls, credssp, credssp-ex, rdstls, rdsaad)";
      return std::nullopt;
    }
    out.push_back(*p);
    start = comma + 1;
  }
  if (out.empty()) {
    *why = "no protocol given";
    return std::nullopt;
  }
  return out;
}

std::string format_security_protocol_list(std::span<const security_protocol> protocols) {
  std::string out;
  for (const auto p : protocols) {
    if (!out.empty()) out += ',';
    out += to_string(p);
  }
  return out;
}

std::optional<security_protocol> security_protocol_from_bits(std::uint32_t bits) noexcept {
  for (auto p : all_security_protocols)
    if (to_bits(p) == bits) return p;
  return std::nullopt;
}

std::string describe_protocol_bits(std::uint32_t bits) {
  if (bits == 0) return "rdp";
  std::string out;
  std::uint32_t known = 0;
  for (auto p : all_security_protocols) {
    if (p == security_protocol::rdp || (bits & to_bits(p)) == 0) continue;
    known |= to_bits(p);
    if (!out.empty()) out += '|';
    out += to_string(p);
  }
  if (const std::uint32_t unknown = bits & ~known) {
    if (!out.empty()) out += '|';
    out += hex32(unknown);
  }
  return out;
}

std::vector<std::string> describe_neg_response_flags(std::uint8_t flags) {
  static constexpr std::pair<std::uint8_t, std::string_view> names[] = {
      {neg_response_flags::extended_client_data_supported, "EXTENDED_CLIENT_DATA_SUPPORTED"},
      {neg_response_flags::dynvc_gfx_protocol_supported, "DYNVC_GFX_PROTOCOL_SUPPORTED"},
      {neg_response_flags::reserved, "NEGRSP_FLAG_RESERVED"},
      {neg_response_flags::restricted_admin_mode_supported, "RESTRICTED_ADMIN_MODE_SUPPORTED"},
      {neg_response_flags::redirected_authentication_mode_supported, "REDIRECTED_AUTHENTICATION_MODE_SUPPORTED"},
  };
  std::vector<std::string> out;
  std::uint8_t known = 0;
  for (const auto& [bit, name] : names) {
    known = static_cast<std::uint8_t>(known | bit);
    if (flags & bit) out.emplace_back(name);
  }
  if (const auto unknown = static_cast<std::uint8_t>(flags & ~known)) {
    out.push_back(hex_number(unknown, 2));
  }
  return out;
}

std::string describe_neg_failure(std::uint32_t code) {
  switch (static_cast<neg_failure_code>(code)) {
    case neg_failure_code::ssl_required_by_server: return "SSL_REQUIRED_BY_SERVER";
    case neg_failure_code::ssl_not_allowed_by_server: return "SSL_NOT_ALLOWED_BY_SERVER";
    case neg_failure_code::ssl_cert_not_on_server: return "SSL_CERT_NOT_ON_SERVER";
    case neg_failure_code::inconsistent_flags: return "INCONSISTENT_FLAGS";
    case neg_failure_code::hybrid_required_by_server: return "HYBRID_REQUIRED_BY_SERVER";
    case neg_failure_code::ssl_with_user_auth_required_by_server: return "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER";
  }
  return "UNKNOWN_FAILURE_" + hex32(code);
}

negotiation_decision decide_negotiation(const std::optional<neg_request>& request,
                                        const server_security_policy& policy) noexcept {
  negotiation_decision d;
  const std::uint32_t requested = request ? request->requested_protocols : 0;
  if (policy.disconnect_above && requested > *policy.disconnect_above) {
    d.disconnect = true;
    return d;
  }
  for (auto p : server_preference) {
    if ((requested & to_bits(p)) && (policy.supported & to_bits(p))) {
      d.response = neg_response{policy.response_flags, to_bits(p)};
      return d;
    }
  }
  const bool only_standard_rdp = policy.supported == 0;
  if (policy.supports_standard_rdp) {
    if (!request) return d;  // legacy exchange: CC without negotiation data
    if (requested != 0 && only_standard_rdp) {
      d.failure = neg_failure{to_bits_failure(neg_failure_code::ssl_not_allowed_by_server)};
      return d;
    }
    d.response = neg_response{policy.response_flags, to_bits(security_protocol::rdp)};
    return d;
  }
  const std::uint32_t tls_family = to_bits(security_protocol::ssl);
  const bool needs_credssp =
      (policy.supported & tls_family) == 0 &&
      (policy.supported & (to_bits(security_protocol::hybrid) | to_bits(security_protocol::hybrid_ex))) != 0;
  d.failure = neg_failure{to_bits_failure(needs_credssp ? neg_failure_code::hybrid_required_by_server
                                                        : neg_failure_code::ssl_required_by_server)};
  return d;
}

}  // namespace rdp::protocol
