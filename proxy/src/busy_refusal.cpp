// Refusing accepted connections (busy_refusal.hpp).
#include "busy_refusal.hpp"

#include "rdp/net/drain.hpp"
#include "rdp/net/read_until.hpp"
#include "rdp/net/send.hpp"
#include "rdp/net/spawn.hpp"
#include "rdp/protocol/x224.hpp"

namespace rdp::proxy::detail {

namespace {

using net::error_code;
using net::tcp;

// Connections refused for a limit that are being answered at once (each holds a descriptor for at most twice
// refusal_timeout); past this a refused connection is closed at once, so a flood of refusals is bounded too.
constexpr std::size_t max_answering_refusals = 64;
// ITU-T X.224 13.5.3 d), DR TPDU reason 1, "congestion at TSAP": one of the four reasons class 0 (RDP's, MS-RDPBCGR
// 2.2.1.1) may give, and the one that means "busy, not gone".
constexpr std::uint8_t dr_reason_congestion = 1;

// What a client refused for a connection limit meets (docs/proxy.md, "Limits"): the connection is accepted; if its
// first bytes are an X.224 Connection Request it is answered with an X.224 Disconnect Request, reason "congestion at
// TSAP" — busy, where a dead server refuses the SYN — then a FIN. Anything else (other bytes, nothing within
// refusal_timeout) gets the FIN alone. The socket is held at most twice refusal_timeout.
net::asio::awaitable<void> answer_busy(state_ptr st, std::shared_ptr<tcp::socket> held) {
  auto& socket = *held;
  const auto wait = st->config.refusal_timeout;
  protocol::byte_buffer received;
  // An X.224 Connection Request with its routing token or cookie fits in a few hundred bytes (MS-RDPBCGR 2.2.1.1).
  constexpr std::size_t request_cap = 2048;
  const auto read_ec = co_await net::read_until(socket, received, request_cap, wait, [](const protocol::byte_buffer& b) {
    const auto r = protocol::x224::decode_connection_request(b);
    return r.has_value() || !protocol::is_need_more(r.error());
  });
  if (!read_ec && !st->stopped) {
    if (const auto request = protocol::x224::decode_connection_request(received)) {
      // ITU-T X.224 13.5: a DR answering a CR carries the CR's SRC-REF as its DST-REF and SRC-REF zero.
      protocol::x224::disconnect_request dr;
      dr.dst_ref = request->value.src_ref;
      dr.reason = dr_reason_congestion;
      (void)co_await net::send(socket, protocol::x224::encode(dr), wait);
    }
  }
  if (!st->stopped) co_await net::half_close_and_drain(socket, wait, request_cap);
  error_code ignored;
  socket.close(ignored);
  st->answering.erase(held);
}

}  // namespace

// refuse_new: the connection is accepted and reset at once (an RST after the handshake), unlike a limit (refuse_busy).
void refuse(const state_ptr& st, tcp::socket socket, const std::string& why) {
  ++st->counters.refused;
  ++st->counters.resets_to_client;
  error_code ignored;
  proxy_event e;
  e.kind = event_kind::refused;
  e.detail = endpoint_text(socket.remote_endpoint(ignored)) + ": " + why;
  net::close_with_reset(socket);
  st->emit(std::move(e));
}

// A connection refused because a limit is reached: counted, said in an event with the limit and for whom, answered
// as busy (answer_busy) — or, when that many refusals are already being answered, closed at once (a FIN with no
// bytes; an RST if the client's bytes had already arrived).
void refuse_busy(const state_ptr& st, tcp::socket socket, const std::string& why) {
  ++st->counters.refused;
  error_code ignored;
  proxy_event e;
  e.kind = event_kind::refused;
  e.detail = endpoint_text(socket.remote_endpoint(ignored)) + ": " + why;
  if (st->answering.size() >= max_answering_refusals) {
    e.detail += "; closed at once (" + std::to_string(max_answering_refusals) + " refusals are being answered)";
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    st->emit(std::move(e));
    return;
  }
  e.detail += "; an X.224 Connection Request is answered with a Disconnect Request (congestion), then FIN";
  st->emit(std::move(e));
  // Counted as answering from now, not from when the coroutine first runs, so a burst cannot overshoot the cap.
  auto held = *st->answering.insert(std::make_shared<tcp::socket>(std::move(socket))).first;
  net::spawn(st->executor, answer_busy(st, std::move(held)), "rdpsim proxy: refusal");
}

}  // namespace rdp::proxy::detail
