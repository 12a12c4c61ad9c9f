#pragma once
/// Which partitions of a Kafka Fetch are read next, and how many reads it has out (fetch.cpp).
/// Partitions are read in request order, at most `width` at a time: every read brings up to
/// its limit, so reads issued for every partition of a request at once would hold all those
/// limits together (over 1000 partitions, about 1000 times a read's), however little the
/// answer can carry. In order and a few at a time, a request holds its answer plus the reads
/// out, and stops reading once its answer is full.

#include <cstddef>
#include <deque>
#include <optional>
#include <utility>

namespace portask::kafka {

class fetch_read_window {
 public:
  /// A partition of the request: its topic entry and its place in that entry.
  using slot = std::pair<std::size_t, std::size_t>;

  /// Why 8: a read is a round trip through the partition's bridge and actor, served from the
  /// partition's tail in microseconds or from the store through the reader pool. 8 reads out
  /// overlap those round trips across the bridge shards and keep a default pool (2 readers,
  /// shared by every connection) busy for one request, while what a request holds beyond its
  /// answer stays at 8 reads, each within its share of the answer (fetch.cpp, limit_of). It is
  /// not sized from the reader pool: most reads never reach a reader (the tails serve them),
  /// and the pool serves every connection, so its size says nothing about one request.
  static constexpr std::size_t width = 8;

  /// `s` is read after the partitions queued before it.
  void queue(slot s) { waiting_.push_back(s); }

  /// The next partition to read, now counted as out; none while `width` reads are out or none
  /// waits.
  std::optional<slot> take() {
    if (out_ >= width || waiting_.empty()) return std::nullopt;
    const auto s = waiting_.front();
    waiting_.pop_front();
    ++out_;
    return s;
  }

  /// A read taken has been answered: its place is free.
  void returned() noexcept {
    if (out_ > 0) --out_;
  }

  /// The partitions still waiting, in request order; none waits afterwards (they are not to
  /// be read).
  std::deque<slot> take_waiting() { return std::exchange(waiting_, {}); }

 private:
  std::deque<slot> waiting_;
  std::size_t out_ = 0;
};

}  // namespace portask::kafka
