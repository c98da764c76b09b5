#pragma once
// Internal to rdp_probe: one negotiation attempt of the scanner — one TCP connection with one requestedProtocols
// value (MS-RDPBCGR 2.2.1.1.1), the answer mapped to an attempt_outcome, and the TLS handshake on the same socket
// where the server selected a TLS-based protocol (2.2.1.2.1) — and the TLS-first retry of a listener that dropped
// the X.224 request. scanner.cpp runs these for a target and folds what they return into its report.
#include "rdp/net/asio.hpp"
#include "rdp/net/tls.hpp"
#include "rdp/probe/report.hpp"
#include "rdp/probe/scanner.hpp"
#include "rdp/protocol/classify.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rdp::probe::detail {

// What one TCP connection's negotiation produced, before it is folded into the report.
struct attempt_state {
  protocol_attempt attempt;
  std::optional<net::tls_facts> tls;
  std::optional<protocol::classification> listener;
  std::optional<net::tcp::endpoint> connected_to;
  std::optional<session_result> session;  // the session check, on the one attempt that made it
};

// Fills what an attempt asked: requested_bits, whether it is a combination, and the single protocol it names.
// Shared by attempts that run and attempts that are skipped, so both describe their request the same way.
void set_request(protocol_attempt& a, std::uint32_t requested_bits);

// One attempt: connect (after `pacer`'s turn, when given), send the X.224 Connection Request with `requested_bits`,
// and map the answer — RDP_NEG_RSP, RDP_NEG_FAILURE, a legacy confirm, an RDP hang-up, or something that is not RDP
// (protocol::classify_listener) — to an attempt_outcome with one line of evidence. Where a TLS-based protocol was
// selected, the TLS handshake follows on the same socket (verified for `verify_name`); where PROTOCOL_SSL itself was,
// and `*session_checked` is still false, the session check runs there too (check_session_over_tls) and sets it.
// Never throws for what the network or the server does.
net::asio::awaitable<attempt_state> attempt_protocol(std::vector<net::tcp::endpoint> endpoints,
                                                     std::uint32_t requested_bits,
                                                     std::shared_ptr<const probe_options> options,
                                                     std::shared_ptr<net::asio::ssl::context> tls_context,
                                                     std::shared_ptr<connection_pacer> pacer, std::string verify_name,
                                                     std::shared_ptr<bool> session_checked);

// docs/wire-facts.md 5.4: a listener that closes or resets on an X.224 request without a word may be a TLS-first
// server (OpenSSL drops a non-TLS hello silently). One more connection that starts with a ClientHello tells: the
// TLS facts when the handshake completes, nullopt otherwise.
net::asio::awaitable<std::optional<net::tls_facts>> try_tls_first(std::vector<net::tcp::endpoint> endpoints,
                                                                  std::shared_ptr<const probe_options> options,
                                                                  std::shared_ptr<net::asio::ssl::context> tls_context,
                                                                  std::string verify_name);

}  // namespace rdp::probe::detail
