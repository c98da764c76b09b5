// The fault policy (proxy/fault_policy.hpp) without sockets or a clock: each fault as events at given times, and the
// exact decisions, due times and bytes that come out. Every kind of fault also keeps one expectation that is wrong on
// purpose (by a millisecond, a byte, a decision) and must fail (EXPECT_NONFATAL_FAILURE): a check that could only
// pass would prove nothing.
#include "rdp/proxy/fault_policy.hpp"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace {

using namespace rdp::proxy;
using namespace std::chrono_literals;

const time_point t0 = time_point{} + 1000s;

// A time as an offset from t0 in microseconds ("+50000us"), so that messages show exact times.
std::string at(time_point t) {
  return "+" + std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(t - t0).count()) + "us";
}

std::string show(const write_step& s) {
  switch (s.what) {
    case write_step::act::wait: return "wait until " + at(s.until);
    case write_step::act::write:
      return "write [" + std::to_string(s.offset) + ", " + std::to_string(s.offset + s.size) + ")";
    case write_step::act::done: return "done";
  }
  return "?";
}

std::string show(const chunk_decision& d) {
  switch (d.what) {
    case chunk_decision::act::forward: return "forward " + std::to_string(d.bytes.size());
    case chunk_decision::act::drop: return "drop";
    case chunk_decision::act::reset_sender: return "reset sender: " + d.why;
  }
  return "?";
}

std::string show(const timer_decision& d) {
  switch (d.what) {
    case timer_decision::act::none: return "none";
    case timer_decision::act::forget:
      return "forget after " + std::to_string(d.after.count()) + "ms, then " + std::string(to_string(d.mode));
    case timer_decision::act::reset_both: return "reset both: " + d.why;
  }
  return "?";
}

std::string show(const end_decision& d) {
  switch (d.what) {
    case end_decision::act::pass_on: return "pass on";
    case end_decision::act::swallow: return "swallow";
    case end_decision::act::reset_sender: return "reset sender: " + d.why;
  }
  return "?";
}

std::string show(const std::optional<time_point>& t) { return t ? at(*t) : "none"; }

std::vector<std::uint8_t> bytes(std::string_view text) { return {text.begin(), text.end()}; }

// A policy whose flow is connected at t0.
fault_policy connected(const fault_change& faults, std::uint64_t seed = 1) {
  fault_policy p(faults, t0, seed);
  p.on_phase(phase::connected, t0);
  return p;
}

TEST(FaultPolicy, WithoutFaultsAChunkGoesWholeAndAtOnceAndNeedNotBeSeen) {
  fault_policy p = connected({});
  EXPECT_FALSE(p.needs_bytes(way::to_server));
  EXPECT_FALSE(p.needs_bytes(way::to_client));
  const auto data = bytes("hello");
  const auto d = p.on_chunk(way::to_server, data, t0);
  EXPECT_EQ(show(d), "forward 5");
  EXPECT_EQ(d.bytes.data(), data.data()) << "forwarded in place, not copied";
  EXPECT_TRUE(d.note.empty());
  const auto s = p.next_write(way::to_server, t0);
  EXPECT_EQ(show(s), "write [0, 5)");
  EXPECT_NONFATAL_FAILURE(EXPECT_EQ(show(s), "write [0, 4)"), "write [0, 5)");
  p.written(way::to_server, t0);
  EXPECT_EQ(show(p.next_write(way::to_server, t0)), "done");
  EXPECT_EQ(show(p.on_end(way::to_server, true)), "pass on");
}

