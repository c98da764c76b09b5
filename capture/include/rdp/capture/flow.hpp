#pragma once
// A TCP flow as one side saw it — the bytes each way in order, with when they passed and how each side closed —
// and a pcap of flows (pcap.hpp). The fault proxy records its client-facing connections in this form; the scenario
// runner writes them out with `--pcap`. No I/O here.
#include <array>
#include <chrono>
#include <cstdint>
#include <vector>

namespace rdp::capture {

struct ipv4_endpoint {
  std::array<std::uint8_t, 4> address{127, 0, 0, 1};
  std::uint16_t port = 0;
};

enum class direction { from_client, from_server };

enum class flow_event_kind {
  data,   // `bytes` passed in `from`'s direction
  fin,    // `from` closed its sending side (FIN)
  reset,  // `from` reset the connection (RST)
};

struct flow_event {
  std::chrono::system_clock::time_point at;  // when it passed (pcap timestamps, µs resolution)
  direction from = direction::from_client;
  flow_event_kind kind = flow_event_kind::data;
  std::vector<std::uint8_t> bytes;  // data only
};

struct tcp_flow {
  ipv4_endpoint client, server;
  std::chrono::system_clock::time_point opened;  // the SYN
  std::vector<flow_event> events;                // in order of `at`
};

}  // namespace rdp::capture
