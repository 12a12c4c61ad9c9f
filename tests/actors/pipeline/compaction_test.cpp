// Compaction plans (pipeline/compaction.hpp) made from a memory store's log and carried out
// by it: which records stay, how what is left of a batch is written, what is never touched.
#include "actors/pipeline/compaction.hpp"

#include <gtest/gtest.h>

#include "protocol/frame.hpp"
#include "storage/memory_store.hpp"

using namespace portask;

namespace {

constexpr std::int64_t now_ms = 10 * 86'400'000LL;  // ten days after the epoch
constexpr std::int64_t old_ms = now_ms - 2 * 86'400'000LL;

struct record {
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::int64_t timestamp = old_ms;
};

class Compaction : public ::testing::Test {
 protected:
  // Appends one batch of `records` as a partition would (running totals included), its
  // timestamp its records' newest, or `stamped` (the time a batch of records sent without
  // one is appended at).
  void append(const std::vector<record>& records, storage::batch_producer producer = {},
              std::optional<std::int64_t> stamped = std::nullopt) {
    protocol::message_batch batch;
    std::int64_t max_ts = 0;
    for (const auto& r : records) {
      protocol::message m;
      m.topic = batch.messages.empty() ? tp_.topic : "";
      m.key = r.key;
      m.value = r.value;
      m.timestamp_ms = r.timestamp;
      m.headers = {{"h", std::string("x")}};
      max_ts = std::max(max_ts, r.timestamp);
      batch.messages.push_back(std::move(m));
    }
    if (stamped) max_ts = *stamped;
    protocol::buffer frame;
    ASSERT_FALSE(codecs_.append_batch_frame(batch, {}, protocol::message_type::publish, frame));
    end_bytes_ += frame.size();
    end_ts_ = std::max(end_ts_, max_ts);
    storage::append_request r{&tp_, next_, static_cast<std::uint32_t>(records.size()), max_ts,
                              protocol::shared_bytes::adopt(std::move(frame)), producer};
    r.end_bytes = end_bytes_;
    r.end_timestamp = end_ts_;
    std::vector<std::error_code> results;
    store_->append({&r, 1}, results);
    ASSERT_FALSE(results.at(0));
    next_ += static_cast<std::int64_t>(records.size());
  }

  expected<compaction_plan> plan(const compaction_policy& policy = {},
                                 std::int64_t producers_covered = INT64_MAX,
                                 std::int64_t clean_offset = 0,
                                 std::uint64_t rewrite_budget = 32u << 20,
                                 std::int64_t tombstones_below = 0, bool tombstones_due = false) {
    const auto b = store_->bounds(tp_).value();
    auto last = store_->read(tp_, b.next_offset - 1, 1).value();
    compaction_range range;
    range.log_start = b.log_start;
    range.limit = last.back().base_offset;
    range.producers_covered = producers_covered;
    range.clean_offset = clean_offset;
    range.rewrite_budget = rewrite_budget;
    range.tombstones_below = tombstones_below;
    range.tombstones_due = tombstones_due;
    return plan_compaction(codecs_, tp_, range, policy, now_ms,
                           [&](std::int64_t offset) { return store_->read(tp_, offset, 100); });
  }

  // Every record stored, as (offset, key, value).
  std::vector<std::tuple<std::int64_t, std::string, std::string>> records() {
    std::vector<std::tuple<std::int64_t, std::string, std::string>> out;
    const auto batches = store_->read(tp_, 0, 1 << 20).value();
    for (const auto& b : batches) {
      auto frame = protocol::decode_frame(b.frame.view());
      EXPECT_TRUE(frame);
      auto msgs = codecs_.decode(frame->header.flags, frame->payload);
      EXPECT_TRUE(msgs);
      EXPECT_EQ(msgs->messages.size(), b.record_count);
      for (std::size_t i = 0; i < msgs->messages.size(); ++i) {
        const auto& m = msgs->messages[i];
        EXPECT_EQ(m.headers.size(), 1u) << "headers stay with their record";
        out.emplace_back(b.base_offset + static_cast<std::int64_t>(i), m.key.value_or("<none>"),
                         m.value.value_or("<null>"));
      }
    }
    return out;
  }

