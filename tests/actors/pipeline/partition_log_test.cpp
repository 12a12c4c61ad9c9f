#include "actors/pipeline/partition_log.hpp"

#include <gtest/gtest.h>

#include "protocol/codec_manager.hpp"
#include "protocol/frame.hpp"

using namespace portask;

namespace {

framed_batch batch(std::uint32_t records, std::size_t bytes = 100) {
  return {protocol::shared_bytes::copy_of(protocol::buffer(bytes, 0xAB)), records, 1000};
}

append_outcome all_ok(std::size_t n) { return {std::vector<errc>(n, errc::ok)}; }

// A publish as the bridge frames it for partition t/0: binary, no offsets, timestamps set;
// message values "v<first>", "v<first+1>", ...
framed_batch real_batch(int first, std::uint32_t records, std::int64_t ts,
                        std::size_t value_bytes = 10) {
  protocol::message_batch b;
  for (std::uint32_t i = 0; i < records; ++i) {
    protocol::message m;
    m.topic = i == 0 ? "t" : "";
    m.partition = 0;
    m.offset = protocol::no_offset;
    m.timestamp_ms = ts + i;
    m.value = "v" + std::to_string(first + static_cast<int>(i));
    m.value->resize(std::max(m.value->size(), value_bytes), '.');
    b.messages.push_back(std::move(m));
  }
  protocol::codec_manager codecs;
  protocol::buffer frame;
  EXPECT_FALSE(codecs.append_batch_frame(b, {}, protocol::message_type::publish, frame));
  return {protocol::shared_bytes::adopt(std::move(frame)), records, ts + records - 1};
}

// The values stored in a frame, in order.
std::vector<std::string> values_of(const protocol::shared_bytes& frame) {
  protocol::codec_manager codecs;
  auto view = protocol::decode_frame(frame);
  EXPECT_TRUE(view);
  if (!view) return {};
  auto b = codecs.decode(view->header.flags, view->payload);
  EXPECT_TRUE(b);
  std::vector<std::string> out;
  if (b)
    for (const auto& m : b->messages) out.push_back(m.value->substr(0, m.value->find('.')));
  return out;
}

constexpr std::size_t merging = 64 * 1024;

}  // namespace

TEST(PartitionLog, SmallPublishesQueuedTogetherAreStoredAsOneBatchEachWithItsOwnOffsets) {
  tail_budget tails{1 << 20, 1 << 20};
  partition_log log{{"t", 0}, tails};
  log.warm_up();
  log.recovered({0, 10});
  const auto a = log.enqueue(real_batch(0, 1, 5000));
  const auto b = log.enqueue(real_batch(1, 2, 4000));  // older timestamps than the first
  const auto c = log.enqueue(real_batch(3, 1, 6000));
  auto set = log.take_write_set(merging);
  ASSERT_TRUE(set);
  ASSERT_EQ(set->batches.size(), 1u) << "one store entry for the three";
  const auto& stored = set->batches[0];
  EXPECT_EQ(stored.base_offset, 10);
  EXPECT_EQ(stored.record_count, 4u);
  EXPECT_EQ(stored.max_timestamp, 6000);
  EXPECT_FALSE(stored.producer.present());
  EXPECT_EQ(values_of(stored.frame), (std::vector<std::string>{"v0", "v1", "v2", "v3"}));
  EXPECT_EQ(log.high_watermark(), 10);

  auto done = log.write_completed(all_ok(1));
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(done[0].ticket, a);
  EXPECT_EQ(done[1].ticket, b);
  EXPECT_EQ(done[2].ticket, c);
  EXPECT_EQ(done[0].result.base_offset, 10);
  EXPECT_EQ(done[0].result.count, 1u);
  EXPECT_EQ(done[1].result.base_offset, 11);
  EXPECT_EQ(done[1].result.count, 2u);
  EXPECT_EQ(done[2].result.base_offset, 13);
  for (const auto& d : done) EXPECT_EQ(d.error, errc::ok);
  EXPECT_EQ(log.high_watermark(), 14);
  EXPECT_EQ(log.bounds().end_bytes, stored.frame.size());

  // A read from inside the merged batch gets the whole batch (readers skip to the offset).
  fetch_result out;
  ASSERT_EQ(log.read(12, 1 << 20, out), partition_log::read_status::served);
  ASSERT_EQ(out.batches.size(), 1u);
  EXPECT_EQ(out.batches[0].base_offset, 10);
  EXPECT_EQ(out.batches[0].record_count, 4u);
}

