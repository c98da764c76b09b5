// Fuzzes the CredSSP TSRequest decoder (MS-CSSP 2.2.1) — what a probe reads from a server right after TLS. Whatever
// decodes must re-encode to something that decodes to the same value; `consumed` never exceeds the input; every
// strict prefix of a decoded TSRequest is need_more (the DER length is the only framing inside TLS); and an NTLM
// CHALLENGE found in a negoToken goes through the NTLM decoder too, as the probe does it.
#include "rdp/protocol/credssp.hpp"
#include "rdp/protocol/ntlm.hpp"

#include <cstdint>
#include <cstdlib>

using namespace rdp::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bytes_view input(data, size);
  auto r = credssp::decode_ts_request(input);
  if (!r) return 0;
  if (r->consumed == 0 || r->consumed > size) std::abort();
  auto again = credssp::decode_ts_request(credssp::encode(r->value));
  if (!again || !(again->value == r->value)) std::abort();
  // Cheap prefix checks: the first byte, and one byte short.
  for (std::size_t n : {std::size_t{1}, r->consumed - 1}) {
    if (n >= r->consumed) continue;
    auto cut = credssp::decode_ts_request(input.first(n));
    if (cut || !is_need_more(cut.error())) std::abort();
  }
  for (const auto& token : r->value.nego_tokens) {
    if (auto at = ntlm::find_signature(token)) {
      if (auto c = ntlm::decode_challenge(bytes_view(token).subspan(*at))) (void)ntlm::facts(*c);
    }
  }
  return 0;
}
