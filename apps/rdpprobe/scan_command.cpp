// `rdpprobe scan` (scan_command.hpp): flags to probe_options, probe_all, and the reports streamed as targets finish.
#include "scan_command.hpp"
#include "../command_exit.hpp"

#include "rdp/net/endpoint.hpp"
#include "rdp/net/local_file.hpp"
#include "rdp/probe/junit.hpp"
#include "rdp/probe/scanner.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace rdp::probe {
namespace {

constexpr int exit_healthy = 0;
constexpr int exit_finding = 1;
using apps::exit_usage;

struct usage_error {
  std::string message;
};

net::milliseconds duration_or_throw(const std::string& flag, const std::string& text) {
  std::string why;
  auto d = net::parse_duration(text, &why);
  if (!d) throw usage_error{flag + ": " + why};
  return *d;
}

struct scan_settings {
  std::vector<std::string> targets;
  std::string protocols, connect_timeout = "3s", read_timeout = "3s", tls_timeout = "5s", target_timeout, rate;
  std::string cookie = "rdpprobe", junit_path, ca_file, combinations;
  bool json_output = false;
  std::size_t concurrency = 32;
  unsigned count = 1;
  unsigned attempts_in_flight = probe_options{}.attempts_in_flight;
  unsigned conflict_probes = probe_options{}.conflict_probes;
  bool first_address = false;
  bool no_rdp_security = false;
  bool no_ntlm_info = false;
  bool no_session_check = false;
  bool details = false;
  // --login: a real logon. The password comes from --password-file or $RDPPROBE_PASSWORD, never from argv (any
  // local user can read another's command line in /proc).
  std::string login, domain, password_file, login_security = "any", login_timeout = "15s", reconnect_after;
  bool reconnect = false;
  // Which server certificates the logon trusts beyond those verified against the system store or --ca.
  std::vector<std::string> cert_sha256;
  bool ignore_certificate = false;
};

constexpr const char* password_variable = "RDPPROBE_PASSWORD";

// The first line of FILE, without its line end. Refuses what cannot be a password file rather than guessing.
// 64 KiB: a password line and its neighbours, never /dev/zero's endless stream.
std::string read_password_file(const std::string& path) {
  std::string why;
  const auto text = net::read_regular_file(path, 64 * 1024, "a password file", why);
  if (!text) throw usage_error{"--password-file: cannot read '" + path + "': " + why};
  std::string line = text->substr(0, text->find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.size() > 512) throw usage_error{"--password-file: the first line of '" + path + "' is over 512 bytes"};
  if (line.find('\0') != std::string::npos) throw usage_error{"--password-file: '" + path + "' holds a NUL byte"};
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    std::cerr << "rdpprobe: warning: --password-file '" << path << "' is readable by other users (chmod 600 it)\n";
  return line;
}

std::optional<login_check_options> login_from(const scan_settings& s) {
  if (s.login.empty()) {
    for (const auto& [flag, given] : {std::pair<const char*, bool>{"--reconnect", s.reconnect},
                                      {"--reconnect-after", !s.reconnect_after.empty()},
                                      {"--password-file", !s.password_file.empty()},
                                      {"--cert-sha256", !s.cert_sha256.empty()},
                                      {"--ignore-certificate", s.ignore_certificate},
                                      {"--domain", !s.domain.empty()}})
      if (given) throw usage_error{std::string(flag) + " needs --login USER"};
    return std::nullopt;
  }
  login_check_options login;
  // DOMAIN\USER as Windows writes it; --domain says the same and wins over neither: both at once is an error.
  if (const auto slash = s.login.find('\\'); slash != std::string::npos) {
    if (!s.domain.empty()) throw usage_error{"--login: give the domain either as DOMAIN\\USER or with --domain, not both"};
    login.domain = s.login.substr(0, slash);
    login.user = s.login.substr(slash + 1);
  } else {
    login.user = s.login;
    login.domain = s.domain;
  }
  if (login.user.empty() || login.user.size() > 256 || login.domain.size() > 256 ||
      login.user.find_first_of("\r\n") != std::string::npos)
    throw usage_error{"--login: '" + s.login + "' is not a user name like alice or LAB\\alice"};
  if (!s.password_file.empty()) {
    login.password = read_password_file(s.password_file);
  } else if (const char* env = std::getenv(password_variable)) {
    login.password = env;
  } else {
    throw usage_error{std::string("--login: no password; put it in a file for --password-file FILE, or in $") +
                      password_variable + " (never on the command line)"};
  }
  const auto& sec = s.login_security;
  if (sec == "any") login.security = login_security::any;
  else if (sec == "tls") login.security = login_security::tls;
  else if (sec == "nla") login.security = login_security::nla;
  else if (sec == "rdp") login.security = login_security::rdp;
  else throw usage_error{"--login-security: '" + sec + "' is not one of any, tls, nla, rdp"};
  login.timeout = duration_or_throw("--login-timeout", s.login_timeout);
  login.reconnect = s.reconnect;
  login.ignore_certificate = s.ignore_certificate;
  for (const auto& pin : s.cert_sha256) {
    // As the JSON reports it (tls.cert_sha256), or as openssl x509 -fingerprint -sha256 prints it.
    std::string hex;
    for (char c : pin)
      if (c != ':') hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos)
      throw usage_error{"--cert-sha256: '" + pin + "' is not a SHA-256 (64 hex digits, colons allowed)"};
    login.accepted_sha256.push_back(hex);
  }
  if (!s.reconnect_after.empty()) {
    if (!s.reconnect) throw usage_error{"--reconnect-after needs --reconnect"};
    login.reconnect_after = duration_or_throw("--reconnect-after", s.reconnect_after);
    if (login.reconnect_after > std::chrono::hours(1)) throw usage_error{"--reconnect-after: at most 1h"};
  }
  return login;
}

