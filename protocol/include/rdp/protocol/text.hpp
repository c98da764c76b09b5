#pragma once
// Text that came off the wire (certificate names, NTLM names, HTTP headers, banners, Client Info strings, /proc
// contents) is untrusted bytes. These are the only ways the tools turn it into something a report may print:
// valid UTF-8 for JSON and XML, escaped for a terminal, and the raw bytes as hex where they were not text.
#include "rdp/protocol/hex.hpp"  // to_hex: the raw bytes as hex

#include <cstdint>
#include <string>
#include <string_view>

namespace rdp::protocol {

// True when `raw` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view raw) noexcept;

// `raw` with every ill-formed sequence replaced by U+FFFD (one per maximal ill-formed subpart, as the Unicode
// standard's "substitution of maximal subparts" recommends and as WHATWG decoders do). Valid input is returned as is.
std::string to_valid_utf8(std::string_view raw);

// Text for XML 1.0 character data and attributes: to_valid_utf8, then every character XML 1.0 does not allow even as
// a reference (C0 controls but tab, LF and CR; U+FFFE, U+FFFF) replaced by U+FFFD. Markup escaping (&, <, ", …) is
// the writer's job.
std::string to_xml_chars(std::string_view raw);
// Character data or an attribute value ready to write: to_xml_chars, then & < > " ' as entities. For JUnit reports
// and SVG.
std::string escape_xml(std::string_view raw);

// Text a terminal shows as text and never executes: printable valid UTF-8 is kept; C0 controls, DEL, C1 controls
// (U+0080..U+009F, which some terminals obey as CSI/OSC) and bytes that are not UTF-8 become \xNN, and a backslash
// becomes \\ so the escaping is unambiguous. Tab becomes \t, LF \n, CR \r.
std::string escape_for_terminal(std::string_view raw);

// Whether a report needs the raw bytes beside the text: true when `raw` is not valid UTF-8 or holds a control
// character (C0 but tab/LF/CR, DEL, C1), i.e. when to_valid_utf8 or escape_for_terminal lost or changed something.
bool needs_raw_hex(std::string_view raw) noexcept;

}  // namespace rdp::protocol
