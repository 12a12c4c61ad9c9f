// The group state machine without actors: time is passed in, parked requests come back as
// deliveries.
#include "actors/groups/consumer_group.hpp"

#include <gtest/gtest.h>

using namespace portask;
using namespace std::chrono_literals;
using state = consumer_group::state;

namespace {

class ConsumerGroup : public ::testing::Test {
 protected:
  ConsumerGroup() : group_("g", limits()) {}
  static group_limits limits() {
    group_limits l;
    l.initial_rebalance_delay = 100ms;
    return l;
  }
  join_group_request request(const std::string& member = {},
                             std::vector<std::string> protocols = {"range", "roundrobin"}) {
    join_group_request r;
    r.member_id = member;
    r.client_id = "c";
    r.session_timeout_ms = 10000;
    r.rebalance_timeout_ms = 5000;
    r.protocol_type = "consumer";
    for (auto& p : protocols) r.protocols.push_back({p, "meta-" + p});
    r.require_known_member = true;
    return r;
  }
  // KIP-394 first join: returns the id handed out.
  std::string first_join() {
    consumer_group::deliveries out;
    auto r = group_.join(request(), ticket_++, now_, out);
    EXPECT_TRUE(r);
    EXPECT_EQ(r->error, errc::member_id_required);
    return r->member_id;
  }
  // Joins with `id` (parked), returns the ticket.
  std::uint64_t join_parked(const std::string& id, consumer_group::deliveries& out) {
    const auto t = ticket_++;
    EXPECT_FALSE(group_.join(request(id), t, now_, out));
    return t;
  }
  // Brings up a stable group of `n` members; returns their ids (leader first).
  std::vector<std::string> stable_group(int n) {
    std::vector<std::string> ids;
    consumer_group::deliveries out;
    for (int i = 0; i < n; ++i) {
      ids.push_back(first_join());
      join_parked(ids.back(), out);
    }
    now_ += 200ms;  // past the initial delay
    group_.tick(now_, out);
    EXPECT_EQ(out.joins.size(), static_cast<std::size_t>(n));
    const std::string leader = group_.leader();
    everyone_syncs(ids);
    std::erase(ids, leader);
    ids.insert(ids.begin(), leader);
    return ids;
  }

  // The leader of a generation whose joins are answered hands out "for-<id>" to each of `ids`
  // and the followers ask for their share, as clients do (a member that never syncs is
  // removed): the group is stable.
  void everyone_syncs(const std::vector<std::string>& ids) {
    const std::string leader = group_.leader();
    sync_group_request s;
    s.member_id = leader;
    s.generation = group_.generation();
    for (const auto& id : ids) s.assignments.emplace_back(id, "for-" + id);
    consumer_group::deliveries sout;
    EXPECT_FALSE(group_.sync(s, ticket_++, now_, sout));
    EXPECT_EQ(sout.syncs.size(), 1u);
    EXPECT_EQ(group_.current_state(), state::stable);
    for (const auto& id : ids) {
      if (id == leader) continue;
      sync_group_request f;
      f.member_id = id;
      f.generation = group_.generation();
      EXPECT_TRUE(group_.sync(f, ticket_++, now_, sout));
    }
  }

  // A first join without KIP-394 from client `client` (member ids start with the client id,
  // so the client ids set the order of the member ids), static with `instance` if given.
  join_group_request join_from(const std::string& client, std::optional<std::string> instance = std::nullopt) {
    auto r = request();
    r.require_known_member = false;
    r.client_id = client;
    r.instance_id = std::move(instance);
    return r;
  }

  // `joins` come to an empty group one after the other, the initial delay passes, and the
  // group is made stable (everyone_syncs). Returns the member ids in the order they joined.
  std::vector<std::string> stable_group_joined_in_order(const std::vector<join_group_request>& joins) {
    consumer_group::deliveries out;
    std::vector<std::uint64_t> tickets;
    for (const auto& j : joins) {
      tickets.push_back(ticket_);
      EXPECT_FALSE(group_.join(j, ticket_++, now_, out));
    }
    now_ += 200ms;
    group_.tick(now_, out);
    std::vector<std::string> ids;
    for (const auto t : tickets)
      for (const auto& j : out.joins)
        if (j.ticket == t) ids.push_back(j.result.member_id);
    EXPECT_EQ(ids.size(), joins.size());
    everyone_syncs(ids);
    return ids;
  }

  // A leader (client "a", which joins first, so it leads) and a follower with instance id
  // "worker-1" join an empty group, which completes its first rebalance. Returns the leader's
  // and the follower's member ids; the requests are kept in `leader_join` and `static_join`
  // for the test to send again.
  std::pair<std::string, std::string> leader_and_static_follower() {
    leader_join = request();
    leader_join.require_known_member = false;
    leader_join.client_id = "a";
    static_join = leader_join;
    static_join.client_id = "z";
    static_join.instance_id = "worker-1";
    consumer_group::deliveries out;
    join_an_empty_group_and_wait_out_the_initial_delay(leader_join, static_join, out);
    EXPECT_EQ(out.joins.size(), 2u);
    const auto lead = group_.leader();
    EXPECT_EQ(lead.substr(0, 2), "a-");
    std::string follower;
    for (const auto& j : out.joins)
      if (j.result.member_id != lead) follower = j.result.member_id;
    return {lead, follower};
  }

  // Two static members join an empty group, both supporting JoinGroup v9's SkipAssignment or
  // neither: a leader (client "a", which joins first, so it leads; instance id "leader-1") and
  // a follower (client "z", instance id "worker-1"). Once the first rebalance completes, the
  // leader syncs keeping "p0" for itself: the group is stable. The requests are kept in
  // `static_leader_join` and `static_follower_join` for the test to send again, the leader's
  // member id in `static_leader`. Asserts: call it in ASSERT_NO_FATAL_FAILURE.
  void stable_group_with_a_static_leader(bool supports_skip_assignment, consumer_group::deliveries& out) {
    static_leader_join = request();
    static_leader_join.require_known_member = false;
    static_leader_join.supports_skip_assignment = supports_skip_assignment;
    static_leader_join.client_id = "a";  // joins first, so it leads
    static_leader_join.instance_id = "leader-1";
    static_follower_join = static_leader_join;
    static_follower_join.client_id = "z";
    static_follower_join.instance_id = "worker-1";
    join_an_empty_group_and_wait_out_the_initial_delay(static_leader_join, static_follower_join, out);
    ASSERT_EQ(out.joins.size(), 2u);
    static_leader = group_.leader();
    ASSERT_EQ(static_leader.rfind("a-", 0), 0u);
    EXPECT_FALSE((group_.sync({static_leader, std::string("leader-1"), 1, std::nullopt, std::nullopt,
                               {{static_leader, "p0"}}},
                              ticket_++, now_, out)));
    ASSERT_EQ(group_.current_state(), state::stable);
  }

