// Kafka RecordBatches written straight into the binary encoding must give exactly the stored
// frame the decoding path gives (decode into messages, normalise as the bridge does, encode),
// and must decline everything that path has to take.
#include "protocol/kafka/binary_transcode.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>

#include "protocol/kafka/crc32c.hpp"
#include "protocol/wire.hpp"

using namespace portask;
using namespace portask::protocol;
using namespace portask::protocol::kafka;

namespace {

constexpr std::int64_t now = 1'800'000'000'000;
const std::string topic = "orders";
constexpr std::int32_t partition = 3;

record_batch batch_of(int n, std::int64_t base_ts, std::uint32_t seed, std::int16_t attributes = 0) {
  std::mt19937 rng{seed};
  record_batch b;
  b.base_offset = 0;
  b.attributes = attributes;
  b.base_timestamp = base_ts;
  b.max_timestamp = base_ts + n;
  b.producer_id = seed % 2 ? 77 : -1;
  b.producer_epoch = seed % 2 ? 2 : -1;
  b.base_sequence = seed % 2 ? 10 : -1;
  for (int i = 0; i < n; ++i) {
    record r;
    r.offset_delta = i;
    // A base of 0 or -1: every record stamped so (0) or without a timestamp (-1).
    r.timestamp_delta = base_ts <= 0 ? 0 : static_cast<std::int64_t>(rng() % 1000) - 200;
    if (rng() % 4 != 0) r.key = std::string(rng() % 20, 'k');
    if (rng() % 5 != 0) r.value = std::string(rng() % 300, static_cast<char>('a' + rng() % 26));
    for (unsigned h = rng() % 3; h > 0; --h)
      r.headers.push_back({std::string(rng() % 6, 'h'),
                           rng() % 3 ? std::optional<std::string>(std::string(rng() % 140, 'v'))
                                     : std::nullopt});
    b.records.push_back(std::move(r));
  }
  return b;
}

buffer encoded(const std::vector<record_batch>& batches) {
  buffer out;
  for (const auto& b : batches) EXPECT_FALSE(encode_record_batch(b, out));
  return out;
}

// The bridge's normalisation of decoded messages (protocol_bridge.cpp, frame_batch) for a
// Kafka batch: every timestamp kept, 0 included (Kafka's "none" is -1).
buffer frame_by_decoding(byte_view records) {
  message_batch msgs;
  auto batches = decode_record_batches_into(records, topic, partition, msgs);
  EXPECT_TRUE(batches) << batches.error().message();
  msgs.messages.front().topic = topic;
  for (auto& m : msgs.messages) {
    if (m.topic != topic) m.topic.clear();
    m.partition = partition;
    m.offset = no_offset;
  }
  buffer out;
  EXPECT_FALSE(binary_codec{}.encode(msgs, out));
  return out;
}

// As the bridge frames it (protocol_bridge.cpp, frame_encoded).
buffer frame_by_transcoding(const binary_transcoded& t, const buffer& out) {
  const auto payload = byte_view{out}.subspan(t.payload_at);
  buffer rebased;
  binary_codec::rebase(payload, t.scan, topic, partition, no_offset,
                       t.scan.timestamps_unset ? now : t.scan.base_timestamp_ms, rebased);
  return rebased;
}

// What the transcoder's scan must say of its payload: what binary_codec::scan says, but that
// no timestamp is unset and the payload is rebasable, a Kafka record's 0 being a timestamp.
binary_batch_scan kafka_scan(byte_view payload) {
  auto s = binary_codec::scan(payload);
  EXPECT_TRUE(s);
  if (!s) return {};
  s->timestamps_unset = false;
  s->rebasable = true;
  return *s;
}

// What produce.cpp's stored_as_sent decides on the decoded messages.
bool decoded_as_sent(byte_view records) {
  message_batch msgs;
  auto batches = decode_record_batches_into(records, topic, partition, msgs);
  if (!batches) return false;
  auto whole = decode_record_batches(records);
  for (const auto& b : *whole)
    if (b.records.empty() ||
        static_cast<std::int64_t>(b.records.size()) != std::int64_t{b.last_offset_delta} + 1)
      return false;
  std::size_t i = 0;
  for (const auto& b : *batches) {
    if (b.compression() == compression_type::zstd) return false;
    for (std::int64_t k = 0; k <= b.last_offset_delta; ++k, ++i)
      if (i >= msgs.messages.size() || msgs.messages[i].offset != b.base_offset + k)
        return false;
  }
  return i == msgs.messages.size();
}

void fix_crc(buffer& b, std::size_t at = 0) {
  store_be32(b.data() + at + 17, crc32c(byte_view{b}.subspan(at + 21, 12 + load_be32(b.data() + at + 8) - 21)));
}

}  // namespace

