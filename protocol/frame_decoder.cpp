#include "protocol/frame_decoder.hpp"

#include <cstring>

#include "protocol/crc32.hpp"

namespace portask::protocol {

std::span<std::uint8_t> frame_decoder::prepare(std::size_t n) {
  // Once a large frame has been consumed, its buffer goes back: an idle connection that once
  // sent a big frame does not keep it.
  if (begin_ == end_ && buf_.size() > idle_buffer_limit) {
    buffer{}.swap(buf_);
    begin_ = end_ = 0;
  }
  if (buf_.size() - end_ < n) {
    // Move the unconsumed tail to the front before growing, so a long-lived connection's
    // buffer stays at about one frame plus one read.
    if (begin_ > 0) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (buf_.size() - end_ < n) buf_.resize(end_ + n);
  }
  return {buf_.data() + end_, n};
}

void frame_decoder::feed(byte_view chunk) {
  if (chunk.empty()) return;
  auto dst = prepare(chunk.size());
  std::memcpy(dst.data(), chunk.data(), chunk.size());
  commit(chunk.size());
}

expected<std::optional<frame_view>> frame_decoder::next() {
  if (error_) return error_;
  const std::size_t avail = end_ - begin_;
  if (avail == 0) {
    begin_ = end_ = 0;  // cheap rewind when everything was consumed
    return std::optional<frame_view>{};
  }
  byte_view data{buf_.data() + begin_, avail};
  if (avail < frame_header_size) {
    if (auto ec = check_header_prefix(data)) return error_ = ec;
    return std::optional<frame_view>{};
  }
  auto h = decode_header(data, limits_);
  if (!h) return error_ = h.error();
  if (avail - frame_header_size < h->length) return std::optional<frame_view>{};
  byte_view payload = data.subspan(frame_header_size, h->length);
  if (crc32(payload) != h->crc) return error_ = make_error_code(errc::crc_mismatch);
  begin_ += frame_header_size + h->length;
  return std::optional<frame_view>{frame_view{*h, payload}};
}

std::error_code frame_decoder::finish() const noexcept {
  if (error_) return error_;
  return buffered() > 0 ? make_error_code(errc::truncated) : std::error_code{};
}

void frame_decoder::reset() noexcept {
  begin_ = end_ = 0;
  error_.clear();
}

}  // namespace portask::protocol
