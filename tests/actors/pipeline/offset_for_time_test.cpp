// Finding an offset by time (actors/pipeline/offset_for_time.hpp): the binary search over the
// batches' running maximum timestamps on its own, then whole lookups through a mock bridge
// that reads a log laid out by the test, counting what the lookup reads. Every wait is on the
// lookup's answer, not on time.
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <memory>
#include <optional>
#include <vector>

#include "actors/pipeline/offset_for_time.hpp"
#include "protocol/codec_manager.hpp"
#include "tests/mocks/mock_protocol_bridge.hpp"

using namespace portask;
using namespace std::chrono_literals;

namespace {

// A partition's stored log as a test lays it out: one batch per append, one record per
// timestamp given, with the running maximum a partition writes (stored_batch::end_timestamp).
// Reads go as a partition's do: the batch holding the offset or the first after it, then more
// while within the limit, at most `per_read` of them; below `start` (where the log start is
// now) or past the end, OFFSET_OUT_OF_RANGE.
struct stamped_log {
  std::vector<storage::stored_batch> batches;
  std::int64_t start = 0;
  std::int64_t next = 0;
  std::int64_t end_timestamp = -1;
  std::size_t per_read = 1 << 20;

  void append(const protocol::codec_manager& codecs, const std::vector<std::int64_t>& stamps) {
    protocol::message_batch mb;
    for (const auto ts : stamps) {
      protocol::message m;
      m.topic = mb.messages.empty() ? "t" : "";
      m.value = "v";
      m.timestamp_ms = ts;
      mb.messages.push_back(std::move(m));
    }
    protocol::buffer frame;
    ASSERT_FALSE(codecs.append_batch_frame(mb, {}, protocol::message_type::publish, frame));
    storage::stored_batch b;
    b.base_offset = next;
    b.record_count = static_cast<std::uint32_t>(stamps.size());
    b.max_timestamp = *std::max_element(stamps.begin(), stamps.end());
    b.frame = protocol::shared_bytes::adopt(std::move(frame));
    end_timestamp = std::max(end_timestamp, b.max_timestamp);
    b.end_timestamp = end_timestamp;
    next = b.next_offset();
    batches.push_back(std::move(b));
  }

  storage::partition_bounds bounds() const {
    storage::partition_bounds b;
    b.log_start = start;
    b.next_offset = next;
    b.end_timestamp = end_timestamp;
    return b;
  }

  caf::expected<fetch_result> read(const fetch_request& req) const {
    if (req.offset < start || req.offset > next) return make_caf_error(errc::offset_out_of_range);
    fetch_result out;
    out.partition = req.tp.partition;
    out.high_watermark = next;
    out.log_start = start;
    std::size_t bytes = 0;
    for (const auto& b : batches) {
      if (b.next_offset() <= req.offset) continue;
      if (!out.batches.empty() &&
          (bytes + b.frame.size() > req.max_bytes || out.batches.size() >= per_read))
        break;
      bytes += b.frame.size();
      out.batches.push_back(b);
    }
    return out;
  }
};

// A mock bridge over `log` (its bounds script answers the log's bounds as they are then).
protocol_bridge_actor bridge_over(caf::actor_system& sys,
                                  const std::shared_ptr<portask::testing::protocol_bridge_script>& script,
                                  const std::shared_ptr<stamped_log>& log) {
  script->fetch.otherwise = [log](const fetch_request& req) { return log->read(req); };
  script->bounds.otherwise = [log](const topic_partition&) -> caf::expected<storage::partition_bounds> {
    return log->bounds();
  };
  return portask::testing::spawn_mock_protocol_bridge(sys, script);
}

struct outcome {
  std::optional<offset_found> found;  ///< none: failed
  errc error = errc::ok;
};

// One find_offset_for_time, run on an actor of its own, and its outcome.
outcome look_up(caf::actor_system& sys, time_lookup look, const storage::partition_bounds& bounds) {
  auto promise = std::make_shared<std::promise<outcome>>();
  auto answer = promise->get_future();
  // (Spawned with arguments: CAF 0.17 spawning a function of the actor alone trips UBSan.)
  sys.spawn(
      [](caf::event_based_actor* self, time_lookup lookup, storage::partition_bounds from,
         std::shared_ptr<std::promise<outcome>> out) {
        find_offset_for_time(
            self, std::move(lookup), from,
            [out](offset_found f) { out->set_value(outcome{f, errc::ok}); },
            [out](caf::error& e) { out->set_value(outcome{std::nullopt, to_errc(e)}); });
      },
      std::move(look), bounds, promise);
  if (answer.wait_for(60s) != std::future_status::ready) {
    ADD_FAILURE() << "the lookup never answered";
    return {std::nullopt, errc::timeout};
  }
  return answer.get();
}

class OffsetForTime : public ::testing::Test {
 protected:
  OffsetForTime() : sys_(configured(cfg_)) {}
  ~OffsetForTime() override {
    if (bridge_) caf::anon_send_exit(bridge_, caf::exit_reason::user_shutdown);
  }

