// parse_scenario (scenarios/src/scenario_parse.cpp and its parse_*.cpp): a full file reads into the schema's types value by value, and
// every kind of malformed file is refused with "file:line:column: key.path: what is wrong" pointing at the culprit.
#include "rdp/probe/report.hpp"
#include "rdp/protocol/errinfo.hpp"
#include "rdp/scenarios/scenario.hpp"

#include <gtest/gtest.h>

#include <set>

#include <filesystem>
#include <fstream>
#include <cstdio>
#include <random>
#include <sstream>

namespace {

namespace fs = std::filesystem;
using namespace rdp::scenarios;
using namespace std::chrono_literals;
using rdp::sim::certificate_handling;

scenario parse(const std::string& text, const std::string& base_dir = ".") {
  return parse_scenario(text, "t.yaml", base_dir, certificate_handling::check_only);
}

std::string error_of(const std::string& text, const std::string& base_dir = ".") {
  try {
    parse(text, base_dir);
  } catch (const scenario_error& e) {
    return e.what();
  }
  return "(parsed without an error)";
}

// Every key of the schema, once. Line numbers matter to the tests below that point into it.
const std::string full_file = R"(scenario: firewall-idle-reset
summary: A firewall forgets the idle flow; the next keystroke is answered with a reset.
cause: firewall-idle-timeout
timeout: 10m
server:
  profile:
    name: inline-lab
    heartbeat_seconds: 30
    sessions: {single_session: false, max_sessions: 4}
path:
  proxy:
    idle_timeout: 4m
    on_idle: reset
    idle_from: active
    latency: 20ms
    jitter: 5ms
    bandwidth: 64KiB/s
    slice: 100
    slice_delay: 0
    blackhole: false
    refuse_new: false
clients:
  - {name: alice, kind: lean, user: alice, password: "Passw0rd!", domain: LAB, silence_limit: 10m,
     heartbeat: true, auto_reconnect: false, busy: 1s, hold: 9m}
  - {name: bob, kind: freerdp, user: bob, security: nla}
  - {name: scan, kind: rdpprobe}
timeline:
  - {at: 0s, logon: alice, label: alice logs on}
  - {on: alice.active, after: 5m, busy: {client: alice, every: 1s}, label: the user comes back}
  - {at: 20s, admin: logoff, session: alice}
  - {at: 30s, admin: restart, down: 10s}
  - {at: 1m, fault: {reset_now: true, listener_down: 5s}, client: alice}
  - {at: 2m, policy: {single_session: true, max_sessions: null, idle_limit: 60s, active_limit: null,
                      disconnected_limit: 2h}}
  - {at: 3m, probe: scan}
  - {at: 4m, occupy_port: http}
  - {on: step.3.done, reconnect: alice}
  - {on: proxy.idle_expired, leave: alice}
  - {at: 1m30s, logon: bob}
  - {on: server.session_info_sent, fault: {reset_at: tls-established, reset_after: 2s, idle_timeout: null}}
  - {on: scan.ended, admin: drop-connection, session: bob}
expect:
  - {client: alice, attempt: 1, active: true, closed: reset, within: 4m..4m30s}
  - {client: alice, attempt: 2, reconnect: new-session, error_info: RPC_INITIATED_LOGOFF, dpu_reason: rn-user-requested}
  - {client: bob, error_info: 0x2, dpu_reason: 1, closed: fin, within: ..9m}
  - {client: scan, verdict: rdp, within: 3m..}
  - {server: {counters: {stale_cookies: 1, accepted: 3}, sessions: 1}}
  - {proxy: {idle_expiries: 1, resets_sent: 2, connections: 3}}
)";

