// The partition actor against mock storage actors: what it sends the writer, what it answers,
// and how it recovers. Runs on a real actor system; every wait is on a message, not on time.
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <variant>

#include "actors/runtime/broker_context.hpp"
#include "actors/pipeline/partition.hpp"
#include "storage/memory_store.hpp"

using namespace portask;
using namespace std::chrono_literals;

namespace {

// What the mocks saw, shared with the test thread.
struct mock_log {
  std::mutex mutex;
  std::vector<append_set> sets;
  int bounds_requests = 0;
  errc write_result = errc::ok;
  std::vector<std::int64_t> deletions;  ///< log starts the partition asked the store for
  std::vector<std::string> deletion_fences;  ///< the lease each deletion was asked under
  errc delete_result = errc::ok;  ///< what the store answers a deletion
  std::vector<std::string> snapshot_fences;  ///< the lease each producer snapshot was written under
  errc snapshot_result = errc::ok;  ///< what the store answers a producer snapshot
  std::vector<storage::log_compaction> compactions;  ///< compactions it had the store carry out
  errc compact_result = errc::ok;  ///< what the store answers a compaction
  /// While set, the writer keeps its answers until it gets flush_atom, and tells `on_held`
  /// (flush_atom) that it holds one: a write round stays in flight as long as a test needs.
  bool hold_writes = false;
  caf::actor on_held;
  std::vector<std::pair<caf::typed_response_promise<append_outcome>, append_outcome>> held;
  /// While set (0 or more), a store read first has the partition that asked move its log
  /// start there, as DeleteRecords or retention can while a read is out, and then answers
  /// with a batch at that offset (the first one the store still holds). Otherwise reads find
  /// nothing.
  std::int64_t delete_during_read = -1;
};

storage_writer_actor::behavior_type mock_writer(storage_writer_actor::pointer self,
                                                std::shared_ptr<mock_log> log) {
  return {
      [=](append_atom, append_set& set) -> caf::result<append_outcome> {
        std::lock_guard lock{log->mutex};
        append_outcome out{std::vector<errc>(set.batches.size(), log->write_result)};
        log->sets.push_back(std::move(set));
        if (!log->hold_writes) return out;
        log->held.emplace_back(self->make_response_promise<append_outcome>(), std::move(out));
        if (log->on_held) caf::anon_send(log->on_held, flush_atom::value);
        return log->held.back().first;
      },
      [=](flush_atom) {
        std::lock_guard lock{log->mutex};
        for (auto& [promise, outcome] : log->held) promise.deliver(outcome);
        log->held.clear();
      },
  };
}

storage_reader_actor::behavior_type mock_reader(storage_reader_actor::pointer self,
                                                std::shared_ptr<mock_log> log) {
  return {
      [=](read_atom, const topic_partition&, std::int64_t,
          std::uint32_t) -> std::vector<storage::stored_batch> {
        std::int64_t start = -1;
        {
          std::lock_guard lock{log->mutex};
          start = log->delete_during_read;
        }
        if (start < 0) return {};
        // Sent before this answer, from here, to the same mailbox: the partition takes the
        // deletion first.
        caf::anon_send(caf::actor_cast<caf::actor>(self->current_sender()), delete_atom::value, start);
        storage::stored_batch b;
        b.base_offset = start;
        b.record_count = 1;
        b.frame = protocol::shared_bytes::copy_of(protocol::buffer(64, 0x42));
        return {b};
      },
      [=](bounds_atom, const topic_partition&) -> storage::partition_bounds {
        std::lock_guard lock{log->mutex};
        ++log->bounds_requests;
        return {0, 5};  // the store already holds offsets 0..4
      },
      [=](recover_atom, const topic_partition&) -> partition_recovery {
        std::lock_guard lock{log->mutex};
        ++log->bounds_requests;
        return {{0, 5}, {}};  // the store already holds offsets 0..4, of no producer
      },
      [=](snapshot_atom, const topic_partition&, const storage::producer_snapshot&,
          const std::string& fence) -> caf::result<bool> {
        std::lock_guard lock{log->mutex};
        log->snapshot_fences.push_back(fence);
        if (log->snapshot_result != errc::ok) return make_caf_error(log->snapshot_result);
        return true;
      },
      [](producer_atom, std::int64_t) -> std::int64_t { return 0; },
      [](producer_atom, std::int64_t, std::int16_t epoch) -> std::int16_t {
        return static_cast<std::int16_t>(epoch + 1);
      },
      [](commit_atom, const std::string&, const std::vector<storage::group_offset>&, const std::string&) -> bool {
        return true;
      },
      [](offset_atom, const std::string&) -> std::vector<storage::group_offset> { return {}; },
      [](delete_atom, const std::string&, const std::vector<topic_partition>&, const std::string&) -> bool {
        return true;
      },
      [](list_atom) -> std::vector<std::string> { return {}; },
      [](commit_atom, const std::string&, const storage::group_metadata&, const std::string&) -> bool {
        return true;
      },
      [](describe_atom, const std::string&) -> stored_group { return {}; },
      [](describe_atom) -> std::vector<storage::group_listing> { return {}; },
      [=](delete_atom, const topic_partition&, std::int64_t offset,
          const std::string& fence) -> caf::result<storage::partition_bounds> {
        std::lock_guard lock{log->mutex};
        log->deletions.push_back(offset);
        log->deletion_fences.push_back(fence);
        if (log->delete_result != errc::ok) return make_caf_error(log->delete_result);
        return storage::partition_bounds{offset, 5, 0, 0, -1};
      },
      [=](compact_atom, const topic_partition&,
          const storage::log_compaction& c) -> caf::result<storage::partition_bounds> {
        std::lock_guard lock{log->mutex};
        log->compactions.push_back(c);
        if (log->compact_result != errc::ok) return make_caf_error(log->compact_result);
        return storage::partition_bounds{0, 9, 300, 400, 1000};  // 300 bytes went
      },
      [](ping_atom) -> bool { return true; },
  };
}

framed_batch batch(std::uint32_t records) {
  return {protocol::shared_bytes::copy_of(protocol::buffer(64, 0x42)), records, 1000};
}

struct partition_fixture {
  partition_fixture() {
    configure_actor_system(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    ctx = std::make_shared<broker_context>(broker_config{}, storage::memory_store::factory(), "mock");
    dir.writers = {sys->spawn(mock_writer, log)};
    dir.readers = {sys->spawn(mock_reader, log)};
  }
  ~partition_fixture() {
    caf::anon_send_exit(dir.writer_for({}), caf::exit_reason::user_shutdown);
    caf::anon_send_exit(dir.reader_for({}), caf::exit_reason::user_shutdown);
  }
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<mock_log> log = std::make_shared<mock_log>();
  std::shared_ptr<broker_context> ctx;
  actor_directory dir;  ///< the partition's writer and reader
};

}  // namespace

TEST(PartitionActor, AssignsOffsetsAfterTheRecoveredBoundsAndAnswersAfterTheWriter) {
  partition_fixture f;
  caf::scoped_actor self{*f.sys};
  auto p = spawn_partition(self.ptr(), f.ctx, f.dir, {"t", 0});
  std::vector<publish_result> results;
  for (std::uint32_t n : {3u, 2u, 1u}) {
    self->request(p, 5s, append_atom::value, batch(n))
        .receive([&](publish_result& r) { results.push_back(r); },
                 [&](caf::error& e) { FAIL() << f.sys->render(e); });
  }
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].base_offset, 5);
  EXPECT_EQ(results[1].base_offset, 8);
  EXPECT_EQ(results[2].base_offset, 10);
  std::lock_guard lock{f.log->mutex};
  ASSERT_EQ(f.log->sets.size(), 3u) << "one append_set per write round";
  EXPECT_EQ(f.log->sets[1].batches.at(0).base_offset, 8);
  EXPECT_EQ(f.log->sets[1].tp, (topic_partition{"t", 0}));
  self->unlink_from(p);
  self->send_exit(p, caf::exit_reason::user_shutdown);
}

