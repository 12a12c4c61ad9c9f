// The hooks actor on the deterministic scheduler, between events the test sends and mock
// subscribers: how many events may be out to a subscriber that has not answered them.
#define CAF_SUITE dsl.hooks

#include <cstddef>
#include <cstdint>
#include <memory>

#include "actors/pipeline/hooks.hpp"
#include "tests/actors/dsl/dsl_fixture.hpp"
#include "tests/mocks/mock_hooks.hpp"

using namespace portask;
using namespace portask::testing;

namespace {

constexpr auto limit = max_hook_events_in_flight;

message_event event_at(std::size_t offset) {
  return {protocol_kind::portask, {"orders", 0}, static_cast<std::int64_t>(offset), nullptr};
}

struct hooks_fixture : dsl_fixture {
  hooks_fixture() {
    hooks = track(spawn_hooks(sys, ctx, subscriptions));
    slow = add_subscriber(slow_script);
  }

  // A subscribed mock subscriber (its subscription answered).
  hooks_subscriber_actor add_subscriber(const std::shared_ptr<hooks_subscriber_script>& script) {
    auto subscriber = track(spawn_mock_hooks_subscriber(sys, script));
    sched.run();
    const message_subscriber_actor handle = subscriber;
    self->request(hooks, caf::infinite, subscribe_atom::value, handle);
    expect((subscribe_atom, message_subscriber_actor), from(self).to(hooks).with(_, handle));
    expect((bool), from(hooks).to(self).with(true));
    return subscriber;
  }

  // The bridge's event for `offset`, handed on by the hooks actor; no subscriber runs.
  void publish(std::size_t offset) {
    caf::anon_send(hooks, event_at(offset));
    const auto at = static_cast<std::int64_t>(offset);
    expect((message_event), from(_).to(hooks).with(WHERE(message_event, e, e.base_offset == at)));
  }

  std::uint64_t dropped() const { return subscriptions->dropped.load(); }

  std::shared_ptr<hook_subscriptions> subscriptions = std::make_shared<hook_subscriptions>();
  std::shared_ptr<hooks_subscriber_script> slow_script =
      std::make_shared<hooks_subscriber_script>();
  hooks_actor hooks;
  hooks_subscriber_actor slow;
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(hooks_tests, hooks_fixture)

CAF_TEST(a subscriber that answers nothing is sent at most the limit and the rest are dropped) {
  for (std::size_t i = 0; i < limit + 3; ++i) publish(i);
  // The subscriber has not run: it holds `limit` events, and the 3 after them were dropped.
  CAF_CHECK_EQUAL(dropped(), 3u);
  CAF_CHECK_EQUAL(slow_script->messages.count(), 0u);
  // It handles the first and answers it: one more goes out, and one only.
  expect((message_event), from(hooks).to(slow).with(WHERE(message_event, e, e.base_offset == 0)));
  expect((void), from(slow).to(hooks));
  publish(limit + 3);
  CAF_CHECK_EQUAL(dropped(), 3u);
  publish(limit + 4);
  CAF_CHECK_EQUAL(dropped(), 4u);
  // Catching up, it sees the first `limit` events and the one sent after its answer, in order.
  sched.run();
  CAF_REQUIRE_EQUAL(slow_script->messages.count(), limit + 1);
  CAF_CHECK_EQUAL(slow_script->messages.arg(limit - 1).base_offset,
                  static_cast<std::int64_t>(limit - 1));
  CAF_CHECK_EQUAL(slow_script->messages.arg(limit).base_offset,
                  static_cast<std::int64_t>(limit + 3));
  // Everything answered, it has its whole allowance again.
  for (std::size_t i = 0; i < limit; ++i) publish(limit + 5 + i);
  CAF_CHECK_EQUAL(dropped(), 4u);
  sched.run();
  CAF_CHECK_EQUAL(slow_script->messages.count(), 2 * limit + 1);
}

CAF_TEST(a subscriber that answers nothing does not hold back another) {
  auto prompt_script = std::make_shared<hooks_subscriber_script>();
  auto prompt = add_subscriber(prompt_script);
  for (std::size_t i = 0; i < limit + 2; ++i) {
    publish(i);
    expect((message_event), from(hooks).to(prompt).with(_));
    expect((void), from(prompt).to(hooks));
  }
  CAF_CHECK_EQUAL(prompt_script->messages.count(), limit + 2);
  // Only the events for the slow one were dropped.
  CAF_CHECK_EQUAL(dropped(), 2u);
  CAF_CHECK_EQUAL(slow_script->messages.count(), 0u);
}

CAF_TEST(a subscriber that ends is dropped with the events it held) {
  for (std::size_t i = 0; i < limit; ++i) publish(i);
  caf::anon_send_exit(slow, caf::exit_reason::user_shutdown);
  sched.run();  // its events bounce, the hooks actor hears it is down
  CAF_CHECK(subscriptions->on_message.empty());
  CAF_CHECK_EQUAL(ctx->message_hook_subscribers.load(), 0);
  // A new subscriber starts with the whole allowance.
  auto next_script = std::make_shared<hooks_subscriber_script>();
  add_subscriber(next_script);
  for (std::size_t i = 0; i < limit; ++i) publish(limit + i);
  CAF_CHECK_EQUAL(dropped(), 0u);
  sched.run();
  CAF_CHECK_EQUAL(next_script->messages.count(), limit);
}

CAF_TEST_FIXTURE_SCOPE_END()
