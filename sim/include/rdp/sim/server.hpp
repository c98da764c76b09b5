#pragma once
// rdpsim's RDP listener: answers X.224 negotiation as its policy says, performs the TLS upgrade for TLS-based
// protocols, then runs the connection sequence to an active session (TLS security) with a session table that an
// administrator acts on (sessions.hpp). Each connection is one protocol::server_sequence (the state machine decides
// every byte and every deadline) run by net::sequence_engine on one io_context; the server only answers the machine's
// notices from its session table and counters. An active session is left alone for as long as its policy allows.
#include "rdp/net/asio.hpp"
#include "rdp/net/endpoint.hpp"
#include "rdp/net/tls.hpp"
#include "rdp/protocol/errinfo.hpp"
#include "rdp/protocol/nego.hpp"
#include "rdp/protocol/server_security.hpp"
#include "rdp/sim/counters.hpp"
#include "rdp/sim/credssp_responder.hpp"
#include "rdp/sim/session_table.hpp"
#include "rdp/sim/sessions.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rdp::sim {

// What happened to a connection's session, for an owner that follows the server from outside (the scenario runner
// ties faults and timeline steps to them). Called on the server's executor, never re-entrantly; it must not throw.
struct session_event {
  enum class kind {
    logon_accepted,     // the session table chose a session for the Client Info's user
    logon_denied,       // it refused the logon (`error_info` says why)
    active,             // the connection sequence reached the active state
    session_info_sent,  // Save Session Info (the session id and, to a client that supports it, a fresh cookie) sent
    ended,              // the connection ended; `detail` says how (the machine's reason)
  };
  kind what = kind::ended;
  std::uint64_t connection = 0;  // rdp-tcp#N
  std::string client_address;    // "127.0.0.1:51234": the peer as the server saw it
  std::optional<std::uint32_t> session_id;
  std::string user;
  std::uint32_t error_info = 0;  // logon_denied
  // logon_accepted: the user was authenticated by CredSSP (NLA) before the Client Info; the client's auto-reconnect
  // cookie was stale (a fresh logon).
  bool nla = false, stale_cookie = false;
  std::string detail;  // for people: "NLA, stale cookie", the reason a connection ended, …
};
std::string_view to_string(session_event::kind k) noexcept;  // "logon-accepted", "active", …

struct server_config {
  net::host_port listen{"127.0.0.1", 13389};  // port 0 picks a free one
  // SO_REUSEPORT: join a group of listeners already on the address and port, as a stale second instance or another
  // program started with the same option does; the kernel then spreads connections between them by their 4-tuple
  // (docs/local-listeners.md). Off by default: a second rdpsim on a taken port fails to start.
  bool reuse_port = false;
  protocol::server_security_policy policy{protocol::to_bits(protocol::security_protocol::ssl), true};
  net::tls_identity identity;                   // required when policy offers any TLS-based protocol
  ntlm_identity ntlm;                           // who the server says it is in its NTLM CHALLENGE (CredSSP)
  // Standard RDP Security's answer (MS-RDPBCGR 5.3.2; docs/profiles.md, "standard_security"): level None answers
  // NONE/NONE; any other level needs a certificate, made at start (standard_security_keys.hpp) when this one is empty.
  protocol::standard_security_settings standard_security;
  net::milliseconds handshake_timeout{10000};   // X.224 request and TLS handshake, each
  net::milliseconds hold_timeout{30000};        // a connection that is not an RDP session (a probe) is closed after
                                                // this long without traffic; active sessions are not
  // Logon: an empty list accepts any credentials (xrdp's behaviour: its login screen checks them later).
  std::vector<user_account> users;
  session_policy sessions;
  // Server Heartbeat PDUs (MS-RDPBCGR 2.2.16.1) every `heartbeat`, to clients that announce support. nullopt: none,
  // so an idle session is truly idle on the wire (what an idle-timeout test needs). Milliseconds: the server's timer
  // keeps a scaled period exactly (62 s at time scale 0.05 is 3100 ms); only the PDU's period field is whole seconds.
  std::optional<std::chrono::milliseconds> heartbeat;
  bool tcp_keepalive = false;                   // SO_KEEPALIVE on accepted sockets (kernel defaults)
  // A client presenting an auto-reconnect cookie for a session that no longer exists (after logoff, reset or a
  // service restart): Windows goes on with a fresh logon; `refuse` ends the connection with `stale_cookie_error`.
  stale_cookie_answer stale_cookie = stale_cookie_answer::fresh_logon;
  std::uint32_t stale_cookie_error = protocol::errinfo::server_denied_connection;
  // What a service restart (session_admin::restart_service) does to the sessions when it is not told: profile
  // `restart: {sessions: keep|end}` (docs/profiles.md). `end` unless the profile says, as rdpsim always did.
  restart_sessions restart = restart_sessions::end;
  net::milliseconds drain_timeout{2000};        // after the last PDU, how long to wait for the client to hang up
  std::uint16_t max_desktop_width = 1920, max_desktop_height = 1200;
  // Limits on what clients can make the simulator hold (docs/profiles.md, "limits"). Each hit is counted in
  // server_counters and logged.
  // From accept to the active session, in total (not per read): a client that has not logged on by then is closed,
  // whether it trickles bytes, stalls mid-sequence or is a probe being held (hold_timeout still applies within it).
  net::milliseconds prelogon_timeout{30000};
  std::size_t max_connections = 4096;       // open at once; one more is closed at accept
  std::size_t max_session_table = 4096;     // sessions in the table, whatever the policy's max_sessions says; a
                                            // logon that needs a new one is refused (ERRINFO_SERVER_DENIED_CONNECTION)
  // Every session_event, when set (the scenario runner's timeline).
  std::function<void(const session_event&)> on_session_event;
  // For tests: runs for every accepted connection before it is served. What it throws ends the accept loop as a
  // bug would (the loop says so on stderr and starts again).
  std::function<void()> after_accept;
};


class server {
 public:
  // Binds the listener. Throws std::runtime_error naming the address when it cannot (a start-up error).
  server(net::asio::any_io_executor executor, server_config config);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  net::tcp::endpoint local_endpoint() const;
  void start();  // begins accepting; call on (or before running) the executor
  void stop();   // closes the listener and every connection; call from the executor's thread
  const server_counters& counters() const noexcept;
  // The administrator's interface to the session table; valid while the server lives, used on its executor.
  session_admin& admin() noexcept;

  struct state;  // shared with the connection coroutines, which may outlive a stop()

 private:
  std::shared_ptr<state> state_;
};

// "rdp,tls,credssp" → a policy; throws std::invalid_argument naming the unknown protocol.
protocol::server_security_policy parse_policy(const std::string& protocols);

}  // namespace rdp::sim
