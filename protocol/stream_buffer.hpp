#pragma once
/// The receive side of a byte stream: reads go into prepare()/commit(), whole frames are
/// taken from the front with consume(). Unconsumed bytes move to the front before the
/// buffer grows, so a long-lived connection's buffer stays at about one frame plus one read;
/// once a buffer larger than `idle_limit` holds nothing, it is freed, so a connection that
/// sent one big frame does not keep its memory while idle.
///
/// Views of data() stay valid until the next prepare(). Owned by one connection.

#include "protocol/bytes.hpp"

namespace portask::protocol {

class stream_buffer {
 public:
  static constexpr std::size_t idle_limit = 1u << 20;

  /// Writable space of `n` bytes at the end of the buffered data.
  std::span<std::uint8_t> prepare(std::size_t n);
  void commit(std::size_t n) noexcept { end_ += n; }
  /// The bytes received and not yet consumed.
  byte_view data() const noexcept { return {buf_.data() + begin_, end_ - begin_}; }
  std::size_t size() const noexcept { return end_ - begin_; }
  /// Bytes of memory it holds.
  std::size_t capacity() const noexcept { return buf_.capacity(); }
  void consume(std::size_t n) noexcept;
  void clear() noexcept { begin_ = end_ = 0; }

 private:
  buffer buf_;
  std::size_t begin_ = 0;  // first unconsumed byte
  std::size_t end_ = 0;    // one past the last received byte
};

}  // namespace portask::protocol