TEST(ScenarioParse, EveryKeyOfAFullFileReadsIntoTheTypes) {
  const auto s = parse(full_file);
  EXPECT_EQ(s.name, "firewall-idle-reset");
  EXPECT_EQ(s.summary, "A firewall forgets the idle flow; the next keystroke is answered with a reset.");
  EXPECT_EQ(s.cause, "firewall-idle-timeout");
  EXPECT_EQ(s.timeout, 10min);
  EXPECT_EQ(s.where.file, "t.yaml");

  // The inline profile went through the profile parser.
  EXPECT_EQ(s.server.profile_source, "inline");
  EXPECT_EQ(s.server.profile.name, "inline-lab");
  EXPECT_EQ(s.server.profile.server.heartbeat, std::optional(std::chrono::seconds(30)));
  EXPECT_FALSE(s.server.profile.server.sessions.single_session);
  EXPECT_EQ(s.server.profile.server.sessions.max_sessions, std::optional<std::uint32_t>(4));

  ASSERT_TRUE(s.path.through_proxy);
  const auto& f = s.path.proxy.change;
  EXPECT_EQ(f.idle_timeout, std::optional(std::optional<duration>(4min)));
  EXPECT_EQ(f.on_idle, rdp::proxy::idle_expiry::reset_sender);
  EXPECT_EQ(f.idle_from, rdp::proxy::phase::active);
  EXPECT_EQ(f.latency, std::optional<duration>(20ms));
  EXPECT_EQ(f.jitter, std::optional<duration>(5ms));
  EXPECT_EQ(f.bandwidth, std::optional<std::uint64_t>(65536));
  EXPECT_EQ(f.slice, std::optional<std::size_t>(100));
  EXPECT_EQ(f.slice_delay, std::optional<duration>(0ms));
  EXPECT_FALSE(f.reset_now);
  EXPECT_EQ(f.blackhole, std::optional(false));
  EXPECT_EQ(f.refuse_new, std::optional(false));
  EXPECT_FALSE(f.listener_down);
  EXPECT_EQ(s.path.proxy.where.line, 12);
  EXPECT_EQ(s.path.proxy.where.column, 5);

  ASSERT_EQ(s.clients.size(), 3u);
  const auto& alice = s.clients[0];
  EXPECT_EQ(alice.name, "alice");
  EXPECT_EQ(alice.kind, client_kind::lean);
  EXPECT_EQ(alice.user, "alice");
  EXPECT_EQ(alice.password, "Passw0rd!");
  EXPECT_EQ(alice.domain, "LAB");
  EXPECT_TRUE(alice.announce_heartbeat);
  EXPECT_FALSE(alice.announce_auto_reconnect);
  EXPECT_EQ(alice.busy, std::optional<duration>(1s));
  EXPECT_EQ(alice.silence_limit, std::optional<duration>(10min));
  EXPECT_EQ(alice.hold, std::optional<duration>(9min));
  EXPECT_EQ(to_string(alice.where), "t.yaml:23:5");
  const auto& bob = s.clients[1];
  EXPECT_EQ(bob.kind, client_kind::freerdp);
  EXPECT_EQ(bob.security, "nla");
  EXPECT_EQ(bob.password, "password");  // the schema's default
  EXPECT_TRUE(bob.announce_auto_reconnect);
  EXPECT_EQ(s.clients[2].kind, client_kind::rdpprobe);

  ASSERT_EQ(s.steps.size(), 13u);
  const auto& st = s.steps;
  EXPECT_EQ(st[0].when.at, std::optional<duration>(0ms));
  EXPECT_EQ(st[0].label, "alice logs on");
  EXPECT_EQ(std::get<logon_step>(st[0].action).client, "alice");
  EXPECT_FALSE(std::get<logon_step>(st[0].action).reconnect);
  EXPECT_EQ(to_string(st[0].where), "t.yaml:28:5");

  EXPECT_FALSE(st[1].when.at);
  EXPECT_EQ(st[1].when.on, "alice.active");
  EXPECT_EQ(st[1].when.after, 5min);
  EXPECT_EQ(std::get<busy_step>(st[1].action).client, "alice");
  EXPECT_EQ(std::get<busy_step>(st[1].action).every, std::optional<duration>(1s));

  const auto& logoff = std::get<admin_step>(st[2].action);
  EXPECT_EQ(logoff.kind, admin_kind::logoff);
  EXPECT_EQ(logoff.session_of, "alice");
  const auto& restart = std::get<admin_step>(st[3].action);
  EXPECT_EQ(restart.kind, admin_kind::restart_service);
  EXPECT_EQ(restart.session_of, "");
  EXPECT_EQ(restart.down, 10s);

  const auto& fault = std::get<fault_step>(st[4].action);
  EXPECT_EQ(fault.client, "alice");
  EXPECT_TRUE(fault.fault.change.reset_now);
  EXPECT_EQ(fault.fault.change.listener_down, std::optional<duration>(5s));
  EXPECT_FALSE(fault.fault.change.idle_timeout);

  const auto& policy = std::get<policy_step>(st[5].action);
  EXPECT_EQ(policy.single_session, std::optional(true));
  ASSERT_TRUE(policy.max_sessions);
  EXPECT_FALSE(*policy.max_sessions);  // null: unlimited
  EXPECT_EQ(policy.idle_limit, std::optional(std::optional<duration>(60s)));
  ASSERT_TRUE(policy.active_limit);
  EXPECT_FALSE(*policy.active_limit);
  EXPECT_EQ(policy.disconnected_limit, std::optional(std::optional<duration>(2h)));

  EXPECT_EQ(std::get<probe_step>(st[6].action).client, "scan");
  EXPECT_EQ(std::get<occupy_port_step>(st[7].action).by, occupant_kind::http);
  EXPECT_EQ(st[8].when.on, "step.3.done");
  EXPECT_TRUE(std::get<logon_step>(st[8].action).reconnect);
  EXPECT_EQ(std::get<leave_step>(st[9].action).client, "alice");
  EXPECT_EQ(st[10].when.at, std::optional<duration>(90s));
  const auto& phase_reset = std::get<fault_step>(st[11].action).fault.change;
  EXPECT_EQ(phase_reset.reset_at_phase, rdp::proxy::phase::tls_established);
  EXPECT_EQ(phase_reset.reset_after, std::optional<duration>(2s));
  ASSERT_TRUE(phase_reset.idle_timeout);
  EXPECT_FALSE(*phase_reset.idle_timeout);  // null: no idle timeout any more
  EXPECT_EQ(std::get<fault_step>(st[11].action).client, "");  // all connections
  EXPECT_EQ(std::get<admin_step>(st[12].action).kind, admin_kind::drop_connection);

  ASSERT_EQ(s.expect.size(), 6u);
  const auto& e1 = std::get<client_expectation>(s.expect[0]);
  EXPECT_EQ(e1.client, "alice");
  EXPECT_EQ(e1.attempt, std::optional(1));
  EXPECT_EQ(e1.active, std::optional(true));
  EXPECT_EQ(e1.closed, close_kind::reset);
  ASSERT_TRUE(e1.within);
  EXPECT_EQ(e1.within->from, std::optional<duration>(4min));
  EXPECT_EQ(e1.within->to, std::optional<duration>(4min + 30s));
  EXPECT_EQ(to_string(e1.where), "t.yaml:43:5");
  const auto& e2 = std::get<client_expectation>(s.expect[1]);
  EXPECT_EQ(e2.reconnect, reconnect_outcome::new_session);
  EXPECT_EQ(e2.error_info, std::optional<std::uint32_t>(rdp::protocol::errinfo::rpc_initiated_logoff));
  EXPECT_EQ(e2.dpu_reason, std::optional<std::uint32_t>(3));
  const auto& e3 = std::get<client_expectation>(s.expect[2]);
  EXPECT_FALSE(e3.attempt);  // its last
  EXPECT_EQ(e3.error_info, std::optional<std::uint32_t>(2));
  EXPECT_EQ(e3.dpu_reason, std::optional<std::uint32_t>(1));
  EXPECT_EQ(e3.closed, close_kind::fin);
  EXPECT_FALSE(e3.within->from);
  EXPECT_EQ(e3.within->to, std::optional<duration>(9min));
  const auto& e4 = std::get<client_expectation>(s.expect[3]);
  EXPECT_EQ(e4.verdict, std::optional<std::string>("rdp"));
  EXPECT_EQ(e4.within->from, std::optional<duration>(3min));
  EXPECT_FALSE(e4.within->to);
  const auto& e5 = std::get<server_expectation>(s.expect[4]);
  EXPECT_EQ(e5.counters, (std::map<std::string, std::uint64_t>{{"accepted", 3}, {"stale_cookies", 1}}));
  EXPECT_EQ(e5.sessions, std::optional<std::size_t>(1));
  const auto& e6 = std::get<proxy_expectation>(s.expect[5]);
  EXPECT_EQ(e6.idle_expiries, std::optional<std::uint64_t>(1));
  EXPECT_EQ(e6.resets_sent, std::optional<std::uint64_t>(2));
  EXPECT_EQ(e6.connections, std::optional<std::uint64_t>(3));
}

