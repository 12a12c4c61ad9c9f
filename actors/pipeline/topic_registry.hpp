#pragma once
/// The topic registry: topic metadata (persisted in the store) and the partition actors,
/// spawned on first use and linked to the registry. Detached: topic admin calls the store
/// synchronously; it is off the hot path (bridges cache partition handles).

#include "actors/runtime/broker_context.hpp"

namespace portask {

topic_registry_actor spawn_topic_registry(caf::actor_system& sys,
                                          std::shared_ptr<broker_context> ctx);

}  // namespace portask
