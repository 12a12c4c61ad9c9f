// The Kafka group APIs byte by byte: the happy path of one member, and confused or hostile
// clients (unknown members, stale generations, no common protocol), each answered with
// Kafka's error code while the group keeps working. Offsets are shared with the native
// protocol.
#include <gtest/gtest.h>

#include <map>

#include "tests/actors/broker_fixture.hpp"
#include "process.hpp"
#include "raw_kafka.hpp"

using namespace portask;
using namespace portask::test;

namespace {

msg::JoinGroupRequest join_request(const std::string& group, const std::string& member,
                                   const std::string& protocol = "range") {
  msg::JoinGroupRequest j;
  j.groupId = group;
  j.sessionTimeoutMs = 10000;
  j.rebalanceTimeoutMs = 10000;
  j.memberId = member;
  j.protocolType = "consumer";
  j.protocols.push_back({protocol, "subscription"});
  return j;
}

// Joins `group` as a new member through KIP-394; returns the join response.
msg::JoinGroupResponse join_new(raw_kafka& c, const std::string& group,
                                const std::string& protocol = "range") {
  auto first = call<msg::JoinGroupResponse>(c, 11, 5, join_request(group, "", protocol), false);
  EXPECT_EQ(first.errorCode, 79) << "MEMBER_ID_REQUIRED";
  EXPECT_FALSE(first.memberId.empty());
  return call<msg::JoinGroupResponse>(c, 11, 5, join_request(group, first.memberId, protocol), false);
}

msg::OffsetCommitRequest commit_request(const std::string& group, std::int32_t generation,
                                        const std::string& member, std::int64_t offset) {
  msg::OffsetCommitRequest req;
  req.groupId = group;
  req.generationIdOrMemberEpoch = generation;
  req.memberId = member;
  req.topics.push_back({"orders", {{0, offset, -1, -1, std::string("meta")}, {1, offset + 1, -1, -1, std::string("")}}});
  return req;
}

}  // namespace

TEST(KafkaGroups, FindCoordinatorNamesThisBrokerForEveryGroup) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  msg::FindCoordinatorRequest req;
  req.key = "g";
  auto v1 = call<msg::FindCoordinatorResponse>(c, 10, 1, req, false);
  EXPECT_EQ(v1.errorCode, 0);
  EXPECT_EQ(v1.host, "127.0.0.1");
  EXPECT_EQ(v1.port, f.server->kafka_port());
  req.coordinatorKeys = {"a", "b", ""};
  auto v4 = call<msg::FindCoordinatorResponse>(c, 10, 4, req, true);
  ASSERT_EQ(v4.coordinators.size(), 3u);
  EXPECT_EQ(v4.coordinators[1].key, "b");
  EXPECT_EQ(v4.coordinators[1].port, f.server->kafka_port());
  // The empty group id is found too (Kafka's offset APIs take it).
  EXPECT_EQ(v4.coordinators[2].errorCode, 0);
  EXPECT_EQ(v4.coordinators[2].port, f.server->kafka_port());
  req.keyType = 1;  // transactions: refused as final (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), saying why
  auto txn = call<msg::FindCoordinatorResponse>(c, 10, 3, req, true);
  EXPECT_EQ(txn.errorCode, 53);
  EXPECT_NE(txn.errorMessage.value_or("").find("transactions are not supported"), std::string::npos);
  EXPECT_EQ(txn.nodeId, -1);
}