// The smallest file the error table below varies.
const std::string minimal = R"(scenario: t
clients:
  - {name: alice}
timeline:
  - {at: 0s, logon: alice}
expect:
  - {client: alice, active: true}
)";

TEST(ScenarioParse, TheMinimalFileHasTheSchemaDefaults) {
  const auto s = parse(minimal);
  EXPECT_EQ(s.timeout, 5min);
  EXPECT_FALSE(s.path.through_proxy);
  EXPECT_EQ(s.server.profile_source, "inline");
  EXPECT_EQ(s.server.profile.server.listen.port, 13389);  // rdpsim's defaults (the runner listens on port 0 anyway)
  EXPECT_EQ(s.clients[0].kind, client_kind::lean);
  EXPECT_EQ(s.clients[0].user, "user");
  EXPECT_EQ(s.clients[0].password, "password");
  EXPECT_FALSE(s.clients[0].busy);
  EXPECT_FALSE(s.clients[0].silence_limit);
  EXPECT_EQ(s.clients[0].security, "tls");
}

// One duration grammar (net::read_duration, docs/quantities.md) for files as for flags and control requests: hours and
// compounds, largest unit first. ControlCli.OneHourAsTheFlagsWriteIt and RdpsimProxyCli.TakesDurationsAndRatesInTheOneGrammar
// are the same words on the command line.
TEST(ScenarioParse, AnHourAndACompoundAreDurationsAsOnTheCommandLine) {
  auto text = minimal;
  text.insert(text.find("clients:"), "timeout: 1h30m\n");
  EXPECT_EQ(parse(text).timeout, 90min);
  auto out_of_order = minimal;
  out_of_order.insert(out_of_order.find("clients:"), "timeout: 30m1h\n");
  const auto why = error_of(out_of_order);
  EXPECT_NE(why.find("'30m1h' is not a duration"), std::string::npos) << why;
}

struct bad_file {
  const char* name;
  std::string text;
  std::string prefix;  // "t.yaml:L:C: path: " exactly
  std::string names;   // what the message must say about the problem
};