TEST(PartitionLog, IdempotentKafkaAndLargePublishesAreStoredAsTheyCame) {
  tail_budget tails{1 << 20, 1 << 20};
  partition_log log{{"t", 0}, tails};
  log.warm_up();
  log.recovered({0, 0});
  auto idempotent = real_batch(2, 1, 1000);
  idempotent.producer = {7, 0, 0, 0};
  auto from_kafka = real_batch(4, 1, 1000);
  from_kafka.kafka_view = protocol::shared_bytes::copy_of(protocol::buffer(61, 0x01));
  log.enqueue(real_batch(0, 1, 1000));
  log.enqueue(real_batch(1, 1, 1000));
  log.enqueue(std::move(idempotent));
  log.enqueue(real_batch(3, 1, 1000));
  log.enqueue(std::move(from_kafka));
  log.enqueue(real_batch(5, 1, 1000, 40 * 1024));  // more than half the merged limit
  log.enqueue(real_batch(6, 1, 1000));
  log.enqueue(real_batch(7, 1, 1000));
  auto set = log.take_write_set(merging);
  ASSERT_TRUE(set);
  std::vector<std::vector<std::string>> stored;
  for (const auto& b : set->batches) stored.push_back(values_of(b.frame));
  EXPECT_EQ(stored, (std::vector<std::vector<std::string>>{
                        {"v0", "v1"}, {"v2"}, {"v3"}, {"v4"}, {"v5"}, {"v6", "v7"}}));
  EXPECT_TRUE(set->batches[1].producer.present());
  std::int64_t expected = 0;
  for (const auto& b : set->batches) {
    EXPECT_EQ(b.base_offset, expected);
    expected += b.record_count;
  }
  auto done = log.write_completed(all_ok(set->batches.size()));
  ASSERT_EQ(done.size(), 8u);
  for (std::size_t i = 0; i < done.size(); ++i) {
    EXPECT_EQ(done[i].error, errc::ok);
    EXPECT_EQ(done[i].result.base_offset, static_cast<std::int64_t>(i));
  }
  // The Kafka view goes to the tail with its batch.
  fetch_result out;
  ASSERT_EQ(log.read(4, 1 << 20, out), partition_log::read_status::served);
  ASSERT_FALSE(out.kafka_views.empty());
  EXPECT_EQ(out.kafka_views[0].size(), 61u);
}

TEST(PartitionLog, AMergedBatchFillsAtMostTheLimitAndFramesThatCannotMergeGoOneByOne) {
  tail_budget tails{1 << 20, 1 << 20};
  partition_log log{{"t", 0}, tails};
  log.warm_up();
  log.recovered({0, 0});
  for (int i = 0; i < 6; ++i) log.enqueue(real_batch(i, 1, 1000, 20 * 1024));
  log.enqueue(batch(1));  // not a frame: stored as it is
  log.enqueue(batch(1));
  auto set = log.take_write_set(merging);
  ASSERT_TRUE(set);
  std::vector<std::uint32_t> counts;
  for (const auto& b : set->batches) {
    counts.push_back(b.record_count);
    EXPECT_LE(b.frame.size(), merging);
  }
  EXPECT_EQ(counts, (std::vector<std::uint32_t>{3, 3, 1, 1}));
  EXPECT_EQ(values_of(set->batches[1].frame), (std::vector<std::string>{"v3", "v4", "v5"}));
  EXPECT_EQ(set->batches[3].base_offset, 7);
}

