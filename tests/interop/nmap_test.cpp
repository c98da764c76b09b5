// rdpprobe side by side with nmap's RDP scripts on the same real xrdp. nmap's portrule only fires on port 3389,
// so xrdp listens on 3389 of a loopback address of this test's own (127.0.0.3).
//
// Where nmap and the spec disagree, both are written down: nmap's rdp-enum-encryption prints "SUCCESS" for a
// security layer whenever the server sends any RDP_NEG_RSP (docs/wire-facts.md 2.2), even when the server selected
// another protocol than the one asked for. xrdp selects PROTOCOL_RDP for a CredSSP-only request, so nmap says
// "CredSSP (NLA): SUCCESS" while xrdp has no CredSSP at all; rdpprobe reports that as a downgrade.
#include "peers.hpp"
#include "rdp/probe/ntlm_info.hpp"
#include "rdp/probe/scanner.hpp"
#include "rdp/probe/standard_security.hpp"
#include "rdp/sim/profile.hpp"

#include "run_command.hpp"
#include "sim_thread.hpp"
#include "xrdp_server.hpp"

#include <gtest/gtest.h>

#include <map>
#include <regex>

namespace {

using namespace rdp;
using protocol::security_protocol;

// "|     CredSSP (NLA): SUCCESS" → {"CredSSP (NLA)": "SUCCESS"}
std::map<std::string, std::string> nmap_security_layers(const std::string& output) {
  std::map<std::string, std::string> out;
  static const std::regex line(R"(\|_?\s+(Native RDP|SSL|CredSSP \(NLA\)|RDSTLS|CredSSP with Early User Auth): (\S+))");
  for (std::sregex_iterator it(output.begin(), output.end(), line), end; it != end; ++it) out[(*it)[1]] = (*it)[2];
  return out;
}

const std::map<std::string, security_protocol> nmap_names = {
    {"Native RDP", security_protocol::rdp},      {"SSL", security_protocol::ssl},
    {"CredSSP (NLA)", security_protocol::hybrid}, {"RDSTLS", security_protocol::rdstls},
    {"CredSSP with Early User Auth", security_protocol::hybrid_ex}};

TEST(NmapSideBySide, EnumEncryptionSecurityLayersAgainstXrdp) {
  RDP_REQUIRE_PEER(test::missing_program("nmap"));
  RDP_REQUIRE_PEER(test::xrdp_server::unavailable_reason());
  test::xrdp_options options;
  options.address = "127.0.0.3";
  options.port = 3389;
  test::xrdp_server xrdp(options);

  const auto nmap = test::run_command("nmap -Pn -n -p 3389 --script rdp-enum-encryption 127.0.0.3");
  ASSERT_EQ(nmap.status, 0) << nmap.output;
  const auto layers = nmap_security_layers(nmap.output);
  ASSERT_EQ(layers.size(), 5u) << nmap.output;

  const auto report = probe::probe_all({{"xrdp", {"127.0.0.3", 3389}}}, probe::probe_options{}, 1).at(0);
  ASSERT_EQ(report.result, probe::verdict::rdp) << report.evidence;
  for (const auto& [name, result] : layers) {
    const auto& a = *std::find_if(report.protocols.begin(), report.protocols.end(),
                                  [&](const auto& x) { return x.requested == nmap_names.at(name); });
    // Same observation: nmap's SUCCESS is "an RDP_NEG_RSP came back".
    EXPECT_EQ(result == "SUCCESS", a.outcome == probe::attempt_outcome::selected) << name << ": " << a.detail;
    // Everything rdpprobe calls supported, nmap found too.
    if (a.supported) {
      EXPECT_EQ(result, "SUCCESS") << name;
    }
  }
  // Standard RDP Security: nmap's "RDP Encryption level: High" and "128-bit RC4: SUCCESS" (xrdp crypt_level=high).
  ASSERT_TRUE(report.standard_security);
  const auto& rdp_security = *report.standard_security;
  EXPECT_NE(nmap.output.find("RDP Encryption level: " + rdp_security.encryption_level_name), std::string::npos)
      << rdp_security.encryption_level_name << "\n" << nmap.output;
  for (const auto& m : rdp_security.methods) {
    const bool nmap_success = nmap.output.find(m.name + ": SUCCESS") != std::string::npos;
    EXPECT_EQ(nmap_success, m.accepted) << m.name << "\n" << nmap.output;
  }
  // Where nmap is wrong: it calls CredSSP a success; the server selected Standard RDP Security.
  EXPECT_EQ(layers.at("CredSSP (NLA)"), "SUCCESS");
  const auto& credssp = *std::find_if(report.protocols.begin(), report.protocols.end(),
                                      [](const auto& x) { return x.requested == security_protocol::hybrid; });
  EXPECT_FALSE(credssp.supported);
  EXPECT_EQ(credssp.selected, 0u);
}

}  // namespace