TEST(PartitionActor, BatchesArrivingDuringAWriteShareTheNextRound) {
  partition_fixture f;
  caf::scoped_actor self{*f.sys};
  {
    std::lock_guard lock{f.log->mutex};
    f.log->hold_writes = true;
    f.log->on_held = caf::actor_cast<caf::actor>(self);
  }
  auto p = spawn_partition(self.ptr(), f.ctx, f.dir, {"t", 0});
  // Fire 50 appends without waiting. The first write round is held until all of them are in
  // the partition's mailbox, so the rest queue behind it however fast the machine is.
  for (int i = 0; i < 50; ++i) self->send(p, append_atom::value, batch(1));
  self->receive([](flush_atom) {},
                caf::after(std::chrono::seconds(30)) >> [] { ADD_FAILURE() << "no write round"; });
  {
    std::lock_guard lock{f.log->mutex};
    f.log->hold_writes = false;
  }
  caf::anon_send(f.dir.writer_for({}), flush_atom::value);
  int answered = 0;
  std::set<std::int64_t> offsets;
  self->receive_for(answered, 50)([&](publish_result& r) { offsets.insert(r.base_offset); });
  EXPECT_EQ(offsets.size(), 50u);
  EXPECT_EQ(*offsets.begin(), 5);
  EXPECT_EQ(*offsets.rbegin(), 54);
  std::lock_guard lock{f.log->mutex};
  std::size_t batches = 0;
  for (const auto& s : f.log->sets) batches += s.batches.size();
  EXPECT_EQ(batches, 50u);
  EXPECT_LE(f.log->sets.size(), 2u) << "appends queued behind an in-flight write share a round";
  self->unlink_from(p);
  self->send_exit(p, caf::exit_reason::user_shutdown);
}