TEST(KafkaGroups, OneMemberJoinsSyncsHeartbeatsCommitsAndLeaves) {
  broker_fixture f;
  must(f.connect().create_topic("orders", 2));  // commits name its partitions 0 and 1
  raw_kafka c{f.server->kafka_port()};
  auto joined = join_new(c, "solo");
  ASSERT_EQ(joined.errorCode, 0);
  EXPECT_EQ(joined.generationId, 1);
  EXPECT_EQ(joined.leader, joined.memberId);
  EXPECT_EQ(joined.protocolName, "range");
  ASSERT_EQ(joined.members.size(), 1u);
  EXPECT_EQ(joined.members[0].metadata, "subscription");

  // Joined, not yet synced (CompletingRebalance): Kafka lists the member without its
  // metadata or assignment, and no protocol.
  auto during = call<msg::DescribeGroupsResponse>(c, 15, 5, msg::DescribeGroupsRequest{{"solo"}, false}, true);
  ASSERT_EQ(during.groups.size(), 1u);
  EXPECT_EQ(during.groups[0].groupState, "CompletingRebalance");
  EXPECT_EQ(during.groups[0].protocolData, "");
  ASSERT_EQ(during.groups[0].members.size(), 1u);
  EXPECT_EQ(during.groups[0].members[0].memberMetadata, "");
  EXPECT_EQ(during.groups[0].members[0].memberAssignment, "");

  msg::SyncGroupRequest sync;
  sync.groupId = "solo";
  sync.generationId = 1;
  sync.memberId = joined.memberId;
  sync.assignments.push_back({joined.memberId, "my-partitions"});
  // From v5 the protocol type and name are mandatory (KIP-559).
  EXPECT_EQ(call<msg::SyncGroupResponse>(c, 14, 5, sync, true).errorCode, 23)
      << "INCONSISTENT_GROUP_PROTOCOL";
  sync.protocolType = "consumer";
  sync.protocolName = "roundrobin";
  EXPECT_EQ(call<msg::SyncGroupResponse>(c, 14, 5, sync, true).errorCode, 23)
      << "not the group's protocol";
  sync.protocolName = "range";
  auto synced = call<msg::SyncGroupResponse>(c, 14, 5, sync, true);
  EXPECT_EQ(synced.errorCode, 0);
  EXPECT_EQ(synced.assignment, "my-partitions");
  EXPECT_EQ(synced.protocolName, "range");

  EXPECT_EQ(call<msg::HeartbeatResponse>(c, 12, 4, msg::HeartbeatRequest{"solo", 1, joined.memberId, std::nullopt}, true).errorCode, 0);
  ASSERT_EQ(call<msg::OffsetCommitResponse>(c, 8, 8, commit_request("solo", 1, joined.memberId, 42), true)
                .topics.at(0).partitions.at(0).errorCode, 0);

  // Fetched by Kafka (v1 and the v8 multi-group form) and natively.
  msg::OffsetFetchRequest fetch;
  fetch.groupId = "solo";
  fetch.topics = std::vector<msg::OffsetFetchRequest::OffsetFetchRequestTopic>{{"orders", {0, 1, 2}}};
  auto v1 = call<msg::OffsetFetchResponse>(c, 9, 1, fetch, false);
  ASSERT_EQ(v1.topics.size(), 1u);
  ASSERT_EQ(v1.topics[0].partitions.size(), 3u);
  EXPECT_EQ(v1.topics[0].partitions[0].committedOffset, 42);
  EXPECT_EQ(v1.topics[0].partitions[0].metadata, "meta");
  EXPECT_EQ(v1.topics[0].partitions[1].committedOffset, 43);
  EXPECT_EQ(v1.topics[0].partitions[2].committedOffset, -1) << "nothing committed";
  msg::OffsetFetchRequest v8req;
  v8req.groups.push_back({"solo", std::nullopt, -1, std::nullopt});
  v8req.groups.push_back({"other", std::nullopt, -1, std::nullopt});
  auto v8 = call<msg::OffsetFetchResponse>(c, 9, 8, v8req, true);
  ASSERT_EQ(v8.groups.size(), 2u);
  ASSERT_EQ(v8.groups[0].topics.size(), 1u);
  EXPECT_EQ(v8.groups[0].topics[0].partitions.size(), 2u) << "null topics: every committed offset";
  EXPECT_TRUE(v8.groups[1].topics.empty());
  auto native = f.connect();
  EXPECT_EQ(must(native.committed("solo", "orders", 0)).offset, 42);

  // Described and listed while Stable.
  auto described = call<msg::DescribeGroupsResponse>(c, 15, 5, msg::DescribeGroupsRequest{{"solo"}, false}, true);
  ASSERT_EQ(described.groups.size(), 1u);
  EXPECT_EQ(described.groups[0].groupState, "Stable");
  EXPECT_EQ(described.groups[0].protocolData, "range");
  ASSERT_EQ(described.groups[0].members.size(), 1u);
  EXPECT_EQ(described.groups[0].members[0].memberAssignment, "my-partitions");
  EXPECT_EQ(described.groups[0].members[0].memberMetadata, "subscription");
  EXPECT_EQ(described.groups[0].members[0].clientId, "test");
  auto listed = call<msg::ListGroupsResponse>(c, 16, 4, msg::ListGroupsRequest{{"Stable"}, {}}, true);
  ASSERT_EQ(listed.groups.size(), 1u);
  EXPECT_EQ(listed.groups[0].groupId, "solo");

  // Deleting a group with members is refused; after leaving it works.
  auto del = call<msg::DeleteGroupsResponse>(c, 42, 2, msg::DeleteGroupsRequest{{"solo"}}, true);
  EXPECT_EQ(del.results.at(0).errorCode, 68) << "NON_EMPTY_GROUP";
  msg::LeaveGroupRequest leave;
  leave.groupId = "solo";
  leave.members.push_back({joined.memberId, std::nullopt, std::nullopt});
  leave.members.push_back({"ghost", std::nullopt, std::nullopt});
  auto left = call<msg::LeaveGroupResponse>(c, 13, 4, leave, true);
  EXPECT_EQ(left.errorCode, 0);
  ASSERT_EQ(left.members.size(), 2u);
  EXPECT_EQ(left.members[0].errorCode, 0);
  EXPECT_EQ(left.members[1].errorCode, 25) << "UNKNOWN_MEMBER_ID";
  described = call<msg::DescribeGroupsResponse>(c, 15, 5, msg::DescribeGroupsRequest{{"solo"}, false}, true);
  EXPECT_EQ(described.groups.at(0).groupState, "Empty");
  EXPECT_EQ(described.groups.at(0).protocolType, "consumer") << "an Empty group keeps its protocol type";
  del = call<msg::DeleteGroupsResponse>(c, 42, 2, msg::DeleteGroupsRequest{{"solo"}}, true);
  EXPECT_EQ(del.results.at(0).errorCode, 0);
  EXPECT_EQ(must(native.committed("solo", "orders", 0)).offset, -1) << "offsets went with the group";
  // Deleted, it is described as one never used, as Kafka describes a group it does not hold.
  described = call<msg::DescribeGroupsResponse>(c, 15, 5, msg::DescribeGroupsRequest{{"solo", "never-used"}, false}, true);
  ASSERT_EQ(described.groups.size(), 2u);
  for (const auto& g : described.groups) {
    EXPECT_EQ(g.groupState, "Dead") << g.groupId;
    EXPECT_EQ(g.protocolType, "") << g.groupId;
    EXPECT_EQ(g.protocolData, "") << g.groupId;
    EXPECT_TRUE(g.members.empty()) << g.groupId;
  }
}

