#pragma once
// rdpsim's side of the first CredSSP round trip (MS-CSSP 3.1.5 step 1, MS-NLMP 3.2.5.1.1) is played by the server
// state machine (protocol/server_sequence.hpp) with the pure pieces of protocol/credssp_server.hpp: who the server
// says it is, its TSRequest.version and its CHALLENGE. The names stay here for rdpsim's configuration and callers.
#include "rdp/protocol/credssp_server.hpp"

namespace rdp::sim {

using ntlm_identity = protocol::ntlm_identity;
using protocol::make_challenge;
using protocol::responder_credssp_version;

}  // namespace rdp::sim
