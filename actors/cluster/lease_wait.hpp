#pragma once
/// How soon a cluster round that waits for leases another node still holds runs again
/// (docs/cluster.md, Failover): 50 ms, then doubling up to a ceiling (and at most 400 ms).
/// A dead node's leases run out just after its registration, so the first retries find them
/// free; a longer wait is not worth a round every few milliseconds on every node. Each wait counts from 50 ms
/// afresh: one that ended (a round that waited for nothing, failed, or ran with the
/// registration lapsed) or that now waits for other leases (a later failover) must not
/// inherit the slow retries of an earlier one.
/// Pure (the caller says which leases it waits for), so that it is tested without a clock.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace portask {

class lease_wait {
 public:
  static constexpr std::chrono::milliseconds first{50};

  /// The delay before the next round, after one that waited for `awaited` (lease names, in
  /// the order the rounds claim them). `slowest`: the ceiling (never below `first`).
  std::chrono::milliseconds next(std::vector<std::string> awaited, std::chrono::milliseconds slowest) {
    if (awaited != awaited_) {
      awaited_ = std::move(awaited);
      doublings_ = 0;
    }
    const auto delay = first * (1 << doublings_);
    if (doublings_ < max_doublings) ++doublings_;
    return std::min(std::max(first, slowest), delay);
  }
  /// The wait ended: the next one starts again at `first`.
  void reset() {
    awaited_.clear();
    doublings_ = 0;
  }

 private:
  static constexpr std::uint32_t max_doublings = 3;  ///< 400 ms
  std::vector<std::string> awaited_;
  std::uint32_t doublings_ = 0;
};

}  // namespace portask
