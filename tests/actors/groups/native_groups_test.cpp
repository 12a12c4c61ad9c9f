// Native consumer groups: the broker assigns partitions and pushes each new assignment.
// Three members split a topic; one disconnects abruptly, one leaves; the rest take over,
// commits are fenced by generation, and no message is lost. A member whose connection closes
// leaves at once, even while an answer owed to that connection is still pending.
#include <gtest/gtest.h>
#include <poll.h>

#include <map>
#include <set>

#include "logging/loggers.hpp"
#include "tests/actors/broker_fixture.hpp"
#include "log_capture.hpp"
#include "process.hpp"
#include "raw_kafka.hpp"

using namespace portask;
using namespace portask::test;
using namespace std::chrono_literals;
namespace native = protocol::native;

namespace {

struct member {
  client::connection conn;
  std::uint32_t membership = 0;
  native::group_assignment current;
};

// Reads pushed assignments until `done` holds for the members (bounded by 60 s, not by a
// count of reads: a slow machine makes each read take longer, not fewer happen).
bool await_assignments(std::vector<member*> members,
                       const std::function<bool(const std::vector<member*>&)>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    for (auto* m : members) {
      auto a = m->conn.next_assignment(20ms);
      if (!client::ok(a)) return false;
      while (std::get<0>(a)) {
        m->current = std::move(*std::get<0>(a));
        a = m->conn.next_assignment(0ms);
        if (!client::ok(a)) return false;
      }
    }
    if (done(members)) return true;
  }
  return false;
}

bool sizes_are(const std::vector<member*>& ms, std::size_t n, std::int32_t generation_at_least) {
  std::set<std::int32_t> all;
  for (const auto* m : ms) {
    if (m->current.partitions.size() != n || m->current.generation < generation_at_least) return false;
    for (const auto& [t, p] : m->current.partitions) all.insert(p);
  }
  return all.size() == 6;
}

// Processes up to `limit` messages of each assigned partition from the group's committed
// offset, committing after each fetch with the member's identity.
void process(member& m, std::map<std::pair<std::int32_t, std::int64_t>, int>& seen, int limit) {
  for (const auto& [topic, p] : m.current.partitions) {
    auto committed = must(m.conn.committed("native-workers", topic, p));
    const auto from = std::max<std::int64_t>(0, committed.offset);
    auto got = must(m.conn.fetch(topic, p, from, 1 << 20, 0));
    if (got.messages.empty()) continue;
    std::int64_t next = from;
    for (std::size_t i = 0; i < got.messages.size() && static_cast<int>(i) < limit; ++i) {
      const auto offset = from + static_cast<std::int64_t>(i);
      EXPECT_EQ(got.messages[i].value, "v" + std::to_string(p) + "-" + std::to_string(offset));
      ++seen[{p, offset}];
      next = offset + 1;
    }
    must(m.conn.commit("native-workers", topic, p, next, "", m.current.member_id, m.current.generation));
  }
}

}  // namespace

