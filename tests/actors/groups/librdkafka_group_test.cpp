// librdkafka consumer groups against the in-process broker: three members split a
// 6-partition topic; one is killed (no LeaveGroup) and the others take its partitions over
// after its session times out. Every member commits after processing, so nothing is lost
// and only what the killed member processed without committing may come again. Static
// members (group.instance.id) restart without costing the group a rebalance.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <map>
#include <set>

#include "tests/actors/broker_fixture.hpp"

using namespace portask;
using namespace portask::test;

namespace {

rd_kafka_t* group_consumer(const std::string& bootstrap, const std::string& group) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::map<std::string, std::string> settings = {
      {"bootstrap.servers", bootstrap},  {"group.id", group},
      {"enable.auto.commit", "false"},   {"auto.offset.reset", "earliest"},
      {"session.timeout.ms", "3000"},    {"heartbeat.interval.ms", "300"},
      {"log_level", "3"},                {"partition.assignment.strategy", "range"},
  };
  for (const auto& [k, v] : settings)
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
      ADD_FAILURE() << k << ": " << err;
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  EXPECT_NE(rk, nullptr) << err;
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, "grp", RD_KAFKA_PARTITION_UA);
  EXPECT_EQ(rd_kafka_subscribe(rk, topics), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(topics);
  return rk;
}

int assigned_partitions(rd_kafka_t* rk) {
  rd_kafka_topic_partition_list_t* parts = nullptr;
  if (rd_kafka_assignment(rk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR) return -1;
  const int n = parts->cnt;
  rd_kafka_topic_partition_list_destroy(parts);
  return n;
}

// Counts the revocations a consumer goes through (every rebalance starts with one).
void count_revocations(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                       void* opaque) {
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    rd_kafka_assign(rk, parts);
    return;
  }
  ++*static_cast<int*>(opaque);
  rd_kafka_assign(rk, nullptr);
}

rd_kafka_t* static_consumer(const std::string& bootstrap, const std::string& instance, int* revocations) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::map<std::string, std::string> settings = {
      {"bootstrap.servers", bootstrap},   {"group.id", "static-group"},
      {"group.instance.id", instance},    {"client.id", instance},
      {"enable.auto.commit", "false"},    {"auto.offset.reset", "earliest"},
      {"session.timeout.ms", "6000"},     {"heartbeat.interval.ms", "300"},
      {"log_level", "3"},                 {"partition.assignment.strategy", "range"},
  };
  for (const auto& [k, v] : settings)
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
      ADD_FAILURE() << k << ": " << err;
  rd_kafka_conf_set_opaque(conf, revocations);
  rd_kafka_conf_set_rebalance_cb(conf, count_revocations);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  EXPECT_NE(rk, nullptr) << err;
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, "static-grp", RD_KAFKA_PARTITION_UA);
  EXPECT_EQ(rd_kafka_subscribe(rk, topics), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(topics);
  return rk;
}

struct member {
  rd_kafka_t* rk = nullptr;
  std::map<std::int32_t, std::int64_t> committed;  ///< next offset, per partition
};

}  // namespace

TEST(LibrdkafkaGroups, ThreeMembersSplitPartitionsAndSurviveAKilledMember) {
  broker_fixture f;
  auto native = f.connect();
  must(native.create_topic("grp", 6));
  constexpr int total = 600;
  for (int p = 0; p < 6; ++p) {
    protocol::message_batch b;
    for (int i = p; i < total; i += 6) {
      protocol::message m;
      m.key = "k" + std::to_string(i);
      m.value = "m" + std::to_string(i);
      b.messages.push_back(m);
    }
    must(native.publish("grp", p, b));
  }
  const std::string bootstrap = "127.0.0.1:" + std::to_string(f.server->kafka_port());
  std::vector<member> members(3);
  for (auto& m : members) m.rk = group_consumer(bootstrap, "rdk-group");

  std::map<std::pair<std::int32_t, std::int64_t>, int> seen;  // (partition, offset) -> times
  std::map<std::pair<std::int32_t, std::int64_t>, std::size_t> seen_by;
  auto poll_member = [&](std::size_t idx) {
    auto& m = members[idx];
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(m.rk, 5);
    if (!msg) return;
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++seen[{msg->partition, msg->offset}];
      seen_by[{msg->partition, msg->offset}] = idx;
      // Process, then commit synchronously (at-least-once).
      if (rd_kafka_commit_message(m.rk, msg, 0) == RD_KAFKA_RESP_ERR_NO_ERROR)
        m.committed[msg->partition] = msg->offset + 1;
    }
    rd_kafka_message_destroy(msg);
  };

  // Phase 1: all three consume until each holds two partitions and half is processed.
  bool split = false;
  for (int round = 0; round < 4000 && !(split && seen.size() >= total / 2); ++round) {
    for (std::size_t i = 0; i < members.size(); ++i) poll_member(i);
    split = assigned_partitions(members[0].rk) == 2 && assigned_partitions(members[1].rk) == 2 &&
            assigned_partitions(members[2].rk) == 2;
  }
  ASSERT_TRUE(split) << "three members split six partitions two by two";

  // Kill member 2: no LeaveGroup, the coordinator must notice the silence.
  rd_kafka_destroy_flags(members[2].rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  const auto killed_committed = members[2].committed;
  members.pop_back();
  const auto killed_at = std::chrono::steady_clock::now();
  bool took_over = false;
  for (int round = 0; round < 6000 && seen.size() < static_cast<std::size_t>(total); ++round) {
    for (std::size_t i = 0; i < members.size(); ++i) poll_member(i);
    if (!took_over && assigned_partitions(members[0].rk) + assigned_partitions(members[1].rk) == 6) {
      took_over = true;
      const auto after = std::chrono::steady_clock::now() - killed_at;
      // Generous: a slow machine delays the survivors' heartbeats and polls, not the outcome.
      EXPECT_LT(after, std::chrono::seconds(60)) << "taken over within the session timeout and a rebalance";
    }
  }
  EXPECT_TRUE(took_over);
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(total)) << "no message lost";
  for (const auto& [pos, times] : seen) {
    if (times == 1) continue;
    // A second delivery is only allowed for what the killed member had not committed.
    auto c = killed_committed.find(pos.first);
    EXPECT_TRUE(c == killed_committed.end() || pos.second >= c->second)
        << "partition " << pos.first << " offset " << pos.second << " delivered " << times << " times";
  }
  for (auto& m : members) {
    rd_kafka_consumer_close(m.rk);
    rd_kafka_destroy(m.rk);
  }
  // The committed offsets are complete: every partition at its end.
  for (std::int32_t p = 0; p < 6; ++p) EXPECT_EQ(must(native.committed("rdk-group", "grp", p)).offset, total / 6);
}

