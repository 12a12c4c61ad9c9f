#pragma once
/// At most one log line per second for an event that a client can repeat at will (a refused
/// or timed-out connection): a flood of them must not flood the log or cost a core. The line
/// that is written carries how many events it stands for. Thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace portask {

class log_limiter {
 public:
  /// Counts one event; returns how many events the caller should log now (0: stay quiet).
  std::uint64_t count() noexcept {
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    const auto events = pending_.fetch_add(1, std::memory_order_relaxed) + 1;
    auto last = last_.load(std::memory_order_relaxed);
    if (last != 0 && now - last < std::chrono::steady_clock::duration(std::chrono::seconds(1)).count())
      return 0;
    if (!last_.compare_exchange_strong(last, now, std::memory_order_relaxed)) return 0;
    pending_.fetch_sub(events, std::memory_order_relaxed);
    return events;
  }

 private:
  std::atomic<std::int64_t> last_{0};
  std::atomic<std::uint64_t> pending_{0};
};

}  // namespace portask
