// Fuzzes the NTLM NEGOTIATE and CHALLENGE decoders (MS-NLMP 2.2.1.1, 2.2.1.2), the AV_PAIR walk and the UTF-16
// conversion of the names — what a hostile CredSSP server controls. Whatever decodes must re-encode to something
// that decodes to the same value, and the text helpers must never fail on any bytes.
#include "rdp/protocol/ntlm.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace rdp::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bytes_view input(data, size);
  if (auto c = ntlm::decode_challenge(input)) {
    const auto f = ntlm::facts(*c);
    if (f.timestamp) (void)ntlm::since_unix_epoch(*f.timestamp);
    auto wire = ntlm::encode(*c);
    if (!wire) std::abort();  // a decoded message always fits its own length fields
    auto again = ntlm::decode_challenge(*wire);
    if (!again || !(*again == *c)) std::abort();
  }
  if (auto n = ntlm::decode_negotiate(input)) {
    auto wire = ntlm::encode(*n);
    if (!wire) std::abort();
    auto again = ntlm::decode_negotiate(*wire);
    if (!again || !(*again == *n)) std::abort();
  }
  // The text helpers take any bytes; UTF-8 that came out of UTF-16 must go back unchanged where it was valid.
  const auto text = ntlm::utf16le_to_utf8(input);
  (void)ntlm::utf16le_to_utf8(ntlm::utf8_to_utf16le(text));
  (void)ntlm::utf8_to_utf16le(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
