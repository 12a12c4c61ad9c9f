#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <bit>
#include <memory>

#include "protocol/compression/compressors.hpp"

namespace portask::protocol {
namespace {
constexpr int zstd_level = 3;

// The window a frame may make the decoder allocate, as a log2. The frame declares it (a
// dozen bytes can declare 128 MiB), so it is bounded by what the call may produce anyway:
// a window never needs to exceed the content, so a frame whose content fits max_out and
// whose writer knew its size declares at most max_out. Writers that stream without knowing
// the size declare their level's window instead, at most 8 MiB (2^23) for levels 1-19
// (3, the usual default, 2 MiB): that is the floor. zstd's own default limit is the ceiling.
constexpr unsigned min_window_log = 23;
constexpr unsigned max_window_log = 27;  // ZSTD_WINDOWLOG_LIMIT_DEFAULT (static-linking API)

int window_log_for(std::size_t max_out) noexcept {
  const auto log = static_cast<unsigned>(std::bit_width(max_out > 0 ? max_out - 1 : 0));
  return static_cast<int>(std::clamp(log, min_window_log, max_window_log));
}

struct dstream_free {
  void operator()(ZSTD_DStream* ds) const noexcept { ZSTD_freeDStream(ds); }
};

// One decoder per thread, reset per call: its buffers (window included) are kept between
// calls instead of allocated for each one. Made again when a creation failed (memory was
// short once, not for good).
ZSTD_DStream* thread_dstream() {
  thread_local std::unique_ptr<ZSTD_DStream, dstream_free> ds;
  if (!ds) ds.reset(ZSTD_createDStream());
  return ds.get();
}

}  // namespace

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
  ZSTD_DStream* ds = thread_dstream();
  if (ds == nullptr) return errc::decompression_failed;
  if (ZSTD_isError(ZSTD_DCtx_reset(ds, ZSTD_reset_session_and_parameters)) ||
      ZSTD_isError(ZSTD_DCtx_setParameter(ds, ZSTD_d_windowLogMax, window_log_for(max_out))))
    return errc::decompression_failed;
  const std::size_t start = out.size();
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  std::error_code result;
  std::size_t rc = 1;
  while (rc != 0) {
    const std::size_t room = inflate_room(max_out, out.size() - start, ZSTD_DStreamOutSize());
    const std::size_t pos = out.size();
    out.resize(pos + room);
    ZSTD_outBuffer dst{out.data() + pos, room, 0};
    rc = ZSTD_decompressStream(ds, &dst, &src);
    out.resize(pos + dst.pos);
    if (ZSTD_isError(rc)) {
      // A window over the limit is a frame that would take too much to inflate, as one
      // whose output runs past it; anything else is damage.
      result = ZSTD_getErrorCode(rc) == ZSTD_error_frameParameter_windowTooLarge
                   ? errc::decompressed_too_large
                   : errc::decompression_failed;
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
  if (result) out.resize(start);
  return result;
}

}  // namespace portask::protocol
