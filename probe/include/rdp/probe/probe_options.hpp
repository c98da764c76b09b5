#pragma once
// What one probe run asks and how patiently: the security protocols and combinations to negotiate, the deadlines, the
// optional exchanges after the negotiation, an optional logon. Apart from scanner.hpp so that the probe's exchanges
// (ntlm_info.hpp, standard_security.hpp, negotiation.hpp) take their options without the scanner itself.
#include "rdp/net/asio.hpp"
#include "rdp/probe/login_check.hpp"
#include "rdp/protocol/nego.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace rdp::probe {

struct probe_options {
  std::vector<protocol::security_protocol> protocols{protocol::all_security_protocols.begin(),
                                                     protocol::all_security_protocols.end()};
  // requestedProtocols combinations real clients send, asked in addition to the single protocols: 0x03 is what
  // FreeRDP 2 sends by default (docs/wire-vectors.md 3), 0x0B what mstsc on Windows 10+ and nmap's rdp-ntlm-info send.
  std::vector<std::uint32_t> combinations{0x03, 0x0B};
  net::milliseconds connect_timeout{3000};
  net::milliseconds read_timeout{3000};  // waiting for the X.224 Connection Confirm
  net::milliseconds tls_timeout{5000};
  std::string cookie = "rdpprobe";       // Cookie: mstshash=<cookie> (servers log it; FreeRDP sends the user name)
  std::size_t max_reply_bytes = 16384;   // what we keep of a non-RDP answer
  net::milliseconds target_timeout{0};   // the whole target, every attempt included; 0 = only per-phase deadlines
  double connections_per_second = 0;     // pace new TCP connections across all targets; 0 = no pacing
  // After the first attempt shows an RDP server, this many of the others run at once. More is not always faster:
  // xrdp 0.9 listens with a backlog of 2, and SYNs beyond it wait for a retransmission a second later.
  unsigned attempts_in_flight = 2;
  unsigned repeat = 1;                   // probe each target this many times and report timing statistics
  // When the first attempt meets a listener that speaks something other than RDP, this many more connections (the first request again)
  // before the other attempts are skipped: two listeners sharing the port with SO_REUSEPORT get connections by the
  // kernel's hash of the 4-tuple, so the first one proves nothing about the next. With k connections in all, a
  // second member of a pair is missed with probability 2^-(k-1). 0 = skip after the first answer, as before.
  unsigned conflict_probes = 4;
  // At least this many connections to the address the first attempt reached, whatever its first answer: after the
  // attempts (and conflict_probes), more with the first request until there are. For a port known to be shared, where
  // an RDP first answer would otherwise leave only the attempts themselves to meet the other member. 0 = no minimum.
  unsigned min_connections = 0;
  // A name that resolves to several addresses (A and AAAA, each once): the probe runs as before against the first
  // that accepts, then one connection to each other address; addresses that meet different listeners are verdict
  // listener-conflict. true: only the first connection, with the resolver's fallback order, as before.
  bool first_address = false;
  std::string ca_file;                   // verify server certificates against this PEM bundle; empty: system store
  bool standard_security = true;         // when PROTOCOL_RDP is accepted: encryption level, methods, RDP version
  bool ntlm_info = true;                 // when CredSSP is selected: NTLM names, version, clock (no credentials)
  // On one connection where the server selected PROTOCOL_SSL, after the TLS facts are read: send an MCS
  // Connect-Initial inside TLS and read the answer (read_timeout); a hang-up is verdict session-error.
  bool session_check = true;
  // After the wire probe, when the target answered RDP: a real logon with the FreeRDP client library (and, with
  // login->reconnect, a reconnection with the cookie the server issued). Runs off the probing thread (probe_all);
  // once per target, not per --count repetition. Its timeout is clamped to what is left of target_timeout.
  std::optional<login_check_options> login;
  // Fault injection for tests: called as each target's probe starts (with the target's text) and as each negotiation
  // attempt starts (with the target's host and the requestedProtocols it sends). Whatever they throw is handled as a
  // bug there would be: the target gets verdict internal-error, and the run goes on with the others.
  std::function<void(const std::string& target)> before_target;
  std::function<void(const std::string& host, std::uint32_t requested_bits)> before_attempt;
  // For tests: when set, replaces DNS for every target that is not an address literal — the addresses the name
  // resolves to (none: verdict dns-failed), so that a test can make "rdp.test" resolve to 127.0.0.1 and ::1.
  std::function<std::vector<net::asio::ip::address>(const std::string& host)> resolve;
};

}  // namespace rdp::probe
