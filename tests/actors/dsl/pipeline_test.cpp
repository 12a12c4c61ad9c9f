// The publish and fetch paths, message by message on the deterministic scheduler: the real
// protocol_bridge and partition between mock registry, writer and reader (tests/mocks).
#define CAF_SUITE dsl.pipeline

#include <algorithm>

#include "actors/connections/transport/long_polls.hpp"
#include "actors/pipeline/hooks.hpp"
#include "actors/pipeline/partition.hpp"
#include "actors/pipeline/protocol_bridge.hpp"
#include "actors/pipeline/wall_clock.hpp"
#include "log_capture.hpp"
#include "logging/loggers.hpp"
#include "tests/actors/dsl/dsl_fixture.hpp"
#include "tests/mocks/mock_cluster.hpp"
#include "tests/mocks/mock_hooks.hpp"
#include "tests/mocks/mock_partition.hpp"

using namespace portask;
using namespace portask::testing;

namespace {

const topic_partition orders{"orders", 0};

// The base offsets of an append_set's batches.
std::vector<std::int64_t> base_offsets(const append_set& set) {
  std::vector<std::int64_t> out;
  for (const auto& b : set.batches) out.push_back(b.base_offset);
  return out;
}

// One record of idempotent producer 7 (epoch 0) at sequence `seq`, in `bytes` bytes.
framed_batch idempotent(std::int32_t seq, std::size_t bytes = 100) {
  return {protocol::shared_bytes::copy_of(protocol::buffer(bytes, 0x42)), 1, 1000,
          producer_sequence{7, 0, seq, seq}};
}

struct pipeline_fixture : dsl_fixture {
  pipeline_fixture() {
    bridge = track(spawn_protocol_bridge(sys, ctx, dir));
    sched.run();
  }

  // Spawns the partition of `tp` and walks it through its start: it asks the reader to
  // recover, and the reader answers that the store ends at `next_offset`. The producer
  // history covers the whole log, so the partition writes no snapshot.
  partition_actor start_partition(const topic_partition& tp, std::int64_t next_offset) {
    reader_script->recover.reply({{0, next_offset}, {next_offset, {}}});
    auto p = spawn_partition(self.ptr(), ctx, dir, tp);
    self->unlink_from(p);  // its life is the test's, not the scoped actor's
    track(p);
    registry_script->partitions[tp] = p;
    CAF_REQUIRE(sched.prioritize(p));
    sched.run_once();  // initialization: the partition asks for its bounds
    expect((recover_atom, topic_partition), from(p).to(reader).with(_, tp));
    expect((partition_recovery), from(reader).to(p).with(_));
    CAF_REQUIRE(!sched.has_job());
    return p;
  }

  // Spawns a partition of orders over an empty log, with the topic's `rules` and `owner`.
  partition_actor empty_partition(std::shared_ptr<const topic_write_rules> rules = {},
                                  topic_registry_actor owner = {}) {
    reader_script->recover.reply({{0, 0}, {0, {}}});
    auto p = spawn_partition(self.ptr(), ctx, dir, orders, {}, std::move(owner), std::move(rules));
    self->unlink_from(p);
    track(p);
    sched.run();
    return p;
  }

  // Appends `b` to `p` straight and lets everything run: the answer waits in self's mailbox.
  void append_to(const partition_actor& p, framed_batch b) {
    self->request(p, caf::infinite, append_atom::value, std::move(b));
    sched.run();
  }

  // Sends a long poll of `tp` at `offset` through the bridge, which looks the partition `p`
  // up (the first request for it) and parks the poll there.
  void park_fetch(const topic_partition& tp, const partition_actor& p, std::int64_t offset,
                  std::uint64_t poll_id) {
    fetch_request req;
    req.tp = tp;
    req.offset = offset;
    req.max_wait_ms = 30000;
    req.poll_id = poll_id;
    self->request(bridge, caf::infinite, fetch_atom::value, req);
    expect((fetch_atom, fetch_request), from(self).to(bridge).with(_, _));
    expect((partition_atom, topic_partition, bool), from(bridge).to(registry).with(_, tp, false));
    expect((partition_actor), from(registry).to(bridge).with(p));
    expect((fetch_atom, fetch_request), from(bridge).to(p).with(_, _));
  }

  // Starts the partition of `orders` at offset 5 and publishes one record to it through the
  // bridge, which looks the partition up (the first publish to it); the partition hands the
  // write to the writer, whose job is not run, and is retired for `reason` meanwhile.
  partition_actor retired_with_a_write_at_the_writer(errc reason) {
    auto p = start_partition(orders, 5);
    self->request(bridge, caf::infinite, publish_atom::value, records(orders, 1));
    expect((publish_atom, publish_batch), from(self).to(bridge).with(_, _));
    expect((partition_atom, topic_partition, bool), from(bridge).to(registry).with(_, orders, true));
    expect((partition_actor), from(registry).to(bridge).with(p));
    expect((append_atom, framed_batch), from(bridge).to(p).with(_, _));
    caf::anon_send(p, retire_atom::value, reason);
    expect((retire_atom, errc), from(_).to(p).with(_, reason));
    return p;
  }

  // The partition `p` and the bridge handle what the clock sent them (ticks, stale request
  // timeouts), up to 16 messages each; the writer's jobs are not run.
  void run_partition_and_bridge(const partition_actor& p) {
    for (int i = 0; i < 16 && sched.prioritize(p); ++i) sched.run_once();
    for (int i = 0; i < 16 && sched.prioritize(bridge); ++i) sched.run_once();
  }

