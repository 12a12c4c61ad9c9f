#include "actors/pipeline/producer_table.hpp"

#include <gtest/gtest.h>

#include <limits>

using namespace portask;
using verdict = producer_table::verdict;

namespace {
producer_sequence seq(std::int32_t first, std::int32_t last, std::int16_t epoch = 0) {
  return {42, epoch, first, last};
}
storage::producer_batch logged(std::int64_t id, std::int16_t epoch, std::int32_t first,
                               std::int32_t last, std::int64_t base, std::int64_t used = -1) {
  return {id, epoch, first, last, base, static_cast<std::uint32_t>(last - first + 1), used};
}
}  // namespace

TEST(ProducerTable, BatchesWithoutAProducerAreAlwaysAppended) {
  producer_table t;
  EXPECT_EQ(t.check({}).what, verdict::append);
  t.appended({}, 1, 0);
  EXPECT_EQ(t.size(), 0u);
}

TEST(ProducerTable, InOrderDuplicateInFlightAndGap) {
  producer_table t;
  EXPECT_EQ(t.check(seq(5, 9)).what, verdict::unknown_producer)
      << "a producer without state must start at 0";
  EXPECT_EQ(t.check(seq(0, 4)).what, verdict::append);
  t.appended(seq(0, 4), 1, 0);
  EXPECT_EQ(t.check(seq(0, 4)).what, verdict::in_flight);
  EXPECT_EQ(t.check(seq(5, 9)).what, verdict::append) << "pipelined behind the one in flight";
  t.stored(1, {0, 100, 5, false});
  auto dup = t.check(seq(0, 4));
  EXPECT_EQ(dup.what, verdict::duplicate);
  EXPECT_EQ(dup.stored.base_offset, 100);
  EXPECT_EQ(t.check(seq(5, 5)).what, verdict::append);
  EXPECT_EQ(t.check(seq(6, 6)).what, verdict::out_of_order) << "a gap";
  EXPECT_EQ(t.check(seq(1, 4)).what, verdict::out_of_order) << "overlaps a stored batch";
}

TEST(ProducerTable, EpochsFenceAndRestartSequences) {
  producer_table t;
  t.appended(seq(0, 0), 1, 0);
  t.stored(1, {});
  EXPECT_EQ(t.check(seq(0, 0, 1)).what, verdict::append);
  EXPECT_EQ(t.check(seq(1, 1, 1)).what, verdict::out_of_order) << "a new epoch starts at 0";
  t.appended(seq(0, 0, 1), 2, 0);
  EXPECT_EQ(t.check(seq(1, 1, 0)).what, verdict::stale_epoch);
}

TEST(ProducerTable, RebuildTakesTheStoreAsTheTruth) {
  producer_table t;
  t.appended(seq(0, 3), 1, 0);
  t.stored(1, {0, 0, 4, false});
  t.appended(seq(4, 5), 2, 0);  // in flight when the write failed
  t.appended(seq(6, 6), 3, 0);
  // The store holds the first batch (from the snapshot) and the second (logged after it):
  // the failed write was executed after all. The third never reached it.
  storage::producer_history h;
  h.covers = 4;
  h.batches = {logged(42, 0, 0, 3, 0, 1000), logged(42, 0, 4, 5, 4)};
  t.rebuild(h, 7, 2000);
  auto dup = t.check(seq(4, 5));
  ASSERT_EQ(dup.what, verdict::duplicate) << "the retry of a stored batch gets its offsets";
  EXPECT_EQ(dup.stored.base_offset, 4);
  EXPECT_EQ(dup.stored.partition, 7);
  EXPECT_EQ(t.check(seq(6, 6)).what, verdict::append) << "the unstored batch is accepted again";
  EXPECT_EQ(t.check(seq(7, 7)).what, verdict::out_of_order) << "but nothing after it";
  t.stored(3, {0, 9, 1, false});  // a completion from before the rebuild is ignored
  EXPECT_EQ(t.check(seq(6, 6)).what, verdict::append);
}

