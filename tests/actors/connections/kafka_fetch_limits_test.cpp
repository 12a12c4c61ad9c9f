// A Kafka Fetch over many partitions against a whole broker: partitions filled in request
// order up to the request's maxBytes (the first batch whole even past it, KIP-74), those
// after the limit answered with no records but with their bounds and their errors, and a
// long poll over several partitions answered when data comes, within maxBytes. How many
// reads a Fetch has out at once is checked message by message in dsl/kafka_fetch_test.cpp.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "process.hpp"
#include "raw_kafka.hpp"
#include "tests/actors/broker_fixture.hpp"

using namespace portask;
using namespace portask::test;
using namespace std::chrono_literals;

namespace {

using partition_data = msg::FetchResponse::FetchableTopicResponse::PartitionData;

// A batch of one record of 3000 bytes: more than a quarter of the 10000 bytes asked below.
void produce_large(raw_kafka& c, const std::string& topic, std::int32_t partition) {
  auto res = call<msg::ProduceResponse>(
      c, 0, 9,
      produce_request(topic, partition, record_batch_bytes(std::string(2999, 'r'), 1, kafka::compression_type::none)),
      true);
  ASSERT_EQ(res.responses.at(0).partitionResponses.at(0).errorCode, 0);
}

// Partitions 0 to count-1 of `topic`, each from offset 0 with a mebibyte's limit.
msg::FetchRequest fetch_of(const std::string& topic, std::int32_t count, std::int32_t max_bytes,
                           std::int32_t min_bytes, std::int32_t max_wait_ms) {
  msg::FetchRequest fetch;
  fetch.maxWaitMs = max_wait_ms;
  fetch.minBytes = min_bytes;
  fetch.maxBytes = max_bytes;
  fetch.topics.push_back({topic, {}, {}});
  for (std::int32_t p = 0; p < count; ++p)
    fetch.topics[0].partitions.push_back({p, -1, 0, -1, -1, 1 << 20, {}});
  return fetch;
}

std::size_t records_in(const partition_data& p) {
  if (!p.records || p.records->empty()) return 0;
  auto batches = kafka::decode_record_batches(p.records->owned());
  EXPECT_TRUE(batches);
  if (!batches) return 0;
  std::size_t n = 0;
  for (const auto& b : *batches) n += b.records.size();
  return n;
}

}  // namespace

