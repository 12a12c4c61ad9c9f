#include "protocol/frame_decoder.hpp"

#include <cstring>

#include "protocol/crc32.hpp"

namespace portask::protocol {

void frame_decoder::feed(byte_view chunk) {
  if (chunk.empty()) return;
  auto dst = prepare(chunk.size());
  std::memcpy(dst.data(), chunk.data(), chunk.size());
  commit(chunk.size());
}

expected<std::optional<frame_view>> frame_decoder::next() {
  if (error_) return error_;
  const byte_view data = in_.data();
  if (data.empty()) return std::optional<frame_view>{};
  if (data.size() < frame_header_size) {
    if (auto ec = check_header_prefix(data)) return error_ = ec;
    return std::optional<frame_view>{};
  }
  auto h = decode_header(data, limits_);
  if (!h) {
    if (h.error() == errc::frame_too_large) refused_length_ = load_be32(data.data() + 8);
    return error_ = h.error();
  }
  if (data.size() - frame_header_size < h->length) return std::optional<frame_view>{};
  byte_view payload = data.subspan(frame_header_size, h->length);
  if (crc32(payload) != h->crc) return error_ = make_error_code(errc::crc_mismatch);
  in_.consume(frame_header_size + h->length);
  return std::optional<frame_view>{frame_view{*h, payload}};
}

std::error_code frame_decoder::finish() const noexcept {
  if (error_) return error_;
  return buffered() > 0 ? make_error_code(errc::truncated) : std::error_code{};
}

void frame_decoder::reset() noexcept {
  in_.clear();
  error_.clear();
  refused_length_ = 0;
}

}  // namespace portask::protocol
