#pragma once
/// The topic registry: topic metadata (persisted in the store) and the partition actors,
/// spawned on first use and linked to the registry. Every write of a topic's record (its
/// creation, auto-created by a publish or asked for; growing, configuring and deleting it)
/// goes to a linked topic_store_actor while the registry goes on answering: lookups of a
/// topic being created wait for it, and changes of one topic go one at a time, nothing else
/// waits. Reading the topic list (at start, and in a cluster on a miss) still calls the store
/// from the registry's own thread.

#include "actors/runtime/broker_context.hpp"

namespace portask {

/// `dir`: the bridges, readers and writers (passed on to its partitions) and the cluster
/// actor; replaced by directory updates. `own_thread` false runs it on the scheduler, for
/// tests on CAF's deterministic one (its store calls, and its topic store's, then block a
/// worker).
topic_registry_actor spawn_topic_registry(caf::actor_system& sys,
                                          std::shared_ptr<broker_context> ctx,
                                          actor_directory dir, bool own_thread = true);

}  // namespace portask