  // `first` and `second` join, in that order, and the initial delay passes: the first
  // rebalance completes with the members that joined.
  void join_an_empty_group_and_wait_out_the_initial_delay(const join_group_request& first,
                                                          const join_group_request& second,
                                                          consumer_group::deliveries& out) {
    group_.join(first, ticket_++, now_, out);
    group_.join(second, ticket_++, now_, out);
    now_ += 200ms;
    group_.tick(now_, out);
  }

  join_group_request leader_join, static_join;
  join_group_request static_leader_join, static_follower_join;
  std::string static_leader;
  consumer_group group_;
  consumer_group::time_point now_ = consumer_group::clock::now();
  std::uint64_t ticket_ = 1;
};

}  // namespace

TEST_F(ConsumerGroup, FirstJoinNeedsAMemberIdThenWaitsForTheInitialDelay) {
  const auto id = first_join();
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(group_.size(), 0u) << "a pending id is not a member yet";
  consumer_group::deliveries out;
  const auto t = join_parked(id, out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(group_.current_state(), state::preparing_rebalance);
  now_ += 50ms;
  group_.tick(now_, out);
  EXPECT_TRUE(out.empty()) << "still within the initial delay";
  now_ += 60ms;
  group_.tick(now_, out);
  ASSERT_EQ(out.joins.size(), 1u);
  EXPECT_EQ(out.joins[0].ticket, t);
  const auto& r = out.joins[0].result;
  EXPECT_EQ(r.error, errc::ok);
  EXPECT_EQ(r.generation, 1);
  EXPECT_EQ(r.leader, id);
  EXPECT_EQ(r.protocol_name, "range");
  ASSERT_EQ(r.members.size(), 1u) << "the leader sees the members";
  EXPECT_EQ(r.members[0].metadata, "meta-range");
  EXPECT_EQ(group_.current_state(), state::completing_rebalance);
}

TEST_F(ConsumerGroup, LeaderSyncHandsOutAssignmentsToWaitingMembers) {
  auto ids = stable_group(3);
  EXPECT_EQ(group_.generation(), 1);
  // A follower syncing after the leader gets its share at once.
  sync_group_request s;
  s.member_id = ids[1];
  s.generation = 1;
  consumer_group::deliveries out;
  auto r = group_.sync(s, ticket_++, now_, out);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->assignment, "for-" + ids[1]);
}

TEST_F(ConsumerGroup, FencingOfUnknownMembersAndStaleGenerations) {
  auto ids = stable_group(2);
  EXPECT_EQ(group_.heartbeat({"nobody", std::nullopt, 1}, now_), errc::unknown_member);
  EXPECT_EQ(group_.heartbeat({ids[0], std::nullopt, 0}, now_), errc::illegal_generation);
  EXPECT_EQ(group_.heartbeat({ids[0], std::nullopt, 1}, now_), errc::ok);
  EXPECT_EQ(group_.may_commit({ids[1], std::nullopt, 0}, now_), errc::illegal_generation);
  EXPECT_EQ(group_.may_commit({"zombie", std::nullopt, 1}, now_), errc::unknown_member);
  EXPECT_EQ(group_.may_commit({"", std::nullopt, -1}, now_), errc::unknown_member)
      << "a group with members takes no anonymous commits";
  EXPECT_EQ(group_.may_commit({ids[1], std::nullopt, 1}, now_), errc::ok);
}

TEST_F(ConsumerGroup, ANewMemberTriggersARebalanceAndHeartbeatsSayRejoin) {
  auto ids = stable_group(2);
  consumer_group::deliveries out;
  const auto newcomer = first_join();
  join_parked(newcomer, out);
  EXPECT_EQ(group_.current_state(), state::preparing_rebalance);
  EXPECT_EQ(group_.heartbeat({ids[0], std::nullopt, 1}, now_), errc::rebalance_in_progress);
  EXPECT_EQ(group_.may_commit({ids[1], std::nullopt, 1}, now_), errc::ok)
      << "the old generation may still commit what it processed";
  join_parked(ids[0], out);
  EXPECT_TRUE(out.joins.empty());
  join_parked(ids[1], out);
  ASSERT_EQ(out.joins.size(), 3u) << "complete once everyone rejoined";
  for (const auto& j : out.joins) EXPECT_EQ(j.result.generation, 2);
}

TEST_F(ConsumerGroup, SessionTimeoutExpiresASilentMember) {
  auto ids = stable_group(3);
  consumer_group::deliveries out;
  // Two members heartbeat, one is silent past its 10 s session.
  for (int i = 0; i < 12; ++i) {
    now_ += 1s;
    EXPECT_NE(group_.heartbeat({ids[0], std::nullopt, group_.generation()}, now_), errc::unknown_member);
    EXPECT_NE(group_.heartbeat({ids[1], std::nullopt, group_.generation()}, now_), errc::unknown_member);
    group_.tick(now_, out);
  }
  EXPECT_EQ(group_.size(), 2u);
  EXPECT_FALSE(group_.has_member(ids[2]));
  EXPECT_EQ(group_.current_state(), state::preparing_rebalance);
  join_parked(ids[0], out);
  join_parked(ids[1], out);
  ASSERT_EQ(out.joins.size(), 2u);
  EXPECT_EQ(out.joins[0].result.generation, 2);
}