TEST(PartitionLog, PublishesThatDoNotMergeGoAsTheyCameWithTheirOwnOffsets) {
  tail_budget tails{1 << 20, 1 << 20};
  partition_log log{{"t", 0}, tails};
  log.warm_up();
  log.recovered({0, 0});
  // A binary publish whose second message names its own topic: it frames and scans, but
  // its batch does not inherit its header's topic, so it cannot be merged.
  protocol::message_batch own_topic;
  for (const char* topic : {"t", "elsewhere"}) {
    protocol::message m;
    m.topic = topic;
    m.offset = protocol::no_offset;
    m.timestamp_ms = 1000;
    m.value = "x";
    own_topic.messages.push_back(std::move(m));
  }
  protocol::codec_manager codecs;
  protocol::buffer frame;
  ASSERT_FALSE(codecs.append_batch_frame(own_topic, {}, protocol::message_type::publish, frame));
  log.enqueue(real_batch(0, 1, 1000));
  log.enqueue({protocol::shared_bytes::adopt(std::move(frame)), 2, 1000});
  log.enqueue(real_batch(3, 1, 1000));
  auto set = log.take_write_set(merging);
  ASSERT_TRUE(set);
  ASSERT_EQ(set->batches.size(), 3u);
  EXPECT_EQ(set->batches[0].base_offset, 0);
  EXPECT_EQ(set->batches[1].base_offset, 1);
  EXPECT_EQ(set->batches[2].base_offset, 3);
  auto done = log.write_completed(all_ok(3));
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(done[2].result.base_offset, 3);
  EXPECT_EQ(log.high_watermark(), 4);
}

TEST(PartitionLog, PublishesWhoseMergedFrameWouldPassTheLimitGoAsTheyCame) {
  tail_budget tails{1 << 20, 1 << 20};
  partition_log log{{"t", 0}, tails};
  log.warm_up();
  log.recovered({0, 0});
  // Two days apart, each timestamp delta takes 5 bytes instead of 1 once merged: 500 tiny
  // messages grow by about 2 KB, past a 4 KiB limit the parts fit together.
  auto tiny = [](std::int64_t ts) {
    protocol::message_batch b;
    for (int i = 0; i < 250; ++i) {
      protocol::message m;
      m.topic = i == 0 ? "t" : "";
      m.offset = protocol::no_offset;
      m.timestamp_ms = ts;
      b.messages.push_back(std::move(m));
    }
    protocol::codec_manager codecs;
    protocol::buffer frame;
    EXPECT_FALSE(codecs.append_batch_frame(b, {}, protocol::message_type::publish, frame));
    return framed_batch{protocol::shared_bytes::adopt(std::move(frame)), 250, ts};
  };
  const std::int64_t now = 1'700'000'000'000, two_days = 2 * 86'400'000;
  log.enqueue(real_batch(0, 1, now));
  log.enqueue(tiny(now - two_days));
  log.enqueue(tiny(now - two_days));
  constexpr std::size_t limit = 4096;
  auto set = log.take_write_set(limit);
  ASSERT_TRUE(set);
  ASSERT_EQ(set->batches.size(), 3u);
  for (const auto& b : set->batches) EXPECT_LE(b.frame.size(), limit / 2);
  EXPECT_EQ(set->batches[2].base_offset, 251);
}

TEST(PartitionLog, EveryPublishInAFailedMergedBatchFailsAndThoseAfterItAreUnknown) {
  tail_budget tails{1 << 20, 1 << 20};
  partition_log log{{"t", 0}, tails};
  log.warm_up();
  log.recovered({0, 0});
  log.enqueue(real_batch(0, 1, 1000));
  log.enqueue(real_batch(1, 1, 1000));
  log.enqueue(real_batch(2, 1, 1000, 40 * 1024));
  auto set = log.take_write_set(merging);
  ASSERT_TRUE(set);
  ASSERT_EQ(set->batches.size(), 2u);
  auto done = log.write_completed({{errc::storage_unavailable, errc::ok}});
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(done[0].error, errc::storage_unavailable);
  EXPECT_EQ(done[1].error, errc::storage_unavailable);
  EXPECT_EQ(done[2].error, errc::timeout) << "stored after a failed batch: outcome unknown";
  EXPECT_EQ(log.high_watermark(), 0);
  EXPECT_FALSE(log.ready()) << "recovery reads the true bounds first";
}

