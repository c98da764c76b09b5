// The phase tracker of a relayed RDP stream (stream_phase.hpp): one small state machine per direction.
#include "rdp/protocol/stream_phase.hpp"

#include "rdp/protocol/errc.hpp"
#include "rdp/protocol/tpkt.hpp"
#include "rdp/protocol/x224.hpp"

#include <algorithm>
#include <variant>

namespace rdp::protocol::stream_phase {
namespace {

// TLS record content types (RFC 8446 5.1, RFC 5246 6.2.1) and handshake message types (RFC 8446 4).
constexpr std::uint8_t tls_change_cipher_spec = 20;
constexpr std::uint8_t tls_handshake = 22;
constexpr std::uint8_t tls_application_data = 23;
constexpr std::uint8_t tls_client_hello_type = 1;
constexpr std::uint8_t tls_server_hello_type = 2;
constexpr std::size_t tls_record_header = 5;
// RFC 8446 5.2: a TLSCiphertext fragment is at most 2^14 + 256 bytes; TLS 1.2 allows 2^14 + 2048.
constexpr std::size_t tls_max_record_body = (1u << 14) + 2048;

}  // namespace

std::string_view to_string(milestone m) noexcept {
  switch (m) {
    case milestone::x224_request: return "x224-request";
    case milestone::x224_confirm: return "x224-confirm";
    case milestone::tls_client_hello: return "tls-client-hello";
    case milestone::tls_server_hello: return "tls-server-hello";
    case milestone::tls_established: return "tls-established";
    case milestone::first_app_data: return "first-app-data";
    case milestone::not_rdp: return "not-rdp";
    case milestone::lost: return "lost";
  }
  return "?";
}

std::size_t tracker::buffered() const noexcept {
  return client_.frame.size() + client_.header_have + server_.frame.size() + server_.header_have;
}

void tracker::finish(direction from, milestone what, std::string_view detail, std::vector<phase_event>& out) {
  out.push_back(phase_event{what, from, std::nullopt, detail});
  done_ = true;
  client_.frame = {};
  server_.frame = {};
}

void tracker::feed(direction from, bytes_view bytes, std::vector<phase_event>& out) {
  if (done_) return;
  feed_side(from, from == direction::from_client ? client_ : server_, bytes, out);
}

void tracker::feed_side(direction from, side_state& s, bytes_view bytes, std::vector<phase_event>& out) {
  // Each step consumes part of `bytes` and may move the stage on; every step consumes at least one byte or ends
  // the loop, so it ends within bytes.size() steps.
  while (!bytes.empty() && !done_) {
    switch (s.at) {
      case stage::x224:
        bytes = bytes.subspan(feed_x224(from, s, bytes, out));
        break;
      case stage::after_x224:
        if (bytes[0] == tls_handshake) {
          s.at = stage::tls;
        } else if (from == direction::from_client) {
          // Standard RDP Security: MCS Connect Initial in a TPKT frame, in the clear. Nothing further to follow.
          finish(from, milestone::first_app_data, {}, out);
          return;
        } else {
          s.at = stage::idle;  // the server speaks in the clear after the client; the client side says when
        }
        break;
      case stage::tls:
        bytes = bytes.subspan(feed_tls(from, s, bytes, out));
        break;
      case stage::idle:
        return;
    }
  }
}

std::size_t tracker::feed_x224(direction from, side_state& s, bytes_view bytes, std::vector<phase_event>& out) {
  const bool client = from == direction::from_client;
  if (s.frame.empty() && bytes[0] != tpkt::version) {
    if (client)
      finish(from, milestone::not_rdp, "the client's first byte is not TPKT version 3", out);
    else
      finish(from, milestone::lost, "the server's first byte is not TPKT version 3", out);
    return bytes.size();
  }
  // First the 4-byte TPKT header, then up to the length it gives: never more than one frame is copied.
  const milestone failed = client ? milestone::not_rdp : milestone::lost;
  std::size_t want = tpkt::header_size;
  if (s.frame.size() >= tpkt::header_size) want = static_cast<std::size_t>(s.frame[2]) << 8 | s.frame[3];
  const std::size_t take = std::min(want - s.frame.size(), bytes.size());
  s.frame.insert(s.frame.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(take));
  if (s.frame.size() == tpkt::header_size && want == tpkt::header_size) {
    // The header is complete: check the length it gives before collecting that much.
    auto header = tpkt::peek_frame(s.frame);
    if (!header || header->length <= tpkt::header_size) {
      finish(from, failed, "bad TPKT header", out);
      return bytes.size();
    }
    if (header->length > max_x224_frame) {
      finish(from, failed, "X.224 frame longer than the tracker follows", out);
      return bytes.size();
    }
    return take;
  }
  if (s.frame.size() < want) return take;
  phase_event event{client ? milestone::x224_request : milestone::x224_confirm, from, std::nullopt, {}};
  if (client) {
    auto cr = x224::decode_connection_request(s.frame);
    if (!cr) {
      finish(from, failed, "the client's first frame is not an X.224 Connection Request", out);
      return bytes.size();
    }
    if (cr->value.negotiation) event.protocols = cr->value.negotiation->requested_protocols;
  } else {
    auto cc = x224::decode_connection_confirm(s.frame);
    if (!cc) {
      finish(from, failed, "the server's first frame is not an X.224 Connection Confirm", out);
      return bytes.size();
    }
    if (const auto* rsp = std::get_if<neg_response>(&cc->value.negotiation)) event.protocols = rsp->selected_protocol;
  }
  out.push_back(event);
  s.frame = {};  // give the memory back: the frame is never needed again
  s.at = stage::after_x224;
  return take;
}

std::size_t tracker::feed_tls(direction from, side_state& s, bytes_view bytes, std::vector<phase_event>& out) {
  if (s.body_left > 0) {
    const std::size_t skip = std::min(s.body_left, bytes.size());
    s.body_left -= skip;
    return skip;
  }
  // The header first; then, for the first handshake record of each direction, one byte more: the handshake
  // message type. Never a byte of the next record.
  const std::size_t want = s.header_have < tls_record_header ? tls_record_header : tls_record_header + 1;
  const std::size_t take = std::min(want - s.header_have, bytes.size());
  std::copy_n(bytes.begin(), take, s.header.begin() + static_cast<std::ptrdiff_t>(s.header_have));
  s.header_have += take;
  if (s.header_have < tls_record_header) return take;
  const std::uint8_t type = s.header[0];
  const std::size_t length = static_cast<std::size_t>(s.header[3]) << 8 | s.header[4];
  if (type < tls_change_cipher_spec || type > tls_application_data || s.header[1] != 3) {
    finish(from, milestone::lost, "not a TLS record header", out);
    return bytes.size();
  }
  if (length > tls_max_record_body) {
    finish(from, milestone::lost, "TLS record length out of range", out);
    return bytes.size();
  }
  if (type == tls_handshake && !s.hello_seen && length > 0) {
    if (s.header_have < tls_record_header + 1) return take;  // the handshake type comes next
    s.hello_seen = true;
    const std::uint8_t message = s.header[5];
    const bool client = from == direction::from_client;
    if (client && message == tls_client_hello_type)
      out.push_back(phase_event{milestone::tls_client_hello, from, std::nullopt, {}});
    else if (!client && message == tls_server_hello_type)
      out.push_back(phase_event{milestone::tls_server_hello, from, std::nullopt, {}});
    // The type byte belongs to the body: count it as passed.
    s.body_left = length - 1;
  } else {
    s.body_left = length;
    if (type == tls_application_data) {
      if (established_) {
        finish(from, milestone::first_app_data, {}, out);
        return bytes.size();
      }
      s.app_data_seen = true;
      if (client_.app_data_seen && server_.app_data_seen) {
        established_ = true;
        out.push_back(phase_event{milestone::tls_established, from, std::nullopt, {}});
      }
    }
    // change_cipher_spec (20) and alert (21) records are skipped like the handshake after the hello
  }
  s.header_have = 0;
  return take;
}

}  // namespace rdp::protocol::stream_phase