std::string with(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  if (at == std::string::npos) throw std::logic_error("test bug: '" + from + "' is not in the text");
  return text.replace(at, from.size(), to);
}

const std::vector<bad_file>& bad_files() {
  static const std::vector<bad_file> files = {
      {"typo_in_a_top_level_key", with(minimal, "timeline:", "timline:"), "t.yaml:4:1: timline: ",
       "unknown key (known here: scenario, summary, cause, timeout, tolerance, server, path, clients, timeline, expect)"},
      {"typo_in_a_client_key", with(minimal, "{name: alice}", "{name: alice, pasword: x}"),
       "t.yaml:3:19: clients[1].pasword: ", "unknown key (known here: name, kind, user, password"},
      {"typo_in_a_step_key", with(minimal, "{at: 0s, logon: alice}", "{at: 0s, logn: alice}"),
       "t.yaml:5:14: timeline[1].logn: ", "unknown key (known here: at, on, after, label, logon"},
      {"typo_in_an_expectation_key", with(minimal, "active: true", "actve: true"), "t.yaml:7:21: expect[1].actve: ",
       "unknown key"},
      {"a_key_given_twice", with(minimal, "{name: alice}", "{name: alice, name: bob}"),
       "t.yaml:3:19: clients[1].name: ", "given twice"},
      {"wrong_type_list_for_a_name", with(minimal, "scenario: t", "scenario: [a, b]"), "t.yaml:1:11: scenario: ",
       "expected a name, found a list"},
      {"wrong_type_mapping_for_clients", with(minimal, "clients:\n  - {name: alice}", "clients: {name: alice}"),
       "t.yaml:2:10: clients: ", "expected a list of clients ({name, kind, ...}), found a mapping"},
      {"wrong_type_flag", with(minimal, "active: true", "active: maybe"), "t.yaml:7:29: expect[1].active: ",
       "expected true or false, found 'maybe'"},
      {"missing_expect", with(minimal, "expect:\n  - {client: alice, active: true}\n", ""), "t.yaml:1:1: expect: ",
       "missing: the expected outcome"},
      {"empty_expect", with(minimal, "expect:\n  - {client: alice, active: true}\n", "expect: []\n"),
       "t.yaml:6:9: expect: ", "the list is empty"},
      {"an_expectation_that_expects_nothing", with(minimal, "{client: alice, active: true}", "{client: alice, attempt: 1}"),
       "t.yaml:7:5: expect[1]: ", "expects nothing of alice"},
      {"a_step_naming_an_unknown_client", with(minimal, "logon: alice", "logon: alcie"),
       "t.yaml:5:21: timeline[1].logon: ", "no client is named 'alcie' (clients: alice)"},
      {"an_expectation_naming_an_unknown_client", with(minimal, "{client: alice,", "{client: bob,"),
       "t.yaml:7:14: expect[1].client: ", "no client is named 'bob'"},
      {"duplicate_client_names", with(minimal, "  - {name: alice}\n", "  - {name: alice}\n  - {name: alice, kind: freerdp}\n"),
       "t.yaml:4:12: clients[2].name: ", "another client is already named alice"},
      {"an_event_of_no_form", with(minimal, "{at: 0s, logon: alice}", "{at: 0s, logon: alice}\n  - {on: alice.activ, leave: alice}"),
       "t.yaml:6:10: timeline[2].on: ", "the events of a lean or freerdp client are alice.active, alice.cookie and alice.ended"},
      {"an_event_of_an_unknown_client", with(minimal, "{at: 0s, logon: alice}", "{at: 0s, logon: alice}\n  - {on: bob.active, leave: alice}"),
       "t.yaml:6:10: timeline[2].on: ", "no client is named 'bob'"},
      {"an_event_of_a_step_beyond_the_timeline", with(minimal, "{at: 0s, logon: alice}", "{at: 0s, logon: alice}\n  - {on: step.3.done, leave: alice}"),
       "t.yaml:6:10: timeline[2].on: ", "there is no step 3: the timeline has 2 steps"},
      {"steps_waiting_for_each_other",
       with(minimal, "{at: 0s, logon: alice}", "{on: step.2.done, logon: alice}\n  - {on: step.1.done, leave: alice}"),
       "t.yaml:5:10: timeline[1].on: ", "steps wait for each other in a circle (1 → 2 → 1)"},
      {"a_bad_duration", with(minimal, "at: 0s", "at: 5 minutes"), "t.yaml:5:10: timeline[1].at: ",
       "'5 minutes' is not a duration: unexpected ' ' after '5'"},
      {"a_bad_unit", with(minimal, "at: 0s", "at: 4x"), "t.yaml:5:10: timeline[1].at: ",
       "'4x' is not a duration: unit 'x' is not one of h, m, s, ms, us"},
      {"a_duration_finer_than_a_millisecond", with(minimal, "at: 0s", "at: 250us"), "t.yaml:5:10: timeline[1].at: ",
       "'250us' is not a whole number of milliseconds"},
      {"a_zero_timeout", with(minimal, "scenario: t\n", "scenario: t\ntimeout: 0s\n"), "t.yaml:2:10: timeout: ",
       "'0s' is not a duration here: it must be more than 0"},
      {"a_window_end_that_is_no_duration", with(minimal, "active: true", "active: true, within: ..40x"),
       "t.yaml:7:43: expect[1].within: ", "'40x' is not a duration: unit 'x' is not one of h, m, s, ms, us"},
      {"a_step_at_the_timeout", with(with(minimal, "scenario: t\n", "scenario: t\ntimeout: 1m\n"), "at: 0s", "at: 1m"),
       "t.yaml:6:10: timeline[1].at: ", "at 1m is not before the scenario's timeout (1m)"},
      {"a_window_that_ends_before_it_starts", with(minimal, "active: true", "active: true, within: 40s..25s"),
       "t.yaml:7:43: expect[1].within: ", "the window ends before it starts (40s > 25s)"},
      {"a_window_without_dots", with(minimal, "active: true", "active: true, within: 40s"),
       "t.yaml:7:43: expect[1].within: ", "expected a window such as 25s..40s"},
      {"yaml_syntax_error", with(minimal, "{name: alice}", "{name: alice"), "t.yaml:5:3: ", "not valid YAML"},
      {"an_inline_profile_error", with(minimal, "scenario: t\n", "scenario: t\nserver:\n  profile:\n    sessions: {max_sessions: many}\n"),
       "t.yaml:4:30: server.profile.sessions.max_sessions: ", "expected a whole number"},
      {"a_typo_in_an_inline_profile", with(minimal, "scenario: t\n", "scenario: t\nserver:\n  profile: {heartbeat_second: 30}\n"),
       "t.yaml:3:13: server.profile.heartbeat_second: ", "unknown key"},
      {"a_profile_file_that_is_not_there", with(minimal, "scenario: t\n", "scenario: t\nserver: {profile: nowhere.yaml}\n"),
       "t.yaml:2:19: server.profile: ", "cannot read the profile './nowhere.yaml': no such file"},
      {"a_bad_error_info_name", with(minimal, "active: true", "error_info: RPC_INITIATED_LOGOF"),
       "t.yaml:7:33: expect[1].error_info: ", "found 'RPC_INITIATED_LOGOF'"},
      {"a_bad_dpu_reason", with(minimal, "active: true", "dpu_reason: rn-whatever"), "t.yaml:7:33: expect[1].dpu_reason: ",
       "expected a T.125 reason (rn-domain-disconnected, rn-provider-initiated, rn-token-purged, rn-user-requested, "
       "rn-channel-purged) or its number 0-4"},
      {"an_unknown_counter", with(minimal, "{client: alice, active: true}", "{server: {counters: {stale_cookie: 1}}}"),
       "t.yaml:7:26: expect[1].server.counters.stale_cookie: ", "unknown counter (rdpsim counts accepted, negotiated"},
      {"a_reconnect_of_an_rdpprobe_client",
       with(with(minimal, "  - {name: alice}\n", "  - {name: alice}\n  - {name: scan, kind: rdpprobe}\n"), "{at: 0s, logon: alice}",
            "{at: 0s, logon: alice}\n  - {at: 1s, reconnect: scan}"),
       "t.yaml:7:25: timeline[2].reconnect: ", "scan is a rdpprobe client; only lean and freerdp clients reconnect"},
      {"a_probe_of_a_lean_client", with(minimal, "{at: 0s, logon: alice}", "{at: 0s, logon: alice}\n  - {at: 1s, probe: alice}"),
       "t.yaml:6:21: timeline[2].probe: ", "alice is a lean client; only rdpprobe clients probe"},
      {"a_fault_on_a_direct_path", with(minimal, "{at: 0s, logon: alice}", "{at: 0s, logon: alice}\n  - {at: 1s, fault: {blackhole: true}}"),
       "t.yaml:6:21: timeline[2].fault: ", "the path is direct: there is no proxy to fault"},
      {"a_proxy_event_on_a_direct_path",
       with(minimal, "{at: 0s, logon: alice}", "{at: 0s, logon: alice}\n  - {on: proxy.idle_expired, leave: alice}"),
       "t.yaml:6:10: timeline[2].on: ", "the path is direct: no proxy sends proxy.idle_expired"},
      {"a_proxy_expectation_on_a_direct_path", with(minimal, "{client: alice, active: true}", "{proxy: {resets_sent: 1}}"),
       "t.yaml:7:13: expect[1].proxy: ", "the path is direct"},
      {"an_attempt_beyond_the_logons", with(minimal, "active: true", "attempt: 2, active: true"),
       "t.yaml:7:30: expect[1].attempt: ", "the timeline gives alice 1 logon, not 2"},
      {"a_bad_phase_word", with(minimal, "scenario: t\n", "scenario: t\npath: {proxy: {idle_from: activ}}\n"),
       "t.yaml:2:27: path.proxy.idle_from: ", "expected a phase (connected, x224-request"},
      {"a_bad_on_idle_word", with(minimal, "scenario: t\n", "scenario: t\npath: {proxy: {on_idle: rst}}\n"),
       "t.yaml:2:25: path.proxy.on_idle: ", "expected drop, reset or reset-both, found 'rst'"},
      {"two_actions_in_one_step", with(minimal, "{at: 0s, logon: alice}", "{at: 0s, logon: alice, leave: alice}"),
       "t.yaml:5:35: timeline[1].leave: ", "a step does one thing: it already has logon"},
      {"a_step_without_a_time", with(minimal, "{at: 0s, logon: alice}", "{logon: alice}"), "t.yaml:5:5: timeline[1]: ",
       "missing: at: TIME"},
      {"at_and_on_together", with(minimal, "{at: 0s, logon: alice}", "{at: 0s, on: server.active, logon: alice}"),
       "t.yaml:5:18: timeline[1].on: ", "a step has at: or on:, not both"},
      {"silence_without_a_silence_limit", with(minimal, "active: true", "closed: silence"),
       "t.yaml:7:29: expect[1].closed: ", "alice has no silence_limit"},
      {"a_verdict_for_a_lean_client", with(minimal, "active: true", "verdict: rdp"), "t.yaml:7:30: expect[1].verdict: ",
       "is rdpprobe's; alice is a lean client"},
      {"a_key_of_another_kind_of_client", with(minimal, "{name: alice}", "{name: alice, kind: rdpprobe, user: x}"),
       "t.yaml:3:41: clients[1].user: ", "is for lean and freerdp clients; alice is rdpprobe"},
      {"a_reconnect_without_a_logon", with(minimal, "logon: alice", "reconnect: alice"),
       "t.yaml:5:25: timeline[1].reconnect: ", "alice has no logon: step whose cookie it could present"},
      {"down_with_a_logoff", with(minimal, "{at: 0s, logon: alice}", "{at: 0s, logon: alice}\n  - {at: 1s, admin: logoff, session: alice, down: 5s}"),
       "t.yaml:6:51: timeline[2].down: ", "goes with admin: restart, not with admin: logoff"},
      {"a_bad_bandwidth", with(minimal, "scenario: t\n", "scenario: t\npath: {proxy: {bandwidth: fast}}\n"),
       "t.yaml:2:27: path.proxy.bandwidth: ", "'fast' is not a rate: expected a number first"},
      {"a_bandwidth_without_per_second", with(minimal, "scenario: t\n", "scenario: t\npath: {proxy: {bandwidth: 10Mbit}}\n"),
       "t.yaml:2:27: path.proxy.bandwidth: ", "'10Mbit' is not a rate: a size with a unit says how much, not how fast"},
      {"a_bandwidth_list", with(minimal, "scenario: t\n", "scenario: t\npath: {proxy: {bandwidth: [1]}}\n"),
       "t.yaml:2:27: path.proxy.bandwidth: ", "expected bytes per second (0 = unlimited), as a number or like 64KiB/s"},
      {"a_reserved_client_name", with(minimal, "{name: alice}", "{name: server}"), "t.yaml:3:12: clients[1].name: ",
       "not server, proxy or step"},
      {"an_empty_file", "", "t.yaml: ", "the scenario file is empty"},
      {"not_a_mapping_at_all", "- a\n- b\n", "t.yaml:1:1: ", "expected a mapping of the scenario's keys, found a list"},
  };
  return files;
}

