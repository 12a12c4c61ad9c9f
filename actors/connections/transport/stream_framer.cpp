#include "actors/connections/transport/stream_framer.hpp"

#include <algorithm>

namespace portask {

std::span<std::uint8_t> stream_framer::prepare(std::size_t n) {
  if (own_size_ > 0) {
    const auto want = std::min(n, own_size_ - own_filled_);
    // Grown geometrically (so as often as the read buffer would be), never past the frame.
    if (own_filled_ + want > own_.capacity())
      own_.reserve(std::min(own_size_, std::max(2 * own_.capacity(), own_filled_ + want)));
    own_.resize(own_filled_ + want);
    return {own_.data() + own_filled_, want};
  }
  return in_.prepare(n);
}

void stream_framer::commit(std::size_t n) noexcept {
  if (own_size_ > 0)
    own_filled_ += n;
  else
    in_.commit(n);
}

expected<std::optional<protocol::buffer>> stream_framer::next() {
  if (error_) return error_;
  if (own_size_ > 0) {
    if (own_filled_ < own_size_) return std::optional<protocol::buffer>{};
    own_.resize(own_size_);
    if (auto ec = check(own_)) return error_ = ec;
    std::optional<protocol::buffer> frame{std::move(own_)};
    own_ = {};
    own_size_ = own_filled_ = 0;
    return frame;
  }
  const protocol::byte_view head = in_.data();
  const std::size_t avail = head.size();
  if (avail == 0) return std::optional<protocol::buffer>{};
  auto size = frame_size(head);
  if (!size) return error_ = size.error();
  if (!*size) return std::optional<protocol::buffer>{};
  if (**size <= avail) {
    const auto frame = head.first(**size);
    if (auto ec = check(frame)) return error_ = ec;
    std::optional<protocol::buffer> taken{protocol::buffer(frame.begin(), frame.end())};
    in_.consume(**size);
    return taken;
  }
  if (**size >= own_buffer_from) {
    // The rest of this frame goes straight into a buffer of its own (see the header).
    own_.reserve(std::min(**size, avail + own_buffer_ahead));
    own_.assign(head.begin(), head.end());
    own_size_ = **size;
    own_filled_ = avail;
    in_.clear();
  }
  return std::optional<protocol::buffer>{};
}

// A frame's size is a 32-bit length plus its header (kafka_framer: plus 4): it fits a 64-bit
// size_t whatever the length says, and Portask builds for 64-bit targets only.
static_assert(sizeof(std::size_t) >= 8, "frame sizes are computed in a 64-bit size_t");

expected<std::optional<std::size_t>> portask_framer::frame_size(protocol::byte_view head) const {
  if (head.size() < protocol::frame_header_size) {
    if (auto ec = protocol::check_header_prefix(head)) return ec;
    return std::optional<std::size_t>{};
  }
  auto h = protocol::decode_header(head, limits());
  if (!h) return h.error();
  return std::optional<std::size_t>{protocol::frame_header_size + std::size_t{h->length}};
}

std::error_code portask_framer::check(protocol::byte_view frame) const {
  auto f = protocol::decode_frame(frame, limits());
  return f ? std::error_code{} : f.error();
}

}  // namespace portask
