#pragma once
/// The broker's CAF scheduling policy: CAF's work sharing (one central job queue, idle
/// workers parked on a condition variable), differing only in when it wakes a parked worker.
///
/// Work sharing wakes a parked worker for every job it queues. Most of our jobs are one
/// actor handing a message to the next (connection → bridge → partition → connection), sent
/// by a worker that is about to look for its next job anyway: waking the other worker for
/// it moves the work to another core through a futex wake and a context switch, which on our
/// two-core machines cost more than the hand-off itself (measured in docs/benchmarks.md,
/// "Fewer wake-ups": 6-10% of the broker's CPU per single-message publish).
///
/// So a job a worker queues into an empty queue wakes nobody: the worker takes it itself when
/// it is done. A parked worker is woken
///  - for a job queued from outside the scheduler (the socket thread, a store actor's
///    thread, a timer), as CAF does;
///  - when jobs wait behind the one just queued or just taken: that backlog is work for a
///    second core.
/// A job a worker queued waits for the rest of the job that worker is running: at most
/// max-throughput messages of one actor (configure_actor_system sets it), so handlers must
/// stay short, as they must anyway. The price: an actor on the scheduler must never block
/// waiting for another scheduled actor. None of ours does: the registry, store reads and
/// writes to a remote store run on detached actors; the memory store's writers, which run
/// here, wait only on its mutex, which no call holds for long or while waiting on an actor.
#include <caf/policy/unprofiled.hpp>
#include <caf/resumable.hpp>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>

namespace caf::scheduler {
class abstract_coordinator;
}

namespace portask {

class backlog_sharing : public caf::policy::unprofiled {
 public:
  struct coordinator_data {
    explicit coordinator_data(caf::scheduler::abstract_coordinator*) {}
    std::deque<caf::resumable*> queue;
    std::mutex lock;
    std::condition_variable cv;
    std::size_t parked = 0;  ///< workers waiting on cv
  };

  struct worker_data {
    explicit worker_data(caf::scheduler::abstract_coordinator*) {}
  };

  template <class Coordinator>
  void central_enqueue(Coordinator* self, caf::resumable* job) {
    push(d(self), job, true);
  }

  template <class Worker>
  void external_enqueue(Worker* self, caf::resumable* job) {
    push(d(self->parent()), job, true);
  }

  /// A worker hands a job on while it runs one: it takes the queue's front when it is done.
  template <class Worker>
  void internal_enqueue(Worker* self, caf::resumable* job) {
    push(d(self->parent()), job, false);
  }

  /// A job that used up its max-throughput goes to the back of the queue.
  template <class Worker>
  void resume_job_later(Worker* self, caf::resumable* job) {
    push(d(self->parent()), job, false);
  }

  template <class Worker>
  caf::resumable* dequeue(Worker* self) {
    auto& q = d(self->parent());
    std::unique_lock<std::mutex> guard(q.lock);
    while (q.queue.empty()) {
      ++q.parked;
      q.cv.wait(guard);
      --q.parked;
    }
    caf::resumable* job = q.queue.front();
    q.queue.pop_front();
    // Jobs still waiting behind this one would wait for it to finish: a parked worker
    // takes them now.
    if (!q.queue.empty() && q.parked > 0) q.cv.notify_one();
    return job;
  }

  template <class Worker, class UnaryFunction>
  void foreach_resumable(Worker*, UnaryFunction) {}

  /// At shutdown: the jobs still queued, for CAF to clean up.
  template <class Coordinator, class UnaryFunction>
  void foreach_central_resumable(Coordinator* self, UnaryFunction f) {
    auto& q = d(self);
    std::unique_lock<std::mutex> guard(q.lock);
    while (!q.queue.empty()) {
      caf::resumable* job = q.queue.front();
      q.queue.pop_front();
      f(job);
    }
  }

 private:
  static void push(coordinator_data& q, caf::resumable* job, bool from_outside) {
    std::unique_lock<std::mutex> guard(q.lock);
    const bool backlog = !q.queue.empty();
    q.queue.push_back(job);
    if ((from_outside || backlog) && q.parked > 0) q.cv.notify_one();
  }
};

}  // namespace portask