TEST(KafkaGroups, ConfusedClientsGetKafkaErrorsAndTheGroupSurvives) {
  broker_fixture f;
  must(f.connect().create_topic("orders", 2));  // commits name its partitions 0 and 1
  raw_kafka c{f.server->kafka_port()};
  auto joined = join_new(c, "g");
  ASSERT_EQ(joined.errorCode, 0);
  msg::SyncGroupRequest sync;
  sync.groupId = "g";
  sync.generationId = joined.generationId;
  sync.memberId = joined.memberId;
  sync.assignments.push_back({joined.memberId, "a"});
  ASSERT_EQ(call<msg::SyncGroupResponse>(c, 14, 3, sync, false).errorCode, 0);

  // A heartbeat from a member the group never had.
  EXPECT_EQ(call<msg::HeartbeatResponse>(c, 12, 3, msg::HeartbeatRequest{"g", 1, "stranger", std::nullopt}, false).errorCode, 25);
  // A heartbeat and a commit from a stale generation (a zombie).
  EXPECT_EQ(call<msg::HeartbeatResponse>(c, 12, 3, msg::HeartbeatRequest{"g", 0, joined.memberId, std::nullopt}, false).errorCode, 22);
  auto zombie = call<msg::OffsetCommitResponse>(c, 8, 7, commit_request("g", 0, joined.memberId, 99), false);
  EXPECT_EQ(zombie.topics.at(0).partitions.at(0).errorCode, 22) << "ILLEGAL_GENERATION";
  auto stranger = call<msg::OffsetCommitResponse>(c, 8, 7, commit_request("g", 1, "stranger", 99), false);
  EXPECT_EQ(stranger.topics.at(0).partitions.at(0).errorCode, 25);
  auto native = f.connect();
  EXPECT_EQ(must(native.committed("g", "orders", 0)).offset, -1) << "fenced commits store nothing";
  // A join with no protocol in common, and one of another protocol type.
  raw_kafka other{f.server->kafka_port()};
  auto odd = call<msg::JoinGroupResponse>(other, 11, 2, join_request("g", "", "cooperative-sticky"), false);
  EXPECT_EQ(odd.errorCode, 23) << "INCONSISTENT_GROUP_PROTOCOL";
  auto connect_type = join_request("g", "");
  connect_type.protocolType = "connect";
  EXPECT_EQ(call<msg::JoinGroupResponse>(other, 11, 2, connect_type, false).errorCode, 23);
  auto tiny = join_request("g", "");
  tiny.sessionTimeoutMs = 1;
  EXPECT_EQ(call<msg::JoinGroupResponse>(other, 11, 2, tiny, false).errorCode, 26)
      << "INVALID_SESSION_TIMEOUT";
  // A sync for a generation that does not exist.
  sync.generationId = 7;
  EXPECT_EQ(call<msg::SyncGroupResponse>(c, 14, 3, sync, false).errorCode, 22);
  // An empty group id: INVALID_GROUP_ID for the APIs that coordinate members ...
  EXPECT_EQ(call<msg::HeartbeatResponse>(c, 12, 3, msg::HeartbeatRequest{"", 1, "x", std::nullopt}, false).errorCode, 24);
  EXPECT_EQ(call<msg::JoinGroupResponse>(c, 11, 5, join_request("", ""), false).errorCode, 24);
  auto nameless_sync = sync;
  nameless_sync.groupId = "";
  EXPECT_EQ(call<msg::SyncGroupResponse>(c, 14, 3, nameless_sync, false).errorCode, 24);
  msg::LeaveGroupRequest nameless_leave;
  nameless_leave.groupId = "";
  nameless_leave.members.push_back({"x", std::nullopt});
  EXPECT_EQ(call<msg::LeaveGroupResponse>(c, 13, 3, nameless_leave, false).errorCode, 24);
  // ... while OffsetCommit and OffsetFetch take it, as Kafka does for old standalone consumers.
  auto nameless = call<msg::OffsetCommitResponse>(c, 8, 7, commit_request("", -1, "", 33), false);
  EXPECT_EQ(nameless.topics.at(0).partitions.at(0).errorCode, 0);
  msg::OffsetFetchRequest nameless_fetch;
  nameless_fetch.groupId = "";
  nameless_fetch.topics = std::vector<msg::OffsetFetchRequest::OffsetFetchRequestTopic>{{"orders", {0}}};
  auto fetched = call<msg::OffsetFetchResponse>(c, 9, 7, nameless_fetch, true);
  EXPECT_EQ(fetched.errorCode, 0);
  EXPECT_EQ(fetched.topics.at(0).partitions.at(0).committedOffset, 33);
  // OffsetDelete is no offset API in this sense: Kafka refuses the empty group id there.
  msg::OffsetDeleteRequest nameless_delete;
  nameless_delete.topics.push_back({"orders", {{0}}});
  EXPECT_EQ(call<msg::OffsetDeleteResponse>(c, 47, 0, nameless_delete, false).errorCode, 24);
  EXPECT_EQ(call<msg::OffsetFetchResponse>(c, 9, 7, nameless_fetch, true).topics.at(0).partitions.at(0).committedOffset, 33)
      << "kept";
  // The real member is unaffected.
  EXPECT_EQ(call<msg::HeartbeatResponse>(c, 12, 3, msg::HeartbeatRequest{"g", 1, joined.memberId, std::nullopt}, false).errorCode, 0);
  ASSERT_EQ(call<msg::OffsetCommitResponse>(c, 8, 7, commit_request("g", 1, joined.memberId, 5), false)
                .topics.at(0).partitions.at(0).errorCode, 0);
  EXPECT_EQ(must(native.committed("g", "orders", 0)).offset, 5);
}

TEST(KafkaGroups, ANativeCommitIsSeenByKafkaOffsetFetch) {
  broker_fixture f;
  auto native = f.connect();
  must(native.create_topic("orders", 4));
  must(native.commit("shared", "orders", 3, 77, "from-native"));
  raw_kafka c{f.server->kafka_port()};
  msg::OffsetFetchRequest fetch;
  fetch.groupId = "shared";
  fetch.topics = std::nullopt;
  auto res = call<msg::OffsetFetchResponse>(c, 9, 7, fetch, true);
  ASSERT_EQ(res.topics.size(), 1u);
  EXPECT_EQ(res.topics[0].name, "orders");
  EXPECT_EQ(res.topics[0].partitions.at(0).partitionIndex, 3);
  EXPECT_EQ(res.topics[0].partitions.at(0).committedOffset, 77);
  EXPECT_EQ(res.topics[0].partitions.at(0).metadata, "from-native");
}

