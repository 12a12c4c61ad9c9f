// The log-store contract, run against both implementations: the embedded memory store and
// redis_store against a real redis-server started for each test.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "log_capture.hpp"
#include "logging/loggers.hpp"
#include "protocol/codec_manager.hpp"
#include "protocol/frame.hpp"
#include "redis_server.hpp"
#include "stored_frames.hpp"
#include "tls_files.hpp"
#include "storage/memory_store.hpp"
#include "storage/redis_store.hpp"

using namespace portask;
using namespace portask::storage;
using portask::protocol::buffer;

namespace {

using storage_test::make_frame;

// Appends one batch, alone in its call, and answers its result.
std::error_code append_alone(log_store& store, const topic_partition& tp, std::int64_t base,
                             const buffer& frame, std::uint32_t count = 1, std::int64_t timestamp = 0) {
  append_request r{&tp, base, count, timestamp, protocol::shared_bytes::copy_of(frame)};
  std::vector<std::error_code> results;
  store.append({&r, 1}, results);
  return results.at(0);
}

// The options of a store on the test's own server. The timeout is generous: these tests check
// what the store does, not how fast a loaded machine's fsync answers (and a killed server is
// an error at once, not a timeout).
redis_options options_for(const test::redis_server& server) {
  auto o = parse_redis_url(server.url()).value();
  o.timeout = std::chrono::seconds(30);
  return o;
}

}  // namespace

class LogStore : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") {
      factory_ = memory_store::factory();
    } else {
      // Ports probed free can be taken by a parallel test before the server binds them: the
      // server then exits, and is started again on other ports.
      std::string url;
      for (int attempt = 0; attempt < 3 && url.empty(); ++attempt) {
        redis_ = std::make_unique<test::redis_server>();
        if (GetParam() == "rediss") {
          // The same contract over TLS (rediss://), to the server's TLS port.
          tls_dir_ = std::make_unique<test::temp_dir>();
          const auto files = test::make_tls_files(tls_dir_->path());
          ASSERT_FALSE(files.ca.empty());
          const auto tls_port = test::free_port();
          if (redis_->start({"--tls-port", std::to_string(tls_port), "--tls-cert-file", files.server_cert,
                             "--tls-key-file", files.server_key, "--tls-ca-cert-file", files.ca,
                             "--tls-auth-clients", "no"}))
            url = "rediss://127.0.0.1:" + std::to_string(tls_port) + "?tls_ca_file=" + files.ca;
        } else if (redis_->start()) {
          url = redis_->url();
        }
      }
      ASSERT_FALSE(url.empty()) << "redis-server did not start";
      auto opts = parse_redis_url(url);
      ASSERT_TRUE(opts);
      // Generous: these tests check what the store does, not how fast a loaded machine's
      // fsync (the server runs with appendfsync always) answers.
      opts->timeout = std::chrono::seconds(30);
      factory_ = redis_store::factory(*opts);
    }
    auto s = factory_();
    ASSERT_TRUE(s);
    store_ = std::move(*s);
  }

  std::error_code append_one(const topic_partition& tp, std::int64_t base, const buffer& frame,
                             std::uint32_t count = 1) {
    return append_alone(*store_, tp, base, frame, count, 1234);
  }

  // Appends one batch of `count` records with the running totals a partition gives it.
  std::error_code append_running(const topic_partition& tp, std::uint32_t count,
                                 std::int64_t timestamp, std::size_t bytes = 100) {
    return append_frame(tp, make_frame(std::string(bytes, 'v'), static_cast<int>(count)), count,
                        timestamp);
  }

  // The same with a frame of the test's own (a corrupt one, say), and a producer.
  std::error_code append_frame(const topic_partition& tp, const buffer& frame, std::uint32_t count,
                               std::int64_t timestamp, batch_producer producer = {}) {
    auto& run = running_[tp.partition];
    run.end_bytes += frame.size();
    run.end_timestamp = std::max(run.end_timestamp, timestamp);
    append_request r{&tp, run.next, count, timestamp, protocol::shared_bytes::copy_of(frame), producer};
    r.end_bytes = run.end_bytes;
    r.end_timestamp = run.end_timestamp;
    std::vector<std::error_code> results;
    store_->append({&r, 1}, results);
    if (!results.at(0)) run.next += count;
    last_frame_size_ = frame.size();
    return results.at(0);
  }

  struct running {
    std::int64_t next = 0;
    std::uint64_t end_bytes = 0;
    std::int64_t end_timestamp = -1;
  };
  std::map<std::int32_t, running> running_;
  std::size_t last_frame_size_ = 0;
  std::unique_ptr<test::temp_dir> tls_dir_;  // before redis_: the server reads its files
  std::unique_ptr<test::redis_server> redis_;
  store_factory factory_;
  std::unique_ptr<log_store> store_;
  topic_partition tp_{"orders", 0};
};

TEST_P(LogStore, AppendedBatchesReadBackInOrderWithTheirFrames) {
  const auto a = make_frame("a", 3), b = make_frame("b", 2);
  ASSERT_FALSE(append_one(tp_, 0, a, 3));
  ASSERT_FALSE(append_one(tp_, 3, b, 2));
  auto got = store_->read(tp_, 0, 1 << 20);
  ASSERT_TRUE(got) << got.error().message();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].base_offset, 0);
  EXPECT_EQ((*got)[0].record_count, 3u);
  EXPECT_EQ((*got)[0].max_timestamp, 1234);
  EXPECT_EQ((*got)[0].frame.to_buffer(), a);
  EXPECT_EQ((*got)[1].base_offset, 3);
  EXPECT_EQ((*got)[1].frame.to_buffer(), b);
  auto bounds = store_->bounds(tp_);
  ASSERT_TRUE(bounds);
  EXPECT_EQ(bounds->log_start, 0);
  EXPECT_EQ(bounds->next_offset, 5);
}

// One call with more large frames than one system call takes (the redis store sends frames
// of 4 KiB and more from where they are, in pieces of at most IOV_MAX; megabytes make the
// kernel take them in partial writes), mixed with small ones, over several partitions.
TEST_P(LogStore, ManyLargeBatchesInOneCallAreStoredIntact) {
  std::vector<topic_partition> tps;
  for (int p = 0; p < 3; ++p) tps.push_back({"bulk", p});
  std::vector<buffer> frames;
  std::vector<append_request> requests;
  std::vector<std::int64_t> next(tps.size(), 0);
  for (int i = 0; i < 700; ++i) {
    const auto size = i % 5 == 0 ? std::size_t{10} : std::size_t{4096 + 37 * static_cast<std::size_t>(i)};
    frames.push_back(make_frame(std::string(size, static_cast<char>('a' + i % 26))));
  }
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const auto p = i % tps.size();
    requests.push_back({&tps[p], next[p]++, 1, 1234, protocol::shared_bytes::copy_of(frames[i])});
  }
  std::vector<std::error_code> results;
  store_->append(requests, results);
  ASSERT_EQ(results.size(), requests.size());
  for (const auto& r : results) ASSERT_FALSE(r) << r.message();
  for (std::size_t p = 0; p < tps.size(); ++p) {
    auto got = store_->read(tps[p], 0, std::size_t{1} << 30);
    ASSERT_TRUE(got) << got.error().message();
    ASSERT_EQ(got->size(), static_cast<std::size_t>(next[p]));
    for (std::size_t k = 0; k < got->size(); ++k)
      ASSERT_EQ((*got)[k].frame.to_buffer(), frames[k * tps.size() + p]) << p << " " << k;
  }
}

TEST_P(LogStore, ReadFromTheMiddleOfABatchReturnsTheWholeBatch) {
  ASSERT_FALSE(append_one(tp_, 0, make_frame("a", 10), 10));
  ASSERT_FALSE(append_one(tp_, 10, make_frame("b", 10), 10));
  auto got = store_->read(tp_, 4, 1 << 20);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ(got->front().base_offset, 0);
  got = store_->read(tp_, 10, 1 << 20);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(got->front().base_offset, 10);
  got = store_->read(tp_, 20, 1 << 20);
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->empty());
}

TEST_P(LogStore, MaxBytesLimitsTheReadButOneBatchIsAlwaysReturned) {
  for (int i = 0; i < 100; ++i) ASSERT_FALSE(append_one(tp_, i, make_frame(std::string(100, 'x'))));
  auto one = store_->read(tp_, 0, 1);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->size(), 1u);
  const std::size_t frame_size = one->front().frame.size();
  auto some = store_->read(tp_, 0, frame_size * 10);
  ASSERT_TRUE(some);
  EXPECT_EQ(some->size(), 10u);
  auto all = store_->read(tp_, 0, 1 << 30);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ((*all)[static_cast<std::size_t>(i)].base_offset, i);
}

TEST_P(LogStore, ABaseOffsetAtOrBelowTheLastIsRefused) {
  ASSERT_FALSE(append_one(tp_, 5, make_frame("a")));
  EXPECT_EQ(append_one(tp_, 5, make_frame("dup")), errc::offset_conflict);
  EXPECT_EQ(append_one(tp_, 2, make_frame("old")), errc::offset_conflict);
  auto got = store_->read(tp_, 0, 1 << 20);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u) << "the refused batches were not stored";
}

TEST_P(LogStore, OneCallAppendsToManyPartitionsWithPerBatchResults) {
  topic_partition p0{"multi", 0}, p1{"multi", 1};
  const auto f = make_frame("x");
  ASSERT_FALSE(append_one(p1, 7, f));
  const auto sf = protocol::shared_bytes::copy_of(f);
  std::vector<append_request> reqs{{&p0, 0, 1, 0, sf}, {&p1, 7, 1, 0, sf}, {&p1, 8, 1, 0, sf}};
  std::vector<std::error_code> results;
  store_->append(reqs, results);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_FALSE(results[0]);
  EXPECT_EQ(results[1], errc::offset_conflict);
  EXPECT_FALSE(results[2]);
  EXPECT_EQ(store_->bounds(p1)->next_offset, 9);
  EXPECT_EQ(store_->bounds(p0)->next_offset, 1);
}

TEST_P(LogStore, CorruptStoredFrameIsNeverReturned) {
  auto frame = make_frame("will be corrupted");
  frame.back() ^= 0x55;  // the CRC no longer matches
  ASSERT_FALSE(append_one(tp_, 0, frame));
  EXPECT_EQ(store_->read(tp_, 0, 1 << 20).error(), errc::corrupt_stored_data);
  const buffer garbage{'n', 'o', 't', ' ', 'a', ' ', 'f', 'r', 'a', 'm', 'e'};
  ASSERT_FALSE(append_one(tp_, 1, garbage));
  EXPECT_EQ(store_->read(tp_, 1, 1 << 20).error(), errc::corrupt_stored_data);
}

TEST_P(LogStore, EmptyPartitionHasZeroBounds) {
  auto b = store_->bounds({"nothing", 3});
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, (partition_bounds{0, 0}));
}

TEST_P(LogStore, TopicsAreCreatedListedAndDeletedWithTheirLogs) {
  topic_info t{"events", 2, {{"retention.ms", "1000"}, {"cleanup.policy", "delete"}}};
  ASSERT_FALSE(store_->create_topic(t));
  ASSERT_FALSE(store_->create_topic({"other", 1, {}}));
  auto list = store_->list_topics();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  auto it = std::find_if(list->begin(), list->end(), [](auto& x) { return x.name == "events"; });
  ASSERT_NE(it, list->end());
  EXPECT_EQ(*it, t);
  ASSERT_FALSE(append_one({"events", 1}, 0, make_frame("e")));
  ASSERT_EQ(store_->delete_topic(t).value(), topic_write::done);
  list = store_->list_topics();
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), 1u);
  EXPECT_EQ(store_->bounds({"events", 1})->next_offset, 0) << "the log went with the topic";
}

TEST_P(LogStore, ANameIsCreatedOnceAndAnotherCreationOfItChangesNothing) {
  topic_info first{"orders", 2, {}};
  first.id = storage::new_topic_id();
  topic_info second{"orders", 5, {{"retention.ms", "1"}}};
  second.id = storage::new_topic_id();
  ASSERT_NE(first.id, second.id);
  ASSERT_FALSE(store_->create_topic(first));
  EXPECT_EQ(store_->create_topic(second), make_error_code(errc::topic_already_exists));
  auto list = store_->list_topics();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front(), first) << "the second creation left the first topic as it was";
  // Once deleted, the name can be created again.
  ASSERT_EQ(store_->delete_topic(first).value(), topic_write::done);
  ASSERT_FALSE(store_->create_topic(second));
  list = store_->list_topics();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front(), second);
}

TEST_P(LogStore, ATopicIsUpdatedOnlyFromTheRecordStored) {
  topic_info first{"orders", 2, {}};
  first.id = storage::new_topic_id();
  ASSERT_FALSE(store_->create_topic(first));
  // Grown and reconfigured from the record stored: stored as given.
  auto grown = first;
  grown.partitions = 4;
  grown.configs = {{"retention.ms", "1000"}, {"cleanup.policy", "delete"}};
  EXPECT_EQ(store_->update_topic(first, grown).value(), topic_write::done);
  auto list = store_->list_topics();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front(), grown);
  // A change computed from the record before that one (another node's view) undoes nothing.
  auto stale = first;
  stale.configs = {{"retention.ms", "5"}};
  EXPECT_EQ(store_->update_topic(first, stale).value(), topic_write::changed);
  list = store_->list_topics();
  ASSERT_TRUE(list);
  EXPECT_EQ(list->front(), grown) << "the grown topic keeps its four partitions";
  // A change computed from a topic deleted meanwhile does not bring it back ...
  ASSERT_EQ(store_->delete_topic(grown).value(), topic_write::done);
  auto late = grown;
  late.partitions = 8;
  EXPECT_EQ(store_->update_topic(grown, late).value(), topic_write::gone);
  list = store_->list_topics();
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->empty()) << "the deleted topic stays deleted";
  // ... nor overwrites, nor deletes, the topic created again under its name.
  topic_info again{"orders", 1, {}};
  again.id = storage::new_topic_id();
  ASSERT_FALSE(store_->create_topic(again));
  ASSERT_FALSE(append_one({"orders", 0}, 0, make_frame("kept")));
  EXPECT_EQ(store_->update_topic(grown, late).value(), topic_write::gone);
  EXPECT_EQ(store_->delete_topic(grown).value(), topic_write::gone);
  list = store_->list_topics();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front(), again);
  const auto kept = store_->bounds({"orders", 0}).value().next_offset;
  EXPECT_EQ(kept, 1) << "its log stays";
  ASSERT_EQ(store_->delete_topic(again).value(), topic_write::done);
  list = store_->list_topics();
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->empty());
  const auto emptied = store_->bounds({"orders", 0}).value().next_offset;
  EXPECT_EQ(emptied, 0);
}

TEST_P(LogStore, ATopicIsDeletedOnlyAsStoredWithTheLogsOfAllItsPartitions) {
  topic_info first{"orders", 2, {}};
  first.id = storage::new_topic_id();
  ASSERT_FALSE(store_->create_topic(first));
  auto grown = first;
  grown.partitions = 3;
  ASSERT_EQ(store_->update_topic(first, grown).value(), topic_write::done);
  const topic_partition third{"orders", 2};
  ASSERT_FALSE(append_one(third, 0, make_frame("in the grown partition")));
  // A deletion named by the two-partition record (a node that has not seen the grow) would
  // leave the third log behind: refused, nothing removed.
  EXPECT_EQ(store_->delete_topic(first).value(), topic_write::changed);
  auto list = store_->list_topics();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front(), grown);
  const auto kept = store_->bounds(third).value().next_offset;
  EXPECT_EQ(kept, 1);
  ASSERT_EQ(store_->delete_topic(grown).value(), topic_write::done);
  list = store_->list_topics();
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->empty());
  const auto removed = store_->bounds(third).value().next_offset;
  EXPECT_EQ(removed, 0);
}

