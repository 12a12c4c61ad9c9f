#pragma once
/// What DescribeConfigs answers as a config's documentation when the client asks for it
/// (v3+, IncludeDocumentation): what the key means and what Portask does with it, so an
/// operator reading it in a Kafka tool learns which keys act and which are only kept.
/// docs/kafka.md ("Which topic configs act") says the same at length.

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace portask::kafka {

/// The documentation of a topic or broker config DescribeConfigs reports, or nothing for a
/// name it does not know.
inline std::optional<std::string> config_documentation(std::string_view name) {
  static constexpr std::string_view no_segments =
      "Accepted and reported for Kafka tools, not acted on: Portask stores and deletes whole "
      "batches, not segment files.";
  static constexpr std::pair<std::string_view, std::string_view> docs[] = {
      // Topic configs.
      {"cleanup.policy",
       "How old records go. 'delete' applies retention.ms and retention.bytes; 'compact' keeps "
       "only the newest record of each key (checked every log_retention_check_interval_ms), and "
       "alone exempts the topic from the two retentions. The newest batch of a partition is "
       "never compacted. A compacted topic refuses records without a key (INVALID_RECORD)."},
      {"compression.type",
       "How stored batches are compressed. Portask keeps and serves each batch as its producer "
       "compressed it, so only 'producer' is accepted."},
      {"delete.retention.ms",
       "How long a tombstone (a record with a null value) of a compacted topic stays after the "
       "compaction that first cleaned it, whatever its own timestamp; then compaction removes it. "
       "The count is kept in memory: a broker restart starts it again."},
      {"file.delete.delay.ms", no_segments},
      {"flush.messages",
       "Accepted and reported for Kafka tools, not acted on: the store decides when writes "
       "reach its disk."},
      {"flush.ms",
       "Accepted and reported for Kafka tools, not acted on: the store decides when writes "
       "reach its disk."},
      {"follower.replication.throttled.replicas",
       "Accepted and reported for Kafka tools, not acted on: a partition has one copy, in the "
       "store, so no replica fetches it."},
      {"index.interval.bytes", no_segments},
      {"leader.replication.throttled.replicas",
       "Accepted and reported for Kafka tools, not acted on: a partition has one copy, in the "
       "store, so no replica fetches it."},
      {"local.retention.bytes",
       "Accepted and reported for Kafka tools, not acted on: it bounds the local part of a "
       "tiered log, and Portask has no tiered storage (retention.bytes applies)."},
      {"local.retention.ms",
       "Accepted and reported for Kafka tools, not acted on: it bounds the local part of a "
       "tiered log, and Portask has no tiered storage (retention.ms applies)."},
      {"max.compaction.lag.ms",
       "The longest a compacted partition written since its last compaction waits for the next "
       "one, whatever min.cleanable.dirty.ratio says."},
      {"max.message.bytes",
       "The largest record batch the topic takes, as its producer sent it; a larger one is "
       "refused with MESSAGE_TOO_LARGE. Without an override, the broker's frame limit "
       "(max_frame_bytes)."},
      {"message.downconversion.enable",
       "Accepted and reported for Kafka tools: Portask always converts batches for clients of "
       "older message formats."},
      {"message.format.version",
       "Accepted and reported for Kafka tools, not acted on (Kafka 3.x brokers ignore it "
       "too): each Fetch is answered in the message format its version reads."},
      {"message.timestamp.after.max.ms",
       "How far ahead of the broker's clock a record's timestamp may be. Portask does not "
       "check timestamps, so only the default (no bound) is accepted."},
      {"message.timestamp.before.max.ms",
       "How far behind the broker's clock a record's timestamp may be. Portask does not check "
       "timestamps, so only the default (no bound) is accepted."},
      {"message.timestamp.difference.max.ms",
       "How far from the broker's clock a record's timestamp may be. Portask does not check "
       "timestamps, so only the default (no bound) is accepted."},
      {"message.timestamp.type",
       "Which time records carry. They keep the time their producer gave them, so only "
       "'CreateTime' is accepted."},
      {"min.cleanable.dirty.ratio",
       "A compacted partition is compacted once the bytes written since its last compaction "
       "reach this share of what it stores."},
      {"min.compaction.lag.ms",
       "How old a batch's records must all be (by timestamp) before compaction takes them."},
      {"min.insync.replicas",
       "Copies that must hold a write before acks=all is answered. A partition has one copy, "
       "in the store, so only 1 is accepted."},
      {"preallocate", no_segments},
      {"remote.storage.enable",
       "Whether the topic's log is tiered to remote storage. Portask has none, so only 'false' "
       "is accepted."},
      {"retention.bytes",
       "Per partition: the oldest batches go while the batches after them still hold at least "
       "this many bytes; a negative value means no limit. Without an override, the broker's "
       "log_retention_bytes."},
      {"retention.ms",
       "A batch goes once it and every batch before it are older than this, by their newest "
       "record's timestamp; -1 keeps everything. Without an override, the broker's "
       "log_retention_ms."},
      {"segment.bytes", no_segments},
      {"segment.index.bytes", no_segments},
      {"segment.jitter.ms", no_segments},
      {"segment.ms", no_segments},
      {"unclean.leader.election.enable",
       "Accepted and reported for Kafka tools, not acted on: a partition has one copy, in the "
       "store, so there is no replica to elect."},
      // Broker configs (read-only: they come from the config file and flags).
      {"broker.id", "This node's id: its cluster node_id, or 0 for a single node."},
      {"num.partitions", "Partitions of a topic created without a count (default_partitions)."},
      {"auto.create.topics.enable",
       "Whether a topic that is produced to or named in Metadata is created when it does not "
       "exist (auto_create_topics)."},
      {"message.max.bytes",
       "The largest request the broker reads (max_frame_bytes), and topics' max.message.bytes "
       "without an override."},
      {"advertised.listeners", "Where clients are told to reach this node's Kafka listeners."},
      {"default.replication.factor",
       "Copies of a new topic's partitions: always 1, the one the store holds."},
      {"offsets.topic.replication.factor",
       "Copies of committed offsets: always 1, the one the store holds."},
      {"log.retention.ms", "Topics' retention.ms without an override (log_retention_ms)."},
      {"log.retention.bytes", "Topics' retention.bytes without an override (log_retention_bytes)."},
      {"log.retention.check.interval.ms",
       "How often retention runs (log_retention_check_interval_ms)."},
      {"offsets.retention.minutes",
       "How long the committed offsets of a group without members are kept "
       "(offsets_retention_ms, rounded up to minutes; -1: for ever)."},
  };
  for (const auto& [key, text] : docs)
    if (key == name) return std::string(text);
  return std::nullopt;
}

}  // namespace portask::kafka
