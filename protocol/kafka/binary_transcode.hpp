#pragma once
/// Kafka RecordBatches (v2, uncompressed) written straight into the binary codec's encoding,
/// without building a message for each record. A Kafka producer's batch is stored in the
/// same frame a native client's batch would be: the decoding path parses every record into
/// a message (a string for each key, value and header) only for the binary codec to encode
/// those messages again; this walks the records once and writes each one's binary form.
///
/// The result is a binary batch exactly as a native client sends one (no topic, partition or
/// offset of the messages' own, shortest varints, the first timestamp as the base), so the
/// bridge frames it as it does a native batch kept encoded (binary_codec::rebase), and the
/// stored frame is byte for byte the one the decoding path gives. Anything this does not
/// cover goes to the decoding path, which then also reports any error: compressed batches,
/// malformed input, no records.

#include <optional>
#include <vector>

#include "protocol/codecs/binary_codec.hpp"
#include "protocol/kafka/record_batch.hpp"

namespace portask::protocol::kafka {

struct binary_transcoded {
  /// Each batch's header (records empty): what the idempotence claim reads.
  std::vector<record_batch> batches;
  /// What binary_codec::scan finds in the payload, but for two things, both because a Kafka
  /// record's 0 is a timestamp like any other (Kafka's "none" is -1), not the native
  /// protocol's unset one that the broker stamps: timestamps_unset is false even when every
  /// timestamp is 0 (scan says true), and a batch mixing 0 and other timestamps is rebasable
  /// (scan reports such a native payload as not rebasable: its unset ones need stamping).
  binary_batch_scan scan;
  /// Where the binary payload starts in the buffer; it runs to the end.
  std::size_t payload_at = 0;
  /// The producer's bytes say exactly what is stored: every batch's records at consecutive
  /// offsets from its base and filling its offset range (see publish_batch::kafka_view; a
  /// zstd batch, never served as sent, is never transcoded). Timestamps, whatever they are,
  /// are stored as sent.
  bool stored_as_sent = false;
};

/// Appends `room` bytes (for the headers of the frame the payload will be stored in), then
/// the binary payload of the records of `batches` (a Produce request's records for one
/// partition). Nothing (and `out` as it was) when the decoding path has to take them.
std::optional<binary_transcoded> transcode_to_binary(byte_view batches, std::size_t room,
                                                     buffer& out);

/// The other way, for Fetch: the messages of a binary payload (a stored frame's, not
/// compressed) appended to `out` as one uncompressed RecordBatch v2 at `base_offset`, with
/// `header`'s leader epoch and producer fields. Byte for byte what
/// encode_record_batch(from_messages(decode(payload), base_offset)) writes with those fields,
/// without a message, or a string per key, value and header, in between. The number of
/// messages; nothing (and `out` as it was) when the payload does not decode or holds no
/// message, which the decoding path then takes (and reports). `payload` must not lie in `out`.
std::optional<std::size_t> transcode_from_binary(byte_view payload, std::int64_t base_offset,
                                                 const record_batch& header, buffer& out);

}  // namespace portask::protocol::kafka
