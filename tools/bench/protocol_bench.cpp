// Google Benchmark for the protocol library: frame encode+decode with CRC32, raw CRC32
// throughput, every codec's encode and decode for 100-byte and 1 KiB values, the binary
// codec's scan of a batch kept as it came, a stored batch served as a Kafka RecordBatch
// (decoded and encoded again, or transcoded), ACL decisions, and a stored frame copied into
// slab memory that is reused or new.
//   build/release/bin/portask-protocol-bench --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "protocol/codec_manager.hpp"
#include "protocol/codecs/binary_codec.hpp"
#include "protocol/crc32.hpp"
#include "protocol/frame.hpp"
#include "protocol/frame_decoder.hpp"
#include "protocol/frame_merge.hpp"
#include "protocol/kafka/binary_transcode.hpp"
#include "protocol/kafka/record_batch.hpp"
#include "protocol/security/acl.hpp"
#include "protocol/shared_bytes.hpp"

using namespace portask::protocol;

namespace {

constexpr int messages_per_batch = 100;

message_batch make_batch(std::size_t value_size) {
  message_batch b;
  for (int i = 0; i < messages_per_batch; ++i) {
    message m;
    m.topic = "bench";
    m.partition = 1;
    m.key = "key-" + std::to_string(i);
    m.value = std::string(value_size, static_cast<char>('a' + i % 26));
    m.timestamp_ms = 1'700'000'000'000 + i;
    m.offset = i;
    b.messages.push_back(std::move(m));
  }
  return b;
}

void BM_Crc32(benchmark::State& state) {
  const buffer data(static_cast<std::size_t>(state.range(0)), 0xA5);
  for (auto _ : state) benchmark::DoNotOptimize(crc32(data));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32)->Arg(100)->Arg(1024)->Arg(64 * 1024)->Arg(1 << 20);

// Peer for the CRC: copying the same bytes, i.e. what "memory speed" means on this machine.
void BM_Memcpy(benchmark::State& state) {
  const buffer data(static_cast<std::size_t>(state.range(0)), 0xA5);
  buffer copy(data.size());
  for (auto _ : state) {
    std::memcpy(copy.data(), data.data(), data.size());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Memcpy)->Arg(64 * 1024)->Arg(1 << 20);

// A stored frame copied into slab memory (shared_bytes::copy_of), as the memory store keeps
// every batch. Arg 0: each copy is released at once, so the slabs come back as spares and are
// reused (memory the process has written before). Arg 1: every copy is kept, up to 256 MiB at
// a time, so every slab is memory the process has never written: what storing costs when the
// data grows. The difference is the machine's price of first touching memory.
void BM_KeptFrameCopy(benchmark::State& state) {
  const buffer frame(110'000, 0xA5);  // a 1000-message batch of 100 B values, as stored
  const bool keep = state.range(0) != 0;
  std::vector<shared_bytes> kept;
  constexpr std::size_t keep_at_most = (std::size_t{256} << 20) / 110'000;
  for (auto _ : state) {
    auto copy = shared_bytes::copy_of(frame);
    benchmark::DoNotOptimize(copy.data());
    if (!keep) continue;
    if (kept.size() == keep_at_most) {
      state.PauseTiming();
      kept.clear();
      state.ResumeTiming();
    }
    kept.push_back(std::move(copy));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(frame.size()));
}
BENCHMARK(BM_KeptFrameCopy)->Arg(0)->Arg(1);

// One frame built (header + CRC) and decoded again (header checks + CRC verify).
void BM_FrameEncodeDecode(benchmark::State& state) {
  const buffer payload(static_cast<std::size_t>(state.range(0)), 0x5A);
  buffer out;
  out.reserve(payload.size() + frame_header_size);
  for (auto _ : state) {
    out.clear();
    append_frame(out, message_type::publish, frame_flags::batch, payload);
    auto f = decode_frame(out);
    benchmark::DoNotOptimize(f);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_FrameEncodeDecode)->Arg(100)->Arg(1024)->Arg(64 * 1024);

// A stream of 100-byte frames through the incremental decoder in 64 KiB reads.
void BM_StreamDecoder(benchmark::State& state) {
  buffer stream;
  const buffer payload(100, 0x33);
  while (stream.size() < 64 * 1024) append_frame(stream, message_type::publish, 0, payload);
  std::int64_t frames = 0;
  frame_decoder d;
  for (auto _ : state) {
    d.feed(stream);
    for (;;) {
      auto r = d.next();
      if (!r || !*r) break;
      ++frames;
    }
  }
  state.SetItemsProcessed(frames);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream.size()));
}
BENCHMARK(BM_StreamDecoder);

// What the bridge does with a native batch in the store's encoding: checks and measures it
// without decoding (binary_codec::scan), 1000 messages of 100 bytes as the native bench sends.
void BM_BinaryScan(benchmark::State& state) {
  message_batch b;
  for (int i = 0; i < 1000; ++i) {
    message m;
    m.value = std::string(100, 'x');
    b.messages.push_back(std::move(m));
  }
  buffer payload;
  if (binary_codec{}.encode(b, payload) || !binary_codec::scan(payload)) {
    state.SkipWithError("the batch does not encode and scan");
    return;
  }
  for (auto _ : state) {
    auto s = binary_codec::scan(payload);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 1000);
}
BENCHMARK(BM_BinaryScan);

// What a partition does with the single-message publishes queued behind a write
// (partition_log::merge_policy): merges 32 stored frames of one 100-byte message each, a
// millisecond apart, into one frame (verifies each CRC, scans, re-bases the timestamps,
// CRC over the whole). Items are messages.
void BM_MergeFrames(benchmark::State& state) {
  codec_manager codecs;
  std::vector<buffer> frames(32);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    message_batch b;
    message m;
    m.topic = "bench";
    m.offset = no_offset;
    m.timestamp_ms = 1'700'000'000'000 + static_cast<std::int64_t>(i);
    m.value = std::string(100, 'x');
    b.messages.push_back(std::move(m));
    if (codecs.append_batch_frame(b, {}, message_type::publish, frames[i])) {
      state.SkipWithError("a frame does not encode");
      return;
    }
  }
  const std::vector<byte_view> views(frames.begin(), frames.end());
  buffer out;
  if (merge_frames(views, out)) {
    state.SkipWithError("the frames do not merge");
    return;
  }
  for (auto _ : state) {
    out.clear();
    benchmark::DoNotOptimize(merge_frames(views, out));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 32);
}
BENCHMARK(BM_MergeFrames);

// A stored batch (binary, 1000 messages of 100 bytes, as librdkafka's producer fills one)
// served to a Kafka consumer from the store: Arg 0 decodes it into messages and encodes
// those as a RecordBatch (fetch.cpp before the transcoder), Arg 1 transcodes it.
void BM_StoredBatchToRecordBatch(benchmark::State& state) {
  message_batch b;
  for (int i = 0; i < 1000; ++i) {
    message m;
    m.value = std::string(100, 'x');
    m.timestamp_ms = 1'700'000'000'000 + i / 10;
    b.messages.push_back(std::move(m));
  }
  buffer payload;
  if (binary_codec{}.encode(b, payload)) {
    state.SkipWithError("the batch does not encode");
    return;
  }
  const kafka::record_batch header;
  buffer check;
  if (!binary_codec{}.decode(payload) || !kafka::transcode_from_binary(payload, 42, header, check)) {
    state.SkipWithError("the batch does not decode or transcode");
    return;
  }
  for (auto _ : state) {
    buffer out;
    if (state.range(0) == 0) {
      auto msgs = binary_codec{}.decode(payload);
      auto batch = kafka::from_messages(*msgs, 42);
      benchmark::DoNotOptimize(kafka::encode_record_batch(batch, out));
    } else {
      benchmark::DoNotOptimize(kafka::transcode_from_binary(payload, 42, header, out));
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 1000);
}
BENCHMARK(BM_StoredBatchToRecordBatch)->Arg(0)->Arg(1);

// One ACL decision (what every request pays per resource with authorization on) over N
// bindings, none of which names the resource: the whole list is scanned, the worst case.
static void BM_AclDecision(benchmark::State& state) {
  namespace sec = portask::protocol::security;
  std::vector<sec::acl_binding> bindings;
  for (int i = 0; i < state.range(0); ++i)
    bindings.push_back({sec::resource_type::topic, "other-" + std::to_string(i), sec::pattern_type::literal,
                        "User:u" + std::to_string(i), "*", sec::acl_operation::write, sec::acl_permission::allow});
  const sec::authorizer acls(std::move(bindings), {}, true);
  // A connection parses its client's host once; each request passes it as it is.
  const sec::client_host host{"127.0.0.1"};
  for (auto _ : state)
    benchmark::DoNotOptimize(acls.allowed("User:bench", host, sec::acl_operation::write,
                                          sec::resource_type::topic, "orders"));
}
BENCHMARK(BM_AclDecision)->Arg(10)->Arg(100)->Arg(1000);

void BM_Encode(benchmark::State& state, codec_id c, compression_id z, std::size_t size) {
  codec_manager codecs;
  const auto batch = make_batch(size);
  buffer out;
  for (auto _ : state) {
    out.clear();
    auto f = codecs.encode(batch, {c, z}, out);
    benchmark::DoNotOptimize(f);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * messages_per_batch);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * messages_per_batch * size));
  state.counters["encoded_bytes_per_msg"] = static_cast<double>(out.size()) / messages_per_batch;
}

