#pragma once
/// Kafka's message sets of magic 0 and 1, the formats before RecordBatch: what Produce v0-2
/// carries and Fetch v0-3 returns (clients of Kafka 0.8-0.10 still speak them).
///
///   offset i64 | messageSize i32 | crc u32 | magic i8 | attributes i8 |
///   [timestamp i64, magic 1 only] | key bytes (i32 length, -1 null) | value bytes
///
/// The CRC is CRC-32 (IEEE) over magic..end. Attributes bits 0-2 name a compression (1 gzip,
/// 2 snappy, 3 lz4); a compressed message's value is a whole message set, the "inner"
/// messages. Bit 3 (magic 1) says the timestamp is the broker's append time. No headers.

#include <cstdint>
#include <optional>
#include <string>

#include "protocol/bytes.hpp"
#include "protocol/expected.hpp"
#include "protocol/kafka/batch_compression.hpp"
#include "protocol/message.hpp"

namespace portask::protocol::kafka {

/// The magic a message set carries in Produce/Fetch version `v` (v0-1: 0, v2-3: 1).
inline constexpr std::int8_t message_set_magic(std::int16_t v) noexcept { return v >= 2 ? 1 : 0; }

/// Appends every message of the set `in` to `out` (topic on the first message only, as in
/// message_batch), inner messages of compressed ones in order, decompressing at most
/// `max_decompressed` bytes per wrapper. Timestamps as Kafka appends them to a CreateTime
/// topic: a magic-1 message keeps the producer's timestamp, whatever it is, 0 and -1
/// included, also when marked with log append time; the inner messages of a wrapper so
/// marked take the wrapper's. Magic 0, which has no timestamp (where Kafka stores -1,
/// NO_TIMESTAMP), gets `append_time_ms`, the broker's clock. Every message must be whole
/// and pass its CRC: truncated (also a size under 14 or a magic outside 0-2, which Kafka
/// finds corrupt) / crc_mismatch / malformed_payload (among others, a wrapper's inner
/// message of another magic than the wrapper's, which Kafka refuses), and `out` is left as it
/// was. A RecordBatch (magic 2) among the messages is unsupported_version, once it and every
/// message after it have passed their checksums (crc_mismatch otherwise: Kafka checks them
/// all before it refuses the mix). A set mixing magics 0 and 1 reads (see mixed_magics). An
/// lz4 wrapper of magic 0 is read whatever its frame's header checksum says, as Kafka reads
/// it (KAFKA-3160: clients of that magic computed it wrongly). Returns the message count.
expected<std::size_t> decode_message_set_into(byte_view in, const std::string& topic,
                                              std::int32_t partition, std::int64_t append_time_ms,
                                              message_batch& out,
                                              std::size_t max_decompressed = 16u << 20);
/// The same, charging what it inflates to `budget` (one request's).
expected<std::size_t> decode_message_set_into(byte_view in, const std::string& topic,
                                              std::int32_t partition, std::int64_t append_time_ms,
                                              message_batch& out, decompression_budget& budget);

/// Whether the set holds a compressed wrapper beside other messages, which Kafka's broker
/// refuses from a producer (LogValidator: "Compressed outer record has more than one
/// batch"); uncompressed messages may be many. Reads the outer messages' headers only, of a
/// set decode_message_set_into has read without error.
bool compressed_beside_others(byte_view in) noexcept;

/// The magic of a set's first message and of the first message after it with another (a
/// RecordBatch's, 2, too), which Kafka's broker refuses from a producer
/// (LogValidator.validateBatch: "Batch magic 1 is not the same as the first batch's magic
/// byte 0", INVALID_RECORD). Reads the outer messages' headers only (the size at 8, the magic
/// at 16, as Kafka frames every magic), up to the first that is not whole or that Kafka finds
/// corrupt (a size under 14, a magic outside 0-2: never reported).
struct magic_mix {
  std::int8_t first = 0;
  std::int8_t other = 0;
};
std::optional<magic_mix> mixed_magics(byte_view in) noexcept;

/// Appends `messages` as uncompressed messages of `magic` at offsets base_offset + i:
/// Fetch v0-3's down-conversion. Magic 0 has no timestamps, neither magic has headers.
void encode_message_set(const message_batch& messages, std::int64_t base_offset, std::int8_t magic,
                        buffer& out);

}  // namespace portask::protocol::kafka
