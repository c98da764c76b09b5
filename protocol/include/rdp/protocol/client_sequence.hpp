#pragma once
// The client side of the RDP connection sequence (MS-RDPBCGR 1.3.1.1) as a resumable state machine in the vocabulary
// of sequence.hpp: X.224 Connection Request/Confirm (2.2.1.1, 2.2.1.2), the TLS upgrade, MCS Connect-Initial/Response
// (2.2.1.3, 2.2.1.4), Erect Domain and Attach User (2.2.1.5-2.2.1.7), Channel Joins (2.2.1.8, 2.2.1.9), Client Info
// (2.2.1.11, with an auto-reconnect cookie when given), licensing as "valid client" (2.2.1.12), Demand/Confirm Active
// and finalization (2.2.1.13-2.2.1.22), then — once active — a hold that records what the server says until it ends
// the session: heartbeats (2.2.16.1), Set Error Info (2.2.5.1), Save Session Info (2.2.10.1), Auto-Reconnect Status
// (2.2.4.1), the MCS Disconnect Provider Ultimatum (2.2.2.3) and the X.224 Disconnect Request.
//
// With NLA (client_security::nla) the TLS upgrade is followed by the CredSSP exchange (MS-CSSP 3.1.5, credssp_client.hpp)
// — TSRequests are raw DER inside TLS, framed by their own length — and, when the server selected PROTOCOL_HYBRID_EX,
// the Early User Authorization Result PDU (2.2.10.2), before the MCS Connect-Initial.
//
// It is the product client's sequence (client/include/rdp/client/session.hpp) and the probe's Connect-Initial exchange
// (probe/src/standard_security.cpp) in one: it can start with the X.224 Connection Request or right after TLS, over
// TLS or Standard RDP Security, and stop at the phase its caller needs, optionally saying goodbye with an X.224
// Disconnect Request. It frames its own input, chooses every deadline (one absolute instant per step, repeated while
// a frame is incomplete, so a trickling server cannot stretch it), and never throws for anything the peer sends:
// every failure ends with a close action, then done, with a sentence naming the step in result().failure.
#include "rdp/protocol/activation.hpp"
#include "rdp/protocol/bytes.hpp"
#include "rdp/protocol/credssp_client.hpp"
#include "rdp/protocol/crypto.hpp"
#include "rdp/protocol/gcc.hpp"
#include "rdp/protocol/mcs.hpp"
#include "rdp/protocol/sequence.hpp"
#include "rdp/protocol/share.hpp"
#include "rdp/protocol/tpkt.hpp"
#include "rdp/protocol/x224.hpp"

#include <boost/system/error_code.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rdp::protocol {


// How far the connection sequence got: the last step completed (the strings are the mini client's).
enum class client_phase {
  none,
  connected,      // TCP (the start event)
  negotiated,     // X.224 Connection Confirm accepted (2.2.1.2)
  tls,            // TLS handshake done (or the machine started after it)
  authenticated,  // NLA only: CredSSP done, credentials delegated (and, under HYBRID_EX, the Early User Authorization
                  // Result read: AUTHZ_SUCCESS) — MS-CSSP 3.1.5, MS-RDPBCGR 2.2.10.2
  mcs_connected,  // MCS Connect-Response (2.2.1.4)
  attached,       // Attach User Confirm: the user id is known (2.2.1.7)
  joined,         // Channel Join Confirms for the user channel and the I/O channel (2.2.1.9)
  licensed,       // Client Info sent, the server's "valid client" license error alert read (2.2.1.12)
  capabilities,   // Demand Active read, Confirm Active and the client finalization PDUs sent (2.2.1.13-2.2.1.18)
  active,         // the server's Font Map read (2.2.1.22): the session is active
};
const char* to_string(client_phase p) noexcept;  // "none", "connected", …, "authenticated", "mcs-connected", …

enum class client_security {
  tls,       // X.224 negotiation selecting PROTOCOL_SSL, then TLS (2.2.1.1.1)
  standard,  // Standard RDP Security: no TLS; the sequence can go as far as the MCS Connect-Response
  // Network Level Authentication: X.224 negotiation selecting PROTOCOL_HYBRID (or HYBRID_EX), TLS, CredSSP with NTLMv2
  // (client_nla_options), then the MCS Connect-Initial with that protocol as serverSelectedProtocol. A server that
  // selects plain TLS is a failure: this client asked for NLA and does not fall back.
  nla,
};

