// The pure helpers of protocol/client_sequence.hpp and the input PDU the client sends when busy.
#include "rdp/protocol/activation.hpp"
#include "rdp/protocol/client_sequence.hpp"
#include "rdp/protocol/mcs.hpp"
#include "rdp/protocol/share.hpp"
#include "rdp/protocol/x224.hpp"

#include <gtest/gtest.h>

#include <string>

namespace rdp::protocol {
namespace {

TEST(ClientSequenceHelpers, PhaseNamesAreTheMiniClients) {
  EXPECT_STREQ(to_string(client_phase::none), "none");
  EXPECT_STREQ(to_string(client_phase::mcs_connected), "mcs-connected");
  EXPECT_STREQ(to_string(client_phase::capabilities), "capabilities");
  EXPECT_STREQ(to_string(client_phase::active), "active");
  EXPECT_STREQ(to_string(teardown_kind::disconnect_provider_ultimatum), "disconnect-provider-ultimatum");
}

TEST(ClientSequenceHelpers, ConnectionRequestPerSecurity) {
  client_sequence_options o;
  o.x224_cookie = "bob";
  auto tls = make_connection_request(o);
  EXPECT_EQ(tls.cookie, std::optional<std::string>("bob"));
  EXPECT_EQ(tls.negotiation, (neg_request{0, to_bits(security_protocol::ssl)}));
  o.requested_protocols = to_bits(security_protocol::ssl) | to_bits(security_protocol::hybrid);
  EXPECT_EQ(make_connection_request(o).negotiation->requested_protocols, 3u);
  // Standard RDP Security: no RDP_NEG_REQ at all, unless a value is asked for (2.2.1.1).
  o.security = client_security::standard;
  o.requested_protocols.reset();
  EXPECT_FALSE(make_connection_request(o).negotiation);
  o.requested_protocols = 0;
  EXPECT_EQ(make_connection_request(o).negotiation, (neg_request{0, 0}));
}

TEST(ClientSequenceHelpers, ConnectInitialRoundTripsAndAnnouncesWhatItIsAskedTo) {
  const auto ci = make_client_connect_initial(1, true);
  const auto& core = *ci.user_data.client.core;
  EXPECT_EQ(core.server_selected_protocol, 1u);
  EXPECT_EQ(core.client_name, u"rdp-mini");
  EXPECT_EQ(*core.early_capability_flags,
            gcc::early_capability::support_errinfo_pdu | gcc::early_capability::support_heartbeat_pdu);
  EXPECT_EQ(ci.user_data.client.security, gcc::client_security_data{});
  auto wire = mcs::encode(ci);
  ASSERT_TRUE(wire);
  auto back = mcs::decode_connect_initial(*wire);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->value, ci);
  EXPECT_EQ(*make_client_connect_initial(0).user_data.client.core->early_capability_flags,
            gcc::early_capability::support_errinfo_pdu);
}

// Client Input Event PDU with one Synchronize event (2.2.8.1.1.3.1.1.5), byte for byte after the headers.
TEST(ClientSequenceHelpers, InputSynchronizeWireBytes) {
  share::data_pdu_route route;
  route.from_server = false;
  route.initiator = 1007;
  route.pdu_source = 1007;
  const auto frame = activation::encode_input_synchronize(0x00000002, route);  // NUM_LOCK on
  auto data = x224::decode_data(frame);
  ASSERT_TRUE(data);
  auto send = mcs::decode_send_data(data->value);
  ASSERT_TRUE(send);
  EXPECT_FALSE(send->value.indication);
  EXPECT_EQ(send->value.initiator, 1007);
  auto pdu = share::decode_share_pdu(send->value.user_data);
  ASSERT_TRUE(pdu);
  ASSERT_TRUE(pdu->value.data);
  EXPECT_EQ(pdu->value.data->type2, share::pdu_type2::input);
  EXPECT_EQ(pdu->value.control.source, 1007);
  const byte_buffer body{0x01, 0x00, 0x00, 0x00,               // numEvents 1, pad2Octets
                         0x00, 0x00, 0x00, 0x00, 0x00, 0x00,   // eventTime, messageType INPUT_EVENT_SYNC
                         0x00, 0x00, 0x02, 0x00, 0x00, 0x00};  // pad2Octets, toggleFlags
  EXPECT_EQ(byte_buffer(pdu->value.body.begin(), pdu->value.body.end()), body);
}

}  // namespace
}  // namespace rdp::protocol
