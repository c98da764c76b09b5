// Fuzzes the post-connection server PDU path the probe reads from a hostile server: TPKT → X.224 data → MCS
// (Disconnect Provider Ultimatum, Send Data) → Share headers → Set Error Info.
#include "rdp/protocol/mcs.hpp"
#include "rdp/protocol/share.hpp"

#include <cstdint>
#include <cstdlib>

using namespace rdp::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bytes_view input(data, size);
  (void)share::inspect_server_frame(input);
  if (auto send = mcs::decode_send_data(input)) {
    if (send->value.user_data.size() > size) std::abort();
    if (auto sei = share::decode_set_error_info(send->value.user_data)) {
      // Re-encoding what we decoded must decode to the same code.
      auto wire = share::encode_set_error_info(sei->value);
      auto event = share::inspect_server_frame(wire);
      if (!event || event->kind != share::server_event_kind::set_error_info ||
          event->error_info != sei->value.error_info)
        std::abort();
    }
  }
  if (auto dpu = mcs::decode_disconnect_provider_ultimatum(input)) {
    auto again = mcs::decode_disconnect_provider_ultimatum(mcs::encode(dpu->value));
    if (!again || !(again->value == dpu->value)) std::abort();
  }
  return 0;
}
