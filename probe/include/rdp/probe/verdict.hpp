#pragma once
// The probe's verdict without I/O: what the attempts of one target (report.hpp) add up to. Pure — no sockets, no
// clocks — so every verdict it can give is tested from hand-built reports (tests/unit_probe). The names of verdicts
// and attempt outcomes (to_string) and the --count statistics (summarize) are declared in report.hpp next to the
// types and defined with this in verdict.cpp.
#include "rdp/probe/report.hpp"

namespace rdp::probe {

// Sets report.result and report.evidence from report.protocols (the single-protocol attempts; the combinations only
// show what real clients would get) and report.session. In order:
//  - the connections disagree about what listens (disagree(report.spread), listener_spread.hpp): listener-conflict,
//    the evidence counting what they met;
//  - no attempt got an RDP answer (a selection, a failure code, a legacy confirm, an RDP hang-up): by precedence
//    not-rdp, refused, timeout, reset, closed, another socket error (as closed), with the evidence of the first
//    attempt that ended so; timeout "no attempt was made" when every attempt was skipped;
//  - an attempt whose TLS handshake failed after the server selected a TLS-based protocol: tls-failed;
//  - the session check saw the server tear the session down (tears_down): session-error;
//  - no attempt got the protocol it asked for: negotiation-failed;
//  - otherwise rdp, naming the protocols supported.
// The verdicts of the other phases (dns-failed, internal-error, login-failed, reconnect-failed) are set by the scan.
void decide_verdict(target_report& report);

}  // namespace rdp::probe
