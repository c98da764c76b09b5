#pragma once
// NTLM messages as an RDP probe meets them inside CredSSP (MS-NLMP 2.2.1): the NEGOTIATE a client sends and the
// CHALLENGE a server answers with, whose TargetInfo AV_PAIRs (2.2.2.1) and Version (2.2.2.10) name the machine, its
// domain, its clock and its Windows build — all before any credential is asked for. No crypto here: a probe never
// goes on to AUTHENTICATE.
//
// NTLM messages are not self-delimiting: they arrive whole inside a TSRequest negoToken, so these decoders are not
// tri-state. A message cut short is errc::truncated; every offset/length pair is checked against the message.
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/errc.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rdp::protocol::ntlm {

// How an NTLM message can be wrong, in category "rdp.ntlm". A message shorter than its fixed part is
// protocol::errc::truncated.
enum class error {
  bad_signature = 1,        // not "NTLMSSP\0"
  unexpected_message_type,  // a valid NTLM message, but not the type asked for
  bad_field,                // a payload offset/length pointing outside the message or into its fixed part
  bad_av_pair,              // an AV_PAIR running past TargetInfo, or a malformed MsvAvEOL
  missing_eol,              // TargetInfo ends without MsvAvEOL
};
const boost::system::error_category& ntlm_category() noexcept;
inline boost::system::error_code make_error_code(error e) noexcept { return {static_cast<int>(e), ntlm_category()}; }

inline constexpr std::array<std::uint8_t, 8> signature = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};

namespace message_type {
inline constexpr std::uint32_t negotiate = 1, challenge = 2, authenticate = 3;
}

// NegotiateFlags (MS-NLMP 2.2.2.5).
namespace negotiate_flags {
inline constexpr std::uint32_t unicode = 0x00000001;                    // NTLMSSP_NEGOTIATE_UNICODE
inline constexpr std::uint32_t oem = 0x00000002;                        // NTLM_NEGOTIATE_OEM
inline constexpr std::uint32_t request_target = 0x00000004;
inline constexpr std::uint32_t sign = 0x00000010;
inline constexpr std::uint32_t seal = 0x00000020;
inline constexpr std::uint32_t datagram = 0x00000040;
inline constexpr std::uint32_t lm_key = 0x00000080;
inline constexpr std::uint32_t ntlm = 0x00000200;
inline constexpr std::uint32_t anonymous = 0x00000800;
inline constexpr std::uint32_t oem_domain_supplied = 0x00001000;
inline constexpr std::uint32_t oem_workstation_supplied = 0x00002000;
inline constexpr std::uint32_t always_sign = 0x00008000;
inline constexpr std::uint32_t target_type_domain = 0x00010000;
inline constexpr std::uint32_t target_type_server = 0x00020000;
inline constexpr std::uint32_t extended_session_security = 0x00080000;
inline constexpr std::uint32_t identify = 0x00100000;
inline constexpr std::uint32_t request_non_nt_session_key = 0x00400000;
inline constexpr std::uint32_t target_info = 0x00800000;
inline constexpr std::uint32_t version = 0x02000000;
inline constexpr std::uint32_t negotiate_128 = 0x20000000;
inline constexpr std::uint32_t key_exch = 0x40000000;
inline constexpr std::uint32_t negotiate_56 = 0x80000000;
// What nmap's rdp-ntlm-info puts in its NEGOTIATE (docs/wire-facts.md 2.3): 56|KEY_EXCH|128|VERSION|
// EXTENDED_SESSIONSECURITY|ALWAYS_SIGN|NTLM|LM_KEY|SEAL|SIGN|REQUEST_TARGET|OEM|UNICODE.
inline constexpr std::uint32_t nmap_negotiate = 0xE20882B7;
}  // namespace negotiate_flags

// VERSION (MS-NLMP 2.2.2.10): the sender's Windows version, 8 bytes on the wire (3 of them reserved).
struct version {
  std::uint8_t major = 0;
  std::uint8_t minor = 0;
  std::uint16_t build = 0;
  std::uint8_t revision = 0x0F;  // NTLMSSP_REVISION_W2K3, the only value in use
  friend bool operator==(const version&, const version&) = default;
};
// "10.0.17763" — what nmap prints as Product_Version.
std::string to_string(const version& v);