TEST(PartitionLog, NothingIsWrittenBeforeRecovery) {
  tail_budget tails{1 << 20, 1 << 20};
  partition_log log{{"t", 0}, tails};
  log.warm_up();
  log.enqueue(batch(1));
  EXPECT_FALSE(log.take_write_set());
  log.recovered({0, 0});
  EXPECT_TRUE(log.take_write_set());
}

TEST(PartitionLog, OffsetsContinueFromTheRecoveredBounds) {
  tail_budget tails{1 << 20, 1 << 20};
  partition_log log{{"t", 3}, tails};
  log.warm_up();
  log.recovered({10, 42});
  log.enqueue(batch(5));
  log.enqueue(batch(2));
  auto set = log.take_write_set();
  ASSERT_TRUE(set);
  EXPECT_EQ(set->tp, (topic_partition{"t", 3}));
  ASSERT_EQ(set->batches.size(), 2u);
  EXPECT_EQ(set->batches[0].base_offset, 42);
  EXPECT_EQ(set->batches[1].base_offset, 47);
  EXPECT_EQ(log.high_watermark(), 42) << "nothing is visible before the store acknowledges";
  auto done = log.write_completed(all_ok(2));
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].result.base_offset, 42);
  EXPECT_EQ(done[1].result.base_offset, 47);
  EXPECT_EQ(done[1].result.count, 2u);
  EXPECT_EQ(log.high_watermark(), 49);
}

// A store that lost acknowledged records (an older snapshot, evicted keys) reads back a
// shorter log: its offsets are not handed out again, which consumers past them would skip.
TEST(PartitionLog, AcknowledgedOffsetsAreNotReusedWhenTheStoreLostThem) {
  tail_budget tails{1 << 20, 1 << 20};
  partition_log log{{"t", 0}, tails};
  log.warm_up();
  EXPECT_EQ(log.recovered({0, 10}), 0);
  log.enqueue(batch(5));
  ASSERT_TRUE(log.take_write_set());
  log.write_completed(all_ok(1));
  ASSERT_EQ(log.high_watermark(), 15);
  EXPECT_EQ(log.recovered({0, 12}), 3) << "offsets 12-14 were acknowledged and are gone";
  EXPECT_EQ(log.high_watermark(), 15);
  // A read in the lost range waits for what comes after it, as one at the end does.
  fetch_result r;
  EXPECT_EQ(log.read(13, 1 << 20, r), partition_log::read_status::wait);
  log.enqueue(batch(1));
  auto set = log.take_write_set();
  ASSERT_TRUE(set);
  EXPECT_EQ(set->batches.at(0).base_offset, 15);
  // A store that holds more than was acknowledged here (a write whose answer was lost) is
  // taken as it is.
  log.write_completed(all_ok(1));
  EXPECT_EQ(log.recovered({0, 20}), 0);
  EXPECT_EQ(log.high_watermark(), 20);
}

TEST(PartitionLog, OneSetInFlightAndTheRestGroupedIntoTheNext) {
  tail_budget tails{1 << 20, 1 << 20};
  partition_log log{{"t", 0}, tails};
  log.warm_up();
  log.recovered({0, 0});
  log.enqueue(batch(1));
  ASSERT_TRUE(log.take_write_set());
  log.enqueue(batch(1));
  log.enqueue(batch(1));
  log.enqueue(batch(1));
  EXPECT_FALSE(log.take_write_set()) << "at most one append_set in flight";
  log.write_completed(all_ok(1));
  auto next = log.take_write_set();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->batches.size(), 3u);
}