TEST_P(LogStore, CommittedOffsetsAreKeptPerGroupAndPartition) {
  EXPECT_TRUE(store_->fetch_offsets("g1").value().empty());
  const topic_partition other{"orders", 1};
  // With a leader epoch, a commit time and an expiry time (kept as given), and without.
  const group_offset g1[] = {{tp_, {42, "meta"}},
                             {other, {5, std::string("\0bin", 4), 3, 1700000000000, 1700000060000}}};
  ASSERT_FALSE(store_->commit_offsets("g1", g1, ""));
  const group_offset g2[] = {{tp_, {7, ""}}};
  ASSERT_FALSE(store_->commit_offsets("g2", g2, ""));
  const group_offset newer[] = {{tp_, {43, "newer"}}};
  ASSERT_FALSE(store_->commit_offsets("g1", newer, ""));
  auto got = store_->fetch_offsets("g1").value();
  std::sort(got.begin(), got.end(), [](const auto& a, const auto& b) { return a.tp < b.tp; });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], (group_offset{tp_, {43, "newer"}}));
  EXPECT_EQ(got[1], (group_offset{other, {5, std::string("\0bin", 4), 3, 1700000000000, 1700000060000}}));
  EXPECT_EQ(store_->fetch_offsets("g2").value(), std::vector<group_offset>(g2, g2 + 1));
  auto groups = store_->list_groups().value();
  std::sort(groups.begin(), groups.end());
  EXPECT_EQ(groups, (std::vector<std::string>{"g1", "g2"}));
  // Deleting one partition keeps the group; deleting the rest (or all) removes it.
  const topic_partition drop[] = {other};
  ASSERT_FALSE(store_->delete_offsets("g1", drop, ""));
  EXPECT_EQ(store_->fetch_offsets("g1").value().size(), 1u);
  ASSERT_FALSE(store_->delete_offsets("g2", {}, ""));
  EXPECT_TRUE(store_->fetch_offsets("g2").value().empty());
  EXPECT_EQ(store_->list_groups().value(), std::vector<std::string>{"g1"});
}

// An unfenced deletion (a single node's, or in a cluster a deleted topic's cleanup) of more
// partitions than one Lua unpack takes removes them all; the group stays listed, with its
// metadata, until its last offset goes, and then leaves with it.
TEST_P(LogStore, AnUnfencedDeletionOfManyPartitionsKeepsTheGroupUntilItsLastOffsetGoes) {
  std::vector<group_offset> committed{{tp_, {5, ""}}};
  std::vector<topic_partition> wide;
  for (std::int32_t p = 0; p < 9000; ++p) {
    committed.push_back({{"wide", p}, {p, ""}});
    wide.push_back({"wide", p});
  }
  ASSERT_FALSE(store_->commit_offsets("g", committed, ""));
  ASSERT_TRUE(store_->commit_group_metadata("g", {"consumer", 3}, "").value());
  ASSERT_FALSE(store_->delete_offsets("g", wide, ""));
  const auto left = store_->fetch_offsets("g").value();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].tp, tp_);
  EXPECT_EQ(store_->list_groups().value(), std::vector<std::string>{"g"});
  EXPECT_EQ(store_->fetch_group_metadata("g").value(), (group_metadata{"consumer", 3}));
  const topic_partition last[] = {tp_};
  ASSERT_FALSE(store_->delete_offsets("g", last, ""));
  EXPECT_TRUE(store_->fetch_offsets("g").value().empty());
  EXPECT_TRUE(store_->list_groups().value().empty());
  EXPECT_EQ(store_->fetch_group_metadata("g").value(), group_metadata{});
}

// A group's metadata (the protocol type and generation its coordinator last wrote) is kept
// only beside its committed offsets: refused before the first, listed with them, gone with
// the last. A group that only ever had offsets committed (or was stored before metadata was
// kept) has none: no protocol type, generation 0.
TEST_P(LogStore, AGroupsMetadataIsKeptOnlyBesideItsOffsets) {
  const group_metadata connect{"connect", 2};
  EXPECT_FALSE(store_->commit_group_metadata("g", connect, "").value()) << "no offsets yet";
  EXPECT_EQ(store_->fetch_group_metadata("g").value(), group_metadata{});
  EXPECT_TRUE(store_->list_group_metadata().value().empty());
  const topic_partition other{"orders", 1};
  const group_offset both[] = {{tp_, {5, ""}}, {other, {6, ""}}};
  ASSERT_FALSE(store_->commit_offsets("g", both, ""));
  const group_offset plain[] = {{tp_, {7, ""}}};
  ASSERT_FALSE(store_->commit_offsets("plain", plain, ""));
  EXPECT_TRUE(store_->commit_group_metadata("g", connect, "").value());
  EXPECT_EQ(store_->fetch_group_metadata("g").value(), connect);
  EXPECT_EQ(store_->fetch_group_metadata("plain").value(), group_metadata{});
  auto listed = store_->list_group_metadata().value();
  std::sort(listed.begin(), listed.end(), [](const auto& a, const auto& b) { return a.group < b.group; });
  EXPECT_EQ(listed, (std::vector<group_listing>{{"g", connect}, {"plain", {}}}));
  // Written again (a later generation, another type): replaced; the offsets stay as they were.
  const group_metadata next{"consumer", 3};
  EXPECT_TRUE(store_->commit_group_metadata("g", next, "").value());
  EXPECT_EQ(store_->fetch_group_metadata("g").value(), next);
  EXPECT_EQ(store_->fetch_offsets("g").value().size(), 2u);
  // One offset deleted: the metadata stays. The last one: it goes with it.
  const topic_partition first[] = {tp_};
  ASSERT_FALSE(store_->delete_offsets("g", first, ""));
  EXPECT_EQ(store_->fetch_group_metadata("g").value(), next);
  const topic_partition last[] = {other};
  ASSERT_FALSE(store_->delete_offsets("g", last, ""));
  EXPECT_EQ(store_->fetch_group_metadata("g").value(), group_metadata{});
  // Committed to again, the group starts without; deleted whole, it loses it too.
  ASSERT_FALSE(store_->commit_offsets("g", both, ""));
  EXPECT_EQ(store_->fetch_group_metadata("g").value(), group_metadata{});
  EXPECT_TRUE(store_->commit_group_metadata("g", connect, "").value());
  ASSERT_FALSE(store_->delete_offsets("g", {}, ""));
  EXPECT_EQ(store_->fetch_group_metadata("g").value(), group_metadata{});
  EXPECT_EQ(store_->list_group_metadata().value(), (std::vector<group_listing>{{"plain", {}}}));
}

TEST_P(LogStore, InstancesFromOneFactoryShareData) {
  ASSERT_FALSE(append_one(tp_, 0, make_frame("shared")));
  auto other = factory_();
  ASSERT_TRUE(other);
  EXPECT_EQ((*other)->bounds(tp_)->next_offset, 1);
}

TEST_P(LogStore, ABatchKeepsItsProducerHeader) {
  const auto f = make_frame("p", 3);
  append_request r{&tp_, 0, 3, 1234, protocol::shared_bytes::copy_of(f), {77, 2, 40}};
  std::vector<std::error_code> results;
  store_->append({&r, 1}, results);
  ASSERT_FALSE(results.at(0));
  ASSERT_FALSE(append_one(tp_, 3, make_frame("plain")));
  auto got = store_->read(tp_, 0, 1 << 20);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].producer, (batch_producer{77, 2, 40}));
  EXPECT_FALSE((*got)[1].producer.present());
}

TEST_P(LogStore, ProducerHistoryIsTheSnapshotThenTheLogAfterIt) {
  auto h = store_->read_producer_history(tp_);
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->covers, 0);
  EXPECT_TRUE(h->batches.empty());
  // Producer 5 writes offsets 0-1 (seq 0-1) and 2 (seq 2); producer 6 writes offset 3.
  std::vector<append_request> reqs{
      {&tp_, 0, 2, 0, protocol::shared_bytes::copy_of(make_frame("a", 2)), {5, 0, 0}},
      {&tp_, 2, 1, 0, protocol::shared_bytes::copy_of(make_frame("b")), {5, 0, 2}},
      {&tp_, 3, 1, 0, protocol::shared_bytes::copy_of(make_frame("c")), {6, 1, 0}},
  };
  std::vector<std::error_code> results;
  store_->append(reqs, results);
  for (const auto& r : results) ASSERT_FALSE(r);
  h = store_->read_producer_history(tp_);
  ASSERT_TRUE(h);
  ASSERT_EQ(h->batches.size(), 3u) << "no snapshot yet: the whole log";
  EXPECT_EQ(h->batches[0], (producer_batch{5, 0, 0, 1, 0, 2, -1}));
  EXPECT_EQ(h->batches[2], (producer_batch{6, 1, 0, 0, 3, 1, -1}));
  // A snapshot covering offsets below 3 (producer 5's window); the log after it adds 6's.
  producer_snapshot snap;
  snap.covers = 3;
  snap.batches = {{5, 0, 0, 1, 0, 2, 111}, {5, 0, 2, 2, 2, 1, 111}};
  ASSERT_FALSE(store_->put_producer_snapshot(tp_, snap, ""));
  h = store_->read_producer_history(tp_);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->covers, 3);
  ASSERT_EQ(h->batches.size(), 3u);
  EXPECT_EQ(h->batches[0].last_use_ms, 111) << "from the snapshot";
  EXPECT_EQ(h->batches[2].producer_id, 6) << "from the log after it";
  EXPECT_EQ(h->batches[2].last_use_ms, -1);
  // A later snapshot that forgets producer 5 and takes 6 in.
  snap = {};
  snap.covers = 4;
  snap.batches = {{6, 1, 0, 0, 3, 1, 222}};
  snap.expired = {5};
  ASSERT_FALSE(store_->put_producer_snapshot(tp_, snap, ""));
  h = store_->read_producer_history(tp_);
  ASSERT_TRUE(h);
  ASSERT_EQ(h->batches.size(), 1u);
  EXPECT_EQ(h->batches[0], (producer_batch{6, 1, 0, 0, 3, 1, 222}));
  // Deleting the topic removes the snapshot with the log.
  ASSERT_EQ(store_->delete_topic({"orders", 1, {}}).value(), topic_write::done);
  h = store_->read_producer_history(tp_);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->covers, 0);
  EXPECT_TRUE(h->batches.empty());
}

TEST_P(LogStore, AHistoryWithoutASnapshotReadsOnlyTheNewestBatches) {
  const auto frame = protocol::shared_bytes::copy_of(make_frame("x"));
  const std::size_t n = producer_history_scan_limit + 500;
  std::vector<append_request> reqs;
  for (std::size_t i = 0; i < n; ++i) {
    const auto seq = static_cast<std::int32_t>(i);
    reqs.push_back({&tp_, static_cast<std::int64_t>(i), 1, 0, frame, {9, 0, seq}});
  }
  std::vector<std::error_code> results;
  store_->append(reqs, results);
  for (const auto& r : results) ASSERT_FALSE(r);
  auto h = store_->read_producer_history(tp_);
  ASSERT_TRUE(h);
  ASSERT_EQ(h->batches.size(), producer_history_scan_limit);
  EXPECT_EQ(h->batches.back().base_offset, static_cast<std::int64_t>(n - 1)) << "the newest";
  EXPECT_EQ(h->batches.front().base_offset, static_cast<std::int64_t>(n - producer_history_scan_limit));
  for (std::size_t i = 1; i < h->batches.size(); ++i)
    ASSERT_LT(h->batches[i - 1].base_offset, h->batches[i].base_offset) << "in log order";
}

TEST_P(LogStore, ProducerIdBlocksNeverOverlapAcrossInstances) {
  auto other = factory_();
  ASSERT_TRUE(other);
  auto a = store_->allocate_producer_ids(1000);
  auto b = (*other)->allocate_producer_ids(1000);
  auto c = store_->allocate_producer_ids(10);
  ASSERT_TRUE(a && b && c);
  std::vector<std::int64_t> starts{*a, *b, *c};
  std::sort(starts.begin(), starts.end());
  EXPECT_GE(starts[0], 0);
  EXPECT_GE(starts[1] - starts[0], 10);
  EXPECT_GE(starts[2] - starts[1], 10);
  EXPECT_EQ(*b - *a, 1000);
}

// Two clients resuming one saved (id, epoch), through any instances: one gets the next
// epoch, the other is refused, and so are older incarnations.
TEST_P(LogStore, AProducerEpochIsBumpedOnlyFromTheCurrentOne) {
  auto other = factory_();
  ASSERT_TRUE(other);
  const auto first = store_->allocate_producer_ids(10);
  ASSERT_TRUE(first);
  const auto id = *first;
  auto resumed = store_->bump_producer_epoch(id, 0);
  ASSERT_TRUE(resumed) << resumed.error().message();
  EXPECT_EQ(*resumed, 1) << "an id never bumped takes the epoch its client names";
  auto again = (*other)->bump_producer_epoch(id, 0);
  ASSERT_FALSE(again) << "a second resume of the same pair got epoch " << *again;
  EXPECT_EQ(again.error(), errc::invalid_producer_epoch);
  auto next = (*other)->bump_producer_epoch(id, 1);
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_EQ(*next, 2);
  auto old = store_->bump_producer_epoch(id, 1);
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error(), errc::invalid_producer_epoch) << "an older incarnation";
  auto neighbour = store_->bump_producer_epoch(id + 1, 3);
  ASSERT_TRUE(neighbour) << neighbour.error().message();
  EXPECT_EQ(*neighbour, 4) << "each id keeps its own epoch";
}

// The check and the bump are one step: of many instances (connections) resuming one pair at
// the same moment, exactly one gets the next epoch.
TEST_P(LogStore, OfManyResumingOnePairAtOnceExactlyOneGetsTheNextEpoch) {
  const auto first = store_->allocate_producer_ids(1);
  ASSERT_TRUE(first);
  constexpr int racers = 8;
  std::vector<std::unique_ptr<storage::log_store>> stores;
  for (int i = 0; i < racers; ++i) {
    auto s = factory_();
    ASSERT_TRUE(s);
    stores.push_back(std::move(*s));
  }
  std::atomic<int> ready{0}, bumped{0}, refused{0};
  std::vector<std::thread> threads;
  for (auto& s : stores)
    threads.emplace_back([&, store = s.get()] {
      ready.fetch_add(1);
      while (ready.load() < racers) std::this_thread::yield();
      auto r = store->bump_producer_epoch(*first, 0);
      if (r) bumped.fetch_add(1);
      else if (r.error() == errc::invalid_producer_epoch) refused.fetch_add(1);
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(bumped.load(), 1);
  EXPECT_EQ(refused.load(), racers - 1);
}

TEST_P(LogStore, AProducerIdNotHandedOutCannotBeResumed) {
  auto none = store_->bump_producer_epoch(0, 0);
  ASSERT_FALSE(none) << "no id was handed out yet";
  EXPECT_EQ(none.error(), errc::unknown_producer_id);
  const auto first = store_->allocate_producer_ids(10);
  ASSERT_TRUE(first);
  auto past = store_->bump_producer_epoch(*first + 10, 0);
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error(), errc::unknown_producer_id);
  auto last = store_->bump_producer_epoch(*first + 9, 0);
  ASSERT_TRUE(last) << last.error().message();
  EXPECT_EQ(*last, 1);
  auto negative = store_->bump_producer_epoch(*first, -1);
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.error(), errc::invalid_request);
  // Handed out since (by any instance): resumable now.
  auto other = factory_();
  ASSERT_TRUE(other);
  ASSERT_TRUE((*other)->allocate_producer_ids(10));
  auto later = store_->bump_producer_epoch(*first + 10, 0);
  ASSERT_TRUE(later) << later.error().message();
  EXPECT_EQ(*later, 1);
}

TEST_P(LogStore, AProducersEpochsRunOutAndARefusalRecordsNothing) {
  const auto first = store_->allocate_producer_ids(2);
  ASSERT_TRUE(first);
  auto highest = store_->bump_producer_epoch(*first, last_producer_epoch - 1);
  ASSERT_TRUE(highest) << highest.error().message();
  EXPECT_EQ(*highest, last_producer_epoch);
  auto past = store_->bump_producer_epoch(*first, last_producer_epoch);
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error(), errc::invalid_producer_epoch);
  auto unrecorded = store_->bump_producer_epoch(*first + 1, last_producer_epoch);
  ASSERT_FALSE(unrecorded);
  EXPECT_EQ(unrecorded.error(), errc::invalid_producer_epoch);
  auto fresh = store_->bump_producer_epoch(*first + 1, 0);
  ASSERT_TRUE(fresh) << "the refusal left no epoch behind: " << fresh.error().message();
  EXPECT_EQ(*fresh, 1);
}

