// Text from the wire in rdpprobe's reports (issue 12, item 3): a certificate, NTLM names, a listener's banner,
// FreeRDP's errors, a process's name and command line can hold any bytes. JSON and JUnit XML must stay valid with
// the raw bytes kept as hex, the terminal must never receive a control byte, and a report that cannot be written
// is exit status 1.
#include "sim_thread.hpp"

#include "run_command.hpp"

#include "rdp/net/local_file.hpp"
#include "rdp/probe/junit.hpp"
#include "rdp/probe/local_listeners.hpp"
#include "rdp/probe/login_check.hpp"
#include "rdp/probe/ntlm_info.hpp"
#include "rdp/probe/report.hpp"
#include "rdp/probe/standard_security.hpp"
#include "rdp/probe/wire_json.hpp"
#include "rdp/protocol/text.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

namespace {

using namespace rdp;
using rdp::test::run_command;

// The SAN of the issue: an invalid UTF-8 byte, then an OSC sequence that retitles a terminal window, ended by BEL.
const std::string hostile_san = "a\xff\x1b]0;pwn\a";
// Hostile in every way a string can be: not UTF-8, C0 and C1 controls (CSI as U+009B), a fake line, a backslash.
const std::string hostile = "x\xff\xc0\x80\x1b[2J\xc2\x9b" "31m\r\nFAKE LINE\t\\\x07\x7f";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Nothing a terminal would act on: valid UTF-8, and no C0 control but LF, no DEL, no C1 control.
::testing::AssertionResult terminal_safe(const std::string& text) {
  if (!protocol::is_valid_utf8(text)) return ::testing::AssertionFailure() << "not UTF-8: " << protocol::to_hex(text);
  std::size_t line = 1;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const bool c1 = c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(text[i + 1]) <= 0x9F;
    if (c == '\n') ++line;
    else if (c < 0x20 || c == 0x7F || c1)
      return ::testing::AssertionFailure() << "control byte 0x" << std::hex << int(c) << " on line " << std::dec << line
                                           << ": " << protocol::escape_for_terminal(text);
  }
  return ::testing::AssertionSuccess();
}

// Well-formed XML 1.0 in UTF-8 (xmllint when installed; the characters XML allows in any case).
::testing::AssertionResult valid_xml(const std::string& path) {
  const auto xml = slurp(path);
  if (xml.empty()) return ::testing::AssertionFailure() << path << " is empty or missing";
  if (!protocol::is_valid_utf8(xml)) return ::testing::AssertionFailure() << "not UTF-8";
  for (char ch : xml)
    if (const auto c = static_cast<unsigned char>(ch); c < 0x20 && c != '\t' && c != '\n' && c != '\r') return ::testing::AssertionFailure() << "control " << int(c);
  if (xml.find("</testsuite>") == std::string::npos) return ::testing::AssertionFailure() << "cut short: " << xml;
  if (test::have_program("xmllint")) {
    auto r = run_command("xmllint --noout " + path);
    if (r.status != 0) return ::testing::AssertionFailure() << "xmllint: " << r.output;
  }
  return ::testing::AssertionSuccess();
}

sim::server_config hostile_certificate_sim() {
  sim::server_config c;
  c.policy = sim::parse_policy("rdp,tls");
  c.identity = net::make_self_signed(net::key_kind::rsa, "wire-test", 30, {hostile_san});
  return c;
}

TEST(ProbeWireText, HostileCertificateNameKeepsTheJsonValidWithTheRawBytesAsHex) {
  test::sim_thread sim(hostile_certificate_sim());
  const std::string target = "127.0.0.1:" + std::to_string(sim.port());
  auto r = run_command(std::string(RDPPROBE_BIN) + " scan --json --protocols rdp,tls " + target + " 2>/dev/null");
  EXPECT_EQ(r.status, 0) << r.output;
  ASSERT_FALSE(r.output.empty());
  const auto j = nlohmann::json::parse(r.output);  // throws on invalid UTF-8
  const auto& leaf = j.at("tls").at("certificate");
  ASSERT_EQ(leaf.at("subject_alt_names").size(), 2u) << leaf.dump();
  EXPECT_EQ(leaf.at("subject_alt_names").at(0), "DNS:wire-test");
  EXPECT_EQ(leaf.at("subject_alt_names").at(1), "DNS:a\xEF\xBF\xBD\x1b]0;pwn\a");  // 0xFF as U+FFFD
  ASSERT_TRUE(leaf.contains("subject_alt_names_hex")) << leaf.dump();
  EXPECT_TRUE(leaf.at("subject_alt_names_hex").at(0).is_null());
  EXPECT_EQ(leaf.at("subject_alt_names_hex").at(1), protocol::to_hex("DNS:" + hostile_san));
  // Every certificate of the chain, the same way.
  EXPECT_EQ(j.at("tls").at("chain").at(0).at("subject_alt_names_hex").at(1), protocol::to_hex("DNS:" + hostile_san));
}