TEST(KafkaFetchLimits, ManyPartitionsAreFilledInRequestOrderUpToMaxBytesAndTheRestKeepTheirBounds) {
  broker_fixture f;
  must(f.connect().create_topic("many", 20));
  raw_kafka c{f.server->kafka_port()};
  // Partition p holds p % 3 + 1 batches of 3000 bytes: its high watermark is p % 3 + 1.
  constexpr std::int32_t partitions = 20;
  auto high_watermark = [](std::int32_t p) -> std::int64_t { return p % 3 + 1; };
  for (std::int32_t p = 0; p < partitions; ++p)
    for (std::int64_t i = 0; i < high_watermark(p); ++i) produce_large(c, "many", p);

  // Room for three batches: partition 0's one and partition 1's two, in request order;
  // partition 2's first would pass maxBytes, and no partition after it brings anything.
  // Every partition reports its bounds, read or not.
  auto res = call<msg::FetchResponse>(c, 1, 12, fetch_of("many", partitions, 10000, 1, 0), true);
  ASSERT_EQ(res.responses.size(), 1u);
  const auto& parts = res.responses[0].partitions;
  ASSERT_EQ(parts.size(), static_cast<std::size_t>(partitions));
  for (std::int32_t p = 0; p < partitions; ++p) {
    const auto& got = parts[static_cast<std::size_t>(p)];
    EXPECT_EQ(got.partitionIndex, p);
    EXPECT_EQ(got.errorCode, 0) << "partition " << p;
    EXPECT_EQ(got.highWatermark, high_watermark(p)) << "partition " << p;
    EXPECT_EQ(got.lastStableOffset, high_watermark(p)) << "partition " << p;
    EXPECT_EQ(got.logStartOffset, 0) << "partition " << p;
    EXPECT_EQ(records_in(got), p == 0 ? 1u : p == 1 ? 2u : 0u) << "partition " << p;
  }

  // A maxBytes below one batch: the first partition's batch comes whole, nothing after it.
  res = call<msg::FetchResponse>(c, 1, 12, fetch_of("many", partitions, 1000, 1, 0), true);
  ASSERT_EQ(res.responses.size(), 1u);
  ASSERT_EQ(res.responses[0].partitions.size(), static_cast<std::size_t>(partitions));
  for (std::int32_t p = 0; p < partitions; ++p) {
    const auto& got = res.responses[0].partitions[static_cast<std::size_t>(p)];
    EXPECT_EQ(got.errorCode, 0) << "partition " << p;
    EXPECT_EQ(got.highWatermark, high_watermark(p)) << "partition " << p;
    EXPECT_EQ(records_in(got), p == 0 ? 1u : 0u) << "partition " << p;
  }

  // Past the limit, partitions still answer the errors a read would: the last one asked
  // past its end is OFFSET_OUT_OF_RANGE, a partition the topic does not have
  // UNKNOWN_TOPIC_OR_PARTITION; the partitions before keep their answers.
  auto wrong = fetch_of("many", partitions, 10000, 1, 0);
  wrong.topics[0].partitions.back().fetchOffset = 100;
  wrong.topics[0].partitions.push_back({partitions, -1, 0, -1, -1, 1 << 20, {}});
  res = call<msg::FetchResponse>(c, 1, 12, wrong, true);
  ASSERT_EQ(res.responses.size(), 1u);
  const auto& answered = res.responses[0].partitions;
  ASSERT_EQ(answered.size(), static_cast<std::size_t>(partitions) + 1);
  EXPECT_EQ(records_in(answered[0]), 1u);
  EXPECT_EQ(records_in(answered[1]), 2u);
  EXPECT_EQ(answered[partitions - 2].errorCode, 0);
  EXPECT_EQ(answered[partitions - 2].highWatermark, high_watermark(partitions - 2));
  EXPECT_EQ(answered[partitions - 1].errorCode, 1) << "OFFSET_OUT_OF_RANGE";
  EXPECT_EQ(answered[partitions - 1].highWatermark, -1);
  EXPECT_EQ(answered[partitions].partitionIndex, partitions);
  EXPECT_EQ(answered[partitions].errorCode, 3) << "UNKNOWN_TOPIC_OR_PARTITION";
}

TEST(KafkaFetchLimits, ALongPollOverSeveralPartitionsIsAnsweredWhenDataArrivesAndKeepsToMaxBytes) {
  broker_fixture f;
  must(f.connect().create_topic("polled", 6));
  raw_kafka consumer{f.server->kafka_port()};
  raw_kafka producer{f.server->kafka_port()};
  // A minute's wait for a mebibyte, over six empty partitions, with room for three batches:
  // only an answer full of maxBytes ends it before the minute.
  const auto asked = std::chrono::steady_clock::now();
  consumer.send(1, 12, 41, fetch_of("polled", 6, 10000, 1 << 20, 60000), true);
  ASSERT_TRUE(wait_until([&] { return f.metrics().fetches_waiting() == 6; }));
  // Data comes to four partitions, one batch each: the fourth does not fit.
  for (std::int32_t p = 0; p < 4; ++p) produce_large(producer, "polled", p);
  std::int32_t corr = 0;
  auto bytes = consumer.receive(corr, true);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(corr, 41);
  // Far below the minute the broker would have waited, on however slow a machine.
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 30s);
  const auto res = decode_as<msg::FetchResponse>(*bytes, 12);
  ASSERT_EQ(res.responses.size(), 1u);
  const auto& parts = res.responses[0].partitions;
  ASSERT_EQ(parts.size(), 6u);
  for (std::int32_t p = 0; p < 6; ++p) {
    const auto& got = parts[static_cast<std::size_t>(p)];
    EXPECT_EQ(got.partitionIndex, p);
    EXPECT_EQ(got.errorCode, 0) << "partition " << p;
    EXPECT_EQ(records_in(got), p < 3 ? 1u : 0u) << "partition " << p;
    EXPECT_EQ(got.highWatermark, p < 4 ? 1 : 0) << "partition " << p;
  }
  // The polls left are cancelled with the answer, not held to their minute.
  EXPECT_TRUE(wait_until([&] { return f.metrics().fetches_waiting() == 0; }, 10s));
}