// For a failure's message: the line the error names, and a caret under its column.
std::string caret_at(const std::string& text, const std::string& message) {
  int line = 0, column = 0;
  if (std::sscanf(message.c_str(), "t.yaml:%d:%d", &line, &column) != 2) return "(no position)";
  std::istringstream in(text);
  std::string row;
  for (int i = 0; i < line && std::getline(in, row); ++i) {
  }
  return row + "\n" + std::string(static_cast<std::size_t>(std::max(column - 1, 0)), ' ') + "^";
}

TEST(ScenarioParse, EveryMalformedFileIsRefusedWithWhereAndWhat) {
  for (const auto& bad : bad_files()) {
    SCOPED_TRACE(bad.name);
    const auto message = error_of(bad.text);
    EXPECT_EQ(message.substr(0, bad.prefix.size()), bad.prefix) << message << "\n" << caret_at(bad.text, message);
    EXPECT_NE(message.find(bad.names), std::string::npos) << message;
  }
}

TEST(ScenarioParse, AStepBeforeTheTimeoutIsFine) {
  // The counterpart of a_step_at_the_timeout: the same file one millisecond earlier parses.
  EXPECT_NO_THROW(parse(with(with(minimal, "scenario: t\n", "scenario: t\ntimeout: 1m\n"), "at: 0s", "at: 59999ms")));
}

