// The FreeRDP login module (librdp_login.so): run_login's work, one headless FreeRDP 2.11 client connection. It is a
// module of its own, loaded with dlopen on the first run_login (login_loader.cpp), because FreeRDP 2 brings some 100
// shared libraries (FFmpeg, cairo, GLib, ICU …) whose loading and initialisers cost every rdpprobe and rdpsim start
// tens of milliseconds and 15 MB, though only --login and `rdpsim demo` use it. The recipe follows docs/freerdp.md (section 1: context
// size before context_new, gdi_init + paint stubs in PostConnect, certificate callbacks, private ConfigPath, error
// info read before disconnect); the FreeRDP source references are to upstream tag 2.11.7.
#include "rdp/probe/login.hpp"

#include <freerdp/event.h>
#include <freerdp/freerdp.h>
#include <freerdp/gdi/gdi.h>
#include <freerdp/session.h>
#include <freerdp/settings.h>
#include <winpr/ssl.h>
#include <winpr/synch.h>
#include <winpr/wlog.h>

#include <algorithm>
#include <cctype>
#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace rdp::probe {

namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t max_logged_errors = 32;
// How long freerdp_disconnect may take (it sends an MCS Disconnect Provider Ultimatum with a blocking write).
constexpr milliseconds disconnect_budget{1500};
// After aborting a stuck connect, how long to wait before shutting its socket down (see watchdog::fire).
constexpr milliseconds shutdown_grace{300};

const char* safe(const char* s) { return s ? s : ""; }

// ---------------------------------------------------------------------------------------------------------------
// What one run collects while FreeRDP calls back. Touched only by the thread that runs run_login (every FreeRDP
// callback of an instance runs on the thread that drives it), so it needs no lock.
struct run_state {
  login_result* result = nullptr;
  const login_options* options = nullptr;
  rdpContext* context = nullptr;
  int furthest = -1;  // CONNECTION_STATE, as an int so that "none yet" is representable
  bool saw_state_log = false;
  bool first_error_info_seen = false;
  clock::time_point active_since{};
  pSaveSessionInfo previous_save_session_info = nullptr;

  void reached(int state) { furthest = std::max(furthest, state); }
  void sample_state() {
    if (context) reached(static_cast<int>(freerdp_get_state(context)));
  }
};

// The FreeRDP context with our state behind it (FreeRDP allocates ContextSize bytes; rdpContext must come first).
struct login_context {
  rdpContext base;
  run_state* run;
};
static_assert(std::is_standard_layout_v<login_context>);

run_state& state_of(rdpContext* context) { return *reinterpret_cast<login_context*>(context)->run; }
run_state& state_of(freerdp* instance) { return state_of(instance->context); }

// WLog is process-wide; its callback appender has no user pointer, so messages are routed to the run of the thread
// that logs them (a FreeRDP instance logs on the thread that drives it).
thread_local run_state* t_current_run = nullptr;

int state_from_name(std::string_view name) {
  for (int s = CONNECTION_STATE_INITIAL; s <= CONNECTION_STATE_ACTIVE; ++s)
    if (name == safe(freerdp_state_string(static_cast<CONNECTION_STATE>(s)))) return s;
  return -1;
}

// FreeRDP logs every client state change at DEBUG in core.connection ("rdp_client_transition_to_state A --> B",
// core/connection.c), before it makes it; no other interface reports the states a failed connect went through, as
// freerdp_connect resets the state to INITIAL when it fails.
BOOL on_wlog_message(const wLogMessage* msg) {
  run_state* run = t_current_run;
  if (!run || !msg || !msg->TextString) return TRUE;
  const std::string_view text = msg->TextString;
  if (msg->Level == WLOG_DEBUG) {
    if (std::strcmp(safe(msg->FunctionName), "rdp_client_transition_to_state") != 0) return TRUE;
    const auto arrow = text.rfind("--> ");
    if (arrow == std::string_view::npos) return TRUE;
    if (const int s = state_from_name(text.substr(arrow + 4)); s >= 0) {
      run->reached(s);
      run->saw_state_log = true;
    }
  } else if (msg->Level >= WLOG_ERROR && run->result->freerdp_errors.size() < max_logged_errors) {
    // tls_print_certificate_error / _name_mismatch_error print an @@@ banner of 8-12 lines about what
    // VerifyCertificateEx is told anyway (certificate_flags); they would crowd out the errors that say what failed.
    if (std::string_view(safe(msg->FunctionName)).starts_with("tls_print_certificate")) return TRUE;
    run->result->freerdp_errors.emplace_back(text);
  }
  return TRUE;
}