// What NLA needs that protocol/ does not draw itself: the crypto primitives and the random inputs (STYLE.md 1).
struct client_nla_options {
  const crypto::primitives* crypto = nullptr;  // required for client_security::nla; must outlive the machine
  std::array<std::uint8_t, 8> client_challenge{};  // NTLMv2 client challenge (MS-NLMP 3.1.5.1.2)
  crypto::digest16 exported_session_key{};         // the random session key sent under KEY_EXCH
  std::array<std::uint8_t, 32> nonce{};            // TSRequest.clientNonce (MS-CSSP 2.2.1, version 5 and later)
  std::uint64_t filetime = 0;  // NTLMv2 timestamp when the CHALLENGE has none (FILETIME: 100 ns since 1601)
  // Request PROTOCOL_SSL|HYBRID|HYBRID_EX (0xB, as mstsc) instead of SSL|HYBRID (0x3, as FreeRDP); when the server
  // selects HYBRID_EX, its Early User Authorization Result is read after CredSSP.
  bool hybrid_ex = false;
  std::int64_t credssp_version = credssp::latest_version;  // the TSRequest.version stated (FreeRDP 2.11: 6)
  std::string workstation = "RDP-MINI";  // the AUTHENTICATE's Workstation
  std::string target_spn;  // MsvAvTargetName ("TERMSRV/host"); empty: none
  // false: raw NTLM tokens, as FreeRDP sends them. true: NTLM inside SPNEGO, offered alone, as mstsc outside a domain
  // sends it (credssp_initiator_options::spnego_mechs).
  bool spnego = false;
  // With client_start::after_tls: the server's TLS SubjectPublicKey, read by the caller. Otherwise the tls_done
  // event's bytes are used (sequence.hpp).
  byte_buffer public_key;
};

enum class client_start {
  x224,       // send the X.224 Connection Request first (TCP just connected)
  // The caller sent the Connection Request and read the Confirm itself (the probe does, to classify listeners that
  // are not RDP): begin where a Confirm would have led — the TLS handshake (tls) or the MCS Connect-Initial
  // (standard). result().confirm stays empty.
  after_x224,
  after_tls,  // the caller negotiated and ran TLS itself: begin with the MCS Connect-Initial
};

struct client_deadlines {
  sequence::duration step{10000};  // each step: a request written and its answer read, or the TLS handshake
  sequence::duration hold{60000};  // once active, how long to hold the session for the server to end it
  sequence::duration close{500};   // the goodbye write, the DPU sent on request_close, and a graceful close's drain
};

