#pragma once
/// The protocol-neutral message vocabulary of the runtime. Connection actors of every
/// protocol turn requests into these; nothing protocol-specific crosses the bridge.
/// All are plain structs (no CAF) so state classes can be unit-tested without a scheduler.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "protocol/codecs/binary_codec.hpp"
#include "protocol/message.hpp"
#include "storage/log_store.hpp"

namespace portask {

using storage::topic_partition;

/// Which protocol a request came in by; labels metrics and hook events. HTTP only reads
/// (the console's message browser), so only what goes out is counted under it.
enum class protocol_kind : std::uint8_t { portask = 0, kafka = 1, http = 2 };
inline const char* to_string(protocol_kind p) noexcept {
  switch (p) {
    case protocol_kind::portask: return "portask";
    case protocol_kind::kafka: return "kafka";
    case protocol_kind::http: break;
  }
  return "http";
}

/// An idempotent producer's claim on a batch: the partition appends it once, in sequence
/// order, and answers a resent batch with its first result. id -1: no claim.
struct producer_sequence {
  std::int64_t id = -1;
  std::int16_t epoch = -1;
  std::int32_t first_seq = -1;
  std::int32_t last_seq = -1;
  bool present() const noexcept { return id >= 0; }
  friend bool operator==(const producer_sequence&, const producer_sequence&) = default;
};

/// An idempotent producer a partition holds state for (Kafka's DescribeProducers): its
/// epoch, the last sequence of its last stored batch, and when it last wrote (wall clock).
struct producer_summary {
  std::int64_t id = -1;
  std::int16_t epoch = -1;
  std::int32_t last_sequence = -1;
  std::int64_t last_timestamp = -1;
  friend bool operator==(const producer_summary&, const producer_summary&) = default;
};

/// The partition a native client names to let the broker choose (unkeyed batches): its
/// connection picks one, round-robin, before the batch goes to a bridge.
inline constexpr std::int32_t any_partition = -1;

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
  /// The batch as a Kafka producer sent it (RecordBatch v2 bytes, offsets contiguous from
  /// 0), when its records are stored exactly as sent: the partition's tail keeps it so that
  /// Kafka fetches serve it as it came (compressed if it came compressed) instead of
  /// re-encoding the stored frame. Never stored; empty for everything else.
  protocol::shared_bytes kafka_view = {};
  /// A native batch that came in the store's own encoding (binary, uncompressed), checked
  /// and measured (encoded_scan) but not decoded: `batch` stays empty and the bridge frames
  /// these bytes under its own header instead of decoding and encoding every message again.
  /// `encoded` is the client's whole request frame, the batch from `encoded_at` to its end:
  /// the bytes before it are room in which the bridge writes the stored frame's headers.
  /// Empty for everything else.
  protocol::buffer encoded = {};
  std::size_t encoded_at = 0;
  protocol::binary_batch_scan encoded_scan = {};
  bool kept_encoded() const noexcept { return !encoded.empty(); }
  std::uint32_t record_count() const noexcept {
    return kept_encoded() ? encoded_scan.count : static_cast<std::uint32_t>(batch.messages.size());
  }
  friend bool operator==(const publish_batch&, const publish_batch&) = default;
};

struct publish_result {
  std::int32_t partition = 0;
  std::int64_t base_offset = 0;
  std::uint32_t count = 0;
  bool duplicate = false;  ///< an idempotent producer's resend, answered from memory
  std::int64_t log_start = 0;  ///< the partition's log start offset when it answered
  friend bool operator==(const publish_result&, const publish_result&) = default;
};

/// One publish of a group (several batches sent in one message, see the bridge's and the
/// partition's interfaces): its result, or the error it failed with.
struct publish_reply {
  errc error = errc::ok;
  publish_result result;
  friend bool operator==(const publish_reply&, const publish_reply&) = default;
};

/// Bridge -> partition: a batch framed into its stored form.
struct framed_batch {
  protocol::shared_bytes frame;
  std::uint32_t record_count = 0;
  std::int64_t max_timestamp = 0;
  producer_sequence producer = {};
  protocol::shared_bytes kafka_view = {};  ///< see publish_batch::kafka_view
  /// Some record has no key: a compacted topic's partition refuses the batch (invalid_record).
  bool keyless = false;
  friend bool operator==(const framed_batch&, const framed_batch&) = default;
};

/// Partition -> writer: batches with offsets assigned, to store in one round trip.
struct append_set {
  topic_partition tp;
  std::vector<storage::stored_batch> batches;
  /// In a cluster, the partition's lease as its writer holds it (storage::append_request).
  std::string fence = {};
  friend bool operator==(const append_set&, const append_set&) = default;
};

/// Writer -> partition: one result per batch of the append_set, in order.
struct append_outcome {
  std::vector<errc> results;
  friend bool operator==(const append_outcome&, const append_outcome&) = default;
};

/// Reader -> partition: what a partition recovers from the store before it serves.
struct partition_recovery {
  storage::partition_bounds bounds;
  storage::producer_history producers;
  friend bool operator==(const partition_recovery&, const partition_recovery&) = default;
};

/// Reader -> group coordinator: a group as the store holds it, what a coordinator that holds
/// nothing of its group describes it by (its metadata, and whether it has offsets at all).
struct stored_group {
  storage::group_metadata metadata;
  std::vector<storage::group_offset> offsets;
  friend bool operator==(const stored_group&, const stored_group&) = default;
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
  /// A long poll's id (broker_context::next_poll_id), so that its connection can cancel it
  /// (cancel_atom) when the request is answered otherwise or the connection ends; 0: none.
  std::uint64_t poll_id = 0;
  friend bool operator==(const fetch_request&, const fetch_request&) = default;
};

struct fetch_result {
  std::int32_t partition = 0;
  std::int64_t high_watermark = 0;
  std::int64_t log_start = 0;
  std::vector<storage::stored_batch> batches;
  /// For the first batches read from the tail: each one's publish_batch::kafka_view (may be
  /// empty); shorter than `batches` (or empty) when the rest have none.
  std::vector<protocol::shared_bytes> kafka_views = {};
  friend bool operator==(const fetch_result&, const fetch_result&) = default;
};

/// A topic with its current partition bounds.
struct topic_description {
  storage::topic_info info;
  std::vector<storage::partition_bounds> partitions;
  friend bool operator==(const topic_description&, const topic_description&) = default;
};

/// Hook events, delivered to every subscriber of their kind.
struct connect_event {
  protocol_kind protocol;
  std::string peer;
  friend bool operator==(const connect_event&, const connect_event&) = default;
};
struct disconnect_event {
  protocol_kind protocol;
  std::string peer;
  friend bool operator==(const disconnect_event&, const disconnect_event&) = default;
};
/// An HTTP request for the actor that answers it: the method's name ("GET", ...), the
/// target (path and query) and the body.
struct http_request {
  std::string method;
  std::string target;
  std::string body;
  friend bool operator==(const http_request&, const http_request&) = default;
};
struct message_event {
  protocol_kind protocol;
  topic_partition tp;
  std::int64_t base_offset;
  std::shared_ptr<const protocol::message_batch> batch;
  /// The batch by value: one received from another node is an equal copy, not the same one.
  friend bool operator==(const message_event& a, const message_event& b) {
    return a.protocol == b.protocol && a.tp == b.tp && a.base_offset == b.base_offset &&
           (a.batch == b.batch || (a.batch && b.batch && *a.batch == *b.batch));
  }
};

}  // namespace portask
