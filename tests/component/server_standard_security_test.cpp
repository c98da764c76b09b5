// The server machine's Connect-Response under Standard RDP Security (protocol/server_security.hpp wired into
// server_sequence, MS-RDPBCGR 5.3.2): the level, method, server random and certificate of its options for a legacy
// request, NONE/NONE over TLS whatever the options say, and — when the client offers no method the level allows —
// no Connect-Response and a close, as Windows does. nmap's cipher pass is the client: one method per connection.
#include "script.hpp"

#include "rdp/protocol/gcc.hpp"
#include "rdp/protocol/mcs.hpp"
#include "rdp/protocol/server_sequence.hpp"
#include "rdp/protocol/x224.hpp"

#include <gtest/gtest.h>

#include <numeric>

namespace rdp::test {
namespace {

namespace gcc = protocol::gcc;
namespace mcs = protocol::mcs;
namespace x224 = protocol::x224;
using protocol::byte_buffer;
using protocol::bytes_view;
using protocol::server_end;
using protocol::server_phase;
using protocol::server_sequence;
using machine_script = script<server_sequence>;
namespace method = gcc::encryption_method;
namespace level = gcc::encryption_level;

constexpr std::uint32_t ssl = protocol::to_bits(protocol::security_protocol::ssl);

protocol::server_sequence_options options(std::uint32_t encryption_level) {
  protocol::server_sequence_options o;
  o.policy = protocol::server_security_policy{ssl, true};
  o.standard_security.settings = {encryption_level, method::all, false, byte_buffer{0xC0, 0xFF, 0xEE}};
  std::iota(o.standard_security.server_random.begin(), o.standard_security.server_random.end(), std::uint8_t{1});
  return o;
}

byte_buffer connection_request(std::optional<std::uint32_t> protocols) {
  x224::connection_request request;
  if (protocols) request.negotiation = protocol::neg_request{0, *protocols};
  return *x224::encode(request);
}

byte_buffer connect_initial(std::uint32_t selected, std::uint32_t methods) {
  gcc::client_core_data core;  // the optional fields up to serverSelectedProtocol, as the product client sends them
  core.client_name = u"nmap-like";
  core.post_beta2_color_depth = 0xCA01;
  core.client_product_id = 1;
  core.serial_number = 0;
  core.high_color_depth = 16;
  core.supported_color_depths = 0x000F;
  core.early_capability_flags = gcc::early_capability::support_errinfo_pdu;
  core.client_dig_product_id = u"";
  core.connection_type = 0;
  core.server_selected_protocol = selected;
  mcs::connect_initial initial;
  initial.user_data.client.core = core;
  initial.user_data.client.security = gcc::client_security_data{methods, 0};
  initial.user_data.client.network = gcc::client_network_data{};
  return *mcs::encode(initial);
}

std::optional<gcc::server_security_data> security_of(bytes_view frame) {
  auto cr = mcs::decode_connect_response(frame);
  if (!cr || !cr->value.user_data.server.security) return std::nullopt;
  return cr->value.user_data.server.security;
}

// Up to the Connect-Initial of a request without RDP_NEG_REQ (Standard RDP Security).
void legacy_start(machine_script& s) {
  s.start();
  ASSERT_TRUE(s.feed(connection_request(std::nullopt)));
  ASSERT_TRUE(s.expect_write());
  ASSERT_TRUE(s.notified());
}

TEST(ServerStandardSecurity, ClientCompatibleAnswersTheStrongestOfferedMethodWithRandomAndCertificate) {
  const auto o = options(level::client_compatible);
  server_sequence m(o);
  machine_script s(m);
  legacy_start(s);
  ASSERT_TRUE(s.feed(connect_initial(0, method::bits40 | method::bits56 | method::bits128 | method::fips)));
  std::optional<gcc::server_security_data> security;
  ASSERT_TRUE(s.expect_write([&](bytes_view b) { return (security = security_of(b)).has_value(); }));
  EXPECT_EQ(security->encryption_method, method::bits128);
  EXPECT_EQ(security->encryption_level, level::client_compatible);
  ASSERT_TRUE(security->keys);
  EXPECT_EQ(security->keys->server_random,
            byte_buffer(o.standard_security.server_random.begin(), o.standard_security.server_random.end()));
  EXPECT_EQ(security->keys->server_certificate, (byte_buffer{0xC0, 0xFF, 0xEE}));
  EXPECT_EQ(m.result().reached, server_phase::mcs_connected);
  ASSERT_TRUE(s.expect(seq::action_kind::read));  // then held, as before
}

TEST(ServerStandardSecurity, NmapsSingleOffersAtHighLevel) {
  for (const auto offered : {method::bits40, method::bits56, method::bits128, method::fips}) {
    server_sequence m(options(level::high));
    machine_script s(m);
    legacy_start(s);
    ASSERT_TRUE(s.feed(connect_initial(0, offered)));
    if (offered == method::bits128 || offered == method::fips) {
      std::optional<gcc::server_security_data> security;
      ASSERT_TRUE(s.expect_write([&](bytes_view b) { return (security = security_of(b)).has_value(); }));
      EXPECT_EQ(security->encryption_method, offered);
      EXPECT_EQ(security->encryption_level, level::high);
    } else {
      // No method in common: no Connect-Response; the connection is closed.
      EXPECT_EQ(m.result().ended, server_end::no_common_method) << offered;
      EXPECT_EQ(m.result().reached, server_phase::negotiated);
      ASSERT_TRUE(s.notified());
      ASSERT_TRUE(s.expect_close(seq::close_style::graceful));
      ASSERT_TRUE(s.expect_done());
    }
  }
}

TEST(ServerStandardSecurity, OverTlsTheBlockStaysNoneWhateverTheSettings) {
  server_sequence m(options(level::client_compatible));
  machine_script s(m);
  s.start();
  ASSERT_TRUE(s.feed(connection_request(ssl)));
  ASSERT_TRUE(s.expect_write());
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.tls_done());
  ASSERT_TRUE(s.notified());
  ASSERT_TRUE(s.feed(connect_initial(ssl, method::all)));
  ASSERT_TRUE(s.expect_write([](bytes_view b) {
    const auto security = security_of(b);
    return security && *security == gcc::server_security_data{};  // method 0, level 0, no random or certificate
  }));
}

TEST(ServerStandardSecurity, LevelNoneIsTheOldAnswer) {
  server_sequence m(options(level::none));
  machine_script s(m);
  legacy_start(s);
  ASSERT_TRUE(s.feed(connect_initial(0, method::bits40)));
  ASSERT_TRUE(s.expect_write([](bytes_view b) {
    const auto security = security_of(b);
    return security && *security == gcc::server_security_data{};
  }));
}

}  // namespace
}  // namespace rdp::test