TEST(ProducerTable, RebuildKeepsTheNewestEpochAndTheLastFiveBatches) {
  producer_table t;
  storage::producer_history h;
  for (int i = 0; i < 8; ++i) h.batches.push_back(logged(42, 0, i, i, i));
  h.batches.push_back(logged(7, 3, 0, 0, 8));
  h.batches.push_back(logged(7, 4, 0, 1, 9));
  t.rebuild(h, 0, 0);
  EXPECT_EQ(t.check(seq(3, 3)).what, verdict::duplicate);
  EXPECT_EQ(t.check(seq(2, 2)).what, verdict::out_of_order) << "older than the last five";
  EXPECT_EQ(t.check({7, 3, 1, 1}).what, verdict::stale_epoch);
  EXPECT_EQ(t.check({7, 4, 2, 2}).what, verdict::append);
}

TEST(ProducerTable, RemembersTheLastFiveBatchesAndWrapsSequences) {
  producer_table t;
  for (std::uint64_t i = 0; i < 7; ++i) {
    const auto s = static_cast<std::int32_t>(i);
    t.appended(seq(s, s), i + 1, 0);
    t.stored(i + 1, {0, s, 1, false});
  }
  EXPECT_EQ(t.check(seq(6, 6)).what, verdict::duplicate);
  EXPECT_EQ(t.check(seq(2, 2)).what, verdict::duplicate);
  EXPECT_EQ(t.check(seq(1, 1)).what, verdict::out_of_order) << "older than the last five";
  const auto max = std::numeric_limits<std::int32_t>::max();
  producer_table w;
  storage::producer_history h;
  h.batches = {logged(42, 0, max - 1, max, 0)};
  w.rebuild(h, 0, 0);
  EXPECT_EQ(w.check(seq(0, 0)).what, verdict::append);
  EXPECT_EQ(storage::last_sequence(max - 1, 3), 0) << "sequences wrap to 0";
}

TEST(ProducerTable, TheSizeCapEvictsTheLeastRecentlyUsedProducer) {
  producer_table t{2};
  t.appended({1, 0, 0, 0}, 1, 10);
  t.stored(1, {0, 0, 1, false});
  t.appended({2, 0, 0, 0}, 2, 20);
  t.stored(2, {0, 1, 1, false});
  t.appended({1, 0, 1, 1}, 3, 30);
  t.stored(3, {0, 2, 1, false});
  t.appended({3, 0, 0, 0}, 4, 40);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.check({2, 0, 1, 1}).what, verdict::unknown_producer) << "producer 2 was forgotten";
  EXPECT_EQ(t.check({1, 0, 5, 5}).what, verdict::out_of_order) << "producer 1 was kept";
  auto s = t.take_snapshot(0);
  EXPECT_EQ(s.expired, std::vector<std::int64_t>{2}) << "the snapshot forgets it too";
}

// A producer with a batch still being written is not evicted: the retry of that batch would
// find no state and be stored a second time.
TEST(ProducerTable, TheSizeCapSparesProducersWithWritesInFlight) {
  producer_table t{1};
  t.appended({1, 0, 0, 0}, 1, 10);  // in flight
  t.appended({2, 0, 0, 0}, 2, 20);
  EXPECT_EQ(t.size(), 2u) << "over the cap rather than forget a producer mid-write";
  EXPECT_EQ(t.check({1, 0, 0, 0}).what, verdict::in_flight);
  t.stored(1, {0, 0, 1, false});
  t.stored(2, {0, 1, 1, false});
  t.appended({3, 0, 0, 0}, 3, 30);
  EXPECT_EQ(t.size(), 1u) << "back to the cap once none is mid-write";
  EXPECT_EQ(t.check({1, 0, 1, 1}).what, verdict::unknown_producer);
  EXPECT_EQ(t.check({2, 0, 1, 1}).what, verdict::unknown_producer);
}

