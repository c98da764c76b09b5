#include "rdp/protocol/errinfo.hpp"

#include "rdp/protocol/hex.hpp"

#include <algorithm>
#include <cstddef>

// The tables: values and names from MS-RDPBCGR 2.2.5.1.1 as carried by FreeRDP include/freerdp/error.h (snapshot
// 9626564421df) and IronRDP server_error_info.rs; 0x19/0x1A from IronRDP PR #1966 and public transcriptions of the
// spec table (see errinfo.hpp). Meanings are written for this project. Fates follow the rules in errinfo.hpp:
// logoff/shutdown/reboot/session-process crash -> deleted; admin or user disconnect and takeover -> disconnected;
// time limits -> depends_on_policy; refusals at logon -> never_created; the rest -> not_applicable, except 0x112F,
// which FreeRDP's client treats like a network drop and auto-reconnects to (client/common/client.c), so the session
// is taken to survive.

namespace rdp::protocol {
namespace {

constexpr error_info_entry error_info_rows[] = {
    {0x00000000, "ERRINFO_NONE",
     "No error; a client ignores this code.",
     session_fate::not_applicable, "ERRINFO_SUCCESS"},
    {0x00000001, "ERRINFO_RPC_INITIATED_DISCONNECT",
     "An administrative tool in another session disconnected this session.",
     session_fate::disconnected},
    {0x00000002, "ERRINFO_RPC_INITIATED_LOGOFF",
     "An administrative tool in another session forced this session to log off.",
     session_fate::deleted},
    {0x00000003, "ERRINFO_IDLE_TIMEOUT",
     "The idle session time limit on the server ran out.",
     session_fate::depends_on_policy},
    {0x00000004, "ERRINFO_LOGON_TIMEOUT",
     "The active session time limit on the server ran out.",
     session_fate::depends_on_policy},
    {0x00000005, "ERRINFO_DISCONNECTED_BY_OTHERCONNECTION",
     "Another connection took over the session, so this connection was dropped.",
     session_fate::disconnected, "ERRINFO_DISCONNECTED_BY_OTHER_CONNECTION"},
    {0x00000006, "ERRINFO_OUT_OF_MEMORY",
     "The server had no memory left for the connection.",
     session_fate::not_applicable},
    {0x00000007, "ERRINFO_SERVER_DENIED_CONNECTION",
     "The server refused the connection.",
     session_fate::never_created},
    {0x00000009, "ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES",
     "The user is not allowed to log on remotely to this server.",
     session_fate::never_created},
    {0x0000000A, "ERRINFO_SERVER_FRESH_CREDENTIALS_REQUIRED",
     "The server does not accept saved credentials; the user must type them for each connection.",
     session_fate::never_created},
    {0x0000000B, "ERRINFO_RPC_INITIATED_DISCONNECT_BYUSER",
     "An administrative tool running in the user's own session disconnected it.",
     session_fate::disconnected, "ERRINFO_RPC_INITIATED_DISCONNECT_BY_USER"},
    {0x0000000C, "ERRINFO_LOGOFF_BY_USER",
     "The user logged off the session on the server.",
     session_fate::deleted},
    {0x0000000F, "ERRINFO_CLOSE_STACK_ON_DRIVER_NOT_READY",
     "The session's display driver did not report its status in time during startup.",
     session_fate::not_applicable},
    {0x00000010, "ERRINFO_SERVER_DWM_CRASH",
     "The Desktop Window Manager in the session exited unexpectedly.",
     session_fate::not_applicable},
    {0x00000011, "ERRINFO_CLOSE_STACK_ON_DRIVER_FAILURE",
     "The session's display driver could not finish its startup tasks.",
     session_fate::not_applicable},
    {0x00000012, "ERRINFO_CLOSE_STACK_ON_DRIVER_IFACE_FAILURE",
     "The session's display driver started but the remoting stack could not use it.",
     session_fate::not_applicable},
    {0x00000017, "ERRINFO_SERVER_WINLOGON_CRASH",
     "Winlogon in the session exited unexpectedly.",
     session_fate::deleted},
    {0x00000018, "ERRINFO_SERVER_CSRSS_CRASH",
     "CSRSS in the session exited unexpectedly.",
     session_fate::deleted},
    {0x00000019, "ERRINFO_SERVER_SHUTDOWN",
     "The server is shutting down.",
     session_fate::deleted},
    {0x0000001A, "ERRINFO_SERVER_REBOOT",
     "The server is restarting.",
     session_fate::deleted},
    {0x00000100, "ERRINFO_LICENSE_INTERNAL",
     "The server's licensing component hit an internal error.",
     session_fate::not_applicable},
    {0x00000101, "ERRINFO_LICENSE_NO_LICENSE_SERVER",
     "No Remote Desktop license server could be found to issue a license.",
     session_fate::not_applicable},
    {0x00000102, "ERRINFO_LICENSE_NO_LICENSE",
     "No Client Access License is available for this server.",
     session_fate::not_applicable},
    {0x00000103, "ERRINFO_LICENSE_BAD_CLIENT_MSG",
     "The server received a malformed licensing message from the client.",
     session_fate::not_applicable},
    {0x00000104, "ERRINFO_LICENSE_HWID_DOESNT_MATCH_LICENSE",
     "The client's stored license was altered (hardware ID does not match).",
     session_fate::not_applicable},
    {0x00000105, "ERRINFO_LICENSE_BAD_CLIENT_LICENSE",
     "The client's stored license has an invalid format.",
     session_fate::not_applicable},
    {0x00000106, "ERRINFO_LICENSE_CANT_FINISH_PROTOCOL",
     "Network trouble cut the licensing exchange short.",
     session_fate::not_applicable},
    {0x00000107, "ERRINFO_LICENSE_CLIENT_ENDED_PROTOCOL",
     "The client quit the licensing exchange early.",
     session_fate::not_applicable},
    {0x00000108, "ERRINFO_LICENSE_BAD_CLIENT_ENCRYPTION",
     "A licensing message was not encrypted correctly.",
     session_fate::not_applicable},
    {0x00000109, "ERRINFO_LICENSE_CANT_UPGRADE_LICENSE",
     "The client's stored license could not be upgraded or renewed.",
     session_fate::not_applicable},
    {0x0000010A, "ERRINFO_LICENSE_NO_REMOTE_CONNECTIONS",
     "The server is not licensed to accept remote connections.",
     session_fate::not_applicable},
    {0x00000400, "ERRINFO_CB_DESTINATION_NOT_FOUND",
     "The connection broker could not find the target endpoint.",
     session_fate::not_applicable},
    {0x00000402, "ERRINFO_CB_LOADING_DESTINATION",
     "The redirection target is disconnecting from the connection broker.",
     session_fate::not_applicable},
    {0x00000404, "ERRINFO_CB_REDIRECTING_TO_DESTINATION",
     "Redirecting the connection to the target endpoint failed.",
     session_fate::not_applicable},
    {0x00000405, "ERRINFO_CB_SESSION_ONLINE_VM_WAKE",
     "Waking the target virtual machine failed.",
     session_fate::not_applicable},
    {0x00000406, "ERRINFO_CB_SESSION_ONLINE_VM_BOOT",
     "Starting the target virtual machine failed.",
     session_fate::not_applicable},
    {0x00000407, "ERRINFO_CB_SESSION_ONLINE_VM_NO_DNS",
     "The IP address of the target virtual machine could not be resolved.",
     session_fate::not_applicable},
    {0x00000408, "ERRINFO_CB_DESTINATION_POOL_NOT_FREE",
     "No endpoint in the broker's pool is free.",
     session_fate::not_applicable},
    {0x00000409, "ERRINFO_CB_CONNECTION_CANCELLED",
     "The broker cancelled processing of the connection.",
     session_fate::not_applicable},
    {0x00000410, "ERRINFO_CB_CONNECTION_ERROR_INVALID_SETTINGS",
     "The routing token settings in the X.224 Connection Request could not be validated.",
     session_fate::not_applicable},
    {0x00000411, "ERRINFO_CB_SESSION_ONLINE_VM_BOOT_TIMEOUT",
     "The target virtual machine took too long to start.",
     session_fate::not_applicable},
    {0x00000412, "ERRINFO_CB_SESSION_ONLINE_VM_SESSMON_FAILED",
     "Session monitoring failed while the target virtual machine was starting.",
     session_fate::not_applicable},
    {0x000010C9, "ERRINFO_UNKNOWNPDUTYPE2",
     "A Share Data Header carried an unknown pduType2.",
     session_fate::not_applicable, "ERRINFO_UNKNOWN_DATA_PDU_TYPE"},
    {0x000010CA, "ERRINFO_UNKNOWNPDUTYPE",
     "A Share Control Header carried an unknown pduType.",
     session_fate::not_applicable, "ERRINFO_UNKNOWN_PDU_TYPE"},
    {0x000010CB, "ERRINFO_DATAPDUSEQUENCE",
     "A slow-path data PDU arrived out of sequence.",
     session_fate::not_applicable, "ERRINFO_DATA_PDU_SEQUENCE"},
    {0x000010CD, "ERRINFO_CONTROLPDUSEQUENCE",
     "A slow-path non-data PDU arrived out of sequence.",
     session_fate::not_applicable, "ERRINFO_CONTROL_PDU_SEQUENCE"},
    {0x000010CE, "ERRINFO_INVALIDCONTROLPDUACTION",
     "A Control PDU had an invalid action.",
     session_fate::not_applicable, "ERRINFO_INVALID_CONTROL_PDU_ACTION"},
    {0x000010CF, "ERRINFO_INVALIDINPUTPDUTYPE",
     "An input event had an invalid message type or event code.",
     session_fate::not_applicable, "ERRINFO_INVALID_INPUT_PDU_TYPE"},
    {0x000010D0, "ERRINFO_INVALIDINPUTPDUMOUSE",
     "A mouse input event had invalid pointer flags.",
     session_fate::not_applicable, "ERRINFO_INVALID_INPUT_PDU_MOUSE"},
    {0x000010D1, "ERRINFO_INVALIDREFRESHRECTPDU",
     "A Refresh Rect PDU was invalid.",
     session_fate::not_applicable, "ERRINFO_INVALID_REFRESH_RECT_PDU"},
    {0x000010D2, "ERRINFO_CREATEUSERDATAFAILED",
     "The server could not build the GCC Conference Create Response user data.",
     session_fate::not_applicable, "ERRINFO_CREATE_USER_DATA_FAILED"},
    {0x000010D3, "ERRINFO_CONNECTFAILED",
     "The channel connection phase of the connection sequence failed.",
     session_fate::not_applicable, "ERRINFO_CONNECT_FAILED"},
    {0x000010D4, "ERRINFO_CONFIRMACTIVEWRONGSHAREID",
     "The Confirm Active PDU carried the wrong shareId.",
     session_fate::not_applicable, "ERRINFO_CONFIRM_ACTIVE_HAS_WRONG_SHAREID"},
    {0x000010D5, "ERRINFO_CONFIRMACTIVEWRONGORIGINATOR",
     "The Confirm Active PDU carried the wrong originatorId.",
     session_fate::not_applicable, "ERRINFO_CONFIRM_ACTIVE_HAS_WRONG_ORIGINATOR"},
    {0x000010DA, "ERRINFO_PERSISTENTKEYPDUBADLENGTH",
     "A Persistent Key List PDU was too short to process.",
     session_fate::not_applicable, "ERRINFO_PERSISTENT_KEY_PDU_BAD_LENGTH"},
    {0x000010DB, "ERRINFO_PERSISTENTKEYPDUILLEGALFIRST",
     "A second Persistent Key List PDU was marked as the first one.",
     session_fate::not_applicable, "ERRINFO_PERSISTENT_KEY_PDU_ILLEGAL_FIRST"},
    {0x000010DC, "ERRINFO_PERSISTENTKEYPDUTOOMANYTOTALKEYS",
     "A Persistent Key List PDU announced more than 262144 bitmap cache keys in total.",
     session_fate::not_applicable, "ERRINFO_PERSISTENT_KEY_PDU_TOO_MANY_TOTAL_KEYS"},
    {0x000010DD, "ERRINFO_PERSISTENTKEYPDUTOOMANYCACHEKEYS",
     "A Persistent Key List PDU announced more keys than a bitmap cache holds.",
     session_fate::not_applicable, "ERRINFO_PERSISTENT_KEY_PDU_TOO_MANY_CACHE_KEYS"},
    {0x000010DE, "ERRINFO_INPUTPDUBADLENGTH",
     "An input event PDU was too short to process.",
     session_fate::not_applicable, "ERRINFO_INPUT_PDU_BAD_LENGTH"},
    {0x000010DF, "ERRINFO_BITMAPCACHEERRORPDUBADLENGTH",
     "A Bitmap Cache Error PDU was too short to process.",
     session_fate::not_applicable, "ERRINFO_BITMAP_CACHE_ERROR_PDU_BAD_LENGTH"},
    {0x000010E0, "ERRINFO_SECURITYDATATOOSHORT",
     "A fast-path input PDU was too short for its signature or FIPS fields.",
     session_fate::not_applicable, "ERRINFO_SECURITY_DATA_TOO_SHORT"},
    {0x000010E1, "ERRINFO_VCHANNELDATATOOSHORT",
     "Virtual channel data (network data or a channel PDU header) was too short.",
     session_fate::not_applicable, "ERRINFO_VCHANNEL_DATA_TOO_SHORT"},
    {0x000010E2, "ERRINFO_SHAREDATATOOSHORT",
     "A share control/data header, Control PDU or Font List PDU was too short.",
     session_fate::not_applicable, "ERRINFO_SHARE_DATA_TOO_SHORT"},
    {0x000010E3, "ERRINFO_BADSUPRESSOUTPUTPDU",
     "A Suppress Output PDU was too short or had an invalid allowDisplayUpdates.",
     session_fate::not_applicable, "ERRINFO_BAD_SUPPRESS_OUTPUT_PDU"},
    {0x000010E5, "ERRINFO_CONFIRMACTIVEPDUTOOSHORT",
     "A Confirm Active PDU was too short.",
     session_fate::not_applicable, "ERRINFO_CONFIRM_ACTIVE_PDU_TOO_SHORT"},
    {0x000010E7, "ERRINFO_CAPABILITYSETTOOSMALL",
     "A capability set was too short to hold its type and length.",
     session_fate::not_applicable, "ERRINFO_CAPABILITY_SET_TOO_SMALL"},
    {0x000010E8, "ERRINFO_CAPABILITYSETTOOLARGE",
     "A capability set claimed a length beyond the data received.",
     session_fate::not_applicable, "ERRINFO_CAPABILITY_SET_TOO_LARGE"},
    {0x000010E9, "ERRINFO_NOCURSORCACHE",
     "The Pointer Capability Set advertised no pointer cache.",
     session_fate::not_applicable, "ERRINFO_NO_CURSOR_CACHE"},
    {0x000010EA, "ERRINFO_BADCAPABILITIES",
     "The server rejected the client's capabilities in Confirm Active.",
     session_fate::not_applicable, "ERRINFO_BAD_CAPABILITIES"},
    {0x000010EC, "ERRINFO_VIRTUALCHANNELDECOMPRESSIONERR",
     "Bulk decompression of a virtual channel PDU failed.",
     session_fate::not_applicable, "ERRINFO_VIRTUAL_CHANNEL_DECOMPRESSION"},
    {0x000010ED, "ERRINFO_INVALIDVCCOMPRESSIONTYPE",
     "A channel PDU header named an invalid compression type.",
     session_fate::not_applicable, "ERRINFO_INVALID_VC_COMPRESSION_TYPE"},
    {0x000010EF, "ERRINFO_INVALIDCHANNELID",
     "A virtual channel PDU used an invalid MCS channel ID.",
     session_fate::not_applicable, "ERRINFO_INVALID_CHANNEL_ID"},
    {0x000010F0, "ERRINFO_VCHANNELSTOOMANY",
     "The client asked for more than 31 static virtual channels.",
     session_fate::not_applicable, "ERRINFO_VCHANNELS_TOO_MANY"},
    {0x000010F3, "ERRINFO_REMOTEAPPSNOTENABLED",
     "The server only hosts RemoteApp, but the client did not set INFO_RAIL.",
     session_fate::not_applicable, "ERRINFO_REMOTEAPP_NOT_ENABLED"},
    {0x000010F4, "ERRINFO_CACHECAPNOTSET",
     "A Persistent Key List PDU came without a Revision 2 Bitmap Cache Capability Set.",
     session_fate::not_applicable, "ERRINFO_CACHE_CAP_NOT_SET"},
    {0x000010F5, "ERRINFO_BITMAPCACHEERRORPDUBADLENGTH2",
     "A Bitmap Cache Error PDU's NumInfoBlocks did not match its data.",
     session_fate::not_applicable, "ERRINFO_BITMAP_CACHE_ERROR_PDU_BAD_LENGTH2"},
    {0x000010F6, "ERRINFO_OFFSCRCACHEERRORPDUBADLENGTH",
     "An Offscreen Bitmap Cache Error PDU was too short.",
     session_fate::not_applicable, "ERRINFO_OFFSCREEN_CACHE_ERROR_PDU_BAD_LENGTH"},
    {0x000010F7, "ERRINFO_DNGCACHEERRORPDUBADLENGTH",
     "A DrawNineGrid Cache Error PDU was too short.",
     session_fate::not_applicable, "ERRINFO_DRAWNINEGRID_CACHE_ERROR_PDU_BAD_LENGTH"},
    {0x000010F8, "ERRINFO_GDIPLUSPDUBADLENGTH",
     "A GDI+ Error PDU was too short.",
     session_fate::not_applicable, "ERRINFO_GDIPLUS_PDU_BAD_LENGTH"},
    {0x00001111, "ERRINFO_SECURITYDATATOOSHORT2",
     "Too little data for a Basic Security Header.",
     session_fate::not_applicable, "ERRINFO_SECURITY_DATA_TOO_SHORT2"},
    {0x00001112, "ERRINFO_SECURITYDATATOOSHORT3",
     "Too little data for a Non-FIPS or FIPS Security Header.",
     session_fate::not_applicable, "ERRINFO_SECURITY_DATA_TOO_SHORT3"},
    {0x00001113, "ERRINFO_SECURITYDATATOOSHORT4",
     "Too little data for the header and length of a Security Exchange PDU.",
     session_fate::not_applicable, "ERRINFO_SECURITY_DATA_TOO_SHORT4"},
    {0x00001114, "ERRINFO_SECURITYDATATOOSHORT5",
     "Too little data for the fixed fields and strings of the Info Packet.",
     session_fate::not_applicable, "ERRINFO_SECURITY_DATA_TOO_SHORT5"},
    {0x00001115, "ERRINFO_SECURITYDATATOOSHORT6",
     "Too little data for the fixed fields of the Info Packet.",
     session_fate::not_applicable, "ERRINFO_SECURITY_DATA_TOO_SHORT6"},
    {0x00001116, "ERRINFO_SECURITYDATATOOSHORT7",
     "Too little data for the client address family and length in the Extended Info Packet.",
     session_fate::not_applicable, "ERRINFO_SECURITY_DATA_TOO_SHORT7"},
    {0x00001117, "ERRINFO_SECURITYDATATOOSHORT8",
     "Too little data for the client address in the Extended Info Packet.",
     session_fate::not_applicable, "ERRINFO_SECURITY_DATA_TOO_SHORT8"},
    {0x00001118, "ERRINFO_SECURITYDATATOOSHORT9",
     "Too little data for the client directory length in the Extended Info Packet.",
     session_fate::not_applicable, "ERRINFO_SECURITY_DATA_TOO_SHORT9"},
    {0x00001119, "ERRINFO_SECURITYDATATOOSHORT10",
     "Too little data for the client directory in the Extended Info Packet.",
     session_fate::not_applicable, "ERRINFO_SECURITY_DATA_TOO_SHORT10"},
    {0x0000111A, "ERRINFO_SECURITYDATATOOSHORT11",
     "Too little data for the client time zone in the Extended Info Packet.",
     session_fate::not_applicable, "ERRINFO_SECURITY_DATA_TOO_SHORT11"},
    {0x0000111B, "ERRINFO_SECURITYDATATOOSHORT12",
     "Too little data for the client session ID in the Extended Info Packet.",
     session_fate::not_applicable, "ERRINFO_SECURITY_DATA_TOO_SHORT12"},
    {0x0000111C, "ERRINFO_SECURITYDATATOOSHORT13",
     "Too little data for the performance flags in the Extended Info Packet.",
     session_fate::not_applicable, "ERRINFO_SECURITY_DATA_TOO_SHORT13"},
    {0x0000111D, "ERRINFO_SECURITYDATATOOSHORT14",
     "Too little data for the auto-reconnect cookie length in the Extended Info Packet.",
     session_fate::not_applicable, "ERRINFO_SECURITY_DATA_TOO_SHORT14"},
    {0x0000111E, "ERRINFO_SECURITYDATATOOSHORT15",
     "Too little data for the auto-reconnect cookie in the Extended Info Packet.",
     session_fate::not_applicable, "ERRINFO_SECURITY_DATA_TOO_SHORT15"},
    {0x0000111F, "ERRINFO_SECURITYDATATOOSHORT16",
     "The auto-reconnect cookie length in the Extended Info Packet exceeds 128 bytes.",
     session_fate::not_applicable, "ERRINFO_SECURITY_DATA_TOO_SHORT16"},
    {0x00001120, "ERRINFO_SECURITYDATATOOSHORT17",
     "Too little data for the client address family and length (second Extended Info check).",
     session_fate::not_applicable, "ERRINFO_SECURITY_DATA_TOO_SHORT17"},
    {0x00001121, "ERRINFO_SECURITYDATATOOSHORT18",
     "Too little data for the client address (second Extended Info check).",
     session_fate::not_applicable, "ERRINFO_SECURITY_DATA_TOO_SHORT18"},
    {0x00001122, "ERRINFO_SECURITYDATATOOSHORT19",
     "Too little data for the client directory length (second Extended Info check).",
     session_fate::not_applicable, "ERRINFO_SECURITY_DATA_TOO_SHORT19"},
    {0x00001123, "ERRINFO_SECURITYDATATOOSHORT20",
     "Too little data for the client directory (second Extended Info check).",
     session_fate::not_applicable, "ERRINFO_SECURITY_DATA_TOO_SHORT20"},
    {0x00001124, "ERRINFO_SECURITYDATATOOSHORT21",
     "Too little data for the client time zone (second Extended Info check).",
     session_fate::not_applicable, "ERRINFO_SECURITY_DATA_TOO_SHORT21"},
    {0x00001125, "ERRINFO_SECURITYDATATOOSHORT22",
     "Too little data for the client session ID (second Extended Info check).",
     session_fate::not_applicable, "ERRINFO_SECURITY_DATA_TOO_SHORT22"},
    {0x00001126, "ERRINFO_SECURITYDATATOOSHORT23",
     "Too little data for the Client Info PDU.",
     session_fate::not_applicable, "ERRINFO_SECURITY_DATA_TOO_SHORT23"},
    {0x00001129, "ERRINFO_BADMONITORDATA",
     "The monitor count in the Client Monitor Data is invalid.",
     session_fate::not_applicable, "ERRINFO_BAD_MONITOR_DATA"},
    {0x0000112A, "ERRINFO_VCDECOMPRESSEDREASSEMBLEFAILED",
     "Decompressed virtual channel data was invalid or exceeded the chunk size.",
     session_fate::not_applicable, "ERRINFO_VC_DECOMPRESSED_REASSEMBLE_FAILED"},
    {0x0000112B, "ERRINFO_VCDATATOOLONG",
     "A virtual channel PDU exceeded the negotiated chunk size.",
     session_fate::not_applicable, "ERRINFO_VC_DATA_TOO_LONG"},
    {0x0000112C, "ERRINFO_BAD_FRAME_ACK_DATA",
     "A Frame Acknowledge PDU was too short to read.",
     session_fate::not_applicable},
    {0x0000112D, "ERRINFO_GRAPHICSMODENOTSUPPORTED",
     "The server does not support the graphics mode the client asked for.",
     session_fate::not_applicable, "ERRINFO_GRAPHICS_MODE_NOT_SUPPORTED"},
    {0x0000112E, "ERRINFO_GRAPHICSSUBSYSTEMRESETFAILED",
     "The server's graphics subsystem failed to reset.",
     session_fate::not_applicable, "ERRINFO_GRAPHICS_SUBSYSTEM_RESET_FAILED"},
    {0x0000112F, "ERRINFO_GRAPHICSSUBSYSTEMFAILED",
     "The server's graphics subsystem is in an error state and cannot keep encoding.",
     session_fate::disconnected, "ERRINFO_GRAPHICS_SUBSYSTEM_FAILED"},
    {0x00001130, "ERRINFO_TIMEZONEKEYNAMELENGTHTOOSHORT",
     "Too little data for the dynamic DST time zone key name length in the Extended Info Packet.",
     session_fate::not_applicable, "ERRINFO_TIMEZONE_KEY_NAME_LENGTH_TOO_SHORT"},
    {0x00001131, "ERRINFO_TIMEZONEKEYNAMELENGTHTOOLONG",
     "The dynamic DST time zone key name length in the Extended Info Packet is too long.",
     session_fate::not_applicable, "ERRINFO_TIMEZONE_KEY_NAME_LENGTH_TOO_LONG"},
    {0x00001132, "ERRINFO_DYNAMICDSTDISABLEDFIELDMISSING",
     "The Extended Info Packet lacks the dynamicDaylightTimeDisabled field.",
     session_fate::not_applicable, "ERRINFO_DYNAMIC_DST_DISABLED_FIELD_MISSING"},
    {0x00001133, "ERRINFO_VCDECODINGERROR",
     "Processing dynamic virtual channel data failed.",
     session_fate::not_applicable, "ERRINFO_VC_DECODING_ERROR"},
    {0x00001134, "ERRINFO_VIRTUALDESKTOPTOOLARGE",
     "The monitor layout makes the virtual desktop wider or taller than 32766 pixels.",
     session_fate::not_applicable},
    {0x00001135, "ERRINFO_MONITORGEOMETRYVALIDATIONFAILED",
     "The monitor geometry in the Client Monitor Data is invalid.",
     session_fate::not_applicable},
    {0x00001136, "ERRINFO_INVALIDMONITORCOUNT",
     "The monitor count in the Client Monitor Data is too large.",
     session_fate::not_applicable},
    {0x00001191, "ERRINFO_UPDATESESSIONKEYFAILED",
     "Updating the Standard RDP Security session keys failed.",
     session_fate::not_applicable, "ERRINFO_UPDATE_SESSION_KEY_FAILED"},
    {0x00001192, "ERRINFO_DECRYPTFAILED",
     "Standard RDP Security decryption or session key creation failed.",
     session_fate::not_applicable, "ERRINFO_DECRYPT_FAILED"},
    {0x00001193, "ERRINFO_ENCRYPTFAILED",
     "Standard RDP Security encryption failed.",
     session_fate::not_applicable, "ERRINFO_ENCRYPT_FAILED"},
    {0x00001194, "ERRINFO_ENCPKGMISMATCH",
     "No usable encryption method in the Client Security Data.",
     session_fate::not_applicable, "ERRINFO_ENCRYPTION_PACKAGE_MISMATCH"},
    {0x00001195, "ERRINFO_DECRYPTFAILED2",
     "Unencrypted data arrived where Standard RDP Security encryption was required.",
     session_fate::not_applicable, "ERRINFO_DECRYPT_FAILED2"},
};

constexpr ntstatus_entry ntstatus_rows[] = {
    {0x00000000, "STATUS_SUCCESS", "The operation succeeded."},
    {0xC0000016, "STATUS_MORE_PROCESSING_REQUIRED", "The authentication exchange needs another round trip."},
    {0xC0000022, "STATUS_ACCESS_DENIED", "The account is not allowed to do what was asked."},
    {0xC000005E, "STATUS_NO_LOGON_SERVERS", "No logon server (domain controller) was reachable to check the logon."},
    {0xC000005F, "STATUS_NO_SUCH_LOGON_SESSION", "The logon session named does not exist (any more)."},
    {0xC0000064, "STATUS_NO_SUCH_USER", "The user name is not known."},
    {0xC000006A, "STATUS_WRONG_PASSWORD", "The user name is known but the password is wrong."},
    {0xC000006C, "STATUS_PASSWORD_RESTRICTION", "The new password does not meet the password policy."},
    {0xC000006D, "STATUS_LOGON_FAILURE", "The logon failed: unknown user name or bad password."},
    {0xC000006E, "STATUS_ACCOUNT_RESTRICTION",
     "An account restriction (e.g. blank password not allowed) blocks the logon."},
    {0xC000006F, "STATUS_INVALID_LOGON_HOURS", "The account may not log on at this time of day."},
    {0xC0000070, "STATUS_INVALID_WORKSTATION", "The account may not log on from this workstation."},
    {0xC0000071, "STATUS_PASSWORD_EXPIRED", "The account's password has expired."},
    {0xC0000072, "STATUS_ACCOUNT_DISABLED", "The account is disabled."},
    {0xC000009A, "STATUS_INSUFFICIENT_RESOURCES", "The server lacked the resources to complete the request."},
    {0xC00000BB, "STATUS_NOT_SUPPORTED", "The request is not supported."},
    {0xC00000C9, "STATUS_NETWORK_NAME_DELETED", "The network name (share or connection) is no longer available."},
    {0xC0000133, "STATUS_TIME_DIFFERENCE_AT_DC",
     "The clocks of this machine and the domain controller differ too much."},
    {0xC000013C, "STATUS_REMOTE_DISCONNECT", "The remote end closed the network connection."},
    {0xC0000155, "STATUS_LOGON_NOT_GRANTED", "The account has not been granted the requested logon."},
    {0xC000015B, "STATUS_LOGON_TYPE_NOT_GRANTED",
     "The account lacks the right for this logon type (e.g. remote interactive)."},
    {0xC000018D, "STATUS_TRUSTED_RELATIONSHIP_FAILURE", "The trust between this machine and its domain failed."},
    {0xC0000193, "STATUS_ACCOUNT_EXPIRED", "The account has expired."},
    {0xC0000203, "STATUS_USER_SESSION_DELETED", "The remote user session has been deleted."},
    {0xC000020D, "STATUS_CONNECTION_RESET", "The transport connection was reset."},
    {0xC0000224, "STATUS_PASSWORD_MUST_CHANGE", "The password must be changed before the first logon."},
    {0xC0000234, "STATUS_ACCOUNT_LOCKED_OUT", "The account is locked out after too many failed logons."},
    {0xC000035C, "STATUS_NETWORK_SESSION_EXPIRED", "The SMB session has expired and must be re-authenticated."},
    {0xC0000388, "STATUS_DOWNGRADE_DETECTED", "A security downgrade was detected during authentication."},
    {0xC0000413, "STATUS_AUTHENTICATION_FIREWALL_FAILED",
     "The account may not authenticate to this machine (selective authentication)."},
};

template <class Entry, std::size_t N>
constexpr bool strictly_sorted(const Entry (&rows)[N]) {
  for (std::size_t i = 1; i < N; ++i) {
    if (!(rows[i - 1].code < rows[i].code)) return false;
  }
  return true;
}
static_assert(strictly_sorted(error_info_rows), "errorInfo table must be sorted by code without duplicates");
static_assert(strictly_sorted(ntstatus_rows), "NTSTATUS table must be sorted by code without duplicates");

template <class Entry>
const Entry* find_by_code(std::span<const Entry> rows, std::uint32_t code) noexcept {
  const auto it = std::ranges::lower_bound(rows, code, {}, &Entry::code);
  return (it != rows.end() && it->code == code) ? &*it : nullptr;
}

}  // namespace

std::span<const error_info_entry> error_info_table() noexcept { return error_info_rows; }

const error_info_entry* find_error_info(std::uint32_t code) noexcept {
  return find_by_code(error_info_table(), code);
}

const error_info_entry* find_error_info_by_name(std::string_view name) noexcept {
  if (name.empty()) return nullptr;
  for (const auto& e : error_info_rows) {
    if (e.name == name) return &e;
  }
  for (const auto& e : error_info_rows) {
    if (e.freerdp_name == name) return &e;
  }
  return nullptr;
}

error_info_range classify_error_info_range(std::uint32_t code) noexcept {
  if (code == 0) return error_info_range::none;
  if (code <= 0x000000FF) return error_info_range::session;
  if (code >= 0x00000100 && code <= 0x000001FF) return error_info_range::licensing;
  if (code >= 0x00000400 && code <= 0x000004FF) return error_info_range::broker;
  if (code >= 0x00001000 && code <= 0x00007FFF) return error_info_range::protocol;
  return error_info_range::unknown;
}

std::string describe_error_info(std::uint32_t code) {
  if (const auto* e = find_error_info(code)) {
    std::string out(e->name);
    out += " (";
    out += hex32(code);
    out += "): ";
    out += e->meaning;
    return out;
  }
  std::string out = "unknown errorInfo (" + hex32(code) + ")";
  if (const auto range = classify_error_info_range(code); range != error_info_range::unknown) {
    out += " in the ";
    out += to_string(range);
    out += " range";
  } else if (const auto* s = find_ntstatus(code)) {
    out += "; that value is NTSTATUS ";
    out += s->name;
    out += ", never an errorInfo";
  }
  return out;
}

std::string_view to_string(session_fate fate) noexcept {
  switch (fate) {
    case session_fate::not_applicable: return "not_applicable";
    case session_fate::deleted: return "deleted";
    case session_fate::disconnected: return "disconnected";
    case session_fate::depends_on_policy: return "depends_on_policy";
    case session_fate::never_created: return "never_created";
  }
  return "invalid";
}

std::string_view to_string(error_info_range range) noexcept {
  switch (range) {
    case error_info_range::none: return "none";
    case error_info_range::session: return "session";
    case error_info_range::licensing: return "licensing";
    case error_info_range::broker: return "broker";
    case error_info_range::protocol: return "protocol";
    case error_info_range::unknown: return "unknown";
  }
  return "invalid";
}

std::span<const ntstatus_entry> ntstatus_table() noexcept { return ntstatus_rows; }

const ntstatus_entry* find_ntstatus(std::uint32_t code) noexcept { return find_by_code(ntstatus_table(), code); }

std::string describe_ntstatus(std::uint32_t code) {
  if (const auto* s = find_ntstatus(code)) {
    std::string out(s->name);
    out += " (";
    out += hex32(code);
    out += "): ";
    out += s->meaning;
    return out;
  }
  return "unknown NTSTATUS (" + hex32(code) + ")";
}

}  // namespace rdp::protocol