TEST(NativeGroups, MembersSplitATopicAndTakeOverFromOneThatDisconnectsAndOneThatLeaves) {
  broker_fixture f;
  auto admin = f.connect();
  must(admin.create_topic("nq", 6));
  for (std::int32_t p = 0; p < 6; ++p) {
    protocol::message_batch b;
    for (int i = 0; i < 100; ++i) {
      protocol::message m;
      m.value = "v" + std::to_string(p) + "-" + std::to_string(i);
      b.messages.push_back(m);
    }
    must(admin.publish("nq", p, b));
  }
  std::vector<std::unique_ptr<member>> members;
  for (int i = 0; i < 3; ++i) {
    members.push_back(std::make_unique<member>(member{f.connect(), 0, {}}));
    members.back()->membership = must(members.back()->conn.join_group("native-workers", {"nq"}));
  }
  std::vector<member*> all{members[0].get(), members[1].get(), members[2].get()};
  ASSERT_TRUE(await_assignments(all, [](const auto& ms) { return sizes_are(ms, 2, 1); }))
      << "three members, two partitions each";
  const auto first_generation = members[0]->current.generation;
  EXPECT_EQ(members[1]->current.generation, first_generation);

  std::map<std::pair<std::int32_t, std::int64_t>, int> seen;
  for (auto* m : all) process(*m, seen, 30);
  EXPECT_EQ(seen.size(), 180u);

  // Member 2 disconnects without a word: its membership ends with its connection.
  members[2].reset();
  std::vector<member*> two{members[0].get(), members[1].get()};
  ASSERT_TRUE(await_assignments(two, [&](const auto& ms) { return sizes_are(ms, 3, first_generation + 1); }))
      << "the other two take three partitions each";
  // A commit with the old generation is fenced.
  auto stale = members[0]->conn.commit("native-workers", "nq", members[0]->current.partitions[0].second,
                                       99, "", members[0]->current.member_id, first_generation);
  ASSERT_FALSE(client::ok(stale));
  EXPECT_EQ(client::error_of(stale).code, errc::illegal_generation);
  for (auto* m : two) process(*m, seen, 30);

  // Member 1 leaves cleanly: member 0 gets everything.
  must(members[1]->conn.leave_group(members[1]->membership));
  std::vector<member*> one{members[0].get()};
  ASSERT_TRUE(await_assignments(one, [&](const auto& ms) { return sizes_are(ms, 6, first_generation + 2); }));
  for (int round = 0; round < 10 && seen.size() < 600; ++round) process(*members[0], seen, 100);
  EXPECT_EQ(seen.size(), 600u) << "no message lost";
  for (const auto& [pos, times] : seen) EXPECT_EQ(times, 1) << "every commit landed, so no redelivery";
  for (std::int32_t p = 0; p < 6; ++p) EXPECT_EQ(must(admin.committed("native-workers", "nq", p)).offset, 100);
}

TEST(NativeGroups, BadJoinsGetErrorsAndKafkaMembersCannotJoinANativeGroup) {
  broker_fixture f;
  auto c = f.connect();
  auto bad = c.join_group("", {"t"});
  ASSERT_FALSE(client::ok(bad));
  EXPECT_EQ(client::error_of(bad).code, errc::invalid_request);
  auto unknown_leave = c.leave_group(42);
  EXPECT_FALSE(client::ok(unknown_leave));
  // A session timeout the coordinator refuses arrives as an error push.
  must(c.join_group("g", {"t"}, protocol::assignment_strategy::round_robin, 10));
  auto a = c.next_assignment(30s);
  ASSERT_FALSE(client::ok(a));
  EXPECT_EQ(client::error_of(a).code, errc::invalid_session_timeout);
  // The connection still works.
  EXPECT_TRUE(client::ok(c.list_topics()));
  // A Kafka consumer cannot join a native group (different protocol type).
  must(c.join_group("native-only", {"t"}));
  ASSERT_TRUE(client::ok(c.next_assignment(30s)));
  raw_kafka k{f.server->kafka_port()};
  msg::JoinGroupRequest j;
  j.groupId = "native-only";
  j.sessionTimeoutMs = 10000;
  j.rebalanceTimeoutMs = 10000;
  j.protocolType = "consumer";
  j.protocols.push_back({"range", "x"});
  EXPECT_EQ(call<msg::JoinGroupResponse>(k, 11, 2, j, false).errorCode, 23)
      << "INCONSISTENT_GROUP_PROTOCOL";
}

// A client makes the coordinator refuse its joins at will (a session timeout out of range,
// pipelined by the hundred): the broker's warning is one line a second for all of them, with
// their count, not one line each (docs/operations.md).
TEST(NativeGroups, RefusedJoinsLogAtMostOneLineASecond) {
  portask::testing::log_capture log(logging::native(), spdlog::level::warn);
  broker_fixture f;
  auto c = f.connect();
  const std::string line = "native member cannot join";
  const auto start = std::chrono::steady_clock::now();
  int joins = 0;
  // Until a line is written: another test's refusal in this process may have been logged
  // less than a second ago.
  while (joins < 20 || log.lines_with(line).empty()) {
    ASSERT_LT(joins, 10000) << "no line was written";
    must(c.join_group("flood", {"t"}, protocol::assignment_strategy::range, 1), "join");
    auto a = c.next_assignment(30s);
    ASSERT_FALSE(client::ok(a));
    EXPECT_EQ(client::error_of(a).code, errc::invalid_session_timeout);
    ++joins;
  }
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start);
  EXPECT_LE(log.lines_with(line).size(), static_cast<std::size_t>(seconds.count()) + 1) << joins << " joins refused";
}