TEST_P(LogStore, CredentialsAreKeptPerUserAndMechanismWithoutThePassword) {
  namespace sec = protocol::security;
  const auto a256 = sec::scram_credential_from_password(sec::scram_mechanism::sha256, "alice-pw");
  const auto a512 = sec::scram_credential_from_password(sec::scram_mechanism::sha512, "alice-pw", 8192);
  const auto b256 = sec::scram_credential_from_password(sec::scram_mechanism::sha256, "bob-pw");
  ASSERT_FALSE(store_->put_credential({"alice", a256}));
  ASSERT_FALSE(store_->put_credential({"alice", a512}));
  ASSERT_FALSE(store_->put_credential({"bob,=x", b256}));
  auto other = factory_();
  ASSERT_TRUE(other);
  auto all = (*other)->list_credentials();
  ASSERT_TRUE(all);
  std::vector<user_credential> expected{{"alice", a256}, {"bob,=x", b256}, {"alice", a512}};
  auto by_key = [](const user_credential& x, const user_credential& y) {
    return std::tie(x.user, x.credential.mechanism) < std::tie(y.user, y.credential.mechanism);
  };
  std::sort(all->begin(), all->end(), by_key);
  std::sort(expected.begin(), expected.end(), by_key);
  EXPECT_EQ(*all, expected);
  // Replacing keeps one credential per user and mechanism.
  const auto a256b = sec::scram_credential_from_password(sec::scram_mechanism::sha256, "new");
  ASSERT_FALSE(store_->put_credential({"alice", a256b}));
  auto del = store_->delete_credential("alice", sec::scram_mechanism::sha512);
  ASSERT_TRUE(del);
  EXPECT_TRUE(*del);
  del = store_->delete_credential("alice", sec::scram_mechanism::sha512);
  ASSERT_TRUE(del);
  EXPECT_FALSE(*del);
  all = store_->list_credentials();
  ASSERT_TRUE(all);
  std::sort(all->begin(), all->end(), by_key);
  expected = {{"alice", a256b}, {"bob,=x", b256}};
  EXPECT_EQ(*all, expected);
}

TEST_P(LogStore, AclBindingsArePutOnceListedAndDeleted) {
  namespace sec = protocol::security;
  std::vector<sec::acl_binding> bindings(3);
  bindings[0] = {sec::resource_type::topic, "orders", sec::pattern_type::literal, "User:alice", "*",
                 sec::acl_operation::read, sec::acl_permission::allow};
  bindings[1] = {sec::resource_type::group, "g-", sec::pattern_type::prefixed, "User:*", "10.0.0.1",
                 sec::acl_operation::all, sec::acl_permission::deny};
  bindings[2] = bindings[0];
  ASSERT_FALSE(store_->put_acls(bindings));
  auto listed = store_->list_acls();
  ASSERT_TRUE(listed);
  std::sort(listed->begin(), listed->end());
  std::vector<sec::acl_binding> expected{bindings[0], bindings[1]};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(*listed, expected);
  ASSERT_FALSE(store_->delete_acls({&bindings[0], 1}));
  listed = store_->list_acls();
  ASSERT_TRUE(listed);
  EXPECT_EQ(*listed, std::vector<sec::acl_binding>{bindings[1]});
}

TEST(StoredSecurityRecords, UnreadableBytesAreRefused) {
  namespace sec = protocol::security;
  const auto c = sec::scram_credential_from_password(sec::scram_mechanism::sha512, "pw");
  const auto bytes = encode_credential(c);
  ASSERT_EQ(decode_credential(sec::scram_mechanism::sha512, bytes), c);
  EXPECT_FALSE(decode_credential(sec::scram_mechanism::sha256, bytes));  // key size of SHA-512
  for (std::size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(decode_credential(sec::scram_mechanism::sha512, bytes.substr(0, n))) << n;
  sec::acl_binding b{sec::resource_type::cluster, "kafka-cluster", sec::pattern_type::literal,
                     "User:x", "*", sec::acl_operation::alter, sec::acl_permission::allow};
  const auto acl = encode_acl(b);
  ASSERT_EQ(decode_acl(acl), b);
  for (std::size_t n = 0; n < acl.size(); ++n) EXPECT_FALSE(decode_acl(acl.substr(0, n))) << n;
  b.pattern = sec::pattern_type::any;  // never a stored binding
  EXPECT_FALSE(decode_acl(encode_acl(b)));
}

// -- cluster: membership and fenced leases ---------------------------------------------------

TEST_P(LogStore, ANodeIdIsRefusedToASecondRunWhileTheFirstIsRegistered) {
  using namespace std::chrono_literals;
  const node_registration first{3, "aaaa", "kafka=127.0.0.1:9092"};
  const node_registration second{3, "bbbb", "kafka=127.0.0.1:9093"};
  ASSERT_EQ(*store_->register_node(first, 10s), true);
  EXPECT_EQ(*store_->register_node(second, 10s), false);
  EXPECT_EQ(*store_->register_node(first, 10s), true);  // renewal
  ASSERT_EQ(*store_->register_node({5, "cccc", "x"}, 10s), true);
  auto live = store_->live_nodes();
  ASSERT_TRUE(live);
  ASSERT_EQ(live->size(), 2u);
  EXPECT_EQ((*live)[0], first);
  EXPECT_EQ((*live)[1].node, 5);
  // A node stopping removes only its own registration.
  EXPECT_FALSE(store_->deregister_node(second));
  EXPECT_EQ(store_->live_nodes()->size(), 2u);
  EXPECT_FALSE(store_->deregister_node(first));
  EXPECT_EQ(store_->live_nodes()->size(), 1u);
  EXPECT_EQ(*store_->register_node(second, 10s), true);
}

TEST_P(LogStore, ARegistrationExpiresWithoutRenewal) {
  using namespace std::chrono_literals;
  ASSERT_EQ(*store_->register_node({1, "aaaa", "x"}, 6s), true);
  EXPECT_EQ(*store_->register_node({1, "bbbb", "y"}, 10s), false);
  // Expiry is the store's clock passing the TTL; nothing else to wait on. (6 s: the refusal
  // above, a write the test server fsyncs, must come before it on a loaded machine too.)
  ASSERT_TRUE(test::wait_until([&] { return store_->live_nodes()->empty(); }, 60s));
  EXPECT_EQ(*store_->register_node({1, "bbbb", "y"}, 10s), true);
}

TEST_P(LogStore, ALeaseHasOneHolderAndANewEpochEachTimeItChangesHands) {
  using namespace std::chrono_literals;
  const lease_holder one{1, 0, "t1"}, two{2, 0, "t2"};
  const std::vector<lease_claim> want{{"partition:a:0", lease_intent::want},
                                      {"partition:a:1", lease_intent::look}};
  auto r = store_->lease_round(one, 10s, want);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0], (lease_holder{1, 1, "t1"}));
  EXPECT_FALSE((*r)[1].held());
  // Held: another node only sees the holder, renewing keeps the epoch.
  EXPECT_EQ(store_->lease_round(two, 10s, want)->at(0), (lease_holder{1, 1, "t1"}));
  EXPECT_EQ(store_->lease_round(one, 10s, want)->at(0), (lease_holder{1, 1, "t1"}));
  // Another node cannot drop it; its holder can.
  const std::vector<lease_claim> drop{{"partition:a:0", lease_intent::drop}};
  EXPECT_TRUE(store_->lease_round(two, 10s, drop)->at(0).held());
  EXPECT_FALSE(store_->lease_round(one, 10s, drop)->at(0).held());
  EXPECT_EQ(store_->lease_round(two, 10s, want)->at(0), (lease_holder{2, 2, "t2"}));
  // A second run of node 2 (another token) is another holder.
  EXPECT_EQ(store_->lease_round({2, 0, "t3"}, 10s, want)->at(0), (lease_holder{2, 2, "t2"}));
}

// A lease is taken over (a failover) only from a holder that let it run out: not the first
// time it is taken, nor after its holder released it, nor after its topic was deleted (the
// first holder of the topic created again takes nothing over), nor when the same run takes
// back a lease of its own that ran out. An earlier run of a node id is another holder.
TEST_P(LogStore, ALeaseIsTakenOverOnlyFromAHolderThatLetItRunOut) {
  using namespace std::chrono_literals;
  const lease_holder one{1, 0, "t1"}, two{2, 0, "t2"}, restarted{1, 0, "t1-restarted"};
  const topic_info topic{"handed", 1, {}};
  ASSERT_FALSE(store_->create_topic(topic));
  const auto lease = partition_lease({"handed", 0});
  const std::vector<lease_claim> want{{lease, lease_intent::want}};
  const std::vector<lease_claim> drop{{lease, lease_intent::drop}};
  const std::vector<lease_claim> look{{lease, lease_intent::look}};
  auto take = [&](const lease_holder& who) { return store_->lease_round(who, 10s, want)->at(0); };
  // Its holder renews it for 1 ms and no more (it died, or was cut off from the store); an
  // onlooker waits until it has run out, without renewing it.
  auto let_run_out = [&](const lease_holder& holder) {
    ASSERT_TRUE(store_->lease_round(holder, 1ms, want)->at(0).held());
    ASSERT_TRUE(test::wait_until(
        [&] { return !store_->lease_round({9, 0, "onlooker"}, 10s, look)->at(0).held(); }, 60s));
  };
  EXPECT_FALSE(take(one).taken_over) << "the first holder";
  EXPECT_FALSE(take(one).taken_over) << "a renewal";
  ASSERT_FALSE(store_->lease_round(one, 10s, drop)->at(0).held());
  EXPECT_EQ(take(two), (lease_holder{2, 2, "t2"})) << "released by its holder: handed over";
  let_run_out(two);
  EXPECT_EQ(take(one), (lease_holder{1, 3, "t1", true})) << "node 2 let it run out";
  let_run_out(one);
  EXPECT_EQ(take(one), (lease_holder{1, 4, "t1"})) << "its own lease, taken back by the same run";
  let_run_out(one);
  EXPECT_EQ(take(restarted), (lease_holder{1, 5, "t1-restarted", true})) << "an earlier run let it run out";
  // The topic deleted under its holder and created again: the lease went with the topic.
  ASSERT_EQ(store_->delete_topic(topic).value(), topic_write::done);
  ASSERT_FALSE(store_->create_topic(topic));
  EXPECT_EQ(take(two), (lease_holder{2, 6, "t2"})) << "the first holder of the topic created again";
}

TEST_P(LogStore, AGroupsOffsetsAreCommittedOnlyUnderItsCurrentLease) {
  using namespace std::chrono_literals;
  const std::vector<lease_claim> want{{group_lease("g"), lease_intent::want}};
  const std::vector<lease_claim> drop{{group_lease("g"), lease_intent::drop}};
  const auto mine = store_->lease_round({1, 0, "t1"}, 10s, want)->at(0);
  const group_offset first[] = {{tp_, {5, "m"}}};
  EXPECT_FALSE(store_->commit_offsets("g", first, lease_value(mine)));
  // Not the lease's value (an earlier epoch): refused, nothing stored.
  const group_offset stale[] = {{tp_, {9, ""}}};
  const auto earlier = lease_value({1, mine.epoch - 1, "t1"});
  EXPECT_EQ(store_->commit_offsets("g", stale, earlier), errc::not_coordinator);
  // Node 1 lets the group go and node 2 takes it: node 1's commits are refused from then on.
  EXPECT_FALSE(store_->lease_round({1, 0, "t1"}, 10s, drop)->at(0).held());
  EXPECT_EQ(store_->commit_offsets("g", stale, lease_value(mine)), errc::not_coordinator);
  const auto theirs = store_->lease_round({2, 0, "t2"}, 10s, want)->at(0);
  EXPECT_EQ(theirs.epoch, mine.epoch + 1);
  EXPECT_EQ(store_->commit_offsets("g", stale, lease_value(mine)), errc::not_coordinator);
  const auto got = store_->fetch_offsets("g").value();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].offset, (committed_offset{5, "m"}));
  const group_offset next[] = {{tp_, {7, ""}}};
  EXPECT_FALSE(store_->commit_offsets("g", next, lease_value(theirs)));
  EXPECT_EQ(store_->fetch_offsets("g").value().at(0).offset.offset, 7);
  const auto groups = store_->list_groups().value();
  EXPECT_NE(std::find(groups.begin(), groups.end(), "g"), groups.end());
  // A large commit (more values than one Lua unpack takes) is stored whole.
  std::vector<group_offset> many;
  for (std::int32_t p = 0; p < 5000; ++p) many.push_back({{"wide", p}, {p, ""}});
  EXPECT_FALSE(store_->commit_offsets("g", many, lease_value(theirs)));
  EXPECT_EQ(store_->fetch_offsets("g").value().size(), 5001u);
}

TEST_P(LogStore, AGroupsOffsetsAreDeletedOnlyUnderItsCurrentLease) {
  using namespace std::chrono_literals;
  const std::vector<lease_claim> want{{group_lease("g"), lease_intent::want}};
  const std::vector<lease_claim> drop{{group_lease("g"), lease_intent::drop}};
  const auto mine = store_->lease_round({1, 0, "t1"}, 10s, want)->at(0);
  const topic_partition other{"other", 3};
  std::vector<group_offset> committed_now{{tp_, {5, ""}}, {other, {6, ""}}};
  for (std::int32_t p = 0; p < 9000; ++p) committed_now.push_back({{"wide", p}, {p, ""}});
  ASSERT_FALSE(store_->commit_offsets("g", committed_now, lease_value(mine)));
  // Under the lease: these partitions go (more fields than one Lua unpack takes, ~8000).
  std::vector<topic_partition> some{tp_};
  for (std::int32_t p = 0; p < 9000; ++p) some.push_back({"wide", p});
  EXPECT_FALSE(store_->delete_offsets("g", some, lease_value(mine)));
  auto left = store_->fetch_offsets("g").value();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].tp, other);
  // Node 1 lets the group go and node 2 takes it and commits: node 1's deletions are refused
  // from then on, of a partition or of the whole group, and delete nothing.
  EXPECT_FALSE(store_->lease_round({1, 0, "t1"}, 10s, drop)->at(0).held());
  const auto theirs = store_->lease_round({2, 0, "t2"}, 10s, want)->at(0);
  const group_offset committed[] = {{tp_, {9, ""}}};
  ASSERT_FALSE(store_->commit_offsets("g", committed, lease_value(theirs)));
  const topic_partition just_tp[] = {tp_};
  EXPECT_EQ(store_->delete_offsets("g", just_tp, lease_value(mine)), errc::not_coordinator);
  EXPECT_EQ(store_->delete_offsets("g", {}, lease_value(mine)), errc::not_coordinator);
  EXPECT_EQ(store_->fetch_offsets("g").value().size(), 2u);
  // The holder deletes the whole group, which leaves the list of groups with it.
  EXPECT_FALSE(store_->delete_offsets("g", {}, lease_value(theirs)));
  EXPECT_TRUE(store_->fetch_offsets("g").value().empty());
  const auto groups = store_->list_groups().value();
  EXPECT_EQ(std::find(groups.begin(), groups.end(), "g"), groups.end());
}

TEST_P(LogStore, AGroupsMetadataIsStoredOnlyUnderItsCurrentLease) {
  using namespace std::chrono_literals;
  const std::vector<lease_claim> want{{group_lease("g"), lease_intent::want}};
  const auto mine = store_->lease_round({1, 0, "t1"}, 10s, want)->at(0);
  const group_offset committed[] = {{tp_, {5, ""}}};
  ASSERT_FALSE(store_->commit_offsets("g", committed, lease_value(mine)));
  EXPECT_TRUE(store_->commit_group_metadata("g", {"consumer", 1}, lease_value(mine)).value());
  // Not the lease's value (an earlier epoch): refused, nothing changed.
  const auto earlier = lease_value({1, mine.epoch - 1, "t1"});
  EXPECT_EQ(store_->commit_group_metadata("g", {"consumer", 9}, earlier).error(), errc::not_coordinator);
  EXPECT_EQ(store_->fetch_group_metadata("g").value(), (group_metadata{"consumer", 1}));
  // The holder deletes the group's last offset: the metadata goes in the same step.
  const topic_partition all[] = {tp_};
  ASSERT_FALSE(store_->delete_offsets("g", all, lease_value(mine)));
  EXPECT_EQ(store_->fetch_group_metadata("g").value(), group_metadata{});
}

