// The broker context's directory of long-lived actors: lookups see a replaced handle at once
// (on every thread), shard by topic-partition, and two contexts never share a thread's cache.
#include "actors/runtime/broker_context.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "storage/memory_store.hpp"
#include "tests/mocks/mock_hooks.hpp"
#include "tests/mocks/mock_protocol_bridge.hpp"

using namespace portask;
using namespace portask::testing;

namespace {

struct BrokerDirectory : ::testing::Test {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  BrokerDirectory() {
    configure_actor_system(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
  ~BrokerDirectory() override {
    for (auto& a : spawned) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
  std::shared_ptr<broker_context> make_context() {
    return std::make_shared<broker_context>(broker_config{}, storage::memory_store::factory(),
                                            "memory");
  }
  protocol_bridge_actor bridge() {
    auto b = spawn_mock_protocol_bridge(*sys, std::make_shared<protocol_bridge_script>());
    spawned.push_back(caf::actor_cast<caf::actor>(b));
    return b;
  }
  hooks_actor hooks() {
    auto h = spawn_mock_hooks(*sys, std::make_shared<hooks_script>());
    spawned.push_back(caf::actor_cast<caf::actor>(h));
    return h;
  }
  std::vector<caf::actor> spawned;
};

}  // namespace

TEST_F(BrokerDirectory, AReplacedHandleIsSeenAtOnceOnEveryThread) {
  auto ctx = make_context();
  EXPECT_FALSE(ctx->hooks()) << "nothing registered yet";
  const auto first = hooks();
  ctx->set_hooks(first);
  EXPECT_EQ(ctx->hooks(), first);
  EXPECT_EQ(ctx->hooks(), first) << "answered from this thread's snapshot";
  const auto second = hooks();
  ctx->set_hooks(second);
  EXPECT_EQ(ctx->hooks(), second) << "a changed directory is not hidden by the cached one";
  hooks_actor seen_elsewhere;
  std::thread([&] { seen_elsewhere = ctx->hooks(); }).join();
  EXPECT_EQ(seen_elsewhere, second);
}

TEST_F(BrokerDirectory, BridgesAreShardedByTopicPartitionAndReplacedOneByOne) {
  auto ctx = make_context();
  const topic_partition tp{"orders", 3};
  EXPECT_FALSE(ctx->bridge_for(tp));
  ctx->set_bridges({bridge(), bridge()});
  EXPECT_EQ(ctx->bridge_count(), 2u);
  const auto before = ctx->bridge_for(tp);
  EXPECT_EQ(ctx->bridge_for(tp), before) << "the same partition always has the same bridge";
  std::size_t index = 0;
  for (; index < 2; ++index) {
    auto copy = ctx->directory();
    if (copy->bridges[index] == before) break;
  }
  ASSERT_LT(index, 2u);
  const auto replacement = bridge();
  ctx->set_bridge(index, replacement);
  EXPECT_EQ(ctx->bridge_for(tp), replacement);
}

TEST_F(BrokerDirectory, TwoContextsOnOneThreadKeepTheirOwnHandles) {
  auto a = make_context();
  auto b = make_context();
  const auto ha = hooks();
  const auto hb = hooks();
  a->set_hooks(ha);
  b->set_hooks(hb);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(a->hooks(), ha);
    EXPECT_EQ(b->hooks(), hb);
  }
  // A context created where a freed one was is a different context.
  a.reset();
  auto c = make_context();
  EXPECT_FALSE(c->hooks());
}