namespace {

// nmap's rdp-ntlm-info against rdpsim: a real scanner reads the simulator's CredSSP/NTLM CHALLENGE.
// "|   NetBIOS_Domain_Name: LAB" → {"NetBIOS_Domain_Name": "LAB"}
std::map<std::string, std::string> nmap_ntlm_fields(const std::string& output) {
  std::map<std::string, std::string> out;
  static const std::regex line(R"(\|_?\s+(\w+): (.+))");
  for (std::sregex_iterator it(output.begin(), output.end(), line), end; it != end; ++it) out[(*it)[1]] = (*it)[2];
  return out;
}

TEST(NmapSideBySide, NtlmInfoReadsTheSimulatorsIdentity) {
  RDP_REQUIRE_PEER(test::missing_program("nmap"));
  sim::server_config config;
  config.listen = {"127.0.0.4", 3389};
  config.policy = sim::parse_policy("tls,credssp");
  config.identity = net::make_self_signed(net::key_kind::rsa, "rdpsim.lab.example");
  config.ntlm.netbios_computer = "SIMHOST";
  config.ntlm.netbios_domain = "CORP";
  config.ntlm.dns_computer = "simhost.corp.example";
  config.ntlm.dns_domain = "corp.example";
  config.ntlm.dns_tree = "corp.example";
  config.ntlm.build = 17763;
  test::sim_thread sim(config, true);

  const auto nmap = test::run_command("nmap -Pn -n -p 3389 --script rdp-ntlm-info 127.0.0.4");
  ASSERT_EQ(nmap.status, 0) << nmap.output;
  auto fields = nmap_ntlm_fields(nmap.output);
  EXPECT_EQ(fields.count("Target_Name") ? fields.at("Target_Name") : "", "CORP") << nmap.output;
  EXPECT_EQ(fields.count("NetBIOS_Computer_Name") ? fields.at("NetBIOS_Computer_Name") : "", "SIMHOST") << nmap.output;
  EXPECT_EQ(fields.count("DNS_Computer_Name") ? fields.at("DNS_Computer_Name") : "", "simhost.corp.example");
  EXPECT_EQ(fields.count("DNS_Tree_Name") ? fields.at("DNS_Tree_Name") : "", "corp.example");
  EXPECT_EQ(fields.count("Product_Version") ? fields.at("Product_Version") : "", "10.0.17763");

  // rdpprobe finds the same, field by field.
  const auto report = probe::probe_all({{"sim", {"127.0.0.4", 3389}}}, probe::probe_options{}, 1).at(0);
  ASSERT_TRUE(report.ntlm_info);
  const auto& ntlm = *report.ntlm_info;
  EXPECT_TRUE(ntlm.error.empty()) << ntlm.error;
  EXPECT_EQ(ntlm.netbios_domain, fields["NetBIOS_Domain_Name"]);
  EXPECT_EQ(ntlm.netbios_computer, fields["NetBIOS_Computer_Name"]);
  EXPECT_EQ(ntlm.dns_domain, fields["DNS_Domain_Name"]);
  EXPECT_EQ(ntlm.dns_computer, fields["DNS_Computer_Name"]);
  EXPECT_EQ(ntlm.dns_tree, fields["DNS_Tree_Name"]);
  EXPECT_EQ(ntlm.product_version, fields["Product_Version"]);
  EXPECT_TRUE(ntlm.server_time.has_value());  // nmap prints System_Time from the same timestamp
  EXPECT_EQ(ntlm.credssp_version, 6);         // what nmap does not report
}

}  // namespace

namespace {

// nmap's rdp-enum-encryption against rdpsim started from a profile: nmap reports exactly the profile's protocols
// (a profile without `rdp` answers every other request with the RDP_NEG_FAILURE a Windows host sends, so there is
// no downgrade for nmap to misreport), and rdpprobe agrees layer by layer.
TEST(NmapSideBySide, EnumEncryptionReportsExactlyTheSimulatorProfilesProtocols) {
  RDP_REQUIRE_PEER(test::missing_program("nmap"));
  auto profile = sim::parse_profile("name: nmap-check\nlisten: 127.0.0.7:3389\nprotocols: [tls, credssp]\n"
                                    "tls: {generate: ecdsa}\n",
                                    "nmap-check.yaml");
  test::sim_thread sim(profile.server, true);

  const auto nmap = test::run_command("nmap -Pn -n -p 3389 --script rdp-enum-encryption 127.0.0.7");
  ASSERT_EQ(nmap.status, 0) << nmap.output;
  const auto layers = nmap_security_layers(nmap.output);
  // nmap lists only the layers that got an RDP_NEG_RSP; a refused one (RDP_NEG_FAILURE) is left out.
  const std::map<std::string, std::string> expected = {{"SSL", "SUCCESS"}, {"CredSSP (NLA)", "SUCCESS"}};
  EXPECT_EQ(layers, expected) << nmap.output;

  const auto report = probe::probe_all({{"sim", {"127.0.0.7", 3389}}}, probe::probe_options{}, 1).at(0);
  for (const auto& [name, protocol] : nmap_names) {
    const auto& a = *std::find_if(report.protocols.begin(), report.protocols.end(),
                                  [&](const auto& x) { return x.requested == protocol; });
    EXPECT_EQ(a.supported, layers.count(name) == 1) << name << ": " << a.detail;
  }
}

}  // namespace
