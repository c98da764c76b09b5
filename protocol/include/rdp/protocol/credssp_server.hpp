#pragma once
// The server's side of the first CredSSP round trip (MS-CSSP 3.1.5 step 1, MS-NLMP 3.2.5.1.1), as pure functions:
// who the server says it is, and the NTLM CHALLENGE it answers a client's NEGOTIATE with. The clock and the
// randomness (the timestamp and the server challenge) are the caller's inputs. Nothing here authenticates anyone.
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/credssp.hpp"
#include "rdp/protocol/ntlm.hpp"

#include <array>
#include <cstdint>
#include <string>

namespace rdp::protocol {

// Who the simulated server says it is in its CHALLENGE's TargetInfo and Version (MS-NLMP 2.2.2.1, 2.2.2.10).
// The default build 20348 is Windows Server 2022.
struct ntlm_identity {
  std::string netbios_computer = "RDPSIM", netbios_domain = "LAB", dns_computer = "rdpsim.lab.example",
              dns_domain = "lab.example", dns_tree = "lab.example";
  std::uint8_t major = 10, minor = 0;
  std::uint16_t build = 20348;
};

// The TSRequest.version the responder states: the highest MS-CSSP defines, as a current Windows server does.
inline constexpr std::int64_t responder_credssp_version = 6;

// The CHALLENGE a Windows domain member would send to a NEGOTIATE with `client_flags` (pure; for tests too):
// flags are the client's that this side supports plus TARGET_TYPE_DOMAIN, TARGET_INFO and VERSION; TargetName is
// the NetBIOS domain; TargetInfo is NbDomainName, NbComputerName, DnsDomainName, DnsComputerName, DnsTreeName,
// Timestamp — Windows' order. A name too long for an AV_PAIR is cut to fit.
ntlm::challenge_message make_challenge(const ntlm_identity& identity, std::uint32_t client_flags,
                                       std::uint64_t filetime, const std::array<std::uint8_t, 8>& server_challenge);

// The NTLM message header (MS-NLMP 2.2.1): "NTLMSSP\0", then MessageType (ntlm::message_type) as a 32-bit
// little-endian value.
bool is_ntlm_message(bytes_view token, std::uint32_t type) noexcept;

// After the CHALLENGE a real client sends its NTLM AUTHENTICATE. Authentication is not simulated, so the server
// answers a client of CredSSP version 3 or later (TSRequest.errorCode exists from version 3, MS-CSSP 2.2.1) with
// this TSRequest: errorCode STATUS_NOT_SUPPORTED, version the lower of the two. FreeRDP 2.11 (libfreerdp/core/nla.c)
// ends its connect at once on an errorCode it does not map to a logon failure ("SPNEGO failed with NTSTATUS").
credssp::ts_request make_nla_refusal(std::int64_t client_version);

// The sentence the server logs when it refused `authenticate` (the client's TSRequest after the CHALLENGE):
// what it carried, whether the refusal TSRequest went out (`answered`) or the connection was only closed.
std::string nla_refusal_sentence(const credssp::ts_request& authenticate, bool answered);

}  // namespace rdp::protocol
