#pragma once
// Follows the clear-text part of an RDP connection as a relay sees it — the X.224 Connection Request and Confirm
// (MS-RDPBCGR 2.2.1.1, 2.2.1.2), the TLS ClientHello and ServerHello, the end of the TLS handshake and the first
// application data — from the bytes of each direction in any split, and says when there is nothing more to follow
// (done: the relay may forward without looking). Pure: no I/O, no clock. Memory is bounded: at most one X.224
// CR/CC frame (cap max_x224_frame) before the negotiation, and a TLS record's 5-byte header plus one byte after it.
#include "rdp/protocol/bytes.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace rdp::protocol::stream_phase {

enum class direction { from_client, from_server };

enum class milestone {
  x224_request,      // the client's X.224 Connection Request (protocols: requestedProtocols if RDP_NEG_REQ present)
  x224_confirm,      // the server's Connection Confirm (protocols: selectedProtocol if RDP_NEG_RSP present)
  tls_client_hello,  // a TLS handshake record (type 22) whose first message is ClientHello (1), from the client
  tls_server_hello,  // the same with ServerHello (2), from the server
  // Application data records (type 23) have begun in both directions. In TLS 1.2 that is after both Finished
  // messages; in TLS 1.3 the encrypted handshake already travels in type-23 records, so it is when the client's
  // Finished has passed — in both, the point after which the handshake can no longer be seen.
  tls_established,
  first_app_data,  // the first application data after tls_established (TLS) or after the Confirm (Standard RDP
                   // Security, which is TPKT/fast-path in the clear)
  not_rdp,         // the client's first bytes are not a TPKT X.224 Connection Request
  lost,            // a later part of the stream is not what RDP sends there (detail says what); nothing more follows
};
std::string_view to_string(milestone m) noexcept;  // "x224-request", "tls-established", "not-rdp", …

struct phase_event {
  milestone what;
  direction from;
  std::optional<std::uint32_t> protocols;  // see milestone
  std::string_view detail;                 // static text for not_rdp / lost, empty otherwise
};

// The largest Connection Request or Confirm followed. Windows' and FreeRDP's are under 100 bytes; routing tokens
// (load balancers' "Cookie: msts=") make them a little longer. A longer frame ends the following with `lost`.
inline constexpr std::size_t max_x224_frame = 2048;

class tracker {
 public:
  // Feeds `bytes` that passed in direction `from`; appends what they completed to `out`, in stream order.
  // Once done() the bytes are ignored.
  void feed(direction from, bytes_view bytes, std::vector<phase_event>& out);
  // Nothing more can be followed (first application data seen, not RDP, or lost): stop feeding.
  bool done() const noexcept { return done_; }
  // Bytes held right now (for tests of the bound).
  std::size_t buffered() const noexcept;

 private:
  enum class stage {
    x224,        // collecting the CR (client) or CC (server) frame
    after_x224,  // the next byte says what follows: 0x16 TLS, 0x03 TPKT / other fast-path in the clear
    tls,         // walking TLS record headers
    idle,        // nothing more to see in this direction (waiting for the other)
  };
  struct side_state {
    stage at = stage::x224;
    byte_buffer frame;                      // the X.224 frame so far (stage x224 only)
    std::array<std::uint8_t, 6> header{};   // a TLS record header and the first body byte
    std::size_t header_have = 0;
    std::size_t body_left = 0;              // bytes of the current record's body not yet passed
    bool hello_seen = false;                // the first handshake record was looked into
    bool app_data_seen = false;             // a type-23 record passed in this direction
  };

  void feed_side(direction from, side_state& s, bytes_view bytes, std::vector<phase_event>& out);
  std::size_t feed_x224(direction from, side_state& s, bytes_view bytes, std::vector<phase_event>& out);
  std::size_t feed_tls(direction from, side_state& s, bytes_view bytes, std::vector<phase_event>& out);
  void finish(direction from, milestone what, std::string_view detail, std::vector<phase_event>& out);

  side_state client_, server_;
  bool established_ = false;
  bool done_ = false;
};

}  // namespace rdp::protocol::stream_phase