  protocol::codec_manager codecs_;
  std::unique_ptr<storage::log_store> store_ = storage::memory_store::factory()().value();
  topic_partition tp_{"compacted", 0};
  std::int64_t next_ = 0;
  std::uint64_t end_bytes_ = 0;
  std::int64_t end_ts_ = -1;
};

using rows = std::vector<std::tuple<std::int64_t, std::string, std::string>>;

}  // namespace

TEST(CompactionOf, OnlyACompactPolicyCompactsWithKafkasDefaults) {
  EXPECT_FALSE(compaction_of({}));
  EXPECT_FALSE(compaction_of({{"cleanup.policy", "delete"}}));
  EXPECT_FALSE(compaction_of({{"cleanup.policy", "compact"}, {"cleanup.policy", "delete"}}))
      << "the last value counts";
  auto p = compaction_of({{"cleanup.policy", "delete, compact"}});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->min_lag_ms, 0);
  EXPECT_EQ(p->delete_retention_ms, 86'400'000);
  EXPECT_DOUBLE_EQ(p->min_dirty_ratio, 0.5);
  p = compaction_of({{"cleanup.policy", "compact"},
                     {"min.compaction.lag.ms", "1000"},
                     {"max.compaction.lag.ms", "60000"},
                     {"delete.retention.ms", "0"},
                     {"min.cleanable.dirty.ratio", "0.01"}});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->min_lag_ms, 1000);
  EXPECT_EQ(p->max_lag_ms, 60000);
  EXPECT_EQ(p->delete_retention_ms, 0);
  EXPECT_DOUBLE_EQ(p->min_dirty_ratio, 0.01);
}

TEST(CompactionDue, TheDirtyShareOrTheMaximumLagDecides) {
  compaction_policy p;
  storage::partition_bounds b{0, 100, 1000, 2000, 5};  // 1000 bytes stored
  EXPECT_TRUE(compaction_due(p, b, 0, 0, 10)) << "never compacted: all of it is dirty";
  EXPECT_TRUE(compaction_due(p, b, 1500, 0, 10)) << "half written since";
  EXPECT_FALSE(compaction_due(p, b, 1501, 0, 10));
  EXPECT_FALSE(compaction_due(p, b, 2000, 0, 10)) << "nothing written since";
  p.max_lag_ms = 100;
  EXPECT_FALSE(compaction_due(p, b, 1900, 5, 104));
  EXPECT_TRUE(compaction_due(p, b, 1900, 5, 105)) << "written since and waited max.compaction.lag.ms";
  EXPECT_FALSE(compaction_due(p, b, 2000, 5, 1000));
  EXPECT_FALSE(compaction_due(p, storage::partition_bounds{}, 0, 0, 10)) << "an empty log";
}

