#pragma once
/// The topic registry: topic metadata (persisted in the store) and the partition actors,
/// spawned on first use and linked to the registry. A topic's creation (auto-created by a
/// publish, or asked for) is written by a linked topic_store_actor while the registry goes on
/// answering; lookups of the topic being created wait for it. Growing, configuring and
/// deleting topics, and reading them (at start; in a cluster, on a miss), call the store
/// from the registry's own thread: admin requests, off the publish path.

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