TEST(FaultPolicy, LatencyHoldsEachChunkFromWhenItWasReadAndALiftedLatencyFreesIt) {
  fault_change f;
  f.latency = 50ms;
  fault_policy p = connected(f);
  EXPECT_TRUE(p.needs_bytes(way::to_client));
  const auto data = bytes("abc");
  EXPECT_EQ(show(p.on_chunk(way::to_client, data, t0)), "forward 3");
  const auto early = p.next_write(way::to_client, t0 + 49ms);
  EXPECT_EQ(show(early), "wait until +50000us");
  EXPECT_NONFATAL_FAILURE(EXPECT_EQ(show(early), "wait until +49000us"), "+50000us");
  EXPECT_EQ(show(p.next_write(way::to_client, t0 + 50ms)), "write [0, 3)");
  p.written(way::to_client, t0 + 50ms);
  EXPECT_EQ(show(p.next_write(way::to_client, t0 + 50ms)), "done");

  // A second chunk waits; a change to 20ms counts from when it was read, and 0 frees it at once.
  EXPECT_EQ(show(p.on_chunk(way::to_client, data, t0 + 100ms)), "forward 3");
  EXPECT_EQ(show(p.next_write(way::to_client, t0 + 101ms)), "wait until +150000us");
  fault_change shorter;
  shorter.latency = 20ms;
  EXPECT_FALSE(p.apply(shorter, t0 + 102ms));
  EXPECT_EQ(show(p.next_write(way::to_client, t0 + 102ms)), "wait until +120000us");
  fault_change none;
  none.latency = 0ms;
  p.apply(none, t0 + 103ms);
  EXPECT_EQ(show(p.next_write(way::to_client, t0 + 103ms)), "write [0, 3)");
  EXPECT_FALSE(p.needs_bytes(way::to_client));
}

TEST(FaultPolicy, JitterIsADrawOfTheSeededGeneratorPerChunk) {
  fault_change f;
  f.latency = 10ms;
  f.jitter = 100ms;
  fault_policy p = connected(f, 7);
  // The draw: the top 53 bits of std::mt19937_64 seeded 7 (the engine's outputs are fixed by the standard), as a
  // share of the jitter.
  std::mt19937_64 g(7);
  const auto due = [&] {
    const double share = static_cast<double>(g() >> 11) * 0x1.0p-53;
    return std::chrono::duration_cast<time_point::duration>(std::chrono::duration<double, std::milli>(100) * share);
  };
  const auto data = bytes("x");
  p.on_chunk(way::to_server, data, t0);
  const auto first = p.next_write(way::to_server, t0);
  const auto first_due = t0 + 10ms + due();
  EXPECT_EQ(show(first), "wait until " + at(first_due));
  EXPECT_GE(first.until, t0 + 10ms);
  EXPECT_LT(first.until, t0 + 110ms);
  EXPECT_NONFATAL_FAILURE(EXPECT_EQ(show(first), "wait until " + at(first_due + 1ms)), at(first_due));
  EXPECT_EQ(show(p.next_write(way::to_server, first_due)), "write [0, 1)");
  // The next chunk has the next draw, and another seed other times.
  p.on_chunk(way::to_server, data, t0 + 1s);
  EXPECT_EQ(show(p.next_write(way::to_server, t0 + 1s)), "wait until " + at(t0 + 1s + 10ms + due()));
  fault_policy other = connected(f, 8);
  other.on_chunk(way::to_server, data, t0);
  EXPECT_NE(show(other.next_write(way::to_server, t0)), show(first));
}

TEST(FaultPolicy, BandwidthPacesEachWayAsATokenBucketThatANewRateStartsAfresh) {
  fault_change f;
  f.bandwidth = 1000;  // bytes per second: 500 bytes take 500ms
  fault_policy p = connected(f);
  const std::vector<std::uint8_t> big(500), small(100);
  p.on_chunk(way::to_client, big, t0);
  EXPECT_EQ(show(p.next_write(way::to_client, t0)), "write [0, 500)");
  p.written(way::to_client, t0 + 1ms);
  p.on_chunk(way::to_client, small, t0 + 10ms);
  const auto paced = p.next_write(way::to_client, t0 + 10ms);
  EXPECT_EQ(show(paced), "wait until +500000us");
  EXPECT_NONFATAL_FAILURE(EXPECT_EQ(show(paced), "wait until +510000us"), "+500000us");
  // The other way has a bucket of its own.
  p.on_chunk(way::to_server, small, t0 + 10ms);
  EXPECT_EQ(show(p.next_write(way::to_server, t0 + 10ms)), "write [0, 100)");
  EXPECT_EQ(show(p.next_write(way::to_client, t0 + 500ms)), "write [0, 100)");
  p.written(way::to_client, t0 + 500ms);
  // Then the bucket is free at +600ms; a new rate forgets that.
  p.on_chunk(way::to_client, small, t0 + 501ms);
  EXPECT_EQ(show(p.next_write(way::to_client, t0 + 501ms)), "wait until +600000us");
  fault_change faster;
  faster.bandwidth = 1'000'000;
  p.apply(faster, t0 + 502ms);
  EXPECT_EQ(show(p.next_write(way::to_client, t0 + 502ms)), "write [0, 100)");
}

