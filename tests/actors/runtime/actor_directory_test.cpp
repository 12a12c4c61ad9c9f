// The actor directory's lookups: a partition's writer, reader and bridge are the same shard
// every time (one writer keeps a partition's batches in order), reads that belong to no
// partition go round the readers, and an empty directory (no such actor yet) answers an
// invalid handle rather than failing.
#include <gtest/gtest.h>

#include <set>

#include "actors/interfaces.hpp"
#include "tests/mocks/mock_protocol_bridge.hpp"
#include "tests/mocks/mock_storage_reader.hpp"
#include "tests/mocks/mock_storage_writer.hpp"

using namespace portask;
using namespace portask::testing;

namespace {

struct ActorDirectory : ::testing::Test {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  ActorDirectory() {
    configure_actor_system(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
  ~ActorDirectory() override {
    for (auto& a : spawned) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
  template <class Handle>
  Handle keep(Handle h) {
    spawned.push_back(caf::actor_cast<caf::actor>(h));
    return h;
  }
  actor_directory three_of_each() {
    actor_directory d;
    for (int i = 0; i < 3; ++i) {
      d.writers.push_back(keep(spawn_mock_storage_writer(*sys, std::make_shared<storage_writer_script>())));
      d.readers.push_back(keep(spawn_mock_storage_reader(*sys, std::make_shared<storage_reader_script>())));
      d.bridges.push_back(keep(spawn_mock_protocol_bridge(*sys, std::make_shared<protocol_bridge_script>())));
    }
    return d;
  }
  std::vector<caf::actor> spawned;
};

}  // namespace

TEST_F(ActorDirectory, APartitionAlwaysHasTheSameShardAndPartitionsSpreadOverAll) {
  const auto d = three_of_each();
  std::set<caf::actor_addr> writers, readers, bridges;
  for (std::int32_t p = 0; p < 64; ++p) {
    const topic_partition tp{"orders", p};
    EXPECT_EQ(d.writer_for(tp), d.writer_for(tp));
    EXPECT_EQ(d.reader_for(tp), d.reader_for(tp));
    EXPECT_EQ(d.bridge_for(tp), d.bridge_for(tp));
    writers.insert(d.writer_for(tp).address());
    readers.insert(d.reader_for(tp).address());
    bridges.insert(d.bridge_for(tp).address());
  }
  EXPECT_EQ(writers.size(), 3u);
  EXPECT_EQ(readers.size(), 3u);
  EXPECT_EQ(bridges.size(), 3u);
  // A copy (what every holder keeps) finds the same shards.
  const auto copy = d;
  EXPECT_EQ(copy.bridge_for({"orders", 5}), d.bridge_for({"orders", 5}));
  EXPECT_EQ(copy, d);
}

TEST_F(ActorDirectory, AReplacedShardIsFoundAndTheOthersStay) {
  auto d = three_of_each();
  const topic_partition tp{"orders", 3};
  const auto before = d.bridge_for(tp);
  std::size_t index = 0;
  while (d.bridges[index] != before) ++index;
  const auto other = topic_partition{"orders", 4};
  auto replacement = keep(spawn_mock_protocol_bridge(*sys, std::make_shared<protocol_bridge_script>()));
  const auto other_before = d.bridge_for(other);
  d.bridges[index] = replacement;
  EXPECT_EQ(d.bridge_for(tp), replacement);
  if (other_before != before) {
    EXPECT_EQ(d.bridge_for(other), other_before);
  }
}

TEST_F(ActorDirectory, ReadsOfNoPartitionGoRoundTheReaders) {
  const auto d = three_of_each();
  std::set<caf::actor_addr> seen;
  for (int i = 0; i < 3; ++i) seen.insert(d.any_reader().address());
  EXPECT_EQ(seen.size(), 3u);
}

TEST_F(ActorDirectory, AnEmptyDirectoryAnswersInvalidHandles) {
  const actor_directory d;
  EXPECT_FALSE(d.writer_for({"t", 0}));
  EXPECT_FALSE(d.reader_for({"t", 0}));
  EXPECT_FALSE(d.bridge_for({"t", 0}));
  EXPECT_FALSE(d.any_reader());
  EXPECT_FALSE(d.registry);
}
