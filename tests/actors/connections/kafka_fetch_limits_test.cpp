// A Kafka Fetch over many partitions against a whole broker: partitions filled in request
// order up to the request's maxBytes (the first batch whole even past it, KIP-74), those
// after the limit answered with no records but with their bounds and their errors, a
// partition with data among idle ones filling the room they leave up to its own limit, and a
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

// A batch of one record of 100,001 bytes.
void produce_100k(raw_kafka& c, const std::string& topic, std::int32_t partition) {
  auto res = call<msg::ProduceResponse>(
      c, 0, 9,
      produce_request(topic, partition,
                      record_batch_bytes(std::string(100'000, 'h'), 1, kafka::compression_type::none)),
      true);
  ASSERT_EQ(res.responses.at(0).partitionResponses.at(0).errorCode, 0);
}

// Partitions 0 to count-1 of `topic`, each from offset 0 with a limit of `partition_max`.
msg::FetchRequest fetch_of(const std::string& topic, std::int32_t count, std::int32_t max_bytes,
                           std::int32_t min_bytes, std::int32_t max_wait_ms,
                           std::int32_t partition_max = 1 << 20) {
  msg::FetchRequest fetch;
  fetch.maxWaitMs = max_wait_ms;
  fetch.minBytes = min_bytes;
  fetch.maxBytes = max_bytes;
  fetch.topics.push_back({topic, {}, {}});
  for (std::int32_t p = 0; p < count; ++p)
    fetch.topics[0].partitions.push_back({p, -1, 0, -1, -1, partition_max, {}});
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

// The bytes of records a partition brings, as sent.
std::size_t bytes_in(const partition_data& p) { return p.records ? p.records->size() : 0; }

// The bytes of records the whole answer brings.
std::size_t answer_bytes(const msg::FetchResponse& res) {
  std::size_t n = 0;
  for (const auto& t : res.responses)
    for (const auto& p : t.partitions) n += bytes_in(p);
  return n;
}

// A partition's batches start at offset 0 and follow on with no gap: what a refill brought
// continues what the partition's first read did.
void expect_contiguous_from_0(const partition_data& p) {
  if (!p.records || p.records->empty()) return;
  auto batches = kafka::decode_record_batches(p.records->owned());
  ASSERT_TRUE(batches);
  std::int64_t next = 0;
  for (const auto& b : *batches) {
    EXPECT_EQ(b.base_offset, next);
    next = b.base_offset + static_cast<std::int64_t>(b.records.size());
  }
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

// KIP-74: partitions are filled in request order, each up to its own limit and what the
// request has left. Each read brings at most its share of the answer (a quarter here), and
// once the reads are back the partition they cut short is read again for the room the idle
// ones left: 30 batches of about 100 KB in partition 0 alone, a maxBytes of 3,000,000 and a
// partition limit of 10 MiB bring about 3 MB from it, not a quarter of that.
TEST(KafkaFetchLimits, APartitionWithDataAmongIdleOnesFillsTheRoomTheyLeave) {
  broker_fixture f;
  must(f.connect().create_topic("lone", 4));
  raw_kafka c{f.server->kafka_port()};
  for (int i = 0; i < 30; ++i) produce_100k(c, "lone", 0);

  auto res = call<msg::FetchResponse>(c, 1, 12, fetch_of("lone", 4, 3'000'000, 1, 0, 10 << 20), true);
  ASSERT_EQ(res.responses.size(), 1u);
  const auto& parts = res.responses[0].partitions;
  ASSERT_EQ(parts.size(), 4u);
  for (const auto& p : parts) EXPECT_EQ(p.errorCode, 0) << "partition " << p.partitionIndex;
  EXPECT_EQ(parts[0].highWatermark, 30);
  EXPECT_GE(bytes_in(parts[0]), 2'500'000u);
  expect_contiguous_from_0(parts[0]);
  for (std::size_t p = 1; p < 4; ++p) EXPECT_EQ(bytes_in(parts[p]), 0u) << "partition " << p;
  EXPECT_LE(answer_bytes(res), 3'000'000u);
}

// Among 200 partitions a share is under 100 KB (the connection's 16 MiB output budget cut
// 200 ways): the one partition with data still brings up to its own limit (1 MiB of its
// 1.5 MB), as Kafka's answer would.
TEST(KafkaFetchLimits, APartitionWithDataAmongManyIdleOnesBringsUpToItsOwnLimit) {
  broker_fixture f;
  must(f.connect().create_topic("hot", 200));
  raw_kafka c{f.server->kafka_port()};
  for (int i = 0; i < 15; ++i) produce_100k(c, "hot", 0);

  constexpr std::int32_t partition_max = 1 << 20;
  auto res = call<msg::FetchResponse>(c, 1, 12, fetch_of("hot", 200, 50 << 20, 1, 0, partition_max),
                                      true);
  ASSERT_EQ(res.responses.size(), 1u);
  const auto& parts = res.responses[0].partitions;
  ASSERT_EQ(parts.size(), 200u);
  EXPECT_EQ(parts[0].errorCode, 0);
  EXPECT_GE(bytes_in(parts[0]), 900'000u);
  EXPECT_LE(bytes_in(parts[0]), static_cast<std::size_t>(partition_max));
  expect_contiguous_from_0(parts[0]);
  for (std::size_t p = 1; p < parts.size(); ++p) {
    EXPECT_EQ(parts[p].errorCode, 0) << "partition " << p;
    EXPECT_EQ(bytes_in(parts[p]), 0u) << "partition " << p;
  }
}

// The refill happens before minBytes is weighed: a long poll whose one partition with data
// holds minBytes past its share is answered with them, not held for its wait (the other
// partitions never get data) and then answered with a share.
TEST(KafkaFetchLimits, ALongPollWhosePartitionHoldsMinBytesPastItsShareIsAnsweredWithThem) {
  broker_fixture f;
  must(f.connect().create_topic("deep", 200));
  raw_kafka c{f.server->kafka_port()};
  for (int i = 0; i < 15; ++i) produce_100k(c, "deep", 0);

  auto res = call<msg::FetchResponse>(c, 1, 12, fetch_of("deep", 200, 50 << 20, 500'000, 30'000), true);
  ASSERT_EQ(res.responses.size(), 1u);
  const auto& parts = res.responses[0].partitions;
  ASSERT_EQ(parts.size(), 200u);
  EXPECT_EQ(parts[0].errorCode, 0);
  EXPECT_GE(bytes_in(parts[0]), 500'000u) << "minBytes";
  expect_contiguous_from_0(parts[0]);
}

// Whatever maxBytes, the answer holds no more, but for its first batch: partitions 0 and 2
// hold 20 batches of about 100 KB each. Below one batch, the first comes whole and alone; at
// 150,000 the shares leave less room than a refill is made for; at 1,000,000 and 3,000,000
// refilled partitions still keep to it, and with room for 29 batches partition 0 brings all of
// its own before partition 2's (request order).
TEST(KafkaFetchLimits, ARefilledAnswerKeepsToMaxBytesButForItsFirstBatch) {
  broker_fixture f;
  must(f.connect().create_topic("pair", 4));
  raw_kafka c{f.server->kafka_port()};
  for (int i = 0; i < 20; ++i) {
    produce_100k(c, "pair", 0);
    produce_100k(c, "pair", 2);
  }

  for (const std::int32_t max_bytes : {50'000, 150'000, 1'000'000, 3'000'000}) {
    auto res = call<msg::FetchResponse>(c, 1, 12, fetch_of("pair", 4, max_bytes, 1, 0, 10 << 20), true);
    ASSERT_EQ(res.responses.size(), 1u);
    const auto& parts = res.responses[0].partitions;
    ASSERT_EQ(parts.size(), 4u);
    for (const auto& p : parts) {
      EXPECT_EQ(p.errorCode, 0) << "maxBytes " << max_bytes << ", partition " << p.partitionIndex;
      expect_contiguous_from_0(p);
    }
    if (max_bytes < 100'000) {
      EXPECT_EQ(records_in(parts[0]), 1u) << "the first batch, whole";
      EXPECT_EQ(records_in(parts[2]), 0u);
      continue;
    }
    EXPECT_LE(answer_bytes(res), static_cast<std::size_t>(max_bytes)) << "maxBytes " << max_bytes;
    EXPECT_GE(records_in(parts[0]), 1u) << "maxBytes " << max_bytes;
    if (max_bytes == 3'000'000) {
      EXPECT_EQ(records_in(parts[0]), 20u);
      EXPECT_GE(records_in(parts[2]), 7u);
    }
  }
}

// A long poll answered when data comes is refilled too: four empty partitions each poll for
// their share (a quarter of 3,000,000 bytes, seven batches), then 15 batches of about 100 KB
// come to partition 0, 15 to partition 1, then 15 to partition 2. minBytes (1,500,000) is
// reached once partition 2 brings a batch, when partition 0 holds all of its 15 but its
// polls brought only its share: the answer carries the other 8 too, in order after them.
TEST(KafkaFetchLimits, ALongPollAnsweredWhenDataComesIsRefilledFromThePartitionsItsSharesCut) {
  broker_fixture f;
  must(f.connect().create_topic("woken", 4));
  raw_kafka consumer{f.server->kafka_port()};
  raw_kafka producer{f.server->kafka_port()};
  consumer.send(1, 12, 43, fetch_of("woken", 4, 3'000'000, 1'500'000, 60000, 10 << 20), true);
  ASSERT_TRUE(wait_until([&] { return f.metrics().fetches_waiting() == 4; }));
  for (std::int32_t p = 0; p < 3; ++p)
    for (int i = 0; i < 15; ++i) produce_100k(producer, "woken", p);
  std::int32_t corr = 0;
  auto bytes = consumer.receive(corr, true);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(corr, 43);
  const auto res = decode_as<msg::FetchResponse>(*bytes, 12);
  ASSERT_EQ(res.responses.size(), 1u);
  const auto& parts = res.responses[0].partitions;
  ASSERT_EQ(parts.size(), 4u);
  for (const auto& p : parts) {
    EXPECT_EQ(p.errorCode, 0) << "partition " << p.partitionIndex;
    expect_contiguous_from_0(p);
  }
  EXPECT_EQ(records_in(parts[0]), 15u);
  EXPECT_GE(answer_bytes(res), 1'500'000u) << "minBytes";
  EXPECT_LE(answer_bytes(res), 3'000'000u);
  EXPECT_TRUE(wait_until([&] { return f.metrics().fetches_waiting() == 0; }, 10s));
}

// A compressed batch served as its producer sent it counts against the limits at the size it
// is sent, as Kafka counts a batch at its size in the log: ten gzip batches of 500 KB of
// records each, a few hundred bytes each as sent, all come within a partition limit of 1 MiB
// (counted at their stored, uncompressed size two would). Below one batch, the first whole.
TEST(KafkaFetchLimits, ACompressedBatchServedAsSentCountsItsSizeAsSentAgainstTheLimits) {
  broker_fixture f;
  must(f.connect().create_topic("packed", 1));
  raw_kafka c{f.server->kafka_port()};
  for (int i = 0; i < 10; ++i) {
    auto res = call<msg::ProduceResponse>(
        c, 0, 9,
        produce_request("packed", 0,
                        record_batch_bytes(std::string(100'000, 'z'), 5, kafka::compression_type::gzip)),
        true);
    ASSERT_EQ(res.responses.at(0).partitionResponses.at(0).errorCode, 0);
  }

  auto res = call<msg::FetchResponse>(c, 1, 12, fetch_of("packed", 1, 50 << 20, 1, 0, 1 << 20), true);
  ASSERT_EQ(res.responses.size(), 1u);
  ASSERT_EQ(res.responses[0].partitions.size(), 1u);
  const auto& all = res.responses[0].partitions[0];
  EXPECT_EQ(all.errorCode, 0);
  EXPECT_EQ(all.highWatermark, 50);
  EXPECT_EQ(records_in(all), 50u);
  EXPECT_LE(bytes_in(all), static_cast<std::size_t>(1 << 20));
  expect_contiguous_from_0(all);

  res = call<msg::FetchResponse>(c, 1, 12, fetch_of("packed", 1, 50 << 20, 1, 0, 100), true);
  ASSERT_EQ(res.responses.size(), 1u);
  ASSERT_EQ(res.responses[0].partitions.size(), 1u);
  EXPECT_EQ(records_in(res.responses[0].partitions[0]), 5u) << "the first batch, whole";
}

// Kafka answers a connection's requests one at a time, each with its data: a Fetch pipelined
// behind a long poll parked on an empty partition (holding the whole output budget, as a
// default consumer's 50 MiB asks) still brings its first batch, rather than nothing at the
// poll's deadline. Its answer is made while the poll is still parked (messages_out counts
// it then) and leaves after the poll's, in request order.
TEST(KafkaFetchLimits, AFetchPipelinedBehindAParkedLongPollStillGetsItsRecords) {
  broker_fixture f;
  must(f.connect().create_topic("queued", 2));
  raw_kafka consumer{f.server->kafka_port()};
  raw_kafka producer{f.server->kafka_port()};
  for (int i = 0; i < 7; ++i) produce_large(producer, "queued", 1);

  consumer.send(1, 12, 51, fetch_of("queued", 1, 50 << 20, 1, 60000), true);
  ASSERT_TRUE(wait_until([&] { return f.metrics().fetches_waiting() == 1; }));
  auto behind = fetch_of("queued", 1, 50 << 20, 1, 0);
  behind.topics[0].partitions[0].partition = 1;
  consumer.send(1, 12, 52, behind, true);
  ASSERT_TRUE(wait_until([&] { return f.metrics().messages_out_total(protocol_kind::kafka) > 0; }))
      << "the pipelined Fetch was answered with no records";
  EXPECT_EQ(f.metrics().fetches_waiting(), 1) << "made while the long poll was parked";

  // The long poll is answered when data comes, and the answers leave in request order.
  produce_large(producer, "queued", 0);
  std::int32_t corr = 0;
  auto first = consumer.receive(corr, true);
  ASSERT_TRUE(first);
  EXPECT_EQ(corr, 51);
  auto second = consumer.receive(corr, true);
  ASSERT_TRUE(second);
  EXPECT_EQ(corr, 52);
  const auto polled = decode_as<msg::FetchResponse>(*first, 12);
  ASSERT_EQ(polled.responses.size(), 1u);
  ASSERT_EQ(polled.responses[0].partitions.size(), 1u);
  EXPECT_EQ(records_in(polled.responses[0].partitions[0]), 1u);
  const auto res = decode_as<msg::FetchResponse>(*second, 12);
  ASSERT_EQ(res.responses.size(), 1u);
  ASSERT_EQ(res.responses[0].partitions.size(), 1u);
  const auto& got = res.responses[0].partitions[0];
  EXPECT_EQ(got.errorCode, 0);
  EXPECT_EQ(got.highWatermark, 7);
  EXPECT_GE(records_in(got), 1u);
  expect_contiguous_from_0(got);
}

// Only one Fetch at a time is made alone beside a parked long poll: a long poll made on an
// idle connection sets its promise aside, a second pipelined behind it is made alone (it may
// bring its first batch past the output budget) but parks holding its own promise, so a third
// pipelined behind both is not alone and brings only what the budget leaves it: here nothing,
// as the first poll holds the whole budget (1 MiB). Were each parked poll to set its promise
// aside, every Fetch pipelined behind them would be made alone in turn, each with a batch past
// the budget. So too with maxBytes 0, whose answers promise themselves nothing: one made alone
// still holds a byte of the budget.
TEST(KafkaFetchLimits, AFetchPipelinedBehindTwoParkedLongPollsIsNotMadeAlone) {
  broker_config cfg;
  cfg.max_queued_output_bytes_per_connection = 1 << 20;
  broker_fixture f{false, cfg};
  raw_kafka producer{f.server->kafka_port()};
  for (const std::int32_t max_bytes : {50 << 20, 0}) {
    SCOPED_TRACE("maxBytes " + std::to_string(max_bytes));
    const auto topic = "chained-" + std::to_string(max_bytes);
    must(f.connect().create_topic(topic, 3));
    produce_large(producer, topic, 2);
    raw_kafka consumer{f.server->kafka_port()};  // idle: nothing queued, held or promised
    auto of_partition = [&](std::int32_t p, std::int32_t max_wait_ms) {
      auto q = fetch_of(topic, 1, max_bytes, 1, max_wait_ms);
      q.topics[0].partitions[0].partition = p;
      return q;
    };
    const auto fetches = f.metrics().requests_total(protocol_kind::kafka, request_kind::fetch);
    const auto out = f.metrics().messages_out_total(protocol_kind::kafka);

    // Two long polls of empty partitions park, then a Fetch of partition 2 (one batch) is
    // answered at once: with no records, its answer held behind theirs.
    consumer.send(1, 12, 61, of_partition(0, 60000), true);
    ASSERT_TRUE(wait_until([&] { return f.metrics().fetches_waiting() == 1; }));
    consumer.send(1, 12, 62, of_partition(1, 60000), true);
    ASSERT_TRUE(wait_until([&] { return f.metrics().fetches_waiting() == 2; }));
    consumer.send(1, 12, 63, of_partition(2, 0), true);
    ASSERT_TRUE(wait_until([&] {
      return f.metrics().requests_total(protocol_kind::kafka, request_kind::fetch) == fetches + 1;
    }));
    EXPECT_EQ(f.metrics().messages_out_total(protocol_kind::kafka), out)
        << "the third Fetch was made alone: it brought a batch past the budget";
    EXPECT_EQ(f.metrics().fetches_waiting(), 2);

    // Data wakes the polls, each made alone (the first on the idle connection, the second
    // beside it): each brings its batch whole. The answers leave in request order.
    produce_large(producer, topic, 0);
    produce_large(producer, topic, 1);
    for (const std::int32_t expected : {61, 62, 63}) {
      std::int32_t corr = 0;
      auto bytes = consumer.receive(corr, true);
      ASSERT_TRUE(bytes);
      ASSERT_EQ(corr, expected);
      const auto res = decode_as<msg::FetchResponse>(*bytes, 12);
      ASSERT_EQ(res.responses.size(), 1u);
      ASSERT_EQ(res.responses[0].partitions.size(), 1u);
      const auto& got = res.responses[0].partitions[0];
      EXPECT_EQ(got.errorCode, 0) << "correlation " << expected;
      EXPECT_EQ(got.highWatermark, 1) << "correlation " << expected;
      EXPECT_EQ(records_in(got), expected == 63 ? 0u : 1u) << "correlation " << expected;
    }
    EXPECT_TRUE(wait_until([&] { return f.metrics().fetches_waiting() == 0; }, 10s));
  }
}
