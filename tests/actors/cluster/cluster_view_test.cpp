// The cluster's pure parts: rendezvous hashing, advertised endpoints, the view's answers.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <vector>

#include "actors/cluster/cluster_view.hpp"
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
  EXPECT_EQ(v.leader_epoch({"t", 3}), -1);
  std::set<std::int32_t> coordinators;
  for (int g = 0; g < 50; ++g) coordinators.insert(v.coordinator("group-" + std::to_string(g)));
  EXPECT_EQ(coordinators, (std::set<std::int32_t>{1, 2, 3}));
  // Past the time this node may act on its leases, it owns nothing.
  v.owned_until = std::chrono::steady_clock::now();
  EXPECT_FALSE(v.owns({"t", 0}));
}
