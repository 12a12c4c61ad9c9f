#pragma once
/// The protocol-neutral message model. Every protocol's records (native publishes, Kafka
/// records, later AMQP) become these before they reach the bridge, and are rebuilt from
/// them on the way out, so what one protocol produced another can consume unchanged.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace portask::protocol {

/// One header: ordered key/value byte strings, as Kafka has them. The value may be null.
struct message_header {
  std::string key;
  std::optional<std::string> value;
  friend bool operator==(const message_header&, const message_header&) = default;
};

inline constexpr std::int64_t no_offset = -1;
inline constexpr std::int64_t no_expiry = 0;

struct message {
  std::uint64_t id = 0;           ///< producer-chosen id (0: none); echoed to consumers
  std::string topic;
  std::int32_t partition = 0;
  std::optional<std::string> key;    ///< null and empty are different (Kafka keeps both)
  std::optional<std::string> value;  ///< null is a tombstone
  std::vector<message_header> headers;
  std::int64_t timestamp_ms = 0;     ///< producer or broker time, ms since the epoch
  /// The application's own urgency mark (0 normal), carried to consumers unchanged: a
  /// partition delivers in offset order whatever it says.
  std::uint8_t priority = 0;
  /// Absolute expiry in the wire formats, 0 = never. The broker refuses a publish that sets
  /// it (nothing would drop the message then); codecs keep it for a round trip.
  std::int64_t expires_at_ms = no_expiry;
  std::int64_t offset = no_offset;   ///< assigned by the partition; -1 before that

  friend bool operator==(const message&, const message&) = default;
};

/// The unit of work through the pipeline: messages for (usually) one topic-partition.
/// A message with an empty topic belongs to the first message's topic: producers' batches
/// name it once instead of copying it into every message. Decoding fills every topic.
struct message_batch {
  std::vector<message> messages;
  friend bool operator==(const message_batch&, const message_batch&) = default;
};

/// An idempotent producer's claim on a batch, as its header names it (Kafka's producer id,
/// epoch and base sequence; the batch's record count gives its last sequence). Carried by the
/// native Publish and kept with every stored batch. id -1: no producer.
struct producer_claim {
  std::int64_t id = -1;
  std::int16_t epoch = -1;
  std::int32_t base_sequence = -1;
  bool present() const noexcept { return id >= 0; }
  friend bool operator==(const producer_claim&, const producer_claim&) = default;
};

}  // namespace portask::protocol
