#pragma once
// The last step before a report becomes JSON text: every string in it may hold bytes that came off the wire (a
// certificate name, an NTLM name, an HTTP Server header, a process's command line) and must be valid UTF-8 for a
// JSON (or XML) reader, with nothing of the original lost (docs/json-schema.md, "Text from the wire").
#include <nlohmann/json_fwd.hpp>

#include <string>

namespace rdp::probe {

// Every string member of every object in `j`, at any depth, becomes valid UTF-8 (protocol::to_valid_utf8). When its
// raw bytes were not valid UTF-8 or held a control character (protocol::needs_raw_hex), the object also gets the
// member "<name>_hex" with those bytes in lower-case hex. An array member with such strings gets "<name>_hex": an
// array of the same length, the hex of each string that needed it and null for the others. Strings in arrays of
// arrays are only made valid. Idempotent: a "<name>_hex" already present is kept.
void make_wire_safe(nlohmann::json& j);

// make_wire_safe(copy of j), then dump(): one line of JSON that any reader accepts. Throws nlohmann's exceptions
// only for a bug (a string make_wire_safe did not reach), never for what a peer sent.
std::string dump_wire_safe(const nlohmann::json& j);

}  // namespace rdp::probe