TEST(ScenarioParse, ErrorInfoByEveryNameSpellingAndNumber) {
  for (const std::string spelling : {"ERRINFO_RPC_INITIATED_LOGOFF", "RPC_INITIATED_LOGOFF", "0x2", "2"}) {
    SCOPED_TRACE(spelling);
    const auto s = parse(with(minimal, "active: true", "error_info: " + spelling));
    EXPECT_EQ(std::get<client_expectation>(s.expect[0]).error_info, std::optional<std::uint32_t>(2));
  }
}

TEST(ScenarioParse, EveryVerdictOfTheProbeCanBeExpected) {
  const auto probe_file = with(with(minimal, "{name: alice}", "{name: scan, kind: rdpprobe}"), "logon: alice", "probe: scan");
  for (int v = 0; v <= static_cast<int>(rdp::probe::verdict::internal_error); ++v) {
    const auto word = std::string(rdp::probe::to_string(static_cast<rdp::probe::verdict>(v)));
    SCOPED_TRACE(word);
    const auto s = parse(with(probe_file, "{client: alice, active: true}", "{client: scan, verdict: " + word + "}"));
    EXPECT_EQ(std::get<client_expectation>(s.expect[0]).verdict, std::optional(word));
  }
  EXPECT_NE(error_of(with(probe_file, "{client: alice, active: true}", "{client: scan, verdict: healthy}"))
                .find("t.yaml:7:29: expect[1].verdict: expected a verdict"),
            std::string::npos);
}

