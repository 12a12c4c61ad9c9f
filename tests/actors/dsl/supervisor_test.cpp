// The supervisor on the deterministic scheduler: its children are mocks (and the real hooks
// actor), spawned through a test child factory; time is the test clock's, so a backoff is
// checked to the millisecond and "a healthy run" without waiting 30 s.
#define CAF_SUITE dsl.supervisor

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/runtime/restart_backoff.hpp"
#include "actors/runtime/restart_intensity.hpp"
#include "actors/runtime/follow_directory.hpp"
#include "actors/runtime/supervisor.hpp"
#include "tests/actors/dsl/dsl_fixture.hpp"
#include "tests/mocks/mock_group_coordinator.hpp"
#include "tests/mocks/mock_hooks.hpp"
#include "tests/mocks/mock_security.hpp"

using namespace portask;
using namespace portask::testing;
using namespace std::chrono_literals;

namespace {

// The retention child, which the tests only count: it answers nothing, is found by nobody
// and takes the directory updates the supervisor sends it. (Spawned with an argument: CAF
// 0.17 binds a null argument tuple for a function without any, which UBSan reports.)
using idle_child_actor = retention_actor;

idle_child_actor::behavior_type idle_child(idle_child_actor::pointer, child_kind) {
  return {[](tick_atom) {}, [](directory_atom, const actor_directory&) {}};
}

// A child that fails as it starts, before the supervisor (spawned after its children) has
// begun to watch it.
idle_child_actor::behavior_type failing_child(idle_child_actor::pointer self, child_kind) {
  self->quit(caf::make_error(caf::sec::runtime_error, "failed at start"));
  return {[](tick_atom) {}, [](directory_atom, const actor_directory&) {}};
}

// An actor spawned after the supervisor that finds others through the directory, as a
// connection does: what it holds and how many updates it was sent.
struct follower_log {
  actor_directory dir;
  int updates = 0;
};
struct follower_state {
  actor_directory dir;
};
using follower_actor = caf::typed_actor<directory_update>;

follower_actor::behavior_type follower(follower_actor::stateful_pointer<follower_state> self,
                                       supervisor_actor supervisor,
                                       std::shared_ptr<follower_log> log) {
  follow_directory(self, supervisor);
  // Runs once the directory is in: await holds every other message back until then.
  self->send(self, directory_atom::value, actor_directory{});
  return {[=](directory_atom, actor_directory& d) {
    if (!d.registry) {  // the marker it sent itself
      log->dir = self->state.dir;
      return;
    }
    ++log->updates;
    self->state.dir = d;
    log->dir = std::move(d);
  }};
}

struct supervisor_fixture : dsl_fixture {
  /// `retention_fails_at_start`: the first retention child fails in its initialisation.
  /// `readers`: how many storage readers; reader i answers from reader_scripts[i] (the first
  /// is the fixture's reader_script).
  explicit supervisor_fixture(bool retention_fails_at_start = false, std::size_t readers = 1) {
    reader_scripts.push_back(reader_script);
    while (reader_scripts.size() < readers)
      reader_scripts.push_back(std::make_shared<storage_reader_script>());
    runtime_sizes sizes;
    sizes.writers = 1;
    sizes.readers = readers;
    sizes.bridges = 1;
    // Mocks for the pipeline's children (scripted like the fixture's), the broker's own
    // factory for the hooks, so what a restarted hooks actor inherits is the real thing.
    auto factory = [this, retention_fails_at_start](
                       caf::actor_system& s, const std::shared_ptr<broker_context>& c,
                       const actor_directory& d, const kept_state& kept, child_kind kind,
                       std::size_t index) -> child_handle {
      ++spawned[kind];
      switch (kind) {
        case child_kind::writer: return spawn_mock_storage_writer(s, writer_script);
        case child_kind::reader: return spawn_mock_storage_reader(s, reader_scripts.at(index));
        case child_kind::registry: return spawn_mock_topic_registry(s, registry_script);
        case child_kind::bridge: return spawn_mock_protocol_bridge(s, bridge_script);
        case child_kind::hooks: return broker_children()(s, c, d, kept, kind, index);
        case child_kind::groups:
          return spawn_mock_group_directory(s, std::make_shared<group_directory_script>());
        case child_kind::security:
          return spawn_mock_security(s, std::make_shared<security_script>());
        case child_kind::retention:  // held by the supervisor alone
          if (retention_fails_at_start && spawned[kind] == 1) return s.spawn(failing_child, kind);
          return s.spawn(idle_child, kind);
      }
      return {};
    };
    supervisor = track(spawn_supervisor(sys, ctx, sizes, factory));
    sched.run();  // the supervisor starts, its first store ping goes to the mock reader
  }