TEST_P(LogStore, AnAppendIsStoredOnlyWhileItsWriterHoldsThePartitionsLease) {
  using namespace std::chrono_literals;
  const topic_partition a{"a", 0}, b{"b", 0};
  const auto frame = protocol::shared_bytes::copy_of(make_frame("x"));
  const std::vector<lease_claim> want{{partition_lease(a), lease_intent::want},
                                      {partition_lease(b), lease_intent::want}};
  // Node 1 holds a's lease for a short while (long enough for the two calls below on a slow
  // machine); node 2 holds b's.
  const auto mine = store_->lease_round({1, 0, "t1"}, 6s, {want.data(), 1})->at(0);
  const auto other = store_->lease_round({2, 0, "t2"}, 10s, {want.data() + 1, 1})->at(0);
  const auto fence = lease_value(mine);
  std::vector<append_request> batch{{&a, 0, 1, 1, frame}, {&a, 1, 1, 1, frame}, {&b, 0, 1, 1, frame}};
  for (auto& r : batch) r.fence = fence;
  std::vector<std::error_code> results;
  store_->append(batch, results);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_FALSE(results[0]);
  EXPECT_FALSE(results[1]);
  EXPECT_EQ(results[2], errc::not_leader);  // b is node 2's
  EXPECT_EQ(store_->bounds(b)->next_offset, 0);
  // Node 1's lease runs out (it was paused); node 2 takes it with a new epoch. Node 1's next
  // append is refused in the store, whatever node 1 believes.
  ASSERT_TRUE(test::wait_until([&] {
    return store_->lease_round({2, 0, "t2"}, 10s, {want.data(), 1})->at(0).node == 2;
  }, 60s));
  EXPECT_EQ(store_->lease_round({2, 0, "t2"}, 10s, want)->at(0).epoch, mine.epoch + 1);
  std::vector<append_request> late{{&a, 2, 1, 1, frame}, {&a, 3, 1, 1, frame}};
  for (auto& r : late) r.fence = fence;
  store_->append(late, results);
  EXPECT_EQ(results.at(0), errc::not_leader);
  EXPECT_EQ(results.at(1), errc::not_leader);
  EXPECT_EQ(store_->bounds(a)->next_offset, 2);
  // The new holder appends; a fenced batch refused for an offset conflict stops its
  // partition's later batches in the same call, other partitions go on.
  std::vector<append_request> next{{&a, 1, 1, 1, frame}, {&a, 2, 1, 1, frame}, {&b, 0, 1, 1, frame}};
  const auto taken = lease_value(store_->lease_round({2, 0, "t2"}, 10s, want)->at(0));
  const auto b_fence = lease_value(other);
  next[0].fence = next[1].fence = taken;
  next[2].fence = b_fence;
  store_->append(next, results);
  EXPECT_EQ(results.at(0), errc::offset_conflict);
  EXPECT_TRUE(results.at(1));
  EXPECT_FALSE(results.at(2));
  EXPECT_EQ(store_->bounds(a)->next_offset, 2);
  EXPECT_EQ(store_->bounds(b)->next_offset, 1);
}

// A node paused past its lease still runs its partition for a while once it resumes: the
// store refuses the deletions and producer snapshots it asks for under its old lease, and
// they change nothing (not the log, not the start record whose next offset an emptied log
// hands out, not the snapshot's covered offset), while the new holder's are carried out.
TEST_P(LogStore, ADeletionAndAProducerSnapshotAreStoredOnlyUnderThePartitionsLease) {
  using namespace std::chrono_literals;
  const std::vector<lease_claim> want{{partition_lease(tp_), lease_intent::want}};
  const std::vector<lease_claim> drop{{partition_lease(tp_), lease_intent::drop}};
  for (int i = 0; i < 4; ++i) ASSERT_FALSE(append_running(tp_, 10, 100));  // 0-39
  // Node 1 held the partition; node 2 holds it now, with a new epoch.
  const auto mine = lease_value(store_->lease_round({1, 0, "t1"}, 10s, want)->at(0));
  ASSERT_FALSE(store_->lease_round({1, 0, "t1"}, 10s, drop)->at(0).held());
  const auto theirs = lease_value(store_->lease_round({2, 0, "t2"}, 10s, want)->at(0));
  ASSERT_NE(mine, theirs);
  producer_snapshot current;
  current.covers = 40;
  current.batches = {{5, 0, 0, 9, 30, 10, 111}};
  ASSERT_FALSE(store_->put_producer_snapshot(tp_, current, theirs));
  const auto before = store_->bounds(tp_).value();
  // Node 1's deletions: within the log, and to its end (which would record the next offset).
  EXPECT_EQ(store_->delete_records(tp_, 25, mine).error(), errc::not_leader);
  EXPECT_EQ(store_->delete_records(tp_, 40, mine).error(), errc::not_leader);
  EXPECT_EQ(store_->delete_records(tp_, 25, "1:1:nobody").error(), errc::not_leader);
  EXPECT_EQ(store_->bounds(tp_).value(), before);
  EXPECT_EQ(store_->read(tp_, 0, 1 << 20)->size(), 4u) << "nothing trimmed";
  // Node 1's snapshot, taken before node 2's: it would forget producer 5 and move `@` back.
  producer_snapshot stale;
  stale.covers = 20;
  stale.batches = {{6, 0, 0, 9, 10, 10, 99}};
  stale.expired = {5};
  EXPECT_EQ(store_->put_producer_snapshot(tp_, stale, mine), errc::not_leader);
  auto h = store_->read_producer_history(tp_);
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->covers, 40) << "never moved back";
  ASSERT_EQ(h->batches.size(), 1u);
  EXPECT_EQ(h->batches[0], current.batches[0]);
  // Node 2's deletions are carried out; the next offset an emptied log keeps is its own.
  auto cut = store_->delete_records(tp_, 25, theirs);
  ASSERT_TRUE(cut) << cut.error().message();
  EXPECT_EQ(cut->log_start, 25);
  EXPECT_EQ(cut->next_offset, 40);
  EXPECT_EQ(store_->read(tp_, 0, 1 << 20)->front().base_offset, 20);
  ASSERT_FALSE(append_running(tp_, 5, 100));  // node 2's 40-44
  EXPECT_EQ(store_->delete_records(tp_, 45, mine).error(), errc::not_leader);
  EXPECT_EQ(store_->bounds(tp_)->log_start, 25);
  auto emptied = store_->delete_records(tp_, 45, theirs);
  ASSERT_TRUE(emptied) << emptied.error().message();
  EXPECT_EQ(emptied->log_start, 45);
  EXPECT_EQ(emptied->next_offset, 45);
  auto again = factory_();
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)->bounds(tp_)->next_offset, 45) << "offsets are never handed out twice";
  // Node 2's snapshot is written.
  stale.covers = 45;
  ASSERT_FALSE(store_->put_producer_snapshot(tp_, stale, theirs));
  h = store_->read_producer_history(tp_);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->covers, 45);
  ASSERT_EQ(h->batches.size(), 1u);
  EXPECT_EQ(h->batches[0].producer_id, 6) << "5 expired";
}

INSTANTIATE_TEST_SUITE_P(Stores, LogStore, ::testing::Values("memory", "redis", "rediss"),
                         [](const auto& param_info) { return param_info.param; });

// Redis-only behaviour: the store going away and coming back.
TEST_P(LogStore, BoundsCarryTheRunningTotals) {
  ASSERT_FALSE(append_running(tp_, 3, 500));
  ASSERT_FALSE(append_running(tp_, 2, 400));
  const auto size = last_frame_size_;
  auto b = store_->bounds(tp_);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->next_offset, 5);
  EXPECT_EQ(b->end_timestamp, 500) << "the largest so far, not the last batch's";
  EXPECT_EQ(b->stored_bytes(), running_[0].end_bytes);
  EXPECT_GE(b->stored_bytes(), 2 * size);
}

TEST_P(LogStore, RetentionByTimeRemovesTheExpiredPrefixOnly) {
  for (std::int64_t ts : {100, 200, 300, 400, 500}) ASSERT_FALSE(append_running(tp_, 2, ts));
  retention_limits limits;
  limits.older_than_ms = 350;
  auto point = store_->retention_point(tp_, limits);
  ASSERT_TRUE(point) << point.error().message();
  EXPECT_EQ(*point, 6) << "batches at 100, 200 and 300 go; the one at 400 starts the log";
  limits.older_than_ms = 50;
  EXPECT_EQ(store_->retention_point(tp_, limits).value(), 0);
  limits.older_than_ms = 1000;
  EXPECT_EQ(store_->retention_point(tp_, limits).value(), 10) << "everything is past it";
  EXPECT_EQ(store_->retention_point(tp_, retention_limits{}).value(), 0) << "no limits";
}

TEST_P(LogStore, ABatchWithAFutureTimestampHoldsBackEverythingAfterIt) {
  for (std::int64_t ts : {100, 900, 200, 300}) ASSERT_FALSE(append_running(tp_, 1, ts));
  retention_limits limits;
  limits.older_than_ms = 350;
  EXPECT_EQ(store_->retention_point(tp_, limits).value(), 1)
      << "as Kafka's segments: a batch goes only when it and every one before it are old";
}

// Kafka decides by each segment's own newest record: once the batch stamped far ahead is
// deleted, the batches after it are judged by their own timestamps again (the running
// maximum still counts the deleted one). Past one page of the Redis walk, too.
TEST_P(LogStore, ABatchStampedAheadNoLongerHoldsBackTheRestOnceDeleted) {
  ASSERT_FALSE(append_running(tp_, 1, 1000000));
  for (std::int64_t i = 0; i < 70; ++i) ASSERT_FALSE(append_running(tp_, 1, 100 + i));
  retention_limits limits;
  limits.older_than_ms = 350;
  EXPECT_EQ(store_->retention_point(tp_, limits).value(), 0) << "the batch ahead is first";
  ASSERT_TRUE(store_->delete_records(tp_, 1, ""));
  EXPECT_EQ(store_->retention_point(tp_, limits).value(), 71) << "once it is gone, the rest are old";
  limits.older_than_ms = 165;
  EXPECT_EQ(store_->retention_point(tp_, limits).value(), 66) << "those stamped 100 to 164";
  limits.older_than_ms = 50;
  EXPECT_EQ(store_->retention_point(tp_, limits).value(), 1) << "none";
}

TEST_P(LogStore, RetentionBySizeKeepsAtLeastTheLimit) {
  for (int i = 0; i < 10; ++i) ASSERT_FALSE(append_running(tp_, 1, 1000 + i));
  const auto size = static_cast<std::int64_t>(last_frame_size_);
  retention_limits limits;
  limits.keep_bytes = 3 * size;
  EXPECT_EQ(store_->retention_point(tp_, limits).value(), 7) << "the newest three stay";
  limits.keep_bytes = 3 * size + 1;
  EXPECT_EQ(store_->retention_point(tp_, limits).value(), 6) << "never below the limit";
  limits.keep_bytes = 100 * size;
  EXPECT_EQ(store_->retention_point(tp_, limits).value(), 0);
  limits.older_than_ms = 1002;  // both: whichever removes more
  EXPECT_EQ(store_->retention_point(tp_, limits).value(), 2);
}

TEST_P(LogStore, DeleteRecordsKeepsTheBatchContainingTheNewStart) {
  for (int i = 0; i < 4; ++i) ASSERT_FALSE(append_running(tp_, 10, 100));
  auto b = store_->delete_records(tp_, 25, "");
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(b->log_start, 25);
  EXPECT_EQ(b->next_offset, 40);
  EXPECT_EQ(b->stored_bytes(), 2 * last_frame_size_) << "batches 20-29 and 30-39 stay";
  auto got = store_->read(tp_, 25, 1 << 20);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ(got->front().base_offset, 20);
  got = store_->read(tp_, 0, 1 << 20);
  ASSERT_TRUE(got);
  ASSERT_FALSE(got->empty());
  EXPECT_EQ(got->front().base_offset, 20) << "nothing below it is stored";
  EXPECT_EQ(store_->delete_records(tp_, 10, "")->log_start, 25) << "the start never moves back";
  // A second instance (another connection) sees the same start.
  auto other = factory_();
  ASSERT_TRUE(other);
  EXPECT_EQ((*other)->bounds(tp_)->log_start, 25);
  retention_limits limits;
  limits.older_than_ms = 50;
  EXPECT_EQ(store_->retention_point(tp_, limits).value(), 25) << "nothing more to remove";
  limits.older_than_ms = 200;
  EXPECT_EQ(store_->retention_point(tp_, limits).value(), 40)
      << "a start inside a batch does not hide that batch from retention";
}

// Bounds read batch headers only: a bad frame at either end of the log stops none of a
// partition's recovery (its bounds), retention, producer history or deletion. Only a read
// that would return the bad frame fails.
TEST_P(LogStore, ACorruptFirstOrLastFrameFailsOnlyTheReadsThatReturnIt) {
  auto bad_first = make_frame(std::string(100, 'a'), 2);
  bad_first.back() ^= 0x55;  // the CRC no longer matches
  auto bad_last = make_frame(std::string(100, 'c'));
  bad_last.back() ^= 0x55;
  ASSERT_FALSE(append_frame(tp_, bad_first, 2, 100));
  ASSERT_FALSE(append_running(tp_, 1, 200));
  ASSERT_FALSE(append_frame(tp_, bad_last, 1, 300));
  const auto end = running_[0].end_bytes;
  auto b = store_->bounds(tp_);
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(*b, (partition_bounds{0, 4, 0, end, 300}));
  retention_limits limits;
  limits.older_than_ms = 150;
  auto point = store_->retention_point(tp_, limits);
  ASSERT_TRUE(point) << point.error().message();
  EXPECT_EQ(*point, 2) << "the first batch (stamped 100) goes";
  auto history = store_->read_producer_history(tp_);
  ASSERT_TRUE(history) << history.error().message();
  EXPECT_TRUE(history->batches.empty());
  auto after = store_->delete_records(tp_, 1, "");
  ASSERT_TRUE(after) << after.error().message();
  EXPECT_EQ(*after, (partition_bounds{1, 4, 0, end, 300})) << "the first batch holds the start: it stays";
  EXPECT_EQ(store_->bounds(tp_).value(), *after);
  EXPECT_EQ(store_->read(tp_, 0, 1 << 20).error(), errc::corrupt_stored_data);
  auto good = store_->read(tp_, 2, 1);
  ASSERT_TRUE(good) << good.error().message();
  ASSERT_EQ(good->size(), 1u);
  EXPECT_EQ(good->front().base_offset, 2);
}

// A read checks the frames it returns, and only those: a bad frame past max_bytes, or one
// that ends before the offset read from, fails nothing. The first batch is returned whole
// even when it is larger than max_bytes.
TEST_P(LogStore, AReadChecksOnlyTheFramesItReturns) {
  const auto large = make_frame(std::string(256 * 1024, 'x'));
  auto bad = make_frame(std::string(256 * 1024, 'y'));
  bad.back() ^= 0x55;
  auto bad_small = make_frame("z");
  bad_small.back() ^= 0x55;
  ASSERT_FALSE(append_one(tp_, 0, large));
  ASSERT_FALSE(append_one(tp_, 1, bad));
  ASSERT_FALSE(append_one(tp_, 2, bad_small));
  auto one = store_->read(tp_, 0, 1024);
  ASSERT_TRUE(one) << one.error().message();
  ASSERT_EQ(one->size(), 1u) << "the first batch, whole, though larger than max_bytes";
  EXPECT_EQ(one->front().frame.to_buffer(), large);
  one = store_->read(tp_, 0, large.size());
  ASSERT_TRUE(one) << one.error().message();
  EXPECT_EQ(one->size(), 1u);
  auto past_end = store_->read(tp_, 3, 1 << 20);
  ASSERT_TRUE(past_end) << "the last batch ends before offset 3: " << past_end.error().message();
  EXPECT_TRUE(past_end->empty());
  EXPECT_EQ(store_->read(tp_, 0, 1 << 30).error(), errc::corrupt_stored_data);
  EXPECT_EQ(store_->read(tp_, 2, 1 << 20).error(), errc::corrupt_stored_data);
}

