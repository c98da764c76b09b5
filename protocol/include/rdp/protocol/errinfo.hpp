#pragma once
// The errorInfo codes of the Set Error Info PDU (MS-RDPBCGR 2.2.5.1.1, TS_SET_ERROR_INFO_PDU) and the few NTSTATUS
// values an RDP probe meets, as data: code, symbolic name, one-line meaning, and — for errorInfo — what became of the
// user's session on the server. Pure lookup; no I/O; only the describe_* helpers allocate.
//
// Sources for the values and names (meanings are our own wording):
//   - MS-RDPBCGR 2.2.5.1.1 (learn.microsoft.com/.../ms-rdpbcgr/a21a1bd9-2303-49c1-90ec-3932435c248c): the spec's
//     ERRINFO_* spelling used in `name` (e.g. ERRINFO_DISCONNECTED_BY_OTHERCONNECTION, ERRINFO_UNKNOWNPDUTYPE2).
//   - FreeRDP include/freerdp/error.h and libfreerdp/core/errinfo.c (snapshot 9626564421df): every value except
//     0x19/0x1A; FreeRDP's own spelling, where it differs, is kept in `freerdp_name` so its logs can be parsed.
//   - IronRDP crates/ironrdp-pdu/src/rdp/server_error_info.rs: the same values, grouped like the spec.
//   - 0x19 ERRINFO_SERVER_SHUTDOWN and 0x1A ERRINFO_SERVER_REBOOT: absent from FreeRDP and from the IronRDP file read;
//     IronRDP PR #1966 (merged, "add missing error info codes", citing the spec page above) adds them, and several
//     independent public transcriptions of the spec table give these two values. Not read in the spec text itself.
// Deliberately not in the table (not in MS-RDPBCGR 2.2.5.1.1): 0x8 (the mstsc ActiveX API's
// exDiscReasonServerDeniedConnectionFips), 0x10B (exDiscReasonLicenseCreatingLicStoreAccDenied), and FreeRDP's
// internal 0x1196 ERRINFO_PEER_DISCONNECTED and 0xFFFFFFFF ERRINFO_NONE, which never travel on the wire.
//
// ---- STATUS_USER_SESSION_DELETED (0xC0000203) is never an errorInfo value ----
// 0xC0000203 is an NTSTATUS ("The remote user session has been deleted.", winpr/include/winpr/nt.h). On the wire it
// travels in the 4-byte Status field of an SMB2 response header: MS-SMB2 3.3.5.2.9 "Verifying the Session" fails a
// request whose SessionId is not in Connection.SessionTable with STATUS_USER_SESSION_DELETED (an SMB session that
// still exists but has *expired* gets STATUS_NETWORK_SESSION_EXPIRED 0xC000035C instead); 3.3.5.2.4 (signing) and
// 3.3.5.5 (SESSION_SETUP binding to an unknown session) do the same. The only RDP-adjacent carrier of NTSTATUS
// values is the CredSSP TSRequest.errorCode field (MS-CSSP 2.2.1, version 3+), where FreeRDP would report it as
// "SPNEGO failed with NTSTATUS: STATUS_USER_SESSION_DELETED". No errorInfo range (0x0-0x1A, 0x100-0x10A,
// 0x400-0x412, 0x10C9-0x1195) contains it; classify_error_info_range(0xC0000203) is error_info_range::unknown and
// describe_error_info() says it looks like that NTSTATUS.
//
// Which errorInfo codes leave the server-side session *deleted*, so that anything still bound to it — an SMB
// session opened by that logon, an auto-reconnect cookie whose LogonId names it (MS-RDPBCGR 1.3.1.5, 2.2.4.2) —
// later meets STATUS_USER_SESSION_DELETED or falls back to a fresh logon:
//   - 0x2 ERRINFO_RPC_INITIATED_LOGOFF and 0xC ERRINFO_LOGOFF_BY_USER: the session was logged off;
//   - 0x19 ERRINFO_SERVER_SHUTDOWN and 0x1A ERRINFO_SERVER_REBOOT: every session ends with the server;
//   - 0x17 ERRINFO_SERVER_WINLOGON_CRASH and 0x18 ERRINFO_SERVER_CSRSS_CRASH: a session does not outlive its
//     Winlogon/CSRSS (derived, not observed);
//   - 0x3 ERRINFO_IDLE_TIMEOUT and 0x4 ERRINFO_LOGON_TIMEOUT only when the "End session when time limits are
//     reached" policy is on (session_fate::depends_on_policy); by default Windows disconnects instead.
// Codes 0x1, 0x5, 0xB leave the session disconnected (state Disc) and reconnectable. Note that the two "session"
// words differ: SMB's STATUS_USER_SESSION_DELETED is about an SMB session, which a server may also reap on its own
// when idle (Linux cifs commit d81243c697ff), with no RDP event at all.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace rdp::protocol {

