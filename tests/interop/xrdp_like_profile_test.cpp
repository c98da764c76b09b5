// The shipped profiles against what they name, through nmap's rdp-enum-encryption and rdpprobe's JSON:
//  - xrdp-like.yaml side by side with a real xrdp 0.9.21 started with Debian's xrdp.ini security settings
//    (security_layer=negotiate, crypt_level=high) as tests/support/xrdp_server.hpp starts it: nmap's script output
//    is the same line for line, and so is rdpprobe's report except the certificate and the timings;
//  - windows-server-2022-tls.yaml: "RDP Encryption level: Client Compatible" and every RC4 method and FIPS a
//    SUCCESS, as nmap prints for a Windows host at that level, and rdpprobe agrees method by method.
// nmap's portrule only fires on port 3389, so each server listens on 3389 of a loopback address of this file's own
// (127.0.0.21 to 127.0.0.25: each test its own, so that ctest -j can run them side by side).
#include "peers.hpp"

#include "rdp/sim/profile.hpp"

#include "run_command.hpp"
#include "sim_thread.hpp"
#include "xrdp_server.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <iostream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace rdp;
using nlohmann::json;

// The script's own lines ("| rdp-enum-encryption:", "|   RDP Encryption level: High", …): the host, latency and
// timing lines around them are not the server's answer. rdp-enum-encryption prints no certificate; a line that
// names one or a time would be dropped all the same.
std::vector<std::string> script_lines(const std::string& output) {
  static const std::regex volatile_line(R"((certificate|latency|seconds|\d+\.\d+ms))", std::regex::icase);
  std::vector<std::string> out;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind('|', 0) != 0 || std::regex_search(line, volatile_line)) continue;
    out.push_back(line);
  }
  return out;
}

test::command_result nmap_enum_encryption(const std::string& address) {
  return test::run_command("nmap -Pn -n -p 3389 --script rdp-enum-encryption " + address);
}

// rdpprobe's report of one target as its JSON line says it.
json rdpprobe_json(const std::string& address) {
  const auto r = test::run_command("(" + std::string(RDPPROBE_BIN) + " scan --json " + address + " 2>/dev/null)");
  EXPECT_EQ(r.status, 0) << r.output;
  return json::parse(r.output.substr(0, r.output.find('\n')), nullptr, false);
}

// What may differ between two hosts that answer alike: where they are, how fast, and their TLS certificates.
void drop_host_specific(json& j) {
  j.erase("address");
  j.erase("target");
  j.erase("tls");  // the certificate: xrdp's is the fixture's, rdpsim's its own
  j.erase("timing_stats_ms");
  // Each connection's tally names the address it met, which differs by design (each server has its own).
  if (j.contains("listener_spread") && j["listener_spread"].contains("met"))
    for (auto& met : j["listener_spread"]["met"]) met.erase("addresses");
  const std::function<void(json&)> drop_timings = [&](json& node) {
    if (!node.is_object() && !node.is_array()) return;
    if (node.is_object()) node.erase("timings_ms");
    for (auto& child : node) drop_timings(child);
  };
  drop_timings(j);
}

sim::profile shipped_profile(const std::string& name, const std::string& address) {
  auto p = sim::load_profile(std::string(RDP_SOURCE_DIR) + "/sim/profiles/" + name);
  p.server.listen = {address, 3389};
  return p;
}

TEST(XrdpLikeProfile, NmapEnumEncryptionPrintsWhatXrdpPrints) {
  RDP_REQUIRE_PEER(test::missing_program("nmap"));
  RDP_REQUIRE_PEER(test::xrdp_server::unavailable_reason());
  test::xrdp_options options;  // security_layer=negotiate, crypt_level=high: Debian's xrdp.ini
  options.address = "127.0.0.21";
  options.port = 3389;
  test::xrdp_server xrdp(options);
  test::sim_thread sim(shipped_profile("xrdp-like.yaml", "127.0.0.22").server, true);

  const auto real = nmap_enum_encryption("127.0.0.21");
  const auto simulated = nmap_enum_encryption("127.0.0.22");
  ASSERT_EQ(real.status, 0) << real.output;
  ASSERT_EQ(simulated.status, 0) << simulated.output;
  const auto real_lines = script_lines(real.output);
  ASSERT_GE(real_lines.size(), 8u) << real.output << "\n" << xrdp.log_tail();
  EXPECT_EQ(script_lines(simulated.output), real_lines) << "xrdp:\n" << real.output << "\nrdpsim:\n" << simulated.output;
  // What they agree on (nmap 7.93 against xrdp 0.9.21.1): level High, only the 128-bit offer answered with 128-bit.
  EXPECT_NE(real.output.find("RDP Encryption level: High"), std::string::npos) << real.output;
  EXPECT_NE(real.output.find("128-bit RC4: SUCCESS"), std::string::npos) << real.output;
  EXPECT_EQ(real.output.find("40-bit RC4: SUCCESS"), std::string::npos) << real.output;
  std::cout << "[ nmap, xrdp and rdpsim xrdp-like ]\n" << simulated.output;
}