// As a Kafka leader watching its metadata: a subscribed topic created after the join, and one
// that gains partitions, are assigned without any member joining or leaving.
TEST(NativeGroups, ATopicCreatedOrGrownAfterTheJoinIsAssigned) {
  broker_fixture f;
  auto admin = f.connect();
  must(admin.create_topic("grows", 1));
  member m{f.connect(), 0, {}};
  m.membership = must(m.conn.join_group("watchers", {"grows", "later"}));
  auto count_is = [](std::size_t n) {
    return [n](const std::vector<member*>& ms) { return ms[0]->current.partitions.size() == n; };
  };
  ASSERT_TRUE(await_assignments({&m}, count_is(1))) << "grows/0 alone";
  const auto first_generation = m.current.generation;
  must(admin.create_topic("later", 2));
  must(admin.add_partitions("grows", 3));
  ASSERT_TRUE(await_assignments({&m}, count_is(5))) << m.current.partitions.size();
  EXPECT_GT(m.current.generation, first_generation);
  std::set<std::pair<std::string, std::int32_t>> got(m.current.partitions.begin(), m.current.partitions.end());
  EXPECT_EQ(got, (std::set<std::pair<std::string, std::int32_t>>{
                     {"grows", 0}, {"grows", 1}, {"grows", 2}, {"later", 0}, {"later", 1}}));
  // A deleted topic's partitions are taken away.
  must(admin.delete_topic("later"));
  ASSERT_TRUE(await_assignments({&m}, count_is(3))) << m.current.partitions.size();
  // And then the group stays as it is: two more looks at the counts (one each 5 s) find
  // nothing changed, so no assignment comes.
  const auto settled = m.current.generation;
  const auto quiet_until = std::chrono::steady_clock::now() + 11s;
  while (std::chrono::steady_clock::now() < quiet_until) {
    auto a = m.conn.next_assignment(500ms);
    ASSERT_TRUE(client::ok(a));
    if (std::get<0>(a)) FAIL() << "a rebalance with nothing changed: generation " << std::get<0>(a)->generation;
  }
  EXPECT_EQ(m.current.generation, settled);
}

TEST(NativeGroups, AMemberFollowsItsGroupToANewCoordinatorWhenTheOldOneFails) {
  broker_fixture f;
  auto admin = f.connect();
  must(admin.create_topic("moved", 2));
  member m{f.connect(), 0, {}};
  m.membership = must(m.conn.join_group("movers", {"moved"}));
  std::vector<member*> one{&m};
  ASSERT_TRUE(await_assignments(one, [](const auto& ms) { return ms[0]->current.partitions.size() == 2; }));
  const auto first_id = m.current.member_id;
  caf::scoped_actor self{*f.system};
  group_coordinator_actor coordinator;
  self->request(f.server->directory().groups, 5s, group_atom::value, std::string("movers"))
      .receive([&](group_coordinator_actor& g) { coordinator = g; },
               [&](caf::error& e) { FAIL() << f.system->render(e); });
  ASSERT_TRUE(coordinator);
  caf::anon_send_exit(coordinator, caf::exit_reason::kill);
  // Its heartbeats fail; it asks the directory again, joins the successor (which knows no
  // member, so it gets a new id) and has its partitions pushed again.
  ASSERT_TRUE(await_assignments(one, [&](const auto& ms) {
    return ms[0]->current.member_id != first_id && ms[0]->current.partitions.size() == 2;
  })) << "the member rejoined through the new coordinator";
}

TEST(NativeGroups, ARequestRightAfterDeleteGroupsIsServedByTheSuccessorNeverNotReady) {
  broker_fixture f;
  auto c = f.connect();
  must(c.create_topic("handover", 1));
  // The deleted group's coordinator retires while the next request is on its way: the
  // request reaches it or its successor, and is answered either way.
  for (int i = 0; i < 30; ++i) {
    const auto group = "deleted-" + std::to_string(i);
    must(c.commit(group, "handover", 0, 7));
    must(c.delete_group(group));
    auto after = c.committed(group, "handover", 0);
    ASSERT_TRUE(client::ok(after)) << i << ": " << client::error_of(after).message;
    EXPECT_EQ(std::get<0>(after).offset, -1) << "its offsets went with it";
  }
}