  // The supervisor ends first: the factory it may still call counts into this fixture.
  ~supervisor_fixture() override {
    caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
    sched.run();
  }

  // The directory as the supervisor has it, asked as an HTTP request's actor asks.
  actor_directory directory() {
    auto answer = self->request(supervisor, caf::infinite, directory_atom::value);
    expect((directory_atom), from(self).to(supervisor));
    actor_directory out;
    answer.receive([&](actor_directory& d) { out = std::move(d); },
                   [](caf::error& e) { CAF_FAIL("no directory: " << to_string(to_errc(e))); });
    return out;
  }

  caf::actor_addr child(child_kind kind) {
    auto d = directory();
    switch (kind) {
      case child_kind::writer: return d.writers.at(0).address();
      case child_kind::reader: return d.readers.at(0).address();
      case child_kind::registry: return d.registry.address();
      case child_kind::bridge: return d.bridges.at(0).address();
      case child_kind::hooks: return d.hooks.address();
      default: return {};
    }
  }

  // Kills a child (as a crash would) and lets the supervisor hear of it.
  void crash(const caf::actor_addr& a) {
    caf::anon_send_exit(a, caf::exit_reason::kill);
    sched.run();
  }

  // Moves the test clock on and runs what fell due (the respawn, store pings).
  void advance(caf::actor_clock::duration_type d) {
    sched.clock().advance_time(d);
    sched.run();
  }

  // Crashes `kind`'s child and checks that the supervisor restarts it exactly after
  // `backoff`: not a millisecond before. Returns the new child.
  caf::actor_addr crash_and_expect_restart(child_kind kind, std::chrono::milliseconds backoff) {
    const auto before = child(kind);
    const auto spawns = spawned[kind];
    crash(before);
    advance(backoff - 1ms);
    CAF_CHECK_EQUAL(spawned[kind], spawns);
    CAF_CHECK(child(kind) == before);
    advance(1ms);
    CAF_CHECK_EQUAL(spawned[kind], spawns + 1);
    const auto after = child(kind);
    CAF_CHECK(after != before);
    CAF_CHECK(static_cast<bool>(after));
    return after;
  }

  std::uint64_t restarts(child_kind kind) const {
    return ctx->metrics.actor_restarts_total(static_cast<std::size_t>(kind));
  }
  std::uint64_t crash_loops(child_kind kind) const {
    return ctx->metrics.crash_loops(static_cast<std::size_t>(kind));
  }

