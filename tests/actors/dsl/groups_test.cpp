// Consumer groups, message by message on the deterministic scheduler: the real group
// directory and coordinator in front of a mock storage reader (committed offsets) and a mock
// registry and bridge (the __consumer_offsets mirror).
#define CAF_SUITE dsl.groups

#include "actors/groups/group_coordinator.hpp"
#include "actors/groups/offsets_log.hpp"
#include "actors/pipeline/wall_clock.hpp"
#include "protocol/topic_name.hpp"
#include "tests/actors/dsl/dsl_fixture.hpp"
#include "tests/mocks/mock_cluster.hpp"

using namespace portask;
using namespace portask::testing;

namespace {

join_group_request join_as(const std::string& client, const std::string& member_id = {}) {
  join_group_request r;
  r.member_id = member_id;
  r.client_id = client;
  r.client_host = "/127.0.0.1";
  r.protocol_type = "consumer";
  r.protocols = {{"range", "subscription of " + client}};
  return r;
}

sync_group_request sync_as(const std::string& member_id, std::int32_t generation,
                           std::vector<std::pair<std::string, std::string>> assignments = {}) {
  sync_group_request r;
  r.member_id = member_id;
  r.generation = generation;
  r.assignments = std::move(assignments);
  return r;
}

commit_offsets_request commit_as(const std::string& member_id, std::int32_t generation,
                                 std::vector<storage::group_offset> offsets) {
  return {{member_id, std::nullopt, generation}, std::move(offsets)};
}

storage::group_offset at(std::int32_t partition, std::int64_t offset) {
  return {{"orders", partition}, {offset, ""}};
}

// An offset as the store gives it back: committed at `commit_ms`, expiring at `expire_ms`.
storage::group_offset stored_at(std::int32_t partition, std::int64_t offset, std::int64_t commit_ms,
                                std::int64_t expire_ms = -1) {
  return {{"orders", partition}, {offset, "", -1, commit_ms, expire_ms}};
}

// Offsets as a commit gave them, before the coordinator stamped their commit time.
std::vector<storage::group_offset> without_commit_times(std::vector<storage::group_offset> offsets) {
  for (auto& o : offsets) {
    CAF_CHECK(o.offset.commit_time_ms > 0);
    o.offset.commit_time_ms = -1;
  }
  return offsets;
}

constexpr std::int64_t day_ms = 24LL * 3600 * 1000;  // the fixture keeps Kafka's 7-day retention

// Kafka's ConsumerProtocolSubscription v0 of a consumer subscribed to "orders" alone: version,
// topics ["orders"], no user data.
std::string orders_subscription() {
  return std::string("\x00\x00" "\x00\x00\x00\x01" "\x00\x06" "orders" "\xff\xff\xff\xff", 18);
}

struct group_fixture : dsl_fixture {
  group_fixture() {
    directory = track(spawn_group_directory(sys, ctx, dir));
    sched.run();
  }

  // Looks the group's coordinator up as a connection does; the directory spawns it.
  group_coordinator_actor coordinator_of(const std::string& group_id) {
    self->request(directory, caf::infinite, group_atom::value, group_id);
    expect((group_atom, std::string), from(self).to(directory).with(_, group_id));
    group_coordinator_actor c;
    expect((group_coordinator_actor), from(directory).to(self).with(captured(c)));
    CAF_REQUIRE(c);
    return c;
  }

  // A mock cluster actor the directory is told of (as the supervisor tells it), and a view in
  // which this node is alone, so that every group hashes to it.
  cluster_actor join_mock_cluster() {
    auto cluster = track(spawn_mock_cluster(sys, node_script));
    dir.cluster = cluster;
    caf::anon_send(directory, directory_atom::value, dir);
    sched.run();
    return cluster;
  }
  static std::shared_ptr<cluster_view> alone_view() {
    auto view = std::make_shared<cluster_view>();
    view->self = 1;
    view->token = "node-1";
    view->clustered = true;
    view->live = {1};
    return view;
  }

  // A forms the group's first generation; B's join then waits (for A to rejoin).
  void park_second_join(const group_coordinator_actor& coord) {
  member_a->request(coord, caf::infinite, join_atom::value, join_as("consumer-a"));
  expect((join_atom, join_group_request), from(member_a).to(coord).with(_, _));
  expect((join_group_result), from(coord).to(member_a).with(WHERE(join_group_result, r, r.error == errc::ok)));
  member_b->request(coord, caf::infinite, join_atom::value, join_as("consumer-b"));
  expect((join_atom, join_group_request), from(member_b).to(coord).with(_, _));
  disallow((join_group_result), from(coord).to(member_b));
  }

  // `member` commits `offset` as a standalone consumer (no member id, no generation), and
  // `coord` takes the request.
  void commit_standalone(caf::scoped_actor& member, const group_coordinator_actor& coord,
                         storage::group_offset offset) {
    member->request(coord, caf::infinite, commit_atom::value, commit_as("", -1, {offset}));
    expect((commit_atom, commit_offsets_request), from(member).to(coord).with(_, _));
  }

  // The registry deleted "orders" at `deleted_ms`: the directory takes the cleanup on at once.
  void delete_orders_at(std::int64_t deleted_ms) {
    self->request(directory, caf::infinite, delete_atom::value, std::string{"orders"}, deleted_ms);
    expect((delete_atom, std::string, std::int64_t), from(self).to(directory).with(_, "orders", deleted_ms));
    expect((bool), from(directory).to(self).with(true));
  }

  // After delete_orders_at(deleted_ms), with member A's commit to group "g" out at the store:
  // the directory passes the deletion on to `coord` (g's coordinator), whose cleanup waits for
  // that commit (the directory lists the stored groups meanwhile), answers A, then reads the
  // group's offsets.
  void expect_a_cleanup_after_the_commit_out(const group_coordinator_actor& coord, std::int64_t deleted_ms) {
    expect((delete_atom, std::string, std::int64_t), from(directory).to(coord).with(_, "orders", deleted_ms));
    expect((commit_atom, std::string, std::vector<storage::group_offset>, std::string),
           from(coord).to(reader).with(_, "g", _, ""));
    expect((list_atom), from(directory).to(reader));
    expect((std::vector<std::string>), from(reader).to(directory));
    expect((bool), from(reader).to(coord).with(true));
    expect((bool), from(coord).to(member_a).with(true));
    expect((offset_atom, std::string), from(coord).to(reader).with(_, "g"));
    expect((std::vector<storage::group_offset>), from(reader).to(coord).with(_));
  }

  // `coord` stores `metadata` as its group's (under `fence`), and the store answers `stored`.
  void expect_metadata_stored(const group_coordinator_actor& coord, const std::string& group_id,
                              const storage::group_metadata& metadata, const std::string& fence = "",
                              bool stored = true) {
    expect((commit_atom, std::string, storage::group_metadata, std::string),
           from(coord).to(reader).with(_, group_id, metadata, fence));
    expect((bool), from(reader).to(coord).with(stored));
  }