// Each step word is read as its own action, and a word the parser does not know is an error at its line and column —
// never another step's action (the last branch of the reader once made every unhandled word an occupy_port).
TEST(ScenarioParse, EachStepWordIsItsOwnAction) {
  const auto s = parse(with(full_file, "expect:\n", "  - {at: 5m, share_port: ssh}\nexpect:\n"));
  const auto& st = s.steps;
  ASSERT_EQ(st.size(), 14u);
  const auto is_logon = [](const step& x) { return std::holds_alternative<logon_step>(x.action); };
  EXPECT_TRUE(is_logon(st[0]) && !std::get<logon_step>(st[0].action).reconnect);           // logon
  EXPECT_TRUE(std::holds_alternative<busy_step>(st[1].action));                              // busy
  EXPECT_TRUE(std::holds_alternative<admin_step>(st[2].action));                             // admin
  EXPECT_TRUE(std::holds_alternative<fault_step>(st[4].action));                             // fault
  EXPECT_TRUE(std::holds_alternative<policy_step>(st[5].action));                            // policy
  EXPECT_TRUE(std::holds_alternative<probe_step>(st[6].action));                             // probe
  EXPECT_TRUE(std::holds_alternative<occupy_port_step>(st[7].action));                       // occupy_port
  EXPECT_TRUE(is_logon(st[8]) && std::get<logon_step>(st[8].action).reconnect);             // reconnect
  EXPECT_TRUE(std::holds_alternative<leave_step>(st[9].action));                             // leave
  EXPECT_TRUE(std::holds_alternative<share_port_step>(st[13].action));                       // share_port
  EXPECT_EQ(std::get<share_port_step>(st[13].action).by, occupant_kind::ssh);
  // An unknown word, alone or beside a known one: refused where it stands.
  EXPECT_EQ(error_of(with(minimal, "{at: 0s, logon: alice}", "{at: 0s, logon: alice}\n  - {at: 1s, restart_port: http}"))
                .rfind("t.yaml:6:14: timeline[2].restart_port: unknown key (known here: at, on, after, label, logon, "
                       "reconnect, leave, busy, admin, policy, fault, probe, occupy_port, share_port, client, session, "
                       "down, sessions)",
                       0),
            0u);
  EXPECT_EQ(error_of(with(minimal, "{at: 0s, logon: alice}", "{at: 0s, logon: alice, occupy: http}"))
                .rfind("t.yaml:5:28: timeline[1].occupy: unknown key", 0),
            0u);
}

TEST(ScenarioParse, DurationsReadAsTheToolsWriteThem) {
  const auto at = [](const std::string& text) {
    return parse(with(minimal, "at: 0s", "at: " + text)).steps[0].when.at.value();
  };
  EXPECT_EQ(at("0"), 0ms);
  EXPECT_EQ(at("500ms"), 500ms);
  EXPECT_EQ(at("30s"), 30s);
  EXPECT_EQ(at("30"), 30s);  // net::parse_duration: seconds without a unit
  EXPECT_EQ(at("1.5s"), 1500ms);
  EXPECT_EQ(at("4m30s"), 4min + 30s);
  EXPECT_EQ(parse(with(with(minimal, "scenario: t\n", "scenario: t\ntimeout: 2h\n"), "at: 0s", "at: 1h1m")).steps[0].when.at,
            std::optional<duration>(61min));
  EXPECT_EQ(at("4m0s250ms"), 4min + 250ms);
  EXPECT_EQ(at("1000us"), 1ms);
  for (const std::string bad : {"-1s", "1d", "4m30", "1e3s", "s", "0.5ms", "25h", "1m.s"}) {
    SCOPED_TRACE(bad);
    EXPECT_NE(error_of(with(minimal, "at: 0s", "at: " + bad)).find("timeline[1].at: '" + bad + "' is not a "),
              std::string::npos);
  }
}

