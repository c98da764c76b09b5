// Issue 4's load acceptance: `rdpsim serve`, run as its own process, holds 2,000 concurrent idle sessions (mini
// clients from the product client, client/include/rdp/client/session.hpp, all on one io_context in this process), the control interface shows
// them Active and logs each one off, every client sees ERRINFO_RPC_INITIATED_LOGOFF and the Disconnect Provider
// Ultimatum, and rdpsim is left with exactly the file descriptors it started with, an empty session table and no
// memory growth. The figures (RSS per session, fd counts, times) are printed for the note.
#include "rdp/client/session.hpp"
#include "rdpsim_process.hpp"

#include "rdp/sim/control.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <algorithm>
#include <chrono>
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
using json = nlohmann::json;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr std::size_t session_count = 2000;
constexpr std::size_t handshakes_in_flight = 200;  // the bound on concurrent connection sequences
constexpr std::uint32_t errinfo_rpc_initiated_logoff = 0x00000002;

double seconds_since(steady::time_point start) { return std::chrono::duration<double>(steady::now() - start).count(); }

// ---- /proc ----------------------------------------------------------------------------------------------------------

std::size_t fd_count(pid_t pid) {
  std::error_code ec;
  std::size_t n = 0;
  for (fs::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end; !ec && it != end; it.increment(ec))
    ++n;
  return n;
}

// A "VmRSS:  12345 kB" style line of /proc/<pid>/status, in KiB; -1 if absent.
long status_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  return -1;
}

// The soft and hard "Max open files" of /proc/<pid>/limits.
std::pair<std::string, std::string> open_files_limits(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Max open files", 0) != 0) continue;
    std::istringstream fields(line.substr(std::string("Max open files").size()));
    std::string soft, hard;
    fields >> soft >> hard;
    return {soft, hard};
  }
  return {};
}

// ---- the control interface ------------------------------------------------------------------------------------------

struct table_counts {
  std::size_t active = 0, other = 0, listen = 0;
  std::vector<std::uint32_t> ids;  // of the Active sessions
};

table_counts query_table(const net::host_port& control, const std::string& token, std::string* why) {
  table_counts counts;
  auto reply = sim::call_control(control, json{{"token", token}, {"command", "query-session"}}, 10000ms);
  if (reply.ec || !reply.response.value("ok", false)) {
    *why = reply.ec ? reply.error : reply.response.dump();
    return counts;
  }
  for (const auto& row : reply.response.at("sessions")) {
    const auto state = row.at("state").get<std::string>();
    if (state == "listen") ++counts.listen;
    else if (state == "active") {
      ++counts.active;
      counts.ids.push_back(row.at("id").get<std::uint32_t>());
    } else {
      ++counts.other;
    }
  }
  return counts;
}

