#pragma once
/// What the group coordinators write to `__consumer_offsets`: every stored commit, every new
/// generation and every deletion, as Kafka's own records (protocol/kafka/offsets_topic.hpp),
/// so tools that follow groups by reading that topic (Burrow, kafka-consumer-groups
/// scripts) see them. The group store stays the source of truth; this is its mirror, written
/// through the ProtocolBridge like any other batch.

#include <vector>

#include "actors/groups/group_messages.hpp"
#include "actors/messages.hpp"

namespace portask {

/// The offsets topic's partition count: one, so a reader sees every group in one log.
inline constexpr std::int32_t offsets_topic_partitions = 1;

/// The topic as the broker creates it on first use: compacted, as in Kafka.
storage::topic_info offsets_topic_info();

/// One record per committed offset.
publish_batch commit_records(const std::string& group,
                             const std::vector<storage::group_offset>& offsets,
                             std::int64_t now_ms);
/// The group's membership at a new generation (or emptied).
publish_batch group_record(const group_description& g, std::int64_t now_ms);
/// Tombstones: for the offsets of `tps`, or for the whole group (its metadata and `tps`),
/// stamped `now_ms` (a Kafka record's timestamp is kept as given, 0 included).
publish_batch tombstones(const std::string& group, const std::vector<topic_partition>& tps,
                         bool whole_group, std::int64_t now_ms);

}  // namespace portask