TEST(PartitionActor, AStoreFailureIsARetriableErrorAndTriggersRecovery) {
  partition_fixture f;
  f.log->write_result = errc::storage_unavailable;
  caf::scoped_actor self{*f.sys};
  auto p = spawn_partition(self.ptr(), f.ctx, f.dir, {"t", 0});
  errc got = errc::ok;
  self->request(p, 5s, append_atom::value, batch(1))
      .receive([&](publish_result&) { FAIL() << "acknowledged a failed write"; },
               [&](caf::error& e) { got = to_errc(e); });
  EXPECT_EQ(got, errc::storage_unavailable);
  EXPECT_TRUE(is_retriable(got));
  // After the failure the partition re-reads its bounds before it accepts more writes.
  f.log->write_result = errc::ok;
  self->request(p, 5s, append_atom::value, batch(1))
      .receive([&](publish_result& r) { EXPECT_EQ(r.base_offset, 5); },
               [&](caf::error& e) { FAIL() << f.sys->render(e); });
  std::lock_guard lock{f.log->mutex};
  EXPECT_GE(f.log->bounds_requests, 2);
  self->unlink_from(p);
  self->send_exit(p, caf::exit_reason::user_shutdown);
}

TEST(PartitionActor, ParkedFetchIsAnsweredByTheNextAppend) {
  partition_fixture f;
  caf::scoped_actor self{*f.sys};
  auto p = spawn_partition(self.ptr(), f.ctx, f.dir, {"t", 0});
  fetch_request req{{"t", 0}, 5, 1 << 20, 30'000, protocol_kind::portask};
  // The fetch at the high watermark parks; the append then answers both.
  self->send(p, fetch_atom::value, req);
  self->send(p, append_atom::value, batch(4));
  bool fetched = false, appended = false;
  for (int i = 0; i < 2; ++i) {
    self->receive([&](fetch_result& r) {
                    fetched = true;
                    ASSERT_EQ(r.batches.size(), 1u);
                    EXPECT_EQ(r.batches[0].base_offset, 5);
                    EXPECT_EQ(r.high_watermark, 9);
                  },
                  [&](publish_result&) { appended = true; }, caf::after(10s) >> [] {});
  }
  EXPECT_TRUE(fetched);
  EXPECT_TRUE(appended);
  self->unlink_from(p);
  self->send_exit(p, caf::exit_reason::user_shutdown);
}

TEST(PartitionActor, DeletingRecordsMovesTheLogStartAndTellsTheStore) {
  partition_fixture f;
  caf::scoped_actor self{*f.sys};
  auto p = spawn_partition(self.ptr(), f.ctx, f.dir, {"t", 0});
  auto del = [&](std::int64_t offset) {
    std::variant<storage::partition_bounds, errc> out = errc::internal;
    self->request(p, 5s, delete_atom::value, offset)
        .receive([&](storage::partition_bounds& b) { out = b; },
                 [&](caf::error& e) { out = to_errc(e); });
    return out;
  };
  auto b = del(3);
  ASSERT_TRUE(std::holds_alternative<storage::partition_bounds>(b));
  EXPECT_EQ(std::get<storage::partition_bounds>(b).log_start, 3);
  EXPECT_EQ(std::get<errc>(del(6)), errc::offset_out_of_range) << "past the high watermark (5)";
  EXPECT_EQ(std::get<errc>(del(-2)), errc::offset_out_of_range);
  fetch_request below;
  below.tp = {"t", 0};
  below.offset = 2;
  self->request(p, 5s, fetch_atom::value, below)
      .receive([&](fetch_result&) { ADD_FAILURE() << "a read below the log start is served"; },
               [&](caf::error& e) { EXPECT_EQ(to_errc(e), errc::offset_out_of_range); });
  b = del(-1);
  ASSERT_TRUE(std::holds_alternative<storage::partition_bounds>(b));
  EXPECT_EQ(std::get<storage::partition_bounds>(b).log_start, 5) << "-1: the high watermark";
  {
    std::lock_guard lock{f.log->mutex};
    EXPECT_EQ(f.log->deletions, (std::vector<std::int64_t>{3, 5}));
  }
  self->unlink_from(p);
  self->send_exit(p, caf::exit_reason::user_shutdown);
}

// DeleteRecords (or retention) is moving the log start past a fetch's offset while the store
// reads for it: the store's answer starts after the deletion, and serving it would skip the
// records in between unseen. The fetch hears OFFSET_OUT_OF_RANGE, as one a moment later would.
TEST(PartitionActor, AFetchWhoseOffsetIsDeletedWhileTheStoreReadsIsOutOfRange) {
  partition_fixture f;
  f.log->delete_during_read = 3;
  caf::scoped_actor self{*f.sys};
  auto p = spawn_partition(self.ptr(), f.ctx, f.dir, {"t", 0});
  // Offset 1 of 0-4: nothing was appended here, so the (empty) tail sends it to the store.
  fetch_request at1;
  at1.tp = {"t", 0};
  at1.offset = 1;
  errc got = errc::ok;
  self->request(p, 5s, fetch_atom::value, at1)
      .receive(
          [&](fetch_result& r) {
            ADD_FAILURE() << "served " << r.batches.size() << " batches from offset "
                          << (r.batches.empty() ? -1 : r.batches[0].base_offset);
          },
          [&](caf::error& e) { got = to_errc(e); });
  EXPECT_EQ(got, errc::offset_out_of_range);
  // The log start moves once the store has deleted: a deletion asked now is answered after
  // the one that came in while the store read (the store answers them in turn).
  std::int64_t log_start = -1;
  self->request(p, 5s, delete_atom::value, std::int64_t{3})
      .receive([&](storage::partition_bounds& b) { log_start = b.log_start; },
               [&](caf::error& e) { ADD_FAILURE() << to_string(e); });
  EXPECT_EQ(log_start, 3);
  {
    std::lock_guard lock{f.log->mutex};
    EXPECT_EQ(f.log->deletions, (std::vector<std::int64_t>{3, 3}))
        << "the deletion that came in while the store read reached the store first";
  }
  self->unlink_from(p);
  self->send_exit(p, caf::exit_reason::user_shutdown);
}

// The store lost acknowledged records (a recovery finds it ending below the high watermark):
// a fetch in the lost range waits for what is written after it. A recovery that finds the
// loss again, with nothing written since, leaves it waiting rather than telling it
// OFFSET_OUT_OF_RANGE, and the next write answers it.
TEST(PartitionActor, AFetchParkedInOffsetsTheStoreLostWaitsThroughAnotherRecovery) {
  partition_fixture f;
  caf::scoped_actor self{*f.sys};
  auto p = spawn_partition(self.ptr(), f.ctx, f.dir, {"t", 0});
  auto append = [&](std::uint32_t records) {
    errc out = errc::internal;
    self->request(p, 5s, append_atom::value, batch(records))
        .receive([&](publish_result&) { out = errc::ok; }, [&](caf::error& e) { out = to_errc(e); });
    return out;
  };
  auto store_answers = [&](errc e) {
    std::lock_guard lock{f.log->mutex};
    f.log->write_result = e;
  };
  ASSERT_EQ(append(4), errc::ok);  // 5-8, acknowledged; the mock store goes on ending at 5
  // A write fails, and the recovery after it finds the store ending at 5: 5-8 are lost.
  store_answers(errc::storage_unavailable);
  ASSERT_EQ(append(1), errc::storage_unavailable);
  fetch_request in_lost{{"t", 0}, 6, 1 << 20, 30'000, protocol_kind::portask};
  auto parked = self->request(p, 60s, fetch_atom::value, in_lost);
  // Another write fails (after the fetch parked: the partition takes them in order), and its
  // recovery finds the same loss.
  ASSERT_EQ(append(1), errc::storage_unavailable);
  store_answers(errc::ok);
  ASSERT_EQ(append(2), errc::ok);  // 9-10
  bool served = false;
  parked.receive(
      [&](fetch_result& r) {
        ASSERT_FALSE(r.batches.empty());
        EXPECT_EQ(r.batches[0].base_offset, 9) << "the first offset after the lost ones";
        served = true;
      },
      [&](caf::error& e) { ADD_FAILURE() << "the parked fetch heard " << to_string(to_errc(e)); });
  EXPECT_TRUE(served);
  self->unlink_from(p);
  self->send_exit(p, caf::exit_reason::user_shutdown);
}

// Another node took the partition's lease while this one was paused: the store refuses the
// deletion this node asks for under its old lease, and the partition retires as it does when
// a write is refused (its admin client hears not_leader, and finds the new owner).
TEST(PartitionActor, ADeletionTheStoreRefusesUnderItsLeaseRetiresThePartition) {
  partition_fixture f;
  f.log->delete_result = errc::not_leader;
  caf::scoped_actor self{*f.sys};
  auto p = spawn_partition(self.ptr(), f.ctx, f.dir, {"t", 0}, "1:1:t1");
  self->unlink_from(p);
  self->monitor(p);
  errc refused = errc::ok;
  self->request(p, 5s, delete_atom::value, std::int64_t{3})
      .receive([&](storage::partition_bounds&) { ADD_FAILURE() << "a refused deletion succeeded"; },
               [&](caf::error& e) { refused = to_errc(e); });
  EXPECT_EQ(refused, errc::not_leader);
  {
    std::lock_guard lock{f.log->mutex};
    EXPECT_EQ(f.log->deletion_fences, (std::vector<std::string>{"1:1:t1"}))
        << "asked under the lease the partition was started under";
  }
  // Nothing else is in flight to the store: it stops.
  bool stopped = false;
  self->receive([&](caf::down_msg& d) { stopped = !d.reason; }, caf::after(10s) >> [] {});
  EXPECT_TRUE(stopped);
  EXPECT_EQ(f.ctx->metrics.passivated_total(), 0u) << "retired, not stopped for being idle";
}

// The same for a compaction the store refuses under the partition's lease.
TEST(PartitionActor, ACompactionTheStoreRefusesUnderItsLeaseRetiresThePartition) {
  partition_fixture f;
  f.log->compact_result = errc::not_leader;
  caf::scoped_actor self{*f.sys};
  auto p = spawn_partition(self.ptr(), f.ctx, f.dir, {"t", 0}, "1:1:t1");
  self->unlink_from(p);
  self->monitor(p);
  self->request(p, 5s, append_atom::value, batch(4)).receive([](publish_result&) {}, [](caf::error& e) {
    ADD_FAILURE() << to_string(e);
  });
  storage::log_compaction c;
  c.end = 9;
  errc refused = errc::ok;
  self->request(p, 5s, compact_atom::value, std::move(c))
      .receive([&](storage::partition_bounds&) { ADD_FAILURE() << "a refused compaction succeeded"; },
               [&](caf::error& e) { refused = to_errc(e); });
  EXPECT_EQ(refused, errc::not_leader);
  {
    std::lock_guard lock{f.log->mutex};
    ASSERT_EQ(f.log->compactions.size(), 1u);
    EXPECT_EQ(f.log->compactions[0].fence, "1:1:t1") << "asked under the partition's lease";
  }
  bool stopped = false;
  self->receive([&](caf::down_msg& d) { stopped = !d.reason; }, caf::after(10s) >> [] {});
  EXPECT_TRUE(stopped);
  EXPECT_EQ(f.ctx->metrics.passivated_total(), 0u) << "retired, not stopped for being idle";
}

// The same for the producer snapshot a recovery writes when the log goes past the stored one.
TEST(PartitionActor, AProducerSnapshotTheStoreRefusesUnderItsLeaseRetiresThePartition) {
  partition_fixture f;
  f.log->snapshot_result = errc::not_leader;
  caf::scoped_actor self{*f.sys};
  // Its recovery finds offsets 0-4 and a snapshot covering none of them: it writes one.
  auto p = spawn_partition(self.ptr(), f.ctx, f.dir, {"t", 0}, "1:1:t1");
  self->unlink_from(p);
  self->monitor(p);
  bool stopped = false;
  self->receive([&](caf::down_msg& d) { stopped = !d.reason; }, caf::after(10s) >> [] {});
  EXPECT_TRUE(stopped);
  EXPECT_EQ(f.ctx->metrics.passivated_total(), 0u) << "retired, not stopped for being idle";
  std::lock_guard lock{f.log->mutex};
  EXPECT_EQ(f.log->snapshot_fences, (std::vector<std::string>{"1:1:t1"}));
}

TEST(PartitionActor, ACompactionForgetsTheTailOfItsRangeAndIsCarriedOutByTheStore) {
  partition_fixture f;
  caf::scoped_actor self{*f.sys};
  auto p = spawn_partition(self.ptr(), f.ctx, f.dir, {"t", 0});
  self->request(p, 5s, append_atom::value, batch(4)).receive([](publish_result&) {}, [](caf::error& e) {
    ADD_FAILURE() << to_string(e);
  });
  auto fetched_at_5 = [&] {
    std::size_t n = 0;
    fetch_request at5{{"t", 0}, 5, 1 << 20, 0, protocol_kind::portask};
    self->request(p, 5s, fetch_atom::value, at5)
        .receive([&](fetch_result& r) { n = r.batches.size(); },
                 [](caf::error& e) { ADD_FAILURE() << to_string(e); });
    return n;
  };
  EXPECT_EQ(fetched_at_5(), 1u) << "5-8 is in the tail (the mock store reads nothing)";
  auto compact = [&](storage::log_compaction c) {
    std::variant<storage::partition_bounds, errc> out = errc::internal;
    self->request(p, 5s, compact_atom::value, std::move(c))
        .receive([&](storage::partition_bounds& b) { out = b; },
                 [&](caf::error& e) { out = to_errc(e); });
    return out;
  };
  storage::log_compaction past;
  past.end = 10;
  EXPECT_EQ(std::get<errc>(compact(past)), errc::invalid_request) << "past the high watermark (9)";
  storage::log_compaction c;
  c.end = 9;
  c.fence = "planner's";
  auto b = compact(c);
  ASSERT_TRUE(std::holds_alternative<storage::partition_bounds>(b));
  EXPECT_EQ(std::get<storage::partition_bounds>(b).log_start, 0);
  EXPECT_EQ(std::get<storage::partition_bounds>(b).next_offset, 9);
  EXPECT_EQ(std::get<storage::partition_bounds>(b).start_bytes, 300u) << "the store's, after it";
  {
    std::lock_guard lock{f.log->mutex};
    ASSERT_EQ(f.log->compactions.size(), 1u);
    EXPECT_EQ(f.log->compactions[0].end, 9);
    EXPECT_EQ(f.log->compactions[0].fence, "") << "the partition's own lease, not the planner's";
  }
  EXPECT_EQ(fetched_at_5(), 0u) << "the range left the tail: reads of it go to the store";
  self->unlink_from(p);
  self->send_exit(p, caf::exit_reason::user_shutdown);
}

TEST(PartitionActor, AnIdlePartitionStopsAndAnsweredRequestsKeepItAlive) {
  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  auto log = std::make_shared<mock_log>();
  broker_config config;
  config.partition_idle_ms = 500;  // the fetch below must come before it, on a slow machine too
  auto ctx = std::make_shared<broker_context>(config, storage::memory_store::factory(), "mock");
  actor_directory dir;
  dir.writers = {sys.spawn(mock_writer, log)};
  dir.readers = {sys.spawn(mock_reader, log)};
  caf::scoped_actor self{sys};
  auto p = spawn_partition(self.ptr(), ctx, dir, {"t", 0});
  self->unlink_from(p);
  self->monitor(p);
  // A parked long poll is activity: the partition stays until it has answered.
  fetch_request waiting;
  waiting.tp = {"t", 0};
  waiting.offset = 5;
  waiting.max_wait_ms = 2000;
  bool answered = false;
  self->request(p, 5s, fetch_atom::value, waiting)
      .receive([&](fetch_result& r) { answered = r.batches.empty(); },
               [&](caf::error& e) { ADD_FAILURE() << sys.render(e); });
  EXPECT_TRUE(answered) << "alive and answering 2 s in, four times its idle time";
  // Then, idle, it stops by itself (a normal exit) and gives back its share of the tails.
  bool stopped = false;
  self->receive([&](caf::down_msg& d) { stopped = !d.reason; }, caf::after(10s) >> [] {});
  EXPECT_TRUE(stopped);
  EXPECT_EQ(ctx->tails.partitions(), 0u);
  EXPECT_EQ(ctx->metrics.passivated_total(), 1u);
  caf::anon_send_exit(dir.writer_for({}), caf::exit_reason::user_shutdown);
  caf::anon_send_exit(dir.reader_for({}), caf::exit_reason::user_shutdown);
}
