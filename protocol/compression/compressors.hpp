#pragma once
/// The four compressors (ids 1-4). Each wraps the Debian library of the same name and bounds
/// decompressed output, so a small hostile body cannot expand without limit.
///   gzip   - zlib, RFC 1952 gzip stream
///   snappy - raw snappy block (the Kafka path adds xerial framing on top, elsewhere)
///   lz4    - LZ4 frame format (self-describing, checksummed)
///   zstd   - zstd frame

#include "protocol/codec.hpp"

namespace portask::protocol {

class gzip_compressor final : public compressor {
 public:
  compression_id id() const noexcept override { return compression_id::gzip; }
  std::error_code compress(byte_view in, buffer& out) const override;
  std::error_code decompress(byte_view in, buffer& out, std::size_t max_out) const override;
};

class snappy_compressor final : public compressor {
 public:
  compression_id id() const noexcept override { return compression_id::snappy; }
  std::error_code compress(byte_view in, buffer& out) const override;
  std::error_code decompress(byte_view in, buffer& out, std::size_t max_out) const override;
};

class lz4_compressor final : public compressor {
 public:
  compression_id id() const noexcept override { return compression_id::lz4; }
  std::error_code compress(byte_view in, buffer& out) const override;
  std::error_code decompress(byte_view in, buffer& out, std::size_t max_out) const override;
};

/// Sets the header checksum (HC) of the LZ4 frame starting `frame` to the one its frame
/// descriptor has. Kafka clients writing message sets of magic 0 computed it over the wrong
/// bytes (KAFKA-3160: the magic number included), and Kafka does not check it there, while
/// liblz4 always does. False, and `frame` unchanged, if it does not start with a descriptor
/// liblz4 itself writes (then the decoder refuses it as it would anyway).
bool lz4_fix_header_checksum(std::span<std::uint8_t> frame) noexcept;

class zstd_compressor final : public compressor {
 public:
  compression_id id() const noexcept override { return compression_id::zstd; }
  std::error_code compress(byte_view in, buffer& out) const override;
  std::error_code decompress(byte_view in, buffer& out, std::size_t max_out) const override;
};

/// How much a decompressor inflates next into, `produced` of `max_out` bytes made so far, in
/// steps of `chunk`: room for one byte past the limit, to tell a frame that ends at it from
/// one that goes on; left + 1 only where it cannot wrap (max_out may be SIZE_MAX).
inline std::size_t inflate_room(std::size_t max_out, std::size_t produced, std::size_t chunk) noexcept {
  const std::size_t left = max_out - produced;
  return left < chunk ? left + 1 : chunk;
}

}  // namespace portask::protocol