// OffsetDelete on a group with a member: the offsets of topics no member subscribes to go,
// the subscribed topic's are GROUP_SUBSCRIBED_TO_TOPIC and stay (Kafka's rule, read from the
// members' ConsumerProtocolSubscription).
TEST(KafkaGroups, OffsetDeleteOnAnActiveGroupSparesTheSubscribedTopics) {
  broker_fixture f;
  auto native = f.connect();
  must(native.create_topic("orders", 2));
  must(native.create_topic("old-topic", 1));
  raw_kafka c{f.server->kafka_port()};
  // A subscription as a Java or librdkafka consumer writes it (version 1): topic "orders".
  protocol::buffer subscription;
  kafka::writer w{subscription};
  w.i16(1);
  w.i32(1);
  w.string("orders", false);
  w.i32(-1);  // no user data
  w.i32(0);   // no owned partitions
  auto request = join_request("busy", "");
  request.protocols[0].metadata = std::string(protocol::as_chars(subscription));
  auto first = call<msg::JoinGroupResponse>(c, 11, 5, request, false);
  ASSERT_EQ(first.errorCode, 79);
  request.memberId = first.memberId;
  auto joined = call<msg::JoinGroupResponse>(c, 11, 5, request, false);
  ASSERT_EQ(joined.errorCode, 0);
  msg::SyncGroupRequest sync;
  sync.groupId = "busy";
  sync.generationId = joined.generationId;
  sync.memberId = joined.memberId;
  sync.protocolType = "consumer";
  sync.protocolName = "range";
  sync.assignments.push_back({joined.memberId, ""});
  ASSERT_EQ(call<msg::SyncGroupResponse>(c, 14, 5, sync, true).errorCode, 0);
  msg::OffsetCommitRequest commit;
  commit.groupId = "busy";
  commit.generationIdOrMemberEpoch = joined.generationId;
  commit.memberId = joined.memberId;
  commit.topics.push_back({"orders", {{0, 5, -1, -1, std::string("")}}});
  commit.topics.push_back({"old-topic", {{0, 9, -1, -1, std::string("")}}});
  auto committed = call<msg::OffsetCommitResponse>(c, 8, 8, commit, true);
  ASSERT_EQ(committed.topics.at(0).partitions.at(0).errorCode, 0);
  ASSERT_EQ(committed.topics.at(1).partitions.at(0).errorCode, 0);

  msg::OffsetDeleteRequest del;
  del.groupId = "busy";
  del.topics.push_back({"orders", {{0}, {2}}});
  del.topics.push_back({"old-topic", {{0}}});
  auto res = call<msg::OffsetDeleteResponse>(c, 47, 0, del, false);
  EXPECT_EQ(res.errorCode, 0);
  ASSERT_EQ(res.topics.size(), 2u);
  EXPECT_EQ(res.topics[0].partitions.at(0).errorCode, 86) << "GROUP_SUBSCRIBED_TO_TOPIC";
  EXPECT_EQ(res.topics[0].partitions.at(1).errorCode, 3)
      << "a partition that does not exist is UNKNOWN_TOPIC_OR_PARTITION, subscribed or not";
  EXPECT_EQ(res.topics[1].partitions.at(0).errorCode, 0);
  EXPECT_EQ(must(native.committed("busy", "orders", 0)).offset, 5) << "kept";
  EXPECT_EQ(must(native.committed("busy", "old-topic", 0)).offset, -1) << "deleted";
}

// OffsetDelete of a partition that does not exist, of a topic that does not or beyond its
// topic's count, is UNKNOWN_TOPIC_OR_PARTITION, as Kafka answers what its metadata does not
// hold; the partitions that exist are deleted. The group is asked all the same: a group that
// does not exist is GROUP_ID_NOT_FOUND even when no partition named does.
TEST(KafkaGroups, OffsetDeleteOfAPartitionThatDoesNotExistIsUnknownTopicOrPartition) {
  broker_fixture f;
  auto native = f.connect();
  must(native.create_topic("orders", 2));
  raw_kafka c{f.server->kafka_port()};
  auto committed = call<msg::OffsetCommitResponse>(c, 8, 8, commit_request("tidy", -1, "", 10), true);
  ASSERT_EQ(committed.topics.at(0).partitions.at(0).errorCode, 0);
  ASSERT_EQ(committed.topics.at(0).partitions.at(1).errorCode, 0);

  msg::OffsetDeleteRequest del;
  del.groupId = "tidy";
  del.topics.push_back({"orders", {{0}, {2}, {-1}}});
  del.topics.push_back({"missing", {{0}}});
  auto res = call<msg::OffsetDeleteResponse>(c, 47, 0, del, false);
  EXPECT_EQ(res.errorCode, 0);
  ASSERT_EQ(res.topics.size(), 2u);
  ASSERT_EQ(res.topics[0].partitions.size(), 3u);
  EXPECT_EQ(res.topics[0].partitions[0].errorCode, 0);
  EXPECT_EQ(res.topics[0].partitions[1].errorCode, 3) << "beyond the topic's two partitions";
  EXPECT_EQ(res.topics[0].partitions[2].errorCode, 3) << "a negative partition";
  ASSERT_EQ(res.topics[1].partitions.size(), 1u);
  EXPECT_EQ(res.topics[1].name, "missing");
  EXPECT_EQ(res.topics[1].partitions[0].errorCode, 3) << "a topic that does not exist";
  EXPECT_EQ(must(native.committed("tidy", "orders", 0)).offset, -1) << "deleted";
  EXPECT_EQ(must(native.committed("tidy", "orders", 1)).offset, 11) << "not named: kept";

  del.groupId = "never-used";
  del.topics.clear();
  del.topics.push_back({"missing", {{0}}});
  EXPECT_EQ(call<msg::OffsetDeleteResponse>(c, 47, 0, del, false).errorCode, 69) << "GROUP_ID_NOT_FOUND";
}

// Committed offsets expire as in Kafka: OffsetCommit v2-4's retention time gives an offset
// its own expiry, which retention's next pass acts on for a group without members; offsets
// without one stay for offsets_retention_ms. OffsetFetch v5+ gives back the committed leader
// epoch.
TEST(KafkaGroups, CommittedOffsetsExpireAtTheirRetentionTimeAndKeepTheirLeaderEpoch) {
  broker_config overrides;
  overrides.log_retention_check_interval_ms = 50;
  overrides.offsets_retention_ms = 3600 * 1000;  // nothing expires by the broker's retention here
  broker_fixture f(false, overrides);
  must(f.connect().create_topic("orders", 2));
  raw_kafka c{f.server->kafka_port()};
  // "brief": committed by a standalone consumer (v2) asking for 1 ms of retention.
  auto brief = commit_request("brief", -1, "", 10);
  brief.retentionTimeMs = 1;
  auto stored = call<msg::OffsetCommitResponse>(c, 8, 2, brief, false);
  ASSERT_EQ(stored.topics.at(0).partitions.at(0).errorCode, 0);
  // "kept": v6, with a leader epoch, and the broker's retention.
  auto kept = commit_request("kept", -1, "", 20);
  kept.topics.at(0).partitions.at(0).committedLeaderEpoch = 5;
  stored = call<msg::OffsetCommitResponse>(c, 8, 6, kept, false);
  ASSERT_EQ(stored.topics.at(0).partitions.at(0).errorCode, 0);
  auto fetch = [&](const std::string& group) {
    msg::OffsetFetchRequest req;
    req.groupId = group;
    req.topics = std::vector<msg::OffsetFetchRequest::OffsetFetchRequestTopic>{{"orders", {0, 1}}};
    return call<msg::OffsetFetchResponse>(c, 9, 5, req, false);
  };
  auto before = fetch("kept");
  EXPECT_EQ(before.topics.at(0).partitions.at(0).committedOffset, 20);
  EXPECT_EQ(before.topics.at(0).partitions.at(0).committedLeaderEpoch, 5);
  EXPECT_EQ(before.topics.at(0).partitions.at(1).committedLeaderEpoch, -1) << "committed without one";
  // Retention runs every 50 ms; the brief group's offsets go at one of its passes.
  EXPECT_TRUE(wait_until(
      [&] {
        const auto got = fetch("brief");
        return got.topics.at(0).partitions.at(0).committedOffset == -1 &&
               got.topics.at(0).partitions.at(1).committedOffset == -1;
      },
      std::chrono::seconds(60)));
  // The same passes left the other group's offsets alone.
  auto after = fetch("kept");
  EXPECT_EQ(after.topics.at(0).partitions.at(0).committedOffset, 20);
  EXPECT_EQ(after.topics.at(0).partitions.at(1).committedOffset, 21);
  auto native = f.connect();
  EXPECT_EQ(must(native.committed("kept", "orders", 0)).offset, 20);
  EXPECT_EQ(must(native.committed("brief", "orders", 0)).offset, -1);
}

