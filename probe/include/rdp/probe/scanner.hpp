#pragma once
// The probe itself: for one target, one TCP connection and X.224 negotiation per requested security protocol,
// then the TLS handshake where the server selected a TLS-based protocol. Every socket operation has a deadline.
#include "rdp/net/asio.hpp"
#include "rdp/net/endpoint.hpp"
#include "rdp/probe/probe_options.hpp"
#include "rdp/probe/report.hpp"
#include "rdp/protocol/nego.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rdp::probe {

// Spaces out new connections across every target of a run (--rate). Single-threaded: one per io_context.
class connection_pacer {
 public:
  explicit connection_pacer(double per_second);
  net::asio::awaitable<void> wait_turn();

 private:
  net::clock::duration interval_;
  net::clock::time_point next_ = net::clock::now();
};

// Probes one target. Never throws for anything the network or the server does; the report says what happened.
// `tls_context` (from net::make_client_context(options->ca_file)) should be shared by every target of a run:
// loading the system trust store costs 25-40 ms, far more than probing a nearby server. `blocking_executor` is where
// the FreeRDP logon of options->login runs (it blocks for up to a second or more); without one it runs on the
// calling thread, stalling every other coroutine of that io_context meanwhile.
net::asio::awaitable<target_report> probe_target(std::string target_text, net::host_port target,
                                                 std::shared_ptr<const probe_options> options,
                                                 std::shared_ptr<net::asio::ssl::context> tls_context,
                                                 std::shared_ptr<connection_pacer> pacer = nullptr,
                                                 net::asio::any_io_executor blocking_executor = {});

struct run_hooks {
  // Called on the probing thread as each target finishes (in completion order), e.g. to stream output.
  std::function<void(std::size_t index, const target_report&)> on_report;
  // Stop at SIGINT/SIGTERM: targets still in flight are abandoned and left out of the result.
  bool stop_on_signal = false;
  // Asked before each new target is started: true stops starting new ones (those in flight finish and are reported),
  // e.g. once nobody reads the output and nothing else is to be written.
  std::function<bool()> stop_starting;
};
struct run_result {
  std::vector<std::optional<target_report>> reports;  // in the order given; nullopt = not finished
  bool interrupted = false;
};

// Probes many targets at once (at most `concurrency` in flight) on an io_context of its own.
run_result probe_all(const std::vector<std::pair<std::string, net::host_port>>& targets, const probe_options& options,
                     std::size_t concurrency, const run_hooks& hooks);
// The same without hooks, for callers that want every report.
std::vector<target_report> probe_all(const std::vector<std::pair<std::string, net::host_port>>& targets,
                                     const probe_options& options, std::size_t concurrency);

}  // namespace rdp::probe