TEST(BinaryTranscode, StoresTheFrameTheDecodingPathStores) {
  int checked = 0;
  for (std::uint32_t seed = 1; seed <= 60; ++seed) {
    std::vector<record_batch> batches{batch_of(1 + static_cast<int>(seed % 17), 1'700'000'000'000, seed)};
    if (seed % 3 == 0) batches.push_back(batch_of(5, 1'700'000'100'000, seed + 1000));
    if (seed % 5 == 0) batches[0] = batch_of(4, 0, seed);  // every timestamp 0: kept
    if (seed % 7 == 0) batches[0].attributes = batch_attributes::log_append_time;
    if (seed % 11 == 0 && batches.size() == 1) batches.push_back(batch_of(2, 0, seed));  // mixed
    if (seed % 17 == 0) batches[0] = batch_of(3, -1, seed);  // without timestamps (-1)
    if (seed % 13 == 0) {  // an empty batch first: Kafka refuses it (INVALID_RECORD), as both paths do
      auto with_empty = batches;
      with_empty.insert(with_empty.begin(), batch_of(0, 1'700'000'000'000, seed));
      with_empty.front().last_offset_delta = -1;
      const auto refused = encoded(with_empty);
      buffer none;
      EXPECT_FALSE(transcode_to_binary(refused, 40, none)) << "seed " << seed;
      message_batch ignored;
      auto decoded = decode_record_batches_into(refused, topic, partition, ignored);
      ASSERT_FALSE(decoded) << "seed " << seed;
      EXPECT_EQ(decoded.error(), errc::invalid_record);
    }
    const auto records = encoded(batches);
    buffer out{std::uint8_t{0xEE}};  // appended after what is there
    auto t = transcode_to_binary(records, 40, out);
    message_batch msgs;
    ASSERT_TRUE(decode_record_batches_into(records, topic, partition, msgs));
    bool keyless = false;
    for (const auto& m : msgs.messages) keyless = keyless || !m.key;
    // Timestamps of 0, all or some, are a Kafka producer's own: transcoded like any other.
    ASSERT_TRUE(t) << "seed " << seed;
    EXPECT_EQ(out[0], 0xEE);
    EXPECT_GE(t->payload_at, 41u);
    const auto payload = byte_view{out}.subspan(t->payload_at);
    EXPECT_EQ(t->scan, kafka_scan(payload)) << "seed " << seed;
    EXPECT_EQ(t->scan.keyless, keyless) << "seed " << seed;
    EXPECT_TRUE(t->scan.rebasable);
    EXPECT_FALSE(t->scan.timestamps_unset);
    EXPECT_EQ(frame_by_transcoding(*t, out), frame_by_decoding(records)) << "seed " << seed;
    EXPECT_EQ(t->stored_as_sent, decoded_as_sent(records)) << "seed " << seed;
    message_batch ignored;
    auto headers = decode_record_batches_into(records, topic, partition, ignored);
    ASSERT_TRUE(headers);
    EXPECT_EQ(t->batches, *headers);
    ++checked;
  }
  EXPECT_GT(checked, 50);
}

namespace {

// One plain batch whose records carry these absolute timestamps, in order.
record_batch stamped(const std::vector<std::int64_t>& timestamps) {
  record_batch b;
  b.base_timestamp = timestamps.front();
  b.max_timestamp = *std::max_element(timestamps.begin(), timestamps.end());
  for (std::size_t i = 0; i < timestamps.size(); ++i) {
    record r;
    r.offset_delta = static_cast<std::int32_t>(i);
    r.timestamp_delta = timestamps[i] - b.base_timestamp;
    r.value = "v" + std::to_string(i);
    b.records.push_back(std::move(r));
  }
  return b;
}

}  // namespace

