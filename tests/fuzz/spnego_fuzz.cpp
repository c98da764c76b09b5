// Fuzzes the SPNEGO decoder (protocol/spnego.hpp) — what rdpsim's CredSSP acceptor reads in a client's negoTokens.
// Whatever decodes must re-encode to bytes that decode to the same value; the MechTypeList a mechListMIC signs must
// encode for every decoded list; mechanism names never fail.
#include "rdp/protocol/spnego.hpp"

#include <cstdint>
#include <cstdlib>
#include <variant>

using namespace rdp::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bytes_view input(data, size);
  auto decoded = spnego::decode(input);
  if (!decoded) return 0;
  const auto wire = std::visit([](const auto& t) { return spnego::encode(t); }, *decoded);
  auto again = spnego::decode(wire);
  if (!again || !(*again == *decoded)) std::abort();
  if (const auto* init = std::get_if<spnego::neg_token_init>(&*decoded)) {
    if (init->mech_types.empty()) std::abort();  // mechTypes is required
    if (spnego::encode_mech_type_list(init->mech_types).empty()) std::abort();
    for (const auto& m : init->mech_types) (void)spnego::mech_name(m);
  }
  return 0;
}
