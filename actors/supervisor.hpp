#pragma once
/// The supervisor: spawns the broker's long-lived actors (storage writers and readers,
/// bridge shards, the topic registry, hooks), monitors them, and restarts any that exits
/// abnormally, with backoff, updating the broker_context directory. Requests in flight to a
/// dead actor fail with a retriable error (not_ready); nothing is silently dropped.
/// It also pings the store every second so /health reflects the store's state.

#include "actors/broker_context.hpp"

namespace portask {

struct runtime_sizes {
  std::size_t writers = 2;
  std::size_t readers = 2;
  std::size_t bridges = 2;
};

/// Spawns the supervisor; returns once every child is spawned and registered in `ctx`.
caf::actor spawn_supervisor(caf::actor_system& sys, std::shared_ptr<broker_context> ctx,
                            runtime_sizes sizes);

}  // namespace portask
