#include "actors/producer_table.hpp"

#include <gtest/gtest.h>

#include <limits>

using namespace portask;
using verdict = producer_table::verdict;

namespace {
producer_sequence seq(std::int32_t first, std::int32_t last, std::int16_t epoch = 0) {
  return {42, epoch, first, last};
}
}  // namespace

TEST(ProducerTable, BatchesWithoutAProducerAreAlwaysAppended) {
  producer_table t;
  EXPECT_EQ(t.check({}).what, verdict::append);
  t.appended({}, 1);
  EXPECT_EQ(t.size(), 0u);
}

TEST(ProducerTable, InOrderDuplicateInFlightAndGap) {
  producer_table t;
  EXPECT_EQ(t.check(seq(5, 9)).what, verdict::append) << "an unknown producer starts anywhere";
  t.appended(seq(5, 9), 1);
  EXPECT_EQ(t.check(seq(5, 9)).what, verdict::in_flight);
  t.stored(1, {0, 100, 5, false});
  auto dup = t.check(seq(5, 9));
  EXPECT_EQ(dup.what, verdict::duplicate);
  EXPECT_EQ(dup.stored.base_offset, 100);
  EXPECT_EQ(t.check(seq(10, 10)).what, verdict::append);
  EXPECT_EQ(t.check(seq(11, 11)).what, verdict::out_of_order);
  EXPECT_EQ(t.check(seq(3, 4)).what, verdict::out_of_order) << "from the past, not remembered";
}

TEST(ProducerTable, EpochsFenceAndRestartSequences) {
  producer_table t;
  t.appended(seq(0, 0), 1);
  t.stored(1, {});
  EXPECT_EQ(t.check(seq(0, 0, 1)).what, verdict::append);
  EXPECT_EQ(t.check(seq(1, 1, 1)).what, verdict::out_of_order) << "a new epoch starts at 0";
  t.appended(seq(0, 0, 1), 2);
  EXPECT_EQ(t.check(seq(1, 1, 0)).what, verdict::stale_epoch);
}

TEST(ProducerTable, AFailedWriteForgetsTheProducerSoItsRetryIsAccepted) {
  producer_table t;
  t.appended(seq(0, 3), 1);
  t.appended(seq(4, 5), 2);
  t.failed(1);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.check(seq(0, 3)).what, verdict::append);
  t.stored(2, {});  // a late completion of a forgotten ticket is ignored
  EXPECT_EQ(t.size(), 0u);
}

TEST(ProducerTable, RemembersTheLastFiveBatchesAndWrapsSequences) {
  producer_table t;
  for (std::uint64_t i = 0; i < 7; ++i) {
    const auto s = static_cast<std::int32_t>(i);
    t.appended(seq(s, s), i + 1);
    t.stored(i + 1, {0, s, 1, false});
  }
  EXPECT_EQ(t.check(seq(6, 6)).what, verdict::duplicate);
  EXPECT_EQ(t.check(seq(2, 2)).what, verdict::duplicate);
  EXPECT_EQ(t.check(seq(1, 1)).what, verdict::out_of_order) << "older than the last five";
  const auto max = std::numeric_limits<std::int32_t>::max();
  producer_table w;
  w.appended(seq(max - 1, max), 1);
  EXPECT_EQ(w.check(seq(0, 0)).what, verdict::append);
}

TEST(ProducerTable, TheSizeCapEvictsTheLeastRecentlyUsedProducer) {
  producer_table t{2};
  t.appended({1, 0, 0, 0}, 1);
  t.appended({2, 0, 0, 0}, 2);
  t.appended({1, 0, 1, 1}, 3);
  t.appended({3, 0, 0, 0}, 4);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.check({2, 0, 5, 5}).what, verdict::append) << "producer 2 was forgotten";
  EXPECT_EQ(t.check({1, 0, 5, 5}).what, verdict::out_of_order) << "producer 1 was kept";
}