// One-time process set-up (docs/freerdp.md 4.2 "Global init", 4.3 "Log noise").
void configure_process() {
  static std::once_flag once;
  std::call_once(once, [] {
    // InitOnce inside WinPR; on OpenSSL 3 it also loads the legacy provider NTLM needs (MD4).
    winpr_InitializeSSL(WINPR_SSL_INIT_DEFAULT);
    // FreeRDP writes with MSG_NOSIGNAL, but a write to a closed socket from any other path must not kill the
    // process. Only the default disposition is changed: an application's own handler stays.
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) std::signal(SIGPIPE, SIG_IGN);
    // A normal connect prints a dozen certificate warnings to stderr; the probe reports those facts itself. A user who
    // sets any WLOG_* variable gets FreeRDP's logging exactly as asked for.
    if (std::getenv("WLOG_LEVEL") || std::getenv("WLOG_FILTER") || std::getenv("WLOG_APPENDER")) return;
    wLog* root = WLog_GetRoot();
    if (!root || !WLog_SetLogAppenderType(root, WLOG_APPENDER_CALLBACK)) return;
    wLogCallbacks callbacks{};
    callbacks.message = on_wlog_message;
    WLog_ConfigureAppender(WLog_GetLogAppender(root), "callbacks", &callbacks);
    // ERROR and FATAL reach the callback (kept per run in freerdp_errors); lower levels are not even formatted,
    // except the state transitions of core.connection.
    WLog_SetLogLevel(root, WLOG_ERROR);
    WLog_AddStringLogFilters("com.freerdp.core.connection:DEBUG");
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The socket descriptors behind an instance's transport. freerdp_get_fds returns the wait objects of the transport's
// events; on POSIX the socket BIO's event is the socket itself (WSAEventSelect → SetEventFileDescriptor), the others
// are eventfds, which getsockopt tells apart.
std::vector<int> transport_sockets(freerdp* instance) {
  std::array<void*, 80> rfds{};
  std::array<void*, 80> wfds{};
  int rcount = 0;
  int wcount = 0;
  std::vector<int> sockets;
  if (!freerdp_get_fds(instance, rfds.data(), &rcount, wfds.data(), &wcount)) return sockets;
  for (int i = 0; i < rcount && i < static_cast<int>(rfds.size()); ++i) {
    const int fd = static_cast<int>(reinterpret_cast<std::intptr_t>(rfds[static_cast<std::size_t>(i)]));
    int type = 0;
    socklen_t len = sizeof type;
    if (fd >= 0 && ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0) sockets.push_back(fd);
  }
  return sockets;
}

// Bounds every blocking phase. FreeRDP 2 has no timeout on its blocking reads during negotiation, TLS and CredSSP
// (transport_read_layer and tls_do_handshake poll in 100 ms steps forever) nor on blocking writes, and
// freerdp_abort_connect only stops the TCP connect and the non-blocking phases. So when a deadline passes the
// watchdog (1) calls freerdp_abort_connect, which is made for use from another thread, and (2) shuts the socket
// down, which makes any blocked read or write fail at once. For (2) it uses descriptors duplicated by the owner
// thread when there are any (after connect: always safe). During connect there are none yet, and it reads them from
// the transport itself — from this thread, while the owner is inside FreeRDP; it waits shutdown_grace first, so that
// it only does so when the owner is stuck in such a loop and the transport is not changing under it.
class watchdog {
 public:
  // `cancel`, when given, is polled while armed: once it is set the watchdog acts as if the deadline had passed.
  watchdog(freerdp* instance, std::shared_ptr<const std::atomic<bool>> cancel)
      : instance_(instance), cancel_(std::move(cancel)), thread_([this] { loop(); }) {}
  ~watchdog() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
      deadline_.reset();
    }
    cv_.notify_all();
    thread_.join();
    for (int fd : dups_) ::close(fd);
  }
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

  void arm(clock::time_point deadline) {
    {
      std::lock_guard lock(mutex_);
      deadline_ = deadline;
      stage_ = 0;
    }
    cv_.notify_all();
  }
  // Once this returns the watchdog no longer touches the instance (fire runs under the same lock).
  void disarm() {
    std::lock_guard lock(mutex_);
    deadline_.reset();
  }
  // Duplicates of the transport's sockets, taken by the owner thread; shutdown() on a duplicate shuts the socket
  // itself down, and the duplicate keeps the descriptor number from being reused until we close it.
  void keep_sockets(const std::vector<int>& fds) {
    std::lock_guard lock(mutex_);
    for (int fd : fds)
      if (const int d = ::dup(fd); d >= 0) dups_.push_back(d);
  }
  bool fired() const { return fired_.load(); }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
      if (!deadline_) {
        cv_.wait(lock);
        continue;
      }
      const auto when = *deadline_;
      cv_.wait_until(lock, cancel_ ? std::min(when, clock::now() + cancel_poll) : when);
      if (stop_ || !deadline_ || *deadline_ != when) continue;  // disarmed or re-armed meanwhile
      if (clock::now() >= when) {
        fire();
      } else if (cancel_ && cancel_->load()) {
        deadline_ = clock::now();  // fires on the next turn, with the same stages as a deadline
      }
    }
  }
  void fire() {  // mutex_ held
    fired_ = true;
    if (stage_ == 0) {
      freerdp_abort_connect(instance_);
      if (!dups_.empty()) {
        for (int fd : dups_) ::shutdown(fd, SHUT_RDWR);
        deadline_.reset();
        return;
      }
      stage_ = 1;
      deadline_ = clock::now() + shutdown_grace;
      return;
    }
    for (int fd : transport_sockets(instance_)) ::shutdown(fd, SHUT_RDWR);
    deadline_.reset();
  }

  static constexpr auto cancel_poll = std::chrono::milliseconds(50);
  freerdp* instance_;
  std::shared_ptr<const std::atomic<bool>> cancel_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::optional<clock::time_point> deadline_;
  int stage_ = 0;
  bool stop_ = false;
  std::atomic<bool> fired_{false};
  std::vector<int> dups_;
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------------------------------
// How the connection ended, read from the socket (login.hpp: socket_end). FreeRDP's own error for every one of these
// is ERRCONNECT_CONNECT_TRANSPORT_FAILED, so the kernel is asked instead.

