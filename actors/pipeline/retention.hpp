#pragma once
/// The retention actor: every log_retention_check_interval_ms it finds, per partition, the
/// batches past the topic's retention.ms / retention.bytes (or the broker's defaults) and has
/// the partition delete them (the same path as DeleteRecords). It runs detached with its own
/// store connection and reads only batch totals, so produce and fetch never wait on it. Each
/// pass also publishes what is stored (per topic) and the memory budgets' use to /metrics,
/// and names the consumer groups whose committed offsets may be past offsets_retention_ms to
/// the group directory, whose coordinators delete what has expired. Compacted partitions
/// found due are planned (compaction.hpp) on one-shot workers, at most two at a time, one per
/// partition, while its passes go on; each plan is handed to its partition to carry out.

#include <memory>

#include "actors/runtime/broker_context.hpp"

namespace portask {

/// The retention a topic's configs give, at `now_ms`, on a broker with `config`: nothing
/// for a topic whose cleanup.policy does not include "delete" (compacted topics keep
/// everything, as in Kafka).
storage::retention_limits retention_of(const storage::config_entries& topic_configs,
                                       const broker_config& config, std::int64_t now_ms);

/// `dir`: the registry and the bridges (replaced by directory updates). `own_thread`: false
/// runs it and its plans' workers on the scheduler (tests, on CAF's deterministic one).
retention_actor spawn_retention(caf::actor_system& sys, std::shared_ptr<broker_context> ctx,
                                actor_directory dir, bool own_thread = true);

}  // namespace portask
