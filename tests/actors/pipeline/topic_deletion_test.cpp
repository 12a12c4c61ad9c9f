// Deleting a topic while one of its partitions has a write out at the store: the real
// registry, partition, writer and reader over a store that holds appends on command. The
// write lands before the topic is deleted in the store, never after it, where a topic created
// again under the same name would find it; until the deletion is done the name is taken.
#include <gtest/gtest.h>

#include <optional>
#include <variant>

#include "actors/pipeline/storage_actors.hpp"
#include "actors/pipeline/topic_registry.hpp"
#include "protocol/codec_manager.hpp"
#include "storage/memory_store.hpp"
#include "tests/mocks/faulty_store.hpp"

using namespace portask;
using namespace std::chrono_literals;
using portask::testing::faulty_store;

namespace {

framed_batch one_message(const std::string& value) {
  protocol::message_batch mb;
  protocol::message m;
  m.topic = "t";
  m.value = value;
  mb.messages.push_back(std::move(m));
  protocol::buffer out;
  protocol::codec_manager codecs;
  EXPECT_FALSE(codecs.append_batch_frame(mb, {}, protocol::message_type::publish, out));
  return {protocol::shared_bytes::copy_of(out), 1, 1000, {}};
}

storage::topic_info topic(const std::string& name) {
  storage::topic_info t;
  t.name = name;
  t.partitions = 1;
  return t;
}

struct fixture {
  fixture() {
    configure_actor_system(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    auto factory = faulty_store::factory(memory_factory, control);
    ctx = std::make_shared<broker_context>(broker_config{}, factory, "memory");
    actor_directory dir;
    // On its own thread: a held append blocks it, not one of the scheduler's workers.
    dir.writers = {spawn_storage_writer(
        *sys, factory, std::shared_ptr<metrics_registry>(ctx, &ctx->metrics), true)};
    dir.readers = {spawn_storage_reader(*sys, factory)};
    registry = spawn_topic_registry(*sys, ctx, dir);
    writer = dir.writer_for({});
    reader = dir.reader_for({});
    store = std::move(*memory_factory());
  }
  ~fixture() {
    control->release_appends();
    caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(reader, caf::exit_reason::user_shutdown);
  }

  // The registry's answer to a request: the value, or the error.
  template <class T, class... Ts>
  std::variant<T, errc> ask(caf::scoped_actor& self, Ts... xs) {
    std::variant<T, errc> out = errc::internal;
    self->request(registry, 30s, xs...)
        .receive([&](T& r) { out = std::move(r); }, [&](caf::error& e) { out = to_errc(e); });
    return out;
  }

  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<faulty_store::control> control = std::make_shared<faulty_store::control>();
  storage::store_factory memory_factory = storage::memory_store::factory();
  std::shared_ptr<broker_context> ctx;
  topic_registry_actor registry;
  storage_writer_actor writer;
  storage_reader_actor reader;
  std::unique_ptr<storage::log_store> store;  ///< the same memory the actors write
};

}  // namespace

TEST(TopicDeletion, AWriteOutAtTheStoreLandsBeforeTheDeletionAndNeverInTheTopicCreatedAgain) {
  fixture f;
  caf::scoped_actor producer{*f.sys};
  caf::scoped_actor admin{*f.sys};
  const topic_partition tp{"t", 0};
  ASSERT_EQ(f.ask<storage::topic_info>(admin, create_atom::value, topic("t")).index(), 0u);
  auto found = f.ask<partition_actor>(admin, partition_atom::value, tp, false);
  ASSERT_EQ(found.index(), 0u);
  const auto p = std::get<partition_actor>(found);

  // A write reaches the store and is held there.
  f.control->hold_appends();
  auto write = producer->request(p, 60s, append_atom::value, one_message("old"));
  ASSERT_TRUE(f.control->wait_for_held_append(30s));

  // The topic is deleted meanwhile: the deletion waits for the partition's write.
  auto deletion = admin->request(f.registry, 60s, delete_atom::value, std::string{"t"});
  caf::scoped_actor other{*f.sys};
  // Sent after the deletion, so the registry handles them after it: the name is taken, the
  // topic is unknown (not created again by a lookup that may create), and the retiring
  // partition refuses a new write.
  auto again = f.ask<storage::topic_info>(other, create_atom::value, topic("t"));
  ASSERT_EQ(again.index(), 1u);
  EXPECT_EQ(std::get<errc>(again), errc::topic_already_exists);
  auto lookup = f.ask<partition_actor>(other, partition_atom::value, tp, true);
  ASSERT_EQ(lookup.index(), 1u);
  EXPECT_EQ(std::get<errc>(lookup), errc::unknown_topic);
  auto listed = f.ask<std::vector<storage::topic_info>>(other, list_atom::value);
  ASSERT_EQ(listed.index(), 0u);
  EXPECT_TRUE(std::get<0>(listed).empty()) << "a topic being deleted is not listed";
  auto grown = f.ask<bool>(other, grow_atom::value, std::string{"t"}, std::int32_t{2});
  ASSERT_EQ(grown.index(), 1u);
  EXPECT_EQ(std::get<errc>(grown), errc::unknown_topic);
  std::optional<errc> refused;
  other->request(p, 30s, append_atom::value, one_message("late"))
      .receive([&](publish_result&) { refused = errc::ok; },
               [&](caf::error& e) { refused = to_errc(e); });
  EXPECT_EQ(refused, errc::unknown_topic);

  // The store answers: the write is stored, and its producer hears so ...
  f.control->release_appends();
  std::optional<publish_result> stored;
  write.receive([&](publish_result& r) { stored = r; },
                [&](caf::error& e) { ADD_FAILURE() << f.sys->render(e); });
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->base_offset, 0);
  // ... then the partition stops and the topic is deleted, with what was written to it.
  bool deleted = false;
  deletion.receive([&](bool ok) { deleted = ok; },
                   [&](caf::error& e) { ADD_FAILURE() << f.sys->render(e); });
  EXPECT_TRUE(deleted);

  // Created again, the topic is empty and starts at offset 0.
  ASSERT_EQ(f.ask<storage::topic_info>(admin, create_atom::value, topic("t")).index(), 0u);
  auto batches = f.store->read(tp, 0, 1 << 20);
  ASSERT_TRUE(batches);
  EXPECT_TRUE(batches->empty());
  found = f.ask<partition_actor>(admin, partition_atom::value, tp, false);
  ASSERT_EQ(found.index(), 0u);
  std::optional<publish_result> first;
  producer->request(std::get<partition_actor>(found), 30s, append_atom::value, one_message("new"))
      .receive([&](publish_result& r) { first = r; },
               [&](caf::error& e) { ADD_FAILURE() << f.sys->render(e); });
  ASSERT_TRUE(first);
  EXPECT_EQ(first->base_offset, 0);
}
