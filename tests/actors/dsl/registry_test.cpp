// The topic registry message by message on the deterministic scheduler: the real registry
// (over the memory store) starts real partitions, which write through the mock writer and
// recover through the mock reader; the real bridge looks them up. What is checked is the
// hand-over: a partition that retires with a write out at the store is replaced only once it
// has stopped, and a lookup in between waits for the successor instead of being refused.
#define CAF_SUITE dsl.registry

#include <algorithm>

#include "actors/pipeline/partition.hpp"
#include "actors/pipeline/protocol_bridge.hpp"
#include "actors/pipeline/reconfigure_topic.hpp"
#include "actors/pipeline/topic_registry.hpp"
#include "tests/actors/dsl/dsl_fixture.hpp"
#include "tests/mocks/faulty_store.hpp"

using namespace portask;
using namespace portask::testing;

namespace {

const topic_partition orders{"orders", 0};

// Partitions stop after a minute idle, on the test clock (sched.advance_time).
constexpr auto idle_after = std::chrono::seconds(60);

struct registry_fixture : dsl_fixture {
  registry_fixture() {
    auto config = dsl_broker_config();
    config.partition_idle_ms = static_cast<std::uint32_t>(std::chrono::milliseconds(idle_after).count());
    // A memory store whose topic writes and lists fail when a test says (`faults`).
    ctx = std::make_shared<broker_context>(
        config, faulty_store::factory(storage::memory_store::factory(), faults), "mock");
    // On the test scheduler, not a thread of its own; it uses the memory store in place.
    topics = track(spawn_topic_registry(sys, ctx, dir, false));
    dir.registry = topics;
    bridge = track(spawn_protocol_bridge(sys, ctx, dir));
    sched.run();
    self->request(topics, caf::infinite, create_atom::value, storage::topic_info{"orders", 1, {}, {}});
    expect((create_atom, storage::topic_info), from(self).to(topics).with(_, _));
    sched.run();  // its topic store writes the topic
    expect((storage::topic_info), from(topics).to(self).with(_));
  }

  // Asks the registry for the partition of `tp` as a fetch would, and walks the partition it
  // starts through its recovery (the mock reader: an empty log).
  partition_actor look_up(const topic_partition& tp) {
    self->request(topics, caf::infinite, partition_atom::value, tp, false);
    expect((partition_atom, topic_partition, bool), from(self).to(topics).with(_, tp, false));
    return started(tp);
  }

  // The partition the registry answered `self` with, through its start.
  partition_actor started(const topic_partition& tp) {
    partition_actor p;
    expect((partition_actor), from(topics).to(self).with(captured(p)));
    CAF_REQUIRE(p);
    CAF_REQUIRE(sched.prioritize(p));
    sched.run_once();  // initialization: the partition asks for its bounds
    expect((recover_atom, topic_partition), from(p).to(reader).with(_, tp));
    expect((partition_recovery), from(reader).to(p).with(_));
    return p;
  }

  // A connection to the store as another node has (the memory store the registry uses).
  std::unique_ptr<storage::log_store> another_node() {
    auto made = ctx->store_factory();
    CAF_REQUIRE(made);
    return std::move(*made);
  }

  // "orders" as `store` holds it (the only topic).
  static storage::topic_info stored_orders(storage::log_store& store) {
    auto list = store.list_topics();
    CAF_REQUIRE(list && list->size() == 1u);
    return list->front();
  }

  // Grows "orders" to `partitions` through `store`, behind the registry's back.
  static void grow_behind(storage::log_store& store, std::int32_t partitions) {
    const auto before = stored_orders(store);
    auto grown = before;
    grown.partitions = partitions;
    const auto outcome = store.update_topic(before, grown);
    CAF_REQUIRE(outcome && *outcome == storage::topic_write::done);
  }

  // Stores a batch of one record at offset 0 of `tp` through `store`, as another node's write.
  void store_one(storage::log_store& store, const topic_partition& tp) {
    protocol::message_batch batch;
    batch.messages.push_back(protocol::message{});
    protocol::buffer frame;
    CAF_REQUIRE(!ctx->codecs.append_batch_frame(batch, {}, protocol::message_type::publish, frame));
    storage::append_request r{&tp, 0, 1, 1, protocol::shared_bytes::copy_of(frame)};
    std::vector<std::error_code> results;
    store.append({&r, 1}, results);
    CAF_REQUIRE(!results.at(0));
  }

  // A publish of `n` records through the bridge to `p`, which sends it to the writer; the
  // writer's job is left to the test.
  void publish_to(const partition_actor& p, int n) {
    self->request(bridge, caf::infinite, publish_atom::value, records(orders, n));
    expect((publish_atom, publish_batch), from(self).to(bridge).with(_, _));
    expect((partition_atom, topic_partition, bool), from(bridge).to(topics).with(_, orders, true));
    expect((partition_actor), from(topics).to(bridge).with(p));
    expect((append_atom, framed_batch), from(bridge).to(p).with(_, _));
  }

  // The registry retires the partition (as when this node's lease on it moved).
  void retire(const partition_actor& p) {
    self->send(topics, retire_atom::value, std::vector<topic_partition>{orders});
    expect((retire_atom, std::vector<topic_partition>), from(self).to(topics).with(_, _));
    expect((retire_atom, errc), from(topics).to(p).with(_, errc::not_leader));
  }

  // Asks the registry to describe `topic` and lets everything run: its answer waits in
  // self's mailbox.
  void describe(const std::string& topic) {
    self->request(topics, caf::infinite, describe_atom::value, topic);
    expect((describe_atom, std::string), from(self).to(topics).with(_, topic));
    sched.run();
  }

