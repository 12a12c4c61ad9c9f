#pragma once
/// The compressions of Kafka's record batches and message sets (attributes bits 0-2), over
/// the four compressors. Snappy is written in the xerial framing Java clients expect and read
/// in either framing. Decompression is bounded by `max_out`.

#include <cstdint>
#include <system_error>

#include "protocol/bytes.hpp"

namespace portask::protocol::kafka {

enum class compression_type : std::uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

/// Replaces `out` with the decompressed `in` (at most `max_out` bytes).
std::error_code decompress(compression_type c, byte_view in, buffer& out, std::size_t max_out);
/// What one request may inflate: each decompression at most `per_batch` bytes and at most
/// what is `left`, which it then uses up. Past either: decompressed_too_large, before
/// inflating more than the limit.
struct decompression_budget {
  std::size_t per_batch;
  std::size_t left;
};
/// decompress() within (and charged to) `budget`.
std::error_code decompress(compression_type c, byte_view in, buffer& out,
                           decompression_budget& budget);
/// Charges `n` bytes of decoded structures (records, headers) to a request's budget (one of
/// SIZE_MAX left: not counted): a record is a few bytes on the wire and far more decoded.
/// Spent: false, and the budget is left empty, as decompress() leaves it.
inline bool charge(decompression_budget& budget, std::uint64_t n) noexcept {
  if (budget.left == SIZE_MAX) return true;
  if (n > budget.left) {
    budget.left = 0;
    return false;
  }
  budget.left -= static_cast<std::size_t>(n);
  return true;
}

/// Appends the compressed `in` to `out`.
std::error_code compress(compression_type c, byte_view in, buffer& out);

}  // namespace portask::protocol::kafka
