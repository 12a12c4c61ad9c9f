#pragma once
/// The partition actor: a thin shell around partition_log. Runs on the CAF scheduler and
/// never blocks: store reads go to a storage_reader, writes to a storage_writer.

#include <atomic>
#include <cstdint>
#include <memory>

#include "actors/pipeline/topic_write_rules.hpp"
#include "actors/runtime/broker_context.hpp"

namespace portask {

/// `fence`: in a cluster, the partition's lease as this node holds it; every write carries
/// it, and the first one the store refuses for it (another node owns the partition now)
/// stops the partition. `dir`: its storage writer and readers (replaced by directory
/// updates, which its parent passes on). `owner`: the registry that routes requests to it;
/// an idle partition asks it before stopping, so that no request is caught in between
/// (without one, as in tests of the partition alone, it stops by itself). `rules`: what the
/// topic's configs ask of its appends, as the registry keeps them current (none: no limit of
/// the topic's own, keys optional).
partition_actor spawn_partition(caf::local_actor* parent, std::shared_ptr<broker_context> ctx,
                                actor_directory dir, topic_partition tp, std::string fence = {},
                                topic_registry_actor owner = {},
                                std::shared_ptr<const topic_write_rules> rules = {});

/// How long a partition retired because its lease moved waits for the store's answers before
/// it stops anyway (its producers then hear "unknown whether stored", its readers
/// not_ready): 8 s, or just past the store's own command timeout (store_timeout_ms) when that
/// is longer, so that the store's answer still comes in. What it sent goes under the lease it
/// lost, which the store refuses; the wait is bounded so that the lookups of its successor,
/// which wait for it to stop, are answered in time.
std::chrono::milliseconds retire_grace(const broker_config& config);

/// How long a partition waits for a storage reader's answer to a change of its log (a
/// deletion, a compaction, a producer snapshot), and, its topic deleted on a single node, for
/// every answer before it stops anyway, logging an error: 5 min, or 30 store timeouts when
/// that is longer. (In a cluster what it sent carries its lease, which the topic's deletion
/// removes from the store: it waits retire_grace, as when its lease moved.)
/// The storage actors answer every call (an error once the store's command times out), so
/// this only ends the wait for one that hangs, or that stopped with the call in hand (its
/// promise goes with it). A deleted topic's partition waits for all of them because a write,
/// deletion or producer snapshot it stopped without could land in a topic created again
/// under the name.
std::chrono::milliseconds store_call_last_resort(const broker_config& config);

/// How long a stopping broker waits for its partitions' producer snapshots (the registry's
/// snapshot request): 10 s, or two store timeouts when that is longer. Each is one store call,
/// the partitions sharing the storage readers; a store down takes a timeout, and the broker
/// then stops without the snapshots, which costs nothing but a longer rebuild (the log has
/// every batch).
std::chrono::milliseconds shutdown_snapshot_wait(const broker_config& config);

/// How long a partition lookup, or a topic's deletion, waits for the registry: the grace of a
/// retiring predecessor, then one store call's timeout at the registry's topic store (the
/// deletion itself, or a read of the topics the answer waits for), then 2 s (15 s by
/// default), so that the registry's answer (the successor, the deletion done) comes before
/// it runs out. Calls at the topic store take milliseconds while the store answers; one that
/// stalls the store for a whole timeout can make an answer that waits behind it (another
/// topic write, a second read, a change tried again, a deleted topic's partition waiting for
/// its storage actors) late: the asker hears a retriable timeout, and the change itself still
/// completes.
std::chrono::milliseconds registry_wait(const broker_config& config);

/// Asks the partition `tp` through its protocol bridge, the one entrance to partitions:
/// sends (atom, tp, args...) and calls `ok` with the answer or `fail` with the error. The
/// bridge never creates a topic for it, and resends a request that reached a partition which
/// had stopped (idle) to its successor.
template <class Self, class Ok, class Fail, class Atom, class... Ts>
void ask_partition(Self* self, const actor_directory& dir, const topic_partition& tp,
                   std::chrono::milliseconds timeout, Ok ok, Fail fail, Atom atom, Ts... args) {
  auto bridge = dir.bridge_for(tp);
  if (!bridge) {
    auto e = make_caf_error(errc::not_ready);
    return fail(e);
  }
  self->request(bridge, timeout, atom, tp, args...).then(ok, fail);
}

}  // namespace portask