// Under CreateTime a Kafka broker stores a producer's timestamp as it came, 0 included (only
// -1 says "none"): the stored frame holds it, and a Fetch serves it back.
TEST(BinaryTranscode, KeepsEveryTimestampAKafkaProducerSends) {
  const std::vector<std::vector<std::int64_t>> cases = {
      {0, 0, 0}, {0, 5, 0}, {5, 0}, {-1, -1}, {-1, 0, 5}, {1'700'000'000'000, 0}};
  for (const auto& timestamps : cases) {
    const auto records = encoded({stamped(timestamps)});
    buffer out;
    auto t = transcode_to_binary(records, 16, out);
    ASSERT_TRUE(t) << "every timestamp is the producer's: none is left to a broker's clock";
    EXPECT_FALSE(t->scan.timestamps_unset);
    EXPECT_TRUE(t->stored_as_sent) << "stored as sent, so the producer's bytes may be served";
    // The largest, negative only when no record has a timestamp (retention then counts
    // from the append).
    EXPECT_EQ(t->scan.max_timestamp_ms, *std::max_element(timestamps.begin(), timestamps.end()));
    const auto frame = frame_by_transcoding(*t, out);
    auto stored = binary_codec{}.decode(frame);
    ASSERT_TRUE(stored) << stored.error().message();
    ASSERT_EQ(stored->messages.size(), timestamps.size());
    for (std::size_t i = 0; i < timestamps.size(); ++i)
      EXPECT_EQ(stored->messages[i].timestamp_ms, timestamps[i]) << "record " << i;
    EXPECT_EQ(frame, frame_by_decoding(records));
    // A Fetch serves what is stored: the same timestamps.
    record_batch header;
    header.partition_leader_epoch = 0;
    buffer served;
    ASSERT_EQ(transcode_from_binary(frame, 40, header, served), timestamps.size());
    auto read = decode_record_batches(served);
    ASSERT_TRUE(read) << read.error().message();
    ASSERT_EQ(read->size(), 1u);
    const auto back = to_messages((*read)[0], topic, partition);
    ASSERT_EQ(back.messages.size(), timestamps.size());
    for (std::size_t i = 0; i < timestamps.size(); ++i)
      EXPECT_EQ(back.messages[i].timestamp_ms, timestamps[i]) << "record " << i;
  }
}

TEST(BinaryTranscode, DeclinesWhatTheDecodingPathMustTake) {
  const auto plain = encoded({batch_of(6, 1'700'000'000'000, 4)});
  for (auto z : {compression_type::gzip, compression_type::snappy, compression_type::lz4,
                 compression_type::zstd}) {
    auto b = batch_of(6, 1'700'000'000'000, 4, static_cast<std::int16_t>(z));
    buffer out;
    EXPECT_FALSE(transcode_to_binary(encoded({b}), 16, out)) << static_cast<int>(z);
    // A compressed batch after a plain one: the whole request takes the decoding path.
    auto two = plain;
    const auto c = encoded({b});
    two.insert(two.end(), c.begin(), c.end());
    EXPECT_FALSE(transcode_to_binary(two, 16, out));
    EXPECT_TRUE(out.empty());
  }
  buffer out;
  EXPECT_FALSE(transcode_to_binary({}, 16, out)) << "no batches";
  EXPECT_FALSE(transcode_to_binary(encoded({batch_of(0, 1, 1)}), 16, out)) << "no records";
  for (std::size_t cut = 1; cut < plain.size(); ++cut)
    EXPECT_FALSE(transcode_to_binary(byte_view{plain}.first(cut), 16, out)) << cut;
  auto bad_crc = plain;
  bad_crc.back() ^= 1;
  EXPECT_FALSE(transcode_to_binary(bad_crc, 16, out));
  EXPECT_TRUE(out.empty()) << "nothing appended when declining";
}

