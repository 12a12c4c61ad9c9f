// The hooks actor on the deterministic scheduler, between events the test sends and mock
// subscribers: how many events may be out to a subscriber that has not answered them, and
// how the ones dropped are reported.
#define CAF_SUITE dsl.hooks

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actors/pipeline/hooks.hpp"
#include "log_capture.hpp"
#include "logging/loggers.hpp"
#include "tests/actors/dsl/dsl_fixture.hpp"
#include "tests/mocks/mock_hooks.hpp"

using namespace portask;
using namespace portask::testing;
using namespace std::chrono_literals;

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

  std::uint64_t dropped() const { return ctx->metrics.hook_events_dropped_total(); }

  // Runs the hooks actor alone until its mailbox is empty: the subscribers do not run.
  void run_hooks() {
    auto* job = dynamic_cast<caf::resumable*>(caf::actor_cast<caf::abstract_actor*>(hooks));
    sched.run_jobs_filtered([job](caf::resumable* r) { return r == job; });
  }

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

CAF_TEST(drops held back are reported by a tick the hooks actor sends itself) {
  log_capture log(logging::pipeline(), spdlog::level::warn, 64);
  for (std::size_t i = 0; i < limit; ++i) publish(i);
  publish(limit);  // the first drop is reported at once
  CAF_CHECK_EQUAL(log.lines_with("hooks: 1 events dropped").size(), 1u);
  // Two more within 10 s of that report: held back, and reported when the 10 s are over.
  sched.clock().advance_time(1s);
  publish(limit + 1);
  publish(limit + 2);
  CAF_CHECK_EQUAL(log.lines_with("hooks:").size(), 1u);
  sched.clock().advance_time(9s - 1ms);
  run_hooks();
  CAF_CHECK_EQUAL(log.lines_with("hooks:").size(), 1u);
  sched.clock().advance_time(1ms);
  expect((tick_atom), from(_).to(hooks));
  const auto flushed = log.lines_with("hooks: 2 events dropped");
  CAF_REQUIRE_EQUAL(flushed.size(), 1u);
  CAF_CHECK(flushed[0].find("(3 in all)") != std::string::npos);
  // Nothing is held back any more: no tick and no other line.
  sched.clock().advance_time(20s);
  run_hooks();
  CAF_CHECK_EQUAL(log.lines_with("hooks:").size(), 2u);
  CAF_CHECK_EQUAL(dropped(), 3u);
}

CAF_TEST(a drop report tick that comes before the interval is over waits for the rest of it) {
  log_capture log(logging::pipeline(), spdlog::level::warn, 64);
  for (std::size_t i = 0; i < limit; ++i) publish(i);
  publish(limit);  // reported at once
  sched.clock().advance_time(1s);
  publish(limit + 1);  // held back: a tick is due 10 s after the report
  // Two more drops reach the hooks actor just before that tick: the first finds the 10 s over
  // and is reported at once with the one held back; the second is held back again.
  caf::anon_send(hooks, event_at(limit + 2));
  caf::anon_send(hooks, event_at(limit + 3));
  sched.clock().advance_time(9s);
  run_hooks();
  CAF_CHECK_EQUAL(log.lines_with("hooks: 2 events dropped").size(), 1u);
  // The tick came right after that report: no second line before another 10 s are over.
  CAF_CHECK_EQUAL(log.lines_with("hooks:").size(), 2u);
  sched.clock().advance_time(10s - 1ms);
  run_hooks();
  CAF_CHECK_EQUAL(log.lines_with("hooks:").size(), 2u);
  sched.clock().advance_time(1ms);
  expect((tick_atom), from(_).to(hooks));
  const auto last = log.lines_with("(4 in all)");
  CAF_REQUIRE_EQUAL(last.size(), 1u);
  CAF_CHECK(last[0].find("hooks: 1 events dropped") != std::string::npos);
  CAF_CHECK_EQUAL(log.lines_with("hooks:").size(), 3u);
}

CAF_TEST_FIXTURE_SCOPE_END()
