// The NTSTATUS of a refused CredSSP logon from what FreeRDP 2.11 reported (login_ntstatus.hpp): the ten codes
// nla_recv_pdu maps to their own last error, any other from its "SPNEGO failed with NTSTATUS" line; and how the
// login report shows it (login.ntstatus, the ntstatus line). The log lines are FreeRDP 2.11.7's (Debian
// 2.11.7+dfsg1-6~deb12u1), captured by the login module from a scripted TLS peer that answered the first TSRequest
// with each errorCode (docs/freerdp.md 1.7).
#include "rdp/probe/login_check.hpp"
#include "rdp/probe/login_ntstatus.hpp"
#include "rdp/protocol/errinfo.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using rdp::probe::ntstatus_from_freerdp;
namespace st = rdp::protocol::ntstatus;

using lines = std::vector<std::string>;

// What the login module kept for a wrong password against rdpsim (STATUS_LOGON_FAILURE, mapped: no SPNEGO line).
const lines logon_failure_log = {
    "nla_recv_pdu:freerdp_set_last_error_ex ERRCONNECT_LOGON_FAILURE [0x00020014]",
    "rdp_recv_callback: CONNECTION_STATE_NLA - nla_recv_pdu() fail",
    "transport_check_fds: transport->ReceiveCallback() - -1",
};
// An unmapped code (STATUS_NOT_SUPPORTED): the name WinPR knows, then the value.
const lines not_supported_log = {
    "SPNEGO failed with NTSTATUS: STATUS_NOT_SUPPORTED [0xC00000BB]",
    "nla_recv_pdu:freerdp_set_last_error_ex ERRCONNECT_AUTHENTICATION_FAILED [0x00020009]",
    "rdp_recv_callback: CONNECTION_STATE_NLA - nla_recv_pdu() fail",
    "transport_check_fds: transport->ReceiveCallback() - -1",
};
constexpr std::uint32_t authentication_failed = 0x00020009;  // FREERDP_ERROR_AUTHENTICATION_FAILED

TEST(LoginNtstatus, TheTenMappedLastErrorsGiveTheirNtstatus) {
  // (ERRCONNECT_* from /usr/include/freerdp2/freerdp/error.h, class 2; NTSTATUS from winpr/include/winpr/nt.h)
  const std::pair<std::uint32_t, std::uint32_t> expected[] = {
      {0x00020013, st::password_must_change}, {0x0002000E, st::password_expired},
      {0x00020012, st::account_disabled},     {0x00020014, st::logon_failure},
      {0x00020015, st::wrong_password},       {0x00020016, st::access_denied},
      {0x00020017, st::account_restriction},  {0x00020018, st::account_locked_out},
      {0x00020019, st::account_expired},      {0x0002001A, st::logon_type_not_granted},
  };
  for (const auto& [last_error, status] : expected)
    EXPECT_EQ(ntstatus_from_freerdp(last_error, {}), status) << std::hex << last_error;
  EXPECT_EQ(ntstatus_from_freerdp(0x00020014, logon_failure_log), st::logon_failure);
  ASSERT_EQ(rdp::probe::freerdp_ntstatus_mappings().size(), 10u);
  std::set<std::uint32_t> statuses, errors;
  for (const auto& m : rdp::probe::freerdp_ntstatus_mappings()) {
    statuses.insert(m.ntstatus);
    errors.insert(m.last_error);
    EXPECT_NE(rdp::protocol::find_ntstatus(m.ntstatus), nullptr) << "no name for " << std::hex << m.ntstatus;
  }
  EXPECT_EQ(statuses.size(), 10u);
  EXPECT_EQ(errors.size(), 10u);
}

TEST(LoginNtstatus, AnUnmappedCodeComesFromTheSpnegoLine) {
  EXPECT_EQ(ntstatus_from_freerdp(authentication_failed, not_supported_log), st::not_supported);
  // A code WinPR has no name for ("(nil)"), and STATUS_USER_SESSION_DELETED: both captured the same way.
  EXPECT_EQ(ntstatus_from_freerdp(authentication_failed, lines{"SPNEGO failed with NTSTATUS: (nil) [0xC0DE0001]"}),
            0xC0DE0001u);
  EXPECT_EQ(ntstatus_from_freerdp(authentication_failed,
                                  lines{"SPNEGO failed with NTSTATUS: STATUS_USER_SESSION_DELETED [0xC0000203]"}),
            st::user_session_deleted);
  // Upstream 2.11's format string has no name ("0x%08X"); lower-case digits are read too.
  EXPECT_EQ(ntstatus_from_freerdp(authentication_failed, lines{"SPNEGO failed with NTSTATUS: 0xC00000BB"}),
            st::not_supported);
  EXPECT_EQ(ntstatus_from_freerdp(authentication_failed, lines{"SPNEGO failed with NTSTATUS: 0xc00000bb"}),
            st::not_supported);
}

TEST(LoginNtstatus, TheLineWinsOverTheLastError) {
  // The line is the server's own code; a last error set after it says nothing more about the server.
  EXPECT_EQ(ntstatus_from_freerdp(0x00020014, not_supported_log), st::not_supported);
}

