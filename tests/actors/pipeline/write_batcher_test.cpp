#include "actors/pipeline/write_batcher.hpp"

#include "tests/mocks/mock_store.hpp"

#include <algorithm>

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

namespace {

append_set numbered(const std::string& topic, std::uint64_t id, std::uint64_t follows, std::int64_t base) {
  auto s = make_set(topic, 1, base);
  s.id = id;
  s.follows = follows;
  return s;
}

// A store whose appends succeed except those of the base offsets in `refuse`; it records
// every base offset it was asked to store, in order.
std::unique_ptr<mock_store> store_refusing(std::vector<std::int64_t>& stored,
                                           std::vector<std::int64_t> refuse) {
  auto store = std::make_unique<mock_store>();
  EXPECT_CALL(*store, append(_, _)).WillRepeatedly(Invoke([&stored, refuse](auto reqs, auto& results) {
    results.assign(reqs.size(), std::error_code{});
    for (std::size_t i = 0; i < reqs.size(); ++i) {
      stored.push_back(reqs[i].base_offset);
      if (std::find(refuse.begin(), refuse.end(), reqs[i].base_offset) != refuse.end())
        results[i] = make_error_code(errc::storage_unavailable);
    }
  }));
  return store;
}

}  // namespace

TEST(WriteBatcher, ASetFollowingOneItStoredGoesOutAndOneFollowingAFailedSetIsRefusedUnsent) {
  std::vector<std::int64_t> sent;
  write_batcher w{store_refusing(sent, {10}), nullptr};
  auto now = write_batcher::clock::now();
  w.enqueue(numbered("a", 1, 0, 0));
  EXPECT_EQ(w.flush(now)[0].results, std::vector<errc>{errc::ok});
  w.enqueue(numbered("a", 2, 1, 1));
  EXPECT_EQ(w.flush(now)[0].results, std::vector<errc>{errc::ok}) << "it follows a stored set";
  // Set 3 fails; set 4, sent behind it before the partition knew, must not land after the
  // gap. The outage's backoff is over by the time set 4 comes (a later flush).
  w.enqueue(numbered("a", 3, 2, 10));
  EXPECT_EQ(w.flush(now)[0].results, std::vector<errc>{errc::storage_unavailable});
  now += write_batcher::max_backoff;
  w.enqueue(numbered("a", 4, 3, 11));
  EXPECT_EQ(w.flush(now)[0].results, std::vector<errc>{errc::not_ready});
  EXPECT_EQ(sent, (std::vector<std::int64_t>{0, 1, 10})) << "set 4 never reached the store";
  // The partition recovered: its next set follows none and goes out.
  w.enqueue(numbered("a", 5, 0, 10));
  EXPECT_EQ(w.flush(now)[0].results, std::vector<errc>{errc::ok});
}

TEST(WriteBatcher, ASetFollowingOneInTheSameCallGoesOutAndAnotherPartitionIsUntouched) {
  std::vector<std::int64_t> sent;
  write_batcher w{store_refusing(sent, {}), nullptr};
  const auto now = write_batcher::clock::now();
  w.enqueue(numbered("a", 7, 0, 0));
  w.enqueue(numbered("a", 8, 7, 1));
  w.enqueue(numbered("b", 9, 0, 0));
  auto out = w.flush(now);
  ASSERT_EQ(out.size(), 3u);
  for (const auto& o : out) EXPECT_EQ(o.results, std::vector<errc>{errc::ok});
  EXPECT_EQ(sent.size(), 3u);
  w.enqueue(numbered("b", 10, 9, 1));
  w.enqueue(numbered("a", 11, 8, 2));
  out = w.flush(now);
  EXPECT_EQ(out[0].results, std::vector<errc>{errc::ok});
  EXPECT_EQ(out[1].results, std::vector<errc>{errc::ok});
}

TEST(WriteBatcher, ASetFollowingOneThisWriterNeverSawIsRefused) {
  // The set ahead of it went to a writer that stopped (a restarted writer knows nothing).
  std::vector<std::int64_t> sent;
  write_batcher w{store_refusing(sent, {}), nullptr};
  w.enqueue(numbered("a", 21, 20, 5));
  EXPECT_EQ(w.flush(write_batcher::clock::now())[0].results, std::vector<errc>{errc::not_ready});
  EXPECT_TRUE(sent.empty());
}

TEST(WriteBatcher, AStoredSetBehindAFailedOneInTheSameCallDoesNotVouchForTheNext) {
  std::vector<std::int64_t> sent;
  write_batcher w{store_refusing(sent, {0}), nullptr};
  auto now = write_batcher::clock::now();
  w.enqueue(numbered("a", 1, 0, 0));
  w.enqueue(numbered("a", 2, 1, 1));  // stored by the store although set 1 failed
  auto out = w.flush(now);
  EXPECT_EQ(out[0].results, std::vector<errc>{errc::storage_unavailable});
  EXPECT_EQ(out[1].results, std::vector<errc>{errc::ok});
  now += write_batcher::max_backoff;
  w.enqueue(numbered("a", 3, 2, 2));
  EXPECT_EQ(w.flush(now)[0].results, std::vector<errc>{errc::not_ready});
}