// Two static members split four partitions; each in turn (the group's leader first) is
// killed and started again with its instance id. Each comes back to its own partitions in
// the same generation, and the other member is never revoked: no rebalance.
TEST(LibrdkafkaGroups, AStaticMemberRestartingCostsNoRebalanceWhetherOrNotItLeads) {
  broker_fixture f;
  auto native = f.connect();
  must(native.create_topic("static-grp", 4));
  const std::string bootstrap = "127.0.0.1:" + std::to_string(f.server->kafka_port());
  std::map<std::string, int> revocations{{"static-a", 0}, {"static-b", 0}};
  std::map<std::string, rd_kafka_t*> consumers;
  for (auto& [name, count] : revocations) consumers[name] = static_consumer(bootstrap, name, &count);
  auto poll_all = [&] {
    for (auto& [name, rk] : consumers)
      if (auto* m = rd_kafka_consumer_poll(rk, 5)) rd_kafka_message_destroy(m);
  };
  // Each member's partitions by client id, as the coordinator lists them.
  using holdings = std::map<std::string, std::set<std::int32_t>>;
  auto holdings_of = [](const protocol::native::group_detail& d) {
    holdings out;
    for (const auto& m : d.members)
      for (const auto& [topic, p] : m.partitions) out[m.client_id].insert(p);
    return out;
  };
  // Polls until both consumers hold two partitions and the group is stable.
  auto settled = [&](protocol::native::group_detail& out) {
    for (int round = 0; round < 3000; ++round) {
      poll_all();
      if (assigned_partitions(consumers["static-a"]) != 2 || assigned_partitions(consumers["static-b"]) != 2)
        continue;
      auto d = native.describe_group("static-group");
      if (!client::ok(d)) continue;
      out = std::get<0>(d);
      if (out.summary.state == "Stable" && holdings_of(out).size() == 2) return true;
    }
    return false;
  };
  protocol::native::group_detail before;
  ASSERT_TRUE(settled(before)) << "two static members split four partitions";
  std::string leader;
  for (const auto& m : before.members)
    if (m.member_id == before.leader) leader = m.client_id;
  ASSERT_FALSE(leader.empty());
  const std::string follower = leader == "static-a" ? "static-b" : "static-a";
  for (const auto& restarted : {leader, follower}) {
    SCOPED_TRACE("restarting " + restarted + (restarted == leader ? " (the leader)" : ""));
    const auto other = restarted == leader ? follower : leader;
    const int other_revoked = revocations[other];  // before this restart
    rd_kafka_destroy_flags(consumers[restarted], RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    revocations[restarted] = 0;
    consumers[restarted] = static_consumer(bootstrap, restarted, &revocations[restarted]);
    protocol::native::group_detail after;
    ASSERT_TRUE(settled(after));
    EXPECT_EQ(after.generation, before.generation) << "no rebalance";
    EXPECT_EQ(holdings_of(after), holdings_of(before)) << "each member has its own partitions back";
    EXPECT_EQ(revocations[other], other_revoked) << "the other member was never revoked";
  }
  for (auto& [name, rk] : consumers) {
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }
}
