#pragma once
/// The protocol-neutral message vocabulary of the runtime. Connection actors of every
/// protocol turn requests into these; nothing protocol-specific crosses the bridge.
/// All are plain structs (no CAF) so state classes can be unit-tested without a scheduler.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "protocol/message.hpp"
#include "storage/log_store.hpp"

namespace portask {

using storage::topic_partition;

/// Which protocol a request came in by; labels metrics and hook events.
enum class protocol_kind : std::uint8_t { portask = 0, kafka = 1 };
inline const char* to_string(protocol_kind p) noexcept {
  return p == protocol_kind::portask ? "portask" : "kafka";
}

/// An idempotent producer's claim on a batch: the partition appends it once, in sequence
/// order, and answers a resent batch with its first result. id -1: no claim.
struct producer_sequence {
  std::int64_t id = -1;
  std::int16_t epoch = -1;
  std::int32_t first_seq = -1;
  std::int32_t last_seq = -1;
  bool present() const noexcept { return id >= 0; }
};

/// An idempotent producer a partition holds state for (Kafka's DescribeProducers): its
/// epoch, the last sequence of its last stored batch, and when it last wrote (wall clock).
struct producer_summary {
  std::int64_t id = -1;
  std::int16_t epoch = -1;
  std::int32_t last_sequence = -1;
  std::int64_t last_timestamp = -1;
};

/// Connection -> bridge: append these messages to one partition.
struct publish_batch {
  topic_partition tp;
  protocol::message_batch batch;
  protocol_kind source = protocol_kind::portask;
  bool auto_create = true;
  std::uint64_t wire_bytes = 0;  ///< size on the client's wire, for the bytes-in metric
  producer_sequence producer = {};
  /// Written by the broker itself (the offsets topic); client writes to internal topics are
  /// refused, and the broker's own are not counted as client traffic.
  bool internal = false;
};

struct publish_result {
  std::int32_t partition = 0;
  std::int64_t base_offset = 0;
  std::uint32_t count = 0;
  bool duplicate = false;  ///< an idempotent producer's resend, answered from memory
  std::int64_t log_start = 0;  ///< the partition's log start offset when it answered
};

/// Bridge -> partition: a batch framed into its stored form.
struct framed_batch {
  protocol::shared_bytes frame;
  std::uint32_t record_count = 0;
  std::int64_t max_timestamp = 0;
  producer_sequence producer = {};
};

/// Partition -> writer: batches with offsets assigned, to store in one round trip.
struct append_set {
  topic_partition tp;
  std::vector<storage::stored_batch> batches;
};

/// Writer -> partition: one result per batch of the append_set, in order.
struct append_outcome {
  std::vector<errc> results;
};

/// Reader -> partition: what a partition recovers from the store before it serves.
struct partition_recovery {
  storage::partition_bounds bounds;
  storage::producer_history producers;
};

struct fetch_request {
  topic_partition tp;
  std::int64_t offset = 0;
  std::uint32_t max_bytes = 1024 * 1024;
  std::uint32_t max_wait_ms = 0;
  protocol_kind source = protocol_kind::portask;
  /// A first batch larger than max_bytes still comes (Kafka's rule for a fetch's first
  /// batch); false when the answer must stay within max_bytes even if that means none.
  bool at_least_one_batch = true;
};

struct fetch_result {
  std::int32_t partition = 0;
  std::int64_t high_watermark = 0;
  std::int64_t log_start = 0;
  std::vector<storage::stored_batch> batches;
};

/// A topic with its current partition bounds.
struct topic_description {
  storage::topic_info info;
  std::vector<storage::partition_bounds> partitions;
};

/// Hook events, delivered to every subscriber of their kind.
struct connect_event {
  protocol_kind protocol;
  std::string peer;
};
struct disconnect_event {
  protocol_kind protocol;
  std::string peer;
};
struct message_event {
  protocol_kind protocol;
  topic_partition tp;
  std::int64_t base_offset;
  std::shared_ptr<const protocol::message_batch> batch;
};

}  // namespace portask
