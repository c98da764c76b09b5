// Issue 13's figures: memory per idle TLS session on both sides, and full logons per second, each beside a baseline
// measured in the same run.
//
//   build/ci/bench/session_load [--sessions 10000] [--logons 2000] [--in-flight 200] [--key rsa|ecdsa]
//                               [--security tls|nla]  (nla: CredSSP logons, NTLMv2, of one profile user each)
//                               [--rdpsim PATH]   (another build of rdpsim: a before/after comparison in one run)
//
// `rdpsim serve` runs as its own process (its RSS is read from /proc); the clients are the product's lean client
// (rdp::client), all on one io_context in this process. Phase 1 holds --sessions idle TLS sessions at once and reads
// both processes' RSS growth per session; phase 2 runs --logons full logons (TCP to the active state, then close)
// with at most --in-flight connection sequences at a time. The baseline for phase 2 is `openssl speed rsa2048` (or
// ecdsap256) signing per core, run here first: every logon costs the server one signature in its TLS handshake, so
// logons/s ÷ signs/s says how much of a core's signing rate the whole logon reaches.
//
// Sends traffic only to 127.0.0.1. Not a test: it prints figures and exits 0, or 1 when a phase could not run.
#include "rdp/client/session.hpp"
#include "rdpsim_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace rdp;
namespace asio = net::asio;
namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct settings {
  std::size_t sessions = 10000;
  std::size_t logons = 2000;
  std::size_t in_flight = 200;
  std::string key = "rsa";
  std::string security = "tls";
  std::string rdpsim = RDPSIM_BIN;  // --rdpsim PATH: another build of rdpsim, for a before/after comparison
};

long status_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + (pid ? std::to_string(pid) : std::string("self")) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
  return -1;
}

// CPU time (user + system) a process has used, in seconds: this one (pid 0) or another, from /proc/<pid>/stat.
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + (pid ? std::to_string(pid) : std::string("self")) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; fields >> field; ++i)
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Runs `total` sessions with at most `in_flight` connection sequences at once; calls `done` for each result.
struct launcher {
  asio::io_context& io;
  net::ssl::context& context;
  client::session_options options;
  std::size_t total, in_flight;
  std::size_t started = 0, sequences_done = 0, active = 0, finished = 0;
  std::vector<std::shared_ptr<client::session_control>> stops;
  std::vector<std::string> failures;
  double tls_ms = 0, rest_ms = 0;  // sums over the active ones: TCP connect to TLS done, TLS done to active

  launcher(asio::io_context& i, net::ssl::context& c, std::size_t t, std::size_t f)
      : io(i), context(c), total(t), in_flight(f) {}
  void fill() {
    while (started < total && started - sequences_done < in_flight) launch();
  }
  void launch() {
    auto o = options;
    o.user = "bench" + std::to_string(started);
    if (o.hold) {
      o.control = std::make_shared<client::session_control>();
      stops.push_back(o.control);
    }
    ++started;
    asio::co_spawn(io, client::run_session(context, std::move(o), [this](const client::session_result& r) {
                     ++sequences_done;
                     if (r.active()) {
                       ++active;
                       if (r.started_at && r.tls_at && r.active_at) {
                         tls_ms += std::chrono::duration<double, std::milli>(*r.tls_at - *r.started_at).count();
                         rest_ms += std::chrono::duration<double, std::milli>(*r.active_at - *r.tls_at).count();
                       }
                     }
                     else if (failures.size() < 5) failures.push_back(r.failure);
                     fill();
                   }),
                   [this](std::exception_ptr, client::session_result) { ++finished; });
  }
};

// The signing rate of one core for the server's key kind, from `openssl speed`.
double openssl_signs_per_second(const std::string& key) {
  const std::string algorithm = key == "rsa" ? "rsa2048" : "ecdsap256";
  const std::string command = "openssl speed -seconds 3 " + algorithm + " 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) return 0;
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe.get())) out += buf;
  // "rsa 2048 bits 0.000551s 0.000016s   1815.2  62426.3" / "256 bits ecdsa (nistp256)   0.0000s   0.0001s  45000.0  15000.0"
  const std::regex rsa(R"(rsa\s+2048 bits\s+[\d.]+s\s+[\d.]+s\s+([\d.]+))");
  const std::regex ecdsa(R"(256 bits ecdsa \(nistp256\)\s+[\d.]+s\s+[\d.]+s\s+([\d.]+))");
  std::smatch m;
  if (std::regex_search(out, m, key == "rsa" ? rsa : ecdsa)) return std::stod(m[1]);
  return 0;
}

