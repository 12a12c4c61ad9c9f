#pragma once
/// The actors that do store I/O. Readers, and writers to a remote store, are spawned
/// `detached` (own thread), so a slow or dead store never blocks a CAF scheduler thread; so
/// are the one-shot workers that take a long job off an actor (run_one_shot).

#include <functional>
#include <memory>
#include <optional>
#include <type_traits>

#include "actors/interfaces.hpp"
#include "actors/metrics/metrics.hpp"

namespace portask {

/// Spawns a writer with its own store instance (own connection), on a thread of its own when
/// the store's writes wait on I/O (broker_context::writes_wait_on_io), else on the scheduler.
/// The writer keeps the metrics it records into alive: it may finish a flush after the rest
/// of the broker is gone.
storage_writer_actor spawn_storage_writer(caf::actor_system& sys, const storage::store_factory& f,
                                          std::shared_ptr<metrics_registry> metrics,
                                          bool own_thread = true);

/// Spawns a reader with its own store instance.
storage_reader_actor spawn_storage_reader(caf::actor_system& sys, const storage::store_factory& f);

namespace detail {
/// A one-shot worker: asked once (compact_atom: its jobs are compactions' long store work),
/// it runs its job and answers true.
using one_shot_actor = caf::typed_actor<caf::replies_to<compact_atom>::with<bool>>;
one_shot_actor spawn_one_shot(caf::local_actor* owner, std::function<void()> job, bool own_thread);
}  // namespace detail

/// Runs `job(store)`, which blocks on the store for as long as it takes (a compaction's
/// steps, a plan's reads of a whole log), on a one-shot worker: an actor on a thread of its
/// own (on the scheduler when not `own_thread`: a store whose calls wait on no I/O) with a
/// store connection of its own from `factory`, so that `self` goes on with its other work
/// meanwhile. `done`, on `self`, gets what the job returned (an expected<T>), or an error
/// when the worker could not connect or stopped first. The worker stops once it has answered,
/// and with `self` (whose successor may start the same job again, and nobody would take the
/// answer): a job already running is not interrupted, but finishes first (or sooner, where it
/// watches a flag its owner sets on stopping: the retention actor's plans).
template <class Self, class Job, class Done>
void run_one_shot(Self* self, storage::store_factory factory, Job job, Done done,
                  bool own_thread = true) {
  using result = std::invoke_result_t<Job&, storage::log_store&>;
  // Filled on the worker, read here once it has answered (the answer orders the two).
  auto out = std::make_shared<std::optional<result>>();
  auto worker = detail::spawn_one_shot(
      self,
      [out, factory = std::move(factory), job = std::move(job)]() mutable {
        auto store = factory();
        if (store)
          out->emplace(job(**store));
        else
          out->emplace(store.error());
      },
      own_thread);
  self->request(worker, caf::infinite, compact_atom::value)
      .then(
          [=](bool) mutable {
            self->send_exit(worker, caf::exit_reason::user_shutdown);
            done(std::move(**out));
          },
          [=](caf::error& e) mutable {
            self->send_exit(worker, caf::exit_reason::user_shutdown);
            done(result{to_errc(e)});
          });
}

}  // namespace portask