TEST_F(ConsumerGroup, RebalanceTimeoutDropsMembersThatDoNotRejoin) {
  auto ids = stable_group(2);
  consumer_group::deliveries out;
  join_parked(ids[0], out);  // a rejoin starts a rebalance (the leader rejoined)
  EXPECT_EQ(group_.current_state(), state::preparing_rebalance);
  now_ += 5001ms;  // past the 5 s rebalance timeout; ids[1] never rejoined
  group_.heartbeat({ids[0], std::nullopt, group_.generation()}, now_);
  group_.tick(now_, out);
  ASSERT_EQ(out.joins.size(), 1u);
  EXPECT_EQ(out.joins[0].result.error, errc::ok);
  EXPECT_EQ(group_.size(), 1u);
}

TEST_F(ConsumerGroup, LeaveRebalancesAndAnEmptyGroupIsEmpty) {
  auto ids = stable_group(2);
  consumer_group::deliveries out;
  auto results = group_.leave({{ids[1], std::nullopt, -1}, {"nobody", std::nullopt, -1}}, now_, out);
  EXPECT_EQ(results, (std::vector<errc>{errc::ok, errc::unknown_member}));
  EXPECT_EQ(group_.current_state(), state::preparing_rebalance);
  group_.leave({{ids[0], std::nullopt, -1}}, now_, out);
  EXPECT_EQ(group_.size(), 0u);
  EXPECT_EQ(group_.current_state(), state::empty);
  EXPECT_EQ(group_.may_commit({"", std::nullopt, -1}, now_), errc::ok)
      << "an empty group takes commits from consumers that assign themselves";
}

// A group its coordinator found in the store (retired, or the broker restarted) keeps the
// protocol type and generation stored beside its offsets, as Kafka's Empty group does, and
// its next rebalance goes on from that generation; once a member joined here, the group's own
// are the ones that count.
TEST_F(ConsumerGroup, AGroupRestoredFromTheStoreKeepsItsProtocolTypeAndGoesOnFromItsGeneration) {
  group_.restore("connect", 7);
  EXPECT_EQ(group_.current_state(), state::empty);
  const auto restored = group_.describe();
  EXPECT_EQ(restored.state, "Empty");
  EXPECT_EQ(restored.protocol_type, "connect");
  EXPECT_EQ(restored.generation, 7);
  EXPECT_TRUE(restored.members.empty());
  auto ids = stable_group(1);
  EXPECT_EQ(group_.protocol_type(), "consumer") << "an empty group takes its first member's type";
  EXPECT_EQ(group_.generation(), 8);
  consumer_group::deliveries out;
  group_.leave({{ids[0], std::nullopt, -1}}, now_, out);
  ASSERT_EQ(group_.current_state(), state::empty);
  EXPECT_EQ(group_.generation(), 9);
  group_.restore("connect", 20);
  EXPECT_EQ(group_.protocol_type(), "consumer") << "a group that had a member here is not restored";
  EXPECT_EQ(group_.generation(), 9);
}

// In a cluster a group's generations start at its lease's first: one stored under an earlier
// lease never takes them back (a member of that tenure is never taken for a current one).
TEST_F(ConsumerGroup, ARestoredGenerationNeverGoesBack) {
  group_ = consumer_group("g", limits(), 5 << 16);
  group_.restore("consumer", 3);
  EXPECT_EQ(group_.protocol_type(), "consumer");
  EXPECT_EQ(group_.generation(), 5 << 16);
}

// In a cluster a group's generations stay within its lease's 65535 (so that they stay within
// int32): once the lease's epochs wrapped, its first generation is 0 again, and one stored
// under an earlier lease, higher, is not taken; one of its own lease's is.
TEST_F(ConsumerGroup, ARestoredGenerationIsTakenOnlyWithinItsLeasesGenerations) {
  group_ = consumer_group("g", limits(), 0);
  group_.restore("consumer", (32766 << 16) + 5, 0xFFFF);
  EXPECT_EQ(group_.protocol_type(), "consumer") << "its protocol type is still the group's";
  EXPECT_EQ(group_.generation(), 0);
  group_ = consumer_group("g", limits(), 0);
  group_.restore("consumer", 0xFFFF, 0xFFFF);
  EXPECT_EQ(group_.generation(), 0) << "the end is not the lease's";
  group_ = consumer_group("g", limits(), 5 << 16);
  group_.restore("consumer", (5 << 16) + 3, (5 << 16) + 0xFFFF);
  EXPECT_EQ(group_.generation(), (5 << 16) + 3);
}

TEST_F(ConsumerGroup, JoinsWithNoCommonProtocolOrTypeAreRefused) {
  stable_group(1);
  consumer_group::deliveries out;
  auto r = group_.join(request("", {"cooperative-sticky"}), ticket_++, now_, out);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, errc::inconsistent_protocol);
  auto other_type = request();
  other_type.protocol_type = "connect";
  r = group_.join(other_type, ticket_++, now_, out);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, errc::inconsistent_protocol);
  auto bad_timeout = request();
  bad_timeout.session_timeout_ms = 10;
  r = group_.join(bad_timeout, ticket_++, now_, out);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, errc::invalid_session_timeout);
  EXPECT_EQ(group_.size(), 1u) << "the group is unharmed";
}

TEST_F(ConsumerGroup, ProtocolSelectionPrefersWhatMembersListFirst) {
  consumer_group::deliveries out;
  auto a = request("", {"roundrobin", "range"});
  a.require_known_member = false;
  auto b = a;
  auto c = request("", {"range", "roundrobin"});
  c.require_known_member = false;
  group_.join(a, ticket_++, now_, out);
  group_.join(b, ticket_++, now_, out);
  group_.join(c, ticket_++, now_, out);
  now_ += 200ms;
  group_.tick(now_, out);
  ASSERT_EQ(out.joins.size(), 3u);
  EXPECT_EQ(out.joins[0].result.protocol_name, "roundrobin") << "two votes to one";
}

