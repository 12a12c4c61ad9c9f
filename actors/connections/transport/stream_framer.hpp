#pragma once
/// Splits a TCP byte stream into whole frames for one protocol. The session reads straight
/// into prepare()/commit() and hands each frame from next() to the connection actor; the
/// framer knows the protocol's framing, the session knows only sockets.

#include <memory>
#include <optional>

#include "protocol/frame_decoder.hpp"

namespace portask {

class stream_framer {
 public:
  virtual ~stream_framer() = default;
  virtual std::span<std::uint8_t> prepare(std::size_t n) = 0;
  virtual void commit(std::size_t n) = 0;
  /// The next whole frame (all its bytes, valid until the next prepare), nothing yet, or a
  /// framing error after which the stream is unusable.
  virtual expected<std::optional<protocol::byte_view>> next() = 0;
  /// Bytes received and not yet returned by next().
  virtual std::size_t buffered() const noexcept = 0;
};

/// Native Portask frames: magic, version, type and length checked as bytes arrive, CRC32
/// checked when the payload is complete.
class portask_framer final : public stream_framer {
 public:
  explicit portask_framer(protocol::frame_limits limits) : decoder_(limits) {}
  std::span<std::uint8_t> prepare(std::size_t n) override { return decoder_.prepare(n); }
  void commit(std::size_t n) override { decoder_.commit(n); }
  std::size_t buffered() const noexcept override { return decoder_.buffered(); }
  expected<std::optional<protocol::byte_view>> next() override {
    auto f = decoder_.next();
    if (!f) return f.error();
    if (!*f) return std::optional<protocol::byte_view>{};
    const auto& v = **f;
    return std::optional<protocol::byte_view>{protocol::byte_view{
        v.payload.data() - protocol::frame_header_size, protocol::frame_size(v)}};
  }

 private:
  protocol::frame_decoder decoder_;
};

}  // namespace portask