  std::shared_ptr<faulty_store::control> faults = std::make_shared<faulty_store::control>();
  // Runs what the registry, the bridge and `p` have to do, and nothing of the storage writer
  // and reader: what the partition asked of the store stays unanswered.
  void run_all_but_storage(const partition_actor& p) {
    for (bool ran = true; ran;) {
      ran = false;
      auto run = [&](const auto& actor) {
        if (!sched.prioritize(actor)) return;
        sched.run_once();
        ran = true;
      };
      run(p);
      run(topics);
      run(bridge);
    }
  }

  // Whether the store still holds the topic "orders".
  bool orders_stored() {
    auto list = another_node()->list_topics();
    CAF_REQUIRE(list);
    return std::any_of(list->begin(), list->end(), [](const auto& t) { return t.name == "orders"; });
  }

  topic_registry_actor topics;
  protocol_bridge_actor bridge;
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(registry_tests, registry_fixture)

CAF_TEST(a lookup while a partition retires waits for it to stop and gets its successor) {
  auto first = look_up(orders);
  publish_to(first, 3);  // its write is out at the store
  retire(first);
  // A lookup now is held by the registry: the predecessor still has a write out.
  self->request(topics, caf::infinite, partition_atom::value, orders, false);
  expect((partition_atom, topic_partition, bool), from(self).to(topics).with(_, orders, false));
  CAF_CHECK(self->mailbox().empty());
  // The store answers the write; its producer hears it stored; the partition stops.
  expect((append_atom, append_set), from(first).to(writer).with(_, _));
  expect((append_outcome), from(writer).to(first).with(_));
  expect((publish_result), from(first).to(bridge).with(WHERE(publish_result, r, r.base_offset == 0)));
  expect((publish_result),
         from(bridge).to(self).with(WHERE(publish_result, r, r.base_offset == 0 && r.count == 3)));
  expect((caf::down_msg),
         from(_).to(topics).with(WHERE(caf::down_msg, d, d.source == first.address())));
  // Only then is the successor started, and the held lookup answered with it.
  auto second = started(orders);
  CAF_CHECK(second != first);
  allow((caf::down_msg), from(_).to(bridge));
  CAF_CHECK(!sched.has_job());
  CAF_CHECK_EQUAL(writer_script->append.count(), 1u);
}

CAF_TEST(a registry that stops answers the lookups it holds and takes the retiring partition along) {
  auto first = look_up(orders);
  publish_to(first, 1);
  retire(first);
  self->request(topics, caf::infinite, partition_atom::value, orders, false);
  expect((partition_atom, topic_partition, bool), from(self).to(topics).with(_, orders, false));
  caf::anon_send_exit(topics, caf::exit_reason::user_shutdown);
  // The held lookup hears "not ready" (retriable: a restarted registry answers it) ...
  expect((caf::exit_msg), from(_).to(topics).with(_));
  expect((caf::error), from(_).to(self).with(make_caf_error(errc::not_ready)));
  // ... and the retired partition is stopped with it; its write's producer hears "unknown
  // whether stored", since the store's answer will reach nobody.
  expect((caf::exit_msg), from(_).to(first).with(_));
  expect((caf::error), from(first).to(bridge).with(make_caf_error(errc::timeout)));
  expect((caf::error), from(bridge).to(self).with(make_caf_error(errc::timeout)));
}

CAF_TEST(a creation out at the store holds the lookups of its own topic and no other) {
  self->request(topics, caf::infinite, create_atom::value, storage::topic_info{"slow", 1, {}, {}});
  expect((create_atom, storage::topic_info), from(self).to(topics).with(_, _));
  // The registry's topic store has the write and has not run; a lookup of the topic waits.
  self->request(topics, caf::infinite, partition_atom::value, topic_partition{"slow", 0}, false);
  expect((partition_atom, topic_partition, bool), from(self).to(topics).with(_, _, false));
  // A known topic's lookup is answered meanwhile (look_up expects the answer at once).
  auto known = look_up(orders);
  // The store answers: the creator hears its topic, the held lookup gets the new partition.
  sched.run();
  expect((storage::topic_info),
         from(topics).to(self).with(WHERE(storage::topic_info, t, t.name == "slow" && t.partitions == 1)));
  partition_actor slow;
  expect((partition_actor), from(topics).to(self).with(captured(slow)));
  CAF_CHECK(slow && slow != known);
  // Creating it again is refused: it exists.
  self->request(topics, caf::infinite, create_atom::value, storage::topic_info{"slow", 1, {}, {}});
  expect((create_atom, storage::topic_info), from(self).to(topics).with(_, _));
  expect((caf::error), from(topics).to(self).with(make_caf_error(errc::topic_already_exists)));
}

CAF_TEST(changes of a topic go to the store one at a time and no lookup waits for them) {
  // Grow "orders" to 3 partitions: the topic store has the write and has not run.
  self->request(topics, caf::infinite, grow_atom::value, std::string{"orders"}, std::int32_t{3});
  expect((grow_atom, std::string, std::int32_t), from(self).to(topics).with(_, _, 3));
  // A configuration of the same topic waits for the grow, to start from its outcome.
  self->request(topics, caf::infinite, configure_atom::value, std::string{"orders"},
                storage::config_entries{}, storage::config_entries{{"retention.ms", "1000"}});
  expect((configure_atom, std::string, storage::config_entries, storage::config_entries),
         from(self).to(topics).with(_, _, _, _));
  // Lookups are answered meanwhile (look_up expects the answer at once).
  auto first = look_up(orders);
  CAF_CHECK(first);
  // The grow is stored and answered first; then the configuration, of the grown record.
  sched.run();
  expect((bool), from(topics).to(self).with(true));
  expect((storage::topic_info),
         from(topics).to(self).with(WHERE(storage::topic_info, t,
                                          t.partitions == 3 && t.configs.size() == 1)));
  auto made = ctx->store_factory();
  CAF_REQUIRE(made);
  auto list = (*made)->list_topics();
  CAF_REQUIRE(list);
  auto it = std::find_if(list->begin(), list->end(), [](const auto& t) { return t.name == "orders"; });
  CAF_REQUIRE(it != list->end());
  CAF_CHECK_EQUAL(it->partitions, 3);
  CAF_CHECK_EQUAL(it->configs.size(), 1u);
  // And a lookup of a new partition finds it.
  look_up({"orders", 2});
}

CAF_TEST(a configuration computed from overrides the topic no longer holds is computed again) {
  // One asker sets retention.ms.
  self->request(topics, caf::infinite, configure_atom::value, std::string{"orders"},
                storage::config_entries{}, storage::config_entries{{"retention.ms", "1000"}});
  expect((configure_atom, std::string, storage::config_entries, storage::config_entries),
         from(self).to(topics).with(_, _, _, _));
  sched.run();
  expect((storage::topic_info),
         from(topics).to(self).with(WHERE(storage::topic_info, t, t.configs.size() == 1)));
  // A set computed from the overrides read before that change (none) is not stored: the
  // answer is the topic as it is, for the asker to compute again from.
  self->request(topics, caf::infinite, configure_atom::value, std::string{"orders"},
                storage::config_entries{}, storage::config_entries{{"max.message.bytes", "2048"}});
  expect((configure_atom, std::string, storage::config_entries, storage::config_entries),
         from(self).to(topics).with(_, _, _, _));
  sched.run();
  const storage::config_entries first{{"retention.ms", "1000"}};
  expect((storage::topic_info),
         from(topics).to(self).with(WHERE(storage::topic_info, t, t.configs == first)));
  // Through reconfigure_from (what AlterConfigs and the native alter_config use) from that
  // stale read, the change is computed again from the stored overrides: both keys stay.
  std::optional<storage::topic_info> stored;
  std::optional<caf::error> failed;
  int computed = 0;
  // (Spawned with an argument: CAF 0.17 spawning a function of the actor alone trips UBSan.)
  sys.spawn([&](caf::event_based_actor* asker, const topic_registry_actor& to) {
    reconfigure_from(
        asker, to, "orders", storage::config_entries{},
        [&](storage::config_entries configs) -> std::optional<storage::config_entries> {
          ++computed;
          configs.emplace_back("max.message.bytes", "2048");
          return configs;
        },
        [&](storage::topic_info& t) { stored = t; }, [&](const caf::error& e) { failed = e; });
  }, topics);
  sched.run();
  CAF_CHECK(!failed);
  CAF_CHECK_EQUAL(computed, 2);
  const storage::config_entries both{{"retention.ms", "1000"}, {"max.message.bytes", "2048"}};
  CAF_REQUIRE(stored);
  CAF_CHECK(stored->configs == both);
  auto other = another_node();
  CAF_CHECK(stored_orders(*other).configs == both);
}

CAF_TEST(a deletion asked while a grow is out deletes the grown topic with its new partitions) {
  auto store = another_node();
  self->request(topics, caf::infinite, grow_atom::value, std::string{"orders"}, std::int32_t{3});
  expect((grow_atom, std::string, std::int32_t), from(self).to(topics).with(_, _, 3));
  self->request(topics, caf::infinite, delete_atom::value, std::string{"orders"});
  expect((delete_atom, std::string), from(self).to(topics).with(_, _));
  // While the deletion waits, the topic is unknown to lookups.
  self->request(topics, caf::infinite, partition_atom::value, orders, false);
  expect((partition_atom, topic_partition, bool), from(self).to(topics).with(_, orders, false));
  expect((caf::error), from(topics).to(self).with(make_caf_error(errc::unknown_topic)));
  // The grow lands, and a batch reaches its new partition 2 (as another node's write could).
  sched.run_once();  // the topic store: the grow
  const topic_partition third{"orders", 2};
  store_one(*store, third);
  const std::int64_t stored_before = store->bounds(third).value().next_offset;
  CAF_REQUIRE_EQUAL(stored_before, 1);
  sched.run();
  expect((bool), from(topics).to(self).with(true));  // the grow
  expect((bool), from(topics).to(self).with(true));  // the deletion, of the grown record
  const std::int64_t stored_after = store->bounds(third).value().next_offset;
  CAF_CHECK_EQUAL(stored_after, 0);
  auto list = store->list_topics();
  CAF_REQUIRE(list);
  CAF_CHECK(std::none_of(list->begin(), list->end(), [](const auto& t) { return t.name == "orders"; }));
}

CAF_TEST(a registry restarted while the topic write of its predecessor lands reads the topics after it) {
  ctx->topic_writes_in_flight.store(1);  // the predecessor's topic store is inside a write
  auto fresh = track(spawn_topic_registry(sys, ctx, dir, false));
  sched.run();
  self->request(fresh, caf::infinite, partition_atom::value, orders, false);
  expect((partition_atom, topic_partition, bool), from(self).to(fresh).with(_, orders, false));
  expect((caf::error), from(fresh).to(self).with(make_caf_error(errc::not_ready)));
  ctx->topic_writes_in_flight.store(0);  // it landed
  self->request(fresh, caf::infinite, partition_atom::value, orders, false);
  expect((partition_atom, topic_partition, bool), from(self).to(fresh).with(_, orders, false));
  sched.run();  // its topic store reads the topics
  partition_actor p;
  expect((partition_actor), from(fresh).to(self).with(captured(p)));
  CAF_CHECK(p);
}

CAF_TEST(a registry reads the topics through its topic store and holds the requests that come meanwhile) {
  auto fresh = track(spawn_topic_registry(sys, ctx, dir, false));
  // Its start asks its topic store for the topics; the topic store has not run yet.
  CAF_REQUIRE(sched.prioritize(fresh));
  sched.run_once();
  self->request(fresh, caf::infinite, partition_atom::value, orders, false);
  expect((partition_atom, topic_partition, bool), from(self).to(fresh).with(_, orders, false));
  self->request(fresh, caf::infinite, list_atom::value);
  expect((list_atom), from(self).to(fresh).with(_));
  CAF_CHECK(self->mailbox().empty());  // both wait for the read, in the registry, not blocked
  sched.run();  // the topic store reads "orders" (the fixture's registry created it)
  partition_actor p;
  expect((partition_actor), from(fresh).to(self).with(captured(p)));
  CAF_CHECK(p);
  expect((std::vector<storage::topic_info>),
         from(fresh).to(self).with(WHERE(std::vector<storage::topic_info>, l,
                                         l.size() == 1 && l.front().name == "orders")));
}

CAF_TEST(a grow computed from a topic another node deleted does not bring it back) {
  // Another node deletes "orders" behind this registry's back, which still knows it.
  auto other = another_node();
  const auto deleted = other->delete_topic(stored_orders(*other));
  CAF_REQUIRE(deleted && *deleted == storage::topic_write::done);
  self->request(topics, caf::infinite, grow_atom::value, std::string{"orders"}, std::int32_t{3});
  expect((grow_atom, std::string, std::int32_t), from(self).to(topics).with(_, _, 3));
  sched.run();  // the store refuses the update; the registry reads the topics again
  expect((caf::error), from(topics).to(self).with(make_caf_error(errc::unknown_topic)));
  auto list = other->list_topics();
  CAF_REQUIRE(list);
  CAF_CHECK(list->empty());
  // The registry has learnt it: the topic is unknown to lookups now.
  self->request(topics, caf::infinite, partition_atom::value, orders, false);
  expect((partition_atom, topic_partition, bool), from(self).to(topics).with(_, orders, false));
  expect((caf::error), from(topics).to(self).with(make_caf_error(errc::unknown_topic)));
}

CAF_TEST(a change made from a record another node changed meanwhile is made again from the new one) {
  // Another node grows "orders" to two partitions behind this registry's back.
  auto other = another_node();
  grow_behind(*other, 2);
  // This registry configures it from the one-partition record it knows: the store refuses
  // that, the registry reads the topics again and configures the grown record.
  self->request(topics, caf::infinite, configure_atom::value, std::string{"orders"},
                storage::config_entries{}, storage::config_entries{{"retention.ms", "1000"}});
  expect((configure_atom, std::string, storage::config_entries, storage::config_entries), from(self).to(topics).with(_, _, _, _));
  sched.run();
  expect((storage::topic_info),
         from(topics).to(self).with(WHERE(storage::topic_info, t,
                                          t.partitions == 2 && t.configs.size() == 1)));
  auto list = other->list_topics();
  CAF_REQUIRE(list && list->size() == 1u);
  CAF_CHECK_EQUAL(list->front().partitions, 2);
  CAF_CHECK_EQUAL(list->front().configs.size(), 1u);
}

CAF_TEST(a deletion made from a record another node grew meanwhile removes every partition of it) {
  // Another node grows "orders" to two partitions and stores a batch in the second, behind
  // this registry's back: it still knows one partition.
  auto other = another_node();
  grow_behind(*other, 2);
  const topic_partition second{"orders", 1};
  store_one(*other, second);
  // The registry deletes it: the store refuses the one-partition record, the registry reads
  // the topics again and deletes the two-partition one.
  self->request(topics, caf::infinite, delete_atom::value, std::string{"orders"});
  expect((delete_atom, std::string), from(self).to(topics).with(_, _));
  sched.run();
  expect((bool), from(topics).to(self).with(true));
  auto list = other->list_topics();
  CAF_REQUIRE(list);
  CAF_CHECK(list->empty());
  const std::int64_t left = other->bounds(second).value().next_offset;
  CAF_CHECK_EQUAL(left, 0);
}

CAF_TEST(a deletion of a topic another node deleted and created again leaves the new topic) {
  // Another node deletes "orders" and creates a new "orders" with three partitions.
  auto other = another_node();
  const auto deleted = other->delete_topic(stored_orders(*other));
  CAF_REQUIRE(deleted && *deleted == storage::topic_write::done);
  storage::topic_info again{"orders", 3, {}, storage::new_topic_id()};
  CAF_REQUIRE(!other->create_topic(again));
  // This registry, which knows the old one, deletes it: the store says it is gone, the
  // registry learns the new topic and the deletion is done.
  self->request(topics, caf::infinite, delete_atom::value, std::string{"orders"});
  expect((delete_atom, std::string), from(self).to(topics).with(_, _));
  sched.run();
  expect((bool), from(topics).to(self).with(true));
  auto list = other->list_topics();
  CAF_REQUIRE(list && list->size() == 1u);
  CAF_CHECK(list->front() == again);
  // And serves it: its third partition is there.
  look_up({"orders", 2});
}

CAF_TEST(an idle partition stops only once the registry has set it aside and a lookup meanwhile gets its successor) {
  auto first = look_up(orders);
  sched.advance_time(idle_after);  // its idle check finds nothing done for a minute
  // The partition handles what the clock sent it: its idle tick, and its recovery request's
  // timeout (long answered: dropped as stale).
  while (sched.prioritize(first)) sched.run_once();
  // It does not stop by itself: the registry might be handing it out right now.
  expect((idle_atom, topic_partition), from(first).to(topics).with(_, orders));
  // The registry has set it aside: a lookup from now on waits for its successor.
  self->request(topics, caf::infinite, partition_atom::value, orders, false);
  expect((partition_atom, topic_partition, bool), from(self).to(topics).with(_, orders, false));
  CAF_CHECK(self->mailbox().empty());
  expect((idle_atom), from(topics).to(first).with(_));
  expect((caf::down_msg),
         from(_).to(topics).with(WHERE(caf::down_msg, d, d.source == first.address() && !d.reason)));
  auto second = started(orders);
  CAF_CHECK(second != first);
  CAF_CHECK_EQUAL(ctx->metrics.passivated_total(), 1u);
}

CAF_TEST(a partition used after it asked to stop finishes what it took and its successor takes the rest) {
  auto first = look_up(orders);
  publish_to(first, 1);  // the bridge knows the partition's actor from now on
  expect((append_atom, append_set), from(first).to(writer).with(_, _));
  expect((append_outcome), from(writer).to(first).with(_));
  expect((publish_result), from(first).to(bridge).with(_));
  expect((publish_result), from(bridge).to(self).with(WHERE(publish_result, r, r.count == 1)));
  sched.advance_time(idle_after);
  sched.run();  // idle: it writes its producer snapshot first
  sched.advance_time(std::chrono::milliseconds(idle_after) / 8);  // its next idle check
  while (sched.prioritize(first)) sched.run_once();  // then asks the registry, which has not run
  // A publish reaches it meanwhile, straight from the bridge: taken, its write goes out.
  self->request(bridge, caf::infinite, publish_atom::value, records(orders, 2));
  expect((publish_atom, publish_batch), from(self).to(bridge).with(_, _));
  expect((append_atom, framed_batch), from(bridge).to(first).with(_, _));
  // The registry sets it aside and lets it stop; it has a write out, so it stays until
  // that is answered, and a publish that reaches it now bounces back to the bridge.
  expect((idle_atom, topic_partition), from(first).to(topics).with(_, orders));
  expect((idle_atom), from(topics).to(first).with(_));
  // Set aside, it still hears of a new directory (a restarted writer) while it finishes.
  self->send(topics, directory_atom::value, dir);
  expect((directory_atom, actor_directory), from(self).to(topics).with(_, _));
  expect((directory_atom, actor_directory), from(topics).to(first).with(_, _));
  self->request(bridge, caf::infinite, publish_atom::value, records(orders, 3));
  expect((publish_atom, publish_batch), from(self).to(bridge).with(_, _));
  expect((append_atom, framed_batch), from(bridge).to(first).with(_, _));
  expect((caf::error), from(first).to(bridge).with(_));
  CAF_CHECK(self->mailbox().empty());
  // The write it took is stored and answered; then it stops, and the bounced publish goes
  // to its successor, after the one before it. Nobody hears an error.
  expect((append_atom, append_set), from(first).to(writer).with(_, _));
  expect((append_outcome), from(writer).to(first).with(_));
  sched.run();
  expect((publish_result), from(bridge).to(self).with(WHERE(publish_result, r, r.count == 2)));
  expect((publish_result), from(bridge).to(self).with(WHERE(publish_result, r, r.count == 3)));
  CAF_CHECK(self->mailbox().empty());
  CAF_CHECK_EQUAL(writer_script->append.count(), 3u);
  CAF_CHECK_EQUAL(ctx->metrics.passivated_total(), 1u);
}

CAF_TEST(a change refused three times because another node keeps changing the topic is answered not ready) {
  auto other = another_node();
  grow_behind(*other, 2);  // the registry still knows one partition: its first attempt is refused
  self->request(topics, caf::infinite, configure_atom::value, std::string{"orders"},
                storage::config_entries{}, storage::config_entries{{"retention.ms", "1000"}});
  expect((configure_atom, std::string, storage::config_entries, storage::config_entries), from(self).to(topics).with(_, _, _, _));
  // Each refusal makes the registry read the topics again; right after each of the first two
  // reads, the other node grows the topic again, so the next attempt is made from an old
  // record as well. After the third refusal the registry gives up.
  const auto* registry_actor = caf::actor_cast<caf::abstract_actor*>(topics);
  int reads = 0;
  while (sched.has_job()) {
    auto& next = sched.next_job<caf::abstract_actor>();
    const auto* m = next.peek_at_next_mailbox_element();
    const bool read = &next != registry_actor && m != nullptr && m->content().match_elements<list_atom>();
    sched.run_once();
    if (read && ++reads < 3) grow_behind(*other, 2 + reads);
  }
  CAF_CHECK_EQUAL(reads, 3);
  expect((caf::error), from(topics).to(self).with(make_caf_error(errc::not_ready)));
  // Nothing of the change was stored; the registry knows the record the last read found and
  // a change asked again is made from it.
  const auto stored = stored_orders(*other);
  CAF_CHECK_EQUAL(stored.partitions, 4);
  CAF_CHECK(stored.configs.empty());
  self->request(topics, caf::infinite, configure_atom::value, std::string{"orders"},
                storage::config_entries{}, storage::config_entries{{"retention.ms", "1000"}});
  expect((configure_atom, std::string, storage::config_entries, storage::config_entries), from(self).to(topics).with(_, _, _, _));
  sched.run();
  expect((storage::topic_info),
         from(topics).to(self).with(WHERE(storage::topic_info, t,
                                          t.partitions == 4 && t.configs.size() == 1)));
}

CAF_TEST(a registry stopped while its first read is out answers every request waiting for it) {
  auto fresh = track(spawn_topic_registry(sys, ctx, dir, false));
  CAF_REQUIRE(sched.prioritize(fresh));
  sched.run_once();  // its start asks its topic store for the topics; that has not run yet
  self->request(fresh, caf::infinite, partition_atom::value, orders, false);
  expect((partition_atom, topic_partition, bool), from(self).to(fresh).with(_, orders, false));
  self->request(fresh, caf::infinite, list_atom::value);
  expect((list_atom), from(self).to(fresh).with(_));
  self->request(fresh, caf::infinite, configure_atom::value, std::string{"orders"},
                storage::config_entries{}, storage::config_entries{{"retention.ms", "1000"}});
  expect((configure_atom, std::string, storage::config_entries, storage::config_entries), from(self).to(fresh).with(_, _, _, _));
  CAF_CHECK(self->mailbox().empty());
  caf::anon_send_exit(fresh, caf::exit_reason::user_shutdown);
  expect((caf::exit_msg), from(_).to(fresh).with(_));
  // Each hears "not ready" (retriable: a restarted registry answers it), none is left hanging.
  for (int i = 0; i < 3; ++i)
    expect((caf::error), from(fresh).to(self).with(make_caf_error(errc::not_ready)));
  sched.run();  // its topic store stops with it; a list it may still answer reaches nobody
  CAF_CHECK(self->mailbox().empty());
  // The configure was not stored.
  auto other = another_node();
  CAF_CHECK(stored_orders(*other).configs.empty());
}

CAF_TEST(a creation that finds its name stored meanwhile keeps the stored topic and serves it) {
  // Another node (or a creation whose write landed after its registry failed) stored "late"
  // with three partitions, behind this registry's back.
  auto other = another_node();
  storage::topic_info stored{"late", 3, {}, storage::new_topic_id()};
  CAF_REQUIRE(!other->create_topic(stored));
  self->request(topics, caf::infinite, create_atom::value, storage::topic_info{"late", 1, {}, {}});
  expect((create_atom, storage::topic_info), from(self).to(topics).with(_, _));
  // A lookup of its third partition waits for the creation's outcome.
  self->request(topics, caf::infinite, partition_atom::value, topic_partition{"late", 2}, false);
  expect((partition_atom, topic_partition, bool), from(self).to(topics).with(_, _, false));
  sched.run();  // the topic store's create-if-absent finds the name taken
  expect((caf::error), from(topics).to(self).with(make_caf_error(errc::topic_already_exists)));
  partition_actor third;
  expect((partition_actor), from(topics).to(self).with(captured(third)));
  CAF_CHECK(third);
  // The stored topic was not overwritten by this node's one-partition version.
  auto list = other->list_topics();
  CAF_REQUIRE(list);
  auto it = std::find_if(list->begin(), list->end(), [](const auto& t) { return t.name == "late"; });
  CAF_REQUIRE(it != list->end());
  CAF_CHECK(*it == stored);
}

CAF_TEST(a name that differs from another topic only in dot against underscore is refused however it is created) {
  // "orders_eu" is out at the store: a creation of "orders.eu" meanwhile collides with it.
  self->request(topics, caf::infinite, create_atom::value, storage::topic_info{"orders_eu", 1, {}, {}});
  expect((create_atom, storage::topic_info), from(self).to(topics).with(_, _));
  self->request(topics, caf::infinite, create_atom::value, storage::topic_info{"orders.eu", 1, {}, {}});
  expect((create_atom, storage::topic_info), from(self).to(topics).with(_, _));
  expect((caf::error), from(topics).to(self).with(make_caf_error(errc::topic_name_collision)));
  sched.run();
  expect((storage::topic_info),
         from(topics).to(self).with(WHERE(storage::topic_info, t, t.name == "orders_eu")));
  // Stored, it collides with an auto-creation too (a Produce, a Metadata request, a publish).
  self->request(topics, caf::infinite, partition_atom::value, topic_partition{"orders.eu", 0}, true);
  expect((partition_atom, topic_partition, bool), from(self).to(topics).with(_, _, true));
  expect((caf::error), from(topics).to(self).with(make_caf_error(errc::topic_name_collision)));
  // Its own name is taken, not a collision.
  self->request(topics, caf::infinite, create_atom::value, storage::topic_info{"orders_eu", 1, {}, {}});
  expect((create_atom, storage::topic_info), from(self).to(topics).with(_, _));
  expect((caf::error), from(topics).to(self).with(make_caf_error(errc::topic_already_exists)));
  // Once it is deleted, the other spelling is free.
  self->request(topics, caf::infinite, delete_atom::value, std::string{"orders_eu"});
  expect((delete_atom, std::string), from(self).to(topics).with(_, _));
  sched.run();
  expect((bool), from(topics).to(self).with(true));
  self->request(topics, caf::infinite, create_atom::value, storage::topic_info{"orders.eu", 1, {}, {}});
  expect((create_atom, storage::topic_info), from(self).to(topics).with(_, _));
  sched.run();
  expect((storage::topic_info),
         from(topics).to(self).with(WHERE(storage::topic_info, t, t.name == "orders.eu")));
}

CAF_TEST(a deletion whose store call failed after it ran is done once the topics read back say so) {
  faults->arm_topic_writes(faulty_store::fault::execute_then_fail);
  faults->failing_lists = 1;  // and the first read back fails too: it is tried again later
  self->request(topics, caf::infinite, delete_atom::value, std::string{"orders"});
  expect((delete_atom, std::string), from(self).to(topics).with(_, _));
  sched.run();  // the store deletes the topic but reports a failure; the read back fails
  CAF_CHECK(self->mailbox().empty());  // the deletion waits for the store to say
  // Meanwhile the topic is still being deleted: unknown, not created again, nothing started.
  self->request(topics, caf::infinite, partition_atom::value, orders, true);
  expect((partition_atom, topic_partition, bool), from(self).to(topics).with(_, orders, true));
  expect((caf::error), from(topics).to(self).with(make_caf_error(errc::unknown_topic)));
  CAF_CHECK_EQUAL(reader_script->recover.count(), 0u);
  // The read again finds the topic gone: the deletion is done, and the registry forgot it.
  sched.advance_time(std::chrono::seconds(1));
  sched.run();
  expect((bool), from(topics).to(self).with(true));
  auto other = another_node();
  auto list = other->list_topics();
  CAF_REQUIRE(list);
  CAF_CHECK(list->empty());
  self->request(topics, caf::infinite, partition_atom::value, orders, false);
  expect((partition_atom, topic_partition, bool), from(self).to(topics).with(_, orders, false));
  expect((caf::error), from(topics).to(self).with(make_caf_error(errc::unknown_topic)));
  CAF_CHECK_EQUAL(reader_script->recover.count(), 0u);
}

CAF_TEST(a deletion whose store call failed before it ran keeps the topic and serves it again) {
  faults->arm_topic_writes(faulty_store::fault::fail_without_executing);
  self->request(topics, caf::infinite, delete_atom::value, std::string{"orders"});
  expect((delete_atom, std::string), from(self).to(topics).with(_, _));
  sched.run();  // the read back finds the topic still stored
  expect((caf::error), from(topics).to(self).with(make_caf_error(errc::storage_unavailable)));
  auto other = another_node();
  CAF_CHECK_EQUAL(stored_orders(*other).name, std::string{"orders"});
  look_up(orders);
}

CAF_TEST(a creation whose store call failed after it ran is served once the topics read back show it and nothing else waits meanwhile) {
  faults->arm_topic_writes(faulty_store::fault::execute_then_fail);
  faults->failing_lists = 1;
  self->request(topics, caf::infinite, create_atom::value, storage::topic_info{"late", 2, {}, {}});
  expect((create_atom, storage::topic_info), from(self).to(topics).with(_, _));
  sched.run();  // stored, but the store's answer is a failure; the read back fails
  // While the store says nothing, a lookup of it and another creation of it hear a retriable
  // error at once: they would wait for as long as the store is down, each retry one more.
  const auto unavailable = make_caf_error(errc::storage_unavailable);
  self->request(topics, caf::infinite, partition_atom::value, topic_partition{"late", 1}, false);
  expect((partition_atom, topic_partition, bool), from(self).to(topics).with(_, _, false));
  expect((caf::error), from(topics).to(self).with(unavailable));
  self->request(topics, caf::infinite, create_atom::value, storage::topic_info{"late", 2, {}, {}});
  expect((create_atom, storage::topic_info), from(self).to(topics).with(_, _));
  expect((caf::error), from(topics).to(self).with(unavailable));
  CAF_CHECK(self->mailbox().empty());  // only the first creator waits
  sched.advance_time(std::chrono::seconds(1));
  sched.run();  // the read again finds it
  expect((storage::topic_info),
         from(topics).to(self).with(WHERE(storage::topic_info, t, t.name == "late" && t.partitions == 2)));
  CAF_CHECK(self->mailbox().empty());
  // Known now: the lookup asked again gets its partition.
  CAF_CHECK(look_up(topic_partition{"late", 1}));
}

CAF_TEST(a configuration whose store answer was lost is answered as the topics read back show it) {
  const storage::config_entries retention{{"retention.ms", "1000"}};
  auto configure = [&] {
    self->request(topics, caf::infinite, configure_atom::value, std::string{"orders"},
                  storage::config_entries{}, retention);
    expect((configure_atom, std::string, storage::config_entries, storage::config_entries),
           from(self).to(topics).with(_, _, _, _));
    sched.run();
  };
  auto known_configs = [&] {
    storage::topic_info known;
    self->request(topics, caf::infinite, topic_atom::value, std::string{"orders"}, false);
    expect((topic_atom, std::string, bool), from(self).to(topics).with(_, _, false));
    expect((storage::topic_info), from(topics).to(self).with(captured(known)));
    return known.configs;
  };
  // Not stored: the asker hears the failure, and the registry keeps the record it had.
  faults->arm_topic_writes(faulty_store::fault::fail_without_executing);
  configure();
  expect((caf::error), from(topics).to(self).with(make_caf_error(errc::storage_unavailable)));
  CAF_CHECK(known_configs().empty());
  // Stored although the store's answer was a failure: the asker hears it stored, and the
  // registry (so the write rules of the topic's partitions) follows the stored record.
  faults->arm_topic_writes(faulty_store::fault::execute_then_fail);
  configure();
  expect((storage::topic_info),
         from(topics).to(self).with(WHERE(storage::topic_info, t, t.configs == retention)));
  CAF_CHECK(known_configs() == retention);
}

CAF_TEST(describing a topic reads the bounds of partitions not running from the store and starts none) {
  self->request(topics, caf::infinite, create_atom::value, storage::topic_info{"wide", 3, {}, {}});
  expect((create_atom, storage::topic_info), from(self).to(topics).with(_, _));
  sched.run();
  expect((storage::topic_info), from(topics).to(self).with(_));
  for (std::int64_t end : {5, 6, 7}) reader_script->bounds.reply({0, end});
  describe("wide");
  expect((topic_description),
         from(topics).to(self).with(WHERE(topic_description, d,
                                          d.partitions.size() == 3 &&
                                              d.partitions[0].next_offset == 5 &&
                                              d.partitions[1].next_offset == 6 &&
                                              d.partitions[2].next_offset == 7)));
  CAF_CHECK_EQUAL(reader_script->bounds.count(), 3u);
  CAF_CHECK_EQUAL(reader_script->recover.count(), 0u);  // no partition started
  // A running partition answers itself: it knows what it acknowledged.
  reader_script->recover.reply({{0, 9}, {9, {}}});
  look_up(orders);
  describe("orders");
  expect((topic_description),
         from(topics).to(self).with(WHERE(topic_description, d,
                                          d.partitions.size() == 1 &&
                                              d.partitions[0].next_offset == 9)));
  CAF_CHECK_EQUAL(reader_script->bounds.count(), 3u);
}

CAF_TEST(a partition asked only for its bounds still stops when idle) {
  using std::chrono::seconds;
  auto p = look_up(orders);
  sched.advance_time(seconds(40));
  sched.run();  // its idle check: started 40 s ago, not idle yet
  describe("orders");
  expect((topic_description), from(topics).to(self).with(_));
  sched.advance_time(seconds(11));
  sched.run();  // the describe's request timer fires, long answered
  sched.advance_time(seconds(9));
  while (sched.prioritize(p)) sched.run_once();
  // A minute after it started, its idle check finds no use since: the describe was none.
  expect((idle_atom, topic_partition), from(p).to(topics).with(_, orders));
}

CAF_TEST(a deletion waits until the partition has the answers to its write and its producer snapshot) {
  // The store holds offsets 0-4 and no producer snapshot covering them: the partition writes
  // one as it starts.
  reader_script->recover.reply({{0, 5}, {0, {}}});
  auto first = look_up(orders);
  publish_to(first, 1);  // its write goes to the writer
  self->request(topics, caf::infinite, delete_atom::value, std::string{"orders"});
  expect((delete_atom, std::string), from(self).to(topics).with(_, _));
  expect((retire_atom, errc), from(topics).to(first).with(_, errc::unknown_topic));
  // Neither the writer nor the reader has answered, long past the grace of a partition whose
  // lease moved: the partition waits, and the topic is not deleted.
  sched.advance_time(retire_grace(ctx->config) + std::chrono::seconds(60));
  run_all_but_storage(first);
  CAF_CHECK(self->mailbox().empty());
  CAF_CHECK(orders_stored());
  // The write is answered (its producer hears it stored); the snapshot is still out.
  expect((append_atom, append_set), from(first).to(writer).with(_, _));
  expect((append_outcome), from(writer).to(first).with(_));
  expect((publish_result), from(first).to(bridge).with(_));
  expect((publish_result), from(bridge).to(self).with(WHERE(publish_result, r, r.base_offset == 5)));
  run_all_but_storage(first);
  CAF_CHECK(self->mailbox().empty());
  CAF_CHECK(orders_stored());
  // The snapshot is answered: the partition stops, and only then is the topic deleted.
  expect((snapshot_atom, topic_partition, storage::producer_snapshot, std::string),
         from(first).to(reader).with(_, orders, _, _));
  expect((bool), from(reader).to(first).with(true));
  expect((caf::down_msg),
         from(_).to(topics).with(WHERE(caf::down_msg, d, d.source == first.address())));
  CAF_CHECK(orders_stored());
  sched.run();
  expect((bool), from(topics).to(self).with(true));
  CAF_CHECK(!orders_stored());
}

CAF_TEST(a registry asked for the producer snapshots as the broker stops has each partition write its own) {
  auto first = look_up(orders);
  // An idempotent producer's batch, stored.
  self->request(first, caf::infinite, append_atom::value,
                framed_batch{protocol::shared_bytes::copy_of(protocol::buffer(10, 0x42)), 1, 1000,
                             producer_sequence{7, 0, 0, 0}});
  sched.run();
  expect((publish_result), from(first).to(self).with(_));
  self->request(topics, caf::infinite, snapshot_atom::value);
  expect((snapshot_atom), from(self).to(topics).with(_));
  expect((snapshot_atom), from(topics).to(first).with(_));
  expect((snapshot_atom, topic_partition, storage::producer_snapshot, std::string),
         from(first).to(reader).with(_, orders, WHERE(storage::producer_snapshot, snap, snap.covers == 1), _));
  expect((bool), from(reader).to(first).with(true));
  expect((bool), from(first).to(topics).with(true));
  expect((bool), from(topics).to(self).with(true));
}

CAF_TEST(a deletion after the partition failed with a write at the writer waits for the writer) {
  auto first = look_up(orders);
  publish_to(first, 1);  // its write waits at the writer
  caf::anon_send_exit(first, caf::exit_reason::user_shutdown);
  run_all_but_storage(first);  // the registry forgets the failed partition
  expect((caf::error), from(bridge).to(self).with(make_caf_error(errc::timeout)));
  self->request(topics, caf::infinite, delete_atom::value, std::string{"orders"});
  expect((delete_atom, std::string), from(self).to(topics).with(_, _));
  // The failed partition's write is still queued at the writer: the store's deletion waits
  // until the writer has answered what came after it.
  run_all_but_storage(first);
  CAF_CHECK(self->mailbox().empty());
  CAF_CHECK(orders_stored());
  sched.run();
  expect((bool), from(topics).to(self).with(true));
  CAF_CHECK(!orders_stored());
  CAF_REQUIRE_EQUAL(writer_script->append.count(), 2u);
  CAF_CHECK_EQUAL(writer_script->append.arg(0).batches.size(), 1u);  // the failed partition's write
  CAF_CHECK(writer_script->append.arg(1).batches.empty());  // the deletion's, after it
}

CAF_TEST_FIXTURE_SCOPE_END()
