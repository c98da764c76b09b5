#pragma once
// First-response classifier: what is listening on an "RDP" port when it is not RDP (docs/wire-facts.md 5.2-5.4).
// The shape of Boost.Beast's detect_ssl: a pure tri-state over the first bytes a listener sent —
// a classification, or errc::need_more while the stream is open and more bytes could change the answer.
//
// Finality: while the stream is open, the classifier answers only once the answer can no longer change.
// If classify_listener({prefix, open}) gives a classification, every longer input that starts with the same
// bytes, with any stream_end, gives the same classification (kind and detail). Each rule reads a bounded
// window (at most 4096 bytes), so the cost does not grow with the input.
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/errc.hpp"

#include <boost/system/result.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace rdp::protocol {

// How the stream stood after the last received byte.
enum class stream_end { open, closed, reset, timed_out };

std::string_view to_string(stream_end e) noexcept;  // "open", "closed", "reset", "timed-out"

// What answered at a port: the one vocabulary of listener kinds, for rdpprobe's `listener.kind` and its
// `listener_spread` alike (docs/verdicts.md). rdp … binary name a listener that spoke, classified by its first
// response; silent, closed and reset say how the stream ended with nothing received; refused and error are what the
// TCP connect met before there was a stream — classify_listener never returns those two (the probe's tally of
// connections counts them, probe/listener_spread.hpp).
enum class listener_kind {
  rdp,           // X.224 Connection Confirm (TPKT 03 00, TPDU code 0xD0) — including an RDP_NEG_FAILURE, still RDP
  tpkt_not_rdp,  // a TPKT speaker answering with another TPDU (e.g. 0xF0 data, 0x80 DR, 0x70 ER)
  tls,           // a TLS record: alert (0x15) or handshake (0x16) — a TLS-first server
  http,          // "HTTP/" status line, or an HTML body (Python http.server answers with HTML only)
  ssh,           // "SSH-" banner
  smb,           // NetBIOS session + \xFESMB or \xFFSMB
  vnc,           // "RFB 003.00x\n"
  banner,        // printable text line (FTP/SMTP "220 ...", POP "+OK", anything readable)
  binary,        // bytes that match nothing above
  silent,        // nothing received and the stream timed out while open
  closed,        // nothing received and the peer closed (FIN) — e.g. OpenSSL s_server dropping a non-TLS hello
  reset,         // nothing received and the peer reset the connection
  refused,       // the TCP connect was refused
  error,         // another connect error (connect timeout, unreachable …)
};

// "rdp", "tpkt-not-rdp", "tls", "http", "ssh", "smb", "vnc", "banner", "binary", "silent", "closed", "reset",
// "refused", "error".
std::string_view to_string(listener_kind kind) noexcept;

// A listener spoke (rdp … binary), as opposed to what the transport did (silent … error): only the former says which
// program owns a socket (an overloaded RDP server is silent or resets sometimes too).
bool identifies_listener(listener_kind kind) noexcept;

// Everything the probe saw from the listener.
struct listener_observation {
  bytes_view received;           // every byte the listener sent, in order
  bool spoke_first = false;      // it sent bytes before we sent our X.224 Connection Request (server-first protocol)
  stream_end end = stream_end::open;
};

// Upper bound on classification::detail, in characters.
inline constexpr std::size_t max_classification_detail = 200;

// The verdict and the evidence for it.
struct classification {
  listener_kind kind;
  // Human evidence, e.g. "X.224 Connection Confirm", "HTTP/1.1 400 Bad Request; Server: nginx/1.22.1",
  // "SSH-2.0-OpenSSH_9.2p1", "TLS alert fatal unexpected_message (10), record version 3.1", "14 bytes: 7f 45 4c ...".
  // Only printable ASCII (other bytes appear as \xNN), at most max_classification_detail characters.
  std::string detail;

  friend bool operator==(const classification&, const classification&) = default;
};

// Classifies a listener by its first response. errc::need_more while the stream is open and more bytes could change
// the answer or complete the detail (an HTTP header block not yet ended, fewer than 6 bytes of a TPKT, a text line
// without its end, ...). Once the stream has ended (closed/reset/timed_out) it always returns a classification.
// Never throws on any input (only std::bad_alloc can escape), never reads out of bounds.
boost::system::result<classification> classify_listener(const listener_observation& obs);

}  // namespace rdp::protocol
