// The Kafka listener spoken to byte by byte (generated message classes on the client side):
// version negotiation, produce and fetch through the bridge, and hostile input.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "logging/loggers.hpp"
#include "tests/actors/broker_fixture.hpp"
#include "protocol/crc32.hpp"
#include "protocol/kafka/message_set.hpp"
#include "protocol/wire.hpp"
#include "log_capture.hpp"
#include "raw_kafka.hpp"

using namespace portask;
using namespace portask::test;


TEST(KafkaProtocol, ApiVersionsListsTheTableAndDowngradesUnknownVersions) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  c.send(18, 3, 1, msg::ApiVersionsRequest{"portask-test", "1"}, true);
  std::int32_t corr = 0;
  auto body = c.receive(corr, false);  // ApiVersions' response header is always v0
  ASSERT_TRUE(body);
  EXPECT_EQ(corr, 1);
  auto res = decode_as<msg::ApiVersionsResponse>(*body, 3);
  EXPECT_EQ(res.errorCode, 0);
  std::set<std::int16_t> keys;
  for (const auto& k : res.apiKeys) keys.insert(k.apiKey);
  for (std::int16_t k : {0, 1, 2, 3, 18}) EXPECT_TRUE(keys.count(k)) << k;
  // A version from the future: UNSUPPORTED_VERSION, at v0, with the table.
  c.send(18, 9, 2, msg::ApiVersionsRequest{}, false);
  body = c.receive(corr, false);
  ASSERT_TRUE(body);
  auto v0 = decode_as<msg::ApiVersionsResponse>(*body, 0);
  EXPECT_EQ(v0.errorCode, 35);
  EXPECT_FALSE(v0.apiKeys.empty());
  // From v3 the client's software name and version must be Kafka's letters, digits, '-' and
  // '.' (neither first nor last): INVALID_REQUEST without versions otherwise, as Kafka
  // answers, and the connection goes on.
  std::int32_t next = 3;
  for (const auto& [name, version, code] :
       std::vector<std::tuple<std::string, std::string, int>>{
           {"confluent-kafka-python", "1.7.0-rdkafka-2.0.2", 0},
           {"librdkafka", "2.0.2", 0},
           {"a", "1", 0},
           {"bad name", "1", 42},
           {"ok", "", 42},
           {"-lead", "1", 42},
           {"trail.", "1", 42},
           {"", "1", 42},
           {"ok", "1_0", 42}}) {
    c.send(18, 3, next, msg::ApiVersionsRequest{name, version}, true);
    body = c.receive(corr, false);
    ASSERT_TRUE(body) << name << " " << version;
    EXPECT_EQ(corr, next++);
    auto got = decode_as<msg::ApiVersionsResponse>(*body, 3);
    EXPECT_EQ(got.errorCode, code) << "'" << name << "' '" << version << "'";
    EXPECT_EQ(got.apiKeys.empty(), code != 0) << "'" << name << "' '" << version << "'";
  }
}

TEST(KafkaProtocol, ProducedRecordsAreStoredAsPortaskFramesAndFetchedBack) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  for (auto z : {kafka::compression_type::none, kafka::compression_type::gzip,
                 kafka::compression_type::snappy, kafka::compression_type::lz4,
                 kafka::compression_type::zstd}) {
    c.send(0, 7, 10, produce_request("kp", 0, record_batch_bytes("z", 3, z)), false);
    std::int32_t corr = 0;
    auto body = c.receive(corr, false);
    ASSERT_TRUE(body);
    auto res = decode_as<msg::ProduceResponse>(*body, 7);
    ASSERT_EQ(res.responses.size(), 1u);
    EXPECT_EQ(res.responses[0].partitionResponses.at(0).errorCode, 0);
  }
  EXPECT_EQ(f.metrics().messages_in_total(protocol_kind::kafka), 15u)
      << "Kafka messages are counted in the unified metrics";
  // Natively, the same messages: keys, values, headers, timestamps kept.
  auto native = f.connect();
  auto got = must(native.fetch("kp", 0, 0));
  ASSERT_EQ(got.messages.size(), 15u);
  EXPECT_EQ(got.messages[4].value, "z1");
  EXPECT_EQ(got.messages[4].key, "k1");
  EXPECT_EQ(got.messages[4].headers.at(0).value, "hv");
  EXPECT_EQ(got.messages[4].timestamp_ms, 1'700'000'000'001);
  // And over Kafka: Fetch v11 from offset 4 returns the batch holding it.
  msg::FetchRequest fr;
  fr.maxWaitMs = 100;
  fr.minBytes = 1;
  fr.topics.push_back({"kp", {}, {{0, -1, 4, -1, -1, 1 << 20, {}}}});
  c.send(1, 11, 11, fr, false);
  std::int32_t corr = 0;
  auto body = c.receive(corr, false);
  ASSERT_TRUE(body);
  auto fres = decode_as<msg::FetchResponse>(*body, 11);
  const auto& part = fres.responses.at(0).partitions.at(0);
  EXPECT_EQ(part.errorCode, 0);
  EXPECT_EQ(part.highWatermark, 15);
  auto batches = kafka::decode_record_batches(part.records->owned());
  ASSERT_TRUE(batches);
  ASSERT_FALSE(batches->empty());
  EXPECT_LE(batches->front().base_offset, 4);
  EXPECT_GT(batches->front().base_offset + batches->front().last_offset_delta, 3);
}

namespace {

// One batch whose records carry these timestamps, compressed with `z`.
std::string stamped_batch_bytes(const std::vector<std::int64_t>& timestamps, kafka::compression_type z) {
  protocol::message_batch b;
  for (const auto ts : timestamps) {
    protocol::message m;
    m.value = "at-" + std::to_string(ts);
    m.timestamp_ms = ts;
    b.messages.push_back(m);
  }
  return batch_bytes(b, z);
}

// Fetch v11 of `topic`'s partition 0 from offset 0 (up to 1 MiB), answered once one byte is
// there or after `max_wait_ms`.
msg::FetchResponse fetch_from_the_start(raw_kafka& c, const std::string& topic, std::int32_t max_wait_ms) {
  msg::FetchRequest fr;
  fr.maxWaitMs = max_wait_ms;
  fr.minBytes = 1;
  fr.topics.push_back({topic, {}, {{0, -1, 0, -1, -1, 1 << 20, {}}}});
  return call<msg::FetchResponse>(c, 1, 11, fr, false);
}

}  // namespace

// Under CreateTime a Kafka broker stores a producer's timestamp as it came, 0 included (only
// -1 says "none"): a record stamped 0 is served and found by time with its 0, never with the
// broker's clock. Plain batches (written straight into the binary encoding) and compressed
// ones (decoded) alike.
TEST(KafkaProtocol, ARecordStampedZeroKeepsItsTimestamp) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  auto native = f.connect();
  for (auto z : {kafka::compression_type::none, kafka::compression_type::gzip}) {
    const std::string topic = z == kafka::compression_type::none ? "epoch-plain" : "epoch-gzip";
    auto res = call<msg::ProduceResponse>(c, 0, 7, produce_request(topic, 0, stamped_batch_bytes({0, 5}, z)),
                                          false);
    ASSERT_EQ(res.responses.at(0).partitionResponses.at(0).errorCode, 0) << topic;

    // Fetched over Kafka: both timestamps as sent.
    auto fres = fetch_from_the_start(c, topic, 0);
    const auto& part = fres.responses.at(0).partitions.at(0);
    ASSERT_EQ(part.errorCode, 0) << topic;
    ASSERT_TRUE(part.records) << topic;
    auto batches = kafka::decode_record_batches(part.records->owned());
    ASSERT_TRUE(batches) << batches.error().message();
    std::vector<std::int64_t> fetched;
    for (const auto& b : *batches)
      for (const auto& m : kafka::to_messages(b, topic, 0).messages) fetched.push_back(m.timestamp_ms);
    EXPECT_EQ(fetched, (std::vector<std::int64_t>{0, 5})) << topic;

    // What is stored (a native fetch reads the stored frame): the same.
    auto stored = must(native.fetch(topic, 0, 0));
    ASSERT_EQ(stored.messages.size(), 2u) << topic;
    EXPECT_EQ(stored.messages[0].timestamp_ms, 0) << topic;
    EXPECT_EQ(stored.messages[1].timestamp_ms, 5) << topic;

    // ListOffsets by time: nothing is stamped 6 or later; the record stamped 5 is the first
    // at or after 1, the one stamped 0 the first at or after 0.
    auto lookup = [&](std::int64_t ts) {
      msg::ListOffsetsRequest req;
      req.replicaId = -1;
      req.topics.push_back({topic, {{0, -1, ts, 1}}});
      return call<msg::ListOffsetsResponse>(c, 2, 7, req, true).topics.at(0).partitions.at(0);
    };
    const auto after = lookup(6);
    EXPECT_EQ(after.errorCode, 0) << topic;
    EXPECT_EQ(after.offset, -1) << topic;
    EXPECT_EQ(after.timestamp, -1) << topic;
    const auto from_one = lookup(1);
    EXPECT_EQ(from_one.offset, 1) << topic;
    EXPECT_EQ(from_one.timestamp, 5) << topic;
    const auto from_zero = lookup(0);
    EXPECT_EQ(from_zero.offset, 0) << topic;
    EXPECT_EQ(from_zero.timestamp, 0) << topic;
    const auto newest = lookup(-3);
    EXPECT_EQ(newest.offset, 1) << topic;
    EXPECT_EQ(newest.timestamp, 5) << topic;
  }
}

