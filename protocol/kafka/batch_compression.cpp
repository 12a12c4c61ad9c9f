#include "protocol/kafka/batch_compression.hpp"

#include <algorithm>
#include <cstring>

#include "protocol/compression/compressors.hpp"
#include "protocol/error.hpp"
#include "protocol/wire.hpp"

namespace portask::protocol::kafka {
namespace {

// xerial snappy framing (snappy-java): magic, version, compatible version, then chunks of
// [i32 BE length][raw snappy block].
constexpr std::uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr std::size_t xerial_header = 16;
constexpr std::size_t xerial_chunk = 32 * 1024;

std::error_code snappy_decompress(byte_view in, buffer& out, std::size_t max_out) {
  const snappy_compressor raw;
  if (in.size() >= xerial_header && std::memcmp(in.data(), xerial_magic, 8) == 0) {
    wire_reader r{in.subspan(xerial_header)};
    while (!r.at_end()) {
      std::uint32_t len = 0;
      byte_view chunk;
      if (!r.u32(len) || !r.raw(len, chunk)) return errc::decompression_failed;
      const std::size_t room = max_out - std::min(max_out, out.size());
      if (auto ec = raw.decompress(chunk, out, room)) return ec;
    }
    return {};
  }
  return raw.decompress(in, out, max_out);
}

void snappy_compress_xerial(byte_view in, buffer& out) {
  out.insert(out.end(), std::begin(xerial_magic), std::end(xerial_magic));
  wire_writer w{out};
  w.u32(1);  // version
  w.u32(1);  // minimum compatible version
  const snappy_compressor raw;
  for (std::size_t pos = 0; pos < in.size(); pos += xerial_chunk) {
    const auto chunk = in.subspan(pos, std::min(xerial_chunk, in.size() - pos));
    const std::size_t len_pos = out.size();
    out.resize(len_pos + 4);
    (void)raw.compress(chunk, out);
    store_be32(out.data() + len_pos, static_cast<std::uint32_t>(out.size() - len_pos - 4));
  }
}

}  // namespace

std::error_code decompress(compression_type c, byte_view in, buffer& out, std::size_t max_out) {
  switch (c) {
    case compression_type::none: out.assign(in.begin(), in.end()); return {};
    case compression_type::gzip: return gzip_compressor{}.decompress(in, out, max_out);
    case compression_type::snappy: return snappy_decompress(in, out, max_out);
    case compression_type::lz4: return lz4_compressor{}.decompress(in, out, max_out);
    case compression_type::zstd: return zstd_compressor{}.decompress(in, out, max_out);
  }
  return errc::unknown_compression;
}

std::error_code decompress(compression_type c, byte_view in, buffer& out,
                           decompression_budget& budget) {
  const auto limit = std::min(budget.per_batch, budget.left);
  const auto ec = decompress(c, in, out, limit);
  if (ec == errc::decompressed_too_large && budget.left < budget.per_batch)
    budget.left = 0;  // the request's budget, not this batch's limit, ran out
  else
    budget.left -= std::min(budget.left, out.size());
  return ec;
}

std::error_code compress(compression_type c, byte_view in, buffer& out) {
  switch (c) {
    case compression_type::none: out.insert(out.end(), in.begin(), in.end()); return {};
    case compression_type::gzip: return gzip_compressor{}.compress(in, out);
    case compression_type::snappy: snappy_compress_xerial(in, out); return {};
    case compression_type::lz4: return lz4_compressor{}.compress(in, out);
    case compression_type::zstd: return zstd_compressor{}.compress(in, out);
  }
  return errc::unknown_compression;
}

}  // namespace portask::protocol::kafka
