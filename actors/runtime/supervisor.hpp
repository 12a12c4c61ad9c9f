#pragma once
/// The supervisor: spawns the broker's long-lived actors (storage writers and readers,
/// bridge shards, the topic registry, hooks), monitors them, and restarts any that exits
/// abnormally, with backoff (restart_backoff.hpp), updating the broker_context directory, and
/// hands a restarted child what it must keep (the hooks' subscriptions). Too many restarts in
/// a short time (restart_intensity.hpp) and it fails itself: the broker then stops. Requests
/// in flight to a dead actor fail with a retriable error (not_ready); nothing is silently
/// dropped.
/// It also pings the store every second so /health reflects the store's state.

#include "actors/runtime/broker_context.hpp"

namespace portask {

struct runtime_sizes {
  std::size_t writers = 2;
  std::size_t readers = 2;
  std::size_t bridges = 2;  ///< the broker makes it the scheduler's worker count
};

/// Spawns the supervisor; returns once every child is spawned and registered in `ctx`.
supervisor_actor spawn_supervisor(caf::actor_system& sys, std::shared_ptr<broker_context> ctx,
                                  runtime_sizes sizes);

}  // namespace portask