void BM_Decode(benchmark::State& state, codec_id c, compression_id z, std::size_t size) {
  codec_manager codecs;
  buffer payload;
  auto flags = codecs.encode(make_batch(size), {c, z}, payload);
  if (!flags) {
    state.SkipWithError("encode failed");
    return;
  }
  for (auto _ : state) {
    auto b = codecs.decode(*flags, payload);
    benchmark::DoNotOptimize(b);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * messages_per_batch);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * messages_per_batch * size));
}

void register_codec_benchmarks() {
  for (auto c : {codec_id::binary, codec_id::json, codec_id::cbor, codec_id::msgpack}) {
    for (std::size_t size : {std::size_t{100}, std::size_t{1024}}) {
      const std::string suffix = std::string(to_string(c)) + "/" + std::to_string(size);
      benchmark::RegisterBenchmark(("BM_Encode/" + suffix).c_str(), BM_Encode, c,
                                   compression_id::none, size);
      benchmark::RegisterBenchmark(("BM_Decode/" + suffix).c_str(), BM_Decode, c,
                                   compression_id::none, size);
    }
  }
  // Compression cost on top of the binary codec, 1 KiB values.
  for (auto z : {compression_id::gzip, compression_id::snappy, compression_id::lz4,
                 compression_id::zstd}) {
    const std::string suffix = "binary+" + std::string(to_string(z)) + "/1024";
    benchmark::RegisterBenchmark(("BM_Encode/" + suffix).c_str(), BM_Encode, codec_id::binary, z,
                                 std::size_t{1024});
    benchmark::RegisterBenchmark(("BM_Decode/" + suffix).c_str(), BM_Decode, codec_id::binary, z,
                                 std::size_t{1024});
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_codec_benchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