// While the session was held: the socket (a duplicate the watchdog keeps, so FreeRDP has not closed it yet). A FIN
// that arrived leaves the connection in CLOSE_WAIT whatever data is still unread; an RST or ETIMEDOUT moves it to
// CLOSE, with the error pending in SO_ERROR unless FreeRDP's failed read already took it (then its log line says).
// A server that ended the session with a PDU (a Disconnect Provider Ultimatum) closes right after it: the socket is
// watched for up to `linger` for that FIN (POLLRDHUP does not consume anything), so the word is the server's close,
// not a race with FreeRDP's disconnect.
socket_end socket_end_of(int fd, milliseconds linger, std::string& evidence) {
  if (linger.count() > 0) {
    pollfd p{fd, POLLRDHUP, 0};
    (void)::poll(&p, 1, static_cast<int>(linger.count()));
  }
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return socket_end::not_seen;
  int error = 0;
  socklen_t elen = sizeof error;
  (void)::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &elen);
  switch (info.tcpi_state) {
    case TCP_ESTABLISHED: evidence = "TCP state ESTABLISHED"; return socket_end::open;
    case TCP_CLOSE_WAIT:
    case TCP_LAST_ACK:
    case TCP_CLOSING:
    case TCP_TIME_WAIT: evidence = "TCP state CLOSE_WAIT (the server's FIN)"; return socket_end::fin;
    case TCP_CLOSE:
      evidence = "TCP state CLOSE" + (error ? ", SO_ERROR " + std::string(std::strerror(error)) : std::string());
      if (error == ETIMEDOUT) return socket_end::timeout;
      if (error == ECONNRESET || error == EPIPE) return socket_end::reset;
      return socket_end::not_seen;  // the error was taken by FreeRDP's read: its log line says which
    default: return socket_end::not_seen;
  }
}

