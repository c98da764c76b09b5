// Fuzzes what rdpsim reads from a (possibly hostile) client during the connection sequence, and what a probe
// would read back from a server: MCS domain PDUs, Client Info, Confirm/Demand Active, finalization bodies, Save
// Session Info, licensing and heartbeat. Whatever decodes must re-encode to something that decodes the same.
#include "rdp/protocol/activation.hpp"
#include "rdp/protocol/mcs.hpp"
#include "rdp/protocol/x224.hpp"

#include <cstdint>
#include <cstdlib>

using namespace rdp::protocol;

namespace {

bytes_view user_data_of(const byte_buffer& frame, byte_buffer& keep) {
  auto data = x224::decode_data(frame);
  if (!data) std::abort();
  auto send = mcs::decode_send_data(data->value);
  if (!send) std::abort();
  keep.assign(send->value.user_data.begin(), send->value.user_data.end());
  return keep;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bytes_view input(data, size);
  share::data_pdu_route route;
  byte_buffer keep;
  if (auto erect = mcs::decode_erect_domain_request(input)) {
    auto again = mcs::decode_erect_domain_request(mcs::encode(erect->value));
    if (!again || !(again->value == erect->value)) std::abort();
  }
  (void)mcs::decode_attach_user_request(input);
  if (auto join = mcs::decode_channel_join_request(input)) {
    auto wire = mcs::encode(join->value);
    if (!wire || !(mcs::decode_channel_join_request(*wire)->value == join->value)) std::abort();
  }
  if (auto confirm = mcs::decode_channel_join_confirm(input)) {
    auto wire = mcs::encode(confirm->value);
    if (!wire || !(mcs::decode_channel_join_confirm(*wire)->value == confirm->value)) std::abort();
  }
  (void)mcs::decode_attach_user_confirm(input);
  if (auto info = activation::decode_client_info(input)) {
    if (auto wire = activation::encode(info->value, route)) {
      auto again = activation::decode_client_info(user_data_of(*wire, keep));
      // Re-encoding always sets INFO_UNICODE; an ANSI original may therefore come back with other text.
      if (!again || again->value.user.size() > 4 * 512) std::abort();
      if ((info->value.flags & activation::info_flag::unicode) && !(again->value.auto_reconnect_cookie == info->value.auto_reconnect_cookie))
        std::abort();
    }
  }
  if (auto confirm = activation::decode_confirm_active(input)) {
    (void)activation::summarize(confirm->value.capabilities);
    if (auto wire = activation::encode(confirm->value, route)) {
      auto again = activation::decode_confirm_active(user_data_of(*wire, keep));
      if (!again || !(again->value.capabilities == confirm->value.capabilities)) std::abort();
    }
  }
  if (auto demand = activation::decode_demand_active(input)) (void)activation::summarize(demand->value.capabilities);
  if (auto pdu = share::decode_share_pdu(input)) {
    if (pdu->consumed > size || pdu->value.body.size() > size) std::abort();
    (void)activation::decode_synchronize(pdu->value.body);
    (void)activation::decode_control(pdu->value.body);
    (void)activation::decode_save_session_info(pdu->value.body);
  }
  (void)activation::decode_save_session_info(input);
  (void)activation::decode_license_error_alert(input);
  (void)activation::decode_heartbeat(input);
  return 0;
}
