// The cluster actor on the memory store, round by round: which leases it keeps, drops and
// names as its own, and what it leaves behind (docs/cluster.md). A store between the actor
// and the memory store tells the test what the rounds do: a round can be held at its read of
// the live nodes (so the test reads the view the round before published, and nothing changes
// it meanwhile), lease rounds can be made to fail (one of them slowly, as one that times
// out), and it records which rounds renewed the node's registration.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "actors/cluster/cluster_actor.hpp"
#include "actors/cluster/rendezvous.hpp"
#include "storage/memory_store.hpp"
#include "tests/mocks/faulty_store.hpp"

namespace portask {
namespace {

using namespace std::chrono_literals;
using storage::lease_claim;
using storage::lease_holder;
using storage::lease_intent;
using storage::node_registration;
using storage::topic_partition;

constexpr std::chrono::seconds patience{60};

// What the test sees of the cluster actor's store calls, and what it makes them do.
struct round_watch {
  std::mutex mutex;
  std::condition_variable changed;
  int lease_rounds = 0;      ///< lease rounds answered (failed ones too)
  int hold_after = INT_MAX;  ///< a round after this many lease rounds waits at the gate
  bool holding = false;      ///< a round waits at the gate now
  bool fail_lease_rounds = false;
  /// The next lease round fails after this long (a store that answers at the round's
  /// timeout, or later); none when unset.
  std::optional<std::chrono::milliseconds> fail_next_after;
  std::int32_t watched = -1;  ///< the node whose registration the reads look for
  bool listed = true;         ///< whether the last read of the live nodes listed it
  /// Whether the node's registration was renewed since the last lease round.
  bool registered = false;
  /// For each lease round: whether its round renewed the registration before it.
  std::vector<bool> renewed;

  void set_hold_after(int rounds) {
    std::lock_guard lock{mutex};
    hold_after = rounds;
    changed.notify_all();
  }
  /// The next round to read the live nodes after the lease round under way (if any) waits
  /// at the gate.
  void hold_next() {
    std::lock_guard lock{mutex};
    hold_after = lease_rounds + 1;
    changed.notify_all();
  }
  /// Until a round waits at the gate: the round before it has published its view.
  bool wait_held() {
    std::unique_lock lock{mutex};
    return changed.wait_for(lock, patience, [&] { return holding; });
  }
  /// The held round goes on, and the rounds after it run freely.
  void run_freely() { set_hold_after(INT_MAX); }
  void fail(bool f) {
    std::lock_guard lock{mutex};
    fail_lease_rounds = f;
  }
  void fail_once_after(std::chrono::milliseconds taking) {
    std::lock_guard lock{mutex};
    fail_next_after = taking;
  }
  /// Until `n` lease rounds have been answered; what `renewed` says of them.
  std::vector<bool> wait_lease_rounds(int n) {
    std::unique_lock lock{mutex};
    changed.wait_for(lock, patience, [&] { return lease_rounds >= n; });
    return renewed;
  }
  /// Until a read of the live nodes does (or does not) list the watched node.
  bool wait_listed(bool wanted) {
    std::unique_lock lock{mutex};
    return changed.wait_for(lock, patience, [&] { return listed == wanted; });
  }
};

class watched_store : public portask::testing::faulty_store {
 public:
  watched_store(std::unique_ptr<storage::log_store> inner, std::shared_ptr<round_watch> w)
      : faulty_store(std::move(inner), std::make_shared<control>()), watch_(std::move(w)) {}

  expected<std::vector<node_registration>> live_nodes() override {
    {
      std::unique_lock lock{watch_->mutex};
      if (watch_->lease_rounds >= watch_->hold_after) {
        watch_->holding = true;
        watch_->changed.notify_all();
        watch_->changed.wait(lock, [&] { return watch_->lease_rounds < watch_->hold_after; });
        watch_->holding = false;
      }
    }
    auto nodes = faulty_store::live_nodes();
    if (nodes) {
      std::lock_guard lock{watch_->mutex};
      const auto id = watch_->watched;
      watch_->listed = std::any_of(nodes->begin(), nodes->end(), [&](const auto& n) { return n.node == id; });
      watch_->changed.notify_all();
    }
    return nodes;
  }

