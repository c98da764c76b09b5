#include "rdp/probe/scanner.hpp"

#include "rdp/net/connect.hpp"
#include "rdp/net/deadline.hpp"
#include "rdp/net/errors.hpp"
#include "rdp/net/spawn.hpp"
#include "rdp/net/tls.hpp"
#include "rdp/probe/ntlm_info.hpp"
#include "rdp/probe/standard_security.hpp"
#include "rdp/probe/verdict.hpp"
#include "rdp/protocol/classify.hpp"

#include "attempt.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>

namespace rdp::probe {
namespace {

namespace asio = net::asio;
using net::error_code;
using net::tcp;
using protocol::security_protocol;
using detail::attempt_state;

// One connection to make: the requestedProtocols it sends, and where (the name's addresses, or one of them).
struct attempt_job {
  std::uint32_t requested_bits = 0;
  std::vector<tcp::endpoint> endpoints;
};

// What every attempt of one target shares: the options, clamped to the target's overall deadline when an attempt
// starts, the TLS context and pacer of the run, the name certificates are verified for, and how many run at once.
struct attempt_context {
  std::shared_ptr<const probe_options> options;
  bool bounded = false;  // options->target_timeout is set: no phase may run past `deadline`
  net::clock::time_point deadline;
  std::shared_ptr<asio::ssl::context> tls_context;
  std::shared_ptr<connection_pacer> pacer;
  std::string verify_name;

  // Deadlines of an attempt started now: no phase may run past the target's overall deadline.
  std::shared_ptr<const probe_options> options_now() const {
    if (!bounded) return options;
    const auto left =
        std::max(net::milliseconds(1), std::chrono::duration_cast<net::milliseconds>(deadline - net::clock::now()));
    auto clamped = std::make_shared<probe_options>(*options);
    clamped->connect_timeout = std::min(clamped->connect_timeout, left);
    clamped->read_timeout = std::min(clamped->read_timeout, left);
    clamped->tls_timeout = std::min(clamped->tls_timeout, left);
    return clamped;
  }
  bool out_of_time() const { return bounded && net::clock::now() >= deadline; }
};

// Workers taking a batch's attempts in turn; the timer is cancelled when the last worker ends, however it ends
// (net::spawn reports every completion, an exception included).
struct attempt_batch {
  explicit attempt_batch(asio::any_io_executor executor) : all_done(executor, net::clock::time_point::max()) {}
  asio::steady_timer all_done;
  std::size_t next = 0;
  std::size_t workers = 0;
  std::string failure;  // the first worker's exception, if one ended by one: the target's verdict is internal-error

