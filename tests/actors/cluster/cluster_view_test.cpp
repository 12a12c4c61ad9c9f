// The cluster's pure parts: rendezvous hashing, advertised endpoints, the view's answers,
// which groups' leases a node keeps, how soon a round that waits for a lease looks again.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "actors/cluster/cluster_view.hpp"
#include "actors/cluster/group_wants.hpp"
#include "actors/cluster/lease_wait.hpp"
#include "actors/cluster/node_info.hpp"
#include "actors/cluster/rendezvous.hpp"

using namespace portask;

TEST(Rendezvous, EveryNodeGetsAShareAndOnlyALeavingNodesPartitionsMove) {
  const std::vector<std::int32_t> three{1, 2, 3}, two{1, 3};
  std::map<std::int32_t, int> share;
  int moved = 0;
  for (int p = 0; p < 3000; ++p) {
    const auto name = storage::partition_lease({"t", p});
    const auto before = rendezvous_owner(three, name);
    const auto after = rendezvous_owner(two, name);
    ++share[before];
    if (before != 2) {
      EXPECT_EQ(after, before) << p;  // only node 2's partitions move
    }
    moved += before == 2;
  }
  for (auto id : three) {
    EXPECT_GT(share[id], 800) << id;  // about a third each
    EXPECT_LT(share[id], 1200) << id;
  }
  EXPECT_EQ(moved, share[2]);
  EXPECT_EQ(rendezvous_owner({}, "x"), -1);
  // The order the nodes are listed in does not matter.
  const std::vector<std::int32_t> shuffled{3, 1, 2};
  for (int p = 0; p < 100; ++p)
    EXPECT_EQ(rendezvous_owner(three, storage::partition_lease({"t", p})),
              rendezvous_owner(shuffled, storage::partition_lease({"t", p})));
}

TEST(Rendezvous, ScoresAreTheSameOnEveryBuild) {
  // Fixed values (FNV-1a then splitmix64's finaliser, computed independently): nodes built
  // differently must agree on every owner.
  EXPECT_EQ(rendezvous_score(1, "partition:t:0"), 0x63aa62cb59b521c6ULL);
  EXPECT_EQ(rendezvous_score(2, "partition:t:0"), 0x41ba06a7c1d8b3b7ULL);
  EXPECT_EQ(rendezvous_score(3, "group:g"), 0x587afa9f7f81516cULL);
}

TEST(NodeInfo, EndpointsRoundTripAndJunkLinesAreSkipped) {
  node_info n;
  n.id = 4;
  n.kafka["PLAINTEXT"] = {"10.0.0.4", 9092};
  n.kafka["INTERNAL"] = {"::1", 9093};
  n.native = host_port{"10.0.0.4", 7070};
  n.http = host_port{"node4.example", 8080};
  const auto text = encode_endpoints(n);
  EXPECT_EQ(decode_endpoints(4, text), n);
  EXPECT_NE(text.find("kafka.INTERNAL=[::1]:9093"), std::string::npos) << text;
  const auto junk = decode_endpoints(5, "nonsense\nkafka.X=host:notaport\nkafka.Y=h:1\nfuture=a:2\n");
  EXPECT_EQ(junk.kafka.size(), 1u);
  EXPECT_EQ(junk.kafka.at("Y"), (host_port{"h", 1}));
  EXPECT_FALSE(parse_host_port("h:0"));
  EXPECT_FALSE(parse_host_port("h:65536"));
  EXPECT_FALSE(parse_host_port(":1"));
  EXPECT_FALSE(parse_host_port("[::1:1"));
}