// What a deletion answers is what bounds() say after it, to the byte, on every store: with
// the start inside a batch, at a batch's end, and past the log's end.
TEST_P(LogStore, DeleteRecordsAnswersTheBoundsItLeaves) {
  std::vector<std::uint64_t> sizes;
  for (std::int64_t ts : {300, 100, 200}) {
    ASSERT_FALSE(append_running(tp_, 5, ts));
    sizes.push_back(last_frame_size_);
  }
  const auto end = running_[0].end_bytes;
  auto inside = store_->delete_records(tp_, 7, "");
  ASSERT_TRUE(inside) << inside.error().message();
  EXPECT_EQ(*inside, (partition_bounds{7, 15, sizes[0], end, 300}));
  EXPECT_EQ(store_->bounds(tp_).value(), *inside);
  auto at_end = store_->delete_records(tp_, 10, "");
  ASSERT_TRUE(at_end) << at_end.error().message();
  EXPECT_EQ(*at_end, (partition_bounds{10, 15, sizes[0] + sizes[1], end, 300}));
  EXPECT_EQ(store_->bounds(tp_).value(), *at_end);
  auto past = store_->delete_records(tp_, 1000, "");
  ASSERT_TRUE(past) << past.error().message();
  EXPECT_EQ(*past, (partition_bounds{15, 15, end, end, 300}));
  EXPECT_EQ(store_->bounds(tp_).value(), *past);
}

// Headers are read in pages the store may stop early on the bytes of frames it went over (a
// Redis script holds the server while it runs): the next page goes on from there, for the
// producer history and for retention's scan of the batches' own timestamps alike.
TEST_P(LogStore, HeaderScansGoOnPastBatchesOfManyMegabytes) {
  ASSERT_FALSE(append_running(tp_, 1, 1000000));  // stamped far ahead
  const auto large = make_frame(std::string(3u << 20, 'm'));
  for (std::int32_t seq = 0; seq < 4; ++seq)
    ASSERT_FALSE(append_frame(tp_, large, 1, 100 + seq, {7, 0, seq}));
  auto h = store_->read_producer_history(tp_);
  ASSERT_TRUE(h) << h.error().message();
  ASSERT_EQ(h->batches.size(), 4u);
  for (std::int32_t seq = 0; seq < 4; ++seq)
    EXPECT_EQ(h->batches[static_cast<std::size_t>(seq)], (producer_batch{7, 0, seq, seq, 1 + seq, 1, -1}));
  ASSERT_TRUE(store_->delete_records(tp_, 1, ""));
  retention_limits limits;
  limits.older_than_ms = 350;
  auto point = store_->retention_point(tp_, limits);
  ASSERT_TRUE(point) << point.error().message();
  EXPECT_EQ(*point, 5) << "every batch left is old by its own timestamp";
}

// A commit of no offsets stores nothing: no group is listed for it.
TEST_P(LogStore, ACommitOfNoOffsetsCreatesNoGroup) {
  ASSERT_FALSE(store_->commit_offsets("idle", {}, ""));
  EXPECT_TRUE(store_->list_groups().value().empty());
  EXPECT_TRUE(store_->fetch_offsets("idle").value().empty());
}

TEST_P(LogStore, ACompactionReplacesTheRangeAndKeepsTheLogStartAndTheRest) {
  // Batches 0-9, 10-19, 20-29, 30-39. The plan: 0-9 goes, 10-19 stays, of 20-29 only 22-24
  // and 27 stay (written anew), 30-39 is past the range.
  for (int i = 0; i < 4; ++i) ASSERT_FALSE(append_running(tp_, 10, 100 + i));
  auto all = store_->read(tp_, 0, 1 << 20);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 4u);
  const auto before = store_->bounds(tp_).value();
  auto written = [](std::int64_t base, int records) {
    stored_batch b;
    b.base_offset = base;
    b.record_count = static_cast<std::uint32_t>(records);
    b.max_timestamp = 102;
    b.end_timestamp = 102;
    b.frame = protocol::shared_bytes::copy_of(make_frame("left", records));
    return compacted_batch{b, true};
  };
  log_compaction c;
  c.first_base = 0;
  c.end = 30;
  c.end_bytes = (*all)[2].end_bytes;
  c.batches = {compacted_batch{(*all)[1], false}, written(22, 3), written(27, 1)};
  // Running bytes counted back from the range's end, as the planner does.
  auto end = (*all)[2].end_bytes;
  for (auto it = c.batches.rbegin(); it != c.batches.rend(); ++it) {
    it->batch.end_bytes = end;
    end -= it->batch.frame.size();
  }
  auto after = store_->compact(tp_, c);
  ASSERT_TRUE(after) << after.error().message();
  EXPECT_EQ(after->log_start, 0) << "the start stays where it was";
  EXPECT_EQ(after->next_offset, 40);
  EXPECT_EQ(after->end_bytes, before.end_bytes);
  EXPECT_EQ(after->stored_bytes(), (*all)[1].frame.size() + c.batches[1].batch.frame.size() +
                                       c.batches[2].batch.frame.size() + (*all)[3].frame.size());
  auto got = store_->read(tp_, 0, 1 << 20);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 4u);
  EXPECT_EQ(got->at(0).base_offset, 10);
  EXPECT_EQ(got->at(0).frame, (*all)[1].frame) << "kept as it was";
  EXPECT_EQ(got->at(0).end_bytes, c.batches[0].batch.end_bytes) << "with its running bytes counted again";
  EXPECT_EQ(got->at(1).base_offset, 22);
  EXPECT_EQ(got->at(1).record_count, 3u);
  EXPECT_EQ(got->at(1).frame, c.batches[1].batch.frame);
  EXPECT_EQ(got->at(2).base_offset, 27);
  EXPECT_EQ(got->at(3).base_offset, 30);
  EXPECT_EQ(got->at(3).frame, (*all)[3].frame);
  // A read between two batches left starts at the next one.
  EXPECT_EQ(store_->read(tp_, 25, 1 << 20)->front().base_offset, 27);
  EXPECT_EQ(store_->read(tp_, 28, 1 << 20)->front().base_offset, 30);
  // Another connection sees the same log; appends go on after it.
  auto other = factory_();
  ASSERT_TRUE(other);
  EXPECT_EQ((*other)->bounds(tp_).value(), *after);
  ASSERT_FALSE(append_running(tp_, 1, 200));
  EXPECT_EQ(store_->bounds(tp_)->next_offset, 41);
  // A plan made before the log changed is refused whole: the first batch is not the one it
  // was made from, or a batch it keeps is gone.
  EXPECT_EQ(store_->compact(tp_, c).error(), errc::offset_conflict);
  log_compaction stale;
  stale.first_base = 10;
  stale.end = 30;
  stale.batches = {compacted_batch{(*all)[2], false}};
  EXPECT_EQ(store_->compact(tp_, stale).error(), errc::offset_conflict);
  log_compaction other_log = c;  // a log with the same first batch, planned elsewhere
  other_log.first_base = 10;
  other_log.end = 28;
  other_log.end_bytes = c.batches[2].batch.end_bytes + 1;
  other_log.batches = {compacted_batch{(*all)[1], false}};
  EXPECT_EQ(store_->compact(tp_, other_log).error(), errc::offset_conflict);
  log_compaction gone_kept;  // the log's ends as planned, but a batch it keeps is not there
  gone_kept.first_base = 10;
  gone_kept.end = 28;
  gone_kept.end_bytes = c.batches[2].batch.end_bytes;
  stored_batch missing;  // 12: inside 10-19, never a batch of its own
  missing.base_offset = 12;
  missing.record_count = 1;
  stored_batch recounted = (*all)[1];  // 10-19, but with another record count
  recounted.record_count = 5;
  gone_kept.batches = {compacted_batch{missing, false}};
  EXPECT_EQ(store_->compact(tp_, gone_kept).error(), errc::offset_conflict);
  gone_kept.batches = {compacted_batch{recounted, false}};
  EXPECT_EQ(store_->compact(tp_, gone_kept).error(), errc::offset_conflict);
  log_compaction emptying;  // every batch below 41: nothing would be left
  emptying.first_base = 10;
  emptying.end = 41;
  emptying.end_bytes = store_->bounds(tp_)->end_bytes;
  EXPECT_EQ(store_->compact(tp_, emptying).error(), errc::invalid_request);
  EXPECT_EQ(store_->read(tp_, 0, 1 << 20)->size(), 5u) << "nothing changed";
  // Under a lease nobody holds, nothing happens.
  log_compaction fenced;
  fenced.first_base = 10;
  fenced.end = 30;
  fenced.fence = "1:1:nobody";
  EXPECT_EQ(store_->compact(tp_, fenced).error(), errc::not_leader);
  // Deleting to an offset between two batches left keeps the start there.
  auto cut = store_->delete_records(tp_, 25, "");
  ASSERT_TRUE(cut);
  EXPECT_EQ(cut->log_start, 25);
  EXPECT_EQ(store_->read(tp_, 0, 1 << 20)->front().base_offset, 27);
}

TEST_P(LogStore, AnEmptiedLogKeepsItsNextOffsetAndRefusesOlderOffsets) {
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(append_running(tp_, 5, 100));
  const auto end = running_[0].end_bytes;
  auto b = store_->delete_records(tp_, 1000, "");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->log_start, 15) << "at most the next offset";
  EXPECT_EQ(b->next_offset, 15);
  EXPECT_EQ(b->stored_bytes(), 0u);
  EXPECT_EQ(b->end_bytes, end);
  auto again = factory_();
  ASSERT_TRUE(again);
  auto reread = (*again)->bounds(tp_);
  ASSERT_TRUE(reread);
  EXPECT_EQ(reread->next_offset, 15) << "offsets are never handed out twice";
  EXPECT_EQ(reread->end_bytes, end);
  EXPECT_EQ(reread->end_timestamp, 100);
  EXPECT_EQ(append_one(tp_, 10, make_frame("old")), errc::offset_conflict);
  ASSERT_FALSE(append_running(tp_, 1, 200));
  EXPECT_EQ(store_->bounds(tp_)->log_start, 15);
  EXPECT_EQ(store_->bounds(tp_)->next_offset, 16);
}

TEST_P(LogStore, DeletingATopicRemovesItsLogStartToo) {
  topic_info t{"orders", 1, {}};
  ASSERT_FALSE(store_->create_topic(t));
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(append_running(tp_, 5, 100));
  ASSERT_TRUE(store_->delete_records(tp_, 7, ""));
  ASSERT_EQ(store_->delete_topic(t).value(), topic_write::done);
  auto b = store_->bounds(tp_);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->log_start, 0);
  EXPECT_EQ(b->next_offset, 0);
}

TEST(MemoryStore, AFullStoreRefusesAppendsUntilRoomIsFreed) {
  const auto frame = make_frame(std::string(1000, 'x'));
  auto store = memory_store::factory(frame.size() * 3)().value();
  topic_partition tp{"t", 0};
  std::vector<std::error_code> results;
  auto append = [&](std::int64_t base) {
    append_request r{&tp, base, 1, 0, protocol::shared_bytes::copy_of(frame)};
    store->append({&r, 1}, results);
    return results.at(0);
  };
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(append(i));
  EXPECT_EQ(store->usage()->used, frame.size() * 3);
  EXPECT_EQ(append(3), errc::storage_full);
  EXPECT_TRUE(is_retriable(errc::storage_full));
  EXPECT_EQ(store->bounds(tp)->next_offset, 3) << "nothing of a refused append is stored";
  // All or nothing: a call that does not fit stores none of its batches.
  ASSERT_TRUE(store->delete_records(tp, 1, ""));
  append_request two[2] = {{&tp, 3, 1, 0, protocol::shared_bytes::copy_of(frame)},
                           {&tp, 4, 1, 0, protocol::shared_bytes::copy_of(frame)}};
  store->append(two, results);
  EXPECT_EQ(results.at(0), errc::storage_full);
  EXPECT_EQ(results.at(1), errc::storage_full);
  EXPECT_FALSE(append(3)) << "room freed by deletion is usable again";
  EXPECT_EQ(store->usage()->used, frame.size() * 3);
  EXPECT_EQ(store->usage()->capacity, frame.size() * 3);
}

TEST(RedisStore, UnreachableServerIsStorageUnavailableNotAHang) {
  redis_options o;
  o.port = test::free_port();  // nothing listens there
  o.timeout = std::chrono::milliseconds(500);
  redis_store s{o};
  EXPECT_EQ(s.ping(), errc::storage_unavailable);
  topic_partition tp{"t", 0};
  const auto f = make_frame("x");
  EXPECT_EQ(append_alone(s, tp, 0, f), errc::storage_unavailable);
  // The reason, for the broker's line that says the store is unreachable.
  EXPECT_NE(s.failure_detail().find("Connection refused"), std::string::npos) << s.failure_detail();
}

TEST(RedisStore, ReconnectsAfterTheServerRestartsAndKeepsAcknowledgedData) {
  test::redis_server server;
  ASSERT_TRUE(server.start());
  redis_store s{options_for(server)};
  topic_partition tp{"t", 0};
  const auto f = make_frame("durable");
  ASSERT_FALSE(append_alone(s, tp, 0, f));
  server.kill();
  EXPECT_TRUE(s.ping()) << "a dead server is an error (storage_unavailable or timeout)";
  ASSERT_TRUE(server.start());
  EXPECT_FALSE(s.ping()) << "the store reconnects on the next call";
  auto got = s.read(tp, 0, 1 << 20);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(got->front().frame.to_buffer(), f);
}

// A connection the server closed while the store sat idle (CLIENT KILL here; a restart or the
// server's idle timeout alike) is replaced before the next call, which goes through at once:
// nothing was sent on the old one, so nothing is in doubt. Over TLS the server's close_notify
// comes first.
TEST_P(LogStore, AConnectionTheServerClosedWhileIdleIsReplacedBeforeTheNextCall) {
  if (!redis_) GTEST_SKIP() << "the memory store keeps no connection";
  ASSERT_FALSE(append_running(tp_, 1, 1000));
  // Every client but redis-cli's own connection, which is the store's: the server closes it
  // before it answers (on the plaintext port, also when the store speaks TLS).
  const auto kill_clients = "redis-cli -p " + std::to_string(redis_->port()) + " CLIENT KILL TYPE normal";
  auto [status, out] = test::run_shell(kill_clients);
  ASSERT_EQ(status, 0) << out;
  ASSERT_EQ(out, "1\n") << "one connection closed, the store's";
  const auto created = store_->create_topic({"after-the-kill", 1, {}});
  EXPECT_FALSE(created) << created.message();
  ASSERT_EQ(test::run_shell(kill_clients), std::make_pair(0, std::string("1\n")));
  EXPECT_FALSE(append_running(tp_, 1, 1001));
  auto got = store_->read(tp_, 0, 1 << 20);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->size(), 2u);
}

// The same after the server was killed and started again while the store did nothing: the
// first call after the restart succeeds.
TEST(RedisStore, AConnectionFromBeforeARestartIsReplacedBeforeTheNextCall) {
  test::redis_server server;
  ASSERT_TRUE(server.start());
  redis_store s{options_for(server)};
  topic_partition tp{"t", 0};
  const auto f = make_frame("kept");
  ASSERT_FALSE(append_alone(s, tp, 0, f));
  server.kill();
  ASSERT_TRUE(server.start());
  const auto after = append_alone(s, tp, 1, f);
  EXPECT_FALSE(after) << after.message();
  auto got = s.read(tp, 0, 1 << 20);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->size(), 2u);
}