// Mutated records (CRC fixed up so the record parser is reached): the transcoder takes a
// batch exactly when the decoding path accepts it (and it is plain, with records), and then
// stores the same frame.
TEST(BinaryTranscode, AgreesWithTheDecoderOnMutatedRecords) {
  std::mt19937 rng{2026};
  const auto good = encoded({batch_of(8, 1'700'000'000'000, 9)});
  int taken = 0, declined = 0;
  for (int i = 0; i < 20'000; ++i) {
    auto b = good;
    for (int k = 1 + static_cast<int>(rng() % 3); k > 0; --k)
      b[record_batch_overhead + rng() % (b.size() - record_batch_overhead)] = static_cast<std::uint8_t>(rng());
    if (rng() % 8 == 0) store_be32(b.data() + 57, static_cast<std::uint32_t>(rng() % 12));  // count
    if (rng() % 8 == 0)  // last offset delta, -1 (an empty batch's) included
      store_be32(b.data() + 23, static_cast<std::uint32_t>(rng() % 13) - 1);
    fix_crc(b);
    message_batch msgs;
    auto decoded = decode_record_batches_into(b, topic, partition, msgs);
    const bool expect = decoded && !msgs.messages.empty();
    buffer out;
    auto t = transcode_to_binary(b, 24, out);
    ASSERT_EQ(t.has_value(), expect) << "mutation " << i;
    if (!t) {
      ++declined;
      continue;
    }
    ++taken;
    ASSERT_EQ(frame_by_transcoding(*t, out), frame_by_decoding(b)) << "mutation " << i;
    ASSERT_EQ(t->scan, kafka_scan(byte_view{out}.subspan(t->payload_at)));
    ASSERT_EQ(t->stored_as_sent, decoded_as_sent(b)) << "mutation " << i;
  }
  EXPECT_GT(taken, 100);
  EXPECT_GT(declined, 100);
}

namespace {

// What the decoding path serves for a stored binary payload (fetch.cpp before the transcoder).
buffer served_by_decoding(byte_view payload, std::int64_t base_offset, const record_batch& header) {
  auto msgs = binary_codec{}.decode(payload);
  if (!msgs) {
    ADD_FAILURE() << msgs.error().message();
    return {};
  }
  auto b = from_messages(*msgs, base_offset);
  b.partition_leader_epoch = header.partition_leader_epoch;
  b.producer_id = header.producer_id;
  b.producer_epoch = header.producer_epoch;
  b.base_sequence = header.base_sequence;
  buffer out;
  EXPECT_FALSE(encode_record_batch(b, out));
  return out;
}

// Messages a native client may send: every optional field in play, timestamps that go back
// and forth, ids, priorities, expiries, a message naming its own topic or partition.
message_batch native_messages(int n, std::uint32_t seed) {
  std::mt19937 rng{seed};
  message_batch batch;
  for (int i = 0; i < n; ++i) {
    message m;
    m.topic = i == 0 || rng() % 7 ? topic : "elsewhere";
    m.partition = rng() % 9 ? partition : 5;
    m.id = rng() % 2 ? rng() : 0;
    m.priority = static_cast<std::uint8_t>(rng() % 3);
    m.timestamp_ms = now + static_cast<std::int64_t>(rng() % 5000) - 2500;
    if (rng() % 6 == 0) m.expires_at_ms = now + 60'000;
    if (rng() % 4 != 0) m.key = std::string(rng() % 20, 'k');
    if (rng() % 5 != 0) m.value = std::string(rng() % 300, static_cast<char>('a' + rng() % 26));
    for (unsigned h = rng() % 3; h > 0; --h)
      m.headers.push_back({std::string(rng() % 6, 'h'),
                           rng() % 3 ? std::optional<std::string>(std::string(rng() % 140, 'v'))
                                     : std::nullopt});
    batch.messages.push_back(std::move(m));
  }
  return batch;
}

}  // namespace