TEST_F(ConsumerGroup, AStaticMemberComingBackKeepsItsAssignmentWithoutARebalance) {
  consumer_group::deliveries out;
  const auto [lead, old_id] = leader_and_static_follower();
  const auto follower = static_join;
  sync_group_request s{lead, std::nullopt, 1, std::nullopt, std::nullopt, {{old_id, "p0,p1"}}};
  group_.sync(s, ticket_++, now_, out);
  ASSERT_EQ(group_.current_state(), state::stable);
  // The follower restarts: a join with no member id but its instance id.
  auto r = group_.join(follower, ticket_++, now_, out);
  ASSERT_TRUE(r) << "answered at once";
  EXPECT_EQ(r->error, errc::ok);
  EXPECT_EQ(r->generation, 1) << "no rebalance";
  EXPECT_NE(r->member_id, old_id);
  EXPECT_EQ(group_.current_state(), state::stable);
  sync_group_request again{r->member_id, std::string("worker-1"), 1, std::nullopt, std::nullopt, {}};
  auto sr = group_.sync(again, ticket_++, now_, out);
  ASSERT_TRUE(sr);
  EXPECT_EQ(sr->assignment, "p0,p1");
  // The old incarnation is fenced.
  EXPECT_EQ(group_.heartbeat({old_id, std::string("worker-1"), 1}, now_), errc::fenced_instance);
}

TEST_F(ConsumerGroup, AJoinDuringCompletingRebalanceCancelsPendingSyncs) {
  auto ids = stable_group(2);
  consumer_group::deliveries out;
  join_parked(ids[0], out);
  join_parked(ids[1], out);
  ASSERT_EQ(out.joins.size(), 2u);
  ASSERT_EQ(group_.current_state(), state::completing_rebalance);
  out = {};
  const auto follower = group_.leader() == ids[0] ? ids[1] : ids[0];
  sync_group_request s{follower, std::nullopt, group_.generation(), std::nullopt, std::nullopt, {}};
  EXPECT_FALSE(group_.sync(s, 77, now_, out)) << "waits for the leader";
  const auto newcomer = first_join();
  join_parked(newcomer, out);
  ASSERT_EQ(out.syncs.size(), 1u);
  EXPECT_EQ(out.syncs[0].ticket, 77u);
  EXPECT_EQ(out.syncs[0].result.error, errc::rebalance_in_progress);
}

// A static member restarting while another member starts a rebalance keeps its place: the
// generation goes on without it, the leader is told of it, and it gets its share back on
// return without another rebalance (Kafka removes only dynamic members that did not rejoin).
TEST_F(ConsumerGroup, AStaticMemberAwayDuringARebalanceKeepsItsPlace) {
  consumer_group::deliveries out;
  const auto [lead, static_id] = leader_and_static_follower();
  const auto leader = leader_join;
  const auto follower = static_join;
  EXPECT_FALSE((group_.sync({lead, std::nullopt, 1, std::nullopt, std::nullopt, {{static_id, "p0"}}},
                           ticket_++, now_, out)));
  EXPECT_TRUE((group_.sync({static_id, std::string("worker-1"), 1, std::nullopt, std::nullopt, {}},
                          ticket_++, now_, out)));
  ASSERT_EQ(group_.current_state(), state::stable);
  // The leader rejoins (a rebalance); the static member is away and never rejoins.
  out = {};
  auto rejoin = leader;
  rejoin.member_id = lead;
  EXPECT_FALSE(group_.join(rejoin, ticket_++, now_, out));
  now_ += 5001ms;  // past the rebalance timeout
  group_.heartbeat({lead, std::nullopt, 1}, now_);
  group_.tick(now_, out);
  ASSERT_EQ(out.joins.size(), 1u) << "only the member that rejoined is answered";
  EXPECT_EQ(out.joins[0].result.error, errc::ok);
  EXPECT_EQ(out.joins[0].result.generation, 2);
  EXPECT_EQ(out.joins[0].result.members.size(), 2u) << "the leader assigns the away member too";
  EXPECT_TRUE(group_.has_member(static_id));
  out = {};
  EXPECT_FALSE((group_.sync({lead, std::nullopt, 2, std::nullopt, std::nullopt, {{static_id, "p0,p1"}}},
                           ticket_++, now_, out)));
  ASSERT_EQ(group_.current_state(), state::stable);
  // It comes back: answered at once in the same generation, with the leader's assignment.
  auto r = group_.join(follower, ticket_++, now_, out);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, errc::ok);
  EXPECT_EQ(r->generation, 2);
  auto sr = group_.sync({r->member_id, std::string("worker-1"), 2, std::nullopt, std::nullopt, {}},
                        ticket_++, now_, out);
  ASSERT_TRUE(sr);
  EXPECT_EQ(sr->assignment, "p0,p1");
  EXPECT_EQ(group_.generation(), 2);
}

// Two processes with one instance id: the newer takes the place, and whatever the older one
// has parked is answered FENCED_INSTANCE_ID (a fatal error for clients) instead of never.
TEST_F(ConsumerGroup, ADuplicateStaticInstanceFencesWhatTheOldOneHasParked) {
  consumer_group::deliveries out;
  auto dynamic = request();
  dynamic.require_known_member = false;
  dynamic.client_id = "b";  // joins first: the dynamic member leads
  auto first = request();
  first.require_known_member = false;
  first.instance_id = "worker-1";
  EXPECT_FALSE(group_.join(dynamic, ticket_++, now_, out));
  const auto parked = ticket_++;
  EXPECT_FALSE(group_.join(first, parked, now_, out));
  ASSERT_EQ(group_.current_state(), state::preparing_rebalance);
  EXPECT_FALSE(group_.join(first, ticket_++, now_, out)) << "the second process waits in its place";
  ASSERT_EQ(out.joins.size(), 1u);
  EXPECT_EQ(out.joins[0].ticket, parked);
  EXPECT_EQ(out.joins[0].result.error, errc::fenced_instance);
  EXPECT_EQ(group_.size(), 2u);
  // The same for a parked SyncGroup.
  now_ += 200ms;
  out = {};
  group_.tick(now_, out);
  ASSERT_EQ(out.joins.size(), 2u);
  ASSERT_EQ(group_.leader().rfind("b-", 0), 0u);
  std::string static_id;
  for (const auto& j : out.joins)
    if (j.result.member_id != group_.leader()) static_id = j.result.member_id;
  const auto sync_ticket = ticket_++;
  out = {};
  EXPECT_FALSE((group_.sync({static_id, std::string("worker-1"), group_.generation(), std::nullopt,
                            std::nullopt, {}},
                           sync_ticket, now_, out)));
  EXPECT_FALSE(group_.join(first, ticket_++, now_, out));
  ASSERT_EQ(out.syncs.size(), 1u) << "answered once";
  EXPECT_EQ(out.syncs[0].ticket, sync_ticket);
  EXPECT_EQ(out.syncs[0].result.error, errc::fenced_instance);
}

