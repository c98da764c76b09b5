#pragma once
// What many connections to one port met, and whether they disagree: the vocabulary of listener conflicts that only
// some connections meet (issue 16). Two sockets in an SO_REUSEPORT group share a port and the kernel hands each new
// connection to one of them by a hash of its 4-tuple; a name with an A and an AAAA address may reach a different
// listener per family. One connection then proves nothing: the scan (scanner.cpp) and `rdpprobe local` count what
// each connection met here and call the port a conflict when the answers disagree.
// Pure: no sockets, no clocks. Built from the attempt outcomes the probe already records (report.hpp) and the
// first-response classifier (protocol/classify.hpp), whose listener_kind is the one vocabulary of what answered;
// tested in tests/unit_probe/listener_spread_test.cpp.
#include "rdp/protocol/classify.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rdp::probe {

struct protocol_attempt;  // report.hpp

// What one connection met.
struct connection_met {
  protocol::listener_kind kind = protocol::listener_kind::error;
  std::uint32_t requested_bits = 0;  // the requestedProtocols the connection sent (RDP answers depend on it)
  // What tells this listener from another of the same kind. RDP: the answer to requested_bits ("selected HYBRID",
  // "failure SSL_NOT_ALLOWED_BY_SERVER (0x02)", "no negotiation", "disconnected"); others: the classification's
  // detail ("HTTP/1.0 400 Bad Request; Server: …", "SSH-2.0-OpenSSH_9.2p1"); the transport kinds: empty.
  std::string fingerprint;
  std::string evidence;  // one line: the attempt's detail
  std::string address;   // the address:port the connection reached (or tried), empty when unknown
};

// What a negotiation attempt met (attempt outcome + the classification of a non-RDP answer, when there was one),
// at `address`. nullopt for an attempt that was skipped (it met nothing).
std::optional<connection_met> met_by(const protocol_attempt& attempt,
                                     const std::optional<protocol::classification>& listener,
                                     std::string address = {});

// One line of a tally: the connections that met the same thing.
struct spread_entry {
  protocol::listener_kind kind = protocol::listener_kind::error;
  // RDP answers are compared per request (the same server answers 0x00 and 0x03 differently): set for kind rdp.
  std::optional<std::uint32_t> requested_bits;
  std::string fingerprint;
  std::size_t connections = 0;
  std::string example;                 // the evidence of the first connection counted here
  std::vector<std::string> addresses;  // the addresses these connections reached, each once, in the order met
};

// Connections counted by what they met: one entry per (kind, fingerprint, and for RDP the request), in the order
// each was first met.
struct tally {
  std::vector<spread_entry> entries;

  void add(const connection_met& met);
  std::size_t connections() const noexcept;            // every connection counted
  std::size_t connections_of(protocol::listener_kind kind) const noexcept;
  // Distinct addresses counted, in the order first met.
  std::vector<std::string> addresses() const;
};

// The connections disagree about what listens: some met RDP and some another listener that spoke, or two different
// kinds of non-RDP listener answered, or RDP answers to the same requestedProtocols contradict each other (two RDP
// servers configured differently). Transport outcomes (silent, closed, reset, refused, error) never disagree on
// their own: they do not say which program answered.
bool disagree(const tally& t);

// One line for a report, one part per kind in the order first met: "12 connections: 7 met rdp (0x00: selected rdp;
// 0x03: selected credssp), 5 met http (HTTP/1.0 400 Bad Request)" — at most three answers per kind ("; 2 more"), and
// " at ADDRESS" per kind when the tally covers more than one address.
std::string describe(const tally& t);

// {"connections": N, "disagree": bool, "met": [{"kind", "requested", "fingerprint", "connections", "example",
// "addresses"}]} (docs/json-schema.md, listener_spread). Strings off the wire are kept as they are: the caller makes
// the whole document wire-safe (wire_json.hpp).
nlohmann::json to_json(const tally& t);

}  // namespace rdp::probe
