#pragma once
// rdpsim's control interface: what an administrator does to a Windows RDP host with `query session`, `query user`,
// `logoff`, `reset session`, `tsdiscon`, a TermService restart and Group Policy, done to the simulator over a
// loopback TCP port with one JSON object per line each way (docs/control.md). The server side calls a
// `session_admin` (sessions.hpp) directly on the simulator's executor; `rdpsim ctl` is the client.
//
// One header per job: control_requests.hpp (what a request line does, no I/O), control_token.hpp (the token and its
// file), control_server.hpp (the listener and its connections), control_client.hpp (`rdpsim ctl`'s call). This one
// includes them all.
#include "rdp/sim/control_client.hpp"
#include "rdp/sim/control_requests.hpp"
#include "rdp/sim/control_server.hpp"
#include "rdp/sim/control_token.hpp"
#include "rdp/sim/sessions.hpp"