// A batch a Kafka producer sent, still in the partition's tail, is served as it came:
// compressed if it came compressed, its bytes unchanged but for the base offset and leader
// epoch. A zstd batch (old consumers may not read zstd) and a native publish are encoded
// from the stored frame, as ever.
TEST(KafkaProtocol, ATailBatchFromAKafkaProducerIsServedAsItCame) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  const auto lz4 = record_batch_bytes("l", 3, kafka::compression_type::lz4);
  const auto zstd = record_batch_bytes("z", 2, kafka::compression_type::zstd);
  for (const auto* records : {&lz4, &zstd}) {
    auto res = call<msg::ProduceResponse>(c, 0, 7, produce_request("as-sent", 0, *records), false);
    ASSERT_EQ(res.responses.at(0).partitionResponses.at(0).errorCode, 0);
  }
  auto native = f.connect();
  must(native.publish("as-sent", 0, make_batch(2)));

  auto fres = fetch_from_the_start(c, "as-sent", 100);
  const auto& part = fres.responses.at(0).partitions.at(0);
  ASSERT_EQ(part.errorCode, 0);
  ASSERT_TRUE(part.records);
  const protocol::byte_view served = part.records->owned();
  ASSERT_GE(served.size(), lz4.size());
  // The first batch: the producer's bytes from the magic byte on (CRC, compression, records).
  EXPECT_TRUE(std::equal(served.begin() + 16, served.begin() + static_cast<std::ptrdiff_t>(lz4.size()),
                         protocol::as_bytes(lz4).begin() + 16));
  auto batches = kafka::decode_record_batches(served);
  ASSERT_TRUE(batches) << batches.error().message();
  ASSERT_EQ(batches->size(), 3u);
  EXPECT_EQ((*batches)[0].base_offset, 0);
  EXPECT_EQ((*batches)[0].compression(), kafka::compression_type::lz4);
  EXPECT_EQ((*batches)[0].partition_leader_epoch, 0);
  EXPECT_EQ((*batches)[1].base_offset, 3);
  EXPECT_EQ((*batches)[1].compression(), kafka::compression_type::none) << "zstd is re-encoded";
  EXPECT_EQ((*batches)[1].records.at(1).value, "z1");
  EXPECT_EQ((*batches)[2].base_offset, 5);
  EXPECT_EQ((*batches)[2].records.size(), 2u);
  EXPECT_EQ(f.metrics().messages_out_total(protocol_kind::kafka), 7u);
}

// Large tail batches go out by reference (a gathered write from the tail's bytes), short
// ones copied; either way every byte past a batch's offset and leader epoch is the
// producer's, in order, with consecutive offsets.
// Batches the broker would encode differently from its stored frames (the base timestamp
// below the first record's), so only bytes served from the tail can match what was sent.
std::string unusual_batch_bytes(const std::string& prefix, int n, kafka::compression_type z) {
  auto sent = record_batch_bytes(prefix, n, z);
  std::size_t used = 0;
  auto rb = kafka::decode_record_batch(protocol::as_bytes(sent), used);
  EXPECT_TRUE(rb);
  rb->base_timestamp -= 7;
  for (auto& r : rb->records) r.timestamp_delta += 7;
  protocol::buffer out;
  EXPECT_FALSE(kafka::encode_record_batch(*rb, out));
  return std::string(protocol::as_chars(out));
}