  expected<bool> register_node(const node_registration& r, std::chrono::milliseconds ttl) override {
    auto out = faulty_store::register_node(r, ttl);
    std::lock_guard lock{watch_->mutex};
    if (out && *out) watch_->registered = true;
    return out;
  }

  expected<std::vector<lease_holder>> lease_round(const lease_holder& me, std::chrono::milliseconds ttl,
                                                  std::span<const lease_claim> claims) override {
    bool fail = false;
    std::optional<std::chrono::milliseconds> slow;
    {
      std::lock_guard lock{watch_->mutex};
      fail = watch_->fail_lease_rounds;
      slow = std::exchange(watch_->fail_next_after, std::nullopt);
    }
    // A store that answers late: what the round waits for, not the test.
    if (slow) std::this_thread::sleep_for(*slow);
    auto out = fail || slow ? expected<std::vector<lease_holder>>(errc::storage_unavailable)
                            : faulty_store::lease_round(me, ttl, claims);
    std::lock_guard lock{watch_->mutex};
    ++watch_->lease_rounds;
    watch_->renewed.push_back(std::exchange(watch_->registered, false));
    watch_->changed.notify_all();
    return out;
  }

 private:
  std::shared_ptr<round_watch> watch_;
};

// A supervisor with an empty directory (no registry: the actor retires and recovers nothing).
// Its (unused) argument goes through spawn(): CAF 0.17 binds a null argument tuple for a
// functor without arguments, which UBSan reports.
supervisor_actor::behavior_type empty_supervisor(int) {
  return {
      [](tick_atom) {},
      [](respawn_atom, std::size_t) {},
      [](directory_atom) -> caf::result<actor_directory> { return actor_directory{}; },
      [](subscribe_atom, const directory_follower_actor&) -> caf::result<actor_directory> {
        return actor_directory{};
      },
      [](node_atom, const cluster_actor&) {},
  };
}

class ClusterActor : public ::testing::Test {
 protected:
  void SetUp() override {
    configure_actor_system(actor_config_);
    sys_ = std::make_unique<caf::actor_system>(actor_config_);
    supervisor_ = sys_->spawn(empty_supervisor, 0);
    auto s = factory_();
    ASSERT_TRUE(s);
    store_ = std::move(*s);
    ASSERT_FALSE(store_->create_topic({"t", 16, {}}));
    for (std::int32_t p = 0; p < 16; ++p) {
      const topic_partition tp{"t", p};
      (rendezvous_owner(both_, storage::partition_lease(tp)) == a_.node ? as_ : bs_).push_back(tp);
    }
    ASSERT_FALSE(as_.empty());
    ASSERT_FALSE(bs_.empty());
  }