// offsets_retention_ms: a group without members loses its offsets once they are that old;
// a group with a member keeps them however old.
TEST(KafkaGroups, AGroupWithoutMembersLosesItsOffsetsAfterRetentionAndOneWithAMemberKeepsThem) {
  broker_config overrides;
  overrides.log_retention_check_interval_ms = 50;
  overrides.offsets_retention_ms = 1000;
  broker_fixture f(false, overrides);
  must(f.connect().create_topic("orders", 2));
  raw_kafka c{f.server->kafka_port()};
  // "active": one member, its session long enough to outlast the test, commits first.
  auto join = join_request("active", "");
  join.sessionTimeoutMs = 300000;
  join.rebalanceTimeoutMs = 300000;
  const auto id = call<msg::JoinGroupResponse>(c, 11, 5, join, false).memberId;
  join.memberId = id;
  const auto joined = call<msg::JoinGroupResponse>(c, 11, 5, join, false);
  ASSERT_EQ(joined.errorCode, 0);
  msg::SyncGroupRequest sync;
  sync.groupId = "active";
  sync.generationId = joined.generationId;
  sync.memberId = joined.memberId;
  sync.assignments.push_back({joined.memberId, "a"});
  ASSERT_EQ(call<msg::SyncGroupResponse>(c, 14, 3, sync, false).errorCode, 0);
  ASSERT_EQ(call<msg::OffsetCommitResponse>(c, 8, 7, commit_request("active", joined.generationId, joined.memberId, 5),
                                            false)
                .topics.at(0).partitions.at(0).errorCode, 0);
  auto commit_alone = [&](const std::string& group) {
    ASSERT_EQ(call<msg::OffsetCommitResponse>(c, 8, 7, commit_request(group, -1, "", 10), false)
                  .topics.at(0).partitions.at(0).errorCode, 0);
  };
  auto native = f.connect();
  auto committed = [&](const std::string& group) { return must(native.committed(group, "orders", 0)).offset; };
  // "idle": a standalone consumer's commit, after the member's.
  commit_alone("idle");
  EXPECT_TRUE(wait_until([&] { return committed("idle") == -1; }, std::chrono::seconds(60)));
  // Every pass since then named the older "active" offsets too. One more group expiring
  // later means more passes went by; the member's group still has its offsets.
  commit_alone("later");
  EXPECT_EQ(committed("later"), 10);
  EXPECT_TRUE(wait_until([&] { return committed("later") == -1; }, std::chrono::seconds(60)));
  EXPECT_EQ(committed("active"), 5);
  EXPECT_EQ(call<msg::HeartbeatResponse>(
                c, 12, 3, msg::HeartbeatRequest{"active", joined.generationId, joined.memberId, std::nullopt}, false)
                .errorCode,
            0)
      << "the member is still there";
}

// All of a group's offsets (topics null) list each topic once with all its partitions, however
// the store returns them: redis gives a hash's fields in the order they were first written
// (here orders/0, audit/0, orders/1), which once made "orders" appear twice, each time with
// only some of its partitions (kafkajs's fetchOffsets reads that list as it is).
TEST(KafkaGroups, AllOffsetsOfAGroupListEachTopicOnceOnRedis) {
  broker_fixture f{true};
  auto native = f.connect();
  must(native.create_topic("orders", 2));
  must(native.create_topic("audit", 1));
  raw_kafka c{f.server->kafka_port()};
  auto commit = [&](const std::string& topic, std::int32_t partition, std::int64_t offset) {
    msg::OffsetCommitRequest req;
    req.groupId = "reader";
    req.generationIdOrMemberEpoch = -1;  // a consumer outside any group's membership
    req.topics.push_back({topic, {{partition, offset, -1, -1, std::string("")}}});
    auto res = call<msg::OffsetCommitResponse>(c, 8, 8, req, true);
    ASSERT_EQ(res.topics.at(0).partitions.at(0).errorCode, 0) << topic << "/" << partition;
  };
  commit("orders", 0, 10);
  commit("audit", 0, 20);
  commit("orders", 1, 11);
  msg::OffsetFetchRequest all;
  all.groupId = "reader";
  all.topics = std::nullopt;
  auto v7 = call<msg::OffsetFetchResponse>(c, 9, 7, all, true);
  ASSERT_EQ(v7.errorCode, 0);
  std::map<std::string, std::map<std::int32_t, std::int64_t>> seen;
  for (const auto& t : v7.topics) {
    EXPECT_FALSE(seen.count(t.name)) << t.name << " listed twice";
    for (const auto& p : t.partitions) seen[t.name][p.partitionIndex] = p.committedOffset;
  }
  EXPECT_EQ(seen, (std::map<std::string, std::map<std::int32_t, std::int64_t>>{
                      {"audit", {{0, 20}}}, {"orders", {{0, 10}, {1, 11}}}}));
  msg::OffsetFetchRequest v8req;
  v8req.groups.push_back({"reader", std::nullopt, -1, std::nullopt});
  auto v8 = call<msg::OffsetFetchResponse>(c, 9, 8, v8req, true);
  ASSERT_EQ(v8.groups.size(), 1u);
  EXPECT_EQ(v8.groups[0].topics.size(), 2u) << "each topic once (v8)";
}