TEST(LoginNtstatus, NothingWithoutAnErrorCode) {
  EXPECT_EQ(ntstatus_from_freerdp(0, {}), std::nullopt);
  EXPECT_EQ(ntstatus_from_freerdp(authentication_failed, {}), std::nullopt)
      << "AUTHENTICATION_FAILED alone: FreeRDP failed the exchange itself, or WLog was the user's";
  EXPECT_EQ(ntstatus_from_freerdp(0x0002000D, lines{"transport_check_fds: transport->ReceiveCallback() - -1"}),
            std::nullopt);                                            // CONNECT_TRANSPORT_FAILED: a network failure
  EXPECT_EQ(ntstatus_from_freerdp(0x00010009, {}), std::nullopt);  // an errorInfo, not an NTSTATUS
  EXPECT_EQ(ntstatus_from_freerdp(0x0002000F, {}), std::nullopt);  // PASSWORD_CERTAINLY_EXPIRED: not from nla_recv_pdu
}

TEST(LoginNtstatus, MalformedSpnegoLinesAreIgnored) {
  for (const std::string bad : {"SPNEGO failed with NTSTATUS: ", "SPNEGO failed with NTSTATUS: 0xC00000",
                                "SPNEGO failed with NTSTATUS: 0xC00000BBB", "SPNEGO failed with NTSTATUS: 0xC00000BG",
                                "SPNEGO failed with NTSTATUS: [C00000BB]", "NTSTATUS: 0xC00000BB"})
    EXPECT_EQ(ntstatus_from_freerdp(authentication_failed, lines{bad}), std::nullopt) << bad;
  // A bad "0x" first, a good one after it: the good one.
  EXPECT_EQ(ntstatus_from_freerdp(authentication_failed, lines{"SPNEGO failed with NTSTATUS: 0xZZ [0xC000006D]"}),
            st::logon_failure);
}

rdp::probe::login_check_result refused_logon(std::uint32_t last_error, std::string name, lines log) {
  rdp::probe::login_check_result r;
  r.user = "alice";
  r.domain = "LAB";
  r.security = rdp::probe::login_security::any;
  r.logon.furthest_state = "CONNECTION_STATE_NLA";
  r.logon.furthest_state_exact = true;
  r.logon.last_error = last_error;
  r.logon.last_error_name = std::move(name);
  r.logon.freerdp_errors = std::move(log);
  r.logon.ntstatus = ntstatus_from_freerdp(r.logon.last_error, r.logon.freerdp_errors);
  return r;
}

TEST(LoginNtstatusReport, JsonCarriesTheNtstatusAsANumberWithItsName) {
  const auto j = rdp::probe::to_json(refused_logon(0x00020014, "ERRCONNECT_LOGON_FAILURE", logon_failure_log));
  EXPECT_EQ(j.at("ntstatus"), 3221225581u);  // 0xC000006D
  EXPECT_EQ(j.at("ntstatus_name"), "STATUS_LOGON_FAILURE");
  EXPECT_EQ(j.at("logon").at("ntstatus"), 3221225581u);
  EXPECT_EQ(j.at("logon").at("ntstatus_name"), "STATUS_LOGON_FAILURE");
  const auto none = rdp::probe::to_json(refused_logon(0x0002000D, "ERRCONNECT_CONNECT_TRANSPORT_FAILED", {}));
  EXPECT_TRUE(none.at("ntstatus").is_null());
  EXPECT_TRUE(none.at("ntstatus_name").is_null());
  const auto unnamed = rdp::probe::to_json(
      refused_logon(authentication_failed, "ERRCONNECT_AUTHENTICATION_FAILED",
                    lines{"SPNEGO failed with NTSTATUS: (nil) [0xC0DE0001]"}));
  EXPECT_EQ(unnamed.at("ntstatus"), 0xC0DE0001u);
  EXPECT_TRUE(unnamed.at("ntstatus_name").is_null()) << "no name is made up";
}

TEST(LoginNtstatusReport, TheTextReportSaysTheCredentialsWereRefused) {
  std::ostringstream out;
  rdp::probe::print_human(out, refused_logon(0x00020014, "ERRCONNECT_LOGON_FAILURE", logon_failure_log));
  const auto text = out.str();
  EXPECT_NE(text.find("was refused by the server: the credentials were refused with NTSTATUS STATUS_LOGON_FAILURE (0xC000006D)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  ntstatus    STATUS_LOGON_FAILURE (0xC000006D): "), std::string::npos) << text;
  EXPECT_EQ(text.find("timed out"), std::string::npos) << text;
  std::ostringstream other;
  rdp::probe::print_human(other, refused_logon(authentication_failed, "ERRCONNECT_AUTHENTICATION_FAILED",
                                               not_supported_log));
  EXPECT_NE(other.str().find("was refused by the server: CredSSP ended with NTSTATUS STATUS_NOT_SUPPORTED"),
            std::string::npos)
      << other.str();
  std::ostringstream network;
  rdp::probe::print_human(network, refused_logon(0x0002000D, "ERRCONNECT_CONNECT_TRANSPORT_FAILED", {}));
  EXPECT_EQ(network.str().find("ntstatus"), std::string::npos) << network.str();
  EXPECT_EQ(network.str().find("refused"), std::string::npos) << network.str();
}

}  // namespace
