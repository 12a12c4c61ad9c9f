#pragma once
/// Incremental decoder for a stream of Portask frames (a TCP connection's read side).
///
/// Bytes arrive in arbitrary chunks: one byte at a time, or many frames in one read. The
/// socket reads straight into `prepare()`/`commit()` (or hands a chunk to `feed()`), then
/// `next()` yields whole, CRC-checked frames whose payloads point into the decoder's own
/// buffer: no payload is copied after the socket read. A returned view stays valid until the
/// next call to prepare(), feed() or reset().
///
/// The first error is sticky: a byte stream that failed to frame cannot be resynchronised,
/// so the owner reports the error and closes the connection. Owned by one connection; not
/// thread-safe.

#include <optional>

#include "protocol/frame.hpp"
#include "protocol/stream_buffer.hpp"

namespace portask::protocol {

class frame_decoder {
 public:
  explicit frame_decoder(frame_limits limits = {}) : limits_(limits) {}

  /// Writable space of at least `n` bytes at the end of the buffered data.
  std::span<std::uint8_t> prepare(std::size_t n) { return in_.prepare(n); }
  /// Marks `n` bytes of the last prepare() as filled.
  void commit(std::size_t n) noexcept { in_.commit(n); }
  /// Copies a chunk in (prepare + memcpy + commit).
  void feed(byte_view chunk);

  /// The next whole frame; std::nullopt when more bytes are needed; an error (sticky) when
  /// the stream is malformed. Garbage is detected from the first wrong byte of the magic.
  expected<std::optional<frame_view>> next();

  /// Called at end of stream: errc::truncated when a partial frame is still buffered.
  std::error_code finish() const noexcept;

  std::size_t buffered() const noexcept { return in_.size(); }
  std::error_code error() const noexcept { return error_; }
  /// After frame_too_large: the payload length the refused frame's header gave (0 before),
  /// so that the owner can say how far over the limit it was.
  std::uint32_t refused_length() const noexcept { return refused_length_; }
  void reset() noexcept;

 private:
  frame_limits limits_;
  stream_buffer in_;
  std::error_code error_;
  std::uint32_t refused_length_ = 0;
};

}  // namespace portask::protocol
