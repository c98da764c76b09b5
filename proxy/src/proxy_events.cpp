// The proxy's events (fault_proxy.hpp): their words, their JSON line, and how the relay emits them — stamped with the
// system clock, and none once the proxy has stopped.
#include "proxy_state.hpp"

#include <nlohmann/json.hpp>

#include <chrono>

namespace rdp::proxy {

std::string_view to_string(event_kind k) noexcept {
  switch (k) {
    case event_kind::accepted: return "accepted";
    case event_kind::upstream_connected: return "upstream-connected";
    case event_kind::upstream_failed: return "upstream-failed";
    case event_kind::refused: return "refused";
    case event_kind::phase: return "phase";
    case event_kind::fault_applied: return "fault-applied";
    case event_kind::idle_expired: return "idle-expired";
    case event_kind::closed: return "closed";
    case event_kind::listener_down: return "listener-down";
    case event_kind::listener_up: return "listener-up";
    case event_kind::listener_failed: return "listener-failed";
  }
  return "?";
}

std::string_view to_string(closer c) noexcept {
  switch (c) {
    case closer::client: return "client";
    case closer::server: return "server";
    case closer::proxy: return "proxy";
  }
  return "?";
}

std::string_view to_string(close_how h) noexcept {
  switch (h) {
    case close_how::fin: return "fin";
    case close_how::rst: return "rst";
    case close_how::deadline: return "deadline";
    case close_how::error: return "error";
  }
  return "?";
}

std::string to_json_line(const proxy_event& e) {
  using json = nlohmann::json;
  auto word_or_null = [](const auto& v) { return v ? json(std::string(to_string(*v))) : json(nullptr); };
  json j{{"connection", e.connection ? json(e.connection) : json(nullptr)},
         {"at_us", e.at_us},
         {"event", std::string(to_string(e.kind))},
         {"phase", word_or_null(e.reached)},
         {"who", word_or_null(e.who)},
         {"how", word_or_null(e.how)},
         {"toward", word_or_null(e.toward)},
         {"bytes_from_client", e.bytes_from_client},
         {"bytes_from_server", e.bytes_from_server},
         {"detail", e.detail.empty() ? json(nullptr) : json(e.detail)}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

namespace {

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void fault_proxy::state::emit(proxy_event e) {
  if (stopped || !config.on_event) return;
  e.at_us = now_us();
  config.on_event(e);
}

void fault_proxy::state::emit(const detail::connection& c, event_kind kind, std::string detail) {
  proxy_event e;
  e.connection = c.id;
  e.kind = kind;
  e.bytes_from_client = c.from_client;
  e.bytes_from_server = c.from_server;
  e.detail = std::move(detail);
  emit(std::move(e));
}

void fault_proxy::state::emit_closed(const detail::connection& c, closer who, close_how how,
                                     std::optional<closer> toward, std::string detail) {
  proxy_event e;
  e.connection = c.id;
  e.kind = event_kind::closed;
  e.who = who;
  e.how = how;
  e.toward = toward;
  e.bytes_from_client = c.from_client;
  e.bytes_from_server = c.from_server;
  e.detail = std::move(detail);
  emit(std::move(e));
}

}  // namespace rdp::proxy
