#include <lz4frame.h>

#include <cstring>
#include <memory>

#include "protocol/compression/compressors.hpp"

namespace portask::protocol {
namespace {

constexpr std::size_t chunk = 64 * 1024;
constexpr std::uint32_t lz4_frame_magic = 0x184D2204;

std::uint64_t load_le(const std::uint8_t* p, int bytes) noexcept {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

struct dctx_free {
  void operator()(LZ4F_dctx* ctx) const noexcept { LZ4F_freeDecompressionContext(ctx); }
};

LZ4F_dctx* new_dctx() noexcept {
  LZ4F_dctx* ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) return nullptr;
  return ctx;
}

// One decoder per thread, reset per call: its block buffers are kept between calls (a Kafka
// message set of magic 0/1 decompresses once per wrapped message) instead of allocated for
// each one. Made again when a creation failed (memory was short once, not for good).
std::unique_ptr<LZ4F_dctx, dctx_free>& thread_dctx() {
  thread_local std::unique_ptr<LZ4F_dctx, dctx_free> ctx;
  if (!ctx) ctx.reset(new_dctx());
  return ctx;
}

// The block size a frame declares (its BD byte): 4 is 64 KiB, Kafka clients' default; 5-7 are
// 256 KiB to 4 MiB. A decoder keeps buffers of about twice the block size.
constexpr unsigned lz4_block_64k = 4;
unsigned block_size_id(byte_view frame) noexcept {
  return frame.size() > 5 ? (frame[5] >> 4) & 0x07u : 0;
}

}  // namespace

bool lz4_fix_header_checksum(std::span<std::uint8_t> frame) noexcept {
  // magic (4) | FLG | BD | [content size (8)] | [dictionary id (4)] | HC
  if (frame.size() < 7 || load_le(frame.data(), 4) != lz4_frame_magic) return false;
  const std::uint8_t flg = frame[4], bd = frame[5];
  if ((flg >> 6) != 1) return false;  // version 01, the only one
  const bool has_size = (flg & 0x08) != 0, has_dict = (flg & 0x01) != 0;
  const std::size_t hc_at = 6 + (has_size ? 8 : 0) + (has_dict ? 4 : 0);
  if (frame.size() <= hc_at) return false;
  // liblz4 exports no xxh32, but writes the checksum of any descriptor it is asked for: the
  // same descriptor written by LZ4F_compressBegin carries the right byte.
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = static_cast<LZ4F_blockSizeID_t>((bd >> 4) & 0x07);
  prefs.frameInfo.blockMode = (flg & 0x20) ? LZ4F_blockIndependent : LZ4F_blockLinked;
  prefs.frameInfo.blockChecksumFlag = (flg & 0x10) ? LZ4F_blockChecksumEnabled : LZ4F_noBlockChecksum;
  prefs.frameInfo.contentChecksumFlag =
      (flg & 0x04) ? LZ4F_contentChecksumEnabled : LZ4F_noContentChecksum;
  if (has_size) prefs.frameInfo.contentSize = load_le(frame.data() + 6, 8);
  if (has_dict)
    prefs.frameInfo.dictID = static_cast<unsigned>(load_le(frame.data() + 6 + (has_size ? 8 : 0), 4));
  prefs.autoFlush = 1;  // no block buffer is allocated for a header alone
  LZ4F_cctx* ctx = nullptr;
  if (LZ4F_isError(LZ4F_createCompressionContext(&ctx, LZ4F_VERSION))) return false;
  std::uint8_t header[LZ4F_HEADER_SIZE_MAX];
  const std::size_t n = LZ4F_compressBegin(ctx, header, sizeof header, &prefs);
  LZ4F_freeCompressionContext(ctx);
  // A descriptor liblz4 would not write as it stands (reserved bits, a block size id it does
  // not know, a content size of 0) is left alone: the decoder refuses it as before.
  if (LZ4F_isError(n) || n != hc_at + 1 || std::memcmp(header, frame.data(), hc_at) != 0)
    return false;
  frame[hc_at] = header[hc_at];
  return true;
}

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
  auto& owner = thread_dctx();
  LZ4F_dctx* ctx = owner.get();
  if (ctx == nullptr) return errc::decompression_failed;
  // A frame of blocks above 64 KiB leaves the decoder holding up to 8 MiB: that is given
  // back after the call, not kept by the thread for good.
  struct drop_if_large {
    std::unique_ptr<LZ4F_dctx, dctx_free>& owner;
    bool large;
    ~drop_if_large() {
      if (large) owner.reset();
    }
  } keep_small{owner, block_size_id(in) > lz4_block_64k};
  // Reset before use, not after: a call that stopped inside a frame (an error, input cut
  // short, output over the limit, an exception from a resize) leaves nothing for this one.
  LZ4F_resetDecompressionContext(ctx);
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
    const std::size_t room = inflate_room(max_out, out.size() - start, chunk);
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
  if (result) out.resize(start);
  return result;
}

}  // namespace portask::protocol
