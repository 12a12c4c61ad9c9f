#pragma once
/// The supervisor: spawns the broker's long-lived actors (storage writers and readers,
/// bridge shards, the topic registry, hooks), monitors them, and restarts any that exits
/// abnormally, with backoff (restart_backoff.hpp), and hands a restarted child what it must
/// keep (the hooks' subscriptions). It owns the actor_directory (interfaces.hpp): after every
/// (re)spawn it sends the new directory to the children that find others through it and to
/// every actor that subscribed (connections, the cluster actor); they pass it on to the
/// actors they spawned (partitions, coordinators, native group members). Too many restarts in
/// a short time, of one kind (restart_intensity.hpp; bridges excepted), and it fails
/// itself: the broker then stops. Every restart counts in portask_actor_restarts_total; a
/// child that exits again soon after its restart is in a crash loop until it runs a while
/// (portask_actor_crash_loop, /health's crash_loop; supervisor.cpp, set_crash_loop).
/// Requests in flight to a dead actor fail with a retriable error (not_ready); nothing is
/// silently dropped.
/// It also pings the store every second through every reader, so /health reflects the
/// store's state; never a second ping to a reader while one is unanswered (supervisor.cpp,
/// ping_store).

#include <cstdint>
#include <functional>
#include <memory>
#include <variant>

#include "actors/pipeline/hooks.hpp"
#include "actors/runtime/broker_context.hpp"

namespace portask {

/// The long-lived actors the supervisor keeps running.
enum class child_kind : std::uint8_t { writer, reader, bridge, registry, groups, hooks, retention, security };

const char* to_string(child_kind k);

/// What a child held that must survive its restart, kept by the supervisor and handed to the
/// new incarnation. (Partitions and coordinators recover theirs from the store instead.)
struct kept_state {
  std::shared_ptr<hook_subscriptions> hooks = std::make_shared<hook_subscriptions>();
};

/// A spawned child by its interface. The supervisor records it in the directory's slot of
/// that interface and, when the interface takes directory_update (bridges, the registry,
/// the group directory, retention), sends it every change of the directory: the compiler,
/// not a cast, checks both.
using child_handle =
    std::variant<storage_writer_actor, storage_reader_actor, protocol_bridge_actor,
                 topic_registry_actor, group_directory_actor, hooks_actor, retention_actor,
                 security_actor>;

/// Spawns (or respawns) child `index` of a kind, given the directory as it is (without this
/// child, or with its predecessor), and returns its handle, which the supervisor records in
/// the directory, holds and monitors. The broker's factory spawns the real actors; actor
/// tests pass one that spawns mocks on the deterministic scheduler. A handle of another
/// interface than the kind's is refused (the supervisor fails at start).
using child_factory = std::function<child_handle(
    caf::actor_system&, const std::shared_ptr<broker_context>&, const actor_directory&,
    const kept_state&, child_kind, std::size_t)>;

/// The child as a directory follower when its interface takes directory_update; else null.
directory_follower_actor follower_of(const child_handle& h);

/// The real actors (storage_actors, protocol_bridge, topic_registry, ...).
child_factory broker_children();

struct runtime_sizes {
  std::size_t writers = 2;
  std::size_t readers = 2;
  std::size_t bridges = 2;  ///< the broker makes it the scheduler's worker count
};

/// Spawns the supervisor; returns once every child is spawned. Actors spawned later ask it
/// for the directory (directory), or subscribe to it with their follower handle.
supervisor_actor spawn_supervisor(caf::actor_system& sys, std::shared_ptr<broker_context> ctx,
                                  runtime_sizes sizes, child_factory make = broker_children());

}  // namespace portask