TEST(CompactionProgress, APartitionWaitsItsRetryTimeHoweverDueItIsThenIsDueAgain) {
  using due_for = compaction_progress::due_for;
  compaction_policy p;
  const storage::partition_bounds b{0, 100, 1000, 2000, 5};  // 1000 bytes stored
  compaction_progress c;
  EXPECT_EQ(c.due(p, b, 10), due_for::dirt) << "never compacted: all of it is dirty";
  // Its plan failed (or the partition did not carry it out): however dirty, not at every pass.
  c.retry_later(10);
  EXPECT_EQ(c.due(p, b, 10 + compaction_retry_ms - 1), due_for::nothing);
  EXPECT_EQ(c.due(p, b, 10 + compaction_retry_ms), due_for::dirt);
  // Waiting tombstones that may go wait for it too.
  c = {};
  c.clean_offset = 100;
  c.clean_bytes = 2000;  // nothing written since
  p.delete_retention_ms = 1000;
  c.tombstones.cleaned(100, 0, p.delete_retention_ms);
  c.tombstones_waiting = true;
  EXPECT_EQ(c.due(p, b, 999), due_for::nothing);
  EXPECT_EQ(c.due(p, b, 1000), due_for::tombstones);
  c.retry_later(1000);
  EXPECT_EQ(c.due(p, b, 2000), due_for::nothing);
  EXPECT_EQ(c.due(p, b, 1000 + compaction_retry_ms), due_for::tombstones);
  // And so does a partition due by max.compaction.lag.ms.
  c = {};
  c.clean_bytes = 1900;
  p.max_lag_ms = 100;
  EXPECT_EQ(c.due(p, b, 100), due_for::dirt);
  c.retry_later(100);
  EXPECT_EQ(c.due(p, b, 200), due_for::nothing);
}

TEST(CompactionProgress, AClockSteppedBackDoesNotMakeAPartitionWaitLongerThanItsRetryTime) {
  using due_for = compaction_progress::due_for;
  const compaction_policy p{};
  const storage::partition_bounds b{0, 100, 1000, 2000, 5};  // never compacted: all dirty
  compaction_progress c;
  const std::int64_t failed_at = now_ms;
  c.retry_later(failed_at);
  EXPECT_EQ(c.due(p, b, failed_at + compaction_retry_ms - 1), due_for::nothing);
  // The wall clock stepped back an hour after the plan failed: the wait would last an hour
  // more than asked for.
  EXPECT_EQ(c.due(p, b, failed_at - 3'600'000), due_for::dirt);
  // Failed again on the clock as it is now: it waits its retry time from there.
  c.retry_later(failed_at - 3'600'000);
  EXPECT_EQ(c.due(p, b, failed_at - 3'600'000 + 1), due_for::nothing);
  EXPECT_EQ(c.due(p, b, failed_at - 3'600'000 + compaction_retry_ms), due_for::dirt);
}

// A plan that held back batches for want of a producer snapshot counted them as clean, so no
// write makes the partition due for them once writes stop: a quiet partition is due for them
// (whatever min.cleanable.dirty.ratio says) and the pass reads whether the snapshot covers them
// now. Not one still written to, nor once the next plan has found none held back.
TEST(CompactionProgress, BatchesHeldBackForASnapshotMakeAQuietPartitionDueWhateverItsDirtyShare) {
  using due_for = compaction_progress::due_for;
  const compaction_policy p{};
  const storage::partition_bounds b{0, 100, 1000, 2000, 5};  // 1000 bytes stored
  compaction_progress c;
  c.clean_offset = 10;   // the first batch held back
  c.clean_bytes = 2000;  // nothing written since the plan: no dirt
  c.held_until = 11;
  c.end_bytes_seen = 1900;  // written to since the last pass
  EXPECT_EQ(c.due(p, b, 10), due_for::nothing);
  c.end_bytes_seen = 2000;
  EXPECT_EQ(c.due(p, b, 10), due_for::held);
  c.retry_later(10);
  EXPECT_EQ(c.due(p, b, 20), due_for::nothing) << "a failed plan waits its retry time first";
  EXPECT_EQ(c.due(p, b, 10 + compaction_retry_ms), due_for::held);
  c.held_until = 0;
  EXPECT_EQ(c.due(p, b, 10 + compaction_retry_ms), due_for::nothing);
}