  protocol_bridge_actor bridge;
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(pipeline_tests, pipeline_fixture)

CAF_TEST(a publish goes bridge to partition to writer and its offsets back to the sender) {
  auto p = start_partition(orders, 5);
  self->request(bridge, caf::infinite, publish_atom::value, records(orders, 3));
  expect((publish_atom, publish_batch), from(self).to(bridge).with(_, _));
  // First publish to this partition: the bridge asks the registry for its actor.
  expect((partition_atom, topic_partition, bool), from(bridge).to(registry).with(_, orders, true));
  expect((partition_actor), from(registry).to(bridge).with(p));
  expect((append_atom, framed_batch),
         from(bridge).to(p).with(
             _, WHERE(framed_batch, b, b.record_count == 3 && b.frame.size() > 0)));
  expect((append_atom, append_set),
         from(p).to(writer).with(
             _, WHERE(append_set, s,
                      s.tp == orders && base_offsets(s) == std::vector<std::int64_t>{5})));
  expect((append_outcome), from(writer).to(p).with(_));
  expect((publish_result),
         from(p).to(bridge).with(
             WHERE(publish_result, r, r.partition == 0 && r.base_offset == 5 && r.count == 3)));
  expect((publish_result),
         from(bridge).to(self).with(
             WHERE(publish_result, r, r.base_offset == 5 && r.count == 3 && !r.duplicate)));
  CAF_CHECK(!sched.has_job());
  CAF_CHECK_EQUAL(writer_script->append.count(), 1u);
}

CAF_TEST(a burst of publishes reaches each partition as one group and is answered in order) {
  const topic_partition orders1{"orders", 1};
  auto p0 = start_partition(orders, 5);
  auto p1 = start_partition(orders1, 0);
  auto internal = records({"__consumer_offsets", 0}, 1);  // clients may not write it
  std::vector<publish_batch> burst{records(orders, 2), records(orders1, 1), records(orders, 1),
                                   internal};
  self->request(bridge, caf::infinite, publish_atom::value, burst);
  expect((publish_atom, std::vector<publish_batch>), from(self).to(bridge).with(_, _));
  expect((partition_atom, topic_partition, bool), from(bridge).to(registry).with(_, orders, true));
  expect((partition_atom, topic_partition, bool), from(bridge).to(registry).with(_, orders1, true));
  expect((partition_actor), from(registry).to(bridge).with(p0));
  // orders/0's two batches travel together, in the order they came.
  expect((append_atom, std::vector<framed_batch>),
         from(bridge).to(p0).with(_, WHERE(std::vector<framed_batch>, g,
                                           g.size() == 2 && g[0].record_count == 2 &&
                                               g[1].record_count == 1)));
  expect((partition_actor), from(registry).to(bridge).with(p1));
  expect((append_atom, framed_batch),
         from(bridge).to(p1).with(_, WHERE(framed_batch, b, b.record_count == 1)));
  // The partitions write as always (the first batch at once, what queued behind it in the
  // next round); orders/0 answers its group when both are stored.
  sched.run();
  CAF_REQUIRE_EQUAL(writer_script->append.count(), 3u);
  std::vector<std::vector<std::int64_t>> writes;
  for (std::size_t i = 0; i < 3; ++i) writes.push_back(base_offsets(writer_script->append.arg(i)));
  std::sort(writes.begin(), writes.end());
  CAF_CHECK_EQUAL(writes, (std::vector<std::vector<std::int64_t>>{{0}, {5}, {7}}));
  expect((std::vector<publish_reply>),
         from(bridge).to(self).with(WHERE(
             std::vector<publish_reply>, r,
             r.size() == 4 && r[0].error == errc::ok && r[0].result.base_offset == 5 &&
                 r[0].result.count == 2 && r[1].error == errc::ok && r[1].result.partition == 1 &&
                 r[1].result.base_offset == 0 && r[2].error == errc::ok &&
                 r[2].result.base_offset == 7 && r[2].result.count == 1 &&
                 r[3].error == errc::invalid_request)));
  CAF_CHECK(!sched.has_job());
  CAF_CHECK_EQUAL(ctx->metrics.messages_in_total(protocol_kind::portask), 4u);
}

CAF_TEST(a failed write is a retriable error and the partition recovers from the store) {
  auto p = start_partition(orders, 5);
  writer_script->append.fail(errc::storage_unavailable);
  self->request(bridge, caf::infinite, publish_atom::value, records(orders, 3));
  expect((publish_atom, publish_batch), from(self).to(bridge).with(_, _));
  expect((partition_atom, topic_partition, bool), from(bridge).to(registry).with(_, orders, true));
  expect((partition_actor), from(registry).to(bridge).with(p));
  expect((append_atom, framed_batch), from(bridge).to(p).with(_, _));
  expect((append_atom, append_set), from(p).to(writer).with(_, _));
  expect((caf::error), from(writer).to(p).with(make_caf_error(errc::storage_unavailable)));
  // Whether the writer stored the set is unknown: the producer hears "timeout" (retry), and
  // the partition re-reads its bounds before it hands out another offset.
  expect((caf::error), from(p).to(bridge).with(make_caf_error(errc::timeout)));
  expect((caf::error), from(bridge).to(self).with(make_caf_error(errc::timeout)));
  CAF_CHECK(is_retriable(errc::timeout));
  // The store did keep the batch (offsets 5-7): the partition continues after it.
  reader_script->recover.reply({{0, 8}, {8, {}}});
  expect((recover_atom, topic_partition), from(p).to(reader).with(_, orders));
  expect((partition_recovery), from(reader).to(p).with(_));
  CAF_CHECK(!sched.has_job());
  // The next publish succeeds; the bridge still knows the partition (no registry lookup).
  self->request(bridge, caf::infinite, publish_atom::value, records(orders, 2));
  expect((publish_atom, publish_batch), from(self).to(bridge).with(_, _));
  expect((append_atom, framed_batch), from(bridge).to(p).with(_, _));
  expect((append_atom, append_set),
         from(p).to(writer).with(
             _, WHERE(append_set, s, base_offsets(s) == std::vector<std::int64_t>{8})));
  expect((append_outcome), from(writer).to(p).with(_));
  expect((publish_result), from(p).to(bridge).with(WHERE(publish_result, r, r.base_offset == 8)));
  expect((publish_result),
         from(bridge).to(self).with(WHERE(publish_result, r, r.base_offset == 8 && r.count == 2)));
  CAF_CHECK(!sched.has_job());
  CAF_CHECK_EQUAL(reader_script->recover.count(), 2u);
}

CAF_TEST(a partition whose store stays down warns of its first failed recovery only and says when it recovers) {
  // Each partition retries every 50 ms to 2 s while the store is down: one warning each, not
  // one per attempt.
  log_capture log(logging::pipeline(), spdlog::level::debug, 64);
  for (int i = 0; i < 4; ++i) reader_script->recover.fail(errc::storage_unavailable);
  reader_script->recover.reply({{0, 5}, {5, {}}});
  auto p = spawn_partition(self.ptr(), ctx, dir, orders);
  self->unlink_from(p);
  track(p);
  sched.run();
  for (int i = 0; i < 4; ++i) {
    sched.advance_time(std::chrono::seconds(2));  // past the retry's backoff, at most 2 s
    sched.run();
  }
  CAF_CHECK_EQUAL(reader_script->recover.count(), 5u);
  const auto failed = log.lines_with("partition orders/0: recovery failed");
  CAF_REQUIRE_EQUAL(failed.size(), 4u);
  CAF_CHECK(failed[0].find("[warning]") != std::string::npos);
  for (std::size_t i = 1; i < failed.size(); ++i) CAF_CHECK(failed[i].find("[debug]") != std::string::npos);
  const auto recovered = log.lines_with("partition orders/0: recovered after 4 failed attempt(s)");
  CAF_REQUIRE_EQUAL(recovered.size(), 1u);
  CAF_CHECK(recovered[0].find("[info]") != std::string::npos);
}

CAF_TEST(a long poll parks in the partition until an append wakes it) {
  auto p = start_partition(orders, 5);
  fetch_request req;
  req.tp = orders;
  req.offset = 5;  // the high watermark: nothing to read yet
  req.max_wait_ms = 500;
  self->request(bridge, caf::infinite, fetch_atom::value, req);
  expect((fetch_atom, fetch_request), from(self).to(bridge).with(_, _));
  expect((partition_atom, topic_partition, bool), from(bridge).to(registry).with(_, orders, false));
  expect((partition_actor), from(registry).to(bridge).with(p));
  expect(
      (fetch_atom, fetch_request),
      from(bridge).to(p).with(_, WHERE(fetch_request, f, f.offset == 5 && f.max_wait_ms == 500)));
  // Parked: no answer, nothing in flight, only its timer (and request timeouts) pending.
  disallow((fetch_result), from(p).to(bridge));
  CAF_CHECK(!sched.has_job());
  CAF_CHECK(sched.has_pending_timeout());
  self->request(bridge, caf::infinite, publish_atom::value, records(orders, 2));
  expect((publish_atom, publish_batch), from(self).to(bridge).with(_, _));
  expect((append_atom, framed_batch), from(bridge).to(p).with(_, _));
  expect((append_atom, append_set), from(p).to(writer).with(_, _));
  const auto stored = writer_script->append.arg(0).batches.at(0).frame;
  expect((append_outcome), from(writer).to(p).with(_));
  // The acknowledged write answers its producer, then the parked fetch, with the new batch.
  expect((publish_result), from(p).to(bridge).with(WHERE(publish_result, r, r.base_offset == 5)));
  auto has_new_batch =
      WHERE(fetch_result, r,
            r.high_watermark == 7 && r.batches.size() == 1 && r.batches[0].base_offset == 5 &&
                r.batches[0].record_count == 2 && r.batches[0].frame == stored);
  expect((fetch_result), from(p).to(bridge).with(has_new_batch));
  expect((publish_result),
         from(bridge).to(self).with(WHERE(publish_result, r, r.base_offset == 5)));
  expect((fetch_result), from(bridge).to(self).with(has_new_batch));
  CAF_CHECK(!sched.has_job());
  // The fetch's timer still fires (the earliest timer), and finds nothing parked.
  CAF_REQUIRE(sched.trigger_timeout());
  expect((expire_atom, std::uint64_t), from(p).to(p).with(_, _));
  disallow((fetch_result), from(p).to(bridge));
  CAF_CHECK(!sched.has_job());
}

CAF_TEST(a cancelled long poll is answered at once and empty) {
  auto p = start_partition(orders, 5);
  park_fetch(orders, p, 5, 77);
  CAF_CHECK_EQUAL(ctx->metrics.fetches_waiting(), 1);
  // Its connection no longer wants it (answered by another partition, or closed).
  caf::anon_send(bridge, cancel_atom::value, orders, std::uint64_t{77});
  expect((cancel_atom, topic_partition, std::uint64_t), from(_).to(bridge).with(_, orders, 77u));
  expect((cancel_atom, std::uint64_t), from(bridge).to(p).with(_, 77u));
  auto empty = WHERE(fetch_result, r, r.batches.empty() && r.high_watermark == 5);
  expect((fetch_result), from(p).to(bridge).with(empty));
  expect((fetch_result), from(bridge).to(self).with(empty));
  CAF_CHECK_EQUAL(ctx->metrics.fetches_waiting(), 0);
  // Data arriving later wakes nobody: the append is answered to its producer only.
  self->request(bridge, caf::infinite, publish_atom::value, records(orders, 1));
  expect((publish_atom, publish_batch), from(self).to(bridge).with(_, _));
  expect((append_atom, framed_batch), from(bridge).to(p).with(_, _));
  expect((append_atom, append_set), from(p).to(writer).with(_, _));
  expect((append_outcome), from(writer).to(p).with(_));
  expect((publish_result), from(p).to(bridge).with(_));
  expect((publish_result), from(bridge).to(self).with(_));
  disallow((fetch_result), from(p).to(bridge));
  CAF_CHECK(!sched.has_job());
}

CAF_TEST(a restarted bridge forwards a cancel for a poll parked through its predecessor) {
  auto p = start_partition(orders, 5);
  park_fetch(orders, p, 5, 78);
  // The supervisor replaced the bridge: the new one has never seen this partition.
  auto restarted = track(spawn_protocol_bridge(sys, ctx, dir));
  sched.run();
  caf::anon_send(restarted, cancel_atom::value, orders, std::uint64_t{78});
  expect((cancel_atom, topic_partition, std::uint64_t), from(_).to(restarted).with(_, orders, 78u));
  // It asks the registry to pass the cancel on (to a running partition only: a stopped one
  // holds no poll, and is not started for a cancel).
  expect((cancel_atom, topic_partition, std::uint64_t),
         from(restarted).to(registry).with(_, orders, 78u));
  expect((cancel_atom, std::uint64_t), from(registry).to(p).with(_, 78u));
  auto empty = WHERE(fetch_result, r, r.batches.empty() && r.high_watermark == 5);
  expect((fetch_result), from(p).to(bridge).with(empty));
  expect((fetch_result), from(bridge).to(self).with(empty));
  CAF_CHECK_EQUAL(ctx->metrics.fetches_waiting(), 0);
  CAF_CHECK(!sched.has_job());
}

CAF_TEST(a connection that closes cancels every poll it parked and each is answered empty) {
  const topic_partition other{"orders", 1};
  auto p = start_partition(orders, 5);
  auto q = start_partition(other, 3);
  dir.bridges = {bridge};    // the connection's polls go through the real bridge
  long_polls polls(ctx, dir);  // what a Kafka or native connection keeps; closed_atom cancels all
  park_fetch(orders, p, 5, polls.open(orders));
  park_fetch(other, q, 3, polls.open(other));
  CAF_CHECK_EQUAL(ctx->metrics.fetches_waiting(), 2);
  CAF_CHECK(!sched.has_job());
  polls.cancel_all();  // the client went away
  CAF_CHECK_EQUAL(polls.size(), 0u);
  sched.run();  // cancels to the bridge, on to both partitions, their answers back
  CAF_CHECK_EQUAL(ctx->metrics.fetches_waiting(), 0);
  auto empty = WHERE(fetch_result, r, r.batches.empty());
  expect((fetch_result), from(bridge).to(self).with(empty));
  expect((fetch_result), from(bridge).to(self).with(empty));
  // Their timers later find nothing parked (bounded: other timers may re-arm).
  for (int i = 0; i < 8 && sched.trigger_timeout(); ++i) sched.run();
  disallow((fetch_result), from(bridge).to(self));
}

CAF_TEST(a retired partition finishes the write it has in flight then refuses the rest and stops) {
  auto p = start_partition(orders, 5);
  park_fetch(orders, p, 5, 91);
  // Publish A is in flight to the store; publish B waits in the partition behind it.
  self->request(bridge, caf::infinite, publish_atom::value, records(orders, 3));
  expect((publish_atom, publish_batch), from(self).to(bridge).with(_, _));
  expect((append_atom, framed_batch), from(bridge).to(p).with(_, _));
  self->request(bridge, caf::infinite, publish_atom::value, records(orders, 1));
  expect((publish_atom, publish_batch), from(self).to(bridge).with(_, _));
  expect((append_atom, framed_batch), from(bridge).to(p).with(_, _));
  // The registry retires the partition: this node's lease on it is gone.
  caf::anon_send(p, retire_atom::value, errc::not_leader);
  expect((retire_atom, errc), from(_).to(p).with(_, errc::not_leader));
  // B, never sent to the store, and the parked fetch hear it at once.
  const auto not_leader = make_caf_error(errc::not_leader);
  expect((caf::error), from(p).to(bridge).with(not_leader));
  expect((caf::error), from(p).to(bridge).with(not_leader));
  expect((caf::error), from(bridge).to(self).with(not_leader));
  expect((caf::error), from(bridge).to(self).with(not_leader));
  CAF_CHECK_EQUAL(ctx->metrics.fetches_waiting(), 0);
  // The bridge forgot the retiring partition. Publish C waits until A, still out to it, is
  // back (a publish the stopping actor bounced would be sent again before C), then asks
  // the registry, which says who leads now (not this node).
  registry_script->partition.fail(errc::not_leader);
  self->request(bridge, caf::infinite, publish_atom::value, records(orders, 1));
  expect((publish_atom, publish_batch), from(self).to(bridge).with(_, _));
  CAF_CHECK(!sched.prioritize(registry));
  // A's write reaches the store while the lease there is still this node's: it is stored,
  // and its producer hears so (not "unknown whether stored"). Then the partition stops.
  expect((append_atom, append_set),
         from(p).to(writer).with(
             _, WHERE(append_set, s, base_offsets(s) == std::vector<std::int64_t>{5})));
  expect((append_outcome), from(writer).to(p).with(_));
  expect((publish_result), from(p).to(bridge).with(WHERE(publish_result, r, r.base_offset == 5)));
  expect((publish_result),
         from(bridge).to(self).with(WHERE(publish_result, r, r.base_offset == 5 && r.count == 3)));
  expect((caf::down_msg),
         from(_).to(bridge).with(WHERE(caf::down_msg, d, d.source == p.address())));
  expect((partition_atom, topic_partition, bool), from(bridge).to(registry).with(_, orders, true));
  expect((caf::error), from(registry).to(bridge).with(not_leader));
  expect((caf::error), from(bridge).to(self).with(not_leader));
  CAF_CHECK_EQUAL(writer_script->append.count(), 1u);
  CAF_CHECK(!sched.has_job());
}

CAF_TEST(a write in flight when its topic is deleted answers what the store did and a retired partition with nothing in flight stops at once) {
  auto p = start_partition(orders, 5);
  // The store refuses the write: another node holds the lease there.
  writer_script->append.reply(append_outcome{{errc::not_leader}});
  self->request(bridge, caf::infinite, publish_atom::value, records(orders, 2));
  expect((publish_atom, publish_batch), from(self).to(bridge).with(_, _));
  expect((partition_atom, topic_partition, bool), from(bridge).to(registry).with(_, orders, true));
  expect((partition_actor), from(registry).to(bridge).with(p));
  expect((append_atom, framed_batch), from(bridge).to(p).with(_, _));
  // Retired because its topic was deleted; the write's producer hears the store's answer.
  caf::anon_send(p, retire_atom::value, errc::unknown_topic);
  expect((retire_atom, errc), from(_).to(p).with(_, errc::unknown_topic));
  expect((append_atom, append_set), from(p).to(writer).with(_, _));
  expect((append_outcome), from(writer).to(p).with(_));
  const auto not_leader = make_caf_error(errc::not_leader);
  expect((caf::error), from(p).to(bridge).with(not_leader));
  expect((caf::error), from(bridge).to(self).with(not_leader));
  expect((caf::down_msg),
         from(_).to(bridge).with(WHERE(caf::down_msg, d, d.source == p.address())));
  CAF_CHECK(!sched.has_job());
  // A partition with nothing in flight stops on the retire itself.
  auto q = start_partition({"orders", 1}, 0);
  self->monitor(q);
  caf::anon_send(q, retire_atom::value, errc::unknown_topic);
  expect((retire_atom, errc), from(_).to(q).with(_, errc::unknown_topic));
  expect((caf::down_msg), from(_).to(self).with(WHERE(caf::down_msg, d, d.source == q.address())));
  CAF_CHECK(!sched.has_job());
}

CAF_TEST(a retired partition answers the fetch whose store read is out and then stops) {
  auto p = start_partition(orders, 5);
  // Offset 0 is older than anything in the tail: the partition reads it from the store.
  storage::stored_batch old;
  old.base_offset = 0;
  old.record_count = 5;
  reader_script->read.reply({old});
  fetch_request req;
  req.tp = orders;
  req.offset = 0;
  req.max_bytes = 1 << 20;
  self->request(bridge, caf::infinite, fetch_atom::value, req);
  expect((fetch_atom, fetch_request), from(self).to(bridge).with(_, _));
  expect((partition_atom, topic_partition, bool), from(bridge).to(registry).with(_, orders, false));
  expect((partition_actor), from(registry).to(bridge).with(p));
  expect((fetch_atom, fetch_request), from(bridge).to(p).with(_, _));
  // Retired while its read is at the store: it waits for the answer, and passes it on.
  caf::anon_send(p, retire_atom::value, errc::not_leader);
  expect((retire_atom, errc), from(_).to(p).with(_, errc::not_leader));
  expect((read_atom, topic_partition, std::int64_t, std::uint32_t),
         from(p).to(reader).with(_, orders, 0, _));
  expect((std::vector<storage::stored_batch>), from(reader).to(p).with(_));
  auto the_old_batch = WHERE(fetch_result, r, r.batches.size() == 1 && r.batches[0].record_count == 5);
  expect((fetch_result), from(p).to(bridge).with(the_old_batch));
  expect((fetch_result), from(bridge).to(self).with(the_old_batch));
  expect((caf::down_msg),
         from(_).to(bridge).with(WHERE(caf::down_msg, d, d.source == p.address())));
  CAF_CHECK(!sched.has_job());
}

CAF_TEST(a partition nobody wrote or read for a while gives its tail back and reads older batches from the store) {
  using std::chrono::seconds;
  auto p = start_partition(orders, 0);
  auto publish = [&] {
    self->request(bridge, caf::infinite, publish_atom::value, records(orders, 3));
    sched.run();
    expect((publish_result), from(bridge).to(self).with(_));
  };
  auto fetch = [&](std::int64_t offset) {
    fetch_request req;
    req.tp = orders;
    req.offset = offset;
    req.max_bytes = 1 << 20;
    self->request(bridge, caf::infinite, fetch_atom::value, req);
  };
  publish();
  publish();  // the tail holds offsets 0-2 and 3-5
  const auto full = ctx->tails.bytes();
  CAF_CHECK_GREATER(full, 0u);
  CAF_CHECK_EQUAL(ctx->tails.warm_partitions(), 1u);
  // A read 29 s on keeps it warm: 30 s after the writes, its timer finds it was used since.
  sched.advance_time(seconds(29));
  sched.run();
  fetch(0);
  sched.run();
  expect((fetch_result), from(bridge).to(self).with(WHERE(fetch_result, r, r.batches.size() == 2)));
  CAF_CHECK_EQUAL(reader_script->read.count(), 0u);
  sched.advance_time(seconds(1));
  sched.run();
  CAF_CHECK_EQUAL(ctx->tails.bytes(), full);
  CAF_CHECK_EQUAL(ctx->tails.warm_partitions(), 1u);
  // 30 s after that read, it cools: its tail is given back, the partition still runs.
  sched.advance_time(seconds(29));
  sched.run();
  CAF_CHECK_EQUAL(ctx->tails.warm_partitions(), 0u);
  CAF_CHECK_EQUAL(ctx->tails.partitions(), 1u);
  CAF_CHECK_EQUAL(ctx->tails.bytes(), 0u);
  // What it gave back is read from the store; a read does not warm it again.
  storage::stored_batch old;
  old.base_offset = 3;
  old.record_count = 3;
  reader_script->read.reply({old});
  fetch(3);
  expect((fetch_atom, fetch_request), from(self).to(bridge).with(_, _));
  expect((fetch_atom, fetch_request), from(bridge).to(p).with(_, _));
  expect((read_atom, topic_partition, std::int64_t, std::uint32_t),
         from(p).to(reader).with(_, orders, 3, _));
  sched.run();
  expect((fetch_result), from(bridge).to(self).with(WHERE(fetch_result, r, r.batches.size() == 1)));
  CAF_CHECK_EQUAL(reader_script->read.count(), 1u);
  CAF_CHECK_EQUAL(ctx->tails.warm_partitions(), 0u);
  // An append warms it: its tail holds what is written from then on, and cools again 30 s
  // after the last write.
  publish();
  CAF_CHECK_EQUAL(ctx->tails.warm_partitions(), 1u);
  CAF_CHECK_GREATER(ctx->tails.bytes(), 0u);
  fetch(6);
  sched.run();
  expect((fetch_result),
         from(bridge).to(self).with(
             WHERE(fetch_result, r, r.batches.size() == 1 && r.batches[0].base_offset == 6)));
  CAF_CHECK_EQUAL(reader_script->read.count(), 1u);
  sched.advance_time(seconds(30));
  sched.run();
  CAF_CHECK_EQUAL(ctx->tails.warm_partitions(), 0u);
  CAF_CHECK_EQUAL(ctx->tails.bytes(), 0u);
}

CAF_TEST(a partition that stops when idle still cools its tail 30 s after its last write) {
  using std::chrono::seconds;
  auto config = dsl_broker_config();
  config.partition_idle_ms = 300'000;
  auto idle_ctx = std::make_shared<broker_context>(config, storage::memory_store::factory(), "mock");
  reader_script->recover.reply({{0, 0}, {0, {}}});
  auto p = spawn_partition(self.ptr(), idle_ctx, dir, orders);
  self->unlink_from(p);
  track(p);
  sched.run();
  auto append = [&] {
    framed_batch b{protocol::shared_bytes::copy_of(protocol::buffer(100, 0x42)), 1, 1000};
    self->request(p, caf::infinite, append_atom::value, std::move(b));
    sched.run();
    expect((publish_result), from(p).to(self).with(_));
  };
  auto& tails = idle_ctx->tails;
  CAF_CHECK_EQUAL(tails.partitions(), 1u);
  CAF_CHECK_EQUAL(tails.warm_partitions(), 0u);  // started, not yet written
  append();
  CAF_CHECK_EQUAL(tails.warm_partitions(), 1u);
  sched.advance_time(seconds(30));
  sched.run();
  CAF_CHECK_EQUAL(tails.warm_partitions(), 0u);
  CAF_CHECK_EQUAL(tails.bytes(), 0u);
  // Written again between two of its idle checks: it cools 30 s after this write, not at
  // the next idle check.
  sched.advance_time(seconds(10));
  sched.run();
  append();
  CAF_CHECK_EQUAL(tails.warm_partitions(), 1u);
  sched.advance_time(seconds(20));
  sched.run();
  CAF_CHECK_EQUAL(tails.warm_partitions(), 1u);
  CAF_CHECK_GREATER(tails.bytes(), 0u);
  sched.advance_time(seconds(10));
  sched.run();
  CAF_CHECK_EQUAL(tails.warm_partitions(), 0u);
  CAF_CHECK_EQUAL(tails.bytes(), 0u);
  CAF_CHECK_EQUAL(tails.partitions(), 1u);  // live until it has been idle 300 s
}

CAF_TEST(a warm tail shrinks to its share on its timer once other partitions warm up) {
  auto config = dsl_broker_config();
  config.partition_tail_budget_bytes = 1000;
  auto small = std::make_shared<broker_context>(config, storage::memory_store::factory(), "mock");
  auto start = [&](std::int32_t partition) {
    reader_script->recover.reply({{0, 0}, {0, {}}});
    auto p = spawn_partition(self.ptr(), small, dir, topic_partition{"orders", partition});
    self->unlink_from(p);
    track(p);
    sched.run();
    return p;
  };
  auto append = [&](const partition_actor& p, int batches) {
    for (int i = 0; i < batches; ++i) {
      framed_batch b{protocol::shared_bytes::copy_of(protocol::buffer(100, 0x42)), 1, 1000};
      self->request(p, caf::infinite, append_atom::value, std::move(b));
      sched.run();
      expect((publish_result), from(p).to(self).with(_));
    }
  };
  auto& tails = small->tails;
  auto first = start(0);
  append(first, 10);
  CAF_CHECK_EQUAL(tails.bytes(), 1000u);  // alone, it holds the whole budget
  auto second = start(1);
  append(second, 5);
  CAF_CHECK_EQUAL(tails.bytes(), 1500u);  // half each now, but the first has not trimmed
  // Their timers: the first gives back what is now the second's share.
  sched.advance_time(tail_budget::trim_every);
  sched.run();
  CAF_CHECK_EQUAL(tails.bytes(), 1000u);
  CAF_CHECK_EQUAL(tails.warm_partitions(), 2u);
}

CAF_TEST(an append the partition refuses does not warm its tail) {
  auto rules = std::make_shared<topic_write_rules>();
  rules->max_batch_bytes = 50;  // max.message.bytes
  reader_script->recover.reply({{0, 0}, {0, {}}});
  auto p = spawn_partition(self.ptr(), ctx, dir, orders, {}, {}, rules);
  self->unlink_from(p);
  track(p);
  sched.run();
  auto append = [&] {
    framed_batch b{protocol::shared_bytes::copy_of(protocol::buffer(100, 0x42)), 1, 1000};
    self->request(p, caf::infinite, append_atom::value, std::move(b));
    sched.run();
  };
  append();
  expect((caf::error), from(p).to(self).with(make_caf_error(errc::frame_too_large)));
  CAF_CHECK_EQUAL(ctx->tails.warm_partitions(), 0u);
  CAF_CHECK_EQUAL(ctx->tails.bytes(), 0u);
  rules->max_batch_bytes = 0;  // refuses every batch, as Kafka does
  append();
  expect((caf::error), from(p).to(self).with(make_caf_error(errc::frame_too_large)));
  CAF_CHECK_EQUAL(ctx->tails.warm_partitions(), 0u);
  rules->max_batch_bytes = -1;  // no limit: the same append is taken, and warms the tail
  append();
  expect((publish_result), from(p).to(self).with(_));
  CAF_CHECK_EQUAL(ctx->tails.warm_partitions(), 1u);
  CAF_CHECK_GREATER(ctx->tails.bytes(), 0u);
}

CAF_TEST(a compacted topic refuses a batch with a record without a key and takes keyed ones) {
  auto rules = std::make_shared<topic_write_rules>();
  rules->keys_required = true;  // cleanup.policy=compact
  reader_script->recover.reply({{0, 0}, {0, {}}});
  auto p = spawn_partition(self.ptr(), ctx, dir, orders, {}, {}, rules);
  self->unlink_from(p);
  track(p);
  sched.run();
  auto append = [&](bool keyless) {
    framed_batch b{protocol::shared_bytes::copy_of(protocol::buffer(100, 0x42)), 1, 1000};
    b.keyless = keyless;
    self->request(p, caf::infinite, append_atom::value, std::move(b));
    sched.run();
  };
  append(true);
  expect((caf::error), from(p).to(self).with(make_caf_error(errc::invalid_record)));
  CAF_CHECK_EQUAL(writer_script->append.count(), 0u);
  append(false);
  expect((publish_result), from(p).to(self).with(WHERE(publish_result, r, r.base_offset == 0)));
  CAF_CHECK_EQUAL(writer_script->append.count(), 1u);
  // The policy changed back to delete: keyless records are taken again.
  rules->keys_required = false;
  append(true);
  expect((publish_result), from(p).to(self).with(WHERE(publish_result, r, r.base_offset == 1)));
  CAF_CHECK_EQUAL(writer_script->append.count(), 2u);
}

CAF_TEST(a retired partition whose store never answers stops when its wait runs out) {
  auto p = retired_with_a_write_at_the_writer(errc::not_leader);
  // The writer never gets to the set (its job is not run): 8 s later the partition stops,
  // and the write's producer hears "unknown whether stored".
  sched.advance_time(std::chrono::seconds(7));
  run_partition_and_bridge(p);
  CAF_CHECK(self->mailbox().empty());  // still waiting for the store
  sched.advance_time(std::chrono::seconds(2));
  run_partition_and_bridge(p);
  expect((caf::error), from(bridge).to(self).with(make_caf_error(errc::timeout)));
  CAF_CHECK_EQUAL(writer_script->append.count(), 0u);
}

CAF_TEST(a partition retired because its topic is deleted stops only once the writer answered its write) {
  auto p = retired_with_a_write_at_the_writer(errc::unknown_topic);
  // The writer holds the set (its job is not run) far past the grace of a partition whose
  // lease moved: the partition goes on waiting, its producer hears nothing yet. (A write it
  // stopped without could land in the topic created again under the name.)
  sched.advance_time(retire_grace(ctx->config) + std::chrono::seconds(60));
  run_partition_and_bridge(p);
  CAF_CHECK(self->mailbox().empty());
  CAF_CHECK_EQUAL(writer_script->append.count(), 0u);
  // The writer answers: the write's producer hears it stored, then the partition stops.
  expect((append_atom, append_set), from(p).to(writer).with(_, _));
  expect((append_outcome), from(writer).to(p).with(_));
  expect((publish_result), from(p).to(bridge).with(WHERE(publish_result, r, r.base_offset == 5)));
  expect((publish_result), from(bridge).to(self).with(WHERE(publish_result, r, r.base_offset == 5)));
  expect((caf::down_msg),
         from(_).to(bridge).with(WHERE(caf::down_msg, d, d.source == p.address())));
  CAF_CHECK(!sched.has_job());
}

CAF_TEST(a partition retired because its topic is deleted whose store never answers stops at the last resort) {
  auto p = retired_with_a_write_at_the_writer(errc::unknown_topic);
  const auto last_resort = store_call_last_resort(ctx->config);
  sched.advance_time(last_resort - std::chrono::seconds(1));
  run_partition_and_bridge(p);
  CAF_CHECK(self->mailbox().empty());  // still waiting for the writer
  sched.advance_time(std::chrono::seconds(2));
  run_partition_and_bridge(p);
  expect((caf::error), from(bridge).to(self).with(make_caf_error(errc::timeout)));
  CAF_CHECK_EQUAL(writer_script->append.count(), 0u);
}

CAF_TEST(a deletion of records the store fails leaves the log start where the store has it) {
  auto p = start_partition(orders, 5);  // offsets 0-4
  auto log_start = [&] {
    storage::partition_bounds b;
    self->request(p, caf::infinite, bounds_atom::value);
    expect((bounds_atom), from(self).to(p).with(_));
    expect((storage::partition_bounds), from(p).to(self).with(captured(b)));
    return b.log_start;
  };
  reader_script->delete_records.fail(errc::storage_unavailable);
  reader_script->bounds.reply(storage::partition_bounds{0, 5, 0, 0, -1});  // it did not run
  self->request(p, caf::infinite, delete_atom::value, std::int64_t{3});
  expect((delete_atom, std::int64_t), from(self).to(p).with(_, 3));
  // Out at the store: offsets 0-2 are still there, and still readable.
  CAF_CHECK_EQUAL(log_start(), 0);
  expect((delete_atom, topic_partition, std::int64_t, std::string),
         from(p).to(reader).with(_, orders, 3, _));
  const auto failed = make_caf_error(errc::storage_unavailable);
  expect((caf::error), from(reader).to(p).with(failed));
  // It may have run all the same: the store's start is read back.
  expect((bounds_atom, topic_partition), from(p).to(reader).with(_, orders));
  expect((caf::error), from(p).to(self).with(failed));
  expect((storage::partition_bounds), from(reader).to(p).with(_));
  // The store kept the records: the start stays.
  CAF_CHECK_EQUAL(log_start(), 0);
  // Carried out: the start moves once the store says so.
  reader_script->delete_records.reply(storage::partition_bounds{3, 5, 0, 0, -1});
  self->request(p, caf::infinite, delete_atom::value, std::int64_t{3});
  expect((delete_atom, std::int64_t), from(self).to(p).with(_, 3));
  expect((delete_atom, topic_partition, std::int64_t, std::string),
         from(p).to(reader).with(_, orders, 3, _));
  expect((storage::partition_bounds), from(reader).to(p).with(_));
  expect((storage::partition_bounds),
         from(p).to(self).with(WHERE(storage::partition_bounds, b, b.log_start == 3)));
  CAF_CHECK_EQUAL(log_start(), 3);
  CAF_CHECK(!sched.has_job());
}

CAF_TEST(a deletion of records whose answer was lost after it ran moves the log start to the store start) {
  auto p = start_partition(orders, 5);  // offsets 0-4, none of them in the tail
  reader_script->delete_records.fail(errc::timeout);  // it ran; its answer was lost
  reader_script->bounds.reply(storage::partition_bounds{3, 5, 0, 0, -1});
  storage::stored_batch kept;  // what the store still holds from offset 1 on
  kept.base_offset = 3;
  kept.record_count = 2;
  reader_script->read.reply({kept});
  self->request(p, caf::infinite, delete_atom::value, std::int64_t{3});
  expect((delete_atom, std::int64_t), from(self).to(p).with(_, 3));
  fetch_request req;
  req.tp = orders;
  req.offset = 1;
  req.max_bytes = 1 << 20;
  self->request(p, caf::infinite, fetch_atom::value, req);
  expect((fetch_atom, fetch_request), from(self).to(p).with(_, _));
  expect((delete_atom, topic_partition, std::int64_t, std::string),
         from(p).to(reader).with(_, orders, 3, _));
  expect((read_atom, topic_partition, std::int64_t, std::uint32_t),
         from(p).to(reader).with(_, orders, 1, _));
  const auto timed_out = make_caf_error(errc::timeout);
  expect((caf::error), from(reader).to(p).with(timed_out));
  expect((caf::error), from(p).to(self).with(timed_out));
  // The read of 1 is answered while the store's start is read back: served, it would skip 1
  // and 2 unseen; it is out of range, as once the start has moved.
  expect((std::vector<storage::stored_batch>), from(reader).to(p).with(_));
  expect((caf::error), from(p).to(self).with(make_caf_error(errc::offset_out_of_range)));
  // The store's start comes back: the start here follows it.
  expect((bounds_atom, topic_partition), from(p).to(reader).with(_, orders));
  expect((storage::partition_bounds), from(reader).to(p).with(_));
  storage::partition_bounds b;
  self->request(p, caf::infinite, bounds_atom::value);
  expect((bounds_atom), from(self).to(p).with(_));
  expect((storage::partition_bounds), from(p).to(self).with(captured(b)));
  CAF_CHECK_EQUAL(b.log_start, 3);
  CAF_CHECK(!sched.has_job());
}

CAF_TEST(a store read below a deletion still out is served when its answer starts at the offset asked for) {
  auto p = start_partition(orders, 5);  // offsets 0-4, none of them in the tail
  auto fetch_at = [&](std::int64_t offset) {
    fetch_request req;
    req.tp = orders;
    req.offset = offset;
    req.max_bytes = 1 << 20;
    self->request(p, caf::infinite, fetch_atom::value, req);
    expect((fetch_atom, fetch_request), from(self).to(p).with(_, _));
  };
  auto stored = [](std::int64_t base, std::uint32_t count) {
    storage::stored_batch b;
    b.base_offset = base;
    b.record_count = count;
    return b;
  };
  fetch_at(0);  // at the log start, as ListOffsets (earliest) still says it is
  fetch_at(1);
  // A deletion up to 3 goes out behind both store reads.
  self->request(p, caf::infinite, delete_atom::value, std::int64_t{3});
  expect((delete_atom, std::int64_t), from(self).to(p).with(_, 3));
  // The store read 0 before it deleted: the answer starts there and is served.
  reader_script->read.reply({stored(0, 5)});
  // It read 1 after: the answer starts at 3, and serving it would skip 1 and 2.
  reader_script->read.reply({stored(3, 2)});
  reader_script->delete_records.reply(storage::partition_bounds{3, 5, 0, 0, -1});
  expect((read_atom, topic_partition, std::int64_t, std::uint32_t),
         from(p).to(reader).with(_, orders, 0, _));
  expect((read_atom, topic_partition, std::int64_t, std::uint32_t),
         from(p).to(reader).with(_, orders, 1, _));
  expect((std::vector<storage::stored_batch>), from(reader).to(p).with(_));
  expect((fetch_result),
         from(p).to(self).with(WHERE(fetch_result, r,
                                     r.batches.size() == 1 && r.batches[0].base_offset == 0 &&
                                         r.log_start == 0)));
  expect((std::vector<storage::stored_batch>), from(reader).to(p).with(_));
  expect((caf::error), from(p).to(self).with(make_caf_error(errc::offset_out_of_range)));
  // The deletion done, the start is 3.
  expect((delete_atom, topic_partition, std::int64_t, std::string),
         from(p).to(reader).with(_, orders, 3, _));
  expect((storage::partition_bounds), from(reader).to(p).with(_));
  expect((storage::partition_bounds),
         from(p).to(self).with(WHERE(storage::partition_bounds, b, b.log_start == 3)));
  CAF_CHECK(!sched.has_job());
}

CAF_TEST(a retiring partition whose producer snapshot is refused under the lease stops at once) {
  // The store holds offsets 0-4 and no producer snapshot covering them: the partition writes
  // one as it starts, and the store refuses it (another node holds the lease now).
  reader_script->recover.reply({{0, 5}, {0, {}}});
  reader_script->snapshot.fail(errc::not_leader);
  auto p = spawn_partition(self.ptr(), ctx, dir, orders, "lease-1");
  self->unlink_from(p);
  track(p);
  self->monitor(p);
  CAF_REQUIRE(sched.prioritize(p));
  sched.run_once();
  expect((recover_atom, topic_partition), from(p).to(reader).with(_, orders));
  expect((partition_recovery), from(reader).to(p).with(_));
  // Retired by its registry with the snapshot out: it waits for the answer, no longer.
  caf::anon_send(p, retire_atom::value, errc::not_leader);
  expect((retire_atom, errc), from(_).to(p).with(_, errc::not_leader));
  expect((snapshot_atom, topic_partition, storage::producer_snapshot, std::string),
         from(p).to(reader).with(_, orders, _, std::string{"lease-1"}));
  expect((caf::error), from(reader).to(p).with(make_caf_error(errc::not_leader)));
  expect((caf::down_msg), from(_).to(self).with(WHERE(caf::down_msg, d, d.source == p.address())));
  CAF_CHECK(!sched.has_job());
}

CAF_TEST(a deletion writes the producer snapshot first and deletes all the same when the store refuses it) {
  auto p = empty_partition();
  append_to(p, idempotent(0));
  expect((publish_result), from(p).to(self).with(WHERE(publish_result, r, r.base_offset == 0)));
  // Deleting the producer's only batch before a snapshot holds its state would lose it (a
  // rebuild reads the snapshot, then the log): the snapshot goes first.
  reader_script->delete_records.reply(storage::partition_bounds{1, 1, 0, 0, -1});
  self->request(p, caf::infinite, delete_atom::value, std::int64_t{-1});
  expect((delete_atom, std::int64_t), from(self).to(p).with(_, -1));
  expect((snapshot_atom, topic_partition, storage::producer_snapshot, std::string),
         from(p).to(reader).with(_, orders,
                                 WHERE(storage::producer_snapshot, snap,
                                       snap.covers == 1 && snap.batches.size() == 1u &&
                                           snap.batches[0].producer_id == 7 &&
                                           snap.batches[0].last_seq == 0),
                                 _));
  CAF_CHECK_EQUAL(reader_script->delete_records.count(), 0u);
  expect((bool), from(reader).to(p).with(true));
  expect((delete_atom, topic_partition, std::int64_t, std::string),
         from(p).to(reader).with(_, orders, 1, _));
  expect((storage::partition_bounds), from(reader).to(p).with(_));
  expect((storage::partition_bounds),
         from(p).to(self).with(WHERE(storage::partition_bounds, b, b.log_start == 1)));
  CAF_CHECK(!sched.has_job());
  // A store that refuses the snapshot (out of memory, it refuses every write that frees
  // nothing) gets the deletion all the same: it frees memory, and it is what a full store needs.
  append_to(p, idempotent(1));
  expect((publish_result), from(p).to(self).with(WHERE(publish_result, r, r.base_offset == 1)));
  reader_script->snapshot.fail(errc::storage_unavailable);
  reader_script->delete_records.reply(storage::partition_bounds{2, 2, 0, 0, -1});
  self->request(p, caf::infinite, delete_atom::value, std::int64_t{-1});
  expect((delete_atom, std::int64_t), from(self).to(p).with(_, -1));
  expect((snapshot_atom, topic_partition, storage::producer_snapshot, std::string),
         from(p).to(reader).with(_, orders, _, _));
  expect((caf::error), from(reader).to(p).with(make_caf_error(errc::storage_unavailable)));
  expect((delete_atom, topic_partition, std::int64_t, std::string),
         from(p).to(reader).with(_, orders, 2, _));
  expect((storage::partition_bounds), from(reader).to(p).with(_));
  expect((storage::partition_bounds),
         from(p).to(self).with(WHERE(storage::partition_bounds, b, b.log_start == 2)));
  CAF_CHECK_EQUAL(reader_script->snapshot.count(), 2u);
}

CAF_TEST(a deletion with no producer state to keep writes no producer snapshot) {
  auto p = empty_partition();
  // No producer: nothing for a snapshot to hold, and retention deletes without one.
  append_to(p, framed_batch{protocol::shared_bytes::copy_of(protocol::buffer(100, 0x42)), 1, 1000});
  expect((publish_result), from(p).to(self).with(_));
  reader_script->delete_records.reply(storage::partition_bounds{1, 1, 0, 0, -1});
  self->request(p, caf::infinite, delete_atom::value, std::int64_t{1});
  expect((delete_atom, std::int64_t), from(self).to(p).with(_, 1));
  expect((delete_atom, topic_partition, std::int64_t, std::string),
         from(p).to(reader).with(_, orders, 1, _));
  expect((storage::partition_bounds), from(reader).to(p).with(_));
  expect((storage::partition_bounds), from(p).to(self).with(_));
  CAF_CHECK_EQUAL(reader_script->snapshot.count(), 0u);
}

CAF_TEST(a resent batch is answered with the log start as it is now) {
  // The store: offsets 3-5 (0-2 deleted), the producer's batch at 5 in the snapshot.
  const storage::producer_batch stored{7, 0, 0, 0, 5, 1, wall_clock_ms()};
  reader_script->recover.reply({storage::partition_bounds{3, 6, 0, 0, -1}, storage::producer_history{6, {stored}}});
  auto p = spawn_partition(self.ptr(), ctx, dir, orders);
  self->unlink_from(p);
  track(p);
  sched.run();
  append_to(p, idempotent(0));
  expect((publish_result),
         from(p).to(self).with(WHERE(publish_result, r,
                                     r.duplicate && r.base_offset == 5 && r.log_start == 3)));
  CAF_CHECK_EQUAL(writer_script->append.count(), 0u);
}

CAF_TEST(after a batch refused for good the next batch of its producer is out of order) {
  auto rules = std::make_shared<topic_write_rules>();
  rules->max_batch_bytes = 300;  // max.message.bytes
  auto p = empty_partition(rules);
  append_to(p, idempotent(0));
  expect((publish_result), from(p).to(self).with(WHERE(publish_result, r, r.base_offset == 0)));
  // Too large: its producer does not send it again, so the batch after it is a gap (Kafka:
  // OUT_OF_ORDER_SEQUENCE_NUMBER), not one to retry until the refused one comes back.
  append_to(p, idempotent(1, 1000));
  expect((caf::error), from(p).to(self).with(make_caf_error(errc::frame_too_large)));
  append_to(p, idempotent(2));
  expect((caf::error), from(p).to(self).with(make_caf_error(errc::out_of_order_sequence)));
  // The same after a record without a key on a compacted topic.
  rules->max_batch_bytes = -1;
  rules->keys_required = true;
  auto keyless = idempotent(1);
  keyless.keyless = true;
  append_to(p, std::move(keyless));
  expect((caf::error), from(p).to(self).with(make_caf_error(errc::invalid_record)));
  append_to(p, idempotent(2));
  expect((caf::error), from(p).to(self).with(make_caf_error(errc::out_of_order_sequence)));
  CAF_CHECK_EQUAL(writer_script->append.count(), 1u);
}

CAF_TEST(a partition asked for its producer snapshot as the broker stops writes it and answers once the store has it) {
  auto p = empty_partition();
  append_to(p, idempotent(0));
  expect((publish_result), from(p).to(self).with(_));
  self->request(p, caf::infinite, snapshot_atom::value);
  expect((snapshot_atom), from(self).to(p).with(_));
  expect((snapshot_atom, topic_partition, storage::producer_snapshot, std::string),
         from(p).to(reader).with(_, orders,
                                 WHERE(storage::producer_snapshot, snap,
                                       snap.covers == 1 && snap.batches.size() == 1u),
                                 _));
  expect((bool), from(reader).to(p).with(true));
  expect((bool), from(p).to(self).with(true));
  // Nothing changed since: answered at once.
  self->request(p, caf::infinite, snapshot_atom::value);
  expect((snapshot_atom), from(self).to(p).with(_));
  expect((bool), from(p).to(self).with(true));
  CAF_CHECK_EQUAL(reader_script->snapshot.count(), 1u);
  CAF_CHECK(!sched.has_job());
}

CAF_TEST(a partition told to stop when idle writes the latest changes of its producers first) {
  auto p = empty_partition({}, registry);
  self->monitor(p);
  append_to(p, idempotent(0));
  expect((publish_result), from(p).to(self).with(_));
  // Its registry lets it stop (it asked, idle): the producer's batch goes to the snapshot
  // first, so that its successor reads the producer back with its last write time.
  caf::anon_send(p, idle_atom::value);
  expect((idle_atom), from(_).to(p).with(_));
  expect((snapshot_atom, topic_partition, storage::producer_snapshot, std::string),
         from(p).to(reader).with(_, orders,
                                 WHERE(storage::producer_snapshot, snap, snap.batches.size() == 1u), _));
  expect((bool), from(reader).to(p).with(true));
  expect((caf::down_msg), from(_).to(self).with(WHERE(caf::down_msg, d, d.source == p.address())));
}

CAF_TEST(a write the store fences retires the partition and its parked fetches hear not_leader) {
  auto p = start_partition(orders, 5);
  park_fetch(orders, p, 5, 92);
  writer_script->append.reply(append_outcome{{errc::not_leader}});
  self->request(bridge, caf::infinite, publish_atom::value, records(orders, 1));
  expect((publish_atom, publish_batch), from(self).to(bridge).with(_, _));
  expect((append_atom, framed_batch), from(bridge).to(p).with(_, _));
  expect((append_atom, append_set), from(p).to(writer).with(_, _));
  expect((append_outcome), from(writer).to(p).with(_));
  const auto not_leader = make_caf_error(errc::not_leader);
  expect((caf::error), from(p).to(bridge).with(not_leader));  // the write
  expect((caf::error), from(p).to(bridge).with(not_leader));  // the parked fetch
  CAF_CHECK_EQUAL(ctx->metrics.fetches_waiting(), 0);
  expect((caf::error), from(bridge).to(self).with(not_leader));
  expect((caf::error), from(bridge).to(self).with(not_leader));
  expect((caf::down_msg),
         from(_).to(bridge).with(WHERE(caf::down_msg, d, d.source == p.address())));
  CAF_CHECK(!sched.has_job());
}

CAF_TEST(a write the store fences has the cluster actor run a lease round at once) {
  // Until a round, the node's view still names it the partition's leader (its Metadata would
  // send the producer back): the partition asks for one as it retires.
  auto cluster_mock_script = std::make_shared<cluster_script>();
  dir.cluster = track(spawn_mock_cluster(sys, cluster_mock_script));
  sched.run();
  auto p = start_partition(orders, 5);
  writer_script->append.reply(append_outcome{{errc::not_leader}});
  self->request(bridge, caf::infinite, publish_atom::value, records(orders, 1));
  expect((publish_atom, publish_batch), from(self).to(bridge).with(_, _));
  expect((partition_atom, topic_partition, bool), from(bridge).to(registry).with(_, orders, true));
  expect((partition_actor), from(registry).to(bridge).with(p));
  expect((append_atom, framed_batch), from(bridge).to(p).with(_, _));
  expect((append_atom, append_set), from(p).to(writer).with(_, _));
  expect((append_outcome), from(writer).to(p).with(_));
  expect((topic_atom), from(p).to(dir.cluster).with(_));
  CAF_CHECK_EQUAL(cluster_mock_script->topic_rounds, 1u);
  expect((caf::error), from(p).to(bridge).with(make_caf_error(errc::not_leader)));
}

CAF_TEST(an acknowledged publish reaches the OnMessage subscribers) {
  // The bridge alone: a mock partition behind the registry, the real hooks actor.
  auto partition_mock_script = std::make_shared<partition_script>();
  partition_mock_script->next_offset = 41;
  auto p = track(spawn_mock_partition(sys, partition_mock_script));
  registry_script->partitions[orders] = p;
  auto hooks = track(spawn_hooks(sys, ctx, std::make_shared<hook_subscriptions>()));
  // The supervisor sends the bridge the directory with the hooks in it.
  dir.hooks = hooks;
  caf::anon_send(bridge, directory_atom::value, dir);
  auto subscriber_script = std::make_shared<hooks_subscriber_script>();
  auto subscriber = track(spawn_mock_hooks_subscriber(sys, subscriber_script));
  sched.run();
  const message_subscriber_actor subscriber_handle = subscriber;
  caf::anon_send(hooks, subscribe_atom::value, subscriber_handle);
  expect((subscribe_atom, message_subscriber_actor),
         from(_).to(hooks).with(_, subscriber_handle));
  CAF_CHECK_EQUAL(ctx->message_hook_subscribers.load(), 1);

  self->request(bridge, caf::infinite, publish_atom::value, records(orders, 2));
  expect((publish_atom, publish_batch), from(self).to(bridge).with(_, _));
  expect((partition_atom, topic_partition, bool), from(bridge).to(registry).with(_, orders, true));
  expect((partition_actor), from(registry).to(bridge).with(p));
  expect((append_atom, framed_batch), from(bridge).to(p).with(_, _));
  expect((publish_result), from(p).to(bridge).with(WHERE(publish_result, r, r.base_offset == 41)));
  // The bridge tells the hooks (anonymously) and answers the producer.
  auto event = WHERE(message_event, e,
                     e.tp == orders && e.base_offset == 41 && e.batch &&
                         e.batch->messages.size() == 2 && e.batch->messages[0].topic == "orders");
  expect((message_event), from(_).to(hooks).with(event));
  expect((message_event), from(hooks).to(subscriber).with(event));
  expect((publish_result),
         from(bridge).to(self).with(WHERE(publish_result, r, r.base_offset == 41)));
  // The subscriber's handler answered the event: its acknowledgement to the hooks.
  expect((void), from(subscriber).to(hooks));
  CAF_CHECK(!sched.has_job());
  CAF_CHECK_EQUAL(subscriber_script->messages.count(), 1u);
  CAF_CHECK_EQUAL(partition_mock_script->append.count(), 1u);
}

CAF_TEST(publishes bounced by a stopped partition reach its successor before later ones) {
  // The bridge alone, between the mock registry and two mock partitions of orders/0.
  auto first_script = std::make_shared<partition_script>();
  auto first = track(spawn_mock_partition(sys, first_script));
  auto successor_script = std::make_shared<partition_script>();
  successor_script->next_offset = 10;
  auto successor = track(spawn_mock_partition(sys, successor_script));
  registry_script->partitions[orders] = first;
  sched.run();
  // B (1 record) goes to the first actor, which has not read it yet.
  self->request(bridge, caf::infinite, publish_atom::value, records(orders, 1));
  expect((publish_atom, publish_batch), from(self).to(bridge).with(_, _));
  expect((partition_atom, topic_partition, bool), from(bridge).to(registry).with(_, orders, true));
  expect((partition_actor), from(registry).to(bridge).with(first));
  // C (2 records) waits in the bridge's mailbox while the first actor stops: B bounces and
  // the bridge's monitor reports the stop, behind C. Then D (3 records) arrives.
  self->request(bridge, caf::infinite, publish_atom::value, records(orders, 2));
  registry_script->partitions[orders] = successor;
  // Ahead of B: B stays unread and bounces.
  caf::anon_send<caf::message_priority::high>(
      caf::actor_cast<caf::actor>(first), caf::exit_msg{caf::actor_addr{}, caf::exit_reason::kill});
  CAF_REQUIRE(sched.prioritize(first));
  sched.run_once();
  self->request(bridge, caf::infinite, publish_atom::value, records(orders, 3));
  // The bridge sends C to the stopped actor (it has not read the stop yet), so C bounces
  // only after D has arrived; B's bounce and the stop come before D.
  sched.run();
  CAF_CHECK_EQUAL(first_script->append.count(), 0u);
  CAF_CHECK_EQUAL(registry_script->partition.count(), 2u);  // one lookup for all three
  std::vector<std::uint32_t> order;
  for (std::size_t i = 0; i < successor_script->append.count(); ++i)
    order.push_back(successor_script->append.arg(i).record_count);
  CAF_CHECK_EQUAL(order, (std::vector<std::uint32_t>{1, 2, 3}));
  expect((publish_result), from(bridge).to(self).with(WHERE(publish_result, r, r.base_offset == 10)));
  expect((publish_result), from(bridge).to(self).with(WHERE(publish_result, r, r.base_offset == 11)));
  expect((publish_result), from(bridge).to(self).with(WHERE(publish_result, r, r.base_offset == 13)));
  CAF_CHECK(!sched.has_job());
}

CAF_TEST(a later publish waits for one still out to a partition whose fetch was refused first) {
  // The bridge alone, between the mock registry and two mock partitions of orders/0. The
  // first actor answers a fetch "not ready" (it is retiring) with a publish still unread
  // behind it, then stops and bounces that publish.
  auto first_script = std::make_shared<partition_script>();
  first_script->fetch.fail(errc::not_ready);
  auto first = track(spawn_mock_partition(sys, first_script));
  auto successor_script = std::make_shared<partition_script>();
  successor_script->next_offset = 10;
  auto successor = track(spawn_mock_partition(sys, successor_script));
  registry_script->partitions[orders] = first;
  sched.run();
  // F, a fetch, looks the first actor up and goes to it; B (1 record) follows it there.
  fetch_request req;
  req.tp = orders;
  req.offset = 0;
  self->request(bridge, caf::infinite, fetch_atom::value, req);
  expect((fetch_atom, fetch_request), from(self).to(bridge).with(_, _));
  expect((partition_atom, topic_partition, bool), from(bridge).to(registry).with(_, orders, false));
  expect((partition_actor), from(registry).to(bridge).with(first));
  self->request(bridge, caf::infinite, publish_atom::value, records(orders, 1));
  expect((publish_atom, publish_batch), from(self).to(bridge).with(_, _));
  // The first actor refuses F; the bridge forgets it while B is still out to it.
  expect((fetch_atom, fetch_request), from(bridge).to(first).with(_, _));
  expect((caf::error), from(first).to(bridge).with(make_caf_error(errc::not_ready)));
  expect((caf::error), from(bridge).to(self).with(make_caf_error(errc::not_ready)));
  registry_script->partitions[orders] = successor;
  // C (2 records) arrives now: it waits for B instead of looking up the successor.
  self->request(bridge, caf::infinite, publish_atom::value, records(orders, 2));
  expect((publish_atom, publish_batch), from(self).to(bridge).with(_, _));
  CAF_CHECK_EQUAL(registry_script->partition.count(), 1u);
  // The first actor stops with B unread: B bounces, and goes to the successor before C.
  caf::anon_send<caf::message_priority::high>(
      caf::actor_cast<caf::actor>(first), caf::exit_msg{caf::actor_addr{}, caf::exit_reason::kill});
  CAF_REQUIRE(sched.prioritize(first));
  sched.run_once();
  sched.run();
  CAF_CHECK_EQUAL(first_script->append.count(), 0u);
  CAF_CHECK_EQUAL(registry_script->partition.count(), 2u);  // one lookup for B and C
  std::vector<std::uint32_t> order;
  for (std::size_t i = 0; i < successor_script->append.count(); ++i)
    order.push_back(successor_script->append.arg(i).record_count);
  CAF_CHECK_EQUAL(order, (std::vector<std::uint32_t>{1, 2}));
  expect((publish_result), from(bridge).to(self).with(WHERE(publish_result, r, r.base_offset == 10)));
  expect((publish_result), from(bridge).to(self).with(WHERE(publish_result, r, r.base_offset == 11)));
  CAF_CHECK(!sched.has_job());
}

CAF_TEST_FIXTURE_SCOPE_END()
