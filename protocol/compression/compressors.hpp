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

class zstd_compressor final : public compressor {
 public:
  compression_id id() const noexcept override { return compression_id::zstd; }
  std::error_code compress(byte_view in, buffer& out) const override;
  std::error_code decompress(byte_view in, buffer& out, std::size_t max_out) const override;
};

}  // namespace portask::protocol