TEST_F(Compaction, TheNewestRecordOfEachKeyStaysAndWhatIsLeftOfABatchIsWrittenAnew) {
  append({{"k1", "a1"}, {"k2", "b1"}, {"k1", "a2"}, {std::nullopt, "no key"}});  // 0-3
  append({{"k3", "c1"}, {"k2", std::nullopt}, {"k4", "d1"}, {"k6", std::nullopt, now_ms}});  // 4-7
  append({{"k1", "a3"}, {"k3", "c2"}});  // 8-9
  append({{"k1", "a4"}});                // 10: the newest batch, never compacted
  const auto before = store_->bounds(tp_).value();
  auto p = plan();
  ASSERT_TRUE(p) << p.error().message();
  ASSERT_TRUE(p->compaction);
  EXPECT_EQ(p->records_removed, 5);
  EXPECT_EQ(p->tombstones_kept, 2) << "never cleaned before, old timestamp or not";
  const auto& c = *p->compaction;
  EXPECT_EQ(c.first_base, 0);
  EXPECT_EQ(c.end, 10) << "up to the newest batch";
  ASSERT_EQ(c.batches.size(), 2u);
  EXPECT_TRUE(c.batches[0].rewritten) << "5 to 7 are what is left of 4-7";
  EXPECT_EQ(c.batches[0].batch.base_offset, 5);
  EXPECT_EQ(c.batches[0].batch.record_count, 3u);
  EXPECT_FALSE(c.batches[1].rewritten) << "8-9 stays as it is";
  EXPECT_EQ(c.batches[1].batch.end_bytes, p->clean_bytes);
  EXPECT_TRUE(p->clean_moved);
  EXPECT_EQ(p->clean_offset, 10) << "the next plan reads from the range's end";

  auto after = store_->compact(tp_, c);
  ASSERT_TRUE(after) << after.error().message();
  EXPECT_EQ(records(), (rows{{5, "k2", "<null>"},  // tombstones stay for delete.retention.ms
                             {6, "k4", "d1"},
                             {7, "k6", "<null>"},
                             {8, "k1", "a3"},
                             {9, "k3", "c2"},
                             {10, "k1", "a4"}}))
      << "k1 at 8 stays: its newer record at 10 is in the newest batch, outside the range";
  EXPECT_EQ(after->log_start, 0) << "offsets and the log start never change";
  EXPECT_EQ(after->next_offset, before.next_offset);
  EXPECT_EQ(after->end_bytes, before.end_bytes);
  std::uint64_t stored = 0;
  const auto batches = store_->read(tp_, 0, 1 << 20).value();
  for (const auto& b : batches) stored += b.frame.size();
  EXPECT_EQ(after->stored_bytes(), stored) << "the bytes stored stay exact";

  auto again = plan(compaction_policy{}, INT64_MAX, p->clean_offset);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->compaction) << "a clean log is left alone";

  // Once the clean part's tombstones may go, a plan reads it again although nothing was
  // written since, and removes them.
  again = plan(compaction_policy{}, INT64_MAX, p->clean_offset, 32u << 20,
               /*tombstones_below=*/p->clean_offset, /*tombstones_due=*/true);
  ASSERT_TRUE(again) << again.error().message();
  ASSERT_TRUE(again->compaction);
  EXPECT_EQ(again->records_removed, 2);
  EXPECT_EQ(again->tombstones_kept, 0);
  ASSERT_TRUE(store_->compact(tp_, *again->compaction));
  EXPECT_EQ(records(), (rows{{6, "k4", "d1"}, {8, "k1", "a3"}, {9, "k3", "c2"}, {10, "k1", "a4"}}));
}

