// Fuzzes the MCS Connect-Initial / Connect-Response decoders and the GCC user data block decoders under them.
// Whatever decodes must re-encode to something that decodes to the same value (the encoders may legitimately
// refuse: a decoded PDU can sit so close to the TPKT limit that the canonical encoding no longer fits), and
// `consumed` must never exceed the input.
#include "rdp/protocol/gcc.hpp"
#include "rdp/protocol/mcs.hpp"

#include <cstdint>
#include <cstdlib>

using namespace rdp::protocol;

namespace {

template <class Decode, class Value>
void expect_round_trip(const Value& value, Decode decode) {
  auto wire = mcs::encode(value);
  if (!wire) return;
  auto again = decode(bytes_view(*wire));
  if (!again || !(again->value == value) || again->consumed != wire->size()) std::abort();
}

template <class Decode, class Value>
void expect_gcc_round_trip(const Value& value, Decode decode) {
  auto wire = gcc::encode(value);
  if (!wire) return;
  auto again = decode(bytes_view(*wire));
  if (!again || !(again->value == value)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bytes_view input(data, size);
  if (auto cr = mcs::decode_connect_response(input)) {
    if (cr->consumed > size) std::abort();
    expect_round_trip(cr->value, [](bytes_view b) { return mcs::decode_connect_response(b); });
  }
  if (auto ci = mcs::decode_connect_initial(input)) {
    if (ci->consumed > size) std::abort();
    expect_round_trip(ci->value, [](bytes_view b) { return mcs::decode_connect_initial(b); });
  }
  // The same bytes as bare user data and as bare blocks, so the block parsers see inputs no TPKT/BER wrapper
  // had to survive first.
  if (auto rsp = gcc::decode_conference_create_response(input))
    expect_gcc_round_trip(rsp->value, [](bytes_view b) { return gcc::decode_conference_create_response(b); });
  if (auto req = gcc::decode_conference_create_request(input))
    expect_gcc_round_trip(req->value, [](bytes_view b) { return gcc::decode_conference_create_request(b); });
  if (auto server = gcc::decode_server_data(input))
    expect_gcc_round_trip(server->value, [](bytes_view b) { return gcc::decode_server_data(b); });
  if (auto client = gcc::decode_client_data(input))
    expect_gcc_round_trip(client->value, [](bytes_view b) { return gcc::decode_client_data(b); });
  return 0;
}
