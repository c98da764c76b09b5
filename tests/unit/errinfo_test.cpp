#include "rdp/protocol/errinfo.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

namespace {

using namespace rdp::protocol;

// ---- table shape ----

TEST(ErrorInfoTable, SortedWithoutDuplicates) {
  const auto table = error_info_table();
  ASSERT_FALSE(table.empty());
  for (std::size_t i = 1; i < table.size(); ++i) {
    EXPECT_LT(table[i - 1].code, table[i].code) << table[i - 1].name << " / " << table[i].name;
  }
}

TEST(ErrorInfoTable, NamesAreUniqueAndSpelledErrinfo) {
  std::set<std::string_view> names;
  for (const auto& e : error_info_table()) {
    EXPECT_TRUE(e.name.starts_with("ERRINFO_")) << e.name;
    EXPECT_TRUE(e.freerdp_name.empty() || e.freerdp_name.starts_with("ERRINFO_")) << e.freerdp_name;
    EXPECT_NE(e.freerdp_name, e.name) << "freerdp_name is only set when it differs: " << e.name;
    EXPECT_FALSE(e.meaning.empty()) << e.name;
    EXPECT_EQ(e.meaning.find('\n'), std::string_view::npos) << e.name;
    EXPECT_TRUE(names.insert(e.name).second) << "duplicate name " << e.name;
  }
}

TEST(ErrorInfoTable, EveryEntryLiesInItsSpecRange) {
  for (const auto& e : error_info_table()) {
    const bool in_spec_range = e.code <= 0x1A || (e.code >= 0x100 && e.code <= 0x10A) ||
                               (e.code >= 0x400 && e.code <= 0x412) || (e.code >= 0x10C9 && e.code <= 0x1195);
    EXPECT_TRUE(in_spec_range) << e.name;
    EXPECT_NE(classify_error_info_range(e.code), error_info_range::unknown) << e.name;
  }
}

// Counts per range: FreeRDP error.h has 18 codes in 0x0-0x18 (counting ERRINFO_SUCCESS = 0), 11 licensing, 11 broker
// and 78 in 0x10C9-0x1195; the spec adds 0x19 and 0x1A.
TEST(ErrorInfoTable, CountsPerRange) {
  int session = 0, licensing = 0, broker = 0, protocol = 0;
  for (const auto& e : error_info_table()) {
    switch (classify_error_info_range(e.code)) {
      case error_info_range::none:
      case error_info_range::session: ++session; break;
      case error_info_range::licensing: ++licensing; break;
      case error_info_range::broker: ++broker; break;
      case error_info_range::protocol: ++protocol; break;
      case error_info_range::unknown: ADD_FAILURE() << e.name; break;
    }
  }
  EXPECT_EQ(session, 20);
  EXPECT_EQ(licensing, 11);
  EXPECT_EQ(broker, 11);
  EXPECT_EQ(protocol, 78);
}

// ---- spot checks against FreeRDP include/freerdp/error.h (snapshot 9626564421df, 2026-08-21), which uses its own
// spelling for some names; the spec spelling (MS-RDPBCGR 2.2.5.1.1) is what `name` holds ----

struct spot {
  std::uint32_t code;
  std::string_view spec_name;
  std::string_view freerdp_name;  // as #defined in error.h; empty = same as spec_name
};

constexpr spot freerdp_spot_checks[] = {
    {0x00000001, "ERRINFO_RPC_INITIATED_DISCONNECT", ""},
    {0x00000002, "ERRINFO_RPC_INITIATED_LOGOFF", ""},
    {0x00000003, "ERRINFO_IDLE_TIMEOUT", ""},
    {0x00000004, "ERRINFO_LOGON_TIMEOUT", ""},
    {0x00000005, "ERRINFO_DISCONNECTED_BY_OTHERCONNECTION", "ERRINFO_DISCONNECTED_BY_OTHER_CONNECTION"},
    {0x00000007, "ERRINFO_SERVER_DENIED_CONNECTION", ""},
    {0x00000009, "ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES", ""},
    {0x0000000A, "ERRINFO_SERVER_FRESH_CREDENTIALS_REQUIRED", ""},
    {0x0000000B, "ERRINFO_RPC_INITIATED_DISCONNECT_BYUSER", "ERRINFO_RPC_INITIATED_DISCONNECT_BY_USER"},
    {0x0000000C, "ERRINFO_LOGOFF_BY_USER", ""},
    {0x0000000F, "ERRINFO_CLOSE_STACK_ON_DRIVER_NOT_READY", ""},
    {0x00000010, "ERRINFO_SERVER_DWM_CRASH", ""},
    {0x00000017, "ERRINFO_SERVER_WINLOGON_CRASH", ""},
    {0x00000018, "ERRINFO_SERVER_CSRSS_CRASH", ""},
    {0x00000100, "ERRINFO_LICENSE_INTERNAL", ""},
    {0x00000102, "ERRINFO_LICENSE_NO_LICENSE", ""},
    {0x0000010A, "ERRINFO_LICENSE_NO_REMOTE_CONNECTIONS", ""},
    {0x00000400, "ERRINFO_CB_DESTINATION_NOT_FOUND", ""},
    {0x00000409, "ERRINFO_CB_CONNECTION_CANCELLED", ""},
    {0x00000410, "ERRINFO_CB_CONNECTION_ERROR_INVALID_SETTINGS", ""},
    {0x00000412, "ERRINFO_CB_SESSION_ONLINE_VM_SESSMON_FAILED", ""},
    {0x000010C9, "ERRINFO_UNKNOWNPDUTYPE2", "ERRINFO_UNKNOWN_DATA_PDU_TYPE"},
    {0x000010D3, "ERRINFO_CONNECTFAILED", "ERRINFO_CONNECT_FAILED"},
    {0x000010D4, "ERRINFO_CONFIRMACTIVEWRONGSHAREID", "ERRINFO_CONFIRM_ACTIVE_HAS_WRONG_SHAREID"},
    {0x000010D5, "ERRINFO_CONFIRMACTIVEWRONGORIGINATOR", "ERRINFO_CONFIRM_ACTIVE_HAS_WRONG_ORIGINATOR"},
    {0x000010E3, "ERRINFO_BADSUPRESSOUTPUTPDU", "ERRINFO_BAD_SUPPRESS_OUTPUT_PDU"},
    {0x000010F3, "ERRINFO_REMOTEAPPSNOTENABLED", "ERRINFO_REMOTEAPP_NOT_ENABLED"},
    {0x00001111, "ERRINFO_SECURITYDATATOOSHORT2", "ERRINFO_SECURITY_DATA_TOO_SHORT2"},
    {0x00001126, "ERRINFO_SECURITYDATATOOSHORT23", "ERRINFO_SECURITY_DATA_TOO_SHORT23"},
    {0x0000112C, "ERRINFO_BAD_FRAME_ACK_DATA", ""},
    {0x0000112F, "ERRINFO_GRAPHICSSUBSYSTEMFAILED", "ERRINFO_GRAPHICS_SUBSYSTEM_FAILED"},
    {0x00001136, "ERRINFO_INVALIDMONITORCOUNT", ""},
    {0x00001191, "ERRINFO_UPDATESESSIONKEYFAILED", "ERRINFO_UPDATE_SESSION_KEY_FAILED"},
    {0x00001194, "ERRINFO_ENCPKGMISMATCH", "ERRINFO_ENCRYPTION_PACKAGE_MISMATCH"},
    {0x00001195, "ERRINFO_DECRYPTFAILED2", "ERRINFO_DECRYPT_FAILED2"},
};

TEST(ErrorInfoTable, SpotChecksAgainstFreeRdpErrorH) {
  for (const auto& s : freerdp_spot_checks) {
    const auto* e = find_error_info(s.code);
    ASSERT_NE(e, nullptr) << s.spec_name;
    EXPECT_EQ(e->name, s.spec_name);
    EXPECT_EQ(e->freerdp_name, s.freerdp_name) << s.spec_name;
    EXPECT_EQ(find_error_info_by_name(s.spec_name), e) << s.spec_name;
    if (!s.freerdp_name.empty()) {
      EXPECT_EQ(find_error_info_by_name(s.freerdp_name), e) << s.freerdp_name;
    }
  }
}

// 0x19/0x1A: not in FreeRDP; IronRDP PR #1966 and public transcriptions of MS-RDPBCGR 2.2.5.1.1.
TEST(ErrorInfoTable, ShutdownAndReboot) {
  const auto* shutdown = find_error_info(errinfo::server_shutdown);
  ASSERT_NE(shutdown, nullptr);
  EXPECT_EQ(shutdown->code, 0x19u);
  EXPECT_EQ(shutdown->name, "ERRINFO_SERVER_SHUTDOWN");
  EXPECT_EQ(shutdown->fate, session_fate::deleted);
  const auto* reboot = find_error_info(errinfo::server_reboot);
  ASSERT_NE(reboot, nullptr);
  EXPECT_EQ(reboot->code, 0x1Au);
  EXPECT_EQ(reboot->name, "ERRINFO_SERVER_REBOOT");
  EXPECT_EQ(reboot->fate, session_fate::deleted);
}

TEST(ErrorInfoTable, NamedConstantsMatchTheTable) {
  const std::pair<std::uint32_t, std::string_view> constants[] = {
      {errinfo::none, "ERRINFO_NONE"},
      {errinfo::rpc_initiated_disconnect, "ERRINFO_RPC_INITIATED_DISCONNECT"},
      {errinfo::rpc_initiated_logoff, "ERRINFO_RPC_INITIATED_LOGOFF"},
      {errinfo::idle_timeout, "ERRINFO_IDLE_TIMEOUT"},
      {errinfo::logon_timeout, "ERRINFO_LOGON_TIMEOUT"},
      {errinfo::disconnected_by_other_connection, "ERRINFO_DISCONNECTED_BY_OTHERCONNECTION"},
      {errinfo::out_of_memory, "ERRINFO_OUT_OF_MEMORY"},
      {errinfo::server_denied_connection, "ERRINFO_SERVER_DENIED_CONNECTION"},
      {errinfo::server_insufficient_privileges, "ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES"},
      {errinfo::server_fresh_credentials_required, "ERRINFO_SERVER_FRESH_CREDENTIALS_REQUIRED"},
      {errinfo::rpc_initiated_disconnect_by_user, "ERRINFO_RPC_INITIATED_DISCONNECT_BYUSER"},
      {errinfo::logoff_by_user, "ERRINFO_LOGOFF_BY_USER"},
      {errinfo::license_no_remote_connections, "ERRINFO_LICENSE_NO_REMOTE_CONNECTIONS"},
      {errinfo::cb_connection_error_invalid_settings, "ERRINFO_CB_CONNECTION_ERROR_INVALID_SETTINGS"},
      {errinfo::unknown_pdu_type2, "ERRINFO_UNKNOWNPDUTYPE2"},
      {errinfo::graphics_subsystem_failed, "ERRINFO_GRAPHICSSUBSYSTEMFAILED"},
      {errinfo::decrypt_failed2, "ERRINFO_DECRYPTFAILED2"},
  };
  for (const auto& [code, name] : constants) {
    const auto* e = find_error_info(code);
    ASSERT_NE(e, nullptr) << name;
    EXPECT_EQ(e->name, name);
  }
}

// ---- lookups ----

TEST(ErrorInfoFind, UnknownCodesReturnNull) {
  // Gaps inside the ranges (0x8, 0xD, 0x13-0x16, 0x401, 0x10CC, 0x1196) and values outside every range.
  for (std::uint32_t code : {0x8u, 0xDu, 0xEu, 0x13u, 0x16u, 0x1Bu, 0xFFu, 0x10Bu, 0x401u, 0x403u, 0x40Au, 0x413u,
                             0x10C8u, 0x10CCu, 0x10F9u, 0x1137u, 0x1196u, 0x8000u, status_user_session_deleted,
                             0xFFFFFFFFu}) {
    EXPECT_EQ(find_error_info(code), nullptr) << std::hex << code;
  }
  EXPECT_EQ(find_error_info_by_name("ERRINFO_PEER_DISCONNECTED"), nullptr);
  EXPECT_EQ(find_error_info_by_name(""), nullptr);
  EXPECT_EQ(find_error_info_by_name("errinfo_idle_timeout"), nullptr);  // case-sensitive
}

TEST(ErrorInfoFind, EveryTableEntryIsFound) {
  for (const auto& e : error_info_table()) {
    EXPECT_EQ(find_error_info(e.code), &e) << e.name;
    EXPECT_EQ(find_error_info_by_name(e.name), &e) << e.name;
  }
}

// FreeRDP's names 0 "ERRINFO_SUCCESS"; the spec's "ERRINFO_NONE" resolves to 0, not to FreeRDP's 0xFFFFFFFF.
TEST(ErrorInfoFind, SuccessAndNoneBothMeanZero) {
  const auto* zero = find_error_info(0);
  ASSERT_NE(zero, nullptr);
  EXPECT_EQ(find_error_info_by_name("ERRINFO_NONE"), zero);
  EXPECT_EQ(find_error_info_by_name("ERRINFO_SUCCESS"), zero);
}

// ---- describe ----

TEST(ErrorInfoDescribe, KnownCodeFormat) {
  EXPECT_EQ(describe_error_info(errinfo::idle_timeout),
            "ERRINFO_IDLE_TIMEOUT (0x00000003): The idle session time limit on the server ran out.");
  const std::string s = describe_error_info(0x10D4);
  EXPECT_TRUE(s.starts_with("ERRINFO_CONFIRMACTIVEWRONGSHAREID (0x000010D4): ")) << s;
}

TEST(ErrorInfoDescribe, UnknownCodeNamesItsRange) {
  EXPECT_EQ(describe_error_info(0x1B), "unknown errorInfo (0x0000001B) in the session range");
  EXPECT_EQ(describe_error_info(0x10B), "unknown errorInfo (0x0000010B) in the licensing range");
  EXPECT_EQ(describe_error_info(0x401), "unknown errorInfo (0x00000401) in the broker range");
  EXPECT_EQ(describe_error_info(0x1196), "unknown errorInfo (0x00001196) in the protocol range");
  EXPECT_EQ(describe_error_info(0x250), "unknown errorInfo (0x00000250)");
  EXPECT_EQ(describe_error_info(0xABCDEF01), "unknown errorInfo (0xABCDEF01)");
}

TEST(ErrorInfoDescribe, NtstatusIsCalledOut) {
  EXPECT_EQ(describe_error_info(status_user_session_deleted),
            "unknown errorInfo (0xC0000203); that value is NTSTATUS STATUS_USER_SESSION_DELETED, never an errorInfo");
}

// ---- session fate ----

TEST(ErrorInfoFate, LogoffDeletesTheSession) {
  EXPECT_EQ(find_error_info(errinfo::logoff_by_user)->fate, session_fate::deleted);        // 0xC
  EXPECT_EQ(find_error_info(errinfo::rpc_initiated_logoff)->fate, session_fate::deleted);  // 0x2
}

TEST(ErrorInfoFate, DisconnectsKeepTheSession) {
  EXPECT_EQ(find_error_info(errinfo::rpc_initiated_disconnect)->fate, session_fate::disconnected);          // 0x1
  EXPECT_EQ(find_error_info(errinfo::rpc_initiated_disconnect_by_user)->fate, session_fate::disconnected);  // 0xB
  EXPECT_EQ(find_error_info(errinfo::disconnected_by_other_connection)->fate, session_fate::disconnected);  // 0x5
}

TEST(ErrorInfoFate, TimeLimitsAndRefusals) {
  EXPECT_EQ(find_error_info(errinfo::idle_timeout)->fate, session_fate::depends_on_policy);
  EXPECT_EQ(find_error_info(errinfo::logon_timeout)->fate, session_fate::depends_on_policy);
  EXPECT_EQ(find_error_info(errinfo::server_denied_connection)->fate, session_fate::never_created);
  EXPECT_EQ(find_error_info(errinfo::server_insufficient_privileges)->fate, session_fate::never_created);
  EXPECT_EQ(find_error_info(errinfo::none)->fate, session_fate::not_applicable);
}

TEST(ErrorInfoFate, LicensingBrokerAndProtocolAreNotAboutTheSession) {
  for (const auto& e : error_info_table()) {
    const auto range = classify_error_info_range(e.code);
    if (range == error_info_range::licensing || range == error_info_range::broker) {
      EXPECT_EQ(e.fate, session_fate::not_applicable) << e.name;
    }
    if (range == error_info_range::protocol && e.code != errinfo::graphics_subsystem_failed) {
      EXPECT_EQ(e.fate, session_fate::not_applicable) << e.name;
    }
  }
  EXPECT_EQ(find_error_info(errinfo::graphics_subsystem_failed)->fate, session_fate::disconnected);
}

TEST(ErrorInfoFate, DeletedSetIsExactlyTheDocumentedOne) {
  std::set<std::uint32_t> deleted;
  for (const auto& e : error_info_table()) {
    if (e.fate == session_fate::deleted) deleted.insert(e.code);
  }
  EXPECT_EQ(deleted, (std::set<std::uint32_t>{0x2, 0xC, 0x17, 0x18, 0x19, 0x1A}));
}

TEST(ErrorInfoFate, ToString) {
  EXPECT_EQ(to_string(session_fate::deleted), "deleted");
  EXPECT_EQ(to_string(session_fate::depends_on_policy), "depends_on_policy");
  EXPECT_EQ(to_string(error_info_range::broker), "broker");
}

// ---- ranges, at their boundaries ----

TEST(ErrorInfoRange, Boundaries) {
  EXPECT_EQ(classify_error_info_range(0x00000000), error_info_range::none);
  EXPECT_EQ(classify_error_info_range(0x00000001), error_info_range::session);
  EXPECT_EQ(classify_error_info_range(0x0000001A), error_info_range::session);
  EXPECT_EQ(classify_error_info_range(0x000000FF), error_info_range::session);
  EXPECT_EQ(classify_error_info_range(0x00000100), error_info_range::licensing);
  EXPECT_EQ(classify_error_info_range(0x0000010A), error_info_range::licensing);
  EXPECT_EQ(classify_error_info_range(0x000001FF), error_info_range::licensing);
  EXPECT_EQ(classify_error_info_range(0x00000200), error_info_range::unknown);
  EXPECT_EQ(classify_error_info_range(0x000003FF), error_info_range::unknown);
  EXPECT_EQ(classify_error_info_range(0x00000400), error_info_range::broker);
  EXPECT_EQ(classify_error_info_range(0x00000412), error_info_range::broker);
  EXPECT_EQ(classify_error_info_range(0x000004FF), error_info_range::broker);
  EXPECT_EQ(classify_error_info_range(0x00000500), error_info_range::unknown);
  EXPECT_EQ(classify_error_info_range(0x00000FFF), error_info_range::unknown);
  EXPECT_EQ(classify_error_info_range(0x00001000), error_info_range::protocol);
  EXPECT_EQ(classify_error_info_range(0x000010C9), error_info_range::protocol);
  EXPECT_EQ(classify_error_info_range(0x00001195), error_info_range::protocol);
  EXPECT_EQ(classify_error_info_range(0x00007FFF), error_info_range::protocol);
  EXPECT_EQ(classify_error_info_range(0x00008000), error_info_range::unknown);
  EXPECT_EQ(classify_error_info_range(status_user_session_deleted), error_info_range::unknown);
  EXPECT_EQ(classify_error_info_range(0xFFFFFFFF), error_info_range::unknown);
}

// ---- NTSTATUS, values checked against FreeRDP winpr/include/winpr/nt.h ----

TEST(NtstatusTable, SortedWithoutDuplicates) {
  const auto table = ntstatus_table();
  ASSERT_FALSE(table.empty());
  for (std::size_t i = 1; i < table.size(); ++i) {
    EXPECT_LT(table[i - 1].code, table[i].code) << table[i].name;
  }
  for (const auto& s : table) {
    EXPECT_TRUE(s.name.starts_with("STATUS_")) << s.name;
    EXPECT_EQ(find_ntstatus(s.code), &s) << s.name;
  }
}

TEST(NtstatusTable, Lookups) {
  const std::pair<std::uint32_t, std::string_view> expected[] = {
      {0xC0000203, "STATUS_USER_SESSION_DELETED"},  {0xC000035C, "STATUS_NETWORK_SESSION_EXPIRED"},
      {0xC000006D, "STATUS_LOGON_FAILURE"},         {0xC000006A, "STATUS_WRONG_PASSWORD"},
      {0xC0000072, "STATUS_ACCOUNT_DISABLED"},      {0xC0000234, "STATUS_ACCOUNT_LOCKED_OUT"},
      {0xC0000193, "STATUS_ACCOUNT_EXPIRED"},       {0xC0000071, "STATUS_PASSWORD_EXPIRED"},
      {0xC0000224, "STATUS_PASSWORD_MUST_CHANGE"},  {0xC0000022, "STATUS_ACCESS_DENIED"},
      {0xC000006E, "STATUS_ACCOUNT_RESTRICTION"},   {0xC000015B, "STATUS_LOGON_TYPE_NOT_GRANTED"},
      {0xC0000133, "STATUS_TIME_DIFFERENCE_AT_DC"},
  };
  for (const auto& [code, name] : expected) {
    const auto* s = find_ntstatus(code);
    ASSERT_NE(s, nullptr) << name;
    EXPECT_EQ(s->name, name);
  }
  EXPECT_EQ(find_ntstatus(status_user_session_deleted)->meaning, "The remote user session has been deleted.");
  EXPECT_EQ(ntstatus::user_session_deleted, 0xC0000203u);
  EXPECT_EQ(find_ntstatus(0xC0001234), nullptr);
  EXPECT_EQ(find_ntstatus(0x00000003), nullptr);
}

// One public source calls 0xC0000203 STATUS_TIME_DIFFERENCE_AT_DC; that name belongs to 0xC0000133.
TEST(NtstatusTable, TimeDifferenceIsNotSessionDeleted) {
  EXPECT_EQ(find_ntstatus(0xC0000203)->name, "STATUS_USER_SESSION_DELETED");
  EXPECT_EQ(find_ntstatus(0xC0000133)->name, "STATUS_TIME_DIFFERENCE_AT_DC");
}

TEST(NtstatusTable, Describe) {
  EXPECT_EQ(describe_ntstatus(0xC0000203),
            "STATUS_USER_SESSION_DELETED (0xC0000203): The remote user session has been deleted.");
  EXPECT_EQ(describe_ntstatus(0xC0001234), "unknown NTSTATUS (0xC0001234)");
}

}  // namespace