TEST(BinaryTranscode, ServesTheRecordBatchTheDecodingPathServes) {
  for (std::uint32_t seed = 1; seed <= 40; ++seed) {
    buffer payload;
    ASSERT_FALSE(binary_codec{}.encode(native_messages(1 + static_cast<int>(seed % 17) * 30, seed), payload));
    record_batch header;
    header.partition_leader_epoch = 0;
    if (seed % 2) {
      header.producer_id = 77;
      header.producer_epoch = 2;
      header.base_sequence = 10;
    }
    const std::int64_t base_offset = 1000 * seed;
    buffer out{0xAB};  // appended after what is there
    const auto n = transcode_from_binary(payload, base_offset, header, out);
    ASSERT_TRUE(n) << "seed " << seed;
    EXPECT_EQ(*n, 1 + (seed % 17) * 30);
    ASSERT_EQ(out.front(), 0xAB);
    EXPECT_EQ(buffer(out.begin() + 1, out.end()), served_by_decoding(payload, base_offset, header))
        << "seed " << seed;
    // And a Kafka client reads it: the CRC-32C holds, the records are the messages.
    auto read = decode_record_batches(byte_view{out}.subspan(1));
    ASSERT_TRUE(read) << read.error().message();
    ASSERT_EQ(read->size(), 1u);
    EXPECT_EQ((*read)[0].base_offset, base_offset);
    EXPECT_EQ((*read)[0].records.size(), *n);
  }
}

TEST(BinaryTranscode, LeavesAPayloadThatDoesNotDecodeToTheDecodingPath) {
  buffer payload;
  ASSERT_FALSE(binary_codec{}.encode(native_messages(20, 5), payload));
  std::mt19937 rng{2026};
  int taken = 0, declined = 0;
  for (int i = 0; i < 20'000; ++i) {
    auto p = payload;
    if (rng() % 4 == 0) {
      p.resize(rng() % p.size());  // truncated
    } else {
      for (int k = 1 + static_cast<int>(rng() % 3); k > 0; --k)
        p[rng() % p.size()] = static_cast<std::uint8_t>(rng());
    }
    const auto decoded = binary_codec{}.decode(p);
    buffer out{1, 2, 3};
    const auto n = transcode_from_binary(p, 7, record_batch{}, out);
    ASSERT_EQ(n.has_value(), decoded && !decoded->messages.empty()) << "mutation " << i;
    if (!n) {
      EXPECT_EQ(out, (buffer{1, 2, 3})) << "mutation " << i;
      ++declined;
      continue;
    }
    ++taken;
    ASSERT_EQ(buffer(out.begin() + 3, out.end()), served_by_decoding(p, 7, record_batch{}))
        << "mutation " << i;
  }
  EXPECT_GT(taken, 100);
  EXPECT_GT(declined, 100);
  buffer empty;
  ASSERT_FALSE(binary_codec{}.encode(message_batch{}, empty));
  buffer out;
  EXPECT_FALSE(transcode_from_binary(empty, 0, record_batch{}, out));
  EXPECT_TRUE(out.empty());
}

// A payload binary_codec::encode never writes but a native client may send and the store
// keeps as it came: the first message's timestamp is not the payload's base, offset deltas
// are not 0, and timestamps wrap around.
TEST(BinaryTranscode, ServesAPayloadWrittenByHandAsTheDecodingPathDoes) {
  buffer payload;
  wire_writer w{payload};
  w.u8(binary_codec::format_version);
  w.uvarint(4);
  w.bytes("orders");
  w.varint(3);
  w.varint(5);  // the payload's base offset: not the partition's
  w.varint(std::numeric_limits<std::int64_t>::max() - 10);
  const std::int64_t deltas[] = {20, -30, 15, std::numeric_limits<std::int64_t>::min() + 3};
  for (int i = 0; i < 4; ++i) {
    w.u8(i % 2 ? 0x03 : 0x02);   // value, and a key every other
    w.uvarint(0);                 // id
    w.varint(7 - 3 * i);          // offset delta
    w.varint(deltas[i]);
    w.u8(0);                      // priority
    if (i % 2) w.bytes("k");
    w.bytes(std::string(static_cast<std::size_t>(i), 'v'));
    w.uvarint(i == 3 ? 1 : 0);    // headers
    if (i == 3) {
      w.bytes("h");
      w.uvarint(0);               // null value
    }
  }
  ASSERT_TRUE(binary_codec{}.decode(payload));
  record_batch header;
  header.partition_leader_epoch = 0;
  buffer out;
  ASSERT_EQ(transcode_from_binary(payload, 100, header, out), 4u);
  EXPECT_EQ(out, served_by_decoding(payload, 100, header));
  auto read = decode_record_batches(out);
  ASSERT_TRUE(read) << read.error().message();
  EXPECT_EQ((*read)[0].base_timestamp, wrapping_add(std::numeric_limits<std::int64_t>::max() - 10, 20));
}
