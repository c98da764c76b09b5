#pragma once
// The NTSTATUS a server refused a CredSSP (NLA) logon with, recovered from what FreeRDP 2.11 reports. The server
// sends it in TSRequest.errorCode (MS-CSSP 2.2.1, version 3 and later); FreeRDP does not hand it to its user, but
// nla_recv_pdu (libfreerdp/core/nla.c) turns ten codes into their own ERRCONNECT_* last error and, for any other,
// logs "SPNEGO failed with NTSTATUS: NAME [0x%08X]" at ERROR and sets ERRCONNECT_AUTHENTICATION_FAILED
// (docs/freerdp.md 1.7). Pure: no FreeRDP headers (the values are copied from them, and the interop tests compare the
// table with error.h and winpr/nt.h), no I/O.
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace rdp::probe {

// One of nla_recv_pdu's ten mappings: the server's NTSTATUS and the last error FreeRDP sets for it.
struct freerdp_ntstatus_mapping {
  std::uint32_t ntstatus;    // STATUS_LOGON_FAILURE 0xC000006D, …
  std::uint32_t last_error;  // (FREERDP_ERROR_CONNECT_CLASS 2 << 16) | ERRCONNECT_LOGON_FAILURE 0x14, …
};
// The ten, in nla_recv_pdu's order.
std::span<const freerdp_ntstatus_mapping> freerdp_ntstatus_mappings() noexcept;

// From freerdp_get_last_error and FreeRDP's ERROR log lines of one logon (login_result::freerdp_errors): the NTSTATUS
// of a "SPNEGO failed with NTSTATUS:" line if there is one (its "0x" and eight hex digits, with or without the name
// Debian's 2.11.7 prints before it), else the NTSTATUS behind one of the ten mapped last errors, else nothing — the
// server sent no errorCode that FreeRDP acted on, or the user took WLog over (WLOG_*) and an unmapped code's line was
// not kept.
std::optional<std::uint32_t> ntstatus_from_freerdp(std::uint32_t last_error, std::span<const std::string> errors);

}  // namespace rdp::probe
