#pragma once
/// What a topic's configs ask of every append to its partitions. The registry keeps one per
/// topic, current with the topic's record, and shares it with the partition actors it starts,
/// so a change (AlterConfigs) applies to running partitions at once; they read it per append.

#include <atomic>
#include <cstdint>

namespace portask {

struct topic_write_rules {
  /// max.message.bytes (-1: none of its own; the broker's max_frame_bytes applies). A larger
  /// batch is refused frame_too_large: at 0, every batch, as Kafka refuses them.
  std::atomic<std::int64_t> max_batch_bytes{-1};
  /// cleanup.policy includes compact: every record needs a key, as Kafka's broker requires
  /// (compaction keeps the newest record of each key; it has nothing to keep one without).
  /// A batch with a keyless record is refused invalid_record.
  std::atomic<bool> keys_required{false};
  /// cleanup.policy includes delete: records may be deleted below an offset (DeleteRecords).
  /// A compact-only topic is shortened by compaction alone, as in Kafka, which refuses
  /// DeleteRecords on it (POLICY_VIOLATION; native policy_violation).
  std::atomic<bool> records_deletable{true};
};

}  // namespace portask