TEST(PartitionLog, AFailedWriteIsReportedAndForcesRecovery) {
  tail_budget tails{1 << 20, 1 << 20};
  partition_log log{{"t", 0}, tails};
  log.warm_up();
  log.recovered({0, 0});
  log.enqueue(batch(2));
  log.enqueue(batch(2));
  ASSERT_TRUE(log.take_write_set());
  auto done = log.write_completed({{errc::ok, errc::storage_unavailable}});
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].error, errc::ok);
  EXPECT_EQ(done[1].error, errc::storage_unavailable);
  EXPECT_FALSE(log.ready()) << "offsets are re-read from the store before more are assigned";
  log.enqueue(batch(1));
  EXPECT_FALSE(log.take_write_set());
  log.recovered({0, 2});  // the store holds only the first batch
  auto set = log.take_write_set();
  ASSERT_TRUE(set);
  EXPECT_EQ(set->batches[0].base_offset, 2) << "the failed batch's offsets are reused";
}

TEST(PartitionLog, WriterLossFailsTheWholeSetRetriably) {
  tail_budget tails{1 << 20, 1 << 20};
  partition_log log{{"t", 0}, tails};
  log.warm_up();
  log.recovered({0, 0});
  log.enqueue(batch(1));
  ASSERT_TRUE(log.take_write_set());
  auto done = log.write_failed(errc::not_ready);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].error, errc::not_ready);
  EXPECT_TRUE(is_retriable(done[0].error));
  EXPECT_FALSE(log.ready());
}

TEST(PartitionLog, TailServesReadsFromAnyOffsetInItsRange) {
  tail_budget tails{1 << 20, 1 << 20};
  partition_log log{{"t", 0}, tails};
  log.warm_up();
  log.recovered({0, 0});
  for (int i = 0; i < 3; ++i) log.enqueue(batch(10));
  log.take_write_set();
  log.write_completed(all_ok(3));
  fetch_result out;
  EXPECT_EQ(log.read(15, 1 << 20, out), partition_log::read_status::served);
  ASSERT_EQ(out.batches.size(), 2u);
  EXPECT_EQ(out.batches[0].base_offset, 10) << "the batch containing the offset, whole";
  EXPECT_EQ(out.high_watermark, 30);
  EXPECT_EQ(log.read(30, 1 << 20, out), partition_log::read_status::wait);
  EXPECT_EQ(log.read(31, 1 << 20, out), partition_log::read_status::out_of_range);
  EXPECT_EQ(log.read(0, 150, out), partition_log::read_status::served);
  EXPECT_EQ(out.batches.size(), 1u) << "max_bytes limits, but one batch always comes";
}

TEST(PartitionLog, TailIsBoundedAndOlderReadsGoToTheStore) {
  tail_budget tails{1000, 1000};
  partition_log log{{"t", 0}, tails};
  log.warm_up();
  log.recovered({0, 0});
  for (int i = 0; i < 50; ++i) log.enqueue(batch(1, 100));
  log.take_write_set();
  log.write_completed(all_ok(50));
  EXPECT_LE(log.tail_bytes(), 1000u);
  EXPECT_EQ(log.tail_batches(), 10u);
  fetch_result out;
  EXPECT_EQ(log.read(0, 1 << 20, out), partition_log::read_status::needs_store);
  EXPECT_EQ(log.read(45, 1 << 20, out), partition_log::read_status::served);
}

TEST(PartitionLog, OutOfRangeBelowTheLogStart) {
  tail_budget tails{1 << 20, 1 << 20};
  partition_log log{{"t", 0}, tails};
  log.warm_up();
  log.recovered({100, 120});
  fetch_result out;
  EXPECT_EQ(log.read(99, 1 << 20, out), partition_log::read_status::out_of_range);
  EXPECT_EQ(log.read(100, 1 << 20, out), partition_log::read_status::needs_store);
}

