#pragma once
/// A client's idea of a partition's leader epoch (KIP-320) against this node's, as Fetch,
/// ListOffsets and OffsetForLeaderEpoch check it: a stale epoch is FENCED_LEADER_EPOCH (the
/// client refreshes its metadata and finds the new leader), a newer one UNKNOWN_LEADER_EPOCH
/// (this node has not caught up with the lease yet; the client retries). The epoch is the
/// partition lease's in a cluster, 0 on a single node.

#include <cstdint>

#include "actors/connections/kafka/error_codes.hpp"

namespace portask::kafka {

/// Kafka's UNDEFINED_EPOCH / NO_PARTITION_LEADER_EPOCH: the client does not say, no check.
constexpr std::int32_t undefined_epoch = -1;

/// 0, or the error code for a client at epoch `theirs` while this node's is `current`.
inline std::int16_t check_current_epoch(std::int32_t theirs, std::int32_t current) {
  if (theirs == undefined_epoch || theirs == current) return 0;
  return static_cast<std::int16_t>(theirs < current ? error_code::fenced_leader_epoch
                                                    : error_code::unknown_leader_epoch);
}

}  // namespace portask::kafka
