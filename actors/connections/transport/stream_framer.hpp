#pragma once
/// Splits a TCP byte stream into whole frames for one protocol. The session reads straight
/// into prepare()/commit() and hands each frame from next() to the connection actor; the
/// framer knows the protocol's framing, the session knows only sockets.
///
/// Small frames are read together into one reusable buffer and copied out whole, so a read
/// can carry many pipelined requests. A frame of `own_buffer_from` bytes or more gets a
/// buffer of its own as soon as its header shows its size: the bytes of it that came with
/// the header are copied there, the rest is read straight into it, and next() hands that
/// buffer over. So a large frame is held about once while it arrives, not in the read buffer
/// and again in its copy, and the read buffer stays at about one read. (It saves no CPU we
/// could measure: writing the frame's new memory is what costs, and the buffer's zero-fill
/// does that as the copy did; docs/benchmarks.md.)
///
/// The first framing error is sticky: a stream that failed to frame cannot be
/// resynchronised, so the owner reports it and closes the connection.

#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>

#include "protocol/bytes.hpp"
#include "protocol/frame.hpp"
#include "protocol/stream_buffer.hpp"

namespace portask {

class stream_framer {
 public:
  /// Frames this large are read into a buffer of their own.
  static constexpr std::size_t own_buffer_from = 32u << 10;
  /// A large frame's buffer holds at most this much beyond the bytes received of it (a
  /// header alone does not make the broker allocate the size it claims); it grows as the
  /// bytes come, to the frame's size and no more.
  static constexpr std::size_t own_buffer_ahead = 64u << 10;

  virtual ~stream_framer() = default;

  /// Writable space for the next read: at most `n` bytes, fewer when a large frame needs
  /// fewer to complete (so its buffer holds nothing of the frame after it).
  std::span<std::uint8_t> prepare(std::size_t n);
  /// Marks `n` bytes of the last prepare() as filled.
  void commit(std::size_t n) noexcept;
  /// The next whole frame (all its bytes, now owned by the caller), nothing yet, or a
  /// framing error after which the stream is unusable.
  expected<std::optional<protocol::buffer>> next();
  /// Bytes received and not yet returned by next().
  std::size_t buffered() const noexcept { return in_.size() + own_filled_; }
  /// Bytes of memory the framer holds (its buffers' capacities).
  std::size_t held() const noexcept { return in_.capacity() + own_.capacity(); }
  /// What a peer may send per frame before it has authenticated, on a listener that
  /// authenticates (Kafka's `sasl.server.max.receive.size`): a client without credentials
  /// cannot make the broker hold a full-size frame per connection.
  static constexpr std::uint32_t max_before_authentication = 512u << 10;
  /// The peer has authenticated: its frames may be as large as the listener allows. Called
  /// from the connection actor's thread, hence the atomic limit.
  void authenticated() noexcept { limit_.store(max_, std::memory_order_relaxed); }

 protected:
  /// `max_size`: the listener's largest frame (its payload, for the native protocol), at
  /// most max_before_authentication until authenticated() when `authenticate_first`.
  stream_framer(std::uint32_t max_size, bool authenticate_first)
      : max_(max_size), limit_(authenticate_first ? std::min(max_size, max_before_authentication) : max_size) {}
  /// The largest frame the peer may send now.
  std::uint32_t size_limit() const noexcept { return limit_.load(std::memory_order_relaxed); }

  /// The whole size of the frame that `head` (the bytes received of it so far) starts:
  /// nothing when more bytes are needed to tell, an error when they cannot start a frame.
  virtual expected<std::optional<std::size_t>> frame_size(protocol::byte_view head) const = 0;
  /// Checks a whole frame before it is handed over (the native CRC).
  virtual std::error_code check(protocol::byte_view frame) const = 0;

 private:
  protocol::stream_buffer in_;  // small frames, and the first bytes of each frame
  protocol::buffer own_;         // a large frame's own buffer, while it arrives
  std::size_t own_size_ = 0;     // its whole size (0: no large frame is arriving)
  std::size_t own_filled_ = 0;   // its bytes received
  std::error_code error_;
  std::uint32_t max_;
  std::atomic<std::uint32_t> limit_;
};

/// Native Portask frames: magic, version, type and length checked as bytes arrive (garbage
/// is refused from its first wrong byte), CRC32 checked when the payload is complete. On a
/// listener that authenticates, payloads are capped until the peer has (an Authenticate is a
/// few hundred bytes).
class portask_framer final : public stream_framer {
 public:
  portask_framer(protocol::frame_limits limits, bool authenticate_first)
      : stream_framer(limits.max_payload, authenticate_first) {}

 protected:
  expected<std::optional<std::size_t>> frame_size(protocol::byte_view head) const override;
  std::error_code check(protocol::byte_view frame) const override;

 private:
  protocol::frame_limits limits() const noexcept { return {size_limit()}; }
};

}  // namespace portask
