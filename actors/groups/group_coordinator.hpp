#pragma once
/// The actors of consumer groups: a directory that spawns one coordinator per group on first
/// use (linked to it, so a directory restart takes them along), and the coordinator, which
/// runs a consumer_group and keeps the group's offsets in the store.

#include "actors/runtime/broker_context.hpp"

namespace portask {

/// `dir`: the readers, bridges, registry and cluster actor (passed on to its coordinators;
/// replaced by directory updates).
group_directory_actor spawn_group_directory(caf::actor_system& sys,
                                            std::shared_ptr<broker_context> ctx,
                                            actor_directory dir);

}  // namespace portask