TEST(RedisStore, ProducerIdsSurviveARestart) {
  test::redis_server server;
  ASSERT_TRUE(server.start());
  redis_store s{options_for(server)};
  auto first = s.allocate_producer_ids(1000);
  ASSERT_TRUE(first);
  server.kill();
  EXPECT_TRUE(s.ping());
  ASSERT_TRUE(server.start());
  auto second = s.allocate_producer_ids(1000);
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, *first + 1000) << "a restarted store never hands out an id twice";
}

// Records stored before topics had ids end after their configs; such a topic's id is made
// from its name, and an update or deletion checks that one.
TEST(RedisStore, ARecordFromBeforeTopicIdsIsChangedUnderTheIdMadeFromItsName) {
  test::redis_server server;
  ASSERT_TRUE(server.start());
  auto o = options_for(server);
  redis_store s{o};
  // "old": 2 partitions (zigzag varint 4), one config, retention.ms=1000, and no id.
  const auto write_old = "printf '\\004\\001\\014retention.ms\\0041000' | redis-cli -p " +
                         std::to_string(server.port()) + " -x HSET " + o.key_prefix + ":topics old 2>&1";
  auto [status, out] = test::run_shell(write_old);
  ASSERT_EQ(status, 0) << out;
  auto list = s.list_topics();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  auto old = list->front();
  EXPECT_EQ(old.partitions, 2);
  EXPECT_EQ(old.configs, (storage::config_entries{{"retention.ms", "1000"}}));
  EXPECT_EQ(old.id, storage::topic_id_from_name("old"));
  auto other = old;
  other.id = storage::new_topic_id();
  auto other_grown = other;
  other_grown.partitions = 9;
  EXPECT_EQ(s.update_topic(other, other_grown).value(), topic_write::gone);
  auto grown = old;
  grown.partitions = 3;
  EXPECT_EQ(s.update_topic(old, grown).value(), topic_write::done);
  list = s.list_topics();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front(), grown) << "stored with its id from now on";
  EXPECT_EQ(s.delete_topic(other).value(), topic_write::gone);
  ASSERT_EQ(s.delete_topic(grown).value(), topic_write::done);
  list = s.list_topics();
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->empty());
  // A record still without an id is deleted under the id made from its name.
  ASSERT_EQ(test::run_shell(write_old).first, 0);
  list = s.list_topics();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(s.delete_topic(other).value(), topic_write::gone);
  ASSERT_EQ(s.delete_topic(list->front()).value(), topic_write::done);
  list = s.list_topics();
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->empty());
}

TEST(RedisStore, AnOffsetCommittedBeforeCommitTimesWereKeptStillReads) {
  test::redis_server server;
  ASSERT_TRUE(server.start());
  auto o = options_for(server);
  redis_store s{o};
  // The first format: zigzag varint 300 (0xd8 0x04), then the metadata "m".
  const auto write_old = "printf '\\330\\004m' | redis-cli -p " + std::to_string(server.port()) +
                         " -x HSET '" + o.key_prefix + ":offsets:{old}' orders:0 2>&1";
  auto [status, out] = test::run_shell(write_old);
  ASSERT_EQ(status, 0) << out;
  auto got = s.fetch_offsets("old");
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(got->front(), (group_offset{{"orders", 0}, {300, "m", -1, -1, -1}}));
  // Committed again, it is stored in the current format, times and epoch included.
  const group_offset next[] = {{{"orders", 0}, {301, "", 2, 1700000000000, -1}}};
  ASSERT_FALSE(s.commit_offsets("old", next, ""));
  EXPECT_EQ(s.fetch_offsets("old").value(), std::vector<group_offset>(next, next + 1));
  // A value in neither format (the current marker with an unknown version) is refused.
  const auto write_bad = "printf '\\200\\200\\200\\200\\200\\200\\200\\200\\200\\002\\011' | redis-cli -p " + std::to_string(server.port()) +
                         " -x HSET '" + o.key_prefix + ":offsets:{old}' orders:1 2>&1";
  ASSERT_EQ(test::run_shell(write_bad).first, 0);
  EXPECT_EQ(s.fetch_offsets("old").error(), errc::corrupt_stored_data);
}

// A write that timed out on a paused server may still run when the server resumes. The
// store fences that connection before any later call: once a read is answered, the old
// connection is gone and nothing it sent can land afterwards.
TEST(RedisStore, AnAmbiguousWriteIsFencedBeforeTheNextCall) {
  test::redis_server server;
  ASSERT_TRUE(server.start());
  auto o = options_for(server);  // the reader's calls must succeed, however slow the machine
  redis_store reader{o};
  o.timeout = std::chrono::seconds(2);  // the writer's append must time out on the paused server
  redis_store writer{o};
  topic_partition tp{"fence", 0};
  ASSERT_FALSE(writer.ping());
  server.pause();
  const auto f = make_frame("late");
  EXPECT_EQ(append_alone(writer, tp, 0, f), errc::timeout) << "sent, unanswered: the outcome is unknown";
  server.resume();
  // The reader's first call fences the writer's old connection, then reads.
  auto before = reader.bounds(tp);
  ASSERT_TRUE(before);
  auto [status, clients] = test::run_shell("redis-cli -p " + std::to_string(server.port()) +
                                           " CLIENT LIST");
  ASSERT_EQ(status, 0);
  std::size_t connections = 0;
  for (std::size_t p = clients.find("id="); p != std::string::npos; p = clients.find("id=", p + 1))
    ++connections;
  EXPECT_EQ(connections, 2u) << "only the reader and redis-cli remain:\n" << clients;
  auto after = reader.bounds(tp);
  ASSERT_TRUE(after);
  EXPECT_EQ(*before, *after) << "nothing of the fenced connection landed after the fence";
}

TEST(RedisStore, StoredValueIsAPortaskFrame) {
  test::redis_server server;
  ASSERT_TRUE(server.start());
  redis_store s{options_for(server)};
  topic_partition tp{"raw", 2};
  const auto f = make_frame("inspect me");
  ASSERT_FALSE(append_alone(s, tp, 0, f));
  EXPECT_EQ(s.log_key(tp), "portask:{raw:2}:log");
}

// A read's page count is guessed from the frames before it: after a run of small batches, a
// page of as many large ones would be one reply of megabytes each. Pages end by the bytes of
// their frames (on the server), so such a read stays within a cap of a few pages.
TEST(RedisStore, AReadFromSmallBatchesIntoLargeOnesStaysWithinTheReplyCap) {
  test::redis_server server;
  ASSERT_TRUE(server.start());
  auto o = options_for(server);
  o.max_reply_bytes = 4u << 20;
  redis_store s{o};
  topic_partition tp{"mixed", 0};
  std::vector<buffer> frames;
  for (int i = 0; i < 200; ++i) frames.push_back(make_frame("s" + std::to_string(i)));
  for (int i = 0; i < 12; ++i) frames.push_back(make_frame(std::string(1u << 20, static_cast<char>('A' + i))));
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const auto appended = append_alone(s, tp, static_cast<std::int64_t>(i), frames[i]);
    ASSERT_FALSE(appended) << i << ": " << appended.message();
  }
  auto got = s.read(tp, 0, std::size_t{1} << 30);
  ASSERT_TRUE(got) << got.error().message();
  ASSERT_EQ(got->size(), frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i) ASSERT_EQ((*got)[i].frame.to_buffer(), frames[i]) << i;
}

// A reply past the cap fails its call and leaves the connection out of step: the store drops
// it, and the next call works on a new one.
TEST(RedisStore, AReplyOverTheCapFailsTheCallAndTheNextCallReconnects) {
  test::redis_server server;
  ASSERT_TRUE(server.start());
  auto o = options_for(server);
  o.max_reply_bytes = 64 * 1024;
  redis_store s{o};
  topic_partition tp{"big", 0};
  const auto f = make_frame(std::string(256 * 1024, 'z'));
  const auto appended = append_alone(s, tp, 0, f);
  ASSERT_FALSE(appended) << appended.message();
  auto got = s.read(tp, 0, 1 << 20);
  EXPECT_FALSE(got) << "a reply of a 256 KiB frame was taken under a 64 KiB cap";
  EXPECT_FALSE(s.ping()) << "the connection the reply broke is still in use";
  auto bounds = s.bounds(tp);
  ASSERT_TRUE(bounds) << bounds.error().message();
  EXPECT_EQ(bounds->next_offset, 1);
}

TEST(RedisStore, AuthenticatesWithAPasswordOrAnAclUserAndIsRefusedWithoutOne) {
  test::redis_server server;
  ASSERT_TRUE(server.start({"--requirepass", "topsecret", "--user", "broker", "on", ">broker-pw", "~*", "&*",
                            "+@all"}));
  const std::string where = "127.0.0.1:" + std::to_string(server.port());
  auto put = [&](const std::string& url) {
    auto o = parse_redis_url(url).value();
    o.timeout = std::chrono::seconds(30);  // refusals come at once; only a slow fsync waits
    redis_store s{o};
    auto topics = s.list_topics();
    return topics ? std::error_code{} : topics.error();
  };
  EXPECT_EQ(put("redis://" + where), errc::storage_unavailable);
  EXPECT_EQ(put("redis://:wrong@" + where), errc::storage_unavailable);
  EXPECT_EQ(put("redis://broker:wrong@" + where), errc::storage_unavailable);
  EXPECT_FALSE(put("redis://:topsecret@" + where));
  EXPECT_FALSE(put("redis://broker:broker-pw@" + where));
}

// Wrong credentials are refused at every attempt until the URL changes, and every storage
// actor tries again about every second: one error line naming a configuration problem, the
// repeats at debug, of every store of the process, until a connection succeeds.
TEST(RedisStore, ARefusedPasswordIsOneErrorLineUntilAConnectionSucceeds) {
  test::redis_server server;
  ASSERT_TRUE(server.start({"--requirepass", "topsecret"}));
  const std::string where = "127.0.0.1:" + std::to_string(server.port());
  auto store = [&](const std::string& url) {
    auto o = parse_redis_url(url).value();
    o.timeout = std::chrono::seconds(30);
    return std::make_unique<redis_store>(o);
  };
  // A connection that succeeds first: a refusal another test logged is not held against this one.
  ASSERT_FALSE(store("redis://:topsecret@" + where)->ping());
  portask::testing::log_capture log(logging::storage(), spdlog::level::debug);
  auto wrong = store("redis://:wrong@" + where);
  auto other = store("redis://:wrong@" + where);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(wrong->ping(), errc::storage_unavailable);
    EXPECT_EQ(other->ping(), errc::storage_unavailable);
  }
  EXPECT_TRUE(wrong->failure_detail().starts_with("WRONGPASS")) << wrong->failure_detail();
  const std::string refusal = "refused the store's connection: WRONGPASS";
  auto refused = log.lines_with(refusal);
  ASSERT_EQ(refused.size(), 6u);
  EXPECT_NE(refused[0].find("[error]"), std::string::npos) << refused[0];
  EXPECT_NE(refused[0].find("a configuration problem"), std::string::npos) << refused[0];
  for (std::size_t i = 1; i < refused.size(); ++i)
    EXPECT_NE(refused[i].find("[debug]"), std::string::npos) << refused[i];
  EXPECT_TRUE(log.lines_with("not usable yet").empty());
  // Once a connection succeeded, the next refusal is an error line again.
  ASSERT_FALSE(store("redis://:topsecret@" + where)->ping());
  EXPECT_EQ(wrong->ping(), errc::storage_unavailable);
  refused = log.lines_with(refusal);
  ASSERT_EQ(refused.size(), 7u);
  EXPECT_NE(refused[6].find("[error]"), std::string::npos) << refused[6];
}

// A server out of memory refuses the producer snapshot a partition writes after each failed
// write: one warning per partition until a snapshot of it is stored, the repeats at debug.
TEST(RedisStore, ARefusedProducerSnapshotIsOneWarningPerPartitionUntilOneIsStored) {
  test::redis_server server;
  ASSERT_TRUE(server.start());
  redis_store s{options_for(server)};
  const auto maxmemory = "redis-cli -p " + std::to_string(server.port()) + " CONFIG SET maxmemory ";
  const topic_partition a{"a", 0};
  const topic_partition b{"b", 0};
  producer_snapshot snap;
  snap.batches.push_back({7, 0, 0, 0, 0, 1, 1000});
  portask::testing::log_capture log(logging::storage(), spdlog::level::debug);
  ASSERT_EQ(test::run_shell(maxmemory + "1").first, 0);  // every write is refused: OOM
  EXPECT_EQ(s.put_producer_snapshot(a, snap, ""), errc::storage_unavailable);
  EXPECT_EQ(s.put_producer_snapshot(a, snap, ""), errc::storage_unavailable);
  EXPECT_EQ(s.put_producer_snapshot(b, snap, ""), errc::storage_unavailable);
  ASSERT_EQ(test::run_shell(maxmemory + "0").first, 0);
  EXPECT_FALSE(s.put_producer_snapshot(a, snap, ""));
  ASSERT_EQ(test::run_shell(maxmemory + "1").first, 0);
  EXPECT_EQ(s.put_producer_snapshot(a, snap, ""), errc::storage_unavailable);
  const auto of_a = log.lines_with("refused the producer snapshot of " + s.log_key(a));
  ASSERT_EQ(of_a.size(), 3u);
  EXPECT_NE(of_a[0].find("[warning]"), std::string::npos) << of_a[0];
  EXPECT_NE(of_a[0].find("OOM"), std::string::npos) << of_a[0];
  EXPECT_NE(of_a[1].find("[debug]"), std::string::npos) << of_a[1];
  EXPECT_NE(of_a[2].find("[warning]"), std::string::npos) << "after one was stored: " << of_a[2];
  const auto of_b = log.lines_with("refused the producer snapshot of " + s.log_key(b));
  ASSERT_EQ(of_b.size(), 1u);
  EXPECT_NE(of_b[0].find("[warning]"), std::string::npos) << of_b[0];
}

TEST(RedisStore, SpeaksTlsToARedissUrlAndRefusesServersItCannotTrust) {
  test::temp_dir dir;
  const auto files = test::make_tls_files(dir.path());
  ASSERT_FALSE(files.ca.empty());
  test::redis_server server;
  const auto tls_port = test::free_port();
  // Client certificates required: the store must present one.
  ASSERT_TRUE(server.start({"--tls-port", std::to_string(tls_port), "--tls-cert-file", files.server_cert,
                            "--tls-key-file", files.server_key, "--tls-ca-cert-file", files.ca,
                            "--tls-auth-clients", "yes"}));
  const std::string where = "127.0.0.1:" + std::to_string(tls_port);
  auto put = [&](const std::string& url) {
    auto o = parse_redis_url(url).value();
    o.timeout = std::chrono::seconds(30);  // refusals come at once; only a slow fsync waits
    redis_store s{o};
    storage::topic_info t;
    t.name = "over-tls";
    return s.create_topic(t);  // only the trusted connection gets through: created once
  };
  const std::string client = "&tls_cert_file=" + files.alice_cert + "&tls_key_file=" + files.alice_key;
  // Refused: at the handshake (storage_unavailable), or, with TLS 1.3, once the server has
  // checked the client's certificate after the client finished (the command was sent: timeout).
  auto refused = [](std::error_code ec) { return ec == errc::storage_unavailable || ec == errc::timeout; };
  EXPECT_FALSE(put("rediss://" + where + "?tls_ca_file=" + files.ca + client));
  EXPECT_TRUE(refused(put("rediss://" + where + "?tls_ca_file=" + files.ca)));  // no certificate
  EXPECT_TRUE(refused(put("rediss://" + where + "?tls_cert_file=" + files.alice_cert + "&tls_key_file=" +
                          files.alice_key)));  // the system's CAs do not know the server's
  EXPECT_TRUE(refused(put("rediss://" + where + "?tls_ca_file=" + files.ca + client +
                          "&tls_server_name=elsewhere.example")));
  EXPECT_TRUE(refused(put("redis://" + where)));  // plaintext to the TLS port
  auto o = parse_redis_url("rediss://" + where + "?tls_ca_file=" + files.ca + client).value();
  o.timeout = std::chrono::seconds(30);
  redis_store reader{o};
  auto topics = reader.list_topics();
  ASSERT_TRUE(topics);
  ASSERT_EQ(topics->size(), 1u);
  EXPECT_EQ(topics->front().name, "over-tls");
}