// Polls `done` every 20 ms until it holds or `limit` passes.
template <class F>
bool wait_until(F done, std::chrono::milliseconds limit) {
  const auto deadline = steady::now() + limit;
  for (;;) {
    if (done()) return true;
    if (steady::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

// ---- 2,000 lean clients on one io_context ---------------------------------------------------------------------------

// Starts every session, at most `handshakes_in_flight` connection sequences at a time: each session whose sequence
// ends starts the next one. All of them then hold their sessions at once. Everything but the atomics is touched only
// on the io thread; `results` is read by the test after `finished` reached session_count.
class client_fleet {
 public:
  client_fleet(net::ssl::context& context, std::uint16_t port, std::string user_prefix)
      : context_(context), port_(port), prefix_(std::move(user_prefix)), results_(session_count) {
    asio::post(io_, [this] { launch(); });
    thread_ = std::thread([this] { io_.run(); });
  }
  ~client_fleet() {
    io_.stop();
    thread_.join();
  }

  std::atomic<std::size_t> sequences_done{0}, active{0}, finished{0};
  const std::vector<client::session_result>& results() const { return results_; }

 private:
  void launch() {
    while (in_flight_ < handshakes_in_flight && next_ < session_count) {
      const std::size_t i = next_++;
      ++in_flight_;
      client::session_options options;
      options.port = port_;
      options.user = prefix_ + std::to_string(i);  // distinct users: single-session policy would merge the same user
      options.deadlines.step = 20000ms;
      options.deadlines.hold = 100000ms;
      auto on_sequence = [this](const client::session_result& r) {
        --in_flight_;
        if (r.active()) ++active;
        ++sequences_done;
        launch();
      };
      asio::co_spawn(io_, client::run_session(context_, std::move(options), on_sequence),
                     [this, i](std::exception_ptr, client::session_result r) {
                       results_[i] = std::move(r);
                       ++finished;
                     });
    }
  }

  net::ssl::context& context_;
  std::uint16_t port_;
  std::string prefix_;
  std::vector<client::session_result> results_;
  std::size_t next_ = 0, in_flight_ = 0;
  asio::io_context io_{1};
  std::thread thread_;
};

struct cycle_figures {
  long rss_held_kib = 0;
  std::size_t fds_held = 0;
  long rss_after_kib = 0;
  std::size_t fds_after = 0;
  double connect_s = 0, logoff_s = 0, settle_s = 0;
};

// One cycle: 2,000 sessions up and held, checked, counted, logged off, checked, counted.
void run_cycle(net::ssl::context& context, const test::rdpsim_process& sim, const std::string& token,
               std::size_t fds_baseline, std::size_t cycle, cycle_figures& out) {
  const net::host_port control{"127.0.0.1", sim.control_port()};
  auto start = steady::now();
  client_fleet fleet(context, sim.rdp_port(), "load" + std::to_string(cycle) + "-");
  ASSERT_TRUE(wait_until([&] { return fleet.sequences_done == session_count; }, 60000ms))
      << fleet.sequences_done << " of " << session_count << " connection sequences ended within 60 s";
  if (fleet.active != session_count) {
    // Name the first failures before failing: which step, and why.
    std::size_t shown = 0;
    for (const auto& r : fleet.results())
      if (!r.active() && !r.failure.empty() && shown++ < 5)
        ADD_FAILURE() << "stopped after " << protocol::to_string(r.reached) << ": " << r.failure;
    FAIL() << fleet.active << " of " << session_count << " sessions reached active";
  }
  out.connect_s = seconds_since(start);

  // The table shows them Active once each client holds its cookie (Save Session Info follows the Font Map).
  std::string why;
  table_counts table;
  ASSERT_TRUE(wait_until(
      [&] {
        table = query_table(control, token, &why);
        return table.active == session_count && table.other == 0;
      },
      10000ms))
      << table.active << " Active and " << table.other << " other sessions in the table " << why;
  EXPECT_EQ(table.listen, 1u);
  out.rss_held_kib = status_kib(sim.pid(), "VmRSS");
  out.fds_held = fd_count(sim.pid());
  EXPECT_GE(out.fds_held, fds_baseline + session_count) << "one socket per session";

  start = steady::now();
  for (const auto id : table.ids) {
    auto reply = sim::call_control(control, json{{"token", token}, {"command", "logoff"}, {"id", id}}, 5000ms);
    ASSERT_FALSE(reply.ec) << reply.error;
    ASSERT_TRUE(reply.response.value("ok", false)) << "logoff " << id << ": " << reply.response.dump();
  }
  out.logoff_s = seconds_since(start);

  start = steady::now();
  ASSERT_TRUE(wait_until([&] { return fleet.finished == session_count; }, 30000ms))
      << fleet.finished << " of " << session_count << " clients saw their session end within 30 s";
  std::size_t logoff_seen = 0, dpu_seen = 0, closed = 0;
  for (const auto& r : fleet.results()) {
    if (r.error_info && *r.error_info == errinfo_rpc_initiated_logoff) ++logoff_seen;
    if (r.disconnect_reason == protocol::mcs::disconnect_reason::provider_initiated) ++dpu_seen;
    if (r.server_closed) ++closed;
  }
  EXPECT_EQ(logoff_seen, session_count) << "clients that saw Set Error Info ERRINFO_RPC_INITIATED_LOGOFF";
  EXPECT_EQ(dpu_seen, session_count) << "clients that saw the DPU rn-provider-initiated";
  EXPECT_EQ(closed, session_count) << "clients whose connection the server closed";

  // rdpsim closes each connection once its client hangs up (the drain after the DPU); the count must come back
  // exactly — a leaked socket or timer fd would show here.
  ASSERT_TRUE(wait_until([&] { return fd_count(sim.pid()) == fds_baseline; }, 10000ms))
      << "rdpsim holds " << fd_count(sim.pid()) << " fds, " << fds_baseline << " before the sessions";
  out.settle_s = seconds_since(start);
  out.fds_after = fd_count(sim.pid());
  out.rss_after_kib = status_kib(sim.pid(), "VmRSS");
  table = query_table(control, token, &why);
  EXPECT_EQ(table.active + table.other, 0u) << "sessions left in the table " << why;
  EXPECT_EQ(table.listen, 1u);
}

TEST(Load, TwoThousandIdleSessionsHeldThenLoggedOffLeaveNoFdsOrMemoryBehind) {
  // One socket per client session in this process.
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_max < session_count + 200)
    GTEST_SKIP() << "the hard open-files limit (" << limit.rlim_max << ") is below " << session_count + 200;
  const auto soft_before = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);

  const auto dir = fs::temp_directory_path() / ("rdpsim-load-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  struct remove_dir {
    fs::path path;
    ~remove_dir() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  } cleanup{dir};
  const auto token_file = dir / "token";

  test::rdpsim_process sim;
  std::string why;
  // The child's soft open-files limit is 1024 (the usual default), so that the test sees rdpsim raise it itself.
  sim.start(RDPSIM_BIN,
            {"--listen", "127.0.0.1:0", "--control", "127.0.0.1:0", "--control-token-file", token_file.string()},
            /*with_control=*/true, &why, /*child_open_files=*/1024, 20s);
  ASSERT_TRUE(why.empty()) << why;
  // rdpsim raised its own soft limit (apps/rdpsim/main.cpp): started with 1024, it must now have the hard limit.
  const auto [sim_soft, sim_hard] = open_files_limits(sim.pid());
  EXPECT_EQ(sim_soft, sim_hard) << "rdpsim's soft open-files limit";

  std::string token;
  {
    std::ifstream in(token_file);
    std::getline(in, token);
  }
  ASSERT_EQ(token.size(), 64u);
  const net::host_port control{"127.0.0.1", sim.control_port()};
  // One control round trip before the baseline, so that what the control server allocates on first use is in it;
  // rdpsim closes its end of that connection a moment after ours.
  const std::size_t fds_at_start = fd_count(sim.pid());
  auto table = query_table(control, token, &why);
  ASSERT_TRUE(why.empty()) << why;
  ASSERT_EQ(table.listen, 1u);
  ASSERT_EQ(table.active + table.other, 0u);
  ASSERT_TRUE(wait_until([&] { return fd_count(sim.pid()) == fds_at_start; }, 2000ms));
  const std::size_t fds_baseline = fd_count(sim.pid());
  const long rss_baseline = status_kib(sim.pid(), "VmRSS");

  std::cout << "load: rdpsim pid " << sim.pid() << ", " << session_count << " sessions, at most "
            << handshakes_in_flight << " connection sequences in flight; NOFILE soft limit: test " << soft_before
            << " -> " << limit.rlim_cur << ", rdpsim 1024 -> " << sim_soft << " (hard " << sim_hard << ")\n"
            << "load: baseline rss " << rss_baseline << " KiB, fds " << fds_baseline << std::endl;

  auto context = client::make_client_context();
  const auto wall = steady::now();
  // RDP_LOAD_CYCLES=N runs more cycles, to watch the peak converge (at least 2: the assertion compares two).
  const char* cycles_env = std::getenv("RDP_LOAD_CYCLES");
  std::vector<cycle_figures> cycles(std::max<std::size_t>(2, cycles_env ? std::strtoul(cycles_env, nullptr, 10) : 2));
  for (std::size_t c = 0; c < cycles.size(); ++c) {
    run_cycle(context, sim, token, fds_baseline, c + 1, cycles[c]);
    if (HasFatalFailure()) return;
    const auto& f = cycles[c];
    const double per_session =
        static_cast<double>(f.rss_held_kib - rss_baseline) / static_cast<double>(session_count);
    std::cout << "load: cycle " << c + 1 << ": held rss " << f.rss_held_kib << " KiB, fds " << f.fds_held
              << "; per session " << per_session << " KiB; after logoff rss " << f.rss_after_kib << " KiB, fds "
              << f.fds_after << "; connect " << f.connect_s << " s, logoff requests " << f.logoff_s << " s, teardown "
              << f.settle_s << " s" << std::endl;
  }
  std::cout << "load: rdpsim VmHWM " << status_kib(sim.pid(), "VmHWM") << " KiB; wall " << seconds_since(wall)
            << " s for " << cycles.size() << " cycles" << std::endl;

  // Memory. RSS after the logoff cannot show that memory was freed: glibc returns heap to the system only from its top
  // (trim), and the heap's top stays pinned by the few objects that outlive a cycle, so RSS stays at its peak
  // (measured: 215 MB held, 215 MB after logoff; malloc_stats() then showed 234 MB of arena but only 1.2 MB in use,
  // and malloc_trim(0) brought RSS down to 20 MB). So the test runs the cycle twice and compares the peaks: memory that
  // is freed is reused by the next cycle, memory that leaks is not. The second peak is allowed a quarter of the first
  // cycle's growth above the first peak, because reusing a fragmented heap is not free: the holes left between those
  // long-lived objects (Asio keeps the per-socket reactor state of closed sockets for reuse) do not fit the next
  // cycle's allocations exactly, and the second peak measured 10-11% above the first, the third and fourth within
  // 1.5% of the second (in-use heap after each cycle: 1.18, 1.20, 1.20, 1.20 MB). A per-connection leak of a quarter
  // of a session's footprint (about 25 KiB: a TLS stream's buffers alone are more) fails this; smaller leaks are left
  // to the fd and session-table checks above and to heaptrack.
  const auto& first = cycles[0];
  const auto& second = cycles[1];
  EXPECT_LE(second.rss_held_kib, first.rss_held_kib + (first.rss_held_kib - rss_baseline) / 4)
      << "the second cycle's peak is more than a quarter of the first cycle's growth above the first peak: memory "
         "grows per cycle";
  EXPECT_EQ(sim.stop(), 0) << "rdpsim's exit status after SIGTERM";
}

}  // namespace
