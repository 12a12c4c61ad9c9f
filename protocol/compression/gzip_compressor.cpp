#include <zlib.h>

#include <algorithm>

#include "protocol/compression/compressors.hpp"

namespace portask::protocol {
namespace {
constexpr int gzip_window_bits = 15 + 16;  // +16: gzip header and trailer instead of zlib's
constexpr std::size_t step = 64 * 1024;
}  // namespace

std::error_code gzip_compressor::compress(byte_view in, buffer& out) const {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, gzip_window_bits, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    return errc::compression_failed;
  const std::size_t start = out.size();
  const auto bound = deflateBound(&zs, static_cast<uLong>(in.size()));
  out.resize(start + bound);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data() + start;
  zs.avail_out = static_cast<uInt>(bound);
  const int rc = deflate(&zs, Z_FINISH);
  const std::size_t produced = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    out.resize(start);
    return errc::compression_failed;
  }
  out.resize(start + produced);
  return {};
}

std::error_code gzip_compressor::decompress(byte_view in, buffer& out, std::size_t max_out) const {
  z_stream zs{};
  if (inflateInit2(&zs, gzip_window_bits) != Z_OK) return errc::decompression_failed;
  const std::size_t start = out.size();
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    const std::size_t produced = out.size() - start;
    if (produced >= max_out) {
      // Output is full: only acceptable if the stream ends without further output.
      std::uint8_t probe;
      zs.next_out = &probe;
      zs.avail_out = 1;
      rc = inflate(&zs, Z_NO_FLUSH);
      if (rc == Z_STREAM_END && zs.avail_out == 1) break;
      inflateEnd(&zs);
      out.resize(start);
      return rc == Z_OK || rc == Z_STREAM_END ? errc::decompressed_too_large
                                              : errc::decompression_failed;
    }
    const std::size_t chunk = std::min(step, max_out - produced);
    const std::size_t pos = out.size();
    out.resize(pos + chunk);
    zs.next_out = out.data() + pos;
    zs.avail_out = static_cast<uInt>(chunk);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.resize(pos + chunk - zs.avail_out);
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) rc = Z_DATA_ERROR;  // input ended early
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      out.resize(start);
      return errc::decompression_failed;
    }
  }
  const bool trailing = zs.avail_in != 0;
  inflateEnd(&zs);
  if (trailing) {
    out.resize(start);
    return errc::decompression_failed;
  }
  return {};
}

}  // namespace portask::protocol
