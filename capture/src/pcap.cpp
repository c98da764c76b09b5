// Flows to Ethernet/IPv4/TCP frames (synthesize_packets) and frames to a pcap file through libpcap (pcap_writer).
// Header layouts: Ethernet II, IPv4 (RFC 791 3.1), TCP (RFC 9293 3.1), the TCP checksum's pseudo-header (RFC 9293
// 3.1), MSS (RFC 9293 3.2) and window scale (RFC 7323 2.2) options.
#include "rdp/capture/pcap.hpp"

#include <pcap/pcap.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <span>
#include <stdexcept>
#include <tuple>
#include <utility>

namespace rdp::capture {

capture_error::capture_error(const std::filesystem::path& file, const std::string& what)
    : std::runtime_error("pcap " + file.string() + ": " + what), file_(file) {}

namespace {

using clock_time = std::chrono::system_clock::time_point;

constexpr std::size_t ethernet_header = 14, ipv4_header = 20, tcp_header = 20;
constexpr std::uint16_t largest_mss = 65535 - ipv4_header - tcp_header;  // IPv4's total length is 16 bits
constexpr std::uint16_t default_mss_without_option = 536;                  // RFC 9293 3.7.1
// Linux's SYN window and shift; later segments announce 502 << 7 = 64256 bytes, as a fresh Linux socket does.
constexpr std::uint16_t syn_window = 64240, scaled_window = 502, unscaled_window = 65535;
constexpr std::uint8_t window_shift = 7;
// A burst longer than this many segments gets an ACK in between, as a receiver acknowledging every other segment
// would at least; it keeps the bytes in flight below an unscaled 64 KiB window.
constexpr std::size_t segments_per_ack = 16;

namespace tcp_flag {
constexpr std::uint8_t fin = 0x01, syn = 0x02, rst = 0x04, psh = 0x08, ack = 0x10;
}

// Locally administered unicast MACs (bit 1 of the first octet set): made up, like the segmentation.
constexpr std::array<std::uint8_t, 6> client_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr std::array<std::uint8_t, 6> server_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  put16(out, static_cast<std::uint16_t>(v >> 16));
  put16(out, static_cast<std::uint16_t>(v));
}
void set16(std::vector<std::uint8_t>& out, std::size_t at, std::uint16_t v) {
  out[at] = static_cast<std::uint8_t>(v >> 8);
  out[at + 1] = static_cast<std::uint8_t>(v);
}

// The Internet checksum's one's-complement sum (RFC 1071), folded to 16 bits and not yet complemented.
std::uint32_t ones_sum(std::span<const std::uint8_t> bytes, std::uint32_t sum = 0) {
  for (std::size_t i = 0; i + 1 < bytes.size(); i += 2) sum += static_cast<std::uint32_t>(bytes[i] << 8 | bytes[i + 1]);
  if (bytes.size() % 2) sum += static_cast<std::uint32_t>(bytes.back() << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}
std::uint16_t finish(std::uint32_t sum) { return static_cast<std::uint16_t>(~sum & 0xffff); }

struct endpoint_state {
  ipv4_endpoint address;
  std::array<std::uint8_t, 6> mac{};
  std::uint32_t next_seq = 0;  // the next sequence number this side sends (SYN and FIN count one)
  std::uint16_t ip_id = 0;
  bool fin_sent = false;
};

struct segment {
  std::uint8_t flags = 0;
  std::span<const std::uint8_t> payload;
  bool syn_options = false;  // MSS (+ window scale) in a SYN or SYN-ACK
};

class flow_synthesizer {
 public:
  flow_synthesizer(const tcp_flow& flow, std::size_t index, const ipv4_endpoint& client, const ipv4_endpoint& server,
                   const pcap_options& options, std::vector<pcap_packet>& out, pcap_summary& summary)
      : options_(options), out_(out), summary_(summary) {
    client_.address = client;
    client_.mac = client_mac;
    server_.address = server;
    server_.mac = server_mac;
    // Deterministic initial sequence numbers and IP ids, different per flow: the same record gives the same file.
    const auto k = static_cast<std::uint32_t>(index);
    client_.next_seq = 0x10000000u + k * 0x01000000u;
    server_.next_seq = 0x90000000u + k * 0x01000000u;
    client_.ip_id = static_cast<std::uint16_t>(0x1000u + k * 0x100u);
    server_.ip_id = static_cast<std::uint16_t>(0x8000u + k * 0x100u);
    mss_ = options.syn_options ? options.mss : default_mss_without_option;
    now_ = flow.opened;
  }

  void run(const tcp_flow& flow) {
    // The three-way handshake, at the moment the connection was opened.
    emit(client_, server_, {tcp_flag::syn, {}, options_.syn_options});
    emit(server_, client_, {tcp_flag::syn | tcp_flag::ack, {}, options_.syn_options});
    emit(client_, server_, {tcp_flag::ack, {}, false});
    for (const auto& event : flow.events) handle(event);
  }

 private:
  void handle(const flow_event& event) {
    if (event.kind == flow_event_kind::data && event.bytes.empty()) return;
    auto& from = event.from == direction::from_client ? client_ : server_;
    auto& to = event.from == direction::from_client ? server_ : client_;
    // A reset ends the connection; a side that sent its FIN sends no more data nor a second FIN.
    if (reset_ || (from.fin_sent && event.kind != flow_event_kind::reset)) {
      ++summary_.skipped_events;
      return;
    }
    now_ = std::max(now_, event.at);
    switch (event.kind) {
      case flow_event_kind::data: {
        const std::span<const std::uint8_t> bytes(event.bytes);
        std::size_t since_ack = 0;
        for (std::size_t at = 0; at < bytes.size(); at += mss_) {
          const auto piece = bytes.subspan(at, std::min<std::size_t>(mss_, bytes.size() - at));
          const bool last = at + piece.size() == bytes.size();
          emit(from, to, {static_cast<std::uint8_t>(tcp_flag::ack | (last ? tcp_flag::psh : 0)), piece, false});
          if (++since_ack == segments_per_ack && !last) {
            emit(to, from, {tcp_flag::ack, {}, false});
            since_ack = 0;
          }
        }
        emit(to, from, {tcp_flag::ack, {}, false});
        break;
      }
      case flow_event_kind::fin:
        emit(from, to, {tcp_flag::fin | tcp_flag::ack, {}, false});
        from.fin_sent = true;
        emit(to, from, {tcp_flag::ack, {}, false});
        break;
      case flow_event_kind::reset:
        // RST+ACK with the sender's next sequence number: the form a Linux socket closed with unread data (or
        // SO_LINGER 0) sends, and one the receiver accepts (RFC 9293 3.10.7.4's in-window check).
        emit(from, to, {tcp_flag::rst | tcp_flag::ack, {}, false});
        reset_ = true;
        break;
    }
  }

  void emit(endpoint_state& from, endpoint_state& to, const segment& s) {
    const bool syn = s.flags & tcp_flag::syn;
    const std::size_t option_bytes = s.syn_options ? 8 : 0;  // MSS (4) + NOP (1) + window scale (3)
    const std::size_t tcp_length = tcp_header + option_bytes + s.payload.size();
    const std::size_t ip_length = ipv4_header + tcp_length;

    std::vector<std::uint8_t> frame;
    frame.reserve(ethernet_header + ip_length);
    frame.insert(frame.end(), to.mac.begin(), to.mac.end());
    frame.insert(frame.end(), from.mac.begin(), from.mac.end());
    put16(frame, 0x0800);  // IPv4

    const std::size_t ip_at = frame.size();
    frame.push_back(0x45);  // version 4, header of 5 words
    frame.push_back(0x00);  // DSCP/ECN
    put16(frame, static_cast<std::uint16_t>(ip_length));
    put16(frame, from.ip_id++);
    put16(frame, 0x4000);  // Don't Fragment, offset 0
    frame.push_back(64);   // TTL
    frame.push_back(6);    // TCP
    put16(frame, 0);       // header checksum, below
    frame.insert(frame.end(), from.address.address.begin(), from.address.address.end());
    frame.insert(frame.end(), to.address.address.begin(), to.address.address.end());
    set16(frame, ip_at + 10, finish(ones_sum(std::span(frame).subspan(ip_at, ipv4_header))));

    const std::size_t tcp_at = frame.size();
    const bool has_ack = s.flags & tcp_flag::ack;
    put16(frame, from.address.port);
    put16(frame, to.address.port);
    put32(frame, from.next_seq);
    put32(frame, has_ack ? to.next_seq : 0);
    frame.push_back(static_cast<std::uint8_t>((tcp_header + option_bytes) / 4 << 4));
    frame.push_back(s.flags);
    // A SYN's window is never scaled (RFC 7323 2.2); later ones are, when both sides offered the option.
    const std::uint16_t window = syn ? (options_.syn_options ? syn_window : unscaled_window)
                                     : (options_.syn_options ? scaled_window : unscaled_window);
    put16(frame, (s.flags & tcp_flag::rst) ? 0 : window);
    put16(frame, 0);  // checksum, below
    put16(frame, 0);  // urgent pointer
    if (s.syn_options) {
      frame.push_back(2);  // MSS
      frame.push_back(4);
      put16(frame, options_.mss);
      frame.push_back(1);  // NOP, so that the window scale option ends on a word
      frame.push_back(3);  // window scale
      frame.push_back(3);
      frame.push_back(window_shift);
    }
    frame.insert(frame.end(), s.payload.begin(), s.payload.end());

    std::array<std::uint8_t, 12> pseudo{};
    std::copy(from.address.address.begin(), from.address.address.end(), pseudo.begin());
    std::copy(to.address.address.begin(), to.address.address.end(), pseudo.begin() + 4);
    pseudo[9] = 6;
    pseudo[10] = static_cast<std::uint8_t>(tcp_length >> 8);
    pseudo[11] = static_cast<std::uint8_t>(tcp_length);
    set16(frame, tcp_at + 16, finish(ones_sum(std::span(frame).subspan(tcp_at), ones_sum(pseudo))));

    from.next_seq += static_cast<std::uint32_t>(s.payload.size());
    if (syn || (s.flags & tcp_flag::fin)) from.next_seq += 1;
    out_.push_back(pcap_packet{now_, std::move(frame)});
    ++summary_.packets;
  }

  const pcap_options& options_;
  std::vector<pcap_packet>& out_;
  pcap_summary& summary_;
  endpoint_state client_, server_;
  std::uint16_t mss_ = 0;
  clock_time now_;
  bool reset_ = false;
};

using four_tuple = std::tuple<std::array<std::uint8_t, 4>, std::uint16_t, std::array<std::uint8_t, 4>, std::uint16_t>;

void check(const pcap_options& options) {
  if (options.mss < default_mss_without_option || options.mss > largest_mss)
    throw std::invalid_argument("pcap_options::mss " + std::to_string(options.mss) + " is outside 536.." +
                                std::to_string(largest_mss));
}

// synthesize_packets, with the 4-tuples already used in the file (pcap_writer keeps them across writes) and the
// number of flows before these (their sequence numbers and IP ids differ).
std::vector<pcap_packet> synthesize(const std::vector<tcp_flow>& flows, const pcap_options& options,
                                    std::set<four_tuple>& used, std::size_t first_index, pcap_summary& summary) {
  check(options);
  std::vector<std::vector<pcap_packet>> per_flow(flows.size());
  for (std::size_t i = 0; i < flows.size(); ++i) {
    auto client = flows[i].client;
    auto server = flows[i].server;
    if (options.server_port != 0) server.port = options.server_port;
    if (client.port == 0) client.port = 49152;  // a record without a port: the first of the dynamic range
    // The next free client port (bounded: at most one turn of the port space).
    for (int turn = 0; turn < 65536 && used.count({client.address, client.port, server.address, server.port});
         ++turn)
      client.port = static_cast<std::uint16_t>(client.port == 65535 ? 1024 : client.port + 1);
    used.insert({client.address, client.port, server.address, server.port});
    flow_synthesizer(flows[i], first_index + i, client, server, options, per_flow[i], summary).run(flows[i]);
  }
  std::vector<pcap_packet> all;
  for (auto& packets : per_flow)
    for (auto& p : packets) all.push_back(std::move(p));
  // Each flow's packets are already in time order; a stable sort merges them and keeps a flow's own order.
  std::stable_sort(all.begin(), all.end(), [](const pcap_packet& a, const pcap_packet& b) { return a.at < b.at; });
  return all;
}

}  // namespace

std::vector<pcap_packet> synthesize_packets(const std::vector<tcp_flow>& flows, const pcap_options& options,
                                            pcap_summary* summary) {
  std::set<four_tuple> used;
  pcap_summary counts;
  auto packets = synthesize(flows, options, used, 0, counts);
  if (summary) *summary = counts;
  return packets;
}

namespace {

void dump_packets(pcap_dumper_t* dumper, const std::vector<pcap_packet>& packets) {
  for (const auto& p : packets) {
    const auto us = std::chrono::floor<std::chrono::microseconds>(p.at.time_since_epoch());
    const auto seconds = std::chrono::floor<std::chrono::seconds>(us);
    pcap_pkthdr header{};
    header.ts.tv_sec = static_cast<time_t>(seconds.count());
    header.ts.tv_usec = static_cast<suseconds_t>((us - seconds).count());
    header.caplen = header.len = static_cast<bpf_u_int32>(p.frame.size());
    pcap_dump(reinterpret_cast<u_char*>(dumper), &header, p.frame.data());
  }
}

pcap_t* open_dead_handle(const std::filesystem::path& file) {
  pcap_t* handle = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_MICRO);
  if (!handle) throw capture_error(file, "libpcap could not make a DLT_EN10MB handle");
  return handle;
}

}  // namespace