TEST(KafkaProtocol, LargeAndSmallTailBatchesAreServedByteForByte) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  const std::vector<std::string> sent = {
      unusual_batch_bytes(std::string(30'000, 'a'), 2, kafka::compression_type::none),
      unusual_batch_bytes("s", 1, kafka::compression_type::none),
      unusual_batch_bytes(std::string(70'000, 'b'), 3, kafka::compression_type::lz4),
      unusual_batch_bytes(std::string(5'000, 'c'), 1, kafka::compression_type::none)};
  for (const auto& records : sent) {
    auto res = call<msg::ProduceResponse>(c, 0, 7, produce_request("gathered", 0, records), false);
    ASSERT_EQ(res.responses.at(0).partitionResponses.at(0).errorCode, 0);
  }
  for (std::int16_t version : {std::int16_t{4}, std::int16_t{11}, std::int16_t{12}}) {
    msg::FetchRequest fr;
    fr.maxWaitMs = 0;
    fr.maxBytes = 1 << 20;
    fr.topics.push_back({"gathered", {}, {{0, -1, 0, -1, -1, 1 << 20, {}}}});
    auto fres = call<msg::FetchResponse>(c, 1, version, fr, msg::FetchRequest_is_flexible(version));
    const auto& part = fres.responses.at(0).partitions.at(0);
    ASSERT_EQ(part.errorCode, 0);
    ASSERT_TRUE(part.records);
    const protocol::byte_view served = part.records->owned();
    std::size_t total = 0;
    for (const auto& b : sent) total += b.size();
    ASSERT_EQ(served.size(), total) << "v" << version;
    std::size_t at = 0;
    std::int64_t offset = 0;
    const std::int64_t counts[] = {2, 1, 3, 1};
    for (std::size_t i = 0; i < sent.size(); ++i) {
      const auto b = protocol::as_bytes(sent[i]);
      EXPECT_EQ(static_cast<std::int64_t>(protocol::load_be64(served.data() + at)), offset);
      EXPECT_TRUE(std::equal(b.begin() + 8, b.begin() + 12, served.begin() + static_cast<std::ptrdiff_t>(at) + 8));
      EXPECT_TRUE(std::equal(b.begin() + 16, b.end(), served.begin() + static_cast<std::ptrdiff_t>(at) + 16))
          << "batch " << i << " at v" << version;
      at += b.size();
      offset += counts[i];
    }
    auto batches = kafka::decode_record_batches(served);
    ASSERT_TRUE(batches) << batches.error().message();
    ASSERT_EQ(batches->size(), 4u);
    EXPECT_EQ((*batches)[2].records.at(2).value, std::string(70'000, 'b') + "2");
  }
}

TEST(KafkaProtocol, ABatchWithABadCrc32cIsCorruptMessageAndNotStored) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  auto records = record_batch_bytes("bad", 2, kafka::compression_type::none);
  records[records.size() - 1] ^= 0x01;  // the CRC-32C no longer matches
  c.send(0, 7, 5, produce_request("crc", 0, records), false);
  std::int32_t corr = 0;
  auto body = c.receive(corr, false);
  ASSERT_TRUE(body);
  auto res = decode_as<msg::ProduceResponse>(*body, 7);
  EXPECT_EQ(res.responses.at(0).partitionResponses.at(0).errorCode, 2) << "CORRUPT_MESSAGE";
  EXPECT_EQ(f.metrics().messages_in_total(protocol_kind::kafka), 0u);
  // A compressed body that does not decompress is refused the same way.
  auto z = record_batch_bytes("z", 2, kafka::compression_type::gzip);
  for (std::size_t i = 61 + 10; i < z.size(); ++i) z[i] = 'x';
  protocol::store_be32(reinterpret_cast<std::uint8_t*>(z.data()) + 17,
                       kafka::crc32c(protocol::as_bytes(z).subspan(21)));
  c.send(0, 7, 6, produce_request("crc", 0, z), false);
  body = c.receive(corr, false);
  ASSERT_TRUE(body);
  res = decode_as<msg::ProduceResponse>(*body, 7);
  EXPECT_EQ(res.responses.at(0).partitionResponses.at(0).errorCode, 2);
  // Intact bytes Kafka does not allow (codec 5, with a CRC that matches) are INVALID_RECORD,
  // which producers do not retry. (zstd before Produce v7 is taken: Sarama sends it so.)
  auto codec5 = record_batch_bytes("c", 2, kafka::compression_type::none);
  codec5[22] = static_cast<char>((codec5[22] & ~0x07) | 0x05);
  protocol::store_be32(reinterpret_cast<std::uint8_t*>(codec5.data()) + 17,
                       kafka::crc32c(protocol::as_bytes(codec5).subspan(21)));
  auto invalid = call<msg::ProduceResponse>(c, 0, 7, produce_request("crc", 0, codec5), false);
  EXPECT_EQ(invalid.responses.at(0).partitionResponses.at(0).errorCode, 87) << "INVALID_RECORD";
  const auto zstd = record_batch_bytes("z", 2, kafka::compression_type::zstd);
  EXPECT_EQ(call<msg::ProduceResponse>(c, 0, 6, produce_request("crc", 0, zstd), false)
                .responses.at(0).partitionResponses.at(0).errorCode, 0);
  EXPECT_EQ(f.metrics().messages_in_total(protocol_kind::kafka), 2u) << "only the zstd batch";
}

// A batch whose offset range is empty, or whose record count is not positive or disagrees
// with its offset range, is INVALID_RECORD, and the answer (v8+) says why in the text of the
// exception Kafka's broker throws (LogValidator, checked in its order), which Kafka does not
// send: Portask's addition.
TEST(KafkaProtocol, ABatchWhoseCountDisagreesWithItsOffsetRangeSaysSoInKafkasWords) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  // Three records (offset range [base, base + 2], or as `delta` says), their count said to
  // be `count`; the CRC matches (the base offset is outside it).
  auto counted = [](std::uint32_t count, std::int64_t base = 0, std::int32_t delta = 2) {
    auto records = record_batch_bytes("n", 3, kafka::compression_type::none);
    auto* bytes = reinterpret_cast<std::uint8_t*>(records.data());
    protocol::store_be64(bytes, static_cast<std::uint64_t>(base));
    protocol::store_be32(bytes + 23, static_cast<std::uint32_t>(delta));
    protocol::store_be32(bytes + 57, count);
    protocol::store_be32(bytes + 17, kafka::crc32c(protocol::as_bytes(records).subspan(21)));
    return records;
  };
  auto refused_with = [&](const std::string& records) {
    return call<msg::ProduceResponse>(c, 0, 9, produce_request("counted", 0, records), true)
        .responses.at(0).partitionResponses.at(0);
  };
  auto refused = refused_with(counted(5));
  EXPECT_EQ(refused.errorCode, 87) << "INVALID_RECORD";
  EXPECT_EQ(refused.baseOffset, -1);
  EXPECT_EQ(refused.errorMessage.value_or(""),
            "Inconsistent batch offset range [0, 2] and count of records 5 in topic partition counted-0");
  refused = refused_with(counted(0));
  EXPECT_EQ(refused.errorCode, 87) << "INVALID_RECORD";
  EXPECT_EQ(refused.errorMessage.value_or(""),
            "Invalid reported count for record batch: 0 in topic partition counted-0");
  // A negative lastOffsetDelta is refused first, whatever the count says.
  refused = refused_with(counted(0, 0, -1));
  EXPECT_EQ(refused.errorCode, 87) << "INVALID_RECORD";
  EXPECT_EQ(refused.errorMessage.value_or(""),
            "Batch has an invalid offset range: [0, -1] in topic partition counted-0");
  EXPECT_EQ(f.metrics().messages_in_total(protocol_kind::kafka), 0u);
}

// Kafka's broker assigns the offsets and refuses a producer's batch whose base offset is not
// 0 (UnifiedLog.analyzeAndValidateRecords: INVALID_RECORD, before the batch's CRC and header
// are checked), at every version that carries a v2 batch; from v8 the answer says why in the
// text of Kafka's exception (Portask's addition: Kafka's broker sends no message with it).
// The largest base, in a compressed batch of two records, was taken before, its offsets
// added up past the largest (undefined behaviour).
TEST(KafkaProtocol, ABatchWhoseBaseOffsetIsNotZeroIsInvalidRecordInKafkasWords) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  auto based = [](std::int64_t base, kafka::compression_type z) {
    auto records = record_batch_bytes("b", 2, z);
    protocol::store_be64(reinterpret_cast<std::uint8_t*>(records.data()), static_cast<std::uint64_t>(base));
    return records;  // the CRC-32C still matches: the base offset is outside it
  };
  auto produce = [&](std::int16_t version, const std::string& records) {
    return call<msg::ProduceResponse>(c, 0, version, produce_request("based", 0, records), version >= 9)
        .responses.at(0).partitionResponses.at(0);
  };
  auto refused = produce(9, based(INT64_MAX, kafka::compression_type::gzip));
  EXPECT_EQ(refused.errorCode, 87) << "INVALID_RECORD";
  EXPECT_EQ(refused.baseOffset, -1);
  EXPECT_EQ(refused.errorMessage.value_or(""),
            "The baseOffset of the record batch in the append to based-0 should be 0, but it is "
            "9223372036854775807");
  refused = produce(8, based(-1, kafka::compression_type::none));
  EXPECT_EQ(refused.errorCode, 87) << "INVALID_RECORD";
  EXPECT_EQ(refused.errorMessage.value_or(""),
            "The baseOffset of the record batch in the append to based-0 should be 0, but it is -1");
  // Checked before the CRC: a damaged batch with a base offset is INVALID_RECORD too.
  auto damaged = based(5, kafka::compression_type::none);
  damaged.back() = static_cast<char>(damaged.back() ^ 0x01);
  EXPECT_EQ(produce(3, damaged).errorCode, 87) << "INVALID_RECORD";
  // A v2 batch in Produce v0-2 is held to the same rule.
  for (const std::int16_t version : {0, 2})
    EXPECT_EQ(produce(version, based(5, kafka::compression_type::lz4)).errorCode, 87) << "v" << version;
  EXPECT_EQ(f.metrics().messages_in_total(protocol_kind::kafka), 0u);
  const auto taken = produce(9, based(0, kafka::compression_type::gzip));
  EXPECT_EQ(taken.errorCode, 0);
  EXPECT_EQ(taken.baseOffset, 0) << "nothing of the refused batches was stored";
}

// Kafka reads every frame of a partition's records (ByteBufferLogInputStream) before it looks
// at anything else of them, and a length under a magic-0 message's overhead (14) or a magic
// no format has (outside 0-2) is a corrupt record there: CORRUPT_MESSAGE, however short the
// field, at every version (from v8 saying why in the words of Kafka's exception, which its
// broker does not send). They were INVALID_RECORD (an unsupported magic), which a producer
// does not retry.
TEST(KafkaProtocol, AMagicNoFormatHasOrAFrameShorterThanAnyMessageIsCorruptMessage) {
  portask::testing::log_capture log(logging::kafka(), spdlog::level::warn);
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  auto produce = [&](std::int16_t version, const std::string& records) {
    return call<msg::ProduceResponse>(c, 0, version, produce_request("odd-magic", 0, records), version >= 9)
        .responses.at(0).partitionResponses.at(0);
  };
  protocol::message_batch one;
  one.messages.emplace_back().value = "x";
  protocol::buffer set;
  kafka::encode_message_set(one, 0, 1, set);
  const std::string message(protocol::as_chars(set));
  ASSERT_LT(message.size(), kafka::record_batch_overhead);
  for (const std::int16_t version : {3, 8}) {
    for (const int magic : {3, 0xFF}) {
      const auto said = std::to_string(static_cast<std::int8_t>(magic));  // as Kafka's Java byte
      auto odd = message;
      odd[16] = static_cast<char>(magic);
      // Whole, or cut right after the magic: Kafka reads the magic before it asks for the rest.
      for (const auto& records : {odd, odd.substr(0, 17)}) {
        const auto refused = produce(version, records);
        EXPECT_EQ(refused.errorCode, 2) << "CORRUPT_MESSAGE: v" << version << ", magic " << said << ", "
                                        << records.size();
        EXPECT_EQ(refused.baseOffset, -1);
        if (version >= 8) {
          EXPECT_EQ(refused.errorMessage.value_or(""), "Invalid magic found in record: " + said);
        }
      }
    }
    auto short_length = message;
    protocol::store_be32(reinterpret_cast<std::uint8_t*>(short_length.data()) + 8, 13);
    const auto refused = produce(version, short_length);
    EXPECT_EQ(refused.errorCode, 2) << "CORRUPT_MESSAGE: v" << version;
    if (version >= 8) {
      EXPECT_EQ(refused.errorMessage.value_or(""),
                "Record size 13 is less than the minimum record overhead (14)");
    }
  }
  // v0-2: a message of magic 7, alone or after others, is damage too (the answer carries no
  // message: the log says why).
  auto seventh = message;
  seventh[16] = 7;
  for (const std::int16_t version : {0, 2}) {
    for (const auto& records : {seventh, message + seventh}) {
      const auto refused = produce(version, records);
      EXPECT_EQ(refused.errorCode, 2) << "CORRUPT_MESSAGE: v" << version << ", " << records.size();
      EXPECT_EQ(refused.baseOffset, -1);
    }
  }
  EXPECT_EQ(log.lines_with("Invalid magic found in record: 7").size(), 4u);
  EXPECT_EQ(f.metrics().messages_in_total(protocol_kind::kafka), 0u);
}

namespace {

// A magic-1 message whose value is `inner` (a message set) compressed with gzip: how
// producers of Produce v0-2 send compressed messages.
std::string gzip_wrapper(const protocol::buffer& inner) {
  protocol::buffer packed;
  EXPECT_FALSE(kafka::compress(kafka::compression_type::gzip, inner, packed));
  protocol::buffer body;
  protocol::wire_writer w{body};
  w.u8(1);                                                        // magic
  w.u8(static_cast<std::uint8_t>(kafka::compression_type::gzip));  // attributes
  w.u64(0);  // create time: the inner messages keep their own timestamps
  w.u32(0xFFFFFFFFu);  // null key
  w.u32(static_cast<std::uint32_t>(packed.size()));
  w.raw(packed.data(), packed.size());
  protocol::buffer out;
  protocol::wire_writer o{out};
  o.u64(0);
  o.u32(static_cast<std::uint32_t>(body.size() + 4));
  o.u32(protocol::crc32(body));
  o.raw(body.data(), body.size());
  return std::string(protocol::as_chars(out));
}

}  // namespace

// Kafka appends one batch per partition and request: Produce v3+ carries exactly one
// (ProduceRequest.validateRecords), and of the older message sets a compressed wrapper only
// alone (LogValidator), though uncompressed messages may be many. More is INVALID_RECORD,
// saying why from v8 on, and nothing of it is stored: stored together, an idempotent
// producer's second batch could not be recognised as a duplicate when it came again alone.
TEST(KafkaProtocol, MoreThanOneBatchForAPartitionIsInvalidRecordAndNothingOfItIsStored) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  const auto plain = record_batch_bytes("p", 2, kafka::compression_type::none);
  const auto packed = record_batch_bytes("z", 2, kafka::compression_type::lz4);
  for (const auto& records : {plain + plain, plain + packed, packed + plain}) {
    const auto refused = call<msg::ProduceResponse>(c, 0, 9, produce_request("one-batch", 0, records), true)
                             .responses.at(0).partitionResponses.at(0);
    EXPECT_EQ(refused.errorCode, 87) << "INVALID_RECORD";
    EXPECT_EQ(refused.baseOffset, -1);
    EXPECT_NE(refused.errorMessage.value_or("").find("exactly one record batch per partition"),
              std::string::npos)
        << refused.errorMessage.value_or("");
  }
  // A damaged batch (its CRC-32C wrong) beside another, second or first, is refused for being
  // there: Kafka counts a partition's batches from their headers before it checks one, so
  // INVALID_RECORD, which producers do not retry, not CORRUPT_MESSAGE, which they do.
  auto damaged = plain;
  damaged.back() = static_cast<char>(damaged.back() ^ 0x01);
  for (const auto& records : {plain + damaged, damaged + plain, packed + damaged}) {
    const auto refused = call<msg::ProduceResponse>(c, 0, 9, produce_request("one-batch", 0, records), true)
                             .responses.at(0).partitionResponses.at(0);
    EXPECT_EQ(refused.errorCode, 87) << "INVALID_RECORD";
    EXPECT_EQ(refused.baseOffset, -1);
  }
  EXPECT_EQ(call<msg::ProduceResponse>(c, 0, 9, produce_request("one-batch", 0, damaged), true)
                .responses.at(0).partitionResponses.at(0).errorCode, 2)
      << "alone, CORRUPT_MESSAGE: the damage is real";
  EXPECT_EQ(f.metrics().messages_in_total(protocol_kind::kafka), 0u);
  const auto one = call<msg::ProduceResponse>(c, 0, 9, produce_request("one-batch", 0, plain), true)
                       .responses.at(0).partitionResponses.at(0);
  EXPECT_EQ(one.errorCode, 0);
  EXPECT_EQ(one.baseOffset, 0) << "nothing of the refused requests was stored";

  // Produce v2: magic-1 message sets.
  protocol::buffer inner, two;
  kafka::encode_message_set(make_batch(3), 0, 1, inner);
  kafka::encode_message_set(make_batch(2), 0, 1, two);
  const auto wrapper = gzip_wrapper(inner);
  const auto messages = std::string(protocol::as_chars(two));
  auto produce_v2 = [&](const std::string& records) {
    return call<msg::ProduceResponse>(c, 0, 2, produce_request("old-sets", 0, records), false)
        .responses.at(0).partitionResponses.at(0);
  };
  const auto many = produce_v2(messages);
  EXPECT_EQ(many.errorCode, 0) << "uncompressed messages, many";
  EXPECT_EQ(many.baseOffset, 0);
  EXPECT_EQ(produce_v2(wrapper).baseOffset, 2) << "a compressed wrapper alone";
  for (const auto& records : {wrapper + wrapper, messages + wrapper, wrapper + messages}) {
    const auto refused = produce_v2(records);
    EXPECT_EQ(refused.errorCode, 87) << "INVALID_RECORD";
    EXPECT_EQ(refused.baseOffset, -1);
  }
  EXPECT_EQ(produce_v2(messages).baseOffset, 5) << "nothing of the refused sets was stored";
}

// Batches refused for being more than one are refused unread: nothing of them is inflated,
// so they take nothing of the request's decompression budget, which the partitions after
// them still have whole. (Inflated, the pair would spend the budget: MESSAGE_TOO_LARGE for
// itself and for the partition after it.)
TEST(KafkaProtocol, MoreThanOneBatchIsRefusedBeforeAnythingIsInflated) {
  broker_config cfg;
  cfg.max_decompressed_bytes_per_request = 8u << 20;
  broker_fixture f{false, cfg};
  protocol::message_batch empty;
  empty.messages.resize(30000);  // about 5.5 MiB decoded: two are more than the budget
  auto rb = kafka::from_messages(empty, 0);
  rb.attributes = static_cast<std::int16_t>(kafka::compression_type::zstd);
  protocol::buffer encoded;
  ASSERT_FALSE(kafka::encode_record_batch(rb, encoded));
  const std::string big(protocol::as_chars(encoded));
  auto req = produce_request("unread-pair", 0, big + big);
  req.topicData.push_back({"after-the-pair", {{0, protocol::gather_bytes(big)}}});
  raw_kafka c{f.server->kafka_port()};
  const auto res = call<msg::ProduceResponse>(c, 0, 9, req, true);
  const auto& pair = res.responses.at(0).partitionResponses.at(0);
  EXPECT_EQ(pair.errorCode, 87) << "INVALID_RECORD";
  EXPECT_EQ(pair.baseOffset, -1);
  const auto& after = res.responses.at(1).partitionResponses.at(0);
  EXPECT_EQ(after.errorCode, 0) << "the budget was still whole";
  EXPECT_EQ(after.baseOffset, 0);
  EXPECT_EQ(f.metrics().messages_in_total(protocol_kind::kafka), 30000u);
}

// Kafka reads a Produce v3+ partition's magic first (ProduceRequest.validateRecords) and
// refuses magic 0/1 with INVALID_RECORD, which producers do not retry, however short the
// message: not CORRUPT_MESSAGE (as a message shorter than a v2 batch's header was answered),
// which they would retry until their delivery timeout.
TEST(KafkaProtocol, OlderMagicsInProduceV3AreInvalidRecordHoweverShort) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  for (const std::int16_t version : {3, 8}) {
    for (const std::int8_t magic : {0, 1}) {
      for (const std::size_t size : {1, 40}) {
        protocol::message_batch one;
        one.messages.emplace_back().value = std::string(size, 'x');
        protocol::buffer set;
        kafka::encode_message_set(one, 0, magic, set);
        const auto refused =
            call<msg::ProduceResponse>(c, 0, version, produce_request("old-magic", 0, std::string(protocol::as_chars(set))), false)
                .responses.at(0).partitionResponses.at(0);
        EXPECT_EQ(refused.errorCode, 87) << "INVALID_RECORD: v" << version << ", magic " << int{magic} << ", " << size;
        EXPECT_EQ(refused.baseOffset, -1);
        if (version >= 8) {
          EXPECT_EQ(refused.errorMessage.value_or(""),
                    "Produce requests with version 8 are only allowed to contain record batches with magic version 2");
        }
      }
    }
  }
  // Kafka looks at the first one's magic before it counts them: two messages are refused for
  // their magic, not for being two.
  protocol::buffer two;
  kafka::encode_message_set(make_batch(2), 0, 1, two);
  EXPECT_EQ(call<msg::ProduceResponse>(c, 0, 8, produce_request("old-magic", 0, std::string(protocol::as_chars(two))), false)
                .responses.at(0).partitionResponses.at(0).errorMessage.value_or(""),
            "Produce requests with version 8 are only allowed to contain record batches with magic version 2");
  EXPECT_EQ(f.metrics().messages_in_total(protocol_kind::kafka), 0u);
}

// Below v3 Kafka checks no magic (ProduceRequest.validateRecords, for "compatibility with
// clients which send the wrong magic version") and appends a v2 batch as at v3+, alone
// (LogValidator). A set mixing magics is refused whole (LogValidator.validateBatch), saying
// why in the log (Produce v0-2 carry no error message).
TEST(KafkaProtocol, AV2BatchInProduceV0To2IsAppendedAsAtV3) {
  portask::testing::log_capture log(logging::kafka(), spdlog::level::warn);
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  const auto batch = batch_bytes(make_batch(2, "b"), kafka::compression_type::none);
  const auto packed = batch_bytes(make_batch(2, "z"), kafka::compression_type::gzip);
  auto produce = [&](std::int16_t version, const std::string& records) {
    return call<msg::ProduceResponse>(c, 0, version, produce_request("v2-in-old", 0, records), false)
        .responses.at(0).partitionResponses.at(0);
  };
  std::int64_t next = 0;
  for (const std::int16_t version : {0, 1, 2}) {
    for (const auto& records : {batch, packed}) {
      const auto taken = produce(version, records);
      EXPECT_EQ(taken.errorCode, 0) << "v" << version;
      EXPECT_EQ(taken.baseOffset, next) << "v" << version;
      next += 2;
    }
  }
  // The records as the batches carried them: keys, values, headers.
  auto native = f.connect();
  auto got = must(native.fetch("v2-in-old", 0, 0));
  ASSERT_EQ(got.messages.size(), 12u);
  EXPECT_EQ(got.messages[0].value, "b0");
  EXPECT_EQ(got.messages[3].value, "z1");
  EXPECT_EQ(got.messages[3].key, "k1");
  EXPECT_EQ(got.messages[3].headers.at(0).value, "x");

  // Refused whole: two batches; messages of magic 1 and a batch, either way round; magic 0
  // and 1 mixed.
  protocol::buffer one, zero;
  kafka::encode_message_set(make_batch(2), 0, 1, one);
  kafka::encode_message_set(make_batch(2), 0, 0, zero);
  const std::string ones(protocol::as_chars(one));
  const std::string zeros(protocol::as_chars(zero));
  for (const auto& records : {batch + batch, batch + ones, ones + batch, zeros + ones}) {
    const auto refused = produce(2, records);
    EXPECT_EQ(refused.errorCode, 87) << "INVALID_RECORD";
    EXPECT_EQ(refused.baseOffset, -1);
  }
  EXPECT_EQ(log.lines_with("Compressed outer record has more than one batch").size(), 2u);
  EXPECT_EQ(log.lines_with("Batch magic 2 is not the same as the first batch's magic byte 1 in topic partition v2-in-old-0")
                .size(),
            1u);
  EXPECT_EQ(log.lines_with("Batch magic 1 is not the same as the first batch's magic byte 0 in topic partition v2-in-old-0")
                .size(),
            1u);
  EXPECT_EQ(produce(2, ones).baseOffset, next) << "nothing of the refused sets was stored";
}

// Kafka checks the checksum of every message and batch of a set
// (UnifiedLog.analyzeAndValidateRecords) before it refuses the set for mixing magics
// (LogValidator): a damaged v2 batch after messages of magic 1, or a damaged message after
// such a batch, is CORRUPT_MESSAGE, which producers retry; the mix of intact ones is
// INVALID_RECORD.
TEST(KafkaProtocol, DamageAmongMixedMagicsIsCorruptMessage) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  auto produce_v2 = [&](const std::string& records) {
    return call<msg::ProduceResponse>(c, 0, 2, produce_request("mixed-damage", 0, records), false)
        .responses.at(0).partitionResponses.at(0);
  };
  const auto batch = batch_bytes(make_batch(2, "b"), kafka::compression_type::none);
  auto damaged_batch = batch;
  damaged_batch.back() = static_cast<char>(damaged_batch.back() ^ 0x01);  // its CRC-32C fails
  protocol::buffer one;
  kafka::encode_message_set(make_batch(2), 0, 1, one);
  const std::string ones(protocol::as_chars(one));
  auto damaged_ones = ones;
  damaged_ones.back() = static_cast<char>(damaged_ones.back() ^ 0x01);  // the last one's CRC-32 fails
  for (const auto& records : {ones + damaged_batch, ones + batch + damaged_ones}) {
    const auto refused = produce_v2(records);
    EXPECT_EQ(refused.errorCode, 2) << "CORRUPT_MESSAGE";
    EXPECT_EQ(refused.baseOffset, -1);
  }
  EXPECT_EQ(produce_v2(ones + batch).errorCode, 87) << "intact: INVALID_RECORD, for the mix";
  EXPECT_EQ(f.metrics().messages_in_total(protocol_kind::kafka), 0u);
}

// Kafka's LogValidator refuses a compressed wrapper's inner message whose magic is not the
// wrapper's (INVALID_RECORD), and nothing of the set is stored.
TEST(KafkaProtocol, AWrapperHoldingMessagesOfAnotherMagicIsInvalidRecord) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  auto produce_v2 = [&](const std::string& records) {
    return call<msg::ProduceResponse>(c, 0, 2, produce_request("wrapped", 0, records), false)
        .responses.at(0).partitionResponses.at(0);
  };
  protocol::buffer zeros, ones;
  kafka::encode_message_set(make_batch(3), 0, 0, zeros);
  kafka::encode_message_set(make_batch(3), 0, 1, ones);
  const auto refused = produce_v2(gzip_wrapper(zeros));  // a magic-1 wrapper
  EXPECT_EQ(refused.errorCode, 87) << "INVALID_RECORD";
  EXPECT_EQ(refused.baseOffset, -1);
  const auto taken = produce_v2(gzip_wrapper(ones));
  EXPECT_EQ(taken.errorCode, 0);
  EXPECT_EQ(taken.baseOffset, 0) << "nothing of the refused wrapper was stored";
}

// An empty message set (Produce v0-2) appends nothing, and Kafka answers it so: no error and
// no base offset (UnifiedLog.append returns before anything is validated), or
// UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist, which it does not create.
// From v3 a partition's records must hold a batch (INVALID_RECORD).
TEST(KafkaProtocol, AnEmptyMessageSetIsAnsweredWithoutAnErrorOrABaseOffset) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  protocol::buffer set;
  kafka::encode_message_set(make_batch(2), 0, 1, set);
  const std::string two(protocol::as_chars(set));
  auto produce = [&](std::int16_t version, const std::string& topic, const std::string& records) {
    return call<msg::ProduceResponse>(c, 0, version, produce_request(topic, 0, records), false)
        .responses.at(0).partitionResponses.at(0);
  };
  ASSERT_EQ(produce(2, "empty-set", two).errorCode, 0);
  for (const std::int16_t version : {0, 1, 2}) {
    const auto answered = produce(version, "empty-set", "");
    EXPECT_EQ(answered.errorCode, 0) << "v" << version;
    EXPECT_EQ(answered.baseOffset, -1) << "v" << version;
  }
  const auto missing = produce(2, "empty-nowhere", "");
  EXPECT_EQ(missing.errorCode, 3) << "UNKNOWN_TOPIC_OR_PARTITION";
  EXPECT_EQ(missing.baseOffset, -1);
  EXPECT_EQ(produce(3, "empty-set", "").errorCode, 87) << "v3+: INVALID_RECORD";
  EXPECT_EQ(produce(2, "empty-set", two).baseOffset, 2) << "nothing was appended";
  // Answered in the answer's place, not the request's: a partition named twice (the empty
  // copy last) and a topic named twice have one entry each.
  auto twice = produce_request("empty-set", 0, two);
  twice.topicData[0].partitionData.push_back({0, protocol::gather_bytes(std::string())});
  twice.topicData.push_back({"empty-set", {{99, protocol::gather_bytes(std::string())}}});
  const auto both = call<msg::ProduceResponse>(c, 0, 2, twice, false);
  ASSERT_EQ(both.responses.size(), 1u);
  ASSERT_EQ(both.responses[0].partitionResponses.size(), 2u);
  for (const auto& p : both.responses[0].partitionResponses) {
    EXPECT_EQ(p.errorCode, p.index == 0 ? 0 : 3) << "partition " << p.index << " (99 does not exist)";
    EXPECT_EQ(p.baseOffset, -1) << "partition " << p.index;
  }
  EXPECT_EQ(produce(2, "empty-set", two).baseOffset, 4) << "the copy named first was not appended";
  msg::MetadataRequest meta;
  meta.topics = std::vector<msg::MetadataRequest::MetadataRequestTopic>{{{}, std::string("empty-nowhere")}};
  meta.allowAutoTopicCreation = false;
  EXPECT_EQ(call<msg::MetadataResponse>(c, 3, 12, meta, true).topics.at(0).errorCode, 3)
      << "the empty set created no topic";
}