TEST(PartitionLog, BatchesCarryRunningTotalsFromTheRecoveredBounds) {
  tail_budget tails{1 << 20, 1 << 20};
  partition_log log{{"t", 0}, tails};
  log.warm_up();
  log.recovered({5, 10, 400, 1000, 2000});
  log.enqueue({protocol::shared_bytes::copy_of(protocol::buffer(100, 1)), 2, 1500});
  log.enqueue({protocol::shared_bytes::copy_of(protocol::buffer(50, 1)), 1, 3000});
  auto set = log.take_write_set();
  ASSERT_TRUE(set);
  EXPECT_EQ(set->batches[0].end_bytes, 1100u);
  EXPECT_EQ(set->batches[0].end_timestamp, 2000) << "the running maximum, not the batch's own";
  EXPECT_EQ(set->batches[1].end_bytes, 1150u);
  EXPECT_EQ(set->batches[1].end_timestamp, 3000);
  EXPECT_EQ(log.bounds().end_bytes, 1000u) << "nothing counts before the store acknowledges";
  log.write_completed(all_ok(2));
  const auto b = log.bounds();
  EXPECT_EQ(b.end_bytes, 1150u);
  EXPECT_EQ(b.end_timestamp, 3000);
  EXPECT_EQ(b.stored_bytes(), 750u);
}

TEST(PartitionLog, AdvancingTheStartRefusesOlderReadsAndTrimsTheTail) {
  tail_budget tails{1 << 20, 1 << 20};
  partition_log log{{"t", 0}, tails};
  log.warm_up();
  log.recovered({0, 0});
  for (int i = 0; i < 5; ++i) log.enqueue(batch(10));
  log.take_write_set();
  log.write_completed(all_ok(5));
  EXPECT_EQ(log.advance_start(25), 25);
  EXPECT_EQ(log.log_start(), 25);
  EXPECT_EQ(log.tail_batches(), 3u) << "the batch containing the start stays";
  fetch_result out;
  EXPECT_EQ(log.read(24, 1 << 20, out), partition_log::read_status::out_of_range);
  EXPECT_EQ(log.read(25, 1 << 20, out), partition_log::read_status::served);
  EXPECT_EQ(out.log_start, 25);
  EXPECT_EQ(log.advance_start(20), 0) << "the start never moves back";
  EXPECT_EQ(log.advance_start(1000), 25) << "at most to the high watermark";
  EXPECT_EQ(log.log_start(), 50);
  EXPECT_EQ(log.tail_batches(), 0u);
  log.recovered({0, 50});
  EXPECT_EQ(log.log_start(), 50) << "a store that has not caught up does not move it back";
}

TEST(PartitionLog, TailsShareOneBudget) {
  tail_budget tails{1000, 800};
  auto fill = [](partition_log& log) {
    log.recovered({0, 0});
    for (int i = 0; i < 20; ++i) log.enqueue(batch(1, 100));
    log.take_write_set();
    log.write_completed(all_ok(20));
  };
  auto one = std::make_unique<partition_log>(topic_partition{"t", 0}, tails);
  one->warm_up();
  fill(*one);
  EXPECT_EQ(one->tail_bytes(), 800u) << "one partition: at most the per-partition cap";
  partition_log two{{"t", 1}, tails};
  two.warm_up();
  fill(two);
  EXPECT_EQ(two.tail_bytes(), 500u) << "two partitions: half the budget each";
  EXPECT_EQ(tails.bytes(), 1300u) << "the first trims to its new share when it next adds";
  one.reset();
  EXPECT_EQ(tails.bytes(), 500u);
  EXPECT_EQ(tails.partitions(), 1u);
}

