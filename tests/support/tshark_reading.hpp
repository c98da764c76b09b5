#pragma once
// How the suite's tests have tshark read the pcaps rdp::capture writes (docs/pcap.md 3, fact 7).
//
// CredSSP never travels bare over TPKT: on port 3389 it is inside TLS. Yet Wireshark 4.0's heuristic `credssp_tpkt`
// tries every segment the TPKT dissector holds as a continuation, and tshark 4.0 holds every TLS record after the
// X.224 negotiation that way (fact 2). A TCP segment of ciphertext that happens to start like a DER SEQUENCE (0x30,
// about one segment in 256 that starts inside a record) is then dissected as a TSRequest and flagged malformed, in a
// capture of real traffic as in ours. The heuristic off, real CredSSP is still found inside TLS (`credssp_tls`).
// tests/scripts/scenario_test.sh passes the same option.
namespace rdp::test {
inline constexpr const char* tshark_reading_options = " --disable-heuristic credssp_tpkt ";
}
