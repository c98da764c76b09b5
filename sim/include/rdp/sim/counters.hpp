#pragma once
// What rdpsim counts (server::counters()), and each counter by its member's name: scenario expectations, reports and
// the scenario parser name counters by these words. Plain types, no Asio: the parser's fuzz build includes this alone.
#include <array>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace rdp::sim {

struct server_counters {
  std::uint64_t accepted = 0;
  std::uint64_t negotiated = 0;      // answered with RDP_NEG_RSP or a legacy CC
  std::uint64_t refused = 0;         // answered with RDP_NEG_FAILURE
  std::uint64_t tls_completed = 0;
  std::uint64_t ntlm_challenges = 0;  // CredSSP NEGOTIATEs answered with a CHALLENGE
  std::uint64_t nla_logons = 0;       // CredSSP logons accepted (NTLMv2, binding and TSCredentials)
  std::uint64_t nla_refusals = 0;     // CredSSP logons refused (an NTSTATUS, or AUTHZ_ACCESS_DENIED)
  std::uint64_t bad_requests = 0;    // not an X.224 Connection Request, or too slow
  std::uint64_t activated = 0;       // connections that reached the active state
  std::uint64_t reconnected = 0;     // auto-reconnect cookies honoured
  std::uint64_t stale_cookies = 0;   // cookies for sessions that no longer exist
  std::uint64_t disconnected_expired = 0;  // sessions logged off by the disconnected-session limit
  std::uint64_t logon_failures = 0;
  std::uint64_t sequence_failures = 0;  // clients that broke off or broke the connection sequence
  // Limits hit (server_config's limits): each is also logged.
  std::uint64_t connections_over_limit = 0;  // accepted and closed at once: max_connections were open
  std::uint64_t prelogon_timeouts = 0;       // closed at prelogon_timeout without having logged on
  std::uint64_t session_table_full = 0;      // logons refused: max_session_table sessions in the table
  std::uint64_t accept_loop_restarts = 0;    // the accept loop ended unexpectedly (a bug) and was started again
};

// Every counter by name, in declaration order. A counter added above must be added here: the static_assert says so.
using counter_member = std::uint64_t server_counters::*;
inline constexpr std::array<std::pair<std::string_view, counter_member>, 18> server_counter_members{{
    {"accepted", &server_counters::accepted},
    {"negotiated", &server_counters::negotiated},
    {"refused", &server_counters::refused},
    {"tls_completed", &server_counters::tls_completed},
    {"ntlm_challenges", &server_counters::ntlm_challenges},
    {"nla_logons", &server_counters::nla_logons},
    {"nla_refusals", &server_counters::nla_refusals},
    {"bad_requests", &server_counters::bad_requests},
    {"activated", &server_counters::activated},
    {"reconnected", &server_counters::reconnected},
    {"stale_cookies", &server_counters::stale_cookies},
    {"disconnected_expired", &server_counters::disconnected_expired},
    {"logon_failures", &server_counters::logon_failures},
    {"sequence_failures", &server_counters::sequence_failures},
    {"connections_over_limit", &server_counters::connections_over_limit},
    {"prelogon_timeouts", &server_counters::prelogon_timeouts},
    {"session_table_full", &server_counters::session_table_full},
    {"accept_loop_restarts", &server_counters::accept_loop_restarts},
}};
static_assert(sizeof(server_counters) == server_counter_members.size() * sizeof(std::uint64_t),
              "server_counters changed: name the new counter in server_counter_members");

// The counters' values with their names, in declaration order.
inline std::vector<std::pair<std::string_view, std::uint64_t>> named_counters(const server_counters& c) {
  std::vector<std::pair<std::string_view, std::uint64_t>> out;
  out.reserve(server_counter_members.size());
  for (const auto& [name, member] : server_counter_members) out.emplace_back(name, c.*member);
  return out;
}

}  // namespace rdp::sim
