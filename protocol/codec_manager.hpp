#pragma once
/// CodecManager: the one place that knows every codec and compressor. It turns a batch into
/// a self-describing payload (codec + compression recorded in the frame flags) and back.
/// Built once at startup and shared read-only by every thread (no locks: lookups are array
/// indexing, codecs are stateless).

#include <array>
#include <memory>
#include <optional>
#include <string_view>

#include "protocol/codec.hpp"
#include "protocol/codecs/binary_codec.hpp"
#include "protocol/frame.hpp"

namespace portask::protocol {

/// How a payload is (to be) encoded.
struct encoding {
  codec_id codec = codec_id::binary;
  compression_id compression = compression_id::none;
  friend bool operator==(const encoding&, const encoding&) = default;
};

/// Frame flag bits recording `e` (compressed bit, codec and compression ids).
std::uint16_t flags_for(encoding e) noexcept;
/// Reads the encoding back from frame flags; errors for unknown ids or inconsistent bits.
expected<encoding> encoding_of(std::uint16_t flags) noexcept;

class codec_manager {
 public:
  /// Registers the built-in codecs (binary, json, cbor, msgpack) and compressors (gzip,
  /// snappy, lz4, zstd). `max_payload` bounds every payload: encoded frames and decompressed bodies.
  explicit codec_manager(std::size_t max_payload = default_max_frame_payload);
  ~codec_manager();
  codec_manager(const codec_manager&) = delete;
  codec_manager& operator=(const codec_manager&) = delete;

  const codec* find(codec_id id) const noexcept;
  const compressor* find(compression_id id) const noexcept;

  /// Appends the payload for `batch` to `out` and returns the flag bits that describe it
  /// (the batch bit included). frame_too_large (nothing appended) when the payload before
  /// compression exceeds the payload bound: decode() inflates no more than that, so whatever
  /// is encoded can be decoded.
  expected<std::uint16_t> encode(const message_batch& batch, encoding e, buffer& out) const;
  /// Decodes a payload whose encoding is given by the frame flags.
  expected<message_batch> decode(std::uint16_t flags, byte_view payload) const;
  /// decode(), for a batch a client sent: bounded by what it takes decoded as well
  /// (decompressed_too_large past four times the payload bound), since a few bytes of wire
  /// (empty messages, empty headers, structured values) take a hundred or more decoded.
  /// Stored batches, which got in through here or are kept as sent, decode with decode().
  expected<message_batch> decode_received(std::uint16_t flags, byte_view payload) const;
  /// decode_received's bound on the message and header structures one batch builds.
  std::size_t max_decoded_bytes() const noexcept { return 4 * max_payload_; }

  /// Appends a whole frame (header with CRC32, then the encoded batch) to `out`; the payload
  /// must fit the bound both compressed and before compression (frame_too_large).
  std::error_code append_batch_frame(const message_batch& batch, encoding e, message_type type,
                                     buffer& out) const;
  /// Appends a whole frame (binary, uncompressed) holding the binary payload `payload`,
  /// scanned as `s` (rebasable), under a new header: binary_codec::rebase.
  std::error_code append_rebased_frame(byte_view payload, const binary_batch_scan& s,
                                       std::string_view topic, std::int32_t partition,
                                       std::int64_t base_offset, std::int64_t base_timestamp_ms,
                                       message_type type, buffer& out) const;
  /// The same frame built in place: `bytes` holds the scanned payload from `payload_at` to
  /// its end, and the frame's header and the payload's new header are written into the bytes
  /// just before the messages. Returns where the frame starts in `bytes` (it runs to the
  /// end), or nothing when those bytes are too few (the caller copies instead).
  expected<std::optional<std::size_t>> rebase_frame_in_place(
      buffer& bytes, std::size_t payload_at, const binary_batch_scan& s, std::string_view topic,
      std::int32_t partition, std::int64_t base_offset, std::int64_t base_timestamp_ms,
      message_type type) const;

 private:
  expected<message_batch> decode_with(const codec* c, encoding e, byte_view payload) const;
  std::array<std::unique_ptr<codec>, 16> codecs_;
  /// The same codecs, bounded decoded (decode_received).
  std::array<std::unique_ptr<codec>, 16> bounded_codecs_;
  std::array<std::unique_ptr<compressor>, 16> compressors_;
  std::size_t max_payload_;
};

}  // namespace portask::protocol
