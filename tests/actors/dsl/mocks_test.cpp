// The mocks themselves: scripted answers, defaults, and what they record.
#define CAF_SUITE dsl.mocks

#include "tests/actors/dsl/dsl_fixture.hpp"
#include "tests/mocks/mock_group_coordinator.hpp"
#include "tests/mocks/mock_hooks.hpp"
#include "tests/mocks/mock_partition.hpp"
#include "tests/mocks/mock_security.hpp"

using namespace portask;
using namespace portask::testing;

CAF_TEST_FIXTURE_SCOPE(mock_tests, dsl_fixture)

CAF_TEST(a scripted answer is used once and then the default again) {
  const append_set two_batches{{"orders", 0}, {storage::stored_batch{}, storage::stored_batch{}}};
  writer_script->append.fail(errc::storage_unavailable);
  self->request(writer, caf::infinite, append_atom::value, two_batches);
  expect((append_atom, append_set), from(self).to(writer).with(_, _));
  expect((caf::error), from(writer).to(self).with(make_caf_error(errc::storage_unavailable)));
  self->request(writer, caf::infinite, append_atom::value, two_batches);
  expect((append_atom, append_set), from(self).to(writer).with(_, _));
  expect((append_outcome), from(writer).to(self).with(WHERE(
                               append_outcome, o, o.results == std::vector<errc>(2, errc::ok))));
  CAF_CHECK_EQUAL(writer_script->append.count(), 2u);
  CAF_CHECK_EQUAL(writer_script->append.arg(1).batches.size(), 2u);
}

CAF_TEST(an unscripted request without a default is answered with an internal error) {
  self->request(reader, caf::infinite, producer_atom::value, std::int64_t{1000});
  expect((producer_atom, std::int64_t), from(self).to(reader).with(_, 1000));
  expect((caf::error), from(reader).to(self).with(make_caf_error(errc::internal)));
  CAF_CHECK_EQUAL(reader_script->producer_ids.arg(0), 1000);
}

CAF_TEST(the mock group directory hands out scripted coordinators) {
  auto coordinator_script = std::make_shared<group_coordinator_script>();
  auto coord = track(spawn_mock_group_coordinator(sys, coordinator_script));
  auto directory_script = std::make_shared<group_directory_script>();
  directory_script->groups["g"] = coord;
  auto directory = track(spawn_mock_group_directory(sys, directory_script));
  sched.run();
  self->request(directory, caf::infinite, group_atom::value, std::string{"g"});
  expect((group_atom, std::string), from(self).to(directory).with(_, "g"));
  expect((group_coordinator_actor), from(directory).to(self).with(coord));
  self->request(directory, caf::infinite, group_atom::value, std::string{"other"});
  expect((group_atom, std::string), from(self).to(directory).with(_, "other"));
  expect((caf::error), from(directory).to(self).with(make_caf_error(errc::unknown_group)));

  join_group_result joined;
  joined.generation = 3;
  joined.member_id = "m-1";
  coordinator_script->join.reply(joined);
  self->request(coord, caf::infinite, join_atom::value, join_group_request{});
  expect((join_atom, join_group_request), from(self).to(coord).with(_, _));
  expect((join_group_result),
         from(coord).to(self).with(
             WHERE(join_group_result, r, r.generation == 3 && r.member_id == "m-1")));
  self->send(coord, tick_atom::value);
  expect((tick_atom), from(self).to(coord).with(_));
  CAF_CHECK_EQUAL(coordinator_script->tick.count(), 1u);
  CAF_CHECK_EQUAL(coordinator_script->join.count(), 1u);
}

CAF_TEST(the mock hooks record subscriptions and events) {
  auto script = std::make_shared<hooks_script>();
  auto hooks = track(spawn_mock_hooks(sys, script));
  const connect_subscriber_actor subscriber =
      track(spawn_mock_hooks_subscriber(sys, std::make_shared<hooks_subscriber_script>()));
  sched.run();
  self->request(hooks, caf::infinite, subscribe_atom::value, subscriber);
  expect((subscribe_atom, connect_subscriber_actor), from(self).to(hooks).with(_, subscriber));
  expect((bool), from(hooks).to(self).with(true));
  caf::anon_send(hooks, connect_event{protocol_kind::kafka, "10.0.0.1:4000"});
  expect((connect_event),
         from(_).to(hooks).with(WHERE(connect_event, e, e.peer == "10.0.0.1:4000")));
  CAF_CHECK_EQUAL(script->subscribe.count(), 1u);
  CAF_CHECK_EQUAL(script->connects.arg(0).peer, "10.0.0.1:4000");
}

CAF_TEST(the mock security actor records changes and answers from its script) {
  namespace sec = protocol::security;
  auto script = std::make_shared<security_script>();
  auto security = track(spawn_mock_security(sys, script));
  sched.run();
  script->put_credential.fail(errc::storage_unavailable);
  const storage::user_credential cred{"alice", sec::scram_credential_from_password(sec::scram_mechanism::sha256, "pw")};
  caf::anon_send(security, create_atom::value, cred);
  expect((create_atom, storage::user_credential), from(_).to(security).with(_, cred));
  caf::anon_send(security, delete_atom::value, std::string("alice"), sec::scram_mechanism::sha512);
  expect((delete_atom, std::string, sec::scram_mechanism), from(_).to(security).with(_, "alice", _));
  CAF_CHECK_EQUAL(script->put_credential.count(), 1u);
  CAF_CHECK_EQUAL(script->put_credential.arg(0).user, "alice");
  CAF_CHECK_EQUAL(script->delete_credential.count(), 1u);
  CAF_CHECK(script->put_credential.answers.empty());  // the scripted failure was used
}

CAF_TEST_FIXTURE_SCOPE_END()