// ListOffsets v0 answers at most maxNumOffsets offsets (Kafka's legacyFetchOffsetsBefore):
// none for 0, Portask's one (the offset the timestamp finds) for 1 or more. A negative count
// sizes Kafka's list below zero, which its broker fails with UNKNOWN_SERVER_ERROR once the
// partition is found.
TEST(KafkaProtocol, ListOffsetsV0AnswersAtMostMaxNumOffsets) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  ASSERT_EQ(call<msg::ProduceResponse>(c, 0, 7,
                                       produce_request("lo-v0", 0, batch_bytes(make_batch(3), kafka::compression_type::none)),
                                       false)
                .responses.at(0).partitionResponses.at(0).errorCode,
            0);
  auto ask = [&](const std::string& topic, std::int64_t timestamp, std::int32_t max) {
    msg::ListOffsetsRequest req;
    req.replicaId = -1;
    req.topics.push_back({topic, {{0, -1, timestamp, max}}});
    return call<msg::ListOffsetsResponse>(c, 2, 0, req, false).topics.at(0).partitions.at(0);
  };
  for (const std::int64_t timestamp : {-1, -2}) {  // latest, earliest
    const std::vector<std::int64_t> found{timestamp == -1 ? 3 : 0};
    for (const std::int32_t max : {1, 5}) {
      const auto got = ask("lo-v0", timestamp, max);
      EXPECT_EQ(got.errorCode, 0);
      EXPECT_EQ(got.oldStyleOffsets, found) << timestamp << " " << max;
    }
    const auto none = ask("lo-v0", timestamp, 0);
    EXPECT_EQ(none.errorCode, 0);
    EXPECT_TRUE(none.oldStyleOffsets.empty()) << timestamp;
    const auto negative = ask("lo-v0", timestamp, -1);
    EXPECT_EQ(negative.errorCode, -1) << "UNKNOWN_SERVER_ERROR";
    EXPECT_TRUE(negative.oldStyleOffsets.empty()) << timestamp;
  }
  EXPECT_EQ(ask("lo-v0-nowhere", -1, -1).errorCode, 3) << "UNKNOWN_TOPIC_OR_PARTITION: looked for first";
}