  // The lookup of `target` in the log as the test laid it out, from `bounds` (the log's
  // bounds when none are given), in at most `steps` reads.
  outcome look_for(std::int64_t target,
                   std::optional<storage::partition_bounds> bounds = std::nullopt,
                   std::uint32_t steps = time_lookup_steps) {
    if (!bridge_) bridge_ = bridge_over(sys_, script_, log_);
    time_lookup look;
    look.bridge = bridge_;
    look.tp = {"t", 0};
    look.codecs = &codecs_;
    look.source = protocol_kind::kafka;
    look.target = target;
    look.steps_left = steps;
    return look_up(sys_, std::move(look), bounds ? *bounds : log_->bounds());
  }

  // The lookups' reads so far: how many were probes of a search (one batch each), and where
  // each read of a scan began.
  std::size_t probes() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < script_->fetch.count(); ++i)
      if (script_->fetch.arg(i).max_bytes == 1) ++n;
    return n;
  }
  std::vector<std::int64_t> scan_offsets() const {
    std::vector<std::int64_t> out;
    for (std::size_t i = 0; i < script_->fetch.count(); ++i)
      if (script_->fetch.arg(i).max_bytes > 1) out.push_back(script_->fetch.arg(i).offset);
    return out;
  }

  static caf::actor_system_config& configured(caf::actor_system_config& cfg) {
    configure_actor_system(cfg);
    return cfg;
  }

  caf::actor_system_config cfg_;
  caf::actor_system sys_;
  protocol::codec_manager codecs_;
  std::shared_ptr<stamped_log> log_ = std::make_shared<stamped_log>();
  std::shared_ptr<portask::testing::protocol_bridge_script> script_ =
      std::make_shared<portask::testing::protocol_bridge_script>();
  protocol_bridge_actor bridge_;
};

// `count` batches of `per_batch` records, stamped 1000 + 10 * offset.
void lay_out(const protocol::codec_manager& codecs, stamped_log& log, int count, int per_batch) {
  for (int i = 0; i < count; ++i) {
    std::vector<std::int64_t> stamps;
    for (int j = 0; j < per_batch; ++j) stamps.push_back(1000 + 10 * (log.next + j));
    log.append(codecs, stamps);
  }
}

}  // namespace