// Commit metadata is bounded as Kafka bounds it (offset.metadata.max.bytes, 4096): a longer
// one is refused for its partition alone with OFFSET_METADATA_TOO_LARGE and not stored.
TEST(KafkaGroups, CommitMetadataOverTheLimitIsRefusedForItsPartitionAlone) {
  broker_fixture f;
  must(f.connect().create_topic("orders", 2));
  raw_kafka c{f.server->kafka_port()};
  msg::OffsetCommitRequest req;
  req.groupId = "bounded";
  req.generationIdOrMemberEpoch = -1;
  req.topics.push_back({"orders",
                        {{0, 7, -1, -1, std::string(4096, 'm')}, {1, 8, -1, -1, std::string(4097, 'm')}}});
  auto res = call<msg::OffsetCommitResponse>(c, 8, 8, req, true);
  ASSERT_EQ(res.topics.at(0).partitions.size(), 2u);
  EXPECT_EQ(res.topics[0].partitions[0].errorCode, 0) << "at the limit";
  EXPECT_EQ(res.topics[0].partitions[1].errorCode, 12) << "OFFSET_METADATA_TOO_LARGE";
  msg::OffsetFetchRequest fetch;
  fetch.groupId = "bounded";
  fetch.topics = std::vector<msg::OffsetFetchRequest::OffsetFetchRequestTopic>{{"orders", {0, 1}}};
  auto fetched = call<msg::OffsetFetchResponse>(c, 9, 7, fetch, true);
  ASSERT_EQ(fetched.topics.at(0).partitions.size(), 2u);
  EXPECT_EQ(fetched.topics[0].partitions[0].committedOffset, 7);
  EXPECT_EQ(fetched.topics[0].partitions[0].metadata, std::string(4096, 'm'));
  EXPECT_EQ(fetched.topics[0].partitions[1].committedOffset, -1) << "not stored";
  // Counted as Kafka counts (Java's String.length()): characters, not bytes. Bytes that are
  // not UTF-8 are read as Java reads them (one U+FFFD each): 30,000 continuation bytes are
  // 30,000 characters, not zero, and their 90,000 bytes of UTF-8 are refused for their
  // partition like any metadata too long, not as a request that cannot be read.
  auto repeated = [](const std::string& s, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += s;
    return out;
  };
  for (const auto& [metadata, want] : std::vector<std::pair<std::string, std::int16_t>>{
           {repeated("\u00e9", 4096), 0}, {repeated("\u00e9", 4097), 12}, {std::string(4097, '\x80'), 12},
           {std::string(30000, '\x80'), 12}}) {
    msg::OffsetCommitRequest one;
    one.groupId = "bounded";
    one.generationIdOrMemberEpoch = -1;
    one.topics.push_back({"orders", {{1, 9, -1, -1, metadata}}});
    EXPECT_EQ(call<msg::OffsetCommitResponse>(c, 8, 8, one, true).topics.at(0).partitions.at(0).errorCode, want)
        << metadata.size() << " bytes";
  }
}

// Kafka reads a group id as Java's new String(bytes, UTF_8) does: a client's id that is not
// UTF-8 names the group whose id is that one with its bad bytes replaced by U+FFFD, as on
// Kafka; commit metadata is read the same way. When the bytes were kept, kafka-python could
// not decode ListGroups and librdkafka's list_groups crashed. (This test's own Kafka reader
// replaces bad bytes in the answers too, so the broker's bytes are checked raw: ListGroups'
// answer undecoded, and the native client, which takes strings as they come.)
TEST(KafkaGroups, AGroupIdThatIsNotUtf8NamesTheGroupKafkaWouldReadItAs) {
  broker_fixture f;
  auto native = f.connect();
  must(native.create_topic("orders", 1));
  raw_kafka c{f.server->kafka_port()};
  const std::string sent = "bad\xff\xfe" "utf8";
  const std::string read_as = "bad\xef\xbf\xbd\xef\xbf\xbd" "utf8";  // bad\uFFFD\uFFFDutf8
  msg::OffsetCommitRequest commit;
  commit.groupId = sent;
  commit.generationIdOrMemberEpoch = -1;
  commit.topics.push_back({"orders", {{0, 5, -1, -1, std::string("cut\xe2\x82")}}});
  ASSERT_EQ(call<msg::OffsetCommitResponse>(c, 8, 8, commit, true).topics.at(0).partitions.at(0).errorCode, 0);

  const auto groups = must(native.list_groups(), "list_groups");
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].group, read_as);
  const auto committed = must(native.committed(read_as, "orders", 0), "committed");
  EXPECT_EQ(committed.offset, 5);
  EXPECT_EQ(committed.metadata, "cut\xef\xbf\xbd") << "one U+FFFD for the cut-short sequence, as Java";
  c.send(16, 4, 7, msg::ListGroupsRequest{}, true);
  std::int32_t correlation = 0;
  const auto listed = c.receive(correlation, true);
  ASSERT_TRUE(listed);
  EXPECT_EQ(correlation, 7);
  const auto listed_bytes = std::string(protocol::as_chars(*listed));
  EXPECT_NE(listed_bytes.find(read_as), std::string::npos);
  EXPECT_EQ(listed_bytes.find(sent), std::string::npos);
  // Either spelling reaches it over Kafka: the id sent is read as it was the first time.
  for (const auto& id : {sent, read_as}) {
    msg::OffsetFetchRequest fetch;
    fetch.groupId = id;
    fetch.topics = std::nullopt;
    auto res = call<msg::OffsetFetchResponse>(c, 9, 7, fetch, true);
    ASSERT_EQ(res.topics.size(), 1u);
    EXPECT_EQ(res.topics[0].partitions.at(0).committedOffset, 5);
  }
}

