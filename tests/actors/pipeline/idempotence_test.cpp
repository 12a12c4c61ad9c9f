// Idempotent producers against the real partition, writer and reader actors over a store that
// fails on command: a write the store executed but reported as failed, a write that never
// reached it, batches pipelined behind a failure, and a partition restarted over its store
// (also after its producer's batches were deleted).
// The store is the truth: every batch must end up stored exactly once.
#include <gtest/gtest.h>

#include <thread>

#include "actors/runtime/broker_context.hpp"
#include "actors/pipeline/partition.hpp"
#include "actors/pipeline/storage_actors.hpp"
#include "protocol/codec_manager.hpp"
#include "storage/memory_store.hpp"
#include "tests/mocks/faulty_store.hpp"

using namespace portask;
using namespace std::chrono_literals;
using portask::testing::faulty_store;

namespace {

constexpr std::int64_t producer_id = 4242;

framed_batch batch(std::int32_t first_seq, std::uint32_t records, std::int16_t epoch = 0) {
  protocol::message_batch mb;
  for (std::uint32_t i = 0; i < records; ++i) {
    protocol::message m;
    m.topic = "t";
    m.value = "seq-" + std::to_string(first_seq + static_cast<std::int32_t>(i));
    mb.messages.push_back(std::move(m));
  }
  protocol::buffer out;
  protocol::codec_manager codecs;
  EXPECT_FALSE(codecs.append_batch_frame(mb, {}, protocol::message_type::publish, out));
  return {protocol::shared_bytes::copy_of(out), records, 1000,
          producer_sequence{producer_id, epoch, first_seq,
                            storage::last_sequence(first_seq, records)}};
}

struct fixture {
  fixture() {
    configure_actor_system(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    auto factory = faulty_store::factory(memory_factory, control);
    ctx = std::make_shared<broker_context>(broker_config{}, factory, "memory");
    dir.writers = {
        spawn_storage_writer(*sys, factory, std::shared_ptr<metrics_registry>(ctx, &ctx->metrics))};
    dir.readers = {spawn_storage_reader(*sys, factory)};
    store = std::move(*memory_factory());
  }
  ~fixture() {
    caf::anon_send_exit(dir.writer_for({}), caf::exit_reason::user_shutdown);
    caf::anon_send_exit(dir.reader_for({}), caf::exit_reason::user_shutdown);
  }

  /// What a client does: sends the batch, and sends it again after each retriable error
  /// (paced like a client's retry backoff; bounded). The answer, or the final error.
  std::variant<publish_result, errc> publish(caf::scoped_actor& self, const partition_actor& p,
                                             const framed_batch& b) {
    for (int attempt = 0; attempt < 500; ++attempt) {
      std::variant<publish_result, errc> out = errc::internal;
      self->request(p, 10s, append_atom::value, b)
          .receive([&](publish_result& r) { out = r; },
                   [&](caf::error& e) { out = to_errc(e); });
      if (out.index() == 0 || !is_retriable(std::get<errc>(out))) return out;
      std::this_thread::sleep_for(10ms);
    }
    return errc::timeout;
  }

  /// Every stored batch's producer sequence range, in offset order.
  std::vector<std::pair<std::int32_t, std::int64_t>> stored() {
    std::vector<std::pair<std::int32_t, std::int64_t>> out;
    auto batches = store->read(tp, 0, 1 << 30);
    EXPECT_TRUE(batches);
    for (const auto& b : *batches) out.emplace_back(b.producer.base_sequence, b.base_offset);
    return out;
  }

  void stop(caf::scoped_actor& self, const partition_actor& p) {
    self->unlink_from(p);
    self->send_exit(p, caf::exit_reason::user_shutdown);
    self->wait_for(p);
    // What the partition asked the reader before it stopped (a producer snapshot) is done
    // once the reader answers a question sent after it.
    if (auto reader = dir.reader_for(tp))
      self->request(reader, caf::infinite, ping_atom::value)
          .receive([](bool) {}, [](const caf::error&) {});
  }

  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<faulty_store::control> control = std::make_shared<faulty_store::control>();
  storage::store_factory memory_factory = storage::memory_store::factory();
  std::shared_ptr<broker_context> ctx;
  actor_directory dir;  ///< the partitions' writer and reader
  std::unique_ptr<storage::log_store> store;
  topic_partition tp{"t", 0};
};

publish_result ok(const std::variant<publish_result, errc>& r) {
  EXPECT_EQ(r.index(), 0u) << (r.index() == 1 ? to_string(std::get<errc>(r)) : "");
  return r.index() == 0 ? std::get<publish_result>(r) : publish_result{};
}

}  // namespace

TEST(Idempotence, AWriteTheStoreExecutedButReportedAsFailedIsNotStoredTwice) {
  fixture f;
  caf::scoped_actor self{*f.sys};
  auto p = spawn_partition(self.ptr(), f.ctx, f.dir, f.tp);
  ok(f.publish(self, p, batch(0, 3)));
  f.control->arm(faulty_store::fault::execute_then_fail);
  // The client sees a retriable error, retries, and gets the offsets of the stored copy.
  auto r = ok(f.publish(self, p, batch(3, 2)));
  EXPECT_EQ(r.base_offset, 3);
  EXPECT_TRUE(r.duplicate) << "answered from the rebuilt window";
  ok(f.publish(self, p, batch(5, 1)));
  using v = std::vector<std::pair<std::int32_t, std::int64_t>>;
  EXPECT_EQ(f.stored(), (v{{0, 0}, {3, 3}, {5, 5}}));
  f.stop(self, p);
}

TEST(Idempotence, AWriteThatNeverReachedTheStoreIsStoredByItsRetry) {
  fixture f;
  caf::scoped_actor self{*f.sys};
  auto p = spawn_partition(self.ptr(), f.ctx, f.dir, f.tp);
  ok(f.publish(self, p, batch(0, 1)));
  f.control->arm(faulty_store::fault::fail_without_executing, 3);
  auto r = ok(f.publish(self, p, batch(1, 4)));
  EXPECT_EQ(r.base_offset, 1);
  EXPECT_FALSE(r.duplicate);
  using v = std::vector<std::pair<std::int32_t, std::int64_t>>;
  EXPECT_EQ(f.stored(), (v{{0, 0}, {1, 1}}));
  f.stop(self, p);
}

TEST(Idempotence, NothingIsStoredAfterAFailedBatchUntilItIsStored) {
  fixture f;
  caf::scoped_actor self{*f.sys};
  auto p = spawn_partition(self.ptr(), f.ctx, f.dir, f.tp);
  ok(f.publish(self, p, batch(0, 1)));
  f.control->arm(faulty_store::fault::fail_without_executing);
  // Five batches pipelined as a client does; the first write fails. Whatever the timing,
  // none after the failed one may be stored before it.
  for (std::int32_t s = 1; s <= 5; ++s) self->send(p, append_atom::value, batch(s, 1));
  int answers = 0;
  self->receive_for(answers, 5)([](publish_result&) {}, [](caf::error&) {});
  for (const auto& [seq, offset] : f.stored()) {
    (void)offset;
    EXPECT_EQ(seq, 0) << "a batch behind the failed one was stored";
  }
  // The client retries in order; each is stored once, in sequence order.
  for (std::int32_t s = 1; s <= 5; ++s) ok(f.publish(self, p, batch(s, 1)));
  using v = std::vector<std::pair<std::int32_t, std::int64_t>>;
  EXPECT_EQ(f.stored(), (v{{0, 0}, {1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 5}}));
  f.stop(self, p);
}

TEST(Idempotence, ARestartedPartitionRebuildsTheWindowFromTheStore) {
  fixture f;
  caf::scoped_actor self{*f.sys};
  auto p = spawn_partition(self.ptr(), f.ctx, f.dir, f.tp);
  // Enough batches for a producer snapshot, and some logged after it.
  const std::int32_t n = 620;
  for (std::int32_t s = 0; s < n; ++s) ok(f.publish(self, p, batch(s, 1)));
  f.stop(self, p);
  auto history = f.store->read_producer_history(f.tp);
  ASSERT_TRUE(history);
  EXPECT_GT(history->covers, 0) << "a snapshot was written";
  EXPECT_LT(history->batches.size(), static_cast<std::size_t>(n)) << "a rebuild reads less";

  auto q = spawn_partition(self.ptr(), f.ctx, f.dir, f.tp);
  auto r = ok(f.publish(self, q, batch(n - 1, 1)));
  EXPECT_TRUE(r.duplicate) << "the retry of the last stored batch after a restart";
  EXPECT_EQ(r.base_offset, n - 1);
  auto gap = f.publish(self, q, batch(n + 1, 1));
  ASSERT_EQ(gap.index(), 1u);
  EXPECT_EQ(std::get<errc>(gap), errc::out_of_order_sequence);
  EXPECT_EQ(ok(f.publish(self, q, batch(n, 1))).base_offset, n);
  auto zombie = f.publish(self, q, batch(0, 1, -1));
  ASSERT_EQ(zombie.index(), 1u);
  EXPECT_EQ(std::get<errc>(zombie), errc::invalid_producer_epoch) << "an older epoch is fenced";
  auto fresh = f.publish(self, q, framed_batch{batch(7, 1).frame, 1, 1000, {99, 0, 7, 7}});
  ASSERT_EQ(fresh.index(), 1u);
  EXPECT_EQ(std::get<errc>(fresh), errc::unknown_producer_id)
      << "a producer the partition holds nothing of must start at sequence 0";
  EXPECT_EQ(f.stored().size(), static_cast<std::size_t>(n + 1));
  f.stop(self, q);
}

// DeleteRecords (or retention) removing every batch of a producer leaves its state: the
// partition writes the producer snapshot before the store deletes, so a partition stopped
// without a word after it (as by a crash) rebuilds the producer, which goes on at its next
// sequence (Kafka keeps producer state past the log start until it expires, KIP-360).
TEST(Idempotence, AProducerWhoseBatchesWereAllDeletedGoesOnAfterARestart) {
  fixture f;
  caf::scoped_actor self{*f.sys};
  auto p = spawn_partition(self.ptr(), f.ctx, f.dir, f.tp);
  for (std::int32_t s = 0; s < 10; ++s) ok(f.publish(self, p, batch(s, 1)));
  auto delete_all = [&](const partition_actor& q) {
    std::int64_t log_start = -1;
    self->request(q, 10s, delete_atom::value, std::int64_t{-1})
        .receive([&](storage::partition_bounds& b) { log_start = b.log_start; },
                 [&](caf::error& e) { ADD_FAILURE() << "deletion: " << to_string(to_errc(e)); });
    return log_start;
  };
  EXPECT_EQ(delete_all(p), 10);
  EXPECT_EQ(ok(f.publish(self, p, batch(10, 1))).base_offset, 10);
  EXPECT_EQ(delete_all(p), 11);
  f.stop(self, p);

  auto q = spawn_partition(self.ptr(), f.ctx, f.dir, f.tp);
  auto again = ok(f.publish(self, q, batch(10, 1)));
  EXPECT_TRUE(again.duplicate) << "the resend of the last batch, deleted, is still recognised";
  EXPECT_EQ(again.base_offset, 10);
  EXPECT_EQ(again.log_start, 11) << "answered with the log start as it is now";
  EXPECT_EQ(ok(f.publish(self, q, batch(11, 1))).base_offset, 11) << "not an unknown producer";
  std::vector<producer_summary> producers;
  self->request(q, 10s, producer_atom::value)
      .receive([&](std::vector<producer_summary>& got) { producers = std::move(got); },
               [&](caf::error& e) { ADD_FAILURE() << "producers: " << to_string(to_errc(e)); });
  ASSERT_EQ(producers.size(), 1u);
  EXPECT_EQ(producers[0].id, producer_id);
  EXPECT_EQ(producers[0].last_sequence, 11);
  f.stop(self, q);
}