// A pushed assignment already on the socket is read by a zero wait (as a consumer polling
// between batches does), not only by a waiting call.
TEST(NativeGroups, AZeroWaitReadsAnAssignmentThatHasArrived) {
  broker_fixture f;
  auto first = f.connect();
  must(first.join_group("zero-wait", {"zw"}));
  ASSERT_TRUE(client::ok(first.next_assignment(30s)));
  // A second member joins: the first gets a new assignment pushed.
  auto second = f.connect();
  must(second.join_group("zero-wait", {"zw"}));
  auto got = first.next_assignment(0ms);
  ASSERT_TRUE(client::ok(got));
  // Not here yet: wait for the socket to have bytes, then look again without waiting.
  for (int looks = 0; looks < 100 && !std::get<0>(got); ++looks) {
    pollfd p{first.native_handle(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 10000), 1);
    got = first.next_assignment(0ms);
    ASSERT_TRUE(client::ok(got));
  }
  ASSERT_TRUE(std::get<0>(got).has_value());
  EXPECT_GT(std::get<0>(got)->generation, 1);
}

// A client's memberships end when its connection closes, not when the last answer owed to
// it is written: here a publish the paused store holds (up to its 2-minute timeout) is still
// unanswered when the client goes, and the group hands its partition to the other member
// meanwhile.
TEST(NativeGroups, AMemberWhoseConnectionClosesLeavesAtOnceWhileAnAnswerToItIsPending) {
  broker_config cfg;
  cfg.store_timeout_ms = 120000;  // the store stalls for as long as the test pauses it
  broker_fixture f{true, cfg};
  auto admin = f.connect();
  must(admin.create_topic("pair", 2));
  must(admin.create_topic("stalled", 1));
  must(admin.publish("stalled", 0, make_batch(1)));  // its partition is running
  member staying{f.connect(), 0, {}};
  staying.membership = must(staying.conn.join_group("pairs", {"pair"}));
  auto leaving = std::make_unique<member>(member{f.connect(), 0, {}});
  leaving->membership = must(leaving->conn.join_group("pairs", {"pair"}));
  std::vector<member*> both{&staying, leaving.get()};
  ASSERT_TRUE(await_assignments(both, [](const auto& ms) {
    return ms[0]->current.partitions.size() == 1 && ms[1]->current.partitions.size() == 1;
  })) << "one partition each";

  f.redis->pause();
  struct resume_at_exit {
    redis_server& r;
    ~resume_at_exit() { r.resume(); }
  } resume{*f.redis};
  must(leaving->conn.send_publish("stalled", 0, make_batch(1)));
  ASSERT_TRUE(leaving->conn.flush());
  leaving.reset();  // gone with its publish unanswered
  std::vector<member*> one{&staying};
  EXPECT_TRUE(await_assignments(one, [](const auto& ms) { return ms[0]->current.partitions.size() == 2; }))
      << "the departed member's partition was not reassigned while an answer to it was pending";
}

// A native group its members left is listed with its protocol type ("portask") whether its
// coordinator still runs or is gone: here the group directory restarts, taking every
// coordinator along, as a broker restart does, and the list comes from the store.
TEST(NativeGroups, AnEmptyGroupIsListedWithItsProtocolTypeOnceItsCoordinatorIsGone) {
  broker_fixture f;
  auto admin = f.connect();
  must(admin.create_topic("wl1", 1));
  member m{f.connect(), 0, {}};
  m.membership = must(m.conn.join_group("natgrp", {"wl1"}));
  ASSERT_TRUE(await_assignments({&m}, [](const auto& ms) { return ms[0]->current.partitions.size() == 1; }));
  must(m.conn.commit("natgrp", "wl1", 0, 1, "", m.current.member_id, m.current.generation));
  must(m.conn.leave_group(m.membership));
  // (Refused while the connection still knows only the directory that is gone.)
  auto type_of = [&](const std::string& group) {
    auto listed = admin.list_groups();
    if (!client::ok(listed)) return std::string("(no list: ") + client::error_of(listed).message + ")";
    for (const auto& g : std::get<0>(listed))
      if (g.group == group) return g.protocol_type;
    return std::string("(not listed)");
  };
  EXPECT_EQ(type_of("natgrp"), "portask");
  const auto before = f.server->directory().groups;
  caf::anon_send_exit(before, caf::exit_reason::kill);
  ASSERT_TRUE(wait_until([&] {
    auto now = f.server->directory().groups;
    return now && now != before;
  }));
  EXPECT_TRUE(wait_until([&] { return type_of("natgrp") == "portask"; })) << type_of("natgrp");
}
