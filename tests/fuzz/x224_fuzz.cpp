// Fuzzes the X.224 CR/CC/DR/DT decoders. Whatever decodes must re-encode to something that decodes to the same
// value (CR and CC), and `consumed` must never exceed the input.
#include "rdp/protocol/x224.hpp"

#include <cstdint>
#include <cstdlib>

using namespace rdp::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bytes_view input(data, size);
  if (auto cr = x224::decode_connection_request(input)) {
    if (cr->consumed > size) std::abort();
    auto wire = x224::encode(cr->value);
    if (wire) {
      auto again = x224::decode_connection_request(*wire);
      if (!again || !(again->value == cr->value)) std::abort();
    }
  }
  if (auto cc = x224::decode_connection_confirm(input)) {
    if (cc->consumed > size) std::abort();
    auto again = x224::decode_connection_confirm(x224::encode(cc->value));
    if (!again || !(again->value == cc->value)) std::abort();
  }
  if (auto dr = x224::decode_disconnect_request(input); dr && dr->consumed > size) std::abort();
  if (auto dt = x224::decode_data(input); dt && dt->value.size() > size) std::abort();
  return 0;
}