// What became of the user's session on the server when this code was sent — the heart of the
// "remote user session has been deleted" (0xC0000203) diagnosis. Codes whose fate the spec does not imply
// (server out of memory, display-driver failures, protocol errors, licensing, broker) are not_applicable; the one
// protocol-range exception is 0x112F ERRINFO_GRAPHICSSUBSYSTEMFAILED (disconnected), which FreeRDP's client treats
// like a network drop and auto-reconnects after (client/common/client.c client_auto_reconnect_ex).
enum class session_fate {
  not_applicable,    // not about a session (e.g. a protocol or licensing error during connection)
  deleted,           // the session is gone on the server (logged off, reset): anything still bound to it — an SMB
                     // session, an auto-reconnect cookie — now meets STATUS_USER_SESSION_DELETED or a fresh logon
  disconnected,      // the session still exists (state Disc) and can be reconnected
  depends_on_policy, // e.g. idle/active time limits: Windows disconnects or ends the session per policy
  never_created,     // the server refused before a session existed
};

// Blocks of the errorInfo space, used to place codes the table does not know:
//   none      0x00000000
//   session   0x00000001-0x000000FF  protocol-independent codes (spec uses 0x1-0x1A)
//   licensing 0x00000100-0x000001FF  protocol-independent licensing codes (spec uses 0x100-0x10A)
//   broker    0x00000400-0x000004FF  connection broker codes (spec uses 0x400-0x412)
//   protocol  0x00001000-0x00007FFF  RDP-specific codes (spec uses 0x10C9-0x1195; the block is the mstsc ActiveX
//                                    API's exDiscReasonProtocolRangeStart..End)
//   unknown   everything else (0x200-0x3FF, 0x500-0xFFF, >= 0x8000, NTSTATUS-looking values)
enum class error_info_range { none, session, licensing, broker, protocol, unknown };

struct error_info_entry {
  std::uint32_t code;
  std::string_view name;     // spec spelling, e.g. "ERRINFO_IDLE_TIMEOUT"
  std::string_view meaning;  // one line
  session_fate fate;
  std::string_view freerdp_name{};  // FreeRDP's spelling when it differs from `name`; empty if the same or absent
};

// Every code of MS-RDPBCGR 2.2.5.1.1, sorted by code, no duplicates.
std::span<const error_info_entry> error_info_table() noexcept;

// nullptr if the code is not in the table (binary search).
const error_info_entry* find_error_info(std::uint32_t code) noexcept;

// Looks a code up by symbolic name, in the spec's or FreeRDP's spelling ("ERRINFO_DISCONNECTED_BY_OTHERCONNECTION"
// or "ERRINFO_DISCONNECTED_BY_OTHER_CONNECTION"); case-sensitive; nullptr if unknown.
const error_info_entry* find_error_info_by_name(std::string_view name) noexcept;

error_info_range classify_error_info_range(std::uint32_t code) noexcept;

// "ERRINFO_IDLE_TIMEOUT (0x00000003): The idle ..."; unknown codes: "unknown errorInfo (0x0000001B) in the session
// range", or "unknown errorInfo (0xC0000203); that value is NTSTATUS STATUS_USER_SESSION_DELETED, never an
// errorInfo" when it matches the NTSTATUS table, or just "unknown errorInfo (0x00000250)".
std::string describe_error_info(std::uint32_t code);

std::string_view to_string(session_fate fate) noexcept;        // "not_applicable", "deleted", ...
std::string_view to_string(error_info_range range) noexcept;   // "none", "session", ...