// A group id sent within a Kafka string can read longer than one (each byte that is not
// UTF-8 reads as U+FFFD, three bytes): such a group could never be listed back, and one stored
// would make every ListGroups answer impossible to encode. It is INVALID_GROUP_ID; one byte
// shorter reads within the limit and is a group like any other.
TEST(KafkaGroups, AGroupIdThatReadsLongerThanAKafkaStringIsInvalid) {
  broker_fixture f;
  auto native = f.connect();
  must(native.create_topic("orders", 1));
  raw_kafka c{f.server->kafka_port()};
  auto commit = [&](const std::string& group) {
    msg::OffsetCommitRequest req;
    req.groupId = group;
    req.generationIdOrMemberEpoch = -1;
    req.topics.push_back({"orders", {{0, 3, -1, -1, std::string()}}});
    return call<msg::OffsetCommitResponse>(c, 8, 8, req, true).topics.at(0).partitions.at(0).errorCode;
  };
  static_assert(protocol::kafka::max_string_bytes / 3 == 10922);
  EXPECT_EQ(commit(std::string(10923, '\xff')), 24) << "INVALID_GROUP_ID: 32,769 bytes read";
  EXPECT_TRUE(must(native.list_groups(), "list_groups").empty());
  EXPECT_EQ(commit(std::string(10922, '\xff')), 0) << "32,766 bytes read";
  const auto groups = must(native.list_groups(), "list_groups");
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].group.size(), 3u * 10922);
  auto listed = call<msg::ListGroupsResponse>(c, 16, 4, msg::ListGroupsRequest{}, true);
  EXPECT_EQ(listed.errorCode, 0);
  ASSERT_EQ(listed.groups.size(), 1u) << "the answer is encoded";
  EXPECT_EQ(listed.groups[0].groupId, groups[0].group);
  // A protocol type that reads longer than a string is refused too: ListGroups carries it.
  auto join = join_request("typed", "");
  join.protocolType = std::string(10923, '\xff');
  EXPECT_EQ(call<msg::JoinGroupResponse>(c, 11, 5, join, false).errorCode, 23) << "INCONSISTENT_GROUP_PROTOCOL";
  join.protocolType = std::string(10922, '\xff');
  EXPECT_EQ(call<msg::JoinGroupResponse>(c, 11, 5, join, false).errorCode, 79) << "MEMBER_ID_REQUIRED: taken";
  EXPECT_EQ(call<msg::ListGroupsResponse>(c, 16, 4, msg::ListGroupsRequest{}, true).errorCode, 0);
}

// Kafka removes a deleted topic's committed offsets from every group (onPartitionsDeleted):
// a topic created again under the name must not hand its consumers the old positions (they
// would skip its first messages without a word). The groups are cleaned once the deletion is
// done, right after DeleteTopics is answered.
TEST(KafkaGroups, ATopicDeletedAndCreatedAgainStartsWithoutTheOldCommittedOffsets) {
  broker_fixture f;
  auto native = f.connect();
  must(native.create_topic("t", 1));
  raw_kafka c{f.server->kafka_port()};
  msg::OffsetCommitRequest commit;
  commit.groupId = "g";
  commit.generationIdOrMemberEpoch = -1;
  commit.topics.push_back({"t", {{0, 50, -1, -1, std::string("")}}});
  ASSERT_EQ(call<msg::OffsetCommitResponse>(c, 8, 8, commit, true).topics.at(0).partitions.at(0).errorCode, 0);
  msg::OffsetFetchRequest fetch;
  fetch.groupId = "g";
  fetch.topics = std::vector<msg::OffsetFetchRequest::OffsetFetchRequestTopic>{{"t", {0}}};
  auto committed = [&] {
    return call<msg::OffsetFetchResponse>(c, 9, 7, fetch, true).topics.at(0).partitions.at(0).committedOffset;
  };
  ASSERT_EQ(committed(), 50);
  must(native.delete_topic("t"));
  must(native.create_topic("t", 1));
  EXPECT_TRUE(wait_until([&] { return committed() == -1; }, std::chrono::seconds(30)));
  EXPECT_EQ(must(native.committed("g", "t", 0)).offset, -1);
}

// group.max.size: a newcomer to a full group is refused with GROUP_MAX_SIZE_REACHED (and no
// member id); the group's own member is taken back.
TEST(KafkaGroups, AGroupAtItsMaxSizeRefusesANewMember) {
  broker_config overrides;
  overrides.group_max_size = 1;
  broker_fixture f(false, overrides);
  raw_kafka c{f.server->kafka_port()};
  auto joined = join_new(c, "full");
  ASSERT_EQ(joined.errorCode, 0);
  raw_kafka other{f.server->kafka_port()};
  auto refused = call<msg::JoinGroupResponse>(other, 11, 5, join_request("full", ""), false);
  EXPECT_EQ(refused.errorCode, 81) << "GROUP_MAX_SIZE_REACHED";
  EXPECT_EQ(refused.memberId, "");
  auto again = call<msg::JoinGroupResponse>(c, 11, 5, join_request("full", joined.memberId), false);
  EXPECT_EQ(again.errorCode, 0);
  EXPECT_EQ(again.generationId, joined.generationId);
}

// A group whose members left and whose last offsets then expired is gone, as Kafka's Empty
// group without offsets becomes Dead: ListGroups no longer lists it and DeleteGroups does not
// find it.
TEST(KafkaGroups, AGroupThatLostItsMembersAndItsOffsetsIsNoLongerListedOrFound) {
  broker_config overrides;
  overrides.log_retention_check_interval_ms = 50;
  overrides.offsets_retention_ms = 1000;
  broker_fixture f(false, overrides);
  must(f.connect().create_topic("orders", 2));
  raw_kafka c{f.server->kafka_port()};
  auto joined = join_new(c, "fading");
  ASSERT_EQ(joined.errorCode, 0);
  msg::SyncGroupRequest sync;
  sync.groupId = "fading";
  sync.generationId = joined.generationId;
  sync.memberId = joined.memberId;
  sync.assignments.push_back({joined.memberId, "a"});
  ASSERT_EQ(call<msg::SyncGroupResponse>(c, 14, 3, sync, false).errorCode, 0);
  ASSERT_EQ(call<msg::OffsetCommitResponse>(c, 8, 7, commit_request("fading", joined.generationId, joined.memberId, 5),
                                            false)
                .topics.at(0).partitions.at(0).errorCode, 0);
  msg::LeaveGroupRequest leave;
  leave.groupId = "fading";
  leave.members.push_back({joined.memberId, std::nullopt, std::nullopt});
  ASSERT_EQ(call<msg::LeaveGroupResponse>(c, 13, 4, leave, true).errorCode, 0);
  auto native = f.connect();
  EXPECT_TRUE(wait_until([&] { return must(native.committed("fading", "orders", 0)).offset == -1; },
                         std::chrono::seconds(60)));
  auto listed = [&] {
    for (const auto& g : call<msg::ListGroupsResponse>(c, 16, 4, msg::ListGroupsRequest{}, true).groups)
      if (g.groupId == "fading") return true;
    return false;
  };
  EXPECT_TRUE(wait_until([&] { return !listed(); }, std::chrono::seconds(30)));
  auto del = call<msg::DeleteGroupsResponse>(c, 42, 2, msg::DeleteGroupsRequest{{"fading"}}, true);
  EXPECT_EQ(del.results.at(0).errorCode, 69) << "GROUP_ID_NOT_FOUND";
}

