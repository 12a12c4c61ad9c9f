// The protocol bridge on its own, between the mock registry and mock partitions: what it
// owes its requesters when it ends with their requests out at a partition. CAF 0.17 sends
// nothing for a promise an ending actor drops, and connections ask the bridge with
// caf::infinite, so each such request must still hear a (retriable) answer.
#define CAF_SUITE dsl.bridge

#include "actors/pipeline/protocol_bridge.hpp"
#include "tests/actors/dsl/dsl_fixture.hpp"
#include "tests/mocks/mock_partition.hpp"

using namespace portask;
using namespace portask::testing;

namespace {

const topic_partition orders{"orders", 0};

struct bridge_fixture : dsl_fixture {
  bridge_fixture() {
    bridge = track(spawn_protocol_bridge(sys, ctx, dir));
    p = track(spawn_mock_partition(sys, partition_mock_script));
    registry_script->partitions[orders] = p;
    sched.run();
  }

  // Ends the bridge as the supervisor does at shutdown (user_shutdown: kill would be fatal
  // to the actors linked to it), running nothing but the bridge.
  void stop_bridge() {
    caf::anon_send_exit(bridge, caf::exit_reason::user_shutdown);
    CAF_REQUIRE(sched.prioritize(bridge));
    sched.run_once();
  }

  std::shared_ptr<partition_script> partition_mock_script = std::make_shared<partition_script>();
  protocol_bridge_actor bridge;
  partition_actor p;
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(bridge_tests, bridge_fixture)

CAF_TEST(a bridge that stops answers each publish fetch and question it has out at a partition) {
  // The publish looks the partition up and goes to it; the fetch and the bounds question
  // follow it there. The partition reads none of them before the bridge stops.
  self->request(bridge, caf::infinite, publish_atom::value, records(orders, 1));
  expect((publish_atom, publish_batch), from(self).to(bridge).with(_, _));
  expect((partition_atom, topic_partition, bool), from(bridge).to(registry).with(_, orders, true));
  expect((partition_actor), from(registry).to(bridge).with(p));
  fetch_request req;
  req.tp = orders;
  req.offset = 0;
  self->request(bridge, caf::infinite, fetch_atom::value, req);
  expect((fetch_atom, fetch_request), from(self).to(bridge).with(_, _));
  self->request(bridge, caf::infinite, bounds_atom::value, orders);
  expect((bounds_atom, topic_partition), from(self).to(bridge).with(_, orders));
  CAF_CHECK(self->mailbox().empty());
  stop_bridge();
  // Each request hears a retriable error instead of nothing.
  expect((caf::error), from(bridge).to(self).with(make_caf_error(errc::not_ready)));
  expect((caf::error), from(bridge).to(self).with(make_caf_error(errc::not_ready)));
  expect((caf::error), from(bridge).to(self).with(make_caf_error(errc::not_ready)));
  CAF_CHECK(self->mailbox().empty());
  // The partition then serves them; its answers reach nobody, and nothing is answered twice.
  CAF_CHECK_EQUAL(partition_mock_script->append.count(), 0u);
  sched.run();
  CAF_CHECK_EQUAL(partition_mock_script->append.count(), 1u);
  CAF_CHECK_EQUAL(partition_mock_script->fetch.count(), 1u);
  CAF_CHECK_EQUAL(partition_mock_script->bounds.count(), 1u);
  CAF_CHECK(self->mailbox().empty());
  CAF_CHECK(!sched.has_job());
}

CAF_TEST(a bridge that stops answers each publish of a burst it has out at a partition) {
  // A burst of two publishes for one partition travels as one group, unread when the
  // bridge stops: the group is answered whole, each publish not ready.
  std::vector<publish_batch> burst{records(orders, 2), records(orders, 1)};
  self->request(bridge, caf::infinite, publish_atom::value, burst);
  expect((publish_atom, std::vector<publish_batch>), from(self).to(bridge).with(_, _));
  expect((partition_atom, topic_partition, bool), from(bridge).to(registry).with(_, orders, true));
  expect((partition_actor), from(registry).to(bridge).with(p));
  CAF_CHECK(self->mailbox().empty());
  stop_bridge();
  expect((std::vector<publish_reply>),
         from(bridge).to(self).with(WHERE(std::vector<publish_reply>, r,
                                          r.size() == 2 && r[0].error == errc::not_ready &&
                                              r[1].error == errc::not_ready)));
  CAF_CHECK(self->mailbox().empty());
  sched.run();
  CAF_CHECK_EQUAL(partition_mock_script->append.count(), 2u);
  CAF_CHECK(self->mailbox().empty());
  CAF_CHECK(!sched.has_job());
}

CAF_TEST(a bridge that answered its requests sends nothing more when it stops) {
  // The normal path spends each owed answer: stopping afterwards answers nothing twice.
  self->request(bridge, caf::infinite, publish_atom::value, records(orders, 1));
  expect((publish_atom, publish_batch), from(self).to(bridge).with(_, _));
  expect((partition_atom, topic_partition, bool), from(bridge).to(registry).with(_, orders, true));
  expect((partition_actor), from(registry).to(bridge).with(p));
  expect((append_atom, framed_batch), from(bridge).to(p).with(_, _));
  expect((publish_result), from(p).to(bridge).with(_));
  expect((publish_result),
         from(bridge).to(self).with(WHERE(publish_result, r, r.base_offset == 0)));
  fetch_request req;
  req.tp = orders;
  req.offset = 1;
  self->request(bridge, caf::infinite, fetch_atom::value, req);
  expect((fetch_atom, fetch_request), from(self).to(bridge).with(_, _));
  expect((fetch_atom, fetch_request), from(bridge).to(p).with(_, _));
  expect((fetch_result), from(p).to(bridge).with(_));
  expect((fetch_result), from(bridge).to(self).with(_));
  stop_bridge();
  CAF_CHECK(self->mailbox().empty());
  sched.run();
  CAF_CHECK(self->mailbox().empty());
}

CAF_TEST_FIXTURE_SCOPE_END()
