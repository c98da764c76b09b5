// rdp_capture's pcaps read back with libpcap: every Ethernet, IPv4 and TCP header field, both checksums recomputed
// here, sequence and acknowledgement continuity per direction, segment sizes, FIN and RST, timestamps, several
// flows in one file, and records no TCP could produce (data after a FIN, a FIN after a RST, time going backwards).
#include "rdp/capture/pcap.hpp"

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <numeric>
#include <optional>
#include <string>
#include <tuple>
#include <unistd.h>

namespace {

using namespace rdp::capture;
using namespace std::chrono_literals;
using clock_time = std::chrono::system_clock::time_point;

constexpr std::uint8_t fin = 0x01, syn = 0x02, rst = 0x04, psh = 0x08, ack = 0x10;

// One packet as read back, every field decoded by hand.
struct decoded {
  std::int64_t ts_us = 0;  // the pcap record's timestamp, µs since the epoch
  std::uint32_t caplen = 0, len = 0;
  std::array<std::uint8_t, 6> dst_mac{}, src_mac{};
  std::uint16_t ethertype = 0;
  std::uint8_t version_ihl = 0, tos = 0, ttl = 0, protocol = 0;
  std::uint16_t ip_total = 0, ip_id = 0, ip_flags_fragment = 0;
  bool ip_checksum_ok = false;
  std::array<std::uint8_t, 4> src{}, dst{};
  std::uint16_t sport = 0, dport = 0, window = 0, urgent = 0;
  std::uint32_t seq = 0, ack_no = 0;
  std::size_t tcp_header_len = 0;
  std::uint8_t flags = 0;
  bool tcp_checksum_ok = false;
  std::vector<std::uint8_t> options, payload;
};

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t be32(const std::uint8_t* p) { return static_cast<std::uint32_t>(be16(p)) << 16 | be16(p + 2); }

// RFC 1071, written again here on purpose (not the writer's code): a correct header sums to 0xffff.
std::uint32_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t sum = 0) {
  for (std::size_t i = 0; i < n; i += 2) sum += static_cast<std::uint32_t>(p[i] << 8 | (i + 1 < n ? p[i + 1] : 0));
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

decoded decode(const pcap_pkthdr& h, const std::uint8_t* b) {
  decoded d;
  d.ts_us = static_cast<std::int64_t>(h.ts.tv_sec) * 1'000'000 + h.ts.tv_usec;
  d.caplen = h.caplen;
  d.len = h.len;
  if (h.caplen < 54) ADD_FAILURE() << "a frame of " << h.caplen << " bytes is shorter than Ethernet+IPv4+TCP";
  if (h.caplen < 54) return d;
  std::copy(b, b + 6, d.dst_mac.begin());
  std::copy(b + 6, b + 12, d.src_mac.begin());
  d.ethertype = be16(b + 12);
  const std::uint8_t* ip = b + 14;
  d.version_ihl = ip[0];
  d.tos = ip[1];
  d.ip_total = be16(ip + 2);
  d.ip_id = be16(ip + 4);
  d.ip_flags_fragment = be16(ip + 6);
  d.ttl = ip[8];
  d.protocol = ip[9];
  d.ip_checksum_ok = sum16(ip, 20) == 0xffff;
  std::copy(ip + 12, ip + 16, d.src.begin());
  std::copy(ip + 16, ip + 20, d.dst.begin());
  const std::uint8_t* tcp = ip + 20;
  const std::size_t tcp_len = d.ip_total - 20u;
  d.sport = be16(tcp);
  d.dport = be16(tcp + 2);
  d.seq = be32(tcp + 4);
  d.ack_no = be32(tcp + 8);
  d.tcp_header_len = static_cast<std::size_t>(tcp[12] >> 4) * 4;
  d.flags = tcp[13];
  d.window = be16(tcp + 14);
  d.urgent = be16(tcp + 18);
  d.options.assign(tcp + 20, tcp + d.tcp_header_len);
  d.payload.assign(tcp + d.tcp_header_len, tcp + tcp_len);
  std::uint8_t pseudo[12] = {};
  std::copy(d.src.begin(), d.src.end(), pseudo);
  std::copy(d.dst.begin(), d.dst.end(), pseudo + 4);
  pseudo[9] = 6;
  pseudo[10] = static_cast<std::uint8_t>(tcp_len >> 8);
  pseudo[11] = static_cast<std::uint8_t>(tcp_len);
  d.tcp_checksum_ok = sum16(tcp, tcp_len, sum16(pseudo, 12)) == 0xffff;
  return d;
}

std::vector<decoded> read_back(const std::filesystem::path& file, int* link_type = nullptr) {
  char error[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline(file.c_str(), error);
  if (!p) ADD_FAILURE() << "pcap_open_offline(" << file << "): " << error;
  if (!p) return {};
  if (link_type) *link_type = pcap_datalink(p);
  std::vector<decoded> out;
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  for (int i = 0; i < 1'000'000 && pcap_next_ex(p, &h, &data) == 1; ++i) out.push_back(decode(*h, data));
  pcap_close(p);
  return out;
}

class temp_file {
 public:
  explicit temp_file(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              ("rdp_capture_" + std::to_string(::getpid()) + "_" + name + ".pcap")) {}
  ~temp_file() { std::filesystem::remove(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

const clock_time t0 = clock_time{} + 1'700'000'000s + 123'456us;

flow_event data(std::chrono::microseconds after, direction from, std::size_t n, std::uint8_t fill = 0xab) {
  flow_event e;
  e.at = t0 + after;
  e.from = from;
  e.kind = flow_event_kind::data;
  e.bytes.resize(n);
  std::iota(e.bytes.begin(), e.bytes.end(), fill);  // distinct bytes, so that reordering would show
  return e;
}
flow_event close_event(std::chrono::microseconds after, direction from, flow_event_kind kind) {
  flow_event e;
  e.at = t0 + after;
  e.from = from;
  e.kind = kind;
  return e;
}

tcp_flow make_flow(std::uint16_t client_port, std::uint16_t server_port, std::vector<flow_event> events,
                   clock_time opened = t0) {
  tcp_flow f;
  f.client.address = {127, 0, 0, 1};
  f.client.port = client_port;
  f.server.address = {127, 0, 0, 2};
  f.server.port = server_port;
  f.opened = opened;
  f.events = std::move(events);
  return f;
}

std::int64_t us(clock_time t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

// The flow's packets seen per direction: every sequence number continues the last one, every ACK acknowledges all
// the other side sent so far (the writer's peer acknowledges each burst at once), checksums and fixed fields right.
struct stream_check {
  std::optional<std::uint32_t> next[2];  // [0] client → server, [1] server → client
  std::optional<std::uint16_t> ip_id[2];
  std::vector<std::uint8_t> bytes[2];
  bool reset = false;
};

void check_stream(const std::vector<decoded>& packets, std::uint16_t client_port, stream_check& s) {
  std::int64_t last_ts = 0;
  for (std::size_t i = 0; i < packets.size(); ++i) {
    const auto& p = packets[i];
    SCOPED_TRACE("packet " + std::to_string(i + 1));
    const int dir = p.sport == client_port ? 0 : 1;
    EXPECT_EQ(p.caplen, p.len);
    EXPECT_EQ(p.len, 14u + p.ip_total);
    EXPECT_EQ(p.ethertype, 0x0800);
    EXPECT_EQ(p.version_ihl, 0x45);
    EXPECT_EQ(p.tos, 0);
    EXPECT_EQ(p.ip_flags_fragment, 0x4000) << "DF, not fragmented";
    EXPECT_EQ(p.ttl, 64);
    EXPECT_EQ(p.protocol, 6);
    EXPECT_TRUE(p.ip_checksum_ok);
    EXPECT_TRUE(p.tcp_checksum_ok);
    EXPECT_EQ(p.urgent, 0);
    EXPECT_GE(p.ts_us, last_ts) << "timestamps never go backwards";
    last_ts = p.ts_us;
    EXPECT_FALSE(s.reset) << "nothing after a RST";
    if (s.ip_id[dir]) {
      EXPECT_EQ(p.ip_id, static_cast<std::uint16_t>(*s.ip_id[dir] + 1));
    }
    s.ip_id[dir] = p.ip_id;
    if (p.flags & syn) {
      EXPECT_FALSE(s.next[dir]);
      s.next[dir] = p.seq;
    } else {
      ASSERT_TRUE(s.next[dir]) << "a segment before its side's SYN";
      EXPECT_EQ(p.seq, *s.next[dir]);
    }
    if (p.flags & ack) {
      ASSERT_TRUE(s.next[1 - dir]);
      EXPECT_EQ(p.ack_no, *s.next[1 - dir]);
    } else {
      EXPECT_EQ(p.ack_no, 0u);
    }
    s.bytes[dir].insert(s.bytes[dir].end(), p.payload.begin(), p.payload.end());
    *s.next[dir] += static_cast<std::uint32_t>(p.payload.size()) + ((p.flags & (syn | fin)) ? 1u : 0u);
    if (p.flags & rst) s.reset = true;
  }
}

TEST(Pcap, HandshakeHeadersAndOptions) {
  temp_file file("handshake");
  const auto summary = write_pcap(file.path(), {make_flow(40000, 50123, {})});
  EXPECT_EQ(summary.packets, 3u);
  EXPECT_EQ(summary.skipped_events, 0u);
  int link = -1;
  const auto p = read_back(file.path(), &link);
  EXPECT_EQ(link, DLT_EN10MB);
  ASSERT_EQ(p.size(), 3u);
  const std::array<std::uint8_t, 6> client_mac{0x02, 0, 0, 0, 0, 1}, server_mac{0x02, 0, 0, 0, 0, 2};

  EXPECT_EQ(p[0].flags, syn);
  EXPECT_EQ(p[0].src_mac, client_mac);
  EXPECT_EQ(p[0].dst_mac, server_mac);
  EXPECT_EQ(p[0].src, (std::array<std::uint8_t, 4>{127, 0, 0, 1}));
  EXPECT_EQ(p[0].dst, (std::array<std::uint8_t, 4>{127, 0, 0, 2}));
  EXPECT_EQ(p[0].sport, 40000);
  EXPECT_EQ(p[0].dport, 3389) << "the server port is 3389 by default, not the recorded 50123";
  EXPECT_EQ(p[0].window, 64240);
  EXPECT_EQ(p[0].tcp_header_len, 28u);
  EXPECT_EQ(p[0].options, (std::vector<std::uint8_t>{2, 4, 0x05, 0xb4, 1, 3, 3, 7})) << "MSS 1460, NOP, wscale 7";
  EXPECT_EQ(p[0].ip_total, 48);

  EXPECT_EQ(p[1].flags, syn | ack);
  EXPECT_EQ(p[1].src_mac, server_mac);
  EXPECT_EQ(p[1].sport, 3389);
  EXPECT_EQ(p[1].dport, 40000);
  EXPECT_EQ(p[1].ack_no, p[0].seq + 1);
  EXPECT_EQ(p[1].options, p[0].options);

  EXPECT_EQ(p[2].flags, ack);
  EXPECT_EQ(p[2].seq, p[0].seq + 1);
  EXPECT_EQ(p[2].ack_no, p[1].seq + 1);
  EXPECT_EQ(p[2].tcp_header_len, 20u);
  EXPECT_EQ(p[2].window, 502) << "scaled by 2^7 after the handshake: 64256 bytes";
  for (const auto& x : p) EXPECT_EQ(x.ts_us, us(t0)) << "the handshake happens at `opened`";
  stream_check s;
  check_stream(p, 40000, s);
}

TEST(Pcap, RecordedServerPortKeptWhenAskedAndMissingClientPortGetsOne) {
  temp_file file("ports");
  pcap_options options;
  options.server_port = 0;
  write_pcap(file.path(), {make_flow(0, 50123, {})}, options);
  const auto p = read_back(file.path());
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].dport, 50123);
  EXPECT_EQ(p[0].sport, 49152);
}

TEST(Pcap, DataIsCutAtTheMssAndAcknowledgedAfterEachBurst) {
  temp_file file("data");
  const auto flow = make_flow(40001, 3389,
                              {data(1000us, direction::from_client, 4000, 0), data(2500us, direction::from_server, 19),
                               data(3000us, direction::from_server, 1460), data(4000us, direction::from_client, 1)});
  const auto summary = write_pcap(file.path(), {flow});
  const auto p = read_back(file.path());
  EXPECT_EQ(summary.packets, p.size());
  // handshake 3; 4000 → 1460+1460+1080 and an ACK; 19 and an ACK; 1460 and an ACK; 1 and an ACK.
  ASSERT_EQ(p.size(), 3u + 4 + 2 + 2 + 2);
  std::vector<std::size_t> sizes;
  for (const auto& x : p) sizes.push_back(x.payload.size());
  EXPECT_EQ(sizes, (std::vector<std::size_t>{0, 0, 0, 1460, 1460, 1080, 0, 19, 0, 1460, 0, 1, 0}));
  EXPECT_EQ(p[3].flags, ack);
  EXPECT_EQ(p[4].flags, ack);
  EXPECT_EQ(p[5].flags, ack | psh) << "PSH on a burst's last segment";
  EXPECT_EQ(p[6].flags, ack);
  EXPECT_EQ(p[6].sport, 3389) << "the server acknowledges the client's burst";
  EXPECT_EQ(p[6].ack_no, p[5].seq + 1080);
  EXPECT_EQ(p[5].len, 14u + 20 + 20 + 1080);
  EXPECT_EQ(p[9].len, 1514u) << "a full Ethernet frame";
  EXPECT_EQ(p[3].ts_us, us(t0 + 1000us));
  EXPECT_EQ(p[6].ts_us, us(t0 + 1000us));
  EXPECT_EQ(p[7].ts_us, us(t0 + 2500us));
  EXPECT_EQ(p[12].ts_us, us(t0 + 4000us));
  stream_check s;
  check_stream(p, 40001, s);
  EXPECT_EQ(s.bytes[0].size(), 4001u);
  EXPECT_TRUE(std::equal(flow.events[0].bytes.begin(), flow.events[0].bytes.end(), s.bytes[0].begin()))
      << "the bytes in their order";
  EXPECT_EQ(s.bytes[1].size(), 19u + 1460);
}

TEST(Pcap, LongBurstGetsAcknowledgedEverySixteenSegments) {
  temp_file file("long");
  write_pcap(file.path(), {make_flow(40002, 3389, {data(10us, direction::from_server, 40 * 1460 + 7)})});
  const auto p = read_back(file.path());
  std::size_t data_segments = 0, acks = 0, run = 0, longest_run = 0;
  for (std::size_t i = 3; i < p.size(); ++i) {
    if (p[i].payload.empty()) {
      ++acks;
      EXPECT_EQ(p[i].sport, 40002);
      run = 0;
    } else {
      ++data_segments;
      longest_run = std::max(longest_run, ++run);
      EXPECT_LE(p[i].payload.size(), 1460u);
    }
  }
  EXPECT_EQ(data_segments, 41u);
  EXPECT_EQ(acks, 3u) << "after segments 16 and 32, and at the end";
  EXPECT_EQ(longest_run, 16u);
  stream_check s;
  check_stream(p, 40002, s);
}

TEST(Pcap, WithoutSynOptionsSegmentsAre536BytesAndWindowsUnscaled) {
  temp_file file("nooptions");
  pcap_options options;
  options.syn_options = false;
  write_pcap(file.path(), {make_flow(40003, 3389, {data(10us, direction::from_client, 1200)})}, options);
  const auto p = read_back(file.path());
  ASSERT_EQ(p.size(), 3u + 3 + 1);
  EXPECT_EQ(p[0].tcp_header_len, 20u);
  EXPECT_TRUE(p[0].options.empty());
  EXPECT_EQ(p[0].window, 65535);
  EXPECT_EQ(p[3].payload.size(), 536u);
  EXPECT_EQ(p[4].payload.size(), 536u);
  EXPECT_EQ(p[5].payload.size(), 128u);
  EXPECT_EQ(p[6].window, 65535);
  stream_check s;
  check_stream(p, 40003, s);
}

TEST(Pcap, AnnouncedMssIsTheSegmentSize) {
  temp_file file("mss");
  pcap_options options;
  options.mss = 1000;
  write_pcap(file.path(), {make_flow(40004, 3389, {data(10us, direction::from_client, 2500)})}, options);
  const auto p = read_back(file.path());
  ASSERT_GE(p.size(), 6u);
  EXPECT_EQ(be16(p[0].options.data() + 2), 1000);
  EXPECT_EQ(p[3].payload.size(), 1000u);
  EXPECT_EQ(p[5].payload.size(), 500u);
  options.mss = 100;
  EXPECT_THROW(write_pcap(file.path(), {}, options), std::invalid_argument);
}

TEST(Pcap, FinEachWayCountsOneAndIsAcknowledged) {
  temp_file file("fin");
  write_pcap(file.path(), {make_flow(40005, 3389,
                                     {data(10us, direction::from_client, 5),
                                      close_event(20us, direction::from_server, flow_event_kind::fin),
                                      close_event(30us, direction::from_client, flow_event_kind::fin)})});
  const auto p = read_back(file.path());
  ASSERT_EQ(p.size(), 3u + 2 + 2 + 2);
  EXPECT_EQ(p[5].flags, fin | ack);
  EXPECT_EQ(p[5].sport, 3389);
  EXPECT_EQ(p[6].flags, ack);
  EXPECT_EQ(p[6].ack_no, p[5].seq + 1) << "the FIN takes one sequence number";
  EXPECT_EQ(p[7].flags, fin | ack);
  EXPECT_EQ(p[7].sport, 40005);
  EXPECT_EQ(p[7].ack_no, p[5].seq + 1);
  EXPECT_EQ(p[8].ack_no, p[7].seq + 1);
  EXPECT_EQ(p[8].ts_us, us(t0 + 30us));
  stream_check s;
  check_stream(p, 40005, s);
}

TEST(Pcap, ResetIsRstAckWithTheNextSequenceAndEndsTheFlow) {
  temp_file file("rst");
  pcap_summary summary;
  summary = write_pcap(file.path(),
                       {make_flow(40006, 3389,
                                  {data(10us, direction::from_client, 300),
                                   close_event(20us, direction::from_server, flow_event_kind::reset),
                                   data(30us, direction::from_client, 10),  // a buggy record: after the reset
                                   close_event(40us, direction::from_client, flow_event_kind::fin),
                                   close_event(50us, direction::from_client, flow_event_kind::reset)})});
  EXPECT_EQ(summary.skipped_events, 3u);
  const auto p = read_back(file.path());
  ASSERT_EQ(p.size(), 3u + 2 + 1);
  EXPECT_EQ(p[5].flags, rst | ack);
  EXPECT_EQ(p[5].sport, 3389);
  EXPECT_EQ(p[5].seq, p[4].seq) << "the server's next sequence number";
  EXPECT_EQ(p[5].ack_no, p[3].seq + 300) << "acknowledges what the client sent";
  EXPECT_EQ(p[5].window, 0);
  stream_check s;
  check_stream(p, 40006, s);
}

TEST(Pcap, ImpossibleRecordsStayConsistent) {
  temp_file file("odd");
  pcap_summary summary;
  summary = write_pcap(file.path(),
                       {make_flow(40007, 3389,
                                  {data(10us, direction::from_client, 0),  // empty: skipped, not counted
                                   close_event(20us, direction::from_client, flow_event_kind::fin),
                                   data(30us, direction::from_client, 40),  // data after its own FIN
                                   close_event(35us, direction::from_client, flow_event_kind::fin),  // a second FIN
                                   data(5us, direction::from_server, 9),  // time going backwards
                                   close_event(60us, direction::from_client, flow_event_kind::reset)})});
  EXPECT_EQ(summary.skipped_events, 2u);
  const auto p = read_back(file.path());
  ASSERT_EQ(p.size(), 3u + 2 + 2 + 1);
  EXPECT_EQ(p[5].payload.size(), 9u);
  EXPECT_EQ(p[5].ts_us, us(t0 + 20us)) << "held at the latest time so far";
  EXPECT_EQ(p[7].flags, rst | ack) << "a RST after the same side's FIN is still sent";
  stream_check s;
  check_stream(p, 40007, s);
}

TEST(Pcap, EventsBeforeOpenedAreHeldAtOpened) {
  temp_file file("early");
  write_pcap(file.path(), {make_flow(40008, 3389, {data(-50us, direction::from_client, 3)}, t0)});
  const auto p = read_back(file.path());
  ASSERT_EQ(p.size(), 5u);
  EXPECT_EQ(p[3].ts_us, us(t0));
}

TEST(Pcap, SeveralFlowsInterleavedByTimeEachOneStream) {
  temp_file file("several");
  const std::vector<tcp_flow> flows = {
      make_flow(40010, 3389,
                {data(100us, direction::from_client, 10), data(300us, direction::from_server, 20),
                 close_event(500us, direction::from_client, flow_event_kind::fin)}),
      make_flow(40011, 3389, {data(200us, direction::from_client, 30), data(400us, direction::from_server, 40)},
                t0 + 50us),
      // The same 4-tuple as the first flow: it gets the next free client port.
      make_flow(40010, 3389, {data(250us, direction::from_client, 50)}, t0 + 60us),
  };
  write_pcap(file.path(), flows);
  const auto p = read_back(file.path());
  for (std::size_t i = 1; i < p.size(); ++i) EXPECT_GE(p[i].ts_us, p[i - 1].ts_us) << "packet " << i + 1;
  std::map<std::uint16_t, std::vector<decoded>> by_client_port;
  for (const auto& x : p) by_client_port[x.sport == 3389 ? x.dport : x.sport].push_back(x);
  ASSERT_EQ(by_client_port.size(), 3u);
  ASSERT_TRUE(by_client_port.count(40012)) << "the duplicate 4-tuple moved to the next free port";
  stream_check a, b, c;
  check_stream(by_client_port[40010], 40010, a);
  check_stream(by_client_port[40011], 40011, b);
  check_stream(by_client_port[40012], 40012, c);
  EXPECT_EQ(a.bytes[0].size(), 10u);
  EXPECT_EQ(a.bytes[1].size(), 20u);
  EXPECT_EQ(b.bytes[1].size(), 40u);
  EXPECT_EQ(c.bytes[0].size(), 50u);
  EXPECT_NE(*a.next[0] - 12, *b.next[0] - 31) << "each flow its own initial sequence number";
  // The order in the file: flow 1's SYNs at t0, flow 2's at +50, flow 3's at +60, flow 1's data at +100 …
  EXPECT_EQ(p[3].sport, 40011);
  EXPECT_EQ(p[6].sport, 40012);
  EXPECT_EQ(p[9].sport, 40010);
  EXPECT_EQ(p[9].ts_us, us(t0 + 100us));
}

TEST(Pcap, WriterAppendsFlushesAndKeepsPortsUniqueAcrossWrites) {
  temp_file file("writer");
  pcap_writer writer(file.path());
  EXPECT_EQ(writer.file(), file.path());
  writer.write(make_flow(40020, 3389, {data(10us, direction::from_client, 7)}));
  // Readable before close: a run stopped now keeps this flow.
  auto p = read_back(file.path());
  ASSERT_EQ(p.size(), 5u);
  const auto summary = writer.write(make_flow(40020, 3389, {data(20us, direction::from_client, 8)}));
  EXPECT_EQ(summary.packets, 5u);
  p = read_back(file.path());
  ASSERT_EQ(p.size(), 10u);
  EXPECT_EQ(p[5].sport, 40021);
  EXPECT_NE(p[5].seq, p[0].seq);
  writer.close();
  writer.close();  // twice is fine
  EXPECT_THROW(writer.write(tcp_flow{}), capture_error);
}

TEST(Pcap, UnwritableFileIsACaptureErrorNamingIt) {
  const std::filesystem::path bad = "/nonexistent-dir-rdp-capture/x.pcap";
  try {
    write_pcap(bad, {});
    FAIL() << "no error";
  } catch (const capture_error& e) {
    EXPECT_EQ(e.file(), bad);
    EXPECT_NE(std::string(e.what()).find(bad.string()), std::string::npos) << e.what();
  }
}

TEST(Pcap, SynthesizedPacketsAreWhatTheFileHolds) {
  temp_file file("same");
  const std::vector<tcp_flow> flows = {make_flow(40030, 3389, {data(10us, direction::from_server, 3000)})};
  pcap_summary summary;
  const auto packets = synthesize_packets(flows, {}, &summary);
  write_pcap(file.path(), flows);
  const auto p = read_back(file.path());
  ASSERT_EQ(packets.size(), p.size());
  EXPECT_EQ(summary.packets, p.size());
  for (std::size_t i = 0; i < p.size(); ++i) EXPECT_EQ(packets[i].frame.size(), p[i].len);
}

}  // namespace

// The in-memory form (what the scenario runner hands to net::write_report_file) is byte for byte the file.
TEST(Pcap, TheInMemoryFileIsTheFileWritePcapWrites) {
  temp_file file("memory");
  const std::vector<tcp_flow> flows{make_flow(40000, 50123, {data(10us, direction::from_server, 3000)}),
                                    make_flow(40001, 50123, {})};
  const auto written = write_pcap(file.path(), flows);
  std::ifstream in(file.path(), std::ios::binary);
  const std::string on_disk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  pcap_summary summary;
  const auto bytes = pcap_file_bytes(flows, {}, &summary);
  EXPECT_EQ(bytes, on_disk);
  EXPECT_EQ(summary.packets, written.packets);
  EXPECT_GT(bytes.size(), 24u + 3000u);  // the 24-byte file header and at least the data
}