struct client_sequence_options {
  client_security security = client_security::tls;
  // RDP_NEG_REQ requestedProtocols. tls: nullopt asks for PROTOCOL_SSL. nla: nullopt asks for SSL|HYBRID, or
  // SSL|HYBRID|HYBRID_EX with nla.hybrid_ex. standard: nullopt sends the X.224 CR
  // without RDP_NEG_REQ (how a pre-negotiation client asks for Standard RDP Security, as nmap's cipher pass and
  // FreeRDP's /sec:rdp do); a value sends RDP_NEG_REQ with it.
  std::optional<std::uint32_t> requested_protocols;
  // The CR's "Cookie: mstshash=" value (2.2.1.1); nullopt: none.
  std::optional<std::string> x224_cookie;
  client_start start = client_start::x224;
  // The Connect-Initial to send as is; nullopt: make_client_connect_initial(the negotiated protocol,
  // announce_heartbeat) — PROTOCOL_SSL when starting after TLS, 0 over Standard RDP Security.
  std::optional<mcs::connect_initial> connect_initial;
  // Stop once this phase is reached (active: go on to the hold, or close if !hold).
  client_phase stop_after = client_phase::active;
  // On a stop before active: send an X.224 Disconnect Request before closing, as rdpscan and the probe do, rather
  // than vanish mid-sequence.
  bool goodbye = false;
  std::string user = "user", domain, password = "password";
  std::string client_address;  // Client Info clientAddress (the mini client sends its target's address)
  // Presented in the Client Info's extended info (ARC_CS_PRIVATE_PACKET, 2.2.4.3) as a reconnecting client does;
  // the HMAC in it is computed outside protocol/.
  std::optional<activation::arc_client_cookie> cookie;
  // Sent as the Client Info userName instead of `user` encoded (even length; a way to send UTF-16 that is not valid,
  // such as a lone surrogate). Its terminator is added.
  std::optional<byte_buffer> user_utf16le;
  // RNS_UD_CS_SUPPORT_HEARTBEAT_PDU in the default Connect-Initial: a server with heartbeats then sends them.
  bool announce_heartbeat = false;
  // AUTORECONNECT_SUPPORTED in Confirm Active's general capability set (2.2.7.1.1): the server then issues a cookie.
  bool announce_auto_reconnect = true;
  // Once active: hold the session until the server ends it or deadlines.hold passes; false: close at once (a
  // connection-rate benchmark; the server keeps the session, disconnected).
  bool hold = true;
  // Once active and holding, send an input PDU every `busy`: a slow-path Client Input Event PDU with one Synchronize
  // event (activation::encode_input_synchronize). Slow path, because rdpsim announces no fast-path input and frames
  // TPKT only (a fast-path PDU would end its session), and a Synchronize event because it is the smallest input event
  // (12 bytes, like a mouse move) and moves nothing: mstsc sends one on every focus change, so servers take it at
  // any time — FreeRDP's server hands it to its SynchronizeEvent callback.
  std::optional<sequence::duration> busy;
  // Once active and holding: with no frame from the server for this long, give up (teardown_kind::silence) — how a
  // client notices a connection that went silent under it, a flow a firewall forgot (MS-RDPBCGR 2.2.16.1: after
  // count2 missed heartbeats a client reconnects). nullopt: wait until the hold ends.
  std::optional<sequence::duration> silence_limit;
  // After the MCS Connect-Response, instead of going on: send Erect Domain Requests one byte per write with this
  // pause between bytes — a client trickling its connection sequence — until a write or read fails (the server
  // closed: result.server_closed) or deadlines.hold has passed.
  std::optional<sequence::duration> trickle_after_mcs;
  client_nla_options nla;  // client_security::nla
  client_deadlines deadlines;
  std::size_t max_frame = tpkt::max_length;  // a larger frame from the server is errc::frame_too_large
};

// MS-RDPBCGR 2.2.10.2 authorizationResult values: credssp.hpp (authz_success, authz_access_denied).

// The X.224 Connection Request the machine sends for `options` (2.2.1.1).
x224::connection_request make_connection_request(const client_sequence_options& options);

// The MCS Connect-Initial the mini client sends (2.2.1.3): core data announcing Set Error Info PDUs (and heartbeats if
// asked), `selected_protocol` as serverSelectedProtocol (0 for Standard RDP Security, PROTOCOL_SSL over TLS), no
// security methods, no channels.
mcs::connect_initial make_client_connect_initial(std::uint32_t selected_protocol, bool announce_heartbeat = false,
                                                 std::u16string client_name = u"rdp-mini");

// What the server said or did to end the connection, in the order it happened.
enum class teardown_kind {
  set_error_info,         // code: errorInfo (2.2.5.1)
  disconnect_provider_ultimatum,  // code: the T.125 reason (2.2.2.3)
  x224_disconnect,        // code: the DR's reason byte
  auto_reconnect_status,  // the cookie was refused (2.2.4.1)
  reset,                  // the stream failed with ECONNRESET
  closed,                 // the stream ended or failed otherwise (eof, TLS truncation, broken pipe, …)
  timeout,                // our deadline passed first
  silence,                // nothing came from the server for silence_limit while the session was held
};
const char* to_string(teardown_kind k) noexcept;

struct teardown_record {
  sequence::instant at{};  // the `now` of the event that brought it
  teardown_kind kind = teardown_kind::closed;
  std::uint32_t code = 0;
  friend bool operator==(const teardown_record&, const teardown_record&) = default;
};

