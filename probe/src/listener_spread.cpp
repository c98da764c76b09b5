// What many connections to one port met, and whether they disagree (listener_spread.hpp). Pure.
#include "rdp/probe/listener_spread.hpp"

#include "rdp/probe/report.hpp"
#include "rdp/protocol/hex.hpp"
#include "rdp/protocol/nego.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace rdp::probe {
namespace {

using protocol::listener_kind;

// "0x0B": the requestedProtocols an RDP answer was to, as the report labels it.
std::string hex_request(std::uint32_t bits) { return protocol::hex_number(bits, 2); }

bool same_key(const spread_entry& e, const connection_met& m) {
  if (e.kind != m.kind || e.fingerprint != m.fingerprint) return false;
  return m.kind != listener_kind::rdp || e.requested_bits == m.requested_bits;
}

}  // namespace

std::optional<connection_met> met_by(const protocol_attempt& a, const std::optional<protocol::classification>& listener,
                                     std::string address) {
  connection_met m;
  m.requested_bits = a.requested_bits;
  m.evidence = a.detail;
  m.address = std::move(address);
  switch (a.outcome) {
    case attempt_outcome::skipped: return std::nullopt;
    // The RDP answers (MS-RDPBCGR 2.2.1.2): what the server chose for this request is its fingerprint.
    case attempt_outcome::selected:
      m.kind = listener_kind::rdp;
      m.fingerprint = "selected " + protocol::describe_protocol_bits(a.selected.value_or(0));
      break;
    case attempt_outcome::failure:
      m.kind = listener_kind::rdp;
      m.fingerprint = "failure " + protocol::describe_neg_failure(a.failure_code.value_or(0));
      break;
    case attempt_outcome::no_negotiation:
      m.kind = listener_kind::rdp;
      m.fingerprint = "no negotiation";
      break;
    case attempt_outcome::disconnected:
      m.kind = listener_kind::rdp;
      m.fingerprint = "disconnected";
      break;
    case attempt_outcome::refused: m.kind = listener_kind::refused; break;
    case attempt_outcome::error: m.kind = listener_kind::error; break;
    case attempt_outcome::not_rdp:
    case attempt_outcome::timeout:
    case attempt_outcome::reset:
    case attempt_outcome::closed:
      if (listener) {
        m.kind = listener->kind;
        if (protocol::identifies_listener(m.kind)) m.fingerprint = listener->detail;
      } else if (a.outcome == attempt_outcome::not_rdp) {
        // Not classified: a TPKT answer that is no valid Connection Confirm (attempt.cpp, "malformed").
        m.kind = listener_kind::tpkt_not_rdp;
        m.fingerprint = a.detail;
      } else {
        // A timeout, reset or close before the listener was classified: the connect itself, as TCP saw it.
        m.kind = a.outcome == attempt_outcome::timeout ? listener_kind::error
                 : a.outcome == attempt_outcome::reset ? listener_kind::reset
                                                        : listener_kind::closed;
      }
      break;
  }
  return m;
}

void tally::add(const connection_met& met) {
  auto it = std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return same_key(e, met); });
  if (it == entries.end()) {
    spread_entry e;
    e.kind = met.kind;
    if (met.kind == listener_kind::rdp) e.requested_bits = met.requested_bits;
    e.fingerprint = met.fingerprint;
    e.example = met.evidence;
    entries.push_back(std::move(e));
    it = entries.end() - 1;
  }
  ++it->connections;
  if (!met.address.empty() && std::find(it->addresses.begin(), it->addresses.end(), met.address) == it->addresses.end())
    it->addresses.push_back(met.address);
}

std::size_t tally::connections() const noexcept {
  std::size_t n = 0;
  for (const auto& e : entries) n += e.connections;
  return n;
}

std::size_t tally::connections_of(listener_kind kind) const noexcept {
  std::size_t n = 0;
  for (const auto& e : entries)
    if (e.kind == kind) n += e.connections;
  return n;
}

std::vector<std::string> tally::addresses() const {
  std::vector<std::string> out;
  for (const auto& e : entries)
    for (const auto& a : e.addresses)
      if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  return out;
}

bool disagree(const tally& t) {
  std::optional<listener_kind> first_spoken;
  for (const auto& e : t.entries) {
    if (!protocol::identifies_listener(e.kind)) continue;
    if (!first_spoken) first_spoken = e.kind;
    // Two kinds that spoke: RDP beside something else, or two different non-RDP programs.
    else if (*first_spoken != e.kind) return true;
  }
  // Only one kind spoke. For RDP: the same request answered two ways is two servers (or two configurations).
  for (auto a = t.entries.begin(); a != t.entries.end(); ++a) {
    if (a->kind != listener_kind::rdp) continue;
    for (auto b = a + 1; b != t.entries.end(); ++b)
      if (b->kind == listener_kind::rdp && b->requested_bits == a->requested_bits && b->fingerprint != a->fingerprint)
        return true;
  }
  return false;
}

std::string describe(const tally& t) {
  const bool several_addresses = t.addresses().size() > 1;
  const auto total = t.connections();
  std::string out = std::to_string(total) + (total == 1 ? " connection: " : " connections: ");
  // One part per kind, in the order first met: its count, what it answered (at most three of them: a healthy RDP
  // server answers each request its own way, and the detailed lines list them all), and where.
  std::vector<listener_kind> kinds;
  for (const auto& e : t.entries)
    if (std::find(kinds.begin(), kinds.end(), e.kind) == kinds.end()) kinds.push_back(e.kind);
  for (std::size_t k = 0; k < kinds.size(); ++k) {
    std::size_t count = 0, shown = 0, hidden = 0;
    std::string what;
    std::vector<std::string> addresses;
    for (const auto& e : t.entries) {
      if (e.kind != kinds[k]) continue;
      count += e.connections;
      for (const auto& a : e.addresses)
        if (std::find(addresses.begin(), addresses.end(), a) == addresses.end()) addresses.push_back(a);
      if (e.fingerprint.empty()) continue;
      if (shown == 3) {
        ++hidden;
        continue;
      }
      what += (shown++ ? "; " : "") + (e.requested_bits ? hex_request(*e.requested_bits) + ": " : "") + e.fingerprint;
    }
    if (hidden) what += "; " + std::to_string(hidden) + " more";
    out += (k ? ", " : "") + std::to_string(count) + " met " + std::string(to_string(kinds[k]));
    if (!what.empty()) out += " (" + what + ")";
    if (several_addresses && !addresses.empty()) {
      out += " at ";
      for (std::size_t i = 0; i < addresses.size(); ++i) out += (i ? " and " : "") + addresses[i];
    }
  }
  return out;
}

nlohmann::json to_json(const tally& t) {
  nlohmann::json met = nlohmann::json::array();
  for (const auto& e : t.entries)
    met.push_back({{"kind", to_string(e.kind)},
                   {"requested", e.requested_bits ? nlohmann::json(hex_request(*e.requested_bits)) : nlohmann::json()},
                   {"fingerprint", e.fingerprint},
                   {"connections", e.connections},
                   {"example", e.example},
                   {"addresses", e.addresses}});
  return {{"connections", t.connections()}, {"disagree", disagree(t)}, {"met", std::move(met)}};
}

}  // namespace rdp::probe
