#pragma once
// A pcap file (libpcap's classic format, DLT_EN10MB) of recorded TCP flows (flow.hpp): Ethernet / IPv4 / TCP
// packets synthesized from the byte stream one side's socket saw, so that Wireshark and tshark dissect them as
// TPKT, X.224, T.125 and TLS without "Decode As" (docs/pcap.md).
//
// What is real and what is reconstructed. Real: the bytes each way, their order, the time each write or read passed,
// and how each side closed (FIN, RST). Reconstructed: the handshake (SYN, SYN-ACK, ACK at `opened`), the
// segmentation (every data event is cut into segments of at most the MSS, then the peer ACKs it), sequence and
// acknowledgement numbers, the IP ids, the MAC addresses, and the server port (pcap_options::server_port, 3389 by
// default: Wireshark's RDP dissector finds the flow by that port; a loopback test's server listens on a random one).
// A live capture would need CAP_NET_RAW and would see the real ports; this needs neither.
//
// A record that no TCP could produce (data or a FIN after the same side's FIN, anything after a RST, events out of
// time order) is made consistent, never a crash: the impossible events are skipped and counted, times that go
// backwards are held at the latest time so far. Data events with no bytes are skipped without counting.
#include "rdp/capture/flow.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace rdp::capture {

struct pcap_options {
  // The server's port in the pcap; 0 keeps the recorded one. 3389 lets Wireshark's TPKT/RDP dissector pick the flow
  // up by port.
  std::uint16_t server_port = 3389;
  // The MSS both sides announce in their SYN (and the largest segment written). Ethernet's 1460 by default.
  std::uint16_t mss = 1460;
  // true: SYN and SYN-ACK carry MSS and window-scale options (as Linux sends). false: no options, so the segments are
  // at most 536 bytes, the MSS a TCP must assume when none is announced (RFC 9293 3.7.1), and windows are unscaled.
  bool syn_options = true;
};

// A pcap file could not be opened, written or flushed; what() names the file and libpcap's reason.
class capture_error : public std::runtime_error {
 public:
  capture_error(const std::filesystem::path& file, const std::string& what);
  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
};

// What writing flows produced: packets written, and events of a record that no TCP could produce, skipped.
struct pcap_summary {
  std::size_t packets = 0;
  std::size_t skipped_events = 0;
};

// One frame as it goes into the file: its timestamp and its Ethernet frame.
struct pcap_packet {
  std::chrono::system_clock::time_point at;
  std::vector<std::uint8_t> frame;
};

// The packets of `flows`, interleaved by time (a stable merge: packets at the same instant keep flow order). Pure:
// the writer below files exactly these. Flows that share a client address, client port, server address and server
// port get the next free client port, so that each flow is one TCP stream in Wireshark. `summary` (may be null)
// gets the counts.
std::vector<pcap_packet> synthesize_packets(const std::vector<tcp_flow>& flows, const pcap_options& options = {},
                                            pcap_summary* summary = nullptr);

// An open pcap file that flows are appended to; each write is flushed at once, so a run stopped by Ctrl-C keeps
// every flow written so far. Not thread-safe: one owner.
class pcap_writer {
 public:
  // Creates (or truncates) `file`. Throws capture_error.
  explicit pcap_writer(const std::filesystem::path& file, const pcap_options& options = {});
  pcap_writer(pcap_writer&&) noexcept;
  pcap_writer& operator=(pcap_writer&&) noexcept;
  ~pcap_writer();

  // Appends `flows` (their packets interleaved by time among themselves) and flushes. Client ports already used in
  // this file are not used again. Throws capture_error.
  pcap_summary write(const std::vector<tcp_flow>& flows);
  pcap_summary write(const tcp_flow& flow);
  // Flushes and closes; later writes throw. The destructor closes too (without throwing).
  void close();
  const std::filesystem::path& file() const;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

// The whole pcap file of `flows` (header and records, as write_pcap would write them), in memory. Throws
// capture_error. `summary` (may be null) gets the counts.
std::string pcap_file_bytes(const std::vector<tcp_flow>& flows, const pcap_options& options = {},
                            pcap_summary* summary = nullptr);

// Writes `flows` to a new pcap `file` (pcap_writer + one write). Throws capture_error naming the file.
pcap_summary write_pcap(const std::filesystem::path& file, const std::vector<tcp_flow>& flows,
                        const pcap_options& options = {});

}  // namespace rdp::capture
