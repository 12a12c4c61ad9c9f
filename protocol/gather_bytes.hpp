#pragma once
/// Bytes to send that are partly owned here and partly shared with where they are kept.
/// A Kafka Fetch answer is mostly stored RecordBatches: instead of copying megabytes of them
/// into the answer (and again into the socket's buffer), the answer keeps its own small parts
/// (headers, lengths, the few bytes of each batch that change) in one buffer and refers to
/// the stored bytes, which the session then hands to the socket in one gathered write.
///
/// Pieces shorter than `min_shared_piece` are copied: an iovec per hundred bytes would cost
/// more than the copy it saves.

#include <cassert>
#include <string_view>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/shared_bytes.hpp"

namespace portask::protocol {

class gather_bytes {
 public:
  static constexpr std::size_t min_shared_piece = 4096;

  /// Shared bytes inserted before owned()[at].
  struct piece {
    std::size_t at = 0;
    shared_bytes bytes;
  };

  gather_bytes() = default;
  gather_bytes(buffer owned) noexcept : owned_(std::move(owned)) {}  // NOLINT: all owned
  explicit gather_bytes(std::string_view s) : owned_(s.begin(), s.end()) {}

  /// The owned bytes; writing to their end appends to the whole. While there are pieces
  /// they may only grow (a piece is placed by its offset in them).
  buffer& owned() noexcept { return owned_; }
  const buffer& owned() const noexcept { return owned_; }
  const std::vector<piece>& pieces() const noexcept { return pieces_; }

  void append(byte_view b) { owned_.insert(owned_.end(), b.begin(), b.end()); }
  /// Refers to `b` (kept alive here) rather than copying it, unless it is short.
  void append_shared(const shared_bytes& b);
  /// Appends `other`: its owned bytes copied, its pieces shared.
  void append_gathered(const gather_bytes& other);

  std::size_t size() const noexcept { return owned_.size() + shared_size_; }
  bool empty() const noexcept { return size() == 0; }
  /// Every byte in order, contiguous (tests, and writers that cannot gather).
  buffer flat() const;
  /// Calls `f(byte_view)` for each contiguous segment in order (empty ones skipped).
  template <class F>
  void for_each_segment(F&& f) const {
    std::size_t from = 0;
    assert(pieces_.empty() || pieces_.back().at <= owned_.size());
    for (const auto& p : pieces_) {
      if (p.at > from) f(byte_view{owned_}.subspan(from, p.at - from));
      f(p.bytes.view());
      from = p.at;
    }
    if (owned_.size() > from) f(byte_view{owned_}.subspan(from));
  }

  /// Equal when they hold the same bytes, however they are split.
  friend bool operator==(const gather_bytes& a, const gather_bytes& b);

 private:
  buffer owned_;
  std::vector<piece> pieces_;
  std::size_t shared_size_ = 0;
};

}  // namespace portask::protocol
