#include <lz4frame.h>

#include <algorithm>

#include "protocol/compression/compressors.hpp"

namespace portask::protocol {

std::error_code lz4_compressor::compress(byte_view in, buffer& out) const {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.contentSize = in.size();  // recorded so readers can size their output
  const std::size_t start = out.size();
  const std::size_t bound = LZ4F_compressFrameBound(in.size(), &prefs);
  out.resize(start + bound);
  const std::size_t n = LZ4F_compressFrame(out.data() + start, bound, in.data(), in.size(), &prefs);
  if (LZ4F_isError(n)) {
    out.resize(start);
    return errc::compression_failed;
  }
  out.resize(start + n);
  return {};
}

std::error_code lz4_compressor::decompress(byte_view in, buffer& out, std::size_t max_out) const {
  LZ4F_dctx* ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION)))
    return errc::decompression_failed;
  const std::size_t start = out.size();
  const std::uint8_t* src = in.data();
  std::size_t src_left = in.size();
  std::error_code result;
  std::size_t hint = 1;
  while (hint != 0) {
    if (src_left == 0) {
      result = errc::decompression_failed;  // the frame did not end
      break;
    }
    const std::size_t produced = out.size() - start;
    const std::size_t room = std::min<std::size_t>(64 * 1024, max_out - produced + 1);
    const std::size_t pos = out.size();
    out.resize(pos + room);
    std::size_t dst_size = room;
    std::size_t src_size = src_left;
    hint = LZ4F_decompress(ctx, out.data() + pos, &dst_size, src, &src_size, nullptr);
    out.resize(pos + dst_size);
    if (LZ4F_isError(hint)) {
      result = errc::decompression_failed;
      break;
    }
    src += src_size;
    src_left -= src_size;
    if (out.size() - start > max_out) {
      result = errc::decompressed_too_large;
      break;
    }
    if (src_size == 0 && dst_size == 0 && hint != 0) {
      result = errc::decompression_failed;  // no progress possible
      break;
    }
  }
  if (!result && src_left != 0) result = errc::decompression_failed;  // trailing bytes
  LZ4F_freeDecompressionContext(ctx);
  if (result) out.resize(start);
  return result;
}

}  // namespace portask::protocol
