#pragma once
/// Kafka's RecordBatch (message format v2, "magic 2"): decode and encode, CRC-32C, the four
/// compressions, and the conversion to and from Portask's message model. No I/O.
///
///   baseOffset i64 | batchLength i32 | partitionLeaderEpoch i32 | magic i8 (2) | crc u32 |
///   attributes i16 | lastOffsetDelta i32 | baseTimestamp i64 | maxTimestamp i64 |
///   producerId i64 | producerEpoch i16 | baseSequence i32 | recordCount i32 | records...
///
/// The CRC-32C covers attributes..end; base offset and leader epoch lie outside it so a broker
/// can set them without recomputing. Attributes: bits 0-2 compression (0 none, 1 gzip,
/// 2 snappy, 3 lz4, 4 zstd), bit 3 timestamp type (log append time), bit 4 transactional,
/// bit 5 control batch.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/expected.hpp"
#include "protocol/gather_bytes.hpp"
#include "protocol/kafka/batch_compression.hpp"
#include "protocol/message.hpp"

namespace portask::protocol::kafka {

namespace batch_attributes {
inline constexpr std::int16_t compression_mask = 0x07;
inline constexpr std::int16_t log_append_time = 0x08;
inline constexpr std::int16_t transactional = 0x10;
inline constexpr std::int16_t control = 0x20;
}  // namespace batch_attributes

inline constexpr std::size_t record_batch_overhead = 61;  ///< header bytes before the records

struct record_header {
  std::string key;
  std::optional<std::string> value;
  friend bool operator==(const record_header&, const record_header&) = default;
};

struct record {
  std::int8_t attributes = 0;
  std::int64_t timestamp_delta = 0;
  std::int32_t offset_delta = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<record_header> headers;
  friend bool operator==(const record&, const record&) = default;
};

struct record_batch {
  std::int64_t base_offset = 0;
  std::int32_t partition_leader_epoch = -1;
  std::int16_t attributes = 0;
  std::int32_t last_offset_delta = 0;
  std::int64_t base_timestamp = 0;
  std::int64_t max_timestamp = 0;
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  std::int32_t base_sequence = -1;
  std::vector<record> records;