// Kafka answers ListOffsets v0 with a handler of its own (handleListOffsetRequestV0), which
// checks no version: -3 (max timestamp, v7 from v1 on) is a time there, and v0 lists the
// segments last modified at or before a time, of which there is none before a negative one.
// So -3, and any other negative but the sentinels -1, -2 and -4, lists nothing, without an
// error (UNKNOWN_SERVER_ERROR for a negative maxNumOffsets, UNKNOWN_TOPIC_OR_PARTITION where
// there is no partition, as for any time). It was INVALID_REQUEST.
TEST(KafkaProtocol, ListOffsetsV0ListsNothingBeforeANegativeTimeMinusThreeIncluded) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  ASSERT_EQ(call<msg::ProduceResponse>(c, 0, 7,
                                       produce_request("lo-v0-neg", 0, batch_bytes(make_batch(3), kafka::compression_type::none)),
                                       false)
                .responses.at(0).partitionResponses.at(0).errorCode,
            0);
  auto ask = [&](const std::string& topic, std::int64_t timestamp, std::int32_t max) {
    msg::ListOffsetsRequest req;
    req.replicaId = -1;
    req.topics.push_back({topic, {{0, -1, timestamp, max}}});
    return call<msg::ListOffsetsResponse>(c, 2, 0, req, false).topics.at(0).partitions.at(0);
  };
  for (const std::int64_t timestamp : {-3, -5, -10}) {
    const auto got = ask("lo-v0-neg", timestamp, 5);
    EXPECT_EQ(got.errorCode, 0) << timestamp;
    EXPECT_TRUE(got.oldStyleOffsets.empty()) << timestamp;
  }
  EXPECT_EQ(ask("lo-v0-neg", -3, -1).errorCode, -1) << "UNKNOWN_SERVER_ERROR";
  EXPECT_EQ(ask("lo-v0-neg-nowhere", -3, 1).errorCode, 3) << "UNKNOWN_TOPIC_OR_PARTITION";
  EXPECT_EQ(ask("lo-v0-neg", -4, 1).oldStyleOffsets, std::vector<std::int64_t>{0}) << "-4: the log start";
  EXPECT_EQ(ask("lo-v0-neg", 0, 1).oldStyleOffsets, std::vector<std::int64_t>{0}) << "a time: Portask's one";
}