  group_directory_actor directory;
  std::shared_ptr<cluster_script> node_script = std::make_shared<cluster_script>();
  // The two consumers' connections.
  caf::scoped_actor member_a{sys, true};
  caf::scoped_actor member_b{sys, true};
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(group_tests, group_fixture)

CAF_TEST(two members join and both get the leader assignment and commits are coalesced) {
  auto coord = coordinator_of("g");

  // A joins the empty group: with no initial delay generation 1 forms at once, A leading.
  member_a->request(coord, caf::infinite, join_atom::value, join_as("consumer-a"));
  expect((join_atom, join_group_request), from(member_a).to(coord).with(_, _));
  join_group_result a1;
  expect((join_group_result),
         from(coord).to(member_a).with(WHERE(join_group_result, r,
                                             r.error == errc::ok && r.generation == 1 &&
                                                 r.leader == r.member_id && r.members.size() == 1)
                                           .into(a1)));
  const auto a = a1.member_id;

  // B joins: a rebalance starts, and B waits until every member has rejoined.
  member_b->request(coord, caf::infinite, join_atom::value, join_as("consumer-b"));
  expect((join_atom, join_group_request), from(member_b).to(coord).with(_, _));
  disallow((join_group_result), from(coord).to(member_b));

  // A rejoins (a client does after a heartbeat answered rebalance_in_progress): generation 2
  // answers both joins; only the leader's answer lists the members.
  member_a->request(coord, caf::infinite, join_atom::value, join_as("consumer-a", a));
  expect((join_atom, join_group_request), from(member_a).to(coord).with(_, _));
  expect((join_group_result),
         from(coord).to(member_a).with(WHERE(
             join_group_result, r,
             r.generation == 2 && r.member_id == a && r.leader == a && r.members.size() == 2)));
  join_group_result b2;
  expect((join_group_result),
         from(coord).to(member_b).with(
             WHERE(join_group_result, r,
                   r.error == errc::ok && r.generation == 2 && r.leader == a && r.members.empty())
                 .into(b2)));
  const auto b = b2.member_id;
  CAF_CHECK_NOT_EQUAL(a, b);

  // B syncs first and waits; the leader's sync carries the assignments and answers both.
  member_b->request(coord, caf::infinite, sync_atom::value, sync_as(b, 2));
  expect((sync_atom, sync_group_request), from(member_b).to(coord).with(_, _));
  disallow((sync_group_result), from(coord).to(member_b));
  member_a->request(coord, caf::infinite, sync_atom::value,
                    sync_as(a, 2, {{a, "orders-0"}, {b, "orders-1"}}));
  expect((sync_atom, sync_group_request), from(member_a).to(coord).with(_, _));
  expect((sync_group_result),
         from(coord).to(member_a).with(WHERE(
             sync_group_result, r,
             r.error == errc::ok && r.protocol_name == "range" && r.assignment == "orders-0")));
  expect((sync_group_result),
         from(coord).to(member_b).with(
             WHERE(sync_group_result, r, r.error == errc::ok && r.assignment == "orders-1")));

  // The new stable generation is mirrored to __consumer_offsets: the topic is created on
  // first use, then the group's record goes through the bridge.
  expect((create_atom, storage::topic_info),
         from(coord).to(registry).with(_, offsets_topic_info()));
  expect((storage::topic_info), from(registry).to(coord).with(offsets_topic_info()));
  expect((publish_atom, publish_batch),
         from(coord)
             .to(bridge_mock)
             .with(_, WHERE(publish_batch, pb,
                            pb.internal && pb.tp.topic == protocol::offsets_topic &&
                                pb.batch.messages.size() == 1)));
  expect((publish_result), from(bridge_mock).to(coord).with(_));
  // The group's protocol type and generation are stored beside its offsets.
  expect_metadata_stored(coord, "g", {"consumer", 2});
  CAF_CHECK(!sched.has_job());

  // A commit of two partitions is one message to the store.
  member_a->request(coord, caf::infinite, commit_atom::value,
                    commit_as(a, 2, {at(0, 42), at(1, 7)}));
  expect((commit_atom, commit_offsets_request), from(member_a).to(coord).with(_, _));
  // While that round trip is in flight, B and A commit again: both wait.
  member_b->request(coord, caf::infinite, commit_atom::value, commit_as(b, 2, {at(2, 5)}));
  member_a->request(coord, caf::infinite, commit_atom::value, commit_as(a, 2, {at(0, 50)}));
  expect((commit_atom, commit_offsets_request), from(member_b).to(coord).with(_, _));
  expect((commit_atom, commit_offsets_request), from(member_a).to(coord).with(_, _));
  CAF_CHECK_EQUAL(reader_script->commit.count(), 0u);
  expect((commit_atom, std::string, std::vector<storage::group_offset>, std::string),
         from(coord).to(reader).with(_, "g", _, ""));
  CAF_CHECK_EQUAL(without_commit_times(std::get<1>(reader_script->commit.received.at(0))),
                  (std::vector{at(0, 42), at(1, 7)}));
  expect((bool), from(reader).to(coord).with(true));
  expect((bool), from(coord).to(member_a).with(true));
  expect((publish_atom, publish_batch),
         from(coord)
             .to(bridge_mock)
             .with(_, WHERE(publish_batch, pb, pb.internal && pb.batch.messages.size() == 2)));
  expect((publish_result), from(bridge_mock).to(coord).with(_));
  // The next round trip takes both waiting commits, in arrival order: one message.
  expect((commit_atom, std::string, std::vector<storage::group_offset>, std::string),
         from(coord).to(reader).with(_, "g", _, ""));
  CAF_CHECK_EQUAL(without_commit_times(std::get<1>(reader_script->commit.received.at(1))),
                  (std::vector{at(2, 5), at(0, 50)}));
  expect((bool), from(reader).to(coord).with(true));
  expect((bool), from(coord).to(member_b).with(true));
  expect((bool), from(coord).to(member_a).with(true));
  expect(
      (publish_atom, publish_batch),
      from(coord).to(bridge_mock).with(_, WHERE(publish_batch, pb, pb.batch.messages.size() == 2)));
  expect((publish_result), from(bridge_mock).to(coord).with(_));
  CAF_CHECK(!sched.has_job());
  CAF_CHECK_EQUAL(reader_script->commit.count(), 2u);
}

CAF_TEST(a commit from a stale generation never reaches the store) {
  auto coord = coordinator_of("g");
  member_a->request(coord, caf::infinite, join_atom::value, join_as("consumer-a"));
  expect((join_atom, join_group_request), from(member_a).to(coord).with(_, _));
  join_group_result a1;
  expect((join_group_result), from(coord).to(member_a).with(captured(a1)));
  member_a->request(coord, caf::infinite, sync_atom::value,
                    sync_as(a1.member_id, 1, {{a1.member_id, "orders-0"}}));
  expect((sync_atom, sync_group_request), from(member_a).to(coord).with(_, _));
  expect((sync_group_result),
         from(coord).to(member_a).with(WHERE(sync_group_result, r, r.assignment == "orders-0")));
  allow((create_atom, storage::topic_info), from(coord).to(registry));  // the mirror, as above
  allow((storage::topic_info), from(registry).to(coord));
  allow((publish_atom, publish_batch), from(coord).to(bridge_mock));
  allow((publish_result), from(bridge_mock).to(coord));
  expect_metadata_stored(coord, "g", {"consumer", 1});
  member_a->request(coord, caf::infinite, commit_atom::value,
                    commit_as(a1.member_id, 0, {at(0, 1)}));
  expect((commit_atom, commit_offsets_request), from(member_a).to(coord).with(_, _));
  expect((caf::error), from(coord).to(member_a).with(make_caf_error(errc::illegal_generation)));
  disallow((commit_atom, std::string, std::vector<storage::group_offset>, std::string), from(coord).to(reader));
  CAF_CHECK(!sched.has_job());
  CAF_CHECK_EQUAL(reader_script->commit.count(), 0u);
}

CAF_TEST(an idle coordinator hands over and a request to its old handle is served) {
  auto coord = coordinator_of("idle");
  sched.run();  // it starts: its idle check is armed
  // Five seconds without members or requests (on the test clock): its idle check fires and
  // it retires: the directory forgets it first.
  sched.advance_time(std::chrono::seconds(5));
  expect((expire_atom), from(coord).to(coord));
  expect((retire_atom, std::string, std::int64_t), from(coord).to(directory).with(_, "idle", 0));
  // A connection that looked it up before still holds the old handle and asks for offsets.
  member_a->request(coord, caf::infinite, offset_atom::value, std::vector<topic_partition>{});
  expect((offset_atom, std::vector<topic_partition>), from(member_a).to(coord).with(_, _));
  // The retired coordinator asks the directory, which spawns the successor ...
  expect((group_atom, std::string), from(coord).to(directory).with(_, "idle"));
  group_coordinator_actor successor;
  expect((group_coordinator_actor), from(directory).to(coord).with(captured(successor)));
  CAF_REQUIRE(successor);
  CAF_CHECK(successor.address() != coord.address());
  // ... and hands it the request: the successor reads the store and answers the connection,
  // never not_ready.
  expect((offset_atom, std::vector<topic_partition>), from(member_a).to(successor).with(_, _));
  expect((offset_atom, std::string), from(successor).to(reader).with(_, "idle"));
  expect((std::vector<storage::group_offset>), from(reader).to(successor).with(_));
  expect((std::vector<storage::group_offset>), from(successor).to(member_a).with(_));
  // A read leaves nothing to keep: the successor stays five seconds after it (the next
  // lookup finds it), then retires in turn, and the next lookup spawns another.
  CAF_CHECK(coordinator_of("idle").address() == successor.address());
  sched.advance_time(std::chrono::seconds(5));
  expect((expire_atom), from(successor).to(successor));
  expect((retire_atom, std::string, std::int64_t), from(successor).to(directory).with(_, "idle", 0));
  CAF_CHECK(coordinator_of("idle").address() != successor.address());
}

CAF_TEST(in a cluster a group is coordinated only under its lease and let go when idle) {
  auto cluster = join_mock_cluster();
  auto view = alone_view();
  ctx->publish_cluster(view);
  // Without the group's lease the directory asks the cluster actor for it and the client
  // retries (Kafka's COORDINATOR_NOT_AVAILABLE).
  self->request(directory, caf::infinite, group_atom::value, std::string{"leased"});
  expect((group_atom, std::string), from(self).to(directory).with(_, "leased"));
  expect((group_atom, std::string, bool), from(directory).to(cluster).with(_, "leased", true));
  expect((caf::error), from(directory).to(self).with(make_caf_error(errc::not_ready)));
  // The next lease round took it: the group gets its coordinator, and the directory tells
  // the cluster actor one runs under that lease (so that it keeps the lease).
  auto leased = std::make_shared<cluster_view>(*view);
  leased->group_holders["leased"] = {1, 7, "node-1"};
  ctx->publish_cluster(leased);
  auto coord = coordinator_of("leased");
  expect((group_atom, std::string, std::int64_t), from(directory).to(cluster).with(_, "leased", 7));
  sched.run();  // it starts: its idle check is armed
  // Unused for five seconds: it retires, and the directory lets the group go (the cluster
  // actor keeps its lease a lease time more, group_wants.hpp).
  sched.advance_time(std::chrono::seconds(5));
  expect((expire_atom), from(coord).to(coord));
  expect((retire_atom, std::string, std::int64_t), from(coord).to(directory).with(_, "leased", 0));
  expect((group_atom, std::string, bool), from(directory).to(cluster).with(_, "leased", false));
  CAF_CHECK_EQUAL(node_script->groups.count(), 2u);
  CAF_CHECK_EQUAL(node_script->coordinated.count(), 1u);
}

CAF_TEST(a join parked when the group lease leaves the node is sent to the new coordinator at once) {
  auto cluster = join_mock_cluster();
  auto view = alone_view();
  view->group_holders["moving"] = {1, 7, "node-1"};
  ctx->publish_cluster(view);
  auto coord = coordinator_of("moving");
  expect((group_atom, std::string, std::int64_t), from(directory).to(cluster).with(_, "moving", 7));
  sched.run();
  park_second_join(coord);
  // The lease goes to another node (a node joined and the group hashes to it now): at its
  // next tick the coordinator sends B to find the group's coordinator, not after A's session.
  auto moved_away = alone_view();
  moved_away->live = {1, 2};
  moved_away->group_holders["moving"] = {2, 8, "node-2"};
  ctx->publish_cluster(moved_away);
  sched.advance_time(std::chrono::milliseconds(100));
  expect((tick_atom), from(coord).to(coord));
  expect((caf::error), from(coord).to(member_b).with(make_caf_error(errc::not_coordinator)));
}

CAF_TEST(in a cluster the lease of a group whose coordinator failed is let go) {
  auto cluster = join_mock_cluster();
  auto view = alone_view();
  view->group_holders["failing"] = {1, 4, "node-1"};
  ctx->publish_cluster(view);
  auto coord = coordinator_of("failing");
  expect((group_atom, std::string, std::int64_t), from(directory).to(cluster).with(_, "failing", 4));
  sched.run();
  // No coordinator runs for it any more: the cluster actor may let the lease go (the next
  // request starts a coordinator, which keeps it again).
  // (Not exit_reason::kill: CAF makes that fatal to the linked directory as well.)
  caf::anon_send_exit(coord, caf::exit_reason::user_shutdown);
  expect((caf::exit_msg), from(_).to(coord).with(_));
  expect((caf::exit_msg), from(coord).to(directory).with(_));
  expect((group_atom, std::string, bool), from(directory).to(cluster).with(_, "failing", false));
  CAF_REQUIRE_EQUAL(node_script->groups.count(), 1u);
  CAF_CHECK_EQUAL(std::get<0>(node_script->groups.received.at(0)), std::string{"failing"});
  CAF_CHECK_EQUAL(std::get<1>(node_script->groups.received.at(0)), false);
}

CAF_TEST(a coordinator that ends answers the joins it holds) {
  auto coord = coordinator_of("ending");
  sched.run();
  park_second_join(coord);
  // It fails: B hears not ready (retriable: it finds the coordinator again), not nothing.
  caf::anon_send_exit(coord, caf::exit_reason::kill);
  expect((caf::exit_msg), from(_).to(coord).with(_));
  expect((caf::error), from(coord).to(member_b).with(make_caf_error(errc::not_ready)));
}

CAF_TEST(in a cluster offsets are deleted under the lease and a lost lease deletes nothing) {
  join_mock_cluster();
  auto view = alone_view();
  view->group_holders["fenced"] = {1, 7, "node-1"};
  ctx->publish_cluster(view);
  auto coord = coordinator_of("fenced");
  sched.run();
  // OffsetDelete: the coordinator's deletion carries the lease it acts under, which the
  // store checks in the same step as the deletion.
  const std::string lease = storage::lease_value({1, 7, "node-1"});
  const auto now_ms = wall_clock_ms();
  reader_script->offsets.reply({stored_at(0, 42, now_ms), stored_at(1, 43, now_ms)});
  member_a->request(coord, caf::infinite, delete_atom::value,
                    std::vector<topic_partition>{{"orders", 0}}, false);
  expect((delete_atom, std::vector<topic_partition>, bool), from(member_a).to(coord).with(_, _, false));
  // (A group this coordinator has seen no generation of is read first: it may be unknown.)
  expect((offset_atom, std::string), from(coord).to(reader).with(_, "fenced"));
  expect((std::vector<storage::group_offset>), from(reader).to(coord).with(_));
  expect((delete_atom, std::string, std::vector<topic_partition>, std::string),
         from(coord).to(reader).with(_, "fenced", std::vector<topic_partition>{{"orders", 0}}, lease));
  expect((bool), from(reader).to(coord).with(true));
  allow((create_atom, storage::topic_info), from(coord).to(registry));  // tombstones mirrored
  allow((storage::topic_info), from(registry).to(coord));
  expect((std::vector<topic_partition>), from(coord).to(member_a).with(std::vector<topic_partition>{}));
  sched.run();
  const auto mirrored = bridge_script->publish.count();
  CAF_CHECK(mirrored > 0u);
  // Another node took the group meanwhile: the store refuses, the client hears
  // NOT_COORDINATOR (and finds the new one), and no tombstone is mirrored.
  auto next = coordinator_of("fenced");
  reader_script->offsets.reply({stored_at(1, 43, now_ms)});
  reader_script->delete_offsets.fail(errc::not_coordinator);
  member_a->request(next, caf::infinite, delete_atom::value,
                    std::vector<topic_partition>{{"orders", 1}}, false);
  expect((delete_atom, std::vector<topic_partition>, bool), from(member_a).to(next).with(_, _, false));
  expect((offset_atom, std::string), from(next).to(reader).with(_, "fenced"));
  expect((std::vector<storage::group_offset>), from(reader).to(next).with(_));
  expect((delete_atom, std::string, std::vector<topic_partition>, std::string),
         from(next).to(reader).with(_, "fenced", _, lease));
  expect((caf::error), from(reader).to(next).with(make_caf_error(errc::not_coordinator)));
  expect((caf::error), from(next).to(member_a).with(make_caf_error(errc::not_coordinator)));
  sched.run();
  CAF_CHECK_EQUAL(reader_script->delete_offsets.count(), 2u);
  CAF_CHECK_EQUAL(bridge_script->publish.count(), mirrored);
}

CAF_TEST(offsets past retention expire while a commit waits and the rest stay) {
  auto coord = coordinator_of("g");
  sched.run();
  // Retention's pass, eight days on: one offset was committed nine days before, one a day.
  const auto now_ms = wall_clock_ms() + 8 * day_ms;
  reader_script->offsets.reply({stored_at(0, 42, now_ms - 9 * day_ms), stored_at(1, 7, now_ms - day_ms),
                                stored_at(2, 3, now_ms - day_ms, now_ms - 1)});
  self->send(directory, expire_atom::value, now_ms, std::vector<std::string>{"g"},
             std::vector<std::string>{});
  expect((expire_atom, std::int64_t, std::vector<std::string>, std::vector<std::string>),
         from(self).to(directory).with(_, now_ms, _, _));
  expect((expire_atom, std::int64_t, std::int64_t), from(directory).to(coord).with(_, now_ms, _));
  // A standalone commit arrives while the coordinator reads the offsets. It waits until the
  // deletion is done: stored between the read and the deletion, it would be deleted with
  // the expired offset of its partition (and the store would see it before the deletion).
  commit_standalone(member_a, coord, at(0, 50));
  expect((offset_atom, std::string), from(coord).to(reader).with(_, "g"));
  expect((std::vector<storage::group_offset>), from(reader).to(coord).with(_));
  // The nine-day-old offset and the one past its own expiry time go; the recent one stays.
  expect((delete_atom, std::string, std::vector<topic_partition>, std::string),
         from(coord).to(reader).with(_, "g", std::vector<topic_partition>{{"orders", 0}, {"orders", 2}}, ""));
  CAF_CHECK_EQUAL(reader_script->commit.count(), 0u);
  expect((bool), from(reader).to(coord).with(true));
  allow((create_atom, storage::topic_info), from(coord).to(registry));  // tombstones mirrored
  allow((storage::topic_info), from(registry).to(coord));
  // Then the waiting commit is stored, stamped with its commit time.
  expect((commit_atom, std::string, std::vector<storage::group_offset>, std::string),
         from(coord).to(reader).with(_, "g", _, ""));
  expect((bool), from(reader).to(coord).with(true));
  expect((bool), from(coord).to(member_a).with(true));
  sched.run();
  CAF_REQUIRE_EQUAL(reader_script->commit.count(), 1u);
  const auto& committed = std::get<1>(reader_script->commit.received.at(0));
  CAF_REQUIRE_EQUAL(committed.size(), 1u);
  CAF_CHECK_EQUAL(committed[0].offset.offset, 50);
  CAF_CHECK(committed[0].offset.commit_time_ms > 0);
  CAF_CHECK(committed[0].offset.commit_time_ms <= wall_clock_ms());
  CAF_CHECK_EQUAL(reader_script->delete_offsets.count(), 1u);
}

CAF_TEST(a group with members keeps its offsets however old) {
  auto coord = coordinator_of("g");
  member_a->request(coord, caf::infinite, join_atom::value, join_as("consumer-a"));
  expect((join_atom, join_group_request), from(member_a).to(coord).with(_, _));
  expect((join_group_result), from(coord).to(member_a).with(_));
  const auto now_ms = wall_clock_ms() + 30 * day_ms;
  self->send(directory, expire_atom::value, now_ms, std::vector<std::string>{"g"},
             std::vector<std::string>{"g"});
  expect((expire_atom, std::int64_t, std::vector<std::string>, std::vector<std::string>),
         from(self).to(directory).with(_, now_ms, _, _));
  expect((expire_atom, std::int64_t, std::int64_t), from(directory).to(coord).with(_, now_ms, _));
  disallow((offset_atom, std::string), from(coord).to(reader));
  CAF_CHECK_EQUAL(reader_script->offsets.count(), 0u);
  CAF_CHECK_EQUAL(reader_script->delete_offsets.count(), 0u);
}

CAF_TEST(a group without a coordinator is woken for expiry only once retention can have passed) {
  // A day after the directory started: an offset committed long ago may still belong to a
  // group that emptied just before a restart, so "aged" is left alone; an offset past its
  // own expiry time ("due") is checked at once.
  const auto now_ms = wall_clock_ms() + day_ms;
  self->send(directory, expire_atom::value, now_ms, std::vector<std::string>{"aged"},
             std::vector<std::string>{"due"});
  expect((expire_atom, std::int64_t, std::vector<std::string>, std::vector<std::string>),
         from(self).to(directory).with(_, now_ms, _, _));
  // The directory spawned the due group's coordinator (a lookup now finds it) and no other.
  auto due = coordinator_of("due");
  expect((expire_atom, std::int64_t, std::int64_t), from(directory).to(due).with(_, now_ms, _));
  expect((offset_atom, std::string), from(due).to(reader).with(_, "due"));
  expect((std::vector<storage::group_offset>), from(reader).to(due).with(_));
  // (Nothing to keep of a group with neither members nor offsets: its coordinator retires
  // a few seconds on.)
  CAF_CHECK(!sched.has_job());
  CAF_CHECK_EQUAL(reader_script->offsets.count(), 1u);
  // Eight days on, the aged group is woken too.
  const auto later_ms = wall_clock_ms() + 8 * day_ms;
  self->send(directory, expire_atom::value, later_ms, std::vector<std::string>{"aged"},
             std::vector<std::string>{});
  expect((expire_atom, std::int64_t, std::vector<std::string>, std::vector<std::string>),
         from(self).to(directory).with(_, later_ms, _, _));
  auto aged = coordinator_of("aged");
  expect((expire_atom, std::int64_t, std::int64_t), from(directory).to(aged).with(_, later_ms, _));
  expect((offset_atom, std::string), from(aged).to(reader).with(_, "aged"));
}

CAF_TEST(in a cluster a group chosen for expiry before its lease is taken is asked for again) {
  auto cluster = join_mock_cluster();
  ctx->publish_cluster(alone_view());
  // Retention's pass: the group's offsets are past their expiry time, and this node does not
  // hold its lease yet: the directory asks the cluster actor for it.
  const auto now_ms = wall_clock_ms();
  self->send(directory, expire_atom::value, now_ms, std::vector<std::string>{},
             std::vector<std::string>{"due"});
  expect((expire_atom, std::int64_t, std::vector<std::string>, std::vector<std::string>),
         from(self).to(directory).with(_, now_ms, _, _));
  expect((group_atom, std::string, bool), from(directory).to(cluster).with(_, "due", true));
  CAF_CHECK(!sched.has_job());
  // The lease round took it. A renewal later the directory tries again (a lease nobody uses
  // is let go a lease time after it was taken, before the next pass): the coordinator
  // starts, keeps the lease, and checks its offsets.
  auto leased = alone_view();
  leased->group_holders["due"] = {1, 3, "node-1"};
  ctx->publish_cluster(leased);
  sched.advance_time(std::chrono::milliseconds(ctx->config.cluster.renew_ms));
  expect((expire_atom, std::int64_t, std::vector<std::string>, std::vector<std::string>),
         from(directory).to(directory).with(_, now_ms, _, _));
  expect((group_atom, std::string, std::int64_t), from(directory).to(cluster).with(_, "due", 3));
  auto due = coordinator_of("due");
  expect((expire_atom, std::int64_t, std::int64_t), from(directory).to(due).with(_, now_ms, _));
  expect((offset_atom, std::string), from(due).to(reader).with(_, "due"));
  CAF_CHECK_EQUAL(node_script->groups.count(), 1u);
  CAF_CHECK_EQUAL(node_script->coordinated.count(), 1u);
}

CAF_TEST(a stable consumer group loses only the old offsets of topics no member subscribes to) {
  auto coord = coordinator_of("g");
  // Kafka's ConsumerProtocolSubscription v0: version, topics ["orders"], no user data.
  const std::string orders_only("\x00\x00" "\x00\x00\x00\x01" "\x00\x06" "orders" "\xff\xff\xff\xff", 18);
  auto join = join_as("consumer-a");
  join.protocols = {{"range", orders_only}};
  member_a->request(coord, caf::infinite, join_atom::value, join);
  expect((join_atom, join_group_request), from(member_a).to(coord).with(_, _));
  join_group_result a1;
  expect((join_group_result), from(coord).to(member_a).with(captured(a1)));
  member_a->request(coord, caf::infinite, sync_atom::value,
                    sync_as(a1.member_id, a1.generation, {{a1.member_id, "orders-0"}}));
  expect((sync_atom, sync_group_request), from(member_a).to(coord).with(_, _));
  expect((sync_group_result), from(coord).to(member_a).with(_));
  allow((create_atom, storage::topic_info), from(coord).to(registry));  // the mirror
  allow((storage::topic_info), from(registry).to(coord));
  allow((publish_atom, publish_batch), from(coord).to(bridge_mock));
  allow((publish_result), from(bridge_mock).to(coord));
  expect_metadata_stored(coord, "g", {"consumer", a1.generation});
  // Both offsets are nine days old: the subscribed topic's stays, the other one goes.
  const auto now_ms = wall_clock_ms() + 8 * day_ms;
  const storage::group_offset old_topic{{"old", 0}, {7, "", -1, now_ms - 9 * day_ms, -1}};
  reader_script->offsets.reply({stored_at(0, 42, now_ms - 9 * day_ms), old_topic});
  self->send(directory, expire_atom::value, now_ms, std::vector<std::string>{"g"},
             std::vector<std::string>{});
  expect((expire_atom, std::int64_t, std::vector<std::string>, std::vector<std::string>),
         from(self).to(directory).with(_, now_ms, _, _));
  expect((expire_atom, std::int64_t, std::int64_t), from(directory).to(coord).with(_, now_ms, _));
  expect((offset_atom, std::string), from(coord).to(reader).with(_, "g"));
  expect((std::vector<storage::group_offset>), from(reader).to(coord).with(_));
  expect((delete_atom, std::string, std::vector<topic_partition>, std::string),
         from(coord).to(reader).with(_, "g", std::vector<topic_partition>{{"old", 0}}, ""));
  expect((bool), from(reader).to(coord).with(true));
  sched.run();
  CAF_CHECK_EQUAL(reader_script->delete_offsets.count(), 1u);
}

CAF_TEST(a coordinator holding nothing of its group retires five seconds after the last request and reads count) {
  // A lag exporter polls a group known only by its offsets: DescribeGroups reads the store
  // and answers Empty.
  auto coord = coordinator_of("polled");
  reader_script->stored.reply({{}, {stored_at(0, 42, 1)}});
  self->request(coord, caf::infinite, describe_atom::value);
  expect((describe_atom), from(self).to(coord));
  expect((describe_atom, std::string), from(coord).to(reader).with(_, "polled"));
  expect((stored_group), from(reader).to(coord).with(_));
  expect((group_description), from(coord).to(self).with(WHERE(group_description, d, d.state == "Empty")));
  // Four seconds on, its next poll (OffsetFetch) finds the same coordinator ...
  sched.advance_time(std::chrono::seconds(4));
  CAF_CHECK(coordinator_of("polled").address() == coord.address());
  self->request(coord, caf::infinite, offset_atom::value, std::vector<topic_partition>{});
  expect((offset_atom, std::vector<topic_partition>), from(self).to(coord).with(_, _));
  expect((offset_atom, std::string), from(coord).to(reader).with(_, "polled"));
  expect((std::vector<storage::group_offset>), from(reader).to(coord).with(_));
  expect((std::vector<storage::group_offset>), from(coord).to(self).with(_));
  // ... which keeps it five seconds from then: the idle check due five seconds after the
  // first poll lets it be ...
  sched.advance_time(std::chrono::seconds(4));
  expect((expire_atom), from(coord).to(coord));
  CAF_CHECK(coordinator_of("polled").address() == coord.address());
  // ... and it retires five seconds after the second.
  sched.advance_time(std::chrono::seconds(1));
  expect((expire_atom), from(coord).to(coord));
  expect((retire_atom, std::string, std::int64_t), from(coord).to(directory).with(_, "polled", 0));
  // A heartbeat naming a group nobody uses (a typo) gets a coordinator, which answers
  // UNKNOWN_MEMBER_ID and retires five seconds on: Kafka creates no group for it either.
  auto typo = coordinator_of("typo");
  member_a->request(typo, caf::infinite, heartbeat_atom::value, member_ref{"ghost", std::nullopt, 1});
  expect((heartbeat_atom, member_ref), from(member_a).to(typo).with(_, _));
  expect((caf::error), from(typo).to(member_a).with(make_caf_error(errc::unknown_member)));
  sched.advance_time(std::chrono::seconds(5));
  expect((expire_atom), from(typo).to(typo));
  expect((retire_atom, std::string, std::int64_t), from(typo).to(directory).with(_, "typo", 0));
}

CAF_TEST(listing groups does not keep a coordinator from going idle) {
  auto coord = coordinator_of("standalone");
  // A standalone consumer's commit: the group is in use (it will commit again).
  commit_standalone(member_a, coord, at(0, 5));
  expect((commit_atom, std::string, std::vector<storage::group_offset>, std::string),
         from(coord).to(reader).with(_, "standalone", _, ""));
  expect((bool), from(reader).to(coord).with(true));
  expect((bool), from(coord).to(member_a).with(true));
  sched.run();  // the commit mirrored
  // Its first idle check (five seconds on): in use, it stays, to check again a minute after
  // the commit.
  sched.advance_time(std::chrono::seconds(5));
  sched.run();
  // Half a minute after the commit a tool lists the groups: the directory describes it ...
  sched.advance_time(std::chrono::seconds(25));
  sched.run();
  self->request(directory, caf::infinite, list_atom::value);
  expect((list_atom), from(self).to(directory));
  expect((describe_atom), from(directory).to(coord));
  // (It has seen no member of its group: it reads what the store keeps of it, and the store
  // lists its groups meanwhile.)
  sched.run();
  // The listing, taken out of the way of the lookups after it: the group is Empty, with no
  // protocol type (only a standalone consumer ever committed to it).
  expect((std::vector<group_description>),
         from(directory).to(self).with(WHERE(std::vector<group_description>, groups,
                                             groups.size() == 1 && groups.front().group_id == "standalone" &&
                                                 groups.front().state == "Empty" &&
                                                 groups.front().protocol_type.empty())));
  CAF_CHECK(coordinator_of("standalone").address() == coord.address());
  // ... which is no activity: a minute after the commit, the coordinator has retired.
  sched.advance_time(std::chrono::seconds(31));
  sched.run();
  CAF_CHECK(coordinator_of("standalone").address() != coord.address());
}

CAF_TEST(a group that lost its members and then its last offsets is gone) {
  auto coord = coordinator_of("g");
  member_a->request(coord, caf::infinite, join_atom::value, join_as("consumer-a"));
  expect((join_atom, join_group_request), from(member_a).to(coord).with(_, _));
  join_group_result a1;
  expect((join_group_result), from(coord).to(member_a).with(captured(a1)));
  member_a->request(coord, caf::infinite, leave_atom::value,
                    std::vector<member_ref>{{a1.member_id, std::nullopt, -1}});
  expect((leave_atom, std::vector<member_ref>), from(member_a).to(coord).with(_, _));
  expect((std::vector<std::int32_t>), from(coord).to(member_a).with(std::vector<std::int32_t>{0}));
  sched.run();
  // Retention's pass eight days on: the group's one offset has expired.
  const auto now_ms = wall_clock_ms() + 8 * day_ms;
  reader_script->offsets.reply({stored_at(0, 42, now_ms - 9 * day_ms)});
  self->send(directory, expire_atom::value, now_ms, std::vector<std::string>{"g"},
             std::vector<std::string>{});
  expect((expire_atom, std::int64_t, std::vector<std::string>, std::vector<std::string>),
         from(self).to(directory).with(_, now_ms, _, _));
  expect((expire_atom, std::int64_t, std::int64_t), from(directory).to(coord).with(_, now_ms, _));
  expect((offset_atom, std::string), from(coord).to(reader).with(_, "g"));
  expect((std::vector<storage::group_offset>), from(reader).to(coord).with(_));
  expect((delete_atom, std::string, std::vector<topic_partition>, std::string),
         from(coord).to(reader).with(_, "g", std::vector<topic_partition>{{"orders", 0}}, ""));
  expect((bool), from(reader).to(coord).with(true));
  sched.run();
  // Neither members nor offsets: the group is dead (as Kafka's), its coordinator retires five
  // seconds after the last request (the leave) ...
  sched.advance_time(std::chrono::seconds(5));
  sched.run();
  // ... ListGroups no longer shows it ...
  self->request(directory, caf::infinite, list_atom::value);
  expect((list_atom), from(self).to(directory));
  expect((describe_atom), from(directory).to(reader));
  expect((std::vector<storage::group_listing>), from(reader).to(directory));
  expect((std::vector<group_description>),
         from(directory).to(self).with(WHERE(std::vector<group_description>, all, all.empty())));
  // ... and DeleteGroups does not find it (GROUP_ID_NOT_FOUND).
  auto next = coordinator_of("g");
  member_a->request(next, caf::infinite, delete_atom::value, std::vector<topic_partition>{}, true);
  expect((delete_atom, std::vector<topic_partition>, bool), from(member_a).to(next).with(_, _, true));
  expect((offset_atom, std::string), from(next).to(reader).with(_, "g"));
  expect((std::vector<storage::group_offset>), from(reader).to(next).with(_));
  expect((caf::error), from(next).to(member_a).with(make_caf_error(errc::unknown_group)));
  CAF_CHECK_EQUAL(reader_script->delete_offsets.count(), 1u);
}

CAF_TEST(offset delete decides which topics are subscribed when it deletes and not before) {
  auto coord = coordinator_of("g");
  const auto now_ms = wall_clock_ms();
  reader_script->offsets.reply({stored_at(0, 42, now_ms), {{"old", 0}, {7, "", -1, now_ms, -1}}});
  member_a->request(coord, caf::infinite, delete_atom::value,
                    std::vector<topic_partition>{{"orders", 0}, {"old", 0}}, false);
  expect((delete_atom, std::vector<topic_partition>, bool), from(member_a).to(coord).with(_, _, false));
  // While the coordinator reads the group's offsets, a consumer subscribed to "orders" joins
  // (its first generation forms at once).
  auto join = join_as("consumer-b");
  join.protocols = {{"range", orders_subscription()}};
  member_b->request(coord, caf::infinite, join_atom::value, join);
  expect((join_atom, join_group_request), from(member_b).to(coord).with(_, _));
  expect((join_group_result), from(coord).to(member_b).with(WHERE(join_group_result, r, r.error == errc::ok)));
  expect((offset_atom, std::string), from(coord).to(reader).with(_, "g"));
  expect((std::vector<storage::group_offset>), from(reader).to(coord).with(_));
  // Its topic keeps its offset (GROUP_SUBSCRIBED_TO_TOPIC); only the other one goes.
  expect((delete_atom, std::string, std::vector<topic_partition>, std::string),
         from(coord).to(reader).with(_, "g", std::vector<topic_partition>{{"old", 0}}, ""));
  expect((bool), from(reader).to(coord).with(true));
  allow((create_atom, storage::topic_info), from(coord).to(registry));  // tombstones mirrored
  allow((storage::topic_info), from(registry).to(coord));
  expect((std::vector<topic_partition>),
         from(coord).to(member_a).with(std::vector<topic_partition>{{"orders", 0}}));
}

CAF_TEST(tombstones mirrored to the offsets topic carry the time they were written) {
  auto coord = coordinator_of("g");
  const auto before_ms = wall_clock_ms();
  reader_script->offsets.reply({stored_at(0, 42, before_ms), stored_at(1, 43, before_ms)});
  // DeleteGroups: a tombstone for each offset and one for the group's metadata.
  member_a->request(coord, caf::infinite, delete_atom::value, std::vector<topic_partition>{}, true);
  expect((delete_atom, std::vector<topic_partition>, bool), from(member_a).to(coord).with(_, _, true));
  expect((offset_atom, std::string), from(coord).to(reader).with(_, "g"));
  expect((std::vector<storage::group_offset>), from(reader).to(coord).with(_));
  expect((delete_atom, std::string, std::vector<topic_partition>, std::string),
         from(coord).to(reader).with(_, "g", std::vector<topic_partition>{}, ""));
  expect((bool), from(reader).to(coord).with(true));
  sched.run();
  // A Kafka record's timestamp is stored as given (0 would read as 1970): the coordinator
  // stamps its own.
  CAF_REQUIRE_EQUAL(bridge_script->publish.count(), 1u);
  const auto& mirrored = bridge_script->publish.arg(0);
  CAF_CHECK_EQUAL(mirrored.tp.topic, std::string(protocol::offsets_topic));
  CAF_REQUIRE_EQUAL(mirrored.batch.messages.size(), 3u);
  for (const auto& m : mirrored.batch.messages) {
    CAF_CHECK(!m.value);
    CAF_CHECK(m.timestamp_ms >= before_ms);
    CAF_CHECK(m.timestamp_ms <= wall_clock_ms());
  }
}

CAF_TEST(a deleted topic loses its offsets in every group with a coordinator or without) {
  auto live = coordinator_of("live");
  sched.run();
  // "live" has a coordinator; "stored" is known only by its offsets in the store. Every
  // offset was committed before the deletion.
  const auto deleted_ms = wall_clock_ms();
  reader_script->list_groups.reply({"live", "stored"});
  reader_script->offsets.reply({stored_at(0, 50, 1), {{"other", 0}, {7, "", -1, 1, -1}}});  // live's
  reader_script->offsets.reply({stored_at(0, 3, 1), stored_at(1, 4, 1)});                   // stored's
  // The registry deleted "orders": the directory takes the cleanup on at once.
  delete_orders_at(deleted_ms);
  expect((list_atom), from(directory).to(reader));
  // The running coordinator deletes its group's offsets of the topic, in turn with commits ...
  expect((delete_atom, std::string, std::int64_t), from(directory).to(live).with(_, "orders", deleted_ms));
  // ... and the directory those of the group without one, once the store has listed it.
  expect((std::vector<std::string>), from(reader).to(directory));
  expect((offset_atom, std::string), from(live).to(reader).with(_, "live"));
  expect((offset_atom, std::string), from(directory).to(reader).with(_, "stored"));
  expect((std::vector<storage::group_offset>), from(reader).to(live).with(_));
  expect((std::vector<storage::group_offset>), from(reader).to(directory).with(_));
  expect((delete_atom, std::string, std::vector<topic_partition>, std::string),
         from(live).to(reader).with(_, "live", std::vector<topic_partition>{{"orders", 0}}, ""));
  expect((bool), from(reader).to(live).with(true));
  expect((bool), from(live).to(directory).with(true));
  expect((delete_atom, std::string, std::vector<topic_partition>, std::string),
         from(directory).to(reader).with(_, "stored", std::vector<topic_partition>{{"orders", 0}, {"orders", 1}}, ""));
  expect((bool), from(reader).to(directory).with(true));
  sched.run();
  CAF_CHECK_EQUAL(reader_script->delete_offsets.count(), 2u);
}

CAF_TEST(offsets committed after a topic was deleted stay and a commit waiting then is stored) {
  auto coord = coordinator_of("g");
  // A standalone consumer's commit is out at the store, another waits behind it: both came
  // after the topic was deleted, a second ago (they are of a topic created again since).
  commit_standalone(member_a, coord, at(0, 1));
  commit_standalone(member_b, coord, at(1, 9));
  const auto deleted_ms = wall_clock_ms() - 1000;
  // The store holds an offset committed since, and one of the old topic.
  reader_script->list_groups.reply({"g"});
  reader_script->offsets.reply({stored_at(0, 1, deleted_ms + 500), stored_at(2, 7, deleted_ms - 5000)});
  delete_orders_at(deleted_ms);
  // The cleanup waits for the commit out at the store, then reads the offsets ...
  expect_a_cleanup_after_the_commit_out(coord, deleted_ms);
  // ... of which only the one committed before the deletion goes ...
  expect((delete_atom, std::string, std::vector<topic_partition>, std::string),
         from(coord).to(reader).with(_, "g", std::vector<topic_partition>{{"orders", 2}}, ""));
  expect((bool), from(reader).to(coord).with(true));
  // ... and the commit that waited meanwhile is stored, not dropped.
  expect((commit_atom, std::string, std::vector<storage::group_offset>, std::string),
         from(coord).to(reader).with(_, "g", _, ""));
  expect((bool), from(reader).to(coord).with(true));
  expect((bool), from(coord).to(member_b).with(true));
  sched.run();
  CAF_REQUIRE_EQUAL(reader_script->commit.count(), 2u);
  CAF_CHECK_EQUAL(without_commit_times(std::get<1>(reader_script->commit.received.at(1))),
                  (std::vector{at(1, 9)}));
  CAF_CHECK_EQUAL(reader_script->delete_offsets.count(), 1u);
}

CAF_TEST(a commit of a topic waiting when the topic is deleted is answered and never stored) {
  auto coord = coordinator_of("g");
  commit_standalone(member_a, coord, at(0, 1));
  commit_standalone(member_b, coord, at(1, 9));
  // The topic is deleted after both commits came.
  const auto deleted_ms = wall_clock_ms() + 1;
  reader_script->offsets.reply({stored_at(0, 1, deleted_ms - 1)});  // the first commit, stored
  delete_orders_at(deleted_ms);
  expect_a_cleanup_after_the_commit_out(coord, deleted_ms);
  // The stored one is deleted with the topic; the waiting one, stored now, would outlive the
  // deletion: it is answered as stored and deleted, and never reaches the store.
  expect((delete_atom, std::string, std::vector<topic_partition>, std::string),
         from(coord).to(reader).with(_, "g", std::vector<topic_partition>{{"orders", 0}}, ""));
  expect((bool), from(reader).to(coord).with(true));
  expect((bool), from(coord).to(member_b).with(true));
  sched.run();
  CAF_CHECK_EQUAL(reader_script->commit.count(), 1u);
}

CAF_TEST(a deleted topic is cleaned from eight groups at a time and a failed group is tried again) {
  // Ten groups known only by their stored offsets; the first one's cannot be read at first.
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back("g" + std::to_string(i));
  reader_script->list_groups.reply(ids);
  reader_script->offsets.fail(errc::storage_unavailable);
  const auto deleted_ms = wall_clock_ms();
  delete_orders_at(deleted_ms);
  expect((list_atom), from(directory).to(reader));
  expect((std::vector<std::string>), from(reader).to(directory));
  // Eight reads go out; the other two wait for answers.
  for (int i = 0; i < 8; ++i) expect((offset_atom, std::string), from(directory).to(reader).with(_, ids[i]));
  disallow((offset_atom, std::string), from(directory).to(reader));
  CAF_CHECK_EQUAL(reader_script->offsets.count(), 8u);
  sched.run();
  CAF_CHECK_EQUAL(reader_script->offsets.count(), 10u);
  // A second later the group that failed is tried again, and its old offset goes.
  reader_script->offsets.reply({stored_at(0, 3, 1)});
  sched.advance_time(std::chrono::seconds(1));
  expect((tick_atom, std::uint64_t), from(directory).to(directory).with(_, _));
  expect((offset_atom, std::string), from(directory).to(reader).with(_, "g0"));
  expect((std::vector<storage::group_offset>), from(reader).to(directory).with(_));
  expect((delete_atom, std::string, std::vector<topic_partition>, std::string),
         from(directory).to(reader).with(_, "g0", std::vector<topic_partition>{{"orders", 0}}, ""));
  expect((bool), from(reader).to(directory).with(true));
  sched.run();
  // Every group is clean: nothing is tried again.
  sched.advance_time(std::chrono::seconds(10));
  sched.run();
  CAF_CHECK_EQUAL(reader_script->offsets.count(), 11u);
  CAF_CHECK_EQUAL(reader_script->delete_offsets.count(), 1u);
}

CAF_TEST(a commit that waits too long for the store is refused and never stored) {
  auto coord = coordinator_of("g");
  commit_standalone(member_a, coord, at(0, 1));
  // The store is slow to answer that commit (the reader has not run); another waits behind it.
  commit_standalone(member_b, coord, at(0, 2));
  // Five seconds on, the waiting one is refused (retriable) without being stored: its
  // connection, waiting longer, answers an error that means "not applied".
  sched.advance_time(std::chrono::seconds(5));
  expect((tick_atom), from(coord).to(coord));
  expect((caf::error), from(coord).to(member_b).with(make_caf_error(errc::timeout)));
  allow((expire_atom), from(coord).to(coord));  // its idle check, due then too: a write is out
  // The first round trip ends: only its offset reaches the store.
  expect((commit_atom, std::string, std::vector<storage::group_offset>, std::string),
         from(coord).to(reader).with(_, "g", _, ""));
  expect((bool), from(reader).to(coord).with(true));
  expect((bool), from(coord).to(member_a).with(true));
  sched.run();
  CAF_REQUIRE_EQUAL(reader_script->commit.count(), 1u);
  CAF_CHECK_EQUAL(without_commit_times(std::get<1>(reader_script->commit.received.at(0))),
                  (std::vector{at(0, 1)}));
}

CAF_TEST(a coordinator waits for a store call as long as the store timeout lets it last) {
  // A store whose calls may take 20 s: the reader may be in the middle of one, then runs the
  // coordinator's: it waits 41 s for the answer.
  auto config = dsl_broker_config();
  config.store_timeout_ms = 20000;
  auto slow_ctx = std::make_shared<broker_context>(config, storage::memory_store::factory(), "mock");
  auto slow_directory = track(spawn_group_directory(sys, slow_ctx, dir));
  sched.run();
  self->request(slow_directory, caf::infinite, group_atom::value, std::string{"g"});
  expect((group_atom, std::string), from(self).to(slow_directory).with(_, "g"));
  group_coordinator_actor coord;
  expect((group_coordinator_actor), from(slow_directory).to(self).with(captured(coord)));
  CAF_REQUIRE(coord);
  commit_standalone(member_a, coord, at(0, 1));
  // The store does not answer (the reader does not run). Forty seconds on the coordinator
  // still waits (only its idle check came, and a write is out) ...
  sched.advance_time(std::chrono::seconds(40));
  expect((expire_atom), from(coord).to(coord));
  disallow((caf::error), from(_).to(coord));
  // ... and past 41 s it gives up: the commit's outcome is unknown, its asker hears an error.
  sched.advance_time(std::chrono::seconds(2));
  expect((caf::error), from(_).to(coord));
  expect((caf::error), from(coord).to(member_a));
}

// Kafka writes a group's metadata record when a generation becomes stable and when the group
// empties; so does the coordinator, beside the group's offsets: a coordinator started later
// and the directory's listing report the protocol type and generation the group was left with.
CAF_TEST(a groups protocol type and generation are stored when a generation is stable and when it empties) {
  auto coord = coordinator_of("g");
  auto join = join_as("worker-a");
  join.protocol_type = "connect";
  member_a->request(coord, caf::infinite, join_atom::value, join);
  expect((join_atom, join_group_request), from(member_a).to(coord).with(_, _));
  join_group_result a1;
  expect((join_group_result),
         from(coord).to(member_a).with(WHERE(join_group_result, r, r.error == errc::ok && r.generation == 1).into(a1)));
  // Not before the generation is stable.
  disallow((commit_atom, std::string, storage::group_metadata, std::string), from(coord).to(reader));
  member_a->request(coord, caf::infinite, sync_atom::value, sync_as(a1.member_id, 1, {{a1.member_id, "tasks"}}));
  expect((sync_atom, sync_group_request), from(member_a).to(coord).with(_, _));
  expect((sync_group_result), from(coord).to(member_a).with(WHERE(sync_group_result, r, r.error == errc::ok)));
  expect_metadata_stored(coord, "g", {"connect", 1});
  sched.run();  // the mirror to the offsets topic
  // The member leaves: the group empties into the next generation, which is stored too.
  member_a->request(coord, caf::infinite, leave_atom::value,
                    std::vector<member_ref>{{a1.member_id, std::nullopt, -1}});
  expect((leave_atom, std::vector<member_ref>), from(member_a).to(coord).with(_, _));
  expect((std::vector<std::int32_t>), from(coord).to(member_a).with(std::vector<std::int32_t>{0}));
  expect_metadata_stored(coord, "g", {"connect", 2});
  // Empty, it is described with what it had (this coordinator knows it: no store read).
  self->request(coord, caf::infinite, describe_atom::value);
  expect((describe_atom), from(self).to(coord));
  expect((group_description),
         from(coord).to(self).with(WHERE(group_description, d,
                                         d.state == "Empty" && d.protocol_type == "connect" &&
                                             d.generation == 2 && d.members.empty())));
  sched.run();
  CAF_CHECK_EQUAL(reader_script->commit_metadata.count(), 2u);
  CAF_CHECK_EQUAL(reader_script->stored.count(), 0u);
}

// A coordinator started for a group that had emptied (its last one retired, or the broker
// restarted) has seen no member of it: it describes the group as the store keeps it, as
// Kafka's new coordinator loads the group, and the group's next generation follows on.
CAF_TEST(a coordinator that has seen no member describes its group with the stored protocol type and generation) {
  auto coord = coordinator_of("g");
  reader_script->stored.reply({{"connect", 2}, {stored_at(0, 5, 1)}});
  self->request(coord, caf::infinite, describe_atom::value);
  expect((describe_atom), from(self).to(coord));
  expect((describe_atom, std::string), from(coord).to(reader).with(_, "g"));
  expect((stored_group), from(reader).to(coord).with(_));
  expect((group_description),
         from(coord).to(self).with(WHERE(group_description, d,
                                         d.state == "Empty" && d.protocol_type == "connect" &&
                                             d.generation == 2 && d.protocol_name.empty())));
  auto join = join_as("worker-a");
  join.protocol_type = "connect";
  member_a->request(coord, caf::infinite, join_atom::value, join);
  expect((join_atom, join_group_request), from(member_a).to(coord).with(_, _));
  join_group_result a3;
  expect((join_group_result),
         from(coord).to(member_a).with(WHERE(join_group_result, r, r.error == errc::ok && r.generation == 3).into(a3)));
  member_a->request(coord, caf::infinite, sync_atom::value, sync_as(a3.member_id, 3, {{a3.member_id, "tasks"}}));
  expect((sync_atom, sync_group_request), from(member_a).to(coord).with(_, _));
  expect((sync_group_result), from(coord).to(member_a).with(WHERE(sync_group_result, r, r.error == errc::ok)));
  expect_metadata_stored(coord, "g", {"connect", 3});
}

// The store keeps a group's metadata only beside offsets: written when the group had none yet
// (a consumer's first generation, before its first commit), it is written again once a commit
// stored some, and only then.
CAF_TEST(metadata the store did not keep is written again once a commit stored offsets) {
  auto coord = coordinator_of("g");
  member_a->request(coord, caf::infinite, join_atom::value, join_as("consumer-a"));
  expect((join_atom, join_group_request), from(member_a).to(coord).with(_, _));
  join_group_result a1;
  expect((join_group_result), from(coord).to(member_a).with(captured(a1)));
  member_a->request(coord, caf::infinite, sync_atom::value, sync_as(a1.member_id, 1, {{a1.member_id, "orders-0"}}));
  expect((sync_atom, sync_group_request), from(member_a).to(coord).with(_, _));
  expect((sync_group_result), from(coord).to(member_a).with(_));
  reader_script->commit_metadata.reply(false);  // no offsets yet
  expect_metadata_stored(coord, "g", {"consumer", 1}, "", false);
  sched.run();  // the mirror
  member_a->request(coord, caf::infinite, commit_atom::value, commit_as(a1.member_id, 1, {at(0, 1)}));
  expect((commit_atom, commit_offsets_request), from(member_a).to(coord).with(_, _));
  expect((commit_atom, std::string, std::vector<storage::group_offset>, std::string),
         from(coord).to(reader).with(_, "g", _, ""));
  expect((bool), from(reader).to(coord).with(true));
  expect((bool), from(coord).to(member_a).with(true));
  expect_metadata_stored(coord, "g", {"consumer", 1});
  sched.run();
  // The next commit finds it stored.
  member_a->request(coord, caf::infinite, commit_atom::value, commit_as(a1.member_id, 1, {at(0, 2)}));
  expect((commit_atom, commit_offsets_request), from(member_a).to(coord).with(_, _));
  expect((commit_atom, std::string, std::vector<storage::group_offset>, std::string),
         from(coord).to(reader).with(_, "g", _, ""));
  expect((bool), from(reader).to(coord).with(true));
  expect((bool), from(coord).to(member_a).with(true));
  sched.run();
  CAF_CHECK_EQUAL(reader_script->commit_metadata.count(), 2u);
}

// A deleted group is gone with its metadata, as Kafka's: a standalone consumer committing
// under its name afterwards makes a new group, without the old one's protocol type.
CAF_TEST(a deleted group comes back without the protocol type it had) {
  auto coord = coordinator_of("g");
  member_a->request(coord, caf::infinite, join_atom::value, join_as("consumer-a"));
  expect((join_atom, join_group_request), from(member_a).to(coord).with(_, _));
  join_group_result a1;
  expect((join_group_result), from(coord).to(member_a).with(captured(a1)));
  member_a->request(coord, caf::infinite, leave_atom::value,
                    std::vector<member_ref>{{a1.member_id, std::nullopt, -1}});
  expect((leave_atom, std::vector<member_ref>), from(member_a).to(coord).with(_, _));
  expect((std::vector<std::int32_t>), from(coord).to(member_a).with(std::vector<std::int32_t>{0}));
  expect_metadata_stored(coord, "g", {"consumer", 2});
  // DeleteGroups: the store deletes the offsets, and the metadata with them.
  reader_script->offsets.reply({stored_at(0, 42, 1)});
  member_a->request(coord, caf::infinite, delete_atom::value, std::vector<topic_partition>{}, true);
  expect((delete_atom, std::vector<topic_partition>, bool), from(member_a).to(coord).with(_, _, true));
  expect((offset_atom, std::string), from(coord).to(reader).with(_, "g"));
  expect((std::vector<storage::group_offset>), from(reader).to(coord).with(_));
  expect((delete_atom, std::string, std::vector<topic_partition>, std::string),
         from(coord).to(reader).with(_, "g", std::vector<topic_partition>{}, ""));
  expect((bool), from(reader).to(coord).with(true));
  expect((std::vector<topic_partition>), from(coord).to(member_a).with(std::vector<topic_partition>{}));
  sched.run();  // the tombstones mirrored
  commit_standalone(member_b, coord, at(0, 7));
  expect((commit_atom, std::string, std::vector<storage::group_offset>, std::string),
         from(coord).to(reader).with(_, "g", _, ""));
  expect((bool), from(reader).to(coord).with(true));
  expect((bool), from(coord).to(member_b).with(true));
  sched.run();
  self->request(coord, caf::infinite, describe_atom::value);
  expect((describe_atom), from(self).to(coord));
  expect((group_description),
         from(coord).to(self).with(WHERE(group_description, d,
                                         d.state == "Empty" && d.protocol_type.empty() && d.generation == 0)));
  CAF_CHECK_EQUAL(reader_script->commit_metadata.count(), 1u);
}

CAF_TEST(in a cluster a groups metadata is stored under its lease) {
  join_mock_cluster();
  auto view = alone_view();
  view->group_holders["leased"] = {1, 7, "node-1"};
  ctx->publish_cluster(view);
  auto coord = coordinator_of("leased");
  sched.run();
  member_a->request(coord, caf::infinite, join_atom::value, join_as("consumer-a"));
  expect((join_atom, join_group_request), from(member_a).to(coord).with(_, _));
  join_group_result a1;
  expect((join_group_result), from(coord).to(member_a).with(captured(a1)));
  member_a->request(coord, caf::infinite, sync_atom::value,
                    sync_as(a1.member_id, a1.generation, {{a1.member_id, "orders-0"}}));
  expect((sync_atom, sync_group_request), from(member_a).to(coord).with(_, _));
  expect((sync_group_result), from(coord).to(member_a).with(_));
  expect_metadata_stored(coord, "leased", {"consumer", a1.generation}, storage::lease_value({1, 7, "node-1"}));
}

// Groups without a coordinator are listed as the store keeps them, never with a protocol type
// made up: Kafka lists a group that only has committed offsets with none.
CAF_TEST(groups without a coordinator are listed with the protocol type and generation stored for them) {
  reader_script->listings.reply({{"conn", {"connect", 2}}, {"plain", {}}});
  self->request(directory, caf::infinite, list_atom::value);
  expect((list_atom), from(self).to(directory));
  expect((describe_atom), from(directory).to(reader));
  expect((std::vector<storage::group_listing>), from(reader).to(directory));
  std::vector<group_description> listed;
  expect((std::vector<group_description>), from(directory).to(self).with(captured(listed)));
  CAF_REQUIRE_EQUAL(listed.size(), 2u);
  CAF_CHECK_EQUAL(listed[0].group_id, std::string{"conn"});
  CAF_CHECK_EQUAL(listed[0].state, std::string{"Empty"});
  CAF_CHECK_EQUAL(listed[0].protocol_type, std::string{"connect"});
  CAF_CHECK_EQUAL(listed[0].generation, 2);
  CAF_CHECK_EQUAL(listed[1].group_id, std::string{"plain"});
  CAF_CHECK_EQUAL(listed[1].state, std::string{"Empty"});
  CAF_CHECK_EQUAL(listed[1].protocol_type, std::string{});
}

// A metadata write the store failed is made again at the next tick: a group that emptied sees
// no other change that would write it, and the store would keep the generation before.
CAF_TEST(a groups metadata the store failed to write is written again at the next tick) {
  auto coord = coordinator_of("g");
  member_a->request(coord, caf::infinite, join_atom::value, join_as("consumer-a"));
  expect((join_atom, join_group_request), from(member_a).to(coord).with(_, _));
  join_group_result a1;
  expect((join_group_result), from(coord).to(member_a).with(captured(a1)));
  member_a->request(coord, caf::infinite, sync_atom::value, sync_as(a1.member_id, 1, {{a1.member_id, "orders-0"}}));
  expect((sync_atom, sync_group_request), from(member_a).to(coord).with(_, _));
  expect((sync_group_result), from(coord).to(member_a).with(_));
  expect_metadata_stored(coord, "g", {"consumer", 1});
  sched.run();  // the mirror
  // The member leaves: the group empties into generation 2, whose write the store fails.
  reader_script->commit_metadata.fail(errc::storage_unavailable);
  member_a->request(coord, caf::infinite, leave_atom::value,
                    std::vector<member_ref>{{a1.member_id, std::nullopt, -1}});
  expect((leave_atom, std::vector<member_ref>), from(member_a).to(coord).with(_, _));
  expect((std::vector<std::int32_t>), from(coord).to(member_a).with(std::vector<std::int32_t>{0}));
  expect((commit_atom, std::string, storage::group_metadata, std::string),
         from(coord).to(reader).with(_, "g", storage::group_metadata{"consumer", 2}, ""));
  expect((caf::error), from(reader).to(coord).with(make_caf_error(errc::storage_unavailable)));
  sched.run();  // the mirror
  // The tick armed by the join comes: the write goes out again, and is stored.
  sched.advance_time(std::chrono::milliseconds(100));
  expect((tick_atom), from(coord).to(coord));
  expect_metadata_stored(coord, "g", {"consumer", 2});
  sched.run();
  CAF_CHECK_EQUAL(reader_script->commit_metadata.count(), 3u);
}

// Expiry may take a group's last offsets while it has members (those of topics no member
// subscribes to): the store removes the group's metadata with them, so the next commit's
// offsets have it written again beside them.
CAF_TEST(a groups metadata is written again after expiry took its last offsets while it had members) {
  auto coord = coordinator_of("g");
  auto join = join_as("consumer-a");
  join.protocols = {{"range", orders_subscription()}};
  member_a->request(coord, caf::infinite, join_atom::value, join);
  expect((join_atom, join_group_request), from(member_a).to(coord).with(_, _));
  join_group_result a1;
  expect((join_group_result), from(coord).to(member_a).with(captured(a1)));
  member_a->request(coord, caf::infinite, sync_atom::value,
                    sync_as(a1.member_id, a1.generation, {{a1.member_id, "orders-0"}}));
  expect((sync_atom, sync_group_request), from(member_a).to(coord).with(_, _));
  expect((sync_group_result), from(coord).to(member_a).with(_));
  expect_metadata_stored(coord, "g", {"consumer", a1.generation});
  sched.run();  // the mirror
  // Retention's pass eight days on: the group's only offsets, of a topic no member subscribes
  // to, are nine days old and go.
  const auto now_ms = wall_clock_ms() + 8 * day_ms;
  const storage::group_offset old_topic{{"old", 0}, {7, "", -1, now_ms - 9 * day_ms, -1}};
  reader_script->offsets.reply({old_topic});
  self->send(directory, expire_atom::value, now_ms, std::vector<std::string>{"g"},
             std::vector<std::string>{});
  expect((expire_atom, std::int64_t, std::vector<std::string>, std::vector<std::string>),
         from(self).to(directory).with(_, now_ms, _, _));
  expect((expire_atom, std::int64_t, std::int64_t), from(directory).to(coord).with(_, now_ms, _));
  expect((offset_atom, std::string), from(coord).to(reader).with(_, "g"));
  expect((std::vector<storage::group_offset>), from(reader).to(coord).with(_));
  expect((delete_atom, std::string, std::vector<topic_partition>, std::string),
         from(coord).to(reader).with(_, "g", std::vector<topic_partition>{{"old", 0}}, ""));
  expect((bool), from(reader).to(coord).with(true));
  sched.run();  // the tombstone mirrored
  // The member commits: its offset is stored, then the group's metadata beside it.
  member_a->request(coord, caf::infinite, commit_atom::value, commit_as(a1.member_id, a1.generation, {at(0, 8)}));
  expect((commit_atom, commit_offsets_request), from(member_a).to(coord).with(_, _));
  expect((commit_atom, std::string, std::vector<storage::group_offset>, std::string),
         from(coord).to(reader).with(_, "g", _, ""));
  expect((bool), from(reader).to(coord).with(true));
  expect((bool), from(coord).to(member_a).with(true));
  expect_metadata_stored(coord, "g", {"consumer", a1.generation});
  sched.run();
  CAF_CHECK_EQUAL(reader_script->commit_metadata.count(), 2u);
}

// In a cluster a group's generations stay within its lease's 65535, and so within int32: once
// the lease's epochs wrapped (epoch 32767: generations start at 0 again), a generation stored
// under an earlier lease, higher, is not taken. The protocol type is.
CAF_TEST(in a cluster a generation stored under another lease of the group is not taken) {
  join_mock_cluster();
  auto view = alone_view();
  view->group_holders["wrapped"] = {1, 32767, "node-1"};
  ctx->publish_cluster(view);
  auto coord = coordinator_of("wrapped");
  sched.run();
  reader_script->stored.reply({{"connect", (32766 << 16) + 5}, {stored_at(0, 5, 1)}});
  self->request(coord, caf::infinite, describe_atom::value);
  expect((describe_atom), from(self).to(coord));
  expect((describe_atom, std::string), from(coord).to(reader).with(_, "wrapped"));
  expect((stored_group), from(reader).to(coord).with(_));
  expect((group_description),
         from(coord).to(self).with(WHERE(group_description, d,
                                         d.state == "Empty" && d.protocol_type == "connect" &&
                                             d.generation == 0)));
}

// A coordinator does not retire while its group's metadata is being written, nor while a
// write the store failed is still to be made: the store would keep the generation before,
// which a successor restores and could hand out again. A store that stays down keeps it
// writing again at each tick; once a write is stored it retires, its idle time long past.
CAF_TEST(a coordinator does not retire while its groups metadata write is out or owed) {
  auto coord = coordinator_of("g");
  member_a->request(coord, caf::infinite, join_atom::value, join_as("consumer-a"));
  expect((join_atom, join_group_request), from(member_a).to(coord).with(_, _));
  join_group_result a1;
  expect((join_group_result), from(coord).to(member_a).with(captured(a1)));
  member_a->request(coord, caf::infinite, sync_atom::value, sync_as(a1.member_id, 1, {{a1.member_id, "orders-0"}}));
  expect((sync_atom, sync_group_request), from(member_a).to(coord).with(_, _));
  expect((sync_group_result), from(coord).to(member_a).with(_));
  expect_metadata_stored(coord, "g", {"consumer", 1});
  sched.run();  // the mirror
  // The store goes down. The member leaves: the group empties into generation 2, whose write
  // fails.
  reader_script->commit_metadata.otherwise = [](const std::string&, const storage::group_metadata&,
                                                const std::string&) -> caf::expected<bool> {
    return make_caf_error(errc::storage_unavailable);
  };
  member_a->request(coord, caf::infinite, leave_atom::value,
                    std::vector<member_ref>{{a1.member_id, std::nullopt, -1}});
  expect((leave_atom, std::vector<member_ref>), from(member_a).to(coord).with(_, _));
  expect((std::vector<std::int32_t>), from(coord).to(member_a).with(std::vector<std::int32_t>{0}));
  expect((commit_atom, std::string, storage::group_metadata, std::string),
         from(coord).to(reader).with(_, "g", storage::group_metadata{"consumer", 2}, ""));
  expect((caf::error), from(reader).to(coord).with(make_caf_error(errc::storage_unavailable)));
  sched.run();  // the mirror
  // Just short of a minute on, the tick armed by the join makes the write again (the
  // coordinator's own messages only: its idle check and the timers of requests long answered
  // come too) ...
  sched.advance_time(std::chrono::milliseconds(59900));
  while (sched.prioritize(coord)) sched.run_once();
  // ... and the minute since the leave passes while that write is out: the coordinator stays.
  sched.advance_time(std::chrono::milliseconds(200));
  while (sched.prioritize(coord)) sched.run_once();
  CAF_CHECK(coordinator_of("g").address() == coord.address());
  // The write fails: owed, the coordinator still stays.
  expect((commit_atom, std::string, storage::group_metadata, std::string),
         from(coord).to(reader).with(_, "g", storage::group_metadata{"consumer", 2}, ""));
  expect((caf::error), from(reader).to(coord).with(make_caf_error(errc::storage_unavailable)));
  CAF_CHECK(coordinator_of("g").address() == coord.address());
  // The store is back: the next tick's write is stored, and the coordinator retires at once.
  reader_script->commit_metadata.otherwise = [](const std::string&, const storage::group_metadata&,
                                                const std::string&) -> caf::expected<bool> { return true; };
  sched.advance_time(std::chrono::milliseconds(100));
  expect((tick_atom), from(coord).to(coord));
  expect_metadata_stored(coord, "g", {"consumer", 2});
  expect((retire_atom, std::string, std::int64_t), from(coord).to(directory).with(_, "g", _));
  CAF_CHECK(coordinator_of("g").address() != coord.address());
  CAF_CHECK_EQUAL(reader_script->commit_metadata.count(), 4u);
}

// A group that moved here under a later lease has a first generation above the one stored
// under the earlier lease, which is not taken; that owes no write (the group's generation is
// where its lease starts, handed out to nobody), and the coordinator that only answered a
// read retires five seconds on, as any does.
CAF_TEST(in a cluster a coordinator that did not take the stored generation retires after a read) {
  join_mock_cluster();
  auto view = alone_view();
  view->group_holders["moved"] = {1, 2, "node-1"};
  ctx->publish_cluster(view);
  auto coord = coordinator_of("moved");
  sched.run();
  reader_script->stored.reply({{"consumer", 5}, {stored_at(0, 5, 1)}});
  self->request(coord, caf::infinite, describe_atom::value);
  expect((describe_atom), from(self).to(coord));
  expect((describe_atom, std::string), from(coord).to(reader).with(_, "moved"));
  expect((stored_group), from(reader).to(coord).with(_));
  expect((group_description),
         from(coord).to(self).with(WHERE(group_description, d,
                                         d.state == "Empty" && d.protocol_type == "consumer" &&
                                             d.generation == (2 << 16))));
  sched.advance_time(std::chrono::seconds(5));
  expect((expire_atom), from(coord).to(coord));
  expect((retire_atom, std::string, std::int64_t), from(coord).to(directory).with(_, "moved", 0));
  CAF_CHECK_EQUAL(reader_script->commit_metadata.count(), 0u);
}

CAF_TEST_FIXTURE_SCOPE_END()
