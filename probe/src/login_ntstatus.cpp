// The NTSTATUS behind a refused CredSSP logon, as FreeRDP 2.11 shows it (login_ntstatus.hpp). What it relies on was
// observed against a scripted server answering each code (docs/freerdp.md 1.7).
#include "rdp/probe/login_ntstatus.hpp"

#include "rdp/protocol/errinfo.hpp"

#include <array>
#include <string_view>

namespace rdp::probe {
namespace {

namespace st = protocol::ntstatus;

// MAKE_FREERDP_ERROR(CONNECT, type): FREERDP_ERROR_CONNECT_CLASS is 2 (freerdp/error.h).
constexpr std::uint32_t connect_error(std::uint32_t type) { return (2u << 16) | type; }

// libfreerdp/core/nla.c nla_recv_pdu's switch (2.11.7), the ERRCONNECT_* values from
// /usr/include/freerdp2/freerdp/error.h.
constexpr std::array<freerdp_ntstatus_mapping, 10> mappings{{
    {st::password_must_change, connect_error(0x13)},    // ERRCONNECT_PASSWORD_MUST_CHANGE
    {st::password_expired, connect_error(0x0E)},        // ERRCONNECT_PASSWORD_EXPIRED
    {st::account_disabled, connect_error(0x12)},        // ERRCONNECT_ACCOUNT_DISABLED
    {st::logon_failure, connect_error(0x14)},           // ERRCONNECT_LOGON_FAILURE
    {st::wrong_password, connect_error(0x15)},          // ERRCONNECT_WRONG_PASSWORD
    {st::access_denied, connect_error(0x16)},           // ERRCONNECT_ACCESS_DENIED
    {st::account_restriction, connect_error(0x17)},     // ERRCONNECT_ACCOUNT_RESTRICTION
    {st::account_locked_out, connect_error(0x18)},      // ERRCONNECT_ACCOUNT_LOCKED_OUT
    {st::account_expired, connect_error(0x19)},         // ERRCONNECT_ACCOUNT_EXPIRED
    {st::logon_type_not_granted, connect_error(0x1A)},  // ERRCONNECT_LOGON_TYPE_NOT_GRANTED
}};

constexpr std::string_view spnego_failed = "SPNEGO failed with NTSTATUS:";

std::optional<std::uint32_t> hex_digit(char c) {
  if (c >= '0' && c <= '9') return static_cast<std::uint32_t>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<std::uint32_t>(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return static_cast<std::uint32_t>(c - 'A' + 10);
  return std::nullopt;
}

// "SPNEGO failed with NTSTATUS: STATUS_NOT_SUPPORTED [0xC00000BB]" (Debian 2.11.7; "(nil)" for a code WinPR has no
// name for) or "… NTSTATUS: 0xC00000BB" (upstream 2.11's format string): the first "0x" after the prefix and exactly
// eight hex digits, as %08X prints a 32-bit value.
std::optional<std::uint32_t> parse_spnego_line(std::string_view line) {
  const auto at = line.find(spnego_failed);
  if (at == std::string_view::npos) return std::nullopt;
  const auto rest = line.substr(at + spnego_failed.size());
  for (auto x = rest.find("0x"); x != std::string_view::npos; x = rest.find("0x", x + 2)) {
    const auto digits = rest.substr(x + 2);
    if (digits.size() < 8) return std::nullopt;
    std::uint32_t value = 0;
    bool ok = true;
    for (std::size_t i = 0; i < 8 && ok; ++i) {
      const auto d = hex_digit(digits[i]);
      ok = d.has_value();
      if (ok) value = (value << 4) | *d;
    }
    if (ok && (digits.size() == 8 || !hex_digit(digits[8]))) return value;
  }
  return std::nullopt;
}

}  // namespace

std::span<const freerdp_ntstatus_mapping> freerdp_ntstatus_mappings() noexcept { return mappings; }

std::optional<std::uint32_t> ntstatus_from_freerdp(std::uint32_t last_error, std::span<const std::string> errors) {
  // The log line names the server's own code, so it wins over a last error that may have been set afterwards.
  for (const auto& line : errors)
    if (const auto status = parse_spnego_line(line)) return status;
  for (const auto& m : mappings)
    if (m.last_error == last_error) return m.ntstatus;
  return std::nullopt;
}

}  // namespace rdp::probe
