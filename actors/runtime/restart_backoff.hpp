#pragma once
/// How long the supervisor waits before restarting a child that exited: doubling from 100 ms
/// up to 5 s while the child keeps failing, and back to the start once it had run for a
/// while, so that a crash days after the last one is not treated as part of a crash loop.

#include <algorithm>
#include <chrono>

namespace portask {

struct restart_backoff {
  static constexpr std::chrono::milliseconds first{100};
  static constexpr std::chrono::milliseconds most{5000};
  /// A child that ran at least this long before exiting was healthy: its backoff resets.
  static constexpr std::chrono::milliseconds healthy_run{30000};

  /// The delay before the next restart, given the previous delay and how long the child ran.
  static std::chrono::milliseconds next(std::chrono::milliseconds previous,
                                        std::chrono::steady_clock::duration ran_for) noexcept {
    if (ran_for >= healthy_run) previous = std::chrono::milliseconds{0};
    return std::min(most, std::max(first, previous * 2));
  }
};

}  // namespace portask