// JoinGroup v9 (KIP-814): a static leader whose process restarts is told it leads (its new
// member id, the members) and to skip the assignment, which stands; before v9 it is told the
// old leader id and no members. Neither costs the group a rebalance.
TEST(KafkaGroups, AStaticLeaderRejoiningWithJoinGroupV9IsToldToSkipTheAssignment) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  auto join = join_request("static", "");
  join.groupInstanceId = "instance-1";
  auto first = call<msg::JoinGroupResponse>(c, 11, 9, join, true);
  ASSERT_EQ(first.errorCode, 0);
  ASSERT_EQ(first.leader, first.memberId);
  EXPECT_FALSE(first.skipAssignment) << "a new generation: the leader assigns";
  msg::SyncGroupRequest sync;
  sync.groupId = "static";
  sync.generationId = first.generationId;
  sync.memberId = first.memberId;
  sync.groupInstanceId = "instance-1";
  sync.protocolType = "consumer";
  sync.protocolName = "range";
  sync.assignments.push_back({first.memberId, "p0"});
  ASSERT_EQ(call<msg::SyncGroupResponse>(c, 14, 5, sync, true).errorCode, 0);

  auto back = call<msg::JoinGroupResponse>(c, 11, 9, join, true);
  ASSERT_EQ(back.errorCode, 0);
  EXPECT_EQ(back.generationId, first.generationId) << "no rebalance";
  EXPECT_NE(back.memberId, first.memberId);
  EXPECT_EQ(back.leader, back.memberId);
  EXPECT_TRUE(back.skipAssignment);
  EXPECT_EQ(back.members.size(), 1u);
  sync.memberId = back.memberId;
  sync.assignments.clear();
  auto synced = call<msg::SyncGroupResponse>(c, 14, 5, sync, true);
  EXPECT_EQ(synced.errorCode, 0);
  EXPECT_EQ(synced.assignment, "p0");

  auto old_way = call<msg::JoinGroupResponse>(c, 11, 8, join, true);
  ASSERT_EQ(old_way.errorCode, 0);
  EXPECT_EQ(old_way.generationId, first.generationId) << "no rebalance";
  EXPECT_EQ(old_way.leader, back.memberId) << "the previous leader id, not its own";
  EXPECT_NE(old_way.memberId, back.memberId);
  EXPECT_TRUE(old_way.members.empty());
}

// An Empty group is listed and described with the protocol type it had (Kafka keeps it in the
// group's metadata record), whether its coordinator still runs or a new one found the group
// in the store: here the group directory restarts, taking every coordinator along, as a
// broker restart does. A group only ever committed to has none ("", as Kafka lists it).
TEST(KafkaGroups, AnEmptyGroupKeepsItsProtocolTypeWhenANewCoordinatorFindsItInTheStore) {
  broker_fixture f{true};
  must(f.connect().create_topic("orders", 2));
  raw_kafka c{f.server->kafka_port()};
  auto join = join_request("conn-like", "");
  join.protocolType = "connect";
  const auto first = call<msg::JoinGroupResponse>(c, 11, 5, join, false);
  ASSERT_EQ(first.errorCode, 79) << "MEMBER_ID_REQUIRED";
  join.memberId = first.memberId;
  const auto joined = call<msg::JoinGroupResponse>(c, 11, 5, join, false);
  ASSERT_EQ(joined.errorCode, 0);
  msg::SyncGroupRequest sync;
  sync.groupId = "conn-like";
  sync.generationId = joined.generationId;
  sync.memberId = joined.memberId;
  sync.assignments.push_back({joined.memberId, "a"});
  ASSERT_EQ(call<msg::SyncGroupResponse>(c, 14, 3, sync, false).errorCode, 0);
  const auto commit = commit_request("conn-like", joined.generationId, joined.memberId, 5);
  ASSERT_EQ(call<msg::OffsetCommitResponse>(c, 8, 7, commit, false).topics.at(0).partitions.at(0).errorCode, 0);
  msg::LeaveGroupRequest leave;
  leave.groupId = "conn-like";
  leave.members.push_back({joined.memberId, std::nullopt, std::nullopt});
  ASSERT_EQ(call<msg::LeaveGroupResponse>(c, 13, 4, leave, true).errorCode, 0);
  ASSERT_EQ(call<msg::OffsetCommitResponse>(c, 8, 8, commit_request("g-plain", -1, "", 3), true)
                .topics.at(0).partitions.at(0).errorCode, 0);
  // Each listed group's protocol type and state (ListGroups v5).
  auto listed = [&] {
    std::map<std::string, std::pair<std::string, std::string>> out;
    for (const auto& g : call<msg::ListGroupsResponse>(c, 16, 5, msg::ListGroupsRequest{}, true).groups)
      out[g.groupId] = {g.protocolType, g.groupState};
    return out;
  };
  using type_and_state = std::pair<std::string, std::string>;
  auto live = listed();
  EXPECT_EQ(live["conn-like"], (type_and_state{"connect", "Empty"}));
  EXPECT_EQ(live["g-plain"], (type_and_state{"", "Empty"}));
  const auto before = f.server->directory().groups;
  caf::anon_send_exit(before, caf::exit_reason::kill);
  ASSERT_TRUE(wait_until([&] {
    auto now = f.server->directory().groups;
    return now && now != before;
  }));
  // Listed from the store, no coordinator running ...
  EXPECT_TRUE(wait_until([&] { return listed()["conn-like"] == type_and_state{"connect", "Empty"}; }));
  EXPECT_EQ(listed()["g-plain"], (type_and_state{"", "Empty"}));
  // ... described by new coordinators, which read it there ...
  auto described =
      call<msg::DescribeGroupsResponse>(c, 15, 5, msg::DescribeGroupsRequest{{"conn-like", "g-plain"}, false}, true);
  ASSERT_EQ(described.groups.size(), 2u);
  EXPECT_EQ(described.groups[0].groupState, "Empty");
  EXPECT_EQ(described.groups[0].protocolType, "connect");
  EXPECT_EQ(described.groups[1].groupState, "Empty");
  EXPECT_EQ(described.groups[1].protocolType, "");
  // ... and listed the same by them.
  auto woken = listed();
  EXPECT_EQ(woken["conn-like"], (type_and_state{"connect", "Empty"}));
  EXPECT_EQ(woken["g-plain"], (type_and_state{"", "Empty"}));
}