TEST(FaultPolicy, SlicesGoAtMostNBytesAtATimeASliceDelayApart) {
  fault_change f;
  f.slice = 4;
  f.slice_delay = 20ms;
  fault_policy p = connected(f);
  EXPECT_TRUE(p.needs_bytes(way::to_server));
  const auto data = bytes("0123456789");
  p.on_chunk(way::to_server, data, t0);
  EXPECT_EQ(show(p.next_write(way::to_server, t0)), "write [0, 4)");
  p.written(way::to_server, t0 + 1ms);
  const auto between = p.next_write(way::to_server, t0 + 1ms);
  EXPECT_EQ(show(between), "wait until +21000us");
  EXPECT_NONFATAL_FAILURE(EXPECT_EQ(show(between), "wait until +20000us"), "+21000us");
  const auto second = p.next_write(way::to_server, t0 + 21ms);
  EXPECT_EQ(show(second), "write [4, 8)");
  EXPECT_NONFATAL_FAILURE(EXPECT_EQ(show(second), "write [4, 9)"), "write [4, 8)");
  p.written(way::to_server, t0 + 21ms);
  EXPECT_EQ(show(p.next_write(way::to_server, t0 + 41ms)), "write [8, 10)");
  p.written(way::to_server, t0 + 41ms);
  EXPECT_EQ(show(p.next_write(way::to_server, t0 + 41ms)), "done");
}

fault_change idle(duration after, idle_expiry mode) {
  fault_change f;
  f.idle_timeout = std::optional<duration>(after);
  f.on_idle = mode;
  return f;
}

TEST(FaultPolicy, AnIdleTimeoutForgetsTheFlowAfterSilenceAndDropThenSwallowsEverything) {
  fault_policy p = connected(idle(100ms, idle_expiry::drop));
  EXPECT_EQ(show(p.next_timer()), "+100000us");
  const auto data = bytes("a");
  p.on_chunk(way::to_server, data, t0 + 30ms);  // activity moves the timeout on
  EXPECT_EQ(show(p.next_timer()), "+130000us");
  EXPECT_EQ(show(p.on_timer(t0 + 129ms)), "none") << "not due yet";
  const auto expiry = p.on_timer(t0 + 130ms);
  EXPECT_EQ(show(expiry), "forget after 100ms, then drop");
  EXPECT_NONFATAL_FAILURE(EXPECT_EQ(show(expiry), "forget after 100ms, then reset"), "then drop");
  EXPECT_TRUE(p.forgotten());
  EXPECT_EQ(show(p.next_timer()), "none") << "a forgotten flow has no more idle timeout";
  EXPECT_EQ(show(p.on_chunk(way::to_server, data, t0 + 200ms)), "drop");
  EXPECT_EQ(show(p.on_chunk(way::to_client, data, t0 + 200ms)), "drop");
  EXPECT_EQ(show(p.on_end(way::to_server, true)), "swallow") << "a FIN is not passed on";
  EXPECT_TRUE(p.needs_bytes(way::to_server));
}

TEST(FaultPolicy, AForgottenFlowThatResetsAnswersEachSenderAloneDataOrFin) {
  fault_policy p = connected(idle(100ms, idle_expiry::reset_sender));
  EXPECT_EQ(show(p.on_timer(t0 + 100ms)), "forget after 100ms, then reset");
  const auto data = bytes("late");
  const auto d = p.on_chunk(way::to_server, data, t0 + 150ms);
  EXPECT_EQ(show(d), "reset sender: idle expiry: the flow is forgotten (segment answered with a reset)");
  EXPECT_NONFATAL_FAILURE(EXPECT_EQ(show(d), "drop"), "reset sender");
  EXPECT_EQ(show(p.on_end(way::to_client, true)),
            "reset sender: idle expiry: the flow is forgotten (FIN answered with a reset)");
  EXPECT_EQ(show(p.on_end(way::to_client, false)), "swallow") << "a reset is not answered";
}

