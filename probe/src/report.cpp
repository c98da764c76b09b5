#include "rdp/probe/report.hpp"

#include "rdp/net/json.hpp"
#include "rdp/probe/login_check.hpp"
#include "rdp/probe/ntlm_info.hpp"
#include "rdp/probe/standard_security.hpp"
#include "rdp/probe/wire_json.hpp"
#include "rdp/protocol/hex.hpp"
#include "rdp/protocol/text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <ostream>

namespace rdp::probe {
namespace {

using protocol::hex32;

using nlohmann::json;

// A timing in milliseconds, to the microsecond (net::rounded_or_null); short, because every timings_ms member uses it.
constexpr auto ms = &net::rounded_or_null;

json certificate_json(const net::certificate_facts& c) {
  return json{{"subject", c.subject},
              {"issuer", c.issuer},
              {"subject_alt_names", c.subject_alt_names},
              {"not_before", c.not_before},
              {"not_after", c.not_after},
              {"days_left", c.days_left},
              {"key_type", c.key_type},
              {"key_bits", c.key_bits},
              {"signature_algorithm", c.signature_algorithm},
              {"sha256", c.sha256},
              {"self_signed", c.self_signed}};
}

// Any text that is not one of our own constant names may hold bytes from the wire (or from a targets file): shown
// escaped, so that a certificate name cannot move the cursor, retitle the window or fake a line of the report.
std::string term(std::string_view s) { return protocol::escape_for_terminal(s); }

using net::hex32_or_null;
using net::text_or_null;
using net::value_or_null;

// "0x0B": a requestedProtocols value as the report labels it (the tally's "requested" too, listener_spread.cpp).
std::string combination_label(std::uint32_t bits) { return protocol::hex_number(bits, 2); }

std::string fmt_ms(const std::optional<double>& v) {
  if (!v) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f ms", *v);
  return buf;
}

json attempt_json(const protocol_attempt& a) {
  json p{{"outcome", to_string(a.outcome)},
         {"supported", a.supported},
         {"selected", a.selected ? json(protocol::describe_protocol_bits(*a.selected)) : json(nullptr)},
         {"failure", a.failure_code ? json(protocol::describe_neg_failure(*a.failure_code)) : json(nullptr)},
         {"detail", a.detail},
         {"timings_ms", {{"connect", ms(a.connect_ms)}, {"negotiation", ms(a.negotiation_ms)}, {"tls", ms(a.tls_ms)}}}};
  if (a.outcome == attempt_outcome::selected) p["response_flags"] = protocol::describe_neg_response_flags(a.response_flags);
  if (a.tls_attempted) p["tls_error"] = a.tls_error ? json(*a.tls_error) : json(nullptr);
  return p;
}

}  // namespace

std::string_view to_string(session_outcome o) noexcept {
  switch (o) {
    case session_outcome::connect_response: return "connect-response";
    case session_outcome::disconnect_provider_ultimatum: return "disconnect-provider-ultimatum";
    case session_outcome::x224_disconnect_request: return "x224-disconnect-request";
    case session_outcome::set_error_info: return "set-error-info";
    case session_outcome::reset: return "reset";
    case session_outcome::closed: return "closed";
    case session_outcome::no_answer: return "no-answer";
    case session_outcome::error: return "error";
  }
  return "unknown";
}

bool tears_down(session_outcome o) noexcept {
  switch (o) {
    case session_outcome::disconnect_provider_ultimatum:
    case session_outcome::x224_disconnect_request:
    case session_outcome::set_error_info:
    case session_outcome::reset:
    case session_outcome::closed: return true;
    case session_outcome::connect_response:
    case session_outcome::no_answer:
    case session_outcome::error: return false;
  }
  return false;
}

nlohmann::json to_json(const session_result& s) {
  return json{{"over", s.over},
              {"outcome", to_string(s.outcome)},
              {"torn_down", tears_down(s.outcome)},
              {"detail", s.detail},
              {"error_info", hex32_or_null(s.error_info)},
              {"error_info_name", text_or_null(s.error_info_name)},
              {"error_info_meaning", text_or_null(s.error_info_meaning)},
              {"error_info_session_fate", text_or_null(s.error_info_session_fate)},
              {"disconnect_reason", text_or_null(s.disconnect_reason_name)},
              {"disconnect_reason_code", value_or_null(s.disconnect_reason)},
              {"rdp_version", hex32_or_null(s.rdp_version)},
              {"rdp_version_name", text_or_null(s.rdp_version_name)},
              {"client_requested_protocols",
               s.client_requested_protocols ? json(protocol::describe_protocol_bits(*s.client_requested_protocols))
                                            : json(nullptr)},
              {"early_capability_flags",
               hex32_or_null(s.early_capability_flags)},
              {"timings_ms", {{"mcs", ms(s.mcs_ms)}}}};
}

nlohmann::json to_json(const target_report& r) {
  json protocols = json::object();
  for (const auto& a : r.protocols) protocols[std::string(protocol::to_string(a.requested))] = attempt_json(a);
  json combinations = json::object();
  for (const auto& a : r.combinations) {
    auto j = attempt_json(a);
    j["requested"] = protocol::describe_protocol_bits(a.requested_bits);
    combinations[combination_label(a.requested_bits)] = std::move(j);
  }
  json tls = nullptr;
  if (r.tls) {
    tls = json{{"version", r.tls->version},
               {"cipher", r.tls->cipher},
               {"group", r.tls->group.empty() ? json(nullptr) : json(r.tls->group)},
               {"cert_sha256", r.tls->certificate ? json(r.tls->certificate->sha256) : json(nullptr)},
               {"certificate", r.tls->certificate ? certificate_json(*r.tls->certificate) : json(nullptr)},
               {"chain", json::array()},
               {"verification", r.tls->verification
                                    ? json{{"trusted", r.tls->verification->trusted},
                                           {"error", r.tls->verification->error.empty() ? json(nullptr)
                                                                                         : json(r.tls->verification->error)},
                                           {"name", r.tls->verification->name},
                                           {"trust_store", r.tls->trust_store},
                                           {"built_chain", r.tls->verification->built_chain}}
                                    : json(nullptr)}};
    for (const auto& c : r.tls->chain) tls["chain"].push_back(certificate_json(c));
  }
  json listener = nullptr;
  if (r.listener) listener = json{{"kind", protocol::to_string(r.listener->kind)}, {"detail", r.listener->detail}};
  json repeated = nullptr;
  if (!r.repeated.empty()) {
    repeated = json::object();
    for (const auto& [phase, t] : r.repeated)
      repeated[phase] = json{{"samples", t.samples}, {"min", ms(t.min)}, {"median", ms(t.median)},
                             {"p99", ms(t.p99)}, {"max", ms(t.max)}};
  }
  json report{{"schema_version", report_schema_version},
              {"timing_stats_ms", std::move(repeated)},
              {"target", r.target},
              {"address", r.address},
              {"verdict", to_string(r.result)},
              {"evidence", r.evidence},
              {"protocols", std::move(protocols)},
              {"combinations", std::move(combinations)},
              {"standard_security", r.standard_security ? to_json(*r.standard_security) : json(nullptr)},
              {"ntlm_info", r.ntlm_info ? to_json(*r.ntlm_info) : json(nullptr)},
              {"session", r.session ? to_json(*r.session) : json(nullptr)},
              {"login", r.login ? to_json(*r.login) : json(nullptr)},
              {"login_skipped", text_or_null(r.login_skipped)},
              {"tls", std::move(tls)},
              {"listener", std::move(listener)},
              {"listener_spread", to_json(r.spread)},
              {"resolved", r.resolved},
              {"timings_ms",
               {{"dns", ms(r.dns_ms)},
                {"connect", ms(r.connect_ms)},
                {"negotiation", ms(r.negotiation_ms)},
                {"tls", ms(r.tls_ms)},
                {"credssp", ms(r.credssp_ms)},
                {"mcs", ms(r.mcs_ms)},
                {"total", ms(r.total_ms)}}}};
  make_wire_safe(report);
  return report;
}

bool has_rdp_to_show(const target_report& r) noexcept {
  const auto spoke_rdp = [](const protocol_attempt& a) {
    switch (a.outcome) {
      case attempt_outcome::selected:
      case attempt_outcome::failure:
      case attempt_outcome::no_negotiation:
      case attempt_outcome::disconnected: return true;
      default: return false;
    }
  };
  return std::any_of(r.protocols.begin(), r.protocols.end(), spoke_rdp) ||
         std::any_of(r.combinations.begin(), r.combinations.end(), spoke_rdp) || r.standard_security || r.ntlm_info ||
         r.session || r.login;
}

void print_human(std::ostream& out, const target_report& r) {
  out << term(r.target);
  if (r.address != r.target) out << " (" << term(r.address) << ")";
  out << ": " << to_string(r.result) << " — " << term(r.evidence) << "\n";
  for (const auto& a : r.protocols) {
    char line[64];
    std::snprintf(line, sizeof line, "  %-11s %-13s ", std::string(protocol::to_string(a.requested)).c_str(),
                  a.supported ? "supported" : "not supported");
    out << line << term(a.detail);
    if (a.negotiation_ms) out << "  [" << fmt_ms(a.negotiation_ms) << "]";
    if (a.tls_error) out << "  TLS FAILED: " << term(*a.tls_error);
    out << "\n";
  }
  for (const auto& a : r.combinations) {
    char line[64];
    std::snprintf(line, sizeof line, "  %-12s%-13s ", combination_label(a.requested_bits).c_str(),
                  a.supported ? "accepted" : "not accepted");
    out << line << term(a.detail) << " (asked " << protocol::describe_protocol_bits(a.requested_bits) << ")\n";
  }
  if (r.tls) {
    out << "  tls         " << term(r.tls->version) << ", " << term(r.tls->cipher);
    if (!r.tls->group.empty()) out << ", " << term(r.tls->group);
    out << "\n";
    // The leaf, then every other certificate the server sent (its issuers, in the server's order).
    auto describe = [&](const net::certificate_facts& c) {
      out << term(c.subject) << (c.self_signed ? " (self-signed)" : "") << ", " << term(c.key_type) << " "
          << c.key_bits << ", expires " << term(c.not_after) << " (" << c.days_left << " days)\n              issued by "
          << term(c.issuer);
      for (const auto& name : c.subject_alt_names) out << "; " << term(name);
      out << "; " << term(c.signature_algorithm) << "; valid from " << term(c.not_before) << "\n              sha256 "
          << c.sha256 << "\n";
    };
    if (const auto& c = r.tls->certificate) {
      out << "  certificate ";
      describe(*c);
    }
    for (std::size_t i = 1; i < r.tls->chain.size(); ++i) {
      const auto label = "  chain [" + std::to_string(i) + "]";
      out << label << std::string(label.size() < 14 ? 14 - label.size() : 1, ' ');
      describe(r.tls->chain[i]);
    }
    if (const auto& v = r.tls->verification) {
      out << "  trust       " << (v->trusted ? "trusted" : "NOT trusted: " + term(v->error)) << " (name " << term(v->name)
          << ", " << term(r.tls->trust_store) << " store)";
      if (v->built_chain.size() > 1) {
        out << "; verified chain ";
        for (std::size_t i = 0; i < v->built_chain.size(); ++i) out << (i ? " -> " : "") << term(v->built_chain[i]);
      }
      out << "\n";
    }
  }
  if (const auto& s = r.session) {
    out << "  session     " << (s->over == "tls" ? "over TLS" : "Standard RDP Security") << ": "
        << (tears_down(s->outcome) ? "TORN DOWN: " : "") << "the MCS Connect-Initial got " << term(s->detail);
    if (s->mcs_ms) out << "  [" << fmt_ms(s->mcs_ms) << "]";
    out << "\n";
  }
  if (const auto& s = r.standard_security) {
    if (!s->error.empty()) {
      out << "  rdp security could not be read: " << term(s->error) << "\n";
    } else {
      out << "  rdp security level " << term(s->encryption_level_name) << ", version " << term(s->rdp_version_name)
          << (s->server_certificate_present ? ", server certificate sent" : "") << "\n              methods";
      for (const auto& m : s->methods) out << "  " << term(m.name) << (m.accepted ? " yes" : " no");
      out << "\n";
    }
  }
  if (const auto& n = r.ntlm_info) {
    if (!n->error.empty()) {
      out << "  ntlm info could not be read: " << term(n->error) << "\n";
    } else {
      out << "  ntlm        " << term(n->netbios_domain) << "\\" << term(n->netbios_computer) << ", DNS "
          << term(n->dns_computer) << " (domain " << term(n->dns_domain) << ", tree " << term(n->dns_tree) << ")";
      if (n->product_version) out << ", Windows " << term(*n->product_version);
      if (n->credssp_version) out << ", CredSSP v" << *n->credssp_version;
      if (n->clock_skew_seconds) {
        char skew[48];
        std::snprintf(skew, sizeof skew, ", clock skew %+.1f s", *n->clock_skew_seconds);
        out << skew;
      }
      out << "\n";
    }
  }
  if (r.login) print_human(out, *r.login);
  if (!r.login_skipped.empty()) out << "  login       " << term(r.login_skipped) << "\n";
  if (r.listener) out << "  listener    " << protocol::to_string(r.listener->kind) << ": " << term(r.listener->detail) << "\n";
  if (r.resolved.size() > 1) {
    out << "  addresses  ";
    for (const auto& a : r.resolved) out << " " << term(a);
    out << "\n";
  }
  // What each connection met, when they did not all meet the same listener (or the name has several addresses):
  // one line per listener and answer, with its count.
  if (disagree(r.spread) || r.resolved.size() > 1) {
    out << "  met         " << r.spread.connections() << " connections" << (disagree(r.spread) ? ", DISAGREEING" : "")
        << "\n";
    for (const auto& e : r.spread.entries) {
      char count[32];
      std::snprintf(count, sizeof count, "%14zu ", e.connections);
      out << count << to_string(e.kind);
      if (e.requested_bits) out << " (asked " << combination_label(*e.requested_bits) << ")";
      if (!e.fingerprint.empty()) out << ": " << term(e.fingerprint);
      if (!e.addresses.empty()) {
        out << " at";
        for (const auto& a : e.addresses) out << " " << term(a);
      }
      out << "\n";
    }
  }
  out << "  timings     dns " << fmt_ms(r.dns_ms) << ", connect " << fmt_ms(r.connect_ms) << ", negotiation "
      << fmt_ms(r.negotiation_ms) << ", tls " << fmt_ms(r.tls_ms) << ", credssp " << fmt_ms(r.credssp_ms)
      << ", mcs " << fmt_ms(r.mcs_ms) << ", total " << fmt_ms(r.total_ms) << "\n";
  for (const auto& [phase, t] : r.repeated)
    out << "  " << phase << std::string(phase.size() < 12 ? 12 - phase.size() : 1, ' ') << "min " << fmt_ms(t.min)
        << ", median " << fmt_ms(t.median) << ", p99 " << fmt_ms(t.p99) << ", max " << fmt_ms(t.max) << " over "
        << t.samples << " runs\n";
}

namespace {

constexpr std::size_t verdict_width = 18;     // "negotiation-failed"
constexpr std::size_t combination_width = 10; // "credssp-ex"
constexpr std::size_t tls_width = 7;          // "TLSv1.3"
constexpr std::size_t days_width = 9;         // "cert days"
constexpr std::size_t time_width = 10;        // "connect+hs"

// Left-aligned in `width`, one space after; a longer text keeps its length (the row shifts, nothing is cut).
void cell(std::ostream& out, const std::string& text, std::size_t width) {
  out << text << std::string(text.size() < width ? width - text.size() : 0, ' ') << ' ';
}
void right_cell(std::ostream& out, const std::string& text, std::size_t width) {
  out << std::string(text.size() < width ? width - text.size() : 0, ' ') << text << ' ';
}


// What a client sending this combination ends up with: the protocol selected, else how the attempt ended.
std::string combination_cell(const protocol_attempt& a) {
  if (a.outcome == attempt_outcome::selected && a.selected) {
    if (a.tls_error) return "tls-fail";
    return protocol::describe_protocol_bits(*a.selected);
  }
  if (a.outcome == attempt_outcome::skipped) return "-";
  return std::string(to_string(a.outcome));
}

}  // namespace

summary_table::summary_table(const std::vector<std::string>& targets,
                             const std::vector<protocol::security_protocol>& protocols,
                             const std::vector<std::uint32_t>& combinations)
    : combinations_(combinations) {
  for (const auto& t : targets) target_width_ = std::max(target_width_, term(t).size());
  std::size_t all = 0;
  for (auto p : protocols) all += protocol::to_string(p).size() + (all ? 1 : 0);
  accepted_width_ = std::max(accepted_width_, all);
}

void summary_table::print_header(std::ostream& out) const {
  cell(out, "target", target_width_);
  cell(out, "verdict", verdict_width);
  cell(out, "accepted", accepted_width_);
  for (auto bits : combinations_) cell(out, combination_label(bits), combination_width);
  cell(out, "tls", tls_width);
  right_cell(out, "cert days", days_width);
  right_cell(out, "connect+hs", time_width);
  out << "finding\n";
}

void summary_table::print_row(std::ostream& out, const target_report& r) const {
  cell(out, term(r.target), target_width_);
  cell(out, std::string(to_string(r.result)), verdict_width);
  std::string accepted;
  for (const auto& a : r.protocols)
    if (a.supported) {
      // Appended, not `"," + std::string(…)`: GCC 12's -O3 -Wstringop-overflow false positive (GCC bug 105651).
      if (!accepted.empty()) accepted += ',';
      accepted += protocol::to_string(a.requested);
    }
  cell(out, accepted.empty() ? "-" : accepted, accepted_width_);
  for (auto bits : combinations_) {
    auto it = std::find_if(r.combinations.begin(), r.combinations.end(),
                           [&](const protocol_attempt& a) { return a.requested_bits == bits; });
    cell(out, it == r.combinations.end() ? "-" : combination_cell(*it), combination_width);
  }
  cell(out, r.tls ? term(r.tls->version) : "-", tls_width);
  const auto& leaf = r.tls ? r.tls->certificate : std::nullopt;
  right_cell(out, leaf ? std::to_string(leaf->days_left) : "-", days_width);
  std::optional<double> setup;
  for (const auto& phase : {r.connect_ms, r.negotiation_ms, r.tls_ms})
    if (phase) setup = setup.value_or(0) + *phase;
  right_cell(out, fmt_ms(setup), time_width);
  out << (r.result == verdict::rdp ? "-" : term(r.evidence)) << "\n";
}

}  // namespace rdp::probe