TEST(PartitionLog, ACoolTailGivesItsShareToTheWarmOnes) {
  tail_budget tails{1000, 1000};
  auto fill = [](partition_log& log, int batches) {
    for (int i = 0; i < batches; ++i) log.enqueue(batch(1, 100));
    log.take_write_set();
    log.write_completed(all_ok(static_cast<std::size_t>(batches)));
  };
  partition_log cold{{"t", 0}, tails};
  partition_log hot{{"t", 1}, tails};
  cold.recovered({0, 0});
  hot.recovered({0, 0});
  EXPECT_FALSE(cold.warm()) << "a partition starts cool";
  EXPECT_EQ(tails.warm_partitions(), 0u);
  fill(cold, 2);
  EXPECT_EQ(cold.tail_batches(), 0u) << "a cool tail keeps nothing";
  cold.warm_up();
  hot.warm_up();
  EXPECT_EQ(tails.warm_partitions(), 2u);
  EXPECT_EQ(tails.share(), 500u) << "two warm partitions: half the budget each";
  fill(cold, 5);
  EXPECT_EQ(cold.tail_bytes(), 500u);

  cold.cool_down();
  EXPECT_FALSE(cold.warm());
  EXPECT_EQ(cold.tail_batches(), 0u) << "a tail that cools gives everything back";
  EXPECT_EQ(tails.bytes(), 0u);
  EXPECT_EQ(tails.warm_partitions(), 1u);
  EXPECT_EQ(tails.partitions(), 2u) << "it is still live";
  fill(hot, 10);
  EXPECT_EQ(hot.tail_bytes(), 1000u) << "the one warm partition takes the whole budget";
  fetch_result out;
  EXPECT_EQ(cold.read(6, 1 << 20, out), partition_log::read_status::needs_store);
  EXPECT_EQ(cold.read(7, 1 << 20, out), partition_log::read_status::wait);

  cold.cool_down();  // twice changes nothing
  EXPECT_EQ(tails.warm_partitions(), 1u);
  cold.warm_up();
  cold.warm_up();
  EXPECT_TRUE(cold.warm());
  EXPECT_EQ(tails.warm_partitions(), 2u);
  fill(cold, 8);
  EXPECT_EQ(cold.tail_bytes(), 500u) << "warm again: it takes its share again";
  EXPECT_EQ(cold.read(14, 1 << 20, out), partition_log::read_status::served);
}

TEST(PartitionLog, AWriteAcknowledgedAfterItsTailCooledIsNotKept) {
  tail_budget tails{1000, 1000};
  partition_log log{{"t", 0}, tails};
  log.recovered({0, 0});
  log.warm_up();
  log.enqueue(batch(1, 100));
  log.take_write_set();
  log.cool_down();  // the write was out longer than cool_after
  const auto done = log.write_completed(all_ok(1));
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].error, errc::ok);
  EXPECT_EQ(log.high_watermark(), 1);
  EXPECT_EQ(log.tail_batches(), 0u);
  EXPECT_EQ(tails.bytes(), 0u);
}

TEST(PartitionLog, APartitionLeavesTheBudgetAsItStopsWarmOrCool) {
  tail_budget tails{1000, 1000};
  {
    partition_log log{{"t", 0}, tails};
    log.warm_up();
    log.cool_down();
    EXPECT_EQ(tails.warm_partitions(), 0u);
  }
  {
    partition_log log{{"t", 0}, tails};
    log.warm_up();
    EXPECT_EQ(tails.warm_partitions(), 1u);
    EXPECT_EQ(tails.partitions(), 1u);
  }
  EXPECT_EQ(tails.warm_partitions(), 0u);
  EXPECT_EQ(tails.partitions(), 0u);
}

namespace {

// Writes `batches` batches of `bytes` each through `log` (recovered), all stored.
void write_stored(partition_log& log, int batches, std::size_t bytes) {
  for (int i = 0; i < batches; ++i) log.enqueue(batch(1, bytes));
  log.take_write_set();
  log.write_completed(all_ok(static_cast<std::size_t>(batches)));
}

}  // namespace

