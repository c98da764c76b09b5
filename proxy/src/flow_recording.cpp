// Recording the client-facing socket (flow_recording.hpp).
#include "flow_recording.hpp"

#include <chrono>

namespace rdp::proxy::detail {

namespace {

capture::ipv4_endpoint to_capture(const net::tcp::endpoint& ep) {
  capture::ipv4_endpoint out;
  if (ep.address().is_v4()) out.address = ep.address().to_v4().to_bytes();
  out.port = ep.port();
  return out;
}

}  // namespace

void begin_recording(connection& c, bool record, const net::tcp::endpoint& client, const net::tcp::endpoint& local) {
  c.recording = record;
  c.flow.client = to_capture(client);
  c.flow.server = to_capture(local);
  c.flow.opened = std::chrono::system_clock::now();
}

void record(connection& c, const state_ptr& st, capture::direction from, capture::flow_event_kind kind,
            protocol::bytes_view bytes) {
  if (!c.recording) return;
  if (c.recorded + bytes.size() > st->config.max_record_bytes) {
    c.recording = false;
    st->emit(c, event_kind::fault_applied,
             "recording stopped: more than " + std::to_string(st->config.max_record_bytes) + " bytes");
    return;
  }
  c.recorded += bytes.size();
  capture::flow_event e;
  e.at = std::chrono::system_clock::now();
  e.from = from;
  e.kind = kind;
  e.bytes.assign(bytes.begin(), bytes.end());
  c.flow.events.push_back(std::move(e));
}

}  // namespace rdp::proxy::detail
