#pragma once
/// The actors that do blocking store I/O. Both are spawned `detached` (own thread), so a
/// slow or dead store never blocks a CAF scheduler thread.

#include "actors/interfaces.hpp"
#include "actors/metrics/metrics.hpp"

namespace portask {

/// Spawns a writer with its own store instance (own connection). The writer keeps the
/// metrics it records into alive: it runs on its own thread and may finish a flush after the
/// rest of the broker is gone.
storage_writer_actor spawn_storage_writer(caf::actor_system& sys, const storage::store_factory& f,
                                          std::shared_ptr<metrics_registry> metrics);

/// Spawns a reader with its own store instance.
storage_reader_actor spawn_storage_reader(caf::actor_system& sys, const storage::store_factory& f);

}  // namespace portask
