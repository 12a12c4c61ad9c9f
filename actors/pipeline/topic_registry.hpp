#pragma once
/// The topic registry: topic metadata (persisted in the store) and the partition actors,
/// spawned on first use and linked to the registry. Detached: topic admin calls the store
/// synchronously; it is off the hot path (bridges cache partition handles).

#include "actors/runtime/broker_context.hpp"

namespace portask {

/// `dir`: the bridges, readers and writers (passed on to its partitions) and the cluster
/// actor; replaced by directory updates. `own_thread` false runs it on the scheduler, for
/// tests on CAF's deterministic one (its store calls then block a worker).
topic_registry_actor spawn_topic_registry(caf::actor_system& sys,
                                          std::shared_ptr<broker_context> ctx,
                                          actor_directory dir, bool own_thread = true);

}  // namespace portask
