#pragma once
/// The memory that partitions' tails (recent batches kept to serve tailing readers without a
/// store read) may take together: one budget, shared equally by the warm partitions, so
/// that 10,000 partitions cost what 30 do. An append warms a partition; a partition nobody
/// wrote or read for `cool_after` cools: it gives its whole tail back and leaves the
/// sharing. So the partitions in use keep their tails however many others are live (a
/// partition stays live, cool, until partition_idle_ms). A warm partition trims its tail to
/// its share whenever it adds to it and on its timer (every `trim_every` while all tails
/// together are over the budget), so a tail filled while few partitions were warm gives back
/// what the ones warmed since now share. Past its
/// share it keeps its newest batch (for the tailing readers) only while all tails together
/// are within the budget.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace portask {

class tail_budget {
 public:
  /// `total` for all tails together; no partition's share exceeds `per_partition_max`.
  tail_budget(std::size_t total, std::size_t per_partition_max) noexcept
      : total_(total), per_partition_max_(per_partition_max) {}

  /// How long a partition stays warm after its last write or read: long enough for a
  /// consumer between polls or a producer between bursts.
  static constexpr std::chrono::seconds cool_after{30};
  /// How often a warm partition holding a tail trims it to its share, which shrinks as
  /// other partitions warm up, while the tails together are over the budget.
  static constexpr std::chrono::seconds trim_every{5};

  /// A partition starts (join) and stops (leave); in between it warms and cools.
  void join() noexcept { partitions_.fetch_add(1, std::memory_order_relaxed); }
  void leave() noexcept { partitions_.fetch_sub(1, std::memory_order_relaxed); }
  void warm() noexcept { warm_.fetch_add(1, std::memory_order_relaxed); }
  void cool() noexcept { warm_.fetch_sub(1, std::memory_order_relaxed); }
  /// What one warm tail may hold now.
  std::size_t share() const noexcept {
    const auto n = std::max<std::int64_t>(1, warm_.load(std::memory_order_relaxed));
    return std::min(per_partition_max_, total_ / static_cast<std::size_t>(n));
  }
  /// All tails together hold more than the budget (shares shrank as partitions warmed, or
  /// newest batches larger than their shares are kept).
  bool over() const noexcept {
    return used_.load(std::memory_order_relaxed) > static_cast<std::int64_t>(total_);
  }
  void used(std::ptrdiff_t delta) noexcept {
    used_.fetch_add(static_cast<std::int64_t>(delta), std::memory_order_relaxed);
  }

  std::size_t total() const noexcept { return total_; }
  std::uint64_t bytes() const noexcept {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, used_.load(std::memory_order_relaxed)));
  }
  std::uint64_t partitions() const noexcept {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, partitions_.load(std::memory_order_relaxed)));
  }
  std::uint64_t warm_partitions() const noexcept {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, warm_.load(std::memory_order_relaxed)));
  }

 private:
  const std::size_t total_;
  const std::size_t per_partition_max_;
  std::atomic<std::int64_t> partitions_{0};
  std::atomic<std::int64_t> warm_{0};
  std::atomic<std::int64_t> used_{0};
};

}  // namespace portask
