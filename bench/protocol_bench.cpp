// Throughput of the protocol decoders, in the Envoy *_speed_test manner: bytes/s over realistic PDUs, with a
// size sweep for the framer. Run: build/release/bench/protocol_bench
#include "rdp/protocol/classify.hpp"
#include "rdp/protocol/share.hpp"
#include "rdp/protocol/tpkt.hpp"
#include "rdp/protocol/x224.hpp"

#include <benchmark/benchmark.h>

#include <string>

namespace {

using namespace rdp::protocol;

byte_buffer probe_request() {
  x224::connection_request cr;
  cr.cookie = "probe";
  cr.negotiation = neg_request{0, 0x0B};
  return *x224::encode(cr);
}

void BM_DecodeConnectionRequest(benchmark::State& state) {
  const auto wire = probe_request();
  for (auto _ : state) {
    auto r = x224::decode_connection_request(wire);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(wire.size()));
}
BENCHMARK(BM_DecodeConnectionRequest);

void BM_DecodeConnectionConfirm(benchmark::State& state) {
  x224::connection_confirm cc;
  cc.negotiation = neg_response{0x1F, 2};
  const auto wire = x224::encode(cc);
  for (auto _ : state) {
    auto r = x224::decode_connection_confirm(wire);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(wire.size()));
}
BENCHMARK(BM_DecodeConnectionConfirm);

void BM_InspectSetErrorInfo(benchmark::State& state) {
  const auto wire = share::encode_set_error_info({3});
  for (auto _ : state) {
    auto r = share::inspect_server_frame(wire);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(wire.size()));
}
BENCHMARK(BM_InspectSetErrorInfo);

// A stream of frames of `size` bytes each, fed in 1460-byte segments (one TCP MSS) through the framer.
void BM_FrameDecoderStream(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  byte_buffer frame(size, 0x5A);
  frame[0] = 0x03;
  frame[1] = 0x00;
  frame[2] = static_cast<std::uint8_t>(size >> 8);
  frame[3] = static_cast<std::uint8_t>(size);
  byte_buffer stream;
  for (int i = 0; i < 64; ++i) stream.insert(stream.end(), frame.begin(), frame.end());
  for (auto _ : state) {
    tpkt::frame_decoder d;
    std::size_t frames = 0;
    for (std::size_t pos = 0; pos < stream.size(); pos += 1460) {
      d.feed(bytes_view(stream).subspan(pos, std::min<std::size_t>(1460, stream.size() - pos)));
      while (d.next()) ++frames;
    }
    benchmark::DoNotOptimize(frames);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(stream.size()));
}
BENCHMARK(BM_FrameDecoderStream)->Arg(16)->Arg(256)->Arg(4096)->Arg(16384);

void BM_ClassifyHttpReply(benchmark::State& state) {
  const std::string reply = "HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\nConnection: close\r\n\r\n";
  listener_observation obs;
  obs.received = bytes_view(reinterpret_cast<const std::uint8_t*>(reply.data()), reply.size());
  obs.end = stream_end::closed;
  for (auto _ : state) {
    auto r = classify_listener(obs);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(reply.size()));
}
BENCHMARK(BM_ClassifyHttpReply);

}  // namespace