TEST(ClusterView, ASingleNodeOwnsEverythingAClusterNodeOnlyWhatItsLeasesSay) {
  const auto single = single_node_view();
  EXPECT_TRUE(single->owns({"t", 5}));
  EXPECT_EQ(single->leader({"t", 5}), 0);
  EXPECT_EQ(single->leader_epoch({"t", 5}), 0);
  EXPECT_TRUE(single->coordinates("g"));

  cluster_view v;
  v.self = 2;
  v.token = "me";
  v.clustered = true;
  v.live = {1, 2, 3};
  for (auto id : v.live) v.nodes[id].id = id;
  v.holders[{"t", 0}] = {2, 7, "me"};
  v.holders[{"t", 1}] = {2, 3, "an-earlier-run"};
  v.holders[{"t", 2}] = {1, 4, "x"};
  const storage::lease_holder* lease = nullptr;
  EXPECT_TRUE(v.owns({"t", 0}, &lease));
  EXPECT_EQ(lease->epoch, 7);
  EXPECT_FALSE(v.owns({"t", 1}));  // this id, another run
  EXPECT_FALSE(v.owns({"t", 2}));
  EXPECT_FALSE(v.owns({"t", 3}));  // nobody holds it
  // A group is coordinated here only while this run holds its lease.
  v.group_holders["mine"] = {2, 5, "me"};
  v.group_holders["earlier-run"] = {2, 6, "an-earlier-run"};
  v.group_holders["theirs"] = {3, 2, "y"};
  EXPECT_TRUE(v.coordinates("mine"));
  EXPECT_EQ(v.group_lease("mine")->epoch, 5);
  EXPECT_FALSE(v.coordinates("earlier-run"));
  EXPECT_FALSE(v.coordinates("theirs"));
  EXPECT_FALSE(v.coordinates("unasked"));
  EXPECT_EQ(v.leader({"t", 2}), 1);
  EXPECT_EQ(v.leader_epoch({"t", 2}), 4);
  EXPECT_EQ(v.leader({"t", 3}), -1);
  std::set<std::int32_t> coordinators;
  for (int g = 0; g < 50; ++g) coordinators.insert(v.coordinator("group-" + std::to_string(g)));
  EXPECT_EQ(coordinators, (std::set<std::int32_t>{1, 2, 3}));
  // Past the time this node may act on its leases, it owns nothing.
  v.owned_until = std::chrono::steady_clock::now();
  EXPECT_FALSE(v.owns({"t", 0}));
}

TEST(ClusterView, ANodeNamesItselfLeaderOnlyWhileItMayServe) {
  cluster_view v;
  v.self = 2;
  v.token = "me";
  v.clustered = true;
  v.live = {1, 2, 3};
  for (auto id : v.live) v.nodes[id].id = id;
  v.tokens = {{1, "one"}, {2, "me"}, {3, "three"}};
  v.holders[{"t", 0}] = {2, 7, "me"};
  v.holders[{"t", 1}] = {2, 3, "an-earlier-run"};
  v.holders[{"t", 2}] = {1, 4, "one"};
  v.holders[{"t", 3}] = {3, 5, "an-earlier-run-of-3"};
  v.holders[{"t", 4}] = {4, 6, "not-live"};
  EXPECT_EQ(v.leader({"t", 0}), 2);
  EXPECT_EQ(v.leader_epoch({"t", 0}), 7);
  EXPECT_EQ(v.leader({"t", 2}), 1);
  EXPECT_EQ(v.leader_epoch({"t", 2}), 4);
  // This id under an earlier run's token, or another node's earlier run: nobody serves it.
  EXPECT_EQ(v.leader({"t", 1}), -1);
  EXPECT_EQ(v.leader({"t", 3}), -1);
  // A holder whose token is unknown here (not live) is named: Metadata leaves out the nodes
  // it does not list.
  EXPECT_EQ(v.leader({"t", 4}), 4);
  // Past the time this node may act on its leases (its round is late), it names nobody for
  // its own partitions, so that clients ask again instead of looping on NOT_LEADER; the
  // others' leases are theirs to judge. The epoch stays the lease's (what the partition,
  // until it stops here, checks clients' epochs against).
  v.owned_until = std::chrono::steady_clock::now();
  EXPECT_EQ(v.leader({"t", 0}), -1);
  EXPECT_EQ(v.leader_epoch({"t", 0}), 7);
  EXPECT_EQ(v.leader({"t", 2}), 1);
  EXPECT_EQ(v.leader_epoch({"t", 2}), 4);
}

