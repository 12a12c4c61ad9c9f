#include <snappy.h>

#include "protocol/compression/compressors.hpp"

namespace portask::protocol {

std::error_code snappy_compressor::compress(byte_view in, buffer& out) const {
  const std::size_t start = out.size();
  out.resize(start + snappy::MaxCompressedLength(in.size()));
  std::size_t n = 0;
  snappy::RawCompress(reinterpret_cast<const char*>(in.data()), in.size(),
                      reinterpret_cast<char*>(out.data() + start), &n);
  out.resize(start + n);
  return {};
}

std::error_code snappy_compressor::decompress(byte_view in, buffer& out,
                                              std::size_t max_out) const {
  const char* src = reinterpret_cast<const char*>(in.data());
  std::size_t n = 0;
  // The length prefix is checked against the limit before any allocation.
  if (!snappy::GetUncompressedLength(src, in.size(), &n)) return errc::decompression_failed;
  if (n > max_out) return errc::decompressed_too_large;
  const std::size_t start = out.size();
  out.resize(start + n);
  if (!snappy::RawUncompress(src, in.size(), reinterpret_cast<char*>(out.data() + start))) {
    out.resize(start);
    return errc::decompression_failed;
  }
  return {};
}

}  // namespace portask::protocol