// A producer's batch marked with log append time (a broker's mark) is appended to a
// CreateTime topic as Kafka 3.6+ appends it: marked create time (its CRC-32C computed again),
// each record with its own timestamp, not the batch's max, wherever it is read from: the
// partition's tail (the producer's bytes), the stored frame, ListOffsets by time.
TEST(KafkaProtocol, ABatchMarkedWithLogAppendTimeIsAppendedAsCreateTime) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  auto native = f.connect();
  // Stamped from now on: retention could take records stamped long ago.
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  const std::vector<std::int64_t> stamps = {now + 1000, now + 2000, now + 3000};
  for (auto z : {kafka::compression_type::none, kafka::compression_type::gzip}) {
    const std::string topic = z == kafka::compression_type::none ? "appended-plain" : "appended-gzip";
    const auto unmarked = stamped_batch_bytes(stamps, z);
    auto sent = unmarked;
    auto* bytes = reinterpret_cast<std::uint8_t*>(sent.data());
    protocol::store_be16(bytes + 21, static_cast<std::uint16_t>(protocol::load_be16(bytes + 21) |
                                                                kafka::batch_attributes::log_append_time));
    protocol::store_be32(bytes + 17, kafka::crc32c(protocol::as_bytes(sent).subspan(21)));
    std::size_t used = 0;
    const auto as_marked = kafka::decode_record_batch(protocol::as_bytes(sent), used);
    ASSERT_TRUE(as_marked) << as_marked.error().message();
    ASSERT_EQ(kafka::to_messages(*as_marked, topic, 0).messages.front().timestamp_ms, now + 3000)
        << "as sent, every record reads with the batch's max timestamp";
    auto res = call<msg::ProduceResponse>(c, 0, 7, produce_request(topic, 0, sent), false);
    ASSERT_EQ(res.responses.at(0).partitionResponses.at(0).errorCode, 0) << topic;

    // From the tail: the producer's bytes, unmarked, their CRC-32C right.
    auto fres = fetch_from_the_start(c, topic, 0);
    const auto& part = fres.responses.at(0).partitions.at(0);
    ASSERT_EQ(part.errorCode, 0) << topic;
    ASSERT_TRUE(part.records) << topic;
    const protocol::byte_view served = part.records->owned();
    ASSERT_EQ(served.size(), unmarked.size()) << topic;
    EXPECT_TRUE(std::equal(served.begin() + 16, served.end(), protocol::as_bytes(unmarked).begin() + 16))
        << topic << ": as if sent unmarked, from the magic byte on";
    auto batches = kafka::decode_record_batches(served);
    ASSERT_TRUE(batches) << batches.error().message();
    ASSERT_EQ(batches->size(), 1u);
    EXPECT_EQ(batches->front().attributes & kafka::batch_attributes::log_append_time, 0) << topic;
    EXPECT_EQ(batches->front().compression(), z) << topic;
    EXPECT_EQ(batches->front().max_timestamp, now + 3000) << topic;
    std::vector<std::int64_t> fetched;
    for (const auto& m : kafka::to_messages(batches->front(), topic, 0).messages) fetched.push_back(m.timestamp_ms);
    EXPECT_EQ(fetched, stamps) << topic;

    // What is stored (a native fetch reads the stored frame): the same timestamps.
    auto stored = must(native.fetch(topic, 0, 0));
    std::vector<std::int64_t> kept;
    for (const auto& m : stored.messages) kept.push_back(m.timestamp_ms);
    EXPECT_EQ(kept, stamps) << topic;

    // ListOffsets by time: the first record stamped at or after each time.
    auto lookup = [&](std::int64_t ts) {
      msg::ListOffsetsRequest req;
      req.replicaId = -1;
      req.topics.push_back({topic, {{0, -1, ts, 1}}});
      return call<msg::ListOffsetsResponse>(c, 2, 7, req, true).topics.at(0).partitions.at(0);
    };
    for (const auto& [ts, offset] : std::vector<std::pair<std::int64_t, std::int64_t>>{
             {now, 0}, {now + 1500, 1}, {now + 2500, 2}}) {
      const auto found = lookup(ts);
      EXPECT_EQ(found.errorCode, 0) << topic;
      EXPECT_EQ(found.offset, offset) << topic << " at " << ts - now;
      EXPECT_EQ(found.timestamp, stamps[static_cast<std::size_t>(offset)]) << topic << " at " << ts - now;
    }
  }
}

TEST(KafkaProtocol, UnknownApiKeyClosesTheConnectionAndOthersAreServed) {
  broker_fixture f;
  {
    raw_kafka c{f.server->kafka_port()};
    c.send(999, 0, 1, msg::ApiVersionsRequest{}, false);
    EXPECT_TRUE(c.closed());
  }
  {
    raw_kafka c{f.server->kafka_port()};
    const std::uint8_t lying[] = {0x7F, 0xFF, 0xFF, 0xFF, 0, 18, 0, 0};  // 2 GiB request
    c.send_raw(lying);
    EXPECT_TRUE(c.closed());
  }
  {
    raw_kafka c{f.server->kafka_port()};
    // A whole frame whose client id claims 100 bytes of the 0 that follow.
    const std::uint8_t truncated[] = {0, 0, 0, 10, 0, 3, 0, 1, 0, 0, 0, 5, 0, 100};
    c.send_raw(truncated);
    EXPECT_TRUE(c.closed());
  }
  raw_kafka ok{f.server->kafka_port()};
  ok.send(18, 0, 3, msg::ApiVersionsRequest{}, false);
  std::int32_t corr = 0;
  EXPECT_TRUE(ok.receive(corr, false));
  EXPECT_EQ(corr, 3);
}