  void worker_done(const std::exception_ptr& e) {
    if (e && failure.empty()) failure = net::describe_exception(e);
    if (--workers == 0) all_done.cancel();
  }
};

asio::awaitable<void> attempt_worker(std::shared_ptr<attempt_batch> batch, std::vector<attempt_state>* states,
                                     std::vector<attempt_job> jobs, std::shared_ptr<const attempt_context> context,
                                     std::shared_ptr<bool> session_checked) {
  while (batch->next < jobs.size()) {
    const std::size_t i = batch->next++;
    (*states)[i] = co_await detail::attempt_protocol(jobs[i].endpoints, jobs[i].requested_bits, context->options_now(),
                                                     context->tls_context, context->pacer, context->verify_name,
                                                     session_checked);
  }
}

// Runs jobs[from …] into (*states)[from …], at most options->attempts_in_flight at once, each on its own connection:
// the target's time is then its slowest answer, not the sum. Returns the first worker's exception as text, empty
// when none.
asio::awaitable<std::string> run_attempts(std::vector<attempt_state>* states, std::vector<attempt_job> jobs,
                                          std::size_t from, std::shared_ptr<const attempt_context> context,
                                          std::shared_ptr<bool> session_checked, std::string label) {
  if (from >= jobs.size()) co_return std::string();
  auto executor = co_await asio::this_coro::executor;
  auto batch = std::make_shared<attempt_batch>(executor);
  batch->next = from;
  batch->workers =
      std::min<std::size_t>(std::max<unsigned>(1, context->options->attempts_in_flight), jobs.size() - from);
  for (std::size_t w = 0; w < batch->workers; ++w)
    net::spawn(executor, attempt_worker(batch, states, jobs, context, session_checked), label,
               [batch](std::exception_ptr e) { batch->worker_done(e); });
  co_await batch->all_done.async_wait(net::use_tuple);
  co_return batch->failure;
}

bool answered_rdp(attempt_outcome o) {
  return o == attempt_outcome::selected || o == attempt_outcome::failure || o == attempt_outcome::no_negotiation ||
         o == attempt_outcome::disconnected;
}

std::string text_of(const tcp::endpoint& ep) {
  return net::host_port{ep.address().to_string(), ep.port()}.text();
}

// Counts what one connection met into the target's spread. The address is where it connected, or where it tried
// when it had one address only (a refused connection has reached nothing, but it was refused there).
void count_met(tally& spread, const attempt_state& state, const std::vector<tcp::endpoint>& tried) {
  std::string address;
  if (state.connected_to) address = text_of(*state.connected_to);
  else if (tried.size() == 1) address = text_of(tried.front());
  if (auto met = probe::met_by(state.attempt, state.listener, std::move(address))) spread.add(*met);
}

// check_login as a coroutine for co_spawn onto the logons' threads. A plain function, not a lambda: the arguments
// live in the coroutine frame, where a lambda's captures would die with the lambda object (GCC 12 frees them twice).
asio::awaitable<login_check_result> check_login_there(std::string host, std::uint16_t port, login_check_options login) {
  co_return check_login(host, port, login);
}

// --login: a real logon once the wire probe has shown an RDP server, on `blocking_executor` (FreeRDP blocks).
asio::awaitable<void> log_on(target_report& report, const net::host_port& target, login_check_options login,
                             bool bounded, net::clock::time_point target_deadline,
                             asio::any_io_executor blocking_executor) {
  switch (report.result) {
    case verdict::rdp:
    case verdict::negotiation_failed:  // FreeRDP may still get in (or say precisely why not)
    case verdict::tls_failed:
    case verdict::session_error:
      break;
    case verdict::internal_error:
      report.login_skipped = "no logon: the probe of the target failed internally";
      co_return;
    case verdict::listener_conflict:
      report.login_skipped = "no logon: connections to the target meet different listeners, so it would test "
                             "whichever one the connection happened to meet";
      co_return;
    default:
      report.login_skipped = "no logon: the target did not answer RDP (" + std::string(to_string(report.result)) + ")";
      co_return;
  }
  if (bounded) {
    const auto left = std::chrono::duration_cast<net::milliseconds>(target_deadline - net::clock::now());
    if (left <= net::milliseconds(0)) {
      report.login_skipped = "no logon: the target's overall timeout was reached";
      co_return;
    }
    login.timeout = std::min(login.timeout, left);
  }
  // The certificate this probe verified (against --ca or the system store, for this name) may have the credentials;
  // FreeRDP knows only the system store and would refuse one that --ca vouches for.
  if (report.tls && report.tls->certificate && report.tls->verification && report.tls->verification->trusted)
    login.accepted_sha256.push_back(report.tls->certificate->sha256);
  login_check_result result;
  if (blocking_executor)
    result = co_await asio::co_spawn(blocking_executor, check_login_there(target.host, target.port, std::move(login)),
                                     asio::use_awaitable);
  else
    result = check_login(target.host, target.port, login);
  if (report.result == verdict::rdp && !result.healthy && !result.interrupted) {
    report.result = result.reconnect_failed ? verdict::reconnect_failed : verdict::login_failed;
    report.evidence = result.evidence;
  }
  report.login = std::make_shared<const login_check_result>(std::move(result));
}

}  // namespace

connection_pacer::connection_pacer(double per_second)
    : interval_(std::chrono::duration_cast<net::clock::duration>(std::chrono::duration<double>(1.0 / per_second))) {}

asio::awaitable<void> connection_pacer::wait_turn() {
  const auto now = net::clock::now();
  const auto slot = std::max(now, next_);
  next_ = slot + interval_;
  if (slot > now) {
    asio::steady_timer timer(co_await asio::this_coro::executor, slot);
    co_await timer.async_wait(net::use_tuple);
  }
}

namespace {

// One target's probe, shared by its steps: the report they fill, the addresses and requests every connection uses,
// and the first internal failure among its attempt workers.
struct target_probe {
  target_report report;
  net::host_port target;
  net::clock::time_point start;
  std::shared_ptr<const attempt_context> context;
  std::vector<tcp::endpoint> endpoints;  // the name's addresses, each once
  std::vector<std::uint32_t> requests;   // one requestedProtocols per attempt: --protocols, then --combinations
  std::string internal_failure;          // set when an attempt worker failed: the attempts say nothing reliable then