// Standard output of a scan, written with write(2) so that a failure is seen at the write that failed and with its
// errno: a reader that went away (`| head -1`: EPIPE, SIGPIPE being ignored), a full disk. The output then stops,
// the run goes on to write the files the user asked for (--junit), and the exit status says the report was cut short.
class report_output {
 public:
  void write(const std::string& text) {
    std::size_t done = 0;
    while (!failed() && done < text.size()) {
      const ssize_t n = ::write(STDOUT_FILENO, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error_ = n < 0 ? errno : EIO;
        return;
      }
      done += static_cast<std::size_t>(n);
    }
  }
  bool failed() const noexcept { return error_ != 0; }
  // "standard output: Broken pipe (the reader went away); the output stopped there"
  std::string why() const {
    return std::string("standard output: ") + std::strerror(error_) +
           (error_ == EPIPE ? " (the reader went away)" : "") + "; the output stopped there";
  }

 private:
  int error_ = 0;
};

// After the probing, until every file is written: Ctrl-C or SIGTERM is remembered, not obeyed at once, so that a
// second Ctrl-C (or one that comes while the JUnit file is written) cannot lose what the first one kept.
volatile std::sig_atomic_t late_signal = 0;
extern "C" void remember_signal(int signal_number) { late_signal = signal_number; }

void defer_termination_signals() {
  struct sigaction action {};
  action.sa_handler = remember_signal;
  sigemptyset(&action.sa_mask);
  for (int s : {SIGINT, SIGTERM}) ::sigaction(s, &action, nullptr);
}

constexpr std::size_t max_targets = 65536;
constexpr int exit_interrupted = 130;  // 128 + SIGINT, as shells report it