std::string pcap_file_bytes(const std::vector<tcp_flow>& flows, const pcap_options& options, pcap_summary* summary) {
  check(options);
  const auto packets = synthesize_packets(flows, options, summary);
  pcap_t* handle = open_dead_handle({});
  // libpcap writes only to a FILE*: an in-memory one (open_memstream) gives the file's bytes, which the caller
  // writes where and how it chooses (net::write_report_file: nothing planted at the name is followed).
  char* buffer = nullptr;
  std::size_t size = 0;
  FILE* memory = ::open_memstream(&buffer, &size);
  pcap_dumper_t* dumper = memory ? pcap_dump_fopen(handle, memory) : nullptr;
  if (!dumper) {
    if (memory) std::fclose(memory);
    std::free(buffer);
    pcap_close(handle);
    throw capture_error({}, "libpcap could not write to memory");
  }
  dump_packets(dumper, packets);
  pcap_dump_close(dumper);  // closes `memory`: buffer and size are final
  pcap_close(handle);
  std::string bytes(buffer, size);
  std::free(buffer);
  return bytes;
}

struct pcap_writer::state {
  std::filesystem::path file;
  pcap_options options;
  pcap_t* handle = nullptr;
  pcap_dumper_t* dumper = nullptr;
  std::set<four_tuple> used;
  std::size_t flows_written = 0;