TEST(ProbeWireText, HostileCertificateNameKeepsTheJunitFileValidXml) {
  test::sim_thread sim(hostile_certificate_sim());
  const std::string junit = testing::TempDir() + "/rdpprobe-hostile.xml";
  std::remove(junit.c_str());
  auto r = run_command(std::string(RDPPROBE_BIN) + " scan --protocols rdp,tls --junit " + junit +
                       " 127.0.0.1:" + std::to_string(sim.port()) + " >/dev/null");
  EXPECT_EQ(r.status, 0) << r.output;  // not 134 (an uncaught nlohmann type_error)
  EXPECT_TRUE(valid_xml(junit));
  EXPECT_NE(slurp(junit).find(protocol::to_hex("DNS:" + hostile_san)), std::string::npos);
}

TEST(ProbeWireText, HostileCertificateNameReachesTheTerminalEscaped) {
  test::sim_thread sim(hostile_certificate_sim());
  auto r = run_command(std::string(RDPPROBE_BIN) + " scan --protocols rdp,tls 127.0.0.1:" + std::to_string(sim.port()));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(terminal_safe(r.output));
  EXPECT_NE(r.output.find("DNS:a\\xff\\x1b]0;pwn\\x07"), std::string::npos) << r.output;
}

TEST(ProbeWireText, AReportThatCannotBeWrittenIsExitStatusOne) {
  test::sim_thread sim(hostile_certificate_sim());
  const std::string target = " 127.0.0.1:" + std::to_string(sim.port());
  for (const char* format : {" --json", ""}) {
    // In a subshell, so that run_command's 2>&1 keeps stderr apart from the full stdout.
    auto r = run_command("(" + std::string(RDPPROBE_BIN) + " scan --protocols tls" + format + target + " >/dev/full)");
    EXPECT_EQ(r.status, 1) << format << ": " << r.output;
    EXPECT_NE(r.output.find("standard output"), std::string::npos) << r.output;
  }
  auto local = run_command("(" + std::string(RDPPROBE_BIN) + " local --json --port " + std::to_string(sim.port()) +
                           " >/dev/full)");
  EXPECT_EQ(local.status, 1) << local.output;
}

// Every string a target report holds, hostile: whatever came off the wire cannot break a rendering.
probe::target_report hostile_report() {
  probe::target_report r;
  r.target = "host" + hostile;
  r.address = "10.0.0.1:3389";
  r.result = probe::verdict::not_rdp;
  r.evidence = "rdp attempt: " + hostile;
  probe::protocol_attempt a;
  a.outcome = probe::attempt_outcome::not_rdp;
  a.detail = hostile;
  a.tls_attempted = true;
  a.tls_error = hostile;
  r.protocols.push_back(a);
  a.requested_bits = 0x0B;
  a.combination = true;
  r.combinations.push_back(a);
  net::tls_facts tls;
  tls.version = hostile;
  tls.cipher = hostile;
  tls.group = hostile;
  net::certificate_facts c;
  c.subject = c.issuer = c.not_before = c.not_after = c.key_type = c.signature_algorithm = hostile;
  c.subject_alt_names = {"DNS:ok", "DNS:" + hostile};
  tls.certificate = c;
  tls.chain = {c, c};
  tls.verification = net::verification_result{false, hostile, hostile, {hostile, "CN=ok"}};
  tls.trust_store = hostile;
  r.tls = tls;
  r.listener = protocol::classification{protocol::listener_kind::http, hostile};
  probe::session_result s;
  s.over = "tls";
  s.outcome = probe::session_outcome::set_error_info;
  s.detail = s.error_info_name = s.error_info_meaning = s.error_info_session_fate = s.disconnect_reason_name = hostile;
  r.session = s;
  auto n = std::make_shared<probe::ntlm_info_result>();
  n->attempted = true;
  n->netbios_computer = n->netbios_domain = n->dns_computer = n->dns_domain = n->dns_tree = hostile;
  n->product_version = hostile;
  r.ntlm_info = n;
  auto ss = std::make_shared<probe::standard_security_result>();
  ss->encryption_level_name = ss->rdp_version_name = hostile;
  ss->methods.push_back({});
  ss->methods.back().name = ss->methods.back().detail = hostile;
  r.standard_security = ss;
  auto login = std::make_shared<probe::login_check_result>();
  login->user = login->domain = login->evidence = hostile;
  login->logon.furthest_state = login->logon.last_error_name = login->logon.last_error_text = hostile;
  login->logon.last_error = 1;
  login->logon.freerdp_errors = {hostile};
  r.login = login;
  r.login_skipped = hostile;
  return r;
}