// A leader that heartbeats but never sends its assignment cannot hold the group: members
// that have not synced by the rebalance timeout are removed and the group rebalances.
TEST_F(ConsumerGroup, ALeaderThatNeverSyncsIsRemovedAfterTheRebalanceTimeout) {
  consumer_group::deliveries out;
  // Sessions of 2 s, shorter than the 5 s rebalance timeout: the follower, which sends no
  // heartbeat while its SyncGroup waits, would expire without the parked-sync rule.
  auto short_session = [&](const std::string& id) {
    auto r = request(id);
    r.session_timeout_ms = 2000;
    return r;
  };
  const auto a = first_join();
  EXPECT_FALSE(group_.join(short_session(a), ticket_++, now_, out));
  const auto b = first_join();
  EXPECT_FALSE(group_.join(short_session(b), ticket_++, now_, out));
  now_ += 200ms;
  group_.tick(now_, out);
  ASSERT_EQ(out.joins.size(), 2u);
  ASSERT_EQ(group_.current_state(), state::completing_rebalance);
  const auto leader = group_.leader();
  const auto follower = leader == a ? b : a;
  out = {};
  const auto waiting = ticket_++;
  EXPECT_FALSE((group_.sync({follower, std::nullopt, 1, std::nullopt, std::nullopt, {}}, waiting, now_, out)));
  for (int i = 0; i < 4; ++i) {
    now_ += 1s;
    EXPECT_EQ(group_.heartbeat({leader, std::nullopt, 1}, now_), errc::ok);
    group_.tick(now_, out);
  }
  EXPECT_TRUE(out.empty()) << "within the rebalance timeout nothing happens";
  now_ += 1001ms;
  group_.tick(now_, out);
  EXPECT_FALSE(group_.has_member(leader));
  EXPECT_TRUE(group_.has_member(follower)) << "a member waiting for its assignment is alive";
  EXPECT_EQ(group_.current_state(), state::preparing_rebalance);
  ASSERT_EQ(out.syncs.size(), 1u);
  EXPECT_EQ(out.syncs[0].ticket, waiting);
  EXPECT_EQ(out.syncs[0].result.error, errc::rebalance_in_progress) << "it must rejoin";
  EXPECT_EQ(group_.heartbeat({leader, std::nullopt, 1}, now_), errc::unknown_member);
  // Its session runs from that answer, so it has the time to rejoin.
  now_ += 1s;
  group_.tick(now_, out);
  EXPECT_TRUE(group_.has_member(follower));
  out = {};
  EXPECT_FALSE(group_.join(short_session(follower), ticket_++, now_, out));
  ASSERT_EQ(out.joins.size(), 1u);
  EXPECT_EQ(out.joins[0].result.error, errc::ok);
  EXPECT_EQ(out.joins[0].result.generation, 2);
}

// The same for a follower of a stable group that never asks for its share.
TEST_F(ConsumerGroup, AFollowerThatNeverSyncsIsRemovedAfterTheRebalanceTimeout) {
  consumer_group::deliveries out;
  const auto a = first_join();
  join_parked(a, out);
  const auto b = first_join();
  join_parked(b, out);
  now_ += 200ms;
  group_.tick(now_, out);
  const auto leader = group_.leader();
  const auto follower = leader == a ? b : a;
  out = {};
  EXPECT_FALSE((group_.sync({leader, std::nullopt, 1, std::nullopt, std::nullopt, {}}, ticket_++, now_, out)));
  ASSERT_EQ(group_.current_state(), state::stable);
  for (int i = 0; i < 6; ++i) {
    now_ += 1s;
    group_.heartbeat({leader, std::nullopt, 1}, now_);
    group_.heartbeat({follower, std::nullopt, 1}, now_);
    group_.tick(now_, out);
  }
  EXPECT_FALSE(group_.has_member(follower));
  EXPECT_TRUE(group_.has_member(leader));
  EXPECT_EQ(group_.current_state(), state::preparing_rebalance);
}

// A member whose SyncGroup waits for the leader needs no heartbeat meanwhile.
TEST_F(ConsumerGroup, AParkedSyncKeepsItsMemberAliveWithoutHeartbeats) {
  consumer_group::deliveries out;
  auto slow = [&](const std::string& id) {
    auto r = request(id);
    r.rebalance_timeout_ms = 60000;  // longer than the 10 s session
    return r;
  };
  std::vector<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    ids.push_back(first_join());
    EXPECT_FALSE(group_.join(slow(ids.back()), ticket_++, now_, out));
  }
  now_ += 200ms;
  group_.tick(now_, out);
  ASSERT_EQ(out.joins.size(), 2u);
  const auto leader = group_.leader();
  const auto follower = leader == ids[0] ? ids[1] : ids[0];
  out = {};
  const auto waiting = ticket_++;
  EXPECT_FALSE((group_.sync({follower, std::nullopt, 1, std::nullopt, std::nullopt, {}}, waiting, now_, out)));
  for (int i = 0; i < 15; ++i) {
    now_ += 1s;
    group_.heartbeat({leader, std::nullopt, 1}, now_);
    group_.tick(now_, out);
  }
  EXPECT_TRUE(group_.has_member(follower)) << "15 s without a heartbeat, but waiting";
  EXPECT_FALSE((group_.sync({leader, std::nullopt, 1, std::nullopt, std::nullopt, {{follower, "p"}}},
                           ticket_++, now_, out)));
  ASSERT_EQ(out.syncs.size(), 2u) << "the leader's and the waiting follower's";
  const auto& answered = out.syncs[0].ticket == waiting ? out.syncs[0] : out.syncs[1];
  EXPECT_EQ(answered.ticket, waiting);
  EXPECT_EQ(answered.result.error, errc::ok);
  EXPECT_EQ(answered.result.assignment, "p");
  // Its session runs from its answer, not from its last heartbeat 15 s ago.
  now_ += 100ms;
  group_.tick(now_, out);
  EXPECT_TRUE(group_.has_member(follower));
  EXPECT_EQ(group_.current_state(), state::stable);
}