  compression_type compression() const noexcept {
    return static_cast<compression_type>(attributes & batch_attributes::compression_mask);
  }
  bool is_transactional() const noexcept { return attributes & batch_attributes::transactional; }
  bool is_control() const noexcept { return attributes & batch_attributes::control; }
  friend bool operator==(const record_batch&, const record_batch&) = default;
};

/// Decodes the batch at the start of `in`; `consumed` is set to its size. Checks Kafka's
/// framing of every format first, as far as `in` reaches (truncated: a length under 14 or a
/// magic outside 0-2, damaged bytes, Kafka's CORRUPT_MESSAGE), then the magic
/// (unsupported_version for 0 and 1, however short `in` is: a message of magic 0/1 can be
/// shorter than a v2 batch's header), the length (truncated / malformed_payload), the CRC-32C
/// (crc_mismatch), the header as Kafka checks a client's (invalid_record: see
/// read_batch_header), decompresses with at most `max_decompressed` bytes of output, and
/// parses every record (malformed_payload on any inconsistency, including a record count
/// that does not match the records).
expected<record_batch> decode_record_batch(byte_view in, std::size_t& consumed,
                                           std::size_t max_decompressed = 16u << 20);

/// The produce path's decode: checks and decompresses like decode_record_batch, but parses
/// the records straight into Portask messages appended to `out` (offsets base + delta,
/// absolute timestamps; the topic is named on `out`'s first message only, see
/// message_batch). Returns the batch's header fields with no records; on an error `out` is
/// left as it was.
expected<record_batch> decode_record_batch_into(byte_view in, std::size_t& consumed,
                                                const std::string& topic, std::int32_t partition,
                                                message_batch& out,
                                                std::size_t max_decompressed = 16u << 20);
/// The same, charging what it inflates to `budget` (one request's).
expected<record_batch> decode_record_batch_into(byte_view in, std::size_t& consumed,
                                                const std::string& topic, std::int32_t partition,
                                                message_batch& out, decompression_budget& budget);

/// Decodes every batch of a Produce request's records field (all must be whole).
expected<std::vector<record_batch>> decode_record_batches(byte_view in,
                                                          std::size_t max_decompressed = 16u << 20);
/// The same with decode_record_batch_into: every batch's records appended to `out`, the
/// batches' header fields returned (no records). On an error `out` keeps what the batches
/// before the bad one appended.
expected<std::vector<record_batch>> decode_record_batches_into(
    byte_view in, const std::string& topic, std::int32_t partition, message_batch& out,
    std::size_t max_decompressed = 16u << 20);
/// The same, charging what it inflates to `budget` (one request's).
expected<std::vector<record_batch>> decode_record_batches_into(
    byte_view in, const std::string& topic, std::int32_t partition, message_batch& out,
    decompression_budget& budget);

/// A batch's fixed part read into `header` (its records left empty) after checking magic,
/// length and CRC-32C; its records, inflated within `budget` if compressed (into `plain`),
/// are left in `records` and their count in `count`, and the batch's own bytes in `whole`.
/// What every reader of batches shares. Before anything is inflated, the header is held to
/// Kafka's rules for a batch a client produces (invalid_record): a record count above 0 and
/// equal to lastOffsetDelta + 1, and a base sequence of 0 or more wherever the producer id is.
std::error_code read_batch_header(byte_view in, decompression_budget& budget,
                                  record_batch& header, byte_view& whole, buffer& plain,
                                  byte_view& records, std::uint32_t& count);

/// A producer's batches (one partition's records of a Produce request) made, in place, what
/// Kafka appends to a topic of `message.timestamp.type` CreateTime, Portask's only type: a
/// batch marked with log append time (attributes bit 3, a broker's mark) is marked create
/// time and its CRC-32C computed again, so that its records keep their own timestamps
/// wherever they are read (Kafka's LogValidator, setMaxTimestamp(CREATE_TIME, ...); the max
/// timestamp stays as sent). A batch whose CRC-32C does not match is left as it came, for
/// the decode to refuse, and so is anything else that is not a whole v2 batch. Returns how
/// many whole batches (of any magic) the bytes hold, counted from their lengths and magic
/// bytes alone, as Kafka counts a Produce v3+ partition's batches before it checks a CRC or
/// reads a record (ProduceRequest.validateRecords), up to the first that is not whole or
/// whose length or magic no batch has: Produce refuses more than one unread.
std::size_t mark_create_time(std::span<std::uint8_t> batches);

/// Appends `batches` (v2 RecordBatches as a producer sent them, one after another) with
/// their offsets starting at `base_offset` (each batch's baseOffset is the previous one's
/// plus its lastOffsetDelta + 1) and partitionLeaderEpoch `leader_epoch`: fields outside
/// the CRC-32C, so nothing is re-encoded. Only each batch's first 16 bytes are written;
/// the rest is shared with `batches`, not copied (gather_bytes copies short batches). False
/// (and nothing appended) if the bytes are not whole v2 batches.
bool append_rebased(const shared_bytes& batches, std::int64_t base_offset,
                    std::int32_t leader_epoch, gather_bytes& out);

/// Appends the encoding of `batch` (compressed as its attributes say; snappy in the xerial
/// framing Java clients expect) with length and CRC-32C filled in. `last_offset_delta` and
/// the record count are taken from the records.
std::error_code encode_record_batch(const record_batch& batch, buffer& out);

/// Kafka records -> Portask messages (offsets base + delta, absolute timestamps).
message_batch to_messages(const record_batch& batch, const std::string& topic,
                          std::int32_t partition);
/// Portask messages (one stored batch) -> one uncompressed Kafka batch at `base_offset`.
record_batch from_messages(const message_batch& messages, std::int64_t base_offset);

}  // namespace portask::protocol::kafka
