// Target expansion as users type targets: single hosts, ports, IPv6, CIDR ranges, @FILE — and the errors.
#include "rdp/net/endpoint.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace {

using rdp::net::expand_targets;

std::vector<std::string> texts(const std::vector<std::string>& in, std::size_t limit = 65536) {
  std::string why;
  auto r = expand_targets(in, 3389, limit, &why);
  if (!r) return {"error: " + why};
  std::vector<std::string> out;
  for (const auto& t : *r) out.push_back(t.where.text());
  return out;
}

TEST(Targets, SingleHostsAndPorts) {
  EXPECT_EQ(texts({"host", "10.0.0.1:3390", "[::1]:3391", "fe80::1"}),
            (std::vector<std::string>{"host:3389", "10.0.0.1:3390", "[::1]:3391", "[fe80::1]:3389"}));
}

TEST(Targets, Ipv4Ranges) {
  EXPECT_EQ(texts({"192.0.2.5/30"}),
            (std::vector<std::string>{"192.0.2.4:3389", "192.0.2.5:3389", "192.0.2.6:3389", "192.0.2.7:3389"}));
  EXPECT_EQ(texts({"192.0.2.9/32:3390"}), (std::vector<std::string>{"192.0.2.9:3390"}));
  EXPECT_EQ(texts({"10.0.0.0/16"}).size(), 65536u);
}

TEST(Targets, Ipv6Ranges) {
  EXPECT_EQ(texts({"[2001:db8::17/126]:3390"}),
            (std::vector<std::string>{"[2001:db8::14]:3390", "[2001:db8::15]:3390", "[2001:db8::16]:3390",
                                      "[2001:db8::17]:3390"}));
  EXPECT_EQ(texts({"2001:db8::/127"}), (std::vector<std::string>{"[2001:db8::]:3389", "[2001:db8::1]:3389"}));
}

TEST(Targets, RangeErrorsNameTheRange) {
  EXPECT_EQ(texts({"10.0.0.0/8"}), (std::vector<std::string>{"error: range '10.0.0.0/8' holds more addresses than the limit of targets"}));
  EXPECT_EQ(texts({"10.0.0.0/33"}), (std::vector<std::string>{"error: range '10.0.0.0/33': prefix longer than the address"}));
  EXPECT_EQ(texts({"host.example/24"}).at(0), "error: range 'host.example/24': 'host.example' is not an IP address");
  EXPECT_EQ(texts({"10.0.0.0/"}).at(0), "error: range '10.0.0.0/' has no prefix length after '/'");
  EXPECT_EQ(texts({"10.0.0.0/30:0"}).at(0), "error: port '0' is not a number from 1 to 65535");
  EXPECT_EQ(texts({"a", "b", "c"}, 2).at(0), "error: more than 2 targets");
}

TEST(Targets, FileWithCommentsBlankLinesAndErrorsByLine) {
  const std::string path = testing::TempDir() + "/targets.txt";
  {
    std::ofstream f(path);
    f << "# lab hosts\n\n  rdp1.lab:3390  \n192.0.2.0/31\r\n";
  }
  EXPECT_EQ(texts({"@" + path}), (std::vector<std::string>{"rdp1.lab:3390", "192.0.2.0:3389", "192.0.2.1:3389"}));
  {
    std::ofstream f(path);
    f << "ok\nbad:port\n";
  }
  EXPECT_EQ(texts({"@" + path}).at(0), "error: " + path + ":2: target 'bad:port': port 'port' is not a number from 1 to 65535");
  EXPECT_EQ(texts({"@/nonexistent/targets"}).at(0), "error: cannot read target file '/nonexistent/targets': no such file");
  {
    std::ofstream f(path);
    f << "# nothing\n";
  }
  EXPECT_EQ(texts({"@" + path}).at(0), "error: no targets");
  std::remove(path.c_str());
}
}  // namespace

namespace {

// Found by tests/fuzz/targets_fuzz.cpp: a host with a NUL, a control byte or a bracket, or a "bare IPv6" that is not
// one, was accepted, and its host_port::text() did not parse back to the same target.
TEST(Targets, HostsThatCannotBeNamesOrAddressesAreRefused) {
  for (const std::string& bad : {std::string("host\0name", 9), std::string("\x1b]0;pwn\a"), std::string("a]b"),
                                std::string("00::\0x", 6), std::string("not:an:address"), std::string("[a]b]:3389")}) {
    std::string why;
    EXPECT_FALSE(rdp::net::parse_host_port(bad, 3389, &why)) << rdp::net::parse_host_port(bad).value().text();
    EXPECT_FALSE(why.empty());
    EXPECT_EQ(why.find('\x1b'), std::string::npos) << why;  // quoted back escaped
  }
  for (const char* good : {"rdp-host", "10.0.0.1:3390", "[fe80::1%eth0]:3389", "fd00::1", "host_name.lab"}) {
    auto hp = rdp::net::parse_host_port(good);
    ASSERT_TRUE(hp) << good;
    auto again = rdp::net::parse_host_port(hp->text());
    ASSERT_TRUE(again) << hp->text();
    EXPECT_EQ(again->host, hp->host);
  }
}

TEST(Targets, TargetFileTextParsesWithoutTheFileSystem) {
  std::string why;
  auto r = rdp::net::expand_target_file("# lab\n10.0.0.1\n\n  rdp-host:3390  \r\n", "hosts.txt", 3389, 100, &why);
  ASSERT_TRUE(r) << why;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ(r->at(1).where.text(), "rdp-host:3390");
  EXPECT_FALSE(rdp::net::expand_target_file("10.0.0.1\n@other\n", "hosts.txt", 3389, 100, &why));
  EXPECT_NE(why.find("hosts.txt:2"), std::string::npos) << why;
}

}  // namespace
