#pragma once
// rdpsim's side of the first CredSSP round trip (MS-CSSP 3.1.5 step 1, MS-NLMP 3.2.5.1.1): read the client's
// TSRequest carrying an NTLM NEGOTIATE, answer with a TSRequest carrying a CHALLENGE that names a configured
// machine. That is as far as nmap's rdp-ntlm-info and rdpprobe go; nothing here authenticates anyone.
#include "rdp/net/asio.hpp"
#include "rdp/protocol/credssp_server.hpp"
#include "rdp/protocol/ntlm.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace rdp::sim {

// Who the server says it is, its TSRequest.version and its CHALLENGE are pure and live in protocol/ (the server
// connection state machine uses them too); the names stay here for rdpsim's callers.
using ntlm_identity = protocol::ntlm_identity;
using protocol::make_challenge;
using protocol::responder_credssp_version;

// Reads one TSRequest carrying an NTLM NEGOTIATE from an established TLS stream and answers with a TSRequest carrying
// an NTLM CHALLENGE for `identity` (timestamp = now). Returns the client's TSRequest.version, or nullopt if the client
// sent something else or timed out. `timeout` bounds the whole read and the write each; at most 64 KiB of request is
// buffered.
net::asio::awaitable<std::optional<std::int64_t>> answer_ntlm_negotiate(
    net::asio::ssl::stream<net::tcp::socket&>& tls, ntlm_identity identity, net::milliseconds timeout);

// After the CHALLENGE, a real client sends its NTLM AUTHENTICATE (and the public-key binding). rdpsim does not
// authenticate NLA logons, so rather than leave the client waiting for a reply it never gets (xfreerdp: "Timeout
// waiting for activation" after ~10 s), this reads that TSRequest (bounded by `timeout`), answers a client of CredSSP
// version 3 or later with TSRequest.errorCode STATUS_NOT_SUPPORTED, and returns the sentence rdpsim logs — empty
// when the client closed or sent nothing more (a probe that stopped at the CHALLENGE). The caller closes.
net::asio::awaitable<std::string> refuse_ntlm_authenticate(net::asio::ssl::stream<net::tcp::socket&>& tls,
                                                           std::int64_t client_version, net::milliseconds timeout);

}  // namespace rdp::sim