probe_options options_from(const scan_settings& s) {
  probe_options options;
  options.connect_timeout = duration_or_throw("--connect-timeout", s.connect_timeout);
  options.read_timeout = duration_or_throw("--read-timeout", s.read_timeout);
  options.tls_timeout = duration_or_throw("--tls-timeout", s.tls_timeout);
  if (!s.target_timeout.empty()) options.target_timeout = duration_or_throw("--timeout", s.target_timeout);
  if (!s.rate.empty()) {
    // "100/s" or "100": new connections per second across all targets.
    std::string number = s.rate.ends_with("/s") ? s.rate.substr(0, s.rate.size() - 2) : s.rate;
    char* end = nullptr;
    const double value = std::strtod(number.c_str(), &end);
    if (number.empty() || end != number.c_str() + number.size() || !(value > 0) || value > 1e6)
      throw usage_error{"--rate: '" + s.rate + "' is not like 100/s (connections per second, at most 1000000)"};
    options.connections_per_second = value;
  }
  if (s.cookie.find_first_of("\r\n") != std::string::npos || s.cookie.size() > 200)
    throw usage_error{"--cookie: must be one line of at most 200 characters"};
  options.cookie = s.cookie;
  options.repeat = s.count;
  options.attempts_in_flight = s.attempts_in_flight;
  options.conflict_probes = s.conflict_probes;
  options.first_address = s.first_address;
  options.standard_security = !s.no_rdp_security;
  options.ntlm_info = !s.no_ntlm_info;
  options.session_check = !s.no_session_check;
  if (s.combinations == "none") {
    options.combinations.clear();
  } else if (!s.combinations.empty()) {
    options.combinations.clear();
    std::stringstream list(s.combinations);
    std::string item;
    while (std::getline(list, item, ',')) {
      char* end = nullptr;
      const unsigned long bits = std::strtoul(item.c_str(), &end, 0);
      if (item.empty() || end != item.c_str() + item.size() || bits > 0xFFFFFFFFul)
        throw usage_error{"--combinations: '" + item + "' is not a requestedProtocols value like 0x0B"};
      options.combinations.push_back(static_cast<std::uint32_t>(bits));
    }
  }
  options.login = login_from(s);
  options.ca_file = s.ca_file;
  if (!s.ca_file.empty()) {
    try {
      net::make_client_context(s.ca_file);
    } catch (const std::exception& e) {
      throw usage_error{std::string("--ca: ") + e.what()};
    }
  }
  if (!s.protocols.empty()) {
    std::string why;
    auto list = protocol::parse_security_protocol_list(s.protocols, &why);
    if (!list) throw usage_error{"--protocols: " + why};
    options.protocols = std::move(*list);
  }
  return options;
}

int run_scan(const scan_settings& s) {
  const auto options = options_from(s);
  std::string why;
  auto expanded = net::expand_targets(s.targets, net::default_rdp_port, max_targets, &why);
  if (!expanded) throw usage_error{why};
  std::vector<std::pair<std::string, net::host_port>> targets;
  std::vector<std::string> names;
  for (auto& t : *expanded) {
    names.push_back(t.text);
    targets.emplace_back(std::move(t.text), std::move(t.where));
  }

  // Reports are printed in the order the targets were given, each as soon as it and all before it are done. One
  // target gets the detailed report; several get one table row each, then the detailed report of those with a
  // finding (of all with --details).
  std::vector<std::optional<target_report>> finished(targets.size());
  std::size_t printed = 0, done = 0;
  bool all_healthy = true;
  const bool progress = isatty(STDERR_FILENO) != 0;
  const bool table = !s.json_output && targets.size() > 1;
  const summary_table rows(names, options.protocols, options.combinations);
  report_output out;
  std::string render_error;  // a report that could not be rendered: a bug, reported and exit status 1
  auto render = [&](const std::function<void(std::ostream&)>& what) {
    if (out.failed()) return;
    std::ostringstream text;
    try {
      what(text);
    } catch (const std::exception& e) {
      if (render_error.empty()) render_error = e.what();
      return;
    }
    out.write(text.str());
  };
  if (table) render([&](std::ostream& o) { rows.print_header(o); });
  auto print = [&](const target_report& r) {
    all_healthy = all_healthy && r.result == verdict::rdp;
    render([&](std::ostream& o) {
      if (s.json_output) o << to_json(r).dump() << "\n";
      else if (table) rows.print_row(o, r);
      else print_human(o, r);
    });
  };
  run_hooks hooks;
  hooks.stop_on_signal = true;
  // Nobody reads the output any more and no file is to be written: probing on would be work for no one.
  hooks.stop_starting = [&] { return out.failed() && s.junit_path.empty(); };
  hooks.on_report = [&](std::size_t i, const target_report& r) {
    finished[i] = r;
    ++done;
    if (progress) std::cerr << "\r\033[K" << done << "/" << targets.size() << " targets done" << std::flush;
    while (printed < finished.size() && finished[printed]) {
      if (progress) std::cerr << "\r\033[K";
      print(*finished[printed++]);
    }
  };
  const auto result = probe_all(targets, options, s.concurrency, hooks);
  defer_termination_signals();
  if (progress) std::cerr << "\r\033[K" << std::flush;
  if (result.interrupted) {
    // Ctrl-C: write everything that finished, even behind a target that did not.
    for (; printed < finished.size(); ++printed)
      if (finished[printed]) print(*finished[printed]);
  }
  if (table) {
    // After the table, the details of the targets with an RDP finding; a target with nothing RDP to show (refused,
    // silent, not RDP) is said in full by its row. --details: every target.
    for (const auto& r : finished) {
      if (!r || (!s.details && (r->result == verdict::rdp || !has_rdp_to_show(*r)))) continue;
      render([&](std::ostream& o) {
        o << "\n";
        print_human(o, *r);
      });
    }
  }
  if (result.interrupted)
    std::cerr << "rdpprobe: interrupted; " << done << " of " << targets.size() << " targets finished\n";
  bool written = true;
  if (!s.junit_path.empty()) {
    std::string junit;
    try {
      junit = to_junit(names, finished);
    } catch (const std::exception& e) {
      std::cerr << "rdpprobe: --junit: the report could not be rendered: " << e.what() << "\n";
      written = false;
    }
    if (written && !net::write_report_file(s.junit_path, junit, why)) {
      std::cerr << "rdpprobe: --junit: " << why << "\n";
      written = false;
    }
  }
  if (!render_error.empty()) std::cerr << "rdpprobe: a report could not be rendered: " << render_error << "\n";
  if (out.failed()) std::cerr << "rdpprobe: " << out.why() << "\n";
  if (result.interrupted || late_signal != 0) return exit_interrupted;
  if (!written || !render_error.empty() || out.failed()) return exit_finding;
  return all_healthy ? exit_healthy : exit_finding;
}