TEST_F(Compaction, WhatIsLeftOfABatchKeepsItsTimestampThoughItsRecordsHaveNone) {
  // Records sent without a timestamp are stored with -1, their batch stamped with the time
  // of its append.
  append({{"k", "old", -1}, {"s", "stays", -1}}, {}, now_ms);  // 0-1
  append({{"k", "new", -1}}, {}, now_ms);                      // 2
  append({{"z", "newest", -1}}, {}, now_ms);                   // 3
  auto p = plan();
  ASSERT_TRUE(p) << p.error().message();
  ASSERT_TRUE(p->compaction);
  ASSERT_FALSE(p->compaction->batches.empty());
  const auto& left = p->compaction->batches.front();
  ASSERT_TRUE(left.rewritten);
  EXPECT_EQ(left.batch.base_offset, 1);
  EXPECT_GE(left.batch.max_timestamp, now_ms);
  ASSERT_TRUE(store_->compact(tp_, *p->compaction));
  const auto stored = store_->read(tp_, 0, 1 << 20).value();
  ASSERT_FALSE(stored.empty());
  EXPECT_EQ(stored.front().base_offset, 1);
  EXPECT_GE(stored.front().max_timestamp, now_ms);
  // A day's retention.ms, on a topic both compacted and deleted: appended just now, it stays.
  storage::retention_limits limits;
  limits.older_than_ms = now_ms - 86'400'000;
  EXPECT_EQ(store_->retention_point(tp_, limits).value(), 0) << "nothing is old enough to go";
  EXPECT_EQ(records(), (rows{{1, "s", "stays"}, {2, "k", "new"}, {3, "z", "newest"}}));
}

TEST_F(Compaction, WhatIsLeftOfABatchDoesNotKeepTheTimestampOfARecordRemoved) {
  const auto future_ms = now_ms + 365 * 86'400'000LL;  // a producer's clock a year ahead
  append({{"k", "future", future_ms}, {"s", "stays"}});  // 0-1, stamped a year ahead
  append({{"k", "new", now_ms}});                         // 2
  append({{"z", "newest", now_ms}});                      // 3
  auto p = plan();
  ASSERT_TRUE(p) << p.error().message();
  ASSERT_TRUE(p->compaction);
  ASSERT_FALSE(p->compaction->batches.empty());
  const auto& left = p->compaction->batches.front();
  ASSERT_TRUE(left.rewritten);
  EXPECT_EQ(left.batch.base_offset, 1);
  EXPECT_EQ(left.batch.max_timestamp, old_ms) << "its kept record's, not the one removed";
  ASSERT_TRUE(store_->compact(tp_, *p->compaction));
  const auto stored = store_->read(tp_, 0, 1 << 20).value();
  ASSERT_FALSE(stored.empty());
  EXPECT_EQ(stored.front().base_offset, 1);
  EXPECT_EQ(stored.front().max_timestamp, old_ms);
  // A day's retention.ms, on a topic both compacted and deleted: the remnant is two days old.
  storage::retention_limits limits;
  limits.older_than_ms = now_ms - 86'400'000;
  EXPECT_EQ(store_->retention_point(tp_, limits).value(), 2) << "the remnant is old enough to go";
}

// A Kafka record stamped 0 has a timestamp (only -1 is none): what is left of its batch is
// as old as the epoch, as Kafka recomputes it, not the removed record's newer stamp.
TEST_F(Compaction, WhatIsLeftOfABatchKeepsARecordStampedZeroAsItsTimestamp) {
  append({{"k", "later", now_ms}, {"s", "epoch", 0}});  // 0-1
  append({{"k", "new", now_ms}});                       // 2
  append({{"z", "newest", now_ms}});                    // 3
  auto p = plan();
  ASSERT_TRUE(p) << p.error().message();
  ASSERT_TRUE(p->compaction);
  ASSERT_FALSE(p->compaction->batches.empty());
  const auto& left = p->compaction->batches.front();
  ASSERT_TRUE(left.rewritten);
  EXPECT_EQ(left.batch.base_offset, 1);
  EXPECT_EQ(left.batch.max_timestamp, 0) << "its kept record's 0, not the one removed";
}

TEST_F(Compaction, OnlyTombstonesBelowTheHorizonGo) {
  append({{"a", std::nullopt}, {"b", std::nullopt}});  // 0-1
  append({{"c", std::nullopt}, {"d", "1"}});           // 2-3
  append({{"z", "newest"}});                           // 4
  auto p = plan(compaction_policy{}, INT64_MAX, 0, 32u << 20, /*tombstones_below=*/3);
  ASSERT_TRUE(p) << p.error().message();
  ASSERT_TRUE(p->compaction);
  EXPECT_EQ(p->records_removed, 3);
  EXPECT_EQ(p->tombstones_kept, 0);
  ASSERT_TRUE(store_->compact(tp_, *p->compaction));
  EXPECT_EQ(records(), (rows{{3, "d", "1"}, {4, "z", "newest"}}));
}