TEST(ClusterView, ALeavingNodesViewListsAndNamesOnlyTheOthers) {
  cluster_view v;
  v.self = 2;
  v.token = "me";
  v.clustered = true;
  v.live = {1, 2, 3};
  for (auto id : v.live) v.nodes[id].id = id;
  v.tokens = {{1, "one"}, {2, "me"}, {3, "three"}};
  v.holders[{"t", 0}] = {2, 7, "me"};
  v.holders[{"t", 1}] = {2, 3, "an-earlier-run"};
  v.holders[{"t", 2}] = {1, 4, "one"};
  v.group_holders["mine"] = {2, 5, "me"};
  // A group this node coordinates is one it hashes to while it is live.
  std::string hashed_here;
  for (int i = 0; hashed_here.empty(); ++i)
    if (v.coordinator("g" + std::to_string(i)) == 2) hashed_here = "g" + std::to_string(i);
  ASSERT_EQ(v.leader({"t", 0}), 2);

  const auto left = leaving_view(v);
  EXPECT_TRUE(left->clustered);
  EXPECT_EQ(left->self, 2);
  EXPECT_EQ(left->live, (std::vector<std::int32_t>{1, 3}));
  EXPECT_EQ(left->node(2), nullptr);
  EXPECT_EQ(left->tokens.count(2), 0u);
  EXPECT_NE(left->node(1), nullptr);
  // It names nobody, never itself, for what it held; the others' leases stay theirs.
  EXPECT_EQ(left->holder({"t", 0}), nullptr);
  EXPECT_EQ(left->holder({"t", 1}), nullptr);
  EXPECT_EQ(left->leader({"t", 0}), -1);
  EXPECT_EQ(left->leader({"t", 2}), 1);
  EXPECT_FALSE(left->coordinates("mine"));
  EXPECT_NE(left->coordinator(hashed_here), 2);
  EXPECT_NE(left->coordinator(hashed_here), -1);
}

namespace {
using wants_clock = group_wants::clock;
constexpr std::chrono::milliseconds lease_time{3000};
}  // namespace

TEST(GroupWants, AGroupAskedForAndNeverUsedIsLetGoALeaseTimeAfterItsLeaseWasTaken) {
  group_wants w;
  const wants_clock::time_point t0{};
  EXPECT_TRUE(w.asked("typo", t0));  // new: a round should take its lease
  EXPECT_FALSE(w.asked("typo", t0 + std::chrono::milliseconds(100)));  // already wanted
  EXPECT_TRUE(w.wanted("typo"));
  // The round takes the lease a second later; nobody comes back for it.
  const auto taken = t0 + std::chrono::seconds(1);
  w.lease_taken("typo", taken);
  EXPECT_TRUE(w.expire(taken + lease_time - std::chrono::milliseconds(1), lease_time).empty());
  EXPECT_TRUE(w.wanted("typo"));
  EXPECT_EQ(w.expire(taken + lease_time, lease_time), std::vector<std::string>{"typo"});
  EXPECT_FALSE(w.wanted("typo"));
  // Dropped in that round, it is forgotten; asked for again, it is new again.
  w.forget("typo");
  EXPECT_TRUE(w.all().empty());
  EXPECT_TRUE(w.asked("typo", taken + 2 * lease_time));
}

TEST(GroupWants, AGroupWhoseLeaseIsNotTakenIsLetGoALeaseTimeAfterTheLastRequest) {
  group_wants w;
  const wants_clock::time_point t0{};
  w.asked("held-elsewhere", t0);
  // The client retries (its lease is still another node's): each request counts anew.
  w.asked("held-elsewhere", t0 + std::chrono::seconds(2));
  EXPECT_TRUE(w.expire(t0 + lease_time, lease_time).empty());
  EXPECT_EQ(w.expire(t0 + std::chrono::seconds(2) + lease_time, lease_time),
            std::vector<std::string>{"held-elsewhere"});
}

TEST(GroupWants, AGroupWithACoordinatorKeepsItsLeaseUntilALeaseTimeAfterTheDirectoryLetsItGo) {
  group_wants w;
  const wants_clock::time_point t0{};
  w.asked("used", t0);
  w.lease_taken("used", t0);
  w.coordinated("used", 42);
  EXPECT_TRUE(w.expire(t0 + 100 * lease_time, lease_time).empty());
  EXPECT_TRUE(w.wanted("used"));
  // The same directory, told again (a directory update): nothing changes.
  w.directory_is(42, t0 + 100 * lease_time);
  EXPECT_TRUE(w.expire(t0 + 200 * lease_time, lease_time).empty());
  // Its coordinator retired (a read, then nothing): the lease stays a lease time, so that
  // the next read starts a coordinator under it rather than retaking it under a new epoch.
  const auto retired = t0 + 300 * lease_time;
  w.let_go("used", retired);
  EXPECT_TRUE(w.wanted("used"));
  EXPECT_TRUE(w.expire(retired + lease_time - std::chrono::milliseconds(1), lease_time).empty());
  // A read came meanwhile: a coordinator runs under it again and it is kept.
  w.coordinated("used", 42);
  EXPECT_TRUE(w.expire(retired + 10 * lease_time, lease_time).empty());
  // It retired again and nothing came: the lease goes a lease time later.
  const auto again = retired + 20 * lease_time;
  w.let_go("used", again);
  EXPECT_TRUE(w.expire(again + lease_time - std::chrono::milliseconds(1), lease_time).empty());
  EXPECT_EQ(w.expire(again + lease_time, lease_time), std::vector<std::string>{"used"});
  EXPECT_FALSE(w.wanted("used"));
}