namespace {

// A request's bytes as raw_kafka::send writes them (header v1), to be sent with others in one
// write, as a client pipelines them.
template <class Req>
protocol::buffer request_bytes(std::int16_t key, std::int16_t version, std::int32_t correlation,
                               const Req& body) {
  protocol::buffer out(4);
  kafka::writer w{out};
  w.i16(key);
  w.i16(version);
  w.i32(correlation);
  w.string("test", false);
  body.encode(w, version);
  protocol::store_be32(out.data(), static_cast<std::uint32_t>(out.size() - 4));
  return out;
}

void append_to(protocol::buffer& to, protocol::byte_view bytes) { to.insert(to.end(), bytes.begin(), bytes.end()); }

// A size the Kafka framer refuses as soon as it sees it (a 2 GiB request).
constexpr std::uint8_t unframable[] = {0x7F, 0xFF, 0xFF, 0xFF, 0, 18, 0, 0};

// Sends `bytes` on a new connection and closes its sending half (the client has said all it
// will); true when the broker then closes the connection with no answer sent (within 30 s).
bool closed_without_an_answer(std::uint16_t port, protocol::byte_view bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool closed = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()) &&
      ::shutdown(fd, SHUT_WR) == 0) {
    pollfd p{fd, POLLIN, 0};
    char c = 0;
    closed = ::poll(&p, 1, 30'000) > 0 && ::recv(fd, &c, 1, 0) == 0;
  }
  ::close(fd);
  return closed;
}

}  // namespace

// Kafka reads a connection's requests one at a time, so a request it cannot serve is read only
// once those before it are answered. A Produce pipelined ahead of an unknown API key is stored
// and acknowledged before the connection closes: a producer that never heard would send it
// again, and it would be stored twice.
TEST(KafkaProtocol, APipelinedProduceIsAnsweredBeforeAnUnknownApiKeyEndsTheConnection) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  auto produce = produce_request("ended", 0, record_batch_bytes("e", 2, kafka::compression_type::none));
  produce.acks = 1;
  auto bytes = request_bytes(0, 7, 1, produce);
  append_to(bytes, request_bytes(999, 0, 2, msg::ApiVersionsRequest{}));
  c.send_raw(bytes);
  std::int32_t corr = 0;
  auto body = c.receive(corr, false);
  ASSERT_TRUE(body) << "the Produce read before the unknown API key is answered";
  EXPECT_EQ(corr, 1);
  auto res = decode_as<msg::ProduceResponse>(*body, 7);
  EXPECT_EQ(res.responses.at(0).partitionResponses.at(0).errorCode, 0);
  EXPECT_TRUE(c.closed()) << "then the connection closes";
  EXPECT_EQ(f.metrics().messages_in_total(protocol_kind::kafka), 2u);
}

// Bytes that cannot be framed end the connection too, after the requests before them are
// answered, in order: those held behind decoded produce requests (here the third, once the
// first two have used the connection's decompression budget) included.
TEST(KafkaProtocol, PipelinedProducesAreAnsweredBeforeAFramingErrorEndsTheConnection) {
  broker_config cfg;
  cfg.max_decompressed_bytes_per_request = 8u << 20;
  broker_fixture f{false, cfg};
  protocol::message_batch empty;
  empty.messages.resize(30000);  // about 5.5 MiB decoded
  auto rb = kafka::from_messages(empty, 0);
  rb.attributes = static_cast<std::int16_t>(kafka::compression_type::zstd);
  protocol::buffer batch;
  ASSERT_FALSE(kafka::encode_record_batch(rb, batch));
  auto produce = produce_request("framing-ended", 0, std::string(protocol::as_chars(batch)));
  produce.acks = 1;
  raw_kafka c{f.server->kafka_port()};
  // The topic is created first, so the pipelined requests all go to a partition that is there.
  ASSERT_EQ(call<msg::ProduceResponse>(c, 0, 7, produce, false).responses.at(0).partitionResponses.at(0).errorCode, 0);
  protocol::buffer bytes;
  constexpr int requests = 3;
  for (int i = 0; i < requests; ++i) append_to(bytes, request_bytes(0, 7, 10 + i, produce));
  append_to(bytes, unframable);
  c.send_raw(bytes);
  for (int i = 0; i < requests; ++i) {
    std::int32_t corr = 0;
    auto body = c.receive(corr, false);
    ASSERT_TRUE(body) << "request " << i << " was read before the bad bytes";
    EXPECT_EQ(corr, 10 + i);
    const auto res = decode_as<msg::ProduceResponse>(*body, 7);
    EXPECT_EQ(res.responses.at(0).partitionResponses.at(0).errorCode, 0) << i;
    EXPECT_EQ(res.responses.at(0).partitionResponses.at(0).baseOffset, 30000 * (i + 1)) << i;
  }
  EXPECT_TRUE(c.closed());
}

// A client that has closed is not waited for beyond the request timeout: the answer its
// Produce needs is held up for a minute (the store stalled by SIGSTOP), and the connection,
// its actor and its slot go long before that, without the answer.
TEST(KafkaProtocol, AClosedClientsConnectionWaitsForAnAnswerOnlyUntilTheRequestTimeout) {
  broker_config cfg;
  cfg.store_timeout_ms = 60000;   // the store stalls for as long as the test pauses it
  cfg.request_timeout_ms = 1000;  // how long a closing connection waits for its answers
  broker_fixture f{true, cfg};
  auto produce = produce_request("stalled", 0, record_batch_bytes("s", 1, kafka::compression_type::none));
  produce.acks = 1;
  {
    raw_kafka c{f.server->kafka_port()};  // the topic is created before the store stalls
    ASSERT_EQ(call<msg::ProduceResponse>(c, 0, 7, produce, false).responses.at(0).partitionResponses.at(0).errorCode, 0);
  }
  f.redis->pause();
  struct resume_at_exit {
    redis_server& r;
    ~resume_at_exit() { r.resume(); }
  } resume{*f.redis};
  EXPECT_TRUE(closed_without_an_answer(f.server->kafka_port(), request_bytes(0, 7, 2, produce)));
}

TEST(KafkaProtocol, ApiVersionsBelowItsLowestVersionIsUnsupportedVersion) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  // As Kafka answers any ApiVersions version it does not have: UNSUPPORTED_VERSION, at v0,
  // with the table, and the connection goes on.
  c.send(18, -1, 1, msg::ApiVersionsRequest{}, false);
  std::int32_t corr = 0;
  auto body = c.receive(corr, false);
  ASSERT_TRUE(body);
  EXPECT_EQ(corr, 1);
  auto v0 = decode_as<msg::ApiVersionsResponse>(*body, 0);
  EXPECT_EQ(v0.errorCode, 35);
  EXPECT_FALSE(v0.apiKeys.empty());
  c.send(18, 0, 2, msg::ApiVersionsRequest{}, false);
  body = c.receive(corr, false);
  ASSERT_TRUE(body);
  EXPECT_EQ(corr, 2);
  EXPECT_EQ(decode_as<msg::ApiVersionsResponse>(*body, 0).errorCode, 0);
}

