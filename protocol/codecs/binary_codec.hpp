#pragma once

#include <cstdint>
/// Portask's own compact batch encoding (codec id 0, the default). Varint-based and
/// delta-encoded like Kafka's RecordBatch, so a 100-byte message costs about 110 bytes.
/// The byte layout is specified in docs/protocol.md ("Binary codec").

#include "protocol/codec.hpp"

namespace portask::protocol {

/// What a look over a binary payload found, without building its messages: enough for a
/// broker to store the batch as it came under a header of its own (binary_codec::rebase).
struct binary_batch_scan {
  std::uint32_t count = 0;
  std::size_t messages_at = 0;  ///< offset of the first message in the payload
  std::int64_t base_timestamp_ms = 0;
  /// The largest message timestamp: negative when every one is (records without a
  /// timestamp, Kafka's -1), which a broker tells from a Kafka record stamped 0.
  std::int64_t max_timestamp_ms = 0;
  bool timestamps_unset = false;  ///< every message's timestamp is 0
  bool expiring = false;          ///< some message carries an expiry (expires_at_ms)
  bool keyless = false;           ///< some message has no key (a compacted topic refuses it)
  /// There are messages; each inherits the header's topic and partition and has the base
  /// offset; every timestamp is set (not 0) or none is; and the bytes are as encode() writes
  /// them (shortest varints, the first message's timestamp as the base). The messages'
  /// bytes under a new header are then exactly what encoding the normalised batch gives.
  bool rebasable = false;
  std::uint64_t headers = 0;  ///< every message's headers, together
  friend bool operator==(const binary_batch_scan&, const binary_batch_scan&) = default;
};

class binary_codec final : public codec {
 public:
  static constexpr std::uint8_t format_version = 1;
  /// decode() builds at most `max_decoded` bytes of message and header structures (beyond
  /// their bytes): an empty message is 6 bytes on the wire and far more decoded, an empty
  /// header 2. Past it: decompressed_too_large, before the structures are allocated.
  explicit binary_codec(std::size_t max_decoded = SIZE_MAX) noexcept : max_decoded_(max_decoded) {}
  codec_id id() const noexcept override { return codec_id::binary; }
  std::error_code encode(const message_batch& batch, buffer& out) const override;
  expected<message_batch> decode(byte_view in) const override;

  /// Checks a payload as decode() does (a payload scans without error exactly when it
  /// decodes) and measures it, copying nothing.
  static expected<binary_batch_scan> scan(byte_view in) noexcept;
  /// What decoding a payload scanned as `s` builds beyond its bytes (decode()'s bound).
  static std::uint64_t decoded_structures(const binary_batch_scan& s) noexcept {
    return std::uint64_t{s.count} * sizeof(message) + s.headers * sizeof(message_header);
  }
  /// Appends `in` (scanned as `s`, which must be rebasable) with a new header: the same
  /// messages, now of `topic`/`partition`, at `base_offset`, and with `base_timestamp_ms`
  /// as the base the timestamps' deltas apply to.
  static void rebase(byte_view in, const binary_batch_scan& s, std::string_view topic,
                     std::int32_t partition, std::int64_t base_offset,
                     std::int64_t base_timestamp_ms, buffer& out);
  /// Appends the messages of `in` (scanned as `s`) with their timestamps as deltas from
  /// `base_timestamp_ms`: the messages continue a batch whose header has that base. Every
  /// message keeps its instant and the rest of its bytes. False if `in` does not hold `s`.
  static bool append_messages(byte_view in, const binary_batch_scan& s,
                              std::int64_t base_timestamp_ms, buffer& out);
  /// Appends just the new header rebase() writes (the messages would follow it).
  static void write_header(const binary_batch_scan& s, std::string_view topic,
                           std::int32_t partition, std::int64_t base_offset,
                           std::int64_t base_timestamp_ms, buffer& out);

 private:
  std::size_t max_decoded_;
};

}  // namespace portask::protocol