TEST(PartitionLog, ATailFilledBeforeOthersWarmedShrinksToItsShareWhenTrimmed) {
  tail_budget tails{1000, 1000};
  partition_log first{{"t", 0}, tails};
  partition_log second{{"t", 1}, tails};
  first.recovered({0, 0});
  second.recovered({0, 0});
  first.warm_up();
  write_stored(first, 10, 100);
  EXPECT_EQ(first.tail_bytes(), 1000u) << "alone, it takes the whole budget";
  second.warm_up();
  write_stored(second, 5, 100);
  EXPECT_EQ(tails.bytes(), 1500u) << "the first has not trimmed to its new share yet";
  EXPECT_TRUE(tails.over());
  first.trim_tail();  // its tick
  EXPECT_EQ(first.tail_bytes(), 500u);
  EXPECT_EQ(tails.bytes(), 1000u);
  EXPECT_FALSE(tails.over());
  fetch_result out;
  EXPECT_EQ(first.read(4, 1 << 20, out), partition_log::read_status::needs_store);
  EXPECT_EQ(first.read(5, 1 << 20, out), partition_log::read_status::served);
}

TEST(PartitionLog, ANewestBatchLargerThanItsShareIsKeptOnlyWhileAllTailsFitTheBudget) {
  tail_budget tails{1000, 1000};
  partition_log a{{"t", 0}, tails};
  partition_log b{{"t", 1}, tails};
  partition_log c{{"t", 2}, tails};
  for (auto* log : {&a, &b, &c}) log->recovered({0, 0});
  a.warm_up();
  write_stored(a, 1, 600);
  b.warm_up();
  write_stored(b, 4, 100);
  a.trim_tail();
  EXPECT_EQ(a.tail_bytes(), 600u) << "past its share of 500, but the tails fit the budget";
  c.warm_up();
  write_stored(c, 3, 100);  // a third share each: 333 bytes
  EXPECT_EQ(tails.bytes(), 1300u);
  a.trim_tail();
  EXPECT_EQ(a.tail_batches(), 0u) << "over the budget: not even the newest batch stays";
  fetch_result out;
  EXPECT_EQ(a.read(0, 1 << 20, out), partition_log::read_status::needs_store);
  b.trim_tail();
  EXPECT_EQ(b.tail_bytes(), 300u);
  EXPECT_EQ(tails.bytes(), 600u);
  // A batch past its share that would take the tails over the budget is not kept either
  // (the older batches, trimmed first, went before it).
  write_stored(b, 1, 900);
  EXPECT_EQ(b.tail_batches(), 0u);
  EXPECT_EQ(tails.bytes(), 300u);
  EXPECT_EQ(b.read(4, 1 << 20, out), partition_log::read_status::needs_store);
}

TEST(PartitionLog, ManyWarmTailsTrimmedOnTheirTicksStayWithinTheBudgetAndAreCountedExactly) {
  tail_budget tails{10'000, 8'000};
  std::vector<std::unique_ptr<partition_log>> logs;
  auto held = [&] {
    std::uint64_t sum = 0;
    for (const auto& log : logs) sum += log->tail_bytes();
    return sum;
  };
  for (std::int32_t i = 0; i < 100; ++i) {
    logs.push_back(std::make_unique<partition_log>(topic_partition{"t", i}, tails));
    logs.back()->recovered({0, 0});
    logs.back()->warm_up();
    for (int j = 0; j < 3; ++j) write_stored(*logs.back(), 1, 1000);  // each past the later shares
    ASSERT_EQ(tails.bytes(), held());
  }
  for (const auto& log : logs) log->trim_tail();  // each partition's tick
  EXPECT_LE(tails.bytes(), tails.total());
  EXPECT_EQ(tails.bytes(), held());
  for (std::size_t i = 0; i < logs.size(); i += 2) logs[i]->cool_down();
  EXPECT_EQ(tails.warm_partitions(), 50u);
  EXPECT_EQ(tails.bytes(), held());
  for (const auto& log : logs) {
    write_stored(*log, 2, 150);
    log->trim_tail();
    ASSERT_EQ(tails.bytes(), held());
  }
  EXPECT_LE(tails.bytes(), tails.total());
  logs.clear();
  EXPECT_EQ(tails.bytes(), 0u);
  EXPECT_EQ(tails.partitions(), 0u);
  EXPECT_EQ(tails.warm_partitions(), 0u);
  EXPECT_FALSE(tails.over());
}
