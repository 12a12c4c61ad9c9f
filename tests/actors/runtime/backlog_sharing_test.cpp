// The broker's scheduling policy (actors/runtime/backlog_sharing.hpp): configure_actor_system
// installs it unless PORTASK_CAF_SCHEDULER names one of CAF's (and refuses other names, and
// counts it cannot use), and a job a worker hands on runs even while the worker's own actor
// never runs out of messages.
#include "actors/runtime/backlog_sharing.hpp"

#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <caf/policy/work_sharing.hpp>
#include <caf/scheduler/coordinator.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <optional>
#include <string>

#include "actors/interfaces.hpp"

using namespace portask;

namespace {

/// Sets an environment variable (PORTASK_CAF_SCHEDULER unless named) for one test and puts
/// the previous value back.
class scheduler_env {
 public:
  explicit scheduler_env(const char* value, const char* variable = "PORTASK_CAF_SCHEDULER")
      : name(variable) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~scheduler_env() {
    if (old_)
      ::setenv(name, old_->c_str(), 1);
    else
      ::unsetenv(name);
  }

 private:
  const char* name;
  std::optional<std::string> old_;
};

TEST(BacklogSharing, IsTheSchedulerUnlessCafsOwnIsAskedFor) {
  {
    scheduler_env env{nullptr};
    caf::actor_system_config cfg;
    configure_actor_system(cfg);
    caf::actor_system sys{cfg};
    EXPECT_NE(dynamic_cast<caf::scheduler::coordinator<backlog_sharing>*>(&sys.scheduler()),
              nullptr);
  }
  {
    scheduler_env env{"sharing"};
    caf::actor_system_config cfg;
    configure_actor_system(cfg);
    caf::actor_system sys{cfg};
    EXPECT_NE(dynamic_cast<caf::scheduler::coordinator<caf::policy::work_sharing>*>(
                  &sys.scheduler()),
              nullptr);
  }
  for (const char* count : {"0", "", "64x", "-1", "8589934592"}) {
    scheduler_env env{count, "PORTASK_CAF_MAX_THROUGHPUT"};
    caf::actor_system_config cfg;
    EXPECT_THROW(configure_actor_system(cfg), std::runtime_error) << "'" << count << "'";
  }
  {
    scheduler_env env{"fastest"};
    caf::actor_system_config cfg;
    try {
      configure_actor_system(cfg);
      ADD_FAILURE() << "an unknown policy was accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("PORTASK_CAF_SCHEDULER=fastest"), std::string::npos)
          << e.what();
    }
  }
}

// Actor A keeps itself busy by sending itself the next message; once the other worker is
// parked, A hands B a message (queued by A's worker, which wakes nobody). A's worker only
// comes back to the queue when A yields at the scheduler's max-throughput; then B must run,
// while A is still going.
TEST(BacklogSharing, AJobHandedOnRunsWhileTheActorThatQueuedItNeverRunsOutOfWork) {
  scheduler_env env{nullptr};
  // Declared before the actor system, which waits for A: A can still reach it should the
  // test give up waiting.
  std::promise<int> a_done;
  auto a_done_future = a_done.get_future();
  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  cfg.set("scheduler.max-threads", 2);
  caf::actor_system sys{cfg};

  constexpr int warm_up = 100'000;           // A's messages before it hands B one
  constexpr int give_up_after = 20'000'000;  // A's bound: B never ran
  auto a_progress = std::make_shared<std::atomic<int>>(0);
  auto b_saw = std::make_shared<std::atomic<int>>(-1);

  using counter = std::shared_ptr<std::atomic<int>>;
  // State travels as spawn arguments: CAF 0.17 dereferences a null argument tuple when a
  // function actor is spawned without any.
  auto b = sys.spawn(
      [](caf::event_based_actor*, counter progress, counter saw) -> caf::behavior {
        return {[=](int) { saw->store(progress->load()); }};
      },
      a_progress, b_saw);
  auto a = sys.spawn(
      [](caf::event_based_actor* self, caf::actor next, counter progress, counter saw,
         std::promise<int>* done) -> caf::behavior {
        return {
            [=](const std::string&) { self->send(self, 0); },
            [=](int n) {
              progress->store(n);
              // By now the other worker has long been parked: nothing else runs.
              if (n == warm_up) self->send(next, 1);
              if (saw->load() >= 0 || n >= give_up_after) {
                done->set_value(n);
                return;
              }
              self->send(self, n + 1);
            },
        };
      },
      b, a_progress, b_saw, &a_done);
  caf::anon_send(a, std::string("go"));
  const bool finished =
      a_done_future.wait_for(std::chrono::minutes(2)) == std::future_status::ready;
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  ASSERT_TRUE(finished) << "A neither saw B run nor reached its bound";
  EXPECT_GE(b_saw->load(), warm_up);
  EXPECT_LT(a_done_future.get(), give_up_after) << "B waited until A ran out of work";
}

}  // namespace