TEST(TombstoneHorizon, TombstonesGoDeleteRetentionAfterTheyWereFirstCleaned) {
  constexpr std::int64_t day = 86'400'000;
  tombstone_horizon h;
  EXPECT_EQ(h.removable_below(0, day), 0) << "nothing cleaned yet";
  EXPECT_FALSE(h.next_due_ms(day));
  h.cleaned(10, 1'000, day);
  EXPECT_EQ(h.next_due_ms(day), 1'000 + day);
  EXPECT_EQ(h.removable_below(1'000 + day - 1, day), 0);
  h.cleaned(20, 2'000, day);  // within an eighth of a day: shares the mark, at the later time
  EXPECT_EQ(h.next_due_ms(day), 2'000 + day) << "never sooner than the later compaction allows";
  EXPECT_EQ(h.removable_below(1'000 + day, day), 0);
  h.cleaned(30, 2'000 + day / 8, day);  // a mark of its own
  EXPECT_EQ(h.removable_below(2'000 + day, day), 20);
  EXPECT_EQ(h.next_due_ms(day), 2'000 + day / 8 + day);
  EXPECT_EQ(h.removable_below(2'000 + day / 8 + day, day), 30);
  EXPECT_FALSE(h.next_due_ms(day));
  h.cleaned(25, 5 * day, day);  // a clean mark moved back (a batch kept whole)
  EXPECT_EQ(h.removable_below(7 * day, day), 30) << "what was clean stays clean";
  // With no delete.retention.ms, what a compaction cleaned may go at the next.
  tombstone_horizon none;
  none.cleaned(7, 100, 0);
  none.cleaned(9, 100, 0);
  EXPECT_EQ(none.removable_below(100, 0), 9);
  // However often compactions come, the marks waiting stay few.
  tombstone_horizon busy;
  for (std::int64_t i = 0; i < 1000; ++i) busy.cleaned(i + 1, i * 1'000, 1'000'000);
  EXPECT_EQ(busy.next_due_ms(1'000'000), 124'000 + 1'000'000) << "the first eighth shares a mark";
  EXPECT_EQ(busy.removable_below(999'000, 1'000'000), 0);
  EXPECT_EQ(busy.removable_below(2'000'000, 1'000'000), 1000);
  // A clean part that moved back (a batch kept whole) makes no mark: nothing comes due again.
  tombstone_horizon back;
  back.cleaned(8, 100, 0);
  EXPECT_EQ(back.removable_below(100, 0), 8);
  back.cleaned(3, 200, 0);
  back.cleaned(8, 300, 0);
  EXPECT_FALSE(back.next_due_ms(0));
}

TEST_F(Compaction, RecordsTooRecentForTheMinimumLagAndUncoveredProducerBatchesStay) {
  append({{"k", "1"}});                                            // 0
  append({{"k", "2"}}, storage::batch_producer{7, 0, 0});          // 1, an idempotent producer's
  append({{"k", "3"}, {"j", "1", now_ms - 500}});                  // 2-3, recent
  append({{"k", "4"}});                                            // 4, the newest
  compaction_policy policy;
  policy.min_lag_ms = 1000;
  auto p = plan(policy, /*producers_covered=*/1);
  ASSERT_TRUE(p) << p.error().message();
  ASSERT_TRUE(p->compaction);
  EXPECT_EQ(p->compaction->end, 2) << "2-3 holds a record newer than the lag allows";
  ASSERT_TRUE(store_->compact(tp_, *p->compaction));
  EXPECT_EQ(records(), (rows{{1, "k", "2"}, {2, "k", "3"}, {3, "j", "1"}, {4, "k", "4"}}))
      << "0 went; 1 stays whole although older than 2 (its producer's snapshot does not cover it)";

  // Covered by the snapshot, the producer's batch is compacted like any other.
  p = plan(policy, /*producers_covered=*/2);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->compaction) << "k at 1 is the newest of the range 1-1";
  policy.min_lag_ms = 0;
  p = plan(policy, 2);
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->compaction);
  ASSERT_TRUE(store_->compact(tp_, *p->compaction));
  EXPECT_EQ(records(), (rows{{2, "k", "3"}, {3, "j", "1"}, {4, "k", "4"}}))
      << "k at 2 is the newest of the range: 4 is the newest batch, outside it";
}

TEST_F(Compaction, RecordsBelowTheLogStartGoAndTheStartStays) {
  append({{"a", "1"}, {"b", "1"}, {"c", "1"}});  // 0-2
  append({{"d", "1"}});                          // 3
  ASSERT_TRUE(store_->delete_records(tp_, 2, ""));
  auto p = plan();
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->compaction);
  EXPECT_EQ(p->records_removed, 2);
  auto after = store_->compact(tp_, *p->compaction);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->log_start, 2);
  EXPECT_EQ(records(), (rows{{2, "c", "1"}, {3, "d", "1"}}));
}

TEST_F(Compaction, APlanMadeBeforeADeletionIsRefused) {
  append({{"a", "1"}});
  append({{"a", "2"}});
  append({{"a", "3"}});
  auto p = plan();
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->compaction);
  ASSERT_TRUE(store_->delete_records(tp_, 1, ""));
  EXPECT_EQ(store_->compact(tp_, *p->compaction).error(), errc::offset_conflict);
  EXPECT_EQ(records(), (rows{{1, "a", "2"}, {2, "a", "3"}}));
}

TEST_F(Compaction, ATombstoneStaysWhileAnOlderRecordOfItsKeyHadToStay) {
  append({{"k", "v1"}, {"x", "1"}}, storage::batch_producer{7, 0, 0});  // 0-1, not covered
  append({{"k", std::nullopt}});                                          // 2, an old tombstone
  append({{"x", "2"}});                                                   // 3
  append({{"z", "newest"}});                                              // 4
  auto p = plan(compaction_policy{}, /*producers_covered=*/0, 0, 32u << 20, /*tombstones_below=*/5);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_FALSE(p->compaction) << "nothing can go: 0-1 stays whole, so k's tombstone stays";
  EXPECT_EQ(p->clean_offset, 0) << "the batch kept whole stays dirty for the next plan";
  // Once the snapshot covers the producer's batch, k goes with its tombstone.
  p = plan(compaction_policy{}, /*producers_covered=*/2, 0, 32u << 20, /*tombstones_below=*/5);
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->compaction);
  ASSERT_TRUE(store_->compact(tp_, *p->compaction));
  EXPECT_EQ(records(), (rows{{3, "x", "2"}, {4, "z", "newest"}}));
}

// A batch of an idempotent producer kept whole for want of a snapshot, with a record that
// would have gone, is where the next plan's dirty part starts and what a snapshot must cover
// (held_until); one kept whole with nothing to remove is neither.
TEST_F(Compaction, APlanSaysWhereTheBatchItHeldBackForASnapshotEnds) {
  append({{"a", "1"}});                                           // 0
  append({{"k", "1"}, {"x", "1"}}, storage::batch_producer{7, 0, 0});  // 1-2: k goes, once covered
  append({{"k", "2"}}, storage::batch_producer{7, 0, 2});         // 3: nothing to remove
  append({{"a", "2"}});                                           // 4
  append({{"z", "newest"}});                                      // 5
  auto p = plan(compaction_policy{}, /*producers_covered=*/0);
  ASSERT_TRUE(p) << p.error().message();
  ASSERT_TRUE(p->compaction) << "a at 0 goes";
  EXPECT_EQ(p->records_removed, 1);
  EXPECT_TRUE(p->clean_moved);
  EXPECT_EQ(p->held_until, 3);
  EXPECT_EQ(p->clean_offset, 1);
  EXPECT_GT(p->range_bytes, p->range_bytes_left);
  ASSERT_TRUE(store_->compact(tp_, *p->compaction));

  // The snapshot covers 1-2 now (not 3): k at 1 goes, and nothing is held back.
  p = plan(compaction_policy{}, /*producers_covered=*/3, p->clean_offset);
  ASSERT_TRUE(p) << p.error().message();
  ASSERT_TRUE(p->compaction);
  EXPECT_EQ(p->records_removed, 1);
  EXPECT_EQ(p->held_until, 0);
  EXPECT_EQ(p->clean_offset, 5);
  ASSERT_TRUE(store_->compact(tp_, *p->compaction));
  EXPECT_EQ(records(), (rows{{2, "x", "1"}, {3, "k", "2"}, {4, "a", "2"}, {5, "z", "newest"}}));
}

TEST_F(Compaction, AFutureTimestampHoldsNothingBackWithoutALag) {
  append({{"k", "1", now_ms + 3'600'000}});  // a producer's clock an hour ahead
  append({{"k", "2"}});
  append({{"z", "newest"}});
  auto p = plan();
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->compaction);
  EXPECT_EQ(p->compaction->end, 2);
  compaction_policy lagging;
  lagging.min_lag_ms = 1;
  p = plan(lagging);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->compaction) << "with a lag, the future batch and all after it wait";
}

TEST_F(Compaction, TheNextPlanReadsOnlyWhatWasWrittenSinceAndRemovesWhatItSupersedes) {
  append({{"a", "1"}, {"b", "1"}});  // 0-1
  append({{"a", "2"}});              // 2
  append({{"c", "1"}});              // 3
  auto first = plan();
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->compaction);
  ASSERT_TRUE(store_->compact(tp_, *first->compaction));
  EXPECT_EQ(first->clean_offset, 3);
  append({{"b", "2"}});  // 4: supersedes b in the clean part
  append({{"d", "1"}});  // 5
  auto next = plan(compaction_policy{}, INT64_MAX, first->clean_offset);
  ASSERT_TRUE(next) << next.error().message();
  ASSERT_TRUE(next->compaction);
  EXPECT_EQ(next->records_removed, 1);
  ASSERT_TRUE(store_->compact(tp_, *next->compaction));
  EXPECT_EQ(records(), (rows{{2, "a", "2"}, {3, "c", "1"}, {4, "b", "2"}, {5, "d", "1"}}));
}

TEST_F(Compaction, APlanWritesAnewAtMostItsBudgetAndTheNextGoesOn) {
  for (int i = 0; i < 3; ++i) append({{"k" + std::to_string(i), "old"}, {"s" + std::to_string(i), "stays"}});
  append({{"k0", "new"}, {"k1", "new"}, {"k2", "new"}});  // 6-8
  append({{"z", "newest"}});                               // 9
  auto p = plan(compaction_policy{}, INT64_MAX, 0, /*rewrite_budget=*/1);
  ASSERT_TRUE(p) << p.error().message();
  ASSERT_TRUE(p->compaction);
  EXPECT_EQ(p->compaction->end, 2) << "one batch written anew, then the budget stops it";
  EXPECT_FALSE(p->clean_moved);
  ASSERT_TRUE(store_->compact(tp_, *p->compaction));
  p = plan(compaction_policy{}, INT64_MAX, 0, /*rewrite_budget=*/1);
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->compaction);
  ASSERT_TRUE(store_->compact(tp_, *p->compaction));
  EXPECT_EQ(std::get<0>(records().front()), 1) << "s0 stays";
  EXPECT_EQ(std::get<0>(records()[1]), 3) << "and s1 now";
}
