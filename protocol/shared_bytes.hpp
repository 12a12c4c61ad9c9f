#pragma once
/// Immutable bytes with shared ownership: a stored frame. A partition's tail, a store and
/// any number of fetch responses hold the same bytes without copying them.
///
/// Copies are carved from large slabs that the kernel maps pre-faulted (MAP_POPULATE).
/// Stored frames are the broker's only long-lived, ever-growing allocation; taken from the
/// heap, every new page of them costs one page-fault trap, which on our VMs is ~12 µs per
/// 4 KiB page (a fifth of the broker's CPU under a Kafka produce load). Populating a slab
/// costs one system call for thousands of pages, and keeps growth out of the heap, whose
/// short-lived request buffers then reuse warm memory.

#include <algorithm>
#include <memory>

#include "protocol/bytes.hpp"

namespace portask::protocol {

class shared_bytes {
 public:
  shared_bytes() = default;

  /// A copy of `bytes` in slab memory (large copies get a pre-faulted mapping of their own).
  /// For bytes kept long: a slab stays mapped while any copy in it is alive.
  static shared_bytes copy_of(byte_view bytes);
  /// Takes `bytes` over without copying (heap memory, released with the last owner).
  static shared_bytes adopt(buffer&& bytes);

  byte_view view() const noexcept { return view_; }
  operator byte_view() const noexcept { return view_; }  // NOLINT: a view of its bytes
  const std::uint8_t* data() const noexcept { return view_.data(); }
  std::size_t size() const noexcept { return view_.size(); }
  bool empty() const noexcept { return view_.empty(); }
  /// False for a default-constructed value (no bytes were ever attached).
  explicit operator bool() const noexcept { return owner_ != nullptr; }
  buffer to_buffer() const { return {view_.begin(), view_.end()}; }
  /// `n` bytes from `offset` (clamped to these bytes), sharing their owner: no copy.
  shared_bytes slice(std::size_t offset, std::size_t n) const noexcept {
    offset = std::min(offset, view_.size());
    return {owner_, view_.subspan(offset, std::min(n, view_.size() - offset))};
  }

  friend bool operator==(const shared_bytes& a, const shared_bytes& b) noexcept;

 private:
  shared_bytes(std::shared_ptr<const void> owner, byte_view v) noexcept
      : owner_(std::move(owner)), view_(v) {}

  std::shared_ptr<const void> owner_;
  byte_view view_;
};

}  // namespace portask::protocol
