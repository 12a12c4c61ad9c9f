// The retention actor's compactions, message by message on the deterministic scheduler: the
// real retention actor over a memory store, its plans made by one-shot workers it spawns,
// the partitions behind the mock bridge. A worker's plan stays outstanding for as long as
// the test does not run the worker.
#define CAF_SUITE dsl.retention

#include <map>
#include <set>

#include "actors/pipeline/retention.hpp"
#include "tests/actors/dsl/dsl_fixture.hpp"
#include "tests/mocks/mock_partition.hpp"

using namespace portask;
using namespace portask::testing;

namespace {

const storage::config_entries compacted{{"cleanup.policy", "compact"}};

struct retention_fixture : dsl_fixture {
  // Stores topic `name` with `partitions` partitions and `configs`.
  storage::topic_info create(const std::string& name, std::int32_t partitions,
                             const storage::config_entries& configs) {
    storage::topic_info t{name, partitions, configs, storage::new_topic_id()};
    CAF_REQUIRE(!store->create_topic(t));
    return t;
  }

  // Appends one batch of one record with key "k", stamped `timestamp_ms`, as a partition
  // would (running totals included), from `producer` if one is named.
  void append(const topic_partition& tp, const std::string& value, std::int64_t timestamp_ms,
              storage::batch_producer producer = {}) {
    protocol::message_batch batch;
    protocol::message m;
    m.topic = tp.topic;
    m.key = "k";
    m.value = value;
    m.timestamp_ms = timestamp_ms;
    batch.messages.push_back(std::move(m));
    protocol::buffer frame;
    CAF_REQUIRE(!ctx->codecs.append_batch_frame(batch, {}, protocol::message_type::publish, frame));
    auto& [next, end_bytes] = written[tp];
    end_bytes += frame.size();
    storage::append_request r{&tp, next, 1, timestamp_ms,
                              protocol::shared_bytes::adopt(std::move(frame)), producer};
    r.end_bytes = end_bytes;
    r.end_timestamp = timestamp_ms;
    std::vector<std::error_code> results;
    store->append({&r, 1}, results);
    CAF_REQUIRE(!results.at(0));
    ++next;
  }

  // Three records of one key: the first two go in a compaction (the newest batch stays).
  void three_of_one_key(const topic_partition& tp) {
    for (int i = 0; i < 3; ++i) append(tp, "v" + std::to_string(i), 1000 + i);
  }

  // Spawns the retention actor on the scheduler and runs its first pass.
  void start_retention() {
    retention = track(spawn_retention(sys, ctx, dir, false));
    run_retention();
  }

  // Runs the retention actor alone until its mailbox is empty: not the workers it spawned
  // nor the bridge it asked.
  void run_retention() {
    auto* job = dynamic_cast<caf::resumable*>(caf::actor_cast<caf::abstract_actor*>(retention));
    CAF_REQUIRE(job != nullptr);
    sched.run_jobs_filtered([job](caf::resumable* j) { return j == job; });
  }

  // The retention actor's next pass: its timer. The timeouts of requests it made before come
  // first when they are due earlier: CAF 0.17 keeps a request's timeout pending after the
  // answer came, and the actor drops it when it fires.
  void next_pass() {
    auto* owner = caf::actor_cast<caf::abstract_actor*>(retention);
    for (;;) {
      CAF_REQUIRE(sched.trigger_timeout());
      const auto* next = owner->peek_at_next_mailbox_element();
      const bool tick = next != nullptr && next->content().match_elements<tick_atom>();
      run_retention();
      if (tick) return;
    }
  }

  // The workers whose plan waits to be made: actors with the one-shot request (compact
  // alone) next in their mailbox.
  std::vector<caf::actor> waiting_plans() {
    std::vector<caf::actor> out;
    for (auto* job : sched.jobs) {
      auto* a = dynamic_cast<caf::abstract_actor*>(job);
      if (a == nullptr) continue;
      auto* next = a->peek_at_next_mailbox_element();
      if (next != nullptr && next->content().match_elements<compact_atom>())
        out.push_back(caf::actor_cast<caf::actor>(a));
    }
    return out;
  }