// NTSTATUS values an RDP probe meets: CredSSP TSRequest.errorCode (FreeRDP nla.c maps the logon ones) and the SMB2
// session statuses of the 0xC0000203 story. Values checked against winpr/include/winpr/nt.h.
struct ntstatus_entry {
  std::uint32_t code;
  std::string_view name;     // "STATUS_USER_SESSION_DELETED"
  std::string_view meaning;  // one line
};

std::span<const ntstatus_entry> ntstatus_table() noexcept;  // sorted by code
const ntstatus_entry* find_ntstatus(std::uint32_t code) noexcept;
// "STATUS_LOGON_FAILURE (0xC000006D): ..."; unknown: "unknown NTSTATUS (0xC0001234)".
std::string describe_ntstatus(std::uint32_t code);

inline constexpr std::uint32_t status_user_session_deleted = 0xC0000203;

namespace ntstatus {
inline constexpr std::uint32_t success = 0x00000000, access_denied = 0xC0000022, logon_failure = 0xC000006D,
                               not_supported = 0xC00000BB,
                               wrong_password = 0xC000006A, account_restriction = 0xC000006E,
                               password_expired = 0xC0000071, account_disabled = 0xC0000072,
                               time_difference_at_dc = 0xC0000133, logon_type_not_granted = 0xC000015B,
                               account_expired = 0xC0000193, user_session_deleted = status_user_session_deleted,
                               password_must_change = 0xC0000224, account_locked_out = 0xC0000234,
                               network_session_expired = 0xC000035C;
}  // namespace ntstatus

// Named constants for the codes the simulator and probe use by name (MS-RDPBCGR 2.2.5.1.1).
namespace errinfo {
inline constexpr std::uint32_t none = 0, rpc_initiated_disconnect = 1, rpc_initiated_logoff = 2, idle_timeout = 3,
                               logon_timeout = 4, disconnected_by_other_connection = 5, out_of_memory = 6,
                               server_denied_connection = 7, server_insufficient_privileges = 9,
                               server_fresh_credentials_required = 10, rpc_initiated_disconnect_by_user = 11,
                               logoff_by_user = 12;
inline constexpr std::uint32_t close_stack_on_driver_not_ready = 0x0F, server_dwm_crash = 0x10,
                               close_stack_on_driver_failure = 0x11, close_stack_on_driver_iface_failure = 0x12,
                               server_winlogon_crash = 0x17, server_csrss_crash = 0x18, server_shutdown = 0x19,
                               server_reboot = 0x1A;
inline constexpr std::uint32_t license_internal = 0x100, license_no_license_server = 0x101, license_no_license = 0x102,
                               license_bad_client_msg = 0x103, license_hwid_doesnt_match_license = 0x104,
                               license_bad_client_license = 0x105, license_cant_finish_protocol = 0x106,
                               license_client_ended_protocol = 0x107, license_bad_client_encryption = 0x108,
                               license_cant_upgrade_license = 0x109, license_no_remote_connections = 0x10A;
inline constexpr std::uint32_t cb_destination_not_found = 0x400, cb_destination_pool_not_free = 0x408,
                               cb_connection_cancelled = 0x409, cb_connection_error_invalid_settings = 0x410;
inline constexpr std::uint32_t unknown_pdu_type2 = 0x10C9, unknown_pdu_type = 0x10CA, data_pdu_sequence = 0x10CB,
                               control_pdu_sequence = 0x10CD, invalid_control_pdu_action = 0x10CE,
                               create_user_data_failed = 0x10D2, connect_failed = 0x10D3,
                               confirm_active_wrong_share_id = 0x10D4, confirm_active_wrong_originator = 0x10D5,
                               share_data_too_short = 0x10E2, confirm_active_pdu_too_short = 0x10E5,
                               bad_capabilities = 0x10EA, invalid_channel_id = 0x10EF, vchannels_too_many = 0x10F0,
                               graphics_subsystem_failed = 0x112F, update_session_key_failed = 0x1191,
                               decrypt_failed = 0x1192, encrypt_failed = 0x1193, enc_pkg_mismatch = 0x1194,
                               decrypt_failed2 = 0x1195;
// FreeRDP-internal (include/freerdp/error.h ERRINFO_PEER_DISCONNECTED): set by FreeRDP itself, never sent by a server.
inline constexpr std::uint32_t freerdp_peer_disconnected = 0x1196;
}  // namespace errinfo

}  // namespace rdp::protocol