// A member that sends JoinGroup again while its first waits (or SyncGroup again) has the
// first answered, with a retriable error, instead of left waiting forever.
TEST_F(ConsumerGroup, ASecondParkedRequestFromAMemberAnswersItsFirst) {
  auto ids = stable_group(2);
  consumer_group::deliveries out;
  const auto first = join_parked(ids[0], out);  // the leader rejoins: a rebalance
  EXPECT_TRUE(out.joins.empty());
  const auto second = join_parked(ids[0], out);
  ASSERT_EQ(out.joins.size(), 1u);
  EXPECT_EQ(out.joins[0].ticket, first);
  EXPECT_EQ(out.joins[0].result.error, errc::rebalance_in_progress);
  out = {};
  join_parked(ids[1], out);
  ASSERT_EQ(out.joins.size(), 2u) << "the generation answers the second request";
  for (const auto& j : out.joins) EXPECT_NE(j.ticket, first);
  bool second_answered = false;
  for (const auto& j : out.joins) second_answered |= j.ticket == second;
  EXPECT_TRUE(second_answered);
  const auto follower = group_.leader() == ids[0] ? ids[1] : ids[0];
  out = {};
  const auto sync_first = ticket_++;
  EXPECT_FALSE((group_.sync({follower, std::nullopt, 2, std::nullopt, std::nullopt, {}}, sync_first, now_, out)));
  EXPECT_FALSE((group_.sync({follower, std::nullopt, 2, std::nullopt, std::nullopt, {}}, ticket_++, now_, out)));
  ASSERT_EQ(out.syncs.size(), 1u);
  EXPECT_EQ(out.syncs[0].ticket, sync_first);
  EXPECT_EQ(out.syncs[0].result.error, errc::rebalance_in_progress);
}

// A rebalance waits for ids handed out with MEMBER_ID_REQUIRED, so a burst of newcomers
// costs one rebalance; an id given up with LeaveGroup is not waited for.
TEST_F(ConsumerGroup, ARebalanceWaitsForIdsHandedOutButNotYetUsed) {
  auto ids = stable_group(1);
  consumer_group::deliveries out;
  const auto newcomer = first_join();
  const auto other = first_join();
  EXPECT_EQ(group_.current_state(), state::stable) << "a pending id starts no rebalance";
  join_parked(ids[0], out);  // the leader rejoins
  now_ += 10ms;
  group_.tick(now_, out);
  EXPECT_TRUE(out.joins.empty()) << "two ids handed out are still expected";
  join_parked(newcomer, out);
  EXPECT_TRUE(out.joins.empty());
  EXPECT_EQ((group_.leave({{other, std::nullopt, -1}}, now_, out)), (std::vector<errc>{errc::ok}));
  ASSERT_EQ(out.joins.size(), 2u) << "the last expected id was given up";
  EXPECT_EQ(out.joins[0].result.generation, 2);
  EXPECT_EQ(group_.size(), 2u);
}

// A static leader restarting costs no rebalance either: it is told the old leader id and no
// members, so it acts as a follower and gets its assignment back (Kafka's answer without
// JoinGroup v9's SkipAssignment).
TEST_F(ConsumerGroup, AStaticLeaderComingBackKeepsItsAssignmentWithoutARebalance) {
  consumer_group::deliveries out;
  ASSERT_NO_FATAL_FAILURE(stable_group_with_a_static_leader(false, out));
  const auto old_leader = static_leader;
  auto r = group_.join(static_leader_join, ticket_++, now_, out);
  ASSERT_TRUE(r) << "answered at once";
  EXPECT_EQ(r->error, errc::ok);
  EXPECT_EQ(r->generation, 1) << "no rebalance";
  EXPECT_NE(r->member_id, old_leader);
  EXPECT_EQ(r->leader, old_leader) << "not its own id: it does not assign";
  EXPECT_TRUE(r->members.empty());
  EXPECT_FALSE(r->skip_assignment) << "before JoinGroup v9";
  EXPECT_EQ(group_.current_state(), state::stable);
  EXPECT_EQ(group_.leader(), r->member_id) << "it still leads the next rebalance";
  auto sr = group_.sync({r->member_id, std::string("leader-1"), 1, std::nullopt, std::nullopt, {}},
                        ticket_++, now_, out);
  ASSERT_TRUE(sr);
  EXPECT_EQ(sr->assignment, "p0");
}

// A restarted Java consumer joins with other metadata than before (no owned partitions,
// generation -1): as Kafka, that costs no rebalance while the protocol the group would select
// stays the same; a static member whose protocols change the selection starts one.
TEST_F(ConsumerGroup, AStaticMemberWithNewMetadataRebalancesOnlyWhenTheSelectionChanges) {
  consumer_group::deliveries out;
  const auto [lead, old_id] = leader_and_static_follower();
  const auto worker = static_join;
  group_.sync({lead, std::nullopt, 1, std::nullopt, std::nullopt, {{old_id, "p0"}}}, ticket_++, now_, out);
  ASSERT_EQ(group_.current_state(), state::stable);

  // Same protocol names, other metadata bytes: no rebalance, and the new metadata is kept.
  auto restarted = worker;
  for (auto& p : restarted.protocols) p.metadata = "after-restart-" + p.name;
  auto r = group_.join(restarted, ticket_++, now_, out);
  ASSERT_TRUE(r) << "answered at once";
  EXPECT_EQ(r->error, errc::ok);
  EXPECT_EQ(r->generation, 1) << "no rebalance";
  EXPECT_EQ(group_.current_state(), state::stable);
  bool kept = false;
  for (const auto& m : group_.describe().members)
    if (m.member_id == r->member_id) kept = m.metadata == "after-restart-range";
  EXPECT_TRUE(kept) << "the member's new metadata replaces the old";
  auto sr = group_.sync({r->member_id, std::string("worker-1"), 1, std::nullopt, std::nullopt, {}},
                        ticket_++, now_, out);
  ASSERT_TRUE(sr);
  EXPECT_EQ(sr->assignment, "p0");

  // Back with roundrobin only: range is no longer supported by every member, so the group
  // would select roundrobin, and it rebalances.
  auto only_rr = worker;
  only_rr.protocols = {{"roundrobin", "meta-roundrobin"}};
  out = {};
  auto again = group_.join(only_rr, ticket_++, now_, out);
  EXPECT_FALSE(again) << "parked: the group rebalances";
  EXPECT_EQ(group_.current_state(), state::preparing_rebalance);
}