int run(const settings& s) {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_max < s.sessions + 100) {
    std::cerr << "session_load: the hard open-files limit (" << limit.rlim_max << ") is below " << s.sessions + 100
              << "; use --sessions " << (limit.rlim_max > 200 ? limit.rlim_max - 200 : 0) << "\n";
    return 1;
  }
  const auto dir = fs::temp_directory_path() / ("rdp-session-load-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto profile = dir / "profile.yaml";
  {
    std::ofstream out(profile);
    const auto cap = std::to_string(s.sessions + s.logons + 1000);
    out << "name: session-load\nprotocols: [" << (s.security == "nla" ? "credssp" : "tls") << "]\ntls:\n  generate: "
        << s.key << "\nheartbeat_seconds: null\ntcp_keepalive: false\nlimits:\n  max_connections: " << cap
        << "\n  max_session_table: " << cap << "\ntimeouts:\n  prelogon_ms: 600000\n";
    // Over NLA every logon is checked against an account: one per client name the launcher gives (bench0, …).
    if (s.security == "nla") {
      out << "users:\n";
      for (std::size_t i = 0; i < std::max(s.sessions, s.logons); ++i)
        out << "  - {user: bench" << i << ", password: bench}\n";
    }
  }

  std::cout << "baseline: openssl speed " << (s.key == "rsa" ? "rsa2048" : "ecdsap256") << " …" << std::flush;
  const double signs = openssl_signs_per_second(s.key);
  std::cout << " " << signs << " signs/s on one core\n";

  test::rdpsim_process sim;
  std::string why;
  if (!sim.start(s.rdpsim, {"--profile", profile.string(), "--listen", "127.0.0.1:0", "--no-control"},
                 /*with_control=*/false, &why)) {
    std::cerr << "session_load: " << why << "\n";
    return 1;
  }
  auto context = client::make_client_context();
  int status = 0;

  {  // Phase 1: memory per idle session.
    asio::io_context io(1);
    launcher l(io, context, s.sessions, s.in_flight);
    l.options.port = sim.rdp_port();
    l.options.security = s.security == "nla" ? client::session_security::nla : client::session_security::tls;
    l.options.password = "bench";
    l.options.deadlines.step = 60s;
    l.options.deadlines.hold = 600s;
    std::this_thread::sleep_for(200ms);
    const long sim_before = status_kib(sim.pid(), "VmRSS"), self_before = status_kib(0, "VmRSS");
    const auto start = steady::now();
    l.fill();
    while (l.sequences_done < s.sessions && steady::now() - start < 600s) io.run_for(100ms);
    const double held_s = std::chrono::duration<double>(steady::now() - start).count();
    io.run_for(500ms);  // let the last Save Session Info PDUs land
    const long sim_held = status_kib(sim.pid(), "VmRSS"), self_held = status_kib(0, "VmRSS");
    const double n = static_cast<double>(std::max<std::size_t>(l.active, 1));
    std::cout << "phase 1: " << l.active << " of " << s.sessions << " sessions active in " << held_s << " s\n"
              << "  rdpsim  RSS " << sim_before << " -> " << sim_held << " KiB: "
              << static_cast<double>(sim_held - sim_before) / n << " KiB per idle TLS session (server side)\n"
              << "  clients RSS " << self_before << " -> " << self_held << " KiB: "
              << static_cast<double>(self_held - self_before) / n << " KiB per idle TLS session (client side)\n";
    for (const auto& f : l.failures) std::cout << "  failure: " << f << "\n";
    if (l.active != s.sessions) status = 1;
    for (auto& stop : l.stops) stop->request_stop();
    const auto stop_start = steady::now();
    while (l.finished < l.started && steady::now() - stop_start < 120s) io.run_for(100ms);
  }
  {  // Phase 2: full logons per second.
    asio::io_context io(1);
    launcher l(io, context, s.logons, s.in_flight);
    l.options.port = sim.rdp_port();
    l.options.security = s.security == "nla" ? client::session_security::nla : client::session_security::tls;
    l.options.password = "bench";
    l.options.hold = false;
    l.options.deadlines.step = 60s;
    const double sim_cpu = cpu_seconds(sim.pid()), self_cpu = cpu_seconds(0);
    const auto start = steady::now();
    l.fill();
    while (l.finished < s.logons && steady::now() - start < 600s) io.run_for(100ms);
    const double took = std::chrono::duration<double>(steady::now() - start).count();
    const double rate = static_cast<double>(l.active) / took;
    std::cout << "phase 2: " << l.active << " of " << s.logons << " logons in " << took << " s: " << rate
              << " logons/s; " << (signs > 0 ? rate / signs : 0) << " of one core's " << s.key << " signing rate\n"
              << "  mean per logon: " << l.tls_ms / std::max<double>(1, static_cast<double>(l.active))
              << " ms to TLS done, " << l.rest_ms / std::max<double>(1, static_cast<double>(l.active))
              << " ms from TLS to active\n"
              << "  CPU per logon: rdpsim " << (cpu_seconds(sim.pid()) - sim_cpu) * 1000 / static_cast<double>(s.logons)
              << " ms, clients " << (cpu_seconds(0) - self_cpu) * 1000 / static_cast<double>(s.logons) << " ms\n";
    for (const auto& f : l.failures) std::cout << "  failure: " << f << "\n";
    if (l.active != s.logons) status = 1;
  }
  sim.stop();
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  try {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--sessions") s.sessions = std::stoul(value);
    else if (flag == "--logons") s.logons = std::stoul(value);
    else if (flag == "--in-flight") s.in_flight = std::max<std::size_t>(1, std::stoul(value));
    else if (flag == "--key" && (value == "rsa" || value == "ecdsa")) s.key = value;
    else if (flag == "--rdpsim") s.rdpsim = value;
    else if (flag == "--security" && (value == "tls" || value == "nla")) s.security = value;
    else {
      std::cerr << "session_load: unknown option " << flag << " " << value
                << " (--sessions N, --logons N, --in-flight N, --key rsa|ecdsa, --security tls|nla, --rdpsim PATH)\n";
      return 2;
    }
  }
  } catch (const std::exception&) {
    std::cerr << "session_load: option values are whole numbers\n";
    return 2;
  }
  if (argc % 2 == 0) {
    std::cerr << "session_load: " << argv[argc - 1] << " needs a value\n";
    return 2;
  }
  return run(s);
}