struct client_result {
  client_phase reached = client_phase::none;
  bool active() const noexcept { return reached == client_phase::active; }
  // Why the sequence or the hold ended: boost::system::errc::timed_out, the stream's error, or a protocol errc for a
  // frame that did not decode (errc::unexpected_mcs_pdu / unexpected_tpdu for a DPU / X.224 DR instead of an answer).
  // NLA: boost::system::errc::permission_denied for a logon the server refused (nla_status, or early_authorization
  // AUTHZ_ACCESS_DENIED), errc::protocol_error for a server binding that does not match, credssp::error for a
  // TSRequest that does not decode or does not fit its step.
  // Empty after a stop at stop_after or a close the owner asked for.
  boost::system::error_code error;
  std::string failure;  // a sentence naming the step that failed; empty when the sequence got where it was asked to
  std::optional<x224::connection_confirm> confirm;  // the server's X.224 Connection Confirm
  std::optional<gcc::server_data> server;           // the Connect-Response's server data (2.2.1.4)
  std::optional<std::uint32_t> rdp_version;         // its TS_UD_SC_CORE version
  // NLA: the server's TSRequest.errorCode (an NTSTATUS: 0xC000006D for a wrong password), when it sent one.
  std::optional<std::uint32_t> nla_status;
  // NLA over HYBRID_EX: the Early User Authorization Result (authz_success, authz_access_denied).
  std::optional<std::uint32_t> early_authorization;
  std::uint16_t user_id = 0;                        // from Attach User Confirm
  std::optional<std::uint32_t> session_id;          // Demand Active sessionId
  // The teardown evidence (during the sequence or the hold); the last one of each kind.
  std::optional<std::uint32_t> error_info;
  std::optional<mcs::disconnect_reason> disconnect_reason;
  bool x224_disconnect = false;
  bool server_closed = false;     // the stream failed under us (rather than our deadline or our close ending it)
  bool closed_by_owner = false;   // request_close() ended the hold
  std::vector<activation::heartbeat> heartbeats;
  std::optional<std::uint32_t> logon_session_id;  // Save Session Info (2.2.10.1) logon / logon_long
  std::optional<activation::arc_server_cookie> cookie;  // Save Session Info logon_extended_info
  bool auto_reconnect_status = false;
  std::vector<teardown_record> teardown;
  std::uint64_t inputs_sent = 0;  // busy input PDUs written
  // Instants on the driver's clock, for per-phase latency.
  std::optional<sequence::instant> started_at, tls_at, active_at;
  // When the machine decided the connection was over (a deadline or the silence limit ran out, the stream failed, the
  // owner asked it to leave, or the sequence failed), before any goodbye write or graceful close's drain: the drain
  // is real time (deadlines.close) and would move the end of a time-scaled story.
  std::optional<sequence::instant> ended_at;
};

class client_sequence {
 public:
  // Why the last notify action was returned.
  enum class notice_kind {
    none,
    sequence_done,  // the sequence is over (active, failed or stopped), before the hold, goodbye or close
    hold_frame,     // a frame arrived while holding; result() has what it said
  };

  explicit client_sequence(client_sequence_options options);

  // The next action for `e` (sequence.hpp). After done, always done.
  sequence::action resume(const sequence::event& e);
  const client_result& result() const noexcept { return result_; }
  notice_kind notice() const noexcept { return notice_; }
  // Owner input: leave now. While holding (a wakeable read) the driver delivers it with a woken event; the machine
  // sends an MCS Disconnect Provider Ultimatum (rn-user-requested, as FreeRDP's client does on disconnect) and closes
  // gracefully. While trickling it closes gracefully. During the sequence it is honoured once the sequence is over.
  void request_close() noexcept { close_requested_ = true; }
  // Owner input: from now on send input every `every` while holding (nullopt: be idle). The driver must wake the
  // machine's read (a wakeable read in the hold) so that the new rate takes effect before the old deadline.
  void set_busy(std::optional<sequence::duration> every) noexcept;

 private:
  enum class step {
    x224,              // CR written, CC awaited
    tls,               // start_tls
    credssp_negotiate,     // NLA: the NEGOTIATE TSRequest written, the CHALLENGE awaited
    credssp_authenticate,  // NLA: the AUTHENTICATE + pubKeyAuth written, the server's binding awaited
    credssp_credentials,   // NLA: authInfo (the sealed TSCredentials) being written
    early_authorization,   // NLA over HYBRID_EX: the Early User Authorization Result PDU awaited
    connect_response,  // Connect-Initial written, Connect-Response awaited
    attach,            // Erect Domain + Attach User written, Attach User Confirm awaited
    join_user,         // Channel Join (user channel) written, its confirm awaited
    join_io,           // Channel Join (I/O channel) written, its confirm awaited
    license,           // Client Info written, the license PDU awaited
    demand_active,     // Demand Active awaited
    finalization,      // Confirm Active + finalization being written
    font_map,          // the server's finalization up to Font Map awaited
    trickle,           // trickle_after_mcs
    hold,              // active, holding
    goodbye,           // X.224 DR (or DPU) being written before a graceful close
    closing,           // close action returned
    done,
  };
  enum class waiting { start, write, read, tls, notify, close, done };
  enum class after_notify { go_on, hold_or_close, stop, fail_close };