// An instance id the group does not know is an unknown member, even with a member id it
// knows (Kafka checks the instance id first).
TEST_F(ConsumerGroup, AnUnknownInstanceIdIsAnUnknownMember) {
  auto ids = stable_group(1);
  EXPECT_EQ(group_.heartbeat({ids[0], std::nullopt, group_.generation()}, now_), errc::ok);
  EXPECT_EQ(group_.heartbeat({ids[0], std::string("never-joined"), group_.generation()}, now_),
            errc::unknown_member);
}

// The first rebalance ends with its delay even while an id handed out with MEMBER_ID_REQUIRED
// has not been used, as Kafka's initial join does: a client that died between its two joins
// does not hold the group back for its session timeout. It joins later as a newcomer.
TEST_F(ConsumerGroup, TheFirstRebalanceDoesNotWaitForIdsHandedOutButNotUsed) {
  const auto first = first_join();
  consumer_group::deliveries out;
  join_parked(first, out);
  const auto gone = first_join();  // its holder never comes back
  now_ += 200ms;
  group_.tick(now_, out);
  ASSERT_EQ(out.joins.size(), 1u) << "completed at the end of the initial delay";
  EXPECT_EQ(out.joins[0].result.member_id, first);
  EXPECT_EQ(group_.current_state(), state::completing_rebalance);
  EXPECT_FALSE(gone.empty());
}

// The coordinator's description keeps the members' metadata and assignments during a
// rebalance: OffsetDelete reads subscriptions from it and the HTTP group page shows who
// holds what (Kafka's DescribeGroups leaves them out then; its handler does that).
TEST_F(ConsumerGroup, DescribeKeepsMetadataAndAssignmentsDuringARebalance) {
  auto ids = stable_group(2);
  const auto newcomer = first_join();
  consumer_group::deliveries out;
  join_parked(newcomer, out);
  ASSERT_EQ(group_.current_state(), state::preparing_rebalance);
  const auto d = group_.describe();
  EXPECT_EQ(d.state, "PreparingRebalance");
  EXPECT_EQ(d.protocol_name, "range");
  ASSERT_EQ(d.members.size(), 3u);
  for (const auto& m : d.members) {
    EXPECT_EQ(m.metadata, "meta-range") << m.member_id;
    if (m.member_id != newcomer) {
      EXPECT_EQ(m.assignment, "for-" + m.member_id);
    }
  }
}

// JoinGroup v9 (KIP-814): the static leader coming back to a stable group is told it leads
// (its new id, every member) and to skip the assignment, the group's standing; it syncs for
// its own share, and the group does not rebalance. A returning follower is told nothing new.
TEST_F(ConsumerGroup, AStaticLeaderOnJoinGroupV9IsToldToLeadWithoutAssigning) {
  consumer_group::deliveries out;
  ASSERT_NO_FATAL_FAILURE(stable_group_with_a_static_leader(true, out));
  const auto old_leader = static_leader;
  auto r = group_.join(static_leader_join, ticket_++, now_, out);
  ASSERT_TRUE(r) << "answered at once";
  EXPECT_EQ(r->error, errc::ok);
  EXPECT_EQ(r->generation, 1) << "no rebalance";
  EXPECT_NE(r->member_id, old_leader);
  EXPECT_EQ(r->leader, r->member_id) << "it is told it leads";
  EXPECT_EQ(r->members.size(), 2u);
  EXPECT_TRUE(r->skip_assignment);
  EXPECT_EQ(group_.current_state(), state::stable);
  auto sr = group_.sync({r->member_id, std::string("leader-1"), 1, std::nullopt, std::nullopt, {}},
                        ticket_++, now_, out);
  ASSERT_TRUE(sr);
  EXPECT_EQ(sr->assignment, "p0");
  auto follower = group_.join(static_follower_join, ticket_++, now_, out);
  ASSERT_TRUE(follower);
  EXPECT_EQ(follower->leader, r->member_id);
  EXPECT_TRUE(follower->members.empty());
  EXPECT_FALSE(follower->skip_assignment);
  EXPECT_EQ(group_.current_state(), state::stable);
}

// group.max.size, as Kafka's acceptJoiningMember: a full group refuses a newcomer at its
// first join (no id handed out), takes its own members back, and while a rebalance is
// prepared counts the members that rejoined (not the ids handed out); a member that had not
// rejoined when the places were taken is refused and leaves the group.
TEST_F(ConsumerGroup, AFullGroupRefusesNewcomersAndShedsTheLastToRejoin) {
  auto small = limits();
  small.max_size = 2;
  group_ = consumer_group("g", small);
  auto ids = stable_group(2);
  consumer_group::deliveries out;
  auto refused = group_.join(request(), ticket_++, now_, out);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->error, errc::group_max_size_reached);
  EXPECT_TRUE(refused->member_id.empty()) << "as Kafka: no member id";
  EXPECT_FALSE(group_.has_pending_ids());
  // The leader rejoins (a member is always taken back): a rebalance starts.
  join_parked(ids[0], out);
  ASSERT_EQ(group_.current_state(), state::preparing_rebalance);
  // One place of two is taken (the leader has rejoined): newcomers are handed ids, which take
  // no place; the first to join with its id takes the other, the next finds none.
  const auto newcomer = first_join();
  const auto late = first_join();
  join_parked(newcomer, out);
  refused = group_.join(request(late), ticket_++, now_, out);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->error, errc::group_max_size_reached);
  EXPECT_FALSE(group_.has_pending_ids());
  // The follower, rejoining last, is refused and removed, which completes the rebalance with
  // the two that rejoined.
  refused = group_.join(request(ids[1]), ticket_++, now_, out);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->error, errc::group_max_size_reached);
  EXPECT_FALSE(group_.has_member(ids[1]));
  ASSERT_EQ(out.joins.size(), 2u);
  for (const auto& j : out.joins) {
    EXPECT_EQ(j.result.error, errc::ok);
    EXPECT_EQ(j.result.generation, 2);
  }
  EXPECT_EQ(group_.size(), 2u);
  EXPECT_EQ(group_.current_state(), state::completing_rebalance);
}

