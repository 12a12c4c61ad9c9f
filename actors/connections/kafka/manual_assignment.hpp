#pragma once
/// Kafka's checks of a manual partition assignment (its controller's
/// validateManualPartitionAssignment), which CreateTopics and CreatePartitions share: why one
/// partition's replica list is refused (INVALID_REPLICA_ASSIGNMENT, Kafka's sentences word for
/// word), or nothing. A single node registers itself alone; in a Portask cluster leases place
/// partitions and no assignment is taken.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "actors/cluster/cluster_view.hpp"

namespace portask::kafka {

/// `replication_factor`: the replicas every partition has already (CreatePartitions: the
/// topic's), which a new one must match; none where nothing fixes it yet.
inline std::optional<std::string> manual_assignment_problem(
    const std::vector<std::int32_t>& broker_ids, const cluster_view& cluster,
    std::optional<std::size_t> replication_factor = std::nullopt) {
  if (broker_ids.empty()) return "The manual partition assignment includes an empty replica list.";
  if (cluster.clustered) return "in a Portask cluster partitions are placed by leases, not by assignment";
  // As Kafka: in ascending order, each broker checked for being registered, then for being
  // named twice; the replica count last.
  auto sorted = broker_ids;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (sorted[i] != cluster.self)
      return "The manual partition assignment includes broker " + std::to_string(sorted[i]) +
             ", but no such broker is registered.";
    if (i > 0 && sorted[i] == sorted[i - 1])
      return "The manual partition assignment includes the broker " + std::to_string(sorted[i]) +
             " more than once.";
  }
  if (replication_factor && sorted.size() != *replication_factor)
    return "The manual partition assignment includes a partition with " + std::to_string(sorted.size()) +
           " replica(s), but this is not consistent with previous partitions, which have " +
           std::to_string(*replication_factor) + " replica(s).";
  return std::nullopt;
}

}  // namespace portask::kafka