  std::vector<std::shared_ptr<storage_reader_script>> reader_scripts;
  std::map<child_kind, int> spawned;
  supervisor_actor supervisor;
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(supervisor_tests, supervisor_fixture)

CAF_TEST(every child is spawned once and a crashed one is restarted after its backoff) {
  for (auto kind : {child_kind::writer, child_kind::reader, child_kind::bridge,
                    child_kind::registry, child_kind::groups, child_kind::hooks,
                    child_kind::retention, child_kind::security})
    CAF_CHECK_EQUAL(spawned[kind], 1);
  for (auto kind : {child_kind::writer, child_kind::reader, child_kind::registry,
                    child_kind::bridge}) {
    CAF_MESSAGE("restarting the " << to_string(kind));
    CAF_CHECK_EQUAL(restarts(kind), 0u);
    crash_and_expect_restart(kind, restart_backoff::first);
    CAF_CHECK_EQUAL(restarts(kind), 1u);
  }
  // Counted per kind, every kind a series from the start; one restart is no crash loop.
  const auto text = ctx->metrics.render_prometheus();
  CAF_CHECK(text.find("portask_actor_restarts_total{kind=\"bridge\"} 1") != std::string::npos);
  CAF_CHECK(text.find("portask_actor_restarts_total{kind=\"security\"} 0") != std::string::npos);
  CAF_CHECK(ctx->metrics.crash_looping().empty());
  // A restarted child is in service: the directory's writer answers an append.
  auto w = directory().writer_for({"orders", 0});
  self->request(w, caf::infinite, append_atom::value, append_set{});
  expect((append_atom, append_set), from(self).to(w).with(_, _));
  expect((append_outcome), from(w).to(self).with(_));
  CAF_CHECK_EQUAL(writer_script->append.count(), 1u);
}

CAF_TEST(a restarted hooks actor keeps its subscribers) {
  auto subscriber_script = std::make_shared<hooks_subscriber_script>();
  auto subscriber = track(spawn_mock_hooks_subscriber(sys, subscriber_script));
  const message_subscriber_actor handle = subscriber;
  auto hooks = directory().hooks;
  self->request(hooks, caf::infinite, subscribe_atom::value, handle);
  expect((subscribe_atom, message_subscriber_actor), from(self).to(hooks).with(_, handle));
  expect((bool), from(hooks).to(self).with(true));
  CAF_CHECK_EQUAL(ctx->message_hook_subscribers.load(), 1);

  // A subscription sent while the hooks actor is down, before its restart, is not lost
  // silently: it is answered with an error, and the subscriber asks the next incarnation.
  crash(hooks.address());
  bool bounced = false;
  self->request(hooks, caf::infinite, subscribe_atom::value, handle)
      .receive([](bool) { CAF_FAIL("a dead hooks actor answered"); },
               [&](caf::error&) { bounced = true; });
  CAF_CHECK(bounced);
  advance(restart_backoff::first);
  auto restarted = directory().hooks;
  CAF_REQUIRE(restarted != hooks);
  // The bridge still builds events (the count is the inherited subscriptions'), and the new
  // incarnation delivers them to the subscriber made before the crash.
  CAF_CHECK_EQUAL(ctx->message_hook_subscribers.load(), 1);
  message_event event;
  event.tp = {"orders", 0};
  event.base_offset = 7;
  caf::anon_send(restarted, event);
  expect((message_event), from(_).to(restarted).with(_));
  expect((message_event),
         from(_).to(subscriber).with(WHERE(message_event, e, e.base_offset == 7)));
  CAF_CHECK_EQUAL(subscriber_script->messages.count(), 1u);
}

CAF_TEST(a restart sends the new directory to the children that follow it and to subscribers) {
  // A connection subscribes as it starts (track_connection) and gets the directory now.
  auto first = self->request(supervisor, caf::infinite, subscribe_atom::value,
                             caf::actor_cast<directory_follower_actor>(self));
  expect((subscribe_atom, directory_follower_actor), from(self).to(supervisor));
  actor_directory seen;
  first.receive([&](actor_directory& d) { seen = std::move(d); },
                [](caf::error& e) { CAF_FAIL("no directory: " << to_string(to_errc(e))); });
  const auto old_registry = child(child_kind::registry);
  CAF_CHECK(seen.registry.address() == old_registry);
  // At start the bridge, spawned with the directory so far, was sent the whole one.
  CAF_REQUIRE(bridge_script->directory.count() > 0u);
  const auto sent_before = bridge_script->directory.count();
  CAF_CHECK(bridge_script->directory.arg(sent_before - 1).registry.address() == old_registry);

  const auto new_registry = crash_and_expect_restart(child_kind::registry, restart_backoff::first);
  // The bridge (it looks partitions up in the registry) has the new registry's handle...
  CAF_REQUIRE_EQUAL(bridge_script->directory.count(), sent_before + 1);
  CAF_CHECK(bridge_script->directory.arg(sent_before).registry.address() == new_registry);
  // ...and so has the subscriber, once.
  int updates = 0;
  bool has_new_registry = false;
  for (bool more = true; more;)
    self->receive(
        [&](directory_atom, actor_directory& d) {
          ++updates;
          has_new_registry = d.registry.address() == new_registry;
        },
        caf::after(std::chrono::seconds(0)) >> [&] { more = false; });
  CAF_CHECK_EQUAL(updates, 1);
  CAF_CHECK(has_new_registry);
}

CAF_TEST(an actor spawned later follows the directory from its first message on) {
  auto seen = std::make_shared<follower_log>();
  auto follower_handle = sys.spawn(follower, supervisor, seen);
  sched.run();
  // It asked before anything else and holds the directory as it was.
  CAF_CHECK(seen->dir.registry.address() == child(child_kind::registry));
  CAF_CHECK_EQUAL(seen->updates, 0);
  const auto new_registry = crash_and_expect_restart(child_kind::registry, restart_backoff::first);
  CAF_CHECK_EQUAL(seen->updates, 1);
  CAF_CHECK(seen->dir.registry.address() == new_registry);
  // Once it ends the supervisor forgets it (its end is no child's crash: nothing restarts).
  const auto spawns = spawned;
  caf::anon_send_exit(follower_handle, caf::exit_reason::user_shutdown);
  sched.run();
  advance(restart_backoff::first);
  CAF_CHECK(spawned == spawns);
  crash_and_expect_restart(child_kind::writer, restart_backoff::first);
  CAF_CHECK_EQUAL(seen->updates, 1);
}

CAF_TEST(the backoff doubles while a child keeps crashing and resets after a healthy run) {
  crash_and_expect_restart(child_kind::writer, 100ms);
  crash_and_expect_restart(child_kind::writer, 200ms);
  crash_and_expect_restart(child_kind::writer, 400ms);
  // Other children have backoffs of their own: the registry's first crash waits 100 ms.
  crash_and_expect_restart(child_kind::registry, 100ms);
  crash_and_expect_restart(child_kind::writer, 800ms);
  // It ran long enough to count as healthy: the next crash is a first crash again.
  advance(restart_backoff::healthy_run);
  crash_and_expect_restart(child_kind::writer, 100ms);
  crash_and_expect_restart(child_kind::writer, 200ms);
}

CAF_TEST(too many restarts within the window and the supervisor fails with its children) {
  // Shared with the functors: they run when the actor ends, which may be after the test.
  auto supervisor_reason = std::make_shared<std::optional<caf::error>>();
  caf::actor_cast<caf::actor>(supervisor)->attach_functor(
      [supervisor_reason](const caf::error& reason) { *supervisor_reason = reason; });
  auto backoff = std::chrono::milliseconds{0};
  for (std::size_t i = 0; i < restart_intensity::max_restarts; ++i) {
    backoff = restart_backoff::next(backoff, 0ms);
    crash_and_expect_restart(child_kind::writer, backoff);
  }
  CAF_REQUIRE(!supervisor_reason->has_value());
  // All of that took less than the window: one more crash and it gives up.
  auto registry_reason = std::make_shared<std::optional<caf::error>>();
  caf::actor_cast<caf::actor>(child(child_kind::registry))
      ->attach_functor([registry_reason](const caf::error& reason) { *registry_reason = reason; });
  crash(child(child_kind::writer));
  CAF_REQUIRE(supervisor_reason->has_value());
  CAF_CHECK(**supervisor_reason == caf::sec::runtime_error);
  // The children end with it, killed (a failure, not a shutdown).
  CAF_REQUIRE(registry_reason->has_value());
  CAF_CHECK(**registry_reason == caf::exit_reason::kill);
}

CAF_TEST(crashes never more than twice within the window never make the supervisor give up) {
  auto supervisor_ended = std::make_shared<bool>(false);
  caf::actor_cast<caf::actor>(supervisor)->attach_functor(
      [supervisor_ended](const caf::error&) { *supervisor_ended = true; });
  for (std::size_t i = 0; i < 2 * restart_intensity::max_restarts; ++i) {
    crash_and_expect_restart(child_kind::reader, restart_backoff::first);
    advance(restart_intensity::window / 5 + restart_backoff::healthy_run);
  }
  CAF_CHECK(!*supervisor_ended);
}

CAF_TEST(restarts of different kinds do not add up and each kind has its own limit) {
  auto supervisor_reason = std::make_shared<std::optional<caf::error>>();
  caf::actor_cast<caf::actor>(supervisor)->attach_functor(
      [supervisor_reason](const caf::error& reason) { *supervisor_reason = reason; });
  // As many restarts of the writer as allowed, then as many of the registry: twice the
  // limit within the window, but no kind over it.
  for (auto kind : {child_kind::writer, child_kind::registry}) {
    auto backoff = std::chrono::milliseconds{0};
    for (std::size_t i = 0; i < restart_intensity::max_restarts; ++i) {
      backoff = restart_backoff::next(backoff, 0ms);
      crash_and_expect_restart(kind, backoff);
    }
  }
  CAF_REQUIRE(!supervisor_reason->has_value());
  // Still within the window of the writer's restarts: one more of it and it gives up.
  crash(child(child_kind::writer));
  CAF_REQUIRE(supervisor_reason->has_value());
  CAF_CHECK(**supervisor_reason == caf::sec::runtime_error);
}

CAF_TEST(a protocol bridge that keeps crashing never makes the supervisor give up) {
  auto supervisor_ended = std::make_shared<bool>(false);
  caf::actor_cast<caf::actor>(supervisor)->attach_functor(
      [supervisor_ended](const caf::error&) { *supervisor_ended = true; });
  // A request a client retries that crashes each new bridge as soon as it is handed on (a
  // bridge builds nothing before its first message): twice the limit of restarts, most of
  // them within one window, each after the backoff, which caps at 5 s.
  auto backoff = std::chrono::milliseconds{0};
  for (std::size_t i = 0; i < 2 * restart_intensity::max_restarts; ++i) {
    backoff = restart_backoff::next(backoff, 0ms);
    crash_and_expect_restart(child_kind::bridge, backoff);
    CAF_CHECK_EQUAL(restarts(child_kind::bridge), i + 1);
  }
  CAF_CHECK_EQUAL(backoff, restart_backoff::most);
  CAF_CHECK(!*supervisor_ended);
  CAF_CHECK_EQUAL(spawned[child_kind::bridge],
                  static_cast<int>(2 * restart_intensity::max_restarts) + 1);
  CAF_CHECK_EQUAL(crash_loops(child_kind::bridge), 1u);
}

CAF_TEST(a child restarted again within a healthy run is in a crash loop until it runs that long) {
  auto looping = [this] {
    return ctx->metrics.crash_looping() == std::vector<std::string>{"bridge"};
  };
  // Its first crash since the start is no loop: the restart may have mended it.
  crash_and_expect_restart(child_kind::bridge, 100ms);
  CAF_CHECK(ctx->metrics.crash_looping().empty());
  CAF_CHECK_EQUAL(crash_loops(child_kind::bridge), 0u);
  // The restart exits again before a healthy run: a crash loop.
  crash_and_expect_restart(child_kind::bridge, 200ms);
  CAF_CHECK(looping());
  CAF_CHECK(ctx->metrics.render_prometheus().find("portask_actor_crash_loop{kind=\"bridge\"} 1") !=
            std::string::npos);
  // It stays one however far apart the restarts come (fewer than 10 a minute once the backoff
  // is at its cap), as long as none runs a healthy run.
  for (auto backoff : {400ms, 800ms, 1600ms, 3200ms, 5000ms, 5000ms}) {
    advance(restart_backoff::healthy_run - 2s);
    CAF_CHECK(looping());
    crash_and_expect_restart(child_kind::bridge, backoff);
    CAF_CHECK(looping());
  }
  // A healthy run counts from the restart, not from the exit before it: time spent waiting
  // out the backoff is no run.
  advance(restart_backoff::healthy_run - 500ms);
  crash(child(child_kind::bridge));
  advance(restart_backoff::most - 1s);
  CAF_CHECK(looping());
  advance(1s);
  CAF_CHECK_EQUAL(spawned[child_kind::bridge], 10);
  CAF_CHECK(looping());
  // The restart runs a healthy run: out of the loop (at the next tick).
  advance(restart_backoff::healthy_run - 1ms);
  CAF_CHECK(looping());
  advance(1s);
  CAF_CHECK(ctx->metrics.crash_looping().empty());
  CAF_CHECK_EQUAL(crash_loops(child_kind::bridge), 0u);
  CAF_CHECK(ctx->metrics.render_prometheus().find("portask_actor_crash_loop{kind=\"bridge\"} 0") !=
            std::string::npos);
  // After a healthy run a crash is a first crash again; a second one soon after is a loop.
  crash_and_expect_restart(child_kind::bridge, 100ms);
  CAF_CHECK(ctx->metrics.crash_looping().empty());
  crash_and_expect_restart(child_kind::bridge, 200ms);
  CAF_CHECK(looping());
  CAF_CHECK_EQUAL(restarts(child_kind::bridge), 11u);
}

CAF_TEST(a store ping without an answer is not followed by another until its reader is replaced) {
  const auto before = reader_script->ping.count();  // at start, answered
  reader_script->pings_hang = true;  // the reader is stuck in a store call
  advance(1s);
  CAF_CHECK_EQUAL(reader_script->ping.count(), before + 1);
  CAF_CHECK(ctx->metrics.store_up());  // it has 2 s to answer
  for (int i = 0; i < 5; ++i) advance(1s);
  // No ping queued behind the unanswered one, and the store counts as failing.
  CAF_CHECK_EQUAL(reader_script->ping.count(), before + 1);
  CAF_CHECK(!ctx->metrics.store_up());
  // A reader restarted in its place is pinged at the next tick, and answers.
  reader_script->pings_hang = false;
  crash_and_expect_restart(child_kind::reader, restart_backoff::first);
  advance(1s);
  CAF_CHECK_EQUAL(reader_script->ping.count(), before + 2);
  CAF_CHECK(ctx->metrics.store_up());
}

CAF_TEST(a store ping answered with an error reports the store failing at once) {
  CAF_REQUIRE(ctx->metrics.store_up());
  reader_script->ping.fail(errc::storage_unavailable);
  advance(1s);
  CAF_CHECK(!ctx->metrics.store_up());
  CAF_CHECK(ctx->metrics.render_prometheus().find("portask_store_up 0") != std::string::npos);
  // The next ping is answered: up again.
  advance(1s);
  CAF_CHECK(ctx->metrics.store_up());
}

CAF_TEST_FIXTURE_SCOPE_END()

namespace {

struct two_readers_fixture : supervisor_fixture {
  two_readers_fixture() : supervisor_fixture(false, 2) {}
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(supervisor_ping_tests, two_readers_fixture)

CAF_TEST(a reader busy in a long store call leaves the store pings to the other) {
  auto& busy = *reader_scripts.at(0);
  auto& other = *reader_scripts.at(1);
  const auto busy_before = busy.ping.count();  // both were pinged at start, and answered
  const auto other_before = other.ping.count();
  busy.pings_hang = true;  // deleting records for minutes, say
  for (int i = 0; i < 10; ++i) {
    advance(1s);
    CAF_CHECK(ctx->metrics.store_up());
  }
  // The busy one pinged once (nothing queues behind its unanswered ping), the other at every
  // tick.
  CAF_CHECK_EQUAL(busy.ping.count(), busy_before + 1);
  CAF_CHECK_EQUAL(other.ping.count(), other_before + 10);
  // The other one gets stuck too: the store counts as failing once its ping is 2 s old.
  other.pings_hang = true;
  advance(1s);
  CAF_CHECK(ctx->metrics.store_up());
  advance(1s);
  CAF_CHECK(ctx->metrics.store_up());
  advance(1s);
  CAF_CHECK(!ctx->metrics.store_up());
  CAF_CHECK_EQUAL(busy.ping.count(), busy_before + 1);
  CAF_CHECK_EQUAL(other.ping.count(), other_before + 11);
}

CAF_TEST(a hung store is found within 2 s whatever the number of readers) {
  std::vector<std::size_t> before;
  for (const auto& r : reader_scripts) {
    before.push_back(r->ping.count());
    r->pings_hang = true;
  }
  // Every reader is pinged at the same tick...
  advance(1s);
  for (std::size_t i = 0; i < reader_scripts.size(); ++i)
    CAF_CHECK_EQUAL(reader_scripts[i]->ping.count(), before[i] + 1);
  CAF_CHECK(ctx->metrics.store_up());
  advance(1s);
  CAF_CHECK(ctx->metrics.store_up());
  // ...so all their pings are 2 s old together.
  advance(1s);
  CAF_CHECK(!ctx->metrics.store_up());
  for (std::size_t i = 0; i < reader_scripts.size(); ++i)
    CAF_CHECK_EQUAL(reader_scripts[i]->ping.count(), before[i] + 1);
}

CAF_TEST_FIXTURE_SCOPE_END()

namespace {

struct failing_start_fixture : supervisor_fixture {
  failing_start_fixture() : supervisor_fixture(true) {}
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(supervisor_start_tests, failing_start_fixture)

CAF_TEST(a child that fails before the supervisor watches it is restarted) {
  // It ended while the supervisor was still being spawned; the supervisor holds its handle,
  // so watching it reports the failure at once, and the usual backoff follows.
  CAF_CHECK_EQUAL(spawned[child_kind::retention], 1);
  advance(restart_backoff::first - 1ms);
  CAF_CHECK_EQUAL(spawned[child_kind::retention], 1);
  advance(1ms);
  CAF_CHECK_EQUAL(spawned[child_kind::retention], 2);
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(supervisor_factory_tests, dsl_fixture)

CAF_TEST(a factory that gives a child of another interface than its kind is refused) {
  runtime_sizes sizes;
  sizes.writers = 1;
  sizes.readers = 1;
  sizes.bridges = 1;
  auto readers = std::make_shared<storage_reader_script>();
  // Strong handles: only the supervisor's kill can end these while the test holds them.
  std::vector<caf::actor> made;
  // A reader where the kind asks for a writer: the directory would hold it as a writer.
  auto factory = [&](caf::actor_system& s, const std::shared_ptr<broker_context>&,
                     const actor_directory&, const kept_state&, child_kind kind,
                     std::size_t) -> child_handle {
    child_handle h;
    if (kind == child_kind::writer || kind == child_kind::reader)
      h = spawn_mock_storage_reader(s, readers);
    else if (kind == child_kind::retention)
      h = s.spawn(idle_child, kind);
    else
      h = spawn_mock_security(s, std::make_shared<security_script>());
    made.push_back(std::visit([](const auto& a) { return caf::actor_cast<caf::actor>(a); }, h));
    return h;
  };
  bool refused = false;
  try {
    spawn_supervisor(sys, ctx, sizes, factory);
  } catch (const std::logic_error&) {
    refused = true;
  }
  CAF_CHECK(refused);
  sched.run();
  // The children it had spawned were ended with it.
  CAF_CHECK(!made.empty());
  for (const auto& a : made)
    CAF_CHECK(caf::actor_cast<caf::abstract_actor*>(a)->getf(caf::abstract_actor::is_terminated_flag));
}

CAF_TEST_FIXTURE_SCOPE_END()
