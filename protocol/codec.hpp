#pragma once
/// Codecs turn a message_batch into payload bytes and back; compressors shrink payload
/// bytes. Both are identified by small integer ids recorded in the frame flags, so a stored
/// frame says how to read it. The ids are wire constants.

#include <cstdint>
#include <optional>
#include <string_view>

#include "protocol/bytes.hpp"
#include "protocol/expected.hpp"
#include "protocol/message.hpp"

namespace portask::protocol {

enum class codec_id : std::uint8_t { binary = 0, json = 1, cbor = 2, msgpack = 3 };
enum class compression_id : std::uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

std::string_view to_string(codec_id id) noexcept;
std::string_view to_string(compression_id id) noexcept;
std::optional<codec_id> parse_codec(std::string_view name) noexcept;
std::optional<compression_id> parse_compression(std::string_view name) noexcept;

/// Encodes and decodes batches. Implementations are stateless and thread-safe.
class codec {
 public:
  virtual ~codec() = default;
  virtual codec_id id() const noexcept = 0;
  /// Appends the encoding of `batch` to `out`.
  virtual std::error_code encode(const message_batch& batch, buffer& out) const = 0;
  /// Decodes exactly `in` (trailing bytes are an error).
  virtual expected<message_batch> decode(byte_view in) const = 0;
};

/// Compresses and decompresses payload bytes. Stateless and thread-safe.
class compressor {
 public:
  virtual ~compressor() = default;
  virtual compression_id id() const noexcept = 0;
  /// Appends the compressed form of `in` to `out`.
  virtual std::error_code compress(byte_view in, buffer& out) const = 0;
  /// Appends the decompressed form of `in` to `out`; never writes more than `max_out`
  /// bytes (errc::decompressed_too_large), so a hostile body cannot exhaust memory.
  virtual std::error_code decompress(byte_view in, buffer& out, std::size_t max_out) const = 0;
};

}  // namespace portask::protocol