TEST(RedisUrl, ParsesRedissWithItsTlsFilesAndRefusesOtherParameters) {
  auto o = parse_redis_url("rediss://u:p@db.example:6380/1?tls_ca_file=/ca.pem&tls_cert_file=/c.pem&tls_key_file=/k.pem"
                           "&tls_server_name=redis.internal");
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->tls.enabled);
  EXPECT_EQ(o->host, "db.example");
  EXPECT_EQ(o->port, 6380);
  EXPECT_EQ(o->db, 1);
  EXPECT_EQ(o->password, "p");
  EXPECT_EQ(o->tls.ca_file, "/ca.pem");
  EXPECT_EQ(o->tls.cert_file, "/c.pem");
  EXPECT_EQ(o->tls.key_file, "/k.pem");
  EXPECT_EQ(o->tls.server_name, "redis.internal");
  EXPECT_FALSE(parse_redis_url("redis://host?tls_ca_file=/ca.pem"));  // TLS settings without TLS
  EXPECT_FALSE(parse_redis_url("rediss://host?tls_verify=no"));
  EXPECT_FALSE(parse_redis_url("rediss://host?tls_ca_file"));
  EXPECT_FALSE(parse_redis_url("redis://host")->tls.enabled);
}

TEST(RedisUrl, ParsesHostPortDbAndPassword) {
  auto o = parse_redis_url("redis://:secret@10.0.0.5:6380/2");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->host, "10.0.0.5");
  EXPECT_EQ(o->port, 6380);
  EXPECT_EQ(o->db, 2);
  EXPECT_EQ(o->password, "secret");
  EXPECT_EQ(o->username, "");
  o = parse_redis_url("redis://portask:p%w@10.0.0.5");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->username, "portask");
  EXPECT_EQ(o->password, "p%w");
  o = parse_redis_url("redis://localhost");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->port, 6379);
  o = parse_redis_url("dragonfly://[::1]:7000");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->host, "::1");
  EXPECT_EQ(o->port, 7000);
  EXPECT_FALSE(parse_redis_url("http://x"));
  EXPECT_FALSE(parse_redis_url("redis://host:notaport"));
  EXPECT_FALSE(parse_redis_url("redis://"));
  // No host at all, before a database or after credentials.
  for (const char* url : {"redis:///0", "redis://user@", "redis://:pw@/1", "rediss://?tls_ca_file=ca.pem"})
    EXPECT_FALSE(parse_redis_url(url)) << url;
  // A port or database no connection could use: refused here, so at the broker's startup.
  EXPECT_FALSE(parse_redis_url("redis://host:0"));
  EXPECT_FALSE(parse_redis_url("dragonfly://[::1]:0"));
  EXPECT_FALSE(parse_redis_url("redis://host:6379/-1"));
  EXPECT_EQ(parse_redis_url("redis://host:6379/0")->db, 0);
}

// What logs and DescribeLogDirs show: the URL without whatever parse_redis_url takes for
// credentials, a password holding '/' or '@' included.
TEST(RedisUrl, TheCredentialsAreLeftOutWhereverThePasswordEnds) {
  for (const auto& [url, shown] : std::vector<std::pair<std::string, std::string>>{
           {"redis://:secret@10.0.0.5:6380/2", "redis://10.0.0.5:6380/2"},
           {"redis://:Zm9v/YmFy@redis:6379", "redis://redis:6379"},
           {"redis://:p@ss@host", "redis://host"},
           {"redis://user:a/b@c@host:1/0", "redis://host:1/0"},
           {"rediss://:pw@host?tls_ca_file=/etc/ca@x.pem", "rediss://host?tls_ca_file=/etc/ca@x.pem"},
           {"redis://localhost:6379", "redis://localhost:6379"}}) {
    EXPECT_EQ(url_without_credentials(url), shown) << url;
    auto parsed = parse_redis_url(url);
    ASSERT_TRUE(parsed) << url;
    if (!parsed->password.empty()) {
      EXPECT_EQ(url_without_credentials(url).find(parsed->password), std::string::npos) << url;
    }
  }
}