  void TearDown() override {
    watch_->run_freely();  // a round held at the gate would keep the actor from ending
    if (cluster_) caf::anon_send_exit(cluster_, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(supervisor_, caf::exit_reason::user_shutdown);
  }

  static broker_config config(std::int32_t node, std::uint32_t lease_ms, std::uint32_t renew_ms) {
    broker_config c;
    c.cluster.node_id = node;
    c.cluster.lease_ms = lease_ms;
    c.cluster.renew_ms = renew_ms;
    return c;
  }

  // Starts node `me` as the broker does once it has registered it: clustered, owning nothing
  // until its first round.
  void start(const node_registration& me, broker_config c) {
    ctx_ = std::make_shared<broker_context>(std::move(c), factory_, "memory");
    auto joining = std::make_shared<cluster_view>();
    joining->self = me.node;
    joining->token = me.token;
    joining->clustered = true;
    ctx_->publish_cluster(std::move(joining));
    storage::store_factory watched = [inner = factory_,
                                      w = watch_]() -> expected<std::unique_ptr<storage::log_store>> {
      auto s = inner();
      if (!s) return s.error();
      return std::unique_ptr<storage::log_store>(std::make_unique<watched_store>(std::move(*s), w));
    };
    cluster_ = spawn_cluster_actor(*sys_, ctx_, supervisor_, me, std::move(watched));
  }

  // Stops the node as SIGTERM does; whether it could tell the store.
  bool leave() {
    caf::scoped_actor self{*sys_};
    bool ok = false;
    self->request(cluster_, patience, leave_atom::value)
        .receive([&](bool told) { ok = told; }, [&](caf::error& e) { ADD_FAILURE() << sys_->render(e); });
    return ok;
  }

  // A group that rendezvous hashing gives `node` while both nodes are live.
  std::string group_hashed_to(std::int32_t node) const {
    for (int i = 0;; ++i)
      if (rendezvous_owner(both_, storage::group_lease("g" + std::to_string(i))) == node) return "g" + std::to_string(i);
  }

  // Who holds the lease, as a node that claims nothing sees it.
  lease_holder holder_in_store(const std::string& lease) {
    const lease_claim look[] = {{lease, lease_intent::look}};
    auto h = store_->lease_round({9, 0, "onlooker"}, 60s, look);
    EXPECT_TRUE(h);
    return h ? h->at(0) : lease_holder{};
  }

  caf::actor_system_config actor_config_;
  std::unique_ptr<caf::actor_system> sys_;
  storage::store_factory factory_ = storage::memory_store::factory();
  std::unique_ptr<storage::log_store> store_;
  std::shared_ptr<round_watch> watch_ = std::make_shared<round_watch>();
  std::shared_ptr<broker_context> ctx_;
  supervisor_actor supervisor_;
  cluster_actor cluster_;
  const node_registration a_{1, "run-of-1", ""};
  const node_registration b_{2, "run-of-2", ""};
  const std::vector<std::int32_t> both_{1, 2};
  std::vector<topic_partition> as_, bs_;  ///< the partitions rendezvous gives node 1, node 2
};

// Node 1 held every partition before node 2 joined, and its view lost them (emptied while the
// store could not be reached). Its next round finds node 2 live: the leases node 2 now gets
// are still node 1's in the store, running out at their last renewal. Node 1 must release
// them, not take them for its own with a lease time from this round: it would name itself
// leader of partitions node 2 takes as soon as they run out.
TEST_F(ClusterActor, ALeaseItHoldsButNoLongerGetsIsReleasedEvenWhenItsViewDoesNotShowIt) {
  ASSERT_TRUE(store_->register_node(a_, 60s).value());
  ASSERT_TRUE(store_->register_node(b_, 60s).value());
  std::vector<lease_claim> every;
  for (std::int32_t p = 0; p < 16; ++p) every.push_back({storage::partition_lease({"t", p}), lease_intent::want});
  auto taken = store_->lease_round({a_.node, 0, a_.token}, 60s, every);
  ASSERT_TRUE(taken);
  for (const auto& h : *taken) ASSERT_EQ(h, (lease_holder{1, 1, a_.token}));

  watch_->set_hold_after(1);  // the second round waits: the first one's view stays
  start(a_, config(1, 60'000, 100));
  ASSERT_TRUE(watch_->wait_held());
  const auto view = ctx_->cluster();
  for (const auto& tp : bs_) {
    EXPECT_FALSE(view->owns(tp)) << tp.partition;
    EXPECT_NE(view->leader(tp), 1) << tp.partition;
    EXPECT_FALSE(holder_in_store(storage::partition_lease(tp)).held()) << tp.partition << " was not released";
  }
  // The ones it still gets it renews: the same leases, not taken again.
  for (const auto& tp : as_) {
    EXPECT_TRUE(view->owns(tp)) << tp.partition;
    EXPECT_EQ(view->leader(tp), 1) << tp.partition;
    EXPECT_EQ(holder_in_store(storage::partition_lease(tp)), (lease_holder{1, 1, a_.token})) << tp.partition;
  }
}

// portask_cluster_failovers_total (and /api/cluster's "failovers") counts the partitions a
// node took over from a holder that let the lease run out, nothing else: not those a node
// stopped with SIGTERM released (one restarted under the same id, or a node that joined, is
// handed its share the same way), nor the first lease of a topic deleted and created again
// under its name (whose epoch counter carried on).
TEST_F(ClusterActor, OnlyALeaseItsHolderLetRunOutCountsAsAFailover) {
  ASSERT_TRUE(store_->register_node(a_, 60s).value());
  // Node 2, no longer registered, held every partition of "t": it let those of node 1's own
  // share run out (a lease of 0 ms: it died at once) and released node 2's (it left).
  for (const auto& tp : as_) {
    const lease_claim want[] = {{storage::partition_lease(tp), lease_intent::want}};
    ASSERT_TRUE(store_->lease_round({b_.node, 0, b_.token}, 0ms, want)->at(0).held());
  }
  for (const auto& tp : bs_) {
    const lease_claim want[] = {{storage::partition_lease(tp), lease_intent::want}};
    const lease_claim drop[] = {{storage::partition_lease(tp), lease_intent::drop}};
    ASSERT_TRUE(store_->lease_round({b_.node, 0, b_.token}, 60s, want)->at(0).held());
    ASSERT_FALSE(store_->lease_round({b_.node, 0, b_.token}, 60s, drop)->at(0).held());
  }
  // Topic "again" was deleted under node 2, which held it, and created again.
  const storage::topic_info again{"again", 2, {}};
  ASSERT_FALSE(store_->create_topic(again));
  std::vector<lease_claim> both_partitions;
  for (std::int32_t p = 0; p < 2; ++p)
    both_partitions.push_back({storage::partition_lease({"again", p}), lease_intent::want});
  ASSERT_TRUE(store_->lease_round({b_.node, 0, b_.token}, 60s, both_partitions));
  ASSERT_EQ(store_->delete_topic(again).value(), storage::topic_write::done);
  ASSERT_FALSE(store_->create_topic(again));

  watch_->set_hold_after(1);  // the first round's view and counts stay
  start(a_, config(1, 60'000, 100));
  ASSERT_TRUE(watch_->wait_held());
  const auto view = ctx_->cluster();
  for (std::int32_t p = 0; p < 16; ++p) EXPECT_TRUE(view->owns({"t", p})) << p;
  for (std::int32_t p = 0; p < 2; ++p) {
    EXPECT_TRUE(view->owns({"again", p})) << p;
    EXPECT_EQ(view->leader_epoch({"again", p}), 2) << p;
  }
  EXPECT_EQ(ctx_->metrics.cluster_takeovers_total(), as_.size())
      << "only the leases node 2 let run out are failovers";
}

// SIGTERM: the node releases its leases and its registration, and the view it publishes for
// the connections that still drain lists only the others, names it leader of nothing and
// coordinator of no group.
TEST_F(ClusterActor, ALeavingNodeReleasesItsLeasesAndNamesOnlyTheOthers) {
  ASSERT_TRUE(store_->register_node(a_, 60s).value());
  ASSERT_TRUE(store_->register_node(b_, 60s).value());
  watch_->set_hold_after(1);
  start(a_, config(1, 60'000, 100));
  ASSERT_TRUE(watch_->wait_held());
  for (const auto& tp : as_) ASSERT_EQ(ctx_->cluster()->leader(tp), 1) << tp.partition;
  const auto its_group = group_hashed_to(1);
  ASSERT_EQ(ctx_->cluster()->coordinator(its_group), 1);

  watch_->run_freely();
  EXPECT_TRUE(leave());
  const auto view = ctx_->cluster();
  EXPECT_EQ(view->live, (std::vector<std::int32_t>{2}));
  EXPECT_EQ(view->node(1), nullptr);
  EXPECT_EQ(view->tokens.count(1), 0u);
  EXPECT_EQ(view->coordinator(its_group), 2);
  for (std::int32_t p = 0; p < 16; ++p) {
    const topic_partition tp{"t", p};
    EXPECT_NE(view->leader(tp), 1) << p;
    EXPECT_FALSE(holder_in_store(storage::partition_lease(tp)).held()) << p;
  }
  auto live = store_->live_nodes();
  ASSERT_TRUE(live);
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ(live->front().node, 2);
}

// Lease rounds that keep failing while the registration is renewed would leave the node
// listed, and handed its share, which nobody serves: once none has succeeded for a lease
// time the registration runs out, and the first lease round that succeeds again brings it
// back, with its share.
TEST_F(ClusterActor, ANodeWhoseLeaseRoundsKeepFailingLetsItsRegistrationRunOut) {
  ASSERT_TRUE(store_->register_node(a_, 1000ms).value());  // as the broker registers it
  ASSERT_TRUE(store_->register_node(b_, 60s).value());
  watch_->watched = a_.node;
  watch_->fail(true);
  start(a_, config(1, 1000, 100));
  ASSERT_TRUE(watch_->wait_listed(false)) << "the registration is still renewed";
  auto live = store_->live_nodes();
  ASSERT_TRUE(live);
  EXPECT_TRUE(std::none_of(live->begin(), live->end(), [](const auto& n) { return n.node == 1; }));

  watch_->fail(false);
  ASSERT_TRUE(watch_->wait_listed(true)) << "not registered again";
  live = store_->live_nodes();
  ASSERT_TRUE(live);
  EXPECT_TRUE(std::any_of(live->begin(), live->end(), [&](const auto& n) { return n.node == 1 && n.token == a_.token; }));
  // The round that found it listed again took its share.
  watch_->hold_next();
  ASSERT_TRUE(watch_->wait_held());
  const auto view = ctx_->cluster();
  EXPECT_EQ(view->live, both_);
  for (const auto& tp : as_) EXPECT_TRUE(view->owns(tp)) << tp.partition;
}

// A node whose leases have run out locally (its lease rounds keep failing) holds nothing,
// and once its registration has lapsed the others send its share elsewhere: its own view
// must not list it either, or its Metadata and FindCoordinator answers would name it
// coordinator of groups it cannot take, and clients would loop on NOT_COORDINATOR.
TEST_F(ClusterActor, ANodeThatCannotRenewItsLeasesNoLongerListsItself) {
  ASSERT_TRUE(store_->register_node(a_, 1000ms).value());
  ASSERT_TRUE(store_->register_node(b_, 60s).value());
  watch_->watched = a_.node;
  watch_->set_hold_after(1);
  start(a_, config(1, 1000, 100));
  ASSERT_TRUE(watch_->wait_held());
  const auto its_group = group_hashed_to(1);
  ASSERT_EQ(ctx_->cluster()->live, both_);
  ASSERT_EQ(ctx_->cluster()->coordinator(its_group), 1);
  for (const auto& tp : as_) ASSERT_EQ(ctx_->cluster()->leader(tp), 1) << tp.partition;

  watch_->fail(true);
  watch_->run_freely();
  ASSERT_TRUE(watch_->wait_listed(false)) << "the registration is still renewed";
  watch_->hold_next();
  ASSERT_TRUE(watch_->wait_held());  // every round before has published its view
  const auto view = ctx_->cluster();
  EXPECT_EQ(view->live, (std::vector<std::int32_t>{2}));
  EXPECT_EQ(view->node(1), nullptr);
  EXPECT_EQ(view->tokens.count(1), 0u);
  EXPECT_EQ(view->coordinator(its_group), 2);
  for (std::int32_t p = 0; p < 16; ++p) EXPECT_NE(view->leader({"t", p}), 1) << p;
}

// One lease round that fails does not let the registration lapse, however long it took
// (here longer than a round may, past the lease time since the last one that succeeded): the
// round after it renews the registration as every round does. Lapsing there would let the
// registration run out under a node whose next lease round works.
TEST_F(ClusterActor, OneFailedLeaseRoundNeverLetsTheRegistrationLapse) {
  ASSERT_TRUE(store_->register_node(a_, 1000ms).value());
  ASSERT_TRUE(store_->register_node(b_, 60s).value());
  watch_->set_hold_after(1);
  start(a_, config(1, 1000, 500));
  ASSERT_TRUE(watch_->wait_held());  // the first lease round succeeded
  watch_->fail_once_after(600ms);    // with renew_ms before it and the retry after: a lease time
  watch_->run_freely();
  const auto renewed = watch_->wait_lease_rounds(3);
  ASSERT_GE(renewed.size(), 3u);
  EXPECT_TRUE(renewed[0]);
  EXPECT_TRUE(renewed[1]);  // the round that failed
  EXPECT_TRUE(renewed[2]) << "the round after one failed lease round did not renew the registration";
}

}  // namespace
}  // namespace portask
