// The probe's pure decisions: the verdict of a target from its attempts, the names of verdicts and attempt outcomes,
// and the timing statistics of --count. No sockets, no clocks: tests/unit_probe drives them with hand-built reports.
#include "rdp/probe/verdict.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace rdp::probe {

void decide_verdict(target_report& report) {
  // Before anything one attempt says: when the connections met different listeners, whichever answered a given
  // attempt is luck (the kernel's SO_REUSEPORT hash, or which address a client picks), and so is every verdict below.
  if (disagree(report.spread)) {
    report.result = verdict::listener_conflict;
    report.evidence = "the connections met different listeners (" + describe(report.spread) + ")";
    return;
  }
  const auto& attempts = report.protocols;
  auto any = [&](auto pred) { return std::any_of(attempts.begin(), attempts.end(), pred); };
  auto first_with = [&](attempt_outcome o) {
    return std::find_if(attempts.begin(), attempts.end(), [&](const auto& a) { return a.outcome == o; });
  };
  const bool answered_rdp = any([](const auto& a) {
    return a.outcome == attempt_outcome::selected || a.outcome == attempt_outcome::failure ||
           a.outcome == attempt_outcome::no_negotiation || a.outcome == attempt_outcome::disconnected;
  });
  if (!answered_rdp) {
    for (auto o : {attempt_outcome::not_rdp, attempt_outcome::refused, attempt_outcome::timeout,
                   attempt_outcome::reset, attempt_outcome::closed, attempt_outcome::error}) {
      auto it = first_with(o);
      if (it == attempts.end()) continue;
      switch (o) {
        case attempt_outcome::not_rdp: report.result = verdict::not_rdp; break;
        case attempt_outcome::refused: report.result = verdict::refused; break;
        case attempt_outcome::timeout: report.result = verdict::timeout; break;
        case attempt_outcome::reset: report.result = verdict::reset; break;
        default: report.result = verdict::closed; break;
      }
      report.evidence = std::string(protocol::to_string(it->requested)) + " attempt: " + it->detail;
      return;
    }
    report.result = verdict::timeout;
    report.evidence = "no attempt was made";
    return;
  }
  auto tls_broken = std::find_if(attempts.begin(), attempts.end(), [](const auto& a) { return a.tls_error.has_value(); });
  if (tls_broken != attempts.end()) {
    report.result = verdict::tls_failed;
    report.evidence = "server selected " + std::string(protocol::to_string(tls_broken->requested)) + " but " +
                      *tls_broken->tls_error;
    return;
  }
  if (report.session && tears_down(report.session->outcome)) {
    report.result = verdict::session_error;
    report.evidence = std::string(report.session->over == "tls" ? "after TLS" : "under Standard RDP Security") +
                      ", the MCS Connect-Initial got " + report.session->detail;
    return;
  }
  std::string supported;
  for (const auto& a : attempts)
    if (a.supported) supported += (supported.empty() ? "" : ", ") + std::string(protocol::to_string(a.requested));
  if (supported.empty()) {
    report.result = verdict::negotiation_failed;
    report.evidence = "an RDP server, but it selected none of the requested protocols";
    return;
  }
  report.result = verdict::rdp;
  report.evidence = "RDP server; supports " + supported;
}

std::string_view to_string(verdict v) noexcept {
  switch (v) {
    case verdict::rdp: return "rdp";
    case verdict::not_rdp: return "not-rdp";
    case verdict::refused: return "refused";
    case verdict::timeout: return "timeout";
    case verdict::reset: return "reset";
    case verdict::closed: return "closed";
    case verdict::negotiation_failed: return "negotiation-failed";
    case verdict::tls_failed: return "tls-failed";
    case verdict::session_error: return "session-error";
    case verdict::dns_failed: return "dns-failed";
    case verdict::listener_conflict: return "listener-conflict";
    case verdict::login_failed: return "login-failed";
    case verdict::reconnect_failed: return "reconnect-failed";
    case verdict::internal_error: return "internal-error";
  }
  return "unknown";
}

std::string_view to_string(attempt_outcome o) noexcept {
  switch (o) {
    case attempt_outcome::selected: return "selected";
    case attempt_outcome::failure: return "failure";
    case attempt_outcome::no_negotiation: return "no-negotiation";
    case attempt_outcome::disconnected: return "disconnected";
    case attempt_outcome::not_rdp: return "not-rdp";
    case attempt_outcome::refused: return "refused";
    case attempt_outcome::timeout: return "timeout";
    case attempt_outcome::reset: return "reset";
    case attempt_outcome::closed: return "closed";
    case attempt_outcome::error: return "error";
    case attempt_outcome::skipped: return "skipped";
  }
  return "unknown";
}

timing_summary summarize(std::vector<double> samples) {
  timing_summary t;
  if (samples.empty()) return t;
  std::sort(samples.begin(), samples.end());
  auto rank = [&](double q) {  // nearest-rank: the smallest sample with at least q of them at or below it
    const auto n = static_cast<double>(samples.size());
    const auto r = static_cast<std::size_t>(std::ceil(q * n));
    return samples[std::clamp<std::size_t>(r, 1, samples.size()) - 1];
  };
  t.samples = samples.size();
  t.min = samples.front();
  t.max = samples.back();
  t.median = rank(0.5);
  t.p99 = rank(0.99);
  return t;
}

}  // namespace rdp::probe