TEST(ScenarioParse, EveryCounterOfTheServerHasAName) {
  rdp::sim::server_counters counters;
  counters.stale_cookies = 7;
  counters.accept_loop_restarts = 9;
  // One table (sim/counters.hpp) names them for rdpsim, the parser and the runner.
  const auto named = rdp::sim::named_counters(counters);
  ASSERT_EQ(named.size() * sizeof(std::uint64_t), sizeof(rdp::sim::server_counters));
  std::set<std::string_view> names;
  for (const auto& [name, value] : named) {
    SCOPED_TRACE(std::string(name));
    EXPECT_TRUE(names.insert(name).second) << "named twice";
    EXPECT_EQ(value, name == "stale_cookies" ? 7u : name == "accept_loop_restarts" ? 9u : 0u);
    EXPECT_NO_THROW(parse(with(minimal, "{client: alice, active: true}", "{server: {counters: {" + std::string(name) + ": 0}}}")));
  }
  EXPECT_NE(error_of(with(minimal, "{client: alice, active: true}", "{server: {counters: {stale_cookie: 1}}}"))
                .find("unknown counter"),
            std::string::npos);
}

class ScenarioFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("scenario_parse_test_" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_ / "lib" / "deeper");
    fs::create_directories(dir_ / "empty");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const fs::path& path, const std::string& text) { std::ofstream(dir_ / path) << text; }
  fs::path dir_;
};

TEST_F(ScenarioFiles, AProfileFileIsRelativeToTheScenario) {
  write("lib/lab.yaml", "name: file-lab\nheartbeat_seconds: 12\n");
  write("lib/s.yaml", with(minimal, "scenario: t\n", "scenario: t\nserver: {profile: lab.yaml}\n"));
  const auto s = load_scenario((dir_ / "lib" / "s.yaml").string());
  EXPECT_EQ(s.server.profile_source, "lab.yaml");
  EXPECT_EQ(s.server.profile.name, "file-lab");
  EXPECT_EQ(s.server.profile.server.heartbeat, std::optional(std::chrono::seconds(12)));
  EXPECT_EQ(s.where.file, (dir_ / "lib" / "s.yaml").string());
}

TEST_F(ScenarioFiles, AnErrorInAProfileFileNamesBothFiles) {
  write("lib/lab.yaml", "name: file-lab\nheartbeat_seconds: 999\n");
  write("lib/s.yaml", with(minimal, "scenario: t\n", "scenario: t\nserver: {profile: lab.yaml}\n"));
  const auto scenario_path = (dir_ / "lib" / "s.yaml").string();
  try {
    load_scenario(scenario_path);
    FAIL() << "parsed";
  } catch (const scenario_error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(scenario_path + ":2:19: server.profile: in the profile: " + (dir_ / "lib" / "lab.yaml").string() +
                                ":2:20: heartbeat_seconds: ",
                            0),
              0u)
        << message;
  }
}

TEST_F(ScenarioFiles, DirectoriesAreSearchedRecursivelyAndSorted) {
  write("lib/b.yaml", minimal);
  write("lib/a.yaml", minimal);
  write("lib/deeper/c.yaml", minimal);
  write("lib/notes.txt", "not a scenario");
  write("single.yml", minimal);  // a file given by name is taken as it is
  const auto files = find_scenario_files({(dir_ / "single.yml").string(), (dir_ / "lib").string()});
  ASSERT_EQ(files.size(), 4u);
  EXPECT_EQ(files[0], (dir_ / "single.yml").string());
  EXPECT_EQ(files[1], (dir_ / "lib" / "a.yaml").string());
  EXPECT_EQ(files[2], (dir_ / "lib" / "b.yaml").string());
  EXPECT_EQ(files[3], (dir_ / "lib" / "deeper" / "c.yaml").string());
}

TEST_F(ScenarioFiles, AMissingPathOrAnEmptyDirectoryIsAnError) {
  const auto missing = (dir_ / "nope").string();
  const auto empty = (dir_ / "empty").string();
  EXPECT_THROW(
      {
        try {
          find_scenario_files({missing});
        } catch (const scenario_error& e) {
          EXPECT_EQ(std::string(e.what()), missing + ": no such file or directory");
          throw;
        }
      },
      scenario_error);
  EXPECT_THROW(
      {
        try {
          find_scenario_files({empty});
        } catch (const scenario_error& e) {
          EXPECT_EQ(std::string(e.what()), empty + ": no scenario files (*.yaml) in this directory");
          throw;
        }
      },
      scenario_error);
  EXPECT_THROW(load_scenario(missing), scenario_error);
}

TEST(SourcePosition, PrintsFileLineColumnOrJustTheFile) {
  EXPECT_EQ(to_string(source_position{"a.yaml", 12, 5}), "a.yaml:12:5");
  EXPECT_EQ(to_string(source_position{"a.yaml", 0, 0}), "a.yaml");
}

}  // namespace