// AvId values (MS-NLMP 2.2.2.1).
enum class av_id : std::uint16_t {
  eol = 0,
  nb_computer_name = 1,
  nb_domain_name = 2,
  dns_computer_name = 3,
  dns_domain_name = 4,
  dns_tree_name = 5,
  flags = 6,
  timestamp = 7,  // FILETIME, little-endian
  single_host = 8,
  target_name = 9,
  channel_bindings = 10,
};

struct av_pair {
  std::uint16_t id = 0;  // an av_id, or a value this code does not know (kept, so re-encoding is faithful)
  byte_buffer value;
  friend bool operator==(const av_pair&, const av_pair&) = default;
};

// NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1).
struct negotiate_message {
  std::uint32_t flags = negotiate_flags::nmap_negotiate;
  byte_buffer domain_name;       // OEM; only with NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED
  byte_buffer workstation;       // OEM; only with NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED
  std::optional<version> os_version = version{10, 0, 17763, 0x0F};  // nmap's: Windows 10 1809 / Server 2019
  friend bool operator==(const negotiate_message&, const negotiate_message&) = default;
};

// CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2).
struct challenge_message {
  std::uint32_t flags = 0;
  std::array<std::uint8_t, 8> server_challenge{};
  byte_buffer target_name;          // raw: UTF-16LE with NTLMSSP_NEGOTIATE_UNICODE, else OEM
  std::vector<av_pair> target_info; // TargetInfo AV_PAIRs in wire order, MsvAvEOL not included
  std::optional<version> os_version;
  friend bool operator==(const challenge_message&, const challenge_message&) = default;
};

// AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3): the client's answer to the CHALLENGE, with its NTLMv2 response. Names are
// kept raw (UTF-16LE with NTLMSSP_NEGOTIATE_UNICODE, else OEM), because NTOWFv2 is computed over the bytes the client
// sent, not over a re-encoding of them.
struct authenticate_message {
  std::uint32_t flags = 0;
  byte_buffer lm_response, nt_response;
  byte_buffer domain, user, workstation;
  byte_buffer encrypted_session_key;  // EncryptedRandomSessionKey, with NTLMSSP_NEGOTIATE_KEY_EXCH
  std::optional<version> os_version;
  // MIC (2.2.1.3): 16 bytes after Version when the NTLMv2 response's MsvAvFlags says so (bit 0x2). The decoder reads
  // it whenever Version was read and no payload starts inside it; the verifier decides whether it counts.
  std::optional<std::array<std::uint8_t, 16>> mic;
  friend bool operator==(const authenticate_message&, const authenticate_message&) = default;
};
// Where the MIC lies in an AUTHENTICATE (after the 64-byte fixed part and Version): the MIC is computed over the
// message with these 16 bytes zeroed (3.1.5.1.2).
inline constexpr std::size_t authenticate_mic_offset = 72;

// Encoders lay the message out as Windows does: fixed part, Version (when os_version is set), then the payloads
// in field order, each right after the previous one. An empty payload's offset is 0 in a NEGOTIATE (2.2.1.1:
// "SHOULD be set to zero", as nmap sends it) and "where it would be" in a CHALLENGE (2.2.1.2, as Windows sends it).
// The flags are written as given: set negotiate_flags::version with os_version and
// negotiate_flags::target_info with target_info.
// errc::value_out_of_range when a payload or AV_PAIR is longer than its 16-bit length field allows.
boost::system::result<byte_buffer> encode(const negotiate_message& message);
// TargetInfo (pairs + MsvAvEOL) is written when target_info is non-empty, when the flags say NEGOTIATE_TARGET_INFO,
// and when they say NEGOTIATE_VERSION without an os_version and there is no TargetName (so that some payload sits
// where Version would be, and decoding the result gives back the same value).
boost::system::result<byte_buffer> encode(const challenge_message& message);