TEST(FaultPolicy, ResetBothIsSaidWithTheExpiry) {
  fault_policy p = connected(idle(2s, idle_expiry::reset_both));
  const auto d = p.on_timer(t0 + 2s);
  EXPECT_EQ(show(d), "forget after 2000ms, then reset-both");
  EXPECT_NONFATAL_FAILURE(EXPECT_EQ(show(d), "forget after 2001ms, then reset-both"), "2000ms");
}

TEST(FaultPolicy, IdleTimeCountsOnlyFromTheIdleFromPhase) {
  fault_change f = idle(100ms, idle_expiry::drop);
  f.idle_from = phase::tls_established;
  fault_policy p = connected(f);
  EXPECT_EQ(show(p.next_timer()), "none") << "before tls-established nothing counts";
  EXPECT_EQ(show(p.on_timer(t0 + 10s)), "none");
  EXPECT_TRUE(p.on_phase(phase::tls_established, t0 + 1s));
  EXPECT_FALSE(p.on_phase(phase::tls_established, t0 + 2s)) << "a phase is reached once";
  const auto due = p.next_timer();
  EXPECT_EQ(show(due), "+1100000us");
  EXPECT_NONFATAL_FAILURE(EXPECT_EQ(show(due), "+100000us"), "+1100000us");
  // Naming the phase again after it passed counts from the change.
  fault_change again;
  again.idle_from = phase::tls_established;
  p.apply(again, t0 + 5s);
  EXPECT_EQ(show(p.next_timer()), "+5100000us");
  // Lifting the timeout: nothing is due.
  fault_change off;
  off.idle_timeout = std::optional<duration>{};
  p.apply(off, t0 + 6s);
  EXPECT_EQ(show(p.next_timer()), "none");
}

TEST(FaultPolicy, AResetAtAPhaseFiresItsDelayAfterThePhaseOnce) {
  fault_change f;
  f.reset_at_phase = phase::tls_established;
  f.reset_after = 200ms;
  fault_policy p = connected(f);
  EXPECT_EQ(show(p.next_timer()), "none");
  p.on_phase(phase::tls_established, t0 + 1s);
  EXPECT_EQ(show(p.next_timer()), "+1200000us");
  EXPECT_EQ(show(p.on_timer(t0 + 1199ms)), "none");
  const auto d = p.on_timer(t0 + 1200ms);
  EXPECT_EQ(show(d), "reset both: reset 200ms after tls-established");
  EXPECT_NONFATAL_FAILURE(EXPECT_EQ(show(d), "reset both: reset 0ms after tls-established"), "200ms");
  EXPECT_EQ(show(p.next_timer()), "none") << "done once";
}

TEST(FaultPolicy, AResetAtAPhaseAlreadyPassedCountsFromTheChange) {
  fault_policy p = connected({});
  p.on_phase(phase::first_app_data, t0);
  fault_change f;
  f.reset_at_phase = phase::first_app_data;
  p.apply(f, t0 + 5s);
  EXPECT_EQ(show(p.next_timer()), "+5000000us");
  EXPECT_EQ(show(p.on_timer(t0 + 5s)), "reset both: reset 0ms after first-app-data");
}

TEST(FaultPolicy, TwoDueTimesGoInTheirOrder) {
  fault_change f = idle(300ms, idle_expiry::drop);
  f.reset_at_phase = phase::connected;
  f.reset_after = 200ms;
  fault_policy p = connected(f);
  EXPECT_EQ(show(p.next_timer()), "+200000us");
  // Both past (a late timer): the earlier is done first, then the other.
  EXPECT_EQ(show(p.on_timer(t0 + 1s)), "reset both: reset 200ms after connected");
  EXPECT_EQ(show(p.on_timer(t0 + 1s)), "forget after 300ms, then drop");
  EXPECT_EQ(show(p.on_timer(t0 + 1s)), "none");
}

TEST(FaultPolicy, ResetNowIsAnActNotAState) {
  fault_policy p = connected({});
  fault_change now;
  now.reset_now = true;
  EXPECT_TRUE(p.apply(now, t0));
  EXPECT_FALSE(p.faults().reset_now) << "not kept";
  fault_change other;
  other.latency = 0ms;
  EXPECT_FALSE(p.apply(other, t0));
  // A policy built from faults that said reset_now does not keep it either.
  EXPECT_FALSE(fault_policy(now, t0, 1).faults().reset_now);
}