TEST(XrdpLikeProfile, RdpprobeReportsWhatItReportsOfXrdp) {
  RDP_REQUIRE_PEER(test::xrdp_server::unavailable_reason());
  test::xrdp_options options;
  options.address = "127.0.0.24";
  options.port = 3389;
  test::xrdp_server xrdp(options);
  test::sim_thread sim(shipped_profile("xrdp-like.yaml", "127.0.0.25").server, true);

  auto real = rdpprobe_json("127.0.0.24");
  auto simulated = rdpprobe_json("127.0.0.25");
  ASSERT_TRUE(real.is_object()) << xrdp.log_tail();
  ASSERT_TRUE(simulated.is_object());
  // The Standard RDP Security facts, field by field (level, chosen method, each single offer and what was chosen
  // instead, RDP version, certificate present).
  auto real_security = real["standard_security"], simulated_security = simulated["standard_security"];
  real_security.erase("timings_ms");
  simulated_security.erase("timings_ms");
  EXPECT_EQ(simulated_security, real_security) << "xrdp: " << real_security.dump(1)
                                                << "\nrdpsim: " << simulated_security.dump(1);
  EXPECT_EQ(real_security["encryption_level_name"], "High");
  EXPECT_EQ(real_security["selected_method_name"], "128-bit RC4");
  EXPECT_EQ(real_security["server_certificate_present"], true);

  // The whole report but the certificate and timings — the RDSAAD request included, which xrdp 0.9.21 answers with an
  // MCS Disconnect Provider Ultimatum instead of a Connection Confirm (the profile's disconnect_above_protocols).
  drop_host_specific(real);
  drop_host_specific(simulated);
  EXPECT_EQ(simulated, real) << "xrdp: " << real.dump(1) << "\nrdpsim: " << simulated.dump(1);
}

TEST(WindowsTlsProfile, NmapSaysClientCompatibleWithEveryMethod) {
  RDP_REQUIRE_PEER(test::missing_program("nmap"));
  test::sim_thread sim(shipped_profile("windows-server-2022-tls.yaml", "127.0.0.23").server, true);
  const auto nmap = nmap_enum_encryption("127.0.0.23");
  ASSERT_EQ(nmap.status, 0) << nmap.output;
  EXPECT_NE(nmap.output.find("RDP Encryption level: Client Compatible"), std::string::npos) << nmap.output;
  for (const char* method : {"40-bit RC4", "56-bit RC4", "128-bit RC4", "FIPS 140-1"})
    EXPECT_NE(nmap.output.find(std::string(method) + ": SUCCESS"), std::string::npos) << method << "\n" << nmap.output;
  EXPECT_NE(nmap.output.find("SSL: SUCCESS"), std::string::npos) << nmap.output;
  std::cout << "[ nmap, rdpsim windows-server-2022-tls ]\n" << nmap.output;

  // rdpprobe agrees: the same level, every single offer answered with itself, 128-bit when all are offered.
  const auto report = rdpprobe_json("127.0.0.23");
  ASSERT_TRUE(report.is_object());
  const auto& security = report["standard_security"];
  EXPECT_EQ(security["encryption_level"], 2) << security.dump(1);
  EXPECT_EQ(security["encryption_level_name"], "Client Compatible");
  EXPECT_EQ(security["selected_method_name"], "128-bit RC4");
  EXPECT_EQ(security["server_certificate_present"], true);
  ASSERT_EQ(security["methods"].size(), 4u) << security.dump(1);
  for (const auto& m : security["methods"]) {
    EXPECT_EQ(m["accepted"], true) << m.dump();
    const bool nmap_success =
        nmap.output.find(m["name"].get<std::string>() + ": SUCCESS") != std::string::npos;
    EXPECT_TRUE(nmap_success) << m.dump();
  }
  EXPECT_EQ(report["protocols"]["tls"]["selected"], "tls");
  EXPECT_EQ(report["protocols"]["rdp"]["selected"], "rdp");
}

}  // namespace
