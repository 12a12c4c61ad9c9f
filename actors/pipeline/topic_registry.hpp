#pragma once
/// The topic registry: topic metadata (persisted in the store) and the partition actors,
/// spawned on first use and linked to the registry. The registry never calls the store
/// itself: every read of the topic list (at start, and in a cluster on a miss) and every
/// write of a topic's record (its creation, auto-created by a publish or asked for; growing,
/// configuring and deleting it) goes to a linked topic_store_actor while the registry goes
/// on answering. Lookups of a topic being created, or waiting for a read, wait for it;
/// changes of one topic go one at a time; nothing else waits. A write whose outcome is
/// unknown (the store's call failed after it may have run) is settled by reading the topics
/// back (again, later each time, while the store is down) before its asker hears: the topic
/// stays as while the write was out until then, so the registry never serves a view the
/// store contradicts. Describing a topic starts none of its partitions.

#include "actors/runtime/broker_context.hpp"

namespace portask {

/// `dir`: the bridges, readers and writers (passed on to its partitions) and the cluster
/// actor; replaced by directory updates. The registry runs on the scheduler; its topic store
/// on a thread of its own, or with `own_thread` false on the scheduler too, for tests on
/// CAF's deterministic one (its store calls then block a worker).
topic_registry_actor spawn_topic_registry(caf::actor_system& sys,
                                          std::shared_ptr<broker_context> ctx,
                                          actor_directory dir, bool own_thread = true);

}  // namespace portask