  void close() noexcept {
    if (dumper) {
      pcap_dump_close(dumper);  // flushes
      dumper = nullptr;
    }
    if (handle) {
      pcap_close(handle);
      handle = nullptr;
    }
  }
  ~state() { close(); }
};

pcap_writer::pcap_writer(const std::filesystem::path& file, const pcap_options& options)
    : state_(std::make_unique<state>()) {
  check(options);
  state_->file = file;
  state_->options = options;
  state_->handle = open_dead_handle(file);
  state_->dumper = pcap_dump_open(state_->handle, file.c_str());
  if (!state_->dumper) {
    const std::string reason = pcap_geterr(state_->handle);
    state_->close();
    throw capture_error(file, reason);
  }
}

pcap_writer::pcap_writer(pcap_writer&&) noexcept = default;
pcap_writer& pcap_writer::operator=(pcap_writer&&) noexcept = default;
pcap_writer::~pcap_writer() = default;

const std::filesystem::path& pcap_writer::file() const { return state_->file; }

pcap_summary pcap_writer::write(const tcp_flow& flow) { return write(std::vector<tcp_flow>{flow}); }

pcap_summary pcap_writer::write(const std::vector<tcp_flow>& flows) {
  if (!state_ || !state_->dumper) throw capture_error(state_ ? state_->file : std::filesystem::path(), "already closed");
  pcap_summary summary;
  const auto packets = synthesize(flows, state_->options, state_->used, state_->flows_written, summary);
  state_->flows_written += flows.size();
  dump_packets(state_->dumper, packets);
  if (pcap_dump_flush(state_->dumper) != 0) throw capture_error(state_->file, "write failed (disk full?)");
  return summary;
}

void pcap_writer::close() {
  if (!state_ || !state_->dumper) return;
  const bool flushed = pcap_dump_flush(state_->dumper) == 0;
  state_->close();
  if (!flushed) throw capture_error(state_->file, "write failed (disk full?)");
}

pcap_summary write_pcap(const std::filesystem::path& file, const std::vector<tcp_flow>& flows,
                        const pcap_options& options) {
  pcap_writer writer(file, options);
  auto summary = writer.write(flows);
  writer.close();
  return summary;
}

}  // namespace rdp::capture