TEST(FaultPolicy, ABlackholeDropsBothWaysAndKeepsFinsUntilItIsLifted) {
  fault_change f;
  f.blackhole = true;
  fault_policy p = connected(f);
  const auto data = bytes("gone");
  const auto d = p.on_chunk(way::to_server, data, t0);
  EXPECT_EQ(show(d), "drop");
  EXPECT_NONFATAL_FAILURE(EXPECT_EQ(show(d), "forward 4"), "drop");
  EXPECT_EQ(show(p.on_end(way::to_client, true)), "swallow");
  EXPECT_TRUE(p.needs_bytes(way::to_client));
  fault_change lift;
  lift.blackhole = false;
  p.apply(lift, t0 + 1s);
  EXPECT_EQ(show(p.on_chunk(way::to_server, data, t0 + 1s)), "forward 4");
  EXPECT_EQ(show(p.on_end(way::to_client, true)), "pass on");
}

TEST(FaultPolicy, CorruptInvertsTheMiddleByteOfTheNextChunkFromThatSideOnce) {
  fault_change f;
  f.corrupt = corrupt_target::from_server;
  fault_policy p = connected(f);
  EXPECT_FALSE(p.needs_bytes(way::to_server)) << "the client's chunks are not touched";
  EXPECT_TRUE(p.needs_bytes(way::to_client));
  const auto request = bytes("hello");
  const auto up = p.on_chunk(way::to_server, request, t0);
  EXPECT_EQ(up.bytes.data(), request.data());

  const std::vector<std::uint8_t> record{0x17, 0x03, 0x03, 0x00, 0x02, 0xAA, 0xBB};  // a TLS application data record
  const auto down = p.on_chunk(way::to_client, record, t0);
  EXPECT_EQ(show(down), "forward 7");
  const std::vector<std::uint8_t> sent(down.bytes.begin(), down.bytes.end());
  EXPECT_EQ(sent, (std::vector<std::uint8_t>{0x17, 0x03, 0x03, 0xFF, 0x02, 0xAA, 0xBB}));
  EXPECT_NONFATAL_FAILURE(EXPECT_EQ(sent, record), "");
  EXPECT_EQ(record[3], 0x00) << "the chunk read is not changed: the copy is sent";
  EXPECT_EQ(down.note, "corrupt: byte 3 of a 7-byte chunk from the server inverted (0x00 to 0xff)");
  EXPECT_EQ(show(p.next_write(way::to_client, t0)), "write [0, 7)");

  // Once: the next chunk from the server passes untouched, and the way may be spliced again.
  const auto next = p.on_chunk(way::to_client, record, t0 + 1ms);
  EXPECT_EQ(next.bytes.data(), record.data());
  EXPECT_TRUE(next.note.empty());
  EXPECT_FALSE(p.needs_bytes(way::to_client));

  // Naming it again arms it again; `both` spoils one chunk each way, `none` disarms.
  fault_change both;
  both.corrupt = corrupt_target::both;
  p.apply(both, t0 + 2ms);
  EXPECT_EQ(p.on_chunk(way::to_server, bytes("ab"), t0 + 2ms).note,
            "corrupt: byte 1 of a 2-byte chunk from the client inverted (0x62 to 0x9d)");
  EXPECT_TRUE(p.needs_bytes(way::to_client));
  fault_change none;
  none.corrupt = corrupt_target::none;
  p.apply(none, t0 + 3ms);
  EXPECT_FALSE(p.needs_bytes(way::to_client));
  EXPECT_TRUE(p.on_chunk(way::to_client, record, t0 + 3ms).note.empty());
}

TEST(FaultPolicy, RefuseNewComesBeforeTheLimitsAndTheOverallLimitBeforeTheSources) {
  fault_change refuse;
  refuse.refuse_new = true;
  EXPECT_EQ(admit(refuse, 0, 0, 512, 64), admission::refuse_new);
  EXPECT_EQ(admit({}, 512, 64, 512, 64), admission::overall_limit);
  EXPECT_EQ(admit({}, 100, 64, 512, 64), admission::source_limit);
  EXPECT_EQ(admit({}, 511, 63, 512, 64), admission::accept);
  EXPECT_NONFATAL_FAILURE(EXPECT_EQ(admit({}, 100, 64, 512, 64), admission::accept), "");
}

}  // namespace