// Decoders. The Version field is read when NTLMSSP_NEGOTIATE_VERSION is set — unless a payload starts inside it,
// which some non-Windows servers do with the flag set anyway (nmap trusts Version only when both payload offsets
// are ≥ 56): then os_version stays empty rather than the message being rejected. A flag set, no payload in the
// way and the message too short for Version is errc::truncated. TargetInfo is parsed whenever its length is
// non-zero (whatever NTLMSSP_NEGOTIATE_TARGET_INFO says: the probe wants what the server sent); bytes after
// MsvAvEOL inside TargetInfoLen are ignored; an AV_PAIR id repeated is kept twice.
// AUTHENTICATE: fixed part, Version (with os_version), MIC (with mic), then Domain, User, Workstation, LM, NT and
// the session key — the order Windows and FreeRDP write.
boost::system::result<byte_buffer> encode(const authenticate_message& message);
boost::system::result<negotiate_message> decode_negotiate(bytes_view message);
boost::system::result<authenticate_message> decode_authenticate(bytes_view message);
// An AV_PAIR list with its MsvAvEOL (2.2.2.1), as TargetInfo and the NTLMv2 response carry it. errc::value_out_of_range
// for a value over 65535 bytes or an EOL in the list; the decoder is the one TargetInfo uses (bytes after EOL ignored).
boost::system::result<byte_buffer> encode_av_pairs(const std::vector<av_pair>& pairs);
boost::system::result<std::vector<av_pair>> decode_av_pairs(bytes_view list);
boost::system::result<challenge_message> decode_challenge(bytes_view message);

// Where "NTLMSSP\0" first occurs in `bytes` (e.g. inside a SPNEGO wrapper), the way nmap finds the CHALLENGE.
std::optional<std::size_t> find_signature(bytes_view bytes) noexcept;

// The facts the AV_PAIRs carry, as text. Names are UTF-16LE on the wire (MS-NLMP 2.2.2.1: "MUST be ... Unicode")
// and come out as UTF-8; the first pair of each id wins; an empty string means the server did not send it.
struct challenge_facts {
  std::string target_name;  // the header's TargetName (the NetBIOS domain, or the computer for a workgroup)
  std::string netbios_computer, netbios_domain, dns_computer, dns_domain, dns_tree;
  std::optional<std::uint32_t> av_flags;  // MsvAvFlags (AvLen 4)
  std::optional<std::uint64_t> timestamp; // MsvAvTimestamp (AvLen 8): FILETIME, 100 ns ticks since 1601-01-01 UTC
  std::optional<version> os_version;
};
challenge_facts facts(const challenge_message& message);

// Builders for an encoder's side (the simulator's CHALLENGE).
av_pair name_pair(av_id id, std::string_view utf8);
av_pair timestamp_pair(std::uint64_t filetime);
// The first pair with this id, or nullptr.
const av_pair* find(const std::vector<av_pair>& pairs, av_id id) noexcept;

// FILETIME (MS-DTYP 2.3.3): 100 ns ticks since 1601-01-01 UTC. 11644473600 s separate it from the Unix epoch.
inline constexpr std::uint64_t filetime_unix_epoch = 116444736000000000ULL;
using filetime_ticks = std::chrono::duration<std::int64_t, std::ratio<1, 10'000'000>>;
std::uint64_t to_filetime(std::chrono::system_clock::time_point t) noexcept;
// Ticks relative to the Unix epoch (negative before 1970). FILETIMEs past the int64 range of ticks (after the year
// ~31,000) are clamped to its maximum rather than wrapping.
filetime_ticks since_unix_epoch(std::uint64_t filetime) noexcept;

// UTF-16LE → UTF-8, losing nothing the peer sent: an unpaired surrogate is kept as its three-byte form (WTF-8,
// e.g. U+D83D alone as ED A0 BD) rather than replaced, so the result is then not valid UTF-8 — and the report
// writers, which make every wire string valid (protocol/text.hpp), show it as U+FFFD with its bytes as hex instead
// of a U+FFFD that hides what came. A dangling odd byte (half a code unit) becomes U+FFFD.
std::string utf16le_to_utf8(bytes_view utf16le);
// UTF-8 → UTF-16LE. Never fails: an invalid UTF-8 sequence becomes U+FFFD; a surrogate in three-byte form (as
// utf16le_to_utf8 writes an unpaired one) becomes that code unit again.
byte_buffer utf8_to_utf16le(std::string_view utf8);

}  // namespace rdp::protocol::ntlm

template <>
struct boost::system::is_error_code_enum<rdp::protocol::ntlm::error> : std::true_type {};