  sequence::action begin();
  sequence::action start_step(step s);  // sets the step and its deadline, and writes its request
  // Each step's request, written by start_step.
  sequence::action send_connection_request();
  sequence::action start_credssp();  // the NEGOTIATE TSRequest
  sequence::action send_connect_initial();
  sequence::action send_attach_user();  // with the Erect Domain Request before it
  sequence::action send_channel_join();
  std::uint16_t joining_channel() const noexcept;  // the channel of step join_user or join_io
  sequence::action send_trickle_byte();
  sequence::action send_client_info();
  sequence::action send_finalization();  // Confirm Active and the client's finalization PDUs
  sequence::action send(byte_buffer bytes, sequence::instant deadline);
  sequence::action read_action();       // a read with the deadline of the current step (or hold / trickle)
  sequence::action close(sequence::close_style style, sequence::instant deadline);
  sequence::action after_written();
  sequence::action after_tls(bytes_view public_key);
  sequence::action pump_raw();  // NLA: TSRequests and the Early User Authorization Result, not TPKT-framed
  sequence::action on_ts_request(const credssp::ts_request& request);
  sequence::action on_late_ts_request(const credssp::ts_request& request);  // a TSRequest after the exchange
  std::uint32_t selected_protocol() const noexcept;
  sequence::action reach(client_phase p);  // records the phase; stops, or goes on to the next step
  sequence::action sequence_over(after_notify then);
  sequence::action stop();
  sequence::action fail(boost::system::error_code ec, std::string what);
  sequence::action enter_hold();
  sequence::action leave_on_request();
  sequence::action pump();  // the frames buffered, then a read
  std::optional<sequence::action> on_frame(const tpkt::frame_decoder::frame& f);
  std::optional<sequence::action> on_sequence_frame(bytes_view frame);
  // The answer each step awaits, from on_sequence_frame.
  sequence::action fail_decoding(const boost::system::error_code& ec);  // "decoding <what was awaited>: …"
  sequence::action on_connection_confirm(bytes_view frame);
  sequence::action on_connect_response(bytes_view frame);
  sequence::action on_attach_user_confirm(bytes_view frame);
  sequence::action on_channel_join_confirm(bytes_view frame);
  sequence::action on_license(bytes_view frame);
  sequence::action on_demand_active(bytes_view frame);
  std::optional<sequence::action> on_server_finalization(bytes_view frame);  // nullopt until the Font Map
  share::server_event_kind note_teardown(bytes_view frame);
  void note_hold_frame(bytes_view frame);
  sequence::action on_timeout();
  sequence::action on_io_error(const boost::system::error_code& ec);
  void record(teardown_kind kind, std::uint32_t code);
  std::string context() const;            // "waiting for the MCS Connect-Response: ", …
  const char* awaited() const noexcept;   // "the MCS Connect-Response", …
  const char* request() const noexcept;   // "the MCS Connect-Initial", …

  client_sequence_options options_;
  client_result result_;
  notice_kind notice_ = notice_kind::none;
  bool close_requested_ = false;
  bool sequence_over_ = false;

  step step_ = step::x224;
  waiting waiting_ = waiting::start;
  sequence::action pending_ = sequence::done();
  sequence::close_style fail_style_ = sequence::close_style::graceful;
  after_notify after_notify_ = after_notify::go_on;
  sequence::instant now_{};
  sequence::instant deadline_{};       // the current step's
  sequence::instant hold_until_{};     // hold or trickle end
  sequence::instant next_input_{};     // busy
  sequence::instant silent_until_{};   // silence_limit: the hold gives up then unless a frame comes
  sequence::instant trickle_next_{};   // the next trickled byte
  std::size_t trickle_at_ = 0;
  int frames_in_step_ = 0;
  share::data_pdu_route route_;   // how this client sends share PDUs; completed as the sequence goes
  std::uint16_t server_channel_ = 0;
  activation::demand_active demand_;
  tpkt::frame_decoder decoder_;
  byte_buffer out_;               // the pending write's bytes
  // NLA: from TLS until the first TPKT byte, the stream is raw DER TSRequests (then 4 EUAR bytes): they collect here.
  bool raw_input_ = false;
  byte_buffer raw_;
  byte_buffer server_public_key_;
  std::optional<credssp_initiator> credssp_;
};

}  // namespace rdp::protocol
