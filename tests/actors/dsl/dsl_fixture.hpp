#pragma once
/// What the DSL tests share: an actor system on CAF's deterministic test scheduler
/// (caf/test/dsl.hpp: expect/allow/disallow, sched.run()), a broker_context, an actor
/// directory of mock collaborators, and matchers for expect(...).with(...).
///
/// Nothing runs unless the test lets it: expect() runs exactly the one message it names.
/// Timers (delayed_send, request timeouts) fire only through sched.trigger_timeout() or
/// sched.advance_time(); sched.run() never fires them. Never call the fixture's run() or request<T>(): they fire
/// timers, and a group coordinator re-arms its timers forever.

#include <caf/test/dsl.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/runtime/broker_context.hpp"
#include "storage/memory_store.hpp"
#include "tests/mocks/mock_protocol_bridge.hpp"
#include "tests/mocks/mock_storage_reader.hpp"
#include "tests/mocks/mock_storage_writer.hpp"
#include "tests/mocks/mock_topic_registry.hpp"

namespace portask::testing {

// -- matchers for with(...) ------------------------------------------------------------------

/// Matches a message element by a predicate, so a test checks the fields that matter (not a
/// whole message with frames and timestamps). A failed check prints the predicate's text;
/// into() also copies the matched value out, e.g. a member id the coordinator chose.
template <class T>
class matcher {
 public:
  matcher(std::string what, std::function<bool(const T&)> pred)
      : what_(std::move(what)), pred_(std::move(pred)) {}

  matcher into(T& out) const {
    auto m = *this;
    m.out_ = &out;
    return m;
  }

  friend bool operator==(const T& x, const matcher& m) {
    if (!m.pred_(x)) return false;
    if (m.out_) *m.out_ = x;
    return true;
  }
  friend std::string to_string(const matcher& m) { return m.what_; }

 private:
  std::string what_;
  std::function<bool(const T&)> pred_;
  T* out_ = nullptr;
};

/// Matches anything of type T and copies it to `out`.
template <class T>
matcher<T> captured(T& out) {
  return matcher<T>("anything", [](const T&) { return true; }).into(out);
}

}  // namespace portask::testing

/// with(_, WHERE(publish_result, r, r.base_offset == 5)): a matcher named after its test.
#define WHERE(T, x, ...) \
  ::portask::testing::matcher<T>(#__VA_ARGS__, [&](const T& x) { return bool(__VA_ARGS__); })

namespace portask::testing {

/// CAF's settings for the test scheduler plus Portask's error category, so failures render
/// as "portask:timeout" rather than as numbers.
struct dsl_config : caf::actor_system_config {
  dsl_config() { configure_actor_system(*this); }
};

/// `n` messages for `tp`, with timestamps (the bridge stamps a 0 with the wall clock).
inline publish_batch records(const topic_partition& tp, int n) {
  publish_batch pb;
  pb.tp = tp;
  for (int i = 0; i < n; ++i) {
    protocol::message m;
    m.value = "v" + std::to_string(i);
    m.timestamp_ms = 1000 + i;
    pb.batch.messages.push_back(std::move(m));
  }
  return pb;
}

/// Partitions never idle out (a written one still cools its tail after 30 s of the test
/// clock), groups form at once.
inline broker_config dsl_broker_config() {
  broker_config c;
  c.partition_idle_ms = 0;
  c.group_initial_rebalance_delay_ms = 0;
  return c;
}

/// A broker_context and an actor directory holding a mock writer, reader, registry and
/// bridge (one each), which tests hand to the real actors they spawn (and track()).
class dsl_fixture : public test_coordinator_fixture<dsl_config> {
 public:
  dsl_fixture()
      : ctx(std::make_shared<broker_context>(dsl_broker_config(), storage::memory_store::factory(),
                                             "mock")) {
    writer = track(spawn_mock_storage_writer(sys, writer_script));
    reader = track(spawn_mock_storage_reader(sys, reader_script));
    registry = track(spawn_mock_topic_registry(sys, registry_script));
    bridge_mock = track(spawn_mock_protocol_bridge(sys, bridge_script));
    dir.writers = {writer};
    dir.readers = {reader};
    dir.registry = registry;
    dir.bridges = {bridge_mock};
    sched.run();  // the mocks start; none has a message yet
  }

  ~dsl_fixture() override {
    // Every actor stops before the system does: the system waits for its actors on shutdown,
    // and coordinators and parked fetches keep timers (so also strong references) pending.
    for (const auto& a : spawned_) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }

  /// Stopped with the fixture.
  template <class Handle>
  Handle track(Handle h) {
    spawned_.push_back(caf::actor_cast<caf::actor>(h));
    return h;
  }

  std::shared_ptr<broker_context> ctx;
  actor_directory dir;

  std::shared_ptr<storage_writer_script> writer_script = std::make_shared<storage_writer_script>();
  std::shared_ptr<storage_reader_script> reader_script = std::make_shared<storage_reader_script>();
  std::shared_ptr<topic_registry_script> registry_script =
      std::make_shared<topic_registry_script>();
  std::shared_ptr<protocol_bridge_script> bridge_script =
      std::make_shared<protocol_bridge_script>();

  storage_writer_actor writer;
  storage_reader_actor reader;
  topic_registry_actor registry;
  protocol_bridge_actor bridge_mock;

 private:
  std::vector<caf::actor> spawned_;
};

}  // namespace portask::testing