// A client restarting in a loop asks for an id each time and never joins with it: the ids
// take no place, so a consumer joining the empty group meanwhile is taken (as Kafka's empty
// group takes anyone), never refused with GROUP_MAX_SIZE_REACHED, which the Java client
// takes as fatal.
TEST_F(ConsumerGroup, AnEmptyGroupTakesAConsumerWhateverIdsWereHandedOutBefore) {
  auto small = limits();
  small.max_size = 2;
  group_ = consumer_group("g", small);
  for (int i = 0; i < 5; ++i) {
    first_join();
    now_ += 1ms;
  }
  const auto consumer = first_join();
  ASSERT_FALSE(consumer.empty());
  consumer_group::deliveries out;
  join_parked(consumer, out);
  EXPECT_TRUE(group_.has_member(consumer));
  EXPECT_EQ(group_.current_state(), state::preparing_rebalance);
}

// The ids handed out are bounded by the group's max size: the one nearest its end makes room
// for a new one, and joining with it later is answered UNKNOWN_MEMBER_ID (the client asks
// for a new id), not a place taken.
TEST_F(ConsumerGroup, IdsHandedOutToJoinWithAreBoundedByTheMaxSize) {
  auto small = limits();
  small.max_size = 2;
  group_ = consumer_group("g", small);
  const auto first = first_join();
  now_ += 1ms;
  const auto second = first_join();
  now_ += 1ms;
  const auto third = first_join();  // the first id, nearest its end, is forgotten
  consumer_group::deliveries out;
  auto forgotten = group_.join(request(first), ticket_++, now_, out);
  ASSERT_TRUE(forgotten);
  EXPECT_EQ(forgotten->error, errc::unknown_member);
  EXPECT_FALSE(group_.has_member(first));
  join_parked(second, out);
  join_parked(third, out);
  EXPECT_TRUE(group_.has_member(second));
  EXPECT_TRUE(group_.has_member(third));
}

// As Kafka's, a group is led by its first member, and a member that joins later leads only
// once no earlier one can, whatever the member ids: here the later ones sort first (a client
// whose id sorted first led every generation and, unable to assign for the others, left and
// joined again in a loop).
TEST_F(ConsumerGroup, AMemberJoiningLaterDoesNotTakeTheLeadWhateverItsId) {
  const auto ids = stable_group_joined_in_order({join_from("z"), join_from("a")});
  ASSERT_EQ(ids.size(), 2u);
  ASSERT_LT(ids[1], ids[0]) << "the later member's id sorts first";
  EXPECT_EQ(group_.leader(), ids[0]) << "the first generation's leader is the first member";
  // A newcomer whose id sorts first too starts a rebalance, and everyone rejoins.
  consumer_group::deliveries out;
  EXPECT_FALSE(group_.join(join_from("0"), ticket_++, now_, out));
  join_parked(ids[1], out);
  join_parked(ids[0], out);
  ASSERT_EQ(out.joins.size(), 3u);
  EXPECT_EQ(group_.generation(), 2);
  for (const auto& j : out.joins) EXPECT_EQ(j.result.leader, ids[0]);
}

// As Kafka's, the leader leaving passes the lead at once to a member that stays: here the one
// that has been in the group longest. The leader coming back is a newcomer and follows, though
// its new id sorts before the others'.
TEST_F(ConsumerGroup, WhenTheLeaderLeavesTheLongestStandingMemberLeads) {
  const auto ids = stable_group_joined_in_order({join_from("m"), join_from("z"), join_from("a")});
  ASSERT_EQ(ids.size(), 3u);
  ASSERT_EQ(group_.leader(), ids[0]);
  consumer_group::deliveries out;
  EXPECT_EQ((group_.leave({{ids[0], std::nullopt, -1}}, now_, out)), (std::vector<errc>{errc::ok}));
  EXPECT_EQ(group_.leader(), ids[1]) << "at once, not when the rebalance ends";
  const auto back = ticket_++;
  EXPECT_FALSE(group_.join(join_from("0"), back, now_, out));
  join_parked(ids[2], out);
  join_parked(ids[1], out);
  ASSERT_EQ(out.joins.size(), 3u);
  EXPECT_EQ(group_.generation(), 2);
  for (const auto& j : out.joins) {
    EXPECT_EQ(j.result.leader, ids[1]);
    if (j.ticket == back) {
      EXPECT_LT(j.result.member_id, ids[1]) << "the returning member's id sorts first";
      EXPECT_LT(j.result.member_id, ids[2]) << "the returning member's id sorts first";
    }
  }
}

// As Kafka's maybeElectNewJoinedLeader: a leader still in the group but not rejoined when the
// rebalance ends (a static member away) hands the lead to a member that rejoined, here the one
// that has been in the group longest, not a newcomer.
TEST_F(ConsumerGroup, ALeaderThatDoesNotRejoinHandsTheLeadToTheLongestStandingMemberThatDid) {
  const auto ids =
      stable_group_joined_in_order({join_from("m", std::string("leader-1")), join_from("z"), join_from("a")});
  ASSERT_EQ(ids.size(), 3u);
  ASSERT_EQ(group_.leader(), ids[0]);
  consumer_group::deliveries out;
  EXPECT_FALSE(group_.join(join_from("0"), ticket_++, now_, out));  // a newcomer: a rebalance
  join_parked(ids[2], out);
  join_parked(ids[1], out);
  now_ += 5001ms;  // past the 5 s rebalance timeout; the static leader never rejoined
  group_.tick(now_, out);
  ASSERT_EQ(out.joins.size(), 3u);
  EXPECT_TRUE(group_.has_member(ids[0])) << "a static member away keeps its place";
  EXPECT_EQ(group_.generation(), 2);
  EXPECT_EQ(group_.leader(), ids[1]);
  for (const auto& j : out.joins) {
    EXPECT_EQ(j.result.leader, ids[1]);
    if (j.result.member_id == ids[1]) {
      EXPECT_EQ(j.result.members.size(), 4u) << "the new leader assigns the away member too";
    }
  }
}