int run_scan_command(const scan_settings& s) {
  try {
    return run_scan(s);
  } catch (const usage_error& e) {
    std::cerr << "rdpprobe: " << e.message << "\n";
    return exit_usage;
  } catch (const std::exception& e) {
    // A bug or an exhausted resource: said, and never an exit status that could read as a clean run.
    std::cerr << "rdpprobe: internal error: " << e.what() << "\n";
    return exit_finding;
  }
}

}  // namespace

CLI::App* add_scan_command(CLI::App& app) {
  auto* scan = app.add_subcommand("scan", "Negotiate each security protocol with each target and report what it selects");
  auto settings_ptr = std::make_shared<scan_settings>();
  auto& settings = *settings_ptr;
  scan->add_option("targets", settings.targets,
                   "HOST, HOST:PORT, [IPv6]:PORT, CIDR range (10.0.0.0/24[:PORT]) or @FILE (default port 3389)")
      ->required();
  scan->add_option("--protocols", settings.protocols,
                   "comma-separated subset of rdp,tls,credssp,credssp-ex,rdstls,rdsaad (default: all six)");
  scan->add_flag("--json", settings.json_output, "one JSON object per target per line (docs/json-schema.md)");
  scan->add_flag("--details", settings.details,
                 "with several targets: after the table, the detailed report of every target, not only of those "
                 "with an RDP finding");
  scan->add_option("--junit", settings.junit_path, "also write a JUnit XML report (one test case per target) to FILE");
  scan->add_option("--connect-timeout", settings.connect_timeout, "TCP connect deadline per attempt")->capture_default_str();
  scan->add_option("--read-timeout", settings.read_timeout, "deadline for the server's X.224 answer")->capture_default_str();
  scan->add_option("--tls-timeout", settings.tls_timeout, "TLS handshake deadline")->capture_default_str();
  scan->add_option("--timeout", settings.target_timeout, "overall deadline per target, every attempt included");
  scan->add_option("--rate", settings.rate, "at most N new connections per second across all targets (N/s)");
  scan->add_option("--count", settings.count, "probe each target N times; report min/median/p99 per phase")
      ->check(CLI::Range(1, 10000))->capture_default_str();
  scan->add_option("--combinations", settings.combinations,
                   "requestedProtocols values real clients send, also asked (default 0x03,0x0B; 'none' to skip)");
  scan->add_option("--ca", settings.ca_file, "verify server certificates against this PEM CA bundle (default: system store)");
  scan->add_option("--attempts-in-flight", settings.attempts_in_flight,
                   "negotiations with one target at once, after the first (1 = one at a time)")
      ->check(CLI::Range(1, 16))->capture_default_str();
  scan->add_option("--conflict-probes", settings.conflict_probes,
                   "when the first answer is not RDP, this many more connections before giving up: a second listener "
                   "sharing the port (SO_REUSEPORT) is met by some of them (verdict listener-conflict); 0 = none")
      ->check(CLI::Range(0, 64))->capture_default_str();
  scan->add_flag("--first-address", settings.first_address,
                 "probe only the first address of a name that resolves to several (default: one connection to each "
                 "other address too; addresses meeting different listeners are verdict listener-conflict)");
  scan->add_flag("--no-rdp-security", settings.no_rdp_security,
                 "skip the MCS exchanges that read Standard RDP Security's level, methods and version");
  scan->add_flag("--no-ntlm-info", settings.no_ntlm_info,
                 "skip the CredSSP exchange that reads the server's NTLM names, version and clock");
  scan->add_flag("--no-session-check", settings.no_session_check,
                 "skip the MCS Connect-Initial sent inside TLS that tells a server tearing sessions down "
                 "(verdict session-error)");
  scan->add_option("--login", settings.login,
                   "after the probe, log on as USER (or DOMAIN\\USER) with the FreeRDP client library and report how "
                   "far it got; password from --password-file or $RDPPROBE_PASSWORD");
  scan->add_option("--domain", settings.domain, "the logon's domain (or write --login DOMAIN\\USER)");
  scan->add_option("--password-file", settings.password_file, "the logon's password: the first line of FILE");
  scan->add_option("--login-security", settings.login_security,
                   "what the logon offers: any (RDP, TLS, NLA; the server picks), tls, nla, rdp")
      ->capture_default_str();
  scan->add_option("--login-timeout", settings.login_timeout, "deadline of each logon, TCP connect to active session")
      ->capture_default_str();
  scan->add_option("--cert-sha256", settings.cert_sha256,
                   "with --login: also trust the server certificate with this SHA-256 (of the DER, as tls.cert_sha256 "
                   "reports it); repeatable. Otherwise the logon trusts only a certificate verified against the system "
                   "store or --ca for the target's name");
  scan->add_flag("--ignore-certificate", settings.ignore_certificate,
                 "with --login: give the credentials to whatever certificate the server shows, and allow Standard RDP "
                 "Security (which authenticates no server), as xfreerdp /cert:ignore");
  scan->add_flag("--reconnect", settings.reconnect,
                 "after the logon disconnects, reconnect with the auto-reconnect cookie the server issued: honoured "
                 "(same session), new-session, or refused");
  scan->add_option("--reconnect-after", settings.reconnect_after,
                   "wait this long between the disconnect and the reconnection (e.g. past a disconnected-session "
                   "time limit)");
  scan->add_option("--cookie", settings.cookie, "mstshash cookie sent in the Connection Request")->capture_default_str();
  scan->add_option("--concurrency", settings.concurrency, "targets probed at once")->check(CLI::Range(1, 4096))->capture_default_str();
  scan->footer(
      "Output: one target gets a detailed report. Several targets get one row each (target, verdict, protocols\n"
      "accepted, what each client combination selected, TLS version, certificate days left, connect+handshake\n"
      "time, finding), then the detailed report of every target with an RDP finding (of every target with\n"
      "--details); a target with nothing RDP to show (refused, silent, not RDP) is said in full by its row.\n"
      "Verdicts (docs/verdicts.md): rdp, not-rdp, refused, timeout, reset, closed, negotiation-failed, tls-failed,\n"
      "session-error, dns-failed, listener-conflict, login-failed, reconnect-failed, internal-error.\n"
      "Exit status: 0 every target is rdp, 1 any finding (or the report could not be written), 2 usage or input\n"
      "error, 130 interrupted.");
  scan->callback([settings_ptr] { apps::end_process(run_scan_command(*settings_ptr)); });
  return scan;
}

}  // namespace rdp::probe