TEST(GroupWants, ARestartedDirectoryRunsNoneOfTheOldCoordinators) {
  group_wants w;
  const wants_clock::time_point t0{};
  w.coordinated("old", 42);
  w.coordinated("new", 43);  // the new directory started one before this node heard of it
  const auto restarted = t0 + std::chrono::seconds(10);
  w.directory_is(43, restarted);
  EXPECT_TRUE(w.expire(restarted + lease_time - std::chrono::milliseconds(1), lease_time).empty());
  EXPECT_EQ(w.expire(restarted + lease_time, lease_time), std::vector<std::string>{"old"});
  EXPECT_TRUE(w.wanted("new"));
}

namespace {
using std::chrono::milliseconds;
const std::vector<std::string> dead_nodes_lease{"lease:{partition:t:0}"};
const std::vector<std::string> other_lease{"lease:{partition:t:1}"};
}  // namespace

TEST(LeaseWait, AWaitLooksAgainAfter50MsThenLessOftenUpToTheCeiling) {
  lease_wait w;
  EXPECT_EQ(w.next(dead_nodes_lease, milliseconds(250)), milliseconds(50));
  EXPECT_EQ(w.next(dead_nodes_lease, milliseconds(250)), milliseconds(100));
  EXPECT_EQ(w.next(dead_nodes_lease, milliseconds(250)), milliseconds(200));
  EXPECT_EQ(w.next(dead_nodes_lease, milliseconds(250)), milliseconds(250));
  EXPECT_EQ(w.next(dead_nodes_lease, milliseconds(250)), milliseconds(250));
  // A higher ceiling (a long renew_ms): the doubling stops at 400 ms.
  lease_wait slow;
  for (int i = 0; i < 3; ++i) slow.next(dead_nodes_lease, milliseconds(2000));
  EXPECT_EQ(slow.next(dead_nodes_lease, milliseconds(2000)), milliseconds(400));
  EXPECT_EQ(slow.next(dead_nodes_lease, milliseconds(2000)), milliseconds(400));
  // A ceiling below the first retry (a very short renew_ms) still waits that long.
  lease_wait fast;
  EXPECT_EQ(fast.next(dead_nodes_lease, milliseconds(5)), milliseconds(50));
  EXPECT_EQ(fast.next(dead_nodes_lease, milliseconds(5)), milliseconds(50));
}

// A later failover waits for other leases: it starts at 50 ms, not where the earlier wait
// had backed off to.
TEST(LeaseWait, AWaitForOtherLeasesStartsAgainAt50Ms) {
  lease_wait w;
  for (int i = 0; i < 4; ++i) w.next(dead_nodes_lease, milliseconds(250));
  EXPECT_EQ(w.next(other_lease, milliseconds(250)), milliseconds(50));
  EXPECT_EQ(w.next(other_lease, milliseconds(250)), milliseconds(100));
  // One more lease awaited is another wait too.
  std::vector<std::string> both = dead_nodes_lease;
  both.push_back(other_lease.front());
  EXPECT_EQ(w.next(both, milliseconds(250)), milliseconds(50));
}

// A wait that ended (a round that waited for nothing, failed, or ran with the registration
// lapsed) does not leave the next one backed off, even for the same lease.
TEST(LeaseWait, AWaitThatEndedStartsAgainAt50Ms) {
  lease_wait w;
  for (int i = 0; i < 4; ++i) w.next(dead_nodes_lease, milliseconds(250));
  EXPECT_EQ(w.next(dead_nodes_lease, milliseconds(250)), milliseconds(250));
  w.reset();
  EXPECT_EQ(w.next(dead_nodes_lease, milliseconds(250)), milliseconds(50));
}
