#pragma once
/// Which partitions of a Kafka Fetch are read next, and how many reads it has out (fetch.cpp).
/// Partitions are read in request order, a bounded number at a time: every read brings up to
/// its limit, so reads issued for every partition of a request at once would hold all those
/// limits together (over 1000 partitions, about 1000 times a read's), however little the
/// answer can carry. In order and a window at a time, a request holds its answer plus the
/// reads out, and stops reading once its answer is full.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <utility>

namespace portask::kafka {

class fetch_read_window {
 public:
  /// A partition of the request: its topic entry and its place in that entry (ordered as the
  /// request names them).
  using slot = std::pair<std::size_t, std::size_t>;

  /// Why at least 8: a read is a round trip through the partition's bridge and actor, served
  /// from the partition's tail in microseconds or from the store through the reader pool. 8
  /// reads out overlap those round trips across the bridge shards and keep a default pool (2
  /// readers, shared by every connection) busy for one request. It is not sized from the
  /// reader pool: most reads never reach a reader (the tails serve them), and the pool serves
  /// every connection, so its size says nothing about one request.
  static constexpr std::size_t min_width = 8;

  /// How many reads a request may have out when each may bring `share` of the `promised`
  /// bytes its answer may hold: as many as hold the answer's worth together, and at least
  /// `min_width`. What bounds a request's memory is bytes, not reads: reads out × share stays
  /// about `promised` (min_width shares when a share is more than an eighth of it). Counting
  /// reads alone would serialise the first pass of a wide request whose shares are small:
  /// 500 idle partitions, each bringing nothing, would take 63 round trips one after another
  /// before their long polls park, where their shares together fit the answer in one.
  /// At most `max_width` though: reads that miss the tails queue on the shared readers in
  /// arrival order, and hundreds from one request would hold up every other connection's
  /// reads (and partition recoveries) behind them.
  static constexpr std::size_t max_width = 64;
  static std::size_t width_for(std::uint64_t promised, std::uint64_t share) noexcept {
    if (share == 0) return min_width;
    return static_cast<std::size_t>(
        std::clamp<std::uint64_t>(promised / share, min_width, max_width));
  }

  /// At most `reads` out at a time (width_for).
  explicit fetch_read_window(std::size_t reads = min_width) noexcept : width_(reads) {}

  std::size_t width() const noexcept { return width_; }

  /// `s` waits to be read, after the partitions before it in the request, whenever it was
  /// queued: partitions woken in a long poll are read in request order, as Kafka's delayed
  /// fetch reads them, not in the order they woke.
  void queue(slot s) { waiting_.insert(s); }

  /// The first partition waiting, in request order, now counted as out; none while `width`
  /// reads are out or none waits.
  std::optional<slot> take() {
    if (out_ >= width_ || waiting_.empty()) return std::nullopt;
    const auto s = *waiting_.begin();
    waiting_.erase(waiting_.begin());
    ++out_;
    return s;
  }

  /// No read taken is out (the refill of an answer waits for it: fetch.cpp).
  bool idle() const noexcept { return out_ == 0; }

  /// A read taken has been answered: its place is free.
  void returned() noexcept {
    if (out_ > 0) --out_;
  }

  /// The partitions still waiting, in request order; none waits afterwards (they are not to
  /// be read).
  std::set<slot> take_waiting() { return std::exchange(waiting_, {}); }

 private:
  std::set<slot> waiting_;
  std::size_t width_;
  std::size_t out_ = 0;
};

}  // namespace portask::kafka