TEST(ProducerTable, IdleProducersExpireButNotWhileTheyHaveWritesInFlight) {
  producer_table t;
  t.appended({1, 0, 0, 0}, 1, 1000);
  t.stored(1, {0, 0, 1, false});
  t.appended({2, 0, 0, 0}, 2, 1000);  // still in flight
  t.appended({3, 0, 0, 0}, 3, 5000);
  t.stored(3, {0, 1, 1, false});
  t.expire(6500, 2000);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.check({1, 0, 1, 1}).what, verdict::unknown_producer);
  EXPECT_EQ(t.check({3, 0, 1, 1}).what, verdict::append);
}

TEST(ProducerTable, SnapshotsHoldTheStoredWindowsOfChangedProducersOnly) {
  producer_table t;
  t.appended({1, 0, 0, 0}, 1, 100);
  t.stored(1, {0, 0, 1, false});
  t.appended({2, 0, 0, 1}, 2, 200);
  t.stored(2, {0, 1, 2, false});
  t.appended({2, 0, 2, 2}, 3, 300);  // in flight: not in the snapshot
  auto s = t.take_snapshot(3);
  EXPECT_EQ(s.covers, 3);
  ASSERT_EQ(s.batches.size(), 2u);
  for (const auto& b : s.batches) EXPECT_LT(b.base_offset, 3);
  EXPECT_TRUE(t.take_snapshot(3).batches.empty()) << "nothing changed since";
  t.snapshot_failed(s);
  EXPECT_EQ(t.take_snapshot(3).batches.size(), 2u) << "a failed snapshot is written again";
  t.stored(3, {0, 3, 1, false});
  auto next = t.take_snapshot(4);
  ASSERT_EQ(next.batches.size(), 2u) << "producer 2's whole window";
  EXPECT_EQ(next.batches[0].producer_id, 2);
  EXPECT_EQ(next.batches[1].first_seq, 2);
}

TEST(ProducerTable, BatchesBehindOneWeRefusedAreRefusedRetriablyNotCalledAGap) {
  producer_table t;
  t.appended(seq(0, 0), 1, 0);
  t.stored(1, {0, 0, 1, false});
  EXPECT_EQ(t.check(seq(2, 3)).what, verdict::out_of_order) << "a plain gap";
  // We refused 1 (the partition was recovering): its pipelined successor is not a gap.
  t.refused(seq(1, 1));
  EXPECT_EQ(t.check(seq(2, 3)).what, verdict::retry_later);
  EXPECT_EQ(t.check(seq(0, 0)).what, verdict::duplicate) << "the past is unaffected";
  storage::producer_history h;
  h.batches = {logged(42, 0, 0, 0, 0)};
  t.rebuild(h, 0, 0);
  EXPECT_EQ(t.check(seq(2, 3)).what, verdict::retry_later) << "what we told clients survives";
  t.appended(seq(1, 1), 2, 0);
  t.stored(2, {0, 1, 1, false});
  EXPECT_EQ(t.check(seq(2, 3)).what, verdict::append);
  EXPECT_EQ(t.check(seq(5, 5)).what, verdict::out_of_order) << "resent and stored: gaps again";
  // A failed write refuses its batch too, and a refusal that turned out stored (a duplicate
  // resend, no new append) does not keep later refusals from counting.
  t.appended(seq(2, 3), 3, 0);
  t.refused(std::uint64_t{3});
  storage::producer_history stored_after_all;
  stored_after_all.batches = {logged(42, 0, 0, 0, 0), logged(42, 0, 1, 1, 1), logged(42, 0, 2, 3, 2)};
  t.rebuild(stored_after_all, 0, 0);
  EXPECT_EQ(t.check(seq(2, 3)).what, verdict::duplicate);
  t.appended(seq(4, 4), 4, 0);
  t.refused(std::uint64_t{4});
  t.rebuild(stored_after_all, 0, 0);  // 4 was not stored
  EXPECT_EQ(t.check(seq(5, 6)).what, verdict::retry_later);
  EXPECT_EQ(t.check(seq(7, 7)).what, verdict::retry_later);
}