TEST(KafkaProtocol, CreateAndDeleteTopicsThroughTheRegistry) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  msg::CreateTopicsRequest create;
  create.timeoutMs = 30000;
  msg::CreateTopicsRequest::CreatableTopic good;
  good.name = "admin-topic";
  good.numPartitions = 4;
  good.replicationFactor = 1;
  good.configs.push_back({"retention.ms", std::string("1000")});
  msg::CreateTopicsRequest::CreatableTopic bad = good;
  bad.name = "bad name";
  create.topics = {good, bad, good};
  c.send(19, 4, 1, create, false);
  std::int32_t corr = 0;
  auto body = c.receive(corr, false);
  ASSERT_TRUE(body);
  auto res = decode_as<msg::CreateTopicsResponse>(*body, 4);
  ASSERT_EQ(res.topics.size(), 3u);
  EXPECT_EQ(res.topics[0].errorCode, 42) << "named twice: INVALID_REQUEST, as Kafka answers";
  EXPECT_EQ(res.topics[1].errorCode, 17) << "INVALID_TOPIC_EXCEPTION";
  EXPECT_EQ(res.topics[2].errorCode, 42);
  create.topics = {good};
  c.send(19, 4, 11, create, false);
  body = c.receive(corr, false);
  ASSERT_TRUE(body);
  EXPECT_EQ(decode_as<msg::CreateTopicsResponse>(*body, 4).topics.at(0).errorCode, 0);
  c.send(19, 4, 12, create, false);
  body = c.receive(corr, false);
  ASSERT_TRUE(body);
  EXPECT_EQ(decode_as<msg::CreateTopicsResponse>(*body, 4).topics.at(0).errorCode, 36)
      << "TOPIC_ALREADY_EXISTS";
  auto native = f.connect();
  auto d = must(native.describe_topic("admin-topic"));
  EXPECT_EQ(d.partitions, 4);
  // Flexible version (v5): compact encodings and tagged fields both ways.
  create.topics = {good};
  create.topics[0].name = "flexible-topic";
  c.send(19, 5, 2, create, true);
  body = c.receive(corr, true);
  ASSERT_TRUE(body);
  EXPECT_EQ(decode_as<msg::CreateTopicsResponse>(*body, 5).topics.at(0).errorCode, 0);
  msg::DeleteTopicsRequest del;
  del.topicNames = {"admin-topic", "missing"};
  c.send(20, 1, 3, del, false);
  body = c.receive(corr, false);
  ASSERT_TRUE(body);
  auto dres = decode_as<msg::DeleteTopicsResponse>(*body, 1);
  ASSERT_EQ(dres.responses.size(), 2u);
  EXPECT_EQ(dres.responses[0].errorCode, 0);
  EXPECT_EQ(dres.responses[1].errorCode, 3) << "UNKNOWN_TOPIC_OR_PARTITION";
  EXPECT_EQ(must(native.list_topics()).size(), 1u);
}

// timeoutMs of the admin requests bounds their wait, as in Kafka: with the store stalled
// (redis-server stopped by SIGSTOP) a deletion and a creation cannot finish, and each topic is
// answered REQUEST_TIMED_OUT once its timeout passes; both changes still complete once the
// store answers again.
TEST(KafkaProtocol, AdminRequestsAnswerRequestTimedOutAfterTheirTimeoutAndTheChangesStillComplete) {
  broker_config cfg;
  cfg.store_timeout_ms = 60000;  // the store stalls for as long as the test pauses it
  broker_fixture f{true, cfg};
  raw_kafka c{f.server->kafka_port()};
  std::int32_t corr = 0;
  msg::CreateTopicsRequest create;
  create.timeoutMs = 30000;
  msg::CreateTopicsRequest::CreatableTopic t;
  t.name = "doomed";
  t.numPartitions = 2;
  t.replicationFactor = 1;
  create.topics = {t};
  c.send(19, 4, 1, create, false);
  auto body = c.receive(corr, false);
  ASSERT_TRUE(body);
  ASSERT_EQ(decode_as<msg::CreateTopicsResponse>(*body, 4).topics.at(0).errorCode, 0);

  f.redis->pause();
  struct resume_at_exit {
    redis_server& r;
    ~resume_at_exit() { r.resume(); }
  } resume{*f.redis};
  msg::DeleteTopicsRequest del;
  del.topicNames = {"doomed"};
  del.timeoutMs = 300;
  c.send(20, 4, 2, del, true);
  create.topics[0].name = "late";
  create.timeoutMs = 300;
  c.send(19, 4, 3, create, false);
  // The registry is held in the store's delete, so neither can be done before its timeout.
  body = c.receive(corr, true);
  ASSERT_TRUE(body);
  EXPECT_EQ(corr, 2);
  auto deleted = decode_as<msg::DeleteTopicsResponse>(*body, 4);
  ASSERT_EQ(deleted.responses.size(), 1u);
  EXPECT_EQ(deleted.responses[0].errorCode, 7) << "REQUEST_TIMED_OUT";
  body = c.receive(corr, false);
  ASSERT_TRUE(body);
  EXPECT_EQ(corr, 3);
  EXPECT_EQ(decode_as<msg::CreateTopicsResponse>(*body, 4).topics.at(0).errorCode, 7)
      << "REQUEST_TIMED_OUT";

  f.redis->resume();
  // The registry serves its mailbox in order: the two changes are made before these.
  create.timeoutMs = 30000;
  c.send(19, 4, 4, create, false);
  body = c.receive(corr, false);
  ASSERT_TRUE(body);
  EXPECT_EQ(decode_as<msg::CreateTopicsResponse>(*body, 4).topics.at(0).errorCode, 36)
      << "TOPIC_ALREADY_EXISTS: the timed-out creation was made";
  del.timeoutMs = 30000;
  c.send(20, 4, 5, del, true);
  body = c.receive(corr, true);
  ASSERT_TRUE(body);
  EXPECT_EQ(decode_as<msg::DeleteTopicsResponse>(*body, 4).responses.at(0).errorCode, 3)
      << "UNKNOWN_TOPIC_OR_PARTITION: the timed-out deletion was made";
}

// A topic whose auto-creation the store fails (it is down) is LEADER_NOT_AVAILABLE, as Kafka
// answers a topic whose creation is under way: librdkafka waits that out, where the
// KAFKA_STORAGE_ERROR answered before made it fail every message queued for the topic. Once
// the store is back, the client's next Metadata creates the topic.
TEST(KafkaProtocol, AnAutoCreationTheStoreFailsIsLeaderNotAvailableAndALaterOneCreatesTheTopic) {
  using namespace std::chrono_literals;
  // Before the broker: a sink is not added while its threads log.
  portask::testing::log_capture log(logging::pipeline(), spdlog::level::warn);
  broker_fixture f{true};
  raw_kafka c{f.server->kafka_port()};
  using wanted = msg::MetadataRequest::MetadataRequestTopic;
  msg::MetadataRequest meta;
  meta.allowAutoTopicCreation = true;
  meta.topics = std::vector<wanted>{{{}, std::string("made-before")}};
  // The registry has read the topics: the next creation goes to the store.
  ASSERT_EQ(call<msg::MetadataResponse>(c, 3, 9, meta, true).topics.at(0).errorCode, 0);

  f.redis->kill();
  meta.topics = std::vector<wanted>{{{}, std::string("made-in-the-outage")}};
  c.send(3, 9, 7, meta, true);
  const auto failed = [&] { return !log.lines_with("creating topic 'made-in-the-outage' failed").empty(); };
  ASSERT_TRUE(wait_until(failed, 30s));
  // The registry learns from the store, back, that the creation did not land.
  ASSERT_TRUE(f.redis->start());
  auto m = answer_to<msg::MetadataResponse>(c, 7, 9, true);
  ASSERT_EQ(m.topics.size(), 1u);
  EXPECT_EQ(m.topics[0].errorCode, 5) << "LEADER_NOT_AVAILABLE, not KAFKA_STORAGE_ERROR (56)";
  EXPECT_TRUE(m.topics[0].partitions.empty());
  // As a client does, asked again while the outcome may still be read back (LEADER_NOT_AVAILABLE).
  std::int16_t code = -2;
  EXPECT_TRUE(wait_until(
      [&] {
        code = call<msg::MetadataResponse>(c, 3, 9, meta, true).topics.at(0).errorCode;
        return code != 5;
      },
      30s));
  EXPECT_EQ(code, 0) << "created once the store is back";
}

// KIP-951: a NOT_LEADER_OR_FOLLOWER answer never names the answering node as the current
// leader. A node's view can still show it as the leader after the store stopped taking its
// writes under its lease (the topic was deleted and created again through another node, or
// the lease was taken while the node was paused), until its next lease round: here a view
// naming this node the holder of a lease the store does not have, which no lease round
// replaces. Naming itself would send the producer straight back; the hint stays empty.
TEST(KafkaProtocol, ANotLeaderAnswerNeverNamesTheAnsweringNodeAsTheLeader) {
  broker_fixture f;
  auto native = f.connect();
  must(native.create_topic("stale-view", 1), "create");
  auto view = std::make_shared<cluster_view>(*f.server->context()->cluster());
  view->clustered = true;
  view->token = "this-run";
  view->live = {view->self};
  view->tokens[view->self] = view->token;
  view->holders[{"stale-view", 0}] = storage::lease_holder{view->self, 1, view->token};
  f.server->context()->publish_cluster(view);
  ASSERT_EQ(view->leader({"stale-view", 0}), view->self);

  raw_kafka c{f.server->kafka_port()};
  const auto produced = call<msg::ProduceResponse>(
      c, 0, 10, produce_request("stale-view", 0, record_batch_bytes("x", 1, kafka::compression_type::none)), true);
  ASSERT_EQ(produced.responses.size(), 1u);
  const auto& p = produced.responses[0].partitionResponses.at(0);
  EXPECT_EQ(p.errorCode, 6) << "the store refused the write: NOT_LEADER_OR_FOLLOWER";
  EXPECT_EQ(p.currentLeader.leaderId, -1);
  EXPECT_EQ(p.currentLeader.leaderEpoch, -1);
  EXPECT_TRUE(produced.nodeEndpoints.empty());
}
