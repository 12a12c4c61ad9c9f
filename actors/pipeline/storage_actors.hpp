#pragma once
/// The actors that do store I/O. Readers, and writers to a remote store, are spawned
/// `detached` (own thread), so a slow or dead store never blocks a CAF scheduler thread.

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

}  // namespace portask