// The search alone, over 1,000 batches of 10 records: it stops at the batch the first record
// at or after the goal is in, in about log2(10,000) reads.
TEST(TimeSearch, FindsTheFirstBatchWhoseRunningMaximumReachesTheGoalInLogarithmicReads) {
  std::vector<storage::stored_batch> batches;
  for (std::int64_t base = 0; base < 10'000; base += 10) {
    storage::stored_batch b;
    b.base_offset = base;
    b.record_count = 10;
    b.max_timestamp = 1000 + base + 9;
    b.end_timestamp = b.max_timestamp;
    batches.push_back(b);
  }
  int reads = 0;
  // Where the scan for `goal` starts, from `log_start`; `reads` says how many reads it took.
  auto start_for = [&](std::int64_t log_start, std::int64_t goal) {
    time_search s{log_start, 10'000, goal};
    reads = 0;
    while (!s.done()) {
      const auto at = s.next_probe();
      EXPECT_GE(at, log_start);
      ++reads;
      const auto holding =
          std::find_if(batches.begin(), batches.end(),
                       [&](const storage::stored_batch& x) { return x.next_offset() > at; });
      s.found(holding == batches.end() ? nullptr : &*holding);
    }
    return s.start();
  };
  EXPECT_EQ(start_for(0, 1000 + 5234), 5230);
  EXPECT_LE(reads, 15);
  EXPECT_EQ(start_for(0, 0), 0) << "everything qualifies";
  EXPECT_EQ(start_for(4, 1000 + 3), 4) << "never below the log start, inside the first batch";
  EXPECT_EQ(start_for(0, 1000 + 9'999), 9'990);
  EXPECT_EQ(start_for(0, 1000 + 10'000), 10'000) << "nothing qualifies: the end";
  EXPECT_LE(reads, 15);
}

// A batch stamped far ahead and then deleted leaves the running maximum of every batch after
// it past the target: the search cannot narrow, the scan starts at the log start, and still
// answers the first record at or after the target that is stored, none below the start.
TEST_F(OffsetForTime, ADeletedBatchStampedAheadLeavesTheAnswerToTheScanFromTheLogStart) {
  log_->append(codecs_, {999'999, 999'999});  // 0-1
  log_->append(codecs_, {999'999, 1015});     // 2-3
  lay_out(codecs_, *log_, 100, 2);            // 4-203, stamped 1040-3030
  log_->start = 3;                            // DeleteRecords in mid-batch
  auto got = look_for(1010);
  ASSERT_TRUE(got.found);
  EXPECT_EQ(got.found->offset, 3) << "offset 2 is stamped later, but deleted";
  EXPECT_EQ(got.found->timestamp, 1015);
  got = look_for(2500);
  ASSERT_TRUE(got.found);
  EXPECT_EQ(got.found->offset, 150);
  EXPECT_EQ(got.found->timestamp, 2500);
  ASSERT_FALSE(scan_offsets().empty());
  EXPECT_EQ(scan_offsets().back(), 3);
}

TEST_F(OffsetForTime, ATargetPastTheNewestTimestampIsAnsweredWithoutARead) {
  lay_out(codecs_, *log_, 50, 4);
  const auto got = look_for(1000 + 10 * 200);
  ASSERT_TRUE(got.found);
  EXPECT_EQ(got.found->offset, -1);
  EXPECT_EQ(got.found->timestamp, -1);
  EXPECT_FALSE(got.found->gave_up);
  EXPECT_EQ(script_->fetch.count(), 0u);
}

// 2,000 batches: the scan starts at the batch that holds the answer, after a search of a few
// one-batch reads, rather than at the log start.
TEST_F(OffsetForTime, TheScanStartsAtTheBatchThatHoldsTheAnswer) {
  lay_out(codecs_, *log_, 2000, 5);
  const auto got = look_for(1000 + 10 * 5234 - 5);
  ASSERT_TRUE(got.found);
  EXPECT_EQ(got.found->offset, 5234);
  EXPECT_EQ(got.found->timestamp, 1000 + 10 * 5234);
  EXPECT_LE(probes(), 15u);
  EXPECT_EQ(scan_offsets(), (std::vector<std::int64_t>{5230}));
  const auto first = look_for(0);
  ASSERT_TRUE(first.found);
  EXPECT_EQ(first.found->offset, 0) << "a target before every record: the first";
}

// A negative target other than -3 (Kafka's ListOffsets takes -10 as a timestamp) is a target
// every record reaches: the first record stored, none below the log start.
TEST_F(OffsetForTime, ANegativeTargetFindsTheFirstRecordStored) {
  lay_out(codecs_, *log_, 10, 4);
  log_->start = 6;
  const auto got = look_for(-10);
  ASSERT_TRUE(got.found);
  EXPECT_EQ(got.found->offset, 6);
  EXPECT_EQ(got.found->timestamp, 1000 + 10 * 6);
}

// -3: the first record stamped with the log's largest timestamp, found as a target; when that
// record is gone (its batch deleted, as the running maximum remembers), the largest timestamp
// left is scanned for from the log start.
TEST_F(OffsetForTime, TheLargestTimestampIsFoundAndStillFoundOnceItsRecordIsDeleted) {
  log_->append(codecs_, {5000, 7000});  // 0-1: the largest, deleted below
  lay_out(codecs_, *log_, 10, 3);        // 2-31
  log_->append(codecs_, {4000, 6000, 6000, 1200});  // 32-35: the largest left, twice
  lay_out(codecs_, *log_, 10, 3);        // 36-65
  auto got = look_for(max_timestamp_target);
  ASSERT_TRUE(got.found);
  EXPECT_EQ(got.found->offset, 1);
  EXPECT_EQ(got.found->timestamp, 7000);
  log_->start = 2;
  got = look_for(max_timestamp_target);
  ASSERT_TRUE(got.found);
  EXPECT_EQ(got.found->offset, 33) << "the first record with the largest timestamp left";
  EXPECT_EQ(got.found->timestamp, 6000);
}

// Retention moves the log start while the lookup reads: it starts again from the start then,
// rather than answering OFFSET_OUT_OF_RANGE; only a second such move fails it.
TEST_F(OffsetForTime, ALookupStartsAgainOnceFromALogStartThatMovedUnderIt) {
  lay_out(codecs_, *log_, 100, 10);
  const auto as_asked = log_->bounds();  // from 0
  log_->start = 300;
  auto got = look_for(0, as_asked);
  ASSERT_TRUE(got.found) << to_string(got.error);
  EXPECT_EQ(got.found->offset, 300);
  EXPECT_EQ(script_->bounds.count(), 1u) << "the bounds asked again once";
  // The bounds it asks then are behind already: the start moves on under it again.
  script_->bounds.reply(log_->bounds());
  log_->start = 600;
  got = look_for(0, as_asked);
  EXPECT_FALSE(got.found);
  EXPECT_EQ(got.error, errc::offset_out_of_range);
  EXPECT_EQ(script_->bounds.count(), 2u);
}

// A log the running maximum cannot narrow (its first batch, stamped far ahead, deleted), read
// a batch at a time: a lookup given a bound stops after the reads it may make, and says it
// gave up; by default (Kafka's and the native ListOffsets) it reads a partition's worth and
// answers.
TEST_F(OffsetForTime, ALookupGivesUpAfterTheReadsItMayMake) {
  log_->append(codecs_, {999'999});  // 0
  lay_out(codecs_, *log_, 100, 2);   // 1-200, stamped 1010-3000
  log_->start = 1;
  log_->per_read = 1;
  const auto got = look_for(1000 + 10 * 150, std::nullopt, 8);
  ASSERT_TRUE(got.found);
  EXPECT_TRUE(got.found->gave_up);
  EXPECT_EQ(got.found->offset, -1);
  EXPECT_EQ(script_->fetch.count(), 8u);
  const auto all = look_for(1000 + 10 * 150);
  ASSERT_TRUE(all.found);
  EXPECT_FALSE(all.found->gave_up) << "a partition's worth of reads by default";
  EXPECT_EQ(all.found->offset, 150);
}