// From FreeRDP's log (when the socket is gone, or its error was taken): transport_read_layer and transport_write log
// "BIO_read returned a system error 104: Connection reset by peer" (WLog_ERR_BIO, libfreerdp/core/transport.c) with
// the errno of the failed recv/send. A read that returned 0 (the server's FIN) is logged with whatever errno was left
// (EAGAIN, or 0). FreeRDP 2.11's connect does not fail on ECONNREFUSED (freerdp_tcp_connect_timeout only checks
// ECONNRESET after the connect), so a refused connect shows as EPIPE on the first write, before anything was read:
// a socket that was never connected. Measured against a closed port, an RST-sending and a FIN-sending listener.
socket_end socket_end_from_log(const std::vector<std::string>& errors, bool still_negotiating, std::string& evidence) {
  static constexpr std::string_view marker = "returned a system error ";
  for (const auto& line : errors) {
    const auto at = line.find(marker);
    if (at == std::string::npos) continue;
    const int code = std::atoi(line.c_str() + at + marker.size());
    const bool is_read = line.find("BIO_read") != std::string::npos;
    evidence = "FreeRDP: " + line;
    if (code == ECONNREFUSED) return socket_end::refused;
    if (code == ETIMEDOUT) return socket_end::timeout;
    if (code == ECONNRESET) return socket_end::reset;
    if (code == EPIPE) return still_negotiating ? socket_end::refused : socket_end::reset;
    if (is_read) return socket_end::fin;  // recv returned 0: errno is whatever was left
  }
  return socket_end::not_seen;
}

// ---------------------------------------------------------------------------------------------------------------
// FreeRDP callbacks. All run on the run_login thread.

BOOL cb_pre_connect(freerdp* instance) {
  state_of(instance).sample_state();
  return TRUE;
}

BOOL stub_paint(rdpContext*) { return TRUE; }

BOOL cb_desktop_resize(rdpContext* context) {
  return gdi_resize(context->gdi, freerdp_settings_get_uint32(context->settings, FreeRDP_DesktopWidth),
                    freerdp_settings_get_uint32(context->settings, FreeRDP_DesktopHeight));
}

// Called once the connection sequence is complete (state ACTIVE). Pumping events afterwards needs the drawing side
// even headless: gdi_init creates the caches FreeRDP's update handlers dereference, and update_end_paint fails
// without EndPaint (docs/freerdp.md 1.3).
BOOL cb_post_connect(freerdp* instance) {
  run_state& run = state_of(instance);
  run.reached(CONNECTION_STATE_ACTIVE);
  run.result->reached_active = true;
  run.active_since = clock::now();
  if (!gdi_init(instance, PIXEL_FORMAT_BGRX32)) return FALSE;
  instance->update->BeginPaint = stub_paint;
  instance->update->EndPaint = stub_paint;
  instance->update->DesktopResize = cb_desktop_resize;
  return TRUE;
}

void cb_post_disconnect(freerdp* instance) { gdi_free(instance); }

// Only reached under CredSSP with no user or password: there is nobody to ask.
BOOL cb_authenticate(freerdp*, char**, char**, char**) { return FALSE; }