  std::unique_ptr<storage::log_store> store = ctx->store_factory().value();
  std::map<topic_partition, std::pair<std::int64_t, std::uint64_t>> written;  ///< next, bytes
  retention_actor retention;
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(retention_tests, retention_fixture)

CAF_TEST(a pass deletes from another topic while a plan is being made) {
  const topic_partition keyed{"keyed", 0}, old{"old", 0};
  create("keyed", 1, compacted);
  three_of_one_key(keyed);
  start_retention();
  auto plans = waiting_plans();
  CAF_REQUIRE_EQUAL(plans.size(), 1u);

  // A topic whose records are past its retention.ms, written while the plan is out.
  create("old", 1, {{"retention.ms", "1000"}});
  append(old, "a", 1000);
  append(old, "b", 1001);
  next_pass();
  bridge_script->delete_records.reply(storage::partition_bounds{2, 2});
  expect((delete_atom, topic_partition, std::int64_t),
         from(retention).to(bridge_mock).with(_, old, std::int64_t{2}));
  expect((storage::partition_bounds), from(bridge_mock).to(retention).with(_));
  // The partition being planned was not planned a second time.
  CAF_CHECK_EQUAL(waiting_plans().size(), 1u);
  CAF_CHECK_EQUAL(bridge_script->compact.count(), 0u);

  // The plan comes back and goes to the partition: offset 0 goes, 1 stays, 2 is the newest.
  bridge_script->compact.reply(storage::partition_bounds{0, 3});
  expect((compact_atom), from(retention).to(plans[0]));
  expect((bool), from(plans[0]).to(retention).with(true));
  expect((compact_atom, topic_partition, storage::log_compaction),
         from(retention).to(bridge_mock)
             .with(_, keyed, WHERE(storage::log_compaction, c,
                                   c.first_base == 0 && c.end == 2 && c.batches.size() == 1 &&
                                       c.batches[0].batch.base_offset == 1)));
  sched.run();
  CAF_CHECK_EQUAL(bridge_script->compact.count(), 1u);
  CAF_CHECK_EQUAL(bridge_script->delete_records.count(), 1u);
}

CAF_TEST(a plan for a topic deleted and made again meanwhile is dropped) {
  const topic_partition keyed{"keyed", 0};
  const auto first = create("keyed", 1, compacted);
  three_of_one_key(keyed);
  start_retention();
  CAF_REQUIRE_EQUAL(waiting_plans().size(), 1u);

  // Deleted and made again with the same records: the log the plan is made from fits a plan
  // for the first topic's log byte for byte, which the store alone would not tell apart.
  CAF_REQUIRE(store->delete_topic(first).value() == storage::topic_write::done);
  written.clear();
  create("keyed", 1, compacted);
  three_of_one_key(keyed);
  sched.run();
  CAF_CHECK_EQUAL(bridge_script->compact.count(), 0u);
  CAF_CHECK(waiting_plans().empty());

  // The new topic is compacted at the next pass, as any other.
  next_pass();
  CAF_REQUIRE_EQUAL(waiting_plans().size(), 1u);
  bridge_script->compact.reply(storage::partition_bounds{0, 3});
  sched.run();
  CAF_CHECK_EQUAL(bridge_script->compact.count(), 1u);
}

CAF_TEST(at most two partitions are planned or compacted at a time) {
  create("keyed", 3, compacted);
  for (std::int32_t p = 0; p < 3; ++p) three_of_one_key({"keyed", p});
  start_retention();
  auto plans = waiting_plans();
  CAF_REQUIRE_EQUAL(plans.size(), 2u);

  // One plan is made and its partition compacts: the slot stays taken until it is done.
  expect((compact_atom), from(retention).to(plans[0]));
  expect((bool), from(plans[0]).to(retention).with(true));
  CAF_CHECK_EQUAL(waiting_plans().size(), 1u);
  bridge_script->compact.reply(storage::partition_bounds{0, 3});
  expect((compact_atom, topic_partition, storage::log_compaction),
         from(retention).to(bridge_mock).with(_, _, _));
  expect((storage::partition_bounds), from(bridge_mock).to(retention).with(_));
  // Done: the third partition's plan starts, beside the second one still waiting.
  CAF_CHECK_EQUAL(waiting_plans().size(), 2u);

  bridge_script->compact.reply(storage::partition_bounds{0, 3});
  bridge_script->compact.reply(storage::partition_bounds{0, 3});
  sched.run();
  CAF_REQUIRE_EQUAL(bridge_script->compact.count(), 3u);
  std::set<std::int32_t> compacted_partitions;
  for (std::size_t i = 0; i < 3; ++i) compacted_partitions.insert(bridge_script->compact.arg(i).partition);
  CAF_CHECK(compacted_partitions == (std::set<std::int32_t>{0, 1, 2}));
}

CAF_TEST(a partition compacting at a pass is neither found due again nor kept from retention) {
  // Two partitions, so that both compactions' slots are taken at the second pass: a partition
  // queued then would be taken up the moment its own compaction ended.
  const storage::config_entries kept{{"cleanup.policy", "compact,delete"},
                                     {"retention.ms", "-1"},
                                     {"retention.bytes", "-1"}};
  const auto topic = create("both", 2, kept);
  for (std::int32_t p = 0; p < 2; ++p) three_of_one_key({"both", p});
  start_retention();
  auto plans = waiting_plans();
  CAF_REQUIRE_EQUAL(plans.size(), 2u);

  // While both are planned, their records (stamped 1000 on) come past retention.ms: the pass
  // leaves the logs being planned alone, and queues neither partition again.
  auto expiring = topic;
  expiring.configs = {{"cleanup.policy", "compact,delete"}, {"retention.ms", "1000"}};
  CAF_REQUIRE(store->update_topic(topic, expiring).value() == storage::topic_write::done);
  next_pass();
  CAF_CHECK_EQUAL(waiting_plans().size(), 2u);

  // The first partition does not carry its plan out: it waits compaction_retry_ms, and is not
  // planned again as its compaction ends.
  bridge_script->compact.fail(errc::not_ready);
  expect((compact_atom), from(retention).to(plans[0]));
  expect((bool), from(plans[0]).to(retention).with(true));
  expect((compact_atom, topic_partition, storage::log_compaction),
         from(retention).to(bridge_mock).with(_, _, _));
  run_retention();
  CAF_CHECK_EQUAL(waiting_plans().size(), 1u);

  // The second one is compacted: what is left dirty (its newest batch) does not make it due.
  bridge_script->compact.reply(storage::partition_bounds{0, 3});
  sched.run();
  CAF_CHECK_EQUAL(bridge_script->compact.count(), 2u);
  CAF_CHECK_EQUAL(bridge_script->delete_records.count(), 0u);
  CAF_CHECK(waiting_plans().empty());

  // The next pass has both delete their expired records, and plans neither.
  bridge_script->delete_records.reply(storage::partition_bounds{3, 3});
  bridge_script->delete_records.reply(storage::partition_bounds{3, 3});
  next_pass();
  expect((delete_atom, topic_partition, std::int64_t),
         from(retention).to(bridge_mock).with(_, _, std::int64_t{3}));
  expect((delete_atom, topic_partition, std::int64_t),
         from(retention).to(bridge_mock).with(_, _, std::int64_t{3}));
  run_retention();
  CAF_CHECK(waiting_plans().empty());
  CAF_REQUIRE_EQUAL(bridge_script->delete_records.count(), 2u);
  std::set<std::int32_t> trimmed;
  for (std::size_t i = 0; i < 2; ++i) trimmed.insert(bridge_script->delete_records.arg(i).partition);
  CAF_CHECK(trimmed == (std::set<std::int32_t>{0, 1}));
  sched.run();
  CAF_CHECK_EQUAL(bridge_script->compact.count(), 2u);
}

CAF_TEST(batches held back for want of a producer snapshot are compacted once one covers them) {
  // Three records of one key from an idempotent producer, and no producer snapshot yet: the
  // first plan keeps the first batch whole (a rebuild of the producer's window reads its
  // header), so it removes nothing, and counts the log up to the newest batch as clean.
  const topic_partition tp{"idempotent", 0};
  create("idempotent", 1, compacted);
  for (int i = 0; i < 3; ++i)
    append(tp, "v" + std::to_string(i), 1000 + i, storage::batch_producer{7, 0, i});
  start_retention();
  auto plans = waiting_plans();
  CAF_REQUIRE_EQUAL(plans.size(), 1u);
  expect((compact_atom), from(retention).to(plans[0]));
  expect((bool), from(plans[0]).to(retention).with(true));
  sched.run();
  CAF_CHECK_EQUAL(bridge_script->compact.count(), 0u);

  // Nothing is written any more, and the partition goes idle, writing its snapshot: the next
  // pass, the first to find it quiet, reads that snapshot and plans it, whatever
  // min.cleanable.dirty.ratio says (a third of the log is dirty), without asking the
  // partition for one; the first record goes.
  storage::producer_snapshot snapshot;
  snapshot.covers = 3;
  snapshot.batches = {{7, 0, 2, 2, 2, 1, 1000}};
  CAF_REQUIRE(!store->put_producer_snapshot(tp, snapshot, ""));
  bridge_script->compact.reply(storage::partition_bounds{0, 3});
  next_pass();
  plans = waiting_plans();
  CAF_REQUIRE_EQUAL(plans.size(), 1u);
  expect((compact_atom), from(retention).to(plans[0]));
  expect((bool), from(plans[0]).to(retention).with(true));
  expect((compact_atom, topic_partition, storage::log_compaction),
         from(retention).to(bridge_mock)
             .with(_, tp, WHERE(storage::log_compaction, c,
                                c.first_base == 0 && c.end == 2 && c.batches.size() == 1 &&
                                    c.batches[0].batch.base_offset == 1)));
  sched.run();
  CAF_CHECK_EQUAL(bridge_script->compact.count(), 1u);
  CAF_CHECK_EQUAL(registry_script->partition.count(), 0u);

  // Once: that plan held nothing back, so the quiet partition is not planned again.
  next_pass();
  CAF_CHECK(waiting_plans().empty());
  sched.run();
  CAF_CHECK_EQUAL(bridge_script->compact.count(), 1u);
}

CAF_TEST(a quiet partition that never goes idle is asked for the producer snapshot its held back batches wait for) {
  // As above, the first plan keeps the first batch whole for want of a producer snapshot. The
  // partition never goes idle (consumers' fetches keep it busy, or partition_idle_ms is 0),
  // so it writes no snapshot of its own accord: it writes one when asked.
  const topic_partition tp{"idempotent", 0};
  create("idempotent", 1, compacted);
  for (int i = 0; i < 3; ++i)
    append(tp, "v" + std::to_string(i), 1000 + i, storage::batch_producer{7, 0, i});
  auto partition_mock_script = std::make_shared<partition_script>();
  auto partition = track(spawn_mock_partition(sys, partition_mock_script));
  registry_script->partitions[tp] = partition;
  partition_mock_script->snapshot.reply(false);  // the store refuses the first
  partition_mock_script->snapshot.otherwise = [this, tp]() -> caf::expected<bool> {
    storage::producer_snapshot snapshot;
    snapshot.covers = 3;
    snapshot.batches = {{7, 0, 2, 2, 2, 1, 1000}};
    CAF_CHECK(!store->put_producer_snapshot(tp, snapshot, ""));
    return true;
  };
  start_retention();
  auto plans = waiting_plans();
  CAF_REQUIRE_EQUAL(plans.size(), 1u);
  expect((compact_atom), from(retention).to(plans[0]));
  expect((bool), from(plans[0]).to(retention).with(true));
  sched.run();
  CAF_CHECK_EQUAL(bridge_script->compact.count(), 0u);

  // The first pass to find it quiet reads no snapshot that covers the batch, and asks the
  // partition (through the registry) to store its producers: refused, nothing is planned.
  next_pass();
  expect((partition_atom, topic_partition, bool), from(retention).to(registry).with(_, tp, false));
  expect((partition_actor), from(registry).to(retention).with(partition));
  expect((snapshot_atom), from(retention).to(partition));
  expect((bool), from(partition).to(retention).with(false));
  CAF_CHECK(waiting_plans().empty());

  // The next pass asks again; once the snapshot is stored, the partition is planned at once,
  // whatever min.cleanable.dirty.ratio says, and the first record goes.
  bridge_script->compact.reply(storage::partition_bounds{0, 3});
  next_pass();
  expect((partition_atom, topic_partition, bool), from(retention).to(registry).with(_, tp, false));
  expect((partition_actor), from(registry).to(retention).with(partition));
  expect((snapshot_atom), from(retention).to(partition));
  expect((bool), from(partition).to(retention).with(true));
  plans = waiting_plans();
  CAF_REQUIRE_EQUAL(plans.size(), 1u);
  expect((compact_atom), from(retention).to(plans[0]));
  expect((bool), from(plans[0]).to(retention).with(true));
  expect((compact_atom, topic_partition, storage::log_compaction),
         from(retention).to(bridge_mock)
             .with(_, tp, WHERE(storage::log_compaction, c,
                                c.first_base == 0 && c.end == 2 && c.batches.size() == 1 &&
                                    c.batches[0].batch.base_offset == 1)));
  sched.run();
  CAF_CHECK_EQUAL(bridge_script->compact.count(), 1u);

  // Nothing is held back any more: the next pass neither plans it nor asks for a snapshot.
  next_pass();
  sched.run();
  CAF_CHECK(waiting_plans().empty());
  CAF_CHECK_EQUAL(bridge_script->compact.count(), 1u);
  CAF_CHECK_EQUAL(partition_mock_script->snapshot.count(), 2u);
}

CAF_TEST_FIXTURE_SCOPE_END()
