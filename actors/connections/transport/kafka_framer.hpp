#pragma once
/// Kafka's framing: a 4-byte big-endian size, then that many bytes (request header + body).
/// Sizes below a minimal header or above the configured maximum are framing errors.

#include <cstring>

#include "actors/connections/transport/stream_framer.hpp"

namespace portask {

class kafka_framer final : public stream_framer {
 public:
  /// api key + version + correlation id + client id length
  static constexpr std::uint32_t min_request = 10;
  explicit kafka_framer(std::uint32_t max_size) : max_(max_size) {}

  std::span<std::uint8_t> prepare(std::size_t n) override {
    if (begin_ == end_ && buf_.size() > protocol::frame_decoder::idle_buffer_limit) {
      protocol::buffer{}.swap(buf_);  // a large request's buffer is not kept while idle
      begin_ = end_ = 0;
    }
    if (begin_ > 0 && buf_.size() - end_ < n) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (buf_.size() - end_ < n) buf_.resize(end_ + n);
    return {buf_.data() + end_, n};
  }
  void commit(std::size_t n) override { end_ += n; }
  std::size_t buffered() const noexcept override { return end_ - begin_; }
  expected<std::optional<protocol::byte_view>> next() override {
    const std::size_t avail = end_ - begin_;
    if (avail == 0) begin_ = end_ = 0;
    if (avail < 4) return std::optional<protocol::byte_view>{};
    const std::uint32_t size = protocol::load_be32(buf_.data() + begin_);
    if (size < min_request) return errc::malformed_payload;
    if (size > max_) return errc::frame_too_large;
    if (avail - 4 < size) return std::optional<protocol::byte_view>{};
    protocol::byte_view frame{buf_.data() + begin_, size + 4u};
    begin_ += size + 4u;
    return std::optional<protocol::byte_view>{frame};
  }

 private:
  std::uint32_t max_;
  protocol::buffer buf_;
  std::size_t begin_ = 0, end_ = 0;
};

}  // namespace portask