// "AB:cd:01…" → "abcd01…": FreeRDP 2.11 gives the SHA-256 fingerprint as colon-separated hex (crypto_cert_fingerprint).
std::string normalized_fingerprint(std::string_view text) {
  std::string hex;
  for (char c : text) {
    if (c == ':') continue;
    hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return hex;
}

// FreeRDP asks only about a certificate it could not verify itself (against the system store, for this host name)
// and has not seen before (known_hosts2 in a private, empty ConfigPath). 2 = accept for this session only (nothing is
// written), 0 = refuse: FreeRDP then ends the TLS connection before CredSSP or the Client Info carry the credentials.
DWORD decide_certificate(run_state& run, const char* fingerprint, DWORD flags, const char* what) {
  run.sample_state();
  run.result->certificate_flags = flags;
  run.result->certificate_sha256 = normalized_fingerprint(safe(fingerprint));
  const auto& o = *run.options;
  if (o.accept_any_certificate) return 2;
  for (const auto& accepted : o.accepted_sha256)
    if (!accepted.empty() && normalized_fingerprint(accepted) == run.result->certificate_sha256) return 2;
  run.result->certificate_refused =
      std::string("the server's certificate (sha256 ") + run.result->certificate_sha256 + ") " + what +
      ((flags & VERIFY_CERT_FLAG_MISMATCH) != 0 ? ", and its names do not match " + o.host : std::string()) +
      "; it is neither verified nor pinned";
  return 0;
}

DWORD cb_verify_certificate(freerdp* instance, const char*, UINT16, const char*, const char*, const char*,
                            const char* fingerprint, DWORD flags) {
  return decide_certificate(state_of(instance), fingerprint, flags, "does not verify against the system store");
}

DWORD cb_verify_changed_certificate(freerdp* instance, const char*, UINT16, const char*, const char*, const char*,
                                    const char* fingerprint, const char*, const char*, const char*, DWORD flags) {
  return decide_certificate(state_of(instance), fingerprint, flags,
                            "differs from the one known for this host and does not verify against the system store");
}

// Logon Errors Info (Save Session Info, Logon Info Extended; core/info.c: rdp_recv_logon_error_info).
int cb_logon_error_info(freerdp* instance, UINT32 data, UINT32 type) {
  run_state& run = state_of(instance);
  run.result->logon_error =
      logon_error_info{type, data, safe(freerdp_get_logon_error_info_type(type)),
                       safe(freerdp_get_logon_error_info_data(data))};
  return 1;
}

// Save Session Info (MS-RDPBCGR 2.2.10.1): the session id (Logon Info v1/v2) and the auto-reconnect cookie (Logon
// Info Extended). Chained to whatever was installed before (FreeRDP 2.11 installs nothing on the client side).
BOOL cb_save_session_info(rdpContext* context, UINT32 type, void* data) {
  run_state& run = state_of(context);
  run.sample_state();
  if (data && (type == INFO_TYPE_LOGON || type == INFO_TYPE_LOGON_LONG)) {
    run.result->session_id = static_cast<const logon_info*>(data)->sessionId;
  } else if (data && type == INFO_TYPE_LOGON_EXTENDED_INF) {
    // core/info.c has already checked cbLen == 28 (ARC_SC_PRIVATE_PACKET) before it sets haveCookie.
    const auto* ex = static_cast<const logon_info_ex*>(data);
    if (ex->haveCookie) {
      auto_reconnect_cookie cookie;
      cookie.logon_id = ex->LogonId;
      std::copy(std::begin(ex->ArcRandomBits), std::end(ex->ArcRandomBits), cookie.random_bits.begin());
      run.result->cookie = cookie;
    }
  }
  return run.previous_save_session_info ? run.previous_save_session_info(context, type, data) : TRUE;
}

// Fired by rdp_set_error_info for every non-zero code: a Set Error Info PDU, or one FreeRDP derives from a
// Disconnect Provider Ultimatum (core/rdp.c: rdp_read_header). Caught here because freerdp_connect resets
// errorInfo to 0 when it fails.
void on_error_info(void* context, ErrorInfoEventArgs* e) {
  run_state& run = state_of(static_cast<rdpContext*>(context));
  if (!e || e->code == 0) return;
  run.sample_state();
  run.result->error_info = e->code;
  // The ultimatum's reason is stored before FreeRDP derives an error info from it; a real Set Error Info comes
  // before the ultimatum (MS-RDPBCGR 1.3.1.4.1), when disconnectUltimatum still holds our "none" sentinel.
  if (!run.first_error_info_seen)
    run.result->error_info_from_ultimatum = run.context->disconnectUltimatum >= 0;
  run.first_error_info_seen = true;
}

// ---------------------------------------------------------------------------------------------------------------

// FreeRDP's ConfigPath: the caller's, or a private temp dir removed at the end (tls_new always creates
// $ConfigPath/{certs,server}; a default under an unwritable HOME makes the TLS connect fail, docs/freerdp.md 1.4).
class config_dir {
 public:
  explicit config_dir(const std::filesystem::path& given, std::string& error) {
    std::error_code ec;
    if (!given.empty()) {
      std::filesystem::create_directories(given, ec);
      if (ec) error = "cannot create config dir " + given.string() + ": " + ec.message();
      path_ = given;
      return;
    }
    std::string pattern = (std::filesystem::temp_directory_path(ec) / "rdpprobe-login-XXXXXX").string();
    if (ec || !::mkdtemp(pattern.data())) {
      error = "cannot create a temporary config dir: " + std::generic_category().message(errno);
      return;
    }
    path_ = pattern;
    owned_ = true;
  }
  ~config_dir() {
    std::error_code ec;
    if (owned_) std::filesystem::remove_all(path_, ec);
  }
  config_dir(const config_dir&) = delete;
  config_dir& operator=(const config_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  bool owned_ = false;
};

std::uint32_t clamp_ms(milliseconds d) {
  return static_cast<std::uint32_t>(std::clamp<milliseconds::rep>(d.count(), 1, 0x7fffffff));
}

bool apply_settings(rdpSettings* s, const login_options& o, const std::filesystem::path& config_path) {
  bool ok = freerdp_settings_set_string(s, FreeRDP_ServerHostname, o.host.c_str()) &&
            freerdp_settings_set_uint32(s, FreeRDP_ServerPort, o.port) &&
            freerdp_settings_set_string(s, FreeRDP_ConfigPath, config_path.c_str()) &&
            freerdp_settings_set_uint32(s, FreeRDP_TcpConnectTimeout, clamp_ms(o.connect_timeout)) &&
            freerdp_settings_set_uint32(s, FreeRDP_DesktopWidth, o.width) &&
            freerdp_settings_set_uint32(s, FreeRDP_DesktopHeight, o.height) &&
            // Advertise AUTORECONNECT_SUPPORTED in the General Capability Set, so that a server issues a cookie.
            // libfreerdp core never reconnects on its own because of it (only libfreerdp-client's
            // client_auto_reconnect_ex does, which we do not call).
            freerdp_settings_set_bool(s, FreeRDP_AutoReconnectionEnabled, TRUE);
  // TCP_USER_TIMEOUT stays FreeRDP's own (9000 ms, docs/freerdp.md 1.8) unless asked: the connect watchdog bounds the
  // connection sequence, and a session held past activation should notice a dead path as a FreeRDP client would.
  if (o.tcp_ack_timeout) ok = ok && freerdp_settings_set_uint32(s, FreeRDP_TcpAckTimeout, clamp_ms(*o.tcp_ack_timeout));
  // Unset rather than empty: an empty Username would still make a "Cookie: mstshash=" line in the X.224 request.
  if (!o.user.empty()) ok = ok && freerdp_settings_set_string(s, FreeRDP_Username, o.user.c_str());
  if (!o.domain.empty()) ok = ok && freerdp_settings_set_string(s, FreeRDP_Domain, o.domain.c_str());
  if (!o.password.empty()) ok = ok && freerdp_settings_set_string(s, FreeRDP_Password, o.password.c_str());
  // The protocols offered, as xfreerdp /sec: maps them (client/common/cmdline.c).
  // Standard RDP Security only when any server may be trusted: it cannot tell a server from an impostor.
  const bool rdp = (o.security == login_security::any || o.security == login_security::rdp) && o.accept_any_certificate;
  const bool tls = o.security == login_security::any || o.security == login_security::tls;
  const bool nla = o.security == login_security::any || o.security == login_security::nla;
  ok = ok && freerdp_settings_set_bool(s, FreeRDP_RdpSecurity, rdp) && freerdp_settings_set_bool(s, FreeRDP_TlsSecurity, tls) &&
       freerdp_settings_set_bool(s, FreeRDP_NlaSecurity, nla) && freerdp_settings_set_bool(s, FreeRDP_ExtSecurity, FALSE) &&
       freerdp_settings_set_bool(s, FreeRDP_UseRdpSecurityLayer, o.security == login_security::rdp);
  if (o.reconnect_cookie) {
    // FreeRDP sends ClientAutoReconnectCookie in the Client Info extended info whenever ServerAutoReconnectCookie's
    // cbLen is non-zero, computing it from this server cookie (core/info.c: rdp_write_extended_info_packet,
    // rdp_compute_client_auto_reconnect_cookie) — as xfreerdp /reconnect-cookie: fills it. FreeRDP 2 has no
    // writable accessor for this pointer setting, so the (public in 2.x) struct is filled directly.
    ARC_SC_PRIVATE_PACKET* arc = s->ServerAutoReconnectCookie;
    if (!arc) return false;
    arc->cbLen = 28;
    arc->version = AUTO_RECONNECT_VERSION_1;
    arc->logonId = o.reconnect_cookie->logon_id;
    std::copy(o.reconnect_cookie->random_bits.begin(), o.reconnect_cookie->random_bits.end(), arc->arcRandomBits);
  }
  return ok;
}

void fill_error_texts(login_result& r) {
  r.last_error_name = safe(freerdp_get_last_error_name(r.last_error));
  r.last_error_text = safe(freerdp_get_last_error_string(r.last_error));
  if (r.error_info != 0) {
    r.error_info_name = safe(freerdp_get_error_info_name(r.error_info));
    r.error_info_text = safe(freerdp_get_error_info_string(r.error_info));
  }
}

milliseconds since(clock::time_point t) { return std::chrono::duration_cast<milliseconds>(clock::now() - t); }

// Owns the instance and its context; frees them in the order FreeRDP needs.
struct instance_owner {
  freerdp* instance = freerdp_new();
  bool context = false;
  ~instance_owner() {
    if (!instance) return;
    if (context) freerdp_context_free(instance);
    freerdp_free(instance);
  }
};

login_result run_login_here(const login_options& options) {
  configure_process();
  login_result result;
  run_state run;
  run.result = &result;
  run.options = &options;
  if (options.security == login_security::rdp && !options.accept_any_certificate) {
    // Nothing to verify, so nothing to connect for: the credentials would go to whoever answers.
    result.certificate_refused = "Standard RDP Security cannot authenticate the server (its proprietary certificate "
                                 "is signed with a key every client knows, MS-RDPBCGR 5.3.3.1)";
    return result;
  }

  config_dir config(options.config_dir, result.setup_error);
  if (!result.setup_error.empty()) return result;

  instance_owner owner;
  freerdp* instance = owner.instance;
  if (!instance) {
    result.setup_error = "freerdp_new failed";
    return result;
  }
  instance->ContextSize = sizeof(login_context);  // before freerdp_context_new, which allocates that much
  instance->PreConnect = cb_pre_connect;
  instance->PostConnect = cb_post_connect;
  instance->PostDisconnect = cb_post_disconnect;
  instance->Authenticate = cb_authenticate;
  instance->VerifyCertificateEx = cb_verify_certificate;
  instance->VerifyChangedCertificateEx = cb_verify_changed_certificate;
  instance->LogonErrorInfo = cb_logon_error_info;

  // Messages FreeRDP logs from here on, on this thread, belong to this run.
  struct current_run_guard {
    explicit current_run_guard(run_state* r) { t_current_run = r; }
    ~current_run_guard() { t_current_run = nullptr; }
  } current(&run);

  if (!freerdp_context_new(instance)) {
    // FreeRDP 2.11 fails here when HOME is unset (settings_new derives its default paths from it).
    result.setup_error = "freerdp_context_new failed (is HOME set?)";
    return result;
  }
  owner.context = true;
  rdpContext* context = instance->context;
  reinterpret_cast<login_context*>(context)->run = &run;
  run.context = context;
  // 0 is a valid ultimatum reason (rn-domain-disconnected) and the field is only written when an ultimatum arrives
  // (core/rdp.c: rdp_read_header), so a negative value means "none received".
  context->disconnectUltimatum = -1;
  run.previous_save_session_info = instance->update->SaveSessionInfo;
  instance->update->SaveSessionInfo = cb_save_session_info;
  PubSub_SubscribeErrorInfo(context->pubSub, on_error_info);

  if (!apply_settings(instance->settings, options, config.path())) {
    result.setup_error = "FreeRDP rejected a setting";
    return result;
  }

  watchdog dog(instance, options.cancel);
  auto cancelled = [&] { return options.cancel && options.cancel->load(); };
  const auto started = clock::now();
  dog.arm(started + options.connect_timeout);
  result.connected = freerdp_connect(instance) != FALSE;
  dog.disarm();
  result.connect_time = since(started);
  if (dog.fired()) result.timed_out = true;

  if (result.connected) {
    // From here the transport is stable: the watchdog may use duplicates of its sockets.
    const auto sockets = transport_sockets(instance);
    dog.keep_sockets(sockets);
    if (!sockets.empty()) {
      sockaddr_storage local{};
      socklen_t local_len = sizeof local;
      if (::getsockname(sockets.front(), reinterpret_cast<sockaddr*>(&local), &local_len) == 0 &&
          local.ss_family == AF_INET)
        result.local_port = ntohs(reinterpret_cast<const sockaddr_in*>(&local)->sin_port);
    }
    const auto stay_end = clock::now() + options.stay;
    dog.arm(stay_end + disconnect_budget);
    while (clock::now() < stay_end) {
      if (options.leave_once_cookie_issued && result.cookie) break;
      if (cancelled()) break;
      if (freerdp_shall_disconnect(instance)) {  // an ultimatum signals the abort event (core/rdp.c)
        result.ended_by_server = true;
        break;
      }
      std::array<HANDLE, 64> handles{};
      const DWORD count = freerdp_get_event_handles(context, handles.data(), static_cast<DWORD>(handles.size()));
      if (count == 0) {
        result.ended_by_server = true;
        break;
      }
      const auto left = std::chrono::duration_cast<milliseconds>(stay_end - clock::now()).count();
      const auto wait_ms = static_cast<DWORD>(std::clamp<milliseconds::rep>(left, 0, 100));
      if (WaitForMultipleObjects(count, handles.data(), FALSE, wait_ms) == WAIT_FAILED) {
        result.ended_by_server = true;
        break;
      }
      if (!freerdp_check_event_handles(context)) {  // the server closed the connection or sent an ultimatum
        result.ended_by_server = true;
        break;
      }
    }
    if (dog.fired()) {
      result.timed_out = true;
      result.ended_by_server = false;
    }
    // Read before freerdp_disconnect closes it. Only when the server ended the session: a client that leaves (its
    // stay over, cancelled) closes first, and its socket would say ESTABLISHED.
    if (result.ended_by_server && !sockets.empty()) {
      const bool ultimatum = context->disconnectUltimatum >= 0;
      result.socket_ended = socket_end_of(sockets.front(), ultimatum ? milliseconds(1000) : milliseconds(0),
                                          result.socket_evidence);
    }
    if (run.active_since != clock::time_point{}) result.active_time = since(run.active_since);
    // freerdp_disconnect resets errorInfo (core/rdp.c: rdp_reset): read it first.
    if (const UINT32 code = freerdp_error_info(instance); code != 0) result.error_info = code;
    result.last_error = freerdp_get_last_error(context);
    dog.arm(clock::now() + disconnect_budget);
    freerdp_disconnect(instance);
    dog.disarm();
    if (dog.fired()) result.timed_out = true;
  } else {
    // LastError survives the disconnect freerdp_connect made when it failed.
    result.last_error = freerdp_get_last_error(context);
  }
  if (cancelled()) {
    result.cancelled = true;
    result.timed_out = false;  // the watchdog fired because it was told to, not because time ran out
  }
  if (context->disconnectUltimatum >= 0) result.disconnect_ultimatum = context->disconnectUltimatum;
  if (result.socket_ended == socket_end::not_seen && (!result.connected || result.ended_by_server))
    result.socket_ended = socket_end_from_log(result.freerdp_errors,
                                              !result.connected && run.furthest <= CONNECTION_STATE_NEGO,
                                              result.socket_evidence);
  if (!run.saw_state_log) run.sample_state();
  result.furthest_state_exact = run.saw_state_log;
  if (run.furthest >= 0) result.furthest_state = safe(freerdp_state_string(static_cast<CONNECTION_STATE>(run.furthest)));
  fill_error_texts(result);
  PubSub_UnsubscribeErrorInfo(context->pubSub, on_error_info);
  return result;
}

}  // namespace
}  // namespace rdp::probe

// The module's one entry point, looked up by name with dlsym (login_loader.cpp). C linkage keeps the name plain; the
// types are C++ and shared through login.hpp, which the loader and this module are built against together.
extern "C" __attribute__((visibility("default"))) void rdp_login_module_run(const rdp::probe::login_options* options,
                                                                            rdp::probe::login_result* result) {
  *result = rdp::probe::run_login_here(*options);
}
