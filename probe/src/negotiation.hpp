#pragma once
// Internal to rdp_probe: the start every probe connection shares — TCP connect to the first address that accepts, an
// X.224 Connection Request, and the server's answer read until it is a whole Connection Confirm, something else,
// the cap or the deadline (MS-RDPBCGR 1.3.1.1 steps 1-2). The exchange after the connect is protocol::x224_negotiation
// on net::sequence_engine; this maps its outcome to the probe's words. The callers differ only in what they make of the answer:
// the scanner classifies anything, NTLM info wants CredSSP selected, Standard RDP Security wants no negotiation.
#include "rdp/net/asio.hpp"
#include "rdp/probe/probe_options.hpp"
#include "rdp/protocol/x224.hpp"

#include <optional>
#include <string>
#include <vector>

namespace rdp::probe::detail {

struct negotiation {
  net::error_code connect_error;                   // set: the TCP connect failed and nothing else happened
  std::optional<net::tcp::endpoint> connected_to;
  double connect_ms = 0;
  net::error_code io_error;  // sending the request or reading the answer: timed_out, eof, reset, frame_too_large (cap)
  protocol::byte_buffer received;                  // what the server sent, at most the cap
  std::optional<protocol::x224::connection_confirm> confirm;
  std::size_t confirm_size = 0;                    // bytes of `received` the Connection Confirm took
  // The answer is not a Connection Confirm: not TPKT (protocol::errc::bad_tpkt_version), a TPKT header announcing more
  // than the cap (frame_too_large), or a whole frame that does not decode as a CC.
  net::error_code malformed;
  double negotiation_ms = 0;                       // request sent -> answer (or failure)

  // Where it stopped and why, one line, when there is no Connection Confirm ("TCP connect: Connection refused").
  std::string failure() const;
};

// `requested`: RDP_NEG_REQ's requestedProtocols, or nullopt for a request without RDP_NEG_REQ (how a
// pre-negotiation client asks for Standard RDP Security). Uses options.connect_timeout, options.read_timeout (for
// sending the request and for the whole answer) and options.cookie. Never throws for what the network does.
net::asio::awaitable<negotiation> connect_and_negotiate(net::tcp::socket& socket,
                                                        std::vector<net::tcp::endpoint> endpoints,
                                                        std::optional<std::uint32_t> requested,
                                                        const probe_options& options, std::size_t cap);

// "timed out" for errc::timed_out, else the error's message.
std::string describe(const net::error_code& ec);

}  // namespace rdp::probe::detail
