#include "actors/pipeline/write_batcher.hpp"

#include "tests/mocks/mock_store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace portask;
using ::testing::_;
using ::testing::Invoke;

namespace {

using portask::testing::mock_store;

append_set make_set(const std::string& topic, int batches, std::int64_t base = 0) {
  append_set s;
  s.tp = {topic, 0};
  for (int i = 0; i < batches; ++i)
    s.batches.push_back({base + i, 1, 0, protocol::shared_bytes::copy_of(protocol::buffer(10, 1))});
  return s;
}

}  // namespace

TEST(WriteBatcher, EverythingQueuedGoesOutInOneStoreCall) {
  auto store = std::make_unique<mock_store>();
  std::size_t requests_seen = 0;
  EXPECT_CALL(*store, append(_, _)).Times(1).WillOnce(Invoke([&](auto reqs, auto& results) {
    requests_seen = reqs.size();
    results.assign(reqs.size(), std::error_code{});
  }));
  metrics_registry metrics;
  write_batcher w{std::move(store), &metrics};
  w.enqueue(make_set("a", 2));
  w.enqueue(make_set("b", 3));
  w.enqueue(make_set("c", 1));
  auto outcomes = w.flush(write_batcher::clock::now());
  EXPECT_EQ(requests_seen, 6u) << "one round trip, one command per batch";
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_EQ(outcomes[1].results, std::vector<errc>(3, errc::ok));
  EXPECT_TRUE(w.empty());
  EXPECT_TRUE(metrics.store_up());
}

TEST(WriteBatcher, EveryBatchFieldReachesTheStore) {
  auto store = std::make_unique<mock_store>();
  std::vector<storage::append_request> seen;
  EXPECT_CALL(*store, append(_, _)).WillOnce(Invoke([&](auto reqs, auto& results) {
    seen.assign(reqs.begin(), reqs.end());
    results.assign(reqs.size(), std::error_code{});
  }));
  write_batcher w{std::move(store), nullptr};
  auto set = make_set("a", 1, 7);
  auto& b = set.batches[0];
  b.record_count = 3;
  b.max_timestamp = 1234;
  b.producer = {42, 1, 9};
  b.end_bytes = 5000;
  b.end_timestamp = 2000;
  w.enqueue(std::move(set));
  w.flush(write_batcher::clock::now());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].base_offset, 7);
  EXPECT_EQ(seen[0].record_count, 3u);
  EXPECT_EQ(seen[0].max_timestamp, 1234);
  EXPECT_EQ(seen[0].producer.id, 42);
  EXPECT_EQ(seen[0].end_bytes, 5000u) << "retention searches by the running totals";
  EXPECT_EQ(seen[0].end_timestamp, 2000);
  EXPECT_EQ(seen[0].frame.size(), 10u);
}

TEST(WriteBatcher, PerBatchResultsGoBackToTheirSets) {
  auto store = std::make_unique<mock_store>();
  EXPECT_CALL(*store, append(_, _)).WillOnce(Invoke([](auto reqs, auto& results) {
    results.assign(reqs.size(), std::error_code{});
    results[1] = make_error_code(errc::offset_conflict);
  }));
  write_batcher w{std::move(store), nullptr};
  w.enqueue(make_set("a", 1));
  w.enqueue(make_set("b", 2));
  auto outcomes = w.flush(write_batcher::clock::now());
  EXPECT_EQ(outcomes[0].results, std::vector<errc>{errc::ok});
  EXPECT_EQ(outcomes[1].results, (std::vector<errc>{errc::offset_conflict, errc::ok}));
}

TEST(WriteBatcher, AnOutageFailsFastDuringBackoffThenRetries) {
  auto store = std::make_unique<mock_store>();
  int calls = 0;
  EXPECT_CALL(*store, append(_, _)).Times(2).WillRepeatedly(Invoke([&](auto reqs, auto& results) {
    ++calls;
    results.assign(reqs.size(), calls == 1 ? make_error_code(errc::storage_unavailable)
                                           : std::error_code{});
  }));
  metrics_registry metrics;
  write_batcher w{std::move(store), &metrics};
  const auto t0 = write_batcher::clock::now();
  w.enqueue(make_set("a", 1));
  EXPECT_EQ(w.flush(t0)[0].results[0], errc::storage_unavailable);
  EXPECT_FALSE(metrics.store_up());
  EXPECT_EQ(w.backoff(), write_batcher::min_backoff);
  // Within the backoff the store is not called at all; the error is retriable.
  w.enqueue(make_set("a", 1));
  auto during = w.flush(t0 + std::chrono::milliseconds(10));
  EXPECT_EQ(during[0].results[0], errc::storage_unavailable);
  EXPECT_TRUE(is_retriable(during[0].results[0]));
  // After it, the store is tried again and succeeds.
  w.enqueue(make_set("a", 1));
  EXPECT_EQ(w.flush(t0 + std::chrono::seconds(1))[0].results[0], errc::ok);
  EXPECT_TRUE(metrics.store_up());
  EXPECT_EQ(w.backoff().count(), 0);
}

TEST(WriteBatcher, AnEmptySetIsAnsweredWithoutAStoreCallAndTellsNothingOfTheStore) {
  auto store = std::make_unique<mock_store>();
  // Called once, for the write that finds the store down; never for the empty set.
  EXPECT_CALL(*store, append(_, _)).Times(1).WillOnce(Invoke([](auto reqs, auto& results) {
    results.assign(reqs.size(), make_error_code(errc::storage_unavailable));
  }));
  metrics_registry metrics;
  write_batcher w{std::move(store), &metrics};
  const auto t0 = write_batcher::clock::now();
  w.enqueue(make_set("a", 1));
  w.flush(t0);
  ASSERT_FALSE(metrics.store_up());
  // Past the backoff, a topic deletion's drain (an empty set) is answered at once: the store
  // may still be down, so it is not declared up again, nor is the backoff reset.
  w.enqueue(make_set("a", 0));
  auto outcomes = w.flush(t0 + std::chrono::seconds(1));
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_TRUE(outcomes[0].results.empty());
  EXPECT_TRUE(w.empty());
  EXPECT_FALSE(metrics.store_up());
  EXPECT_EQ(w.backoff(), write_batcher::min_backoff);
}
