#include "rdp/proxy/faults.hpp"

#include <array>
#include <utility>

namespace rdp::proxy {
namespace {

constexpr std::array<std::pair<phase, std::string_view>, 9> phase_words{{
    {phase::connected, "connected"},
    {phase::x224_request, "x224-request"},
    {phase::x224_confirm, "x224-confirm"},
    {phase::tls_client_hello, "tls-client-hello"},
    {phase::tls_established, "tls-established"},
    {phase::first_app_data, "first-app-data"},
    {phase::logged_on, "logged-on"},
    {phase::active, "active"},
    {phase::session_info_sent, "session-info-sent"},
}};

constexpr std::array<std::pair<idle_expiry, std::string_view>, 3> expiry_words{{
    {idle_expiry::drop, "drop"},
    {idle_expiry::reset_sender, "reset"},
    {idle_expiry::reset_both, "reset-both"},
}};

}  // namespace

std::string_view to_string(phase p) noexcept {
  for (const auto& [value, word] : phase_words)
    if (value == p) return word;
  return "?";
}

std::optional<phase> phase_from_word(std::string_view word) noexcept {
  for (const auto& [value, w] : phase_words)
    if (w == word) return value;
  return std::nullopt;
}

std::string_view to_string(idle_expiry e) noexcept {
  for (const auto& [value, word] : expiry_words)
    if (value == e) return word;
  return "?";
}

std::optional<idle_expiry> idle_expiry_from_word(std::string_view word) noexcept {
  for (const auto& [value, w] : expiry_words)
    if (w == word) return value;
  return std::nullopt;
}

}  // namespace rdp::proxy