TEST(ProbeWireText, EveryStringOfAReportRendersSafely) {
  const auto r = hostile_report();
  std::string dumped;
  ASSERT_NO_THROW(dumped = probe::to_json(r).dump());
  const auto j = nlohmann::json::parse(dumped);
  EXPECT_EQ(j.at("evidence_hex"), protocol::to_hex(r.evidence));
  EXPECT_EQ(j.at("ntlm_info").at("dns_computer_hex"), protocol::to_hex(hostile));
  EXPECT_EQ(j.at("listener").at("detail_hex"), protocol::to_hex(hostile));
  EXPECT_EQ(j.at("login").at("logon").at("freerdp_errors_hex").at(0), protocol::to_hex(hostile));
  EXPECT_EQ(j.at("tls").at("verification").at("built_chain_hex").at(0), protocol::to_hex(hostile));
  // Idempotent: made safe twice, nothing changes (the hex is of the raw bytes, not of the text made from them).
  auto twice = probe::to_json(r);
  probe::make_wire_safe(twice);
  EXPECT_EQ(twice.dump(), dumped);

  std::ostringstream human;
  probe::print_human(human, r);
  EXPECT_TRUE(terminal_safe(human.str()));
  EXPECT_EQ(human.str().find("FAKE LINE"), human.str().find("\\r\\nFAKE LINE") + 4) << human.str();
  std::ostringstream row;
  const probe::summary_table table({r.target}, {protocol::security_protocol::rdp}, {0x0B});
  table.print_row(row, r);
  EXPECT_TRUE(terminal_safe(row.str()));

  const std::string junit = testing::TempDir() + "/rdpprobe-hostile-report.xml";
  std::string why;
  ASSERT_TRUE(net::write_report_file(junit, probe::to_junit({r.target}, {r}), why)) << why;
  EXPECT_TRUE(valid_xml(junit));
}

TEST(ProbeWireText, ProcessNamesAndCommandLinesRenderSafely) {
  probe::local_report report;
  report.port = 3389;
  probe::local_listener l;
  l.socket = {"127.0.0.1", false, 3389, probe::tcp_state_listen, 1000, 42};
  l.user = "alice";
  const char cmdline[] = "evil\0--flag\x1b[2J\xff\0";  // arguments as /proc/<pid>/cmdline holds them
  l.owners.push_back({4242, "evil\x1b]0;x\a\xff", probe::cmdline_from_proc(std::string(cmdline, sizeof cmdline - 1))});
  l.result = probe::verdict::not_rdp;
  l.probed = "127.0.0.1:3389";
  l.evidence = hostile;
  report.listeners.push_back(l);
  report.probed = true;
  probe::evaluate_local_report(report);  // a finding that quotes the process name
  ASSERT_FALSE(report.findings.empty());

  std::string dumped;
  ASSERT_NO_THROW(dumped = probe::to_json(report).dump());
  const auto j = nlohmann::json::parse(dumped);
  const auto& owner = j.at("listeners").at(0).at("owners").at(0);
  EXPECT_EQ(owner.at("comm_hex"), protocol::to_hex(l.owners[0].comm));
  EXPECT_EQ(owner.at("cmdline_hex"), protocol::to_hex("evil --flag\x1b[2J\xff"));
  EXPECT_TRUE(j.at("findings_hex").at(0).is_string());

  std::ostringstream human;
  probe::print_human(human, report);
  EXPECT_TRUE(terminal_safe(human.str()));
  EXPECT_NE(human.str().find("evil\\x1b]0;x\\x07\\xff"), std::string::npos) << human.str();
}

}  // namespace
