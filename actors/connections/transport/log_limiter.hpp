#pragma once
/// At most one log line per second for an event that a client can repeat at will (a refused
/// or timed-out connection, a request or bytes that end a connection): a flood of them must
/// not flood the log or cost a core. The line that is written carries how many events it
/// stands for (more_since_last_line). Thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

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

/// The end of a line that stands for `events` (what count() returned): empty for one, else
/// how many more it stands for, so an operator sees the size of a flood in its one line.
inline std::string more_since_last_line(std::uint64_t events) {
  if (events <= 1) return {};
  return " (and " + std::to_string(events - 1) + " more since the last such line)";
}

}  // namespace portask