  const probe_options& options() const { return *context->options; }
  void note_failure(const std::string& failure) {
    if (!failure.empty() && internal_failure.empty())
      internal_failure = "a negotiation attempt ended by an internal error: " + failure;
  }
};

// Every connection of one target, by why it was made.
struct target_connections {
  std::vector<attempt_state> attempts;  // one per request, in the order of target_probe::requests
  // Where the first attempt connected: the address the other attempts reach too (they walk the same list).
  tcp::endpoint reached;
  std::vector<attempt_state> conflict_probes;  // more connections with the first request after a non-RDP answer
  std::string stop_reason;                     // set when the attempts after the first were skipped, and why
  std::vector<attempt_state> topup;            // more with the first request, up to options.min_connections
  std::vector<attempt_job> address_jobs;       // one connection to each other address of the name
  std::vector<attempt_state> per_address;
};

// The target's addresses into probe.endpoints, each once. False, with the report's verdict dns-failed, when the name
// has none.
asio::awaitable<bool> resolve_target(target_probe& probe) {
  auto& report = probe.report;
  const auto& target = probe.target;
  const auto& options = probe.options();
  std::vector<tcp::endpoint> endpoints;
  error_code literal_ec;
  const auto literal = asio::ip::make_address(target.host, literal_ec);
  auto dns_failed = [&](const std::string& why) {
    report.result = verdict::dns_failed;
    report.evidence = "cannot resolve '" + target.host + "': " + why;
  };
  if (!literal_ec) {
    // An address literal needs no resolver (which would cost a thread hop per target).
    endpoints.emplace_back(literal, target.port);
  } else if (options.resolve) {
    for (const auto& address : options.resolve(target.host)) endpoints.emplace_back(address, target.port);
    if (endpoints.empty()) {
      dns_failed("no addresses");
      co_return false;
    }
  } else {
    const auto dns_start = net::clock::now();
    auto [dns_ec, resolved] = co_await net::resolve(target.host, target.port, options.connect_timeout);
    report.dns_ms = net::ms_since(dns_start);
    if (dns_ec || resolved.empty()) {
      dns_failed(dns_ec ? dns_ec.message() : "no addresses");
      co_return false;
    }
    endpoints = std::move(resolved);
  }
  // Each address once (the test hook's too): probing one twice would count it twice.
  for (const auto& ep : endpoints)
    if (std::find(probe.endpoints.begin(), probe.endpoints.end(), ep) == probe.endpoints.end())
      probe.endpoints.push_back(ep);
  if (literal_ec)
    for (const auto& ep : probe.endpoints) report.resolved.push_back(ep.address().to_string());
  co_return true;
}

// The first attempt alone: it tells whether anything RDP answers at all. A listener that refused, stayed silent
// or spoke another protocol will do the same for every other request, so asking again would only multiply the
// wait (and the load on whatever it is). Returns its outcome.
asio::awaitable<attempt_outcome> make_first_attempt(target_probe& probe, target_connections& made,
                                                    std::shared_ptr<bool> session_checked) {
  const auto& context = *probe.context;
  auto& states = made.attempts;
  states[0] = co_await detail::attempt_protocol(probe.endpoints, probe.requests[0], context.options_now(),
                                                context.tls_context, context.pacer, probe.target.host,
                                                session_checked);
  auto first = states[0].attempt.outcome;
  if ((first == attempt_outcome::closed || first == attempt_outcome::reset) && !states[0].tls) {
    if (auto facts = co_await detail::try_tls_first(probe.endpoints, context.options_now(), context.tls_context,
                                                    probe.target.host)) {
      auto& a = states[0].attempt;
      a.outcome = first = attempt_outcome::not_rdp;
      std::string subject = facts->certificate ? ", certificate " + facts->certificate->subject : "";
      a.detail = "tls: a TLS-first server — it dropped the X.224 request but completes a TLS handshake started "
                 "directly (" + facts->version + subject + ")";
      states[0].listener = protocol::classification{protocol::listener_kind::tls, a.detail.substr(5)};
      states[0].tls = std::move(facts);
    }
  }
  made.reached = states[0].connected_to.value_or(probe.endpoints.front());
  co_return first;
}

// A listener that spoke something else may share the port with an RDP server
// (SO_REUSEPORT: the kernel picks a member per connection by the hash of its 4-tuple, so by our source port).
// A few more connections with the same request, to that address alone, meet the other member with probability
// 1 - 2^-conflict_probes for a pair; one that meets RDP makes the other attempts worth running after all.
// Not after silence: each extra connection would wait out the read deadline (a silent port would take three times
// as long), and silence does not say which program holds the socket.
asio::awaitable<void> probe_for_conflict(target_probe& probe, target_connections& made, attempt_outcome first) {
  made.conflict_probes.resize(first == attempt_outcome::not_rdp ? probe.options().conflict_probes : 0);
  if (made.conflict_probes.empty() || probe.context->out_of_time()) co_return;
  // run_attempts' arguments, built before the co_await expression (GCC 12 mishandles temporaries inside them).
  std::vector<attempt_job> jobs(made.conflict_probes.size(),
                                attempt_job{.requested_bits = probe.requests[0], .endpoints = {made.reached}});
  const std::shared_ptr<bool> no_session_check;  // the extra connections never run the session check
  const std::string label = "rdpprobe: " + probe.report.target + ": connections after a non-RDP answer";
  auto failure =
      co_await run_attempts(&made.conflict_probes, jobs, 0, probe.context, no_session_check, label);
  probe.note_failure(failure);
}

// The attempts with the other requests, unless the first answer (and the conflict probes) showed no RDP server or
// the target's time is up: then made.stop_reason says why they were skipped.
asio::awaitable<void> make_other_attempts(target_probe& probe, target_connections& made, attempt_outcome first,
                                          std::shared_ptr<bool> session_checked) {
  const bool probes_met_rdp = std::any_of(made.conflict_probes.begin(), made.conflict_probes.end(),
                                          [](const auto& p) { return answered_rdp(p.attempt.outcome); });
  if ((first == attempt_outcome::not_rdp || first == attempt_outcome::refused || first == attempt_outcome::timeout) &&
      !probes_met_rdp)
    made.stop_reason = "skipped: an earlier attempt showed the listener is not answering RDP";
  else if (probe.context->out_of_time())
    made.stop_reason = "skipped: the target's overall timeout was reached";
  if (!made.stop_reason.empty()) co_return;
  std::vector<attempt_job> jobs;
  for (auto bits : probe.requests) jobs.push_back({.requested_bits = bits, .endpoints = probe.endpoints});
  const std::string label = "rdpprobe: " + probe.report.target + ": negotiation attempts";
  auto failure = co_await run_attempts(&made.attempts, jobs, 1, probe.context, session_checked, label);
  probe.note_failure(failure);
}

// A minimum of connections to the reached address (min_connections): more with the first request until there are.
asio::awaitable<void> top_up_connections(target_probe& probe, target_connections& made) {
  const auto count = static_cast<std::size_t>(std::count_if(made.attempts.begin(), made.attempts.end(),
                                                            [](const auto& st) {
                                                              return st.attempt.outcome != attempt_outcome::skipped;
                                                            })) +
                     made.conflict_probes.size();
  const auto minimum = probe.options().min_connections;
  made.topup.resize(count < minimum ? minimum - count : 0);
  if (made.topup.empty() || probe.context->out_of_time()) co_return;
  std::vector<attempt_job> jobs(made.topup.size(),
                                attempt_job{.requested_bits = probe.requests[0], .endpoints = {made.reached}});
  const std::shared_ptr<bool> no_session_check;
  const std::string label = "rdpprobe: " + probe.report.target + ": connections after a non-RDP answer";
  auto failure = co_await run_attempts(&made.topup, jobs, 0, probe.context, no_session_check, label);
  probe.note_failure(failure);
}

// A name with several addresses: a client may reach any of them (by family, by its resolver's order, by Happy
// Eyeballs), so each other address gets one connection with the first request, and addresses that meet different
// listeners are a finding of their own.
asio::awaitable<void> try_other_addresses(target_probe& probe, target_connections& made) {
  if (!probe.options().first_address)
    for (const auto& ep : probe.endpoints)
      if (ep != made.reached) made.address_jobs.push_back({.requested_bits = probe.requests[0], .endpoints = {ep}});
  made.per_address.resize(made.address_jobs.size());
  if (made.address_jobs.empty() || probe.context->out_of_time()) co_return;
  const std::shared_ptr<bool> no_session_check;
  const std::string label = "rdpprobe: " + probe.report.target + ": the name's other addresses";
  auto failure =
      co_await run_attempts(&made.per_address, made.address_jobs, 0, probe.context, no_session_check, label);
  probe.note_failure(failure);
}

// Folds every connection into the report: the attempts in request order (skipped ones with the stop reason), the
// first connection's timings and address, the first TLS facts and listener, and what each connection met.
void fold_connections(target_probe& probe, target_connections& made) {
  auto& report = probe.report;
  for (std::size_t i = 0; i < probe.requests.size(); ++i) {
    auto& state = made.attempts[i];
    if (i > 0 && !made.stop_reason.empty()) {
      detail::set_request(state.attempt, probe.requests[i]);
      state.attempt.detail = made.stop_reason;
    }
    count_met(report.spread, state, probe.endpoints);
    if (i == 0) {
      // The extra connections of the same address right after the first attempt, in the order they were made.
      for (const auto& p : made.conflict_probes) count_met(report.spread, p, {made.reached});
    }
    if (state.connected_to && !report.connect_ms) {
      report.connect_ms = state.attempt.connect_ms;
      report.address = text_of(*state.connected_to);
    }
    if (state.attempt.negotiation_ms && !report.negotiation_ms) report.negotiation_ms = state.attempt.negotiation_ms;
    if (state.tls && !report.tls) {
      report.tls = std::move(state.tls);
      report.tls_ms = state.attempt.tls_ms;
    }
    if (state.listener && !report.listener) report.listener = state.listener;
    if (state.session) report.session = std::move(state.session);
    auto& into = state.attempt.combination ? report.combinations : report.protocols;
    into.push_back(std::move(state.attempt));
  }
  for (const auto& t : made.topup) count_met(report.spread, t, {made.reached});
  for (std::size_t i = 0; i < made.per_address.size(); ++i)
    count_met(report.spread, made.per_address[i], made.address_jobs[i].endpoints);
}

// Standard RDP Security: what nmap's rdp-enum-encryption reports (level, RC4/FIPS methods, version), asked only
// of a server that accepts PROTOCOL_RDP, each exchange on a connection of its own.
asio::awaitable<void> ask_standard_security(target_probe& probe) {
  auto& report = probe.report;
  const bool accepts_rdp = std::any_of(report.protocols.begin(), report.protocols.end(), [](const auto& a) {
    return a.requested == security_protocol::rdp && a.supported;
  });
  if (!probe.options().standard_security || !accepts_rdp || probe.context->out_of_time()) co_return;
  report.standard_security = std::make_shared<const standard_security_result>(
      co_await probe_standard_security(probe.endpoints, probe.context->options_now()));
  // Standard RDP Security's Connect-Initial is a session check in the clear: it decides when there was none over
  // TLS, or when it alone saw the server hang up.
  const auto& plain = report.standard_security->session;
  if (plain && (!report.session || (tears_down(plain->outcome) && !tears_down(report.session->outcome))))
    report.session = plain;
}

// NTLM info: what nmap's rdp-ntlm-info reports, from a server that selects CredSSP for some request.
asio::awaitable<void> ask_ntlm_info(target_probe& probe) {
  auto& report = probe.report;
  auto selected_credssp = [](const protocol_attempt& a) {
    return a.outcome == attempt_outcome::selected && a.selected &&
           (*a.selected == protocol::to_bits(security_protocol::hybrid) ||
            *a.selected == protocol::to_bits(security_protocol::hybrid_ex));
  };
  const bool credssp = std::any_of(report.protocols.begin(), report.protocols.end(), selected_credssp) ||
                       std::any_of(report.combinations.begin(), report.combinations.end(), selected_credssp);
  if (!probe.options().ntlm_info || !credssp || probe.context->out_of_time()) co_return;
  report.ntlm_info = std::make_shared<const ntlm_info_result>(
      co_await probe_ntlm_info(probe.endpoints, probe.context->options_now(), probe.context->tls_context));
}

}  // namespace

asio::awaitable<target_report> probe_target(std::string target_text, net::host_port target,
                                            std::shared_ptr<const probe_options> options,
                                            std::shared_ptr<asio::ssl::context> tls_context,
                                            std::shared_ptr<connection_pacer> pacer,
                                            asio::any_io_executor blocking_executor) {
  target_probe probe;
  auto& report = probe.report;
  report.target = std::move(target_text);
  report.address = target.text();
  probe.start = net::clock::now();
  if (options->before_target) options->before_target(report.target);
  probe.target = target;
  probe.context = std::make_shared<const attempt_context>(attempt_context{
      .options = options,
      .bounded = options->target_timeout.count() > 0,
      .deadline = probe.start + options->target_timeout,
      .tls_context = tls_context,
      .pacer = pacer,
      .verify_name = target.host,
  });

  if (!co_await resolve_target(probe)) {
    report.total_ms = net::ms_since(probe.start);
    co_return std::move(report);
  }
  for (auto p : options->protocols) probe.requests.push_back(protocol::to_bits(p));
  probe.requests.insert(probe.requests.end(), options->combinations.begin(), options->combinations.end());

  target_connections made;
  made.attempts.resize(probe.requests.size());
  auto session_checked = std::make_shared<bool>(false);
  const auto first = co_await make_first_attempt(probe, made, session_checked);
  co_await probe_for_conflict(probe, made, first);
  co_await make_other_attempts(probe, made, first, session_checked);
  co_await top_up_connections(probe, made);
  co_await try_other_addresses(probe, made);
  fold_connections(probe, made);

  co_await ask_standard_security(probe);
  co_await ask_ntlm_info(probe);
  if (report.ntlm_info) report.credssp_ms = report.ntlm_info->credssp_ms;
  if (report.session) report.mcs_ms = report.session->mcs_ms;
  decide_verdict(report);
  if (!probe.internal_failure.empty()) {
    // Whatever the other attempts saw, one of them is missing: no verdict about the server can be drawn.
    report.result = verdict::internal_error;
    report.evidence = probe.internal_failure;
  }
  if (options->login)
    co_await log_on(report, target, *options->login, probe.context->bounded, probe.context->deadline,
                    blocking_executor);
  report.total_ms = net::ms_since(probe.start);
  co_return std::move(report);
}

namespace {

using target_list = std::vector<std::pair<std::string, net::host_port>>;

struct run_state {
  std::shared_ptr<const target_list> targets;
  std::shared_ptr<const probe_options> options;
  std::shared_ptr<connection_pacer> pacer;
  std::shared_ptr<asio::ssl::context> tls_context;
  asio::any_io_executor blocking_executor;  // the logons' thread pool (--login), empty without one
  const run_hooks* hooks = nullptr;
  std::size_t next = 0;
  std::size_t finished = 0;
  bool stopping = false;  // Ctrl-C: no new targets
  asio::any_io_executor executor;  // the run's io_context
  run_result result;
};

// Runs the target `repeat` times; the report is the first run's, with statistics over all of them.
asio::awaitable<target_report> probe_repeated(std::shared_ptr<run_state> run, std::size_t i) {
  const auto& [text, where] = (*run->targets)[i];
  auto first = co_await probe_target(text, where, run->options, run->tls_context, run->pacer, run->blocking_executor);
  if (run->options->repeat <= 1) co_return first;
  // The repetitions measure the wire phases; the logon is made once.
  auto without_login = std::make_shared<probe_options>(*run->options);
  without_login->login.reset();
  std::vector<double> connect, negotiation, tls, credssp, mcs, total;
  auto collect = [&](const target_report& r) {
    for (auto [phase, samples] : {std::pair{&r.connect_ms, &connect}, {&r.negotiation_ms, &negotiation},
                                  {&r.tls_ms, &tls}, {&r.credssp_ms, &credssp}, {&r.mcs_ms, &mcs}})
      if (*phase) samples->push_back(**phase);
    total.push_back(r.total_ms);
  };
  collect(first);
  for (unsigned n = 1; n < run->options->repeat; ++n)
    collect(co_await probe_target(text, where, without_login, run->tls_context, run->pacer));
  for (auto& [name, samples] : {std::pair<std::string, std::vector<double>&>{"connect", connect},
                                {"negotiation", negotiation}, {"tls", tls}, {"credssp", credssp}, {"mcs", mcs},
                                {"total", total}})
    if (!samples.empty()) first.repeated.emplace_back(name, summarize(samples));
  co_return first;
}

// One target, its report stored in its slot. Run by net::spawn, so that an exception anywhere in the probe (a bug,
// or memory running out) still ends in a report: continue_probing gives the slot verdict internal-error.
asio::awaitable<void> probe_one(std::shared_ptr<run_state> run, std::size_t i) {
  run->result.reports[i] = co_await probe_repeated(run, i);
}

// What the report of a target whose probe ended by an exception says: its name, and the exception's text.
target_report internal_error_report(const std::string& text, const net::host_port& where, const std::exception_ptr& e) {
  target_report r;
  r.target = text;
  r.address = where.text();
  r.result = verdict::internal_error;
  r.evidence = "the probe ended by an internal error: " + net::describe_exception(e);
  return r;
}

// A worker: takes the next target, probes it, and when that completes (however it completes) takes the next one.
// `on_idle` runs once, when the worker finds nothing left to take (or the run is stopping).
void continue_probing(std::shared_ptr<run_state> run, std::shared_ptr<std::function<void()>> on_idle) {
  if (!run->stopping && run->hooks->stop_starting && run->hooks->stop_starting()) run->stopping = true;
  if (run->stopping || run->next >= run->targets->size()) {
    (*on_idle)();
    return;
  }
  const std::size_t i = run->next++;
  auto executor = run->executor;
  net::spawn(executor, probe_one(run, i), "rdpprobe: target " + (*run->targets)[i].first,
             [run, i, on_idle](std::exception_ptr e) {
               auto& slot = run->result.reports[i];
               if (e || !slot) {
                 const auto& [text, where] = (*run->targets)[i];
                 slot = internal_error_report(text, where, e);
               }
               ++run->finished;
               if (run->hooks->on_report) run->hooks->on_report(i, *slot);
               continue_probing(run, on_idle);
             });
}

}  // namespace

run_result probe_all(const target_list& targets, const probe_options& options, std::size_t concurrency,
                     const run_hooks& hooks) {
  asio::io_context io(1);
  auto run = std::make_shared<run_state>();
  run->targets = std::make_shared<const target_list>(targets);
  // Ctrl-C ends logons in progress within ~50 ms (their watchdogs poll this flag), so the pool's join is short.
  auto cancel_logons = std::make_shared<std::atomic<bool>>(false);
  auto run_options = options;
  if (run_options.login) run_options.login->cancel = cancel_logons;
  run->options = std::make_shared<const probe_options>(std::move(run_options));
  if (options.connections_per_second > 0) run->pacer = std::make_shared<connection_pacer>(options.connections_per_second);
  // One client context for the whole run (throws std::runtime_error for an unreadable --ca file).
  run->tls_context = std::make_shared<asio::ssl::context>(net::make_client_context(options.ca_file));
  run->hooks = &hooks;
  run->result.reports.resize(targets.size());
  // Declared before the logons' pool, so that Ctrl-C stays caught (not the default action) while the pool is joined.
  std::optional<asio::signal_set> signals;
  // FreeRDP logons block their thread for a second or so each; a few threads keep them off the probing thread.
  // Declared after `io`, so it is joined (every logon is bounded) before `io` and the coroutines waiting on it go.
  std::optional<asio::thread_pool> logons;
  if (options.login) {
    logons.emplace(std::clamp<std::size_t>(std::min(concurrency, targets.size()), 1, 4));
    run->blocking_executor = logons->get_executor();
  }
  // After Ctrl-C: a short grace in which logons in progress end as interrupted (their watchdogs poll every 50 ms)
  // and their targets' wire results are still reported; then whatever is left is abandoned.
  asio::steady_timer grace(io);
  if (hooks.stop_on_signal) {
    signals.emplace(io, SIGINT, SIGTERM);
    signals->async_wait([&](const error_code& ec, int) {
      if (ec) return;
      run->result.interrupted = true;
      run->stopping = true;
      cancel_logons->store(true);
      if (!options.login) {
        io.stop();
        return;
      }
      grace.expires_after(std::chrono::milliseconds(500));
      grace.async_wait([&](const error_code& grace_ec) {
        if (!grace_ec) io.stop();
      });
    });
  }
  const std::size_t workers = std::max<std::size_t>(1, std::min(concurrency, targets.size()));
  std::size_t idle_workers = 0;
  // The last worker to go idle ends the run, so a pending signal wait (or grace) does not keep io.run() alive.
  auto on_idle = std::make_shared<std::function<void()>>([&] {
    if (++idle_workers < workers) return;
    if (signals) signals->cancel();
    grace.cancel();
  });
  run->executor = io.get_executor();
  for (std::size_t i = 0; i < workers; ++i) asio::post(io, [run, on_idle] { continue_probing(run, on_idle); });
  io.run();
  return std::move(run->result);
}

std::vector<target_report> probe_all(const target_list& targets, const probe_options& options,
                                     std::size_t concurrency) {
  auto result = probe_all(targets, options, concurrency, run_hooks{});
  std::vector<target_report> out;
  out.reserve(result.reports.size());
  for (auto& r : result.reports) out.push_back(r ? std::move(*r) : target_report{});
  return out;
}

}  // namespace rdp::probe
