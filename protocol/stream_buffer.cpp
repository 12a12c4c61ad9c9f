#include "protocol/stream_buffer.hpp"

#include <cstring>

namespace portask::protocol {

std::span<std::uint8_t> stream_buffer::prepare(std::size_t n) {
  if (begin_ == end_) {
    begin_ = end_ = 0;
    if (buf_.size() > idle_limit) buffer{}.swap(buf_);
  }
  if (buf_.size() - end_ < n) {
    if (begin_ > 0) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (buf_.size() - end_ < n) buf_.resize(end_ + n);
  }
  return {buf_.data() + end_, n};
}

void stream_buffer::consume(std::size_t n) noexcept {
  begin_ += n;
  if (begin_ >= end_) begin_ = end_ = 0;  // everything taken: the next read starts at the front
}

}  // namespace portask::protocol