TEST(RedisStore, CompactionStepsTakeAtLeastOneBatchAndStayWithinTheirBounds) {
  log_compaction c;
  std::uint64_t end = 0;
  for (std::uint64_t size : {500u, 100u, 100u, 100u, 900u, 100u, 100u}) {
    compacted_batch b;
    b.batch.end_bytes = end += size;
    c.batches.push_back(b);
  }
  // A batch written anew counts its frame, wherever it is.
  log_compaction rewritten = c;
  rewritten.batches[0].rewritten = true;
  rewritten.batches[0].batch.frame = protocol::shared_bytes::copy_of(buffer(300, 'x'));
  EXPECT_EQ(compaction_steps(rewritten, 1024, 250), (std::vector<std::size_t>{1, 3, 4, 5, 7}));
  // The first batch's size is not known (its start is not in the plan): it counts nothing.
  EXPECT_EQ(compaction_steps(c, 1024, 1u << 20), std::vector<std::size_t>{7});
  EXPECT_EQ(compaction_steps(c, 3, 1u << 20), (std::vector<std::size_t>{3, 6, 7}));
  EXPECT_EQ(compaction_steps(c, 1024, 250), (std::vector<std::size_t>{3, 4, 5, 7}))
      << "a batch larger than the bound is a step of its own";
  EXPECT_EQ(compaction_steps(c, 1, 0), (std::vector<std::size_t>{1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(compaction_steps(log_compaction{}, 4, 100), std::vector<std::size_t>{0})
      << "a compaction that keeps nothing of its range is one step";
}

TEST(RedisStore, ACompactionInStepsLeavesTheLogOneStepLeavesAndLetsAppendsIn) {
  test::redis_server server;
  ASSERT_TRUE(server.start());
  auto o = options_for(server);
  redis_store other{o};  // another client of the same server, between two steps
  std::map<std::string, std::pair<std::int64_t, std::uint64_t>> running;  // next, end bytes
  auto append = [&](const topic_partition& tp, int records) {
    auto& [next, end_bytes] = running[tp.topic];
    const auto frame = make_frame(tp.topic + std::to_string(next), records);
    end_bytes += frame.size();
    append_request r{&tp, next, static_cast<std::uint32_t>(records), 100 + next,
                     protocol::shared_bytes::copy_of(frame)};
    r.end_bytes = end_bytes;
    r.end_timestamp = 100 + next;
    std::vector<std::error_code> results;
    other.append({&r, 1}, results);
    next += records;
    return results.at(0);
  };
  // The plan drops the log's first batch, keeps the others below 20 as they are, but for one
  // record of 8-9 and of 18-19 written anew (when `rewrite`); the batches from 20 on are past
  // the range.
  auto plan = [&](const topic_partition& tp, bool rewrite = true) {
    auto all = other.read(tp, 0, 1 << 20).value();
    log_compaction c;
    c.first_base = all.front().base_offset;
    c.end = 20;
    std::map<std::int64_t, std::size_t> sizes;
    for (const auto& batch : all) {
      sizes[batch.base_offset] = batch.frame.size();
      if (batch.next_offset() == c.end) c.end_bytes = batch.end_bytes;
      if (batch.base_offset == c.first_base || batch.next_offset() > c.end) continue;
      compacted_batch kept{batch, false};
      if (rewrite && (batch.base_offset == 8 || batch.base_offset == 18)) {
        kept.rewritten = true;
        kept.batch.record_count = 1;
        kept.batch.frame = protocol::shared_bytes::copy_of(make_frame("left", 1));
        sizes[batch.base_offset] = kept.batch.frame.size();
      }
      c.batches.push_back(kept);
    }
    auto end = c.end_bytes;  // running bytes counted back from the range's end, as planned
    for (auto it = c.batches.rbegin(); it != c.batches.rend(); ++it) {
      it->batch.end_bytes = end;
      end -= sizes[it->batch.base_offset];
      if (!it->rewritten) it->batch.frame = {};  // as the planner hands kept batches over
    }
    return c;
  };
  // What the log holds, but for the names in its frames (each log's frames name its topic).
  auto layout = [&](const topic_partition& tp) {
    std::vector<std::tuple<std::int64_t, std::uint32_t, std::size_t, std::uint64_t>> out;
    const auto batches = other.read(tp, 0, 1 << 20).value();
    for (const auto& b : batches)
      out.emplace_back(b.base_offset, b.record_count, b.frame.size(), b.end_bytes);
    return out;
  };
  const topic_partition a{"aa", 0}, b{"bb", 0}, c{"cc", 0}, d{"dd", 0};
  for (const auto* tp : {&a, &b, &c, &d})
    for (int i = 0; i < 12; ++i) ASSERT_FALSE(append(*tp, 2));

  redis_store whole{o};
  auto one_step = whole.compact(a, plan(a));
  ASSERT_TRUE(one_step) << one_step.error().message();

  auto stepwise_options = o;
  // 9 batches: 5 steps of at most 2; the fifth, of 1 batch, also copies 1 entry of the 2 after
  // the range (its bound reached, it answers MORE), and a sixth copies the other and finishes.
  stepwise_options.compaction_step_entries = 2;
  std::vector<std::size_t> seen;
  stepwise_options.between_compaction_steps = [&](std::size_t step) { seen.push_back(step); };
  redis_store stepwise{stepwise_options};
  auto in_steps = stepwise.compact(b, plan(b));
  ASSERT_TRUE(in_steps) << in_steps.error().message();
  EXPECT_EQ(seen, (std::vector<std::size_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(*in_steps, *one_step);
  EXPECT_EQ(layout(b), layout(a));
  EXPECT_EQ(layout(b).size(), 11u);

  // Batches appended between two steps land after the range and are copied in turn: one
  // while the range is built, one while the entries after it are copied.
  int appended = 0;
  redis_store with_append{[&] {
    auto opts = stepwise_options;
    opts.between_compaction_steps = [&](std::size_t step) {
      if (step == 2 || step == 5) appended += append(c, step == 2 ? 3 : 1) ? 0 : 1;
    };
    return opts;
  }()};
  auto grown = with_append.compact(c, plan(c));
  ASSERT_TRUE(grown) << grown.error().message();
  ASSERT_EQ(appended, 2);
  EXPECT_EQ(grown->next_offset, 28);
  auto expected = layout(a);
  const auto end_bytes = running["cc"].second;
  const auto last_size = make_frame("cc27", 1).size();
  expected.emplace_back(24, 3u, make_frame("cc24", 3).size(), end_bytes - last_size);
  expected.emplace_back(27, 1u, last_size, end_bytes);
  EXPECT_EQ(layout(c), expected);

  // Records deleted between two steps: the plan no longer fits the log, nothing of it is
  // applied, and a compaction planned again succeeds.
  bool deleted = false;
  redis_store with_delete{[&] {
    auto opts = stepwise_options;
    opts.between_compaction_steps = [&](std::size_t step) {
      if (step == 3 && !deleted) deleted = other.delete_records(d, 4, "").has_value();
    };
    return opts;
  }()};
  const auto before_delete = layout(d);
  auto conflict = with_delete.compact(d, plan(d));
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error(), errc::offset_conflict);
  ASSERT_TRUE(deleted);
  auto after_delete = layout(d);
  EXPECT_EQ(after_delete, std::vector(before_delete.begin() + 2, before_delete.end()))
      << "the log is the one the deletion left, untouched by the steps before it";
  auto replanned = plan(d, false);
  ASSERT_EQ(replanned.batches.size(), 7u);
  auto compacted = with_delete.compact(d, replanned);
  ASSERT_TRUE(compacted) << compacted.error().message();
  EXPECT_EQ(compacted->log_start, 4);
  EXPECT_EQ(layout(d), std::vector(after_delete.begin() + 1, after_delete.end()))
      << "4-5 went; the rest is as it was, with running bytes counted again";
}

// A raw connection to the test's server, for what the store's interface does not show.
struct raw_redis {
  explicit raw_redis(std::uint16_t port) : c(redisConnect("127.0.0.1", port)) {}
  ~raw_redis() { redisFree(c); }
  long long integer(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    const long long out = r != nullptr && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r != nullptr) freeReplyObject(r);
    return out;
  }
  redisContext* c;
};

TEST(RedisStore, AProducersEpochRecordExpiresAWeekAfterItsLastBump) {
  test::redis_server server;
  ASSERT_TRUE(server.start());
  redis_store s{options_for(server)};
  const auto first = s.allocate_producer_ids(1);
  ASSERT_TRUE(first);
  raw_redis raw{server.port()};
  ASSERT_NE(raw.c, nullptr);
  const auto key = s.producer_epoch_key(*first);
  EXPECT_EQ(raw.integer({"EXISTS", key}), 0) << "a new id's epoch 0 is not written";
  ASSERT_TRUE(s.bump_producer_epoch(*first, 0));
  const auto week = std::chrono::seconds(producer_epoch_ttl).count();
  EXPECT_GT(raw.integer({"TTL", key}), week - 60);
  EXPECT_LE(raw.integer({"TTL", key}), week);
  ASSERT_EQ(raw.integer({"EXPIRE", key, "100"}), 1);
  ASSERT_TRUE(s.bump_producer_epoch(*first, 1));
  EXPECT_GT(raw.integer({"TTL", key}), week - 60) << "each bump gives the record a week again";
}

// A group's metadata record is a version byte (1), the generation (zig-zag varint) and the
// protocol type, under its own key beside the group's offsets, which it leaves with. One this
// broker cannot read (a later format) reads as none, and the group is still listed.
TEST(RedisStore, AGroupsMetadataRecordIsItsOwnKeyAndAnUnreadableOneReadsAsNone) {
  test::redis_server server;
  ASSERT_TRUE(server.start());
  redis_store s{options_for(server)};
  raw_redis raw{server.port()};
  ASSERT_NE(raw.c, nullptr);
  const group_offset committed[] = {{{"orders", 0}, {3, ""}}};
  ASSERT_FALSE(s.commit_offsets("g", committed, ""));
  ASSERT_TRUE(s.commit_group_metadata("g", {"connect", 2}, "").value());
  const auto key = s.group_metadata_key("g");
  auto* stored = static_cast<redisReply*>(redisCommand(raw.c, "GET %s", key.c_str()));
  ASSERT_NE(stored, nullptr);
  ASSERT_EQ(stored->type, REDIS_REPLY_STRING);
  EXPECT_EQ(std::string(stored->str, stored->len), std::string("\x01\x04" "connect"));
  freeReplyObject(stored);
  const std::string later("\x02\x04" "connect");  // version 2
  auto* overwritten =
      static_cast<redisReply*>(redisCommand(raw.c, "SET %s %b", key.c_str(), later.data(), later.size()));
  ASSERT_NE(overwritten, nullptr);
  EXPECT_EQ(overwritten->type, REDIS_REPLY_STATUS);
  freeReplyObject(overwritten);
  EXPECT_EQ(s.fetch_group_metadata("g").value(), group_metadata{});
  EXPECT_EQ(s.list_group_metadata().value(), (std::vector<group_listing>{{"g", {}}}));
  ASSERT_FALSE(s.delete_offsets("g", {}, ""));
  EXPECT_EQ(raw.integer({"EXISTS", key}), 0);
}

// A metadata record a deletion left behind without the group's offsets (a broker's from
// before the record, whose deletion script does not know it, or whose unfenced deletion ran
// in steps) is not the group's that commits under the name next: the commit that creates the
// group's offsets removes it in the same step, fenced or not. A commit to a group that has
// offsets keeps the group's metadata, and a fenced-out one changes nothing.
TEST(RedisStore, ACommitThatCreatesAGroupsOffsetsRemovesAMetadataRecordLeftBehind) {
  using namespace std::chrono_literals;
  test::redis_server server;
  ASSERT_TRUE(server.start());
  redis_store s{options_for(server)};
  raw_redis raw{server.port()};
  ASSERT_NE(raw.c, nullptr);
  const group_metadata left_behind{"connect", 2};
  auto leave_behind = [&](const std::string& group) {
    const std::string record("\x01\x04" "connect");  // version 1, generation 2
    const auto key = s.group_metadata_key(group);
    auto* set = static_cast<redisReply*>(redisCommand(raw.c, "SET %s %b", key.c_str(), record.data(), record.size()));
    ASSERT_NE(set, nullptr);
    EXPECT_EQ(set->type, REDIS_REPLY_STATUS);
    freeReplyObject(set);
    EXPECT_EQ(s.fetch_group_metadata(group).value(), left_behind);
  };
  const group_offset committed[] = {{{"orders", 0}, {3, ""}}};
  leave_behind("single");
  ASSERT_FALSE(s.commit_offsets("single", committed, ""));
  EXPECT_EQ(s.fetch_group_metadata("single").value(), group_metadata{});
  ASSERT_TRUE(s.commit_group_metadata("single", {"consumer", 1}, "").value());
  ASSERT_FALSE(s.commit_offsets("single", committed, ""));
  EXPECT_EQ(s.fetch_group_metadata("single").value(), (group_metadata{"consumer", 1}));
  // Under the group's lease, as a cluster's coordinator commits.
  const std::vector<lease_claim> want{{group_lease("leased"), lease_intent::want}};
  const auto mine = s.lease_round({1, 0, "t1"}, 10s, want)->at(0);
  leave_behind("leased");
  ASSERT_FALSE(s.commit_offsets("leased", committed, lease_value(mine)));
  EXPECT_EQ(s.fetch_group_metadata("leased").value(), group_metadata{});
  ASSERT_TRUE(s.commit_group_metadata("leased", {"consumer", 1}, lease_value(mine)).value());
  ASSERT_FALSE(s.commit_offsets("leased", committed, lease_value(mine)));
  EXPECT_EQ(s.fetch_group_metadata("leased").value(), (group_metadata{"consumer", 1}));
  // Fenced out (no lease of that group here): nothing stored, nothing removed.
  leave_behind("unleased");
  EXPECT_EQ(s.commit_offsets("unleased", committed, lease_value(mine)), errc::not_coordinator);
  EXPECT_TRUE(s.fetch_offsets("unleased").value().empty());
  EXPECT_EQ(s.fetch_group_metadata("unleased").value(), left_behind);
}

// An unfenced deletion (a single node's; in a cluster a deleted topic's cleanup of a group
// coordinated on another node, whose commits may come at any moment) is one script call: no
// commit lands between the check for offsets left and the group leaving the set with its
// metadata, which would take a group with offsets out of the list and delete the metadata
// its coordinator writes after that commit. The server's MONITOR shows every command a
// client sends, and marks the calls a script makes "lua".
TEST(RedisStore, AnUnfencedDeletionOfAGroupsOffsetsIsOneScriptCall) {
  test::redis_server server;
  ASSERT_TRUE(server.start());
  redis_store s{options_for(server)};
  const group_offset committed[] = {{{"orders", 0}, {3, ""}}, {{"orders", 1}, {4, ""}}};
  ASSERT_FALSE(s.commit_offsets("g", committed, ""));  // (the store connects)
  ASSERT_TRUE(s.commit_group_metadata("g", {"consumer", 2}, "").value());
  ASSERT_FALSE(s.commit_offsets("whole", committed, ""));
  raw_redis monitor{server.port()};
  raw_redis marker{server.port()};
  ASSERT_NE(monitor.c, nullptr);
  ASSERT_NE(marker.c, nullptr);
  ASSERT_EQ(redisSetTimeout(monitor.c, timeval{30, 0}), REDIS_OK);
  auto* started = static_cast<redisReply*>(redisCommand(monitor.c, "MONITOR"));
  ASSERT_NE(started, nullptr);
  freeReplyObject(started);
  const topic_partition first[] = {{"orders", 0}};
  const topic_partition last[] = {{"orders", 1}};
  ASSERT_FALSE(s.delete_offsets("g", first, ""));
  ASSERT_FALSE(s.delete_offsets("g", last, ""));
  ASSERT_FALSE(s.delete_offsets("whole", {}, ""));
  ASSERT_EQ(marker.integer({"EXISTS", "end-of-deletions"}), 0);  // where the lines to read end
  std::vector<std::string> sent;  // by clients, not by scripts
  for (;;) {
    void* r = nullptr;
    ASSERT_EQ(redisGetReply(monitor.c, &r), REDIS_OK);
    auto* shown = static_cast<redisReply*>(r);
    ASSERT_EQ(shown->type, REDIS_REPLY_STATUS);
    const std::string line(shown->str, shown->len);
    freeReplyObject(shown);
    if (line.find("\"end-of-deletions\"") != std::string::npos) break;
    if (line.find(" lua]") == std::string::npos) sent.push_back(line);
  }
  EXPECT_GE(sent.size(), 3u);
  for (const auto& line : sent)
    EXPECT_TRUE(line.find("\"EVALSHA\"") != std::string::npos || line.find("\"EVAL\"") != std::string::npos)
        << line;
  EXPECT_TRUE(s.list_groups().value().empty());
  EXPECT_EQ(s.fetch_group_metadata("g").value(), group_metadata{});
}

// Records in a later format read as none at every listing, and clients list groups often:
// one warning a minute per store, with how many there are and one of them, the rest at debug.
TEST(RedisStore, UnreadableMetadataRecordsAreOneWarningAMinute) {
  test::redis_server server;
  ASSERT_TRUE(server.start());
  redis_store s{options_for(server)};
  raw_redis raw{server.port()};
  ASSERT_NE(raw.c, nullptr);
  const group_offset committed[] = {{{"orders", 0}, {3, ""}}};
  const std::string later("\x02\x04" "connect");  // version 2
  for (const char* group : {"a", "b"}) {
    ASSERT_FALSE(s.commit_offsets(group, committed, ""));
    const auto key = s.group_metadata_key(group);
    auto* set = static_cast<redisReply*>(redisCommand(raw.c, "SET %s %b", key.c_str(), later.data(), later.size()));
    ASSERT_NE(set, nullptr);
    freeReplyObject(set);
  }
  portask::testing::log_capture log(logging::storage(), spdlog::level::debug);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(s.list_group_metadata().value().size(), 2u);
  EXPECT_EQ(s.fetch_group_metadata("a").value(), group_metadata{});
  const auto lines = log.lines_with("group metadata record(s) in a format this broker cannot read");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_NE(lines[0].find("[warning]"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("2 group metadata record(s)"), std::string::npos) << lines[0];
  for (std::size_t i = 1; i < lines.size(); ++i)
    EXPECT_NE(lines[i].find("[debug]"), std::string::npos) << lines[i];
}

namespace {

// The log the compaction tests below start from: six batches of two records (0-1 to 10-11),
// with the running bytes a partition gives them.
std::error_code append_six_batches_of_two(redis_store& writer, const topic_partition& tp) {
  std::uint64_t end_bytes = 0;
  for (std::int64_t base = 0; base < 12; base += 2) {
    const auto frame = make_frame("x", 2);
    append_request r{&tp, base, 2, 100, protocol::shared_bytes::copy_of(frame)};
    r.end_bytes = end_bytes += frame.size();
    std::vector<std::error_code> results;
    writer.append({&r, 1}, results);
    if (results.at(0)) return results.at(0);
  }
  return {};
}

// Their plan for that log, read back as `all`: drop 0-1, keep 2-9 as they are; 10-11 after
// the range.
log_compaction plan_dropping_the_first_batch(const std::vector<stored_batch>& all) {
  log_compaction c;
  c.first_base = 0;
  c.end = 10;
  c.end_bytes = all[4].end_bytes;
  for (std::size_t i = 1; i < 5; ++i) c.batches.push_back(compacted_batch{all[i], false});
  return c;
}

}  // namespace

TEST(RedisStore, ACompactionThatFailsMidwayLeavesNoNewLogBehind) {
  test::redis_server server;
  ASSERT_TRUE(server.start());
  auto o = options_for(server);
  raw_redis raw{server.port()};
  ASSERT_NE(raw.c, nullptr);
  ASSERT_EQ(raw.c->err, 0);
  const topic_partition tp{"left", 0};
  redis_store writer{o};
  ASSERT_FALSE(append_six_batches_of_two(writer, tp));
  const auto all = writer.read(tp, 0, 1 << 20).value();
  ASSERT_EQ(all.size(), 6u);
  auto c = plan_dropping_the_first_batch(all);
  const auto key = writer.compacting_key(tp);
  auto options = o;
  options.compaction_step_entries = 1;
  // Between two steps the new log becomes something a stream command refuses: the next step's
  // script fails on the server, midway for all the broker knows.
  options.between_compaction_steps = [&](std::size_t step) {
    if (step != 2) return;
    raw.integer({"DEL", key});
    raw.integer({"SADD", key, "not a stream"});
  };
  redis_store store{options};
  auto failed = store.compact(tp, c);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error(), errc::storage_unavailable);
  EXPECT_EQ(raw.integer({"EXISTS", key}), 0) << "the new log was dropped";
  EXPECT_EQ(writer.read(tp, 0, 1 << 20)->size(), 6u) << "the log is as it was";
  // One left anyway (the connection lost with the server) goes with its topic.
  ASSERT_FALSE(writer.create_topic(topic_info{"left", 1, {}}));
  raw.integer({"XADD", key, "0-1", "f", "x"});
  ASSERT_EQ(raw.integer({"EXISTS", key}), 1);
  ASSERT_EQ(writer.delete_topic(topic_info{"left", 1, {}}).value(), topic_write::done);
  EXPECT_EQ(raw.integer({"EXISTS", key}), 0);
}

// A compaction of a partition started while another one of it runs (the reader that waited
// for the first gave up on it, or was started again) takes the partition over: the first
// one's next step finds the new log someone else's and stops, leaving the log as it was,
// though the new log's length is the one its own steps left (steps of one batch each).
TEST(RedisStore, ACompactionStartedMeanwhileMakesTheOneBeforeItStopWithoutTouchingTheLog) {
  test::redis_server server;
  ASSERT_TRUE(server.start());
  auto o = options_for(server);
  o.compaction_step_entries = 1;
  raw_redis raw{server.port()};
  ASSERT_NE(raw.c, nullptr);
  ASSERT_EQ(raw.c->err, 0);
  const topic_partition tp{"twice", 0};
  redis_store writer{o};
  ASSERT_FALSE(append_six_batches_of_two(writer, tp));
  const auto before = writer.read(tp, 0, 1 << 20).value();
  ASSERT_EQ(before.size(), 6u);
  auto first = plan_dropping_the_first_batch(before);
  // The second one writes 2-3 anew: a log mixed from the two would show it.
  auto second = first;
  second.batches[0].rewritten = true;
  second.batches[0].batch.frame = protocol::shared_bytes::copy_of(make_frame("y", 2));
  struct stopped_after_first_step {};
  auto second_options = o;
  second_options.between_compaction_steps = [](std::size_t) { throw stopped_after_first_step{}; };
  redis_store second_store{second_options};
  bool second_started = false;
  auto first_options = o;
  first_options.between_compaction_steps = [&](std::size_t step) {
    if (step != 1) return;
    EXPECT_THROW((void)second_store.compact(tp, second), stopped_after_first_step);
    second_started = true;
  };
  redis_store first_store{first_options};
  auto outcome = first_store.compact(tp, first);
  ASSERT_TRUE(second_started);
  ASSERT_FALSE(outcome) << "the first compaction finished over the second one's new log";
  EXPECT_EQ(outcome.error(), errc::offset_conflict);
  EXPECT_EQ(writer.read(tp, 0, 1 << 20).value(), before) << "the log is as it was";
  EXPECT_EQ(raw.integer({"XLEN", writer.compacting_key(tp)}), 1)
      << "the second one's new log is left to it";
  // A compaction started after them takes over what the second one left, and finishes.
  redis_store third{o};
  auto done = third.compact(tp, first);
  ASSERT_TRUE(done) << done.error().message();
  EXPECT_EQ(writer.read(tp, 0, 1 << 20).value(),
            std::vector<stored_batch>(before.begin() + 1, before.end()));
  EXPECT_EQ(raw.integer({"EXISTS", writer.compacting_key(tp)}), 0);
  EXPECT_EQ(raw.integer({"HEXISTS", writer.start_key(tp), "k"}), 0)
      << "no compaction is marked as building once it is done";
}

// A compaction that crashed, or whose node lost the partition's lease, leaves its new log (a
// whole copy of the partition) behind with its token: the next compaction's first step
// removes it, even when that step finds its plan no longer fits the log and goes no further.
TEST(RedisStore, ANewLogLeftBehindGoesWithTheNextCompactionThoughItsFirstStepFails) {
  test::redis_server server;
  ASSERT_TRUE(server.start());
  auto o = options_for(server);
  raw_redis raw{server.port()};
  ASSERT_NE(raw.c, nullptr);
  ASSERT_EQ(raw.c->err, 0);
  const topic_partition tp{"leftover", 0};
  redis_store writer{o};
  ASSERT_FALSE(append_six_batches_of_two(writer, tp));
  const auto all = writer.read(tp, 0, 1 << 20).value();
  ASSERT_EQ(all.size(), 6u);
  const auto key = writer.compacting_key(tp);
  const auto start = writer.start_key(tp);
  auto leave_behind = [&] {
    raw.integer({"XADD", key, "0-1", "f", "x"});
    raw.integer({"HSET", start, "k", "an earlier compaction's"});
    ASSERT_EQ(raw.integer({"EXISTS", key}), 1);
    ASSERT_EQ(raw.integer({"HEXISTS", start, "k"}), 1);
  };

  // Planned before a deletion moved the log's start: its first step answers CHANGED.
  auto stale = plan_dropping_the_first_batch(all);
  ASSERT_TRUE(writer.delete_records(tp, 2, ""));
  const auto after_delete = writer.read(tp, 0, 1 << 20).value();
  ASSERT_EQ(after_delete.size(), 5u);
  leave_behind();
  auto outcome = writer.compact(tp, stale);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error(), errc::offset_conflict);
  EXPECT_EQ(raw.integer({"EXISTS", key}), 0) << "the new log left behind went";
  EXPECT_EQ(raw.integer({"HEXISTS", start, "k"}), 0) << "no compaction is marked as building";
  EXPECT_EQ(writer.read(tp, 0, 1 << 20).value(), after_delete) << "the log is as it was";

  // A range up to the log's end (nothing after it): its first step answers EMPTIES.
  log_compaction whole;
  whole.first_base = 2;
  whole.end = 12;
  whole.end_bytes = all[5].end_bytes;
  for (std::size_t i = 2; i < 6; ++i) whole.batches.push_back(compacted_batch{all[i], false});
  leave_behind();
  outcome = writer.compact(tp, whole);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error(), errc::invalid_request);
  EXPECT_EQ(raw.integer({"EXISTS", key}), 0) << "the new log left behind went";
  EXPECT_EQ(raw.integer({"HEXISTS", start, "k"}), 0);
  EXPECT_EQ(writer.read(tp, 0, 1 << 20).value(), after_delete) << "the log is as it was";
}

// The deletion trims before it records the new start: a server that refuses the trim (here
// XTRIM renamed away, as a server without XTRIM MINID refuses it) leaves the start where it
// was, and a retry deletes again instead of answering that the start is there already.
TEST(RedisStore, ADeletionWhoseTrimIsRefusedLeavesTheStartWhereItWas) {
  test::redis_server server;
  ASSERT_TRUE(server.start({"--rename-command", "XTRIM", "portask-test-no-xtrim"}));
  redis_store s{options_for(server)};
  topic_partition tp{"trim", 0};
  const auto f = make_frame("x");
  for (std::int64_t base = 0; base < 3; ++base) {
    const auto appended = append_alone(s, tp, base, f);
    ASSERT_FALSE(appended) << appended.message();
  }
  auto refused = s.delete_records(tp, 2, "");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), errc::storage_unavailable);
  auto b = s.bounds(tp);
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(b->log_start, 0) << "no start recorded past batches still stored";
  EXPECT_EQ(b->next_offset, 3);
  auto again = s.delete_records(tp, 2, "");
  ASSERT_FALSE(again) << "tried again, not answered as done";
  EXPECT_EQ(again.error(), errc::storage_unavailable);
  EXPECT_EQ(s.read(tp, 0, 1 << 20).value().size(), 3u);
}
