#include <zstd.h>

#include <algorithm>

#include "protocol/compression/compressors.hpp"

namespace portask::protocol {
namespace {
constexpr int zstd_level = 3;
}

std::error_code zstd_compressor::compress(byte_view in, buffer& out) const {
  const std::size_t start = out.size();
  const std::size_t bound = ZSTD_compressBound(in.size());
  out.resize(start + bound);
  const std::size_t n = ZSTD_compress(out.data() + start, bound, in.data(), in.size(), zstd_level);
  if (ZSTD_isError(n)) {
    out.resize(start);
    return errc::compression_failed;
  }
  out.resize(start + n);
  return {};
}

std::error_code zstd_compressor::decompress(byte_view in, buffer& out, std::size_t max_out) const {
  // Streaming decompression: the frame's declared content size is not trusted.
  ZSTD_DStream* ds = ZSTD_createDStream();
  if (ds == nullptr) return errc::decompression_failed;
  ZSTD_initDStream(ds);
  const std::size_t start = out.size();
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  std::error_code result;
  std::size_t rc = 1;
  while (rc != 0) {
    const std::size_t produced = out.size() - start;
    const std::size_t room = std::min<std::size_t>(ZSTD_DStreamOutSize(), max_out - produced + 1);
    const std::size_t pos = out.size();
    out.resize(pos + room);
    ZSTD_outBuffer dst{out.data() + pos, room, 0};
    rc = ZSTD_decompressStream(ds, &dst, &src);
    out.resize(pos + dst.pos);
    if (ZSTD_isError(rc)) {
      result = errc::decompression_failed;
      break;
    }
    if (out.size() - start > max_out) {
      result = errc::decompressed_too_large;
      break;
    }
    if (rc != 0 && src.pos == src.size && dst.pos < room) {
      result = errc::decompression_failed;  // input ended inside the frame
      break;
    }
  }
  if (!result && src.pos != src.size) result = errc::decompression_failed;  // trailing bytes
  ZSTD_freeDStream(ds);
  if (result) out.resize(start);
  return result;
}

}  // namespace portask::protocol
